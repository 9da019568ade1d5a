/*
 * Which key on a token a certificate is for (token_key_for_cert): the one
 * rule every caller uses, before login (public keys) and after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "token.h"
#include "x509-testca.h"

static void the_key_the_certificate_holds(void **state)
{
    EVP_PKEY *ca_key = tc_key_ec(), *rsa = tc_key_rsa(2048), *ec = tc_key_ec(), *other = tc_key_ec();
    X509 *ca = tc_ca(TC_CA_NAME, ca_key, NULL, NULL, true);
    X509 *rsa_leaf = tc_leaf(rsa, ca, ca_key, &(tc_leaf_opts){ 0 });
    X509 *ec_leaf = tc_leaf(ec, ca, ca_key, &(tc_leaf_opts){ .serial = 7 });
    token_key items[3], others[2];
    token_key_list keys = { .count = 3, .items = items };
    token_key_list none = { .count = 2, .items = others };

    memset(items, 0, sizeof(items));
    memset(others, 0, sizeof(others));
    items[1].pub = ec;
    items[2].pub = rsa;
    others[0].pub = other;

    (void)state;
    assert_ptr_equal(token_key_for_cert(&keys, rsa_leaf), &items[2]);
    assert_ptr_equal(token_key_for_cert(&keys, ec_leaf), &items[1]);
    assert_null(token_key_for_cert(&none, rsa_leaf));   /* another key, an unreadable one */
    assert_null(token_key_for_cert(&keys, NULL));
    assert_null(token_key_for_cert(NULL, rsa_leaf));
    X509_free(rsa_leaf);
    X509_free(ec_leaf);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_key_the_certificate_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
