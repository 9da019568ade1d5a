/*
 * The CertCentral order client: paths, pacing, retries, error mapping.
 * See include/order.h for what is retried and what never is.
 */
#include "order.h"
#include "order_client_int.h"
#include "state_layout.h"
#include "monotonic.h"
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef QSCD_VERSION
#define QSCD_VERSION "0"
#endif

#define ORDER_PATH_PLACE "/order/certificate/pkio_qualified_organisation_services"
#define ORDER_LIST_LIMIT 1000
#define ORDER_LIST_MAX_PAGES 100000

struct order_client {
    http_client *http;
    order_pace  *pace;
    char        *base_url;
    int          max_retries;
    double       retry_base, retry_cap;
    bool       (*stop_asked)(void);
    void       (*on_retry)(void *ctx, const char *what, double delay_s);
    void        *on_retry_ctx;
};

/* One API call: what to send and how to speak of it in messages. */
struct call {
    const char *method;
    const char *path;
    const char *body;
    size_t      body_len;
    bool        idempotent;
    char        what[96];   /* "order 123", "the order" ... */
};

static int map_http_err(const http_err *h, order_err *err)
{
    static const order_code codes[] = {
        [HTTP_OK] = ORDER_OK, [HTTP_ERR_INVALID] = ORDER_ERR_INVALID,
        [HTTP_ERR_NETWORK] = ORDER_ERR_NETWORK, [HTTP_ERR_TLS] = ORDER_ERR_TLS,
        [HTTP_ERR_TIMEOUT] = ORDER_ERR_NETWORK, [HTTP_ERR_NOMEM] = ORDER_ERR_NOMEM,
    };

    order_err_set(err, codes[h->code], "%s", h->message);
    err->retryable = h->code == HTTP_ERR_NETWORK || h->code == HTTP_ERR_TIMEOUT;
    return err->code;
}

/* One ledger per API URL: CertCentral counts per key, and the agents of a
 * machine share the organisation's key.  The name is the URL made safe,
 * so an operator can tell which ledger is which. */
static int share_pace(order_client *c, const char *dir)
{
    char name[160], *path = NULL;
    size_t n = 0;
    int rc;

    for (const char *u = c->base_url; *u != '\0' && n < sizeof(name) - 1; u++)
        name[n++] = isalnum((unsigned char)*u) || *u == '.' || *u == '-' ? *u : '_';
    name[n] = '\0';
    if ((path = state_pace_file(dir, name)) == NULL)
        return -1;
    rc = order_pace_share(c->pace, path);
    free(path);
    return rc;
}

#ifdef QSCD_TEST_HOOKS
/* Test builds only: QSCD_TEST_PACE_SHORT=N/S narrows the short window so
 * that the pacing between processes shows within seconds. */
static void pace_test_windows(order_client *c)
{
    const char *v = getenv("QSCD_TEST_PACE_SHORT");
    order_pace_window w[2] = { ORDER_PACE_SHORT, ORDER_PACE_LONG };
    order_pace *p;

    if (v == NULL || sscanf(v, "%u/%lf", &w[0].max_requests, &w[0].seconds) != 2)
        return;
    p = order_pace_new(w, 2);
    if (p != NULL) {
        order_pace_free(c->pace);
        c->pace = p;
    }
}
#else
static void pace_test_windows(order_client *c)
{
    (void)c;
}
#endif

bool order_api_url_check(const char *url, order_err *err)
{
    if (url != NULL && http_url_is_https(url))
        return true;
    order_err_set(err, ORDER_ERR_INVALID, "API URL %s: only https:// URLs are accepted "
                  "(the API key must not travel in clear text)", url ? url : "(none)");
    return false;
}

