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
        pin_refusal_load_in(req->store, si->manufacturer, si->serial, &res->earlier,
                         &je) == JOURNAL_OK)
        return;
    memset(&res->earlier, 0, sizeof(res->earlier));
    res->earlier.present = res->earlier.unreadable = true;
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

/* After the C_Login: remember a refusal, forget one on success. */
static void record_outcome(token *tok, const pin_login_req *req, const token_err *te,
                           pin_login_result *res)
{
    const token_slot_info *si = token_get_info(tok);
    pin_refusal rec = { 0 };
    journal_err je = { 0 };

    res->verdict = token_last_login(tok);
    if (req->store == NULL)
        return;
    if (res->verdict == TOKEN_LOGIN_ACCEPTED) {
        if (res->earlier.present &&
            pin_refusal_clear_in(req->store, si->manufacturer, si->serial, &je) != JOURNAL_OK)
            snprintf(res->record_problem, sizeof(res->record_problem),
                     "the record of the PIN refused earlier cannot be removed: %s", je.message);
        return;
    }
    if (res->verdict != TOKEN_LOGIN_REFUSED && res->verdict != TOKEN_LOGIN_UNKNOWN)
        return;
    rec.present = true;
    rec.outcome_unknown = res->verdict == TOKEN_LOGIN_UNKNOWN;
    rec.at = time(NULL);
    rec.source = res->kind;
    snprintf(rec.rv, sizeof(rec.rv), "%s", token_rv_name(te->rv));
    snprintf(rec.manufacturer, sizeof(rec.manufacturer), "%s", si->manufacturer);
    snprintf(rec.serial, sizeof(rec.serial), "%s", si->serial);
    snprintf(rec.label, sizeof(rec.label), "%s", si->label);
    if (pin_refusal_save_in(req->store, &rec, &je) == JOURNAL_OK)
        res->recorded = true;
    else
        snprintf(res->record_problem, sizeof(res->record_problem),
                 "the refused PIN cannot be recorded, so it is not remembered: %s", je.message);
}

pin_login_code pin_login(token *tok, const pin_login_req *req, secret **pin,
                         pin_login_result *res, token_err *te)
{
    const char *spec = req->spec;
    pin_source src;
    pin_login_code rc;

    memset(res, 0, sizeof(*res));
    token_err_clear(te);
    *pin = NULL;
    if (token_logged_in(tok))
        return PIN_LOGIN_OK;
    if (spec == NULL && token_has_pinpad(tok))
        spec = "pinpad";
    if (!pin_source_parse(spec, req->option, &src, res->message, sizeof(res->message)))
        return PIN_LOGIN_SOURCE;
    res->kind = src.kind;
    load_earlier(req, token_get_info(tok), res);
    /* Before anything is read: an fd: stays unread, an env: variable untouched.
     * A locked PIN is left to token_login, which refuses it without a try and
     * says what to do (the PUK); a refusal recorded earlier is beside the point. */
    if (res->earlier.present && !pin_source_interactive(src.kind) && !req->retry &&
        !pin_locked(tok)) {
        pin_source_clear(&src);
        return PIN_LOGIN_REFUSED_BEFORE;
    }
    rc = read_pin(&src, req, pin, res);
    pin_source_clear(&src);
    if (rc != PIN_LOGIN_OK)
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
