/*
 * The simulator's order store: organisations, orders, requests and issued
 * certificates, how a request advances, and how they look as JSON.
 * Callers hold s->lock.
 */
#include "sim.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRESET_ORG_ID 2042709

#define VEC_GROW(vec) \
    ((vec).n < (vec).cap || vec_grow((void **)&(vec).v, &(vec).cap, sizeof *(vec).v) == 0)

static int vec_grow(void **v, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, ncap * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = ncap;
    return 0;
}

int sim_store_init(sim_server *s)
{
    s->next_order = 100001;
    s->next_request = 200001;
    s->next_cert = 300001;
    s->next_org = 2100001;
    s->orders_created = 0;
    memset(&s->faults, 0, sizeof s->faults);
    s->faults.retry_after = -1;
    s->stats_requests = cJSON_CreateObject();
    s->stats_log = cJSON_CreateArray();
    if (!s->stats_requests || !s->stats_log)
        return -1;
    sim_org *o = sim_add_org(s, "Example Seal B.V.", "NTRNL-12345678", "NL");
    if (!o)
        return -1;
    o->id = PRESET_ORG_ID;
    s->next_org--;
    return 0;
}

void sim_store_clear(sim_server *s)
{
    for (size_t i = 0; i < s->orders.n; i++)
        EVP_PKEY_free(s->orders.v[i].shipped_key);
    for (size_t i = 0; i < s->requests.n; i++)
        EVP_PKEY_free(s->requests.v[i].csr_key);
    for (size_t i = 0; i < s->certs.n; i++)
        X509_free(s->certs.v[i].x509);
    free(s->orgs.v);
    free(s->orders.v);
    free(s->requests.v);
    free(s->certs.v);
    memset(&s->orgs, 0, sizeof s->orgs);
    memset(&s->orders, 0, sizeof s->orders);
    memset(&s->requests, 0, sizeof s->requests);
    memset(&s->certs, 0, sizeof s->certs);
    cJSON_Delete(s->stats_requests);
    cJSON_Delete(s->stats_log);
    s->stats_requests = s->stats_log = NULL;
}

sim_org *sim_find_org(sim_server *s, long id)
{
    for (size_t i = 0; i < s->orgs.n; i++)
        if (s->orgs.v[i].id == id)
            return &s->orgs.v[i];
    return NULL;
}

sim_order *sim_find_order(sim_server *s, long id)
{
    for (size_t i = 0; i < s->orders.n; i++)
        if (s->orders.v[i].id == id)
            return &s->orders.v[i];
    return NULL;
}

sim_request *sim_find_request(sim_server *s, long id)
{
    for (size_t i = 0; i < s->requests.n; i++)
        if (s->requests.v[i].id == id)
            return &s->requests.v[i];
    return NULL;
}

sim_cert *sim_find_cert(sim_server *s, long id)
{
    for (size_t i = 0; i < s->certs.n; i++)
        if (s->certs.v[i].id == id)
            return &s->certs.v[i];
    return NULL;
}

sim_org *sim_add_org(sim_server *s, const char *name, const char *ident, const char *country)
{
    if (!VEC_GROW(s->orgs))
        return NULL;
    sim_org *o = &s->orgs.v[s->orgs.n++];
    memset(o, 0, sizeof *o);
    o->id = s->next_org++;
    snprintf(o->name, sizeof o->name, "%s", name);
    snprintf(o->ident, sizeof o->ident, "%s", ident);
    snprintf(o->country, sizeof o->country, "%s", country);
    return o;
}

sim_order *sim_add_order(sim_server *s)
{
    if (!VEC_GROW(s->orders))
        return NULL;
    sim_order *o = &s->orders.v[s->orders.n++];
    memset(o, 0, sizeof *o);
    o->id = s->next_order++;
    o->created = time(NULL);
    o->validity_days = 365;
    s->orders_created++;
    return o;
}

sim_request *sim_add_request(sim_server *s, sim_order *o, bool reissue)
{
    if (!VEC_GROW(s->requests))
        return NULL;
    sim_request *r = &s->requests.v[s->requests.n++];
    memset(r, 0, sizeof *r);
    r->id = s->next_request++;
    r->order_id = o->id;
    r->reissue = reissue;
    r->created = time(NULL);
    snprintf(r->status, sizeof r->status, "pending");
    o->last_request_id = r->id;
    if (s->opt.approve_after_seconds < 0 && s->opt.approve_after_polls == 0)
        sim_request_approve(s, r, false);
    return r;
}

