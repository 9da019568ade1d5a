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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <termios.h>
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

/*
 * While the prompt runs, SIGINT/SIGTERM/SIGQUIT only set this flag: the
 * terminal must get its echo back before the process acts on the signal.
 * Owned by secret_prompt_tty; one prompt at a time per process.
 */
static volatile sig_atomic_t prompt_signal;
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGQUIT };
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static void prompt_on_signal(int signo)
{
    prompt_signal = signo;
}

static void prompt_catch(struct sigaction *saved)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = prompt_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;            /* no SA_RESTART: read() must return */
    prompt_signal = 0;
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &sa, &saved[i]);
}

static void prompt_release(const struct sigaction *saved)
{
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaction(prompt_signals[i], &saved[i], NULL);
}

/* One line, without the newline; stops early when a signal came in. */
static secret *prompt_read_line(int fd, char *err, size_t errlen)
{
    secret *s = secret_new(256);
    char ch = 0;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (prompt_signal == 0) {
        /* poll with a timeout closes the gap between the check and read() */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, 200) <= 0)
            continue;
        n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* EIO: the job was put in the background mid-prompt */
            snprintf(err, errlen, "cannot read from the terminal: %s", strerror(errno));
            secret_free(s);
            return NULL;
        }
        if (n == 0 || ch == '\n' || ch == '\r')
            break;
        if (!secret_append(s, &ch, 1)) {
            snprintf(err, errlen, "input too long");
            secret_wipe(&ch, sizeof(ch));
            secret_free(s);
            return NULL;
        }
    }
    secret_wipe(&ch, sizeof(ch));
    if (prompt_signal != 0 || s->len == 0) {
        snprintf(err, errlen, prompt_signal != 0 ? "interrupted" : "empty input");
        secret_free(s);
        return NULL;
    }
    return s;
}

/*
 * Job control: a background job that touches the terminal's modes gets
 * SIGTTOU and stops.  A watcher started with `&` (or by a wrapper that puts
 * it in its own process group, as timeout(1) does) would sit stopped at
 * every prompt, and even a SIGTERM would stop it again on its way out when
 * it gives the echo back.  So a background job is told so at once, and
 * while the prompt runs SIGTTOU/SIGTTIN are blocked: if the job is moved to
 * the background mid-prompt, the terminal calls fail instead of stopping it.
 */
static bool prompt_in_foreground(int fd)
{
    return tcgetpgrp(fd) == getpgrp();
}

static void prompt_block_job_control(sigset_t *saved)
{
    sigset_t s;

    sigemptyset(&s);
    sigaddset(&s, SIGTTOU);
    sigaddset(&s, SIGTTIN);
    pthread_sigmask(SIG_BLOCK, &s, saved);
}

secret *secret_prompt_tty(const char *prompt, char *err, size_t errlen)
{
    struct sigaction saved[N_PROMPT_SIGNALS];
    struct termios old, quiet;
    sigset_t saved_mask;
    secret *s = NULL;
    int fd, signo;

    fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "no terminal to prompt on; use --pin-source file:PATH, fd:N, "
                 "env:VAR or pinpad");
        return NULL;
    }
    if (!prompt_in_foreground(fd)) {
        snprintf(err, errlen, "cannot prompt: qscd-agent is not the terminal's foreground job; "
                 "run it in the foreground or use --pin-source file:PATH, fd:N, env:VAR or pinpad");
        close(fd);
        return NULL;
    }
    if (tcgetattr(fd, &old) != 0) {
        snprintf(err, errlen, "cannot switch off echo on the terminal");
        close(fd);
        return NULL;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    prompt_block_job_control(&saved_mask);
    prompt_catch(saved);
    /* Echo goes off (and type-ahead is flushed) before the prompt shows:
     * whatever is typed once the prompt is visible is read, never echoed. */
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        snprintf(err, errlen, "cannot switch off echo on the terminal");
    } else {
        if (write(fd, prompt, strlen(prompt)) < 0)
            snprintf(err, errlen, "cannot write the prompt to the terminal");
        else
            s = prompt_read_line(fd, err, errlen);
        tcsetattr(fd, TCSAFLUSH, &old);
        if (write(fd, "\n", 1) < 0) {
            /* nothing useful to do: the prompt line just stays open */
        }
    }
    close(fd);
    signo = prompt_signal;
    prompt_release(saved);
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    /* Now that the echo is back, let the signal do what it would have done:
     * the default kills the process, a handler of the caller's runs. */
    if (signo != 0)
        raise(signo);
    return s;
}
