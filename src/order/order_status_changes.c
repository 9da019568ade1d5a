/*
 * GET /order/certificate/status-changes?seconds=S: the orders whose status
 * changed in the last S seconds (at most 7 days), so that a refresh of many
 * jobs costs one request instead of one per order.  The parser is a pure
 * function of the reply text (fuzzed on its own); the fetch goes through
 * the client's pacing, the shared ledger and its retries like every call.
 */
#include "order.h"
#include "order_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int order_parse_status_changes(const char *body, size_t len, order_status_change **out,
                               size_t *n, size_t *skipped, order_err *err)
{
    const char *what = "the status-changes request";
    cJSON *root = NULL;
    const cJSON *orders, *item;
    size_t count, bad = 0;

    *out = NULL;
    *n = 0;
    if (skipped != NULL)
        *skipped = 0;
    if (body == NULL || len == 0 || (root = cJSON_ParseWithLength(body, len)) == NULL ||
        !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        order_err_set(err, ORDER_ERR_PROTOCOL,
                      "CertCentral's reply to %s is not a JSON object", what);
        return ORDER_ERR_PROTOCOL;
    }
    orders = cJSON_GetObjectItemCaseSensitive(root, "orders");
    if (!cJSON_IsArray(orders)) {
        cJSON_Delete(root);
        order_err_set(err, ORDER_ERR_PROTOCOL,
                      "CertCentral's reply to %s has no \"orders\" array", what);
        return ORDER_ERR_PROTOCOL;
    }
    count = (size_t)cJSON_GetArraySize(orders);
    if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
        cJSON_Delete(root);
        order_err_set(err, ORDER_ERR_NOMEM, "out of memory");
        return ORDER_ERR_NOMEM;
    }
    cJSON_ArrayForEach(item, orders) {
        order_status_change *e = &(*out)[*n];

        if (!cJSON_IsObject(item) || !order_json_long(item, "order_id", &e->order_id) ||
            e->order_id <= 0) {
            memset(e, 0, sizeof(*e));
            bad++;
            continue;
        }
        if (!order_json_long(item, "certificate_id", &e->certificate_id) ||
            e->certificate_id < 0)
            e->certificate_id = 0;
        order_json_str(item, "status", e->status, sizeof(e->status));
        e->status_class = order_status_classify(e->status);
        (*n)++;
    }
    if (skipped != NULL)
        *skipped = bad;
    cJSON_Delete(root);
    return ORDER_OK;
}

int order_status_changes(order_client *c, long seconds, order_status_change **out, size_t *n,
                         order_err *err)
{
    http_response r = { 0 };
    char path[96];
    int rc;

    *out = NULL;
    *n = 0;
    if (c == NULL || seconds < 1 || seconds > ORDER_STATUS_CHANGES_MAX_S) {
        order_err_set(err, ORDER_ERR_INVALID,
                      "status changes: the window must be 1 to %ld seconds (7 days; got %ld)",
                      ORDER_STATUS_CHANGES_MAX_S, seconds);
        return ORDER_ERR_INVALID;
    }
    snprintf(path, sizeof(path), "/order/certificate/status-changes?seconds=%ld", seconds);
    rc = order_client_get_json(c, path, "the status changes", &r, err);
    if (rc == ORDER_OK)
        rc = order_parse_status_changes(r.body, r.len, out, n, NULL, err);
    http_response_free(&r);
    return rc;
}
