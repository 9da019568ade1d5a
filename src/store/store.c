/*
 * The store's front: one handle, the backend it opened, and the dispatch
 * to it.  The state directory backend is src/journal itself; the database
 * backend is store_pg*.c.  See include/store/store.h.
 */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static journal_code fail(journal_err *err, journal_code code, const char *msg)
{
    if (err != NULL) {
        err->code = code;
        err->retryable = false;
        snprintf(err->message, sizeof(err->message), "%s", msg);
    }
    return code;
}

void store_desk_identity(char *out, size_t len)
{
    const char *env = getenv("QSCD_DESK");
    char host[256] = "", mid[64] = "";
    FILE *f;

    if (env != NULL && *env != '\0') {
        snprintf(out, len, "%s", env);
        return;
    }
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "unknown-host");
    if ((f = fopen("/etc/machine-id", "re")) != NULL) {
        if (fgets(mid, sizeof(mid), f) == NULL)
            mid[0] = '\0';
        fclose(f);
    }
    mid[strcspn(mid, "\r\n")] = '\0';
    if (mid[0] != '\0')
        snprintf(out, len, "%s/%.12s", host, mid);
    else
        snprintf(out, len, "%s", host);
}

journal_code store_open(const store_settings *set, store **out, journal_err *err)
{
    store *s;
    journal_code rc = JOURNAL_OK;

    *out = NULL;
    if (set == NULL || ((set->state_db == NULL || *set->state_db == '\0') &&
                        (set->state_dir == NULL || *set->state_dir == '\0')))
        return fail(err, JOURNAL_ERR_INVALID, "no state directory or database given");
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    if (set->desk != NULL && *set->desk != '\0')
        snprintf(s->desk, sizeof(s->desk), "%s", set->desk);
    else
        store_desk_identity(s->desk, sizeof(s->desk));
    if (set->state_db != NULL && *set->state_db != '\0')
        rc = store_pg_open(s, set->state_db, err);
    else if ((s->dir = strdup(set->state_dir)) == NULL)
        rc = fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    if (rc != JOURNAL_OK) {
        store_close(s);
        return rc;
    }
    *out = s;
    return JOURNAL_OK;
}

void store_close(store *s)
{
    if (s == NULL)
        return;
    store_pg_close(s);
    free(s->dir);
    free(s);
}

const char *store_state_dir(const store *s) { return s != NULL ? s->dir : NULL; }
bool        store_shared(const store *s) { return s != NULL && s->pg != NULL; }
const char *store_desk(const store *s) { return s->desk; }

journal_code store_create(store *s, journal_job **out, journal_err *err)
{
    return store_create_request(s, NULL, NULL, NULL, out, err);
}

journal_code store_create_request(store *s, const char *product, const char *organization_id,
                                  const char *request_sha256, journal_job **out,
                                  journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_create(s, product, organization_id, request_sha256, out, err);
    return journal_create_request(s->dir, product, organization_id, request_sha256, out, err);
}

journal_code store_load(store *s, const char *ref, journal_job **out, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_load(s, ref, out, err);
    return journal_load(s->dir, ref, out, err);
}

journal_code store_open_locked(store *s, const char *ref, bool blocking, journal_job **out,
                               journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_open_locked(s, ref, blocking, out, err);
    return journal_open_locked(s->dir, ref, blocking, out, err);
}

journal_code store_lock(store *s, journal_job *job, bool blocking, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_lock(s, job, blocking, err);
    return journal_lock(s->dir, job, blocking, err);
}

void store_unlock(store *s, journal_job *job)
{
    if (s != NULL && s->pg != NULL)
        store_pg_unlock(s, job);
    else
        journal_unlock(job);
}

bool store_job_locked(const store *s, const journal_job *job)
{
    if (job == NULL)
        return false;
    if (s != NULL && s->pg != NULL)
        return store_pg_holds(s, job->ref);
    return job->lock_fd >= 0;
}

void store_job_free(store *s, journal_job *job)
{
    if (job == NULL)
        return;
    store_unlock(s, job);
    journal_job_free(job);
}

journal_code store_commit(store *s, journal_job *job, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_commit(s, job, err);
    return journal_commit(s->dir, job, err);
}

journal_code store_submit_lock(store *s, bool (*stop_asked)(void), int *held, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_submit_lock(s, stop_asked, held, err);
    return journal_submit_lock(s->dir, stop_asked, held, err);
}

void store_submit_unlock(store *s, int *held)
{
    if (s->pg != NULL)
        store_pg_submit_unlock(s, held);
    else
        journal_submit_unlock(held);
}

journal_code store_find_by_order(store *s, const char *order_id, journal_job **out,
                                 journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_find_by_order(s, order_id, out, err);
    return journal_find_by_order(s->dir, order_id, out, err);
}

journal_code store_list_desk(store *s, const char *desk, journal_listing *out, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_list_desk(s, desk, out, err);
    if (strcmp(desk, s->desk) != 0) {
        memset(out, 0, sizeof(*out));
        return JOURNAL_OK;
    }
    return journal_list(s->dir, out, err);
}

journal_code store_list(store *s, journal_listing *out, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_list(s, out, err);
    return journal_list(s->dir, out, err);
}

journal_code store_chain_read(store *s, const char *ref, char **pem, size_t *len,
                              journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_chain_read(s, ref, pem, len, err);
    return journal_chain_read(s->dir, ref, pem, len, err);
}

journal_code store_chain_store(store *s, const char *ref, const char *pem, size_t len,
                               bool replace, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_chain_store(s, ref, pem, len, replace, err);
    return journal_chain_store(s->dir, ref, pem, len, replace, err);
}

journal_code store_write_file(store *s, const char *sub, const char *name, const char *text,
                              journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_write_file(s, sub, name, text, err);
    return journal_write_file(s->dir, sub, name, text, err);
}

journal_code store_read_file(store *s, const char *sub, const char *name, char **out,
                             journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_read_file(s, sub, name, out, err);
    return journal_read_file(s->dir, sub, name, out, err);
}

journal_code store_remove_file(store *s, const char *sub, const char *name, journal_err *err)
{
    if (s->pg != NULL)
        return store_pg_remove_file(s, sub, name, err);
    return journal_remove_file(s->dir, sub, name, err);
}

journal_code store_pace_load(store *s, const char *api, double horizon_s, double *ages,
                             size_t cap, size_t *n, journal_err *err)
{
    *n = 0;
    if (s->pg == NULL)
        return fail(err, JOURNAL_ERR_INVALID, "a state directory's pacing ledger is the order "
                                              "client's file");
    return store_pg_pace_load(s, api, horizon_s, ages, cap, n, err);
}

void store_pace_done(store *s, const char *api, bool sent)
{
    if (s->pg != NULL)
        store_pg_pace_done(s, api, sent);
}

audit_code store_audit_append(store *s, const audit_entry *e, audit_err *err)
{
    if (s->pg != NULL)
        return store_pg_audit_append(s, e, err);
    return audit_record(s->dir, e, err);
}

audit_code store_audit_read(store *s, const char *order_id, audit_log *out, audit_err *err)
{
    if (s->pg != NULL)
        return store_pg_audit_read(s, order_id, out, err);
    return audit_read(s->dir, order_id, out, err);
}
