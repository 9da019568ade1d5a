/*
 * Bundles issued by the simulator's CA (tests/data/x509, see its README):
 * an encoding of the qualified-eSeal profile made by other code than the
 * unit tests' certificate builder, checked at a fixed time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "x509.h"

#define DATA_DIR "tests/data/x509/"
#define DURING   ((time_t)1795694400) /* 2026-11-26 12:00 UTC: valid */
#define AFTER    ((time_t)1830000000) /* 2027-12-28: expired */

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    const char *src = getenv("QSCD_SRCDIR"); /* when run from elsewhere */
    snprintf(path, sizeof path, "%s%s%s", src ? src : "", src ? "/" : "", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the source tree or set QSCD_SRCDIR)", path);
    static char buf[65536];
    *len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static x509_chain *load(const char *name)
{
    size_t len;
    char *pem = slurp(name, &len);
    x509_chain *c = NULL;
    x509_err err;
    assert_int_equal(x509_chain_parse_pem(pem, len, &c, &err), X509_OK);
    return c;
}

static void test_sim_bundle_is_qualified_eseal(void **state)
{
    (void)state;
    x509_chain *c = load(DATA_DIR "sim-pem_all.pem");
    x509_report r;
    x509_err err;

    assert_int_equal(c->n_rest, 2);
    assert_int_equal(x509_check_profile(c, DURING, 0, &r, &err), X509_OK);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.n_relaxed, 0);
    x509_report_free(&r);

    x509_qc_info qc;
    assert_int_equal(x509_qc_parse(c->leaf, &qc, &err), X509_OK);
    assert_true(qc.compliance && qc.sscd && qc.type_eseal);

    assert_int_equal(x509_check_profile(c, AFTER, 0, &r, &err), X509_ERR_PROFILE);
    assert_int_equal(r.count, 1);
    assert_non_null(strstr(r.items[0], "certificate expired on 2027-11-25"));
    x509_report_free(&r);
    x509_chain_free(c);
}

static void test_sim_noroot_bundle(void **state)
{
    (void)state;
    x509_chain *c = load(DATA_DIR "sim-pem_noroot.pem");
    x509_report r;
    x509_err err;

    assert_int_equal(x509_check_profile(c, DURING, 0, &r, &err), X509_ERR_CHAIN);
    assert_int_equal(r.count, 1);
    assert_string_equal(r.items[0], "chain ends at \"Test PKIo Root G1\" without a root");
    x509_report_free(&r);
    assert_int_equal(x509_check_profile(c, DURING, X509_RELAX_CHAIN, &r, &err), X509_OK);
    assert_int_equal(r.n_relaxed, 1);
    x509_report_free(&r);
    x509_chain_free(c);
}

static void test_sim_leaf_key(void **state)
{
    (void)state;
    x509_chain *c = load(DATA_DIR "sim-pem_all.pem");
    size_t len;
    char *pem = slurp(DATA_DIR "sim-leaf-pub.pem", &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(pub);

    assert_true(x509_key_matches(c->leaf, pub));
    assert_false(x509_key_matches(c->rest[0], pub));
    unsigned char id[20];
    static const unsigned char ski[20] = { 0x58, 0x56, 0xB0, 0x39, 0x9E, 0x24, 0x0D, 0xB1, 0x03,
                                           0x49, 0xCD, 0xCE, 0xD5, 0xC4, 0x29, 0xED, 0xE1, 0x27,
                                           0xD4, 0xC7 };
    assert_true(x509_key_id_sha1(pub, id));
    assert_memory_equal(id, ski, 20);
    EVP_PKEY_free(pub);
    x509_chain_free(c);
}

/* The simulator's root as the one trust anchor (sim-root.pem). */
static void test_sim_bundles_chain_to_the_anchor(void **state)
{
    (void)state;
    const char *src = getenv("QSCD_SRCDIR");
    char path[512];
    x509_anchors *a = NULL;
    x509_err err = { 0 };

    snprintf(path, sizeof path, "%s%s" DATA_DIR "sim-root.pem", src ? src : "", src ? "/" : "");
    assert_int_equal(x509_anchors_load(path, &a, &err), X509_OK);
    assert_int_equal(x509_anchors_count(a), 1);
    x509_chain *all = load(DATA_DIR "sim-pem_all.pem");
    x509_chain *noroot = load(DATA_DIR "sim-pem_noroot.pem");
    assert_int_equal(x509_chain_check_anchored(all, a, DURING, 0, &err), X509_OK);
    /* Without its root, the bundle still leads to the anchor. */
    assert_int_equal(x509_chain_check_anchored(noroot, a, DURING, 0, &err), X509_OK);
    /* Checked at the time given: expired is refused unless validity is relaxed. */
    assert_int_equal(x509_chain_check_anchored(all, a, AFTER, 0, &err), X509_ERR_CHAIN);
    assert_int_equal(x509_chain_check_anchored(all, a, AFTER, X509_RELAX_VALIDITY, &err), X509_OK);
    /* Anchored to its own leaf as "root": not a CA, the file is refused. */
    x509_anchors *bad = NULL;
    snprintf(path, sizeof path, "%s%s" DATA_DIR "sim-pem_all.pem", src ? src : "", src ? "/" : "");
    assert_int_equal(x509_anchors_load(path, &bad, &err), X509_ERR_PARSE);
    assert_non_null(strstr(err.message, "is not a self-signed CA certificate"));
    assert_null(bad);
    x509_chain_free(all);
    x509_chain_free(noroot);
    x509_anchors_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_bundle_is_qualified_eseal),
        cmocka_unit_test(test_sim_noroot_bundle),
        cmocka_unit_test(test_sim_leaf_key),
        cmocka_unit_test(test_sim_bundles_chain_to_the_anchor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
