/*
 * --help for every command and verb, and the same text after a usage
 * error: one source per command (see cli_help_int.h).
 */
#include "cli_help_int.h"

#include "exit_codes.h"

#include <stdio.h>
#include <string.h>

bool cli_help_asked(const char *arg)
{
    return arg != NULL && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}

bool cli_help_in(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (cli_help_asked(argv[i]))
            return true;
    }
    return false;
}

int cli_help_show(const char *usage)
{
    fputs(usage, stdout);
    return QSCD_EXIT_OK;
}

int cli_help_bad(const char *usage)
{
    fputs(usage, stderr);
    return QSCD_EXIT_USAGE;
}
