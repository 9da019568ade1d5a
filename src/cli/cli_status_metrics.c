/*
 * What `status` adds for monitoring: the alerts in --json, the age of
 * CertCentral's state, and `--prometheus FILE` in node_exporter's
 * textfile-collector format (text exposition format 0.0.4), written
 * through the durable writer so the collector never reads half a file:
 * the temp file is made beside FILE (a dot name, not *.prom, which the
 * collector ignores) and renamed over it.
 */
#include "cli.h"
#include "cli_status_int.h"
#include "durable_file.h"
#include "exit_codes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_status_age(time_t now, time_t t, char *out, size_t n)
{
    long s = (long)(now - t);

    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, n, "%ld s", s);
    else if (s < 7200)
        snprintf(out, n, "%ld min", s / 60);
    else if (s < 2 * 86400)
        snprintf(out, n, "%ld h", s / 3600);
    else
        snprintf(out, n, "%ld days", s / 86400);
}

static void add_time(cJSON *o, const char *key, time_t t)
{
    char buf[32];

    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    journal_format_time(t, buf);
    cJSON_AddStringToObject(o, key, buf);
}

void cli_status_json_extra(cJSON *o, const lifecycle_job_status *v, time_t now)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "alerts");

    for (size_t i = 0; arr != NULL && i < v->n_alerts; i++) {
        cJSON *a = cJSON_CreateObject();

        cJSON_AddStringToObject(a, "kind", lifecycle_alert_kind_name(v->alerts[i].kind));
        if (v->alerts[i].step != NULL)
            cJSON_AddStringToObject(a, "step", v->alerts[i].step);
        cJSON_AddStringToObject(a, "message", v->alerts[i].text);
        cJSON_AddItemToArray(arr, a);
    }
    cJSON_AddBoolToObject(o, "stuck", v->stuck);
    if (v->waiting_for != NULL)
        cJSON_AddStringToObject(o, "waiting_for", v->waiting_for);
    add_time(o, "state_since", v->state_since);
    if (v->have_days)
        add_time(o, "expires", v->not_after);
    if (v->open) {
        add_time(o, "remote_checked", v->remote_checked);
        if (v->remote_checked > 0)
            cJSON_AddNumberToObject(o, "remote_age_seconds", (double)(now - v->remote_checked));
    }
}

/* --- the textfile ------------------------------------------------------------ */

typedef struct buf {
    char  *p;
    size_t len, cap;
    bool   failed;
} buf;

__attribute__((format(printf, 2, 3)))
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->p != NULL && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);

        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A label value: backslash, double quote and newline escaped (the
 * exposition format's only escapes); control characters dropped. */
static void put_label(buf *b, const char *name, const char *value, bool last)
{
    put(b, "%s=\"", name);
    for (const char *s = value ? value : ""; *s; s++) {
        if (*s == '\\' || *s == '"')
            put(b, "\\%c", *s);
        else if (*s == '\n')
            put(b, "\\n");
        else if ((unsigned char)*s >= 0x20 && *s != 0x7f)
            put(b, "%c", *s);
    }
    put(b, "\"%s", last ? "" : ",");
}

static void put_labels(buf *b, const journal_job *j)
{
    char state[96];

    snprintf(state, sizeof(state), "%s/%s", lifecycle_order_state_name(j->order_state),
             lifecycle_device_state_name(j->device_state));
    put(b, "{");
    put_label(b, "order_id", j->order_id, false);
    put_label(b, "token_serial", j->token.serial, false);
    put_label(b, "state", state, true);
    put(b, "}");
}

/* One series per order: the newest job of an order (jobs are oldest first)
 * stands for it, as `status ORDER_ID` does, so no series is doubled. */
static bool newest_of_order(const lifecycle_status_list *l, size_t i)
{
    const char *id = l->items[i].job->order_id;

    if (id == NULL)
        return false;
    for (size_t k = i + 1; k < l->n; k++)
        if (l->items[k].job->order_id && strcmp(l->items[k].job->order_id, id) == 0)
            return false;
    return true;
}

static const struct metric {
    const char *name, *help;
} metrics[] = {
    { "qscd_job_ready", "1 when the job's verified certificate is on its token and valid" },
    { "qscd_certificate_expiry_timestamp_seconds", "notAfter of the job's certificate" },
    { "qscd_job_state_since_timestamp_seconds", "when the job's state last changed" },
    { "qscd_job_stuck", "1 when the job waits for a person for longer than stuck-after" },
    { "qscd_job_alerts", "alerts of the job (expiry, stuck, order final, other certificate)" },
};

static bool value_of(const lifecycle_job_status *v, size_t m, double *out)
{
    switch (m) {
    case 0: *out = v->ready; return true;
    case 1: *out = (double)v->not_after; return v->have_days && v->not_after > 0;
    case 2: *out = (double)v->state_since; return v->state_since > 0;
    case 3: *out = v->stuck; return true;
    default: *out = (double)v->n_alerts; return true;
    }
}

static void put_all(buf *b, const lifecycle_status_list *l)
{
    double x;

    for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
        put(b, "# HELP %s %s.\n# TYPE %s gauge\n", metrics[m].name, metrics[m].help,
            metrics[m].name);
        for (size_t i = 0; i < l->n; i++) {
            if (!newest_of_order(l, i) || !value_of(&l->items[i], m, &x))
                continue;
            put(b, "%s", metrics[m].name);
            put_labels(b, l->items[i].job);
            put(b, " %.0f\n", x);
        }
    }
    put(b, "# HELP qscd_refresh_timestamp_seconds when `status --refresh` last asked "
           "CertCentral (0: never).\n# TYPE qscd_refresh_timestamp_seconds gauge\n"
           "qscd_refresh_timestamp_seconds %.0f\n", (double)l->refreshed);
}

int cli_status_prometheus(const char *path, const lifecycle_status_list *l)
{
    buf b = { 0 };
    durable_err de = { 0 };
    int rc = QSCD_EXIT_OK;

    put_all(&b, l);
    if (b.failed) {
        cli_error("--prometheus %s: out of memory", path);
        rc = QSCD_EXIT_USAGE;
    } else if (durable_write(path, b.p, b.len, 0644, false, &de) != 0) {
        /* 0644: the collector runs as another user and reads it. */
        cli_error("--prometheus %s: cannot %s: %s", path, de.step, strerror(de.errnum));
        rc = QSCD_EXIT_USAGE;
    }
    free(b.p);
    return rc;
}
