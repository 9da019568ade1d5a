/*
 * CertCentral replies -> structs.  Replies are untrusted input: any field
 * may be missing, of another type, or carry a value we have never seen.
 * Only the ids we cannot do without are required; everything else falls
 * back to "absent".  Strings are kept as received, minus control
 * characters (they end up on a terminal).
 */
#include "order.h"
#include "order_client_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void order_err_set(order_err *err, order_code code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

const char *order_code_name(order_code code)
{
    static const char *const names[] = {
        "ok", "invalid", "auth", "not_found", "rate_limited", "server", "network",
        "tls", "protocol", "rejected", "timeout", "not_ready", "io", "nomem", "client",
        "interrupted", "no_api_key",
    };

    if ((size_t)code < sizeof(names) / sizeof(names[0]))
        return names[code];
    return "unknown";
}

static const struct {
    const char        *name;
    order_status_class cls;
} status_names[] = {
    { "pending", ORDER_ST_PENDING },
    { "submitted", ORDER_ST_SUBMITTED },
    { "approved", ORDER_ST_APPROVED },
    { "issued", ORDER_ST_ISSUED },
    { "rejected", ORDER_ST_REJECTED },
    { "denied", ORDER_ST_REJECTED },
    { "canceled", ORDER_ST_CANCELED },
    { "cancelled", ORDER_ST_CANCELED },
    { "revoked", ORDER_ST_REVOKED },
    { "expired", ORDER_ST_EXPIRED },
    { "needs_approval", ORDER_ST_NEEDS_APPROVAL },
    { "reissue_pending", ORDER_ST_REISSUE_PENDING },
};

#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

order_status_class order_status_classify(const char *status)
{
    if (status == NULL)
        return ORDER_ST_UNKNOWN;
    for (size_t i = 0; i < N_STATUS; i++)
        if (strcmp(status, status_names[i].name) == 0)
            return status_names[i].cls;
    return ORDER_ST_UNKNOWN;
}

const char *order_status_class_name(order_status_class c)
{
    if (c == ORDER_ST_UNKNOWN)
        return "unknown";
    for (size_t i = 0; i < N_STATUS; i++)
        if (status_names[i].cls == c)
            return status_names[i].name;
    return "unknown";
}

/* --- field access ------------------------------------------------------- */

/* An integer id: a JSON number, or a string of digits (seen in examples). */
static bool get_long(const cJSON *obj, const char *name, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char *end;
    long n;

    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (!isfinite(d) || d < -9.0e15 || d > 9.0e15 || d != (double)(long long)d)
            return false;
        *out = (long)d;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        errno = 0;
        n = strtol(v->valuestring, &end, 10);
        if (errno == 0 && *end == '\0') {
            *out = n;
            return true;
        }
    }
    return false;
}

