/*
 * Shared pieces of request validation: the problem list, value
 * descriptions for messages, typed member access, calendar arithmetic.
 */
#include "order_validate_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void order_problems_free(order_problems *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++)
        free(p->items[i]);
    free(p->items);
    p->items = NULL;
    p->count = 0;
    p->cap = 0;
}

/* Keeps the message; on allocation failure the problem is still counted. */
static void problems_append(order_problems *p, char *msg)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        char **items = realloc(p->items, cap * sizeof *items);
        if (items == NULL) {
            free(msg);
            return;
        }
        p->items = items;
        p->cap = cap;
    }
    p->items[p->count++] = msg;
}

void order_v_problem(order_vctx *v, const char *path, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    char *msg = NULL;

    v->found++;
    if (v->out == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (asprintf(&msg, "%s: %s", path, what) < 0)
        return;
    problems_append(v->out, msg);
}

void order_v_quote(const char *s, char *buf, size_t len)
{
    size_t o = 0, n = 0;

    if (len < 8) {
        if (len)
            buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    /* Room for the longest escape, "...", the closing quote and NUL. */
    for (; *s && o + 10 < len; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (n == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, len - o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* Whole within 2^53 (no libm: the agent does not link it). */
static bool is_whole(double d)
{
    return isfinite(d) && d > -9007199254740992.0 && d < 9007199254740992.0 &&
           d == (double)(long long)d;
}

static void describe_number(double d, char *buf, size_t len)
{
    if (is_whole(d) && d > -1e15 && d < 1e15)
        snprintf(buf, len, "number %.0f", d);
    else
        snprintf(buf, len, "number %g", d);
}

void order_v_describe(const cJSON *item, bool secret, char *buf, size_t len)
{
    char q[64];

    if (item == NULL)
        snprintf(buf, len, "nothing");
    else if (cJSON_IsString(item) && !secret) {
        order_v_quote(item->valuestring, q, sizeof q);
        snprintf(buf, len, "string %s", q);
    } else if (cJSON_IsString(item))
        snprintf(buf, len, "a string");
    else if (cJSON_IsNumber(item) && !secret)
        describe_number(item->valuedouble, buf, len);
    else if (cJSON_IsNumber(item))
        snprintf(buf, len, "a number");
    else if (cJSON_IsTrue(item))
        snprintf(buf, len, "true");
    else if (cJSON_IsFalse(item))
        snprintf(buf, len, "false");
    else if (cJSON_IsNull(item))
        snprintf(buf, len, "null");
    else if (cJSON_IsArray(item))
        snprintf(buf, len, "an array");
    else
        snprintf(buf, len, "an object");
}

void order_v_path(char *buf, size_t len, const char *parent, const char *key)
{
    if (parent == NULL || parent[0] == '\0')
        snprintf(buf, len, "%s", key);
    else
        snprintf(buf, len, "%s.%s", parent, key);
}

const cJSON *order_v_field(order_vctx *v, const cJSON *obj, const char *objpath,
                           const char *key)
{
    const cJSON *first = NULL, *it;
    unsigned times = 0;

    if (!cJSON_IsObject(obj))
        return NULL;
    cJSON_ArrayForEach(it, obj) {
        if (it->string == NULL || strcmp(it->string, key) != 0)
            continue;
        if (first == NULL)
            first = it;
        times++;
    }
    if (times > 1) {
        char path[ORDER_V_PATH_MAX];
        order_v_path(path, sizeof path, objpath, key);
        order_v_problem(v, path, "given %u times; give it once", times);
    }
    return first;
}

const char *order_v_string(order_vctx *v, const cJSON *obj, const char *objpath,
                           const char *key, bool required, const char *hint)
{
    char path[ORDER_V_PATH_MAX], got[96];
    const cJSON *it = order_v_field(v, obj, objpath, key);

    order_v_path(path, sizeof path, objpath, key);
    if (it == NULL || cJSON_IsNull(it)) {
        if (required)
            order_v_problem(v, path, "is required (%s)", hint);
        return NULL;
    }
    if (!cJSON_IsString(it)) {
        order_v_describe(it, false, got, sizeof got);
        order_v_problem(v, path, "must be a string (got %s)", got);
        return NULL;
    }
    if (it->valuestring[0] == '\0') {
        order_v_problem(v, path, "must not be empty (%s)", hint);
        return NULL;
    }
    return it->valuestring;
}

const cJSON *order_v_object(order_vctx *v, const cJSON *obj, const char *objpath,
                            const char *key, bool required, const char *hint)
{
    char path[ORDER_V_PATH_MAX], got[96];
    const cJSON *it = order_v_field(v, obj, objpath, key);

    order_v_path(path, sizeof path, objpath, key);
    if (it == NULL || (cJSON_IsNull(it) && !required)) {
        if (required)
            order_v_problem(v, path, "is required (%s)", hint);
        return NULL;
    }
    if (!cJSON_IsObject(it)) {
        order_v_describe(it, false, got, sizeof got);
        order_v_problem(v, path, "must be an object (got %s)", got);
        return NULL;
    }
    return it;
}

bool order_v_is_int(const cJSON *item, long long lo, long long hi, long long *out)
{
    double d;

    if (!cJSON_IsNumber(item))
        return false;
    d = item->valuedouble;
    if (!is_whole(d) || d < (double)lo || d > (double)hi)
        return false;
    if (out)
        *out = (long long)d;
    return true;
}

bool order_v_digits(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

void order_v_id(order_vctx *v, const cJSON *item, const char *path)
{
    char got[96];

    /* 2^53: beyond it a JSON number no longer holds every integer. */
    if (order_v_is_int(item, 1, 9007199254740992LL, NULL))
        return;
    if (cJSON_IsString(item) && order_v_digits(item->valuestring) &&
        strlen(item->valuestring) <= 15 && strspn(item->valuestring, "0") !=
        strlen(item->valuestring))
        return;
    order_v_describe(item, false, got, sizeof got);
    order_v_problem(v, path, "must be a positive integer or a string of digits "
                    "(got %s)", got);
}

bool order_v_one_of(const char *s, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(s, *allowed) == 0)
            return true;
    return false;
}

/* Howard Hinnant's days_from_civil: proleptic Gregorian, any year. */
int order_v_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void order_v_civil_from_days(int z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int order_v_days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (m < 1 || m > 12)
        return 0;
    return m == 2 && leap ? 29 : days[m - 1];
}
