/*
 * http: libcurl easy handle kept alive per client.  See include/http.h.
 */
#include "http.h"
#include "http_curl_int.h"   /* libcurl, loaded by the first client */

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HTTP_MAX_BODY (32u * 1024 * 1024)
#define HTTP_SYSTEM_CAPATH "/etc/ssl/certs"

struct http_client {
    CURL              *curl;
    struct curl_slist *headers;
    http_opts          opts;
    char               errbuf[CURL_ERROR_SIZE];
};

struct body_buf {
    char  *data;
    size_t len;
    bool   too_big;
};

static void set_err(http_err *err, http_code code, bool maybe_sent, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(http_err *err, http_code code, bool maybe_sent, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->code = code;
    err->maybe_sent = maybe_sent;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

bool http_url_is_https(const char *url)
{
    return url != NULL && strncasecmp(url, "https://", 8) == 0 && url[8] != '\0';
}

static void trace_line(const http_client *c, const char *line)
{
    if (c->opts.trace != NULL)
        c->opts.trace(c->opts.trace_ctx, line);
    else
        fprintf(stderr, "%s\n", line);
}

/*
 * One trace line.  The secret header's value is replaced, and as a second
 * guard any line that still holds the secret's bytes is dropped whole.
 */
static void trace_bytes(const http_client *c, char prefix, const char *p, size_t n)
{
    const secret *s = c->opts.secret_value;
    const char *h = c->opts.secret_header;
    size_t hlen = h ? strlen(h) : 0;
    char line[1024];

    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    if (n == 0)
        return;
    if (hlen > 0 && n > hlen && strncasecmp(p, h, hlen) == 0 && p[hlen] == ':') {
        snprintf(line, sizeof(line), "%c %s: [redacted]", prefix, h);
    } else if (s != NULL && s->len > 0 && memmem(p, n, s->data, s->len) != NULL) {
        snprintf(line, sizeof(line), "%c [line holding a secret redacted]", prefix);
    } else {
        if (n > sizeof(line) - 3)
            n = sizeof(line) - 3;
        snprintf(line, sizeof(line), "%c %.*s", prefix, (int)n, p);
    }
    trace_line(c, line);
}

static int debug_cb(CURL *curl, curl_infotype type, char *data, size_t size, void *userp)
{
    const http_client *c = userp;
    char prefix;
    size_t start = 0;

    (void)curl;
    switch (type) {
    case CURLINFO_TEXT:       prefix = '*'; break;
    case CURLINFO_HEADER_OUT: prefix = '>'; break;
    case CURLINFO_HEADER_IN:  prefix = '<'; break;
    default:
        /* Bodies are traced by http_request, after redaction. */
        return 0;
    }
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            trace_bytes(c, prefix, data + start, i - start);
            start = i + 1;
        }
    }
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct body_buf *b = userp;
    size_t n = size * nmemb;
    char *grown;

    if (b->len + n > HTTP_MAX_BODY) {
        b->too_big = true;
        return 0;
    }
    grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    struct curl_slist *grown;
    char *line;

    if (asprintf(&line, "%s: %s", name, value) < 0)
        return -1;
    grown = curl_slist_append(*list, line);
    secret_wipe(line, strlen(line));
    free(line);
    if (grown == NULL)
        return -1;
    *list = grown;
    return 0;
}

static int build_headers(http_client *c)
{
    const http_opts *o = &c->opts;

    if (add_header(&c->headers, "Content-Type", "application/json") ||
        add_header(&c->headers, "Accept", "application/json, application/x-pem-file, */*") ||
        add_header(&c->headers, "Expect", ""))
        return -1;
    if (o->secret_header != NULL && o->secret_value != NULL &&
        add_header(&c->headers, o->secret_header, o->secret_value->data))
        return -1;
    return 0;
}

/*
 * Trust: with --ca-file, the file is loaded as CAINFO *and* the system
 * directory as CAPATH, so an added anchor does not drop the system's ones
 * (OpenSSL backend: both are consulted).  Without it, libcurl's defaults.
 */
static CURLcode setup_tls(http_client *c)
{
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    rc |= curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    /* Nothing older than TLS 1.2 carries an API key or a certificate. */
    rc |= curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->opts.ca_file != NULL) {
        rc |= curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->opts.ca_file);
        if (access(HTTP_SYSTEM_CAPATH, R_OK | X_OK) == 0)
            rc |= curl_easy_setopt(c->curl, CURLOPT_CAPATH, HTTP_SYSTEM_CAPATH);
    }
    return rc;
}

static CURLcode setup_handle(http_client *c)
{
    const http_opts *o = &c->opts;
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
    rc |= curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    rc |= curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
    rc |= curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
                           o->connect_timeout_s > 0 ? o->connect_timeout_s : 10L);
    rc |= curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 60L);
    rc |= curl_easy_setopt(c->curl, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "qscd-agent");
    rc |= curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    rc |= curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
    rc |= setup_tls(c);
    if (o->verbose > 0) {
        rc |= curl_easy_setopt(c->curl, CURLOPT_DEBUGFUNCTION, debug_cb);
        rc |= curl_easy_setopt(c->curl, CURLOPT_DEBUGDATA, c);
        rc |= curl_easy_setopt(c->curl, CURLOPT_VERBOSE, 1L);
    }
    return rc;
}

