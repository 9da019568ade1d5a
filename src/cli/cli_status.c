/*
 * qscd-agent status [ORDER_ID] [--json] [--history] [--refresh]
 * [--prometheus FILE] [--expiry-warn DAYS] [--stuck-after DAYS]: readiness
 * of every job (exit 0 when all are ready, 1 when one is not yet, 7 when
 * one needs attention), or the audit log.
 */
#include "cli.h"
#include "cli_help_int.h"
#include "cli_report_int.h"
#include "cli_status_int.h"
#include "exit_codes.h"
#include "lifecycle_engine.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: qscd-agent [global options] status [ORDER_ID] [--json] [--history] [--refresh]\n"
    "                  [--prometheus FILE] [--expiry-warn DAYS] [--stuck-after DAYS]\n"
    "                  [--desk NAME]\n"
    "  Readiness of every job in the journal, or of one: order state, token\n"
    "  state, PIN, key, certificate, expiry, alerts and what comes next.  Exit 0\n"
    "  when every job shown is ready, 1 when one is not yet, 7 when one needs\n"
    "  attention (an alert).  Without --refresh no request is sent.\n"
    "  ORDER_ID            only the job of this order\n"
    "  --json              the jobs as a JSON array on standard output\n"
    "  --history           the audit log instead: one line per action\n"
    "  --refresh           first ask CertCentral for every open job's status, in as\n"
    "                      few requests as it allows, and keep it in the journal\n"
    "  --prometheus FILE   also write node_exporter textfile metrics to FILE\n"
    "  --expiry-warn DAYS  alert when a certificate expires within DAYS (default 60)\n"
    "  --stuck-after DAYS  alert when a job waits for a person longer (default 7)\n"
    "  --desk NAME         only the jobs desk NAME holds or last held (a fleet's\n"
    "                      database)\n"
    "  -h, --help          this text\n";

struct status_args {
    const char *order_id;
    const char *prometheus;
    const char *desk;
    bool        refresh;
    lifecycle_alert_opts alerts;
};

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
    cli_out("order %s (%s): %s; order %s; %s; PIN %s; key %s; certificate %s; %s; next: %s\n",
           j->order_id ? j->order_id : "-", j->ref, v->ready ? "READY" : "not ready",
           lifecycle_order_state_name(j->order_state), tok, v->pin,
           j->key_id_hex ? j->key_id_hex : "-", v->cert, days, v->next);
    if (j->error_message != NULL)
        cli_out("  last error: %s\n", j->error_message);
    if (j->remote_status != NULL)
        cli_out("  CertCentral: %s\n", j->remote_status);
    for (size_t i = 0; i < v->n_alerts; i++)
        cli_out("  ALERT %s: %s\n", lifecycle_alert_kind_name(v->alerts[i].kind),
                v->alerts[i].text);
}

static cJSON *json_job(const lifecycle_job_status *v, time_t now)
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
    cli_status_json_extra(o, v, now);
    if (text != NULL)
        cJSON_AddItemToObject(o, "job", cJSON_Parse(text));
    free(text);
    return o;
}

static void print_json(const lifecycle_status_list *l)
{
    cJSON *arr = cJSON_CreateArray();
    time_t now = time(NULL);
    char *text;

    for (size_t i = 0; i < l->n; i++)
        cJSON_AddItemToArray(arr, json_job(&l->items[i], now));
    text = cJSON_Print(arr);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(arr);
}

/* "CertCentral state 3 h old; `status --refresh`", for plain `status`. */
static void say_remote_age(const cli_config *cfg, const lifecycle_status_list *l)
{
    char age[32];

    if (l->n_open == 0)
        return;
    if (l->oldest_remote == 0) {
        cli_info(cfg, "CertCentral state of %s never asked for; `qscd-agent status --refresh`",
                 l->n_open == 1 ? "this job was" : "some jobs was");
        return;
    }
    cli_status_age(time(NULL), l->oldest_remote, age, sizeof(age));
    cli_info(cfg, "CertCentral state %s old; `qscd-agent status --refresh`", age);
}

static int refresh(const cli_config *cfg, const lifecycle_settings *set, lifecycle_err *err)
{
    lifecycle_refresh_result res;
    int rc = lifecycle_refresh(set, &res, err);

    if (rc != QSCD_EXIT_OK && rc != QSCD_EXIT_NOT_READY)
        return rc;
    if (res.problem[0])
        cli_warn("%s", res.problem);
    if (res.busy > 0)
        cli_warn("%zu job(s) being worked on by another qscd-agent: refreshed next time",
                 res.busy);
    if (res.unanswered > 0)
        cli_warn("%zu job(s) CertCentral did not answer for; their state is as before",
                 res.unanswered);
    cli_info(cfg, "refreshed %zu of %zu open job(s) from CertCentral: %u status-changes, "
             "%u order list, %u order request(s); %zu job file(s) written",
             res.answered, res.open_jobs, res.lookups_changes, res.lookups_list,
             res.lookups_get, res.written);
    return QSCD_EXIT_OK;
}

