/*
 * The database backend's locks: a job's is a session advisory lock keyed
 * by the ref's 64 bits, held by this connection (so a desk that crashes
 * loses it with its connection), and the row names the desk that holds it
 * and since when; the submit lock is a two-int advisory lock of its own.
 */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- locks ------------------------------------------------------------------ */

bool store_pg_holds(const store *s, const char *ref)
{
    for (size_t i = 0; i < s->n_held; i++)
        if (strcmp(s->held[i], ref) == 0)
            return true;
    return false;
}

/* The advisory lock's key: the ref's 64 bits, as the signed bigint PostgreSQL takes. */
static void ref_key(const char *ref, char out[24])
{
    uint64_t k = strtoull(ref + 4, NULL, 16);

    snprintf(out, 24, "%" PRId64, (int64_t)k);
}

static journal_code report_busy(store *s, const char *ref, journal_err *err)
{
    const char *v[] = { ref };
    PGresult *r = store_pg_exec(s, "SELECT holder_desk, to_char(holder_since AT TIME ZONE "
                                   "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM qscd_jobs "
                                   "WHERE ref = $1", 1, v, PGRES_TUPLES_OK, err);

    if (r == NULL)
        return JOURNAL_ERR_IO;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        store_pg_fail(s, err, JOURNAL_ERR_BUSY, "job %s is busy at desk %s since %s: another "
                      "qscd-agent works on it there", ref, PQgetvalue(r, 0, 0),
                      PQgetvalue(r, 0, 1));
    else
        store_pg_fail(s, err, JOURNAL_ERR_BUSY,
                      "job %s is busy: another qscd-agent works on it", ref);
    PQclear(r);
    return JOURNAL_ERR_BUSY;
}

journal_code store_pg_take_lock(store *s, const char *ref, bool blocking, journal_err *err)
{
    char key[24], (*held)[JOURNAL_REF_LEN + 1];
    const char *v[] = { key }, *hv[] = { ref, s->desk };
    PGresult *r;
    bool got;

    if (store_pg_holds(s, ref))
        return JOURNAL_OK;
    ref_key(ref, key);
    r = store_pg_exec(s, blocking ? "SELECT pg_advisory_lock($1::bigint) IS NOT NULL"
                                  : "SELECT pg_try_advisory_lock($1::bigint)",
                      1, v, PGRES_TUPLES_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!got)
        return report_busy(s, ref, err);
    if ((held = realloc(s->held, (s->n_held + 1) * sizeof(*held))) == NULL) {
        PQclear(store_pg_exec(s, "SELECT pg_advisory_unlock($1::bigint)", 1, v,
                              PGRES_TUPLES_OK, NULL));
        return store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    }
    s->held = held;
    snprintf(held[s->n_held++], JOURNAL_REF_LEN + 1, "%s", ref);
    r = store_pg_exec(s, "UPDATE qscd_jobs SET holder_desk = $2, holder_since = now() "
                         "WHERE ref = $1", 2, hv, PGRES_COMMAND_OK, err);
    if (r == NULL) {
        journal_job tmp = { .lock_fd = -1 };

        snprintf(tmp.ref, sizeof(tmp.ref), "%s", ref);
        store_pg_unlock(s, &tmp);
        return JOURNAL_ERR_IO;
    }
    PQclear(r);
    return JOURNAL_OK;
}

void store_pg_unlock(store *s, journal_job *job)
{
    char key[24];
    const char *v[] = { key };

    if (job == NULL || !store_pg_holds(s, job->ref))
        return;
    for (size_t i = 0; i < s->n_held; i++)
        if (strcmp(s->held[i], job->ref) == 0) {
            memmove(s->held + i, s->held + i + 1, (s->n_held - i - 1) * sizeof(*s->held));
            s->n_held--;
            break;
        }
    ref_key(job->ref, key);
    /* A connection that is gone has dropped it already. */
    PQclear(store_pg_exec(s, "SELECT pg_advisory_unlock($1::bigint)", 1, v, PGRES_TUPLES_OK,
                          NULL));
}

journal_code store_pg_open_locked(store *s, const char *ref, bool blocking, journal_job **out,
                                  journal_err *err)
{
    journal_code rc;
    journal_job tmp = { .lock_fd = -1 };

    *out = NULL;
    if ((rc = store_pg_load(s, ref, out, err)) != JOURNAL_OK)   /* no locks for typos */
        return rc;
    journal_job_free(*out);
    *out = NULL;
    if ((rc = store_pg_take_lock(s, ref, blocking, err)) != JOURNAL_OK)
        return rc;
    if ((rc = store_pg_load(s, ref, out, err)) != JOURNAL_OK) {   /* as the holder saw it */
        snprintf(tmp.ref, sizeof(tmp.ref), "%s", ref);
        store_pg_unlock(s, &tmp);
    }
    return rc;
}

journal_code store_pg_lock(store *s, journal_job *job, bool blocking, journal_err *err)
{
    journal_job *fresh = NULL;
    journal_code rc;

    if (store_pg_holds(s, job->ref))
        return JOURNAL_OK;
    if ((rc = store_pg_open_locked(s, job->ref, blocking, &fresh, err)) != JOURNAL_OK)
        return rc;
    /* The job as the lock's holder reads it: swap the contents, free the old. */
    {
        journal_job old = *job;

        *job = *fresh;
        *fresh = old;
        fresh->lock_fd = -1;
        journal_job_free(fresh);
    }
    return JOURNAL_OK;
}

journal_code store_pg_submit_lock(store *s, bool (*stop_asked)(void), int *held,
                                  journal_err *err)
{
    char cls[16], key[16];
    const char *v[] = { cls, key };

    *held = -1;
    snprintf(cls, sizeof(cls), "%d", STORE_PG_KEY_CLASS);
    snprintf(key, sizeof(key), "%d", STORE_PG_KEY_SUBMIT);
    for (;;) {
        PGresult *r = store_pg_exec(s, "SELECT pg_try_advisory_lock($1::int, $2::int)", 2, v,
                                    PGRES_TUPLES_OK, err);
        bool got;

        if (r == NULL)
            return JOURNAL_ERR_IO;
        got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (got)
            break;
        if (stop_asked != NULL && stop_asked())
            return store_pg_fail(s, err, JOURNAL_ERR_BUSY, "stopped while another desk's "
                                 "submit held the fleet's submit lock");
        usleep(100 * 1000);
    }
    s->submit_held = 1;
    *held = 1;
    return JOURNAL_OK;
}

void store_pg_submit_unlock(store *s, int *held)
{
    char cls[16], key[16];
    const char *v[] = { cls, key };

    if (*held < 0 || !s->submit_held)
        return;
    snprintf(cls, sizeof(cls), "%d", STORE_PG_KEY_CLASS);
    snprintf(key, sizeof(key), "%d", STORE_PG_KEY_SUBMIT);
    PQclear(store_pg_exec(s, "SELECT pg_advisory_unlock($1::int, $2::int)", 2, v,
                          PGRES_TUPLES_OK, NULL));
    s->submit_held = 0;
    *held = -1;
}
