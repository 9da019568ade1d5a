/*
 * `status`: what the journal says of each job, checked against what can be
 * seen without a PIN: whether the bound token is plugged in, its PIN
 * state, whether the certificate on it is the one the order issued, and
 * how long that certificate is valid.  `status --history`: the audit log.
 */
#include "lifecycle_int.h"

#include "audit.h"
#include "exit_codes.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job_view {
    const char *token;        /* "present", "absent", "unknown", "none bound" */
    const char *pin;
    const char *cert;         /* "installed, matching", "not on the token", "unknown" */
    long        days_left;    /* LONG_MIN: unknown */
    bool        have_days;
    bool        ready;
    const char *next;
} job_view;

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
    what = "not on the token";
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
                          job_view *v)
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

static void look_at_chain(const lc_run *r, const journal_job *j, job_view *v)
{
    x509_chain *c = lc_chain_load(r->dir, j->ref);
    int days = 0, secs = 0;

    if (c == NULL)
        return;
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c->leaf))) {
        v->days_left = days;
        v->have_days = true;
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
                     const token_slot_list *slots, job_view *v)
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
               strcmp(v->cert, "not on the token") != 0;
    if (v->ready)
        v->next = "nothing: ready";
}

static void print_line(const journal_job *j, const job_view *v)
{
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

static cJSON *json_job(const journal_job *j, const job_view *v)
{
    cJSON *o = cJSON_CreateObject();
    char *text = journal_job_to_json(j);

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

static int load_jobs(lc_run *r, const char *order_id, journal_listing *l)
{
    journal_err je = { 0 };
    journal_job *one = NULL;

    if (order_id == NULL) {
        if (journal_list(r->dir, l, &je) != JOURNAL_OK && je.code != JOURNAL_ERR_NOT_FOUND)
            return lc_fail_journal(r->err, &je);
        return 0;
    }
    if (journal_find_by_order(r->dir, order_id, &one, &je) != JOURNAL_OK)
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

int lifecycle_status(const cli_config *cfg, const char *order_id, lifecycle_err *err)
{
    lc_run r = { .cfg = cfg, .dir = cfg->state_dir, .err = err };
    journal_listing l = { 0 };
    token_slot_list slots = { 0 };
    token_err te = { 0 };
    token_ctx *ctx = NULL;
    cJSON *arr = cfg->json ? cJSON_CreateArray() : NULL;
    bool all_ready = true;
    int rc;

    memset(err, 0, sizeof(*err));
    if ((rc = load_jobs(&r, order_id, &l)) != 0)
        goto out;
    for (size_t i = 0; i < l.n_problems; i++)
        cli_warn("%s", l.problems[i]);
    if (any_bound(&l) && (ctx = token_ctx_open(cfg->module, &te)) != NULL &&
        token_enumerate(ctx, &slots, &te) != TOKEN_OK) {
        token_ctx_close(ctx);
        ctx = NULL;
    }
    if (l.n == 0 && !cfg->json)
        printf("no jobs in %s\n", r.dir);
    for (size_t i = 0; i < l.n; i++) {
        job_view v;

        view_job(&r, l.jobs[i], ctx, &slots, &v);
        if (counts_for_readiness(l.jobs[i]))
            all_ready = all_ready && v.ready;
        if (arr != NULL)
            cJSON_AddItemToArray(arr, json_job(l.jobs[i], &v));
        else
            print_line(l.jobs[i], &v);
    }
    rc = all_ready && l.n_problems == 0 ? QSCD_EXIT_OK : QSCD_EXIT_NOT_READY;
    if (arr != NULL) {
        char *text = cJSON_Print(arr);

        if (text != NULL)
            printf("%s\n", text);
        free(text);
    }
out:
    cJSON_Delete(arr);
    token_slot_list_free(&slots);
    token_ctx_close(ctx);
    journal_listing_free(&l);
    return rc;
}

int lifecycle_history(const cli_config *cfg, const char *order_id, lifecycle_err *err)
{
    audit_log log = { 0 };
    audit_err ae = { 0 };

    memset(err, 0, sizeof(*err));
    if (audit_read(cfg->state_dir, order_id, &log, &ae) != AUDIT_OK)
        return lc_fail(err, QSCD_EXIT_USAGE, "audit", "%s", ae.message);
    for (size_t i = 0; i < log.n; i++) {
        const audit_entry *e = &log.entries[i];

        printf("%s %s@%s %s: order %s, token %s, certificate %s: %s%s%s\n",
               e->time ? e->time : "?", e->user ? e->user : "?", e->host ? e->host : "?",
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