static void get_str(const cJSON *obj, const char *name, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    size_t i;

    buf[0] = '\0';
    if (cJSON_IsNumber(v)) {
        snprintf(buf, size, "%.0f", v->valuedouble);
        return;
    }
    if (!cJSON_IsString(v))
        return;
    for (i = 0; i + 1 < size && v->valuestring[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)v->valuestring[i];

        buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[i] = '\0';
}

static const cJSON *get_obj(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsObject(v) ? v : NULL;
}

static cJSON *parse_object(const char *body, size_t len, const char *what, order_err *err)
{
    cJSON *root;

    if (body == NULL || len == 0) {
        order_err_set(err, ORDER_ERR_PROTOCOL, "CertCentral sent an empty reply to %s", what);
        return NULL;
    }
    root = cJSON_ParseWithLength(body, len);
    if (root == NULL) {
        order_err_set(err, ORDER_ERR_PROTOCOL,
                      "CertCentral sent a reply that is not valid JSON (to %s)", what);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        order_err_set(err, ORDER_ERR_PROTOCOL,
                      "CertCentral's reply to %s is JSON but not an object", what);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static bool require_id(const cJSON *obj, const char *field, const char *what, long *out,
                       order_err *err)
{
    if (get_long(obj, field, out) && *out > 0)
        return true;
    order_err_set(err, ORDER_ERR_PROTOCOL,
                  "CertCentral's reply to %s lacks a valid \"%s\" (a positive integer)",
                  what, field);
    return false;
}

/* --- replies ------------------------------------------------------------ */

int order_parse_placed(const char *body, size_t len, order_placed *out, order_err *err)
{
    const char *what = "the order";
    cJSON *root = parse_object(body, len, what, err);
    const cJSON *reqs, *first, *org;

    memset(out, 0, sizeof(*out));
    if (root == NULL)
        return ORDER_ERR_PROTOCOL;
    if (!require_id(root, "id", what, &out->order_id, err)) {
        cJSON_Delete(root);
        return ORDER_ERR_PROTOCOL;
    }
    reqs = cJSON_GetObjectItemCaseSensitive(root, "requests");
    first = cJSON_IsArray(reqs) ? cJSON_GetArrayItem(reqs, 0) : NULL;
    if (cJSON_IsObject(first)) {
        get_long(first, "id", &out->request_id);
        get_str(first, "status", out->status, sizeof(out->status));
    }
    get_long(root, "certificate_id", &out->certificate_id);
    if ((org = get_obj(root, "organization")) != NULL)
        get_long(org, "id", &out->organization_id);
    cJSON_Delete(root);
    return ORDER_OK;
}

static void parse_certificate(const cJSON *obj, order_certificate *c)
{
    if (obj == NULL)
        return;
    get_long(obj, "id", &c->id);
    get_str(obj, "serial_number", c->serial_number, sizeof(c->serial_number));
    get_str(obj, "thumbprint", c->thumbprint, sizeof(c->thumbprint));
    get_str(obj, "common_name", c->common_name, sizeof(c->common_name));
    get_str(obj, "valid_from", c->valid_from, sizeof(c->valid_from));
    get_str(obj, "valid_till", c->valid_till, sizeof(c->valid_till));
    get_str(obj, "date_issued", c->date_issued, sizeof(c->date_issued));
    get_long(obj, "days_remaining", &c->days_remaining);
}

static int parse_requests(const cJSON *arr, order_info *out, order_err *err)
{
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    const cJSON *item;
    size_t i = 0;

    if (n <= 0)
        return ORDER_OK;
    out->requests = calloc((size_t)n, sizeof(*out->requests));
    if (out->requests == NULL) {
        order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
        return ORDER_ERR_NOMEM;
    }
    cJSON_ArrayForEach(item, arr) {
        order_request_item *r = &out->requests[i];

        if (!cJSON_IsObject(item))
            continue;
        get_long(item, "id", &r->id);
        get_str(item, "type", r->type, sizeof(r->type));
        get_str(item, "status", r->status, sizeof(r->status));
        get_str(item, "date", r->date, sizeof(r->date));
        r->status_class = order_status_classify(r->status);
        i++;
    }
    out->n_requests = i;
    return ORDER_OK;
}

int order_parse_info(const char *body, size_t len, order_info *out, order_err *err)
{
    const char *what = "the order status request";
    cJSON *root = parse_object(body, len, what, err);
    const cJSON *o;
    int rc = ORDER_ERR_PROTOCOL;

    memset(out, 0, sizeof(*out));
    if (root == NULL)
        return rc;
    if (!require_id(root, "id", what, &out->id, err))
        goto out;
    get_str(root, "status", out->status, sizeof(out->status));
    out->status_class = order_status_classify(out->status);
    parse_certificate(get_obj(root, "certificate"), &out->certificate);
    /* The order-placement shape carries the id at the top level. */
    if (out->certificate.id == 0)
        get_long(root, "certificate_id", &out->certificate.id);
    if ((o = get_obj(root, "organization")) != NULL)
        get_long(o, "id", &out->organization_id);
    if ((o = get_obj(root, "product")) != NULL)
        get_str(o, "name_id", out->product_name_id, sizeof(out->product_name_id));
    get_str(root, "date_created", out->date_created_str, sizeof(out->date_created_str));
    out->date_created = order_parse_time(out->date_created_str);
    rc = parse_requests(cJSON_GetObjectItemCaseSensitive(root, "requests"), out, err);
out:
    cJSON_Delete(root);
    if (rc != ORDER_OK)
        order_info_free(out);
    return rc;
}

void order_info_free(order_info *info)
{
    if (info == NULL)
        return;
    free(info->requests);
    info->requests = NULL;
    info->n_requests = 0;
}

int order_parse_request_info(const char *body, size_t len, order_request_info *out,
                             order_err *err)
{
    const char *what = "the request status request";
    cJSON *root = parse_object(body, len, what, err);
    const cJSON *o;

    memset(out, 0, sizeof(*out));
    if (root == NULL)
        return ORDER_ERR_PROTOCOL;
    if (!require_id(root, "id", what, &out->id, err)) {
        cJSON_Delete(root);
        return ORDER_ERR_PROTOCOL;
    }
    get_str(root, "type", out->type, sizeof(out->type));
    get_str(root, "status", out->status, sizeof(out->status));
    get_str(root, "date", out->date, sizeof(out->date));
    out->status_class = order_status_classify(out->status);
    if ((o = get_obj(root, "order")) != NULL)
        get_long(o, "id", &out->order_id);
    if (!get_long(root, "certificate_id", &out->certificate_id) &&
        (o = get_obj(root, "certificate")) != NULL)
        get_long(o, "id", &out->certificate_id);
    cJSON_Delete(root);
    return ORDER_OK;
}

static void parse_summary(const cJSON *item, order_summary *s)
{
    const cJSON *o;

    get_long(item, "id", &s->id);
    get_str(item, "status", s->status, sizeof(s->status));
    s->status_class = order_status_classify(s->status);
    if ((o = get_obj(item, "certificate")) != NULL) {
        get_long(o, "id", &s->certificate_id);
        get_str(o, "common_name", s->common_name, sizeof(s->common_name));
    }
    if ((o = get_obj(item, "product")) != NULL)
        get_str(o, "name_id", s->product_name_id, sizeof(s->product_name_id));
    if ((o = get_obj(item, "organization")) != NULL)
        get_long(o, "id", &s->organization_id);
    get_str(item, "date_created", s->date_created_str, sizeof(s->date_created_str));
    s->date_created = order_parse_time(s->date_created_str);
}

int order_parse_list_page(const char *body, size_t len, order_summary **out, size_t *n,
                          order_list_page *pg, order_err *err)
{
    const char *what = "the order list request";
    cJSON *root = parse_object(body, len, what, err);
    const cJSON *orders, *page, *item;
    order_summary *grown;
    int count;

    pg->total = -1;
    pg->limit = -1;
    pg->entries = 0;
    if (root == NULL)
        return ORDER_ERR_PROTOCOL;
    orders = cJSON_GetObjectItemCaseSensitive(root, "orders");
    /* Only an array is walked: an object's members would be counted as 0
     * and then written past the room made for them (found by the fuzzer,
     * tests/fuzz/regress/order-replies/list-orders-object). */
    if (!cJSON_IsArray(orders))
        orders = NULL;
    count = orders != NULL ? cJSON_GetArraySize(orders) : 0;
    if ((page = get_obj(root, "page")) != NULL) {
        get_long(page, "total", &pg->total);
        get_long(page, "limit", &pg->limit);
    }
    grown = realloc(*out, (*n + (size_t)count + 1) * sizeof(**out));
    if (grown == NULL) {
        cJSON_Delete(root);
        order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
        return ORDER_ERR_NOMEM;
    }
    *out = grown;
    pg->entries = (size_t)count;
    cJSON_ArrayForEach(item, orders) {
        if (!cJSON_IsObject(item))
            continue;
        memset(&grown[*n], 0, sizeof(grown[*n]));
        parse_summary(item, &grown[*n]);
        if (grown[*n].id > 0)
            (*n)++;
    }
    cJSON_Delete(root);
    return ORDER_OK;
}

long order_list_next_offset(long offset, long asked, const order_list_page *page)
{
    long next = offset + (long)page->entries;
    long limit = page->limit > 0 && page->limit < asked ? page->limit : asked;

    if (page->entries == 0)
        return -1;
    if (page->total >= 0)
        return next < page->total ? next : -1;
    return (long)page->entries < limit ? -1 : next;
}

void order_parse_errors(const char *body, size_t len, char *buf, size_t buflen)
{
    cJSON *root = (body && len) ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *errors = cJSON_GetObjectItemCaseSensitive(root, "errors"), *e;
    size_t used = 0;

    buf[0] = '\0';
    if (!cJSON_IsArray(errors))
        errors = NULL;
    cJSON_ArrayForEach(e, errors) {
        char code[ORDER_STR], msg[512];
        int w;

        get_str(e, "code", code, sizeof(code));
        get_str(e, "message", msg, sizeof(msg));
        if (code[0] == '\0' && msg[0] == '\0')
            continue;
        w = snprintf(buf + used, buflen - used, "%s%s%s%s", used ? "; " : "", code,
                     code[0] && msg[0] ? ": " : "", msg);
        if (w < 0 || (size_t)w >= buflen - used)
            break;
        used += (size_t)w;
    }
    cJSON_Delete(root);
}

time_t order_parse_time(const char *s)
{
    static const char *const formats[] = {
        "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d",
    };
    struct tm tm;

    if (s == NULL || *s == '\0')
        return 0;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        const char *rest;

        memset(&tm, 0, sizeof(tm));
        rest = strptime(s, formats[i], &tm);
        /* An offset other than UTC is not used by CertCentral; accept +00:00/Z. */
        if (rest != NULL && (*rest == '\0' || *rest == 'Z' || strcmp(rest, "+00:00") == 0 ||
                             *rest == '.'))
            return timegm(&tm);
    }
    return 0;
}

/* --- structs -> JSON (for --json output) -------------------------------- */

static void add_nonempty(cJSON *obj, const char *name, const char *value)
{
    if (value != NULL && value[0] != '\0')
        cJSON_AddStringToObject(obj, name, value);
}

cJSON *order_placed_to_json(const order_placed *p)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "order_id", (double)p->order_id);
    if (p->request_id)
        cJSON_AddNumberToObject(o, "request_id", (double)p->request_id);
    else
        cJSON_AddNullToObject(o, "request_id");
    cJSON_AddStringToObject(o, "status", p->status);
    if (p->certificate_id)
        cJSON_AddNumberToObject(o, "certificate_id", (double)p->certificate_id);
    if (p->organization_id)
        cJSON_AddNumberToObject(o, "organization_id", (double)p->organization_id);
    return o;
}

