/*
 * The one rule for "may this listed order be the one an interrupted submit
 * stored" (lc_order_may_be_job), and the wiping free of a request tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lifecycle_int.h"
#include "order_request.h"

#include <string.h>

#define T0 1700000000

static journal_job job_submitting(void)
{
    static char product[] = "pkio_qualified_organisation_services", org[] = "2042709";
    journal_job j;

    memset(&j, 0, sizeof(j));
    j.order_state = LC_ORDER_SUBMITTING;
    j.product = product;
    j.organization_id = org;
    j.request_created = T0;
    j.lock_fd = -1;
    return j;
}

static void test_matching_order(void **state)
{
    journal_job j = job_submitting();
    lc_order_facts f = { "pkio_qualified_organisation_services", 2042709, T0 + 5 };

    (void)state;
    assert_true(lc_order_may_be_job(&j, &f));
    f.date_created = T0 - LC_CLOCK_SKEW_S;   /* clocks that disagree a little */
    assert_true(lc_order_may_be_job(&j, &f));
}

static void test_known_difference_rules_out(void **state)
{
    journal_job j = job_submitting();
    lc_order_facts f = { "pkio_qualified_organisation_services", 2042709, T0 };

    (void)state;
    f.organization_id = 2100001;
    assert_false(lc_order_may_be_job(&j, &f));
    f.organization_id = 2042709;
    f.product = "ssl_plus";
    assert_false(lc_order_may_be_job(&j, &f));
    f.product = "pkio_qualified_organisation_services";
    f.date_created = T0 - LC_CLOCK_SKEW_S - 1;   /* before the POST was sent */
    assert_false(lc_order_may_be_job(&j, &f));
}

/* What an order does not say (or says unreadably) keeps it a candidate. */
static void test_unknown_keeps(void **state)
{
    journal_job j = job_submitting();
    lc_order_facts f = { NULL, 0, 0 };

    (void)state;
    assert_true(lc_order_may_be_job(&j, &f));
    f.product = "";
    assert_true(lc_order_may_be_job(&j, &f));
    /* date_created absent or unparseable: 0, the same rule everywhere */
    f.date_created = order_parse_time("not a date");
    assert_true(lc_order_may_be_job(&j, &f));
}

static void test_job_side(void **state)
{
    journal_job j = job_submitting();
    lc_order_facts f = { "pkio_qualified_organisation_services", 2042709, T0 };
    char id[] = "100001";

    (void)state;
    j.order_state = LC_ORDER_PENDING;
    assert_false(lc_order_may_be_job(&j, &f));
    j.order_state = LC_ORDER_SUBMITTING;
    j.order_id = id;   /* it has its order already */
    assert_false(lc_order_may_be_job(&j, &f));
    j.order_id = NULL;
    j.product = NULL;  /* a job that does not know its request */
    j.organization_id = NULL;
    j.request_created = 0;
    f.organization_id = 999;
    f.date_created = 1;
    assert_true(lc_order_may_be_job(&j, &f));
}

static void test_facts_of_info(void **state)
{
    order_info info;
    lc_order_facts f;

    (void)state;
    memset(&info, 0, sizeof(info));
    snprintf(info.product_name_id, sizeof(info.product_name_id), "p");
    info.organization_id = 7;
    info.date_created = T0;
    lc_order_facts_of_info(&info, &f);
    assert_string_equal(f.product, "p");
    assert_int_equal(f.organization_id, 7);
    assert_int_equal(f.date_created, T0);
}

static void test_request_free(void **state)
{
    cJSON *req = cJSON_Parse("{\"credit_card\":{\"number\":\"4111 1111 1111 1111\","
                             "\"cvv\":\"123\"},"
                             "\"list\":[\"a\",{\"b\":\"c\"}],\"n\":4}");

    (void)state;
    assert_non_null(req);
    order_request_free(req);   /* ASan/valgrind: no leak, no bad write */
    order_request_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_order),
        cmocka_unit_test(test_known_difference_rules_out),
        cmocka_unit_test(test_unknown_keeps),
        cmocka_unit_test(test_job_side),
        cmocka_unit_test(test_facts_of_info),
        cmocka_unit_test(test_request_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
