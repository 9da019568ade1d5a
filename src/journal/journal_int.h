/*
 * Private to the journal's files (src/journal/journal*.c): what they share
 * of journal.c.
 */
#ifndef QSCD_JOURNAL_INT_H
#define QSCD_JOURNAL_INT_H

#include "journal.h"

#include <stdbool.h>
#include <stdio.h>

/* Fill err (when given) and return code. */
journal_code jn_fail(journal_err *err, journal_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* mkdir -p with mode 0700 for what it creates; each new entry made durable. */
journal_code jn_make_dirs(const char *path, journal_err *err);
/* A whole state file under 1 MiB; `what` names it in messages. */
/*
 * A job file keeps at most JOURNAL_TRANSITIONS_MAX transitions: past that,
 * jn_compact moves the oldest to the audit log (journal_compact.c), down to
 * the last JOURNAL_TRANSITIONS_KEEP.  HARD: dropped even when the audit log
 * cannot take them.
 */
#define JOURNAL_TRANSITIONS_KEEP 64
#define JOURNAL_TRANSITIONS_MAX  96
#define JOURNAL_TRANSITIONS_HARD 4096
void jn_compact(const char *dir, journal_job *job);

/* fopen(path, "r") that never follows a symbolic link (ELOOP) and is close-on-exec. */
FILE *jn_fopen_read(const char *path);
/* Open (creating) a lock file: no symbolic link followed, never truncated;
 * -1 with err set. */
int jn_open_lock(const char *path, journal_err *err);
journal_code jn_read_text(const char *path, const char *what, char **out, journal_err *err);
/* Through the one durable writer; create: link, never replace. */
journal_code jn_write_durable(const char *final, const char *what, const char *text, bool create,
                              journal_err *err);

#endif