static bool request_open(const sim_request *r)
{
    return !strcmp(r->status, "pending") || !strcmp(r->status, "submitted");
}

/* Issue the certificate of an approved request once its key is known. */
static void request_issue(sim_server *s, sim_order *o, sim_request *r)
{
    if (strcmp(r->status, "approved") || !r->cert_id || sim_find_cert(s, r->cert_id))
        return;
    EVP_PKEY *key = r->reissue ? r->csr_key : o->shipped_key;
    sim_org *org = sim_find_org(s, o->org_id);
    if (!key || !org || !VEC_GROW(s->certs))
        return;
    time_t now = time(NULL), from = now, till;
    if (s->opt.issue_days_set) {
        till = now + s->opt.issue_days * 86400;
        if (s->opt.issue_days <= 0)
            from = now - 30 * 86400;   /* already expired: for expiry tests */
    } else if (o->custom_expiry) {
        till = o->custom_expiry;
    } else {
        till = now + o->validity_days * 86400;
    }
    sim_subject subj = { org->country, org->name, org->ident,
                         o->common_name[0] ? o->common_name : org->name };
    X509 *x = sim_ca_issue(&s->ca, key, &subj, from, till);
    if (!x) {
        fprintf(stderr, "qscd-sim: issuing for order %ld failed\n", o->id);
        return;
    }
    sim_cert *c = &s->certs.v[s->certs.n++];
    c->id = r->cert_id;
    c->order_id = o->id;
    c->x509 = x;
    c->issued = now;
    o->cert_id = r->cert_id;
}

void sim_request_approve(sim_server *s, sim_request *r, bool force)
{
    sim_order *o = sim_find_order(s, r->order_id);
    if (!o || !request_open(r))
        return;
    if (o->doomed && !force && !r->reissue) {
        snprintf(r->status, sizeof r->status, "rejected");
        return;
    }
    snprintf(r->status, sizeof r->status, "approved");
    r->cert_id = s->next_cert++;
    /* The order shows its certificate id from approval on, as CertCentral
     * does; a reissue keeps the old one active until the new one exists. */
    if (!r->reissue)
        o->cert_id = r->cert_id;
    request_issue(s, o, r);
}

/* Where a request stands after `polls` polls or `age` seconds. */
static void request_advance(sim_server *s, sim_request *r)
{
    if (!request_open(r))
        return;
    int n = s->opt.approve_after_polls;
    bool approve, submit;
    if (s->opt.approve_after_seconds >= 0) {
        long age = (long)(time(NULL) - r->created);
        approve = age >= s->opt.approve_after_seconds;
        submit = age * 2 >= s->opt.approve_after_seconds;
    } else {
        approve = r->polls >= n;
        submit = r->polls >= 1 && r->polls * 2 >= n;
    }
    if (approve)
        sim_request_approve(s, r, false);
    else if (submit)
        snprintf(r->status, sizeof r->status, "submitted");
}

void sim_request_poll(sim_server *s, sim_request *r)
{
    if (request_open(r))
        r->polls++;
    request_advance(s, r);
}

void sim_order_settle(sim_server *s, sim_order *o)
{
    for (size_t i = 0; i < s->requests.n; i++) {
        sim_request *r = &s->requests.v[i];
        if (r->order_id != o->id)
            continue;
        request_advance(s, r);
        request_issue(s, o, r);
    }
}

const char *sim_order_status(sim_server *s, sim_order *o)
{
    sim_request *last = sim_find_request(s, o->last_request_id);
    bool has_cert = o->cert_id && sim_find_cert(s, o->cert_id);
    if (o->status_override[0])
        return o->status_override;
    if (last && last->reissue) {
        if (request_open(last))
            return "reissue_pending";
        if (!strcmp(last->status, "approved") && !sim_find_cert(s, last->cert_id))
            return "reissue_pending";
        return has_cert ? "issued" : "pending";
    }
    if (last && !strcmp(last->status, "rejected"))
        return "rejected";
    if (last && !strcmp(last->status, "canceled"))
        return "canceled";
    return has_cert ? "issued" : "pending";
}

void sim_iso_time(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static void asn1_date(const ASN1_TIME *at, char *out, size_t n)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(at, &tm) != 1)
        snprintf(out, n, "?");
    else
        strftime(out, n, "%Y-%m-%d", &tm);
}

