/*
 * x509_csr_build with a software signer standing in for the token, and
 * x509_name_parse.  The finished CSR must verify with OpenSSL's API and with
 * the `openssl req -verify` tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>

#include "x509.h"
#include "x509-testca.h"

#define SUBJECT "/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example"

static EVP_PKEY *rsa_key, *ec_key;

static int group_setup(void **state)
{
    (void)state;
    rsa_key = tc_key_rsa(2048);
    ec_key = tc_key_ec();
    return rsa_key && ec_key ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    return 0;
}

/* What C_Sign with CKM_SHA256_RSA_PKCS / CKM_ECDSA_SHA256 (+ DER) gives. */
static int soft_sign(void *ctx, const unsigned char *tbs, size_t tbs_len, unsigned char **sig,
                     size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;

    *sig = NULL;
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ctx) != 1
        || EVP_DigestSign(md, NULL, sig_len, tbs, tbs_len) != 1)
        goto out;
    *sig = malloc(*sig_len);
    if (*sig && EVP_DigestSign(md, *sig, sig_len, tbs, tbs_len) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

static int failing_sign(void *ctx, const unsigned char *tbs, size_t tbs_len, unsigned char **sig,
                        size_t *sig_len)
{
    (void)ctx, (void)tbs, (void)tbs_len, (void)sig, (void)sig_len;
    return 1;
}

static X509_REQ *pem_to_req(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
    return req;
}

static void build_and_verify(EVP_PKEY *key, int want_sig_nid)
{
    x509_err err = { 0 };
    X509_NAME *subject = x509_name_parse(SUBJECT, &err);
    char *pem = NULL;

    assert_non_null(subject);
    assert_int_equal(x509_csr_build(key, subject, soft_sign, key, &pem, &err), X509_OK);
    X509_REQ *req = pem_to_req(pem);
    assert_non_null(req);
    assert_int_equal(X509_REQ_get_version(req), 0);
    assert_int_equal(X509_REQ_verify(req, key), 1);
    assert_int_equal(X509_REQ_get_signature_nid(req), want_sig_nid);
    assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), subject), 0);
    assert_true(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key) == 1);

    /* And the command-line tool agrees. */
    char path[] = "/tmp/qscd-x509-csr-XXXXXX", cmd[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t)strlen(pem));
    close(fd);
    snprintf(cmd, sizeof cmd, "openssl req -verify -noout -in %s >/dev/null 2>&1", path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "openssl req -noout -subject -nameopt oid -in %s | grep -q '2.5.4.97=NTRNL-12345678'",
             path);
    assert_int_equal(system(cmd), 0);
    unlink(path);

    X509_REQ_free(req);
    X509_NAME_free(subject);
    free(pem);
}

static void test_csr_rsa(void **state)
{
    (void)state;
    build_and_verify(rsa_key, NID_sha256WithRSAEncryption);
}

static void test_csr_ec(void **state)
{
    (void)state;
    build_and_verify(ec_key, NID_ecdsa_with_SHA256);
}

static void test_csr_wrong_signer_key(void **state)
{
    (void)state;
    x509_err err = { 0 };
    char *pem = NULL;
    /* The public key says RSA key A; the "token" signs with the EC key. */
    assert_int_equal(x509_csr_build(rsa_key, NULL, soft_sign, ec_key, &pem, &err), X509_ERR_CSR);
    assert_null(pem);
    assert_non_null(strstr(err.message, "does not verify with the public key"));
}

static void test_csr_signer_fails(void **state)
{
    (void)state;
    x509_err err = { 0 };
    char *pem = NULL;
    assert_int_equal(x509_csr_build(ec_key, NULL, failing_sign, NULL, &pem, &err), X509_ERR_CSR);
    assert_null(pem);
    assert_non_null(strstr(err.message, "could not sign"));
    assert_int_equal(x509_csr_build(NULL, NULL, soft_sign, NULL, &pem, &err), X509_ERR_CSR);
}

static void test_name_parse(void **state)
{
    (void)state;
    x509_err err = { 0 };
    char buf[256];
    X509_NAME *n = x509_name_parse(SUBJECT, &err);

    assert_non_null(n);
    assert_int_equal(X509_NAME_entry_count(n), 4);
    int i = X509_NAME_get_index_by_NID(n, NID_organizationIdentifier, -1);
    assert_int_equal(i, 2);
    X509_NAME_get_text_by_NID(n, NID_organizationIdentifier, buf, sizeof buf);
    assert_string_equal(buf, "NTRNL-12345678");
    X509_NAME_free(n);

    /* Dotted OID, escaped slash and backslash, UTF-8. */
    n = x509_name_parse("/2.5.4.97=NTRNL-1/O=A\\/B \\\\ C/CN=Caf\xc3\xa9", &err);
    assert_non_null(n);
    X509_NAME_get_text_by_NID(n, NID_organizationIdentifier, buf, sizeof buf);
    assert_string_equal(buf, "NTRNL-1");
    X509_NAME_get_text_by_NID(n, NID_organizationName, buf, sizeof buf);
    assert_string_equal(buf, "A/B \\ C");
    X509_NAME_free(n);
}

