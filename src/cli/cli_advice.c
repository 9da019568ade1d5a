/*
 * The one table of advice that names the CLI's options (cli_advice_int.h).
 */
#include "cli.h"
#include "cli_advice_int.h"
#include "cli_pin_int.h"

#include <string.h>

static const struct {
    const char *code;
    const char *advice;
} table[] = {
    /* the token layer */
    { "pin_final_try", "Make sure of the PIN, then run again with --allow-final-try" },
    { "module", "Name the token's PKCS#11 module with --module PATH (QSCD_PKCS11_MODULE), "
                "or install OpenSC (opensc-pkcs11) so that p11-kit registers one" },
    { "ambiguous", "Choose a token with --token URI, or a key with --key-id or --key-label "
                   "(see `qscd-agent token list`)" },
    { "ambiguous_token", "Choose one with --token URI (see `qscd-agent token list`)" },
    { "keys_hidden", "Name the token with --token URI (its serial; see `qscd-agent token "
                     "list`) or the key with --key-id to go on" },
    { "token_absent", "Run again when it is plugged in, or with --wait" },
    /* the order client */
    { "auth", "Check --api-key-file / QSCD_API_KEY and the key's permissions" },
    { "tls", "If the API is reached through a test server or an inspecting proxy, give its CA "
             "with --ca-file (QSCD_CA_FILE)" },
    { "no_api_key", "Give --api-key-file FILE (mode 0600), set QSCD_API_KEY_FILE, or set "
                    "QSCD_API_KEY" },
    /* the core: waiting, profile */
    { "order_not_approved", "Run again later, or with --wait" },
    { "certificate_not_issued", "Run again later, or with --wait" },
    { "profile", "--relax CHECK,... accepts named deviations (qscd-agent(1))" },
    { "no_trust_anchors", "Give --trust-anchors FILE (QSCD_TRUST_ANCHORS, config key "
                          "trust-anchors, default " CLI_DEFAULT_TRUST_ANCHORS " when present): "
                          "a PEM file of the qualified roots you accept for the seal (the "
                          "issuing CA's root, e.g. from the PKIoverheid or DigiCert EU "
                          "repository, its fingerprint checked; qscd-agent(1))" },
    { "untrusted_chain", "Check --trust-anchors: the certificate must chain to one of its "
                         "roots; a chain that leads elsewhere is not installed" },
    /* the core: order submit */
    { "submit_unconfirmed", "Check CertCentral, then re-run `qscd-agent order submit "
                            "REQUEST.json --confirm-resubmit` to send it again (an order "
                            "costs money)" },
    { "submit_ambiguous", "Run `qscd-agent provision ORDER_ID` with the one it stored" },
};

const char *cli_advice_for(const char *code)
{
    if (code == NULL)
        return NULL;
    if (strcmp(code, "pin_refused_before") == 0 || strcmp(code, "pin_refused") == 0 ||
        strcmp(code, "pin_outcome_unknown") == 0)
        return cli_pin_retry_advice;
    if (strncmp(code, "sign_pin_", 9) == 0)
        return "Make sure of the signature PIN, then sign once with --sign-pin-source prompt "
               "(a login that succeeds clears the record), or run the command again with "
               "--retry-pin to send the signature PIN from this source once more";
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(code, table[i].code) == 0)
            return table[i].advice;
    return NULL;
}
