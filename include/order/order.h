/*
 * order: the CertCentral order client.
 *
 * Places PKIo Qualified eSeal orders, reads orders and requests, waits for
 * approval or issuance, downloads chains, reissues with a CSR.  Every
 * request is paced under CertCentral's documented rate limits (100 per 5 s,
 * 1000 per 3 min, per API key) and retried with backoff where that is safe:
 * GETs on 5xx, 429 and transport errors; POSTs only on 429 and on errors
 * that prove the request never left (connect, TLS).  A POST whose outcome is
 * unknown is reported as such and never sent again by this layer.
 *
 * Knows nothing of tokens or the journal.  Errors are order_err values.
 */
#ifndef QSCD_ORDER_H
#define QSCD_ORDER_H

#include "secret.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum order_code {
    ORDER_OK = 0,
    ORDER_ERR_INVALID,      /* local validation / bad option: nothing sent */
    ORDER_ERR_AUTH,         /* 401/403: API key rejected or lacks permission */
    ORDER_ERR_NOT_FOUND,    /* 404 */
    ORDER_ERR_RATE_LIMITED, /* 429 after every retry */
    ORDER_ERR_SERVER,       /* 5xx after every retry */
    ORDER_ERR_NETWORK,      /* resolve, connect, dropped connection */
    ORDER_ERR_TLS,
    ORDER_ERR_PROTOCOL,     /* malformed reply, unexpected status */
    ORDER_ERR_REJECTED,     /* order rejected or canceled */
    ORDER_ERR_TIMEOUT,      /* order_wait ran out of time (not ready yet) */
    ORDER_ERR_NOT_READY,    /* e.g. no certificate to download yet */
    ORDER_ERR_IO,
    ORDER_ERR_NOMEM,
    ORDER_ERR_CLIENT,       /* other 4xx: the request was refused */
    ORDER_ERR_INTERRUPTED,  /* stop asked during a pacing or retry wait: nothing in flight */
    ORDER_ERR_NO_KEY,       /* no API key to send: nothing sent */
} order_code;

typedef struct order_err {
    order_code code;
    bool       retryable;     /* trying again later may succeed */
    bool       outcome_unknown; /* a POST may or may not have been stored */
    int        http_status;   /* 0 when no HTTP reply */
    char       message[1024]; /* includes DigiCert's errors[] (code: message) */
} order_err;

const char *order_code_name(order_code code);

/* Status as received, plus what it means for the lifecycle. */
typedef enum order_status_class {
    ORDER_ST_UNKNOWN = 0,   /* a value we do not know: treated as in progress */
    ORDER_ST_PENDING,
    ORDER_ST_SUBMITTED,
    ORDER_ST_APPROVED,
    ORDER_ST_ISSUED,
    ORDER_ST_REJECTED,
    ORDER_ST_CANCELED,
    ORDER_ST_REVOKED,
    ORDER_ST_EXPIRED,
    ORDER_ST_NEEDS_APPROVAL,
    ORDER_ST_REISSUE_PENDING,
} order_status_class;

order_status_class order_status_classify(const char *status);
const char        *order_status_class_name(order_status_class c);

#define ORDER_STR 128

typedef struct order_placed {
    long order_id;
    long request_id;         /* 0 when the reply had none */
    char status[ORDER_STR];  /* of the request, as received */
    long certificate_id;     /* 0 until approved */
    long organization_id;    /* only for a newly created organisation */
} order_placed;

typedef struct order_certificate {
    long   id;               /* 0: none yet */
    char   serial_number[ORDER_STR];
    char   thumbprint[ORDER_STR];
    char   common_name[256];
    char   valid_from[ORDER_STR];
    char   valid_till[ORDER_STR];
    char   date_issued[ORDER_STR];
    long   days_remaining;
} order_certificate;

typedef struct order_request_item {
    long               id;
    char               type[ORDER_STR];
    char               status[ORDER_STR];
    order_status_class status_class;
    char               date[ORDER_STR];
} order_request_item;

