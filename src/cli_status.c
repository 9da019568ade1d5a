/*
 * qscd-agent status [ORDER_ID] [--json] [--history]: readiness of every
 * job (exit 0 when all are ready), or the audit log.
 */
#include "cli.h"
#include "exit_codes.h"
#include "lifecycle_engine.h"

#include <getopt.h>
#include <stdio.h>

int cli_status(const cli_config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "history", no_argument, NULL, 'H' }, { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    cli_config local = *cfg;
    lifecycle_err err;
    bool history = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'H')
            history = true;
        else if (c == 'j')
            local.json = true;
        else {
            cli_error("usage: qscd-agent status [ORDER_ID] [--json] [--history]");
            return QSCD_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        cli_error("usage: qscd-agent status [ORDER_ID] [--json] [--history]");
        return QSCD_EXIT_USAGE;
    }
    if (history)
        rc = lifecycle_history(&local, optind < argc ? argv[optind] : NULL, &err);
    else
        rc = lifecycle_status(&local, optind < argc ? argv[optind] : NULL, &err);
    if (rc != 0 && err.message[0])
        cli_error("%s", err.message);
    return rc;
}
