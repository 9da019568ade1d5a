/*
 * Order endpoints that change or list the store: place an order (with the
 * server-side checks CertCentral makes), reissue with a CSR, list orders
 * with paging and filters, download certificates.
 */
#include "sim.h"

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An id given as a JSON number or a decimal string (the seed uses both). */
static long id_of(const cJSON *v)
{
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e12 &&
        (double)(long)v->valuedouble == v->valuedouble)
        return (long)v->valuedouble;
    if (cJSON_IsString(v) && *v->valuestring &&
        strspn(v->valuestring, "0123456789") == strlen(v->valuestring) &&
        strlen(v->valuestring) <= 12)
        return strtol(v->valuestring, NULL, 10);
    return 0;
}

static void check_equal(cJSON *errs, const cJSON *obj, const char *key, const char *path,
                        const char *want)
{
    const char *got = str_of(obj, key);
    if (!got)
        sim_error_add(errs, "invalid_input", "%s: required (must be \"%s\")", path, want);
    else if (strcmp(got, want))
        sim_error_add(errs, "invalid_input", "%s: must be \"%s\" (got \"%s\")", path, want, got);
}

/* order_validity: years 1..3, days 1..397, or custom_expiration_date. */
static void check_validity(cJSON *errs, const cJSON *req, sim_order *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "order_validity");
    if (!v)
        return;
    if (!cJSON_IsObject(v)) {
        sim_error_add(errs, "invalid_input", "order_validity: must be an object");
        return;
    }
    const cJSON *years = cJSON_GetObjectItemCaseSensitive(v, "years");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(v, "days");
    const char *custom = str_of(v, "custom_expiration_date");
    if (years && (!cJSON_IsNumber(years) || years->valueint < 1 || years->valueint > 3))
        sim_error_add(errs, "invalid_input", "order_validity.years: must be 1, 2 or 3");
    else if (years)
        o->validity_days = 365L * years->valueint;
    if (days && (!cJSON_IsNumber(days) || days->valueint < 1 || days->valueint > 397))
        sim_error_add(errs, "invalid_input", "order_validity.days: must be 1..397");
    else if (days)
        o->validity_days = days->valueint;
    if (custom) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(custom, "%d %b %Y", &tm);
        time_t t = end && !*end ? timegm(&tm) : (time_t)-1;
        if (t == (time_t)-1 || t <= time(NULL) || t > time(NULL) + 397L * 86400)
            sim_error_add(errs, "invalid_input",
                          "order_validity.custom_expiration_date: must be \"dd MMM YYYY\" "
                          "within the next 397 days (got \"%s\")", custom);
        else
            o->custom_expiry = t + 86399;
    }
}

/* The organisation: an existing id, or details of a new one. */
static long resolve_org(sim_server *s, cJSON *errs, const cJSON *req, bool *created)
{
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(req, "organization");
    *created = false;
    if (!cJSON_IsObject(org)) {
        sim_error_add(errs, "invalid_input", "organization: required (an object with an id)");
        return 0;
    }
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(org, "id");
    if (idv) {
        long id = id_of(idv);
        if (!id || !sim_find_org(s, id)) {
            sim_error_add(errs, "invalid_input",
                          "organization.id: no organization with this id in the account");
            return 0;
        }
        return id;
    }
    const char *name = str_of(org, "name");
    if (!name || !*name) {
        sim_error_add(errs, "invalid_input",
                      "organization: give an existing organization.id or a new organization's name");
        return 0;
    }
    if (cJSON_GetArraySize(errs) > 0)
        return 0;     /* create nothing for a request that fails anyway */
    char ident[64], country[3] = "NL";
    const char *reg = str_of(org, "registration_number");
    const char *given = str_of(org, "organization_identifier");
    const char *ctry = str_of(org, "country");
    snprintf(ident, sizeof ident, "%s%s", given ? "" : "NTRNL-",
             given ? given : reg ? reg : "00000000");
    if (ctry && strlen(ctry) == 2) {
        country[0] = (char)toupper((unsigned char)ctry[0]);
        country[1] = (char)toupper((unsigned char)ctry[1]);
    }
    sim_org *g = sim_add_org(s, name, ident, country);
    *created = g != NULL;
    return g ? g->id : 0;
}

