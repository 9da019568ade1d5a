/*
 * payment_method, and credit_card + billing_address when it is "card".
 *
 * Allowed methods: "balance" (the seed's example), "card" (the seed's
 * credit_card/billing_address rows) and "profile" (a saved payment
 * profile; DigiCert's order endpoints list balance, card and profile, see
 * https://dev.digicert.com/services-api/finance/list-payment-profiles/).
 * The card number and CVV are never written into a message, not even in
 * part: messages say what shape is expected instead.
 */
#include "order_validate_int.h"

#include <stdio.h>
#include <string.h>

static const char *const payment_methods[] = { "balance", "card", "profile", NULL };

/* A secret string member: like order_v_string, but never shows the value. */
static const char *secret_string(order_vctx *v, const cJSON *cc, const char *key,
                                 const char *shape)
{
    char path[ORDER_V_PATH_MAX], got[32];
    const cJSON *it = order_v_field(v, cc, "credit_card", key);

    order_v_path(path, sizeof path, "credit_card", key);
    if (it == NULL || cJSON_IsNull(it)) {
        order_v_problem(v, path, "is required (%s)", shape);
        return NULL;
    }
    if (!cJSON_IsString(it)) {
        order_v_describe(it, true, got, sizeof got);
        order_v_problem(v, path, "must be a string, %s (got %s)", shape, got);
        return NULL;
    }
    return it->valuestring;
}

/* Luhn check over the digits of s (spaces already known to be the only others). */
static bool luhn_ok(const char *s)
{
    int sum = 0;
    bool dbl = false;

    for (size_t i = strlen(s); i-- > 0;) {
        int d;
        if (s[i] == ' ')
            continue;
        d = s[i] - '0';
        if (dbl && (d *= 2) > 9)
            d -= 9;
        sum += d;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static void check_card_number(order_vctx *v, const cJSON *cc)
{
    static const char shape[] = "12 to 19 digits, spaces allowed";
    const char *s = secret_string(v, cc, "number", shape);
    size_t digits = 0;

    if (s == NULL)
        return;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p != ' ')
            digits = 100;  /* anything else: wrong shape */
    }
    if (digits < 12 || digits > 19)
        order_v_problem(v, "credit_card.number", "must be %s", shape);
    else if (!luhn_ok(s))
        order_v_problem(v, "credit_card.number", "fails the card number check "
                        "digit (Luhn); look for a mistyped digit");
}

static void check_cvv(order_vctx *v, const cJSON *cc)
{
    const char *s = secret_string(v, cc, "cvv", "3 or 4 digits");

    if (s != NULL && (!order_v_digits(s) || strlen(s) < 3 || strlen(s) > 4))
        order_v_problem(v, "credit_card.cvv", "must be 3 or 4 digits");
}

/* Expiry: "MM" and "YYYY", not before the current month. */
static void check_card_expiry(order_vctx *v, const cJSON *cc)
{
    const char *ms, *ys;
    char got[64];
    int month = 0, year = 0, ty, tm, td;

    order_v_civil_from_days(v->today_days, &ty, &tm, &td);
    ms = order_v_string(v, cc, "credit_card", "expiration_month", true,
                        "two digits, \"01\" to \"12\"");
    if (ms != NULL) {
        if (strlen(ms) == 2 && order_v_digits(ms))
            month = (ms[0] - '0') * 10 + (ms[1] - '0');
        if (month < 1 || month > 12) {
            order_v_quote(ms, got, sizeof got);
            order_v_problem(v, "credit_card.expiration_month", "must be two "
                            "digits, \"01\" to \"12\" (got %s)", got);
            month = 0;
        }
    }
    ys = order_v_string(v, cc, "credit_card", "expiration_year", true,
                        "four digits, e.g. \"2027\"");
    if (ys == NULL)
        return;
    order_v_quote(ys, got, sizeof got);
    if (strlen(ys) != 4 || !order_v_digits(ys)) {
        order_v_problem(v, "credit_card.expiration_year", "must be four digits, "
                        "e.g. \"2027\" (got %s)", got);
        return;
    }
    for (const char *p = ys; *p; p++)
        year = year * 10 + (*p - '0');
    if (year < ty)
        order_v_problem(v, "credit_card.expiration_year", "the card has expired: "
                        "%d is in the past (got %s)", year, got);
    else if (year == ty && month != 0 && month < tm)
        order_v_problem(v, "credit_card", "the card has expired: %02d/%d is "
                        "before the current month", month, year);
}

