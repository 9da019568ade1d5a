/*
 * The admin API under /_sim: what a test does in DigiCert's place (ship the
 * token's key, approve, reject, cancel), arming faults, stats, reset.  No API key:
 * the simulator only listens on loopback.
 */
#include "sim.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long body_order_id(const cJSON *body)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "order_id");
    if (cJSON_IsNumber(v) && v->valuedouble >= 1)
        return (long)v->valuedouble;
    if (cJSON_IsString(v))
        return strtol(v->valuestring, NULL, 10);
    return 0;
}

/* The order named by the body's order_id, or NULL with r filled. */
static sim_order *body_order(sim_server *s, const cJSON *body, sim_reply *r)
{
    long id = body_order_id(body);
    sim_order *o = id ? sim_find_order(s, id) : NULL;
    if (!id)
        sim_reply_error(r, 400, "invalid_input", "order_id: required (a number)");
    else if (!o)
        sim_reply_error(r, 404, "not_found", "order %ld: no such order", id);
    return o;
}

static void reply_order_state(sim_server *s, sim_order *o, sim_reply *r)
{
    sim_order_settle(s, o);
    cJSON *j = cJSON_CreateObject();
    sim_request *q = sim_find_request(s, o->last_request_id);
    cJSON_AddNumberToObject(j, "order_id", (double)o->id);
    cJSON_AddStringToObject(j, "status", sim_order_status(s, o));
    if (q)
        cJSON_AddStringToObject(j, "request_status", q->status);
    if (o->cert_id)
        cJSON_AddNumberToObject(j, "certificate_id", (double)o->cert_id);
    sim_reply_json(r, 200, j);
}

static void admin_ship(sim_server *s, const cJSON *body, sim_reply *r)
{
    sim_order *o = body_order(s, body, r);
    if (!o)
        return;
    const cJSON *pemv = cJSON_GetObjectItemCaseSensitive(body, "public_key_pem");
    if (!cJSON_IsString(pemv)) {
        sim_reply_error(r, 400, "invalid_input", "public_key_pem: required (PEM SubjectPublicKeyInfo)");
        return;
    }
    BIO *b = BIO_new_mem_buf(pemv->valuestring, -1);
    EVP_PKEY *key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (!key) {
        sim_reply_error(r, 400, "invalid_input",
                        "public_key_pem: not a PEM public key (-----BEGIN PUBLIC KEY-----)");
        return;
    }
    EVP_PKEY_free(o->shipped_key);
    o->shipped_key = key;
    reply_order_state(s, o, r);
}

/* What /_sim/approve, /reject and /cancel do to the latest request. */
enum sim_decision { SIM_APPROVE, SIM_REJECT, SIM_CANCEL };

static void admin_decide(sim_server *s, const cJSON *body, sim_reply *r, enum sim_decision d)
{
    sim_order *o = body_order(s, body, r);
    if (!o)
        return;
    sim_request *q = sim_find_request(s, o->last_request_id);
    if (!q || (strcmp(q->status, "pending") && strcmp(q->status, "submitted"))) {
        sim_reply_error(r, 409, "conflict", "order %ld: its latest request is already %s",
                        o->id, q ? q->status : "gone");
        return;
    }
    if (d == SIM_APPROVE)
        sim_request_approve(s, q, true);
    else
        snprintf(q->status, sizeof q->status, "%s", d == SIM_REJECT ? "rejected" : "canceled");
    reply_order_state(s, o, r);
}

/*
 * Report any order status string from now on (a status CertCentral may add
 * one day); "" goes back to the simulated one.
 */
static void admin_status(sim_server *s, const cJSON *body, sim_reply *r)
{
    sim_order *o = body_order(s, body, r);
    if (!o)
        return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "status");
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof o->status_override) {
        sim_reply_error(r, 400, "invalid_input", "status: required (a string, \"\" to clear)");
        return;
    }
    snprintf(o->status_override, sizeof o->status_override, "%s", v->valuestring);
    reply_order_state(s, o, r);
}

static int int_of(const cJSON *v, int def)
{
    return cJSON_IsNumber(v) ? v->valueint : cJSON_IsTrue(v) ? 1 : cJSON_IsFalse(v) ? 0 : def;
}

