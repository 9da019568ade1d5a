/*
 * Shared by the src/cli_token*.c files: the token commands' common steps
 * (open the token the global options name, log in with the PIN source,
 * map token errors to exit codes) and their option parsing.
 */
#ifndef QSCD_CLI_TOKEN_INT_H
#define QSCD_CLI_TOKEN_INT_H

#include "cli.h"
#include "secret.h"
#include "token.h"

/* Exit code for a token error code (exit_codes.h). */
int  cli_token_exit(token_code code);
/* Print the error and return its exit code. */
int  cli_token_fail(const token_err *err);

/* Open the modules (--module) and the token (--token); exit code on failure. */
int  cli_token_open(const cli_config *cfg, token_ctx **ctx, token **tok);

/* With the token_login_flags: send a PIN source refused before once more. */
#define CLI_LOGIN_RETRY_PIN (1u << 16)

/*
 * Read the PIN from cfg->pin_source and log in under the refused-PIN rule
 * (pin_login); warns when the counter is low.  flags: token_login_flags and
 * CLI_LOGIN_RETRY_PIN.  *pin is kept for the session (context-specific
 * logins) and freed by the caller with secret_free.  Returns an exit code.
 */
int  cli_token_login(const cli_config *cfg, token *tok, unsigned flags, secret **pin);
/*
 * What a login under the refused-PIN rule came to, said once for every kind
 * of PIN: the exit code, with the record's problem, an earlier refusal, the
 * token's error and whether this refusal is now recorded.  what: "PIN",
 * "security officer PIN"; final_try_advice (may be NULL): said when the
 * token stopped the try at its final one or locked.
 */
struct pin_login_result;
/*
 * The new PIN of change-pin and unblock-pin, from --new-pin-source SPEC,
 * asked with prompt.  no_pinpad (may be NULL): why a pinpad cannot give it
 * here, said when SPEC is pinpad.
 */
int  cli_new_pin_read(const char *spec, const char *prompt, const char *no_pinpad, secret **out);
int  cli_pin_login_outcome(int rc, const struct pin_login_result *res, const token_err *err,
                           const char *what, const char *final_try_advice);
/* --allow-final-try / --retry-pin into flags: 1 when arg is one, else 0. */
int  cli_token_login_opt(const char *arg, unsigned *flags);

/*
 * Option parsing: argv[*i] is "--name VALUE" or "--name=VALUE".  Returns 1
 * and sets *value (advancing *i) when it matches, 0 when it is another
 * option, -1 (after printing) when the value is missing.
 */
int  cli_token_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* --key-id HEX / --key-label L into a selector; returns an exit code. */
int  cli_token_key_selector(const char *hex, unsigned char *id, size_t cap, size_t *id_len);

/* One-line subject (RFC 2253) and not-after (ISO 8601 UTC) for output. */
void cli_cert_subject(X509 *x, char *buf, size_t len);
void cli_cert_not_after(X509 *x, char *buf, size_t len);

/* cli_token_sign.c: the signature PIN's request from the options (*own:
 * a source of its own, else the user PIN's), the test signature after an
 * install.  The signature-check setting is in cli_args_int.h. */
struct pin_login_req;
struct lifecycle_err;
int  cli_sign_pin_req(const cli_config *cfg, const token *tok, unsigned flags,
                      struct pin_login_req *req, char *prompt, size_t len, bool *own);
int  cli_sign_failed(const struct lifecycle_err *err);
int  cli_token_test_signature(const cli_config *cfg, token *tok, const token_key *key,
                              X509 *cert, unsigned flags);

/* The commands. */
int cli_token_list(const cli_config *cfg, int argc, char **argv);
int cli_token_check(const cli_config *cfg, int argc, char **argv);
int cli_token_change_pin(const cli_config *cfg, int argc, char **argv);
int cli_token_unblock_pin(const cli_config *cfg, int argc, char **argv);
int cli_token_generate_key(const cli_config *cfg, int argc, char **argv);
int cli_token_csr(const cli_config *cfg, int argc, char **argv);
int cli_token_install(const cli_config *cfg, int argc, char **argv);
int cli_token_wait(const cli_config *cfg, int argc, char **argv);

#endif
