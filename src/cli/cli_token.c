/*
 * qscd-agent token ...: the PKCS#11 side on its own.  One verb per file
 * (src/cli_token_*.c); this one dispatches.
 */
#include "cli_token_int.h"
#include "cli_help_int.h"

#include "exit_codes.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(const cli_config *cfg, int argc, char **argv);
    const char *summary;
} verbs[] = {
    { "list", cli_token_list, "every token: URI, label, serial, PIN state, keys, certificates" },
    { "check", cli_token_check, "readiness of one token" },
    { "change-pin", cli_token_change_pin, "change the user PIN" },
    { "unblock-pin", cli_token_unblock_pin, "SO login + a new user PIN; keys kept" },
    { "generate-key", cli_token_generate_key, "a new key pair on a blank token" },
    { "csr", cli_token_csr, "a PKCS#10 request signed on the token" },
    { "install", cli_token_install, "install a certificate next to its key" },
    { "wait", cli_token_wait, "wait until a token is present or absent" },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static int usage(bool error)
{
    FILE *out = error ? stderr : stdout;

    fputs("usage: qscd-agent [global options] token VERB [options]\n", out);
    for (size_t i = 0; i < N_VERBS; i++)
        fprintf(out, "  %-13s %s\n", verbs[i].name, verbs[i].summary);
    fputs("  `qscd-agent token VERB --help` lists a verb's options.\n"
          "The token is chosen with --token URI (RFC 7512) or is the only one present;\n"
          "modules come from p11-kit, or --module PATH.  See docs/tokens.md.\n", out);
    return error ? QSCD_EXIT_USAGE : QSCD_EXIT_OK;
}

int cli_token(const cli_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage(true);
    if (strcmp(argv[1], "help") == 0 || cli_help_asked(argv[1]))
        return usage(false);
    for (size_t i = 0; i < N_VERBS; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(cfg, argc - 1, argv + 1);
    cli_error("token: unknown verb \"%s\"", argv[1]);
    return usage(true);
}
