/*
 * The lifecycle engine: the one part that knows both the order and the
 * token.  It loads (and locks) a job from the journal, builds the view,
 * asks lifecycle_next() what is due, performs that action with the order
 * client or the token layer, and commits the new states before it looks
 * again.  Every action is idempotent, so a command killed at any point
 * resumes from the journal when it is run again.
 *
 * Results are exit codes (exit_codes.h) with a lifecycle_err saying what
 * happened in words a person can act on.  Progress goes to stderr, one line
 * per step; the commands print their results.
 */
#ifndef QSCD_LIFECYCLE_ENGINE_H
#define QSCD_LIFECYCLE_ENGINE_H

#include "cli.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

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
    bool        confirm_resubmit;  /* send again when an interrupted submit left no order */
    bool        new_order;         /* submit: a new order even when the request was placed */
    const char *key_id_hex;        /* --key-id: the key to use */
    unsigned    relax;             /* x509_relax bits */
    double      poll_start_s;      /* 0: order layer defaults */
    double      poll_cap_s;
    double      retry_base_s;
    double      timeout_s;         /* --wait limit; <= 0 forever */
} lifecycle_opts;

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
int lifecycle_submit(const cli_config *cfg, const cJSON *request, const lifecycle_opts *opts,
                     lifecycle_placed *out, lifecycle_err *err);

/*
 * `provision ORDER_ID`: resume the job for the order (creating one that
 * adopts the order when there is none) and run every step that is due.
 * Returns QSCD_EXIT_OK when the token holds the verified certificate.
 */
int lifecycle_provision(const cli_config *cfg, const char *order_id,
                        const lifecycle_opts *opts, lifecycle_err *err);

/* `status [ORDER_ID]`: prints one line (or JSON) per job; 0 when all ready. */
int lifecycle_status(const cli_config *cfg, const char *order_id, lifecycle_err *err);

/* `status --history [ORDER_ID]`: the audit log, readably. */
int lifecycle_history(const cli_config *cfg, const char *order_id, lifecycle_err *err);

#endif
