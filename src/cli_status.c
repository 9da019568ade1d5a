/*
 * qscd-agent status [ORDER_ID] [--json] [--history]: readiness of every
 * job (exit 0 when all are ready), or the audit log.
 */
#include "cli.h"
#include "cli_help_int.h"
#include "exit_codes.h"
#include "lifecycle_engine.h"

#include <getopt.h>
#include <stdio.h>

static const char usage[] =
    "usage: qscd-agent [global options] status [ORDER_ID] [--json] [--history]\n"
    "  Readiness of every job in the journal, or of one: order state, token\n"
    "  state, PIN, key, certificate, expiry and what comes next.  Exit 0 when\n"
    "  every job shown is ready, 1 when one is not yet.\n"
    "  ORDER_ID    only the job of this order\n"
    "  --json      the jobs as a JSON array on standard output\n"
    "  --history   the audit log instead: one line per action\n"
    "  -h, --help  this text\n";

int cli_status(const cli_config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "history", no_argument, NULL, 'H' }, { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    cli_config local = *cfg;
    lifecycle_err err;
    bool history = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'H')
            history = true;
        else if (c == 'j')
            local.json = true;
        else if (c == 'h')
            return cli_help_show(usage);
        else
            return cli_help_bad(usage);
    }
    if (argc - optind > 1) {
        cli_error("status: one ORDER_ID at most");
        return cli_help_bad(usage);
    }
    if (history)
        rc = lifecycle_history(&local, optind < argc ? argv[optind] : NULL, &err);
    else
        rc = lifecycle_status(&local, optind < argc ? argv[optind] : NULL, &err);
    if (rc != 0 && err.message[0])
        cli_error("%s", err.message);
    return rc;
}