static cJSON *certificate_to_json(const order_certificate *c)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "id", (double)c->id);
    add_nonempty(o, "serial_number", c->serial_number);
    add_nonempty(o, "thumbprint", c->thumbprint);
    add_nonempty(o, "common_name", c->common_name);
    add_nonempty(o, "valid_from", c->valid_from);
    add_nonempty(o, "valid_till", c->valid_till);
    add_nonempty(o, "date_issued", c->date_issued);
    if (c->valid_till[0] != '\0')
        cJSON_AddNumberToObject(o, "days_remaining", (double)c->days_remaining);
    return o;
}

cJSON *order_info_to_json(const order_info *info)
{
    cJSON *o = cJSON_CreateObject(), *reqs;

    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "order_id", (double)info->id);
    cJSON_AddStringToObject(o, "status", info->status);
    cJSON_AddStringToObject(o, "status_class", order_status_class_name(info->status_class));
    if (info->certificate.id != 0)
        cJSON_AddItemToObject(o, "certificate", certificate_to_json(&info->certificate));
    if (info->organization_id)
        cJSON_AddNumberToObject(o, "organization_id", (double)info->organization_id);
    add_nonempty(o, "product_name_id", info->product_name_id);
    add_nonempty(o, "date_created", info->date_created_str);
    reqs = cJSON_AddArrayToObject(o, "requests");
    for (size_t i = 0; reqs != NULL && i < info->n_requests; i++) {
        const order_request_item *r = &info->requests[i];
        cJSON *item = cJSON_CreateObject();

        if (item == NULL)
            break;
        cJSON_AddNumberToObject(item, "id", (double)r->id);
        add_nonempty(item, "type", r->type);
        cJSON_AddStringToObject(item, "status", r->status);
        add_nonempty(item, "date", r->date);
        cJSON_AddItemToArray(reqs, item);
    }
    return o;
}

/* For the other endpoint files (order_client_int.h): the same readers. */
bool order_json_long(const cJSON *obj, const char *name, long *out)
{
    return get_long(obj, name, out);
}

void order_json_str(const cJSON *obj, const char *name, char *buf, size_t size)
{
    get_str(obj, name, buf, size);
}
