/*
 * Files for unit tests: a private temporary tree removed afterwards, a
 * whole file read into memory, and
 * the source tree's root (for the request files in tests/data), found from
 * the working directory or from the test binary's path.
 */
#ifndef QSCD_UNIT_FILES_H
#define QSCD_UNIT_FILES_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* /tmp/qscd-test-NAME.XXXXXX into out; 0 on success. */
static inline int unit_tempdir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "/tmp/qscd-test-%s.XXXXXX", name);
    return mkdtemp(out) != NULL ? 0 : -1;
}

static inline int unit_rm_entry(const char *path, const struct stat *st, int flag,
                                struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static inline void unit_rmtree(const char *root)
{
    nftw(root, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file, NUL-terminated (its length in *len); NULL on error. */
static inline char *unit_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    *len = 0;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* The directory that holds PROBE (a path relative to the source tree):
 * ".", else the binary's directory or up to three levels above it. */
static inline void unit_find_root(const char *argv0, const char *probe_rel,
                                  char *root, size_t len)
{
    static const char *const ups[] = { "", "/..", "/../..", "/../../.." };
    char dir[512], probe[1024];
    const char *slash = strrchr(argv0, '/');

    snprintf(root, len, ".");
    if (access(probe_rel, R_OK) == 0)
        return;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
    for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
        snprintf(probe, sizeof probe, "%s%s/%s", dir, ups[i], probe_rel);
        if (access(probe, R_OK) == 0) {
            snprintf(root, len, "%s%s", dir, ups[i]);
            return;
        }
    }
}

#endif
