/*
 * The lifecycle engine: the one part that knows both the order and the
 * token.  It loads (and locks) a job from the journal, builds the view,
 * asks lifecycle_next() what is due, performs that action with the order
 * client or the token layer, and commits the new states before it looks
 * again.  Every action is idempotent, so a command killed at any point
 * resumes from the journal when it is run again.
 *
 * Results are exit codes (exit_codes.h) with a lifecycle_err saying what
 * happened in words a person can act on.  The engine never prints: it takes
 * its settings as a lifecycle_settings (not the CLI's configuration) and
 * says what it does through a lifecycle_reporter that each front end (the
 * CLI, watch's workers) implements; results come back as facts (the job,
 * the status of each job, the audit log) for the front end to show.
 */
#ifndef QSCD_LIFECYCLE_ENGINE_H
#define QSCD_LIFECYCLE_ENGINE_H

#include "audit.h"
#include "journal.h"
#include "order.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

/*
 * Where the engine finds everything.  Strings are borrowed from the caller
 * for the length of a call.  No secret is here, only where to find it.
 */
typedef struct lifecycle_settings {
    const char *state_dir;     /* journal, audit log, pacing ledger; required unless state_db */
    const char *state_db;      /* postgresql:// URI of a fleet's shared store (src/store),
                                  used instead of state_dir; NULL: none */
    const char *api_url;       /* CertCentral's services/v2 base (https only) */
    const char *api_key_file;  /* NULL: QSCD_API_KEY from the environment */
    const char *ca_file;       /* trust anchors for the API's TLS; NULL: system */
    const char *trust_anchors; /* roots the issued chain must lead to; required
                                  to install (provision refuses without) */
    const char *module;        /* one PKCS#11 module; NULL: p11-kit's registered ones */
    const char *token_uri;     /* RFC 7512 URI of the token to use, or NULL */
    const char *pin_source;    /* pin_source.h spec; NULL: prompt */
    const char *module_preference; /* token_ctx_prefer patterns; NULL: the default rule */
    const char *sign_pin_source;   /* for context-specific logins; NULL: pin_source */
    int         verbose;       /* also say each step before it runs */
} lifecycle_settings;

/*
 * How the engine says what it does.  Every callback may be NULL (nothing is
 * shown).  prefix names what a line is about: "[order 7]",
 * "[token QSCD-01 serial 1234]".
 */
typedef struct lifecycle_reporter {
    void *ctx;
    /* A permanent line for a person. */
    void (*line)(void *ctx, const char *prefix, const char *text);
    /* Waiting: the state, how long so far, the next look in next_s seconds
     * (< 0: waiting for an event, such as a token being plugged in). */
    void (*waiting)(void *ctx, const char *prefix, const char *state, double waited_s,
                    double next_s);
    /* The wait (or the step) is over: a status line can go. */
    void (*resumed)(void *ctx);
    /* Something went wrong that does not stop the run (the audit log). */
    void (*warning)(void *ctx, const char *text);
} lifecycle_reporter;

typedef struct lifecycle_err {
    int  exit_code;       /* QSCD_EXIT_*; 0 when nothing went wrong */
    bool retryable;       /* running the command again later may succeed */
    bool needs_user;      /* a person must act first (plug in, PIN, confirm) */
    char code[48];        /* short name kept in the journal, e.g. "token_absent" */
    char message[1536];
} lifecycle_err;

typedef struct lifecycle_opts {
    bool        wait;              /* poll the order and wait for the token */
    bool        generate_key;      /* blank token: new key + reissue */
    bool        allow_final_try;   /* log in even when one PIN try is left */
    bool        retry_pin;         /* send a non-interactive PIN refused before once more */
    bool        confirm_resubmit;  /* send again when an interrupted submit left no order */
    bool        new_order;         /* submit: a new order even when the request was placed */
    bool        no_test_signature; /* skip the signature made and verified after install */
    const char *key_id_hex;        /* --key-id: the key to use */
    unsigned    relax;             /* x509_relax bits */
    double      poll_start_s;      /* 0: order layer defaults */
    double      poll_cap_s;
    double      retry_base_s;
    double      timeout_s;         /* --wait limit; <= 0 forever */
} lifecycle_opts;