static void check_order(cJSON *errs, const cJSON *req)
{
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(req, "certificate");
    if (!cJSON_IsObject(cert)) {
        sim_error_add(errs, "invalid_input", "certificate: required (an object)");
    } else {
        check_equal(errs, cert, "signature_hash", "certificate.signature_hash", "sha256");
        check_equal(errs, cert, "profile_option", "certificate.profile_option", "nonrepudiation");
    }
    check_equal(errs, req, "provisioning_method", "provisioning_method", "qscd");
    const cJSON *ship = cJSON_GetObjectItemCaseSensitive(req, "ship_info");
    if (!cJSON_IsObject(ship)) {
        sim_error_add(errs, "invalid_input",
                      "ship_info: required for provisioning_method qscd (where to send the token)");
    } else {
        const char *m = str_of(ship, "method");
        if (m && strcmp(m, "STANDARD") && strcmp(m, "EXPEDITED"))
            sim_error_add(errs, "invalid_input",
                          "ship_info.method: must be STANDARD or EXPEDITED (got \"%s\")", m);
    }
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "csa_agreed_to")))
        sim_error_add(errs, "invalid_input", "csa_agreed_to: must be true");
}

void sim_api_order_create(sim_server *s, const sim_call *c, sim_reply *r)
{
    cJSON *req = sim_call_json(c, r);
    if (!req)
        return;
    cJSON *errs = cJSON_CreateArray();
    sim_order tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.validity_days = 365;
    check_order(errs, req);
    check_validity(errs, req, &tmp);
    bool new_org = false;
    long org_id = resolve_org(s, errs, req, &new_org);
    if (cJSON_GetArraySize(errs) > 0) {
        sim_reply_errors(r, 400, errs);
        cJSON_Delete(req);
        return;
    }
    cJSON_Delete(errs);
    const char *cn = str_of(cJSON_GetObjectItemCaseSensitive(req, "certificate"), "common_name");
    sim_order *o = sim_add_order(s);
    sim_request *q = NULL;
    if (o) {
        o->org_id = org_id;
        o->validity_days = tmp.validity_days;
        o->custom_expiry = tmp.custom_expiry;
        o->doomed = s->faults.reject_orders;
        snprintf(o->common_name, sizeof o->common_name, "%s", cn ? cn : "");
        q = sim_add_request(s, o, false);
    }
    cJSON_Delete(req);
    if (!q) {
        sim_reply_error(r, 500, "internal_error", "out of memory");
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)o->id);
    cJSON *reqs = cJSON_AddArrayToObject(j, "requests");
    cJSON *rj = cJSON_CreateObject();
    cJSON_AddNumberToObject(rj, "id", (double)q->id);
    cJSON_AddStringToObject(rj, "status", q->status);
    cJSON_AddItemToArray(reqs, rj);
    if (new_org)
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(j, "organization"), "id", (double)org_id);
    if (q->cert_id)
        cJSON_AddNumberToObject(j, "certificate_id", (double)q->cert_id);
    if (s->faults.redirect_after_store > 0) {
        /* A proxy or load balancer's answer: the order is stored all the same. */
        s->faults.redirect_after_store--;
        cJSON_Delete(j);
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "moved", "/services/v2/order/certificate");
        sim_reply_json(r, 302, j);
        return;
    }
    sim_reply_json(r, 201, j);
    if (s->faults.drop_after_store > 0) {
        s->faults.drop_after_store--;
        r->drop = true;
    }
}

/*
 * A CSR as clients send it: PEM with real newlines, with literal "\n"
 * escapes, or on one line.  Rebuilt as canonical PEM before parsing.
 */
