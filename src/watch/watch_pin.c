/*
 * The PIN broker.  The watcher owns the terminal: prompts come one at a
 * time (the event loop is single-threaded) and name the token, and the PIN
 * reaches its worker through a pipe (--pin-source fd:N), never argv or the
 * environment.  An fd: source can be read only once, so it is read here
 * and handed to every worker the same way, until a token refuses it: then
 * it is dropped, not handed to the next token.  file:, env: and pinpad are
 * passed on as configured: the worker reads them itself, and its refused-PIN
 * rule (pin_login) keeps a PIN a token refused from being sent to it again.
 * A PIN typed at the prompt for a token is sent even after a refusal: a
 * person entered that try.
 */
#include "watch.h"

#include "pin_source.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct watch_pin {
    pin_source src;
    char      *spec;     /* as configured, for file:/env:/pinpad */
    secret    *cached;   /* fd: read once */
    char       refused_by[600];  /* fd: the token that refused it ("" while none did) */
};

watch_pin *watch_pin_new(const char *spec, bool allow_final_try, char *err, size_t errlen)
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
    if (allow_final_try && !pin_source_interactive(p->src.kind)) {
        snprintf(err, errlen, "watch --allow-final-try: only with --pin-source prompt or "
                 "--pin-source pinpad (a person enters each PIN); with a PIN from %s: the next "
                 "token plugged in could be locked by a last try nobody made",
                 pin_source_kind_name(p->src.kind));
        watch_pin_free(p);
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

static bool prompt_for(const watch_token *t, int *fd_out, char *err, size_t errlen)
{
    char desc[600], prompt[700];
    secret *pin;
    bool ok;

    watch_token_describe(t, desc, sizeof(desc));
    snprintf(prompt, sizeof(prompt), "User PIN for %s: ", desc);
    /* secret_prompt_tty gives the terminal its echo back, then re-raises a
     * SIGINT/SIGTERM that came in: our handler then marks the stop. */
    pin = secret_prompt_tty(prompt, err, errlen);
    if (pin == NULL) {
        if (watch_signal_stop_asked())
            snprintf(err, errlen, "interrupted: the watcher is stopping");
        return false;
    }
    ok = pin_pipe(pin, fd_out, err, errlen);
    secret_free(pin);
    return ok;
}

/* The engine's code for the worker's failure (its --json result), or "". */
static void last_error_code(const watch_worker *w, char *buf, size_t len)
{
    cJSON *root = w->out ? cJSON_Parse(w->out) : NULL;
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(root, "job");
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(job, "last_error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(le, "code");

    snprintf(buf, len, "%s", cJSON_IsString(code) ? code->valuestring : "");
    cJSON_Delete(root);
}

/* Did the worker's token refuse the PIN just now (or leave the outcome unknown)? */
static bool refused_now(const watch_worker *w)
{
    char code[64];

    last_error_code(w, code, sizeof(code));
    return strcmp(code, "pin_refused") == 0 || strcmp(code, "pin_outcome_unknown") == 0;
}

const char *watch_pin_advice(const watch_worker *w)
{
    char code[64];

    last_error_code(w, code, sizeof(code));
    if (strcmp(code, "pin_refused") != 0 && strcmp(code, "pin_outcome_unknown") != 0 &&
        strcmp(code, "pin_refused_before") != 0)
        return NULL;
    return "make sure of the PIN, then plug the token in again after one login with "
           "`qscd-agent --pin-source prompt provision ORDER_ID` (or pinpad), or run "
           "`qscd-agent provision ORDER_ID --retry-pin` once; or watch with --pin-source prompt";
}

void watch_pin_worker_ended(watch_pin *p, const watch_worker *w)
{
    if (p == NULL || p->src.kind != PIN_SOURCE_FD || p->cached == NULL || !refused_now(w))
        return;
    secret_free(p->cached);
    p->cached = NULL;
    watch_token_describe(&w->token, p->refused_by, sizeof(p->refused_by));
}

bool watch_pin_for(watch_pin *p, const watch_token *t, char *spec, size_t speclen,
                   int *fd_out, bool *typed, char *err, size_t errlen)
{
    *fd_out = -1;
    *typed = false;
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
        if (p->refused_by[0] != '\0') {
            snprintf(err, errlen, "the PIN from fd:%d was refused by %s, so it is not sent to "
                     "another token; restart watch with the right PIN, or with --pin-source "
                     "prompt", p->src.fd, p->refused_by);
            return false;
        }
        if (p->cached == NULL &&
            !pin_source_read(&p->src, NULL, &p->cached, err, errlen))
            return false;
        break;
    case PIN_SOURCE_PROMPT:
        if (!prompt_for(t, fd_out, err, errlen))
            return false;
        snprintf(spec, speclen, "fd:%d", *fd_out);
        *typed = true;
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
