/*
 * x509_csr: PKCS#10 requests whose signature is made elsewhere (C_Sign on
 * the token), and subject names from a one-line string.
 */
#include "x509_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

/* The signature algorithm that goes with the key: SHA-256 only (EU qualified). */
static x509_code csr_algor(EVP_PKEY *pub, X509_ALGOR **out, x509_err *err)
{
    int nid, ptype;

    if (EVP_PKEY_is_a(pub, "RSA")) {
        nid = NID_sha256WithRSAEncryption;
        ptype = V_ASN1_NULL; /* RFC 4055: parameters NULL */
    } else if (EVP_PKEY_is_a(pub, "EC")) {
        nid = NID_ecdsa_with_SHA256;
        ptype = V_ASN1_UNDEF; /* RFC 5758: parameters absent */
    } else {
        return x509_fail(err, X509_ERR_CSR, "CSR: key type %s is not supported (RSA or EC)",
                         EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "?");
    }
    *out = X509_ALGOR_new();
    if (!*out || !X509_ALGOR_set0(*out, OBJ_nid2obj(nid), ptype, NULL)) {
        X509_ALGOR_free(*out);
        *out = NULL;
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");
    }
    return X509_OK;
}

static x509_code csr_attach_signature(X509_REQ *req, unsigned char *sig, size_t sig_len,
                                      x509_err *err)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();

    if (!bs || sig_len > INT_MAX || !ASN1_BIT_STRING_set(bs, sig, (int)sig_len)) {
        ASN1_BIT_STRING_free(bs);
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");
    }
    /* A signature is whole bytes: say so, or DER would trim trailing zero bits. */
    bs->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    X509_REQ_set0_signature(req, bs);
    return X509_OK;
}

static x509_code csr_sign(X509_REQ *req, x509_sign_fn sign, void *ctx, x509_err *err)
{
    unsigned char *tbs = NULL, *sig = NULL;
    size_t sig_len = 0;
    x509_code rc;

    int tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
    if (tbs_len <= 0)
        return x509_fail(err, X509_ERR_CSR, "CSR: cannot encode the request info");
    if (sign(ctx, tbs, (size_t)tbs_len, &sig, &sig_len) != 0 || !sig || sig_len == 0) {
        rc = x509_fail(err, X509_ERR_CSR, "CSR: the signer could not sign the request");
        goto out;
    }
    rc = csr_attach_signature(req, sig, sig_len, err);
out:
    OPENSSL_free(tbs);
    free(sig);
    return rc;
}

static x509_code csr_to_pem(X509_REQ *req, char **pem_out, x509_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    x509_code rc = X509_ERR_NOMEM;

    if (!bio || !PEM_write_bio_X509_REQ(bio, req))
        goto out;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || !(*pem_out = strndup(data, (size_t)n)))
        goto out;
    rc = X509_OK;
out:
    BIO_free(bio);
    return rc ? x509_fail(err, rc, "CSR: cannot write PEM (out of memory)") : X509_OK;
}

x509_code x509_csr_build(EVP_PKEY *pub, const X509_NAME *subject, x509_sign_fn sign,
                         void *sign_ctx, char **pem_out, x509_err *err)
{
    X509_REQ *req = NULL;
    X509_ALGOR *alg = NULL;
    x509_code rc;

    if (!pem_out || !pub || !sign)
        return x509_fail(err, X509_ERR_CSR, "CSR: public key, signer and output are required");
    *pem_out = NULL;
    rc = csr_algor(pub, &alg, err);
    if (rc)
        goto out;
    req = X509_REQ_new();
    if (!req || !X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_pubkey(req, pub)
        || (subject && !X509_REQ_set_subject_name(req, subject))
        || !X509_REQ_set1_signature_algo(req, alg)) {
        rc = x509_fail(err, X509_ERR_NOMEM, "CSR: cannot assemble the request");
        goto out;
    }
    rc = csr_sign(req, sign, sign_ctx, err);
    if (rc)
        goto out;
    if (X509_REQ_verify(req, pub) != 1) {
        rc = x509_fail(err, X509_ERR_CSR,
                       "CSR: the signature does not verify with the public key; "
                       "the signer used another key or algorithm");
        goto out;
    }
    rc = csr_to_pem(req, pem_out, err);
out:
    X509_ALGOR_free(alg);
    X509_REQ_free(req);
    ERR_clear_error();
    return rc;
}

