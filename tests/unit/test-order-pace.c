/*
 * Pacing under CertCentral's two sliding windows, with a fake clock, and
 * the backoff / Retry-After computation.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "order.h"
#include "unit-files.h"

#define EPS 1e-9

static const order_pace_window cc_windows[] = { ORDER_PACE_SHORT, ORDER_PACE_LONG };

/* Send as fast as the pacer allows; returns the fake time after n sends. */
static double drive(order_pace *p, double t, int n)
{
    for (int i = 0; i < n; i++) {
        t += order_pace_delay(p, t);
        order_pace_record(p, t);
    }
    return t;
}

static void test_short_window(void **state)
{
    order_pace *p = order_pace_new(cc_windows, 2);

    (void)state;
    assert_non_null(p);
    /* 100 go at once... */
    for (int i = 0; i < 100; i++) {
        assert_true(order_pace_delay(p, 1000.0) < EPS);
        order_pace_record(p, 1000.0);
    }
    /* ...the 101st waits until the first is 5 s old. */
    assert_true(order_pace_delay(p, 1000.0) > 5.0 - EPS);
    assert_true(order_pace_delay(p, 1000.0) < 5.0 + EPS);
    assert_true(order_pace_delay(p, 1003.0) > 2.0 - EPS);
    assert_true(order_pace_delay(p, 1005.0) < EPS);
    order_pace_free(p);
}

/* Any 5 s span holds at most 100, any 180 s span at most 1000. */
static void test_both_windows_hold(void **state)
{
    order_pace *p = order_pace_new(cc_windows, 2);
    double times[1500];
    double t = 0;

    (void)state;
    for (int i = 0; i < 1500; i++) {
        t += order_pace_delay(p, t);
        order_pace_record(p, t);
        times[i] = t;
    }
    for (int i = 100; i < 1500; i++)
        assert_true(times[i] - times[i - 100] >= 5.0 - EPS);
    for (int i = 1000; i < 1500; i++)
        assert_true(times[i] - times[i - 1000] >= 180.0 - EPS);
    /* At full speed the short window lets 1000 through in 50 s: the long one then rules. */
    assert_true(times[999] < 50.0 + EPS);
    assert_true(times[1000] >= 180.0 - EPS);
    order_pace_free(p);
}

static void test_slow_sender_never_waits(void **state)
{
    order_pace *p = order_pace_new(cc_windows, 2);

    (void)state;
    for (int i = 0; i < 3000; i++) {
        double t = i * 0.2;          /* 5 per second, 900 per 3 min */

        assert_true(order_pace_delay(p, t) < EPS);
        order_pace_record(p, t);
    }
    order_pace_free(p);
}

static void test_bad_windows(void **state)
{
    order_pace_window zero = { 0, 5.0 }, neg = { 10, -1.0 };

    (void)state;
    assert_null(order_pace_new(NULL, 0));
    assert_null(order_pace_new(&zero, 1));
    assert_null(order_pace_new(&neg, 1));
    assert_true(order_pace_delay(NULL, 1.0) < EPS);
    order_pace_record(NULL, 1.0);
}

static void test_small_window_drive(void **state)
{
    order_pace_window w = { 3, 1.0 };
    order_pace *p = order_pace_new(&w, 1);
    double t;

    (void)state;
    t = drive(p, 10.0, 3);
    assert_true(t < 10.0 + EPS);
    t = drive(p, t, 1);
    assert_true(t > 11.0 - EPS && t < 11.0 + EPS);
    t = drive(p, t, 3);
    assert_true(t > 12.0 - EPS && t < 12.0 + EPS);
    order_pace_free(p);
}

static void test_backoff(void **state)
{
    (void)state;
    /* No jitter: exact exponential, capped. */
    assert_true(order_backoff_delay(1, 2.0, 1.5, 60.0, 0.0) == 2.0);
    assert_true(order_backoff_delay(2, 2.0, 1.5, 60.0, 0.0) == 3.0);
    assert_true(order_backoff_delay(3, 2.0, 1.5, 60.0, 0.0) == 4.5);
    assert_true(order_backoff_delay(30, 2.0, 1.5, 60.0, 0.0) == 60.0);
    assert_true(order_backoff_delay(1000000, 1.0, 2.0, 60.0, 0.0) == 60.0);
    /* Jitter adds at most 25%, never less than the plain delay. */
    assert_true(order_backoff_delay(1, 2.0, 1.5, 60.0, 0.999) < 2.5);
    assert_true(order_backoff_delay(1, 2.0, 1.5, 60.0, 0.5) > 2.0);
    /* Nonsense inputs fall back to sane values. */
    assert_true(order_backoff_delay(0, 0.0, 0.0, 0.0, 5.0) == 1.0);
    assert_true(order_backoff_delay(-3, -1.0, 0.5, 10.0, -1.0) == 1.0);
}

