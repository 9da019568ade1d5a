/*
 * `status --refresh`: bring the remote state of every open job up to date
 * in as few requests as CertCentral allows.
 *
 * - Jobs whose remote state is known as of a time within the status-changes
 *   window (7 days, less a margin): one GET of the status changes since the
 *   oldest of those times.  A job that is not in the reply did not change.
 * - Jobs never refreshed, or last refreshed longer ago: the order list
 *   (1000 orders a page), from the day before the oldest of their requests
 *   when every one of them was placed by this agent.
 * - Per-order GETs only for what those two cannot answer: an order the
 *   list did not have, an issued order whose certificate id neither gave.
 *
 * Every request goes through the order client's pacing and the state dir's
 * shared ledger.  A job is written only when its remote state changed; the
 * refresh record (lifecycle_refresh_int.h) says which jobs were confirmed
 * when.  The job's own order and device states are the engine's and are
 * not touched here: the next `provision` acts on what changed.
 */
#include "lifecycle_int.h"
#include "lifecycle_refresh_int.h"

#include "exit_codes.h"
#include "state_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Added to the status-changes window: CertCentral's clock and ours differ,
 * and a change dated the very second of the last refresh must be in it. */
#define LC_REFRESH_SLACK_S 300
#define LC_REFRESH_FILE    "refresh.json"

struct answer {
    long order_id;
    long cert_id;
    char status[ORDER_STR];
};

typedef struct refresh_ctx {
    const lifecycle_settings *set;
    store                    *st;       /* the jobs and the refresh record */
    lifecycle_refresh_result *out;
    lifecycle_err            *err;
    order_client             *client;
    secret                   *key;
    struct answer            *ans;
    size_t                    n_ans, cap_ans;
    bool                      sorted;
} refresh_ctx;

/* --- the answers: what CertCentral said of each order ---------------------- */

static int answer_add(refresh_ctx *c, long id, long cert, const char *status)
{
    if (c->n_ans == c->cap_ans) {
        size_t cap = c->cap_ans ? 2 * c->cap_ans : 256;
        struct answer *v = realloc(c->ans, cap * sizeof(*v));

        if (v == NULL)
            return lc_fail(c->err, QSCD_EXIT_USAGE, "nomem", "out of memory");
        c->ans = v;
        c->cap_ans = cap;
    }
    c->ans[c->n_ans].order_id = id;
    c->ans[c->n_ans].cert_id = cert;
    snprintf(c->ans[c->n_ans].status, ORDER_STR, "%s", status);
    c->n_ans++;
    c->sorted = false;
    return 0;
}

static int answer_cmp(const void *a, const void *b)
{
    long x = ((const struct answer *)a)->order_id, y = ((const struct answer *)b)->order_id;

    return x < y ? -1 : x > y;
}

/* The list and the status changes are read at the same moment and agree on
 * the status; of two answers for one order, the one with a certificate id. */
static struct answer *answer_find(refresh_ctx *c, long id)
{
    struct answer key = { .order_id = id }, *a;

    if (!c->sorted) {
        qsort(c->ans, c->n_ans, sizeof(*c->ans), answer_cmp);
        c->sorted = true;
    }
    a = c->n_ans ? bsearch(&key, c->ans, c->n_ans, sizeof(*c->ans), answer_cmp) : NULL;
    while (a != NULL && a > c->ans && a[-1].order_id == id)
        a--;
    while (a != NULL && a->cert_id == 0 && a + 1 < c->ans + c->n_ans && a[1].order_id == id)
        a++;
    return a;
}

/* --- the requests ---------------------------------------------------------- */

static int open_client(refresh_ctx *c)
{
    order_err oe = { 0 };

    if (c->client == NULL &&
        (c->client = lifecycle_client_new(c->set, NULL, &c->key, &oe)) == NULL)
        return lc_fail_order(c->err, &oe, "CertCentral");
    return 0;
}

