/*
 * Signals for the watcher, turned into bytes on a pipe so that the event
 * loop sees them in poll() next to its other descriptors and acts outside
 * the handler (the self-pipe trick).
 */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int sig_pipe[2] = { -1, -1 };   /* owned by this file; one watcher per process */
static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
/* For code that blocks outside the event loop (a PIN prompt): it must not
 * eat the pipe's bytes, so it looks here instead. */
static volatile sig_atomic_t stop_asked;

static void on_signal(int signo)
{
    int saved_errno = errno;
    unsigned char b = (unsigned char)signo;

    if (signo == SIGINT || signo == SIGTERM)
        stop_asked = 1;

    if (write(sig_pipe[1], &b, 1) < 0) {
        /* pipe full: a byte of the same kind is already waiting */
    }
    errno = saved_errno;
}

int watch_signal_install(void)
{
    struct sigaction sa;

    if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    stop_asked = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
        sigaction(handled[i], &sa, NULL);
    return sig_pipe[0];
}

void watch_signal_restore(void)
{
    /* A stop was asked for or is under way: a second SIGTERM (systemd and
     * timeout(1) signal the whole group) must not cut the teardown short. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
}

bool watch_signal_stop_asked(void)
{
    return stop_asked != 0;
}

void watch_signal_child(void)
{
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
        signal(handled[i], SIG_DFL);
}

unsigned long watch_signal_take(int fd)
{
    unsigned char buf[64];
    unsigned long bits = 0;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] < sizeof(bits) * 8)
                bits |= 1UL << buf[i];
    return bits;
}
