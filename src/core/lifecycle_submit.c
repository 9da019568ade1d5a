/*
 * Submitting an order through the journal.  A request is placed once: a
 * re-run of `order submit` with the same request (the same digest) reports
 * the order its job placed and sends nothing, unless a new order is asked
 * for.  Looking for the request among the jobs and creating its job happen
 * under the state dir's submit lock, held until the job is committed as
 * "submitting" (before the POST), so that concurrent submits of one request
 * find each other.  A job found in "submitting" is reconciled first
 * (lifecycle_reconcile.c): its order may exist.
 */
#include "lifecycle_int.h"
#include "monotonic.h"

#include "exit_codes.h"
#include "order_request.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Members of a request that carry payment data: in no form in the digest. */
static bool is_payment(const char *name)
{
    static const char *const members[] = { "payment_method", "credit_card",
                                           "billing_address", NULL };

    for (size_t i = 0; name != NULL && members[i] != NULL; i++)
        if (strcmp(name, members[i]) == 0)
            return true;
    return false;
}

/* SHA-256 of the compact JSON of `req`, lowercase hex; the text is wiped. */
static char *digest_of(const cJSON *req)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char *text = cJSON_PrintUnformatted(req), *hex = NULL;

    if (text != NULL && EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL) == 1 &&
        (hex = malloc(2 * len + 1)) != NULL)
        for (unsigned int i = 0; i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (text != NULL)
        memset(text, 0, strlen(text));
    free(text);
    return hex;
}

/*
 * The request's digest as kept in the journal: of the request as
 * validated without its payment members, so that the same request gives
 * the same value however it is paid, a re-run of `order submit` finds its
 * own job, and a different request is not taken for it.  Card data never
 * reaches it.  The copy made here is wiped.
 */
static char *request_digest(const cJSON *req)
{
    cJSON *copy = cJSON_CreateObject();
    const cJSON *it;
    char *hex;

    cJSON_ArrayForEach(it, req)
        if (copy != NULL && !is_payment(it->string))
            cJSON_AddItemToObject(copy, it->string, cJSON_Duplicate(it, true));
    hex = copy != NULL ? digest_of(copy) : NULL;
    order_request_free(copy);
    return hex;
}

/* The request's digests: as kept now, and as jobs written before the
 * payment members were left out kept it (compared, never stored). */
typedef struct request_ids {
    char *digest;
    char *legacy;
} request_ids;

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
    /* The write-ahead state is on disk: a concurrent submit of this
     * request now finds this job, and waits for its lock. */
    store_submit_unlock(r->st, &r->submit_lock);
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

static bool same_digest(const journal_job *j, const request_ids *ids)
{
    return j->request_sha256 != NULL && (same(j->request_sha256, ids->digest) ||
                                         same(j->request_sha256, ids->legacy));
}

/* A job for this request (product, organisation and digest). */
static bool same_request(const journal_job *j, const char *org, const request_ids *ids)
{
    return same(j->product, LC_PRODUCT) && same(j->organization_id, org) && same_digest(j, ids);
}

/* A job of this product and organisation, in `state`, for this request. */
static bool is_earlier(const journal_job *j, enum lifecycle_order_state state, const char *org,
                       const request_ids *ids)
{
    if (j->order_state != state || !same(j->product, LC_PRODUCT) ||
        !same(j->organization_id, org) || j->order_id != NULL)
        return false;
    /* A job from before request digests were kept may be any request; a
     * draft is only taken for its own request. */
    if (j->request_sha256 == NULL)
        return state == LC_ORDER_SUBMITTING;
    return same_digest(j, ids);
}

/*
 * Of two jobs that placed an order, the one placed later: the job file
 * listing comes in no particular order, and jobs made in the same second
 * are told apart by their order ids, which CertCentral hands out rising.
 */
static bool newer(const journal_job *a, const journal_job *b)
{
    if (a->created != b->created)
        return a->created > b->created;
    return atol(a->order_id) > atol(b->order_id);
}

/*
 * The job that `ref` names, locked.  Another `order submit` holds it while
 * its POST is out: wait for it (a stop request ends the wait).
 */
static int open_waiting(lc_run *r, const char *ref)
{
    journal_err je = { 0 };
    bool said = false;

    while (store_open_locked(r->st, ref, false, &r->job, &je) != JOURNAL_OK) {
        if (je.code != JOURNAL_ERR_BUSY)
            return lc_fail_journal(r->err, &je);
        if (lc_stop_asked())
            return lc_stopped(r, "waiting for another submit of this request");
        if (!said)
            lc_say(r, "%s; waiting for it", je.message);
        said = true;
        stoppable_sleep(0.05, NULL);
    }
    return 0;
}

/*
 * An earlier `order submit` of this request that did not finish: the
 * oldest left in "submitting" (its order may exist: reconcile first), else
 * the oldest left in "draft" (nothing was sent: send it with that job
 * rather than a second one).  Failing that, with `placed` the newest job
 * that placed an order for this request.
 */
