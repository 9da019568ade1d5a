/*
 * The database backend (docs/fleet.md): jobs in PostgreSQL, shared by the
 * desks of a fleet.  The connection, the jobs and their locks.
 *
 * A job is locked with a session advisory lock keyed by its ref (the 64
 * bits of "job-" + 16 hex digits): held by this connection, so a desk that
 * crashes or loses the network loses its locks with its connection and
 * another desk may take the job over.  The row says which desk holds (or
 * last held) it and since when, for the message a second desk gets.
 *
 * Every commit is one transaction, committed before the call returns: the
 * write-ahead state before a paid or irreversible call is in the database
 * before the call is made.  Nothing falls back to a state directory: a
 * database that cannot be reached is an error of the call.
 */
#include "store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

journal_code store_pg_fail(store *s, journal_err *err, journal_code code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        err->retryable = code == JOURNAL_ERR_BUSY ||
                         (s != NULL && s->pg != NULL && PQstatus(s->pg) == CONNECTION_BAD);
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* libpq's messages end with a newline; one line for ours. */
static const char *pg_message(const char *m)
{
    static __thread char buf[400];
    size_t n;

    snprintf(buf, sizeof(buf), "%s", m != NULL && *m ? m : "unknown error");
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return buf;
}

PGresult *store_pg_exec(store *s, const char *sql, int n, const char *const *vals,
                        ExecStatusType want, journal_err *err)
{
    PGresult *res = PQexecParams(s->pg, sql, n, NULL, vals, NULL, NULL, 0);

    if (res != NULL && PQresultStatus(res) == want)
        return res;
    if (PQstatus(s->pg) == CONNECTION_BAD)
        store_pg_fail(s, err, JOURNAL_ERR_IO,
                      "state database unreachable: %s; nothing was done that depends on it, "
                      "run the command again when the database is back",
                      pg_message(PQerrorMessage(s->pg)));
    else
        store_pg_fail(s, err, JOURNAL_ERR_IO, "state database: %s",
                      pg_message(res != NULL ? PQresultErrorMessage(res)
                                             : PQerrorMessage(s->pg)));
    PQclear(res);
    return NULL;
}

journal_code store_pg_simple(store *s, const char *sql, journal_err *err)
{
    PGresult *r = store_pg_exec(s, sql, 0, NULL, PGRES_COMMAND_OK, err);

    if (r == NULL)
        return JOURNAL_ERR_IO;
    PQclear(r);
    return JOURNAL_OK;
}

journal_code store_pg_script(store *s, const char *sql, journal_err *err)
{
    PGresult *r = PQexec(s->pg, sql);
    journal_code rc = JOURNAL_OK;

    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = store_pg_fail(s, err, JOURNAL_ERR_IO, "state database: %s",
                           pg_message(r != NULL ? PQresultErrorMessage(r)
                                                : PQerrorMessage(s->pg)));
    PQclear(r);
    return rc;
}

/* --- connecting ------------------------------------------------------------ */

/* A URI that names a password puts it in argv, the config or the environment. */
static journal_code check_uri(const char *uri, journal_err *err)
{
    char *msg = NULL;
    PQconninfoOption *opts;
    bool password = false;

    if (strncmp(uri, "postgresql://", 13) != 0 && strncmp(uri, "postgres://", 11) != 0)
        return store_pg_fail(NULL, err, JOURNAL_ERR_INVALID,
                             "state database \"%.200s\": must be a postgresql:// URI", uri);
    if ((opts = PQconninfoParse(uri, &msg)) == NULL) {
        store_pg_fail(NULL, err, JOURNAL_ERR_INVALID, "state database URI: %s",
                      pg_message(msg));
        PQfreemem(msg);
        return JOURNAL_ERR_INVALID;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
            password = true;
    PQconninfoFree(opts);
    if (password)
        return store_pg_fail(NULL, err, JOURNAL_ERR_INVALID,
                             "state database URI: holds a password; remove it and put it in a "
                             "password file (~/.pgpass, or the file PGPASSFILE names)");
    return JOURNAL_OK;
}

journal_code store_pg_connect(store *s, const char *uri, journal_err *err)
{
    /* The URI comes last: what it says (connect_timeout, sslmode=verify-full,
     * sslrootcert, ...) wins over these defaults and reaches libpq as given. */
    const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
    const char *vals[] = { "10", "qscd-agent", uri, NULL };
    journal_code rc;

    if ((rc = check_uri(uri, err)) != JOURNAL_OK)
        return rc;
    s->pg = PQconnectdbParams(keys, vals, 1);
    if (s->pg == NULL)
        return store_pg_fail(NULL, err, JOURNAL_ERR_NOMEM, "out of memory");
    if (PQstatus(s->pg) != CONNECTION_OK) {
        rc = store_pg_fail(NULL, err, JOURNAL_ERR_IO,
                           "state database unreachable: %s; nothing was done, and nothing is "
                           "kept in a local state directory instead",
                           pg_message(PQerrorMessage(s->pg)));
        err->retryable = true;
        PQfinish(s->pg);
        s->pg = NULL;
        return rc;
    }
    return store_pg_simple(s, "SET client_min_messages = warning", err);
}

journal_code store_pg_schema_version(store *s, int *version, journal_err *err)
{
    PGresult *r = store_pg_exec(s, "SELECT to_regclass('qscd_schema') IS NOT NULL", 0, NULL,
                                PGRES_TUPLES_OK, err);
    bool have;

    *version = 0;
    if (r == NULL)
        return JOURNAL_ERR_IO;
    have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!have)
        return JOURNAL_OK;
    r = store_pg_exec(s, "SELECT coalesce(max(version), 0) FROM qscd_schema", 0, NULL,
                      PGRES_TUPLES_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return JOURNAL_OK;
}

journal_code store_pg_open(store *s, const char *uri, journal_err *err)
{
    journal_code rc = store_pg_connect(s, uri, err);
    int v = 0;

    if (rc == JOURNAL_OK)
        rc = store_pg_schema_version(s, &v, err);
    if (rc != JOURNAL_OK)
        return rc;
    if (v == 0)
        return store_pg_fail(s, err, JOURNAL_ERR_INVALID,
                             "state database: has no qscd-agent schema; run \"qscd-agent db "
                             "init\" once (docs/fleet.md)");
    if (v < STORE_SCHEMA)
        return store_pg_fail(s, err, JOURNAL_ERR_VERSION,
                             "state database: schema version %d, this qscd-agent needs %d; run "
                             "\"qscd-agent db migrate\"", v, STORE_SCHEMA);
    if (v > STORE_SCHEMA)
        return store_pg_fail(s, err, JOURNAL_ERR_VERSION,
                             "state database: schema version %d is newer than this qscd-agent "
                             "knows (%d); update qscd-agent on this desk", v, STORE_SCHEMA);
    return JOURNAL_OK;
}

void store_pg_close(store *s)
{
    if (s->pg != NULL)
        PQfinish(s->pg);   /* the session's advisory locks go with it */
    s->pg = NULL;
    free(s->held);
    s->held = NULL;
    s->n_held = 0;
}

/* --- reading jobs ---------------------------------------------------------- */

static journal_code job_of_row(const PGresult *r, int row, journal_job **out, journal_err *err)
{
    char name[80];

    snprintf(name, sizeof(name), "database job %s", PQgetvalue(r, row, 0));
    return journal_job_from_json(PQgetvalue(r, row, 1), name, out, err);
}

journal_code store_pg_load(store *s, const char *ref, journal_job **out, journal_err *err)
{
    const char *v[] = { ref };
    PGresult *r;
    journal_code rc;

    *out = NULL;
    if (!journal_ref_valid(ref))
        return store_pg_fail(s, err, JOURNAL_ERR_INVALID,
                             "job reference \"%s\": must be \"job-\" and 16 lowercase hex "
                             "digits", ref != NULL ? ref : "");
    r = store_pg_exec(s, "SELECT ref, journal::text FROM qscd_jobs WHERE ref = $1", 1, v,
                      PGRES_TUPLES_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    if (PQntuples(r) == 0)
        rc = store_pg_fail(s, err, JOURNAL_ERR_NOT_FOUND, "no job %s in the state database",
                           ref);
    else
        rc = job_of_row(r, 0, out, err);
    PQclear(r);
    return rc;
}

static bool add_text(char ***arr, size_t *n, const char *text)
{
    char **p = realloc(*arr, (*n + 1) * sizeof(*p));

    if (p == NULL)
        return false;
    *arr = p;
    if ((p[*n] = strdup(text)) == NULL)
        return false;
    (*n)++;
    return true;
}

/* One row into the listing: a job, or a problem (never fatal, as for files). */
static bool list_row(const PGresult *r, int row, journal_listing *l)
{
    journal_job *job = NULL, **jobs;
    journal_unreadable *u;
    journal_err e = { 0 };

    if (job_of_row(r, row, &job, &e) != JOURNAL_OK) {
        if (e.code == JOURNAL_ERR_NOMEM || !add_text(&l->problems, &l->n_problems, e.message))
            return false;
        if ((u = realloc(l->unreadable, (l->n_unreadable + 1) * sizeof(*u))) == NULL)
            return false;
        l->unreadable = u;
        u += l->n_unreadable;
        memset(u, 0, sizeof(*u));
        u->code = e.code;
        if (asprintf(&u->file, "database job %s", PQgetvalue(r, row, 0)) < 0 ||
            (u->reason = strdup(e.message)) == NULL) {
            free(u->file);
            return false;
        }
        l->n_unreadable++;
        return true;
    }
    if ((jobs = realloc(l->jobs, (l->n + 1) * sizeof(*jobs))) == NULL) {
        journal_job_free(job);
        return false;
    }
    l->jobs = jobs;
    jobs[l->n++] = job;
    return true;
}

static journal_code list_where(store *s, const char *sql, int n, const char *const *vals,
                               journal_listing *out, journal_err *err)
{
    PGresult *r = store_pg_exec(s, sql, n, vals, PGRES_TUPLES_OK, err);

    memset(out, 0, sizeof(*out));
    if (r == NULL)
        return JOURNAL_ERR_IO;
    for (int i = 0; i < PQntuples(r); i++)
        if (!list_row(r, i, out)) {
            PQclear(r);
            journal_listing_free(out);
            return store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
        }
    PQclear(r);
    return JOURNAL_OK;
}

journal_code store_pg_list(store *s, journal_listing *out, journal_err *err)
{
    return list_where(s, "SELECT ref, journal::text FROM qscd_jobs ORDER BY created, ref", 0,
                      NULL, out, err);
}

journal_code store_pg_list_desk(store *s, const char *desk, journal_listing *out,
                                journal_err *err)
{
    const char *v[] = { desk };

    return list_where(s, "SELECT ref, journal::text FROM qscd_jobs WHERE holder_desk = $1 "
                         "ORDER BY created, ref", 1, v, out, err);
}

journal_code store_pg_find_by_order(store *s, const char *order_id, journal_job **out,
                                    journal_err *err)
{
    const char *v[] = { order_id };
    PGresult *r;
    journal_code rc;

    *out = NULL;
    if (order_id == NULL || *order_id == '\0')
        return store_pg_fail(s, err, JOURNAL_ERR_INVALID, "store_find_by_order: no order id");
    r = store_pg_exec(s, "SELECT ref, journal::text FROM qscd_jobs WHERE order_id = $1 "
                         "ORDER BY created DESC, ref DESC LIMIT 1", 1, v, PGRES_TUPLES_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    if (PQntuples(r) == 0)
        rc = store_pg_fail(s, err, JOURNAL_ERR_NOT_FOUND,
                           "no job for order %s in the state database", order_id);
    else
        rc = job_of_row(r, 0, out, err);
    PQclear(r);
    return rc;
}

/* --- writing jobs ----------------------------------------------------------- */

static journal_code write_transitions(store *s, const journal_job *job, journal_err *err)
{
    for (size_t i = 0; i < job->n_transitions; i++) {
        const journal_transition *t = &job->transitions[i];
        char seq[24], at[24];
        const char *v[] = { job->ref, seq, t->device ? "device" : "order",
                            t->device ? lifecycle_device_state_name(t->state)
                                      : lifecycle_order_state_name(t->state), at, s->desk };
        PGresult *r;

        snprintf(seq, sizeof(seq), "%zu", i);
        snprintf(at, sizeof(at), "%lld", (long long)t->at);
        r = store_pg_exec(s, "INSERT INTO qscd_transitions (ref, seq, side, state, at, desk) "
                             "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), $6) "
                             "ON CONFLICT (ref, seq) DO NOTHING", 6, v, PGRES_COMMAND_OK, err);
        if (r == NULL)
            return JOURNAL_ERR_IO;
        PQclear(r);
    }
    return JOURNAL_OK;
}

journal_code store_pg_write_job(store *s, const journal_job *job, const char *text, bool create,
                                bool *kept, journal_err *err)
{
    bool keep = kept != NULL;
    char created[24], updated[24], schema[16];
    const char *v[] = { job->ref, job->order_id, lifecycle_order_state_name(job->order_state),
                        lifecycle_device_state_name(job->device_state), job->token.serial,
                        s->desk, schema, created, updated, text };
    PGresult *r;

    snprintf(created, sizeof(created), "%lld", (long long)job->created);
    snprintf(updated, sizeof(updated), "%lld", (long long)job->updated);
    snprintf(schema, sizeof(schema), "%d", JOURNAL_SCHEMA);
    if (create)
        r = store_pg_exec(s, keep ?
            "INSERT INTO qscd_jobs (ref, order_id, order_state, device_state, token_serial, "
            "holder_desk, holder_since, schema_version, created, updated, journal) VALUES "
            "($1, $2, $3, $4, $5, $6, now(), $7, $8, $9, $10::jsonb) ON CONFLICT (ref) DO NOTHING"
            : "INSERT INTO qscd_jobs (ref, order_id, order_state, device_state, token_serial, "
            "holder_desk, holder_since, schema_version, created, updated, journal) VALUES "
            "($1, $2, $3, $4, $5, $6, now(), $7, $8, $9, $10::jsonb)",
            10, v, PGRES_COMMAND_OK, err);
    else
        r = store_pg_exec(s, "UPDATE qscd_jobs SET order_id = $2, order_state = $3, "
            "device_state = $4, token_serial = $5, holder_desk = $6, schema_version = $7, "
            "created = $8, updated = $9, journal = $10::jsonb WHERE ref = $1",
            10, v, PGRES_COMMAND_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    if (!create && strcmp(PQcmdTuples(r), "1") != 0) {
        PQclear(r);
        return store_pg_fail(s, err, JOURNAL_ERR_NOT_FOUND, "job %s: not in the state "
                             "database any more", job->ref);
    }
    if (keep && strcmp(PQcmdTuples(r), "1") != 0) {   /* there already: left as it is */
        *kept = false;
        PQclear(r);
        return JOURNAL_OK;
    }
    if (keep)
        *kept = true;
    PQclear(r);
    return write_transitions(s, job, err);
}

/* journal_commit_with's writer: the row and its transitions in one transaction. */
static journal_code write_row(void *ctx, const journal_job *job, const char *text, bool create,
                              journal_err *err)
{
    store *s = ctx;
    journal_code rc = store_pg_simple(s, "BEGIN", err);

    if (rc == JOURNAL_OK)
        rc = store_pg_write_job(s, job, text, create, NULL, err);
    if (rc == JOURNAL_OK)
        return store_pg_simple(s, "COMMIT", err);
    if (PQstatus(s->pg) == CONNECTION_OK)
        (void)store_pg_simple(s, "ROLLBACK", NULL);
    return rc;
}

journal_code store_pg_commit(store *s, journal_job *job, journal_err *err)
{
    if (job == NULL || !store_pg_holds(s, job->ref))
        return store_pg_fail(s, err, JOURNAL_ERR_INVALID,
                             "job %s: not locked by this desk; open it locked first",
                             job != NULL ? job->ref : "?");
    return journal_commit_with(job, write_row, s, err);
}

journal_code store_pg_create(store *s, const char *product, const char *organization_id,
                             const char *request_sha256, journal_job **out, journal_err *err)
{
    journal_job *job = NULL;
    journal_code rc = journal_job_new(product, organization_id, request_sha256, &job, err);

    *out = NULL;
    if (rc == JOURNAL_OK)
        rc = store_pg_take_lock(s, job->ref, false, err);   /* before the row: nobody sees it unlocked */
    if (rc == JOURNAL_OK)
        rc = journal_commit_with(job, write_row, s, err);
    if (rc != JOURNAL_OK) {
        if (job != NULL)
            store_pg_unlock(s, job);
        journal_job_free(job);
        return rc;
    }
    *out = job;
    return JOURNAL_OK;
}
