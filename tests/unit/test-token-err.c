/*
 * The token layer's error value: what each PKCS#11 return value means for
 * the caller (retry, ask a person), and messages; key specs and hex IDs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "token.h"

static void test_removal_is_typed_and_resumable(void **state)
{
    CK_RV removed[] = { CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
                        CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR };
    (void)state;
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
        token_err err;

        token_err_clear(&err);
        assert_int_equal(token_err_rv(&err, removed[i], "token \"X\": C_Sign"), TOKEN_ERR_REMOVED);
        assert_int_equal(err.code, TOKEN_ERR_REMOVED);
        assert_true(err.retryable);
        assert_int_equal(err.rv, removed[i]);
        assert_non_null(strstr(err.message, token_rv_name(removed[i])));
        assert_non_null(strstr(err.message, "run the command again"));
    }
}

static void test_pin_codes_need_user(void **state)
{
    token_err err;

    (void)state;
    assert_int_equal(token_code_for_rv(CKR_PIN_INCORRECT), TOKEN_ERR_PIN_INCORRECT);
    assert_int_equal(token_code_for_rv(CKR_PIN_LOCKED), TOKEN_ERR_PIN_LOCKED);
    assert_int_equal(token_code_for_rv(CKR_PIN_EXPIRED), TOKEN_ERR_PIN_EXPIRED);
    assert_int_equal(token_code_for_rv(CKR_PIN_LEN_RANGE), TOKEN_ERR_PIN_INCORRECT);
    token_err_rv(&err, CKR_PIN_INCORRECT, "login");
    assert_false(err.retryable);     /* never retried automatically */
    assert_true(err.needs_user);
    token_err_set(&err, TOKEN_ERR_PIN_LOCKED, CKR_PIN_LOCKED, "token \"%s\": locked", "Q");
    assert_true(err.needs_user);
    assert_string_equal(err.message, "token \"Q\": locked");
}

static void test_other_codes(void **state)
{
    (void)state;
    assert_int_equal(token_code_for_rv(CKR_OK), TOKEN_OK);
    assert_int_equal(token_code_for_rv(CKR_USER_NOT_LOGGED_IN), TOKEN_ERR_NOT_LOGGED_IN);
    assert_int_equal(token_code_for_rv(CKR_FUNCTION_NOT_SUPPORTED), TOKEN_ERR_UNSUPPORTED);
    assert_int_equal(token_code_for_rv(CKR_GENERAL_ERROR), TOKEN_ERR_GENERAL);
    assert_string_equal(token_rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
    assert_string_equal(token_rv_name(0x80001234UL), "CKR_0x80001234");
    assert_string_equal(token_code_name(TOKEN_ERR_REMOVED), "removed");
    assert_string_equal(token_code_name((token_code)999), "unknown");
}

static void test_message_truncates_safely(void **state)
{
    token_err err;
    char big[3000];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    token_err_rv(&err, CKR_DEVICE_REMOVED, "%s", big);
    assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
}

static void test_keyspec(void **state)
{
    token_keyspec s;
    token_err err;

    (void)state;
    assert_int_equal(token_keyspec_parse(NULL, &s, &err), TOKEN_OK);
    assert_int_equal(s.type, CKK_RSA);
    assert_int_equal(s.bits, 3072);
    assert_int_equal(token_keyspec_parse("ec:P-384", &s, &err), TOKEN_OK);
    assert_int_equal(s.type, CKK_EC);
    assert_int_equal(s.bits, 384);
    assert_int_equal(token_keyspec_parse("rsa:4096", &s, &err), TOKEN_OK);
    assert_int_equal(s.bits, 4096);
    assert_int_equal(token_keyspec_parse("rsa:1024", &s, &err), TOKEN_ERR_INVALID);
    assert_non_null(strstr(err.message, "key type \"rsa:1024\" is not one of"));
    assert_non_null(strstr(err.message, "rsa:1024"));
    assert_int_equal(token_keyspec_parse("ec:P-521", &s, &err), TOKEN_ERR_INVALID);
}

static void test_hex(void **state)
{
    unsigned char b[4];
    size_t n;
    char out[9];

    (void)state;
    assert_true(token_unhex("0A:1b", b, sizeof(b), &n));
    assert_int_equal(n, 2);
    assert_int_equal(b[0], 0x0a);
    assert_int_equal(b[1], 0x1b);
    token_hex(b, n, out);
    assert_string_equal(out, "0a1b");
    assert_false(token_unhex("0a1", b, sizeof(b), &n));      /* odd length */
    assert_false(token_unhex("zz", b, sizeof(b), &n));
    assert_false(token_unhex("", b, sizeof(b), &n));
    assert_false(token_unhex("0102030405", b, sizeof(b), &n)); /* too long */
}

static void test_pin_state_names(void **state)
{
    (void)state;
    assert_string_equal(token_pin_state_name(TOKEN_PIN_FINAL_TRY), "final try");
    assert_string_equal(token_pin_state_name(TOKEN_PIN_LOCKED), "locked");
    assert_string_equal(token_pin_state_name(TOKEN_PIN_TO_BE_CHANGED), "must be changed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removal_is_typed_and_resumable),
        cmocka_unit_test(test_pin_codes_need_user),
        cmocka_unit_test(test_other_codes),
        cmocka_unit_test(test_message_truncates_safely),
        cmocka_unit_test(test_keyspec),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_pin_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
