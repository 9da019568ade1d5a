/*
 * Test CAs of the simulator, all made afresh at startup:
 *  - a TLS root and the server certificate (SAN IP:127.0.0.1, DNS:localhost);
 *  - "Test PKIo Root G1" -> "Test PKIo eSeal CA G1", which issues
 *    qualified-eSeal-like leaves (ETSI EN 319 412 profile) for shipped keys.
 * Nothing here is secret beyond the test run: keys live in memory only.
 */
#include "sim.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* QCStatements as an OpenSSL ASN1 generator config: QcCompliance, QcSSCD,
 * and QcType = eseal (ETSI EN 319 412-5). */
static const char qc_conf[] =
    "[qcs]\n"
    "compliance = SEQUENCE:qc_compliance\n"
    "sscd = SEQUENCE:qc_sscd\n"
    "type = SEQUENCE:qc_type\n"
    "[qc_compliance]\n"
    "id = OID:0.4.0.1862.1.1\n"
    "[qc_sscd]\n"
    "id = OID:0.4.0.1862.1.4\n"
    "[qc_type]\n"
    "id = OID:0.4.0.1862.1.6\n"
    "types = SEQUENCE:qc_types\n"
    "[qc_types]\n"
    "eseal = OID:0.4.0.1862.1.6.2\n";

static EVP_PKEY *key_new(bool rsa)
{
    return rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
               : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* 16 random bytes, positive and without a leading zero byte. */
static int set_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int rc = (ai && X509_set_serialNumber(x, ai) == 1) ? 0 : -1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

static int name_add(X509_NAME *n, const char *field, const char *value)
{
    if (!value || !*value)
        return 0;
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                      (const unsigned char *)value, -1, -1, 0) == 1 ? 0 : -1;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, CONF *conf, const char *name, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf(conf, ctx, name, value);
    if (!ext)
        return -1;
    int rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
    X509_EXTENSION_free(ext);
    return rc;
}

/* The bones of every certificate: version, serial, names, key, validity. */
static X509 *cert_new(EVP_PKEY *key, X509_NAME *subject, X509 *issuer,
                      time_t not_before, time_t not_after)
{
    X509 *x = X509_new();
    if (!x || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) ||
        X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
        X509_set_pubkey(x, key) != 1 ||
        !ASN1_TIME_set(X509_getm_notBefore(x), not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), not_after)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Extensions given as name/value pairs, NULL-terminated; then signed. */
static int cert_finish(X509 *x, X509 *issuer, EVP_PKEY *issuer_key,
                       CONF *conf, const char *const *exts)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (conf)
        X509V3_set_nconf(&ctx, conf);
    for (size_t i = 0; exts[i]; i += 2)
        if (add_ext(x, &ctx, conf, exts[i], exts[i + 1]))
            return -1;
    return X509_sign(x, issuer_key, EVP_sha256()) > 0 ? 0 : -1;
}

static X509 *make_ca(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                     const char *basic)
{
    time_t now = time(NULL);
    X509_NAME *n = X509_NAME_new();
    X509 *x = NULL;
    if (!n || name_add(n, "C", "NL") || name_add(n, "O", "qscd-sim Test CA") ||
        name_add(n, "CN", cn))
        goto out;
    x = cert_new(key, n, issuer, now - 86400, now + 10L * 366 * 86400);
    const char *const exts[] = {
        "basicConstraints", basic,
        "keyUsage", "critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier", "hash",
        "authorityKeyIdentifier", "keyid:always",
        NULL,
    };
    if (x && cert_finish(x, issuer, issuer ? issuer_key : key, NULL, exts)) {
        X509_free(x);
        x = NULL;
    }
out:
    X509_NAME_free(n);
    return x;
}

static X509 *make_tls_server(const sim_ca *ca, EVP_PKEY *key)
{
    time_t now = time(NULL);
    X509_NAME *n = X509_NAME_new();
    X509 *x = NULL;
    if (!n || name_add(n, "O", "qscd-sim") || name_add(n, "CN", "localhost"))
        goto out;
    x = cert_new(key, n, ca->tls_root, now - 86400, now + 366L * 86400);
    const char *const exts[] = {
        "basicConstraints", "critical,CA:FALSE",
        "keyUsage", "critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage", "serverAuth",
        "subjectAltName", "IP:127.0.0.1,IP:::1,DNS:localhost",
        "subjectKeyIdentifier", "hash",
        "authorityKeyIdentifier", "keyid:always",
        NULL,
    };
    if (x && cert_finish(x, ca->tls_root, ca->tls_root_key, NULL, exts)) {
        X509_free(x);
        x = NULL;
    }
out:
    X509_NAME_free(n);
    return x;
}

static char *bio_take(BIO *b)
{
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    char *out = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (out) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
    }
    return out;
}

