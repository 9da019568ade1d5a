/*
 * qscd-sim: a CertCentral Services API simulator for tests and dry runs.
 *
 * Parts: sim_main.c (options, startup, port file, signals), sim_http.c
 * (libmicrohttpd glue, routing, faults, stats), sim_ca.c (test CAs and
 * certificate issuance), sim_orders.c + sim_orders_api.c (order store and
 * the API handlers), sim_api.c (API routing, read-only endpoints),
 * sim_admin.c (/_sim).  One mutex in sim_server guards
 * everything mutable; handlers run with it held.
 */
#ifndef QSCD_SIM_H
#define QSCD_SIM_H

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct MHD_Connection;

#define SIM_API_PREFIX "/services/v2"

/* --- test CAs (sim_ca.c) ------------------------------------------------- */

typedef struct sim_ca {
    EVP_PKEY *tls_root_key;
    X509     *tls_root;
    char     *tls_cert_pem;   /* server certificate, for MHD */
    char     *tls_key_pem;
    EVP_PKEY *root_key;       /* "Test PKIo Root G1" */
    X509     *root;
    EVP_PKEY *int_key;        /* "Test PKIo eSeal CA G1" */
    X509     *inter;
} sim_ca;

/* Who a leaf certificate is for: the legal person of the order. */
typedef struct sim_subject {
    const char *country;       /* "NL" */
    const char *org_name;
    const char *org_ident;     /* "NTRNL-12345678" */
    const char *common_name;
} sim_subject;

int  sim_ca_init(sim_ca *ca, const char *dir, char *err, size_t errlen);
void sim_ca_free(sim_ca *ca);
/* A qualified-eSeal-like leaf for `key`, valid from not_before to not_after. */
X509 *sim_ca_issue(const sim_ca *ca, EVP_PKEY *key, const sim_subject *subj,
                   time_t not_before, time_t not_after);
/* PEM of leaf + intermediate (+ root when with_root).  Caller frees. */
char *sim_ca_bundle_pem(const sim_ca *ca, X509 *leaf, bool with_root, size_t *len);

/* --- store (sim_orders.c) ------------------------------------------------ */

typedef struct sim_org {
    long id;
    char name[256];
    char ident[64];     /* organizationIdentifier */
    char country[3];
} sim_org;

typedef struct sim_request {
    long     id;
    long     order_id;
    bool     reissue;
    char     status[16];    /* pending, submitted, approved, rejected */
    time_t   created;
    int      polls;
    long     cert_id;       /* set on approval */
    EVP_PKEY *csr_key;      /* reissue: the CSR's key */
} sim_request;

typedef struct sim_cert {
    long   id;
    long   order_id;
    X509  *x509;
    time_t issued;
} sim_cert;

typedef struct sim_order {
    long     id;
    long     org_id;
    char     common_name[256];
    time_t   created;
    long     validity_days;   /* from order_validity */
    time_t   custom_expiry;   /* 0: none */
    bool     doomed;          /* created while reject_orders was armed */
    EVP_PKEY *shipped_key;    /* from /_sim/ship */
    long     cert_id;         /* active certificate id, 0 until approved */
    long     last_request_id;
    char     status_override[64]; /* /_sim/status: reported as the order status */
    char     date_override[64];   /* /_sim/orders: reported as date_created */
    char     seen_status[64];     /* the status last seen by sim_orders_track */
    time_t   status_changed;      /* when it became that status (status-changes) */
} sim_order;

typedef struct sim_faults {
    bool reject_orders;
    int  n429;
    int  retry_after;          /* < 0: no Retry-After header */
    int  n5xx;
    int  code5xx;
    int  drop_after_store;
    int  drop_after_reissue;   /* reissue POSTs: stored, then no reply */
    int  redirect_after_store; /* order POSTs: stored, then a 302 instead of the 201 */
    int  delay_ms;
    int  delay_count;
    int  malformed;
    int  truncated;
    int  truncated_pem;        /* PEM downloads cut short */
    int  n403;                 /* a key whose role may not do this */
    int  list_limit_max;       /* > 0: the list serves at most this many per page */
    bool list_bare;            /* list entries without organization, no page object */
} sim_faults;

typedef struct sim_options {
    const char *listen;
    int         port;
    const char *port_file;
    const char *dir;
    const char *api_key_file;
    int         approve_after_polls;
    int         approve_after_seconds;   /* < 0: count polls instead */
    bool        issue_days_set;
    long        issue_days;
    int         latency_ms;              /* --latency: added to every API request */
} sim_options;

