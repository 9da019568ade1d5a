/* PLACEHOLDER: replaced by the real command implementation. */
#include "cli.h"
#include "exit_codes.h"

int cli_provision(const cli_config *cfg, int argc, char **argv)
{
    (void)cfg; (void)argc; (void)argv;
    cli_error("\"provision\" is not available in this build yet");
    return QSCD_EXIT_USAGE;
}
