/*
 * The steps every token command shares: open, log in, report errors.
 */
#include "cli_token_int.h"

#include "exit_codes.h"
#include "cli_advice_int.h"
#include "cli_pin_int.h"
#include "cli_report_int.h"
#include "lifecycle_exit.h"
#include "pin_refusal.h"

#include <stdio.h>
#include <string.h>

int cli_token_exit(token_code code)
{
    return lifecycle_exit_for_token(code);
}

int cli_token_fail(const token_err *err)
{
    const char *advice = cli_advice_for(token_code_name(err->code));

    cli_error("%s%s%s", err->message[0] ? err->message : token_code_name(err->code),
              advice ? ".  " : "", advice ? advice : "");
    return cli_token_exit(err->code);
}

int cli_token_open(const cli_config *cfg, token_ctx **ctx, token **tok)
{
    token_err err;

    *tok = NULL;
    *ctx = token_ctx_open(cfg->module, &err);
    if (*ctx == NULL)
        return cli_token_fail(&err);
    if (token_ctx_prefer(*ctx, cfg->module_preference, &err) != TOKEN_OK ||
        token_open(*ctx, cfg->token_uri, tok, &err) != TOKEN_OK) {
        token_ctx_close(*ctx);
        *ctx = NULL;
        return cli_token_fail(&err);
    }
    if (cfg->verbose)
        cli_info(cfg, "using %s, module %s, slot %lu, %s", token_name(*tok),
                 token_get_info(*tok)->module, (unsigned long)token_get_info(*tok)->slot_id,
                 token_get_info(*tok)->uri);
    return QSCD_EXIT_OK;
}

typedef struct login_ctx {
    const cli_config *cfg;
    const token      *tok;
} login_ctx;

/* The keypad: say so just before the token waits for it. */
static bool say_keypad(void *arg, bool before, const pin_login_result *res)
{
    const login_ctx *lc = arg;

    if (before)
        cli_pin_warn_earlier(res);
    if (!before && res->kind == PIN_SOURCE_PINPAD)
        cli_info(lc->cfg, "enter the PIN on the reader's keypad for %s", token_name(lc->tok));
    return true;
}

int cli_token_login(const cli_config *cfg, token *tok, unsigned flags, secret **pin)
{
    char prompt[160];
    pin_login_result res;
    token_err err;
    login_ctx lc = { cfg, tok };
    pin_login_req req = {
        .store = NULL, .spec = cfg->pin_source, .option = "PIN source",
        .prompt = prompt, .flags = flags & ~CLI_LOGIN_RETRY_PIN,
        .retry = (flags & CLI_LOGIN_RETRY_PIN) != 0, .around_read = say_keypad,
        .arg = &lc,
    };
    pin_login_code rc;
    int sc;

    if (token_pin_state_get(tok) == TOKEN_PIN_COUNT_LOW)
        cli_warn("%s: a wrong PIN was entered before; make sure of the PIN", token_name(tok));
    snprintf(prompt, sizeof(prompt), "PIN for %s: ", token_name(tok));
    if ((sc = cli_store_open(cfg, &req.store)) != 0)
        return sc;   /* the refusal records cannot be read: nothing is sent */
    rc = pin_login(tok, &req, pin, &res, &err);
    store_close(req.store);
    return cli_pin_login_outcome(rc, &res, &err, "PIN", NULL);
}

int cli_pin_login_outcome(int rc, const pin_login_result *res, const token_err *err,
                          const char *what, const char *final_try_advice)
{
    char msg[1536];

    if (res->record_problem[0] != '\0')
        cli_warn("%s", res->record_problem);
    switch (rc) {
    case PIN_LOGIN_OK:
        return QSCD_EXIT_OK;
    case PIN_LOGIN_REFUSED_BEFORE:
        cli_pin_refused_before(res, msg, sizeof(msg));
        cli_error("%s", msg);
        return QSCD_EXIT_TOKEN;
    case PIN_LOGIN_TOKEN: {
        int ec = cli_token_fail(err);

        if (final_try_advice != NULL &&
            (err->code == TOKEN_ERR_PIN_FINAL_TRY || err->code == TOKEN_ERR_PIN_LOCKED))
            cli_error("%s", final_try_advice);
        if (res->recorded)
            cli_error("the refusal is recorded: no %s from a file, a descriptor or the "
                      "environment is sent to this token again automatically.  %s",
                      what, cli_pin_retry_advice);
        return ec;
    }
    default:
        cli_error("%s", res->message);
        return QSCD_EXIT_USAGE;
    }
}

int cli_token_login_opt(const char *arg, unsigned *flags)
{
    if (strcmp(arg, "--allow-final-try") == 0)
        *flags |= TOKEN_LOGIN_ALLOW_FINAL_TRY;
    else if (strcmp(arg, "--retry-pin") == 0)
        *flags |= CLI_LOGIN_RETRY_PIN;
    else
        return 0;
    return 1;
}

int cli_token_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_error("%s: needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_token_key_selector(const char *hex, unsigned char *id, size_t cap, size_t *id_len)
{
    *id_len = 0;
    if (hex == NULL)
        return QSCD_EXIT_OK;
    if (!token_unhex(hex, id, cap, id_len)) {
        cli_error("--key-id: must be the key's CKA_ID in hex, e.g. 0a1b2c (got \"%s\")", hex);
        return QSCD_EXIT_USAGE;
    }
    return QSCD_EXIT_OK;
}
