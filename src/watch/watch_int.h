/*
 * Private to src/watch_*.c: the watcher's state, shared by the event loop
 * (watch_loop.c), the token bookkeeping (watch_tokens.c) and the reports
 * (watch_report.c).
 */
#ifndef QSCD_WATCH_INT_H
#define QSCD_WATCH_INT_H

#include "watch.h"

enum tracked_state {
    TR_PENDING = 0,   /* its job is busy: look again next round */
    TR_RUNNING,       /* a worker is on it */
    TR_HANDLED,       /* reported; nothing more until it is plugged in again */
};

typedef struct tracked {
    watch_token tok;
    int         state;
    bool        seen;        /* in the last scan */
    bool        said_busy;
} tracked;

typedef struct watch_outcome {
    char order_id[32];
    int  code;
} watch_outcome;

typedef struct watch_state {
    const watch_settings *set;     /* the current settings */
    watch_settings    reloaded;    /* after SIGHUP; set points here then */
    const watch_reload *reload;    /* the front end's, or NULL */
    const watch_opts *opts;
    watch_matcher    *matcher;
    watch_pin        *pin;

    tracked          *tr;
    size_t            n_tr;
    watch_worker     *wk;
    size_t            n_wk;

    char              last_scan_error[512];
    bool              scanned;     /* at least one scan succeeded */
    bool              stopping;
    bool              by_signal;   /* SIGINT / SIGTERM: always a clean exit */
    double            stop_deadline;
    int               ended;       /* provisionings that ended */
    int               rc;          /* a failure of the watcher itself (scans) */
    watch_outcome    *outcomes;    /* the last exit code per order */
    size_t            n_outcomes;
} watch_state;

/* For --exit-when-idle / --max-tokens: 0 when every order's last run succeeded. */
int watch_outcome_rc(const watch_state *ws);

/* watch_tokens.c */
void watch_scan_round(watch_state *ws);
void watch_retry_pending(watch_state *ws);
/* A worker's stdout reached EOF and it exited: report and forget it. */
void watch_worker_done(watch_state *ws, size_t i);
bool watch_has_pending(const watch_state *ws);
void watch_tracked_free(watch_state *ws);

/* watch_report.c */
void watch_emit(const watch_state *ws, const char *event, const watch_token *t,
                const char *order_id, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void watch_audit(const watch_state *ws, const char *action, const watch_token *t,
                 const char *order_id, const char *outcome, const char *error);
/* What goes wrong with the watcher itself, on stderr. */
void watch_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void watch_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));


#endif
