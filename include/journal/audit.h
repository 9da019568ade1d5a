/*
 * The audit log: STATE/audit.log, append-only JSON lines, one per thing the
 * agent did to an order or a token, for `status --history` and for people
 * asking later who installed what where.
 *
 * Each line is one write() on a file opened O_APPEND, followed by fsync, so
 * lines from concurrent processes never interleave.  Never a secret: the
 * entry has no field that could hold one.
 */
#ifndef QSCD_AUDIT_H
#define QSCD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum audit_code {
    AUDIT_OK = 0,
    AUDIT_ERR_INVALID,   /* bad argument (a bug in the caller) */
    AUDIT_ERR_IO,
    AUDIT_ERR_NOMEM,
} audit_code;

typedef struct audit_err {
    audit_code code;
    char       message[512];
} audit_err;

/*
 * One line.  When recording, the caller fills what it knows (NULL: not
 * applicable) and audit_record adds time, operator and host.  When reading,
 * every field is filled from the line; the strings belong to the audit_log.
 */
typedef struct audit_entry {
    const char *time;          /* ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z */
    const char *user;          /* operator's user name */
    long        uid;
    const char *host;
    const char *action;        /* e.g. "order submit", "install", "provision" */
    const char *job_ref;
    const char *order_id;
    const char *token_serial;
    const char *cert_serial;
    const char *cert_sha256;
    const char *outcome;       /* "ok", "error", "not_ready", "rejected" */
    const char *error;         /* what went wrong, for a person */
    const char *desk;          /* the workstation of a shared store (src/store); NULL
                                  in a state directory's own log */
    int         line;          /* read: line number in the file */
} audit_entry;

/* Append one entry to dir/audit.log (created 0600; dir created 0700). */
audit_code audit_record(const char *dir, const audit_entry *e, audit_err *err);

typedef struct audit_log {
    audit_entry *entries;      /* good lines, oldest first */
    size_t       n;
    int         *corrupt_lines; /* line numbers that are not a valid entry */
    size_t       n_corrupt;
    void        *priv;
} audit_log;

/*
 * Read dir/audit.log; with order_id, only that order's lines.  A missing log
 * is an empty one.  Corrupt lines (a torn write after a crash, an edit) are
 * skipped and listed by number.
 */
audit_code audit_read(const char *dir, const char *order_id, audit_log *out, audit_err *err);
void       audit_log_free(audit_log *log);

/*
 * For a store that keeps the lines elsewhere (src/store): the line
 * audit_record would append ("\n" included; NULL when out of memory), and
 * a log built line by line as audit_read does (text is modified; lineno
 * is what corrupt lines are listed by).
 */
char      *audit_format_line(const audit_entry *e);
audit_code audit_log_start(audit_log *out, audit_err *err);
audit_code audit_log_add_line(audit_log *log, char *text, int lineno, const char *order_id,
                              audit_err *err);

#endif
