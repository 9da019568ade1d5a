/*
 * Signatures the token commands make: the signature PIN for keys with
 * CKA_ALWAYS_AUTHENTICATE (--sign-pin-source, QSCD_SIGN_PIN_SOURCE, config
 * sign-pin-source; default the PIN source), and the test signature after
 * `token install` (the core's rule, include/test_signature.h).
 */
#include "cli_token_int.h"
#include "cli_advice_int.h"
#include "cli_report_int.h"
#include "cli_args_int.h"

#include "exit_codes.h"
#include "test_signature.h"

#include <stdio.h>
#include <string.h>

int cli_sign_pin_req(const cli_config *cfg, const token *tok, unsigned flags,
                     pin_login_req *req, char *prompt, size_t len, bool *own)
{
    snprintf(prompt, len, "signature PIN for %s: ", token_name(tok));
    memset(req, 0, sizeof(*req));
    req->kind = PIN_KIND_SIGN;
    req->spec = cfg->sign_pin_source ? cfg->sign_pin_source : cfg->pin_source;
    req->option = cfg->sign_pin_source ? "--sign-pin-source" : "--pin-source";
    req->prompt = prompt;
    req->retry = (flags & CLI_LOGIN_RETRY_PIN) != 0;
    *own = cfg->sign_pin_source != NULL;
    /* The signature PIN's refusal record is in the store, like the user PIN's. */
    return cli_store_open(cfg, &req->store);
}

int cli_sign_failed(const lifecycle_err *err)
{
    const char *advice = cli_advice_for(err->code);

    if (advice != NULL)
        cli_error("%s.  %s", err->message, advice);
    else
        cli_error("%s", err->message);
    return err->exit_code;
}

bool cli_test_signature_off(const cli_config *cfg)
{
    const char *v = cfg->signature_check;

    return v != NULL && (strcmp(v, "no") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0 ||
                         strcmp(v, "false") == 0);
}

int cli_test_signature_check(const cli_config *cfg)
{
    const char *v = cfg->signature_check;

    if (v == NULL || cli_test_signature_off(cfg) || strcmp(v, "yes") == 0 ||
        strcmp(v, "1") == 0 || strcmp(v, "on") == 0 || strcmp(v, "true") == 0)
        return QSCD_EXIT_OK;
    cli_error("signature-check (QSCD_SIGNATURE_CHECK): must be yes or no (got \"%s\")", v);
    return QSCD_EXIT_USAGE;
}

int cli_token_test_signature(const cli_config *cfg, token *tok, const token_key *key,
                             X509 *cert, unsigned flags)
{
    lifecycle_sig_check chk;
    lifecycle_err err;
    pin_login_req req;
    char prompt[160];
    bool own;
    int rc;

    if ((rc = cli_sign_pin_req(cfg, tok, flags, &req, prompt, sizeof(prompt), &own)) != 0)
        return rc;
    rc = lifecycle_test_signature(tok, key, cert, &req, own, &chk, &err);
    store_close(req.store);
    if (chk.sign_pin.record_problem[0] != '\0')
        cli_warn("%s", chk.sign_pin.record_problem);
    if (rc != 0)
        return cli_sign_failed(&err);
    cli_info(cfg, "%s: test signature (%s) made on the token, verified with the installed "
             "certificate", token_name(tok), x509_sig_alg_name(chk.alg));
    return QSCD_EXIT_OK;
}
