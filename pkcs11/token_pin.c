/*
 * The user PIN: read its state from the token flags before trying it, log
 * in once (a wrong PIN is never tried again by us), change it.
 */
#include "token_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

token_pin_state token_pin_state_get(const token *tok)
{
    return tok ? tok->info.pin_state : TOKEN_PIN_OK;
}

bool token_has_pinpad(const token *tok)
{
    return tok != NULL && tok->info.pinpad;
}

bool token_logged_in(const token *tok)
{
    return tok != NULL && tok->logged_in;
}

/* Refuse before spending a try: the flags tell what a try would cost. */
static token_code check_state(token *tok, unsigned flags, token_err *err)
{
    switch (tok->info.pin_state) {
    case TOKEN_PIN_LOCKED:
        return token_err_set(err, TOKEN_ERR_PIN_LOCKED, CKR_PIN_LOCKED,
                             "%s: PIN locked after too many wrong tries; unlock it with the "
                             "PUK (security officer PIN) before using this token", tok->name);
    case TOKEN_PIN_UNINITIALIZED:
        return token_err_set(err, TOKEN_ERR_PIN_LOCKED, CKR_USER_PIN_NOT_INITIALIZED,
                             "%s: the user PIN is not initialised; set it with the security "
                             "officer PIN first", tok->name);
    case TOKEN_PIN_FINAL_TRY:
        if (flags & TOKEN_LOGIN_ALLOW_FINAL_TRY)
            return TOKEN_OK;
        return token_err_set(err, TOKEN_ERR_PIN_FINAL_TRY, CKR_OK,
                             "%s: only one PIN try is left; a wrong PIN now locks the token",
                             tok->name);
    case TOKEN_PIN_TO_BE_CHANGED:
        if (flags & TOKEN_LOGIN_ALLOW_EXPIRED)
            return TOKEN_OK;
        return token_err_set(err, TOKEN_ERR_PIN_EXPIRED, CKR_PIN_EXPIRED,
                             "%s: the PIN must be changed before the token can be used; run "
                             "qscd-agent token change-pin", tok->name);
    default:
        return TOKEN_OK;
    }
}

/* After a wrong PIN: what the token says now, for the message. */
static const char *after_wrong_pin(token *tok)
{
    token_err ignored;

    if (token_refresh(tok, &ignored) != TOKEN_OK)
        return "the token did not say how many tries are left";
    switch (tok->info.pin_state) {
    case TOKEN_PIN_LOCKED:
        return "the PIN is now LOCKED; unlock it with the PUK";
    case TOKEN_PIN_FINAL_TRY:
        return "only ONE try is left before the PIN locks";
    case TOKEN_PIN_COUNT_LOW:
        return "the token reports the try counter as low";
    default:
        return "the token does not report a try counter";
    }
}

static token_code login_failed(token *tok, CK_RV rv, token_err *err)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_INVALID:
        return token_err_set(err, TOKEN_ERR_PIN_INCORRECT, rv,
                             "%s: wrong PIN (%s), not retried; %s", tok->name,
                             token_rv_name(rv), after_wrong_pin(tok));
    case CKR_PIN_LOCKED:
        return token_err_set(err, TOKEN_ERR_PIN_LOCKED, rv,
                             "%s: PIN locked after too many wrong tries; unlock it with the "
                             "PUK (security officer PIN)", tok->name);
    case CKR_PIN_EXPIRED:
        return token_err_set(err, TOKEN_ERR_PIN_EXPIRED, rv,
                             "%s: the PIN has expired and must be changed; run qscd-agent "
                             "token change-pin", tok->name);
    case CKR_FUNCTION_CANCELED:
        return token_err_set(err, TOKEN_ERR_PIN_INCORRECT, rv,
                             "%s: PIN entry on the reader's keypad was cancelled", tok->name);
    default:
        return token_err_rv(err, rv, "%s: C_Login", tok->name);
    }
}

token_login_verdict token_last_login(const token *tok)
{
    return tok ? tok->last_login : TOKEN_LOGIN_NOT_SENT;
}

/*
 * A device error or a removal is not counted as a judgement of the PIN:
 * re-plugging resumes (the design's promise for a pulled token), and a
 * wrong PIN tried again then is recorded as refused at that try.
 */
static token_login_verdict verdict_for(CK_RV rv)
{
    switch (rv) {
    case CKR_OK:
    case CKR_PIN_EXPIRED:
        return TOKEN_LOGIN_ACCEPTED;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
        return TOKEN_LOGIN_REFUSED;
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
        return TOKEN_LOGIN_UNKNOWN;
    default:
        return TOKEN_LOGIN_NOT_JUDGED;
    }
}

