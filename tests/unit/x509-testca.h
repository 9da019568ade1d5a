/*
 * A throw-away CA for the x509 unit tests, built with OpenSSL's API so that
 * each profile deviation is one field of tc_leaf_opts.  Zero fields mean
 * "as a qualified eSeal on a QSCD should be".
 */
#ifndef QSCD_TEST_X509_TESTCA_H
#define QSCD_TEST_X509_TESTCA_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/conf.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* 2026-11-25 12:00:00 UTC: the tests' "now". */
#define TC_NOW ((time_t)1795608000)

#define TC_QC_COMPLIANCE (1u << 0)
#define TC_QC_SSCD       (1u << 1)
#define TC_QC_TYPE       (1u << 2)
#define TC_QC_ALL        (TC_QC_COMPLIANCE | TC_QC_SSCD | TC_QC_TYPE)

#define TC_GOOD_SUBJECT "/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example eSeal"
#define TC_CA_NAME      "Test PKIo eSeal CA G1"
#define TC_ROOT_NAME    "Test PKIo Root G1"

typedef struct tc_leaf_opts {
    const char *subject;      /* NULL: TC_GOOD_SUBJECT (X509_NAME_oneline form) */
    const char *key_usage;    /* NULL: "critical,nonRepudiation"; "": none */
    const char *policies;     /* NULL: QCP-l-qscd + a PKIo policy; "": none */
    bool        no_qc;        /* no QCStatements at all */
    unsigned    qc_omit;      /* TC_QC_* statements left out */
    const char *qc_type;      /* NULL: eseal 0.4.0.1862.1.6.2 */
    const EVP_MD *md;         /* NULL: SHA-256 */
    int         not_before_days, not_after_days; /* 0,0: -30 .. +365 around TC_NOW */
    long        serial;       /* 0: 0x1A2B3C */
} tc_leaf_opts;

static inline EVP_PKEY *tc_key_rsa(int bits)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

static inline EVP_PKEY *tc_key_ec(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static inline X509_NAME *tc_name(const char *oneline)
{
    /* Independent of x509_name_parse: "/T=V/T=V", no escapes needed here. */
    X509_NAME *n = X509_NAME_new();
    char *copy = strdup(oneline), *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8, (unsigned char *)eq + 1, -1, -1, 0);
    }
    free(copy);
    return n;
}

static inline void tc_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    /* certificatePolicies wants a config database, even an empty one. */
    CONF *conf = NCONF_new(NULL);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509V3_set_nconf(&ctx, conf);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(conf, &ctx, nid, value);
    if (e)
        X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    NCONF_free(conf);
}

/* DER of SEQUENCE { id, info? } or SEQUENCE OF OID, wrapped as an ASN1_TYPE. */
static inline ASN1_TYPE *tc_seq_type(ASN1_SEQUENCE_ANY *items)
{
    unsigned char *der = NULL;
    int len = i2d_ASN1_SEQUENCE_ANY(items, &der);
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
    ASN1_STRING_set(s, der, len);
    OPENSSL_free(der);
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_TYPE_set(t, V_ASN1_SEQUENCE, s);
    sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
    return t;
}

static inline ASN1_TYPE *tc_oid_type(const char *dotted)
{
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_TYPE_set(t, V_ASN1_OBJECT, OBJ_txt2obj(dotted, 1));
    return t;
}

static inline ASN1_TYPE *tc_statement(const char *id, ASN1_TYPE *info)
{
    ASN1_SEQUENCE_ANY *st = sk_ASN1_TYPE_new_null();
    sk_ASN1_TYPE_push(st, tc_oid_type(id));
    if (info)
        sk_ASN1_TYPE_push(st, info);
    return tc_seq_type(st);
}

/* Add a raw extension by OID with the given DER value. */
static inline void tc_ext_der(X509 *x, int nid, const unsigned char *der, int len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, der, len);
    X509_EXTENSION *e = X509_EXTENSION_create_by_NID(NULL, nid, 0, os);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
}

