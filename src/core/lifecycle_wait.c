/*
 * Waiting, outside the steps.  A step that has nothing to do yet (the order
 * is not approved, the certificate not issued, the token not plugged in)
 * does its one look, commits what it saw and returns what it waits for, as
 * certmonger's cm_iterate() does; the engine's loop (lifecycle.c) does the
 * waiting here and then runs the step again.  So no step sleeps, a stop
 * signal is noticed in one place, and a new waiting state costs nothing.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"
#include "monotonic.h"

#include <stdio.h>
#include <string.h>

#define LC_POLL_START_S 2     /* first poll interval, unless --poll says */
#define LC_POLL_CAP_S   60    /* longest poll interval, unless --poll-cap says */
#define LC_POLL_FACTOR  1.5

double lc_waited(const lc_run *r)
{
    return monotonic_now() - r->wait_since;
}

static double poll_start(const lc_run *r)
{
    return r->opts->poll_start_s > 0 ? r->opts->poll_start_s : LC_POLL_START_S;
}

double lc_backoff(const lc_run *r)
{
    return r->backoff_s > 0 ? r->backoff_s : poll_start(r);
}

static void ask(lc_run *r, lc_wait_kind kind, double delay_s, const char *stopped,
                const char *fmt, va_list ap)
{
    memset(&r->wait, 0, sizeof(r->wait));
    r->wait.kind = kind;
    r->wait.delay_s = delay_s;
    r->wait.stopped = stopped;
    if (fmt != NULL)
        vsnprintf(r->wait.state, sizeof(r->wait.state), fmt, ap);
}

int lc_wait_time(lc_run *r, double delay_s, const char *stopped, const char *fmt, ...)
{
    double cap = r->opts->poll_cap_s > 0 ? r->opts->poll_cap_s : LC_POLL_CAP_S;
    va_list ap;

    va_start(ap, fmt);
    ask(r, LC_WAIT_TIME, delay_s, stopped, fmt, ap);
    va_end(ap);
    /* The next look comes later, by the order client's one backoff rule
     * (`order wait` polls by it too): 1.5 times as long up to the cap, and
     * a little jitter so that desks sharing a key do not poll in step. */
    r->polls++;
    r->backoff_s = order_backoff_delay(r->polls + 1, poll_start(r), LC_POLL_FACTOR, cap,
                                       order_jitter());
    return 0;
}

int lc_wait_token(lc_run *r, double delay_s, const char *stopped, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ask(r, LC_WAIT_TOKEN, delay_s, stopped, fmt, ap);
    va_end(ap);
    return 0;
}

/* A token event (or the time running out), then a pause: a token that is
 * there but not this job's returns the event at once. */
static int wait_for_token(lc_run *r)
{
    token_event ev;
    token_err te = { 0 };
    token_code tc;

    tc = token_wait_event(r->tctx, r->job->token.uri, true, (int)(r->wait.delay_s * 1000),
                          &ev, &te);
    if (tc != TOKEN_OK && tc != TOKEN_ERR_TIMEOUT)
        return lc_fail_token(r->err, &te, "waiting for the token");
    if (tc == TOKEN_OK && !lc_sleep(r->wait.delay_s))
        return lc_stopped(r, r->wait.stopped);
    return 0;
}

int lc_wait_do(lc_run *r)
{
    double next = r->wait.kind == LC_WAIT_TIME ? r->wait.delay_s : -1;

    if (lc_stop_asked())
        return lc_stopped(r, r->wait.stopped);
    if (r->wait.state[0] != '\0')
        lc_wait_status(r, r->wait.state, lc_waited(r), next);
    switch (r->wait.kind) {
    case LC_WAIT_TIME:
        return lc_sleep(r->wait.delay_s) ? 0 : lc_stopped(r, r->wait.stopped);
    case LC_WAIT_TOKEN:
        return wait_for_token(r);
    default:
        return 0;
    }
}
