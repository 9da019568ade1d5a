/*
 * Logging in under the refused-PIN rule (include/pin_refusal.h): the one
 * function every command that logs in calls, so that the rule has one home.
 */
#include "pin_refusal.h"

#include <stdio.h>
#include <string.h>

/* The record could not be read at all (not merely absent): keep the door shut. */
static void load_earlier(const pin_login_req *req, const token_slot_info *si,
                         pin_login_result *res)
{
    journal_err je = { 0 };

    if (req->store == NULL ||
        pin_refusal_load_kind_in(req->store, req->kind, si->manufacturer, si->serial,
                                 &res->earlier, &je) == JOURNAL_OK)
        return;
    memset(&res->earlier, 0, sizeof(res->earlier));
    res->earlier.present = res->earlier.unreadable = true;
    res->earlier.kind = req->kind;
    snprintf(res->earlier.manufacturer, sizeof(res->earlier.manufacturer), "%s",
             si->manufacturer);
    snprintf(res->earlier.serial, sizeof(res->earlier.serial), "%s", si->serial);
    snprintf(res->record_problem, sizeof(res->record_problem), "%s", je.message);
}

static bool pin_locked(token *tok)
{
    token_err ignored;
    token_pin_state ps;

    if (token_refresh(tok, &ignored) != TOKEN_OK)
        return false;
    ps = token_pin_state_get(tok);
    return ps == TOKEN_PIN_LOCKED || ps == TOKEN_PIN_UNINITIALIZED;
}

static pin_login_code read_pin(const pin_source *src, const pin_login_req *req, secret **pin,
                               pin_login_result *res)
{
    bool ok, go_on = true;

    if (req->around_read != NULL)
        req->around_read(req->arg, true, res);
    ok = pin_source_read(src, req->prompt, pin, res->message, sizeof(res->message));
    if (req->around_read != NULL)
        go_on = req->around_read(req->arg, false, res);
    if (ok && go_on)
        return PIN_LOGIN_OK;
    secret_free(*pin);
    *pin = NULL;
    return ok ? PIN_LOGIN_STOPPED : PIN_LOGIN_SOURCE;
}

/* After the C_Login (res->verdict): remember a refusal, forget one on success. */
static void record_verdict(token *tok, const pin_login_req *req, CK_RV rv,
                           pin_login_result *res)
{
    const token_slot_info *si = token_get_info(tok);
    pin_refusal rec = { 0 };
    journal_err je = { 0 };

    if (req->store == NULL)
        return;
    if (res->verdict == TOKEN_LOGIN_ACCEPTED) {
        if (res->earlier.present &&
            pin_refusal_clear_kind_in(req->store, req->kind, si->manufacturer, si->serial,
                                      &je) != JOURNAL_OK)
            snprintf(res->record_problem, sizeof(res->record_problem),
                     "the record of the PIN refused earlier cannot be removed: %s", je.message);
        return;
    }
    if (res->verdict != TOKEN_LOGIN_REFUSED && res->verdict != TOKEN_LOGIN_UNKNOWN)
        return;
    rec.present = true;
    rec.kind = req->kind;
    rec.outcome_unknown = res->verdict == TOKEN_LOGIN_UNKNOWN;
    rec.at = time(NULL);
    rec.source = res->kind;
    snprintf(rec.rv, sizeof(rec.rv), "%s", token_rv_name(rv));
    snprintf(rec.manufacturer, sizeof(rec.manufacturer), "%s", si->manufacturer);
    snprintf(rec.serial, sizeof(rec.serial), "%s", si->serial);
    snprintf(rec.label, sizeof(rec.label), "%s", si->label);
    if (pin_refusal_save_in(req->store, &rec, &je) == JOURNAL_OK)
        res->recorded = true;
    else
        snprintf(res->record_problem, sizeof(res->record_problem),
                 "the refused PIN cannot be recorded, so it is not remembered: %s", je.message);
}

static void record_outcome(token *tok, const pin_login_req *req, const token_err *te,
                           pin_login_result *res)
{
    res->verdict = token_last_login(tok);
    record_verdict(tok, req, te->rv, res);
}

/*
 * The rule's first half, for every kind of PIN: parse the source, look for
 * a refusal recorded earlier and refuse a non-interactive source before
 * anything is read or sent, else read the PIN.
 */
