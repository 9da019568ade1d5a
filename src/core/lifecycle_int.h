/*
 * Private to the engine's files (src/lifecycle*.c): one run of the engine
 * on one job, and the actions it performs.
 */
#ifndef QSCD_LIFECYCLE_INT_H
#define QSCD_LIFECYCLE_INT_H

#include "journal.h"
#include "lifecycle.h"
#include "lifecycle_engine.h"
#include "order.h"
#include "store.h"
#include "token.h"
#include "x509.h"

#include <stdarg.h>

/* Margin for clocks that disagree when matching an order to a submit. */
#define LC_CLOCK_SKEW_S 600

/*
 * What a step waits for when it returns 0 without having moved the job on
 * (lifecycle_wait.c): the engine's loop waits, then runs the step again.
 */
typedef enum lc_wait_kind {
    LC_WAIT_NONE = 0,
    LC_WAIT_TIME,          /* delay_s seconds (the next poll) */
    LC_WAIT_TOKEN,         /* a token event, delay_s seconds at the most */
} lc_wait_kind;

typedef struct lc_wait {
    lc_wait_kind kind;
    double       delay_s;
    char         state[256];   /* shown while waiting; "" shows nothing */
    const char  *stopped;      /* "... after <stopped>" when a stop cuts it short */
} lc_wait;

typedef struct lc_run {
    const lifecycle_settings *set;
    const lifecycle_reporter *rep;  /* never NULL (an empty one says nothing) */
    const lifecycle_opts *opts;
    store                *st;       /* the jobs' store, opened by lc_store_open */
    journal_job          *job;      /* locked */
    lifecycle_err        *err;

    /* waiting (lifecycle_wait.c): what the last step asked for, since when
     * the step in hand has been waiting, and its next poll interval */
    lc_wait               wait;
    double                wait_since;
    double                backoff_s;
    int                   polls;

    /* order side, opened when first needed */
    secret       *apikey;
    order_client *client;
    x509_chain   *chain;            /* the issued chain, verified */
    char          placed_status[ORDER_STR]; /* request status from submit/adopt */
    char          order_cert_serial[ORDER_STR]; /* the order's certificate, as this
                                                   run's last read of the order gave it */
    const cJSON  *request;          /* `order submit`: the request in hand, else NULL */
    int           submit_lock;      /* journal_submit_lock() fd while held, else -1 */

    /* device side, this process's session (the view's device state) */
    enum lifecycle_device_state dev;
    token_ctx    *tctx;
    token        *tok;
    secret       *pin;
    token_key    *key;
} lc_run;

