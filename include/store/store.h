/*
 * The store: where the core keeps its jobs, their certificate chains, the
 * audit log, the PIN-refusal records and the pacing ledger.  One interface,
 * two backends:
 *   - the state directory (the default): src/journal, unchanged, one
 *     workstation's own files;
 *   - PostgreSQL (src/store/store_pg*.c, docs/fleet.md): one database
 *     shared by the desks of a fleet, so that no two of them order or
 *     provision the same thing.
 *
 * The functions mirror the journal's (journal.h, audit.h), take a store
 * handle where the journal takes a directory, and report with the
 * journal's codes and messages: the store is the journal's interface to
 * the core, whatever keeps the bytes.  A job is still a journal_job; a job
 * locked through a store is unlocked and freed with store_job_free (the
 * database's locks belong to the store's connection, not to the job).
 */
#ifndef QSCD_STORE_H
#define QSCD_STORE_H

#include "audit.h"
#include "journal.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct qscd_store store;

typedef struct store_settings {
    const char *state_dir;  /* the state directory (the default backend) */
    const char *state_db;   /* postgresql:// URI: the shared database instead; NULL: none */
    const char *desk;       /* this workstation's name in a shared store; NULL: host
                               name and /etc/machine-id (store_desk_identity) */
} store_settings;

/*
 * Open the backend the settings name: state_db when given (connecting at
 * once: an unreachable database is an error here, never a fall-back to
 * the state directory), else state_dir.  JOURNAL_ERR_IO when the database
 * cannot be reached, JOURNAL_ERR_INVALID for a URI that is refused.
 */
journal_code store_open(const store_settings *set, store **out, journal_err *err);
void         store_close(store *s);

/* The state directory of a directory store; NULL for a database. */
const char *store_state_dir(const store *s);
/* True for a database shared by several desks. */
bool        store_shared(const store *s);
/* This desk's name in audit lines and job holders ("" never). */
const char *store_desk(const store *s);

/* journal_create, journal_create_request, journal_load. */
journal_code store_create(store *s, journal_job **out, journal_err *err);
journal_code store_create_request(store *s, const char *product, const char *organization_id,
                                  const char *request_sha256, journal_job **out,
                                  journal_err *err);
journal_code store_load(store *s, const char *ref, journal_job **out, journal_err *err);

/*
 * journal_open_locked, journal_lock: not blocking and taken, JOURNAL_ERR_BUSY
 * naming who holds it (a process here, or "busy at desk X since T").
 */
journal_code store_open_locked(store *s, const char *ref, bool blocking, journal_job **out,
                               journal_err *err);
journal_code store_lock(store *s, journal_job *job, bool blocking, journal_err *err);
void         store_unlock(store *s, journal_job *job);
bool         store_job_locked(const store *s, const journal_job *job);
/* Unlock (when locked here) and free. */
void         store_job_free(store *s, journal_job *job);

/* journal_commit: durable (on disk, or committed in the database) on return. */
journal_code store_commit(store *s, journal_job *job, journal_err *err);

/* journal_submit_lock: *held is -1 unless held. */
journal_code store_submit_lock(store *s, bool (*stop_asked)(void), int *held, journal_err *err);
void         store_submit_unlock(store *s, int *held);

/* journal_find_by_order, journal_list. */
journal_code store_find_by_order(store *s, const char *order_id, journal_job **out,
                                 journal_err *err);
journal_code store_list(store *s, journal_listing *out, journal_err *err);

/* journal_chain_read, journal_chain_store. */
journal_code store_chain_read(store *s, const char *ref, char **pem, size_t *len,
                              journal_err *err);
journal_code store_chain_store(store *s, const char *ref, const char *pem, size_t len,
                               bool replace, journal_err *err);

/*
 * journal_write_file, _read_file, _remove_file for the records kept beside
 * the jobs (STATE_PIN_REFUSED); a database keeps each sub in its table.
 */
journal_code store_write_file(store *s, const char *sub, const char *name, const char *text,
                              journal_err *err);
journal_code store_read_file(store *s, const char *sub, const char *name, char **out,
                             journal_err *err);
journal_code store_remove_file(store *s, const char *sub, const char *name, journal_err *err);

/* audit_record, audit_read; a shared store adds the desk to each line. */
audit_code store_audit_append(store *s, const audit_entry *e, audit_err *err);
audit_code store_audit_read(store *s, const char *order_id, audit_log *out, audit_err *err);

/* store_list, only the jobs whose holder (the desk that holds, or last
 * held, the job's lock) is desk; a state directory has one desk, its own. */
journal_code store_list_desk(store *s, const char *desk, journal_listing *out, journal_err *err);

/*
 * The fleet's pacing ledger (a database's; a state directory's is the order
 * client's own file): load locks it (a transaction advisory lock) and gives
 * the ages in seconds, by the database's clock, of api's sends within
 * horizon_s (at most cap); done records one send now when `sent` and
 * unlocks.  Not JOURNAL_OK: the ledger cannot be used.
 */
journal_code store_pace_load(store *s, const char *api, double horizon_s, double *ages,
                             size_t cap, size_t *n, journal_err *err);
void         store_pace_done(store *s, const char *api, bool sent);

/* --- the database's administration (qscd-agent db ...) ----------------------- */

/*
 * Apply the schema's migrations after the database's version (init: from
 * none; else a schema must be there), each in its own transaction; with
 * agent_role, grant it what the agent needs (on the audit log INSERT and
 * SELECT only).  *from and *to: the version before and after.
 */
journal_code store_db_migrate(const char *uri, bool init, const char *agent_role, int *from,
                              int *to, journal_err *err);

typedef struct store_db_info {
    int  version;       /* the database's schema; 0: none */
    int  known;         /* the newest this qscd-agent knows */
    long jobs, open_jobs, audit_lines;
    char desk[256];     /* this desk, as it is named in the database */
} store_db_info;

journal_code store_db_status(const char *uri, store_db_info *out, journal_err *err);

typedef struct store_import_counts {
    size_t jobs;          /* moved in */
    size_t jobs_there;    /* in the database already: left as they are */
    size_t unreadable;    /* job files that cannot be read: not moved */
    size_t audit_lines;   /* audit lines looked at (each is moved once) */
    size_t refusals;      /* PIN-refusal records looked at */
} store_import_counts;

/* `db import STATE_DIR`: the directory's jobs, chains, audit log and PIN
 * refusals into the database s; a second run moves nothing twice. */
journal_code store_db_import(store *s, const char *state_dir, store_import_counts *n,
                             journal_err *err);

/*
 * This workstation's identity for a shared store: QSCD_DESK when set
 * (tests, containers whose machine-id is shared), else "HOST/MACHINE-ID"
 * (the host name and the first 12 digits of /etc/machine-id; the host name
 * alone when there is no machine-id).
 */
void store_desk_identity(char *out, size_t len);

#endif