static void test_retry_after(void **state)
{
    (void)state;
    /* Retry-After given: at least that long, whatever the attempt. */
    assert_true(order_retry_delay(1, 7.0, 1.0, 60.0, 0.0) == 7.0);
    assert_true(order_retry_delay(1, 7.0, 1.0, 60.0, 0.9) >= 7.0);
    assert_true(order_retry_delay(1, 7.0, 1.0, 60.0, 0.9) <= 7.7 + EPS);
    assert_true(order_retry_delay(5, 2.0, 1.0, 60.0, 0.0) >= 2.0);
    /* Absent (< 0): exponential from the base, factor 2. */
    assert_true(order_retry_delay(1, -1, 1.0, 60.0, 0.0) == 1.0);
    assert_true(order_retry_delay(3, -1, 1.0, 60.0, 0.0) == 4.0);
    assert_true(order_retry_delay(10, -1, 1.0, 60.0, 0.0) == 60.0);
    /* "Retry-After: 0" is no reason to hammer: the backoff still applies. */
    assert_true(order_retry_delay(2, 0.0, 1.0, 60.0, 0.0) == 2.0);
    /* A day is capped at an hour, jitter and all. */
    assert_true(order_retry_delay(1, 86400.0, 1.0, 60.0, 0.9) == ORDER_RETRY_AFTER_MAX_S);
    assert_true(order_retry_delay(1, 3600.0, 1.0, 60.0, 0.5) == 3600.0);
}

static void test_jitter_range(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        double j = order_jitter();

        assert_true(j >= 0.0 && j < 1.0);
    }
}

/* --- the ledger shared between processes (order_pace_ledger.c) ---------- */

static const order_pace_window small[] = { { 3, 10.0 } };

static char *ledger_path(char *dir, size_t len)
{
    static char path[300];

    assert_int_equal(unit_tempdir(dir, len, "pace"), 0);
    /* The pacer makes the missing directories itself. */
    snprintf(path, sizeof(path), "%s/state/pace/ledger", dir);
    return path;
}

/* Two pacers, as two processes: the second sees the first one's sends. */
static void test_ledger_shared(void **state)
{
    char dir[64], *path = ledger_path(dir, sizeof(dir));
    order_pace *a = order_pace_new(small, 1), *b = order_pace_new(small, 1);
    struct stat st;

    (void)state;
    assert_int_equal(order_pace_share(a, path), 0);
    assert_int_equal(order_pace_share(b, path), 0);
    assert_true(order_pace_reserve(a, 100.0) < EPS);
    assert_true(order_pace_reserve(a, 101.0) < EPS);
    assert_true(order_pace_reserve(b, 102.0) < EPS);
    /* The window is full: b must wait until a's first send is 10 s old. */
    assert_true(fabs(order_pace_reserve(b, 103.0) - 7.0) < EPS);
    assert_true(fabs(order_pace_reserve(a, 103.0) - 7.0) < EPS);
    assert_true(order_pace_reserve(a, 110.0) < EPS);
    assert_true(fabs(order_pace_reserve(b, 110.5) - 0.5) < EPS);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    order_pace_free(a);
    order_pace_free(b);
    unit_rmtree(dir);
}

/* What a ledger may hold that must not count: another boot's times,
 * garbage, times in the future, times past every window. */
static void test_ledger_ignores_stale(void **state)
{
    char dir[64], *path = ledger_path(dir, sizeof(dir));
    order_pace *p = order_pace_new(small, 1);
    char boot[64] = "";
    FILE *f;

    (void)state;
    assert_int_equal(order_pace_share(p, path), 0);
    assert_true(order_pace_reserve(p, 50.0) < EPS);    /* the ledger file exists now */
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "qscd-pace 1 some-other-boot\n100.0\n100.0\n100.0\n");
    fclose(f);
    assert_true(order_pace_reserve(p, 101.0) < EPS);

    f = fopen("/proc/sys/kernel/random/boot_id", "r");
    assert_non_null(f);
    assert_non_null(fgets(boot, sizeof(boot), f));
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "qscd-pace 1 %s\nnot a time\n5000.0\n80.0\n200.0\n", boot);
    fclose(f);
    /* Only 200.0 counts (garbage, 80 s and 5000 s are dropped at t=201). */
    assert_true(order_pace_reserve(p, 201.0) < EPS);
    assert_true(order_pace_reserve(p, 201.0) < EPS);
    assert_true(fabs(order_pace_reserve(p, 201.0) - 9.0) < EPS);
    order_pace_free(p);
    unit_rmtree(dir);
}

/* A ledger that cannot be made leaves the pacer to this process. */
static void test_ledger_unusable(void **state)
{
    order_pace *p = order_pace_new(small, 1);

    (void)state;
    assert_int_equal(order_pace_share(p, "/proc/qscd-no/such/ledger"), 0);
    for (int i = 0; i < 3; i++)
        assert_true(order_pace_reserve(p, 1.0) < EPS);
    assert_true(fabs(order_pace_reserve(p, 1.0) - 10.0) < EPS);
    assert_int_equal(order_pace_share(p, ""), -1);
    order_pace_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_window),
        cmocka_unit_test(test_both_windows_hold),
        cmocka_unit_test(test_slow_sender_never_waits),
        cmocka_unit_test(test_bad_windows),
        cmocka_unit_test(test_small_window_drive),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_jitter_range),
        cmocka_unit_test(test_ledger_shared),
        cmocka_unit_test(test_ledger_ignores_stale),
        cmocka_unit_test(test_ledger_unusable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
