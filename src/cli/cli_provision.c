/*
 * qscd-agent provision ORDER_ID: options in, the engine's result out.
 * Poll intervals can be shortened for tests and demos (--poll-interval,
 * --poll-max, --retry-base, or QSCD_POLL_INTERVAL).
 */
#include "cli.h"
#include "cli_args_int.h"
#include "cli_help_int.h"
#include "cli_advice_int.h"
#include "exit_codes.h"
#include "cli_report_int.h"
#include "lifecycle_engine.h"
#include "x509.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: qscd-agent [global options] provision ORDER_ID [--wait] [--timeout T] [--generate-key]\n"
    "                  [--allow-final-try] [--retry-pin] [--key-id HEX] [--relax CHECK,...]\n"
    "                  [--confirm-resubmit] [--no-test-signature]\n"
    "  The whole lifecycle for one order and one token, resumed from the journal:\n"
    "  follow the order, find the token whose key the certificate holds, log in,\n"
    "  verify and install the certificate, read it back.\n"
    "  ORDER_ID            the CertCentral order id\n"
    "  --wait              wait for the order and for the token instead of exit 1\n"
    "  --timeout T         with --wait, stop waiting after T (seconds, or 30s, 5m)\n"
    "  --generate-key      blank token: generate a key, send its CSR as a reissue\n"
    "  --allow-final-try   log in even when the token shows one PIN try left\n"
    "  --retry-pin         send a PIN from file:, fd: or env: that this token refused\n"
    "                      before once more\n"
    "  --key-id HEX        the key to use (its CKA_ID) when the token holds several\n"
    "  --relax CHECK,...   accept named profile deviations (test certificates only):\n"
    "                      qc-statements, policy, key-usage, validity, chain\n"
    "  --confirm-resubmit  send again an interrupted submit CertCentral has no order for\n"
    "  --no-test-signature  do not sign a test challenge with the key and verify it with\n"
    "                      the installed certificate (also signature-check = no)\n"
    "  --poll-interval T   first wait between polls (tests, simulators; also\n"
    "                      QSCD_POLL_INTERVAL)\n"
    "  --poll-max T        longest wait between polls (tests, simulators)\n"
    "  --retry-base T      first wait before retrying a failed request (tests)\n"
    "  -h, --help          this text\n";



static int parse_args(int argc, char **argv, lifecycle_opts *o, const char **order_id)
{
    static const struct option longopts[] = {
        { "wait", no_argument, NULL, 'w' },          { "generate-key", no_argument, NULL, 'g' },
        { "allow-final-try", no_argument, NULL, 'F' }, { "key-id", required_argument, NULL, 'k' },
        { "relax", required_argument, NULL, 'r' },   { "timeout", required_argument, NULL, 't' },
        { "poll-interval", required_argument, NULL, 'p' },
        { "poll-max", required_argument, NULL, 'P' },
        { "retry-base", required_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' },
        { "confirm-resubmit", no_argument, NULL, 'C' },
        { "retry-pin", no_argument, NULL, 'N' },
        { "no-test-signature", no_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    const char *env = getenv("QSCD_POLL_INTERVAL");
    int c, rc = 0;

    if (env != NULL && *env && (rc = cli_parse_duration(env, "QSCD_POLL_INTERVAL", &o->poll_start_s)))
        return rc;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'w': o->wait = true; break;
        case 'g': o->generate_key = true; break;
        case 'F': o->allow_final_try = true; break;
        case 'C': o->confirm_resubmit = true; break;
        case 'N': o->retry_pin = true; break;
        case 'S': o->no_test_signature = true; break;
        case 'k': o->key_id_hex = optarg; break;
        case 'r': rc = cli_parse_relax(optarg, &o->relax); break;
        case 't': rc = cli_parse_duration(optarg, "--timeout", &o->timeout_s); break;
        case 'p': rc = cli_parse_duration(optarg, "--poll-interval", &o->poll_start_s); break;
        case 'P': rc = cli_parse_duration(optarg, "--poll-max", &o->poll_cap_s); break;
        case 'R': rc = cli_parse_duration(optarg, "--retry-base", &o->retry_base_s); break;
        case 'h': cli_help_show(usage); return CLI_HELP_SHOWN;
        default:  return cli_help_bad(usage);
        }
    }
    if (rc == 0 && optind + 1 != argc) {
        cli_error("provision: %s", optind < argc ? "one ORDER_ID only" : "ORDER_ID is missing");
        return cli_help_bad(usage);
    }
    if (rc == 0 && o->poll_cap_s == 0 && o->poll_start_s > 0 && o->poll_start_s < 5)
        o->poll_cap_s = 5 * o->poll_start_s;   /* a short interval stays short */
    *order_id = argv[optind];
    return rc;
}

/* The result on stdout: JSON with --json, else one line when ready. */
static void print_result(const cli_config *cfg, const journal_job *job, int rc,
                         const lifecycle_err *err)
{
    char *text;

    if (job == NULL)
        return;
    if (cfg->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *j = NULL;

        text = journal_job_to_json(job);
        if (text != NULL)
            j = cJSON_Parse(text);
        free(text);
        cJSON_AddBoolToObject(o, "ready", rc == 0);
        cJSON_AddNumberToObject(o, "exit_code", rc);
        if (rc != 0)
            cJSON_AddStringToObject(o, "error", err->message);
        if (j != NULL)
            cJSON_AddItemToObject(o, "job", j);
        text = cJSON_Print(o);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else if (rc == 0) {
        cli_out("order %s: ready: certificate %s installed on token %s (serial %s)\n",
               job->order_id, job->cert_serial ? job->cert_serial : "?",
               job->token.label ? job->token.label : "?",
               job->token.serial ? job->token.serial : "?");
    }
}

int cli_provision(const cli_config *cfg, int argc, char **argv)
{
    lifecycle_opts o = { 0 };
    lifecycle_settings set;
    lifecycle_reporter rep;
    cli_progress progress;
    lifecycle_err err;
    journal_job *job = NULL;
    const char *order_id = NULL;
    int rc = parse_args(argc, argv, &o, &order_id);

    if (rc != 0)
        return rc == CLI_HELP_SHOWN ? QSCD_EXIT_OK : rc;
    if ((rc = cli_test_signature_check(cfg)) != 0)
        return rc;
    o.no_test_signature = o.no_test_signature || cli_test_signature_off(cfg);
    cli_settings_from(cfg, &set);
    cli_reporter_init(&rep, &progress, cfg);
    rc = lifecycle_provision(&set, &rep, order_id, &o, &job, &err);
    print_result(cfg, job, rc, &err);
    journal_job_free(job);
    if (rc != 0 && cli_advice_for(err.code) != NULL)
        cli_error("%s.  %s", err.message, cli_advice_for(err.code));
    else if (rc != 0)
        cli_error("%s", err.message);
    return rc;
}
