/*
 * The database's schema, in versioned migrations applied in order, each in
 * its own transaction with its version recorded (qscd_schema), under a
 * transaction advisory lock so that two desks migrating at once apply each
 * step once.  A migration is never edited once released: a change is the
 * next one.  And `db import`: a workstation's state directory moved in.
 */
#include "store_int.h"
#include "state_layout.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[STORE_SCHEMA] = {
    /* 1: one table per concern */
    "CREATE TABLE qscd_schema (version int PRIMARY KEY, "
    "  applied_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE qscd_jobs ("
    "  ref text PRIMARY KEY CHECK (ref ~ '^job-[0-9a-f]{16}$'),"
    "  order_id text, order_state text NOT NULL, device_state text NOT NULL,"
    "  token_serial text, holder_desk text, holder_since timestamptz,"
    "  schema_version int NOT NULL, created bigint NOT NULL, updated bigint NOT NULL,"
    "  journal jsonb NOT NULL, chain text);"
    "CREATE INDEX qscd_jobs_order ON qscd_jobs (order_id);"
    "CREATE INDEX qscd_jobs_states ON qscd_jobs (order_state, device_state);"
    "CREATE INDEX qscd_jobs_token ON qscd_jobs (token_serial);"
    "CREATE INDEX qscd_jobs_holder ON qscd_jobs (holder_desk);"
    "CREATE TABLE qscd_transitions ("
    "  ref text NOT NULL REFERENCES qscd_jobs (ref), seq int NOT NULL,"
    "  side text NOT NULL, state text NOT NULL, at timestamptz NOT NULL, desk text,"
    "  PRIMARY KEY (ref, seq));"
    "CREATE TABLE qscd_audit ("
    "  id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
    "  desk text NOT NULL, order_id text, job_ref text, action text NOT NULL,"
    "  outcome text NOT NULL, line text NOT NULL, import_key text UNIQUE);"
    "CREATE INDEX qscd_audit_order ON qscd_audit (order_id);"
    "CREATE FUNCTION qscd_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION 'qscd_audit is append-only: % refused', TG_OP; END $$;"
    "CREATE TRIGGER qscd_audit_no_change BEFORE UPDATE OR DELETE ON qscd_audit"
    "  FOR EACH ROW EXECUTE FUNCTION qscd_audit_append_only();"
    "CREATE TRIGGER qscd_audit_no_truncate BEFORE TRUNCATE ON qscd_audit"
    "  FOR EACH STATEMENT EXECUTE FUNCTION qscd_audit_append_only();"
    "CREATE TABLE qscd_pace (api text NOT NULL, sent_at double precision NOT NULL);"
    "CREATE INDEX qscd_pace_api ON qscd_pace (api, sent_at);"
    "CREATE TABLE qscd_pin_refusals (name text PRIMARY KEY, record jsonb NOT NULL,"
    "  desk text, at timestamptz NOT NULL DEFAULT now());",
    /* 2: the other records a state dir keeps beside the jobs (the refresh record) */
    "CREATE TABLE qscd_records (sub text NOT NULL, name text NOT NULL, record jsonb NOT NULL,"
    "  desk text, at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (sub, name));",
};

/* What the agent's role may do: everything it needs, and on the audit log
 * only INSERT and SELECT. */
static const char grants[] =
    "GRANT SELECT ON qscd_schema TO %1$s;"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON qscd_jobs, qscd_transitions, qscd_pace,"
    "  qscd_pin_refusals, qscd_records TO %1$s;"
    "REVOKE UPDATE, DELETE, TRUNCATE ON qscd_audit FROM %1$s;"
    "GRANT SELECT, INSERT ON qscd_audit TO %1$s;"
    "GRANT USAGE ON SEQUENCE qscd_audit_id_seq TO %1$s;";

static journal_code apply(store *s, int version, journal_err *err)
{
    char v[16];
    const char *vals[] = { v };
    journal_code rc;
    PGresult *r;

    snprintf(v, sizeof(v), "%d", version);
    rc = store_pg_script(s, migrations[version - 1], err);
    if (rc != JOURNAL_OK)
        return rc;
    r = store_pg_exec(s, "INSERT INTO qscd_schema (version) VALUES ($1::int)", 1, vals,
                      PGRES_COMMAND_OK, err);
    if (r == NULL)
        return JOURNAL_ERR_IO;
    PQclear(r);
    return JOURNAL_OK;
}