order_client *order_client_new(const order_client_opts *opts, order_err *err)
{
    http_opts h = { 0 };
    http_err herr = { 0 };
    order_client *c;
    size_t n;

    if (!order_api_url_check(opts ? opts->api_url : NULL, err))
        return NULL;
    if (opts->api_key == NULL || opts->api_key->len == 0) {
        order_err_set(err, ORDER_ERR_INVALID, "no CertCentral API key given");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->base_url = strdup(opts->api_url)) == NULL)
        goto nomem;
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    c->max_retries = opts->max_retries >= 0 ? opts->max_retries : 5;
    c->retry_base = opts->retry_base_s > 0 ? opts->retry_base_s : 1.0;
    c->retry_cap = opts->retry_cap_s > 0 ? opts->retry_cap_s : 60.0;
    c->on_retry = opts->on_retry;
    c->stop_asked = opts->stop_asked;
    c->on_retry_ctx = opts->on_retry_ctx;
    c->pace = order_pace_new((const order_pace_window[]){ ORDER_PACE_SHORT, ORDER_PACE_LONG }, 2);
    if (c->pace == NULL)
        goto nomem;
    pace_test_windows(c);
    if (opts->pace_dir != NULL && *opts->pace_dir != '\0' && share_pace(c, opts->pace_dir) != 0)
        goto nomem;
    h.ca_file = opts->ca_file;
    h.user_agent = opts->user_agent ? opts->user_agent : "qscd-agent/" QSCD_VERSION;
    h.secret_header = "X-DC-DEVKEY";
    h.secret_value = opts->api_key;
    h.verbose = opts->verbose;
    /* Whole seconds here: round up, so that 0.3 never becomes "no timeout". */
    h.timeout_s = 60;
    if (opts->timeout_s > 0 && opts->timeout_s < 86400) {
        h.timeout_s = (long)opts->timeout_s;
        if ((double)h.timeout_s < opts->timeout_s)
            h.timeout_s++;
    }
    h.connect_timeout_s = 10;
    c->http = http_client_new(&h, &herr);
    if (c->http == NULL) {
        map_http_err(&herr, err);
        order_client_free(c);
        return NULL;
    }
    return c;
nomem:
    order_client_free(c);
    order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
    return NULL;
}

void order_client_pace_with(order_client *c, const order_pace_hook *hook)
{
    if (c == NULL) {
        if (hook != NULL && hook->release != NULL)
            hook->release(hook->ctx);
        return;
    }
    order_pace_use_hook(c->pace, hook, c->base_url);
}

void order_client_free(order_client *c)
{
    if (c == NULL)
        return;
    http_client_free(c->http);
    order_pace_free(c->pace);
    free(c->base_url);
    free(c);
}

/* A final HTTP status -> order_err, with DigiCert's errors[] in the message. */
static int map_status(const struct call *q, const http_response *r, order_err *err)
{
    char dc[640];
    const char *sep;

    order_parse_errors(r->body, r->len, dc, sizeof(dc));
    sep = dc[0] ? ": " : "";
    if (r->status == 401 || r->status == 403) {
        order_err_set(err, ORDER_ERR_AUTH,
                      "API key rejected by CertCentral (HTTP %ld%s%s)", r->status, sep, dc);
    } else if (r->status == 404) {
        order_err_set(err, ORDER_ERR_NOT_FOUND, "%s not found (HTTP 404%s%s)", q->what, sep, dc);
    } else if (r->status == 429) {
        order_err_set(err, ORDER_ERR_RATE_LIMITED,
                      "CertCentral's rate limit is still exceeded for this API key after "
                      "retrying (HTTP 429%s%s); try again in a few minutes", sep, dc);
        err->retryable = true;
    } else if (r->status >= 500) {
        order_err_set(err, ORDER_ERR_SERVER, "CertCentral failed on %s (HTTP %ld%s%s)",
                      q->what, r->status, sep, dc);
        err->retryable = true;
    } else if (r->status >= 400) {
        order_err_set(err, ORDER_ERR_CLIENT, "CertCentral refused %s (HTTP %ld%s%s)",
                      q->what, r->status, sep, dc);
    } else {
        order_err_set(err, ORDER_ERR_PROTOCOL, "unexpected HTTP %ld from CertCentral for %s",
                      r->status, q->what);
    }
    err->http_status = (int)r->status;
    return err->code;
}

/* A POST that may have been stored: say so, and how to find out. */
static void mark_outcome_unknown(const struct call *q, order_err *err)
{
    char detail[sizeof(err->message)];

    memcpy(detail, err->message, sizeof(detail));
    err->outcome_unknown = true;
    err->retryable = false;
    snprintf(err->message, sizeof(err->message),
             "outcome unknown: %s was sent but no complete reply came back (%.500s). "
             "CertCentral may have stored it; it was NOT sent again. Check the order list "
             "(CertCentral or `qscd-agent order status`) before submitting again",
             q->what, detail);
}