/* Fill r->err (or err) and return its exit code. */
int lc_fail(lifecycle_err *err, int exit_code, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int lc_fail_order(lifecycle_err *err, const order_err *oe, const char *what);
int lc_fail_token(lifecycle_err *err, const token_err *te, const char *what);
int lc_fail_journal(lifecycle_err *err, const journal_err *je);

/* Commit the job; a failure is an error of the run. */
int  lc_commit(lc_run *r);
/* One progress line "[order N] ..." through the reporter. */
void lc_say(const lc_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A permanent line with its own prefix ("[token L serial S]"). */
void lc_say_as(const lc_run *r, const char *prefix, const char *line);
/* While waiting: the reporter shows the state (a status line on a terminal). */
void lc_wait_status(const lc_run *r, const char *state, double waited_s, double next_s);
/* A problem that does not stop the run, through the reporter. */
void lc_warn(const lc_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The run's reporter: rep, or one that says nothing. */
const lifecycle_reporter *lc_reporter(const lifecycle_reporter *rep);
/* An audit line for this job; failures to log are warned about, not fatal. */
void lc_audit(const lc_run *r, const char *action, const char *outcome, const char *error);
void lc_run_close(lc_run *r);
/* Open r->st from r->set (the state dir, or the database); closed by lc_run_close. */
int  lc_store_open(lc_run *r);
/* The same for a caller without an lc_run (status --refresh). */
int  lc_store_open_set(const lifecycle_settings *set, store **st, lifecycle_err *err);
/* Move the session's and the journal's device state (commit separately). */
void lc_set_device(lc_run *r, enum lifecycle_device_state s);

/*
 * SIGINT/SIGTERM (a Ctrl-C, or `watch` stopping its workers): the step in
 * hand is finished and committed, then the run stops with exit 1, so the
 * journal is always at a state a re-run resumes from.  The flag is the
 * engine's; lc_signals_* install and restore the handlers around a command.
 */
void lc_signals_install(void);
void lc_signals_restore(void);
/* Default dispositions while a person types a PIN: a Ctrl-C there ends the
 * command at once (nothing is in flight), as it would anywhere else. */
void lc_signals_pause(void);
void lc_signals_resume(void);
bool lc_stop_asked(void);
/* Fill r->err for a run stopped by a signal after `done` (exit 1). */
int  lc_stopped(lc_run *r, const char *done);
/* Sleep, cut short by a stop signal; false when a stop was asked. */
bool lc_sleep(double seconds);

/* lifecycle_wait.c: a step asks to be run again after a wait (return 0). */
int    lc_wait_time(lc_run *r, double delay_s, const char *stopped, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int    lc_wait_token(lc_run *r, double delay_s, const char *stopped, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* How long the step in hand has been waiting; its current poll interval. */
double lc_waited(const lc_run *r);
double lc_backoff(const lc_run *r);
/* The engine's loop: do the wait the last step asked for (0, or stopped). */
int    lc_wait_do(lc_run *r);

/* lifecycle_order.c */
int lc_client_open(lc_run *r);
int lc_act_poll(lc_run *r);
int lc_act_download(lc_run *r);
int lc_ensure_chain(lc_run *r);
/* The trust anchors of the settings can be loaded (exit 2 if not), before
 * anything is sent or a PIN tried. */
int lc_anchors_ready(const lifecycle_settings *set, lifecycle_err *err);
int lc_adopt_order(lc_run *r, long order_id);
x509_chain *lc_chain_load(store *st, const char *ref);

/* lifecycle_token.c */
int lc_act_wait_token(lc_run *r);

/* status: the bound token holds certificates, none of them the job's. */
#define LC_CERT_OTHER "another certificate, not this job's"
/* The alerts of one job (lifecycle_alerts.c); v's token and chain looked at. */
void lc_alerts_check(const journal_job *j, const lifecycle_alert_opts *ao,
                     lifecycle_job_status *v);
int lc_act_identity(lc_run *r);
int lc_act_bind(lc_run *r);
int lc_act_unlock(lc_run *r);
int lc_act_locate_key(lc_run *r);
int lc_act_install(lc_run *r);
int lc_act_read_back(lc_run *r);

/* The signature PIN's request from the settings (the user PIN's source
 * when none of its own is set: *own false). */
struct pin_login_req;
struct pin_login_result;
void lc_sign_pin_req(lc_run *r, struct pin_login_req *req, char *prompt, size_t len, bool *own);
/* Around a PIN read (pin_login_req.around_read, arg the lc_run): warns of an
 * earlier refusal, and a prompt is answered with the default signal dispositions. */
bool lc_pin_around_read(void *arg, bool before, const struct pin_login_result *res);

/* lifecycle_rekey.c */
int lc_act_generate_and_reissue(lc_run *r);

/* lifecycle_submit.c */
int lc_act_submit(lc_run *r, const cJSON *request);

/* lifecycle_reconcile.c */

/* What an order (listed or read) says that tells whether it may be a job's. */
typedef struct lc_order_facts {
    const char *product;          /* product.name_id; NULL or "": not given */
    long        organization_id;  /* 0: not given */
    time_t      date_created;     /* 0: not given or unparseable */
} lc_order_facts;

/*
 * The one rule: may this order be the one that the interrupted submit of
 * job j stored?  j must be in "submitting" without an order; a known
 * product or organisation other than the job's, or a creation date before
 * the job's POST (less LC_CLOCK_SKEW_S), rules it out.  What the order
 * does not say (or says unreadably) never does.
 */
bool lc_order_may_be_job(const journal_job *j, const lc_order_facts *f);
void lc_order_facts_of_info(const order_info *info, lc_order_facts *f);

typedef struct lc_candidate {
    long id;
    char date[ORDER_STR];         /* date_created as listed, "" when absent */
    bool date_known;              /* it parsed */
    char status[ORDER_STR];
    char common_name[256];
} lc_candidate;

typedef struct lc_candidates {
    lc_candidate *items;
    size_t        n;
    size_t        looked_at;      /* orders listed, every page */
} lc_candidates;

/* Every order of the list that may be r->job's (not owned by another job). */
int  lc_find_candidates(lc_run *r, lc_candidates *c);
void lc_candidates_free(lc_candidates *c);
int  lc_act_reconcile(lc_run *r);

#endif
