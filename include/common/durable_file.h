/*
 * The one durable file writer: every file the agent keeps (job files, the
 * stored certificate chain, `order fetch -o`) is written through it, so a
 * crash at any point leaves either the old content or the new, never a
 * part of either.
 *
 * The steps: a temporary file created exclusively (O_EXCL, never following
 * a link) in the target's directory, a full write loop, fsync, then rename
 * over the target (or link, which refuses to replace, for create_only),
 * then fsync of the directory so the new name itself is durable.  Every
 * step's result is checked; on failure the temporary file is removed.
 */
#ifndef QSCD_DURABLE_FILE_H
#define QSCD_DURABLE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct durable_err {
    int         errnum;    /* errno of the step that failed */
    const char *step;      /* "create a temporary file", "write", "sync", ... */
} durable_err;

/*
 * Write len bytes of data to path with permissions perm.  create_only:
 * fail with EEXIST when path exists (a new job file must never replace
 * another).  Returns 0, or -1 with err filled.
 */
int durable_write(const char *path, const void *data, size_t len, mode_t perm,
                  bool create_only, durable_err *err);

/* fsync a directory, so that entries created or renamed in it are durable. */
int durable_sync_dir(const char *dir, durable_err *err);

#endif
