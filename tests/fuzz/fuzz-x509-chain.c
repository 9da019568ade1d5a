/*
 * Fuzz target: the PEM chain parser as a download reaches it, then, for
 * what parses, the qualified-eSeal profile and link checks and the path
 * validation to a trust anchor (the simulator's root, tests/data/x509/
 * sim-root.pem).  A bundle is attacker-shaped by definition: no input may
 * crash, leak or hit undefined behaviour, and a verdict comes with a
 * message.
 */
#include "x509.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static x509_anchors *anchors;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    x509_err err;

    (void)argc, (void)argv;
    if (x509_anchors_load("tests/data/x509/sim-root.pem", &anchors, &err) != X509_OK) {
        fprintf(stderr, "fuzz-x509-chain: %s (run from the source tree)\n", err.message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    x509_chain *chain = NULL;
    x509_report rep;
    x509_err err;

    memset(&err, 0, sizeof err);
    if (x509_chain_parse_pem((const char *)data, size, &chain, &err) != X509_OK) {
        if (err.message[0] == '\0')
            abort();
        return 0;
    }
    x509_code rc = x509_check_profile(chain, (time_t)1795694400, 0, &rep, &err);
    if (rc != X509_OK && rep.count == 0 && err.message[0] == '\0')
        abort();
    x509_report_free(&rep);
    (void)x509_check_profile(chain, (time_t)1795694400, ~0u, &rep, &err);
    x509_report_free(&rep);
    memset(&err, 0, sizeof err);
    if (x509_chain_check_anchored(chain, anchors, (time_t)1795694400, 0, &err) != X509_OK &&
        err.message[0] == '\0')
        abort();
    char fp[65], *serial = x509_serial_hex(chain->leaf);
    x509_fingerprint_sha256(chain->leaf, fp);
    free(serial);
    x509_chain_free(chain);
    return 0;
}
