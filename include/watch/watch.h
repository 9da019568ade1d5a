/*
 * watch: the helpdesk workstation command.  Waits for tokens to be plugged
 * in, finds each token's job before any PIN is asked for, and provisions it
 * in a worker process (docs/watch.md).
 *
 * The watch process itself never loads a PKCS#11 module: a long-running
 * OpenSC misses card insertions (design.md, "Hotplug, as observed here"),
 * and a crashing vendor module must not take the watcher down.  Every look
 * at the tokens is a forked scan process that loads the modules afresh;
 * every provisioning is an exec of the agent itself (`provision`).
 *
 * Parts: watch_loop.c (the event loop and what is reported), watch_scan.c
 * (scan process), watch_match.c (token -> job), watch_worker.c (provision
 * workers), watch_pin.c (PIN broker), watch_signal.c (signals),
 * watch_pcsc.c (PC/SC reader events).
 */
#ifndef QSCD_WATCH_H
#define QSCD_WATCH_H

#include "lifecycle_engine.h"
#include "secret.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * What the watcher runs with, and hands on to its workers.  Strings are
 * borrowed from the front end that started it.
 */
typedef struct watch_settings {
    lifecycle_settings core;   /* state dir, API, CA, key file, module, PIN source */
    const char *config_file;   /* a config file the user named (passed on), or NULL */
    bool        json;          /* events as JSON lines on stdout */
    bool        quiet;         /* workers say nothing but their result */
} watch_settings;

/*
 * SIGHUP: the front end reads its settings again (config file, environment,
 * the same options) into *out, valid until the next call or the end of
 * watch_run.  false: the settings are wrong (the front end said why) and
 * the old ones stay.
 */
typedef struct watch_reload {
    bool (*fn)(void *ctx, watch_settings *out);
    void *ctx;
} watch_reload;

typedef struct watch_opts {
    bool   assign_next;      /* blank token: the oldest approved job awaiting a key */
    bool   exit_when_idle;   /* stop once every token seen is handled */
    bool   allow_final_try;  /* passed to the workers */
    int    max_tokens;       /* stop after this many provisionings ended; 0: no limit */
    double timeout_s;        /* stop after this long; <= 0: never */
    double poll_s;           /* scan interval */
    double grace_s;          /* shutdown: how long workers get to stop */
} watch_opts;

/* --- a token as a scan saw it (watch_scan.c) ------------------------------ */

typedef struct watch_token {
    char      *key;          /* identity: the URI, or "reader:" + reader */
    char      *uri;          /* NULL for a card the module does not recognise */
    char      *label;
    char      *serial;
    char      *reader;       /* slot description */
    bool       recognised;
    bool       pinpad;
    bool       keys_read;    /* the public keys below are all there is */
    char      *keys_error;   /* why they could not be read */
    EVP_PKEY **keys;
    size_t     n_keys;
} watch_token;

typedef struct watch_scan {
    watch_token *items;
    size_t       n;
    char         error[512]; /* the scan failed as a whole ("" when fine) */
} watch_scan;

/*
 * Look at every slot in a forked process that loads the modules afresh.
 * Public keys are read (without login) only for tokens whose identity is
 * not in `known` (n_known entries).  Returns 0, or -1 with out->error set.
 */
int  watch_scan_run(const watch_settings *set, const char *const *known, size_t n_known,
                    double limit_s, watch_scan *out);
void watch_scan_free(watch_scan *s);
void watch_token_clear(watch_token *t);
int  watch_token_copy(const watch_token *src, watch_token *dst);
/* `token "L" (serial S) in reader R` for messages. */
void watch_token_describe(const watch_token *t, char *buf, size_t len);

/* --- token -> job (watch_match.c) ------------------------------------------ */

typedef enum watch_match_kind {
    WATCH_MATCH_NONE = 0,
    WATCH_MATCH_KEY,         /* a key on the token is in the order's certificate */
    WATCH_MATCH_SERIAL,      /* the job is bound to this token's serial */
    WATCH_MATCH_NEXT,        /* --assign-next: blank token, oldest waiting job */
    WATCH_MATCH_DONE,        /* its job is finished already: nothing to do */
    WATCH_MATCH_BUSY,        /* its job is being worked on: look again later */
} watch_match_kind;

typedef struct watch_match {
    watch_match_kind kind;
    char order_id[32];
    char job_ref[32];
    bool generate_key;
    char reason[512];        /* why NONE, for the operator */
} watch_match;

typedef struct watch_matcher watch_matcher;

watch_matcher *watch_matcher_new(void);
void           watch_matcher_free(watch_matcher *m);
/* Forget the order client (SIGHUP: the API settings may have changed). */
void           watch_matcher_reset(watch_matcher *m);
/* The API key the matcher loaded from $QSCD_API_KEY (workers need it), or NULL. */
const secret  *watch_matcher_env_apikey(const watch_matcher *m);

