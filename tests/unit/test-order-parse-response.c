/*
 * CertCentral reply parsers: missing fields, wrong types, unknown fields,
 * unknown statuses, broken JSON.  None may crash; statuses are kept as
 * received; only the ids we cannot do without are required.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "order.h"

#include <stdlib.h>
#include <string.h>

#define S(lit) lit, strlen(lit)

static void test_placed_seed_reply(void **state)
{
    order_placed p;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_placed(S("{\"id\":112233,\"requests\":[{\"id\":113,"
                                          "\"status\":\"pending\"}]}"), &p, &err), ORDER_OK);
    assert_int_equal(p.order_id, 112233);
    assert_int_equal(p.request_id, 113);
    assert_string_equal(p.status, "pending");
    assert_int_equal(p.certificate_id, 0);
    assert_int_equal(order_parse_placed(S("{\"id\":1,\"certificate_id\":113,"
                                          "\"organization\":{\"id\":\"77\"},\"new_field\":[1,2]}"),
                                        &p, &err), ORDER_OK);
    assert_int_equal(p.certificate_id, 113);
    assert_int_equal(p.organization_id, 77);
    assert_int_equal(p.request_id, 0);
    assert_string_equal(p.status, "");
}

static void test_placed_missing_or_bad_id(void **state)
{
    static const char *const bad[] = {
        "{}", "{\"id\":null}", "{\"id\":\"abc\"}", "{\"id\":-5}", "{\"id\":1.5}",
        "{\"id\":{}}", "[1,2]", "\"text\"", "{\"id\":1e300}",
    };
    order_placed p;
    order_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(order_parse_placed(bad[i], strlen(bad[i]), &p, &err), ORDER_ERR_PROTOCOL);
        assert_int_equal(err.code, ORDER_ERR_PROTOCOL);
        assert_true(strlen(err.message) > 0);
    }
}

static void test_not_json(void **state)
{
    order_info info;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_info(S("{\"id\":1,\"status\":"), &info, &err), ORDER_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "not valid JSON"));
    assert_int_equal(order_parse_info("", 0, &info, &err), ORDER_ERR_PROTOCOL);
    assert_int_equal(order_parse_info(NULL, 0, &info, &err), ORDER_ERR_PROTOCOL);
    assert_int_equal(order_parse_info(S("<html>502</html>"), &info, &err), ORDER_ERR_PROTOCOL);
}

static void test_info_full(void **state)
{
    const char *body =
        "{\"id\":100001,\"status\":\"issued\",\"certificate\":{\"id\":300001,"
        "\"serial_number\":\"0A1B\",\"thumbprint\":\"ABCD\",\"common_name\":\"Example B.V.\","
        "\"valid_from\":\"2024-01-01\",\"valid_till\":\"2025-01-01\",\"days_remaining\":200,"
        "\"signature_hash\":\"sha256\"},\"organization\":{\"id\":2042709,\"name\":\"x\"},"
        "\"product\":{\"name_id\":\"pkio_qualified_organisation_services\"},"
        "\"date_created\":\"2024-01-15T10:20:30+00:00\","
        "\"requests\":[{\"id\":200001,\"type\":\"new_request\",\"status\":\"approved\","
        "\"date\":\"2024-01-15T10:20:30+00:00\"},{\"id\":200005,\"status\":\"pending\"}]}";
    order_info info;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_info(body, strlen(body), &info, &err), ORDER_OK);
    assert_int_equal(info.id, 100001);
    assert_int_equal(info.status_class, ORDER_ST_ISSUED);
    assert_int_equal(info.certificate.id, 300001);
    assert_string_equal(info.certificate.serial_number, "0A1B");
    assert_int_equal(info.certificate.days_remaining, 200);
    assert_int_equal(info.organization_id, 2042709);
    assert_string_equal(info.product_name_id, "pkio_qualified_organisation_services");
    assert_int_equal(info.date_created, 1705314030);
    assert_int_equal(info.n_requests, 2);
    assert_int_equal(info.requests[0].status_class, ORDER_ST_APPROVED);
    assert_int_equal(info.requests[1].id, 200005);
    assert_true(order_reached(&info, ORDER_WAIT_ISSUED));
    order_info_free(&info);
}

static void test_info_wrong_types_and_unknown_status(void **state)
{
    const char *body =
        "{\"id\":\"100002\",\"status\":\"awaiting_moon_phase\",\"certificate\":\"none\","
        "\"organization\":[1],\"product\":null,\"date_created\":12,"
        "\"requests\":[5,\"x\",{\"id\":\"y\",\"status\":7},{\"id\":3,\"status\":\"submitted\"}],"
        "\"unknown\":{\"deep\":[{}]}}";
    order_info info;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_info(body, strlen(body), &info, &err), ORDER_OK);
    assert_int_equal(info.id, 100002);
    assert_string_equal(info.status, "awaiting_moon_phase");
    assert_int_equal(info.status_class, ORDER_ST_UNKNOWN);
    assert_int_equal(info.certificate.id, 0);
    assert_int_equal(info.organization_id, 0);
    assert_int_equal(info.date_created, 0);
    assert_int_equal(info.n_requests, 2);      /* the two objects */
    assert_int_equal(info.requests[1].status_class, ORDER_ST_SUBMITTED);
    assert_false(order_reached(&info, ORDER_WAIT_APPROVED));
    order_info_free(&info);
}

