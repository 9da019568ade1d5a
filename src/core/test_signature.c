/*
 * The test signature after install (include/test_signature.h), and how a
 * refused signature PIN is worded for every signature the core makes.
 */
#include "test_signature.h"

#include "exit_codes.h"
#include "lifecycle_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lifecycle_sign_pin_failed(pin_login_code pc, const pin_login_result *res,
                              const token_err *te, const char *what, lifecycle_err *err)
{
    char desc[768];
    size_t n;

    if (pc == PIN_LOGIN_SOURCE)
        return lc_fail(err, QSCD_EXIT_USAGE, "pin_source", "signature PIN: %s", res->message);
    if (pc == PIN_LOGIN_REFUSED_BEFORE || pc == PIN_LOGIN_STOPPED) {
        pin_refusal_describe_rule(&res->earlier, desc, sizeof(desc));
        lc_fail(err, QSCD_EXIT_TOKEN, "sign_pin_refused_before", "%s: %s", what, desc);
        err->needs_user = true;
        return QSCD_EXIT_TOKEN;
    }
    lc_fail_token(err, te, what);
    if (res->recorded) {
        n = strlen(err->message);
        snprintf(err->code, sizeof(err->code), "%s",
                 res->verdict == TOKEN_LOGIN_UNKNOWN ? "sign_pin_outcome_unknown"
                                                     : "sign_pin_refused");
        snprintf(err->message + n, sizeof(err->message) - n, "; recorded: no signature PIN "
                 "from a file, a descriptor or the environment is sent to this token again "
                 "automatically");
        err->needs_user = true;
    }
    return err->exit_code;
}

int lifecycle_test_signature(token *tok, const token_key *key, X509 *cert,
                             const pin_login_req *sign_req, bool own_source,
                             lifecycle_sig_check *out, lifecycle_err *err)
{
    static const unsigned char challenge[] = LIFECYCLE_TEST_CHALLENGE;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    token_err te = { 0 };
    x509_err xe = { 0 };
    secret *pin = NULL;
    pin_login_code pc;
    token_code tc;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->alg = x509_sig_alg_for_key(X509_get0_pubkey(cert));
    if (out->alg == X509_SIG_NONE)
        return lc_fail(err, QSCD_EXIT_VERIFY, "test_signature",
                       "%s: the certificate's key type cannot make a test signature here "
                       "(RSA, RSA-PSS or EC)", token_name(tok));
    pc = pin_sign_begin(tok, key, sign_req, own_source, &pin, &out->sign_pin);
    if (pc != PIN_LOGIN_OK)
        return lifecycle_sign_pin_failed(pc, &out->sign_pin, &te, "the test signature", err);
    tc = token_sign_as(tok, key, out->alg, challenge, sizeof(challenge) - 1, &sig, &sig_len, &te);
    pin_sign_end(tok, key, sign_req, tc == TOKEN_OK ? NULL : &te, pin, &out->sign_pin);
    if (tc != TOKEN_OK)
        return lifecycle_sign_pin_failed(PIN_LOGIN_TOKEN, &out->sign_pin, &te,
                                         "making the test signature", err);
    out->sig_len = sig_len;
    if (x509_verify_signature(cert, out->alg, challenge, sizeof(challenge) - 1, sig, sig_len,
                              &xe) != X509_OK)
        rc = lc_fail(err, QSCD_EXIT_VERIFY, "test_signature_mismatch",
                     "%s: test signature: %s", token_name(tok), xe.message);
    free(sig);
    return rc;
}
