/*
 * The API router (below /services/v2) and the read-only endpoints: order
 * info, request info (both count as polls), organisations.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool seg_is(const sim_call *c, size_t i, const char *want)
{
    return i < c->nseg && !strcmp(c->seg[i], want);
}

/* A decimal id in path segment i; 0 when it is not one. */
static long seg_id(const sim_call *c, size_t i)
{
    if (i >= c->nseg)
        return 0;
    const char *p = c->seg[i];
    char *end = NULL;
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 12)
        return 0;
    long v = strtol(p, &end, 10);
    return v > 0 ? v : 0;
}

static void order_info(sim_server *s, sim_reply *r, long id)
{
    sim_order *o = sim_find_order(s, id);
    if (!o) {
        sim_reply_error(r, 404, "not_found", "order %ld: no such order", id);
        return;
    }
    sim_request *last = sim_find_request(s, o->last_request_id);
    if (last)
        sim_request_poll(s, last);
    sim_order_settle(s, o);
    sim_reply_json(r, 200, sim_order_json(s, o, false));
}

static void request_info(sim_server *s, sim_reply *r, long id)
{
    sim_request *q = sim_find_request(s, id);
    if (!q) {
        sim_reply_error(r, 404, "not_found", "request %ld: no such request", id);
        return;
    }
    sim_request_poll(s, q);
    sim_order *o = sim_find_order(s, q->order_id);
    if (o)
        sim_order_settle(s, o);
    sim_reply_json(r, 200, sim_request_json(s, q));
}

static cJSON *org_json(const sim_org *g)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)g->id);
    cJSON_AddStringToObject(j, "name", g->name);
    cJSON_AddStringToObject(j, "display_name", g->name);
    cJSON_AddStringToObject(j, "country", g->country);
    cJSON_AddStringToObject(j, "organization_identifier", g->ident);
    cJSON_AddStringToObject(j, "status", "active");
    cJSON_AddBoolToObject(j, "is_active", true);
    return j;
}

static void org_info(sim_server *s, sim_reply *r, long id)
{
    sim_org *g = sim_find_org(s, id);
    if (!g)
        sim_reply_error(r, 404, "not_found", "organization %ld: no such organization", id);
    else
        sim_reply_json(r, 200, org_json(g));
}

static void org_list(sim_server *s, sim_reply *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(j, "organizations");
    for (size_t i = 0; i < s->orgs.n; i++)
        cJSON_AddItemToArray(arr, org_json(&s->orgs.v[i]));
    cJSON *page = cJSON_AddObjectToObject(j, "page");
    cJSON_AddNumberToObject(page, "total", (double)s->orgs.n);
    cJSON_AddNumberToObject(page, "limit", 1000);
    cJSON_AddNumberToObject(page, "offset", 0);
    sim_reply_json(r, 200, j);
}

static bool json_content(const sim_call *c)
{
    const char *ct = sim_call_header(c, "Content-Type");
    return ct && !strncasecmp(ct, "application/json", 16) &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

static void route_post(sim_server *s, const sim_call *c, sim_reply *r)
{
    if (!json_content(c)) {
        sim_reply_error(r, 415, "invalid_content_type",
                        "Content-Type: must be application/json");
        return;
    }
    if (c->nseg == 3 && seg_is(c, 0, "order") && seg_is(c, 1, "certificate")) {
        if (seg_is(c, 2, "pkio_qualified_organisation_services"))
            sim_api_order_create(s, c, r);
        else
            sim_reply_error(r, 404, "not_found",
                            "product %s: not offered by this simulator "
                            "(only pkio_qualified_organisation_services)", c->seg[2]);
        return;
    }
    if (c->nseg == 4 && seg_is(c, 0, "order") && seg_is(c, 1, "certificate") &&
        seg_id(c, 2) && seg_is(c, 3, "reissue")) {
        sim_api_order_reissue(s, c, r, seg_id(c, 2));
        return;
    }
    sim_reply_error(r, 404, "not_found", "POST %s: no such endpoint", c->path);
}

static void route_get(sim_server *s, const sim_call *c, sim_reply *r)
{
    if (c->nseg == 2 && seg_is(c, 0, "order") && seg_is(c, 1, "certificate"))
        sim_api_order_list(s, c, r);
    else if (c->nseg == 3 && seg_is(c, 0, "order") && seg_is(c, 1, "certificate") &&
             seg_is(c, 2, "status-changes"))
        sim_api_status_changes(s, c, r);
    else if (c->nseg == 3 && seg_is(c, 0, "order") && seg_is(c, 1, "certificate") &&
             seg_id(c, 2))
        order_info(s, r, seg_id(c, 2));
    else if (c->nseg == 2 && seg_is(c, 0, "request") && seg_id(c, 1))
        request_info(s, r, seg_id(c, 1));
    else if (c->nseg == 5 && seg_is(c, 0, "certificate") && seg_id(c, 1) &&
             seg_is(c, 2, "download") && seg_is(c, 3, "format"))
        sim_api_download(s, r, seg_id(c, 1), 0, c->seg[4]);
    else if (c->nseg == 6 && seg_is(c, 0, "certificate") && seg_is(c, 1, "download") &&
             seg_is(c, 2, "order") && seg_id(c, 3) && seg_is(c, 4, "format"))
        sim_api_download(s, r, 0, seg_id(c, 3), c->seg[5]);
    else if (c->nseg == 1 && seg_is(c, 0, "organization"))
        org_list(s, r);
    else if (c->nseg == 2 && seg_is(c, 0, "organization") && seg_id(c, 1))
        org_info(s, r, seg_id(c, 1));
    else
        sim_reply_error(r, 404, "not_found", "GET %s: no such endpoint", c->path);
}

void sim_api_route(sim_server *s, const sim_call *c, sim_reply *r)
{
    if (!strcmp(c->method, "POST"))
        route_post(s, c, r);
    else if (!strcmp(c->method, "GET"))
        route_get(s, c, r);
    else
        sim_reply_error(r, 405, "method_not_allowed", "%s %s: method not supported",
                        c->method, c->path);
}
