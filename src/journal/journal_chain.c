/*
 * A job's certificate chain beside its journal: STATE/certs/<ref>.pem, the
 * PEM bundle CertCentral sent.  The engine keeps the verified chain there
 * (later steps and `status` need no download); `watch` keeps there the
 * chain it downloaded to tell which job a token belongs to, so that the
 * worker it starts finds it instead of downloading it again.  Whoever
 * reads it checks it (the engine: against the order's certificate and the
 * qualified-eSeal profile).
 *
 * Written through the one durable writer, like the job files (link, which
 * never replaces a chain that is there, when replace is false).
 */
#include "journal.h"
#include "journal_int.h"

#include "durable_file.h"
#include "state_layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHAIN_MAX (1024 * 1024)

char *journal_chain_path(const char *dir, const char *ref)
{
    if (dir == NULL || !journal_ref_valid(ref))
        return NULL;
    return state_chain_file(dir, ref);
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
        return jn_fail(err, JOURNAL_ERR_INVALID, "job %s: no chain path", ref ? ref : "(none)");
    if ((f = jn_fopen_read(path)) == NULL) {
        rc = jn_fail(err, errno == ENOENT ? JOURNAL_ERR_NOT_FOUND : JOURNAL_ERR_IO,
                  "certificate chain %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    n = getdelim(&buf, &cap, '\0', f);
    if (n <= 0 || (size_t)n > CHAIN_MAX || ferror(f)) {
        rc = jn_fail(err, n <= 0 && !ferror(f) ? JOURNAL_ERR_NOT_FOUND : JOURNAL_ERR_IO,
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

static journal_code make_certs_dir(const char *dir, const char *certs, journal_err *err)
{
    durable_err de = { 0 };

    if (mkdir(certs, 0700) != 0) {
        if (errno == EEXIST)
            return JOURNAL_OK;
        return jn_fail(err, JOURNAL_ERR_IO, "%s: cannot create it: %s", certs, strerror(errno));
    }
    /* The new entry in the state dir is durable too. */
    if (durable_sync_dir(dir, &de) != 0)
        return jn_fail(err, JOURNAL_ERR_IO, "%s: cannot %s: %s", dir, de.step, strerror(de.errnum));
    return JOURNAL_OK;
}

journal_code journal_chain_store(const char *dir, const char *ref, const char *pem, size_t len,
                                 bool replace, journal_err *err)
{
    char *path = journal_chain_path(dir, ref), *certs = dir ? state_certs_dir(dir) : NULL;
    durable_err de = { 0 };
    journal_code rc;

    if (path == NULL || pem == NULL || certs == NULL) {
        rc = jn_fail(err, path == NULL || pem == NULL ? JOURNAL_ERR_INVALID : JOURNAL_ERR_NOMEM,
                  "job %s: cannot store its certificate chain (bad argument or out of memory)",
                  ref ? ref : "(none)");
    } else if ((rc = make_certs_dir(dir, certs, err)) != JOURNAL_OK) {
        /* said */
    } else if (durable_write(path, pem, len, 0600, !replace, &de) != 0 &&
               (replace || de.errnum != EEXIST)) {
        rc = jn_fail(err, JOURNAL_ERR_IO, "%s: cannot %s the certificate chain: %s", path, de.step,
                  strerror(de.errnum));
    }
    free(path);
    free(certs);
    return rc;
}
