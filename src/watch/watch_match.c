/*
 * Which job a plugged-in token belongs to, decided before any PIN is asked
 * for (design.md, "Which token belongs to which order"):
 *   1. a public key on the token is the key of a job's certificate (DigiCert
 *      generated the key on the token it shipped);
 *   2. else the job already bound to the token's serial (a resumed job);
 *   3. else, with --assign-next and only for a blank token, the oldest
 *      approved job still waiting for a generated key.
 * Certificates come from the job's stored chain when it has one, else from
 * CertCentral (one download), once per job for the watcher's lifetime: the
 * answer "not issued yet" is kept for a while so that a token plugged in
 * again does not cost a round of requests.  A downloaded chain is stored
 * where the engine looks for it (journal_chain_store), so the worker that
 * provisions the token reads the order once and downloads nothing: a token
 * costs watch the requests it costs provision.
 */
#include "watch.h"

#include "exit_codes.h"
#include "journal.h"
#include "order.h"
#include "x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECHECK_S 30   /* how long "no certificate yet" is believed */

enum cert_state { CERT_UNKNOWN = 0, CERT_HAVE, CERT_NONE };

typedef struct match_entry {
    char      order_id[32];
    int       cert;             /* enum cert_state */
    EVP_PKEY *key;
    bool      awaiting_key;     /* approved, and no certificate issued for it */
    bool      awaiting_known;   /* awaiting_key was asked since the last download */
    time_t    checked;
} match_entry;

struct watch_matcher {
    secret       *apikey;
    bool          apikey_from_env;
    order_client *client;
    store        *st;        /* the jobs' store, opened by the first match */
    match_entry  *e;
    size_t        n;
};

watch_matcher *watch_matcher_new(void)
{
    return calloc(1, sizeof(watch_matcher));
}

void watch_matcher_reset(watch_matcher *m)
{
    order_client_free(m->client);
    secret_free(m->apikey);
    store_close(m->st);
    m->st = NULL;
    m->client = NULL;
    m->apikey = NULL;
    m->apikey_from_env = false;
}

void watch_matcher_free(watch_matcher *m)
{
    if (m == NULL)
        return;
    watch_matcher_reset(m);
    for (size_t i = 0; i < m->n; i++)
        EVP_PKEY_free(m->e[i].key);
    free(m->e);
    free(m);
}

const secret *watch_matcher_env_apikey(const watch_matcher *m)
{
    return m->apikey_from_env ? m->apikey : NULL;
}

static int open_client(watch_matcher *m, const watch_settings *set, char *err, size_t errlen)
{
    /* A SIGTERM ends a retry wait; a scan round does not wait long. */
    order_client_opts tune = { .max_retries = 2, .stop_asked = watch_signal_stop_asked };
    order_err oe = { 0 };

    if (m->client != NULL)
        return 0;
    if (m->apikey == NULL)
        m->apikey_from_env = set->core.api_key_file == NULL;
    m->client = lifecycle_client_new(&set->core, &tune, &m->apikey, &oe);
    if (m->client == NULL) {
        snprintf(err, errlen, "%s", oe.message);
        return -1;
    }
    return 0;
}

static match_entry *entry_for(watch_matcher *m, const char *order_id)
{
    match_entry *ne;

    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].order_id, order_id) == 0)
            return &m->e[i];
    ne = realloc(m->e, (m->n + 1) * sizeof(*ne));
    if (ne == NULL)
        return NULL;
    m->e = ne;
    ne = &m->e[m->n++];
    memset(ne, 0, sizeof(*ne));
    snprintf(ne->order_id, sizeof(ne->order_id), "%s", order_id);
    return ne;
}

static EVP_PKEY *key_from_pem(const char *pem, size_t len)
{
    x509_chain *chain = NULL;
    x509_err xe = { 0 };
    EVP_PKEY *k = NULL;

    if (x509_chain_parse_pem(pem, len, &chain, &xe) == X509_OK && chain->leaf != NULL)
        k = X509_get_pubkey(chain->leaf);
    x509_chain_free(chain);
    return k;
}

/* The chain stored for the job (STATE/certs/<ref>.pem), read only. */
static EVP_PKEY *stored_key(watch_matcher *m, const journal_job *job)
{
    journal_err je = { 0 };
    char *text = NULL;
    size_t len = 0;
    EVP_PKEY *k = NULL;

    if (store_chain_read(m->st, job->ref, &text, &len, &je) == JOURNAL_OK)
        k = key_from_pem(text, len);
    free(text);
    return k;
}