/* A common name from the server with '/' and '=' in it is one CN, whole. */
static void test_name_build_one_rdn(void **state)
{
    const char *cn = "Example/O=Evil Corp/CN=Mallory";
    x509_name_attr attrs[] = { { "CN", cn } };
    x509_err err = { 0 };
    X509_NAME *name = x509_name_build(attrs, 1, &err);
    unsigned char *utf8 = NULL;

    (void)state;
    assert_non_null(name);
    assert_int_equal(X509_NAME_entry_count(name), 1);
    X509_NAME_ENTRY *e = X509_NAME_get_entry(name, 0);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), NID_commonName);
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    assert_int_equal(n, (int)strlen(cn));
    assert_memory_equal(utf8, cn, strlen(cn));
    assert_int_equal(X509_NAME_get_index_by_NID(name, NID_organizationName, -1), -1);
    OPENSSL_free(utf8);
    X509_NAME_free(name);

    x509_name_attr two[] = { { "O", "A/B" }, { "2.5.4.97", "NTRNL-1" }, { "bogus", "x" } };
    assert_null(x509_name_build(two, 3, &err));
    assert_non_null(strstr(err.message, "unknown attribute type \"bogus\""));
    name = x509_name_build(two, 2, &err);
    assert_non_null(name);
    assert_int_equal(X509_NAME_entry_count(name), 2);
    X509_NAME_free(name);
}

static void expect_name_error(const char *in, const char *needle)
{
    x509_err err = { 0 };
    assert_null(x509_name_parse(in, &err));
    assert_int_equal(err.code, X509_ERR_PARSE);
    if (!strstr(err.message, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, err.message);
}

static void test_name_parse_errors(void **state)
{
    (void)state;
    expect_name_error(NULL, "starts with '/'");
    expect_name_error("C=NL/O=x", "starts with '/'");
    expect_name_error("/C=NL/Oexample", "component 2 \"Oexample\" is not TYPE=VALUE");
    expect_name_error("/C=NL/bogusType=x", "unknown attribute type \"bogusType\"");
    expect_name_error("/C=NL/O=", "O has an empty value");
    expect_name_error("/C=NLD", "C \"NLD\" not accepted");
    expect_name_error("/C=NL/", "component 2");
}

/* The test signature's check: a signature by the certificate's key verifies,
 * one by another key, or of other data, does not. */
static void check_verify(EVP_PKEY *key, EVP_PKEY *other, x509_sig_alg want)
{
    static const unsigned char msg[] = "qscd-agent test signature v1";
    X509 *cert = tc_ca("Leaf", key, NULL, NULL, false);
    unsigned char *sig = NULL, *bad = NULL;
    size_t len = 0, bad_len = 0;
    x509_err err;

    assert_int_equal(x509_sig_alg_for_key(key), want);
    assert_int_equal(soft_sign(key, msg, sizeof(msg) - 1, &sig, &len), 0);
    assert_int_equal(x509_verify_signature(cert, want, msg, sizeof(msg) - 1, sig, len, &err),
                     X509_OK);
    assert_int_equal(x509_verify_signature(cert, want, msg, sizeof(msg) - 2, sig, len, &err),
                     X509_ERR_SIGNATURE);
    assert_non_null(strstr(err.message, "does not verify with the certificate's public key"));
    assert_int_equal(soft_sign(other, msg, sizeof(msg) - 1, &bad, &bad_len), 0);
    assert_int_equal(x509_verify_signature(cert, want, msg, sizeof(msg) - 1, bad, bad_len, &err),
                     X509_ERR_SIGNATURE);
    free(sig);
    free(bad);
    X509_free(cert);
}

static void test_verify_signature(void **state)
{
    EVP_PKEY *rsa2 = tc_key_rsa(2048), *ec2 = tc_key_ec();

    (void)state;
    check_verify(rsa_key, rsa2, X509_SIG_RSA_PKCS1_SHA256);
    check_verify(ec_key, ec2, X509_SIG_ECDSA_SHA256);
    assert_string_equal(x509_sig_alg_name(X509_SIG_RSA_PSS_SHA256), "rsa-pss-sha256");
    assert_int_equal(x509_sig_alg_for_key(NULL), X509_SIG_NONE);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csr_rsa),
        cmocka_unit_test(test_csr_ec),
        cmocka_unit_test(test_csr_wrong_signer_key),
        cmocka_unit_test(test_csr_signer_fails),
        cmocka_unit_test(test_name_parse),
        cmocka_unit_test(test_verify_signature),
        cmocka_unit_test(test_name_parse_errors),
        cmocka_unit_test(test_name_build_one_rdn),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
