/*
 * The database backend's other rows: the jobs' certificate chains, the
 * PIN-refusal records, the audit log (append-only: the agent's role may
 * only INSERT and SELECT there, and a trigger refuses UPDATE and DELETE
 * whoever asks, store_pg_schema.c) and the fleet's pacing ledger.
 */
#include "store_int.h"
#include "state_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- chains ----------------------------------------------------------------- */

journal_code store_pg_chain_read(store *s, const char *ref, char **pem, size_t *len,
                                 journal_err *err)
{
    const char *v[] = { ref };
    PGresult *r;
    journal_code rc = JOURNAL_OK;

    *pem = NULL;
    *len = 0;
    r = store_pg_exec(s, "SELECT chain FROM qscd_jobs WHERE ref = $1 AND chain IS NOT NULL", 1,
                      v, PGRES_TUPLES_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    if (PQntuples(r) == 0)
        rc = store_pg_fail(s, err, JOURNAL_ERR_NOT_FOUND,
                           "no certificate chain for job %s in the state database", ref);
    else if ((*pem = strdup(PQgetvalue(r, 0, 0))) == NULL)
        rc = store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    else
        *len = strlen(*pem);
    PQclear(r);
    return rc;
}

journal_code store_pg_chain_store(store *s, const char *ref, const char *pem, size_t len,
                                  bool replace, journal_err *err)
{
    char *text = strndup(pem, len);
    const char *v[] = { ref, text };
    PGresult *r;

    if (text == NULL)
        return store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    r = store_pg_exec(s, replace ? "UPDATE qscd_jobs SET chain = $2 WHERE ref = $1"
                                 : "UPDATE qscd_jobs SET chain = $2 WHERE ref = $1 AND chain "
                                   "IS NULL", 2, v, PGRES_COMMAND_OK, err);
    free(text);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    PQclear(r);
    return JOURNAL_OK;
}

/* --- the records beside the jobs --------------------------------------------- */

/*
 * A state dir's STATE/SUB/NAME records, as rows: the PIN-refusal records in
 * their own table (the fleet's never-twice rule), every other kind the
 * agent keeps (STATE_REMOTE: the refresh record) in qscd_records by kind.
 */
struct record_sql {
    const char *write, *read, *remove;
};

static const struct record_sql pin_sql = {
    "INSERT INTO qscd_pin_refusals (name, record, desk, at) VALUES ($1, $2::jsonb, $3, now()) "
    "ON CONFLICT (name) DO UPDATE SET record = excluded.record, desk = excluded.desk, "
    "at = excluded.at",
    "SELECT record::text FROM qscd_pin_refusals WHERE name = $1",
    "DELETE FROM qscd_pin_refusals WHERE name = $1",
};

static const struct record_sql other_sql = {
    "INSERT INTO qscd_records (sub, name, record, desk, at) VALUES ($4, $1, $2::jsonb, $3, "
    "now()) ON CONFLICT (sub, name) DO UPDATE SET record = excluded.record, "
    "desk = excluded.desk, at = excluded.at",
    "SELECT record::text FROM qscd_records WHERE name = $1 AND sub = $2",
    "DELETE FROM qscd_records WHERE name = $1 AND sub = $2",
};

static const struct record_sql *known_sub(store *s, const char *sub, journal_err *err)
{
    if (sub != NULL && strcmp(sub, STATE_PIN_REFUSED) == 0)
        return &pin_sql;
    if (sub != NULL && strcmp(sub, STATE_REMOTE) == 0)
        return &other_sql;
    store_pg_fail(s, err, JOURNAL_ERR_INVALID, "state database: no table for records \"%s\"",
                  sub ? sub : "");
    return NULL;
}

journal_code store_pg_write_file(store *s, const char *sub, const char *name, const char *text,
                                 journal_err *err)
{
    const struct record_sql *q = known_sub(s, sub, err);
    const char *v[] = { name, text, s->desk, sub };
    PGresult *r;

    if (q == NULL)
        return JOURNAL_ERR_INVALID;
    r = store_pg_exec(s, q->write, q == &pin_sql ? 3 : 4, v, PGRES_COMMAND_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    PQclear(r);
    return JOURNAL_OK;
}

journal_code store_pg_read_file(store *s, const char *sub, const char *name, char **out,
                                journal_err *err)
{
    const struct record_sql *q = known_sub(s, sub, err);
    const char *v[] = { name, sub };
    PGresult *r;
    journal_code rc = JOURNAL_OK;

    *out = NULL;
    if (q == NULL)
        return JOURNAL_ERR_INVALID;
    r = store_pg_exec(s, q->read, q == &pin_sql ? 1 : 2, v, PGRES_TUPLES_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    if (PQntuples(r) == 0)
        rc = store_pg_fail(s, err, JOURNAL_ERR_NOT_FOUND, "no record %s", name);
    else if ((*out = strdup(PQgetvalue(r, 0, 0))) == NULL)
        rc = store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    PQclear(r);
    return rc;
}

journal_code store_pg_remove_file(store *s, const char *sub, const char *name,
                                  journal_err *err)
{
    const struct record_sql *q = known_sub(s, sub, err);
    const char *v[] = { name, sub };
    PGresult *r;

    if (q == NULL)
        return JOURNAL_ERR_INVALID;
    r = store_pg_exec(s, q->remove, q == &pin_sql ? 1 : 2, v, PGRES_COMMAND_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    PQclear(r);
    return JOURNAL_OK;
}

/* --- audit ------------------------------------------------------------------- */

static audit_code audit_fail(audit_err *err, audit_code code, const char *msg)
{
    if (err != NULL) {
        err->code = code;
        snprintf(err->message, sizeof(err->message), "%s", msg);
    }
    return code;
}

static journal_code insert_audit(store *s, const audit_entry *e, const char *line,
                                 const char *key, journal_err *err)
{
    const char *v[] = { e->desk, e->order_id, e->job_ref, e->action, e->outcome, line, key };
    PGresult *r = store_pg_exec(s, "INSERT INTO qscd_audit (desk, order_id, job_ref, action, "
                                   "outcome, line, import_key) VALUES ($1, $2, $3, $4, $5, $6, "
                                   "$7) ON CONFLICT (import_key) DO NOTHING", 7, v,
                                PGRES_COMMAND_OK, err);

    if (r == NULL)
        return JOURNAL_ERR_IO;
    PQclear(r);
    return JOURNAL_OK;
}

audit_code store_pg_audit_append(store *s, const audit_entry *e, audit_err *err)
{
    audit_entry mine = *e;
    journal_err je = { 0 };
    char *line;
    journal_code rc;

    if (e->action == NULL || e->outcome == NULL)
        return audit_fail(err, AUDIT_ERR_INVALID, "audit: action and outcome are required");
    mine.desk = s->desk;
    if ((line = audit_format_line(&mine)) == NULL)
        return audit_fail(err, AUDIT_ERR_NOMEM, "out of memory");
    line[strcspn(line, "\n")] = '\0';
    rc = insert_audit(s, &mine, line, NULL, &je);
    free(line);
    return rc == JOURNAL_OK ? AUDIT_OK : audit_fail(err, AUDIT_ERR_IO, je.message);
}

journal_code store_pg_audit_import(store *s, const char *line, const char *key,
                                   journal_err *err)
{
    audit_log one = { 0 };
    audit_err ae = { 0 };
    audit_entry e = { 0 };
    char *copy = strdup(line);
    journal_code rc;

    if (copy == NULL || audit_log_start(&one, &ae) != AUDIT_OK) {
        free(copy);
        return store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    }
    /* The columns from the line itself; a line that is not an entry is kept as it is. */
    if (audit_log_add_line(&one, copy, 1, NULL, &ae) == AUDIT_OK && one.n == 1)
        e = one.entries[0];
    if (e.desk == NULL)
        e.desk = s->desk;
    if (e.action == NULL)
        e.action = "?";
    if (e.outcome == NULL)
        e.outcome = "?";
    rc = insert_audit(s, &e, line, key, err);
    audit_log_free(&one);
    free(copy);
    return rc;
}

audit_code store_pg_audit_read(store *s, const char *order_id, audit_log *out, audit_err *err)
{
    const char *v[] = { order_id };
    journal_err je = { 0 };
    PGresult *r;
    audit_code rc;

    memset(out, 0, sizeof(*out));
    r = order_id != NULL
        ? store_pg_exec(s, "SELECT id, line FROM qscd_audit WHERE order_id = $1 ORDER BY id", 1,
                        v, PGRES_TUPLES_OK, &je)
        : store_pg_exec(s, "SELECT id, line FROM qscd_audit ORDER BY id", 0, NULL,
                        PGRES_TUPLES_OK, &je);
    if (r == NULL)
        return audit_fail(err, AUDIT_ERR_IO, je.message);
    if ((rc = audit_log_start(out, err)) != AUDIT_OK) {
        PQclear(r);
        return rc;
    }
    for (int i = 0; i < PQntuples(r) && rc == AUDIT_OK; i++)
        rc = audit_log_add_line(out, PQgetvalue(r, i, 1), atoi(PQgetvalue(r, i, 0)), order_id,
                                err);
    PQclear(r);
    if (rc != AUDIT_OK)
        audit_log_free(out);
    return rc;
}

/* --- the fleet's pacing ledger ---------------------------------------------- */

/*
 * One transaction from load to done, under a transaction advisory lock: two
 * desks cannot both take the last free slot of a window.  Times are the
 * database's clock_timestamp(), so desks whose clocks differ still agree.
 */
journal_code store_pg_pace_load(store *s, const char *api, double horizon_s, double *ages,
                                size_t cap, size_t *n, journal_err *err)
{
    char lock[96], hz[32], lim[32];
    const char *v[] = { api, hz }, *lv[] = { api, lim };
    PGresult *r;

    *n = 0;
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, %d)", STORE_PG_KEY_CLASS,
             STORE_PG_KEY_PACE);
    snprintf(hz, sizeof(hz), "%.3f", horizon_s);
    snprintf(lim, sizeof(lim), "%zu", cap);
    if (store_pg_simple(s, "BEGIN", err) != JOURNAL_OK)
        return JOURNAL_ERR_IO;
    if ((r = store_pg_exec(s, lock, 0, NULL, PGRES_TUPLES_OK, err)) == NULL)
        goto fail;
    PQclear(r);
    /* What no window counts any more goes; the rest is the budget in use. */
    if ((r = store_pg_exec(s, "DELETE FROM qscd_pace WHERE api = $1 AND sent_at < "
                              "extract(epoch FROM clock_timestamp()) - $2::float8", 2, v,
                           PGRES_COMMAND_OK, err)) == NULL)
        goto fail;
    PQclear(r);
    if ((r = store_pg_exec(s, "SELECT greatest(extract(epoch FROM clock_timestamp()) - sent_at, "
                              "0) FROM qscd_pace WHERE api = $1 ORDER BY sent_at DESC LIMIT "
                              "$2::int", 2, lv, PGRES_TUPLES_OK, err)) == NULL)
        goto fail;
    for (int i = 0; i < PQntuples(r) && (size_t)i < cap; i++)
        ages[(*n)++] = strtod(PQgetvalue(r, i, 0), NULL);
    PQclear(r);
    return JOURNAL_OK;
fail:
    if (PQstatus(s->pg) == CONNECTION_OK)
        (void)store_pg_simple(s, "ROLLBACK", NULL);
    return JOURNAL_ERR_IO;
}

void store_pg_pace_done(store *s, const char *api, bool sent)
{
    const char *v[] = { api };
    PGresult *r = NULL;

    if (sent)
        r = store_pg_exec(s, "INSERT INTO qscd_pace (api, sent_at) VALUES ($1, "
                             "extract(epoch FROM clock_timestamp()))", 1, v, PGRES_COMMAND_OK,
                          NULL);
    PQclear(r);
    if (store_pg_simple(s, (sent && r == NULL) ? "ROLLBACK" : "COMMIT", NULL) != JOURNAL_OK &&
        PQstatus(s->pg) == CONNECTION_OK)
        (void)store_pg_simple(s, "ROLLBACK", NULL);
}
