/*
 * The engine's order-side actions: adopt an order into a job, follow it
 * until approved, download the chain and check it against the
 * qualified-eSeal profile.  The verified chain is kept beside the journal
 * (STATE/certs/<ref>.pem) so that later steps and `status` need no
 * download, and a wrong token can be told which job it belongs to.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void on_retry(void *ctx, const char *what, double delay_s)
{
    lc_say(ctx, "%s; retrying in %.1f s", what, delay_s);
}

int lc_client_open(lc_run *r)
{
    order_client_opts tune = {
        .max_retries = -1, .retry_base_s = r->opts->retry_base_s,
        .on_retry = on_retry, .on_retry_ctx = r, .stop_asked = lc_stop_asked,
    };
    order_err oe = { 0 };

    if (r->client != NULL)
        return 0;
    r->client = lifecycle_client_new(r->set, &tune, &r->apikey, &oe);
    if (r->client == NULL)
        return lc_fail_order(r->err, &oe, "CertCentral client");
    return 0;
}

/* After a reissue only the newest request's approval counts. */
static bool is_approved(const journal_job *j, const order_info *info)
{
    const order_request_item *req = order_latest_request(info);

    if (j->reissued)
        return req != NULL && info->certificate.id != 0 &&
               (req->status_class == ORDER_ST_APPROVED || req->status_class == ORDER_ST_ISSUED);
    return order_reached(info, ORDER_WAIT_APPROVED);
}

static void set_long(char **field, long v)
{
    char buf[32];

    if (v <= 0)
        return;
    snprintf(buf, sizeof(buf), "%ld", v);
    journal_set(field, buf);
}

/* Copy what the order says into the job and move the order side. */
static void apply_info(journal_job *j, const order_info *info)
{
    const order_request_item *req = order_latest_request(info);

    set_long(&j->order_id, info->id);
    if (req != NULL)
        set_long(&j->request_id, req->id);
    set_long(&j->certificate_id, info->certificate.id);
    if (j->product == NULL && info->product_name_id[0])
        journal_set(&j->product, info->product_name_id);
    if (j->organization_id == NULL)
        set_long(&j->organization_id, info->organization_id);
    /* Rejected, canceled, revoked, expired: the job's end (order_status_is_final). */
    if (order_status_is_final(info, NULL, 0))
        j->order_state = LC_ORDER_REJECTED;
    else if (is_approved(j, info))
        j->order_state = LC_ORDER_APPROVED;
    else if (req != NULL && req->status_class == ORDER_ST_SUBMITTED)
        j->order_state = LC_ORDER_SUBMITTED;
    else
        j->order_state = LC_ORDER_PENDING;
}

/* Which certificate the order holds now: a stored chain for it needs no download. */
static void note_certificate(lc_run *r, const order_info *info)
{
    snprintf(r->order_cert_serial, sizeof(r->order_cert_serial), "%s",
             info->certificate.serial_number);
}

static bool could_be(const journal_job *j, const order_info *info)
{
    lc_order_facts f;

    lc_order_facts_of_info(info, &f);
    return lc_order_may_be_job(j, &f);
}

/*
 * provision ORDER_ID for an order an interrupted submit may have stored:
 * the single job in "submitting" it can belong to takes it, so that no
 * stale job is left waiting to be reconciled.
 */
