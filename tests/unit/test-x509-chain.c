/*
 * x509_chain_parse_pem and certificate identity: leaf choice, bad bundles,
 * fingerprint, serial, key match, CKA_ID-style key id; and a deterministic
 * torture run of truncated and mutated bundles that must never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "x509.h"
#include "x509-testca.h"

static EVP_PKEY *root_key, *ca_key, *rsa_key, *ec_key;
static X509 *root, *ca, *leaf, *ec_leaf;

static int group_setup(void **state)
{
    (void)state;
    root_key = tc_key_ec();
    ca_key = tc_key_ec();
    rsa_key = tc_key_rsa(2048);
    ec_key = tc_key_ec();
    root = tc_ca(TC_ROOT_NAME, root_key, NULL, NULL, true);
    ca = tc_ca(TC_CA_NAME, ca_key, root, root_key, true);
    leaf = tc_leaf(rsa_key, ca, ca_key, &(tc_leaf_opts){ 0 });
    ec_leaf = tc_leaf(ec_key, ca, ca_key, &(tc_leaf_opts){ .serial = 0x7F00 });
    return leaf && ec_leaf ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    X509 *certs[] = { root, ca, leaf, ec_leaf };
    for (size_t i = 0; i < 4; i++)
        X509_free(certs[i]);
    EVP_PKEY *keys[] = { root_key, ca_key, rsa_key, ec_key };
    for (size_t i = 0; i < 4; i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}

static x509_code parse_str(const char *pem, x509_chain **out, x509_err *err)
{
    return x509_chain_parse_pem(pem, strlen(pem), out, err);
}

static void test_parse_picks_leaf(void **state)
{
    (void)state;
    X509 *order[] = { root, ca, leaf };
    char *pem = tc_pem(order, 3, NULL);
    x509_chain *c = NULL;
    x509_err err;

    assert_int_equal(parse_str(pem, &c, &err), X509_OK);
    assert_int_equal(X509_cmp(c->leaf, leaf), 0);
    assert_int_equal(c->n_rest, 2);
    /* The rest keeps the order received. */
    assert_int_equal(X509_cmp(c->rest[0], root), 0);
    assert_int_equal(X509_cmp(c->rest[1], ca), 0);
    x509_chain_free(c);
    free(pem);
}

static void test_parse_only_cas_takes_first(void **state)
{
    (void)state;
    X509 *order[] = { ca, root };
    char *pem = tc_pem(order, 2, NULL);
    x509_chain *c = NULL;
    x509_err err;

    assert_int_equal(parse_str(pem, &c, &err), X509_OK);
    assert_int_equal(X509_cmp(c->leaf, ca), 0);
    assert_int_equal(c->n_rest, 1);
    x509_chain_free(c);
    free(pem);
}

static void test_parse_tolerates_text_around(void **state)
{
    (void)state;
    char *pem = tc_pem(&leaf, 1, NULL);
    char buf[8192];
    x509_chain *c = NULL;
    x509_err err;

    snprintf(buf, sizeof buf, "subject=CN = Example\r\n%s\n\n", pem);
    assert_int_equal(parse_str(buf, &c, &err), X509_OK);
    assert_int_equal(c->n_rest, 0);
    x509_chain_free(c);
    free(pem);
}

