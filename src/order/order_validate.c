/*
 * Validation of an order request against the documented rules of POST
 * /order/certificate/pkio_qualified_organisation_services (the seed):
 * the top level, certificate, csa_agreed_to, provisioning_method and
 * ship_info here; organization, order_validity and payment in their own
 * order_validate_*.c files.  Everything is checked, every problem is
 * reported with its JSON path; unknown members are left alone.
 */
#include "order_validate_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int utc_days(time_t t)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL)
        return 0;
    return order_v_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* A member with exactly one allowed string value. */
static void check_fixed(order_vctx *v, const cJSON *obj, const char *objpath,
                        const char *key, const char *value, const char *why)
{
    char path[ORDER_V_PATH_MAX], hint[160], got[64];
    const char *s;

    snprintf(hint, sizeof hint, "must be \"%s\"", value);
    s = order_v_string(v, obj, objpath, key, true, hint);
    if (s == NULL || strcmp(s, value) == 0)
        return;
    order_v_path(path, sizeof path, objpath, key);
    order_v_quote(s, got, sizeof got);
    order_v_problem(v, path, "must be \"%s\"%s (got %s)", value, why, got);
}

void order_validate_certificate(order_vctx *v, const cJSON *req)
{
    const cJSON *cert, *pss;
    char got[96];

    cert = order_v_object(v, req, "", "certificate", true,
                          "an object with signature_hash and profile_option");
    if (cert == NULL)
        return;
    check_fixed(v, cert, "certificate", "signature_hash", "sha256",
                ": EU qualified certificates support only SHA-256");
    check_fixed(v, cert, "certificate", "profile_option", "nonrepudiation",
                ": PKIo certificates support only this profile");
    pss = order_v_field(v, cert, "certificate", "is_rsassa_pss");
    if (pss != NULL && !cJSON_IsBool(pss)) {
        order_v_describe(pss, false, got, sizeof got);
        order_v_problem(v, "certificate.is_rsassa_pss",
                        "must be a boolean (got %s)", got);
    }
}

static void validate_csa(order_vctx *v, const cJSON *req)
{
    const cJSON *csa = order_v_field(v, req, "", "csa_agreed_to");
    char got[96];

    if (csa == NULL) {
        order_v_problem(v, "csa_agreed_to", "is required (must be true: the CA "
                        "will not issue without the Certificate Subscriber "
                        "Agreement)");
    } else if (!cJSON_IsBool(csa)) {
        order_v_describe(csa, false, got, sizeof got);
        order_v_problem(v, "csa_agreed_to", "must be a boolean (got %s)", got);
    } else if (cJSON_IsFalse(csa)) {
        order_v_problem(v, "csa_agreed_to", "must be true: the CA will not "
                        "issue without the Certificate Subscriber Agreement");
    }
}

static void validate_ship_info(order_vctx *v, const cJSON *ship)
{
    static const char *const lines[] = {
        "name", "addr1", "addr2", "city", "state", "zip", "country", NULL
    };
    static const char *const methods[] = { "STANDARD", "EXPEDITED", NULL };
    const char *m;
    char got[64];

    for (const char *const *k = lines; *k; k++)
        order_v_string(v, ship, "ship_info", *k, true,
                       "the token is shipped to this address");
    m = order_v_string(v, ship, "ship_info", "method", true,
                       "STANDARD or EXPEDITED");
    if (m != NULL && !order_v_one_of(m, methods)) {
        order_v_quote(m, got, sizeof got);
        order_v_problem(v, "ship_info.method",
                        "must be STANDARD or EXPEDITED (got %s)", got);
    }
}

void order_validate_shipping(order_vctx *v, const cJSON *req)
{
    /* Not order_v_field: check_fixed below reports a repeated key. */
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(req, "provisioning_method");
    const cJSON *ship;
    /* qscd is the only method the endpoint supports; with it DigiCert
     * ships a hardware token, so the address is needed. */
    bool qscd = pm == NULL || (cJSON_IsString(pm) && strcmp(pm->valuestring, "qscd") == 0);

    check_fixed(v, req, "", "provisioning_method", "qscd",
                ": the only key provisioning method of this endpoint");
    ship = order_v_object(v, req, "", "ship_info", qscd,
                          "for provisioning_method \"qscd\": where DigiCert "
                          "ships the token");
    if (ship != NULL)
        validate_ship_info(v, ship);
}

size_t order_request_validate(const cJSON *req, time_t today, order_problems *out)
{
    order_vctx v = { .out = out, .found = 0, .today_days = utc_days(today) };
    char got[96];

    if (!cJSON_IsObject(req)) {
        order_v_describe(req, false, got, sizeof got);
        order_v_problem(&v, "(request)", "must be a JSON object (got %s)", got);
        return v.found;
    }
    order_validate_certificate(&v, req);
    validate_csa(&v, req);
    order_validate_shipping(&v, req);
    order_validate_organization(&v, req);
    order_validate_validity(&v, req);
    order_validate_payment(&v, req);
    return v.found;
}