static void test_info_missing_status_and_control_chars(void **state)
{
    const char *body = "{\"id\":5,\"status\":\"bad\\u001b[31mred\",\"requests\":{}}";
    order_info info;
    order_err err = { 0 };
    cJSON *j;

    (void)state;
    assert_int_equal(order_parse_info(S("{\"id\":9}"), &info, &err), ORDER_OK);
    assert_string_equal(info.status, "");
    assert_int_equal(info.status_class, ORDER_ST_UNKNOWN);
    assert_int_equal(info.n_requests, 0);
    order_info_free(&info);
    assert_int_equal(order_parse_info(body, strlen(body), &info, &err), ORDER_OK);
    assert_string_equal(info.status, "bad?[31mred");
    j = order_info_to_json(&info);
    assert_non_null(j);
    cJSON_Delete(j);
    order_info_free(&info);
}

static void test_reached_by_certificate_id(void **state)
{
    order_info info;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_info(S("{\"id\":1,\"status\":\"pending\","
                                        "\"certificate\":{\"id\":9}}"), &info, &err), ORDER_OK);
    assert_true(order_reached(&info, ORDER_WAIT_APPROVED));
    assert_false(order_reached(&info, ORDER_WAIT_ISSUED));
    order_info_free(&info);
    assert_int_equal(order_parse_info(S("{\"id\":1,\"status\":\"pending\","
                                        "\"requests\":[{\"id\":4,\"status\":\"approved\"}]}"),
                                      &info, &err), ORDER_OK);
    assert_true(order_reached(&info, ORDER_WAIT_APPROVED));
    order_info_free(&info);
}

static void test_request_info(void **state)
{
    order_request_info r;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_request_info(S("{\"id\":200001,\"date\":\"2024-01-01\","
                                                "\"type\":\"new_request\",\"status\":\"rejected\","
                                                "\"order\":{\"id\":100001}}"), &r, &err), ORDER_OK);
    assert_int_equal(r.order_id, 100001);
    assert_int_equal(r.status_class, ORDER_ST_REJECTED);
    assert_int_equal(order_parse_request_info(S("{\"status\":\"x\"}"), &r, &err),
                     ORDER_ERR_PROTOCOL);
}

static void test_list_pages(void **state)
{
    order_summary *list = NULL;
    size_t n = 0;
    order_list_page page;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_list_page(S("{\"orders\":[{\"id\":1,\"status\":\"issued\","
                                             "\"certificate\":{\"id\":7,\"common_name\":\"a\"}},"
                                             "{\"status\":\"no id\"},3],"
                                             "\"page\":{\"total\":3,\"limit\":1000,\"offset\":0}}"),
                                           &list, &n, &page, &err), ORDER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page.total, 3);
    assert_int_equal(page.limit, 1000);
    assert_int_equal(page.entries, 3);   /* every entry counts for the paging */
    assert_int_equal(list[0].certificate_id, 7);
    assert_int_equal(order_parse_list_page(S("{\"orders\":\"none\"}"), &list, &n, &page, &err),
                     ORDER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page.total, -1);
    assert_int_equal(page.limit, -1);
    assert_int_equal(page.entries, 0);
    /* An object where the array belongs: its members are not entries (they
     * were written past the list's room; found by the fuzzer). */
    assert_int_equal(order_parse_list_page(S("{\"orders\":{\"a\":{\"id\":5},\"b\":{\"id\":6},"
                                             "\"c\":{\"id\":7}}}"), &list, &n, &page, &err),
                     ORDER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page.entries, 0);
    assert_int_equal(order_parse_list_page(S("nope"), &list, &n, &page, &err), ORDER_ERR_PROTOCOL);
    free(list);
}

/* DigiCert's list entry: organization and date_created, kept even unparseable. */
static void test_list_entry_facts(void **state)
{
    order_summary *list = NULL;
    size_t n = 0;
    order_list_page page;
    order_err err = { 0 };

    (void)state;
    assert_int_equal(order_parse_list_page(S("{\"orders\":["
                                             "{\"id\":5,"
                                             "\"date_created\":\"2024-01-15T10:20:30+00:00\","
                                             "\"organization\":{\"id\":2042709,\"name\":\"X\"},"
                                             "\"product\":{\"name_id\":\"p\"}},"
                                             "{\"id\":6,\"date_created\":\"last tuesday\"},"
                                             "{\"id\":7}]}"),
                                           &list, &n, &page, &err), ORDER_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].organization_id, 2042709);
    assert_int_equal(list[0].date_created, order_parse_time("2024-01-15T10:20:30+00:00"));
    assert_string_equal(list[0].product_name_id, "p");
    assert_int_equal(list[1].organization_id, 0);
    assert_int_equal(list[1].date_created, 0);
    assert_string_equal(list[1].date_created_str, "last tuesday");
    assert_int_equal(list[2].date_created, 0);
    assert_string_equal(list[2].date_created_str, "");
    free(list);
}

