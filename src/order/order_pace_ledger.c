/*
 * The pacer's ledger: the send times of every agent on this machine that
 * talks to the same CertCentral URL, in one small file under the state dir.
 * CertCentral counts requests per API key, so a helpdesk watcher's workers
 * (each its own process) and a script running `order status` next to them
 * must share one budget, or together they get the key blocked.
 *
 * The file is read and rewritten under flock(2) for each request.  Times
 * are CLOCK_MONOTONIC, which every process of one boot shares; the header
 * names the boot (/proc/sys/kernel/random/boot_id), and a ledger of
 * another boot is started afresh.  A ledger that cannot be opened leaves
 * the pacer to this process alone: pacing is a courtesy to the API, never
 * a reason to fail a command.
 */
#include "order_pace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEDGER_MAGIC "qscd-pace 1"

static void boot_id(char out[PACE_BOOT_ID_LEN])
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

    out[0] = '\0';
    if (f != NULL) {
        if (fgets(out, PACE_BOOT_ID_LEN, f) == NULL)
            out[0] = '\0';
        fclose(f);
    }
    out[strcspn(out, "\r\n")] = '\0';
    if (out[0] == '\0')
        snprintf(out, PACE_BOOT_ID_LEN, "unknown");
}

/* The largest window: older sends no longer count anywhere. */
static double horizon(const order_pace *p)
{
    double h = 0;

    for (size_t i = 0; i < p->n_windows; i++)
        if (p->windows[i].seconds > h)
            h = p->windows[i].seconds;
    return h;
}

/* Send times from the ledger, oldest first; what does not parse, belongs to
 * another boot, lies in the future or is past every window is dropped. */
static size_t ledger_parse(const order_pace *p, FILE *f, double now, double *times)
{
    char line[128], want[PACE_BOOT_ID_LEN + sizeof(LEDGER_MAGIC) + 1];
    size_t n = 0;

    snprintf(want, sizeof(want), "%s %s", LEDGER_MAGIC, p->boot);
    if (fgets(line, sizeof(line), f) == NULL)
        return 0;
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, want) != 0)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *end;
        double t = strtod(line, &end);

        if (end == line || (*end != '\n' && *end != '\0'))
            continue;
        if (t > now + 1.0 || t < now - horizon(p))
            continue;
        if (n == p->cap) {      /* keep the newest cap */
            memmove(times, times + 1, (n - 1) * sizeof(*times));
            n--;
        }
        times[n++] = t;
    }
    return n;
}

/* mkdir -p for the ledger's directory, private to the agent's user. */
static int ledger_dir(const char *path)
{
    char *dir = strdup(path), *slash;
    int rc = -1;

    if (dir == NULL)
        return -1;
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        for (char *s = strchr(dir + 1, '/');; s = strchr(s + 1, '/')) {
            if (s != NULL)
                *s = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                break;
            if (s == NULL) {
                rc = 0;
                break;
            }
            *s = '/';
        }
    } else {
        rc = 0;
    }
    free(dir);
    return rc;
}

bool order_pace_ledger_load(order_pace *p, double now, int *fd)
{
    double *times;
    size_t n = 0;
    FILE *f;
    int dfd;

    *fd = open(p->ledger, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0)
        return false;
    if (flock(*fd, LOCK_EX) != 0 || (times = calloc(p->cap, sizeof(*times))) == NULL) {
        close(*fd);
        *fd = -1;
        return false;
    }
    /* A second descriptor for stdio: closing the FILE must not drop the lock. */
    dfd = dup(*fd);
    f = dfd >= 0 ? fdopen(dfd, "r") : NULL;
    if (f == NULL && dfd >= 0)
        close(dfd);
    if (f != NULL) {
        n = ledger_parse(p, f, now, times);
        fclose(f);
    }
    order_pace_record_all(p, times, n);
    free(times);
    return true;
}

void order_pace_ledger_store(order_pace *p, int fd, bool store)
{
    FILE *f;
    int dfd;

    if (fd < 0)
        return;
    dfd = store ? dup(fd) : -1;
    f = dfd >= 0 ? fdopen(dfd, "w") : NULL;
    if (f == NULL && dfd >= 0)
        close(dfd);
    if (f != NULL && ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0) {
        /* The ring, oldest first. */
        fprintf(f, "%s %s\n", LEDGER_MAGIC, p->boot);
        for (size_t i = p->count; i > 0; i--)
            fprintf(f, "%.6f\n", p->ring[(p->next + p->cap - i) % p->cap]);
    }
    if (f != NULL)
        fclose(f);
    close(fd);      /* drops the lock */
}

int order_pace_share(order_pace *p, const char *path)
{
    char *copy;

    if (p == NULL || path == NULL || *path == '\0')
        return -1;
    copy = strdup(path);
    if (copy == NULL)
        return -1;
    free(p->ledger);
    p->ledger = copy;
    boot_id(p->boot);
    /* Once: a directory that cannot be made shows as a ledger that cannot
     * be opened, and the pacer stays with this process. */
    (void)ledger_dir(copy);
    return 0;
}

/* --- a ledger kept by the caller (order_pace_hook) ------------------------- */

void order_pace_use_hook(order_pace *p, const order_pace_hook *hook, const char *api)
{
    char *copy = api != NULL ? strdup(api) : NULL;

    if (p == NULL || hook == NULL || hook->load == NULL || hook->done == NULL || copy == NULL) {
        free(copy);
        if (hook != NULL && hook->release != NULL)
            hook->release(hook->ctx);   /* not used: not kept either */
        return;
    }
    if (p->hook.release != NULL)
        p->hook.release(p->hook.ctx);
    free(p->hook_api);
    p->hook = *hook;
    p->hook_api = copy;
}

static int by_time(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

bool order_pace_hook_load(order_pace *p, double now)
{
    double *times = calloc(p->cap, sizeof(*times));
    size_t n = 0, kept = 0;

    if (times == NULL)
        return false;
    if (!p->hook.load(p->hook.ctx, p->hook_api, horizon(p), times, p->cap, &n)) {
        free(times);
        return false;
    }
    /* Ages into this process's monotonic clock, oldest first. */
    for (size_t i = 0; i < n && i < p->cap; i++)
        if (times[i] >= 0 && times[i] <= horizon(p))
            times[kept++] = now - times[i];
    qsort(times, kept, sizeof(*times), by_time);
    order_pace_record_all(p, times, kept);
    free(times);
    return true;
}

void order_pace_hook_done(order_pace *p, bool sent)
{
    p->hook.done(p->hook.ctx, p->hook_api, sent);
}
