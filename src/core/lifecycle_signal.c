/*
 * Stopping a run safely on SIGINT or SIGTERM.  `watch` sends SIGTERM to its
 * workers when it shuts down, and a person presses Ctrl-C: either way the
 * step in hand is finished and committed, then the run ends with exit 1
 * ("not ready yet") and a re-run resumes from the journal.  Killing the
 * process mid-step is safe too (the crash tests prove it), but a finished
 * step leaves nothing to redo: a PIN try spent is not spent again, a POST
 * whose reply is read needs no reconciling.
 *
 * Waits (polls, token absent) are cut short: there is nothing in hand.
 */
#include "lifecycle_int.h"
#include "monotonic.h"

#include "exit_codes.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static const int stop_signals[] = { SIGINT, SIGTERM };
#define N_STOP (sizeof(stop_signals) / sizeof(stop_signals[0]))

/* Owned here: the signal that asked to stop (0: none), and what was there before. */
static volatile sig_atomic_t stop_signo;
static struct sigaction saved[N_STOP];
static bool installed;

static void on_stop(int signo)
{
    stop_signo = signo;
}

/* Our handler on the stop signals; the dispositions before it into `keep`
 * when given. */
static void catch_stops(struct sigaction *keep)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    /* Restart what libraries are in (curl, PKCS#11 modules): the step
     * finishes; our own sleeps see EINTR anyway (nanosleep never restarts). */
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < N_STOP; i++)
        sigaction(stop_signals[i], &sa, keep != NULL ? &keep[i] : NULL);
}

static void release_stops(void)
{
    for (size_t i = 0; i < N_STOP; i++)
        sigaction(stop_signals[i], &saved[i], NULL);
}

void lc_signals_install(void)
{
    if (installed)
        return;
    catch_stops(saved);
    stop_signo = 0;
    installed = true;
}

void lc_signals_restore(void)
{
    if (!installed)
        return;
    release_stops();
    installed = false;
}

void lc_signals_pause(void)
{
    if (installed)
        release_stops();
}

void lc_signals_resume(void)
{
    if (installed)
        catch_stops(NULL);
}

bool lc_stop_asked(void)
{
    return stop_signo != 0;
}

int lc_stopped(lc_run *r, const char *done)
{
    const char *name = stop_signo == SIGINT ? "SIGINT" : "SIGTERM";

    if (r->job != NULL && r->job->order_id != NULL)
        return lc_fail(r->err, QSCD_EXIT_NOT_READY, "interrupted",
                       "stopped by %s after %s; the journal is consistent: run `qscd-agent "
                       "provision %s` again to resume", name, done, r->job->order_id);
    return lc_fail(r->err, QSCD_EXIT_NOT_READY, "interrupted",
                   "stopped by %s after %s; the journal is consistent: run the same "
                   "command again to resume", name, done);
}

bool lc_sleep(double seconds)
{
    return stoppable_sleep(seconds, lc_stop_asked);
}
