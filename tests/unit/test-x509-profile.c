/*
 * x509_check_profile: a good qualified eSeal chain passes; each deviation
 * is one change to the leaf (or the chain) and is named in the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "x509.h"
#include "x509-testca.h"

static EVP_PKEY *root_key, *ca_key, *other_ca_key, *leaf_key, *small_key;
static X509 *root, *ca;

static int group_setup(void **state)
{
    (void)state;
    root_key = tc_key_ec();
    ca_key = tc_key_ec();
    other_ca_key = tc_key_ec();
    leaf_key = tc_key_rsa(2048);
    small_key = tc_key_rsa(1024);
    root = tc_ca(TC_ROOT_NAME, root_key, NULL, NULL, true);
    ca = tc_ca(TC_CA_NAME, ca_key, root, root_key, true);
    return root && ca && leaf_key && small_key ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    X509_free(root);
    X509_free(ca);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_ca_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(small_key);
    return 0;
}

/* The result of one check, kept for the assertions. */
typedef struct run {
    x509_code rc;
    x509_report report;
    x509_err err;
} run;

/* Bundle the certificates as PEM, parse it back, check it. */
static void check_certs(X509 **certs, size_t n, unsigned relax, run *r)
{
    size_t len = 0;
    char *pem = tc_pem(certs, n, &len);
    x509_chain *chain = NULL;

    assert_int_equal(x509_chain_parse_pem(pem, len, &chain, &r->err), X509_OK);
    r->rc = x509_check_profile(chain, TC_NOW, relax, &r->report, &r->err);
    for (size_t i = 0; i < r->report.count; i++)
        print_message("  deviation: %s\n", r->report.items[i]);
    for (size_t i = 0; i < r->report.n_relaxed; i++)
        print_message("  relaxed:   %s\n", r->report.relaxed[i]);
    x509_chain_free(chain);
    free(pem);
}

/* Leaf with options, issued by `ca`, in a full bundle leaf+ca+root. */
static void check_leaf(const tc_leaf_opts *o, EVP_PKEY *key, unsigned relax, run *r)
{
    X509 *leaf = tc_leaf(key ? key : leaf_key, ca, ca_key, o);
    X509 *certs[] = { leaf, ca, root };
    check_certs(certs, 3, relax, r);
    X509_free(leaf);
}

static bool has_item(char **items, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(items[i], needle))
            return true;
    return false;
}

/* Exactly one deviation, containing `needle`, with the code given. */
static void expect_one(run *r, x509_code code, const char *needle)
{
    assert_int_equal(r->rc, code);
    assert_int_equal(r->report.count, 1);
    if (!has_item(r->report.items, r->report.count, needle))
        fail_msg("expected a deviation containing \"%s\", got \"%s\"", needle,
                 r->report.items[0]);
    assert_non_null(strstr(r->err.message, needle));
    x509_report_free(&r->report);
}

static void test_good_chain_passes(void **state)
{
    (void)state;
    tc_leaf_opts o = { 0 };
    run r;
    check_leaf(&o, NULL, 0, &r);
    assert_int_equal(r.rc, X509_OK);
    assert_int_equal(r.report.count, 0);
    assert_int_equal(r.report.n_relaxed, 0);
    x509_report_free(&r.report);
}

static void test_good_chain_any_order(void **state)
{
    (void)state;
    tc_leaf_opts o = { 0 };
    X509 *leaf = tc_leaf(leaf_key, ca, ca_key, &o);
    X509 *certs[] = { root, leaf, ca };
    run r;
    check_certs(certs, 3, 0, &r);
    assert_int_equal(r.rc, X509_OK);
    x509_report_free(&r.report);
    X509_free(leaf);
}

static void test_ec_p256_leaf_passes(void **state)
{
    (void)state;
    tc_leaf_opts o = { 0 };
    run r;
    check_leaf(&o, other_ca_key, 0, &r);
    assert_int_equal(r.rc, X509_OK);
    x509_report_free(&r.report);
}

