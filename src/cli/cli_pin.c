/*
 * The refused-PIN rule in words (src/cli_pin_int.h): only the CLI names
 * the options that let a person go on.
 */
#include "cli_pin_int.h"

#include <stdio.h>
#include <string.h>

const char cli_pin_retry_advice[] =
    "Make sure of the PIN, then log in once with --pin-source prompt or --pin-source pinpad "
    "(a login that succeeds clears the record), or run the command again with --retry-pin to "
    "send the PIN from this source once more";

void cli_pin_warn_earlier(const pin_login_result *res)
{
    char what[400];

    if (res->earlier.present) {
        pin_refusal_describe(&res->earlier, what, sizeof(what));
        cli_warn("%s; make sure of the PIN", what);
    }
}

void cli_pin_refused_before(const pin_login_result *res, char *buf, size_t len)
{
    char what[600];

    pin_refusal_describe_rule(&res->earlier, what, sizeof(what));
    snprintf(buf, len, "%s.  %s", what, cli_pin_retry_advice);
}
