/*
 * The no-echo prompt on the controlling terminal.  See include/secret.h.
 *
 * Two things can hurt a PIN prompt: signals and job control.
 *
 * SIGINT/SIGTERM/SIGQUIT only set a flag while the prompt runs: the
 * terminal must get its echo back before the process acts on them.
 *
 * Job control: a background job that touches the terminal's modes gets
 * SIGTTOU and stops.  A watcher started with `&`, or under a wrapper that
 * gives it a process group of its own (timeout(1) without --foreground),
 * would sit stopped at every prompt, and even a SIGTERM would stop it again
 * on its way out when it gave the echo back.  So a background job is told
 * at once that it cannot prompt, and SIGTTOU/SIGTTIN are blocked while the
 * prompt runs: the agent is never stopped by the terminal, and it can
 * always give the echo back.  Ctrl-Z is honoured the way getpass-like
 * prompts do it: echo back, stop, and on `fg` switch echo off again (the
 * shell may have changed the modes meanwhile) and ask again from the start.
 * A prompt that finds itself in the background (`bg`) gives up.
 */
#include "term_text.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Owned by secret_prompt_tty; one prompt at a time per process. */
static volatile sig_atomic_t prompt_signal;
static volatile sig_atomic_t prompt_suspend;
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGQUIT, SIGTSTP };
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))
#define IN_BACKGROUND "put in the background at the prompt; no PIN was read"

struct prompt {
    int            fd;
    const char    *text;
    struct termios old, quiet;
    bool           quiet_on;    /* our modes are on the terminal */
    struct sigaction saved[N_PROMPT_SIGNALS];
    sigset_t       saved_mask;
};

static void prompt_on_signal(int signo)
{
    if (signo == SIGTSTP)
        prompt_suspend = 1;
    else
        prompt_signal = signo;
}

static void prompt_catch(struct prompt *p)
{
    struct sigaction sa;
    sigset_t job_control;

    sigemptyset(&job_control);
    sigaddset(&job_control, SIGTTOU);
    sigaddset(&job_control, SIGTTIN);
    pthread_sigmask(SIG_BLOCK, &job_control, &p->saved_mask);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = prompt_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;            /* no SA_RESTART: read() must return */
    prompt_signal = 0;
    prompt_suspend = 0;
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &sa, &p->saved[i]);
}

static void prompt_release(const struct prompt *p)
{
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &p->saved[i], NULL);
    pthread_sigmask(SIG_SETMASK, &p->saved_mask, NULL);
}

static bool prompt_in_foreground(int fd)
{
    return tcgetpgrp(fd) == getpgrp();
}

/* Echo off (type-ahead flushed) before the prompt shows: whatever is typed
 * once the prompt is visible is read, never echoed. */
static bool prompt_show(struct prompt *p, char *err, size_t errlen)
{
    if (tcsetattr(p->fd, TCSAFLUSH, &p->quiet) != 0) {
        snprintf(err, errlen, "cannot switch off echo on the terminal");
        return false;
    }
    p->quiet_on = true;
    /* The prompt names the token: its label is the token's, not ours. */
    char shown[1024];
    term_text_escape(p->text, false, shown, sizeof(shown));
    if (write(p->fd, shown, strlen(shown)) < 0) {
        snprintf(err, errlen, "cannot write the prompt to the terminal");
        return false;
    }
    return true;
}

static void prompt_restore(struct prompt *p)
{
    if (!p->quiet_on)
        return;
    tcsetattr(p->fd, TCSAFLUSH, &p->old);
    p->quiet_on = false;
    if (write(p->fd, "\n", 1) < 0) {
        /* nothing useful to do: the prompt line just stays open */
    }
}

/* Ctrl-Z: echo back, stop as the default action would, and on continuing
 * in the foreground ask again.  False when continued in the background. */
static bool prompt_suspend_resume(struct prompt *p, char *err, size_t errlen)
{
    struct sigaction dfl, mine;

    prompt_restore(p);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGTSTP, &dfl, &mine);
    prompt_suspend = 0;
    kill(getpid(), SIGTSTP);    /* returns on SIGCONT */
    sigaction(SIGTSTP, &mine, NULL);
    if (!prompt_in_foreground(p->fd)) {
        snprintf(err, errlen, "%s", IN_BACKGROUND);
        return false;
    }
    return prompt_show(p, err, errlen);
}

/* One line, without the newline; stops early when a signal came in. */
static secret *prompt_read_line(struct prompt *p, char *err, size_t errlen)
{
    secret *s = secret_new(256);
    char ch = 0;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (prompt_signal == 0) {
        /* poll with a timeout closes the gap between the check and read() */
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        ssize_t n;

        if (prompt_suspend) {
            secret_wipe(s->data, s->len);
            s->len = 0;
            if (!prompt_suspend_resume(p, err, errlen))
                goto fail;
            continue;
        }
        /* Moved to the background without a stop (tcsetpgrp by another
         * process): what is typed now goes to someone else. */
        if (!prompt_in_foreground(p->fd)) {
            snprintf(err, errlen, "%s", IN_BACKGROUND);
            goto fail;
        }
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        n = read(p->fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read from the terminal: %s", strerror(errno));
            goto fail;
        }
        if (n == 0 || ch == '\n' || ch == '\r')
            break;
        if (!secret_append(s, &ch, 1)) {
            snprintf(err, errlen, "input too long");
            goto fail;
        }
    }
    secret_wipe(&ch, sizeof(ch));
    if (prompt_signal != 0 || s->len == 0) {
        snprintf(err, errlen, prompt_signal != 0 ? "interrupted" : "empty input");
        secret_free(s);
        return NULL;
    }
    return s;
fail:
    secret_wipe(&ch, sizeof(ch));
    secret_free(s);
    return NULL;
}

secret *secret_prompt_tty(const char *prompt, char *err, size_t errlen)
{
    struct prompt p;
    secret *s = NULL;
    int signo;

    memset(&p, 0, sizeof(p));
    p.text = prompt;
    p.fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (p.fd < 0) {
        snprintf(err, errlen, "no terminal to prompt on; use --pin-source file:PATH, fd:N, "
                 "env:VAR or pinpad");
        return NULL;
    }
    if (!prompt_in_foreground(p.fd)) {
        snprintf(err, errlen, "cannot prompt: qscd-agent is not the terminal's foreground job; "
                 "run it in the foreground or use --pin-source file:PATH, fd:N, env:VAR or pinpad");
        close(p.fd);
        return NULL;
    }
    if (tcgetattr(p.fd, &p.old) != 0) {
        snprintf(err, errlen, "cannot switch off echo on the terminal");
        close(p.fd);
        return NULL;
    }
    p.quiet = p.old;
    p.quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    p.quiet.c_lflag |= ICANON;
    prompt_catch(&p);
    if (prompt_show(&p, err, errlen))
        s = prompt_read_line(&p, err, errlen);
    prompt_restore(&p);
    close(p.fd);
    signo = prompt_signal;
    prompt_release(&p);
    /* Now that the echo is back, let the signal do what it would have done:
     * the default kills the process, a handler of the caller's runs. */
    if (signo != 0)
        raise(signo);
    return s;
}