static void test_key_usage(void **state)
{
    (void)state;
    run r;
    check_leaf(&(tc_leaf_opts){ .key_usage = "critical,digitalSignature" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "keyUsage lacks nonRepudiation (contentCommitment)");
    check_leaf(&(tc_leaf_opts){ .key_usage = "nonRepudiation" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "keyUsage is not marked critical");
    check_leaf(&(tc_leaf_opts){ .key_usage = "" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "keyUsage missing");
}

static void test_qc_statements(void **state)
{
    (void)state;
    run r;
    check_leaf(&(tc_leaf_opts){ .qc_omit = TC_QC_SSCD }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE,
               "QCStatements: QcSSCD (0.4.0.1862.1.4) missing: the certificate does not say its "
               "key is on a QSCD");
    check_leaf(&(tc_leaf_opts){ .qc_omit = TC_QC_COMPLIANCE }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "QcCompliance (0.4.0.1862.1.1) missing");
    check_leaf(&(tc_leaf_opts){ .qc_omit = TC_QC_TYPE }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "QcType (0.4.0.1862.1.6) missing");
    check_leaf(&(tc_leaf_opts){ .qc_type = "0.4.0.1862.1.6.1" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "QcType is esign (0.4.0.1862.1.6.1)");
    check_leaf(&(tc_leaf_opts){ .qc_type = "0.4.0.1862.1.6.3" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "QcType is web (0.4.0.1862.1.6.3)");
    check_leaf(&(tc_leaf_opts){ .no_qc = true }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "QCStatements (1.3.6.1.5.5.7.1.3) missing");
}

static void test_qc_relaxed_still_named(void **state)
{
    (void)state;
    run r;
    check_leaf(&(tc_leaf_opts){ .qc_omit = TC_QC_SSCD }, NULL, X509_RELAX_QC_STATEMENTS, &r);
    assert_int_equal(r.rc, X509_OK);
    assert_int_equal(r.report.count, 0);
    assert_int_equal(r.report.n_relaxed, 1);
    assert_true(has_item(r.report.relaxed, 1, "QcSSCD (0.4.0.1862.1.4) missing"));
    x509_report_free(&r.report);
}

static void test_qc_malformed(void **state)
{
    (void)state;
    /* An INTEGER where a SEQUENCE OF QCStatement belongs. */
    static const unsigned char bad[] = { 0x02, 0x01, 0x05 };
    X509 *leaf = tc_leaf(leaf_key, ca, ca_key, &(tc_leaf_opts){ .no_qc = true });
    tc_ext_der(leaf, NID_qcStatements, bad, sizeof bad);
    X509_sign(leaf, ca_key, EVP_sha256());
    x509_qc_info qc;
    x509_err err;
    assert_int_equal(x509_qc_parse(leaf, &qc, &err), X509_ERR_PARSE);
    assert_true(qc.present && qc.malformed);
    assert_non_null(strstr(err.message, "QCStatements"));
    X509 *certs[] = { leaf, ca, root };
    run r;
    check_certs(certs, 3, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "not a SEQUENCE OF QCStatement");
    X509_free(leaf);
}

static void test_qc_parse_good(void **state)
{
    (void)state;
    X509 *leaf = tc_leaf(leaf_key, ca, ca_key, &(tc_leaf_opts){ 0 });
    x509_qc_info qc;
    x509_err err;
    assert_int_equal(x509_qc_parse(leaf, &qc, &err), X509_OK);
    assert_true(qc.present && qc.compliance && qc.sscd && qc.has_type && qc.type_eseal);
    assert_false(qc.malformed || qc.type_esign || qc.type_web || qc.type_other);
    X509_free(leaf);
}

static void test_policies(void **state)
{
    (void)state;
    run r;
    check_leaf(&(tc_leaf_opts){ .policies = "" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "certificatePolicies missing");
    check_leaf(&(tc_leaf_opts){ .policies = "0.4.0.194112.1.1" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE,
               "certificatePolicies: QCP-l-qscd (0.4.0.194112.1.3) missing; it has QCP-l");
    check_leaf(&(tc_leaf_opts){ .policies = "0.4.0.194112.1.1" }, NULL, X509_RELAX_POLICY, &r);
    assert_int_equal(r.rc, X509_OK);
    assert_int_equal(r.report.n_relaxed, 1);
    x509_report_free(&r.report);
}

static void test_subject(void **state)
{
    (void)state;
    run r;
    check_leaf(&(tc_leaf_opts){ .subject = "/C=NL/O=Example B.V./CN=Example eSeal" }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "subject lacks organizationIdentifier (2.5.4.97");
}

static void test_validity(void **state)
{
    (void)state;
    run r;
    /* notAfter 2026-01-01 12:00, TC_NOW 2026-11-25 */
    check_leaf(&(tc_leaf_opts){ .not_before_days = -400, .not_after_days = -328 }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "certificate expired on 2026-01-01 (now 2026-11-25)");
    check_leaf(&(tc_leaf_opts){ .not_before_days = 10, .not_after_days = 400 }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "certificate not valid before 2026-12-05 (now 2026-11-25)");
    check_leaf(&(tc_leaf_opts){ .not_before_days = 10, .not_after_days = 400 }, NULL,
               X509_RELAX_VALIDITY, &r);
    assert_int_equal(r.rc, X509_OK);
    assert_true(has_item(r.report.relaxed, r.report.n_relaxed, "not valid before"));
    x509_report_free(&r.report);
}

static void test_algorithms(void **state)
{
    (void)state;
    run r;
    check_leaf(&(tc_leaf_opts){ .md = EVP_sha384() }, NULL, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "signature hash is SHA384, not SHA-256");
    check_leaf(&(tc_leaf_opts){ 0 }, small_key, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "RSA key has 1024 bits; at least 2048 required");
    /* Not relaxable: every flag on, still a deviation. */
    check_leaf(&(tc_leaf_opts){ 0 }, small_key, ~0u, &r);
    expect_one(&r, X509_ERR_PROFILE, "RSA key has 1024 bits");
}

static void test_key_type(void **state)
{
    (void)state;
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    run r;
    check_leaf(&(tc_leaf_opts){ 0 }, ed, 0, &r);
    expect_one(&r, X509_ERR_PROFILE, "public key type ED25519 is not RSA or EC");
    EVP_PKEY_free(ed);
}

/* A name from the certificate cannot put a line break into a message. */
static void test_names_sanitized(void **state)
{
    (void)state;
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"Evil\nCA\x01", -1,
                               -1, 0);
    X509 *ca2 = tc_cert_base(other_ca_key, n, root, 77, -10, 10);
    X509_NAME_free(n);
    tc_ext(ca2, root, NID_basic_constraints, "critical,CA:TRUE");
    X509_sign(ca2, root_key, EVP_sha256());
    X509 *leaf = tc_leaf(leaf_key, ca2, ca_key, &(tc_leaf_opts){ 0 });
    X509 *certs[] = { leaf, ca2, root };
    run r;
    check_certs(certs, 3, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain: leaf is not signed by \"Evil?CA?\"");
    X509_free(leaf);
    X509_free(ca2);
}

static void test_chain_wrong_signer(void **state)
{
    (void)state;
    /* Issuer name says the CA, but another key signed it. */
    X509 *leaf = tc_leaf(leaf_key, ca, other_ca_key, &(tc_leaf_opts){ 0 });
    X509 *certs[] = { leaf, ca, root };
    run r;
    check_certs(certs, 3, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain: leaf is not signed by \"" TC_CA_NAME "\"");
    check_certs(certs, 3, X509_RELAX_CHAIN, &r);
    assert_int_equal(r.rc, X509_OK);
    assert_int_equal(r.report.n_relaxed, 1);
    x509_report_free(&r.report);
    X509_free(leaf);
}

static void test_chain_wrong_intermediate(void **state)
{
    (void)state;
    X509 *other = tc_ca("Some Other CA", other_ca_key, root, root_key, true);
    X509 *same_name = tc_ca(TC_CA_NAME, other_ca_key, root, root_key, true);
    X509 *leaf = tc_leaf(leaf_key, ca, ca_key, &(tc_leaf_opts){ 0 });
    run r;

    X509 *certs[] = { leaf, other, root };
    check_certs(certs, 3, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain: the leaf's issuer \"" TC_CA_NAME "\" is not in the bundle");
    certs[1] = same_name;
    check_certs(certs, 3, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain: leaf is not signed by \"" TC_CA_NAME "\"");
    X509_free(other);
    X509_free(same_name);
    X509_free(leaf);
}

static void test_chain_intermediate_not_ca(void **state)
{
    (void)state;
    X509 *not_ca = tc_ca(TC_CA_NAME, ca_key, root, root_key, false);
    X509 *leaf = tc_leaf(leaf_key, not_ca, ca_key, &(tc_leaf_opts){ 0 });
    X509 *certs[] = { leaf, not_ca, root };
    run r;
    check_certs(certs, 3, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain: invalid CA certificate");
    X509_free(not_ca);
    X509_free(leaf);
}

static void test_chain_without_root(void **state)
{
    (void)state;
    X509 *leaf = tc_leaf(leaf_key, ca, ca_key, &(tc_leaf_opts){ 0 });
    run r;
    X509 *noroot[] = { leaf, ca };
    check_certs(noroot, 2, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain ends at \"" TC_ROOT_NAME "\" without a root");
    check_certs(noroot, 2, X509_RELAX_CHAIN, &r);
    assert_int_equal(r.rc, X509_OK);
    x509_report_free(&r.report);
    X509 *alone[] = { leaf };
    check_certs(alone, 1, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain ends at \"" TC_CA_NAME "\" without a root");
    X509_free(leaf);
}

static void test_self_signed_leaf(void **state)
{
    (void)state;
    X509 *leaf = tc_leaf(leaf_key, NULL, leaf_key, &(tc_leaf_opts){ 0 });
    X509 *certs[] = { leaf };
    run r;
    check_certs(certs, 1, 0, &r);
    expect_one(&r, X509_ERR_CHAIN, "chain: leaf is self-signed");
    X509_free(leaf);
}

static void test_every_deviation_named(void **state)
{
    (void)state;
    tc_leaf_opts o = { .key_usage = "digitalSignature", .qc_omit = TC_QC_SSCD, .policies = "",
                       .subject = "/C=NL/O=Example B.V./CN=x", .md = EVP_sha384(),
                       .not_before_days = -400, .not_after_days = -328 };
    X509 *leaf = tc_leaf(leaf_key, ca, other_ca_key, &o);
    X509 *certs[] = { leaf, ca, root };
    run r;
    check_certs(certs, 3, X509_RELAX_VALIDITY, &r);
    assert_int_equal(r.rc, X509_ERR_CHAIN);
    const char *want[] = { "keyUsage lacks nonRepudiation", "QcSSCD", "certificatePolicies missing",
                           "organizationIdentifier", "SHA384", "leaf is not signed by" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_true(has_item(r.report.items, r.report.count, want[i]));
    assert_true(has_item(r.report.items, r.report.count, "keyUsage is not marked critical"));
    assert_int_equal(r.report.count, 7);
    assert_true(has_item(r.report.relaxed, r.report.n_relaxed, "expired on"));
    x509_report_free(&r.report);
    X509_free(leaf);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    x509_report rep;
    x509_err err;
    assert_int_equal(x509_check_profile(NULL, TC_NOW, 0, &rep, &err), X509_ERR_PARSE);
    assert_int_equal(rep.count, 0);
    x509_report_free(&rep);
    x509_report_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_chain_passes),
        cmocka_unit_test(test_good_chain_any_order),
        cmocka_unit_test(test_ec_p256_leaf_passes),
        cmocka_unit_test(test_key_usage),
        cmocka_unit_test(test_qc_statements),
        cmocka_unit_test(test_qc_relaxed_still_named),
        cmocka_unit_test(test_qc_malformed),
        cmocka_unit_test(test_qc_parse_good),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_subject),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_algorithms),
        cmocka_unit_test(test_key_type),
        cmocka_unit_test(test_names_sanitized),
        cmocka_unit_test(test_chain_wrong_signer),
        cmocka_unit_test(test_chain_wrong_intermediate),
        cmocka_unit_test(test_chain_intermediate_not_ca),
        cmocka_unit_test(test_chain_without_root),
        cmocka_unit_test(test_self_signed_leaf),
        cmocka_unit_test(test_every_deviation_named),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
