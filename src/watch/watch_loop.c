/*
 * The watcher's event loop.  Single-threaded: poll() on the signal pipe,
 * the PC/SC monitor and the workers' result pipes, with a scan of the
 * tokens every poll interval or at once after a PC/SC event.
 *
 * Shutdown (SIGINT, SIGTERM, --timeout): no new token is taken, the
 * workers get --grace to finish, then SIGTERM, then SIGKILL; the journal is
 * committed after every step, so a stopped job resumes where it was.  SIGHUP re-reads the configuration
 * from the command line the watcher was started with.
 */
#include "watch_int.h"
#include "monotonic.h"

#include "exit_codes.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The engine survives a kill at any point, but a worker let finish its step
 * leaves nothing to redo: workers get the grace period first, then SIGTERM,
 * then (KILL_AFTER_S later) SIGKILL.
 */
#define KILL_AFTER_S 5.0

static void begin_stop(watch_state *ws, const char *why)
{
    if (ws->stopping)
        return;
    ws->stopping = true;
    ws->stop_deadline = monotonic_now() + ws->opts->grace_s;
    watch_emit(ws, "stopping", NULL, NULL, -1, "watch: %s; %zu worker%s to finish (grace %.0f s)",
               why, ws->n_wk, ws->n_wk == 1 ? "" : "s", ws->opts->grace_s);
}

static void stop_workers(watch_state *ws)
{
    double now = monotonic_now();

    if (!ws->stopping || now < ws->stop_deadline)
        return;
    for (size_t i = 0; i < ws->n_wk; i++) {
        watch_worker *w = &ws->wk[i];

        if (!w->term_sent) {
            kill(w->pid, SIGTERM);
            w->term_sent = true;
            w->term_at = now;
        } else if (now - w->term_at > KILL_AFTER_S) {
            kill(w->pid, SIGKILL);
        }
    }
}

/* The watcher's own copy of its settings: a reload's strings belong to it. */
static void settings_free(watch_settings *s)
{
    const char **strs[] = { &s->core.state_dir, &s->core.state_db, &s->core.api_url, &s->core.api_key_file,
                            &s->core.ca_file, &s->core.trust_anchors, &s->core.module, &s->core.token_uri,
                            &s->core.pin_source, &s->config_file };

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free((char *)*strs[i]);
        *strs[i] = NULL;
    }
}

static bool settings_copy(watch_settings *dst, const watch_settings *src)
{
    const char **strs[] = { &dst->core.state_dir, &dst->core.state_db, &dst->core.api_url, &dst->core.api_key_file,
                            &dst->core.ca_file, &dst->core.trust_anchors, &dst->core.module, &dst->core.token_uri,
                            &dst->core.pin_source, &dst->config_file };

    *dst = *src;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (*strs[i] != NULL && (*strs[i] = strdup(*strs[i])) == NULL) {
            for (size_t j = i + 1; j < sizeof(strs) / sizeof(strs[0]); j++)
                *strs[j] = NULL;   /* still the source's */
            settings_free(dst);
            return false;
        }
    return true;
}

static void reload(watch_state *ws)
{
    watch_settings fresh, mine;
    watch_pin *pin = NULL;
    char err[512];
    bool ok;

    memset(&fresh, 0, sizeof(fresh));
    err[0] = '\0';
    if (ws->reload == NULL || ws->reload->fn == NULL) {
        watch_emit(ws, "reload_failed", NULL, NULL, QSCD_EXIT_USAGE,
                   "SIGHUP: this watcher cannot re-read its settings; settings unchanged");
        return;
    }
    ok = ws->reload->fn(ws->reload->ctx, &fresh) &&
         (pin = watch_pin_new(fresh.core.pin_source, ws->opts->allow_final_try, err,
                              sizeof(err))) != NULL;
    if (ok && !settings_copy(&mine, &fresh)) {
        snprintf(err, sizeof(err), "SIGHUP: out of memory");
        ok = false;
    }
    if (!ok) {
        if (err[0] != '\0')
            watch_error("%s", err);
        watch_pin_free(pin);
        watch_emit(ws, "reload_failed", NULL, NULL, QSCD_EXIT_USAGE,
                   "SIGHUP: the configuration has errors (see above); settings unchanged");
        return;
    }
    watch_pin_free(ws->pin);
    ws->pin = pin;
    if (ws->set == &ws->reloaded)
        settings_free(&ws->reloaded);
    ws->reloaded = mine;
    ws->set = &ws->reloaded;
    watch_matcher_reset(ws->matcher);
    watch_emit(ws, "reloaded", NULL, NULL, -1, "SIGHUP: configuration re-read");
}

static void handle_signals(watch_state *ws, int sig_fd)
{
    unsigned long bits = watch_signal_take(sig_fd);

    if (bits & ((1UL << SIGINT) | (1UL << SIGTERM)))
        ws->by_signal = true;
    if (bits & (1UL << SIGINT))
        begin_stop(ws, "interrupted");
    if (bits & (1UL << SIGTERM))
        begin_stop(ws, "asked to stop (SIGTERM)");
    if (bits & (1UL << SIGHUP))
        reload(ws);
}

