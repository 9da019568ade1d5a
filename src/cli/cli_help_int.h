/*
 * Private to the src/cli_*.c files: each command and verb keeps its usage
 * as one static text (synopsis, then one line per option with its
 * meaning); these print it for --help (stdout, exit 0) and after a usage
 * error (stderr, exit 2), so the two can never differ.
 */
#ifndef QSCD_CLI_HELP_INT_H
#define QSCD_CLI_HELP_INT_H

#include <stdbool.h>

/* What an option parser returns when it printed the help: exit 0. */
#define CLI_HELP_SHOWN (-1)

/* "--help" or "-h". */
bool cli_help_asked(const char *arg);
/* True when an argument before a "--" asks for help. */
bool cli_help_in(int argc, char **argv);
/* The usage on stdout; returns QSCD_EXIT_OK. */
int  cli_help_show(const char *usage);
/* The usage on stderr, after the error was printed; returns QSCD_EXIT_USAGE. */
int  cli_help_bad(const char *usage);

#endif
