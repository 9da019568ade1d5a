/*
 * What a person can do next, in words that name the command line's own
 * options: the lower layers (core, order client, token layer) report what
 * happened and an error code, and only the CLI words the advice (curl's
 * lib/ never names a curl option either).
 */
#ifndef QSCD_CLI_ADVICE_INT_H
#define QSCD_CLI_ADVICE_INT_H

/* The advice for an error code of the core, the order client or the token
 * layer (lifecycle_err.code, token_code_name()), or NULL when there is none. */
const char *cli_advice_for(const char *code);

#endif
