/*
 * Private to the order_validate*.c files: the walk context and the small
 * checks every part of the request shares.  Every reported path is the
 * JSON path of the field ("organization.contacts[1].email").
 */
#ifndef QSCD_ORDER_VALIDATE_INT_H
#define QSCD_ORDER_VALIDATE_INT_H

#include "order_request.h"

#include <stdbool.h>

#define ORDER_V_PATH_MAX 128

typedef struct order_vctx {
    order_problems *out;  /* may be NULL: only count */
    size_t found;         /* problems found by this walk */
    int today_days;       /* today's UTC date, days since 1970-01-01 */
} order_vctx;

/* Report one problem: "<path>: <message>". */
void order_v_problem(order_vctx *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * What a value is, for "(got ...)": `string "yes"`, `number 3`, `true`,
 * `null`, `an object`, `an array`.  With secret set only the type is named,
 * never the value (card number, CVV).
 */
void order_v_describe(const cJSON *item, bool secret, char *buf, size_t len);

/* A string value quoted and escaped for a message, cut at 40 characters. */
void order_v_quote(const char *s, char *buf, size_t len);

/* "parent.key", or "key" at the top level (parent ""). */
void order_v_path(char *buf, size_t len, const char *parent, const char *key);

/*
 * The member `key` of obj (case-sensitive), or NULL.  A key given twice is
 * reported: cJSON would check the first while the server may use the last.
 */
const cJSON *order_v_field(order_vctx *v, const cJSON *obj, const char *objpath,
                           const char *key);

/*
 * A string member.  Required: missing or null is reported with `hint`
 * ("is required (<hint>)").  Optional: missing or null gives NULL silently.
 * Wrong type or "" is reported.  Returns the string only when it is usable.
 */
const char *order_v_string(order_vctx *v, const cJSON *obj, const char *objpath,
                           const char *key, bool required, const char *hint);

/* Same for an object member. */
const cJSON *order_v_object(order_vctx *v, const cJSON *obj, const char *objpath,
                            const char *key, bool required, const char *hint);

/* A JSON number holding a whole value in [lo, hi]. */
bool order_v_is_int(const cJSON *item, long long lo, long long hi, long long *out);

/* An id: a positive integer, or a string of digits ("2042709"). */
void order_v_id(order_vctx *v, const cJSON *item, const char *path);

/* True when s equals one of the NULL-terminated list. */
bool order_v_one_of(const char *s, const char *const *allowed);

/* True when s is non-empty and only ASCII digits. */
bool order_v_digits(const char *s);

/* Calendar arithmetic on UTC dates, as days since 1970-01-01. */
int order_v_days_from_civil(int y, int m, int d);
void order_v_civil_from_days(int days, int *y, int *m, int *d);
int order_v_days_in_month(int y, int m);

/* The parts of the request, each in its own file. */
void order_validate_certificate(order_vctx *v, const cJSON *req);
void order_validate_shipping(order_vctx *v, const cJSON *req);
void order_validate_validity(order_vctx *v, const cJSON *req);
void order_validate_organization(order_vctx *v, const cJSON *req);
void order_validate_payment(order_vctx *v, const cJSON *req);

#endif
