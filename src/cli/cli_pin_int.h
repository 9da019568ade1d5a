/*
 * Private to the src/cli_*.c files: the words for the refused-PIN rule
 * (include/pin_refusal.h), which names the options a person uses to go on.
 */
#ifndef QSCD_CLI_PIN_INT_H
#define QSCD_CLI_PIN_INT_H

#include "cli.h"
#include "pin_refusal.h"

/* How to go on after a refusal: "Make sure of the PIN, then ...". */
extern const char cli_pin_retry_advice[];

/* Before a PIN is read: a warning naming an earlier refusal, if any. */
void cli_pin_warn_earlier(const pin_login_result *res);

/* "<the earlier refusal>; it is not sent again automatically. <advice>" */
void cli_pin_refused_before(const pin_login_result *res, char *buf, size_t len);

#endif