/*
 * The order client for these settings, built in one place.  tune holds
 * what differs between callers (retries, timeouts, the stop and retry
 * callbacks; may be NULL); the API URL (https only), CA file, verbosity and
 * the state dir's shared pacing ledger come from set.  The API key is
 * loaded into *key when it is NULL (from the key file, else QSCD_API_KEY);
 * the caller frees it after the client.  NULL with err set when the URL is
 * not https, there is no usable key, or the client cannot be made.
 */
order_client *lifecycle_client_new(const lifecycle_settings *set, const order_client_opts *tune,
                                   secret **key, order_err *err);

/*
 * The store these settings name (state_db, else state_dir), for front ends
 * that read or record beside the engine (watch, the token commands).
 */
journal_code lifecycle_store_open(const lifecycle_settings *set, store **out, journal_err *err);

/* What `order submit` reports. */
typedef struct lifecycle_placed {
    char job_ref[32];
    long order_id;
    long request_id;
    char status[128];
    bool adopted;         /* found at CertCentral after an interrupted submit */
    bool existing;        /* placed before by job_ref: nothing was sent */
    time_t placed_at;     /* existing: when its job sent it */
} lifecycle_placed;

/*
 * `order submit`: reconcile any interrupted submit of the same request
 * first (adopting the order it stored); a request whose job already placed
 * an order is reported (out->existing) and nothing is sent, unless
 * opts->new_order; else create the job, commit "submitting", POST, and
 * commit "pending" with the ids.  The lookup and the commit of
 * "submitting" happen under the state dir's submit lock, so concurrent
 * submits of one request place one order.  When the POST's outcome is
 * unknown the job stays in "submitting" and the error says how to resume.
 * Reconciliation that finds no candidate fails with code
 * "submit_unconfirmed", several it cannot tell apart "submit_ambiguous".
 * The request must already be validated.
 */
int lifecycle_submit(const lifecycle_settings *set, const lifecycle_reporter *rep,
                     const cJSON *request, const lifecycle_opts *opts, lifecycle_placed *out,
                     lifecycle_err *err);

/*
 * `provision ORDER_ID`: resume the job for the order (creating one that
 * adopts the order when there is none) and run every step that is due.
 * Returns QSCD_EXIT_OK when the token holds the verified certificate.
 * *job_out (may be NULL) receives the job as the run left it, for the
 * caller to show and free with journal_job_free; NULL when there is none.
 */
int lifecycle_provision(const lifecycle_settings *set, const lifecycle_reporter *rep,
                        const char *order_id, const lifecycle_opts *opts,
                        journal_job **job_out, lifecycle_err *err);

/* Something about a job a person must look at (lifecycle_alerts.c). */
typedef enum lifecycle_alert_kind {
    LC_ALERT_EXPIRING = 0,    /* the certificate expires within the threshold */
    LC_ALERT_EXPIRED,         /* the certificate has expired */
    LC_ALERT_STUCK,           /* no change for too long at a step waiting for a person */
    LC_ALERT_ORDER_FINAL,     /* the order was rejected, canceled or revoked */
    LC_ALERT_OTHER_CERT,      /* the job's token now holds another certificate */
    LC_ALERT_KIND_COUNT
} lifecycle_alert_kind;

#define LC_MAX_ALERTS 4

typedef struct lifecycle_alert {
    lifecycle_alert_kind kind;
    const char *step;         /* STUCK: the step waited at ("approval", ...); else NULL */
    char        text[256];    /* for people */
} lifecycle_alert;

/* The name of an alert kind in --json and metrics: "expiring", "stuck", ... */
const char *lifecycle_alert_kind_name(lifecycle_alert_kind k);

/* Thresholds of the alerts; 0 / negative fields take the defaults. */
typedef struct lifecycle_alert_opts {
    long   expiry_warn_days;  /* default LC_EXPIRY_WARN_DAYS */
    long   stuck_after_days;  /* default LC_STUCK_AFTER_DAYS; set stuck_now for 0 */
    bool   stuck_now;         /* any wait for a person counts (stuck-after 0) */
    time_t now;               /* 0: the clock */
} lifecycle_alert_opts;

#define LC_EXPIRY_WARN_DAYS 60
#define LC_STUCK_AFTER_DAYS 7

/* What `status` found for one job: the journal, checked against what can
 * be seen without a PIN.  The strings are static. */