static journal_code grant(store *s, const char *role, journal_err *err)
{
    char *id = PQescapeIdentifier(s->pg, role, strlen(role)), *sql = NULL;
    journal_code rc;

    if (id == NULL)
        return store_pg_fail(s, err, JOURNAL_ERR_INVALID, "agent role \"%.100s\": %s", role,
                             PQerrorMessage(s->pg));
    if (asprintf(&sql, grants, id) < 0)
        sql = NULL;
    PQfreemem(id);
    if (sql == NULL)
        return store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    rc = store_pg_script(s, sql, err);
    free(sql);
    return rc;
}

/* Every migration after the database's version, then the grants, each step
 * in its own transaction under the migration lock. */
static journal_code migrate(store *s, bool init, const char *role, int *from, int *to,
                            journal_err *err)
{
    char lock[96];
    journal_code rc = JOURNAL_OK;
    int v = 0;

    snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, 0)", STORE_PG_KEY_CLASS);
    *from = *to = 0;
    for (;;) {
        PGresult *r;

        if ((rc = store_pg_simple(s, "BEGIN", err)) != JOURNAL_OK)
            return rc;
        if ((r = store_pg_exec(s, lock, 0, NULL, PGRES_TUPLES_OK, err)) == NULL)
            return JOURNAL_ERR_IO;
        PQclear(r);
        if ((rc = store_pg_schema_version(s, &v, err)) != JOURNAL_OK)
            break;
        if (*from == 0 && *to == 0)
            *from = v;
        *to = v;
        if (v == 0 && !init) {
            rc = store_pg_fail(s, err, JOURNAL_ERR_INVALID, "state database: no qscd-agent "
                               "schema to migrate; run \"qscd-agent db init\" first");
            break;
        }
        if (v > STORE_SCHEMA) {
            rc = store_pg_fail(s, err, JOURNAL_ERR_VERSION, "state database: schema version "
                               "%d is newer than this qscd-agent knows (%d)", v, STORE_SCHEMA);
            break;
        }
        if (v == STORE_SCHEMA) {
            rc = role != NULL ? grant(s, role, err) : JOURNAL_OK;
            break;
        }
        if ((rc = apply(s, v + 1, err)) != JOURNAL_OK ||
            (rc = store_pg_simple(s, "COMMIT", err)) != JOURNAL_OK)
            break;
        *to = v + 1;
    }
    if (rc == JOURNAL_OK)
        return store_pg_simple(s, "COMMIT", err);
    if (PQstatus(s->pg) == CONNECTION_OK)
        (void)store_pg_simple(s, "ROLLBACK", NULL);
    return rc;
}

static journal_code admin_open(const char *uri, store **out, journal_err *err)
{
    store *s = calloc(1, sizeof(*s));
    journal_code rc;

    *out = NULL;
    if (s == NULL)
        return store_pg_fail(NULL, err, JOURNAL_ERR_NOMEM, "out of memory");
    store_desk_identity(s->desk, sizeof(s->desk));
    if ((rc = store_pg_connect(s, uri, err)) != JOURNAL_OK) {
        store_close(s);
        return rc;
    }
    *out = s;
    return JOURNAL_OK;
}

journal_code store_db_migrate(const char *uri, bool init, const char *agent_role, int *from,
                              int *to, journal_err *err)
{
    store *s = NULL;
    journal_code rc = admin_open(uri, &s, err);

    *from = *to = 0;
    if (rc == JOURNAL_OK)
        rc = migrate(s, init, agent_role, from, to, err);
    store_close(s);
    return rc;
}

journal_code store_db_status(const char *uri, store_db_info *out, journal_err *err)
{
    store *s = NULL;
    journal_code rc = admin_open(uri, &s, err);
    PGresult *r;

    memset(out, 0, sizeof(*out));
    out->known = STORE_SCHEMA;
    if (rc == JOURNAL_OK)
        rc = store_pg_schema_version(s, &out->version, err);
    if (rc == JOURNAL_OK && out->version > 0) {
        r = store_pg_exec(s, "SELECT (SELECT count(*) FROM qscd_jobs), (SELECT count(*) FROM "
                             "qscd_audit), (SELECT count(*) FROM qscd_jobs WHERE "
                             "order_state NOT IN ('certificate_ready', 'rejected') OR "
                             "device_state <> 'verified')", 0, NULL, PGRES_TUPLES_OK, err);
        if (r == NULL) {
            rc = JOURNAL_ERR_IO;
        } else {
            out->jobs = atol(PQgetvalue(r, 0, 0));
            out->audit_lines = atol(PQgetvalue(r, 0, 1));
            out->open_jobs = atol(PQgetvalue(r, 0, 2));
            PQclear(r);
        }
    }
    if (s != NULL)
        snprintf(out->desk, sizeof(out->desk), "%s", s->desk);
    store_close(s);
    return rc;
}

