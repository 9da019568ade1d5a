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

/*
 * All problems found, each "json.path: what is wrong (got ...)".
 * Start from a zeroed struct (order_problems p = {0};), free with
 * order_problems_free().  Messages never carry a card number or CVV.
 */
typedef struct order_problems {
    size_t count;
    char **items;
    size_t cap;     /* allocated slots in items (owned by order_request) */
} order_problems;

void order_problems_free(order_problems *p);

/*
 * Parse request text.  On a syntax error returns NULL and writes
 * "line N, column M: <what>" into err (1-based, columns in characters).
 * Empty input, a byte order mark, NUL bytes, invalid UTF-8, trailing data
 * and a top level that is not an object are errors too.  text need not be
 * NUL-terminated.
 */
cJSON *order_request_parse(const char *text, size_t len, char *err, size_t errlen);

/*
 * Check every documented rule of POST
 * /order/certificate/pkio_qualified_organisation_services.  `today` is the
 * reference time for custom_expiration_date and the card's expiry (its UTC
 * calendar date is used).  Appends every problem found to out (not only the
 * first; out may be NULL to only count); returns the number of problems
 * found.  Unknown fields are not problems: they pass through untouched.
 */
size_t order_request_validate(const cJSON *req, time_t today, order_problems *out);

/*
 * Free a request tree with every key and string value overwritten first:
 * a request may hold card data (credit_card), and no plaintext copy of it
 * is left behind in freed memory.  NULL is fine.
 */
void order_request_free(cJSON *req);

#endif