/*
 * Ask CertCentral for the order's certificate: one download, which fails
 * with "not found" until it is issued.  The chain is kept for the worker
 * (never over one that is there); failing to keep it only costs it a
 * download.
 */
static int fetch_cert(watch_matcher *m, const watch_settings *set, const journal_job *job,
                      match_entry *e, char *err, size_t errlen)
{
    order_err oe = { 0 };
    journal_err je = { 0 };
    char *pem = NULL;
    size_t len = 0;
    int rc = 0;

    if (open_client(m, set, err, errlen) != 0)
        return -1;
    if (order_download(m->client, atol(e->order_id), 0, "pem_all", &pem, &len, &oe) == ORDER_OK) {
        e->key = key_from_pem(pem, len);
        e->cert = e->key ? CERT_HAVE : CERT_NONE;
        if (e->key != NULL)
            (void)store_chain_store(m->st, job->ref, pem, len, false, &je);
    } else if (oe.code == ORDER_ERR_NOT_FOUND || oe.code == ORDER_ERR_NOT_READY) {
        e->cert = CERT_NONE;   /* not issued yet */
    } else {
        snprintf(err, errlen, "order %s: %.900s", e->order_id, oe.message);
        rc = -1;               /* asked again next time */
    }
    if (rc == 0) {
        e->checked = time(NULL);
        e->awaiting_known = false;
    }
    free(pem);
    return rc;
}

/* --assign-next: is the order approved with no certificate issued yet? */
static void check_awaiting(watch_matcher *m, const watch_settings *set, match_entry *e,
                           char *err, size_t errlen)
{
    order_info info = { 0 };
    order_err oe = { 0 };

    if (e->awaiting_known || open_client(m, set, err, errlen) != 0)
        return;
    if (order_get(m->client, atol(e->order_id), &info, &oe) != ORDER_OK) {
        snprintf(err, errlen, "order %s: %.900s", e->order_id, oe.message);
    } else {
        e->awaiting_key = !order_status_is_final(&info, NULL, 0) &&
                          info.status_class != ORDER_ST_ISSUED &&
                          (info.certificate.id != 0 || info.status_class == ORDER_ST_APPROVED);
        e->awaiting_known = true;
    }
    order_info_free(&info);
}

/* The certificate's key for the job, or NULL when there is none (yet). */
static EVP_PKEY *cert_key(watch_matcher *m, const watch_settings *set, const journal_job *job,
                          bool may_ask, char *err, size_t errlen)
{
    match_entry *e = entry_for(m, job->order_id);

    if (e == NULL)
        return NULL;
    if (e->cert == CERT_HAVE)
        return e->key;
    if ((e->key = stored_key(m, job)) != NULL) {
        e->cert = CERT_HAVE;
        return e->key;
    }
    if (!may_ask || (e->cert == CERT_NONE && time(NULL) - e->checked < RECHECK_S))
        return NULL;
    fetch_cert(m, set, job, e, err, errlen);
    return e->cert == CERT_HAVE ? e->key : NULL;
}

static bool job_done(const journal_job *j)
{
    return j->order_state == LC_ORDER_CERTIFICATE_READY && j->device_state == LC_DEV_VERIFIED;
}

/* Submitted, not rejected, not finished. */
static bool job_open(const journal_job *j)
{
    return j->order_id != NULL && j->order_state >= LC_ORDER_PENDING &&
           j->order_state != LC_ORDER_REJECTED && !job_done(j);
}

static bool is_busy(const char *order_id, const char *const *busy, size_t n_busy)
{
    for (size_t i = 0; i < n_busy; i++)
        if (strcmp(busy[i], order_id) == 0)
            return true;
    return false;
}

static void found(watch_match *out, const journal_job *j, watch_match_kind kind,
                  const char *const *busy, size_t n_busy)
{
    out->kind = job_done(j) ? WATCH_MATCH_DONE
              : is_busy(j->order_id, busy, n_busy) ? WATCH_MATCH_BUSY : kind;
    snprintf(out->order_id, sizeof(out->order_id), "%s", j->order_id);
    snprintf(out->job_ref, sizeof(out->job_ref), "%s", j->ref);
}

