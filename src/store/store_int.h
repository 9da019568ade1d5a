/*
 * Private to the store's files: the handle, and the database backend's
 * functions behind store.c's dispatch (store_pg.c: connection, jobs and
 * their locks; store_pg_rows.c: chains, records, audit, pacing;
 * store_pg_schema.c: the migrations).
 */
#ifndef QSCD_STORE_INT_H
#define QSCD_STORE_INT_H

#include "store.h"

#include <libpq-fe.h>
#include <stdarg.h>

/* The advisory lock keys besides the jobs' (whose key is the ref's 64 bits):
 * two-int keys, a space of their own in pg_locks. */
#define STORE_SCHEMA 2   /* the migrations this qscd-agent knows (store_pg_schema.c) */

#define STORE_PG_KEY_CLASS   0x51534344   /* "QSCD" */
#define STORE_PG_KEY_SUBMIT  1
#define STORE_PG_KEY_PACE    2

struct qscd_store {
    char   *dir;           /* the state directory backend; NULL for a database */
    char    desk[256];     /* store_desk() */
    PGconn *pg;            /* the database backend; NULL for a directory */
    char  (*held)[JOURNAL_REF_LEN + 1];   /* jobs this connection holds the lock of */
    size_t  n_held;
    int     submit_held;   /* the submit lock is held */
};

/* A failure of the database: JOURNAL_ERR_IO, retryable when the connection is gone. */
journal_code store_pg_fail(store *s, journal_err *err, journal_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Run sql with text parameters; NULL (err filled) unless the result is `want`. */
PGresult *store_pg_exec(store *s, const char *sql, int n, const char *const *vals,
                        ExecStatusType want, journal_err *err);
/* BEGIN / COMMIT / ROLLBACK. */
journal_code store_pg_simple(store *s, const char *sql, journal_err *err);
/* Several statements, no parameters (the migrations). */
journal_code store_pg_script(store *s, const char *sql, journal_err *err);

/* Connect (the URI checked first: no password in it); no schema check. */
journal_code store_pg_connect(store *s, const char *uri, journal_err *err);
journal_code store_pg_open(store *s, const char *uri, journal_err *err);
void         store_pg_close(store *s);
/* The schema version in the database, 0 when there is none. */
journal_code store_pg_schema_version(store *s, int *version, journal_err *err);

journal_code store_pg_create(store *s, const char *product, const char *organization_id,
                             const char *request_sha256, journal_job **out, journal_err *err);
journal_code store_pg_load(store *s, const char *ref, journal_job **out, journal_err *err);
journal_code store_pg_open_locked(store *s, const char *ref, bool blocking, journal_job **out,
                                  journal_err *err);
journal_code store_pg_lock(store *s, journal_job *job, bool blocking, journal_err *err);
/* Take the job's lock for this connection and name this desk its holder
 * (store_pg_lock.c); "busy at desk X since T" when another desk has it. */
journal_code store_pg_take_lock(store *s, const char *ref, bool blocking, journal_err *err);
void         store_pg_unlock(store *s, journal_job *job);
bool         store_pg_holds(const store *s, const char *ref);
journal_code store_pg_commit(store *s, journal_job *job, journal_err *err);
journal_code store_pg_submit_lock(store *s, bool (*stop_asked)(void), int *held,
                                  journal_err *err);
void         store_pg_submit_unlock(store *s, int *held);
journal_code store_pg_find_by_order(store *s, const char *order_id, journal_job **out,
                                    journal_err *err);
journal_code store_pg_list(store *s, journal_listing *out, journal_err *err);
/* Write a job row (and its transitions) as given, in the transaction in hand;
 * kept (may be NULL): create only when absent, *kept says whether it was. */
journal_code store_pg_write_job(store *s, const journal_job *job, const char *text, bool create,
                                bool *kept, journal_err *err);
journal_code store_pg_list_desk(store *s, const char *desk, journal_listing *out,
                                journal_err *err);

journal_code store_pg_chain_read(store *s, const char *ref, char **pem, size_t *len,
                                 journal_err *err);
journal_code store_pg_chain_store(store *s, const char *ref, const char *pem, size_t len,
                                  bool replace, journal_err *err);
journal_code store_pg_write_file(store *s, const char *sub, const char *name, const char *text,
                                 journal_err *err);
journal_code store_pg_read_file(store *s, const char *sub, const char *name, char **out,
                                journal_err *err);
journal_code store_pg_remove_file(store *s, const char *sub, const char *name,
                                  journal_err *err);
journal_code store_pg_pace_load(store *s, const char *api, double horizon_s, double *ages,
                                size_t cap, size_t *n, journal_err *err);
void         store_pg_pace_done(store *s, const char *api, bool sent);
audit_code   store_pg_audit_append(store *s, const audit_entry *e, audit_err *err);
audit_code   store_pg_audit_read(store *s, const char *order_id, audit_log *out, audit_err *err);
/* One audit line as imported: key makes a second import of it a no-op. */
journal_code store_pg_audit_import(store *s, const char *line, const char *key,
                                   journal_err *err);

#endif
