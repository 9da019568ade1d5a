/*
 * Secret buffers: locked, undumpable, wiped.  See include/secret.h.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX (64 * 1024)

void secret_harden_process(void)
{
    struct rlimit no_core = { 0, 0 };

    /* A core dump would carry whatever PIN or key was in memory. */
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void secret_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

secret *secret_new(size_t cap)
{
    secret *s;
    long page = sysconf(_SC_PAGESIZE);
    size_t size;

    if (cap == 0 || cap > SECRET_MAX)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    /* Whole pages of our own, so that locking and madvise touch nothing else. */
    size = ((cap + 1 + (size_t)page - 1) / (size_t)page) * (size_t)page;
    s->data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->data == MAP_FAILED) {
        free(s);
        return NULL;
    }
    /* Best effort: an unprivileged user may have a small RLIMIT_MEMLOCK. */
    (void)mlock(s->data, size);
    (void)madvise(s->data, size, MADV_DONTDUMP);
    s->cap = size - 1;
    s->len = 0;
    s->data[0] = '\0';
    return s;
}

void secret_free(secret *s)
{
    long page;
    size_t size;

    if (s == NULL)
        return;
    page = sysconf(_SC_PAGESIZE);
    size = ((s->cap + 1 + (size_t)page - 1) / (size_t)page) * (size_t)page;
    explicit_bzero(s->data, size);
    munlock(s->data, size);
    munmap(s->data, size);
    free(s);
}

bool secret_append(secret *s, const char *p, size_t n)
{
    if (s == NULL || n > s->cap - s->len)
        return false;
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    return true;
}

void secret_chomp(secret *s)
{
    if (s == NULL)
        return;
    if (s->len > 0 && s->data[s->len - 1] == '\n')
        s->data[--s->len] = '\0';
    if (s->len > 0 && s->data[s->len - 1] == '\r')
        s->data[--s->len] = '\0';
}

secret *secret_from_fd(int fd, const char *what, char *err, size_t errlen)
{
    secret *s = secret_new(4096);
    char buf[512];
    ssize_t n;

    if (s == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        return NULL;
    }
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: read failed: %s", what, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        if (!secret_append(s, buf, (size_t)n)) {
            snprintf(err, errlen, "%s: longer than %zu bytes", what, s->cap);
            goto fail;
        }
    }
    secret_wipe(buf, sizeof(buf));
    secret_chomp(s);
    if (s->len == 0) {
        snprintf(err, errlen, "%s: empty", what);
        secret_free(s);
        return NULL;
    }
    return s;
fail:
    secret_wipe(buf, sizeof(buf));
    secret_free(s);
    return NULL;
}

secret *secret_from_file(const char *path, const char *what, char *err, size_t errlen)
{
    struct stat st;
    secret *s;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
        close(fd);
        return NULL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "%s %s: readable or writable by group or others (mode %03o); "
                 "run: chmod 600 %s", what, path, (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return NULL;
    }
    s = secret_from_fd(fd, what, err, errlen);
    close(fd);
    return s;
}

secret *secret_from_env(const char *name)
{
    char *v = getenv(name);
    secret *s;
    size_t n;

    if (v == NULL || *v == '\0')
        return NULL;
    n = strlen(v);
    s = secret_new(n + 1);
    if (s != NULL && !secret_append(s, v, n)) {
        secret_free(s);
        s = NULL;
    }
    /* Overwrite the environment's copy, then drop the variable. */
    explicit_bzero(v, n);
    unsetenv(name);
    return s;
}
