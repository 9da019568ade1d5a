/*
 * What the client's endpoint files share beyond include/order/order.h:
 * one paced, retried GET of a path below the API URL, and the JSON field
 * readers of order_parse.c.  Not part of the order interface.
 */
#ifndef QSCD_ORDER_CLIENT_INT_H
#define QSCD_ORDER_CLIENT_INT_H

#include "http.h"
#include "order.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* GET path (below the API URL) through the pacing and retries; `what`
 * names it in messages ("the order list").  Free r with http_response_free. */
int order_client_get_json(order_client *c, const char *path, const char *what,
                          http_response *r, order_err *err);

/* order_parse.c's readers: an id (number or digit string), a string kept
 * as received minus control characters, a JSON object. */
bool         order_json_long(const cJSON *obj, const char *name, long *out);
void         order_json_str(const cJSON *obj, const char *name, char *buf, size_t size);
#endif