/*
 * busy: order ids a worker of this watch is on (n_busy of them).  Returns 0
 * with *out filled (NONE included), or an exit code after an error that
 * stops the matching (journal unreadable, CertCentral unreachable).
 */
int watch_match_token(watch_matcher *m, const watch_settings *set, const watch_token *t,
                      bool assign_next, const char *const *busy, size_t n_busy,
                      watch_match *out);

/* --- PIN broker (watch_pin.c) --------------------------------------------- */

typedef struct watch_pin watch_pin;

/*
 * NULL spec or "prompt": ask on the terminal; fd:N read once; others passed
 * on.  allow_final_try is refused unless a person enters each PIN (prompt,
 * pinpad): an unattended last try could lock a re-plugged token.
 */
watch_pin *watch_pin_new(const char *spec, bool allow_final_try, char *err, size_t errlen);
void       watch_pin_free(watch_pin *p);
/*
 * What the worker for token t gets as --pin-source: a spec copied into
 * spec (file:/env:/pinpad), or "fd:N" with *fd_out the read end of a pipe
 * holding the PIN (the caller passes it on and closes it).  *typed: a person
 * typed this PIN for this token just now (the worker may send it despite an
 * earlier refusal).  Prompts name the token.  Returns false with err set (no
 * PIN, terminal unavailable, the fd: PIN was refused by a token).
 */
bool watch_pin_for(watch_pin *p, const watch_token *t, char *spec, size_t speclen,
                   int *fd_out, bool *typed, char *err, size_t errlen);
/* A worker ended: a PIN from fd: its token refused is not handed to any other. */
struct watch_worker;
void watch_pin_worker_ended(watch_pin *p, const struct watch_worker *w);
/* What to do when the worker stopped on a refused PIN, or NULL. */
const char *watch_pin_advice(const struct watch_worker *w);

/* --- workers (watch_worker.c) ------------------------------------------------ */

typedef struct watch_worker {
    pid_t  pid;
    int    out_fd;          /* its stdout (the --json result); -1 at EOF */
    char  *out;
    size_t out_len;
    bool   exited;
    int    status;          /* waitpid status */
    char   order_id[32];
    char   token_key[512];
    watch_token token;      /* a copy, for the report */
    bool   term_sent;
    double term_at;         /* when SIGTERM was sent (monotonic s) */
} watch_worker;

typedef struct watch_spawn {
    const char   *order_id;
    const char   *token_uri;
    bool          generate_key;
    bool          allow_final_try;
    bool          retry_pin;    /* the PIN was typed for this token: --retry-pin */
    const char   *pin_spec;     /* --pin-source for the worker */
    int           pin_fd;       /* >= 0: inherited by the worker */
    const secret *env_apikey;   /* set as QSCD_API_KEY in the worker only */
} watch_spawn;

/* fork + exec of the agent itself: provision ...; 0 or -1 with err set. */
int  watch_worker_start(const watch_settings *set, const watch_spawn *sp, watch_worker *w,
                        char *err, size_t errlen);
/* Read what is there; true at EOF. */
bool watch_worker_read(watch_worker *w);
/* waitpid without blocking; true when it has exited. */
bool watch_worker_reap(watch_worker *w);
/* Exit code (0..255), or 128+signal. */
int  watch_worker_exit_code(const watch_worker *w);
/* The "error" of its --json result, or NULL. Caller frees. */
char *watch_worker_error(const watch_worker *w);
void watch_worker_clear(watch_worker *w);

/* --- signals (watch_signal.c) ------------------------------------------------- */

/* Self-pipe for SIGINT, SIGTERM, SIGHUP, SIGCHLD; returns its read end or -1. */
int  watch_signal_install(void);
/* At the end: close the pipe; INT/TERM/HUP ignored for the rest of the teardown. */
void watch_signal_restore(void);
/* In a forked child: default dispositions, so its signals are not the watcher's. */
void watch_signal_child(void);
/* Drain the pipe: bits 1<<SIGxxx of what arrived. */
unsigned long watch_signal_take(int fd);
/* SIGINT or SIGTERM arrived since watch_signal_install (the pipe is left as it is). */
bool watch_signal_stop_asked(void);

/* --- PC/SC reader events (watch_pcsc.c) ------------------------------------- */

/*
 * A forked monitor that writes a byte to the returned fd whenever PC/SC
 * reports a reader or card change.  -1 when PC/SC is not available (no
 * pcscd): the loop then only polls.
 */
int  watch_pcsc_start(pid_t *pid_out);
void watch_pcsc_stop(pid_t pid, int fd);

/* --- the loop (watch_loop.c) -------------------------------------------------- */

/* Run until stopped; reload may be NULL (SIGHUP then keeps the settings). */
int watch_run(const watch_settings *set, const watch_opts *opts, const watch_reload *reload);

#endif