static void check_set_as_default(order_vctx *v, const cJSON *cc)
{
    const cJSON *it = order_v_field(v, cc, "credit_card", "set_as_default");
    char got[96];

    if (it == NULL) {
        order_v_problem(v, "credit_card.set_as_default", "is required (1 to make "
                        "this card the default payment method, 0 to keep it)");
        return;
    }
    if (order_v_is_int(it, 0, 1, NULL) ||
        (cJSON_IsString(it) && (strcmp(it->valuestring, "0") == 0 ||
                                strcmp(it->valuestring, "1") == 0)))
        return;
    order_v_describe(it, false, got, sizeof got);
    order_v_problem(v, "credit_card.set_as_default", "must be 0 or 1 (got %s)", got);
}

static void check_credit_card(order_vctx *v, const cJSON *req)
{
    const cJSON *cc, *save;
    char got[96];

    /* A card number pasted in place of the object must not be echoed. */
    cc = cJSON_GetObjectItemCaseSensitive(req, "credit_card");
    if (cc != NULL && !cJSON_IsObject(cc) && !cJSON_IsNull(cc)) {
        order_v_describe(cc, true, got, sizeof got);
        order_v_problem(v, "credit_card", "must be an object with number, "
                        "expiration_month, expiration_year, cvv, cardholder_name "
                        "and set_as_default (got %s)", got);
        return;
    }
    cc = order_v_object(v, req, "", "credit_card", true,
                        "payment_method \"card\" needs the card's details");
    if (cc == NULL)
        return;
    check_card_number(v, cc);
    check_card_expiry(v, cc);
    check_cvv(v, cc);
    order_v_string(v, cc, "credit_card", "cardholder_name", true,
                   "the cardholder's first and last name");
    check_set_as_default(v, cc);
    save = order_v_field(v, cc, "credit_card", "save_credit_card");
    if (save != NULL && !cJSON_IsBool(save) && !cJSON_IsNull(save)) {
        order_v_describe(save, false, got, sizeof got);
        order_v_problem(v, "credit_card.save_credit_card",
                        "must be true, false or null (got %s)", got);
    }
}

static void check_billing_address(order_vctx *v, const cJSON *req)
{
    static const char *const required[] = { "address", "city", "country", NULL };
    static const char *const optional[] = { "address2", "state", "zip", NULL };
    const cJSON *ba;

    ba = order_v_object(v, req, "", "billing_address", true,
                        "payment_method \"card\" needs the card's billing "
                        "address");
    if (ba == NULL)
        return;
    for (const char *const *k = required; *k; k++)
        order_v_string(v, ba, "billing_address", *k, true,
                       "part of the card's billing address");
    for (const char *const *k = optional; *k; k++)
        order_v_string(v, ba, "billing_address", *k, false,
                       "leave it out when there is none");
}

void order_validate_payment(order_vctx *v, const cJSON *req)
{
    const char *pm;
    char got[64];

    pm = order_v_string(v, req, "", "payment_method", true,
                        "balance, card or profile");
    if (pm == NULL)
        return;
    if (!order_v_one_of(pm, payment_methods)) {
        order_v_quote(pm, got, sizeof got);
        order_v_problem(v, "payment_method", "must be balance, card or profile "
                        "(got %s)", got);
        return;
    }
    if (strcmp(pm, "card") != 0)
        return;
    check_credit_card(v, req);
    check_billing_address(v, req);
}
