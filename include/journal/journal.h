/*
 * The job journal: one JSON file per job, STATE/jobs/<ref>.json, written
 * atomically and durably, so that any command can be re-run after a crash
 * and resume where the last one stopped (design.md, "Lifecycle states";
 * docs/lifecycle.md describes the file).
 *
 * A job is worked on by one process at a time: journal_open_locked() takes an
 * flock on STATE/jobs/<ref>.lock (holding the owner's pid), and
 * journal_commit() refuses a job whose lock is not held.  Files that cannot
 * be read (corrupt, newer schema) are reported and left untouched.
 *
 * Never a secret: the struct has no field for a PIN or an API key, and the
 * writer only writes the fields below.
 */
#ifndef QSCD_JOURNAL_H
#define QSCD_JOURNAL_H

#include "lifecycle.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define JOURNAL_SCHEMA  1
#define JOURNAL_REF_LEN 20   /* "job-" + 16 hex digits */

typedef enum journal_code {
    JOURNAL_OK = 0,
    JOURNAL_ERR_INVALID,    /* bad argument (a bug in the caller) */
    JOURNAL_ERR_IO,         /* cannot create, read, write or sync */
    JOURNAL_ERR_NOT_FOUND,  /* no such job */
    JOURNAL_ERR_CORRUPT,    /* not valid JSON, or a field of the wrong kind */
    JOURNAL_ERR_VERSION,    /* written by a newer qscd-agent */
    JOURNAL_ERR_BUSY,       /* locked by another process */
    JOURNAL_ERR_NOMEM,
} journal_code;

typedef struct journal_err {
    journal_code code;
    bool         retryable;      /* BUSY: try again when the other is done */
    char         message[512];   /* names the file or job and what is wrong */
} journal_err;

/*
 * Where a --generate-key job stands between committing a step and seeing
 * it done.  KEYGEN: key_id_hex is the CKA_ID the key pair is (being) made
 * with.  REISSUE: the reissue POST is about to go or went without a reply
 * seen; the order's requests tell whether it was stored.
 */
enum journal_rekey_step {
    JOURNAL_REKEY_NONE = 0,
    JOURNAL_REKEY_KEYGEN,
    JOURNAL_REKEY_REISSUE,
};

/* The token bound to a job; every field NULL while none is. */
typedef struct journal_token {
    char *serial;
    char *manufacturer;
    char *model;
    char *label;
    char *uri;              /* RFC 7512, without any pin-value */
} journal_token;

/* One entry per state change, oldest first. */
typedef struct journal_transition {
    bool   device;          /* false: order side */
    int    state;           /* enum lifecycle_order_state / _device_state */
    time_t at;
} journal_transition;

typedef struct journal_job {
    char   ref[JOURNAL_REF_LEN + 1];
    time_t created;
    time_t updated;

    /* order side */
    enum lifecycle_order_state order_state;
    char  *order_id;         /* CertCentral ids, as decimal strings */
    char  *request_id;
    char  *certificate_id;

    /* the submitted request, to reconcile a job found in "submitting" */
    char  *product;          /* e.g. "pkio_qualified_organisation_services" */
    char  *organization_id;
    time_t request_created;  /* when the POST was about to be sent; 0 unknown */
    char  *request_sha256;   /* of the request as validated (compact JSON), lowercase
                                hex; NULL in jobs from before it was kept */

    /* device side */
    enum lifecycle_device_state device_state;
    journal_token token;
    char  *key_id_hex;       /* CKA_ID of the key, lowercase hex */
    bool   generate_key;     /* --generate-key was asked for this job */
    bool   reissued;         /* the reissue for a generated key was sent */

    /* --generate-key write-ahead: committed before the step that cannot be
     * undone, so that a re-run looks before it does it again */
    enum journal_rekey_step rekey_step;
    char  *rekey_after_request; /* REISSUE: the order's latest request id before it */
    char  *rekey_csr_sha256;    /* REISSUE: of the CSR (DER) sent, lowercase hex */
    time_t rekey_at;            /* when the step was committed */

    /* the test signature after install (include/test_signature.h) */
    char  *test_signature;      /* "verified" or "skipped"; NULL: not made yet */
    char  *test_signature_alg;  /* x509_sig_alg_name, when verified */
    time_t test_signature_at;

    /* the certificate */
    char  *cert_serial;      /* uppercase hex */
    char  *cert_sha256;      /* lowercase hex fingerprint of the DER */

    /* what went wrong last; both NULL when the last step succeeded */
    char  *error_code;
    char  *error_message;
    time_t error_at;

    journal_transition *transitions;
    size_t n_transitions;

    /* CertCentral's view of the order as `status --refresh` last wrote it
     * (optional "remote" object; all NULL / 0 until the first refresh).
     * Written when it changes: a refresh that finds it unchanged records
     * that in the state dir's refresh record instead (lifecycle_refresh.c). */
    char  *remote_status;          /* order status as received */
    char  *remote_certificate_id;  /* the order's certificate id, if it had one */
    time_t remote_since;           /* first seen with this status */
    time_t remote_checked;         /* the refresh that wrote it */

    /* private: states as last committed, and the lock */
    int  committed_order;
    int  committed_device;
    int  lock_fd;
} journal_job;

/* Lifecycle facts the journal knows (LC_F_TOKEN_BOUND, LC_F_REKEY). */
unsigned journal_job_facts(const journal_job *job);

/* Replace *field with a copy of value (NULL clears).  JOURNAL_ERR_NOMEM. */
journal_code journal_set(char **field, const char *value);

/* Record a failed step; NULL code and message clear it. */
journal_code journal_set_error(journal_job *job, const char *code, const char *message);

/*
 * New job in state draft / token_absent with a fresh random ref, written to
 * disk and returned locked.  Creates `dir` and dir/jobs (mode 0700) when
 * missing.
 */