token_code token_login(token *tok, const secret *pin, unsigned flags, token_err *err)
{
    CK_RV rv;
    token_code rc;

    return_val_if_fail(tok != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    tok->last_login = TOKEN_LOGIN_NOT_SENT;
    if (tok->logged_in)
        return TOKEN_OK;
    rc = token_refresh(tok, err);
    if (rc == TOKEN_OK)
        rc = check_state(tok, flags, err);
    if (rc != TOKEN_OK)
        return rc;
    if (pin == NULL && !tok->info.pinpad)
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK,
                             "%s has no PIN pad (no protected authentication path)",
                             tok->name);
    rv = tok->fn->C_Login(tok->session, CKU_USER, pin ? (CK_UTF8CHAR *)pin->data : NULL,
                          pin ? (CK_ULONG)pin->len : 0);
    tok->last_login = verdict_for(rv);
    if (pin == NULL && (rv == CKR_ARGUMENTS_BAD || rv == CKR_FUNCTION_NOT_SUPPORTED))
        return token_err_set(err, TOKEN_ERR_UNSUPPORTED, rv,
                             "%s claims a PIN pad (protected authentication path) but did not "
                             "take the PIN from a keypad (%s); give the PIN from a PIN source "
                             "instead", tok->name, token_rv_name(rv));
    if (rv == CKR_PIN_EXPIRED && (flags & TOKEN_LOGIN_ALLOW_EXPIRED))
        rv = CKR_OK;   /* logged in, but only C_SetPIN is allowed: what change-pin needs */
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return login_failed(tok, rv, err);
    tok->logged_in = true;
    tok->pin = pin;
    return TOKEN_OK;
}

void token_set_sign_pin(token *tok, bool own, const secret *pin)
{
    if (tok == NULL)
        return;
    tok->sign_pin_own = own;
    tok->sign_pin = own ? pin : NULL;
}

token_login_verdict token_last_context_login(const token *tok)
{
    return tok ? tok->last_context_login : TOKEN_LOGIN_NOT_SENT;
}

/*
 * A C_Sign ends the operation C_SignInit began whatever it answers (but
 * CKR_BUFFER_TOO_SMALL); without the context login it fails, and nothing
 * is left active for the session's next signature.
 */
static void end_sign_operation(token *tok)
{
    unsigned char buf[1024], data[1] = { 0 };
    CK_ULONG len = sizeof(buf);

    (void)tok->fn->C_Sign(tok->session, data, sizeof(data), buf, &len);
    OPENSSL_cleanse(buf, sizeof(buf));
}

token_code token_context_login(token *tok, token_err *err)
{
    const secret *pin = tok->sign_pin_own ? tok->sign_pin : tok->pin;
    CK_RV rv;
    token_code rc;

    tok->last_context_login = TOKEN_LOGIN_NOT_SENT;
    if (pin == NULL && !tok->info.pinpad)
        rc = token_err_set(err, TOKEN_ERR_INVALID, CKR_OK,
                           "%s: the key needs a signature PIN for each signature and none "
                           "was given", tok->name);
    else {
        rv = tok->fn->C_Login(tok->session, CKU_CONTEXT_SPECIFIC,
                              pin ? (CK_UTF8CHAR *)pin->data : NULL, pin ? (CK_ULONG)pin->len : 0);
        tok->last_context_login = verdict_for(rv);
        if (rv == CKR_OK)
            return TOKEN_OK;
        rc = login_failed(tok, rv, err);
        /* Say which PIN it was: the user PIN was taken a moment ago. */
        if (rc == TOKEN_ERR_PIN_INCORRECT || rc == TOKEN_ERR_PIN_LOCKED) {
            char msg[sizeof(err->message)];

            snprintf(msg, sizeof(msg), "%s", err->message);
            snprintf(err->message, sizeof(err->message), "signature PIN (context-specific "
                     "login for the key): %.900s", msg);
        }
    }
    end_sign_operation(tok);
    return rc;
}

token_code token_change_pin(token *tok, const secret *old_pin, const secret *new_pin,
                            token_err *err)
{
    CK_RV rv;

    return_val_if_fail(tok != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    if (!tok->logged_in)
        return token_err_set(err, TOKEN_ERR_NOT_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
                             "%s: log in with the current PIN before changing it", tok->name);
    if ((old_pin == NULL) != (new_pin == NULL))
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK,
                             "%s: give both the old and the new PIN, or neither (pinpad)",
                             tok->name);
    if (old_pin != NULL && old_pin->len == new_pin->len &&
        memcmp(old_pin->data, new_pin->data, old_pin->len) == 0)
        return token_err_set(err, TOKEN_ERR_PIN_INVALID, CKR_OK,
                             "%s: the new PIN is the same as the old one", tok->name);
    rv = tok->fn->C_SetPIN(tok->session,
                           old_pin ? (CK_UTF8CHAR *)old_pin->data : NULL,
                           old_pin ? (CK_ULONG)old_pin->len : 0,
                           new_pin ? (CK_UTF8CHAR *)new_pin->data : NULL,
                           new_pin ? (CK_ULONG)new_pin->len : 0);
    if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
        return token_err_set(err, TOKEN_ERR_PIN_INVALID, rv,
                             "%s: the token does not accept the new PIN (%s); check its "
                             "length and characters", tok->name, token_rv_name(rv));
    if (rv != CKR_OK)
        return login_failed(tok, rv, err);
    return TOKEN_OK;
}
