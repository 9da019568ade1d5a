/*
 * The one reading of an order's status (src/order_wait.c): which orders are
 * final (order_status_is_final), which request is the latest (the highest
 * id, wherever it sits in the array), and when a wait's target is reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "order.h"

#include <stdio.h>
#include <string.h>

/* An order with status `st` and requests (id, status) in the order given. */
static void make(order_info *info, order_request_item *reqs, const char *st, long cert_id,
                 size_t n, const long *ids, const char *const *sts)
{
    memset(info, 0, sizeof(*info));
    info->id = 100001;
    snprintf(info->status, sizeof(info->status), "%s", st);
    info->status_class = order_status_classify(st);
    info->certificate.id = cert_id;
    for (size_t i = 0; i < n; i++) {
        memset(&reqs[i], 0, sizeof(reqs[i]));
        reqs[i].id = ids[i];
        snprintf(reqs[i].status, sizeof(reqs[i].status), "%s", sts[i]);
        reqs[i].status_class = order_status_classify(sts[i]);
    }
    info->requests = n ? reqs : NULL;
    info->n_requests = n;
}

static void test_latest_request_is_the_highest_id(void **state)
{
    order_request_item reqs[3];
    order_info info;
    const long ids[] = { 200007, 200002, 200005 };
    const char *const sts[] = { "pending", "approved", "rejected" };

    (void)state;
    make(&info, reqs, "issued", 300001, 3, ids, sts);
    assert_ptr_equal(order_latest_request(&info), &reqs[0]);
    make(&info, reqs, "issued", 300001, 0, ids, sts);
    assert_null(order_latest_request(&info));
}

static void test_final_order_statuses(void **state)
{
    static const struct { const char *status; bool final; const char *says; } cases[] = {
        { "rejected", true, "was rejected" },
        { "canceled", true, "was canceled" },
        { "cancelled", true, "was cancelled" },
        { "revoked", true, "is revoked" },
        { "expired", true, "is expired" },
        { "pending", false, NULL },
        { "issued", false, NULL },
        { "needs_approval", false, NULL },
        { "reissue_pending", false, NULL },
        { "on_hold", false, NULL },    /* unknown: in progress */
        { "", false, NULL },
    };
    order_request_item reqs[1];
    order_info info;
    const long ids[] = { 200001 };
    const char *const sts[] = { "approved" };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        make(&info, reqs, cases[i].status, 300001, 1, ids, sts);
        why[0] = '\0';
        if (order_status_is_final(&info, why, sizeof(why)) != cases[i].final)
            fail_msg("status \"%s\": final should be %d", cases[i].status, cases[i].final);
        if (cases[i].says != NULL &&
            (strstr(why, cases[i].says) == NULL || strstr(why, "order 100001") == NULL))
            fail_msg("status \"%s\": says \"%s\"", cases[i].status, why);
        /* A final order never counts as reached, whatever its certificate id. */
        if (cases[i].final) {
            assert_false(order_reached(&info, ORDER_WAIT_APPROVED));
            assert_false(order_reached(&info, ORDER_WAIT_ISSUED));
        }
    }
    assert_false(order_status_is_final(NULL, why, sizeof(why)));
    make(&info, reqs, "revoked", 300001, 1, ids, sts);
    assert_true(order_status_is_final(&info, NULL, 0));   /* no sentence wanted */
}

static void test_latest_request_rejected_or_canceled_is_final(void **state)
{
    order_request_item reqs[2];
    order_info info;
    const long ids[] = { 200009, 200001 };
    const char *const canceled[] = { "canceled", "approved" };
    const char *const old_rejected[] = { "approved", "rejected" };
    char why[256];

    (void)state;
    make(&info, reqs, "pending", 0, 2, ids, canceled);
    assert_true(order_status_is_final(&info, why, sizeof(why)));
    assert_non_null(strstr(why, "request 200009 was canceled"));
    /* Only the latest request counts: an older rejected one does not. */
    make(&info, reqs, "issued", 300001, 2, ids, old_rejected);
    assert_false(order_status_is_final(&info, why, sizeof(why)));
    assert_true(order_reached(&info, ORDER_WAIT_ISSUED));
}

static void test_reached(void **state)
{
    order_request_item reqs[1];
    order_info info;
    const long ids[] = { 200001 };
    const char *const approved[] = { "approved" };
    const char *const pending[] = { "pending" };

    (void)state;
    make(&info, reqs, "pending", 0, 1, ids, approved);
    assert_true(order_reached(&info, ORDER_WAIT_APPROVED));
    assert_false(order_reached(&info, ORDER_WAIT_ISSUED));
    make(&info, reqs, "pending", 300001, 1, ids, pending);
    assert_true(order_reached(&info, ORDER_WAIT_APPROVED));
    make(&info, reqs, "pending", 0, 1, ids, pending);
    assert_false(order_reached(&info, ORDER_WAIT_APPROVED));
    assert_false(order_reached(NULL, ORDER_WAIT_APPROVED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latest_request_is_the_highest_id),
        cmocka_unit_test(test_final_order_statuses),
        cmocka_unit_test(test_latest_request_rejected_or_canceled_is_final),
        cmocka_unit_test(test_reached),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
