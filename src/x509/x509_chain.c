/*
 * x509_chain: a PEM bundle as CertCentral sends it (pem_all / pem_noroot),
 * and the identity of a certificate: fingerprint, serial, key, key id.
 */
#include "x509_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

/* A bundle is leaf + a few CAs; far more is not something CertCentral sends. */
#define X509_CHAIN_MAX 16

x509_code x509_fail(x509_err *err, x509_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void x509_chain_free(x509_chain *chain)
{
    if (!chain)
        return;
    X509_free(chain->leaf);
    for (size_t i = 0; i < chain->n_rest; i++)
        X509_free(chain->rest[i]);
    free(chain->rest);
    free(chain);
}

static bool pem_name_is_cert(const char *name)
{
    return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0;
}

/*
 * One PEM block.  Read block by block (not PEM_read_bio_X509) so that a
 * private key or a damaged block in the bundle is an error naming the block
 * rather than something silently skipped.  Returns X509_OK with *out NULL at
 * the clean end of the input.
 */
static x509_code read_block(BIO *bio, int index, X509 **out, x509_err *err)
{
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    x509_code rc = X509_OK;

    *out = NULL;
    ERR_clear_error();
    if (!PEM_read_bio(bio, &name, &header, &data, &len)) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
            goto out; /* nothing more (trailing text is tolerated) */
        rc = x509_fail(err, X509_ERR_PARSE,
                       "certificate bundle: PEM block %d is damaged (%s)", index,
                       ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unreadable");
        goto out;
    }
    if (!pem_name_is_cert(name)) {
        rc = x509_fail(err, X509_ERR_PARSE,
                       "certificate bundle: PEM block %d is a \"%.60s\", not a CERTIFICATE",
                       index, name);
        goto out;
    }
    const unsigned char *p = data;
    *out = d2i_X509(NULL, &p, len);
    if (!*out || p != data + len) {
        X509_free(*out);
        *out = NULL;
        rc = x509_fail(err, X509_ERR_PARSE,
                       "certificate bundle: PEM block %d is not a valid X.509 certificate",
                       index);
    }
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    ERR_clear_error();
    return rc;
}

/* The leaf is the first certificate that is not a CA, else the first. */
static size_t pick_leaf(X509 **certs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (X509_check_ca(certs[i]) == 0)
            return i;
    return 0;
}

static x509_code chain_assemble(X509 **certs, size_t n, x509_chain **out, x509_err *err)
{
    x509_chain *c = calloc(1, sizeof *c);
    if (!c)
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");
    if (n > 1) {
        c->rest = calloc(n - 1, sizeof *c->rest);
        if (!c->rest) {
            free(c);
            return x509_fail(err, X509_ERR_NOMEM, "out of memory");
        }
    }
    size_t leaf = pick_leaf(certs, n);
    c->leaf = certs[leaf];
    for (size_t i = 0; i < n; i++)
        if (i != leaf)
            c->rest[c->n_rest++] = certs[i];
    *out = c;
    return X509_OK;
}

x509_code x509_chain_parse_pem(const char *pem, size_t len, x509_chain **out, x509_err *err)
{
    X509 *certs[X509_CHAIN_MAX + 1];
    size_t n = 0;
    BIO *bio = NULL;
    x509_code rc;

    if (!out)
        return x509_fail(err, X509_ERR_PARSE, "x509_chain_parse_pem: no output given");
    *out = NULL;
    if (!pem || len == 0)
        return x509_fail(err, X509_ERR_PARSE, "certificate bundle is empty");
    if (len > INT_MAX)
        return x509_fail(err, X509_ERR_PARSE, "certificate bundle is too large (%zu bytes)", len);
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");

    for (;;) {
        X509 *x = NULL;
        rc = read_block(bio, (int)n + 1, &x, err);
        if (rc)
            goto out;
        if (!x)
            break;
        if (n == X509_CHAIN_MAX) {
            X509_free(x);
            rc = x509_fail(err, X509_ERR_PARSE,
                           "certificate bundle holds more than %d certificates", X509_CHAIN_MAX);
            goto out;
        }
        certs[n++] = x;
    }
    if (n == 0) {
        rc = x509_fail(err, X509_ERR_PARSE,
                       "certificate bundle holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\")");
        goto out;
    }
    rc = chain_assemble(certs, n, out, err);
    if (rc == X509_OK)
        n = 0; /* owned by the chain now */
out:
    for (size_t i = 0; i < n; i++)
        X509_free(certs[i]);
    BIO_free(bio);
    return rc;
}

bool x509_key_matches(X509 *cert, EVP_PKEY *key)
{
    if (!cert || !key)
        return false;
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    return pub && EVP_PKEY_eq(pub, key) == 1;
}

void x509_fingerprint_sha256(X509 *cert, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (!cert || !X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
        return;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

char *x509_serial_hex(X509 *cert)
{
    if (!cert)
        return NULL;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    char *copy = hex ? strdup(hex) : NULL; /* plain free() for the caller */
    OPENSSL_free(hex);
    BN_free(bn);
    return copy;
}

/*
 * SHA-1 over the subjectPublicKey BIT STRING contents: for RSA the DER
 * RSAPublicKey, for EC the point.  RFC 5280 key id method 1, and what
 * pkcs11-tool/OpenSC and most tools put in CKA_ID.
 */
bool x509_key_id_sha1(EVP_PKEY *key, unsigned char out[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *bits = NULL;
    int nbits = 0;
    bool ok = false;

    if (!key || !out)
        return false;
    if (!X509_PUBKEY_set(&xpk, key))
        goto out;
    if (!X509_PUBKEY_get0_param(NULL, &bits, &nbits, NULL, xpk) || nbits <= 0)
        goto out;
    ok = SHA1(bits, (size_t)nbits, out) != NULL;
out:
    X509_PUBKEY_free(xpk);
    ERR_clear_error();
    return ok;
}

bool x509_cert_key_id_sha1(const X509 *cert, unsigned char out[20])
{
    const ASN1_BIT_STRING *bits = cert ? X509_get0_pubkey_bitstr(cert) : NULL;

    if (!bits || !out || ASN1_STRING_length(bits) <= 0)
        return false;
    return SHA1(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), out) != NULL;
}

/* Names come from the certificate: keep control characters out of messages. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

void x509_display_name(const X509_NAME *name, char *out, size_t len)
{
    int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;

    if (len == 0)
        return;
    out[0] = '\0';
    if (i >= 0) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n >= 0) {
            snprintf(out, len, "%.*s", n, (const char *)utf8);
            OPENSSL_free(utf8);
            sanitize(out);
            return;
        }
    }
    if (name)
        X509_NAME_oneline(name, out, (int)(len > INT_MAX ? INT_MAX : len));
    sanitize(out);
}