http_client *http_client_new(const http_opts *opts, http_err *err)
{
    http_client *c;
    char why[256];

    if (opts == NULL) {
        set_err(err, HTTP_ERR_INVALID, false, "http: no options");
        return NULL;
    }
    if (!http_curl_load(why, sizeof(why))) {
        set_err(err, HTTP_ERR_INVALID, false, "http: %s", why);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->curl = curl_easy_init()) == NULL) {
        free(c);
        set_err(err, HTTP_ERR_NOMEM, false, "out of memory");
        return NULL;
    }
    c->opts = *opts;
    if (build_headers(c) != 0) {
        http_client_free(c);
        set_err(err, HTTP_ERR_NOMEM, false, "out of memory");
        return NULL;
    }
    if (setup_handle(c) != CURLE_OK) {
        http_client_free(c);
        set_err(err, HTTP_ERR_INVALID, false,
                "libcurl refused an option (it needs https and CURLOPT_PROTOCOLS_STR, libcurl >= 7.85)");
        return NULL;
    }
    return c;
}

void http_client_free(http_client *c)
{
    if (c == NULL)
        return;
    /* The header list holds a copy of the API key. */
    for (struct curl_slist *h = c->headers; h != NULL; h = h->next)
        secret_wipe(h->data, strlen(h->data));
    curl_slist_free_all(c->headers);
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    free(c);
}

void http_response_free(http_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
    r->retry_after = -1;
}

char *http_escape(http_client *c, const char *s)
{
    char *e = curl_easy_escape(c->curl, s, 0);
    char *copy = e ? strdup(e) : NULL;

    curl_free(e);
    return copy;
}

static void redact_tree(cJSON *node)
{
    for (cJSON *child = node ? node->child : NULL; child != NULL; child = child->next) {
        if (child->string != NULL && strcmp(child->string, "credit_card") == 0) {
            cJSON *mark = cJSON_CreateString("[redacted]");

            if (mark == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(node, "credit_card", mark)) {
                cJSON_Delete(mark);
                return;
            }
            child = mark;
            continue;
        }
        redact_tree(child);
    }
}

char *http_redact_json(const char *body, size_t len)
{
    cJSON *tree = cJSON_ParseWithLength(body, len);
    char *out;

    if (tree == NULL)
        return NULL;
    redact_tree(tree);
    out = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    return out;
}

static void trace_body(const http_client *c, char prefix, const char *body, size_t len)
{
    char *shown;

    if (c->opts.verbose < 2 || body == NULL || len == 0)
        return;
    shown = http_redact_json(body, len);
    if (shown != NULL) {
        trace_bytes(c, prefix, shown, strlen(shown));
        free(shown);
    } else {
        char line[64];

        snprintf(line, sizeof(line), "%c [%zu bytes, not JSON]", prefix, len);
        trace_line(c, line);
    }
}

static bool never_sent(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return true;
    default:
        return false;
    }
}

static int map_curl_error(http_client *c, CURLcode rc, const char *url, bool too_big,
                          http_err *err)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    bool sent = !never_sent(rc);

    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CERTPROBLEM:
        set_err(err, HTTP_ERR_TLS, sent,
                "TLS: the server certificate of %s could not be verified (%s)", url, detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
        set_err(err, HTTP_ERR_TLS, sent, "TLS handshake with %s failed (%s)", url, detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        set_err(err, HTTP_ERR_TIMEOUT, sent, "%s: no complete reply in time (%s)", url, detail);
        break;
    case CURLE_OUT_OF_MEMORY:
        set_err(err, HTTP_ERR_NOMEM, sent, "out of memory");
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        set_err(err, HTTP_ERR_INVALID, false, "%s: only https:// URLs are accepted", url);
        break;
    default:
        if (too_big)
            set_err(err, HTTP_ERR_NETWORK, sent, "%s: reply larger than %u bytes", url,
                    HTTP_MAX_BODY);
        else
            set_err(err, HTTP_ERR_NETWORK, sent, "%s: %s", url, detail);
        break;
    }
    return (int)err->code;
}

static double retry_after_of(http_client *c)
{
    struct curl_header *h = NULL;
    curl_off_t secs = 0;

    if (curl_easy_header(c->curl, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return -1;
    /* libcurl parses both forms (delay-seconds and HTTP-date). */
    if (curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &secs) != CURLE_OK || secs < 0)
        return 0;
    return (double)secs;
}

static void fill_response(http_client *c, struct body_buf *b, http_response *out)
{
    char *ct = NULL;

    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
        snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
    out->retry_after = retry_after_of(c);
    if (b->data == NULL)
        b->data = calloc(1, 1);
    out->body = b->data;
    out->len = b->len;
    b->data = NULL;
}

int http_request(http_client *c, const char *method, const char *url,
                 const char *body, size_t body_len, http_response *out, http_err *err)
{
    struct body_buf b = { 0 };
    bool post = strcmp(method, "POST") == 0;
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    out->retry_after = -1;
    if (!http_url_is_https(url)) {
        set_err(err, HTTP_ERR_INVALID, false,
                "%s: only https:// URLs are accepted (the API key must not travel in clear text)",
                url);
        return HTTP_ERR_INVALID;
    }
    c->errbuf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, post ? 1L : 0L);
    if (post) {
        curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        trace_body(c, '>', body, body_len);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
        free(b.data);
        return map_curl_error(c, rc, url, b.too_big, err);
    }
    fill_response(c, &b, out);
    if (out->body == NULL) {
        set_err(err, HTTP_ERR_NOMEM, true, "out of memory");
        return HTTP_ERR_NOMEM;
    }
    trace_body(c, '<', out->body, out->len);
    return HTTP_OK;
}
