/*
 * The security officer's PIN (the PUK / admin PIN that came with the
 * token): read its state from the flags, log in as the SO, and set a new
 * user PIN with C_InitPIN, which keeps every key and certificate.  On the
 * eToken 5110 a few wrong admin PINs lock the token for good, so a final
 * try is refused unless allowed and a locked SO PIN is never tried.
 * Nothing here initialises the token (C_InitToken would destroy the key).
 */
#include "token_internal.h"

#include <stdio.h>
#include <string.h>

token_so_pin_state token_so_pin_state_get(const token *tok)
{
    CK_FLAGS f = tok ? tok->info.flags : 0;

    if (f & CKF_SO_PIN_LOCKED)
        return TOKEN_SO_PIN_LOCKED;
    if (f & CKF_SO_PIN_FINAL_TRY)
        return TOKEN_SO_PIN_FINAL_TRY;
    if (f & CKF_SO_PIN_COUNT_LOW)
        return TOKEN_SO_PIN_COUNT_LOW;
    return TOKEN_SO_PIN_OK;
}

static token_code so_state_refuses(token *tok, unsigned flags, token_err *err)
{
    switch (token_so_pin_state_get(tok)) {
    case TOKEN_SO_PIN_LOCKED:
        if (flags & TOKEN_LOGIN_ALLOW_FINAL_TRY)
            return TOKEN_OK;
        return token_err_set(err, TOKEN_ERR_PIN_LOCKED, CKR_PIN_LOCKED,
                             "%s: the security officer PIN (PUK) is locked; the token "
                             "cannot be unblocked this way", tok->name);
    case TOKEN_SO_PIN_FINAL_TRY:
        if (flags & TOKEN_LOGIN_ALLOW_FINAL_TRY)
            return TOKEN_OK;
        return token_err_set(err, TOKEN_ERR_PIN_FINAL_TRY, CKR_OK,
                             "%s: only one security officer PIN (PUK) try is left; a wrong "
                             "one now may lock the token for good", tok->name);
    default:
        return TOKEN_OK;
    }
}

token_code token_so_login(token *tok, const secret *so_pin, unsigned flags, token_err *err)
{
    CK_RV rv;
    token_code rc;

    return_val_if_fail(tok != NULL && so_pin != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    tok->last_login = TOKEN_LOGIN_NOT_SENT;
    if (tok->logged_in)
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_USER_ALREADY_LOGGED_IN,
                             "%s: already logged in as the user", tok->name);
    if ((rc = token_refresh(tok, err)) != TOKEN_OK || (rc = so_state_refuses(tok, flags, err)))
        return rc;
    rv = tok->fn->C_Login(tok->session, CKU_SO, (CK_UTF8CHAR *)so_pin->data,
                          (CK_ULONG)so_pin->len);
    tok->last_login = rv == CKR_OK ? TOKEN_LOGIN_ACCEPTED
                    : rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE
                        ? TOKEN_LOGIN_REFUSED
                    : rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED ? TOKEN_LOGIN_UNKNOWN
                                                                           : TOKEN_LOGIN_NOT_JUDGED;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
        token_err ignored;
        const char *left = token_refresh(tok, &ignored) != TOKEN_OK ? ""
                         : token_so_pin_state_get(tok) == TOKEN_SO_PIN_LOCKED
                             ? "; the security officer PIN is now LOCKED"
                         : token_so_pin_state_get(tok) == TOKEN_SO_PIN_FINAL_TRY
                             ? "; only ONE security officer PIN try is left" : "";

        return token_err_set(err, TOKEN_ERR_PIN_INCORRECT, rv,
                             "%s: wrong security officer PIN (%s), not retried%s", tok->name,
                             token_rv_name(rv), left);
    }
    if (rv == CKR_PIN_LOCKED)
        return token_err_set(err, TOKEN_ERR_PIN_LOCKED, rv,
                             "%s: the security officer PIN (PUK) is locked", tok->name);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: C_Login as the security officer", tok->name);
    tok->so_logged_in = true;
    return TOKEN_OK;
}

token_code token_init_pin(token *tok, const secret *new_pin, token_err *err)
{
    CK_RV rv;

    return_val_if_fail(tok != NULL && new_pin != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    if (!tok->so_logged_in)
        return token_err_set(err, TOKEN_ERR_NOT_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
                             "%s: log in as the security officer first", tok->name);
    rv = tok->fn->C_InitPIN(tok->session, (CK_UTF8CHAR *)new_pin->data, (CK_ULONG)new_pin->len);
    if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
        return token_err_set(err, TOKEN_ERR_PIN_INVALID, rv,
                             "%s: the token does not accept the new PIN (%s); check its "
                             "length and characters", tok->name, token_rv_name(rv));
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: setting the new user PIN (C_InitPIN)", tok->name);
    return TOKEN_OK;
}