static cJSON *faults_json(const sim_faults *f)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "reject_orders", f->reject_orders);
    cJSON *s429 = cJSON_AddObjectToObject(j, "status_429");
    cJSON_AddNumberToObject(s429, "count", f->n429);
    if (f->retry_after >= 0)
        cJSON_AddNumberToObject(s429, "retry_after", f->retry_after);
    cJSON *s5 = cJSON_AddObjectToObject(j, "status_5xx");
    cJSON_AddNumberToObject(s5, "count", f->n5xx);
    cJSON_AddNumberToObject(s5, "code", f->code5xx);
    cJSON *s403 = cJSON_AddObjectToObject(j, "status_403");
    cJSON_AddNumberToObject(s403, "count", f->n403);
    cJSON_AddNumberToObject(j, "drop_after_store", f->drop_after_store);
    cJSON_AddNumberToObject(j, "drop_after_reissue", f->drop_after_reissue);
    cJSON_AddNumberToObject(j, "redirect_after_store", f->redirect_after_store);
    cJSON_AddNumberToObject(j, "delay_ms", f->delay_ms);
    cJSON_AddNumberToObject(j, "delay_count", f->delay_count);
    cJSON_AddNumberToObject(j, "malformed_json", f->malformed);
    cJSON_AddNumberToObject(j, "truncated_json", f->truncated);
    cJSON_AddNumberToObject(j, "truncated_pem", f->truncated_pem);
    cJSON_AddNumberToObject(j, "list_limit_max", f->list_limit_max);
    cJSON_AddBoolToObject(j, "list_bare", f->list_bare);
    return j;
}

/* Each key given replaces that fault's setting; the others stay armed. */
static void admin_faults(sim_server *s, const cJSON *b, sim_reply *r)
{
    sim_faults f = s->faults;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "reject_orders")))
        f.reject_orders = int_of(v, 0) != 0;
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "status_429"))) {
        f.n429 = int_of(cJSON_GetObjectItemCaseSensitive(v, "count"), 1);
        f.retry_after = int_of(cJSON_GetObjectItemCaseSensitive(v, "retry_after"), -1);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "status_5xx"))) {
        f.n5xx = int_of(cJSON_GetObjectItemCaseSensitive(v, "count"), 1);
        f.code5xx = int_of(cJSON_GetObjectItemCaseSensitive(v, "code"), 503);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "status_403")))
        f.n403 = int_of(cJSON_GetObjectItemCaseSensitive(v, "count"), 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "drop_after_store")))
        f.drop_after_store = int_of(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "drop_after_reissue")))
        f.drop_after_reissue = int_of(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "redirect_after_store")))
        f.redirect_after_store = int_of(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "delay_ms"))) {
        f.delay_ms = int_of(v, 0);
        f.delay_count = int_of(cJSON_GetObjectItemCaseSensitive(b, "delay_count"), 1);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "malformed_json")))
        f.malformed = int_of(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "truncated_json")))
        f.truncated = int_of(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "truncated_pem")))
        f.truncated_pem = int_of(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "list_limit_max")))
        f.list_limit_max = int_of(v, 0);
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "list_bare")))
        f.list_bare = int_of(v, 0) != 0;
    if (f.n5xx > 0 && (f.code5xx < 500 || f.code5xx > 599)) {
        sim_reply_error(r, 400, "invalid_input", "status_5xx.code: must be 500..599 (got %d)",
                        f.code5xx);
        return;
    }
    if (f.n429 < 0 || f.n5xx < 0 || f.n403 < 0 || f.delay_ms < 0 || f.delay_ms > 600000 ||
        f.list_limit_max < 0) {
        sim_reply_error(r, 400, "invalid_input",
                        "faults: counts must be >= 0 and delay_ms 0..600000");
        return;
    }
    s->faults = f;
    sim_reply_json(r, 200, faults_json(&s->faults));
}