static X509_REQ *csr_parse(const char *text)
{
    static const char *const heads[] = { "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST" };
    char begin[64], end[64];
    const char *b64 = NULL, *stop = NULL;
    for (size_t i = 0; i < 2 && !stop; i++) {
        snprintf(begin, sizeof begin, "-----BEGIN %s-----", heads[i]);
        snprintf(end, sizeof end, "-----END %s-----", heads[i]);
        b64 = strstr(text, begin);
        stop = b64 ? strstr(b64, end) : NULL;
    }
    if (!stop)
        return NULL;
    b64 += strlen(begin);
    size_t n = (size_t)(stop - b64);
    char *clean = malloc(n + n / 64 + 128);
    if (!clean)
        return NULL;
    size_t k = (size_t)sprintf(clean, "-----BEGIN CERTIFICATE REQUEST-----\n"), col = 0;
    for (const char *p = b64; p < stop; p++) {
        if (p[0] == '\\' && p + 1 < stop && (p[1] == 'n' || p[1] == 'r')) {
            p++;
            continue;
        }
        if (isspace((unsigned char)*p))
            continue;
        clean[k++] = *p;
        if (++col == 64) {
            clean[k++] = '\n';
            col = 0;
        }
    }
    k += (size_t)sprintf(clean + k, "%s-----END CERTIFICATE REQUEST-----\n", col ? "\n" : "");
    BIO *bio = BIO_new_mem_buf(clean, (int)k);
    X509_REQ *req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(clean);
    return req;
}

static EVP_PKEY *reissue_key(cJSON *body, sim_reply *r)
{
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(body, "certificate");
    const char *csr = str_of(cert, "csr");
    const char *hash = str_of(cert, "signature_hash");
    if (!csr) {
        sim_reply_error(r, 400, "invalid_input", "certificate.csr: required (a PEM CSR)");
        return NULL;
    }
    if (hash && strcmp(hash, "sha256")) {
        sim_reply_error(r, 400, "invalid_input",
                        "certificate.signature_hash: must be \"sha256\" (got \"%s\")", hash);
        return NULL;
    }
    X509_REQ *req = csr_parse(csr);
    EVP_PKEY *key = req ? X509_REQ_get_pubkey(req) : NULL;
    if (!req || !key) {
        sim_reply_error(r, 400, "invalid_csr", "certificate.csr: not a PEM certificate request");
    } else if (X509_REQ_verify(req, key) != 1) {
        sim_reply_error(r, 400, "invalid_csr",
                        "certificate.csr: the signature does not verify with the CSR's own key");
        EVP_PKEY_free(key);
        key = NULL;
    }
    X509_REQ_free(req);
    ERR_clear_error();
    return key;
}

void sim_api_order_reissue(sim_server *s, const sim_call *c, sim_reply *r, long order_id)
{
    sim_order *o = sim_find_order(s, order_id);
    if (!o) {
        sim_reply_error(r, 404, "not_found", "order %ld: no such order", order_id);
        return;
    }
    sim_order_settle(s, o);
    const char *st = sim_order_status(s, o);
    if (!o->cert_id || !strcmp(st, "rejected") || !strcmp(st, "reissue_pending")) {
        sim_reply_error(r, 400, "invalid_order_status",
                        "order %ld: cannot be reissued while its status is %s%s", order_id, st,
                        o->cert_id ? "" : " (not approved yet)");
        return;
    }
    cJSON *body = sim_call_json(c, r);
    EVP_PKEY *key = body ? reissue_key(body, r) : NULL;
    cJSON_Delete(body);
    if (!key)
        return;
    sim_request *q = sim_add_request(s, o, true);
    if (!q) {
        EVP_PKEY_free(key);
        sim_reply_error(r, 500, "internal_error", "out of memory");
        return;
    }
    q->csr_key = key;
    long qid = q->id;
    sim_order_settle(s, o);
    q = sim_find_request(s, qid);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)order_id);
    cJSON *rj = cJSON_CreateObject();
    cJSON_AddNumberToObject(rj, "id", (double)qid);
    cJSON_AddStringToObject(rj, "status", q->status);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "requests"), rj);
    sim_reply_json(r, 201, j);
    if (s->faults.drop_after_reissue > 0) {
        s->faults.drop_after_reissue--;
        r->drop = true;
    }
}

