/*
 * The one clock and the one sleep: the clock moves forward, a sleep lasts
 * as long as asked, and a stop request ends it within a slice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "monotonic.h"

static int calls;

static bool stop_at_second_look(void)
{
    return ++calls >= 2;
}

static bool never_stop(void)
{
    return false;
}

static void a_sleep_lasts_as_asked(void **state)
{
    double t0 = monotonic_now(), t1;

    (void)state;
    assert_true(stoppable_sleep(0.3, never_stop));
    t1 = monotonic_now();
    assert_true(t1 - t0 >= 0.3);
    assert_true(stoppable_sleep(0.05, NULL));
    assert_true(monotonic_now() - t1 >= 0.05);
    assert_true(stoppable_sleep(0, never_stop));
}

static void a_stop_ends_a_long_sleep_within_a_slice(void **state)
{
    double t0 = monotonic_now();

    (void)state;
    calls = 0;
    assert_false(stoppable_sleep(60, stop_at_second_look));
    assert_true(monotonic_now() - t0 < 5);   /* one slice is a quarter second */
    assert_true(calls >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_sleep_lasts_as_asked),
        cmocka_unit_test(a_stop_ends_a_long_sleep_within_a_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
