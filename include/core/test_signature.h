/*
 * The test signature after install: the installed key signs a fixed
 * challenge on the token with the mechanism its type calls for, and the
 * signature is verified with the installed certificate's public key.  It
 * proves the token can seal with that certificate, not merely that bytes
 * were written next to the key (docs/tokens.md, "The test signature").
 * provision (and watch's workers) and `token install` make it, one rule.
 */
#ifndef QSCD_TEST_SIGNATURE_H
#define QSCD_TEST_SIGNATURE_H

#include "lifecycle_engine.h"
#include "pin_refusal.h"
#include "token.h"
#include "x509.h"

/* The challenge, byte for byte (ASCII, no newline); documented in docs/tokens.md. */
#define LIFECYCLE_TEST_CHALLENGE \
    "qscd-agent test signature v1: this token seals with the certificate installed on it"

typedef struct lifecycle_sig_check {
    x509_sig_alg     alg;        /* what was used (x509_sig_alg_name) */
    size_t           sig_len;
    pin_login_result sign_pin;   /* the signature PIN's login, for keys that need one */
} lifecycle_sig_check;

/*
 * Sign LIFECYCLE_TEST_CHALLENGE with key (logged in) and verify it with
 * cert.  A key with CKA_ALWAYS_AUTHENTICATE logs in context-specifically
 * under the signature PIN rule (sign_req, own_source: pin_sign_begin).
 * Returns 0, or an exit code with err: 4 when the token cannot sign (code
 * "test_signature", or the PIN codes of a login), 5 when the signature
 * does not verify with the certificate (code "test_signature_mismatch").
 */
int lifecycle_test_signature(token *tok, const token_key *key, X509 *cert,
                             const pin_login_req *sign_req, bool own_source,
                             lifecycle_sig_check *out, lifecycle_err *err);

/*
 * The signature PIN rule's refusal in err (codes "sign_pin_refused_before",
 * "sign_pin_refused", "sign_pin_outcome_unknown"), for any signature's caller.
 */
int lifecycle_sign_pin_failed(pin_login_code pc, const pin_login_result *res,
                              const token_err *te, const char *what, lifecycle_err *err);

#endif