static inline void tc_qc(X509 *x, unsigned omit, const char *type)
{
    ASN1_SEQUENCE_ANY *stmts = sk_ASN1_TYPE_new_null();
    unsigned char *der = NULL;

    if (!(omit & TC_QC_COMPLIANCE))
        sk_ASN1_TYPE_push(stmts, tc_statement("0.4.0.1862.1.1", NULL));
    if (!(omit & TC_QC_SSCD))
        sk_ASN1_TYPE_push(stmts, tc_statement("0.4.0.1862.1.4", NULL));
    if (!(omit & TC_QC_TYPE)) {
        ASN1_SEQUENCE_ANY *types = sk_ASN1_TYPE_new_null();
        sk_ASN1_TYPE_push(types, tc_oid_type(type ? type : "0.4.0.1862.1.6.2"));
        sk_ASN1_TYPE_push(stmts, tc_statement("0.4.0.1862.1.6", tc_seq_type(types)));
    }
    /* An unknown statement with an argument (QcPDS-like): must be ignored. */
    ASN1_SEQUENCE_ANY *pds = sk_ASN1_TYPE_new_null();
    sk_ASN1_TYPE_push(pds, tc_oid_type("1.2.3.4"));
    sk_ASN1_TYPE_push(stmts, tc_statement("0.4.0.1862.1.5", tc_seq_type(pds)));
    int len = i2d_ASN1_SEQUENCE_ANY(stmts, &der);
    tc_ext_der(x, NID_qcStatements, der, len);
    OPENSSL_free(der);
    sk_ASN1_TYPE_pop_free(stmts, ASN1_TYPE_free);
}

static inline X509 *tc_cert_base(EVP_PKEY *key, X509_NAME *subject, X509 *issuer, long serial,
                                 int nb_days, int na_days)
{
    time_t now = TC_NOW;
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, subject);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject);
    X509_time_adj_ex(X509_getm_notBefore(x), nb_days, 0, &now);
    X509_time_adj_ex(X509_getm_notAfter(x), na_days, 0, &now);
    X509_set_pubkey(x, key);
    return x;
}

/* A CA: self-signed when issuer is NULL (then issuer_key is key). */
static inline X509 *tc_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                          bool is_ca)
{
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"NL", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509 *x = tc_cert_base(key, n, issuer, 1000, -3650, 3650);
    X509_NAME_free(n);
    tc_ext(x, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    tc_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    tc_ext(x, issuer, NID_subject_key_identifier, "hash");
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

static inline X509 *tc_leaf(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                            const tc_leaf_opts *o)
{
    X509_NAME *n = tc_name(o->subject ? o->subject : TC_GOOD_SUBJECT);
    int nb = o->not_before_days, na = o->not_after_days;
    if (nb == 0 && na == 0) {
        nb = -30;
        na = 365;
    }
    X509 *x = tc_cert_base(key, n, issuer, o->serial ? o->serial : 0x1A2B3C, nb, na);
    X509_NAME_free(n);
    tc_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
    if (!o->key_usage || *o->key_usage)
        tc_ext(x, issuer, NID_key_usage, o->key_usage ? o->key_usage : "critical,nonRepudiation");
    if (!o->policies || *o->policies)
        tc_ext(x, issuer, NID_certificate_policies,
               o->policies ? o->policies : "0.4.0.194112.1.3,2.16.528.1.1003.1.2.5.7");
    if (!o->no_qc)
        tc_qc(x, o->qc_omit, o->qc_type);
    tc_ext(x, issuer, NID_subject_key_identifier, "hash");
    X509_sign(x, issuer_key, o->md ? o->md : EVP_sha256());
    return x;
}

/* PEM bundle of n certificates, malloc'd and NUL-terminated. */
static inline char *tc_pem(X509 **certs, size_t n, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    for (size_t i = 0; i < n; i++)
        PEM_write_bio_X509(b, certs[i]);
    long l = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)l);
    BIO_free(b);
    if (len)
        *len = (size_t)l;
    return out;
}

#endif
