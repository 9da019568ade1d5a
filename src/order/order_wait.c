/*
 * Waiting for an order: poll with exponential backoff and jitter until it
 * is approved or issued, rejected, or the time is up.  Each poll goes
 * through order_get, which paces and retries on its own; an error that
 * survives those retries ends the wait.
 */
#include "order.h"
#include "monotonic.h"

#include <stdio.h>
#include <string.h>

const order_request_item *order_latest_request(const order_info *info)
{
    const order_request_item *best = NULL;

    for (size_t i = 0; i < info->n_requests; i++)
        if (best == NULL || info->requests[i].id > best->id)
            best = &info->requests[i];
    return best;
}

bool order_reached(const order_info *info, order_wait_target target)
{
    const order_request_item *req;

    if (info == NULL || order_status_is_final(info, NULL, 0))
        return false;
    if (info->status_class == ORDER_ST_ISSUED)
        return true;
    if (target == ORDER_WAIT_ISSUED)
        return false;
    if (info->certificate.id != 0)
        return true;
    req = order_latest_request(info);
    return req != NULL && req->status_class == ORDER_ST_APPROVED;
}

bool order_status_is_final(const order_info *info, char *why, size_t len)
{
    const order_request_item *req = info ? order_latest_request(info) : NULL;
    char ignored[1];

    if (why == NULL || len == 0)
        why = ignored, len = sizeof(ignored);
    if (info == NULL)
        return false;
    switch (info->status_class) {
    case ORDER_ST_REJECTED:
    case ORDER_ST_CANCELED:
        snprintf(why, len, "order %ld was %s by CertCentral", info->id, info->status);
        return true;
    case ORDER_ST_REVOKED:
    case ORDER_ST_EXPIRED:
        snprintf(why, len, "order %ld is %s: its certificate will not be issued again",
                 info->id, info->status);
        return true;
    default:
        break;
    }
    if (req != NULL && (req->status_class == ORDER_ST_REJECTED ||
                        req->status_class == ORDER_ST_CANCELED)) {
        snprintf(why, len, "order %ld: request %ld was %s by CertCentral", info->id, req->id,
                 req->status);
        return true;
    }
    return false;
}

static void timed_out(const order_info *info, double waited, order_wait_target target,
                      order_err *err)
{
    const order_request_item *req = order_latest_request(info);

    order_err_set(err, ORDER_ERR_TIMEOUT,
                  "order %ld is not %s yet after %.0f s (order status \"%s\"%s%s%s); "
                  "run the wait again later", info->id,
                  target == ORDER_WAIT_ISSUED ? "issued" : "approved", waited,
                  info->status, req ? ", request \"" : "", req ? req->status : "",
                  req ? "\"" : "");
    err->retryable = true;
}

int order_wait(order_client *c, long order_id, const order_wait_opts *opts,
               order_progress_fn cb, void *ctx, order_info *out, order_err *err)
{
    order_wait_opts o = opts ? *opts : (order_wait_opts){ 0 };
    double start = monotonic_now();
    char why[256];
    int rc;

    memset(out, 0, sizeof(*out));
    if (o.poll_start_s <= 0)
        o.poll_start_s = 2.0;
    if (o.poll_cap_s <= 0)
        o.poll_cap_s = 60.0;
    if (o.poll_factor < 1.0)
        o.poll_factor = 1.5;
    for (int attempt = 1;; attempt++) {
        double elapsed, next;

        order_info_free(out);
        rc = order_get(c, order_id, out, err);
        if (rc != ORDER_OK)
            return rc;
        if (order_status_is_final(out, why, sizeof(why))) {
            order_err_set(err, ORDER_ERR_REJECTED, "%s", why);
            return err->code;
        }
        if (order_reached(out, o.target))
            return ORDER_OK;
        elapsed = monotonic_now() - start;
        if (o.timeout_s > 0 && elapsed >= o.timeout_s) {
            timed_out(out, elapsed, o.target, err);
            return err->code;
        }
        next = order_backoff_delay(attempt, o.poll_start_s, o.poll_factor, o.poll_cap_s,
                                   order_jitter());
        if (o.timeout_s > 0 && next > o.timeout_s - elapsed)
            next = o.timeout_s - elapsed;
        if (cb != NULL)
            cb(ctx, out, elapsed, next);
        stoppable_sleep(next, NULL);
    }
}
