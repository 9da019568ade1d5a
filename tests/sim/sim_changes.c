/*
 * GET /order/certificate/status-changes?minutes=M (or seconds=S): the
 * orders whose status changed within the window, as
 * {"orders":[{"order_id","certificate_id","status"}]}.  CertCentral caps
 * the window at 7 days and answers 400 time_frame_too_long beyond it.
 *
 * The store computes an order's status when asked (sim_order_status), so
 * "when did it change" is tracked here: after every call the status of each
 * order is compared with the one seen last, and a difference is dated now.
 * A new order counts as changed when it was created.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_CHANGES_MAX_SECONDS (7L * 24 * 3600)

void sim_orders_track(sim_server *s)
{
    time_t now = time(NULL);

    for (size_t i = 0; i < s->orders.n; i++) {
        sim_order *o = &s->orders.v[i];
        const char *st = sim_order_status(s, o);

        if (!strcmp(st, o->seen_status))
            continue;
        o->status_changed = o->seen_status[0] ? now : o->created;
        snprintf(o->seen_status, sizeof o->seen_status, "%s", st);
    }
}

/* minutes= or seconds=: a positive decimal; 0 with r filled when bad. */
static long window_seconds(const sim_call *c, sim_reply *r)
{
    const char *m = sim_call_query(c, "minutes"), *sec = sim_call_query(c, "seconds");
    const char *v = m ? m : sec, *name = m ? "minutes" : "seconds";

    if ((m == NULL) == (sec == NULL)) {
        sim_reply_error(r, 400, "invalid_input",
                        "minutes or seconds: give exactly one of them (the window to look back)");
        return 0;
    }
    if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 12 ||
        strtol(v, NULL, 10) < 1) {
        sim_reply_error(r, 400, "invalid_input", "%s: must be a positive whole number (got \"%s\")",
                        name, v);
        return 0;
    }
    long n = strtol(v, NULL, 10);
    if (n > (m ? SIM_CHANGES_MAX_SECONDS / 60 : SIM_CHANGES_MAX_SECONDS)) {
        sim_reply_error(r, 400, "time_frame_too_long",
                        "%s: the time frame may be at most 7 days (%ld %s)", name,
                        m ? SIM_CHANGES_MAX_SECONDS / 60 : SIM_CHANGES_MAX_SECONDS, name);
        return 0;
    }
    return m ? n * 60 : n;
}

void sim_api_status_changes(sim_server *s, const sim_call *c, sim_reply *r)
{
    long window = window_seconds(c, r);
    time_t since = time(NULL) - window;

    if (window == 0)
        return;
    for (size_t i = 0; i < s->orders.n; i++)
        sim_order_settle(s, &s->orders.v[i]);
    sim_orders_track(s);
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(j, "orders");
    for (size_t i = 0; i < s->orders.n; i++) {
        sim_order *o = &s->orders.v[i];
        if (o->status_changed < since)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "order_id", (double)o->id);
        if (o->cert_id)
            cJSON_AddNumberToObject(e, "certificate_id", (double)o->cert_id);
        cJSON_AddStringToObject(e, "status", o->seen_status);
        cJSON_AddItemToArray(arr, e);
    }
    sim_reply_json(r, 200, j);
}
