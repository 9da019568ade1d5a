/*
 * http: a small libcurl wrapper for one HTTPS API.
 *
 * One easy handle per client, kept alive for connection reuse.  TLS
 * verification is always on; only https:// is spoken.  One header may carry
 * a secret (the API key): it is never written to any trace, and the copy
 * libcurl needs is wiped when the client is freed.  Knows nothing of
 * CertCentral: status codes and bodies are the caller's to interpret.
 */
#ifndef QSCD_HTTP_H
#define QSCD_HTTP_H

#include "secret.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum http_code {
    HTTP_OK = 0,
    HTTP_ERR_INVALID,   /* bad option (e.g. an http:// URL) */
    HTTP_ERR_NETWORK,   /* resolve, connect, connection dropped, bad reply */
    HTTP_ERR_TLS,       /* handshake or certificate verification failed */
    HTTP_ERR_TIMEOUT,
    HTTP_ERR_NOMEM,
} http_code;

typedef struct http_err {
    http_code code;
    /*
     * False when the request certainly never reached the server (name
     * resolution, connect or TLS handshake failed): safe to send again even
     * when it is not idempotent.
     */
    bool      maybe_sent;
    char      message[512];
} http_err;

typedef struct http_opts {
    const char   *ca_file;          /* extra trust anchors (PEM), or NULL */
    const char   *user_agent;
    const char   *secret_header;    /* e.g. "X-DC-DEVKEY", or NULL */
    const secret *secret_value;
    int           verbose;          /* 1: header traces, 2: also bodies */
    long          connect_timeout_s; /* 0: 10 s */
    long          timeout_s;         /* 0: 60 s */
    /* Called for verbose traces (already redacted); NULL: stderr. */
    void        (*trace)(void *ctx, const char *line);
    void         *trace_ctx;
} http_opts;

typedef struct http_response {
    long   status;
    char  *body;          /* NUL-terminated, may be empty */
    size_t len;
    double retry_after;   /* seconds from a Retry-After header; < 0 when absent */
    char   content_type[128];
} http_response;

typedef struct http_client http_client;

/* True when url starts with "https://" (case-insensitive scheme). */
bool http_url_is_https(const char *url);

http_client *http_client_new(const http_opts *opts, http_err *err);
void         http_client_free(http_client *c);

/*
 * One request.  method is "GET" or "POST" (body as JSON, may be NULL for
 * GET).  A non-idempotent request (POST) is always sent on a fresh
 * connection: libcurl silently re-sends a request whose reused connection
 * turned out dead, which for an order would place a second one.
 * Returns 0 with out filled in for any HTTP status, else an http_code.
 */
int  http_request(http_client *c, const char *method, const char *url,
                  const char *body, size_t body_len, http_response *out, http_err *err);
void http_response_free(http_response *r);

/* libcurl is loaded (dlopen) with the first client, not linked, so that
 * commands without HTTP do not pay for loading it.  At exit: its global
 * cleanup, when it was loaded. */
void http_library_release(void);

/* URL-escape a query value. Caller frees with free(). */
char *http_escape(http_client *c, const char *s);

/*
 * Verbose output of a JSON body with payment card data removed: every
 * member named "credit_card" (at any depth) becomes "[redacted]".
 * Returns a malloc'd string, or NULL if body is not JSON.
 */
char *http_redact_json(const char *body, size_t len);

#endif