static int ask_changes(refresh_ctx *c, long window)
{
    order_status_change *ch = NULL;
    order_err oe = { 0 };
    size_t n = 0;
    int rc = open_client(c);

    if (rc != 0)
        return rc;
    c->out->lookups_changes++;
    c->out->window_s = window;
    if (order_status_changes(c->client, window, &ch, &n, &oe) != ORDER_OK)
        return lc_fail_order(c->err, &oe, "status --refresh");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = answer_add(c, ch[i].order_id, ch[i].certificate_id, ch[i].status);
    free(ch);
    return rc;
}

static int ask_list(refresh_ctx *c, const char *date_created)
{
    order_list_query q = { .date_created = date_created };
    order_summary *s = NULL;
    order_err oe = { 0 };
    size_t n = 0;
    int rc = open_client(c);

    if (rc != 0)
        return rc;
    c->out->lookups_list++;
    if (order_list(c->client, &q, &s, &n, &oe) != ORDER_OK)
        return lc_fail_order(c->err, &oe, "status --refresh");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = answer_add(c, s[i].id, s[i].certificate_id, s[i].status);
    free(s);
    return rc;
}

/* One order by itself: an order CertCentral does not know is left unanswered. */
static int ask_one(refresh_ctx *c, long id)
{
    order_info info = { 0 };
    order_err oe = { 0 };
    int rc = open_client(c);

    if (rc != 0)
        return rc;
    c->out->lookups_get++;
    if (order_get(c->client, id, &info, &oe) != ORDER_OK) {
        if (oe.code == ORDER_ERR_NOT_FOUND)
            return 0;
        return lc_fail_order(c->err, &oe, "status --refresh");
    }
    /* What the order itself says replaces what a summary said. */
    struct answer *a = answer_find(c, id);

    if (a != NULL) {
        a->cert_id = info.certificate.id;
        snprintf(a->status, ORDER_STR, "%s", info.status);
    } else {
        rc = answer_add(c, id, info.certificate.id, info.status);
    }
    order_info_free(&info);
    return rc;
}

/* --- which jobs, and how to ask for them ------------------------------------ */

/* An order at CertCentral that can still change: not a draft, not final here. */
static bool job_open(const journal_job *j, long *order_id)
{
    char *end = NULL;

    *order_id = j->order_id ? strtol(j->order_id, &end, 10) : 0;
    return *order_id > 0 && end != NULL && *end == '\0' && j->order_state != LC_ORDER_DRAFT &&
           j->order_state != LC_ORDER_SUBMITTING && j->order_state != LC_ORDER_REJECTED;
}

static bool within_window(time_t checked, time_t now)
{
    return checked > 0 && now - checked + LC_REFRESH_SLACK_S <= ORDER_STATUS_CHANGES_MAX_S;
}

/* filters[date_created] from the day before the oldest request; "" when one
 * of the jobs has no request time (adopted: the order may be older). */
static void list_filter(const journal_listing *l, const lc_refresh_record *rec, time_t now,
                        char out[32])
{
    time_t oldest = 0;
    struct tm tm;
    long id;

    out[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        const journal_job *j = l->jobs[i];

        if (!job_open(j, &id) || within_window(lc_remote_checked(j, rec), now))
            continue;
        if (j->request_created <= 0)
            return;
        if (oldest == 0 || j->request_created < oldest)
            oldest = j->request_created;
    }
    oldest -= 86400;
    if (gmtime_r(&oldest, &tm) != NULL)
        strftime(out, 32, "%Y-%m-%d...", &tm);
}

