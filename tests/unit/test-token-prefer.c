/*
 * One module per token (pkcs11/token_prefer.c): the rule that picks the
 * module a token is used through -- module-preference patterns, p11-kit's
 * priority, a vendor's module before OpenSC's, load order -- and the list
 * that shows each token once, naming the other modules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "token_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static token_module mods[2];
static token_ctx ctx;

static void fake_ctx(void)
{
    memset(mods, 0, sizeof(mods));
    mods[0].name = "opensc-pkcs11";
    mods[0].path = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
    mods[0].opensc = true;
    mods[1].name = "etoken";
    mods[1].path = "/usr/lib/libeToken.so";
    mods[0].pattern = mods[1].pattern = INT_MAX;
    memset(&ctx, 0, sizeof(ctx));
    ctx.modules = mods;
    ctx.n_modules = 2;
}

static void slot(token_slot_info *s, const char *module, const char *serial)
{
    memset(s, 0, sizeof(*s));
    s->module = strdup(module);
    s->present = true;
    strcpy(s->manufacturer, "SafeNet, Inc.");
    strcpy(s->serial, serial);
    s->uri = strdup("pkcs11:x");
}

/* opensc: S1, S2; etoken: S1 -- as two registered modules show one token. */
static void three_slots(token_slot_list *l)
{
    l->count = 3;
    l->items = calloc(3, sizeof(*l->items));
    slot(&l->items[0], "opensc-pkcs11", "S1");
    slot(&l->items[1], "etoken", "S1");
    slot(&l->items[2], "opensc-pkcs11", "S2");
}

static void check_one_per_token(const char *prefs, const char *s1_module, const char *also)
{
    token_slot_list l;
    token_err err;

    fake_ctx();
    assert_int_equal(token_ctx_prefer(&ctx, prefs, &err), TOKEN_OK);
    three_slots(&l);
    assert_int_equal(token_slot_list_dedupe(&ctx, &l, &err), TOKEN_OK);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].serial, "S1");
    assert_string_equal(l.items[0].module, s1_module);
    assert_string_equal(l.items[0].also_visible, also);
    assert_string_equal(l.items[1].serial, "S2");
    assert_null(l.items[1].also_visible);
    token_slot_list_free(&l);
}

static void test_vendor_before_opensc(void **state)
{
    (void)state;
    check_one_per_token(NULL, "etoken", "opensc-pkcs11");
    check_one_per_token("", "etoken", "opensc-pkcs11");
}

static void test_patterns_in_order(void **state)
{
    (void)state;
    check_one_per_token("opensc*", "opensc-pkcs11", "etoken");
    check_one_per_token("nomatch, */opensc-pkcs11.so", "opensc-pkcs11", "etoken");
    check_one_per_token("libeToken.so,opensc*", "etoken", "opensc-pkcs11");
}

static void test_priority(void **state)
{
    token_err err;

    (void)state;
    fake_ctx();
    mods[0].priority = 10;   /* p11-kit's priority: outranks the vendor default */
    assert_true(token_module_cmp(&ctx, &mods[0], &mods[1]) < 0);
    assert_int_equal(token_ctx_prefer(&ctx, "libeToken.so", &err), TOKEN_OK);
    assert_true(token_module_cmp(&ctx, &mods[1], &mods[0]) < 0);   /* a pattern wins */
}

static void test_no_serial_never_merged(void **state)
{
    (void)state;
    assert_false(token_same_token("A", "", "A", ""));
    assert_false(token_same_token("A", "1", "B", "1"));
    assert_true(token_same_token("A", "1", "A", "1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vendor_before_opensc),
        cmocka_unit_test(test_patterns_in_order),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_no_serial_never_merged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