static int find_earlier(lc_run *r, const char *org, const request_ids *ids, char *placed)
{
    static const enum lifecycle_order_state states[] = { LC_ORDER_SUBMITTING, LC_ORDER_DRAFT };
    journal_listing l = { 0 };
    journal_err je = { 0 };
    const journal_job *newest = NULL;
    char ref[JOURNAL_REF_LEN + 1] = "";
    int rc;

    if (store_list(r->st, &l, &je) != JOURNAL_OK)
        return je.code == JOURNAL_ERR_NOT_FOUND ? 0 : lc_fail_journal(r->err, &je);
    for (size_t s = 0; s < 2 && ref[0] == '\0'; s++)
        for (size_t i = 0; i < l.n && ref[0] == '\0'; i++)
            if (is_earlier(l.jobs[i], states[s], org, ids))
                snprintf(ref, sizeof(ref), "%s", l.jobs[i]->ref);
    for (size_t i = 0; i < l.n; i++)
        if (l.jobs[i]->order_id != NULL && same_request(l.jobs[i], org, ids) &&
            (newest == NULL || newer(l.jobs[i], newest)))
            newest = l.jobs[i];
    if (newest != NULL)
        snprintf(placed, JOURNAL_REF_LEN + 1, "%s", newest->ref);
    journal_listing_free(&l);
    if (ref[0] == '\0')
        return 0;
    if ((rc = open_waiting(r, ref)) != 0)
        return rc;
    if (r->job->order_id != NULL) {   /* the submit waited for has placed it */
        snprintf(placed, JOURNAL_REF_LEN + 1, "%s", ref);
        store_job_free(r->st, r->job);
        r->job = NULL;
    } else if (r->job->order_state == LC_ORDER_DRAFT) {
        lc_say(r, "job %s: an earlier submit of this request stopped before sending it; "
               "sending it with that job", ref);
    } else {
        lc_say(r, "job %s: an earlier submit of this request was interrupted; "
               "looking for its order first", ref);
    }
    return 0;
}

/* The request was placed by job `ref`: say so and send nothing. */
static int report_placed(lc_run *r, const char *ref, lifecycle_placed *out)
{
    journal_err je = { 0 };

    if (store_load(r->st, ref, &r->job, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    snprintf(out->job_ref, sizeof(out->job_ref), "%s", r->job->ref);
    out->order_id = atol(r->job->order_id);
    out->request_id = r->job->request_id ? atol(r->job->request_id) : 0;
    snprintf(out->status, sizeof(out->status), "%s",
             lifecycle_order_state_name(r->job->order_state));
    out->existing = true;
    out->placed_at = r->job->request_created ? r->job->request_created : r->job->created;
    lc_audit(r, "order submit", "existing", NULL);
    return 0;
}

static int new_job(lc_run *r, const char *org, const char *digest)
{
    journal_err je = { 0 };

    if (store_create_request(r->st, LC_PRODUCT, org, digest, &r->job, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    return 0;
}

static void submit_outcome(lc_run *r, int rc, lifecycle_placed *out)
{
    journal_err je = { 0 };

    if (r->job == NULL)
        return;
    journal_set_error(r->job, rc ? r->err->code : NULL, rc ? r->err->message : NULL);
    if (store_job_locked(r->st, r->job) && store_commit(r->st, r->job, &je) != JOURNAL_OK)
        lc_warn(r, "%s", je.message);
    lc_audit(r, "order submit", rc == 0 ? "ok" : "error", rc ? r->err->message : NULL);
    snprintf(out->job_ref, sizeof(out->job_ref), "%s", r->job->ref);
    out->order_id = r->job->order_id ? atol(r->job->order_id) : 0;
    out->request_id = r->job->request_id ? atol(r->job->request_id) : 0;
    snprintf(out->status, sizeof(out->status), "%s", r->placed_status[0] ? r->placed_status :
             lifecycle_order_state_name(r->job->order_state));
}

/* Under the submit lock: resume, report or create the request's job, and send. */
static int submit_locked(lc_run *r, const char *org, const request_ids *ids,
                         const cJSON *request, lifecycle_placed *out)
{
    char placed[JOURNAL_REF_LEN + 1] = "";
    int rc;

    if ((rc = find_earlier(r, org, ids, placed)) != 0)
        return rc;
    if (r->job == NULL && placed[0] && !r->opts->new_order)
        return report_placed(r, placed, out);
    if (r->job == NULL && (rc = new_job(r, org, ids->digest)) != 0)
        return rc;
    if (r->job->order_state == LC_ORDER_SUBMITTING) {
        rc = lc_act_reconcile(r);
        if (rc != 0 || r->job->order_state != LC_ORDER_DRAFT) {
            out->adopted = rc == 0;
            goto done;
        }
    }
    rc = lc_act_submit(r, request);
done:
    submit_outcome(r, rc, out);
    return rc;
}

int lifecycle_submit(const lifecycle_settings *set, const lifecycle_reporter *rep,
                     const cJSON *request, const lifecycle_opts *opts, lifecycle_placed *out,
                     lifecycle_err *err)
{
    lc_run r = { .set = set, .rep = lc_reporter(rep), .opts = opts, .err = err,
                 .request = request, .submit_lock = -1 };
    char *org = request_org_id(request);
    request_ids ids = { request_digest(request), digest_of(request) };
    journal_err je = { 0 };
    int rc;

    memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    /* A Ctrl-C while the POST is out would leave the job to reconcile:
     * the reply is read and committed first (lifecycle_signal.c). */
    lc_signals_install();
    /* The API key and URL first: a job is only created when it can be sent. */
    if ((rc = lc_store_open(&r)) != 0 || (rc = lc_client_open(&r)) != 0)
        goto out;
    if (ids.digest == NULL || ids.legacy == NULL) {
        rc = lc_fail(err, QSCD_EXIT_USAGE, "nomem", "the request's digest: out of memory");
        goto out;
    }
    if (store_submit_lock(r.st, lc_stop_asked, &r.submit_lock, &je) != JOURNAL_OK) {
        rc = je.code == JOURNAL_ERR_BUSY ? lc_stopped(&r, "waiting for another submit")
                                         : lc_fail_journal(err, &je);
        goto out;
    }
    rc = submit_locked(&r, org, &ids, request, out);
out:
    if (r.st != NULL)
        store_submit_unlock(r.st, &r.submit_lock);
    lc_run_close(&r);
    lc_signals_restore();
    free(ids.digest);
    free(ids.legacy);
    free(org);
    return rc;
}