static int ask_for_all(refresh_ctx *c, const journal_listing *l, const lc_refresh_record *rec,
                       time_t now)
{
    time_t oldest = 0;
    bool need_list = false;
    char filter[32];
    long id;
    int rc = 0;

    for (size_t i = 0; i < l->n; i++) {
        time_t t;

        if (!job_open(l->jobs[i], &id))
            continue;
        c->out->open_jobs++;
        t = lc_remote_checked(l->jobs[i], rec);
        if (!within_window(t, now))
            need_list = true;
        else if (oldest == 0 || t < oldest)
            oldest = t;
    }
    if (oldest > 0)
        rc = ask_changes(c, (long)(now - oldest) + LC_REFRESH_SLACK_S);
    if (rc == 0 && need_list) {
        list_filter(l, rec, now, filter);
        rc = ask_list(c, filter[0] ? filter : NULL);
    }
    return rc;
}

/* --- what the answers mean for each job -------------------------------------- */

/* The answer for one job, asking for the order itself when the list and
 * the changes leave a gap; NULL when CertCentral has nothing for it. */
static int answer_for(refresh_ctx *c, const journal_job *j, long id, const lc_refresh_record *rec,
                      time_t now, struct answer *out)
{
    const struct answer *a = answer_find(c, id);
    int rc;

    if (a == NULL && within_window(lc_remote_checked(j, rec), now) && j->remote_status) {
        /* Not among the changes: as it was. */
        out->order_id = id;
        out->cert_id = j->remote_certificate_id ? strtol(j->remote_certificate_id, NULL, 10) : 0;
        snprintf(out->status, ORDER_STR, "%s", j->remote_status);
        a = out;
    }
    if (a == NULL || (order_status_classify(a->status) == ORDER_ST_ISSUED && a->cert_id <= 0)) {
        if ((rc = ask_one(c, id)) != 0)
            return rc;
        a = answer_find(c, id);
    }
    if (a == NULL)
        return 1;
    if (a != out)
        *out = *a;
    return 0;
}

/* --- the refresh record ------------------------------------------------------ */

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void lc_refresh_record_load(store *st, lc_refresh_record *out)
{
    journal_err je = { 0 };
    char *text = NULL;
    cJSON *root, *refs, *it;
    struct tm tm;

    memset(out, 0, sizeof(*out));
    if (store_read_file(st, STATE_REMOTE, LC_REFRESH_FILE, &text, &je) != JOURNAL_OK)
        return;
    root = cJSON_Parse(text);
    free(text);
    it = cJSON_GetObjectItemCaseSensitive(root, "at");
    memset(&tm, 0, sizeof(tm));
    if (cJSON_IsString(it) && strptime(it->valuestring, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL)
        out->at = timegm(&tm);
    refs = cJSON_GetObjectItemCaseSensitive(root, "confirmed");
    if (out->at > 0 && cJSON_IsArray(refs) &&
        (out->refs = calloc((size_t)cJSON_GetArraySize(refs) + 1, sizeof(char *))) != NULL) {
        cJSON_ArrayForEach(it, refs)
            if (cJSON_IsString(it) && journal_ref_valid(it->valuestring) &&
                (out->refs[out->n] = strdup(it->valuestring)) != NULL)
                out->n++;
        qsort(out->refs, out->n, sizeof(char *), ref_cmp);
    }
    cJSON_Delete(root);
}

void lc_refresh_record_free(lc_refresh_record *rec)
{
    for (size_t i = 0; rec != NULL && i < rec->n; i++)
        free(rec->refs[i]);
    if (rec != NULL)
        free(rec->refs);
}

time_t lc_remote_checked(const journal_job *j, const lc_refresh_record *rec)
{
    const char *key = j->ref;
    time_t t = j->remote_status != NULL ? j->remote_checked : 0;

    if (rec != NULL && rec->at > t && j->remote_status != NULL && rec->n > 0 &&
        bsearch(&key, rec->refs, rec->n, sizeof(char *), ref_cmp) != NULL)
        t = rec->at;
    return t;
}

static void record_save(refresh_ctx *c, const char **refs, size_t n, time_t at)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    journal_err je = { 0 };
    char when[32], *text = NULL;

    journal_format_time(at, when);
    if (root != NULL && cJSON_AddStringToObject(root, "at", when) &&
        (arr = cJSON_AddArrayToObject(root, "confirmed")) != NULL) {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(refs[i]));
        text = cJSON_PrintUnformatted(root);
    }
    if (text == NULL ||
        store_write_file(c->st, STATE_REMOTE, LC_REFRESH_FILE, text, &je) != JOURNAL_OK)
        snprintf(c->out->problem, sizeof(c->out->problem), "the refresh record: %s",
                 text == NULL ? "out of memory" : je.message);
    free(text);
    cJSON_Delete(root);
}