/* A non-negative decimal query parameter; def when absent, -1 when bad. */
static long query_num(const sim_call *c, const char *name, long def)
{
    const char *v = sim_call_query(c, name);
    if (!v)
        return def;
    if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 9)
        return -1;
    return strtol(v, NULL, 10);
}

/* filters[date_created]: "YYYY-MM-DD" (that day) or "FROM...TO" (inclusive). */
static bool date_matches(const sim_order *o, const char *filter)
{
    char day[32];
    sim_iso_time(o->created, day, sizeof day);
    day[10] = '\0';
    const char *dots = strstr(filter, "...");
    if (!dots)
        return !strncmp(day, filter, 10);
    char from[11] = "", to[11] = "9999-99-99";
    size_t flen = (size_t)(dots - filter);
    if (flen)
        snprintf(from, sizeof from, "%.*s", (int)(flen < 10 ? flen : 10), filter);
    if (dots[3])
        snprintf(to, sizeof to, "%.10s", dots + 3);
    return strcmp(day, from) >= 0 && strcmp(day, to) <= 0;
}

void sim_api_order_list(sim_server *s, const sim_call *c, sim_reply *r)
{
    long offset = query_num(c, "offset", 0);
    long limit = query_num(c, "limit", 1000);
    const char *fstatus = sim_call_query(c, "filters[status]");
    const char *fdate = sim_call_query(c, "filters[date_created]");
    if (offset < 0 || limit < 1) {
        sim_reply_error(r, 400, "invalid_input", "%s: must be a %s number",
                        offset < 0 ? "offset" : "limit",
                        offset < 0 ? "non-negative" : "positive");
        return;
    }
    if (limit > 1000)
        limit = 1000;
    if (s->faults.list_limit_max > 0 && limit > s->faults.list_limit_max)
        limit = s->faults.list_limit_max;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(j, "orders");
    long total = 0;
    for (size_t i = 0; i < s->orders.n; i++) {
        sim_order *o = &s->orders.v[i];
        sim_order_settle(s, o);
        if (fstatus && strcmp(fstatus, sim_order_status(s, o)))
            continue;
        if (fdate && !date_matches(o, fdate))
            continue;
        if (total >= offset && total < offset + limit)
            cJSON_AddItemToArray(arr, sim_order_json(s, o, true));
        total++;
    }
    if (!s->faults.list_bare) {
        cJSON *page = cJSON_AddObjectToObject(j, "page");
        cJSON_AddNumberToObject(page, "total", (double)total);
        cJSON_AddNumberToObject(page, "limit", (double)limit);
        cJSON_AddNumberToObject(page, "offset", (double)offset);
    }
    sim_reply_json(r, 200, j);
}

void sim_api_download(sim_server *s, sim_reply *r, long cert_id, long order_id, const char *fmt)
{
    bool with_root = !strcmp(fmt, "pem_all");
    if (!with_root && strcmp(fmt, "pem_noroot")) {
        sim_reply_error(r, 400, "invalid_input",
                        "format %s: not simulated (use pem_all or pem_noroot)", fmt);
        return;
    }
    if (order_id) {
        sim_order *o = sim_find_order(s, order_id);
        if (!o) {
            sim_reply_error(r, 404, "not_found", "order %ld: no such order", order_id);
            return;
        }
        sim_order_settle(s, o);
        cert_id = o->cert_id;
    }
    sim_cert *cert = cert_id ? sim_find_cert(s, cert_id) : NULL;
    if (!cert) {
        if (order_id)
            sim_reply_error(r, 404, "cert_unavailable_processing",
                            "order %ld: no certificate issued yet", order_id);
        else
            sim_reply_error(r, 404, "cert_unavailable_processing",
                            "certificate %ld: not issued (yet)", cert_id);
        return;
    }
    size_t len = 0;
    char *pem = sim_ca_bundle_pem(&s->ca, cert->x509, with_root, &len);
    if (!pem) {
        sim_reply_error(r, 500, "internal_error", "cannot encode the certificate");
        return;
    }
    free(r->body);
    r->status = 200;
    r->body = pem;
    r->len = len;
    r->content_type = "application/x-pem-file";
}
