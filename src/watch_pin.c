/*
 * The PIN broker.  The watcher owns the terminal: prompts come one at a
 * time (the event loop is single-threaded) and name the token, and the PIN
 * reaches its worker through a pipe (--pin-source fd:N), never argv or the
 * environment.  An fd: source can be read only once, so it is read here
 * and handed to every worker the same way.  file:, env: and pinpad are
 * passed on as configured: the worker reads them itself.
 */
#include "watch.h"

#include "pin_source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

struct watch_pin {
    pin_source src;
    char      *spec;     /* as configured, for file:/env:/pinpad */
    secret    *cached;   /* fd: read once */
};

watch_pin *watch_pin_new(const char *spec, char *err, size_t errlen)
{
    watch_pin *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!pin_source_parse(spec, "--pin-source", &p->src, err, errlen)) {
        free(p);
        return NULL;
    }
    p->spec = strdup(spec ? spec : "prompt");
    if (p->spec == NULL) {
        watch_pin_free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return p;
}

void watch_pin_free(watch_pin *p)
{
    if (p == NULL)
        return;
    pin_source_clear(&p->src);
    secret_free(p->cached);
    free(p->spec);
    free(p);
}

/* A pipe holding the PIN; the read end goes to the worker. */
static bool pin_pipe(const secret *pin, int *fd_out, char *err, size_t errlen)
{
    int fds[2];
    size_t off = 0;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "PIN pipe: %s", strerror(errno));
        return false;
    }
    /* A PIN is far below the pipe's buffer: this never blocks. */
    while (off < pin->len) {
        ssize_t n = write(fds[1], pin->data + off, pin->len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "PIN pipe: %s", strerror(errno));
            close(fds[0]);
            close(fds[1]);
            return false;
        }
        off += (size_t)n;
    }
    close(fds[1]);
    *fd_out = fds[0];
    return true;
}

/*
 * One line from the terminal, echo off.  Not secret_prompt_tty: that one
 * sits in read() through signals, and a Ctrl-C at a watch prompt must stop
 * the watcher now, not after the next Enter.  So poll, and give up when
 * SIGINT/SIGTERM arrived (the event loop still finds them in its pipe).
 */
static secret *read_line_or_stop(int fd, char *err, size_t errlen)
{
    secret *s = secret_new(256);
    char ch = 0;

    while (s != NULL) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (watch_signal_stop_asked()) {
            snprintf(err, errlen, "interrupted: the watcher is stopping");
            break;
        }
        if (poll(&p, 1, 200) <= 0)
            continue;   /* a signal (looked at above) or nothing typed yet */
        n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || ch == '\n' || ch == '\r')
            break;
        if (!secret_append(s, &ch, 1)) {
            snprintf(err, errlen, "input too long");
            break;
        }
    }
    secret_wipe(&ch, sizeof(ch));
    if (s != NULL && (watch_signal_stop_asked() || err[0] != '\0' || s->len == 0)) {
        if (err[0] == '\0')
            snprintf(err, errlen, "empty input");
        secret_free(s);
        s = NULL;
    } else if (s == NULL) {
        snprintf(err, errlen, "out of memory");
    }
    return s;
}

static secret *ask_tty(const char *prompt, char *err, size_t errlen)
{
    struct termios old, quiet;
    secret *pin = NULL;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        snprintf(err, errlen, "no terminal to prompt on; use --pin-source file:PATH, fd:N, "
                 "env:VAR or pinpad");
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
    if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        snprintf(err, errlen, "cannot switch off echo on the terminal");
    } else {
        err[0] = '\0';
        pin = read_line_or_stop(fd, err, errlen);
    }
    tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* the prompt line just stays open */
    }
    close(fd);
    return pin;
}

static bool prompt_for(const watch_token *t, int *fd_out, char *err, size_t errlen)
{
    char desc[600], prompt[700];
    secret *pin;
    bool ok;

    watch_token_describe(t, desc, sizeof(desc));
    snprintf(prompt, sizeof(prompt), "User PIN for %s: ", desc);
    pin = ask_tty(prompt, err, errlen);
    if (pin == NULL)
        return false;
    ok = pin_pipe(pin, fd_out, err, errlen);
    secret_free(pin);
    return ok;
}

bool watch_pin_for(watch_pin *p, const watch_token *t, char *spec, size_t speclen,
                   int *fd_out, char *err, size_t errlen)
{
    *fd_out = -1;
    if (t->pinpad || p->src.kind == PIN_SOURCE_PINPAD) {
        snprintf(spec, speclen, "pinpad");
        return true;
    }
    switch (p->src.kind) {
    case PIN_SOURCE_FILE:
    case PIN_SOURCE_ENV:
        snprintf(spec, speclen, "%s", p->spec);
        return true;
    case PIN_SOURCE_FD:
        if (p->cached == NULL &&
            !pin_source_read(&p->src, NULL, &p->cached, err, errlen))
            return false;
        break;
    case PIN_SOURCE_PROMPT:
        if (!prompt_for(t, fd_out, err, errlen))
            return false;
        snprintf(spec, speclen, "fd:%d", *fd_out);
        return true;
    default:
        snprintf(err, errlen, "--pin-source: unsupported kind");
        return false;
    }
    if (!pin_pipe(p->cached, fd_out, err, errlen))
        return false;
    snprintf(spec, speclen, "fd:%d", *fd_out);
    return true;
}