typedef struct order_info {
    long               id;
    char               status[ORDER_STR];  /* as received ("" when absent) */
    order_status_class status_class;
    order_certificate  certificate;
    long               organization_id;
    char               product_name_id[ORDER_STR];
    char               date_created_str[ORDER_STR];
    time_t             date_created;       /* 0 when absent or unparseable */
    order_request_item *requests;
    size_t              n_requests;
} order_info;

void order_info_free(order_info *info);

typedef struct order_request_info {
    long               id;
    char               type[ORDER_STR];
    char               status[ORDER_STR];
    order_status_class status_class;
    char               date[ORDER_STR];
    long               order_id;
    long               certificate_id;
} order_request_info;

typedef struct order_summary {
    long               id;
    char               status[ORDER_STR];
    order_status_class status_class;
    long               certificate_id;
    char               common_name[256];
    char               product_name_id[ORDER_STR];
    long               organization_id;    /* 0 when the entry has none */
    char               date_created_str[ORDER_STR];
    time_t             date_created;       /* 0 when absent or unparseable */
} order_summary;

typedef struct order_list_query {
    const char *status;        /* filters[status], NULL: all */
    const char *date_created;  /* filters[date_created], "YYYY-MM-DD" or "FROM...TO"
                                  (either side may be empty); NULL: any */
} order_list_query;

/* One entry of the status-changes reply. */
typedef struct order_status_change {
    long               order_id;
    long               certificate_id;     /* 0 when the entry has none */
    char               status[ORDER_STR];  /* as received */
    order_status_class status_class;
} order_status_change;

/* CertCentral answers status changes for at most this window (7 days). */
#define ORDER_STATUS_CHANGES_MAX_S (7L * 24 * 3600)

/* What one page of the order list said about the paging. */
typedef struct order_list_page {
    long   total;    /* page.total; -1 when the reply has no page object */
    long   limit;    /* page.limit as the server applied it; -1 when absent */
    size_t entries;  /* entries in orders[], those without an id included */
} order_list_page;

/* --- response parsers (JSON text -> structs), order_parse.c -------------- */

int order_parse_placed(const char *body, size_t len, order_placed *out, order_err *err);
int order_parse_info(const char *body, size_t len, order_info *out, order_err *err);
int order_parse_request_info(const char *body, size_t len, order_request_info *out,
                             order_err *err);
/* One page of GET /order/certificate; appends to *out. */
int order_parse_list_page(const char *body, size_t len, order_summary **out, size_t *n,
                          order_list_page *page, order_err *err);
/*
 * Where the page after one read at `offset` (asking for `asked` entries)
 * starts, or -1 when that page was the last: it was empty, it reached
 * page.total, or (no page object) it was shorter than the limit.  A server
 * that serves fewer than asked is followed, never skipped over.
 */
long order_list_next_offset(long offset, long asked, const order_list_page *page);
/*
 * The status-changes reply, {"orders":[{order_id, certificate_id, status}]}
 * (order_status_changes.c): a pure function of the text.  Entries without
 * a usable order_id are skipped and counted in *skipped (may be NULL); no
 * "orders" array at all is ORDER_ERR_PROTOCOL.  Free *out with free().
 */
int order_parse_status_changes(const char *body, size_t len, order_status_change **out,
                               size_t *n, size_t *skipped, order_err *err);
/* DigiCert's errors[] as "code: message; code: message" ("" if none). */
void order_parse_errors(const char *body, size_t len, char *buf, size_t buflen);
/* "2024-01-15T10:20:30+00:00", "2024-01-15 10:20:30", "2024-01-15" -> UTC. */
time_t order_parse_time(const char *s);
/* Machine-readable views for --json output. */
cJSON *order_info_to_json(const order_info *info);
cJSON *order_placed_to_json(const order_placed *p);

/* --- pacing and backoff, order_pace.c ------------------------------------ */

typedef struct order_pace order_pace;

typedef struct order_pace_window {
    unsigned max_requests;
    double   seconds;
} order_pace_window;

/* CertCentral's: 100 per 5 s and 1000 per 3 min. */
#define ORDER_PACE_SHORT { 100, 5.0 }
#define ORDER_PACE_LONG  { 1000, 180.0 }

