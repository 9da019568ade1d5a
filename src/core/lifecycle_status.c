/*
 * `status`: what the journal says of each job, checked against what can be
 * seen without a PIN: whether the bound token is plugged in, its PIN
 * state, whether the certificate on it is the one the order issued, and
 * how long that certificate is valid.  `status --history`: the audit log.
 */
#include "lifecycle_int.h"
#include "lifecycle_refresh_int.h"

#include "audit.h"
#include "exit_codes.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cert on the token whose DER fingerprint is the journal's. */
static const char *cert_on_token(token_ctx *ctx, const token_slot_info *slot,
                                 const char *sha256)
{
    token_cert_list certs = { 0 };
    token_err te = { 0 };
    token *tok = NULL;
    const char *what = "unknown";
    char fp[65];

    if (sha256 == NULL)
        return "none issued yet";
    if (token_open_slot(ctx, slot, &tok, &te) != TOKEN_OK ||
        token_list_certificates(tok, &certs, &te) != TOKEN_OK)
        goto out;
    what = certs.count > 0 ? LC_CERT_OTHER : "not on the token";
    for (size_t i = 0; i < certs.count; i++) {
        if (certs.items[i].x509 == NULL)
            continue;
        x509_fingerprint_sha256(certs.items[i].x509, fp);
        if (strcmp(fp, sha256) == 0)
            what = "installed and matching";
    }
out:
    token_cert_list_free(&certs);
    token_close(tok);
    return what;
}

static void look_at_token(const journal_job *j, token_ctx *ctx, const token_slot_list *slots,
                          lifecycle_job_status *v)
{
    v->token = "none bound";
    v->pin = "-";
    v->cert = j->cert_sha256 ? "not checked" : "none issued yet";
    if (j->token.serial == NULL)
        return;
    v->token = ctx ? "absent" : "unknown (no PKCS#11 module)";
    for (size_t i = 0; ctx && i < slots->count; i++) {
        const token_slot_info *s = &slots->items[i];

        if (!s->present || strcmp(s->serial, j->token.serial) != 0)
            continue;
        v->token = "present";
        v->pin = token_pin_state_name(s->pin_state);
        v->cert = cert_on_token(ctx, s, j->cert_sha256);
        break;
    }
}

static void look_at_chain(const lc_run *r, const journal_job *j, lifecycle_job_status *v)
{
    x509_chain *c = lc_chain_load(r->st, j->ref);
    int days = 0, secs = 0;

    if (c == NULL)
        return;
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c->leaf))) {
        struct tm tm;

        v->days_left = days;
        v->have_days = true;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(c->leaf), &tm) == 1)
            v->not_after = timegm(&tm);
    }
    x509_chain_free(c);
}

/*
 * A draft was never sent: either CertCentral refused it (the error is
 * kept), or the command stopped between creating the job and sending.
 */
static const char *draft_next(const journal_job *j)
{
    if (j->error_code != NULL)
        return "nothing: the submit was refused and nothing was ordered";
    if (j->request_sha256 != NULL)
        return "not submitted: interrupted before sending; run "
               "`qscd-agent order submit FILE` again";
    return "not submitted: interrupted before anything was sent; nothing was ordered";
}

/*
 * A draft that was refused, or whose request is unknown, has nothing to
 * get ready; one interrupted before sending waits for its re-submit.
 */
static bool counts_for_readiness(const journal_job *j)
{
    return j->order_state != LC_ORDER_DRAFT ||
           (j->error_code == NULL && j->request_sha256 != NULL);
}

static void view_job(const lc_run *r, const journal_job *j, token_ctx *ctx,
                     const token_slot_list *slots, lifecycle_job_status *v)
{
    lifecycle_view lv = { j->order_state, j->device_state, journal_job_facts(j) };
    const struct lifecycle_transition *t = lifecycle_next(&lv);

    memset(v, 0, sizeof(*v));
    look_at_token(j, ctx, slots, v);
    look_at_chain(r, j, v);
    v->next = t ? t->what : "?";
    if (j->order_state == LC_ORDER_DRAFT)
        v->next = draft_next(j);
    v->ready = t != NULL && t->action == LC_ACT_DONE && v->have_days && v->days_left >= 0 &&
               strcmp(v->cert, "not on the token") != 0 && strcmp(v->cert, LC_CERT_OTHER) != 0;
    if (v->ready)
        v->next = "nothing: ready";
}

static int load_jobs(lc_run *r, const char *order_id, const char *desk, journal_listing *l)
{
    journal_err je = { 0 };
    journal_job *one = NULL;

    if (desk != NULL) {
        if (store_list_desk(r->st, desk, l, &je) != JOURNAL_OK)
            return lc_fail_journal(r->err, &je);
        return 0;
    }
    if (order_id == NULL) {
        if (store_list(r->st, l, &je) != JOURNAL_OK && je.code != JOURNAL_ERR_NOT_FOUND)
            return lc_fail_journal(r->err, &je);
        return 0;
    }
    if (store_find_by_order(r->st, order_id, &one, &je) != JOURNAL_OK)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "no_job", "%s", je.message);
    l->jobs = malloc(sizeof(*l->jobs));
    if (l->jobs == NULL) {
        journal_job_free(one);
        return lc_fail(r->err, QSCD_EXIT_USAGE, "nomem", "out of memory");
    }
    l->jobs[0] = one;
    l->n = 1;
    return 0;
}