static int interrupted_job_for(lc_run *r, const order_info *info)
{
    journal_listing l = { 0 };
    journal_err je = { 0 };
    char ref[JOURNAL_REF_LEN + 1] = "";
    size_t n = 0;

    if (store_list(r->st, &l, &je) != JOURNAL_OK)
        return 0;   /* no state dir yet: nothing to adopt into */
    for (size_t i = 0; i < l.n; i++)
        if (could_be(l.jobs[i], info) && n++ == 0)
            snprintf(ref, sizeof(ref), "%s", l.jobs[i]->ref);
    journal_listing_free(&l);
    if (n != 1)
        return 0;
    if (store_open_locked(r->st, ref, false, &r->job, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    if (!could_be(r->job, info)) {   /* moved on meanwhile */
        store_job_free(r->st, r->job);
        r->job = NULL;
        return 0;
    }
    lc_say(r, "taken by job %s, whose submit was interrupted", ref);
    return 0;
}

int lc_adopt_order(lc_run *r, long order_id)
{
    order_info info = { 0 };
    order_err oe = { 0 };
    journal_err je = { 0 };
    char what[64];
    int rc;

    if ((rc = lc_client_open(r)) != 0)
        return rc;
    snprintf(what, sizeof(what), "order %ld", order_id);
    if (order_get(r->client, order_id, &info, &oe) != ORDER_OK) {
        rc = lc_fail_order(r->err, &oe, what);
        goto out;
    }
    if ((rc = interrupted_job_for(r, &info)) != 0)
        goto out;
    note_certificate(r, &info);
    if (r->job == NULL && store_create(r->st, &r->job, &je) != JOURNAL_OK) {
        rc = lc_fail_journal(r->err, &je);
        goto out;
    }
    apply_info(r->job, &info);
    if ((rc = lc_commit(r)) != 0)
        goto out;
    lc_say(r, "new job %s for this order (%s)", r->job->ref,
           info.status[0] ? info.status : "no status given");
out:
    order_info_free(&info);
    return rc;
}

static void say_state(lc_run *r, const order_info *info)
{
    char state[2 * ORDER_STR + 16];

    if (r->job->order_state == LC_ORDER_APPROVED) {
        lc_say(r, "approved; certificate %ld%s", info->certificate.id,
               info->status_class == ORDER_ST_ISSUED ? " issued" : "");
        return;
    }
    order_info_describe(info, state, sizeof(state));
    lc_say(r, "%s", state);
}

/* The order ended without a certificate to install: at once, exit 6. */
static int stop_final(lc_run *r, const order_info *info)
{
    char why[256];

    order_status_is_final(info, why, sizeof(why));
    return lc_fail(r->err, QSCD_EXIT_REJECTED, "order_final", "%s: nothing more to do", why);
}

/*
 * One look at the order: committed, then either done (approved), ended
 * (rejected, canceled, revoked: exit 6 at once), not ready (without --wait,
 * or when the next poll would pass --timeout), or a wait for the next poll.
 */
int lc_act_poll(lc_run *r)
{
    order_info info = { 0 };
    order_err oe = { 0 };
    double delay = lc_backoff(r);
    enum lifecycle_order_state before;
    long id = atol(r->job->order_id ? r->job->order_id : "0");
    char state[2 * ORDER_STR + 16];
    bool waiting;
    int rc;

    if ((rc = lc_client_open(r)) != 0)
        return rc;
    if (order_get(r->client, id, &info, &oe) != ORDER_OK) {
        rc = lc_fail_order(r->err, &oe, "following the order");
        goto out;
    }
    before = r->job->order_state;
    apply_info(r->job, &info);
    note_certificate(r, &info);
    waiting = r->opts->wait &&
              (r->opts->timeout_s <= 0 || lc_waited(r) + delay <= r->opts->timeout_s);
    if (r->job->order_state == LC_ORDER_REJECTED || r->job->order_state == LC_ORDER_APPROVED ||
        (!waiting && r->job->order_state != before))
        say_state(r, &info);
    if ((rc = lc_commit(r)) != 0 || r->job->order_state == LC_ORDER_APPROVED)
        goto out;
    if (r->job->order_state == LC_ORDER_REJECTED) {
        rc = stop_final(r, &info);
        goto out;
    }
    if (!waiting) {
        rc = lc_fail(r->err, QSCD_EXIT_NOT_READY, "order_not_approved",
                     "waiting for order %ld to be approved (status: %s)", id,
                     info.status[0] ? info.status : "unknown");
        goto out;
    }
    order_info_describe(&info, state, sizeof(state));
    rc = lc_wait_time(r, delay, "the last poll of the order", "%s", state);
out:
    order_info_free(&info);
    return rc;
}

/* --- the certificate chain ------------------------------------------------ */

x509_chain *lc_chain_load(store *st, const char *ref)
{
    journal_err je = { 0 };
    x509_chain *chain = NULL;
    x509_err xe;
    char *text = NULL;
    size_t len = 0;

    if (store_chain_read(st, ref, &text, &len, &je) == JOURNAL_OK &&
        x509_chain_parse_pem(text, len, &chain, &xe) != X509_OK)
        chain = NULL;
    free(text);
    return chain;
}

static int store_chain(lc_run *r, const char *pem, size_t len)
{
    journal_err je = { 0 };

    if (store_chain_store(r->st, r->job->ref, pem, len, true, &je) != JOURNAL_OK)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "io", "%s", je.message);
    return 0;
}

static int check_profile(lc_run *r, const x509_chain *chain)
{
    x509_report rep = { 0 };
    x509_err xe = { 0 };
    x509_code xc = x509_check_profile(chain, time(NULL), r->opts->relax, &rep, &xe);
    char msg[1200] = "";
    size_t used = 0;
    int rc = 0;

    for (size_t i = 0; i < rep.n_relaxed; i++)
        lc_say(r, "relaxed as asked: %s", rep.relaxed[i]);
    if (xc != X509_OK) {
        for (size_t i = 0; i < rep.count && used < sizeof(msg); i++)
            used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s", i ? "; " : "",
                                     rep.items[i]);
        rc = lc_fail(r->err, QSCD_EXIT_VERIFY, "profile",
                     "the certificate of order %s does not meet the qualified-eSeal profile "
                     "(%zu deviation%s): %s; nothing was written to the token", r->job->order_id, rep.count,
                     rep.count == 1 ? "" : "s", msg[0] ? msg : xe.message);
    }
    x509_report_free(&rep);
    return rc;
}

