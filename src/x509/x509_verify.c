/*
 * Checking a signature with a certificate's public key: the test signature
 * after install proves the token seals with the key the installed
 * certificate names, not merely that bytes were written next to it.
 */
#include "x509.h"
#include "x509_internal.h"

#include <openssl/rsa.h>
#include <stdio.h>

x509_sig_alg x509_sig_alg_for_key(EVP_PKEY *key)
{
    if (key == NULL)
        return X509_SIG_NONE;
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:     return X509_SIG_RSA_PKCS1_SHA256;
    case EVP_PKEY_RSA_PSS: return X509_SIG_RSA_PSS_SHA256;
    case EVP_PKEY_EC:      return X509_SIG_ECDSA_SHA256;
    default:               return X509_SIG_NONE;
    }
}

const char *x509_sig_alg_name(x509_sig_alg alg)
{
    switch (alg) {
    case X509_SIG_RSA_PKCS1_SHA256: return "rsa-pkcs1-sha256";
    case X509_SIG_RSA_PSS_SHA256:   return "rsa-pss-sha256";
    case X509_SIG_ECDSA_SHA256:     return "ecdsa-sha256";
    case X509_SIG_NONE:             break;
    }
    return "none";
}

static bool set_padding(EVP_PKEY_CTX *pctx, x509_sig_alg alg)
{
    if (alg != X509_SIG_RSA_PSS_SHA256)
        return true;
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0;
}

x509_code x509_verify_signature(X509 *cert, x509_sig_alg alg, const unsigned char *data,
                                size_t len, const unsigned char *sig, size_t sig_len,
                                x509_err *err)
{
    EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    char serial[80] = "?";
    int ok = -1;

    if (cert != NULL) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;

        if (hex != NULL)
            snprintf(serial, sizeof(serial), "%s", hex);
        OPENSSL_free(hex);
        BN_free(bn);
    }
    if (md != NULL && pub != NULL && alg != X509_SIG_NONE &&
        EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub) == 1 && set_padding(pctx, alg))
        ok = EVP_DigestVerify(md, sig, sig_len, data, len);
    EVP_MD_CTX_free(md);
    if (ok == 1)
        return X509_OK;
    return x509_fail(err, X509_ERR_SIGNATURE,
                     "certificate %s: the %s signature made on the token does not verify "
                     "with the certificate's public key", serial, x509_sig_alg_name(alg));
}