static bool should_retry(const struct call *q, int hrc, const http_err *herr,
                         const http_response *r)
{
    if (hrc != HTTP_OK) {
        if (hrc == HTTP_ERR_INVALID || hrc == HTTP_ERR_NOMEM)
            return false;
        /* A TLS verification failure will not heal by itself. */
        if (hrc == HTTP_ERR_TLS && !herr->maybe_sent)
            return false;
        return q->idempotent || !herr->maybe_sent;
    }
    /* 429 means the request was not processed: safe for a POST too. */
    if (r->status == 429)
        return true;
    return q->idempotent && r->status >= 500;
}

static void announce_retry(order_client *c, int hrc, const http_err *herr,
                           const http_response *r, double delay)
{
    char what[640];

    if (c->on_retry == NULL)
        return;
    if (hrc != HTTP_OK)
        snprintf(what, sizeof(what), "%s", herr->message);
    else if (r->status == 429 && r->retry_after > ORDER_RETRY_AFTER_MAX_S)
        snprintf(what, sizeof(what), "CertCentral rate limit (HTTP 429, with Retry-After %.0f s, "
                 "capped at %.0f s)", r->retry_after, ORDER_RETRY_AFTER_MAX_S);
    else if (r->status == 429)
        snprintf(what, sizeof(what), "CertCentral rate limit (HTTP 429%s)",
                 r->retry_after >= 0 ? ", with Retry-After" : "");
    else
        snprintf(what, sizeof(what), "CertCentral answered HTTP %ld", r->status);
    c->on_retry(c->on_retry_ctx, what, delay);
}

/* Waits before a send hold nothing in flight, so a stop asked meanwhile
 * ends them at once. */
static bool client_sleep(order_client *c, double seconds)
{
    return stoppable_sleep(seconds, c->stop_asked);
}

static int interrupted(const struct call *q, order_err *err, const char *while_)
{
    order_err_set(err, ORDER_ERR_INTERRUPTED,
                  "%s %s: stopped while %s; nothing was in flight", q->method, q->what, while_);
    return err->code;
}

static int order_call(order_client *c, const struct call *q, http_response *r, order_err *err)
{
    http_err herr = { 0 };
    char *url = NULL;
    int hrc = HTTP_OK;

    if (asprintf(&url, "%s%s", c->base_url, q->path) < 0) {
        order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
        return ORDER_ERR_NOMEM;
    }
    for (int attempt = 0;; attempt++) {
        double delay, wait;

        while ((wait = order_pace_reserve(c->pace, monotonic_now())) > 0) {
            if (!client_sleep(c, wait)) {
                free(url);
                return interrupted(q, err, "pacing under the rate limits");
            }
        }
        hrc = http_request(c->http, q->method, url, q->body, q->body_len, r, &herr);
        if (hrc == HTTP_OK && r->status >= 200 && r->status < 300)
            break;
        if (attempt >= c->max_retries || !should_retry(q, hrc, &herr, r))
            break;
        delay = order_retry_delay(attempt + 1,
                                  hrc == HTTP_OK && r->status == 429 ? r->retry_after : -1,
                                  c->retry_base, c->retry_cap, order_jitter());
        announce_retry(c, hrc, &herr, r, delay);
        http_response_free(r);
        if (!client_sleep(c, delay)) {
            free(url);
            return interrupted(q, err, "waiting to retry");
        }
    }
    free(url);
    if (hrc != HTTP_OK) {
        map_http_err(&herr, err);
        if (!q->idempotent && herr.maybe_sent)
            mark_outcome_unknown(q, err);
        return err->code;
    }
    if (r->status >= 200 && r->status < 300)
        return ORDER_OK;
    map_status(q, r, err);
    /* Only a 4xx says the POST was refused; a 3xx (a proxy's redirect), a
     * 5xx or anything else says nothing about whether it was stored. */
    if (!q->idempotent && !(r->status >= 400 && r->status < 500))
        mark_outcome_unknown(q, err);
    http_response_free(r);
    return err->code;
}

/* --- endpoints ---------------------------------------------------------- */

