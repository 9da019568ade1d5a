/*
 * libmicrohttpd glue: collect the request body, split the path, run the
 * admin or API router with the store locked, apply armed faults, count
 * every API request for /_sim/stats, and send the reply.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define BODY_MAX (1024 * 1024)
#define SEG_MAX  16

/* Per-connection-request state between MHD's calls. */
typedef struct sim_ctx {
    char  *body;
    size_t len;
    bool   too_big;
    double t;
} sim_ctx;

static double now_float(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

const char *sim_call_query(const sim_call *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sim_call_header(const sim_call *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

void sim_reply_json(sim_reply *r, unsigned status, cJSON *body)
{
    free(r->body);
    r->status = status;
    r->body = body ? cJSON_PrintUnformatted(body) : NULL;
    r->len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/json";
    cJSON_Delete(body);
}

void sim_error_add(cJSON *errors, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToArray(errors, e);
}

void sim_reply_errors(sim_reply *r, unsigned status, cJSON *errors)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "errors", errors);
    sim_reply_json(r, status, body);
}

void sim_reply_error(sim_reply *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *errors = cJSON_CreateArray();
    sim_error_add(errors, code, "%s", msg);
    sim_reply_errors(r, status, errors);
}

cJSON *sim_call_json(const sim_call *c, sim_reply *r)
{
    const char *end = NULL;
    if (!c->body || c->body_len == 0) {
        sim_reply_error(r, 400, "invalid_input", "request body: missing (a JSON object is required)");
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLengthOpts(c->body, c->body_len, &end, false);
    if (!j) {
        size_t off = end ? (size_t)(end - c->body) : 0;
        sim_reply_error(r, 400, "invalid_input",
                        "request body: not valid JSON (error at byte offset %zu)", off);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        sim_reply_error(r, 400, "invalid_input", "request body: must be a JSON object");
        return NULL;
    }
    return j;
}

/* "GET /order/certificate/100001" -> "GET /order/certificate/{id}". */
static void stats_key(const sim_call *c, char *out, size_t n)
{
    size_t used = (size_t)snprintf(out, n, "%s ", c->method);
    for (size_t i = 0; i < c->nseg && used < n; i++) {
        const char *sg = c->seg[i];
        bool digits = *sg && strspn(sg, "0123456789") == strlen(sg);
        used += (size_t)snprintf(out + used, n - used, "/%s", digits ? "{id}" : sg);
    }
    if (c->nseg == 0 && used < n)
        snprintf(out + used, n - used, "/");
}

static void stats_record(sim_server *s, const sim_call *c, const sim_reply *r, double t)
{
    char key[512];
    stats_key(c, key, sizeof key);
    cJSON *cnt = cJSON_GetObjectItemCaseSensitive(s->stats_requests, key);
    if (cnt)
        cJSON_SetNumberValue(cnt, cnt->valuedouble + 1);
    else
        cJSON_AddNumberToObject(s->stats_requests, key, 1);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "t", t);
    cJSON_AddStringToObject(e, "method", c->method);
    cJSON_AddStringToObject(e, "path", c->path);
    cJSON_AddNumberToObject(e, "status", r->drop ? 0 : r->status);
    if (r->drop)
        cJSON_AddTrueToObject(e, "dropped");
    cJSON_AddItemToArray(s->stats_log, e);
}

static bool api_key_ok(sim_server *s, const sim_call *c)
{
    const char *k = sim_call_header(c, "X-DC-DEVKEY");
    if (!k || strlen(k) != s->api_key_len)
        return false;
    return CRYPTO_memcmp(k, s->api_key, s->api_key_len) == 0;
}

/* Broken or cut-short JSON or PEM, with a Content-Length that matches. */
static void body_faults(sim_server *s, sim_reply *r)
{
    if (!r->body || !r->content_type)
        return;
    if (!strcmp(r->content_type, "application/x-pem-file") && s->faults.truncated_pem > 0) {
        s->faults.truncated_pem--;
        r->len /= 2;
        r->body[r->len] = '\0';
        return;
    }
    if (strcmp(r->content_type, "application/json"))
        return;
    if (s->faults.malformed > 0) {
        s->faults.malformed--;
        char *b = malloc(r->len + 4);
        if (!b)
            return;
        memcpy(b, r->body, r->len ? r->len - 1 : 0);
        memcpy(b + (r->len ? r->len - 1 : 0), ",,}", 4);
        free(r->body);
        r->body = b;
        r->len = strlen(b);
    } else if (s->faults.truncated > 0) {
        s->faults.truncated--;
        r->len /= 2;
        r->body[r->len] = '\0';
    }
}

static void api_call(sim_server *s, const sim_call *c, sim_reply *r, double t)
{
    sim_faults *f = &s->faults;
    if (f->n429 > 0) {
        f->n429--;
        sim_reply_error(r, 429, "request_limit_exceeded",
                        "Service unavailable, please limit request volume");
        r->retry_after = f->retry_after;
    } else if (f->n5xx > 0) {
        f->n5xx--;
        sim_reply_error(r, (unsigned)f->code5xx, "service_unavailable",
                        "simulated server error %d", f->code5xx);
    } else if (f->n403 > 0) {
        f->n403--;
        sim_reply_error(r, 403, "access_denied",
                        "the API key's role does not permit this request");
    } else if (!api_key_ok(s, c)) {
        sim_reply_error(r, 401, "access_denied",
                        "X-DC-DEVKEY: missing or not a valid API key");
    } else {
        sim_api_route(s, c, r);
    }
    body_faults(s, r);
    stats_record(s, c, r, t);
}

static int delay_take(sim_server *s)
{
    int ms = 0;
    pthread_mutex_lock(&s->lock);
    if (s->faults.delay_count > 0) {
        s->faults.delay_count--;
        ms = s->faults.delay_ms;
    }
    pthread_mutex_unlock(&s->lock);
    return ms;
}

static void dispatch(sim_server *s, sim_call *c, const char *url, sim_reply *r, double t)
{
    size_t plen = strlen(SIM_API_PREFIX);
    bool admin = !strncmp(url, "/_sim", 5) && (url[5] == '/' || url[5] == '\0');
    bool api = !strncmp(url, SIM_API_PREFIX, plen) && (url[plen] == '/' || url[plen] == '\0');
    c->path = admin ? url + 5 : api ? url + plen : url;
    if (!admin) {
        int ms = delay_take(s) + s->opt.latency_ms;
        if (ms > 0)
            usleep((useconds_t)ms * 1000);
    }
    pthread_mutex_lock(&s->lock);
    if (admin)
        sim_admin_route(s, c, r);
    else if (api)
        api_call(s, c, r, t);
    else {
        sim_reply_error(r, 404, "not_found", "%s: no such endpoint (the API is under %s)",
                        url, SIM_API_PREFIX);
        stats_record(s, c, r, t);
    }
    sim_orders_track(s);
    pthread_mutex_unlock(&s->lock);
    if (!admin)
        fprintf(stderr, "qscd-sim: %s %s -> %u%s\n", c->method, url, r->status,
                r->drop ? " (dropped)" : "");
}

static size_t split_path(const char *path, char *buf, size_t buflen, char **seg)
{
    size_t n = 0;
    snprintf(buf, buflen, "%s", path);
    for (char *save = NULL, *p = strtok_r(buf, "/", &save); p && n < SEG_MAX;
         p = strtok_r(NULL, "/", &save))
        seg[n++] = p;
    return n;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, sim_reply *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->len, r->body ? r->body : (void *)"", r->body ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL;   /* MHD owns it now */
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->retry_after >= 0) {
        char ra[32];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    sim_server *s = cls;
    sim_ctx *ctx = *con_cls;
    (void)version;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        ctx->t = now_float();
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (ctx->too_big || ctx->len + n > BODY_MAX) {
            ctx->too_big = true;
            return MHD_YES;
        }
        char *b = realloc(ctx->body, ctx->len + n + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + ctx->len, upload_data, n);
        ctx->body = b;
        ctx->len += n;
        b[ctx->len] = '\0';
        return MHD_YES;
    }

    char buf[2048], *seg[SEG_MAX];
    sim_reply r = { .status = 500, .retry_after = -1 };
    sim_call c = { .conn = conn, .method = method, .body = ctx->body, .body_len = ctx->len };
    if (ctx->too_big) {
        sim_reply_error(&r, 413, "invalid_input", "request body: larger than %d bytes", BODY_MAX);
        return send_reply(conn, &r);
    }
    size_t plen = strlen(SIM_API_PREFIX);
    const char *rel = !strncmp(url, SIM_API_PREFIX, plen) ? url + plen
                      : !strncmp(url, "/_sim", 5) ? url + 5 : url;
    c.nseg = split_path(rel, buf, sizeof buf, seg);
    c.seg = seg;
    dispatch(s, &c, url, &r, ctx->t);
    if (r.drop) {
        free(r.body);
        return MHD_NO;   /* closes the connection without a reply */
    }
    return send_reply(conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sim_ctx *ctx = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (ctx) {
        free(ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *sim_http_start(sim_server *s, char *err, size_t errlen)
{
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_TLS | MHD_USE_ERROR_LOG;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, s->opt.listen, &sa4.sin_addr) == 1 &&
        (ntohl(sa4.sin_addr.s_addr) >> 24) == 127) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)s->opt.port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, s->opt.listen, &sa6.sin6_addr) == 1 &&
               IN6_IS_ADDR_LOOPBACK(&sa6.sin6_addr)) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)s->opt.port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "--listen: %s is not a loopback address (127.0.0.0/8 or ::1)",
                 s->opt.listen);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->opt.port, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_HTTPS_MEM_KEY, s->ca.tls_key_pem,
        MHD_OPTION_HTTPS_MEM_CERT, s->ca.tls_cert_pem,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "cannot listen on %s port %d (in use, or TLS setup failed)",
                 s->opt.listen, s->opt.port);
    return d;
}