/* --- db import --------------------------------------------------------------- */

static journal_code import_job(store *s, const char *dir, journal_job *job,
                               store_import_counts *n, journal_err *err)
{
    char *text = journal_job_to_json(job), *pem = NULL;
    journal_err ce = { 0 };
    size_t len = 0;
    bool inserted = false;
    journal_code rc;

    if (text == NULL)
        return store_pg_fail(s, err, JOURNAL_ERR_NOMEM, "out of memory");
    rc = store_pg_simple(s, "BEGIN", err);
    if (rc == JOURNAL_OK)
        rc = store_pg_write_job(s, job, text, true, &inserted, err);
    free(text);
    if (rc == JOURNAL_OK && inserted && journal_chain_read(dir, job->ref, &pem, &len, &ce) ==
                                            JOURNAL_OK)
        rc = store_pg_chain_store(s, job->ref, pem, len, false, err);
    free(pem);
    if (rc == JOURNAL_OK)
        rc = store_pg_simple(s, "COMMIT", err);
    else if (PQstatus(s->pg) == CONNECTION_OK)
        (void)store_pg_simple(s, "ROLLBACK", NULL);
    if (rc == JOURNAL_OK)
        (*(inserted ? &n->jobs : &n->jobs_there))++;
    return rc;
}

static journal_code import_audit(store *s, const char *dir, store_import_counts *n,
                                 journal_err *err)
{
    char *path = state_audit_file(dir), *line = NULL, key[1200];
    char *real = path != NULL ? realpath(dir, NULL) : NULL;
    size_t cap = 0;
    long lineno = 0;
    journal_code rc = JOURNAL_OK;
    FILE *f = path != NULL ? fopen(path, "re") : NULL;

    while (f != NULL && rc == JOURNAL_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        /* Which line of which desk's state dir: a second import adds nothing. */
        snprintf(key, sizeof(key), "%s:%s:%ld", s->desk, real != NULL ? real : dir, lineno);
        rc = store_pg_audit_import(s, line, key, err);
        if (rc == JOURNAL_OK)
            n->audit_lines++;
    }
    if (f != NULL)
        fclose(f);
    free(line);
    free(real);
    free(path);
    return rc;
}

static journal_code import_refusals(store *s, const char *dir, store_import_counts *n,
                                    journal_err *err)
{
    char *sub = state_sub_dir(dir, STATE_PIN_REFUSED), *text = NULL;
    DIR *d = sub != NULL ? opendir(sub) : NULL;
    struct dirent *de;
    journal_code rc = JOURNAL_OK;

    while (d != NULL && rc == JOURNAL_OK && (de = readdir(d)) != NULL) {
        const char *v[2] = { de->d_name, NULL };
        journal_err re = { 0 };
        PGresult *r;

        if (de->d_name[0] == '.' || journal_read_file(dir, STATE_PIN_REFUSED, de->d_name, &text,
                                                      &re) != JOURNAL_OK)
            continue;
        v[1] = text;
        r = store_pg_exec(s, "INSERT INTO qscd_pin_refusals (name, record) VALUES ($1, "
                             "$2::jsonb) ON CONFLICT (name) DO NOTHING", 2, v,
                          PGRES_COMMAND_OK, err);
        free(text);
        text = NULL;
        if (r == NULL)
            rc = JOURNAL_ERR_IO;
        else
            n->refusals++;
        PQclear(r);
    }
    if (d != NULL)
        closedir(d);
    free(sub);
    return rc;
}

journal_code store_db_import(store *s, const char *state_dir, store_import_counts *n,
                             journal_err *err)
{
    journal_listing l = { 0 };
    journal_code rc;

    memset(n, 0, sizeof(*n));
    if (s->pg == NULL)
        return store_pg_fail(s, err, JOURNAL_ERR_INVALID, "db import: no state database");
    if ((rc = journal_list(state_dir, &l, err)) != JOURNAL_OK)
        return rc;
    for (size_t i = 0; i < l.n && rc == JOURNAL_OK; i++)
        rc = import_job(s, state_dir, l.jobs[i], n, err);
    n->unreadable = l.n_unreadable;
    journal_listing_free(&l);
    if (rc == JOURNAL_OK)
        rc = import_audit(s, state_dir, n, err);
    if (rc == JOURNAL_OK)
        rc = import_refusals(s, state_dir, n, err);
    return rc;
}