int order_submit(order_client *c, const cJSON *request, order_placed *out, order_err *err)
{
    struct call q = { .method = "POST", .path = ORDER_PATH_PLACE, .what = "the order" };
    http_response r = { 0 };
    char *body;
    int rc;

    if (c == NULL || request == NULL || out == NULL) {
        order_err_set(err, ORDER_ERR_INVALID, "order_submit: missing argument");
        return ORDER_ERR_INVALID;
    }
    body = cJSON_PrintUnformatted(request);
    if (body == NULL) {
        order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
        return ORDER_ERR_NOMEM;
    }
    q.body = body;
    q.body_len = strlen(body);
    rc = order_call(c, &q, &r, err);
    /* The body may hold card data. */
    memset(body, 0, q.body_len);
    free(body);
    if (rc == ORDER_OK) {
        rc = order_parse_placed(r.body, r.len, out, err);
        if (rc != ORDER_OK) {
            /* Stored, but we cannot tell its id: as bad as a lost reply. */
            char detail[sizeof(err->message)];

            memcpy(detail, err->message, sizeof(detail));
            snprintf(err->message, sizeof(err->message),
                     "outcome unknown: CertCentral accepted the order (HTTP %ld) but %.600s; "
                     "it was NOT sent again. Check the order list before submitting again",
                     r.status, detail);
            err->outcome_unknown = true;
        }
    }
    http_response_free(&r);
    return rc;
}

static int get_json(order_client *c, const char *path, const char *what, http_response *r,
                    order_err *err)
{
    struct call q = { .method = "GET", .path = path, .idempotent = true };

    snprintf(q.what, sizeof(q.what), "%s", what);
    return order_call(c, &q, r, err);
}

int order_client_get_json(order_client *c, const char *path, const char *what,
                          http_response *r, order_err *err)
{
    return get_json(c, path, what, r, err);
}

int order_get(order_client *c, long order_id, order_info *out, order_err *err)
{
    http_response r = { 0 };
    char path[64], what[64];
    int rc;

    if (c == NULL || out == NULL || order_id <= 0) {
        order_err_set(err, ORDER_ERR_INVALID, "order id: must be a positive number");
        return ORDER_ERR_INVALID;
    }
    snprintf(path, sizeof(path), "/order/certificate/%ld", order_id);
    snprintf(what, sizeof(what), "order %ld", order_id);
    rc = get_json(c, path, what, &r, err);
    if (rc == ORDER_OK)
        rc = order_parse_info(r.body, r.len, out, err);
    http_response_free(&r);
    return rc;
}

int order_get_request(order_client *c, long request_id, order_request_info *out,
                      order_err *err)
{
    http_response r = { 0 };
    char path[64], what[64];
    int rc;

    if (c == NULL || out == NULL || request_id <= 0) {
        order_err_set(err, ORDER_ERR_INVALID, "request id: must be a positive number");
        return ORDER_ERR_INVALID;
    }
    snprintf(path, sizeof(path), "/request/%ld", request_id);
    snprintf(what, sizeof(what), "request %ld", request_id);
    rc = get_json(c, path, what, &r, err);
    if (rc == ORDER_OK)
        rc = order_parse_request_info(r.body, r.len, out, err);
    http_response_free(&r);
    return rc;
}

static int list_page(order_client *c, const order_list_query *q, long offset,
                     order_summary **out, size_t *n, order_list_page *page, order_err *err)
{
    http_response r = { 0 };
    char *path = NULL, *esc = NULL;
    int rc;

    char *desc = NULL;

    if (q != NULL && q->status != NULL && (esc = http_escape(c->http, q->status)) == NULL)
        goto nomem;
    if (q != NULL && q->date_created != NULL &&
        (desc = http_escape(c->http, q->date_created)) == NULL)
        goto nomem;
    if (asprintf(&path, "/order/certificate?offset=%ld&limit=%d%s%s%s%s", offset,
                 ORDER_LIST_LIMIT, esc ? "&filters%5Bstatus%5D=" : "", esc ? esc : "",
                 desc ? "&filters%5Bdate_created%5D=" : "", desc ? desc : "") < 0) {
        path = NULL;
        goto nomem;
    }
    free(desc);
    desc = NULL;
    rc = get_json(c, path, "the order list", &r, err);
    if (rc == ORDER_OK)
        rc = order_parse_list_page(r.body, r.len, out, n, page, err);
    http_response_free(&r);
    free(path);
    free(esc);
    return rc;
nomem:
    free(esc);
    free(desc);
    order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
    return ORDER_ERR_NOMEM;
}

