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

/* The command line as started, for SIGHUP (the globals were taken out of ours). */
static char **saved_cmdline(int *argc)
{
    char *buf = NULL, **argv = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *f = fopen("/proc/self/cmdline", "re");
    int n = 0;

    *argc = 0;
    if (f == NULL)
        return NULL;
    len = getdelim(&buf, &cap, EOF, f);
    fclose(f);
    if (len <= 0)
        goto out;
    for (ssize_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    argv = calloc((size_t)n + 2, sizeof(*argv));
    if (argv == NULL)
        goto out;
    /* argv[n+1] keeps the buffer so that it can be freed with the array. */
    for (char *p = buf; p < buf + len && *argc < n; p += strlen(p) + 1)
        argv[(*argc)++] = p;
    argv[n + 1] = buf;
    return argv;
out:
    free(buf);
    return NULL;
}

static void reload(watch_state *ws)
{
    int argc;
    char **argv = saved_cmdline(&argc), *buf;
    cli_config fresh;
    watch_pin *pin;
    char err[512];

    if (argv == NULL) {
        watch_emit(ws, "reload_failed", NULL, NULL, QSCD_EXIT_USAGE,
                   "SIGHUP: cannot read the command line; settings unchanged");
        return;
    }
    buf = argv[argc + 1];
    err[0] = '\0';
    if (cli_config_load(&fresh, &argc, argv) != 0 ||
        (pin = watch_pin_new(fresh.pin_source, ws->opts->allow_final_try, err,
                             sizeof(err))) == NULL) {
        if (err[0] != '\0')
            cli_error("%s", err);
        watch_emit(ws, "reload_failed", NULL, NULL, QSCD_EXIT_USAGE,
                   "SIGHUP: the configuration has errors (see above); settings unchanged");
        cli_config_free(&fresh);
    } else {
        watch_pin_free(ws->pin);
        ws->pin = pin;
        if (ws->have_reloaded)
            cli_config_free(&ws->reloaded);
        ws->reloaded = fresh;
        ws->have_reloaded = true;
        ws->cfg = &ws->reloaded;
        watch_matcher_reset(ws->matcher);
        watch_emit(ws, "reloaded", NULL, NULL, -1, "SIGHUP: configuration re-read");
    }
    free(buf);
    free(argv);
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

int watch_run(const cli_config *cfg, const watch_opts *opts)
{
    watch_state ws = { .cfg = cfg, .opts = opts };
    char err[512];
    pid_t pcsc_pid = -1;
    int sig_fd = -1, pcsc_fd = -1, rc = 0;
    double started = monotonic_now(), next_scan = started;

    ws.pin = watch_pin_new(cfg->pin_source, opts->allow_final_try, err, sizeof(err));
    if (ws.pin == NULL) {
        cli_error("%s", err);
        return QSCD_EXIT_USAGE;
    }
    ws.matcher = watch_matcher_new();
    /* The monitor is forked before the handlers exist, so it never shares them. */
    pcsc_fd = watch_pcsc_start(&pcsc_pid);
    sig_fd = watch_signal_install();
    if (ws.matcher == NULL || sig_fd < 0) {
        cli_error("watch: cannot set up: %s", strerror(errno));
        rc = QSCD_EXIT_USAGE;
        goto out;
    }
    watch_emit(&ws, "started", NULL, NULL, -1, "watch: waiting for tokens (%s%s)",
               cfg->module ? "module " : "p11-kit's modules",
               cfg->module ? cfg->module : "");
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
    if (ws.have_reloaded)
        cli_config_free(&ws.reloaded);
    return rc;
}