int lc_anchors_ready(const lifecycle_settings *set, lifecycle_err *err)
{
    x509_anchors *a = NULL;
    x509_err xe = { 0 };

    if (set->trust_anchors == NULL)
        return lc_fail(err, QSCD_EXIT_USAGE, "no_trust_anchors",
                       "no trust anchors are configured: a certificate is installed only "
                       "when it chains to a root the organisation accepts (a PEM file of "
                       "those roots)");
    if (x509_anchors_load(set->trust_anchors, &a, &xe) != X509_OK)
        return lc_fail(err, QSCD_EXIT_USAGE, "trust_anchors", "%s", xe.message);
    x509_anchors_free(a);
    return 0;
}

/* Full path validation to the configured roots, at the time of install. */
static int check_anchored(lc_run *r, const x509_chain *chain)
{
    x509_anchors *a = NULL;
    x509_err xe = { 0 };
    int rc = lc_anchors_ready(r->set, r->err);

    if (rc != 0)
        return rc;
    if (x509_anchors_load(r->set->trust_anchors, &a, &xe) != X509_OK ||
        x509_chain_check_anchored(chain, a, time(NULL), r->opts->relax, &xe) != X509_OK)
        rc = lc_fail(r->err, xe.code == X509_ERR_CHAIN ? QSCD_EXIT_VERIFY : QSCD_EXIT_USAGE,
                     xe.code == X509_ERR_CHAIN ? "untrusted_chain" : "trust_anchors",
                     "the certificate of order %s: %s; nothing was written to the token",
                     r->job->order_id, xe.message);
    x509_anchors_free(a);
    return rc;
}

/*
 * One download: 0 with *pem set, or 0 with a wait asked for (approved, not
 * issued yet, --wait), or an error.
 */
static int fetch_chain(lc_run *r, char **pem, size_t *len)
{
    order_err oe = { 0 };
    double delay = lc_backoff(r);
    long id = atol(r->job->order_id ? r->job->order_id : "0");

    if (order_download(r->client, id, 0, "pem_all", pem, len, &oe) == ORDER_OK)
        return 0;
    if (oe.code != ORDER_ERR_NOT_FOUND && oe.code != ORDER_ERR_NOT_READY)
        return lc_fail_order(r->err, &oe, "downloading the certificate");
    if (!r->opts->wait ||
        (r->opts->timeout_s > 0 && lc_waited(r) + delay > r->opts->timeout_s))
        return lc_fail(r->err, QSCD_EXIT_NOT_READY, "certificate_not_issued",
                       "order %ld is approved; waiting for its certificate to be issued", id);
    /* No status line: the approval was just said. */
    return lc_wait_time(r, delay, "waiting for the certificate to be issued", "%s", "");
}