/* Split at the next unescaped '/', unescaping "\/" and "\\" into `out`. */
static const char *next_component(const char *p, char *out, size_t cap, bool *too_long)
{
    size_t n = 0;

    *too_long = false;
    while (*p && *p != '/') {
        if (*p == '\\' && (p[1] == '/' || p[1] == '\\'))
            p++;
        if (n + 1 >= cap) {
            *too_long = true;
            return p;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
    return p;
}

/* One attribute, its value taken whole: a '/' or '=' in it is just text. */
static x509_code name_add_attr(X509_NAME *name, int index, const char *type, const char *value,
                               x509_err *err)
{
    if (!type || !value)
        return x509_fail(err, X509_ERR_PARSE, "subject: attribute %d has no type or value",
                         index);
    if (OBJ_txt2nid(type) == NID_undef)
        return x509_fail(err, X509_ERR_PARSE,
                         "subject: component %d: unknown attribute type \"%.60s\"", index, type);
    if (!*value)
        return x509_fail(err, X509_ERR_PARSE, "subject: %.60s has an empty value", type);
    ERR_clear_error();
    if (!X509_NAME_add_entry_by_txt(name, type, MBSTRING_UTF8, (const unsigned char *)value,
                                    -1, -1, 0)) {
        const char *why = ERR_reason_error_string(ERR_peek_last_error());
        return x509_fail(err, X509_ERR_PARSE, "subject: %.60s \"%.100s\" not accepted (%s)",
                         type, value, why ? why : "invalid value");
    }
    return X509_OK;
}

static x509_code name_add(X509_NAME *name, int index, char *comp, x509_err *err)
{
    char *eq = strchr(comp, '=');

    if (!eq || eq == comp)
        return x509_fail(err, X509_ERR_PARSE,
                         "subject: component %d \"%.100s\" is not TYPE=VALUE", index, comp);
    *eq = '\0';
    return name_add_attr(name, index, comp, eq + 1, err);
}

X509_NAME *x509_name_build(const x509_name_attr *attrs, size_t n, x509_err *err)
{
    X509_NAME *name = X509_NAME_new();

    if (!name) {
        x509_fail(err, X509_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (name_add_attr(name, (int)i + 1, attrs[i].type, attrs[i].value, err) != X509_OK) {
            X509_NAME_free(name);
            ERR_clear_error();
            return NULL;
        }
    ERR_clear_error();
    return name;
}

X509_NAME *x509_name_parse(const char *oneline, x509_err *err)
{
    char comp[1024];
    bool too_long;
    X509_NAME *name = NULL;
    int index = 0;

    if (!oneline || oneline[0] != '/') {
        x509_fail(err, X509_ERR_PARSE,
                  "subject: must look like \"/C=NL/O=Example B.V./CN=Example\" (starts with '/')");
        return NULL;
    }
    name = X509_NAME_new();
    if (!name) {
        x509_fail(err, X509_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (const char *p = oneline; *p == '/';) {
        p = next_component(p + 1, comp, sizeof comp, &too_long);
        index++;
        if (too_long) {
            x509_fail(err, X509_ERR_PARSE, "subject: component %d is too long", index);
            goto fail;
        }
        if (name_add(name, index, comp, err) != X509_OK)
            goto fail;
    }
    ERR_clear_error();
    return name;
fail:
    X509_NAME_free(name);
    ERR_clear_error();
    return NULL;
}