static void cert_fields(cJSON *j, const sim_cert *c)
{
    char buf[128], hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    const ASN1_INTEGER *sn = X509_get0_serialNumber(c->x509);
    BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
    char *snhex = bn ? BN_bn2hex(bn) : NULL;
    cJSON_AddStringToObject(j, "serial_number", snhex ? snhex : "");
    OPENSSL_free(snhex);
    BN_free(bn);
    X509_digest(c->x509, EVP_sha1(), md, &mdlen);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02X", md[i]);
    hex[2 * mdlen] = '\0';
    cJSON_AddStringToObject(j, "thumbprint", hex);
    asn1_date(X509_get0_notBefore(c->x509), buf, sizeof buf);
    cJSON_AddStringToObject(j, "valid_from", buf);
    asn1_date(X509_get0_notAfter(c->x509), buf, sizeof buf);
    cJSON_AddStringToObject(j, "valid_till", buf);
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c->x509));
    cJSON_AddNumberToObject(j, "days_remaining", days < 0 ? 0 : days);
    sim_iso_time(c->issued, buf, sizeof buf);
    cJSON_AddStringToObject(j, "date_issued", buf);
}

static cJSON *product_json(bool brief)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name_id", "pkio_qualified_organisation_services");
    cJSON_AddStringToObject(p, "name", "PKIo Qualified eSeal");
    if (!brief)
        cJSON_AddStringToObject(p, "type", "client_certificate");
    return p;
}

static cJSON *order_cert_json(sim_server *s, sim_order *o, bool brief)
{
    sim_org *org = sim_find_org(s, o->org_id);
    cJSON *c = cJSON_CreateObject();
    sim_cert *cert = o->cert_id ? sim_find_cert(s, o->cert_id) : NULL;
    if (o->cert_id)
        cJSON_AddNumberToObject(c, "id", (double)o->cert_id);
    cJSON_AddStringToObject(c, "common_name",
                            o->common_name[0] ? o->common_name : org ? org->name : "");
    if (brief)
        return c;
    cJSON_AddStringToObject(c, "signature_hash", "sha256");
    if (cert)
        cert_fields(c, cert);
    return c;
}

cJSON *sim_order_json(sim_server *s, sim_order *o, bool brief)
{
    char when[64];
    sim_org *org = sim_find_org(s, o->org_id);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)o->id);
    cJSON_AddStringToObject(j, "status", sim_order_status(s, o));
    sim_iso_time(o->created, when, sizeof when);
    cJSON_AddStringToObject(j, "date_created", o->date_override[0] ? o->date_override : when);
    cJSON_AddItemToObject(j, "certificate", order_cert_json(s, o, brief));
    if (o->cert_id && !brief)
        cJSON_AddNumberToObject(j, "certificate_id", (double)o->cert_id);
    if (!brief || !s->faults.list_bare) {
        cJSON *oj = cJSON_AddObjectToObject(j, "organization");
        cJSON_AddNumberToObject(oj, "id", (double)o->org_id);
        cJSON_AddStringToObject(oj, "name", org ? org->name : "");
    }
    cJSON_AddItemToObject(j, "product", product_json(brief));
    if (brief)
        return j;
    cJSON_AddStringToObject(j, "provisioning_method", "qscd");
    cJSON *reqs = cJSON_AddArrayToObject(j, "requests");
    for (size_t i = 0; i < s->requests.n; i++) {
        sim_request *r = &s->requests.v[i];
        if (r->order_id != o->id)
            continue;
        cJSON *rj = cJSON_CreateObject();
        cJSON_AddNumberToObject(rj, "id", (double)r->id);
        sim_iso_time(r->created, when, sizeof when);
        cJSON_AddStringToObject(rj, "date", when);
        cJSON_AddStringToObject(rj, "type", r->reissue ? "reissue" : "new_request");
        cJSON_AddStringToObject(rj, "status", r->status);
        cJSON_AddItemToArray(reqs, rj);
    }
    return j;
}

cJSON *sim_request_json(sim_server *s, sim_request *r)
{
    char when[64];
    (void)s;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)r->id);
    sim_iso_time(r->created, when, sizeof when);
    cJSON_AddStringToObject(j, "date", when);
    cJSON_AddStringToObject(j, "type", r->reissue ? "reissue" : "new_request");
    cJSON_AddStringToObject(j, "status", r->status);
    cJSON *oj = cJSON_AddObjectToObject(j, "order");
    cJSON_AddNumberToObject(oj, "id", (double)r->order_id);
    if (r->cert_id) {
        cJSON_AddNumberToObject(oj, "certificate_id", (double)r->cert_id);
        cJSON_AddNumberToObject(j, "certificate_id", (double)r->cert_id);
    }
    return j;
}