order_pace *order_pace_new(const order_pace_window *windows, size_t n_windows);
void        order_pace_free(order_pace *p);
/* Seconds to wait at time `now` before the next request is allowed (0: go). */
double      order_pace_delay(const order_pace *p, double now);
/* A request was sent at `now`. */
void        order_pace_record(order_pace *p, double now);
/* Delay and record in one step: 0 means the request may go now and has been
 * recorded; > 0 means ask again after that many seconds.  With a shared
 * ledger the check and the record are one step for every process. */
double      order_pace_reserve(order_pace *p, double now);
/* Share the send times with every process using the same ledger file
 * (order_pace_ledger.c); 0 on success. */
int         order_pace_share(order_pace *p, const char *path);

/*
 * The longest wait a Retry-After can ask for: a server (or something
 * posing as it) cannot park the agent for days; past an hour, the agent
 * looks again after an hour and says so.
 */
#define ORDER_RETRY_AFTER_MAX_S 3600.0

/*
 * Backoff before retry number `attempt` (1 = first retry): base * factor^
 * (attempt-1), capped, plus up to 25% jitter (jitter01 in [0,1)).
 * order_retry_delay: a Retry-After > 0 is used instead (plus up to 10%
 * jitter, never less, and never more than ORDER_RETRY_AFTER_MAX_S): the
 * server said when; 0 or absent (< 0): backoff.
 */
double order_backoff_delay(int attempt, double base, double factor, double cap,
                           double jitter01);
double order_retry_delay(int attempt, double retry_after, double base, double cap,
                         double jitter01);

double order_jitter(void);              /* uniform in [0,1) */

/* --- API key, order_apikey.c --------------------------------------------- */

/*
 * The X-DC-DEVKEY: from key_file (refused when group/world accessible) or,
 * without one, from $QSCD_API_KEY (scrubbed from the environment either way).
 */
secret *order_apikey_load(const char *key_file, order_err *err);

/* --- the client, order_client.c ------------------------------------------ */

typedef struct order_client order_client;

/* Only https:// URLs are accepted: the API key must not travel in clear text.
 * false with err saying so. */
bool order_api_url_check(const char *url, order_err *err);

/*
 * A pacing ledger kept by the caller (a fleet's shared database), used
 * instead of the state dir's file: load locks it and gives the ages in
 * seconds (>= 0, by the ledger's own clock, so that machines whose clocks
 * differ still agree) of the sends of `api` within horizon_s, at most cap;
 * done records one send now when `sent` and unlocks; release frees ctx with
 * the client.  load false: the ledger cannot be used, this process paces
 * alone (pacing is a courtesy to the API, never a reason to fail).
 */
typedef struct order_pace_hook {
    void  *ctx;
    bool (*load)(void *ctx, const char *api, double horizon_s, double *ages, size_t cap,
                 size_t *n);
    void (*done)(void *ctx, const char *api, bool sent);
    void (*release)(void *ctx);
} order_pace_hook;

/* Pace with the hook's ledger (copied; its ctx is released with the pacer). */
void order_pace_use_hook(order_pace *p, const order_pace_hook *hook, const char *api);

typedef struct order_client_opts {
    const char   *api_url;       /* https://.../services/v2 */
    const char   *ca_file;       /* extra trust anchors, or NULL */
    const secret *api_key;       /* borrowed; must outlive the client */
    int           verbose;
    const char   *user_agent;    /* NULL: "qscd-agent/VERSION" */
    int           max_retries;   /* for retryable failures; < 0: default 5 */
    double        timeout_s;     /* per HTTP request; 0: 60 */
    double        retry_base_s;  /* first retry backoff; 0: 1 s */
    double        retry_cap_s;   /* 0: 60 s */
    /* Where the pacing ledger shared by every agent on the machine lives
     * (the state dir); NULL: this process paces alone. */
    const char   *pace_dir;
    /* Polled while waiting to send (pacing) or to retry: true ends the
     * call with ORDER_ERR_INTERRUPTED.  Nothing is in flight then. */
    bool        (*stop_asked)(void);
    /* Called before sleeping for a retry (e.g. to tell the user). */
    void        (*on_retry)(void *ctx, const char *what, double delay_s);
    void         *on_retry_ctx;
} order_client_opts;