typedef struct lifecycle_job_status {
    const journal_job *job;   /* owned by the list's listing */
    const char *token;        /* "present", "absent", "unknown ...", "none bound" */
    const char *pin;          /* the token's PIN state, or "-" */
    const char *cert;         /* "installed and matching", "not on the token", ... */
    long        days_left;    /* to the certificate's expiry, when have_days */
    bool        have_days;
    bool        ready;
    bool        counts;       /* takes part in "every job is ready" */
    const char *next;         /* what comes next, for people */
    /* readiness issue: CertCentral's view, and what needs attention */
    time_t      not_after;        /* the certificate's expiry, when have_days */
    bool        open;             /* an order that can still change (refreshed) */
    time_t      remote_checked;   /* remote state current as of then; 0 never */
    time_t      state_since;      /* the last state change (either side) */
    const char *waiting_for;      /* the step waiting for a person, or NULL */
    bool        stuck;
    lifecycle_alert alerts[LC_MAX_ALERTS];
    size_t      n_alerts;
} lifecycle_job_status;

typedef struct lifecycle_status_list {
    journal_listing       listing;   /* the jobs, and files that could not be read */
    lifecycle_job_status *items;     /* one per listing.jobs[i] */
    size_t                n;
    time_t                refreshed;     /* the last `status --refresh`; 0 never */
    time_t                oldest_remote; /* oldest remote state of an open job; 0 when
                                            one was never refreshed or none is open */
    size_t                n_open;
    size_t                n_alerts;      /* over every job */
} lifecycle_status_list;

/*
 * `status [ORDER_ID]`: every job (or the order's).  Returns QSCD_EXIT_OK
 * when every job that counts is ready and every job file could be read,
 * QSCD_EXIT_NOT_READY otherwise, or an error.  Free *out with
 * lifecycle_status_list_free in every case.
 */
int  lifecycle_status(const lifecycle_settings *set, const char *order_id,
                      lifecycle_status_list *out, lifecycle_err *err);
/*
 * The same with these alert thresholds (NULL: the defaults).  Both return
 * QSCD_EXIT_ATTENTION, before QSCD_EXIT_NOT_READY, when a job has an alert.
 */
int  lifecycle_status_alerts(const lifecycle_settings *set, const char *order_id,
                             const lifecycle_alert_opts *ao, lifecycle_status_list *out,
                             lifecycle_err *err);
void lifecycle_status_list_free(lifecycle_status_list *l);
/* The same over the jobs desk holds or last held (store_list_desk); ao may be NULL. */
int  lifecycle_status_desk(const lifecycle_settings *set, const char *desk,
                           const lifecycle_alert_opts *ao, lifecycle_status_list *out,
                           lifecycle_err *err);

/* What `status --refresh` did. */
typedef struct lifecycle_refresh_result {
    time_t   at;               /* the refresh time: remote state as of then */
    size_t   open_jobs;        /* jobs with an order that can still change */
    size_t   answered;         /* of those, now current as of `at` */
    size_t   written;          /* job files written: their remote state changed */
    size_t   busy;             /* worked on by another qscd-agent: next time */
    size_t   unanswered;       /* CertCentral did not know the order, or not written */
    unsigned lookups_changes;  /* status-changes requests */
    unsigned lookups_list;     /* order list reads (1000 orders a page) */
    unsigned lookups_get;      /* per-order GETs */
    long     window_s;         /* the status-changes window asked for; 0: none */
    char     problem[640];     /* a write that failed, for a warning; "" none */
} lifecycle_refresh_result;

/*
 * `status --refresh`: CertCentral's status of every open job in as few
 * requests as it allows (lifecycle_refresh.c), stored in each job whose
 * remote state changed and in the state dir's refresh record.  Returns
 * QSCD_EXIT_OK, QSCD_EXIT_NOT_READY when some job could not be brought up
 * to date (busy, unknown to CertCentral), or an error (nothing recorded).
 */
int lifecycle_refresh(const lifecycle_settings *set, lifecycle_refresh_result *out,
                      lifecycle_err *err);

/* `status --history [ORDER_ID]`: the audit log; free with audit_log_free. */
int lifecycle_history(const lifecycle_settings *set, const char *order_id, audit_log *out,
                      lifecycle_err *err);

#endif
