/*
 * token unblock-pin: the helpdesk's most common call.  Log in as the
 * security officer with the PUK / admin PIN that came with the token
 * (--so-pin-source, QSCD_SO_PIN_SOURCE, config so-pin-source) and set a new
 * user PIN with C_InitPIN (from --new-pin-source, as token change-pin);
 * the keys and certificates stay.  The SO PIN is the last line of defence
 * (a few wrong ones lock an eToken 5110 for good): never sent twice
 * automatically (its own refusal record), and a token that reports the SO
 * PIN at its final try or locked is refused before anything is read,
 * unless --allow-so-final-try says so.  The token is never initialised.
 */
#include "cli_token_int.h"
#include "cli_help_int.h"
#include "cli_pin_int.h"
#include "cli_report_int.h"

#include "exit_codes.h"
#include "pin_refusal.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: qscd-agent [global options] token unblock-pin --new-pin-source S\n"
    "                  [--allow-so-final-try] [--retry-pin]\n"
    "  Unblock a locked (or forgotten) user PIN: log in as the security officer\n"
    "  with the PUK / admin PIN from --so-pin-source (QSCD_SO_PIN_SOURCE, config\n"
    "  so-pin-source) and set a new user PIN from S.  Keys and certificates stay.\n"
    "  --new-pin-source S   prompt, file:PATH, fd:N or env:VAR\n"
    "  --allow-so-final-try go on though the token reports one SO PIN try left\n"
    "                       (or the SO PIN locked): a wrong one may lock it for good\n"
    "  --retry-pin          send an SO PIN from file:, fd: or env: that this token\n"
    "                       refused before once more\n"
    "  -h, --help           this text\n";

static int so_login(const cli_config *cfg, token *tok, unsigned flags, secret **so_pin)
{
    char prompt[160];
    pin_login_result res;
    token_err err;
    pin_login_req req = {
        .store = NULL, .kind = PIN_KIND_SO, .spec = cfg->so_pin_source,
        .option = "--so-pin-source", .prompt = prompt,
        .flags = flags & TOKEN_LOGIN_ALLOW_FINAL_TRY,
        .retry = (flags & CLI_LOGIN_RETRY_PIN) != 0,
    };
    pin_login_code rc;
    int sc;

    snprintf(prompt, sizeof(prompt), "security officer PIN (PUK) for %s: ", token_name(tok));
    if ((sc = cli_store_open(cfg, &req.store)) != 0)
        return sc;   /* the refusal records cannot be read: nothing is sent */
    rc = pin_so_login(tok, &req, so_pin, &res, &err);
    store_close(req.store);
    return cli_pin_login_outcome(rc, &res, &err, "security officer PIN",
                                 "nothing was sent.  Make sure of the PUK, then run again with "
                                 "--allow-so-final-try; or ask the token's issuer");
}

/* Before any PIN is read: what the token says a try would cost. */
static int refuse_so_state(token *tok, unsigned flags)
{
    token_so_pin_state s = token_so_pin_state_get(tok);

    if (flags & TOKEN_LOGIN_ALLOW_FINAL_TRY)
        return QSCD_EXIT_OK;
    if (s != TOKEN_SO_PIN_FINAL_TRY && s != TOKEN_SO_PIN_LOCKED)
        return QSCD_EXIT_OK;
    cli_error("%s reports the security officer PIN (PUK) %s; nothing was read or sent.  "
              "Make sure of the PUK, then run again with --allow-so-final-try; a wrong one "
              "may lock the token for good", token_name(tok),
              s == TOKEN_SO_PIN_LOCKED ? "locked" : "at its final try");
    return QSCD_EXIT_TOKEN;
}

static int parse(int argc, char **argv, const char **new_spec, unsigned *flags)
{
    for (int i = 1; i < argc; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(usage), CLI_HELP_SHOWN;
        r = cli_token_opt(argc, argv, &i, "--new-pin-source", new_spec);
        if (r == 0 && strcmp(argv[i], "--allow-so-final-try") == 0) {
            *flags |= TOKEN_LOGIN_ALLOW_FINAL_TRY;
            r = 1;
        }
        if (r == 0 && strcmp(argv[i], "--retry-pin") == 0) {
            *flags |= CLI_LOGIN_RETRY_PIN;
            r = 1;
        }
        if (r == 0)
            cli_error("token unblock-pin: unknown option \"%s\"", argv[i]);
        if (r <= 0)
            return cli_help_bad(usage);
    }
    if (*new_spec == NULL) {
        cli_error("token unblock-pin: --new-pin-source is required (prompt, file:PATH, fd:N "
                  "or env:VAR)");
        return cli_help_bad(usage);
    }
    return QSCD_EXIT_OK;
}

int cli_token_unblock_pin(const cli_config *cfg, int argc, char **argv)
{
    const char *new_spec = NULL;
    unsigned flags = 0;
    token_ctx *ctx = NULL;
    token *tok = NULL;
    secret *so_pin = NULL, *new_pin = NULL;
    token_err err;
    int rc = parse(argc, argv, &new_spec, &flags);

    if (rc == CLI_HELP_SHOWN)
        return QSCD_EXIT_OK;
    if (rc == QSCD_EXIT_OK && cfg->so_pin_source == NULL) {
        cli_error("token unblock-pin: the security officer PIN's source is required: "
                  "--so-pin-source S (QSCD_SO_PIN_SOURCE, config so-pin-source)");
        rc = QSCD_EXIT_USAGE;
    }
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_open(cfg, &ctx, &tok);
    if (rc == QSCD_EXIT_OK)
        rc = refuse_so_state(tok, flags);
    if (rc == QSCD_EXIT_OK)
        rc = cli_new_pin_read(new_spec, "new user PIN: ",
                              "C_InitPIN takes the new PIN from here", &new_pin);
    if (rc == QSCD_EXIT_OK)
        rc = so_login(cfg, tok, flags, &so_pin);
    if (rc == QSCD_EXIT_OK && token_init_pin(tok, new_pin, &err) != TOKEN_OK)
        rc = cli_token_fail(&err);
    if (rc == QSCD_EXIT_OK)
        cli_info(cfg, "%s: user PIN unblocked and set anew; keys and certificates kept",
                 token_name(tok));
    secret_free(so_pin);
    secret_free(new_pin);
    token_close(tok);
    token_ctx_close(ctx);
    return rc;
}