journal_code journal_create(const char *dir, journal_job **out, journal_err *err);

/*
 * The same for `order submit`: the request's product, organisation and
 * digest (any may be NULL) are in the job's very first write, so that a
 * run interrupted right after it is recognised by a re-run of the same
 * request.
 */
journal_code journal_create_request(const char *dir, const char *product,
                                    const char *organization_id, const char *request_sha256,
                                    journal_job **out, journal_err *err);

/* Read a job without locking it (status, listings). */
journal_code journal_load(const char *dir, const char *ref, journal_job **out, journal_err *err);

/*
 * Lock the job and read it.  Not blocking and taken: JOURNAL_ERR_BUSY,
 * "job X is being worked on by another qscd-agent (pid N)".
 */
journal_code journal_open_locked(const char *dir, const char *ref, bool blocking,
                                 journal_job **out, journal_err *err);

/* Lock an already loaded job; re-reads it, since it may have moved on. */
journal_code journal_lock(const char *dir, journal_job *job, bool blocking, journal_err *err);
void         journal_unlock(journal_job *job);

/*
 * The state dir's submit lock, STATE/submit.lock (the state dir is made
 * when missing): `order submit` holds it from looking for its request among
 * the jobs until its job is committed as "submitting", so that concurrent
 * submits of one request find each other and place one order.  Waits while
 * another process holds it; stop_asked (may be NULL) is polled meanwhile,
 * and true ends the wait with JOURNAL_ERR_BUSY.  *fd is -1 unless held.
 */
journal_code journal_submit_lock(const char *dir, bool (*stop_asked)(void), int *fd,
                                 journal_err *err);
void         journal_submit_unlock(int *fd);

/*
 * Write the job: sets `updated`, appends a transition for each side whose
 * state changed since the last commit, then temp file + fsync + rename +
 * fsync of the directory.  The job must be locked.
 *
 * Test builds (-DQSCD_TEST_HOOKS) only: see journal_test_crash_hook in
 * src/journal.c for QSCD_TEST_CRASH_AFTER.
 */
journal_code journal_commit(const char *dir, journal_job *job, journal_err *err);

/*
 * The commit's rules (updated, transitions, the test crash hook) with
 * another writer, for a store that keeps jobs elsewhere (src/store): write
 * gets the job's text and whether it is the job's first write; the caller
 * checks that it holds the job.
 */
typedef journal_code (*journal_writer)(void *ctx, const journal_job *job, const char *text,
                                       bool create, journal_err *err);
journal_code journal_commit_with(journal_job *job, journal_writer write, void *ctx,
                                 journal_err *err);

/* A new job in memory only (fresh ref, nothing written, not locked). */
journal_code journal_job_new(const char *product, const char *organization_id,
                             const char *request_sha256, journal_job **out, journal_err *err);

/*
 * Other files of the state dir, STATE/SUB/NAME (plain names, no "/"):
 * written with the job files' durable writer (SUB created mode 0700), read
 * whole (JOURNAL_ERR_NOT_FOUND when absent), removed (absent is fine; the
 * folder is fsynced after).
 */
journal_code journal_write_file(const char *dir, const char *sub, const char *name,
                                const char *text, journal_err *err);
journal_code journal_read_file(const char *dir, const char *sub, const char *name, char **out,
                               journal_err *err);
journal_code journal_remove_file(const char *dir, const char *sub, const char *name,
                                 journal_err *err);

/* The newest job for this order id; JOURNAL_ERR_NOT_FOUND when none. */
journal_code journal_find_by_order(const char *dir, const char *order_id,
                                   journal_job **out, journal_err *err);

/* A job file (by its name) that cannot be read. */
typedef struct journal_unreadable {
    char        *file;       /* its path */
    char        *reason;     /* what is wrong, e.g. "not valid JSON at line 3" */
    journal_code code;       /* JOURNAL_ERR_CORRUPT, _VERSION, _IO */
} journal_unreadable;

/* Every readable job, oldest first; unreadable files listed as problems. */
typedef struct journal_listing {
    journal_job **jobs;
    size_t        n;
    char        **problems;  /* one message per file that was skipped */
    size_t        n_problems;
    journal_unreadable *unreadable;  /* the job files among them */
    size_t        n_unreadable;
} journal_listing;

journal_code journal_list(const char *dir, journal_listing *out, journal_err *err);
void         journal_listing_free(journal_listing *l);

/* Unlocks if locked. */
void journal_job_free(journal_job *job);

/* The job as the JSON text that journal_commit writes (status --json, tests). */
char *journal_job_to_json(const journal_job *job);

/* Parse journal text; `name` is the file named in messages. */
journal_code journal_job_from_json(const char *text, const char *name, journal_job **out,
                                   journal_err *err);

/*
 * The job's certificate chain, STATE/certs/<ref>.pem (src/journal_chain.c):
 * the PEM bundle as CertCentral sent it.  Stored durably (temp file, fsync,
 * rename, fsync of the directory); replace false keeps a chain that is
 * there already.  Read gives JOURNAL_ERR_NOT_FOUND when there is none.
 * What is read is not checked here: the reader verifies it.
 */
char        *journal_chain_path(const char *dir, const char *ref);   /* caller frees */
journal_code journal_chain_read(const char *dir, const char *ref, char **pem, size_t *len,
                                journal_err *err);
journal_code journal_chain_store(const char *dir, const char *ref, const char *pem, size_t len,
                                 bool replace, journal_err *err);

/* "job-" and 16 lowercase hex digits: the only names used as file names. */
bool journal_ref_valid(const char *ref);

/* "2024-05-01T12:00:00Z" */
void journal_format_time(time_t t, char out[32]);

#endif
