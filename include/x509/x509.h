/*
 * x509: what the agent checks about certificates, with OpenSSL.
 * Chain parsing, key match, the qualified-eSeal profile, chain linkage,
 * and PKCS#10 CSRs whose signature is made elsewhere (on the token).
 * Knows nothing of HTTP or PKCS#11.
 */
#ifndef QSCD_X509_H
#define QSCD_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum x509_code {
    X509_OK = 0,
    X509_ERR_PARSE,      /* not PEM / not a certificate / empty bundle */
    X509_ERR_KEY_MISMATCH,
    X509_ERR_PROFILE,    /* one or more profile deviations, see report */
    X509_ERR_CHAIN,      /* leaf -> intermediate -> root does not link */
    X509_ERR_CSR,
    X509_ERR_NOMEM,
    X509_ERR_SIGNATURE,  /* a signature does not verify with the certificate's key */
} x509_code;

typedef struct x509_err {
    x509_code code;
    char      message[512];
} x509_err;

/* A parsed PEM bundle: leaf first, then the rest in the order received. */
typedef struct x509_chain {
    X509  *leaf;
    X509 **rest;       /* intermediates and root */
    size_t n_rest;
} x509_chain;

x509_code x509_chain_parse_pem(const char *pem, size_t len, x509_chain **out, x509_err *err);
void      x509_chain_free(x509_chain *chain);

/* True when the certificate holds exactly this public key. */
bool x509_key_matches(X509 *cert, EVP_PKEY *key);

/* Relaxations the user asked for explicitly; everything else is checked. */
enum x509_relax {
    X509_RELAX_NONE          = 0,
    X509_RELAX_QC_STATEMENTS = 1 << 0,
    X509_RELAX_POLICY        = 1 << 1,
    X509_RELAX_KEY_USAGE     = 1 << 2,
    X509_RELAX_VALIDITY      = 1 << 3,
    X509_RELAX_CHAIN         = 1 << 4,
};

/* Every deviation found, each a sentence naming what is wrong. */
typedef struct x509_report {
    size_t count;
    char **items;      /* deviations that count (not relaxed) */
    size_t n_relaxed;
    char **relaxed;    /* deviations the user relaxed, still named */
} x509_report;

void x509_report_free(x509_report *r);

/*
 * Check the qualified-eSeal-on-QSCD profile (ETSI EN 319 412):
 * keyUsage nonRepudiation (critical), QCStatements with QcCompliance, QcSSCD
 * and QcType eseal, certificatePolicies with QCP-l-qscd, subject with
 * organizationIdentifier, validity at `now`, chain linkage leaf ->
 * intermediate(s) -> root (signatures and issuer names).  Returns X509_OK or
 * X509_ERR_PROFILE / X509_ERR_CHAIN with the report filled in.
 */
x509_code x509_check_profile(const x509_chain *chain, time_t now, unsigned relax,
                             x509_report *report, x509_err *err);
/*
 * The report is always initialised (also on error) and must be released
 * with x509_report_free.  Also checked, never relaxable: signature hash
 * SHA-256, RSA key >= 2048 bits (EC: P-256 or larger), subject O/C/CN.
 * err->message carries a one-line summary naming the first deviation.
 */

/*
 * Trust anchors: the roots an organisation accepts for its qualified seal
 * (a PEM file of self-signed CA certificates).  x509_chain_check_anchored
 * is full path validation of the leaf through the bundle's certificates
 * (untrusted) to one of the anchors at `now` (X509_RELAX_VALIDITY: time not
 * checked); a bundle whose own root is not an anchor is X509_ERR_CHAIN,
 * the message naming the issuer that did not chain.  X509_RELAX_CHAIN does
 * not relax this.
 */
typedef struct x509_anchors x509_anchors;

x509_code x509_anchors_load(const char *path, x509_anchors **out, x509_err *err);
void      x509_anchors_free(x509_anchors *anchors);
size_t    x509_anchors_count(const x509_anchors *anchors);
x509_code x509_chain_check_anchored(const x509_chain *chain, const x509_anchors *anchors,
                                    time_t now, unsigned relax, x509_err *err);

/* SHA-256 of the DER certificate as lowercase hex (65 bytes incl. NUL). */
void x509_fingerprint_sha256(X509 *cert, char out[65]);

/* Serial number as uppercase hex. Caller frees. */
char *x509_serial_hex(X509 *cert);

/* SHA-1 of the public key bits: the usual CKA_ID convention. */
bool x509_key_id_sha1(EVP_PKEY *key, unsigned char out[20]);
/* The same for a certificate's key, from the bits as the certificate
 * carries them: nothing is re-encoded (X509_PUBKEY_set costs ~5 M
 * instructions for an RSA key). */