static void collect_workers(watch_state *ws)
{
    for (size_t i = ws->n_wk; i-- > 0;) {
        watch_worker *w = &ws->wk[i];

        /* Reap first: once it has exited, everything it wrote is in the pipe. */
        watch_worker_reap(w);
        watch_worker_read(w);
        /* A worker that exited may have left a child holding the pipe: do not wait on it. */
        if (w->exited && w->out_fd >= 0) {
            close(w->out_fd);
            w->out_fd = -1;
        }
        if (w->exited)
            watch_worker_done(ws, i);
    }
    stop_workers(ws);
}

/* True when the loop should end now. */
static bool finished(watch_state *ws, double started)
{
    const watch_opts *o = ws->opts;

    if (ws->stopping)
        return ws->n_wk == 0;
    if (o->timeout_s > 0 && monotonic_now() - started >= o->timeout_s)
        begin_stop(ws, "--timeout reached");
    else if (o->max_tokens > 0 && ws->ended >= o->max_tokens)
        begin_stop(ws, "--max-tokens reached");
    else if (o->exit_when_idle && ws->scanned && ws->n_wk == 0 && !watch_has_pending(ws))
        begin_stop(ws, "idle (--exit-when-idle)");
    return ws->stopping && ws->n_wk == 0;
}

static int wait_events(watch_state *ws, int sig_fd, int *pcsc_fd, double until)
{
    struct pollfd *p = calloc(ws->n_wk + 2, sizeof(*p));
    size_t n = 0;
    double left = until - monotonic_now();
    int ms = left <= 0 ? 0 : (int)(left * 1000) + 1, scan_now = 0;

    if (p == NULL)
        return 0;
    p[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
    p[n++] = (struct pollfd){ .fd = *pcsc_fd, .events = POLLIN };
    for (size_t i = 0; i < ws->n_wk; i++)
        p[n++] = (struct pollfd){ .fd = ws->wk[i].out_fd, .events = POLLIN };
    if (ws->stopping && ms > 200)
        ms = 200;
    if (poll(p, n, ms) > 0 && (p[1].revents & (POLLIN | POLLHUP))) {
        char b[64];
        ssize_t r = read(*pcsc_fd, b, sizeof(b));

        scan_now = 1;
        if (r == 0) {   /* the monitor ended: no PC/SC here, polling only */
            close(*pcsc_fd);
            *pcsc_fd = -1;
        }
    }
    free(p);
    return scan_now;
}

int watch_run(const watch_settings *set, const watch_opts *opts, const watch_reload *reload)
{
    watch_state ws = { .set = set, .opts = opts, .reload = reload };
    char err[512];
    pid_t pcsc_pid = -1;
    int sig_fd = -1, pcsc_fd = -1, rc = 0;
    double started = monotonic_now(), next_scan = started;

    ws.pin = watch_pin_new(set->core.pin_source, opts->allow_final_try, err, sizeof(err));
    if (ws.pin == NULL) {
        watch_error("%s", err);
        return QSCD_EXIT_USAGE;
    }
    ws.matcher = watch_matcher_new();
    /* The monitor is forked before the handlers exist, so it never shares them. */
    pcsc_fd = watch_pcsc_start(&pcsc_pid);
    sig_fd = watch_signal_install();
    if (ws.matcher == NULL || sig_fd < 0) {
        watch_error("watch: cannot set up: %s", strerror(errno));
        rc = QSCD_EXIT_USAGE;
        goto out;
    }
    watch_emit(&ws, "started", NULL, NULL, -1, "watch: waiting for tokens (%s%s)",
               set->core.module ? "module " : "p11-kit's modules",
               set->core.module ? set->core.module : "");
    for (;;) {
        if (!ws.stopping && monotonic_now() >= next_scan) {
            watch_scan_round(&ws);
            watch_retry_pending(&ws);
            next_scan = monotonic_now() + opts->poll_s;
        }
        collect_workers(&ws);
        if (finished(&ws, started))
            break;
        if (wait_events(&ws, sig_fd, &pcsc_fd, next_scan))
            next_scan = monotonic_now();
        handle_signals(&ws, sig_fd);
    }
    watch_emit(&ws, "stopped", NULL, NULL, -1, "watch: stopped");
    /* A stop by signal is a clean end; when the watcher ends by itself
     * (--exit-when-idle, --max-tokens), the jobs' outcome counts. */
    if ((opts->exit_when_idle || opts->max_tokens > 0) && !ws.by_signal)
        rc = watch_outcome_rc(&ws);
out:
    watch_signal_restore();
    watch_pcsc_stop(pcsc_pid, pcsc_fd);
    watch_tracked_free(&ws);
    free(ws.wk);
    free(ws.outcomes);
    watch_matcher_free(ws.matcher);
    watch_pin_free(ws.pin);
    if (ws.set == &ws.reloaded)
        settings_free(&ws.reloaded);
    return rc;
}