static void expect_parse_error(const char *pem, size_t len, const char *needle)
{
    x509_chain *c = (x509_chain *)1;
    x509_err err = { 0 };
    assert_int_equal(x509_chain_parse_pem(pem, len, &c, &err), X509_ERR_PARSE);
    assert_null(c);
    if (!strstr(err.message, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, err.message);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("", 0, "empty");
    expect_parse_error(NULL, 10, "empty");
    expect_parse_error("hello", 5, "no PEM certificate");
    const char *key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    expect_parse_error(key, strlen(key), "PEM block 1 is a \"PRIVATE KEY\", not a CERTIFICATE");
    const char *notder = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    expect_parse_error(notder, strlen(notder), "PEM block 1 is not a valid X.509 certificate");

    char *pem = tc_pem(&leaf, 1, NULL);
    char *cut = strstr(pem, "-----END");
    *cut = '\0'; /* no end line */
    expect_parse_error(pem, strlen(pem), "PEM block 1 is damaged");
    free(pem);
}

static void test_parse_too_many(void **state)
{
    (void)state;
    X509 *many[17];
    for (size_t i = 0; i < 17; i++)
        many[i] = ca;
    char *pem = tc_pem(many, 17, NULL);
    expect_parse_error(pem, strlen(pem), "more than 16 certificates");
    free(pem);
}

static void test_fingerprint_and_serial(void **state)
{
    (void)state;
    unsigned char *der = NULL, md[32];
    int len = i2d_X509(leaf, &der);
    char want[65], got[65];

    SHA256(der, (size_t)len, md);
    for (size_t i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    OPENSSL_free(der);
    x509_fingerprint_sha256(leaf, got);
    assert_string_equal(got, want);

    char *serial = x509_serial_hex(leaf);
    assert_string_equal(serial, "1A2B3C");
    free(serial);
    serial = x509_serial_hex(ec_leaf);
    assert_string_equal(serial, "7F00");
    free(serial);
    assert_null(x509_serial_hex(NULL));
}

static void test_key_matches(void **state)
{
    (void)state;
    assert_true(x509_key_matches(leaf, rsa_key));
    assert_true(x509_key_matches(ec_leaf, ec_key));
    assert_false(x509_key_matches(leaf, ec_key));
    assert_false(x509_key_matches(ec_leaf, ca_key));
    assert_false(x509_key_matches(NULL, rsa_key));
    assert_false(x509_key_matches(leaf, NULL));
}

/* The test CA sets subjectKeyIdentifier=hash: RFC 5280 method 1, the same bits. */
static void test_key_id_matches_ski(void **state)
{
    (void)state;
    unsigned char id[20];
    X509 *certs[] = { leaf, ec_leaf };
    EVP_PKEY *keys[] = { rsa_key, ec_key };

    for (size_t i = 0; i < 2; i++) {
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(certs[i]);
        assert_non_null(ski);
        assert_int_equal(ASN1_STRING_length(ski), 20);
        assert_true(x509_key_id_sha1(keys[i], id));
        assert_memory_equal(id, ASN1_STRING_get0_data(ski), 20);
        /* From the certificate's own bits: the same id, nothing re-encoded. */
        memset(id, 0, sizeof(id));
        assert_true(x509_cert_key_id_sha1(certs[i], id));
        assert_memory_equal(id, ASN1_STRING_get0_data(ski), 20);
    }
    assert_false(x509_cert_key_id_sha1(NULL, id));
    /* RSA: independently, SHA-1 of the DER RSAPublicKey. */
    unsigned char *der = NULL, md[20];
    int len = i2d_PublicKey(rsa_key, &der);
    assert_true(len > 0);
    SHA1(der, (size_t)len, md);
    OPENSSL_free(der);
    assert_true(x509_key_id_sha1(rsa_key, id));
    assert_memory_equal(id, md, 20);
    assert_false(x509_key_id_sha1(NULL, id));
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Parse, and when it parses, run every consumer of the result too. */
static void torture_one(const char *buf, size_t len)
{
    x509_chain *c = NULL;
    x509_err err;
    x509_code rc = x509_chain_parse_pem(buf, len, &c, &err);

    assert_true(rc == X509_OK || rc == X509_ERR_PARSE);
    if (rc != X509_OK) {
        assert_null(c);
        assert_true(err.message[0] != '\0');
        return;
    }
    x509_report rep;
    char fp[65], *serial = x509_serial_hex(c->leaf);
    unsigned char id[20];
    x509_check_profile(c, TC_NOW, 0, &rep, &err);
    x509_report_free(&rep);
    x509_fingerprint_sha256(c->leaf, fp);
    x509_key_matches(c->leaf, rsa_key);
    if (X509_get0_pubkey(c->leaf))
        x509_key_id_sha1(X509_get0_pubkey(c->leaf), id);
    x509_cert_key_id_sha1(c->leaf, id);
    free(serial);
    x509_chain_free(c);
}

static void test_torture_pem(void **state)
{
    (void)state;
    X509 *order[] = { leaf, ca, root };
    size_t len = 0;
    char *pem = tc_pem(order, 3, &len);
    char *buf = malloc(len + 1);

    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, pem, len);
        size_t n = len;
        switch (rng() % 3) {
        case 0: /* truncation anywhere */
            n = rng() % (len + 1);
            break;
        case 1: /* a few random bytes */
            for (int k = 0, m = 1 + (int)(rng() % 8); k < m; k++)
                buf[rng() % len] = (char)(rng() & 0xFF);
            break;
        default: /* a few base64 characters: still PEM, different DER */
            for (int k = 0, m = 1 + (int)(rng() % 4); k < m; k++) {
                size_t at = rng() % len;
                if (buf[at] != '\n' && buf[at] != '-')
                    buf[at] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[rng() % 64];
            }
        }
        torture_one(buf, n);
    }
    free(buf);
    free(pem);
}

/* Mutations of the DER itself, re-wrapped as PEM, reach the extension parsers. */
static void test_torture_der(void **state)
{
    (void)state;
    unsigned char *der = NULL;
    int len = i2d_X509(leaf, &der);
    unsigned char *mut = malloc((size_t)len);
    int parsed = 0;

    for (int iter = 0; iter < 3000; iter++) {
        memcpy(mut, der, (size_t)len);
        for (int k = 0, m = 1 + (int)(rng() % 3); k < m; k++)
            mut[rng() % (size_t)len] ^= (unsigned char)(1u << (rng() % 8));
        const unsigned char *p = mut;
        X509 *x = d2i_X509(NULL, &p, len);
        if (!x)
            continue;
        X509 *order[] = { x, ca, root };
        size_t plen = 0;
        char *pem = tc_pem(order, 3, &plen);
        torture_one(pem, plen);
        free(pem);
        X509_free(x);
        parsed++;
    }
    print_message("  %d of 3000 mutated certificates still decoded\n", parsed);
    assert_true(parsed > 0);
    free(mut);
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_picks_leaf),
        cmocka_unit_test(test_parse_only_cas_takes_first),
        cmocka_unit_test(test_parse_tolerates_text_around),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_too_many),
        cmocka_unit_test(test_fingerprint_and_serial),
        cmocka_unit_test(test_key_matches),
        cmocka_unit_test(test_key_id_matches_ski),
        cmocka_unit_test(test_torture_pem),
        cmocka_unit_test(test_torture_der),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