order_client *order_client_new(const order_client_opts *opts, order_err *err);
/* Pace with the hook's ledger instead of pace_dir's (a fleet's database); the
 * hook's ctx is the client's from here on, released with it. */
void          order_client_pace_with(order_client *c, const order_pace_hook *hook);
void          order_client_free(order_client *c);

/*
 * POST the order.  `request` is sent as given (unknown fields pass
 * through).  Never re-sent on a dropped connection or timeout: then err has
 * outcome_unknown set.
 */
int order_submit(order_client *c, const cJSON *request, order_placed *out, order_err *err);
int order_get(order_client *c, long order_id, order_info *out, order_err *err);
int order_get_request(order_client *c, long request_id, order_request_info *out,
                      order_err *err);
/*
 * Every page (limit 1000) of the order list, until the list ends: nothing
 * is left out on our side (the caller filters).  Free *out with free().
 */
int order_list(order_client *c, const order_list_query *q, order_summary **out, size_t *n,
               order_err *err);
/*
 * The orders whose status changed in the last `seconds` (1 up to
 * ORDER_STATUS_CHANGES_MAX_S; else ORDER_ERR_INVALID and nothing is sent):
 * one paced request.  Free *out with free().
 */
int order_status_changes(order_client *c, long seconds, order_status_change **out, size_t *n,
                         order_err *err);
/* The chain formats CertCentral serves: pem_all (with the root), pem_noroot. */
bool order_download_format_ok(const char *format);

/* certificate_id 0: the order's active certificate.  format: pem_all, pem_noroot. */
int order_download(order_client *c, long order_id, long certificate_id, const char *format,
                   char **pem, size_t *len, order_err *err);
int order_reissue(order_client *c, long order_id, const char *csr_pem, order_placed *out,
                  order_err *err);

/* --- waiting, order_wait.c ----------------------------------------------- */

typedef enum order_wait_target {
    ORDER_WAIT_APPROVED = 0, /* certificate id known (request approved) */
    ORDER_WAIT_ISSUED,       /* certificate issued and downloadable */
} order_wait_target;

typedef struct order_wait_opts {
    order_wait_target target;
    double timeout_s;        /* <= 0: wait forever */
    double poll_start_s;     /* 0: 2 s */
    double poll_cap_s;       /* 0: 60 s */
    double poll_factor;      /* 0: 1.5 */
} order_wait_opts;

/* After each poll: the order as seen, time waited, and the next delay. */
typedef void (*order_progress_fn)(void *ctx, const order_info *info, double elapsed_s,
                                  double next_poll_s);

/*
 * The one reading of an order's status, for `order wait`, the engine and
 * `watch` alike.
 */

/* True when info has reached target (never for a final order, see below). */
bool order_reached(const order_info *info, order_wait_target target);

/* The newest request of the order: the highest id (a reissue adds one),
 * whatever the order of the array; NULL when none. */
const order_request_item *order_latest_request(const order_info *info);

/* "pending (request submitted)": the order's status and its newest request's. */
void order_info_describe(const order_info *info, char *buf, size_t len);

/*
 * True when the order will not (again) give a certificate to install:
 * rejected, canceled, revoked or expired, or its latest request rejected or
 * canceled.  Unknown statuses are in progress, never final.  why (may be
 * NULL) gets a sentence naming the order and what became of it.
 */
bool order_status_is_final(const order_info *info, char *why, size_t len);

/*
 * Poll until the target is reached (0, out filled), the order is final
 * (order_status_is_final: ORDER_ERR_REJECTED), the time runs out
 * (ORDER_ERR_TIMEOUT, out holds the last state), or an API error persists
 * past the retries.
 */
int order_wait(order_client *c, long order_id, const order_wait_opts *opts,
               order_progress_fn cb, void *ctx, order_info *out, order_err *err);

/* --- shared by the order_*.c files --------------------------------------- */

void order_err_set(order_err *err, order_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
