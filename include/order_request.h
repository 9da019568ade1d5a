/*
 * The order request file: parse it (with line/column on syntax errors) and
 * validate it against every rule the endpoint documents, before anything is
 * sent.  Part of the order layer; knows nothing of HTTP or tokens.
 */
#ifndef QSCD_ORDER_REQUEST_H
#define QSCD_ORDER_REQUEST_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

/* All problems found, each "json.path: what is wrong (got ...)". */
typedef struct order_problems {
    size_t count;
    char **items;
} order_problems;

void order_problems_free(order_problems *p);

/*
 * Parse request text.  On a syntax error returns NULL and writes
 * "line N, column M: <what>" into err (1-based, columns in characters).
 */
cJSON *order_request_parse(const char *text, size_t len, char *err, size_t errlen);

/*
 * Check every documented rule of POST
 * /order/certificate/pkio_qualified_organisation_services.  `today` is the
 * reference time for custom_expiration_date.  Appends every problem found to
 * out (not only the first); returns the number of problems.  Unknown fields
 * are not problems: they pass through untouched.
 */
size_t order_request_validate(const cJSON *req, time_t today, order_problems *out);

#endif