static int write_pem_file(const char *dir, const char *name, X509 *const *certs, size_t n,
                          char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= PEM_write_X509(f, certs[i]);
    if (fclose(f) != 0 || !ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

static int init_tls(sim_ca *ca)
{
    EVP_PKEY *key = NULL;
    X509 *srv = NULL;
    BIO *cb = NULL, *kb = NULL;
    int rc = -1;

    ca->tls_root_key = key_new(false);
    ca->tls_root = ca->tls_root_key
        ? make_ca(ca->tls_root_key, "qscd-sim TLS Root", NULL, NULL, "critical,CA:TRUE")
        : NULL;
    key = ca->tls_root ? key_new(false) : NULL;
    srv = key ? make_tls_server(ca, key) : NULL;
    if (!srv)
        goto out;
    cb = BIO_new(BIO_s_mem());
    kb = BIO_new(BIO_s_mem());
    if (!cb || !kb || PEM_write_bio_X509(cb, srv) != 1 ||
        PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    ca->tls_cert_pem = bio_take(cb);
    ca->tls_key_pem = bio_take(kb);
    rc = (ca->tls_cert_pem && ca->tls_key_pem) ? 0 : -1;
out:
    BIO_free(cb);
    BIO_free(kb);
    X509_free(srv);
    EVP_PKEY_free(key);
    return rc;
}

int sim_ca_init(sim_ca *ca, const char *dir, char *err, size_t errlen)
{
    memset(ca, 0, sizeof *ca);
    if (init_tls(ca)) {
        snprintf(err, errlen, "cannot create the TLS test CA (OpenSSL error)");
        return -1;
    }
    ca->root_key = key_new(true);
    ca->root = ca->root_key
        ? make_ca(ca->root_key, "Test PKIo Root G1", NULL, NULL, "critical,CA:TRUE")
        : NULL;
    ca->int_key = ca->root ? key_new(true) : NULL;
    ca->inter = ca->int_key
        ? make_ca(ca->int_key, "Test PKIo eSeal CA G1", ca->root, ca->root_key,
                  "critical,CA:TRUE,pathlen:0")
        : NULL;
    if (!ca->inter) {
        snprintf(err, errlen, "cannot create the eSeal test CA (OpenSSL error)");
        return -1;
    }
    X509 *tls[] = { ca->tls_root };
    X509 *chain[] = { ca->inter, ca->root };
    /* root.pem alone: what the agent's --trust-anchors points at. */
    if (write_pem_file(dir, "ca.pem", tls, 1, err, errlen) ||
        write_pem_file(dir, "issuing-chain.pem", chain, 2, err, errlen) ||
        write_pem_file(dir, "root.pem", &ca->root, 1, err, errlen))
        return -1;
    return 0;
}

void sim_ca_free(sim_ca *ca)
{
    EVP_PKEY_free(ca->tls_root_key);
    X509_free(ca->tls_root);
    free(ca->tls_cert_pem);
    if (ca->tls_key_pem) {
        OPENSSL_cleanse(ca->tls_key_pem, strlen(ca->tls_key_pem));
        free(ca->tls_key_pem);
    }
    EVP_PKEY_free(ca->root_key);
    X509_free(ca->root);
    EVP_PKEY_free(ca->int_key);
    X509_free(ca->inter);
    memset(ca, 0, sizeof *ca);
}

static CONF *qc_config(void)
{
    CONF *conf = NCONF_new(NULL);
    BIO *b = BIO_new_mem_buf(qc_conf, -1);
    long line = 0;
    if (!conf || !b || NCONF_load_bio(conf, b, &line) != 1) {
        NCONF_free(conf);
        conf = NULL;
    }
    BIO_free(b);
    return conf;
}

X509 *sim_ca_issue(const sim_ca *ca, EVP_PKEY *key, const sim_subject *subj,
                   time_t not_before, time_t not_after)
{
    X509_NAME *n = X509_NAME_new();
    CONF *conf = qc_config();
    X509 *x = NULL;
    if (!n || !conf || name_add(n, "C", subj->country) || name_add(n, "O", subj->org_name) ||
        name_add(n, "organizationIdentifier", subj->org_ident) ||
        name_add(n, "CN", subj->common_name))
        goto out;
    x = cert_new(key, n, ca->inter, not_before, not_after);
    const char *const exts[] = {
        "basicConstraints", "critical,CA:FALSE",
        "keyUsage", "critical,nonRepudiation",
        "certificatePolicies", "0.4.0.194112.1.3,2.16.528.1.1003.1.2.5.7",
        "1.3.6.1.5.5.7.1.3", "ASN1:SEQUENCE:qcs",
        "subjectKeyIdentifier", "hash",
        "authorityKeyIdentifier", "keyid:always",
        NULL,
    };
    if (x && cert_finish(x, ca->inter, ca->int_key, conf, exts)) {
        X509_free(x);
        x = NULL;
    }
out:
    NCONF_free(conf);
    X509_NAME_free(n);
    ERR_clear_error();
    return x;
}

char *sim_ca_bundle_pem(const sim_ca *ca, X509 *leaf, bool with_root, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_X509(b, leaf) == 1 && PEM_write_bio_X509(b, ca->inter) == 1 &&
        (!with_root || PEM_write_bio_X509(b, ca->root) == 1))
        out = bio_take(b);
    BIO_free(b);
    if (out && len)
        *len = strlen(out);
    return out;
}