static int show_status(const cli_config *cfg, const struct status_args *a, lifecycle_err *err)
{
    lifecycle_settings set;
    lifecycle_status_list l;
    int rc, mrc;

    cli_settings_from(cfg, &set);
    if (a->refresh && (rc = refresh(cfg, &set, err)) != QSCD_EXIT_OK)
        return rc;
    rc = a->desk != NULL ? lifecycle_status_desk(&set, a->desk, &a->alerts, &l, err)
                         : lifecycle_status_alerts(&set, a->order_id, &a->alerts, &l, err);
    if (rc == QSCD_EXIT_OK || rc == QSCD_EXIT_NOT_READY || rc == QSCD_EXIT_ATTENTION) {
        for (size_t i = 0; i < l.listing.n_problems; i++)
            cli_warn("%s", l.listing.problems[i]);
        if (!a->refresh)
            say_remote_age(cfg, &l);
        if (cfg->json)
            print_json(&l);
        else if (l.n == 0)
            printf("no jobs in %s\n", cfg->state_db ? "the state database" : cfg->state_dir);
        for (size_t i = 0; !cfg->json && i < l.n; i++)
            print_line(&l.items[i]);
        if (a->prometheus != NULL && (mrc = cli_status_prometheus(a->prometheus, &l)) != 0)
            rc = mrc;
    }
    lifecycle_status_list_free(&l);
    return rc;
}

/* DAYS: a whole number 0..3650; "" or anything else is refused by name. */
static bool parse_days(const char *name, const char *v, long *out, bool *zero)
{
    char *end = NULL;
    long n = v && *v ? strtol(v, &end, 10) : -1;

    if (end == NULL || *end != '\0' || n < 0 || n > 3650) {
        cli_error("%s: must be a whole number of days, 0 to 3650 (got \"%s\")", name,
                  v ? v : "");
        return false;
    }
    *out = n;
    if (zero != NULL)
        *zero = n == 0;
    return true;
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

        cli_out("%s %s@%s%s%s %s: order %s, token %s, certificate %s: %s%s%s\n",
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

/* The thresholds from the configuration (option, environment, file). */
static bool thresholds(const cli_config *cfg, lifecycle_alert_opts *ao)
{
    memset(ao, 0, sizeof(*ao));
    if (cfg->expiry_warn != NULL &&
        !parse_days("expiry-warn", cfg->expiry_warn, &ao->expiry_warn_days, NULL))
        return false;
    if (cfg->stuck_after != NULL &&
        !parse_days("stuck-after", cfg->stuck_after, &ao->stuck_after_days, &ao->stuck_now))
        return false;
    return true;
}

int cli_status(const cli_config *cfg, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "history", no_argument, NULL, 'H' }, { "json", no_argument, NULL, 'j' },
        { "refresh", no_argument, NULL, 'r' }, { "prometheus", required_argument, NULL, 'P' },
        { "desk", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    struct status_args a = { 0 };
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
        else if (c == 'r')
            a.refresh = true;
        else if (c == 'P')
            a.prometheus = optarg;
        else if (c == 'd' && *optarg != '\0')
            a.desk = optarg;
        else if (c == 'h')
            return cli_help_show(usage);
        else
            return cli_help_bad(usage);
    }
    if (argc - optind > 1) {
        cli_error("status: one ORDER_ID at most");
        return cli_help_bad(usage);
    }
    if (history && (a.refresh || a.prometheus)) {
        cli_error("status --history: not with --refresh or --prometheus");
        return cli_help_bad(usage);
    }
    if (a.prometheus != NULL && *a.prometheus == '\0') {
        cli_error("--prometheus: needs a file name");
        return cli_help_bad(usage);
    }
    if (!thresholds(cfg, &a.alerts))
        return QSCD_EXIT_USAGE;
    a.order_id = optind < argc ? argv[optind] : NULL;
    memset(&err, 0, sizeof(err));
    if (a.desk != NULL && (history || optind < argc)) {
        cli_error("status --desk: lists a desk's jobs; not with ORDER_ID or --history");
        return cli_help_bad(usage);
    }
    if (history)
        rc = show_history(&local, a.order_id, &err);
    else
        rc = show_status(&local, &a, &err);
    if (rc != 0 && err.message[0])
        cli_error("%s", err.message);
    return rc;
}
