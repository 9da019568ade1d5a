/*
 * order_request_validate: one mutation of a valid request per documented
 * rule, each with the exact message it must give; several problems at
 * once; unknown fields passing through; custom_expiration_date boundaries
 * against a fixed `today`; card secrets never echoed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "order_request.h"
#include "unit-files.h"

/* Fixed reference day: 2026-06-01 00:00 UTC. */
static time_t today;
static char root_dir[512];   /* the source tree */

static char *read_file(const char *name, size_t *len)
{
    char path[1024];
    char *buf;

    snprintf(path, sizeof path, "%s/%s%s", root_dir,
             strchr(name, '/') ? "" : "tests/data/requests/", name);
    buf = unit_read_file(path, len);
    assert_non_null(buf);
    return buf;
}

static cJSON *load(const char *name)
{
    char err[256];
    size_t len;
    char *text = read_file(name, &len);
    cJSON *j = order_request_parse(text, len, err, sizeof err);

    if (j == NULL)
        fail_msg("%s: %s", name, err);
    free(text);
    return j;
}

/*
 * Walk "a.b[2].c" to the parent of its last step; *key is that step's
 * name, or NULL with *idx set for an array index.
 */
static cJSON *walk(cJSON *root, const char *path, char *key, size_t keylen, int *idx)
{
    cJSON *cur = root;
    const char *p = path;

    for (;;) {
        size_t n = strcspn(p, ".[");
        bool is_idx = *p == '[';
        if (is_idx) {
            *idx = atoi(p + 1);
            key[0] = '\0';
            p = strchr(p, ']') + 1;
        } else {
            snprintf(key, keylen, "%.*s", (int)n, p);
            p += n;
        }
        if (*p == '.')
            p++;
        if (*p == '\0')
            return cur;
        cur = is_idx ? cJSON_GetArrayItem(cur, *idx)
                     : cJSON_GetObjectItemCaseSensitive(cur, key);
        assert_non_null(cur);
    }
}

/* Set (value JSON text) or delete (value NULL) the member at path. */
static void mutate(cJSON *root, const char *path, const char *value)
{
    char key[64];
    int idx = -1;
    cJSON *parent = walk(root, path, key, sizeof key, &idx);
    cJSON *v = value ? cJSON_Parse(value) : NULL;

    assert_true(value == NULL || v != NULL);
    if (key[0] == '\0') {
        if (v == NULL)
            cJSON_DeleteItemFromArray(parent, idx);
        else if (idx >= cJSON_GetArraySize(parent))
            cJSON_AddItemToArray(parent, v);
        else
            cJSON_ReplaceItemInArray(parent, idx, v);
    } else if (v == NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    } else if (cJSON_GetObjectItemCaseSensitive(parent, key) != NULL) {
        cJSON_ReplaceItemInObjectCaseSensitive(parent, key, v);
    } else {
        cJSON_AddItemToObject(parent, key, v);
    }
}

static void dump(const order_problems *p)
{
    for (size_t i = 0; i < p->count; i++)
        print_message("    problem: %s\n", p->items[i]);
}

