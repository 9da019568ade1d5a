/*
 * token change-pin: C_SetPIN with the old PIN from --pin-source and the new
 * one from --new-pin-source (same syntaxes).  Also the way out of a PIN
 * that must be changed (transport PIN, expired).
 */
#include "cli_token_int.h"
#include "cli_help_int.h"

#include "exit_codes.h"
#include "pin_source.h"

#include <stdio.h>
#include <string.h>

int cli_new_pin_read(const char *spec, const char *prompt, const char *no_pinpad, secret **out)
{
    pin_source src;
    char msg[512];
    bool ok;

    *out = NULL;
    if (!pin_source_parse(spec, "--new-pin-source", &src, msg, sizeof(msg))) {
        cli_error("%s", msg);
        return QSCD_EXIT_USAGE;
    }
    if (src.kind == PIN_SOURCE_PINPAD && no_pinpad != NULL) {
        pin_source_clear(&src);
        cli_error("--new-pin-source pinpad: %s", no_pinpad);
        return QSCD_EXIT_USAGE;
    }
    ok = pin_source_read(&src, prompt, out, msg, sizeof(msg));
    pin_source_clear(&src);
    if (!ok) {
        cli_error("new PIN: %s", msg);
        return QSCD_EXIT_USAGE;
    }
    return QSCD_EXIT_OK;
}

static int read_new_pin(const char *spec, token *tok, secret **out)
{
    char why[160];

    snprintf(why, sizeof(why), "%s has no PIN pad", token_name(tok));
    return cli_new_pin_read(spec, "new PIN: ", token_has_pinpad(tok) ? NULL : why, out);
}

static const char usage[] =
    "usage: qscd-agent [global options] token change-pin --new-pin-source S [--allow-final-try]\n"
    "                  [--retry-pin]\n"
    "  Change the user PIN: the current one from the PIN source (--pin-source),\n"
    "  the new one from S.  Also the way out of a transport or expired PIN.\n"
    "  --new-pin-source S  prompt, file:PATH, fd:N, env:VAR or pinpad\n"
    "  --allow-final-try   log in even when the token shows one PIN try left\n"
    "  --retry-pin         send a PIN from file:, fd: or env: that this token refused\n"
    "                      before once more\n"
    "  -h, --help          this text\n";

int cli_token_change_pin(const cli_config *cfg, int argc, char **argv)
{
    const char *new_spec = NULL;
    unsigned flags = TOKEN_LOGIN_ALLOW_EXPIRED;
    token_ctx *ctx = NULL;
    token *tok = NULL;
    secret *old_pin = NULL, *new_pin = NULL;
    token_err err;
    int rc = QSCD_EXIT_OK;

    for (int i = 1; i < argc && rc == QSCD_EXIT_OK; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(usage);
        r = cli_token_opt(argc, argv, &i, "--new-pin-source", &new_spec);

        if (r == 0)
            r = cli_token_login_opt(argv[i], &flags);
        if (r == 0)
            cli_error("token change-pin: unknown option \"%s\"", argv[i]);
        if (r <= 0)
            rc = cli_help_bad(usage);
    }
    if (rc == QSCD_EXIT_OK && new_spec == NULL && cfg->pin_source != NULL &&
        strcmp(cfg->pin_source, "pinpad") != 0) {
        cli_error("token change-pin: --new-pin-source is required (prompt, file:PATH, fd:N, "
                  "env:VAR or pinpad)");
        rc = QSCD_EXIT_USAGE;
    }
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_open(cfg, &ctx, &tok);
    if (rc == QSCD_EXIT_OK)
        rc = read_new_pin(new_spec ? new_spec : cfg->pin_source, tok, &new_pin);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_login(cfg, tok, flags, &old_pin);
    if (rc == QSCD_EXIT_OK && token_change_pin(tok, old_pin, new_pin, &err) != TOKEN_OK)
        rc = cli_token_fail(&err);
    if (rc == QSCD_EXIT_OK)
        cli_info(cfg, "%s: PIN changed", token_name(tok));
    secret_free(old_pin);
    secret_free(new_pin);
    token_close(tok);
    token_ctx_close(ctx);
    return rc;
}
