/*
 * qscd-agent token ...: the PKCS#11 side on its own.  One verb per file
 * (src/cli_token_*.c); this one dispatches.
 */
#include "cli_token_int.h"

#include "exit_codes.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(const cli_config *cfg, int argc, char **argv);
    const char *usage;
} verbs[] = {
    { "list", cli_token_list, "list [--json]" },
    { "check", cli_token_check, "check [--key-id HEX|--key-label L]" },
    { "change-pin", cli_token_change_pin, "change-pin --new-pin-source S [--allow-final-try]" },
    { "generate-key", cli_token_generate_key,
      "generate-key [--key-type rsa:3072|rsa:2048|rsa:4096|ec:P-256|ec:P-384] [--label L] "
      "[--allow-final-try]" },
    { "csr", cli_token_csr, "csr --subject /C=NL/O=.../CN=... [--key-id HEX|--key-label L] "
      "[-o FILE] [--allow-final-try]" },
    { "install", cli_token_install, "install CERT.pem [--chain CHAIN.pem] [--key-id HEX|"
      "--key-label L] [--relax CHECK,...] [--allow-final-try]" },
    { "wait", cli_token_wait, "wait [--present|--absent] [--timeout T]" },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *out)
{
    fputs("usage: qscd-agent [global options] token VERB [options]\n", out);
    for (size_t i = 0; i < N_VERBS; i++)
        fprintf(out, "  token %s\n", verbs[i].usage);
    fputs("The token is chosen with --token URI (RFC 7512) or is the only one present;\n"
          "modules come from p11-kit, or --module PATH.  See docs/tokens.md.\n", out);
}

int cli_token(const cli_config *cfg, int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return QSCD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return QSCD_EXIT_OK;
    }
    for (size_t i = 0; i < N_VERBS; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(cfg, argc - 1, argv + 1);
    cli_error("token: unknown verb \"%s\"", argv[1]);
    usage(stderr);
    return QSCD_EXIT_USAGE;
}