bool x509_cert_key_id_sha1(const X509 *cert, unsigned char out[20]);

/*
 * PKCS#10 CSR for `pub`, subject given as a one-line OpenSSL-style
 * "/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example"
 * string or built from an X509_NAME.  The signature is made by `sign`
 * (on the token): it receives the DER of the CertificationRequestInfo and
 * returns the raw signature (PKCS#1 v1.5 over SHA-256 for RSA; DER ECDSA
 * for EC) in a malloc'd buffer.
 */
typedef int (*x509_sign_fn)(void *ctx, const unsigned char *tbs, size_t tbs_len,
                            unsigned char **sig, size_t *sig_len);
/*
 * The signer returns 0 on success (and a malloc'd *sig the CSR code frees),
 * non-zero on failure.  x509_csr_build verifies the finished CSR with `pub`,
 * so a signature made with another key is caught here (X509_ERR_CSR).
 * *pem_out is malloc'd; the caller frees it.  `subject` NULL: empty subject.
 */

x509_code x509_csr_build(EVP_PKEY *pub, const X509_NAME *subject, x509_sign_fn sign,
                         void *sign_ctx, char **pem_out, x509_err *err);

/*
 * Subject from the order's organisation, e.g. for a blank-token re-key.
 * Attribute types by short name, long name or dotted OID
 * (organizationIdentifier = 2.5.4.97); "\/" is a literal slash and "\\" a
 * backslash inside a value.  NULL with err filled on bad input.
 */
X509_NAME *x509_name_parse(const char *oneline, x509_err *err);

/*
 * A subject from values as they are (a server's common name, say), one
 * RDN per attribute in the order given (X509_NAME_add_entry_by_txt, UTF-8):
 * a '/' or '=' inside a value never starts another attribute.  Type by
 * short or long name or dotted OID.  NULL with err filled on bad input.
 */
typedef struct x509_name_attr {
    const char *type;
    const char *value;
} x509_name_attr;

X509_NAME *x509_name_build(const x509_name_attr *attrs, size_t n, x509_err *err);

/*
 * QCStatements (1.3.6.1.5.5.7.1.3, ETSI EN 319 412-5) as found in a
 * certificate.  Used by x509_check_profile; public for `token list` style
 * displays and tests.
 */
typedef struct x509_qc_info {
    bool present;        /* the extension is there */
    bool malformed;      /* present but not a SEQUENCE OF QCStatement */
    bool compliance;     /* QcCompliance 0.4.0.1862.1.1 */
    bool sscd;           /* QcSSCD 0.4.0.1862.1.4 */
    bool has_type;       /* QcType 0.4.0.1862.1.6 */
    bool type_esign;     /* 0.4.0.1862.1.6.1 */
    bool type_eseal;     /* 0.4.0.1862.1.6.2 */
    bool type_web;       /* 0.4.0.1862.1.6.3 */
    bool type_other;     /* an OID in QcType that is none of the three */
} x509_qc_info;

/* X509_OK, or X509_ERR_PARSE (with info->malformed set) on a bad encoding. */
x509_code x509_qc_parse(X509 *cert, x509_qc_info *info, x509_err *err);

/* --- signatures made with a certificate's key (x509_verify.c) -------------- */

/* What a key's type calls for; all over SHA-256 of the data. */
typedef enum x509_sig_alg {
    X509_SIG_NONE = 0,         /* a key type that cannot sign here */
    X509_SIG_RSA_PKCS1_SHA256, /* RSA key: PKCS#1 v1.5 */
    X509_SIG_RSA_PSS_SHA256,   /* RSASSA-PSS key: PSS, MGF1-SHA256, salt 32 */
    X509_SIG_ECDSA_SHA256,     /* EC key: ECDSA, signature DER-encoded */
} x509_sig_alg;

x509_sig_alg x509_sig_alg_for_key(EVP_PKEY *key);
/* "rsa-pkcs1-sha256", "rsa-pss-sha256", "ecdsa-sha256", "none". */
const char  *x509_sig_alg_name(x509_sig_alg alg);
/* X509_OK when sig is alg's signature of data by cert's public key;
 * X509_ERR_SIGNATURE naming the certificate when it is not. */
x509_code    x509_verify_signature(X509 *cert, x509_sig_alg alg, const unsigned char *data,
                                   size_t len, const unsigned char *sig, size_t sig_len,
                                   x509_err *err);

#endif