/* Growable arrays of the store. */
#define SIM_VEC(type) struct { type *v; size_t n, cap; }

typedef struct sim_server {
    pthread_mutex_t lock;
    sim_options     opt;
    sim_ca          ca;
    char           *api_key;      /* wiped and freed at exit */
    size_t          api_key_len;

    SIM_VEC(sim_org)     orgs;
    SIM_VEC(sim_order)   orders;
    SIM_VEC(sim_request) requests;
    SIM_VEC(sim_cert)    certs;
    long next_order, next_request, next_cert, next_org;
    long orders_created;

    sim_faults faults;
    cJSON     *stats_requests;    /* {"METHOD /path/{id}": count} */
    cJSON     *stats_log;         /* [{t, method, path, status}] */
} sim_server;

int  sim_store_init(sim_server *s);
void sim_store_clear(sim_server *s);     /* forget everything, keep the CA */

sim_org     *sim_find_org(sim_server *s, long id);
sim_order   *sim_find_order(sim_server *s, long id);
sim_request *sim_find_request(sim_server *s, long id);
sim_cert    *sim_find_cert(sim_server *s, long id);
sim_org     *sim_add_org(sim_server *s, const char *name, const char *ident, const char *country);
sim_order   *sim_add_order(sim_server *s);
sim_request *sim_add_request(sim_server *s, sim_order *o, bool reissue);

/* A poll of the order (its latest request) or of one request. */
void sim_request_poll(sim_server *s, sim_request *r);
/* Time-based advancement and issuance, for every read of an order. */
void sim_order_settle(sim_server *s, sim_order *o);
/* Approve now (admin); issues if the key is known. */
void sim_request_approve(sim_server *s, sim_request *r, bool force);
const char *sim_order_status(sim_server *s, sim_order *o);

/* Note every order whose status differs from the one last seen, with the
 * time it changed (sim_changes.c); run after every call. */
void sim_orders_track(sim_server *s);

cJSON *sim_order_json(sim_server *s, sim_order *o, bool brief);
cJSON *sim_request_json(sim_server *s, sim_request *r);
void   sim_iso_time(time_t t, char *out, size_t n);

/* --- HTTP (sim_http.c) ---------------------------------------------------- */

/* One API or admin call as the handlers see it. */
typedef struct sim_call {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;          /* below /services/v2 for API calls */
    char      **seg;           /* path segments */
    size_t      nseg;
    const char *body;
    size_t      body_len;
} sim_call;

typedef struct sim_reply {
    unsigned status;
    char    *body;             /* malloc'd */
    size_t   len;
    const char *content_type;
    int      retry_after;      /* < 0: none */
    bool     drop;             /* close the connection without a reply */
} sim_reply;

const char *sim_call_query(const sim_call *c, const char *name);
const char *sim_call_header(const sim_call *c, const char *name);
/* Parse the body as JSON; on failure fills r with a 400 and returns NULL. */
cJSON *sim_call_json(const sim_call *c, sim_reply *r);

void sim_reply_json(sim_reply *r, unsigned status, cJSON *body);   /* takes body */
void sim_reply_error(sim_reply *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Several errors in DigiCert's shape; `errors` is a cJSON array (taken). */
void sim_reply_errors(sim_reply *r, unsigned status, cJSON *errors);
void sim_error_add(cJSON *errors, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct MHD_Daemon *sim_http_start(sim_server *s, char *err, size_t errlen);

/* Handlers, run with s->lock held. */
void sim_api_route(sim_server *s, const sim_call *c, sim_reply *r);
void sim_admin_route(sim_server *s, const sim_call *c, sim_reply *r);

/* sim_orders_api.c */
void sim_api_order_create(sim_server *s, const sim_call *c, sim_reply *r);
void sim_api_order_reissue(sim_server *s, const sim_call *c, sim_reply *r, long order_id);
void sim_api_order_list(sim_server *s, const sim_call *c, sim_reply *r);
void sim_api_download(sim_server *s, sim_reply *r, long cert_id, long order_id, const char *fmt);
/* sim_changes.c: GET /order/certificate/status-changes */
void sim_api_status_changes(sim_server *s, const sim_call *c, sim_reply *r);

#endif
