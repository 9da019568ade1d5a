/*
 * The state dir's other files, beside the jobs: small records written and
 * read through the journal's durable writer (STATE/pin-refused/...), and
 * the submit lock that makes "find the request, else create its job" one
 * step for concurrent `order submit`s (STATE/submit.lock).
 */
#include "journal.h"
#include "journal_int.h"

#include "durable_file.h"
#include "monotonic.h"
#include "state_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static bool plain_name(const char *s)
{
    return s != NULL && *s != '\0' && *s != '.' && strchr(s, '/') == NULL;
}

static journal_code file_paths(const char *dir, const char *sub, const char *name,
                               char **folder, char **path, journal_err *err)
{
    *folder = *path = NULL;
    if (dir == NULL || !plain_name(sub) || !plain_name(name))
        return jn_fail(err, JOURNAL_ERR_INVALID, "state file: invalid name");
    if ((*folder = state_sub_dir(dir, sub)) == NULL ||
        (*path = state_sub_file(dir, sub, name)) == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    return JOURNAL_OK;
}

journal_code journal_write_file(const char *dir, const char *sub, const char *name,
                                const char *text, journal_err *err)
{
    char *folder, *path;
    journal_code rc = file_paths(dir, sub, name, &folder, &path, err);

    if (rc == JOURNAL_OK)
        rc = jn_make_dirs(folder, err);
    if (rc == JOURNAL_OK)
        rc = jn_write_durable(path, "state file", text, false, err);
    free(folder);
    free(path);
    return rc;
}

journal_code journal_read_file(const char *dir, const char *sub, const char *name, char **out,
                               journal_err *err)
{
    char *folder, *path;
    journal_code rc = file_paths(dir, sub, name, &folder, &path, err);

    *out = NULL;
    if (rc == JOURNAL_OK)
        rc = jn_read_text(path, "state file", out, err);
    free(folder);
    free(path);
    return rc;
}

journal_code journal_remove_file(const char *dir, const char *sub, const char *name,
                                 journal_err *err)
{
    char *folder, *path;
    journal_code rc = file_paths(dir, sub, name, &folder, &path, err);

    durable_err de = { 0 };

    if (rc == JOURNAL_OK && unlink(path) != 0 && errno != ENOENT)
        rc = jn_fail(err, JOURNAL_ERR_IO, "state file %s: cannot remove it: %s", path,
                  strerror(errno));
    else if (rc == JOURNAL_OK && durable_sync_dir(folder, &de) != 0)
        rc = jn_fail(err, JOURNAL_ERR_IO, "state file %s: cannot %s: %s", path, de.step,
                  strerror(de.errnum));
    free(folder);
    free(path);
    return rc;
}

/* --- the submit lock --------------------------------------------------- */

journal_code journal_submit_lock(const char *dir, bool (*stop_asked)(void), int *out,
                                 journal_err *err)
{
    char *path = NULL;
    journal_code rc;
    int fd;

    *out = -1;
    if (dir == NULL || *dir == '\0')
        return jn_fail(err, JOURNAL_ERR_INVALID, "no state directory given");
    if ((rc = jn_make_dirs(dir, err)) != JOURNAL_OK)
        return rc;
    if ((path = state_submit_lock_file(dir)) == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    if ((fd = jn_open_lock(path, err)) < 0) {
        free(path);
        return JOURNAL_ERR_IO;
    }
    /* Polled rather than blocking, so that a stop request is seen. */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            rc = jn_fail(err, JOURNAL_ERR_IO, "submit lock %s: %s", path, strerror(errno));
            break;
        }
        if (stop_asked != NULL && stop_asked()) {
            rc = jn_fail(err, JOURNAL_ERR_BUSY, "submit lock %s: stopped while waiting for "
                      "another qscd-agent's submit", path);
            break;
        }
        stoppable_sleep(0.05, NULL);
    }
    free(path);
    if (rc != JOURNAL_OK) {
        close(fd);
        return rc;
    }
    *out = fd;
    return JOURNAL_OK;
}

void journal_submit_unlock(int *fd)
{
    if (*fd < 0)
        return;
    close(*fd);   /* releases the flock */
    *fd = -1;
}

