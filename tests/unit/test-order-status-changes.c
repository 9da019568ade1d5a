/*
 * The status-changes reply parser: DigiCert's shape, ids as numbers or
 * digit strings, entries without an id skipped and counted, unknown
 * statuses kept as received, and anything that is not the shape refused
 * without a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "order.h"

#include <stdlib.h>
#include <string.h>

#define S(lit) lit, strlen(lit)

static void test_digicert_shape(void **state)
{
    order_status_change *c = NULL;
    order_err err = { 0 };
    size_t n = 9, skipped = 9;

    (void)state;
    assert_int_equal(order_parse_status_changes(
                         S("{\"orders\":[{\"order_id\":100001,\"certificate_id\":300001,"
                           "\"status\":\"issued\"},{\"order_id\":\"100002\",\"status\":\"revoked\"},"
                           "{\"order_id\":100003,\"certificate_id\":null,\"status\":\"brand_new\","
                           "\"extra\":[1]}]}"),
                         &c, &n, &skipped, &err),
                     ORDER_OK);
    assert_int_equal(n, 3);
    assert_int_equal(skipped, 0);
    assert_int_equal(c[0].order_id, 100001);
    assert_int_equal(c[0].certificate_id, 300001);
    assert_string_equal(c[0].status, "issued");
    assert_int_equal(c[0].status_class, ORDER_ST_ISSUED);
    assert_int_equal(c[1].order_id, 100002);
    assert_int_equal(c[1].certificate_id, 0);
    assert_int_equal(c[1].status_class, ORDER_ST_REVOKED);
    assert_string_equal(c[2].status, "brand_new");
    assert_int_equal(c[2].status_class, ORDER_ST_UNKNOWN);
    free(c);
}

static void test_empty_and_skipped(void **state)
{
    order_status_change *c = NULL;
    order_err err = { 0 };
    size_t n = 9, skipped = 0;

    (void)state;
    assert_int_equal(order_parse_status_changes(S("{\"orders\":[]}"), &c, &n, &skipped, &err),
                     ORDER_OK);
    assert_int_equal(n, 0);
    free(c);
    assert_int_equal(order_parse_status_changes(
                         S("{\"orders\":[1,{\"status\":\"issued\"},{\"order_id\":-4},"
                           "{\"order_id\":1.5},{\"order_id\":\"x\"},{\"order_id\":7,"
                           "\"status\":\"pen\\u0001ding\"}]}"),
                         &c, &n, &skipped, &err),
                     ORDER_OK);
    assert_int_equal(n, 1);
    assert_int_equal(skipped, 5);
    assert_int_equal(c[0].order_id, 7);
    assert_string_equal(c[0].status, "pen?ding");   /* control characters never reach a terminal */
    free(c);
}

static void test_not_the_shape(void **state)
{
    static const char *const bad[] = {
        "", "not json", "[]", "\"orders\"", "{}", "{\"orders\":{}}", "{\"orders\":null}",
        "{\"orders\":[", "{\"errors\":[{\"code\":\"time_frame_too_long\"}]}",
    };
    order_status_change *c;
    order_err err;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        c = (order_status_change *)&err;   /* must be reset */
        assert_int_equal(order_parse_status_changes(bad[i], strlen(bad[i]), &c, &n, NULL, &err),
                         ORDER_ERR_PROTOCOL);
        assert_null(c);
        assert_int_equal(n, 0);
        assert_non_null(strstr(err.message, "status-changes"));
    }
    assert_int_equal(order_parse_status_changes(NULL, 0, &c, &n, NULL, &err), ORDER_ERR_PROTOCOL);
}

static void test_window_checked_before_sending(void **state)
{
    order_status_change *c = NULL;
    order_err err = { 0 };
    size_t n = 0;

    (void)state;
    /* No client needed: the window is refused before anything is sent. */
    assert_int_equal(order_status_changes(NULL, ORDER_STATUS_CHANGES_MAX_S + 1, &c, &n, &err),
                     ORDER_ERR_INVALID);
    assert_non_null(strstr(err.message, "7 days"));
    assert_int_equal(order_status_changes(NULL, 0, &c, &n, &err), ORDER_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digicert_shape),
        cmocka_unit_test(test_empty_and_skipped),
        cmocka_unit_test(test_not_the_shape),
        cmocka_unit_test(test_window_checked_before_sending),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
