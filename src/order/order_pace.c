/*
 * Client-side pacing under CertCentral's rate limits, and retry backoff.
 *
 * Exceeding a limit blocks the API key for a while for *every* caller of
 * that key, so we stay under both documented sliding windows rather than
 * rely on 429s.  One ring of send times, as long as the largest window's
 * quota, answers every window: the k-th most recent send must be older than
 * the window before the next one may go.  Time is passed in, so the logic
 * is tested with a fake clock.
 */
#include "order_pace_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

order_pace *order_pace_new(const order_pace_window *windows, size_t n_windows)
{
    order_pace *p;
    size_t cap = 0;

    if (windows == NULL || n_windows == 0 || n_windows > PACE_MAX_WINDOWS)
        return NULL;
    for (size_t i = 0; i < n_windows; i++) {
        if (windows[i].max_requests == 0 || !(windows[i].seconds > 0))
            return NULL;
        if (windows[i].max_requests > cap)
            cap = windows[i].max_requests;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ring = calloc(cap, sizeof(*p->ring));
    if (p->ring == NULL) {
        free(p);
        return NULL;
    }
    memcpy(p->windows, windows, n_windows * sizeof(*windows));
    p->n_windows = n_windows;
    p->cap = cap;
    return p;
}

void order_pace_free(order_pace *p)
{
    if (p == NULL)
        return;
    free(p->ledger);
    if (p->hook.release != NULL)
        p->hook.release(p->hook.ctx);
    free(p->hook_api);
    free(p->ring);
    free(p);
}

/* The k-th most recent send time (k = 1: the last one). */
static double nth_recent(const order_pace *p, size_t k)
{
    return p->ring[(p->next + p->cap - k) % p->cap];
}

double order_pace_delay(const order_pace *p, double now)
{
    double delay = 0;

    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->n_windows; i++) {
        const order_pace_window *w = &p->windows[i];
        double free_at;

        if (p->count < w->max_requests)
            continue;
        free_at = nth_recent(p, w->max_requests) + w->seconds;
        if (free_at - now > delay)
            delay = free_at - now;
    }
    return delay;
}

void order_pace_record(order_pace *p, double now)
{
    if (p == NULL)
        return;
    p->ring[p->next] = now;
    p->next = (p->next + 1) % p->cap;
    if (p->count < p->cap)
        p->count++;
}

void order_pace_record_all(order_pace *p, const double *times, size_t n)
{
    p->count = p->next = 0;
    if (n > p->cap) {
        times += n - p->cap;
        n = p->cap;
    }
    for (size_t i = 0; i < n; i++)
        order_pace_record(p, times[i]);
}

double order_pace_reserve(order_pace *p, double now)
{
    int fd = -1;
    bool shared;
    double delay;

    if (p == NULL)
        return 0;
    /* Checked and recorded under the ledger's lock: two agents cannot both
     * take the last free slot of a window. */
    if (p->hook.load != NULL)
        shared = order_pace_hook_load(p, now);
    else
        shared = p->ledger != NULL && order_pace_ledger_load(p, now, &fd);
    delay = order_pace_delay(p, now);
    if (delay <= 0)
        order_pace_record(p, now);
    if (shared && p->hook.load != NULL)
        order_pace_hook_done(p, delay <= 0);
    else if (shared)
        order_pace_ledger_store(p, fd, delay <= 0);
    return delay;
}

double order_backoff_delay(int attempt, double base, double factor, double cap,
                           double jitter01)
{
    double d;

    if (attempt < 1)
        attempt = 1;
    if (!(base > 0))
        base = 1;
    if (!(factor >= 1))
        factor = 2;
    d = base;
    for (int i = 1; i < attempt && (cap <= 0 || d < cap); i++)
        d *= factor;
    if (cap > 0 && d > cap)
        d = cap;
    if (jitter01 < 0 || !(jitter01 < 1))
        jitter01 = 0;
    /* Spread retries of many agents sharing a key; never below the base. */
    return d * (1.0 + 0.25 * jitter01);
}

double order_retry_delay(int attempt, double retry_after, double base, double cap,
                         double jitter01)
{
    double d = order_backoff_delay(attempt, base, 2.0, cap, jitter01);

    if (retry_after >= 0) {
        /* The server named the time; a little jitter on top, never less. */
        double r = retry_after + (retry_after > 0 ? 0.1 * retry_after * jitter01 : 0);

        if (r > ORDER_RETRY_AFTER_MAX_S)
            r = ORDER_RETRY_AFTER_MAX_S;
        return r > 0 ? r : d;
    }
    return d;
}

double order_jitter(void)
{
    unsigned int r;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (unsigned int)rand();
    return (double)r / 4294967296.0;
}
