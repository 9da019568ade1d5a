/*
 * qscd-agent: provision qualified electronic seal tokens.
 * Entry point: harden the process, read the configuration, dispatch.
 */
#include "cli.h"
#include "exit_codes.h"
#include "http.h"
#include "secret.h"
#include "state_trust.h"

#include <locale.h>
#include <signal.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(const cli_config *cfg, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "order",     cli_order,     "order submit|status|wait|fetch: the CertCentral side" },
    { "token",     cli_token,     "token list|check|change-pin|generate-key|csr|install|wait: the PKCS#11 side" },
    { "provision", cli_provision, "provision ORDER_ID: the whole lifecycle, resumable" },
    { "status",    cli_status,    "status [ORDER_ID]: readiness of every job" },
    { "watch",     cli_watch,     "watch: provision jobs as their tokens are plugged in" },
    { "db",        cli_db,        "db init|migrate|status|import: a fleet's shared state database" },
};

void cli_usage(FILE *out)
{
    fputs("usage: qscd-agent [global options] COMMAND [arguments]\n\n"
          "commands:\n", out);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nglobal options (each also an environment variable and a config setting):\n"
          "  --config FILE        settings file (default " CLI_DEFAULT_CONFIG ")\n"
          "  --api-url URL        QSCD_API_URL, https only\n"
          "  --api-key-file F     QSCD_API_KEY_FILE (or QSCD_API_KEY); mode 0600\n"
          "  --ca-file F          QSCD_CA_FILE, extra TLS trust anchors\n"
          "  --trust-anchors F    QSCD_TRUST_ANCHORS, roots an issued certificate must chain to\n"
          "  --state-dir D        QSCD_STATE_DIR, job journal and audit log\n"
          "  --state-db URI       QSCD_STATE_DB, postgresql:// URI of a fleet's shared state\n"
          "  --module PATH        QSCD_PKCS11_MODULE, one PKCS#11 module\n"
          "  --token URI          QSCD_TOKEN, RFC 7512 pkcs11: URI\n"
          "  --pin-source S       QSCD_PIN_SOURCE: prompt, file:PATH, fd:N, env:VAR, pinpad\n"
          "  --sign-pin-source S  QSCD_SIGN_PIN_SOURCE, the signature PIN (default: the PIN)\n"
          "  --so-pin-source S    QSCD_SO_PIN_SOURCE, the SO PIN / PUK (token unblock-pin)\n"
          "  --module-preference P QSCD_MODULE_PREFERENCE, which module shows a token\n"
          "  --signature-check yes|no  QSCD_SIGNATURE_CHECK, the test signature after install\n"
          "  --json               machine-readable output on stdout\n"
          "  -v, --verbose        more detail (secrets are always redacted)\n"
          "  -q, --quiet          no progress messages\n"
          "\nexit codes: 0 ok/ready, 1 not ready yet, 2 usage or invalid input,\n"
          "3 CertCentral error, 4 token error, 5 verification failed, 6 order rejected,\n"
          "7 needs attention (status: an alert)\n"
          "\nSee qscd-agent(1).\n", out);
}

int main(int argc, char **argv)
{
    cli_config cfg;
    int rc;

    secret_harden_process();
    /* A reader that went away (a closed pipe, a dropped connection) is an
     * error to report, never a silent death halfway through a commit. */
    signal(SIGPIPE, SIG_IGN);
    setlocale(LC_ALL, "");
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        cli_usage(stdout);
        return QSCD_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        puts("qscd-agent " QSCD_VERSION);
        return QSCD_EXIT_OK;
    }
    rc = cli_config_load(&cfg, &argc, argv);
    if (rc != 0) {
        cli_config_free(&cfg);
        return rc;
    }
    if (argc < 2) {
        cli_usage(stderr);
        cli_config_free(&cfg);
        return QSCD_EXIT_USAGE;
    }
    char why[1024];
    /* With a fleet's database the jobs are not in the state directory. */
    if (cfg.state_db == NULL && state_dir_trusted(cfg.state_dir, why, sizeof(why)) != 0) {
        cli_error("%s", why);
        cli_config_free(&cfg);
        return QSCD_EXIT_USAGE;
    }
    rc = -1;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            rc = commands[i].run(&cfg, argc - 1, argv + 1);
            break;
        }
    }
    if (rc < 0) {
        cli_error("unknown command \"%s\"; see qscd-agent --help", argv[1]);
        rc = QSCD_EXIT_USAGE;
    }
    http_library_release();
    cli_config_free(&cfg);
    return rc;
}
