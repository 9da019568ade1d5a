/*
 * The token layer's API on a real token (SoftHSM2, private token directory):
 * what the lifecycle engine relies on.  Open by module path, choose the
 * token, read public keys without a PIN, log in (a wrong PIN reported, not
 * retried), generate, sign (verified with OpenSSL), install and re-install.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "token.h"
#include "x509.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "Ut8-distinct-PIN"

static char dir[] = "/tmp/qscd-unit-token-XXXXXX";

static secret *make_pin(const char *s)
{
    secret *p = secret_new(64);

    assert_non_null(p);
    assert_true(secret_append(p, s, strlen(s)));
    return p;
}

static int setup(void **state)
{
    char conf[256], cmd[512];
    FILE *f;

    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
    f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", conf, 1);
    snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label UNIT-01 --pin %s "
             "--so-pin 12345678 > /dev/null", PIN);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static token *open_token(token_ctx **ctx)
{
    token_err err;
    token *tok = NULL;

    *ctx = token_ctx_open(SOFTHSM, &err);
    assert_non_null(*ctx);
    assert_int_equal(token_open(*ctx, NULL, &tok, &err), TOKEN_OK);
    assert_string_equal(token_get_info(tok)->label, "UNIT-01");
    return tok;
}

static void test_module_and_uri_errors(void **state)
{
    token_ctx *ctx;
    token *tok = NULL;
    token_err err;

    (void)state;
    assert_null(token_ctx_open("/nonexistent/module.so", &err));
    assert_int_equal(err.code, TOKEN_ERR_MODULE);
    assert_non_null(strstr(err.message, "/nonexistent/module.so"));
    ctx = token_ctx_open(SOFTHSM, &err);
    assert_non_null(ctx);
    assert_int_equal(token_open(ctx, "pkcs11:token=NO-SUCH", &tok, &err), TOKEN_ERR_ABSENT);
    assert_non_null(strstr(err.message, "UNIT-01"));          /* what is there instead */
    assert_int_equal(token_open(ctx, "not a uri", &tok, &err), TOKEN_ERR_INVALID);
    assert_int_equal(token_open(ctx, "pkcs11:token=UNIT-01", &tok, &err), TOKEN_OK);
    assert_non_null(strstr(token_get_info(tok)->uri, "token=UNIT-01"));
    token_close(tok);
    token_ctx_close(ctx);
}

static void test_wrong_pin_then_generate_and_sign(void **state)
{
    token_ctx *ctx;
    token *tok = open_token(&ctx);
    secret *bad = make_pin("000000"), *good = make_pin(PIN);
    token_keyspec spec;
    token_key *key = NULL, *found = NULL;
    token_err err;
    unsigned char id[20], *sig = NULL;
    size_t sig_len = 0;
    const unsigned char msg[] = "to be signed";
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    (void)state;
    assert_int_equal(token_login(tok, bad, 0, &err), TOKEN_ERR_PIN_INCORRECT);
    assert_false(err.retryable);
    assert_true(err.needs_user);
    assert_null(strstr(err.message, "000000"));
    assert_false(token_logged_in(tok));
    assert_int_equal(token_login(tok, good, 0, &err), TOKEN_OK);

    assert_int_equal(token_keyspec_parse("ec:P-256", &spec, &err), TOKEN_OK);
    assert_int_equal(token_generate_key(tok, &spec, "unit-ec", &key, &err), TOKEN_OK);
    assert_int_equal(key->id_len, 20);
    assert_true(x509_key_id_sha1(key->pub, id));
    assert_memory_equal(key->id, id, 20);
    assert_int_equal(token_generate_key(tok, &spec, "again", &found, &err), TOKEN_ERR_EXISTS);
    assert_non_null(strstr(err.message, "unit-ec"));
    assert_int_equal(token_generate_key_id(tok, &spec, "again", id, 20, &found, &err),
                     TOKEN_ERR_EXISTS);
    assert_null(found);

    assert_int_equal(token_find_key(tok, NULL, 0, NULL, &found, &err), TOKEN_OK);
    assert_memory_equal(found->id, key->id, 20);
    assert_int_equal(token_sign(tok, found, msg, sizeof(msg), &sig, &sig_len, &err), TOKEN_OK);
    assert_true(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, found->pub) == 1);
    assert_true(EVP_DigestVerify(md, sig, sig_len, msg, sizeof(msg)) == 1);

    EVP_MD_CTX_free(md);
    free(sig);
    token_key_free(found);
    token_key_free(key);
    token_close(tok);
    token_ctx_close(ctx);
    secret_free(bad);
    secret_free(good);
}

/* A certificate for pub, signed by a throw-away software key. */
static X509 *make_cert(EVP_PKEY *pub, long serial)
{
    EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Unit Seal", -1, -1, 0);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
    X509_NAME_free(n);
    EVP_PKEY_free(ca);
    return x;
}

static size_t leaf_count(token *tok)
{
    token_cert_list l;
    token_err err;
    size_t n = 0;

    assert_int_equal(token_list_certificates(tok, &l, &err), TOKEN_OK);
    for (size_t i = 0; i < l.count; i++)
        n += l.items[i].category == 1;
    token_cert_list_free(&l);
    return n;
}

static void test_install(void **state)
{
    token_ctx *ctx;
    token *tok = open_token(&ctx);
    secret *good = make_pin(PIN);
    token_key_list pubs;
    token_key *key = NULL;
    token_install_result res;
    token_err err;
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *c1, *c2, *wrong;

    (void)state;
    /* Without login: the public half is readable (match before the PIN). */
    assert_int_equal(token_read_public_keys(tok, &pubs, &err), TOKEN_OK);
    assert_int_equal(pubs.count, 1);
    c1 = make_cert(pubs.items[0].pub, 1);
    c2 = make_cert(pubs.items[0].pub, 2);
    wrong = make_cert(other, 3);
    token_key_list_free(&pubs);

    assert_int_equal(token_login(tok, good, 0, &err), TOKEN_OK);
    assert_int_equal(token_find_key(tok, NULL, 0, "unit-ec", &key, &err), TOKEN_OK);
    assert_int_equal(token_install_certificate(tok, key, wrong, NULL, 0, &res, &err),
                     TOKEN_ERR_MISMATCH);
    assert_int_equal(leaf_count(tok), 0);
    assert_int_equal(token_install_certificate(tok, key, c1, NULL, 0, &res, &err), TOKEN_OK);
    assert_true(res.leaf_written);
    assert_int_equal(token_install_certificate(tok, key, c1, NULL, 0, &res, &err), TOKEN_OK);
    assert_false(res.leaf_written);
    assert_int_equal(token_install_certificate(tok, key, c2, NULL, 0, &res, &err), TOKEN_OK);
    assert_true(res.leaf_written);
    assert_int_equal(res.old_removed, 1);
    assert_int_equal(leaf_count(tok), 1);

    X509_free(c1);
    X509_free(c2);
    X509_free(wrong);
    EVP_PKEY_free(other);
    token_key_free(key);
    token_close(tok);
    token_ctx_close(ctx);
    secret_free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_and_uri_errors),
        cmocka_unit_test(test_wrong_pin_then_generate_and_sign),
        cmocka_unit_test(test_install),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