/* --- the refresh ---------------------------------------------------------------- */

static int apply_all(refresh_ctx *c, journal_listing *l, const lc_refresh_record *rec, time_t now)
{
    const char **confirmed = calloc(l->n + 1, sizeof(char *));
    lc_remote_write *w = calloc(l->n + 1, sizeof(*w));
    size_t n = 0, nw = 0;
    long id;
    int rc = 0;

    if (confirmed == NULL || w == NULL) {
        free(confirmed);
        free(w);
        return lc_fail(c->err, QSCD_EXIT_USAGE, "nomem", "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        journal_job *j = l->jobs[i];
        struct answer a = { 0 };

        if (!job_open(j, &id))
            continue;
        rc = answer_for(c, j, id, rec, now, &a);
        if (rc == 1) {
            rc = 0;
            c->out->unanswered++;
        } else if (rc == 0 && lc_remote_same(j, a.status, a.cert_id)) {
            confirmed[n++] = j->ref;
        } else if (rc == 0) {
            w[nw].job = j;
            w[nw].cert_id = a.cert_id;
            snprintf(w[nw++].status, ORDER_STR, "%s", a.status);
        }
    }
    if (rc == 0) {
        lc_remote_write_all(c->st, w, nw, now);
        for (size_t i = 0; i < nw; i++) {
            c->out->written += w[i].result == LC_REMOTE_WRITTEN;
            c->out->busy += w[i].result == LC_REMOTE_BUSY;
            c->out->unanswered += w[i].result == LC_REMOTE_FAILED;
            if (w[i].result == LC_REMOTE_FAILED)
                snprintf(c->out->problem, sizeof(c->out->problem), "%s", w[i].problem);
            if (w[i].result == LC_REMOTE_WRITTEN || w[i].result == LC_REMOTE_UNCHANGED)
                confirmed[n++] = w[i].job->ref;
        }
        c->out->answered = n;
        record_save(c, confirmed, n, now);
    }
    free(w);
    free(confirmed);
    return rc;
}

int lifecycle_refresh(const lifecycle_settings *set, lifecycle_refresh_result *out,
                      lifecycle_err *err)
{
    refresh_ctx c = { .set = set, .out = out, .err = err };
    journal_listing l = { 0 };
    lc_refresh_record rec;
    journal_err je = { 0 };
    int rc;

    memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    /* Taken before asking: a change made while we ask is in the next window. */
    out->at = time(NULL);
    if ((rc = lc_store_open_set(set, &c.st, err)) != 0)
        return rc;
    if (store_list(c.st, &l, &je) != JOURNAL_OK && je.code != JOURNAL_ERR_NOT_FOUND) {
        store_close(c.st);
        return lc_fail_journal(err, &je);
    }
    lc_refresh_record_load(c.st, &rec);
    rc = ask_for_all(&c, &l, &rec, out->at);
    if (rc == 0)
        rc = apply_all(&c, &l, &rec, out->at);
    lc_refresh_record_free(&rec);
    journal_listing_free(&l);
    store_close(c.st);
    free(c.ans);
    order_client_free(c.client);
    secret_free(c.key);
    if (rc == 0 && (out->busy > 0 || out->unanswered > 0))
        rc = QSCD_EXIT_NOT_READY;
    return rc;
}