static const journal_job *key_owner(watch_matcher *m, const watch_settings *set,
                                    const watch_token *t, const journal_listing *l,
                                    char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        const journal_job *j = l->jobs[i];
        EVP_PKEY *ck;

        if (j->order_id == NULL || j->order_state == LC_ORDER_REJECTED)
            continue;
        if (j->generate_key && !j->reissued && !job_done(j))
            continue;   /* its certificate will be for a key not made yet */
        /* Finished jobs only by their stored chain: no request for them. */
        ck = cert_key(m, set, j, job_open(j), err, errlen);
        for (size_t k = 0; ck != NULL && k < t->n_keys; k++)
            if (EVP_PKEY_eq(t->keys[k], ck) == 1)
                return j;
    }
    return NULL;
}

static const journal_job *next_waiting(watch_matcher *m, const watch_settings *set,
                                       const journal_listing *l, const char *const *busy,
                                       size_t n_busy, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        const journal_job *j = l->jobs[i];
        match_entry *e;

        if (!job_open(j) || j->token.serial != NULL || is_busy(j->order_id, busy, n_busy))
            continue;
        if (j->generate_key)
            return j;
        if (cert_key(m, set, j, true, err, errlen) != NULL)
            continue;   /* issued for a shipped key: that token will come */
        e = entry_for(m, j->order_id);
        if (e != NULL)
            check_awaiting(m, set, e, err, errlen);
        if (e != NULL && e->awaiting_key)
            return j;
    }
    return NULL;
}

int watch_match_token(watch_matcher *m, const watch_settings *set, const watch_token *t,
                      bool assign_next, const char *const *busy, size_t n_busy,
                      watch_match *out)
{
    journal_listing l = { 0 };
    journal_err je = { 0 };
    const journal_job *j;
    char err[1024] = "";
    bool blank = t->keys_read && t->n_keys == 0;

    memset(out, 0, sizeof(*out));
    if ((m->st == NULL && lifecycle_store_open(&set->core, &m->st, &je) != JOURNAL_OK) ||
        store_list(m->st, &l, &je) != JOURNAL_OK) {
        snprintf(out->reason, sizeof(out->reason), "%s", je.message);
        return QSCD_EXIT_USAGE;
    }
    if (t->n_keys > 0 && (j = key_owner(m, set, t, &l, err, sizeof(err))) != NULL) {
        found(out, j, WATCH_MATCH_KEY, busy, n_busy);
        goto out;
    }
    for (size_t i = 0; t->serial != NULL && i < l.n; i++) {
        j = l.jobs[i];
        if (j->order_id != NULL && j->order_state != LC_ORDER_REJECTED &&
            j->token.serial != NULL && strcmp(j->token.serial, t->serial) == 0) {
            /* Bound, but it shows no key: a PIN from a file would go to a token
             * nobody checked.  A person provisions it (a new key is exempt: a
             * blank token has none to show). */
            if (t->n_keys == 0 && !j->generate_key) {
                snprintf(out->reason, sizeof(out->reason),
                         "needs a person: it shows no public key before login, so it cannot "
                         "be checked before a PIN is spent; no PIN is sent to it from here "
                         "(qscd-agent provision %s --token URI)", j->order_id);
                goto out;
            }
            found(out, j, WATCH_MATCH_SERIAL, busy, n_busy);
            goto out;
        }
    }
    if (assign_next && blank &&
        (j = next_waiting(m, set, &l, busy, n_busy, err, sizeof(err))) != NULL) {
        found(out, j, WATCH_MATCH_NEXT, busy, n_busy);
        out->generate_key = true;
        goto out;
    }
    if (t->n_keys > 0)
        snprintf(out->reason, sizeof(out->reason), "no open job holds its key");
    else if (!t->keys_read)
        snprintf(out->reason, sizeof(out->reason), "its keys cannot be read without login%s%s",
                 t->keys_error ? ": " : "", t->keys_error ? t->keys_error : "");
    else if (!assign_next)
        snprintf(out->reason, sizeof(out->reason),
                 "a blank token no job is bound to (--assign-next gives it the oldest "
                 "approved job waiting for a key)");
    else
        snprintf(out->reason, sizeof(out->reason),
                 "a blank token, and no approved job is waiting for a generated key");
    if (err[0] != '\0') {
        size_t used = strlen(out->reason);

        snprintf(out->reason + used, sizeof(out->reason) - used, " (CertCentral: %s)", err);
    }
out:
    journal_listing_free(&l);
    return 0;
}
