/*
 * term_text_escape: control characters (C0, DEL, C1) and bytes that are not
 * UTF-8 come out as visible escapes; text, accents included, stays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "term_text.h"

#include <string.h>

static void expect(const char *in, bool keep_nl, const char *want)
{
    char out[256];

    assert_string_equal(term_text_escape(in, keep_nl, out, sizeof(out)), want);
}

static void test_escapes(void **state)
{
    (void)state;
    expect("QSCD-01", false, "QSCD-01");
    expect("Caf\xc3\xa9 \xe2\x80\x94 ok", false, "Caf\xc3\xa9 \xe2\x80\x94 ok");
    expect("a\x1b[2Jb", false, "a\\x1b[2Jb");
    expect("t\x07\x7f", false, "t\\x07\\x7f");
    expect("csi\xc2\x9b" "31m", false, "csi\\u009b31m");       /* C1 CSI in UTF-8 */
    expect("raw\x9b" "31m", false, "raw\\x9b31m");             /* C1 as a raw byte */
    expect("over\xc0\xaf", false, "over\\xc0\\xaf");           /* overlong '/' */
    expect("two\nlines", false, "two\\x0alines");
    expect("two\nlines", true, "two\nlines");
    expect(NULL, false, "");
}

static void test_cut_whole(void **state)
{
    char out[8];

    (void)state;
    /* Never half an escape or half a character at the cut. */
    assert_string_equal(term_text_escape("abcde\x1b", false, out, sizeof(out)), "abcde");
    assert_string_equal(term_text_escape("abcdef\xc3\xa9", false, out, sizeof(out)), "abcdef");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_cut_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
