/*
 * Signatures made on the token: RSA PKCS#1 v1.5 with SHA-256 hashed by the
 * token, ECDSA over a SHA-256 digest made here and DER-encoded for X.509.
 */
#include "token_internal.h"

#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

static token_code sign_raw(token *tok, const token_key *key, CK_MECHANISM_TYPE mt,
                           const unsigned char *data, size_t len, unsigned char **sig,
                           CK_ULONG *sig_len, token_err *err)
{
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM mech = { mt, NULL, 0 };
    CK_RV rv;
    token_code rc;

    *sig = NULL;
    if (mt == CKM_SHA256_RSA_PKCS_PSS) {
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof(pss);
    }
    rv = tok->fn->C_SignInit(tok->session, &mech, key->priv);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: C_SignInit", tok->name);
    if (key->always_authenticate && (rc = token_context_login(tok, err)) != TOKEN_OK)
        return rc;
    /* One call with room for the largest signature (RSA 4096 = 512 bytes) avoids
     * the size query some modules get wrong after context-specific login. */
    *sig_len = 1024;
    *sig = malloc(*sig_len);
    if (*sig == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    rv = tok->fn->C_Sign(tok->session, (CK_BYTE *)data, (CK_ULONG)len, *sig, sig_len);
    if (rv != CKR_OK) {
        free(*sig);
        *sig = NULL;
        return token_err_rv(err, rv, "%s: signing with the key (C_Sign)", tok->name);
    }
    return TOKEN_OK;
}

/* r||s as the token returns it -> ECDSA-Sig-Value DER. */
static token_code ecdsa_der(const unsigned char *raw, CK_ULONG raw_len, unsigned char **der,
                            size_t *der_len, token_err *err)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(raw_len / 2), NULL);
    BIGNUM *ss = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2), NULL);
    unsigned char *p = NULL;
    int n = -1;

    if (s != NULL && r != NULL && ss != NULL && raw_len % 2 == 0 && ECDSA_SIG_set0(s, r, ss)) {
        r = ss = NULL;
        n = i2d_ECDSA_SIG(s, &p);
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    if (n <= 0)
        return token_err_set(err, TOKEN_ERR_GENERAL, CKR_OK,
                             "the token returned an ECDSA signature of odd length %lu",
                             (unsigned long)raw_len);
    *der = malloc((size_t)n);
    if (*der == NULL) {
        OPENSSL_free(p);
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    }
    memcpy(*der, p, (size_t)n);
    *der_len = (size_t)n;
    OPENSSL_free(p);
    return TOKEN_OK;
}

token_code token_sign(token *tok, const token_key *key, const unsigned char *data,
                      size_t len, unsigned char **sig, size_t *sig_len, token_err *err)
{
    return token_sign_as(tok, key, key && key->type == CKK_EC ? X509_SIG_ECDSA_SHA256
                                                               : X509_SIG_RSA_PKCS1_SHA256,
                         data, len, sig, sig_len, err);
}

token_code token_sign_as(token *tok, const token_key *key, x509_sig_alg alg,
                         const unsigned char *data, size_t len, unsigned char **sig,
                         size_t *sig_len, token_err *err)
{
    unsigned char digest[SHA256_DIGEST_LENGTH], *raw = NULL;
    CK_ULONG raw_len = 0;
    token_code rc;

    return_val_if_fail(tok != NULL && key != NULL && sig != NULL && sig_len != NULL,
                       TOKEN_ERR_INVALID);
    token_err_clear(err);
    *sig = NULL;
    if (key->priv == CK_INVALID_HANDLE)
        return token_err_set(err, TOKEN_ERR_NOT_LOGGED_IN, CKR_OK,
                             "%s: the private key is not available; log in first", tok->name);
    if (key->type == CKK_RSA && alg != X509_SIG_ECDSA_SHA256) {
        rc = sign_raw(tok, key, alg == X509_SIG_RSA_PSS_SHA256 ? CKM_SHA256_RSA_PKCS_PSS
                                                              : CKM_SHA256_RSA_PKCS,
                      data, len, &raw, &raw_len, err);
        if (rc == TOKEN_OK) {
            *sig = raw;
            *sig_len = raw_len;
        }
        return rc;
    }
    if (key->type != CKK_EC || alg != X509_SIG_ECDSA_SHA256)
        return token_err_set(err, TOKEN_ERR_UNSUPPORTED, CKR_OK,
                             "%s: key type %lu cannot make a %s signature here", tok->name,
                             (unsigned long)key->type, x509_sig_alg_name(alg));
    SHA256(data, len, digest);
    rc = sign_raw(tok, key, CKM_ECDSA, digest, sizeof(digest), &raw, &raw_len, err);
    if (rc == TOKEN_OK)
        rc = ecdsa_der(raw, raw_len, sig, sig_len, err);
    free(raw);
    return rc;
}

int token_signer_sign(void *signer, const unsigned char *tbs, size_t tbs_len,
                      unsigned char **sig, size_t *sig_len)
{
    token_signer *s = signer;

    if (s == NULL)
        return -1;
    return token_sign(s->tok, s->key, tbs, tbs_len, sig, sig_len, &s->err) == TOKEN_OK ? 0 : -1;
}