int order_list(order_client *c, const order_list_query *q, order_summary **out, size_t *n,
               order_err *err)
{
    order_list_page page;
    long offset = 0, pages = 0;
    int rc = ORDER_OK;

    *out = NULL;
    *n = 0;
    while (offset >= 0) {
        /* A server that ignores offset would page forever: an error, not a cut. */
        if (++pages > ORDER_LIST_MAX_PAGES) {
            rc = ORDER_ERR_PROTOCOL;
            order_err_set(err, rc, "the order list: still not at its end after %d pages",
                          ORDER_LIST_MAX_PAGES);
            break;
        }
        rc = list_page(c, q, offset, out, n, &page, err);
        if (rc != ORDER_OK)
            break;
        offset = order_list_next_offset(offset, ORDER_LIST_LIMIT, &page);
    }
    if (rc != ORDER_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

bool order_download_format_ok(const char *format)
{
    return format != NULL && (strcmp(format, "pem_all") == 0 || strcmp(format, "pem_noroot") == 0);
}

int order_download(order_client *c, long order_id, long certificate_id, const char *format,
                   char **pem, size_t *len, order_err *err)
{
    http_response r = { 0 };
    char path[128], what[96];
    int rc;

    *pem = NULL;
    *len = 0;
    if (!order_download_format_ok(format)) {
        order_err_set(err, ORDER_ERR_INVALID, "format: must be pem_all or pem_noroot (got \"%s\")",
                      format ? format : "");
        return ORDER_ERR_INVALID;
    }
    if (certificate_id > 0)
        snprintf(path, sizeof(path), "/certificate/%ld/download/format/%s", certificate_id, format);
    else
        snprintf(path, sizeof(path), "/certificate/download/order/%ld/format/%s", order_id, format);
    snprintf(what, sizeof(what), "the certificate of order %ld", order_id);
    rc = get_json(c, path, what, &r, err);
    if (rc != ORDER_OK)
        goto out;
    if (strstr(r.body, "-----BEGIN CERTIFICATE-----") == NULL) {
        order_err_set(err, ORDER_ERR_PROTOCOL,
                      "CertCentral's download of %s is not a PEM certificate bundle", what);
        rc = ORDER_ERR_PROTOCOL;
        goto out;
    }
    *pem = r.body;
    *len = r.len;
    r.body = NULL;
out:
    http_response_free(&r);
    return rc;
}

int order_reissue(order_client *c, long order_id, const char *csr_pem, order_placed *out,
                  order_err *err)
{
    struct call q = { .method = "POST" };
    http_response r = { 0 };
    cJSON *body = cJSON_CreateObject(), *cert;
    char path[96], *text = NULL;
    int rc = ORDER_ERR_NOMEM;

    if (csr_pem == NULL || strstr(csr_pem, "BEGIN CERTIFICATE REQUEST") == NULL) {
        cJSON_Delete(body);
        order_err_set(err, ORDER_ERR_INVALID, "reissue of order %ld: no PEM CSR given", order_id);
        return ORDER_ERR_INVALID;
    }
    cert = cJSON_AddObjectToObject(body, "certificate");
    if (cert == NULL || !cJSON_AddStringToObject(cert, "csr", csr_pem) ||
        !cJSON_AddStringToObject(cert, "signature_hash", "sha256") ||
        (text = cJSON_PrintUnformatted(body)) == NULL) {
        order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(path, sizeof(path), "/order/certificate/%ld/reissue", order_id);
    snprintf(q.what, sizeof(q.what), "the reissue of order %ld", order_id);
    q.path = path;
    q.body = text;
    q.body_len = strlen(text);
    rc = order_call(c, &q, &r, err);
    if (rc == ORDER_OK) {
        rc = order_parse_placed(r.body, r.len, out, err);
        /* Some replies carry only the request: the order is the one we named. */
        if (rc != ORDER_OK && r.len > 0) {
            memset(out, 0, sizeof(*out));
            out->order_id = order_id;
            rc = ORDER_OK;
        }
    }
out:
    http_response_free(&r);
    free(text);
    cJSON_Delete(body);
    return rc;
}
