/*
 * The steps every token command shares: open, log in, report errors.
 */
#include "cli_token_int.h"

#include "exit_codes.h"
#include "lifecycle_exit.h"
#include "pin_source.h"

#include <stdio.h>
#include <string.h>

int cli_token_exit(token_code code)
{
    return lifecycle_exit_for_token(code);
}

int cli_token_fail(const token_err *err)
{
    cli_error("%s", err->message[0] ? err->message : token_code_name(err->code));
    return cli_token_exit(err->code);
}

int cli_token_open(const cli_config *cfg, token_ctx **ctx, token **tok)
{
    token_err err;

    *tok = NULL;
    *ctx = token_ctx_open(cfg->module, &err);
    if (*ctx == NULL)
        return cli_token_fail(&err);
    if (token_open(*ctx, cfg->token_uri, tok, &err) != TOKEN_OK) {
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

int cli_token_login(const cli_config *cfg, token *tok, unsigned flags, secret **pin)
{
    pin_source src;
    char msg[512], prompt[160];
    token_err err;
    const char *spec = cfg->pin_source;

    *pin = NULL;
    if (spec == NULL && token_has_pinpad(tok))
        spec = "pinpad";
    if (!pin_source_parse(spec, "--pin-source", &src, msg, sizeof(msg))) {
        cli_error("%s", msg);
        return QSCD_EXIT_USAGE;
    }
    if (token_pin_state_get(tok) == TOKEN_PIN_COUNT_LOW)
        cli_warn("%s: a wrong PIN was entered before; make sure of the PIN", token_name(tok));
    snprintf(prompt, sizeof(prompt), "PIN for %s: ", token_name(tok));
    if (!pin_source_read(&src, prompt, pin, msg, sizeof(msg))) {
        pin_source_clear(&src);
        cli_error("%s", msg);
        return QSCD_EXIT_USAGE;
    }
    if (src.kind == PIN_SOURCE_PINPAD)
        cli_info(cfg, "enter the PIN on the reader's keypad for %s", token_name(tok));
    pin_source_clear(&src);
    if (token_login(tok, *pin, flags, &err) != TOKEN_OK) {
        secret_free(*pin);
        *pin = NULL;
        return cli_token_fail(&err);
    }
    return QSCD_EXIT_OK;
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
