/*
 * Submitting an order through the journal.  "submitting" is committed
 * before the POST, so a job found in that state may or may not have an
 * order at CertCentral: it is reconciled (lifecycle_reconcile.c) before
 * anything is sent again.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_PRODUCT "pkio_qualified_organisation_services"

/* organization.id of the request, as a string (it may be a number). */
static char *request_org_id(const cJSON *req)
{
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(req, "organization");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(org, "id");
    char buf[32];

    if (cJSON_IsString(id) && id->valuestring[0])
        return strdup(id->valuestring);
    if (cJSON_IsNumber(id)) {
        snprintf(buf, sizeof(buf), "%.0f", id->valuedouble);
        return strdup(buf);
    }
    return NULL;
}

/*
 * SHA-256 of the request as validated (compact JSON), lowercase hex: the
 * same request file gives the same value, so a re-run of `order submit`
 * finds its own interrupted job and a different request is not taken for
 * it.  CertCentral's list does not return request bodies, so matching an
 * order to the job stays by product, organisation and time.
 */
static char *request_digest(const cJSON *req)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char *text = cJSON_PrintUnformatted(req), *hex = NULL;

    if (text != NULL && EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL) == 1 &&
        (hex = malloc(2 * len + 1)) != NULL)
        for (unsigned int i = 0; i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    free(text);
    return hex;
}

int lc_act_submit(lc_run *r, const cJSON *request)
{
    order_placed placed = { 0 };
    order_err oe = { 0 };
    char buf[32];
    int rc;

    if ((rc = lc_client_open(r)) != 0)
        return rc;
    r->job->request_created = time(NULL);
    r->job->order_state = LC_ORDER_SUBMITTING;
    if ((rc = lc_commit(r)) != 0)
        return rc;
    if (order_submit(r->client, request, &placed, &oe) != ORDER_OK) {
        rc = lc_fail_order(r->err, &oe, "submitting the order");
        if (oe.outcome_unknown) {
            snprintf(r->err->message + strlen(r->err->message),
                     sizeof(r->err->message) - strlen(r->err->message),
                     "; the order may have been stored: re-run the same `qscd-agent order "
                     "submit` (or `qscd-agent status`) to find it; nothing is sent twice");
            r->err->retryable = true;
        } else {
            r->job->order_state = LC_ORDER_DRAFT;   /* refused: not stored */
        }
        return rc;
    }
    snprintf(buf, sizeof(buf), "%ld", placed.order_id);
    journal_set(&r->job->order_id, buf);
    snprintf(r->placed_status, sizeof(r->placed_status), "%s", placed.status);
    if (placed.request_id > 0) {
        snprintf(buf, sizeof(buf), "%ld", placed.request_id);
        journal_set(&r->job->request_id, buf);
    }
    r->job->order_state = LC_ORDER_PENDING;
    if ((rc = lc_commit(r)) != 0)
        return rc;
    lc_say(r, "submitted: request %ld (%s)", placed.request_id,
           placed.status[0] ? placed.status : "status not given");
    return 0;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A job of this product and organisation, in `state`, for this request. */
static bool is_earlier(const journal_job *j, enum lifecycle_order_state state, const char *org,
                       const char *digest)
{
    if (j->order_state != state || !same(j->product, LC_PRODUCT) ||
        !same(j->organization_id, org) || j->order_id != NULL)
        return false;
    /* A job from before request digests were kept may be any request; a
     * draft is only taken for its own request. */
    if (j->request_sha256 == NULL)
        return state == LC_ORDER_SUBMITTING;
    return same(j->request_sha256, digest);
}

/*
 * An earlier `order submit` of this request that did not finish: the
 * oldest left in "submitting" (its order may exist: reconcile first), else
 * the oldest left in "draft" (nothing was sent: send it with that job
 * rather than a second one).
 */
static int find_interrupted(lc_run *r, const char *org, const char *digest)
{
    static const enum lifecycle_order_state states[] = { LC_ORDER_SUBMITTING, LC_ORDER_DRAFT };
    journal_listing l = { 0 };
    journal_err je = { 0 };
    char ref[JOURNAL_REF_LEN + 1] = "";

    if (journal_list(r->dir, &l, &je) != JOURNAL_OK)
        return je.code == JOURNAL_ERR_NOT_FOUND ? 0 : lc_fail_journal(r->err, &je);
    for (size_t s = 0; s < 2 && ref[0] == '\0'; s++)
        for (size_t i = 0; i < l.n && ref[0] == '\0'; i++)
            if (is_earlier(l.jobs[i], states[s], org, digest))
                snprintf(ref, sizeof(ref), "%s", l.jobs[i]->ref);
    journal_listing_free(&l);
    if (ref[0] == '\0')
        return 0;
    if (journal_open_locked(r->dir, ref, false, &r->job, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    if (r->job->order_state == LC_ORDER_DRAFT)
        lc_say(r, "job %s: an earlier submit of this request stopped before sending it; "
               "sending it with that job", ref);
    else
        lc_say(r, "job %s: an earlier submit of this request was interrupted; "
               "looking for its order first", ref);
    return 0;
}

static int new_job(lc_run *r, const char *org, const char *digest)
{
    journal_err je = { 0 };

    if (journal_create_request(r->dir, LC_PRODUCT, org, digest, &r->job, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    return 0;
}

static void submit_outcome(lc_run *r, int rc, lifecycle_placed *out)
{
    journal_err je = { 0 };

    if (r->job == NULL)
        return;
    journal_set_error(r->job, rc ? r->err->code : NULL, rc ? r->err->message : NULL);
    if (r->job->lock_fd >= 0 && journal_commit(r->dir, r->job, &je) != JOURNAL_OK)
        cli_warn("%s", je.message);
    lc_audit(r, "order submit", rc == 0 ? "ok" : "error", rc ? r->err->message : NULL);
    snprintf(out->job_ref, sizeof(out->job_ref), "%s", r->job->ref);
    out->order_id = r->job->order_id ? atol(r->job->order_id) : 0;
    out->request_id = r->job->request_id ? atol(r->job->request_id) : 0;
    snprintf(out->status, sizeof(out->status), "%s", r->placed_status[0] ? r->placed_status :
             lifecycle_order_state_name(r->job->order_state));
}

int lifecycle_submit(const cli_config *cfg, const cJSON *request, const lifecycle_opts *opts,
                     lifecycle_placed *out, lifecycle_err *err)
{
    lc_run r = { .cfg = cfg, .opts = opts, .dir = cfg->state_dir, .err = err,
                 .request = request };
    char *org = request_org_id(request), *digest = request_digest(request);
    int rc;

    memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    /* A Ctrl-C while the POST is out would leave the job to reconcile:
     * the reply is read and committed first (lifecycle_signal.c). */
    lc_signals_install();
    /* The API key and URL first: a job is only created when it can be sent. */
    if ((rc = lc_client_open(&r)) != 0 || (rc = find_interrupted(&r, org, digest)) != 0)
        goto out;
    if (r.job == NULL && (rc = new_job(&r, org, digest)) != 0)
        goto out;
    if (r.job->order_state == LC_ORDER_SUBMITTING) {
        rc = lc_act_reconcile(&r);
        if (rc != 0 || r.job->order_state != LC_ORDER_DRAFT) {
            out->adopted = rc == 0;
            goto done;
        }
    }
    rc = lc_act_submit(&r, request);
done:
    submit_outcome(&r, rc, out);
out:
    lc_run_close(&r);
    lc_signals_restore();
    free(digest);
    free(org);
    return rc;
}
