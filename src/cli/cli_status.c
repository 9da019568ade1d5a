/*
 * qscd-agent status [ORDER_ID] [--json] [--history]: readiness of every
 * job (exit 0 when all are ready), or the audit log.
 */
#include "cli.h"
#include "cli_help_int.h"
#include "cli_report_int.h"
#include "exit_codes.h"
#include "lifecycle_engine.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: qscd-agent [global options] status [ORDER_ID] [--json] [--history] [--desk NAME]\n"
    "  Readiness of every job in the journal, or of one: order state, token\n"
    "  state, PIN, key, certificate, expiry and what comes next.  Exit 0 when\n"
    "  every job shown is ready, 1 when one is not yet.\n"
    "  ORDER_ID    only the job of this order\n"
    "  --json      the jobs as a JSON array on standard output\n"
    "  --history   the audit log instead: one line per action\n"
    "  --desk NAME only the jobs desk NAME holds or last held (a fleet's database)\n"
    "  -h, --help  this text\n";

static void print_line(const lifecycle_job_status *v)
{
    const journal_job *j = v->job;
    char days[32] = "expiry unknown", tok[160];

    if (v->have_days)
        snprintf(days, sizeof(days), "%ld days to expiry", v->days_left);
    if (j->token.serial != NULL)
        snprintf(tok, sizeof(tok), "token %s serial %s, %s", j->token.label ? j->token.label : "",
                 j->token.serial, v->token);
    else
        snprintf(tok, sizeof(tok), "no token bound");
    printf("order %s (%s): %s; order %s; %s; PIN %s; key %s; certificate %s; %s; next: %s\n",
           j->order_id ? j->order_id : "-", j->ref, v->ready ? "READY" : "not ready",
           lifecycle_order_state_name(j->order_state), tok, v->pin,
           j->key_id_hex ? j->key_id_hex : "-", v->cert, days, v->next);
    if (j->error_message != NULL)
        printf("  last error: %s\n", j->error_message);
}

static cJSON *json_job(const lifecycle_job_status *v)
{
    cJSON *o = cJSON_CreateObject();
    char *text = journal_job_to_json(v->job);

    cJSON_AddBoolToObject(o, "ready", v->ready);
    cJSON_AddStringToObject(o, "token_present", v->token);
    cJSON_AddStringToObject(o, "pin_state", v->pin);
    cJSON_AddStringToObject(o, "certificate", v->cert);
    if (v->have_days)
        cJSON_AddNumberToObject(o, "days_to_expiry", (double)v->days_left);
    cJSON_AddStringToObject(o, "next", v->next);
    if (text != NULL)
        cJSON_AddItemToObject(o, "job", cJSON_Parse(text));
    free(text);
    return o;
}

static void print_json(const lifecycle_status_list *l)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;

    for (size_t i = 0; i < l->n; i++)
        cJSON_AddItemToArray(arr, json_job(&l->items[i]));
    text = cJSON_Print(arr);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(arr);
}

static int show_status(const cli_config *cfg, const char *order_id, const char *desk,
                       lifecycle_err *err)
{
    lifecycle_settings set;
    lifecycle_status_list l;
    int rc;

    cli_settings_from(cfg, &set);
    rc = desk != NULL ? lifecycle_status_desk(&set, desk, &l, err)
                      : lifecycle_status(&set, order_id, &l, err);
    if (rc == QSCD_EXIT_OK || rc == QSCD_EXIT_NOT_READY) {
        for (size_t i = 0; i < l.listing.n_problems; i++)
            cli_warn("%s", l.listing.problems[i]);
        if (cfg->json)
            print_json(&l);
        else if (l.n == 0)
            printf("no jobs in %s\n", cfg->state_db ? "the state database" : cfg->state_dir);
        for (size_t i = 0; !cfg->json && i < l.n; i++)
            print_line(&l.items[i]);
    }
    lifecycle_status_list_free(&l);
    return rc;
}

static int show_history(const cli_config *cfg, const char *order_id, lifecycle_err *err)
{
    lifecycle_settings set;
    audit_log log;
    int rc;

    cli_settings_from(cfg, &set);
    if ((rc = lifecycle_history(&set, order_id, &log, err)) != 0)
        return rc;
    for (size_t i = 0; i < log.n; i++) {
        const audit_entry *e = &log.entries[i];

        printf("%s %s@%s%s%s %s: order %s, token %s, certificate %s: %s%s%s\n",
               e->time ? e->time : "?", e->user ? e->user : "?", e->host ? e->host : "?",
               e->desk ? " desk " : "", e->desk ? e->desk : "",
               e->action ? e->action : "?", e->order_id ? e->order_id : "-",
               e->token_serial ? e->token_serial : "-", e->cert_serial ? e->cert_serial : "-",
               e->outcome ? e->outcome : "?", e->error ? ": " : "", e->error ? e->error : "");
    }
    for (size_t i = 0; i < log.n_corrupt; i++)
        cli_warn("audit log line %d is not a valid entry; skipped", log.corrupt_lines[i]);
    if (log.n == 0)
        printf("no audit entries%s%s\n", order_id ? " for order " : "", order_id ? order_id : "");
    audit_log_free(&log);
    return QSCD_EXIT_OK;
}

int cli_status(const cli_config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "history", no_argument, NULL, 'H' }, { "json", no_argument, NULL, 'j' },
        { "desk", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    cli_config local = *cfg;
    lifecycle_err err;
    bool history = false;
    const char *desk = NULL;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'H')
            history = true;
        else if (c == 'j')
            local.json = true;
        else if (c == 'd' && *optarg != '\0')
            desk = optarg;
        else if (c == 'h')
            return cli_help_show(usage);
        else
            return cli_help_bad(usage);
    }
    if (argc - optind > 1) {
        cli_error("status: one ORDER_ID at most");
        return cli_help_bad(usage);
    }
    if (desk != NULL && (history || optind < argc)) {
        cli_error("status --desk: lists a desk's jobs; not with ORDER_ID or --history");
        return cli_help_bad(usage);
    }
    if (history)
        rc = show_history(&local, optind < argc ? argv[optind] : NULL, &err);
    else
        rc = show_status(&local, optind < argc ? argv[optind] : NULL, desk, &err);
    if (rc != 0 && err.message[0])
        cli_error("%s", err.message);
    return rc;
}
