/*
 * Shared by the bench drivers (header only: each driver is one binary).
 * A driver prints "key value" lines on stdout that tests/bench/run.sh
 * reads; anything unexpected goes to stderr with a non-zero exit, so a
 * benchmark of broken behaviour fails instead of measuring it.
 */
#ifndef QSCD_BENCH_COMMON_H
#define QSCD_BENCH_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file, NUL-terminated; NULL with a message on stderr. */
static char *bench_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (!buf)
        goto out;
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
out:
    if (!buf)
        fprintf(stderr, "%s: cannot read\n", path);
    fclose(f);
    return buf;
}

/* A non-negative decimal argument; `name` is what the usage line calls it. */
static int bench_parse_count(const char *name, const char *s, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "%s: must be a non-negative number (got \"%s\")\n", name, s);
        return -1;
    }
    return 0;
}

/*
 * Run `once` until about a second has passed (iterations == 0) or exactly
 * `iterations` times; print the rate.  Returns 0, or once's non-zero result.
 */
static int bench_loop(int (*once)(void *), void *ctx, unsigned long iterations)
{
    unsigned long done = 0, batch = iterations ? iterations : 64;
    double start = bench_now(), elapsed;
    int rc;

    for (;;) {
        for (unsigned long i = 0; i < batch; i++) {
            rc = once(ctx);
            if (rc)
                return rc;
        }
        done += batch;
        elapsed = bench_now() - start;
        if (iterations || elapsed >= 1.0)
            break;
        if (elapsed < 0.25)
            batch *= 2;
    }
    printf("iterations %lu\n", done);
    printf("seconds %.6f\n", elapsed);
    printf("per_second %.1f\n", elapsed > 0 ? (double)done / elapsed : 0.0);
    printf("us_each %.3f\n", done ? elapsed * 1e6 / (double)done : 0.0);
    return 0;
}

#endif