/* Same serial, whatever the case and leading zeros. */
static bool same_serial(const char *a, const char *b)
{
    while (*a == '0')
        a++;
    while (*b == '0')
        b++;
    return *a != '\0' && strcasecmp(a, b) == 0;
}

/*
 * The chain already in the state dir (`watch` leaves there the one it
 * downloaded to match the token), when it is the certificate the order
 * holds now: this run read the order, and the serials agree.  Never after a
 * reissue: until the new certificate exists the order shows the old one.
 */
static bool stored_chain(lc_run *r, char **pem, size_t *len, x509_chain **chain)
{
    journal_err je = { 0 };
    x509_err xe = { 0 };
    char *serial = NULL;
    bool ok = false;

    if (r->job->reissued || r->order_cert_serial[0] == '\0' ||
        store_chain_read(r->st, r->job->ref, pem, len, &je) != JOURNAL_OK)
        return false;
    if (x509_chain_parse_pem(*pem, *len, chain, &xe) == X509_OK &&
        (serial = x509_serial_hex((*chain)->leaf)) != NULL)
        ok = same_serial(serial, r->order_cert_serial);
    free(serial);
    if (!ok) {
        x509_chain_free(*chain);
        free(*pem);
        *chain = NULL, *pem = NULL, *len = 0;
    }
    return ok;
}

int lc_act_download(lc_run *r)
{
    x509_chain *chain = NULL;
    x509_err xe = { 0 };
    char fp[65], *pem = NULL, *serial = NULL;
    size_t len = 0;
    bool stored = stored_chain(r, &pem, &len, &chain);
    int rc = 0;

    if (!stored && ((rc = lc_client_open(r)) != 0 || (rc = fetch_chain(r, &pem, &len)) != 0 ||
                    r->wait.kind != LC_WAIT_NONE))
        goto out;
    if (!stored && x509_chain_parse_pem(pem, len, &chain, &xe) != X509_OK) {
        rc = lc_fail(r->err, QSCD_EXIT_API, "chain", "the certificate of order %s: %s",
                     r->job->order_id, xe.message);
        goto out;
    }
    if ((rc = check_profile(r, chain)) != 0 || (rc = check_anchored(r, chain)) != 0 ||
        (!stored && (rc = store_chain(r, pem, len)) != 0))
        goto out;
    x509_fingerprint_sha256(chain->leaf, fp);
    serial = x509_serial_hex(chain->leaf);
    journal_set(&r->job->cert_serial, serial);
    journal_set(&r->job->cert_sha256, fp);
    r->job->order_state = LC_ORDER_CERTIFICATE_READY;
    if ((rc = lc_commit(r)) != 0)
        goto out;
    lc_say(r, "certificate %s %s; profile checked (sha256 %.16s...)", serial ? serial : "?",
           stored ? "found in the state dir (already downloaded)" : "downloaded", fp);
    x509_chain_free(r->chain);
    r->chain = chain;
    chain = NULL;
out:
    x509_chain_free(chain);
    free(serial);
    free(pem);
    return rc;
}

/* The verified chain for a job in certificate_ready: stored, or fetched again. */
int lc_ensure_chain(lc_run *r)
{
    char fp[65];

    if (r->chain == NULL)
        r->chain = lc_chain_load(r->st, r->job->ref);
    if (r->chain != NULL) {
        x509_fingerprint_sha256(r->chain->leaf, fp);
        if (r->job->cert_sha256 != NULL && strcmp(fp, r->job->cert_sha256) == 0)
            return check_anchored(r, r->chain);
        x509_chain_free(r->chain);
        r->chain = NULL;
    }
    /* Lost or changed beside the journal: download and verify it again. */
    return lc_act_download(r);
}
