/*
 * The engine's device-side actions: find the job's token, make sure it is
 * the right one before any PIN is asked for, bind it, log in, locate the
 * key, install the certificate, read it back.
 *
 * Which token is the right one: DigiCert generated the key on the token,
 * so the issued certificate holds one of the token's public keys, and
 * those are readable without a login.  A token already bound to a job is
 * known by its serial.  A wrong token is refused before anything is
 * written or a PIN try is spent, saying which job it belongs to if any.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"
#include "pin_refusal.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_TOKEN_WAIT_MS 500   /* re-check between events (and for the timeout) */

/* "[token QSCD-01 serial 1234] ...": the device side's progress line. */
static void say_token(const lc_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say_token(const lc_run *r, const char *fmt, ...)
{
    const token_slot_info *si = r->tok ? token_get_info(r->tok) : NULL;
    char line[1024], prefix[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    snprintf(prefix, sizeof(prefix), "[token %s serial %s]", si ? si->label : "?",
             si ? si->serial : "?");
    lc_say_as(r, prefix, line);
}

/* "; it is bound to order 100002 (job-...)" or "" when no job knows it. */
static void belongs_to(const lc_run *r, const char *serial, const token_key_list *keys,
                       char *buf, size_t len)
{
    journal_listing l = { 0 };
    journal_err je = { 0 };

    buf[0] = '\0';
    if (store_list(r->st, &l, &je) != JOURNAL_OK)
        return;
    for (size_t i = 0; i < l.n && buf[0] == '\0'; i++) {
        const journal_job *j = l.jobs[i];
        x509_chain *c;

        if (strcmp(j->ref, r->job->ref) == 0)
            continue;
        if (j->token.serial != NULL && strcmp(j->token.serial, serial) == 0) {
            snprintf(buf, len, "; it is bound to order %s (job %s)",
                     j->order_id ? j->order_id : "(not yet known)", j->ref);
            break;
        }
        if (keys == NULL || (c = lc_chain_load(r->st, j->ref)) == NULL)
            continue;
        if (token_key_for_cert(keys, c->leaf) != NULL)
            snprintf(buf, len, "; it holds the key of order %s's certificate (job %s)",
                     j->order_id ? j->order_id : "?", j->ref);
        x509_chain_free(c);
    }
    journal_listing_free(&l);
}

static int refuse_token(lc_run *r, const token_slot_info *si, const token_key_list *keys,
                        const char *why)
{
    char owner[256];

    belongs_to(r, si->serial, keys, owner, sizeof(owner));
    lc_fail(r->err, QSCD_EXIT_TOKEN, "wrong_token",
            "token \"%s\" (serial %s) is not the token of order %s: %s%s; nothing was "
            "written and no PIN was asked for.  Plug in %s", si->label, si->serial,
            r->job->order_id ? r->job->order_id : r->job->ref, why,
            owner[0] ? owner : "; it belongs to no job known here",
            r->job->token.serial ? "the bound token" : "the token shipped for this order");
    r->err->needs_user = true;
    return QSCD_EXIT_TOKEN;
}

/* Present and initialised: SoftHSM2 and others show an empty slot for a new token. */
static bool usable(const token_slot_info *si)
{
    return si->present && (si->flags & CKF_TOKEN_INITIALIZED);
}

/* Refuse a token found in a slot, reading its public keys to name its job. */
static int refuse_slot(lc_run *r, const token_slot_info *si, const char *why)
{
    token_key_list keys = { 0 };
    token_err te = { 0 };
    token *tok = NULL;
    bool have = token_open_slot(r->tctx, si, &tok, &te) == TOKEN_OK &&
                token_read_public_keys(tok, &keys, &te) == TOKEN_OK;
    int rc = refuse_token(r, si, have ? &keys : NULL, why);

    token_key_list_free(&keys);
    token_close(tok);
    return rc;
}

static bool slot_wanted(const lc_run *r, const token_slot_info *si)
{
    return usable(si) && (r->job->token.serial == NULL ||
                           strcmp(si->serial, r->job->token.serial) == 0);
}

/* Several unbound tokens: the one holding the certificate's key. */
static int choose_by_key(lc_run *r, const token_slot_list *list)
{
    token_err te = { 0 };
    int rc;

    if (r->job->order_state != LC_ORDER_CERTIFICATE_READY)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "ambiguous_token",
                       "several tokens are plugged in");
    if ((rc = lc_ensure_chain(r)) != 0)
        return rc;
    for (size_t i = 0; i < list->count; i++) {
        token_key_list keys = { 0 };
        token *tok = NULL;
        bool match;

        if (!usable(&list->items[i]) || token_open_slot(r->tctx, &list->items[i], &tok, &te))
            continue;
        match = token_read_public_keys(tok, &keys, &te) == TOKEN_OK &&
                token_key_for_cert(&keys, r->chain->leaf) != NULL;
        token_key_list_free(&keys);
        if (match) {
            r->tok = tok;
            return 0;
        }
        token_close(tok);
    }
    return lc_fail(r->err, QSCD_EXIT_TOKEN, "wrong_token",
                   "none of the plugged-in tokens holds the key of order %s's certificate; "
                   "nothing was written and no PIN was asked for", r->job->order_id);
}

/*
 * Choose among the present tokens: the bound serial; else the only one;
 * else the one whose public keys hold the certificate's key.  0 with
 * r->tok NULL: none present.
 */
static int choose_token(lc_run *r)
{
    token_slot_list list = { 0 };
    token_err te = { 0 };
    const token_slot_info *pick = NULL, *other = NULL;
    size_t n_present = 0;
    int rc = 0;

    if (r->set->token_uri != NULL) {
        token_code tc = token_open(r->tctx, r->set->token_uri, &r->tok, &te);

        if (tc == TOKEN_ERR_ABSENT || tc == TOKEN_ERR_NOT_FOUND)
            return 0;
        if (tc != TOKEN_OK)
            return lc_fail_token(r->err, &te, "token URI");
        if (!slot_wanted(r, token_get_info(r->tok)))
            return refuse_slot(r, token_get_info(r->tok),
                               "the job is bound to another token's serial");
        return 0;
    }
    if (token_enumerate(r->tctx, &list, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "listing tokens");
    for (size_t i = 0; i < list.count; i++) {
        if (!usable(&list.items[i]))
            continue;
        n_present++;
        if (slot_wanted(r, &list.items[i]) && pick == NULL)
            pick = &list.items[i];
        else if (other == NULL)
            other = &list.items[i];
    }
    if (r->job->token.serial == NULL && n_present > 1)
        rc = choose_by_key(r, &list);
    else if (pick != NULL && token_open_slot(r->tctx, pick, &r->tok, &te) != TOKEN_OK)
        rc = lc_fail_token(r->err, &te, "opening the token");
    else if (pick == NULL && other != NULL)
        rc = refuse_slot(r, other, "the job is bound to another token's serial");
    token_slot_list_free(&list);
    return rc;
}

static void waiting_for(const lc_run *r, char *buf, size_t len)
{
    if (r->job->token.serial != NULL)
        snprintf(buf, len, "token \"%s\" (serial %s)",
                 r->job->token.label ? r->job->token.label : "?", r->job->token.serial);
    else
        snprintf(buf, len, "the token shipped for order %s", r->job->order_id);
}

static int reopen_ctx(lc_run *r)
{
    token_err te = { 0 };

    token_close(r->tok);
    r->tok = NULL;
    token_ctx_close(r->tctx);
    /* A fresh load: a long-running OpenSC does not learn of inserted cards. */
    r->tctx = token_ctx_open(r->set->module, &te);
    if (r->tctx == NULL)
        return lc_fail_token(r->err, &te, "loading the PKCS#11 modules");
    if (token_ctx_prefer(r->tctx, r->set->module_preference, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "choosing among the PKCS#11 modules");
    return 0;
}

/* One look for the job's token (modules loaded afresh); a wait for a
 * token event when it is not there and --wait was given. */
int lc_act_wait_token(lc_run *r)
{
    char what[160];
    int rc;

    if ((rc = reopen_ctx(r)) != 0 || (rc = choose_token(r)) != 0)
        return rc;
    if (r->tok == NULL) {
        waiting_for(r, what, sizeof(what));
        if (!r->opts->wait || (r->opts->timeout_s > 0 && lc_waited(r) > r->opts->timeout_s))
            return lc_fail(r->err, QSCD_EXIT_NOT_READY, "token_absent",
                           "waiting for the token: plug in %s", what);
        return lc_wait_token(r, LC_TOKEN_WAIT_MS / 1000.0, "waiting for the token",
                             "waiting for %s to be plugged in", what);
    }
    lc_set_device(r, LC_DEV_TOKEN_PRESENT);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    say_token(r, "present");
    return 0;
}

static void bind_token(lc_run *r)
{
    const token_slot_info *si = token_get_info(r->tok);
    journal_token *t = &r->job->token;

    journal_set(&t->serial, si->serial);
    journal_set(&t->manufacturer, si->manufacturer);
    journal_set(&t->model, si->model);
    journal_set(&t->label, si->label);
    journal_set(&t->uri, si->uri);
}

/* A token bound to another job is never taken, whatever its keys. */
static int check_not_taken(lc_run *r)
{
    char owner[256];

    belongs_to(r, token_get_info(r->tok)->serial, NULL, owner, sizeof(owner));
    if (owner[0] == '\0')
        return 0;
    return refuse_token(r, token_get_info(r->tok), NULL, "it is bound to another job");
}

int lc_act_identity(lc_run *r)
{
    token_key_list keys = { 0 };
    token_err te = { 0 };
    bool readable = false;
    int rc;

    if ((rc = check_not_taken(r)) != 0 || (rc = lc_ensure_chain(r)) != 0)
        return rc;
    if (token_read_public_keys(r->tok, &keys, &te) != TOKEN_OK) {
        rc = lc_fail_token(r->err, &te, "reading the token's public keys");
        goto out;
    }
    for (size_t i = 0; i < keys.count; i++)
        readable = readable || keys.items[i].pub != NULL;
    if (readable && token_key_for_cert(&keys, r->chain->leaf) == NULL) {
        rc = refuse_token(r, token_get_info(r->tok), &keys,
                          "none of its public keys is the certificate's key");
        goto out;
    }
    /* Nothing to compare before a login: only when a person named the token
     * (its URI: it is bound by its serial) or the key; the key is checked
     * against the certificate after the login either way. */
    if (!readable && r->opts->key_id_hex == NULL && r->set->token_uri == NULL) {
        rc = refuse_token(r, token_get_info(r->tok), &keys,
                          "it shows no public key without a login, so it cannot be checked "
                          "before a PIN is spent");
        snprintf(r->err->code, sizeof(r->err->code), "keys_hidden");
        goto out;
    }
    bind_token(r);
    if ((rc = lc_commit(r)) != 0)
        goto out;
    if (readable)
        say_token(r, "holds the key of the certificate: bound to this job");
    else
        say_token(r, "shows no public key before login, so it cannot be checked before a PIN "
                  "is spent: bound by its serial as the operator chose it; the key is checked "
                  "after login");
out:
    token_key_list_free(&keys);
    return rc;
}

int lc_act_bind(lc_run *r)
{
    int rc;

    if ((rc = check_not_taken(r)) != 0)
        return rc;
    bind_token(r);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    say_token(r, "bound to this job for a new key");
    return 0;
}

/* A prompt is answered with the default signal dispositions; a stop asked
 * while the PIN was read (a file, a pipe) spends no try. */
bool lc_pin_around_read(void *arg, bool before, const pin_login_result *res)
{
    char what[400];

    if (before) {
        if (res->earlier.present) {
            pin_refusal_describe(&res->earlier, what, sizeof(what));
            lc_warn(arg, "%s; make sure of the PIN", what);
        }
        if (res->kind == PIN_SOURCE_PROMPT)
            lc_signals_pause();
        return true;
    }
    lc_signals_resume();
    return !lc_stop_asked();
}

static int login_failed(lc_run *r, pin_login_code rc, const pin_login_result *res,
                        const token_err *te)
{
    char what[768];

    switch (rc) {
    case PIN_LOGIN_SOURCE:
        return lc_fail(r->err, QSCD_EXIT_USAGE, "pin_source", "%s", res->message);
    case PIN_LOGIN_STOPPED:
        return lc_stopped(r, "checking the token");
    case PIN_LOGIN_REFUSED_BEFORE:
        pin_refusal_describe_rule(&res->earlier, what, sizeof(what));
        lc_fail(r->err, QSCD_EXIT_TOKEN, "pin_refused_before", "%s", what);
        r->err->needs_user = true;
        return QSCD_EXIT_TOKEN;
    default:
        break;
    }
    lc_fail_token(r->err, te, "logging in");
    if (res->recorded) {
        size_t n = strlen(r->err->message);

        snprintf(r->err->code, sizeof(r->err->code), "%s",
                 res->verdict == TOKEN_LOGIN_UNKNOWN ? "pin_outcome_unknown" : "pin_refused");
        snprintf(r->err->message + n, sizeof(r->err->message) - n, "; recorded: no PIN from a "
                 "file, a descriptor or the environment is sent to this token again "
                 "automatically");
        r->err->needs_user = true;
    }
    return r->err->exit_code;
}

int lc_act_unlock(lc_run *r)
{
    token_err te = { 0 };
    char prompt[200];
    pin_login_result res;
    pin_login_req req = {
        .store = r->st, .spec = r->set->pin_source, .option = "PIN source",
        .prompt = prompt, .retry = r->opts->retry_pin, .around_read = lc_pin_around_read,
        .arg = r, .flags = r->opts->allow_final_try ? TOKEN_LOGIN_ALLOW_FINAL_TRY : 0,
    };
    pin_login_code pc;
    int rc;

    if (!token_logged_in(r->tok)) {
        if (token_pin_state_get(r->tok) == TOKEN_PIN_COUNT_LOW)
            lc_warn(r, "%s: a wrong PIN was entered before; make sure of the PIN",
                     token_name(r->tok));
        snprintf(prompt, sizeof(prompt), "PIN for %s (order %s): ", token_name(r->tok),
                 r->job->order_id);
        secret_free(r->pin);
        r->pin = NULL;
        pc = pin_login(r->tok, &req, &r->pin, &res, &te);
        if (res.record_problem[0] != '\0')
            lc_warn(r, "%s", res.record_problem);
        if (pc != PIN_LOGIN_OK)
            return login_failed(r, pc, &res, &te);
    }
    lc_set_device(r, LC_DEV_UNLOCKED);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    say_token(r, "logged in");
    return 0;
}
