/*
 * The state directory's layout, known here and nowhere else:
 *
 *   STATE/jobs/<ref>.json   a job (src/journal/journal.c)
 *   STATE/jobs/<ref>.lock   its lock, held while a command works on it
 *   STATE/certs/<ref>.pem   the job's verified certificate chain (src/core/)
 *   STATE/audit.log         the audit log (src/journal/audit.c)
 *   STATE/submit.lock       held while `order submit` looks for its request
 *                           and commits "submitting" (src/journal/journal.c)
 *   STATE/pace/<name>       the pacing ledger of one API URL (src/order/)
 *   STATE/pin-refused/<token>.json  a PIN a token refused (src/core/pin_refusal.c)
 *   STATE/remote/refresh.json  the last `status --refresh`: when, and which
 *                           jobs it confirmed (src/core/lifecycle_refresh.c)
 *
 * Each function returns a new path for the caller to free, or NULL when
 * out of memory.
 */
#ifndef QSCD_STATE_LAYOUT_H
#define QSCD_STATE_LAYOUT_H

char *state_jobs_dir(const char *state);
/* STATE/jobs/<name><suffix>: suffix ".json", ".lock", or "" for a listed name. */
char *state_job_file(const char *state, const char *name, const char *suffix);
char *state_certs_dir(const char *state);
char *state_chain_file(const char *state, const char *ref);
char *state_audit_file(const char *state);
char *state_submit_lock_file(const char *state);
char *state_pace_file(const char *state, const char *name);

/* Folders of small state files, written through the journal. */
#define STATE_PIN_REFUSED "pin-refused"
#define STATE_REMOTE      "remote"
char *state_sub_dir(const char *state, const char *sub);
char *state_sub_file(const char *state, const char *sub, const char *name);

#endif
