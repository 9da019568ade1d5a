/*
 * A job's certificate chain beside its journal: STATE/certs/<ref>.pem, the
 * PEM bundle CertCentral sent.  The engine keeps the verified chain there
 * (later steps and `status` need no download); `watch` keeps there the
 * chain it downloaded to tell which job a token belongs to, so that the
 * worker it starts finds it instead of downloading it again.  Whoever
 * reads it checks it (the engine: against the order's certificate and the
 * qualified-eSeal profile).
 *
 * Written like the job files: temp file in the same directory, the whole
 * text written, fsync, rename (or link, which never replaces a chain that
 * is there), fsync of the directory; every result checked.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHAIN_MAX (1024 * 1024)

__attribute__((format(printf, 3, 4)))
static journal_code fail(journal_err *err, journal_code code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        err->retryable = false;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

char *journal_chain_path(const char *dir, const char *ref)
{
    char *p = NULL;

    if (dir == NULL || !journal_ref_valid(ref) || asprintf(&p, "%s/certs/%s.pem", dir, ref) < 0)
        return NULL;
    return p;
}

journal_code journal_chain_read(const char *dir, const char *ref, char **pem, size_t *len,
                                journal_err *err)
{
    char *path = journal_chain_path(dir, ref), *buf = NULL;
    FILE *f;
    size_t cap = 0;
    ssize_t n;
    journal_code rc = JOURNAL_OK;

    *pem = NULL;
    *len = 0;
    if (path == NULL)
        return fail(err, JOURNAL_ERR_INVALID, "job %s: no chain path", ref ? ref : "(none)");
    if ((f = fopen(path, "re")) == NULL) {
        rc = fail(err, errno == ENOENT ? JOURNAL_ERR_NOT_FOUND : JOURNAL_ERR_IO,
                  "certificate chain %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    n = getdelim(&buf, &cap, '\0', f);
    if (n <= 0 || (size_t)n > CHAIN_MAX || ferror(f)) {
        rc = fail(err, n <= 0 && !ferror(f) ? JOURNAL_ERR_NOT_FOUND : JOURNAL_ERR_IO,
                  "certificate chain %s: empty, unreadable or too large", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    free(path);
    if (buf != NULL) {
        *pem = buf;
        *len = strlen(buf);
    }
    return rc;
}

static bool write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static journal_code make_certs_dir(const char *certs, journal_err *err)
{
    char *parent, *slash;
    int dfd;

    if (mkdir(certs, 0700) != 0) {
        if (errno == EEXIST)
            return JOURNAL_OK;
        return fail(err, JOURNAL_ERR_IO, "%s: cannot create it: %s", certs, strerror(errno));
    }
    /* The new entry in the state dir is durable too. */
    if ((parent = strdup(certs)) == NULL)
        return fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
        *slash = '\0';
    if ((dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(parent);
    return JOURNAL_OK;
}

journal_code journal_chain_store(const char *dir, const char *ref, const char *pem, size_t len,
                                 bool replace, journal_err *err)
{
    char *path = journal_chain_path(dir, ref), *certs = NULL, *tmp = NULL;
    journal_code rc = JOURNAL_ERR_NOMEM;
    int fd = -1, dfd;

    if (path == NULL || pem == NULL || asprintf(&certs, "%s/certs", dir) < 0 ||
        asprintf(&tmp, "%s/.%s.pem.tmp.XXXXXX", certs, ref) < 0) {
        rc = fail(err, path == NULL || pem == NULL ? JOURNAL_ERR_INVALID : JOURNAL_ERR_NOMEM,
                  "job %s: cannot store its certificate chain (bad argument or out of memory)",
                  ref ? ref : "(none)");
        goto out;
    }
    if ((rc = make_certs_dir(certs, err)) != JOURNAL_OK)
        goto out;
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        rc = fail(err, JOURNAL_ERR_IO, "%s: cannot create a temporary file: %s", certs,
                  strerror(errno));
        goto out;
    }
    if (!write_all(fd, pem, len) || fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = fail(err, JOURNAL_ERR_IO, "%s: cannot write the certificate chain: %s", tmp,
                  strerror(errno));
        goto out;
    }
    fd = -1;
    if (replace ? rename(tmp, path) != 0 : link(tmp, path) != 0 && errno != EEXIST) {
        rc = fail(err, JOURNAL_ERR_IO, "%s: cannot put the certificate chain in place: %s",
                  path, strerror(errno));
        goto out;
    }
    if ((dfd = open(certs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0) {
        rc = fail(err, JOURNAL_ERR_IO, "%s: cannot sync the directory: %s", certs,
                  strerror(errno));
        if (dfd >= 0)
            close(dfd);
        goto out;
    }
    close(dfd);
    rc = JOURNAL_OK;
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL && (!replace || rc != JOURNAL_OK))
        unlink(tmp);
    free(path);
    free(certs);
    free(tmp);
    return rc;
}