static void test_list_next_offset(void **state)
{
    order_list_page p;

    (void)state;
    /* page.total known: go on until it is reached, by what was served */
    p = (order_list_page){ .total = 25, .limit = 10, .entries = 10 };
    assert_int_equal(order_list_next_offset(0, 1000, &p), 10);
    p = (order_list_page){ .total = 25, .limit = 10, .entries = 5 };
    assert_int_equal(order_list_next_offset(20, 1000, &p), -1);
    /* a server serving fewer than asked is followed, not skipped over */
    p = (order_list_page){ .total = 2500, .limit = 1000, .entries = 7 };
    assert_int_equal(order_list_next_offset(0, 1000, &p), 7);
    /* no page object: a short page is the last; a full one is not */
    p = (order_list_page){ .total = -1, .limit = -1, .entries = 1000 };
    assert_int_equal(order_list_next_offset(1000, 1000, &p), 2000);
    p = (order_list_page){ .total = -1, .limit = -1, .entries = 999 };
    assert_int_equal(order_list_next_offset(1000, 1000, &p), -1);
    p = (order_list_page){ .total = -1, .limit = 10, .entries = 10 };
    assert_int_equal(order_list_next_offset(0, 1000, &p), 10);
    /* an empty page ends the list, whatever total says */
    p = (order_list_page){ .total = 50, .limit = 10, .entries = 0 };
    assert_int_equal(order_list_next_offset(10, 1000, &p), -1);
}

static void test_errors_text(void **state)
{
    char buf[256];

    (void)state;
    order_parse_errors(S("{\"errors\":[{\"code\":\"access_denied\",\"message\":\"bad key\"},"
                         "{\"code\":\"x\"},{\"message\":\"only text\"},5]}"), buf, sizeof(buf));
    assert_string_equal(buf, "access_denied: bad key; x; only text");
    order_parse_errors(S("{\"errors\":\"nope\"}"), buf, sizeof(buf));
    assert_string_equal(buf, "");
    order_parse_errors(S("not json"), buf, sizeof(buf));
    assert_string_equal(buf, "");
    order_parse_errors(NULL, 0, buf, sizeof(buf));
    assert_string_equal(buf, "");
    order_parse_errors(S("{\"errors\":[{\"code\":\"aaaaaaaaaaaaaaaaaaaa\",\"message\":"
                         "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}]}"), buf, 16);
    assert_true(strlen(buf) < 16);
}

static void test_status_classes(void **state)
{
    (void)state;
    assert_int_equal(order_status_classify("needs_approval"), ORDER_ST_NEEDS_APPROVAL);
    assert_int_equal(order_status_classify("reissue_pending"), ORDER_ST_REISSUE_PENDING);
    assert_int_equal(order_status_classify("canceled"), ORDER_ST_CANCELED);
    assert_int_equal(order_status_classify("Issued"), ORDER_ST_UNKNOWN);
    assert_int_equal(order_status_classify(NULL), ORDER_ST_UNKNOWN);
    assert_string_equal(order_status_class_name(ORDER_ST_EXPIRED), "expired");
    assert_string_equal(order_status_class_name((order_status_class)99), "unknown");
}

static void test_time_formats(void **state)
{
    (void)state;
    assert_int_equal(order_parse_time("2024-01-15T10:20:30+00:00"), 1705314030);
    assert_int_equal(order_parse_time("2024-01-15 10:20:30"), 1705314030);
    assert_int_equal(order_parse_time("2024-01-15"), 1705276800);
    assert_int_equal(order_parse_time("15 JAN 2024"), 0);
    assert_int_equal(order_parse_time(""), 0);
}

static void test_redact_card(void **state)
{
    const char *body = "{\"payment_method\":\"card\",\"credit_card\":{\"number\":\"4111\","
                       "\"cvv\":\"123\"},\"x\":{\"credit_card\":[1]}}";
    char *out;

    (void)state;
    out = http_redact_json(body, strlen(body));
    assert_non_null(out);
    assert_null(strstr(out, "4111"));
    assert_null(strstr(out, "123"));
    assert_non_null(strstr(out, "\"credit_card\":\"[redacted]\""));
    assert_non_null(strstr(out, "\"payment_method\":\"card\""));
    free(out);
    assert_null(http_redact_json(S("not json")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placed_seed_reply),
        cmocka_unit_test(test_placed_missing_or_bad_id),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_info_full),
        cmocka_unit_test(test_info_wrong_types_and_unknown_status),
        cmocka_unit_test(test_info_missing_status_and_control_chars),
        cmocka_unit_test(test_reached_by_certificate_id),
        cmocka_unit_test(test_request_info),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_list_entry_facts),
        cmocka_unit_test(test_list_next_offset),
        cmocka_unit_test(test_errors_text),
        cmocka_unit_test(test_status_classes),
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test(test_redact_card),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