static pin_login_code obtain_pin(token *tok, const pin_login_req *req, bool read, secret **pin,
                                 pin_login_result *res)
{
    const char *spec = req->spec;
    pin_source src;
    pin_login_code rc;

    if (spec == NULL && token_has_pinpad(tok) && req->kind != PIN_KIND_SO)
        spec = "pinpad";
    if (!pin_source_parse(spec, req->option, &src, res->message, sizeof(res->message)))
        return PIN_LOGIN_SOURCE;
    res->kind = src.kind;
    load_earlier(req, token_get_info(tok), res);
    /* Before anything is read: an fd: stays unread, an env: variable untouched.
     * A locked user PIN is left to token_login, which refuses it without a try
     * and says what to do (the PUK); a refusal recorded earlier is beside the point. */
    if (res->earlier.present && !pin_source_interactive(src.kind) && !req->retry &&
        !(req->kind == PIN_KIND_USER && pin_locked(tok))) {
        pin_source_clear(&src);
        return PIN_LOGIN_REFUSED_BEFORE;
    }
    rc = read ? read_pin(&src, req, pin, res) : PIN_LOGIN_OK;
    pin_source_clear(&src);
    return rc;
}

pin_login_code pin_sign_begin(token *tok, const token_key *key, const pin_login_req *req,
                              bool own_source, secret **pin, pin_login_result *res)
{
    pin_login_code rc;

    memset(res, 0, sizeof(*res));
    *pin = NULL;
    if (key == NULL || !key->always_authenticate)
        return PIN_LOGIN_OK;   /* no context login */
    /* Without a source of its own the user PIN given to token_login signs;
     * the signature PIN's record still keeps a refused one from being sent. */
    if ((rc = obtain_pin(tok, req, own_source, pin, res)) != PIN_LOGIN_OK)
        return rc;
    token_set_sign_pin(tok, own_source, *pin);
    return PIN_LOGIN_OK;
}

void pin_sign_end(token *tok, const token_key *key, const pin_login_req *req,
                  const token_err *te, secret *pin, pin_login_result *res)
{
    token_set_sign_pin(tok, false, NULL);
    secret_free(pin);
    if (key == NULL || !key->always_authenticate)
        return;
    res->verdict = token_last_context_login(tok);
    if (res->verdict == TOKEN_LOGIN_NOT_SENT || res->verdict == TOKEN_LOGIN_NOT_JUDGED)
        return;
    record_verdict(tok, req, te ? te->rv : CKR_OK, res);
}

pin_login_code pin_login(token *tok, const pin_login_req *req, secret **pin,
                         pin_login_result *res, token_err *te)
{
    pin_login_code rc;

    memset(res, 0, sizeof(*res));
    token_err_clear(te);
    *pin = NULL;
    if (token_logged_in(tok))
        return PIN_LOGIN_OK;
    if ((rc = obtain_pin(tok, req, true, pin, res)) != PIN_LOGIN_OK)
        return rc;
    if (token_login(tok, *pin, req->flags, te) == TOKEN_OK) {
        record_outcome(tok, req, te, res);
        return PIN_LOGIN_OK;
    }
    record_outcome(tok, req, te, res);
    secret_free(*pin);
    *pin = NULL;
    return PIN_LOGIN_TOKEN;
}

pin_login_code pin_so_login(token *tok, const pin_login_req *req, secret **pin,
                            pin_login_result *res, token_err *te)
{
    pin_login_code rc;
    token_code tc;

    memset(res, 0, sizeof(*res));
    token_err_clear(te);
    *pin = NULL;
    if ((rc = obtain_pin(tok, req, true, pin, res)) != PIN_LOGIN_OK)
        return rc;
    if (*pin == NULL) {
        snprintf(res->message, sizeof(res->message), "%s: the security officer PIN cannot "
                 "be entered on a keypad here", req->option);
        return PIN_LOGIN_SOURCE;
    }
    tc = token_so_login(tok, *pin, req->flags, te);
    res->verdict = token_last_login(tok);
    record_verdict(tok, req, te->rv, res);
    if (tc == TOKEN_OK)
        return PIN_LOGIN_OK;
    secret_free(*pin);
    *pin = NULL;
    return PIN_LOGIN_TOKEN;
}