/* The organisation of /_sim/orders: organization_id, or a new one by name. */
static long orders_org(sim_server *s, const cJSON *body, sim_reply *r)
{
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(body, "organization_id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "organization_name");
    sim_org *g;

    if (cJSON_IsString(name) && name->valuestring[0]) {
        if ((g = sim_add_org(s, name->valuestring, "NTRNL-99999999", "NL")) == NULL)
            sim_reply_error(r, 500, "internal_error", "out of memory");
        return g ? g->id : 0;
    }
    long id = cJSON_IsNumber(idv) ? (long)idv->valuedouble : 2042709;
    if (!sim_find_org(s, id)) {
        sim_reply_error(r, 400, "invalid_input", "organization_id: no organization %ld", id);
        return 0;
    }
    return id;
}

/*
 * Orders placed by someone else on the account (another desk, the web
 * portal): {"count":N, "organization_id":ID | "organization_name":NAME,
 * "common_name":CN, "age_seconds":S, "date_created":RAW}.  Not counted in
 * orders_created, which counts the orders placed through the API.
 */
static void admin_orders(sim_server *s, const cJSON *body, sim_reply *r)
{
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(body, "common_name");
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(body, "date_created");
    int count = int_of(cJSON_GetObjectItemCaseSensitive(body, "count"), 1);
    int age = int_of(cJSON_GetObjectItemCaseSensitive(body, "age_seconds"), 0);
    long org_id;

    if (count < 1 || count > 1000 || age < 0) {
        sim_reply_error(r, 400, "invalid_input", "count: 1..1000, age_seconds: >= 0");
        return;
    }
    if ((org_id = orders_org(s, body, r)) == 0)
        return;
    cJSON *j = cJSON_CreateObject();
    cJSON *ids = cJSON_AddArrayToObject(j, "ids");
    for (int i = 0; i < count; i++) {
        sim_order *o = sim_add_order(s);
        if (!o || !sim_add_request(s, o, false)) {
            cJSON_Delete(j);
            sim_reply_error(r, 500, "internal_error", "out of memory");
            return;
        }
        s->orders_created--;
        o->org_id = org_id;
        o->created -= age;
        snprintf(o->common_name, sizeof o->common_name, "%s",
                 cJSON_IsString(cn) ? cn->valuestring : "");
        if (cJSON_IsString(raw))
            snprintf(o->date_override, sizeof o->date_override, "%s", raw->valuestring);
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)o->id));
    }
    sim_reply_json(r, 200, j);
}

static void admin_stats(sim_server *s, sim_reply *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "orders_created", (double)s->orders_created);
    cJSON_AddItemToObject(j, "requests", cJSON_Duplicate(s->stats_requests, true));
    cJSON_AddItemToObject(j, "log", cJSON_Duplicate(s->stats_log, true));
    cJSON_AddItemToObject(j, "faults", faults_json(&s->faults));
    sim_reply_json(r, 200, j);
}

static void admin_reset(sim_server *s, sim_reply *r)
{
    sim_store_clear(s);
    if (sim_store_init(s)) {
        sim_reply_error(r, 500, "internal_error", "out of memory");
        return;
    }
    sim_reply_json(r, 200, cJSON_CreateObject());
}

void sim_admin_route(sim_server *s, const sim_call *c, sim_reply *r)
{
    const char *what = c->nseg == 1 ? c->seg[0] : "";
    bool get = !strcmp(c->method, "GET"), post = !strcmp(c->method, "POST");
    if (get && !strcmp(what, "stats")) {
        admin_stats(s, r);
    } else if (get && !strcmp(what, "faults")) {
        sim_reply_json(r, 200, faults_json(&s->faults));
    } else if (post && !strcmp(what, "reset")) {
        admin_reset(s, r);
    } else if (post && (!strcmp(what, "ship") || !strcmp(what, "approve") ||
                        !strcmp(what, "reject") || !strcmp(what, "faults") ||
                        !strcmp(what, "status") || !strcmp(what, "cancel") ||
                        !strcmp(what, "orders"))) {
        cJSON *body = sim_call_json(c, r);
        if (!body)
            return;
        if (!strcmp(what, "ship"))
            admin_ship(s, body, r);
        else if (!strcmp(what, "faults"))
            admin_faults(s, body, r);
        else if (!strcmp(what, "status"))
            admin_status(s, body, r);
        else if (!strcmp(what, "orders"))
            admin_orders(s, body, r);
        else
            admin_decide(s, body, r, !strcmp(what, "approve") ? SIM_APPROVE
                                     : !strcmp(what, "reject") ? SIM_REJECT : SIM_CANCEL);
        cJSON_Delete(body);
    } else {
        sim_reply_error(r, 404, "not_found", "%s /_sim%s: no such admin endpoint",
                        c->method, c->path);
    }
}