static bool has_prefix(const order_problems *p, const char *prefix)
{
    for (size_t i = 0; i < p->count; i++)
        if (strncmp(p->items[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

#define SEED "seed-fixed.json"
#define CARD "card-payment.json"
#define NEWORG "new-organization.json"
#define DEL NULL

typedef struct rule_case {
    const char *base, *path, *value, *message;
} rule_case;

#define SHIP "the token is shipped to this address"
#define NEWORG_NEEDS "a new organization needs it when no organization.id is given"
#define DETAILS "needed when user_id is not given"
#define ID_RULE "must be a positive integer or a string of digits"
#define DATE_PATH "order_validity.custom_expiration_date"
#define CSA "the CA will not issue without the Certificate Subscriber Agreement"

/* One failing request per documented rule, and the message it must give. */
static const rule_case rules[] = {
    { SEED, "certificate", DEL, "certificate: is required (an object with signature_hash and profile_option)" },
    { SEED, "certificate", "[]", "certificate: must be an object (got an array)" },
    { SEED, "certificate.signature_hash", DEL, "certificate.signature_hash: is required (must be \"sha256\")" },
    { SEED, "certificate.signature_hash", "\"sha384\"", "certificate.signature_hash: must be \"sha256\": EU qualified certificates support only SHA-256 (got \"sha384\")" },
    { SEED, "certificate.signature_hash", "256", "certificate.signature_hash: must be a string (got number 256)" },
    { SEED, "certificate.profile_option", DEL, "certificate.profile_option: is required (must be \"nonrepudiation\")" },
    { SEED, "certificate.profile_option", "\"digital_signature\"", "certificate.profile_option: must be \"nonrepudiation\": PKIo certificates support only this profile (got \"digital_signature\")" },
    { SEED, "certificate.is_rsassa_pss", "\"true\"", "certificate.is_rsassa_pss: must be a boolean (got string \"true\")" },
    { SEED, "csa_agreed_to", DEL, "csa_agreed_to: is required (must be true: " CSA ")" },
    { SEED, "csa_agreed_to", "\"yes\"", "csa_agreed_to: must be a boolean (got string \"yes\")" },
    { SEED, "csa_agreed_to", "1", "csa_agreed_to: must be a boolean (got number 1)" },
    { SEED, "csa_agreed_to", "false", "csa_agreed_to: must be true: " CSA },
    { SEED, "provisioning_method", DEL, "provisioning_method: is required (must be \"qscd\")" },
    { SEED, "provisioning_method", "\"csr\"", "provisioning_method: must be \"qscd\": the only key provisioning method of this endpoint (got \"csr\")" },
    { SEED, "ship_info", DEL, "ship_info: is required (for provisioning_method \"qscd\": where DigiCert ships the token)" },
    { SEED, "ship_info", "\"New Orleans\"", "ship_info: must be an object (got string \"New Orleans\")" },
    { SEED, "ship_info.name", DEL, "ship_info.name: is required (" SHIP ")" },
    { SEED, "ship_info.addr1", DEL, "ship_info.addr1: is required (" SHIP ")" },
    { SEED, "ship_info.addr2", DEL, "ship_info.addr2: is required (" SHIP ")" },
    { SEED, "ship_info.city", DEL, "ship_info.city: is required (" SHIP ")" },
    { SEED, "ship_info.state", DEL, "ship_info.state: is required (" SHIP ")" },
    { SEED, "ship_info.zip", DEL, "ship_info.zip: is required (" SHIP ")" },
    { SEED, "ship_info.country", DEL, "ship_info.country: is required (" SHIP ")" },
    { SEED, "ship_info.addr2", "\"\"", "ship_info.addr2: must not be empty (" SHIP ")" },
    { SEED, "ship_info.zip", "58061", "ship_info.zip: must be a string (got number 58061)" },
    { SEED, "ship_info.method", DEL, "ship_info.method: is required (STANDARD or EXPEDITED)" },
    { SEED, "ship_info.method", "\"OVERNIGHT\"", "ship_info.method: must be STANDARD or EXPEDITED (got \"OVERNIGHT\")" },
    { SEED, "ship_info.method", "\"standard\"", "ship_info.method: must be STANDARD or EXPEDITED (got \"standard\")" },
    { SEED, "organization", DEL, "organization: is required (an object with the id of an existing organization, or the details of a new one)" },
    { SEED, "organization", "2042709", "organization: must be an object (got number 2042709)" },
    { SEED, "organization.id", "\"20x\"", "organization.id: " ID_RULE " (got string \"20x\")" },
    { SEED, "organization.id", "\"\"", "organization.id: " ID_RULE " (got string \"\")" },
    { SEED, "organization.id", "-5", "organization.id: " ID_RULE " (got number -5)" },
    { SEED, "organization.id", "1.5", "organization.id: " ID_RULE " (got number 1.5)" },
    { SEED, "organization.contacts", DEL, "organization.contacts: is required (an array of contacts)" },
    { SEED, "organization.contacts", "{}", "organization.contacts: must be an array (got an object)" },
    { SEED, "organization.contacts[0]", "\"john\"", "organization.contacts[0]: must be an object (got string \"john\")" },
    { SEED, "organization.contacts[0].contact_type", DEL, "organization.contacts[0].contact_type: is required (organization_contact, technical_contact or verified_contact)" },
    { SEED, "organization.contacts[0].contact_type", "\"admin\"", "organization.contacts[0].contact_type: must be organization_contact, technical_contact or verified_contact (got \"admin\")" },
    { SEED, "organization.contacts[0].user_id", "\"abc\"", "organization.contacts[0].user_id: " ID_RULE " (got string \"abc\")" },
    { SEED, "organization.contacts[0].user_id", "true", "organization.contacts[0].user_id: " ID_RULE " (got true)" },
    { SEED, "organization.contacts[0].email", "\"john.doe\"", "organization.contacts[0].email: does not look like an email address (got \"john.doe\")" },
    { SEED, "organization.contacts[0].email", "\"john doe@johndoe.com\"", "organization.contacts[0].email: does not look like an email address (got \"john doe@johndoe.com\")" },
    { SEED, "organization.contacts[0].email", "\"john@localhost\"", "organization.contacts[0].email: does not look like an email address (got \"john@localhost\")" },
    { SEED, "organization.contacts[0].telephone", "18019034284", "organization.contacts[0].telephone: must be a string (got number 18019034284)" },
    { NEWORG, "organization.contacts[0].first_name", DEL, "organization.contacts[0].first_name: is required (" DETAILS ")" },
    { NEWORG, "organization.contacts[0].last_name", DEL, "organization.contacts[0].last_name: is required (" DETAILS ")" },
    { NEWORG, "organization.contacts[0].email", DEL, "organization.contacts[0].email: is required (" DETAILS ")" },
    { NEWORG, "organization.contacts[0].job_title", DEL, "organization.contacts[0].job_title: is required (" DETAILS ")" },
    { NEWORG, "organization.contacts[0].telephone", DEL, "organization.contacts[0].telephone: is required (" DETAILS ")" },
    { NEWORG, "organization.contacts[0].contact_type", "\"technical_contact\"", "organization.contacts: a new organization (no organization.id) needs at least one verified_contact, its authorized representative" },
    { NEWORG, "organization.contacts", DEL, "organization.contacts: is required (an array of contacts; a new organization needs a verified_contact)" },
    { NEWORG, "organization.name", DEL, "organization.name: is required (" NEWORG_NEEDS ")" },
    { NEWORG, "organization.address", DEL, "organization.address: is required (" NEWORG_NEEDS ")" },
    { NEWORG, "organization.city", DEL, "organization.city: is required (" NEWORG_NEEDS ")" },
    { NEWORG, "organization.country", DEL, "organization.country: is required (" NEWORG_NEEDS ")" },
    { NEWORG, "organization.telephone", DEL, "organization.telephone: is required (" NEWORG_NEEDS ")" },
    { NEWORG, "organization.zip", "2514", "organization.zip: must be a string (got number 2514)" },
    { NEWORG, "organization.state", "\"\"", "organization.state: must not be empty (leave it out when there is none)" },
    { SEED, "order_validity", "{}", "order_validity: give years, days or custom_expiration_date (or leave order_validity out)" },
    { SEED, "order_validity", "[1]", "order_validity: must be an object (got an array)" },
    { SEED, "order_validity.years", "4", "order_validity.years: must be 1, 2 or 3 (got number 4)" },
    { SEED, "order_validity.years", "0", "order_validity.years: must be 1, 2 or 3 (got number 0)" },
    { SEED, "order_validity.years", "1.5", "order_validity.years: must be 1, 2 or 3 (got number 1.5)" },
    { SEED, "order_validity.years", "\"1\"", "order_validity.years: must be 1, 2 or 3 (got string \"1\")" },
    { CARD, "order_validity.days", "398", "order_validity.days: must be a whole number of days from 1 to 397 (got number 398)" },
    { CARD, "order_validity.days", "0", "order_validity.days: must be a whole number of days from 1 to 397 (got number 0)" },
    { NEWORG, DATE_PATH, "\"9 JUN 2027\"", DATE_PATH ": must be \"dd MMM YYYY\", e.g. \"09 JUN 2027\" (got \"9 JUN 2027\")" },
    { NEWORG, DATE_PATH, "\"2027-06-09\"", DATE_PATH ": must be \"dd MMM YYYY\", e.g. \"09 JUN 2027\" (got \"2027-06-09\")" },
    { NEWORG, DATE_PATH, "\"09 JUNE 2027\"", DATE_PATH ": must be \"dd MMM YYYY\", e.g. \"09 JUN 2027\" (got \"09 JUNE 2027\")" },
    { NEWORG, DATE_PATH, "\"31 FEB 2027\"", DATE_PATH ": is not a real date (got \"31 FEB 2027\")" },
    { NEWORG, DATE_PATH, "\"00 JUN 2027\"", DATE_PATH ": is not a real date (got \"00 JUN 2027\")" },
    { NEWORG, DATE_PATH, "20270609", DATE_PATH ": must be a string (got number 20270609)" },
    { SEED, "payment_method", DEL, "payment_method: is required (balance, card or profile)" },
    { SEED, "payment_method", "\"invoice\"", "payment_method: must be balance, card or profile (got \"invoice\")" },
    { SEED, "payment_method", "\"Balance\"", "payment_method: must be balance, card or profile (got \"Balance\")" },
    { CARD, "credit_card", DEL, "credit_card: is required (payment_method \"card\" needs the card's details)" },
    { CARD, "credit_card", "\"4111 1111 1111 1111\"", "credit_card: must be an object with number, expiration_month, expiration_year, cvv, cardholder_name and set_as_default (got a string)" },
    { CARD, "billing_address", DEL, "billing_address: is required (payment_method \"card\" needs the card's billing address)" },
    { CARD, "credit_card.number", DEL, "credit_card.number: is required (12 to 19 digits, spaces allowed)" },
    { CARD, "credit_card.number", "\"4111 1111\"", "credit_card.number: must be 12 to 19 digits, spaces allowed" },
    { CARD, "credit_card.number", "\"4111-1111-1111-1111\"", "credit_card.number: must be 12 to 19 digits, spaces allowed" },
    { CARD, "credit_card.number", "4111111111111111", "credit_card.number: must be a string, 12 to 19 digits, spaces allowed (got a number)" },
    { CARD, "credit_card.number", "\"4111 1111 1111 1112\"", "credit_card.number: fails the card number check digit (Luhn); look for a mistyped digit" },
    { CARD, "credit_card.expiration_month", DEL, "credit_card.expiration_month: is required (two digits, \"01\" to \"12\")" },
    { CARD, "credit_card.expiration_month", "\"13\"", "credit_card.expiration_month: must be two digits, \"01\" to \"12\" (got \"13\")" },
    { CARD, "credit_card.expiration_month", "\"9\"", "credit_card.expiration_month: must be two digits, \"01\" to \"12\" (got \"9\")" },
    { CARD, "credit_card.expiration_month", "9", "credit_card.expiration_month: must be a string (got number 9)" },
    { CARD, "credit_card.expiration_year", DEL, "credit_card.expiration_year: is required (four digits, e.g. \"2027\")" },
    { CARD, "credit_card.expiration_year", "\"30\"", "credit_card.expiration_year: must be four digits, e.g. \"2027\" (got \"30\")" },
    { CARD, "credit_card.expiration_year", "\"2025\"", "credit_card.expiration_year: the card has expired: 2025 is in the past (got \"2025\")" },
    { CARD, "credit_card.cvv", DEL, "credit_card.cvv: is required (3 or 4 digits)" },
    { CARD, "credit_card.cvv", "\"12\"", "credit_card.cvv: must be 3 or 4 digits" },
    { CARD, "credit_card.cvv", "\"12a4\"", "credit_card.cvv: must be 3 or 4 digits" },
    { CARD, "credit_card.cvv", "\"12345\"", "credit_card.cvv: must be 3 or 4 digits" },
    { CARD, "credit_card.cvv", "123", "credit_card.cvv: must be a string, 3 or 4 digits (got a number)" },
    { CARD, "credit_card.cardholder_name", DEL, "credit_card.cardholder_name: is required (the cardholder's first and last name)" },
    { CARD, "credit_card.cardholder_name", "\"\"", "credit_card.cardholder_name: must not be empty (the cardholder's first and last name)" },
    { CARD, "credit_card.set_as_default", DEL, "credit_card.set_as_default: is required (1 to make this card the default payment method, 0 to keep it)" },
    { CARD, "credit_card.set_as_default", "2", "credit_card.set_as_default: must be 0 or 1 (got number 2)" },
    { CARD, "credit_card.set_as_default", "\"yes\"", "credit_card.set_as_default: must be 0 or 1 (got string \"yes\")" },
    { CARD, "credit_card.set_as_default", "true", "credit_card.set_as_default: must be 0 or 1 (got true)" },
    { CARD, "credit_card.save_credit_card", "\"no\"", "credit_card.save_credit_card: must be true, false or null (got string \"no\")" },
    { CARD, "credit_card.save_credit_card", "0", "credit_card.save_credit_card: must be true, false or null (got number 0)" },
    { CARD, "billing_address.address", DEL, "billing_address.address: is required (part of the card's billing address)" },
    { CARD, "billing_address.city", DEL, "billing_address.city: is required (part of the card's billing address)" },
    { CARD, "billing_address.country", DEL, "billing_address.country: is required (part of the card's billing address)" },
    { CARD, "billing_address.zip", "2514", "billing_address.zip: must be a string (got number 2514)" },
};

/* Mutations that stay valid: the rules are not stricter than documented. */
static const rule_case still_valid[] = {
    { SEED, "organization.id", "2042709", NULL },
    { SEED, "organization.contacts[0].user_id", "2812497", NULL },
    { SEED, "organization.contacts[0].user_id", DEL, NULL },
    { SEED, "certificate.is_rsassa_pss", "true", NULL },
    { SEED, "order_validity", DEL, NULL },
    { SEED, "order_validity", "{\"days\": 1}", NULL },
    { SEED, "order_validity", "{\"years\": 3}", NULL },
    { SEED, "ship_info.method", "\"EXPEDITED\"", NULL },
    { SEED, "payment_method", "\"profile\"", NULL },
    { SEED, "x_unknown", "{\"anything\": [1, \"goes\"]}", NULL },
    { CARD, "credit_card.set_as_default", "\"1\"", NULL },
    { CARD, "credit_card.set_as_default", "1", NULL },
    { CARD, "credit_card.save_credit_card", "null", NULL },
    { CARD, "credit_card.save_credit_card", DEL, NULL },
    { CARD, "credit_card.number", "\"4111111111111111\"", NULL },
    { CARD, "credit_card.cvv", "\"1234\"", NULL },
    { CARD, "billing_address.address2", DEL, NULL },
    { CARD, "billing_address.state", DEL, NULL },
    { CARD, "billing_address.zip", DEL, NULL },
    { NEWORG, DATE_PATH, "\"09 jun 2027\"", NULL },
    { NEWORG, "organization.state", DEL, NULL },
    { NEWORG, "organization.zip", DEL, NULL },
    { NEWORG, "organization.contacts[1].contact_type", "\"technical_contact\"", NULL },
};

static void run_case(const rule_case *c, size_t i, order_problems *p)
{
    cJSON *req = load(c->base);

    mutate(req, c->path, c->value);
    order_request_validate(req, today, p);
    cJSON_Delete(req);
    (void)i;
}

static void test_each_rule(void **state)
{
    size_t bad = 0;
    (void)state;

    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const rule_case *c = &rules[i];
        order_problems p = { 0 };
        run_case(c, i, &p);
        if (p.count != 1 || strcmp(p.items[0], c->message) != 0) {
            print_message("rule %zu: %s %s %s\n  want: %s\n", i, c->base, c->path,
                          c->value ? c->value : "(deleted)", c->message);
            dump(&p);
            bad++;
        }
        order_problems_free(&p);
    }
    assert_int_equal(bad, 0);
}

static void test_still_valid(void **state)
{
    size_t bad = 0;
    (void)state;

    for (size_t i = 0; i < sizeof still_valid / sizeof still_valid[0]; i++) {
        const rule_case *c = &still_valid[i];
        order_problems p = { 0 };
        run_case(c, i, &p);
        if (p.count != 0) {
            print_message("valid case %zu: %s %s\n", i, c->base, c->path);
            dump(&p);
            bad++;
        }
        order_problems_free(&p);
    }
    assert_int_equal(bad, 0);
}

static const char *const month_abbr[12] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
};

/* "dd MMM YYYY" of `base` + days, computed by the C library, not by us. */
static void date_plus(time_t base, int days, char *buf, size_t n)
{
    time_t t = base + (time_t)days * 86400;
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, n, "%02d %s %04d", tm.tm_mday, month_abbr[tm.tm_mon], tm.tm_year + 1900);
}

static void validate_date(time_t ref, const char *date, order_problems *p)
{
    char value[64];
    cJSON *req = load(NEWORG);

    snprintf(value, sizeof value, "\"%s\"", date);
    mutate(req, DATE_PATH, value);
    order_request_validate(req, ref, p);
    cJSON_Delete(req);
}

static void expect_date(time_t ref, const char *date, const char *message)
{
    order_problems p = { 0 };

    validate_date(ref, date, &p);
    if (message == NULL && p.count != 0) {
        dump(&p);
        fail_msg("%s should be accepted", date);
    }
    if (message != NULL && (p.count != 1 || strcmp(p.items[0], message) != 0)) {
        dump(&p);
        fail_msg("%s: want %s", date, message);
    }
    order_problems_free(&p);
}

static void test_expiration_date_boundaries(void **state)
{
    char d[32], limit[32], msg[256];
    (void)state;

    date_plus(today, 397, limit, sizeof limit);
    expect_date(today, limit, NULL);                           /* today + 397 */
    date_plus(today, 1, d, sizeof d);
    expect_date(today, d, NULL);                               /* tomorrow */
    expect_date(today + 86399, limit, NULL);                   /* late in the day */
    date_plus(today, 398, d, sizeof d);
    snprintf(msg, sizeof msg, DATE_PATH ": must be within 397 days of today, "
             "so on or before %s (got \"%s\")", limit, d);
    expect_date(today, d, msg);                                /* today + 398 */
    expect_date(today, "01 JUN 2026", DATE_PATH ": must be after today, "
                "01 JUN 2026 (got \"01 JUN 2026\")");           /* today */
    expect_date(today, "31 MAY 2026", DATE_PATH ": must be after today, "
                "01 JUN 2026 (got \"31 MAY 2026\")");           /* past */
    expect_date(today, "31 FEB 2027", DATE_PATH ": is not a real date (got \"31 FEB 2027\")");
    expect_date(today, "29 FEB 2027", DATE_PATH ": is not a real date (got \"29 FEB 2027\")");
    expect_date(today, "31 JUN 2026", DATE_PATH ": is not a real date (got \"31 JUN 2026\")");
    expect_date(today, "9 JUN 2027", DATE_PATH ": must be \"dd MMM YYYY\", e.g. "
                "\"09 JUN 2027\" (got \"9 JUN 2027\")");
    expect_date(today, "09 Jun 2027", NULL);                   /* any case */
    expect_date(today, "31 DEC 2026", NULL);
    /* A leap day, seen from a year later. */
    expect_date(today + 365 * 86400, "29 FEB 2028", NULL);
}

static void test_card_expiry_month(void **state)
{
    order_problems p = { 0 };
    cJSON *req = load(CARD);
    (void)state;

    mutate(req, "credit_card.expiration_year", "\"2026\"");
    mutate(req, "credit_card.expiration_month", "\"06\"");
    assert_int_equal(order_request_validate(req, today, &p), 0);
    mutate(req, "credit_card.expiration_month", "\"05\"");
    assert_int_equal(order_request_validate(req, today, &p), 1);
    assert_string_equal(p.items[0], "credit_card: the card has expired: 05/2026 "
                        "is before the current month");
    order_problems_free(&p);
    cJSON_Delete(req);
}

static void test_all_problems_at_once(void **state)
{
    static const char *const want[] = {
        "certificate.signature_hash: must be \"sha256\"",
        "csa_agreed_to: must be true",
        "ship_info.method: must be STANDARD or EXPEDITED (got \"OVERNIGHT\")",
        "organization.id: must be a positive integer",
        "organization.contacts[0].email: does not look like",
        "order_validity.years: must be 1, 2 or 3 (got number 5)",
        "payment_method: must be balance, card or profile (got \"cash\")",
    };
    order_problems p = { 0 };
    cJSON *req = load(SEED);
    (void)state;

    mutate(req, "certificate.signature_hash", "\"sha1\"");
    mutate(req, "csa_agreed_to", "false");
    mutate(req, "ship_info.method", "\"OVERNIGHT\"");
    mutate(req, "organization.id", "\"x\"");
    mutate(req, "organization.contacts[0].email", "\"nobody\"");
    mutate(req, "order_validity.years", "5");
    mutate(req, "payment_method", "\"cash\"");
    assert_int_equal(order_request_validate(req, today, &p), 7);
    assert_int_equal(p.count, 7);
    for (size_t i = 0; i < 7; i++)
        if (!has_prefix(&p, want[i])) {
            dump(&p);
            fail_msg("missing: %s", want[i]);
        }
    order_problems_free(&p);
    cJSON_Delete(req);
}

static void test_unknown_fields_pass_through(void **state)
{
    order_problems p = { 0 };
    cJSON *req = load(SEED), *before;
    char *out;
    (void)state;

    mutate(req, "x_reference", "\"job-42\"");
    mutate(req, "certificate.x_inner", "42");
    mutate(req, "organization.contacts[0].x_deep", "{\"a\": [1, null]}");
    before = cJSON_Duplicate(req, 1);
    assert_int_equal(order_request_validate(req, today, &p), 0);
    assert_true(cJSON_Compare(before, req, 1));
    out = cJSON_PrintUnformatted(req);
    assert_non_null(strstr(out, "\"x_reference\":\"job-42\""));
    assert_non_null(strstr(out, "\"certificate\":{\"signature_hash\":\"sha256\","
                           "\"profile_option\":\"nonrepudiation\",\"x_inner\":42}"));
    assert_non_null(strstr(out, "\"x_deep\":{\"a\":[1,null]}"));
    free(out);
    cJSON_Delete(before);
    cJSON_Delete(req);
}

static void test_card_secrets_never_echoed(void **state)
{
    static const char *const numbers[] = {
        "\"5500 0000 0000 0005 9\"", "\"5500-0000-0000-0004\"", "5500000000000004",
        "\"5500 0000 0000 0003\"", "\"55000000000\"",
    };
    static const char *const cvvs[] = { "\"98765\"", "987", "\"9x7\"", "\"98\"" };
    (void)state;

    for (size_t i = 0; i < 5 + 4; i++) {
        order_problems p = { 0 };
        cJSON *req = load(CARD);
        if (i < 5)
            mutate(req, "credit_card.number", numbers[i]);
        else
            mutate(req, "credit_card.cvv", cvvs[i - 5]);
        assert_int_equal(order_request_validate(req, today, &p), 1);
        assert_null(strstr(p.items[0], "5500"));
        assert_null(strstr(p.items[0], "0005"));
        assert_null(strstr(p.items[0], "98"));
        assert_null(strstr(p.items[0], "9x7"));
        order_problems_free(&p);
        cJSON_Delete(req);
    }
}

static void test_verified_contact_limits(void **state)
{
    static const char contact[] = "{\"user_id\": 7, \"contact_type\": \"verified_contact\"}";
    order_problems p = { 0 };
    cJSON *req = load(NEWORG);
    (void)state;

    /* The file has one verified contact and one organization contact. */
    for (int i = 0; i < 14; i++)
        mutate(req, "organization.contacts[99]", contact);
    assert_int_equal(order_request_validate(req, today, &p), 0);
    mutate(req, "organization.contacts[99]", contact);
    assert_int_equal(order_request_validate(req, today, &p), 1);
    assert_string_equal(p.items[0], "organization.contacts: a new organization "
                        "takes at most fifteen verified_contact entries (got 16)");
    order_problems_free(&p);
    /* An existing organization keeps the contacts it has: no limit here. */
    mutate(req, "organization.id", "2042709");
    assert_int_equal(order_request_validate(req, today, &p), 0);
    cJSON_Delete(req);
}

static void test_repeated_key(void **state)
{
    static const char text[] =
        "{\"csa_agreed_to\": true, \"csa_agreed_to\": false, \"certificate\": "
        "{\"signature_hash\": \"sha256\", \"profile_option\": \"nonrepudiation\", "
        "\"signature_hash\": \"sha1\"}}";
    char err[256];
    order_problems p = { 0 };
    cJSON *req = order_request_parse(text, strlen(text), err, sizeof err);
    (void)state;

    assert_non_null(req);
    order_request_validate(req, today, &p);
    assert_true(has_prefix(&p, "csa_agreed_to: given 2 times; give it once"));
    assert_true(has_prefix(&p, "certificate.signature_hash: given 2 times; give it once"));
    order_problems_free(&p);
    cJSON_Delete(req);
}

static void test_not_an_object(void **state)
{
    order_problems p = { 0 };
    cJSON *arr = cJSON_CreateArray();
    (void)state;

    assert_int_equal(order_request_validate(NULL, today, &p), 1);
    assert_string_equal(p.items[0], "(request): must be a JSON object (got nothing)");
    assert_int_equal(order_request_validate(arr, today, &p), 1);
    assert_int_equal(p.count, 2);  /* appended, not replaced */
    assert_string_equal(p.items[1], "(request): must be a JSON object (got an array)");
    order_problems_free(&p);
    assert_int_equal(p.count, 0);
    order_problems_free(&p);       /* twice is harmless */
    order_problems_free(NULL);
    cJSON_Delete(arr);
}

static void test_count_without_list(void **state)
{
    order_problems p = { 0 };
    cJSON *req = load(CARD);
    (void)state;

    cJSON_DeleteItemFromObjectCaseSensitive(req, "credit_card");
    cJSON_DeleteItemFromObjectCaseSensitive(req, "ship_info");
    mutate(req, "order_validity.days", "1000");
    assert_int_equal(order_request_validate(req, today, NULL), 3);
    assert_int_equal(order_request_validate(req, today, &p), 3);
    assert_int_equal(p.count, 3);
    order_problems_free(&p);
    cJSON_Delete(req);
}

static void test_examples_valid(void **state)
{
    static const char *const files[] = {
        SEED, CARD, NEWORG, "docs/examples/pkio-qualified-eseal-order.json",
    };
    (void)state;

    for (size_t i = 0; i < 4; i++) {
        order_problems p = { 0 };
        cJSON *req = load(files[i]);
        if (order_request_validate(req, today, &p) != 0) {
            dump(&p);
            fail_msg("%s should be valid", files[i]);
        }
        cJSON_Delete(req);
    }
    /* The demo file does not depend on the date it is submitted on. */
    cJSON *demo = load("docs/examples/pkio-qualified-eseal-order.json");
    assert_int_equal(order_request_validate(demo, time(NULL), NULL), 0);
    cJSON *org = cJSON_GetObjectItemCaseSensitive(demo, "organization");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(org, "id")->valuestring, "2042709");
    cJSON_Delete(demo);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_rule),
        cmocka_unit_test(test_still_valid),
        cmocka_unit_test(test_expiration_date_boundaries),
        cmocka_unit_test(test_card_expiry_month),
        cmocka_unit_test(test_all_problems_at_once),
        cmocka_unit_test(test_unknown_fields_pass_through),
        cmocka_unit_test(test_card_secrets_never_echoed),
        cmocka_unit_test(test_verified_contact_limits),
        cmocka_unit_test(test_repeated_key),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_count_without_list),
        cmocka_unit_test(test_examples_valid),
    };
    struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 5, .tm_mday = 1 };

    (void)argc;
    today = timegm(&tm);
    /* Run from the source tree or from anywhere via the binary's path. */
    unit_find_root(argv[0], "tests/data/requests/" SEED, root_dir, sizeof root_dir);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
