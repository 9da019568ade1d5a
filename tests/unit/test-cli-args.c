/* Option values shared by the commands: durations, counts, --relax. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cli_args_int.h"
#include "exit_codes.h"
#include "x509.h"

static void test_durations(void **state)
{
    static const struct { const char *in; double want; } ok[] = {
        { "90", 90 }, { "90s", 90 }, { "500ms", 0.5 }, { "5m", 300 }, { "2h", 7200 },
        { "0", 0 }, { "0.25", 0.25 },
    };
    static const char *const bad[] = { "", "x", "5x", "-1", "5 m", "1e999", "nan", "m" };
    double v;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = -1;
        assert_int_equal(cli_parse_duration(ok[i].in, "--timeout", &v), 0);
        assert_true(v == ok[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cli_parse_duration(bad[i], "--timeout", &v), QSCD_EXIT_USAGE);
    assert_int_equal(cli_parse_duration(NULL, "--timeout", &v), QSCD_EXIT_USAGE);
}

static void test_counts(void **state)
{
    int n = 0;

    (void)state;
    assert_int_equal(cli_parse_count("4", "--max-tokens", &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(cli_parse_count("0", "--max-tokens", &n), QSCD_EXIT_USAGE);
    assert_int_equal(cli_parse_count("-3", "--max-tokens", &n), QSCD_EXIT_USAGE);
    assert_int_equal(cli_parse_count("3x", "--max-tokens", &n), QSCD_EXIT_USAGE);
    assert_int_equal(cli_parse_count("99999999999", "--max-tokens", &n), QSCD_EXIT_USAGE);
}

static void test_relax(void **state)
{
    unsigned bits = 0;

    (void)state;
    assert_int_equal(cli_parse_relax("validity,chain", &bits), 0);
    assert_int_equal(bits, X509_RELAX_VALIDITY | X509_RELAX_CHAIN);
    assert_int_equal(cli_parse_relax("policy", &bits), 0);
    assert_int_equal(bits, X509_RELAX_VALIDITY | X509_RELAX_CHAIN | X509_RELAX_POLICY);
    bits = 0;
    assert_int_equal(cli_parse_relax("", &bits), 0);
    assert_int_equal(bits, 0);
    assert_int_equal(cli_parse_relax("validity,bogus", &bits), QSCD_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_relax),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
