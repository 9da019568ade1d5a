/*
 * The one durable file writer (see durable_file.h for the steps and why).
 */
#include "durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed(durable_err *err, const char *step, int errnum)
{
    if (err != NULL) {
        err->errnum = errnum ? errnum : EIO;
        err->step = step;
    }
    return -1;
}

int durable_sync_dir(const char *dir, durable_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    int rc;

    if (fd < 0)
        return failed(err, "open the directory", errno);
    rc = fsync(fd);
    if (rc != 0 && errno != EINVAL) {   /* EINVAL: a file system that cannot */
        int e = errno;

        close(fd);
        return failed(err, "sync the directory", e);
    }
    close(fd);
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? EIO : errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new, exclusive temporary file beside path: "<dir>/.<name>.tmp.XXXXXX". */
static int open_temp(const char *path, char **tmp_out, char **dir_out)
{
    char *dcopy = strdup(path), *bcopy = strdup(path), *tmp = NULL;
    int fd = -1;

    *tmp_out = NULL;
    *dir_out = NULL;
    if (dcopy == NULL || bcopy == NULL ||
        asprintf(&tmp, "%s/.%s.tmp.XXXXXX", dirname(dcopy), basename(bcopy)) < 0) {
        free(dcopy);
        free(bcopy);
        errno = ENOMEM;
        return -1;
    }
    free(bcopy);
    fd = mkostemp(tmp, O_CLOEXEC);   /* O_CREAT | O_EXCL, mode 0600 */
    if (fd < 0) {
        int e = errno;

        free(tmp);
        free(dcopy);
        errno = e;
        return -1;
    }
    *tmp_out = tmp;
    *dir_out = dcopy;   /* dirname() wrote into it */
    return fd;
}

int durable_write(const char *path, const void *data, size_t len, mode_t perm,
                  bool create_only, durable_err *err)
{
    char *tmp = NULL, *dir = NULL;
    int fd, e, rc = -1;

    if ((fd = open_temp(path, &tmp, &dir)) < 0)
        return failed(err, "create a temporary file", errno);
    if ((e = write_all(fd, data, len)) != 0) {
        failed(err, "write", e);
        goto out;
    }
    if ((perm & 07777) != 0600 && fchmod(fd, perm) != 0) {
        failed(err, "set the file's mode", errno);
        goto out;
    }
    if (fsync(fd) != 0) {
        failed(err, "sync", errno);
        goto out;
    }
    e = close(fd);
    fd = -1;
    if (e != 0) {
        failed(err, "close", errno);
        goto out;
    }
    if (create_only ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
        failed(err, create_only ? "create" : "replace", errno);
        goto out;
    }
    if (create_only)
        unlink(tmp);
    free(tmp);
    tmp = NULL;
    rc = durable_sync_dir(dir, err);
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}
