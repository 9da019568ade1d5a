/*
 * What in `status` needs a person's attention, from what the journal, the
 * refresh and the token show (no request, no PIN):
 *
 * - a certificate that expires within expiry-warn days (default 60: a
 *   qualified seal's renewal is a new order and a shipped token, weeks), or
 *   has expired;
 * - a job stuck: no state change for longer than stuck-after days (default
 *   7) at a step that waits for a person — approval, the issuance and
 *   shipping of the token, the token not plugged in, a PIN the token refused;
 * - an order CertCentral reports rejected, canceled or revoked (as of the
 *   last refresh), or one the engine ended as rejected;
 * - the job's token, once its certificate was installed, seen holding
 *   another certificate and not the job's.
 */
#include "lifecycle_int.h"

#include <stdio.h>
#include <string.h>

#define LC_DAY_S 86400L

const char *lifecycle_alert_kind_name(lifecycle_alert_kind k)
{
    static const char *const names[LC_ALERT_KIND_COUNT] = {
        "expiring", "expired", "stuck", "order_final", "other_certificate",
    };

    return (unsigned)k < LC_ALERT_KIND_COUNT ? names[k] : "unknown";
}

__attribute__((format(printf, 4, 5)))
static void alert(lifecycle_job_status *v, lifecycle_alert_kind kind, const char *step,
                  const char *fmt, ...)
{
    lifecycle_alert *a;
    va_list ap;

    if (v->n_alerts >= LC_MAX_ALERTS)
        return;
    a = &v->alerts[v->n_alerts++];
    a->kind = kind;
    a->step = step;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof(a->text), fmt, ap);
    va_end(ap);
}

/* The step a job waits at for a person, or NULL when it waits for nothing
 * (or for the agent itself). */
static const char *waiting_for(const journal_job *j)
{
    if (j->error_code != NULL && strncmp(j->error_code, "pin_", 4) == 0)
        return "a refused PIN";
    switch (j->order_state) {
    case LC_ORDER_PENDING:
    case LC_ORDER_SUBMITTED:
        return "approval";
    case LC_ORDER_APPROVED:
        return "issuance and shipping of the token";
    case LC_ORDER_CERTIFICATE_READY:
        return j->device_state == LC_DEV_TOKEN_ABSENT ? "the token not plugged in" : NULL;
    default:
        return NULL;
    }
}

static time_t state_since(const journal_job *j)
{
    time_t t = j->created;

    for (size_t i = 0; i < j->n_transitions; i++)
        if (j->transitions[i].at > t)
            t = j->transitions[i].at;
    /* A PIN refused again is news even when no state moved. */
    if (j->error_code != NULL && strncmp(j->error_code, "pin_", 4) == 0 && j->error_at > t)
        t = j->error_at;
    return t;
}

static void check_order(const journal_job *j, lifecycle_job_status *v)
{
    order_status_class c = order_status_classify(j->remote_status);

    if (c == ORDER_ST_REJECTED || c == ORDER_ST_CANCELED || c == ORDER_ST_REVOKED)
        alert(v, LC_ALERT_ORDER_FINAL, NULL, "CertCentral reports order %s %s",
              j->order_id ? j->order_id : "-", j->remote_status);
    else if (j->order_state == LC_ORDER_REJECTED && j->order_id != NULL)
        alert(v, LC_ALERT_ORDER_FINAL, NULL, "order %s was rejected, canceled or revoked%s%s",
              j->order_id, j->error_message ? ": " : "", j->error_message ? j->error_message : "");
}

void lc_alerts_check(const journal_job *j, const lifecycle_alert_opts *ao,
                     lifecycle_job_status *v)
{
    long warn = ao && ao->expiry_warn_days > 0 ? ao->expiry_warn_days : LC_EXPIRY_WARN_DAYS;
    long stuck = ao && ao->stuck_after_days > 0 ? ao->stuck_after_days : LC_STUCK_AFTER_DAYS;
    time_t now = ao && ao->now > 0 ? ao->now : time(NULL);

    if (ao != NULL && ao->stuck_now)
        stuck = 0;
    v->state_since = state_since(j);
    v->waiting_for = waiting_for(j);
    v->stuck = v->waiting_for != NULL && now - v->state_since >= stuck * LC_DAY_S;
    if (v->have_days && v->days_left < 0)
        alert(v, LC_ALERT_EXPIRED, NULL, "certificate expired %ld days ago", -v->days_left);
    else if (v->have_days && v->days_left <= warn)
        alert(v, LC_ALERT_EXPIRING, NULL, "certificate expires in %ld days (expiry-warn %ld)",
              v->days_left, warn);
    if (v->stuck)
        alert(v, LC_ALERT_STUCK, v->waiting_for,
              "stuck at %s: no change for %ld days (stuck-after %ld)", v->waiting_for,
              (long)((now - v->state_since) / LC_DAY_S), stuck);
    check_order(j, v);
    if (strcmp(v->cert, LC_CERT_OTHER) == 0 && j->device_state >= LC_DEV_CERTIFICATE_INSTALLED)
        alert(v, LC_ALERT_OTHER_CERT, NULL,
              "token serial %s holds another certificate, not the one this job installed",
              j->token.serial ? j->token.serial : "?");
}