static bool any_bound(const journal_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->jobs[i]->token.serial != NULL)
            return true;
    return false;
}

/* An order that can still change at CertCentral (what a refresh asks for). */
static bool job_open(const journal_job *j)
{
    return j->order_id != NULL && j->order_state != LC_ORDER_DRAFT &&
           j->order_state != LC_ORDER_SUBMITTING && j->order_state != LC_ORDER_REJECTED;
}

/* How old CertCentral's state is: the refresh record and each job. */
static void look_at_remote(const lc_run *r, lifecycle_status_list *out)
{
    lc_refresh_record rec;
    bool never = false;

    lc_refresh_record_load(r->st, &rec);
    out->refreshed = rec.at;
    for (size_t i = 0; i < out->n; i++) {
        lifecycle_job_status *v = &out->items[i];

        if (!(v->open = job_open(v->job)))
            continue;
        out->n_open++;
        v->remote_checked = lc_remote_checked(v->job, &rec);
        never = never || v->remote_checked == 0;
        if (!never && (out->oldest_remote == 0 || v->remote_checked < out->oldest_remote))
            out->oldest_remote = v->remote_checked;
    }
    if (never)
        out->oldest_remote = 0;
    lc_refresh_record_free(&rec);
}

static int status_of(const lifecycle_settings *set, const char *order_id, const char *desk,
                     const lifecycle_alert_opts *ao, lifecycle_status_list *out,
                     lifecycle_err *err);

int lifecycle_status(const lifecycle_settings *set, const char *order_id,
                     lifecycle_status_list *out, lifecycle_err *err)
{
    return status_of(set, order_id, NULL, NULL, out, err);
}

int lifecycle_status_alerts(const lifecycle_settings *set, const char *order_id,
                            const lifecycle_alert_opts *ao, lifecycle_status_list *out,
                            lifecycle_err *err)
{
    return status_of(set, order_id, NULL, ao, out, err);
}

int lifecycle_status_desk(const lifecycle_settings *set, const char *desk,
                          const lifecycle_alert_opts *ao, lifecycle_status_list *out,
                          lifecycle_err *err)
{
    return status_of(set, NULL, desk, ao, out, err);
}

static int status_of(const lifecycle_settings *set, const char *order_id, const char *desk,
                     const lifecycle_alert_opts *ao, lifecycle_status_list *out,
                     lifecycle_err *err)
{
    lc_run r = { .set = set, .rep = lc_reporter(NULL), .err = err };
    journal_listing *l = &out->listing;
    token_slot_list slots = { 0 };
    token_err te = { 0 };
    token_ctx *ctx = NULL;
    bool all_ready = true;
    int rc;

    memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    if ((rc = lc_store_open(&r)) != 0 || (rc = load_jobs(&r, order_id, desk, l)) != 0) {
        store_close(r.st);
        return rc;
    }
    if (l->n > 0 && (out->items = calloc(l->n, sizeof(*out->items))) == NULL) {
        store_close(r.st);
        return lc_fail(err, QSCD_EXIT_USAGE, "nomem", "out of memory");
    }
    if (any_bound(l) && (ctx = token_ctx_open(set->module, &te)) != NULL &&
        (token_ctx_prefer(ctx, set->module_preference, &te) != TOKEN_OK ||
         token_enumerate(ctx, &slots, &te) != TOKEN_OK)) {
        token_ctx_close(ctx);
        ctx = NULL;
    }
    for (size_t i = 0; i < l->n; i++) {
        lifecycle_job_status *v = &out->items[i];

        view_job(&r, l->jobs[i], ctx, &slots, v);
        v->job = l->jobs[i];
        v->counts = counts_for_readiness(l->jobs[i]);
        if (v->counts)
            all_ready = all_ready && v->ready;
        lc_alerts_check(l->jobs[i], ao, v);
        out->n_alerts += v->n_alerts;
        out->n++;
    }
    token_slot_list_free(&slots);
    token_ctx_close(ctx);
    look_at_remote(&r, out);
    store_close(r.st);
    if (out->n_alerts > 0)
        return QSCD_EXIT_ATTENTION;
    return all_ready && l->n_problems == 0 ? QSCD_EXIT_OK : QSCD_EXIT_NOT_READY;
}

void lifecycle_status_list_free(lifecycle_status_list *l)
{
    if (l == NULL)
        return;
    free(l->items);
    journal_listing_free(&l->listing);
    memset(l, 0, sizeof(*l));
}

int lifecycle_history(const lifecycle_settings *set, const char *order_id, audit_log *out,
                      lifecycle_err *err)
{
    lc_run r = { .set = set, .rep = lc_reporter(NULL), .err = err };
    audit_err ae = { 0 };
    int rc;

    memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    if ((rc = lc_store_open(&r)) != 0)
        return rc;
    if (store_audit_read(r.st, order_id, out, &ae) != AUDIT_OK)
        rc = lc_fail(err, QSCD_EXIT_USAGE, "audit", "%s", ae.message);
    store_close(r.st);
    return rc;
}
