/*
 * The command-line face of the agent: global options (design.md, "Command-line
 * contract") and one entry point per command.  Each command lives in its own
 * src/cli_*.c file and returns an exit code from exit_codes.h.
 */
#ifndef QSCD_CLI_H
#define QSCD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define CLI_DEFAULT_API_URL "https://certcentral.digicert.eu/services/v2"
#define CLI_DEFAULT_CONFIG  "/etc/qscd-agent/qscd-agent.conf"
#ifndef QSCD_SYSCONFDIR
#define QSCD_SYSCONFDIR "/etc"
#endif
/* Used when trust-anchors is not set and this file exists. */
#define CLI_DEFAULT_TRUST_ANCHORS QSCD_SYSCONFDIR "/qscd-agent/trust-anchors.pem"

/*
 * Global settings, resolved in this order (later wins): built-in defaults,
 * config file, environment, command line.  Strings are owned by the struct.
 * No secret is ever stored here: only where to find it.
 */
typedef struct cli_config {
    char *config_file;    /* the one read (the default path when none was named) */
    bool  config_given;   /* named by --config or QSCD_CONFIG, so it must exist */
    char *api_url;        /* QSCD_API_URL */
    char *api_key_file;   /* QSCD_API_KEY_FILE (QSCD_API_KEY read at use) */
    char *ca_file;        /* QSCD_CA_FILE */
    char *state_dir;      /* QSCD_STATE_DIR */
    char *state_db;       /* QSCD_STATE_DB: a fleet's shared store instead (docs/fleet.md) */
    char *module;         /* QSCD_PKCS11_MODULE */
    char *token_uri;      /* QSCD_TOKEN */
    char *pin_source;     /* QSCD_PIN_SOURCE */
    char *expiry_warn;    /* QSCD_EXPIRY_WARN: status alert, days (readiness issue) */
    char *stuck_after;    /* QSCD_STUCK_AFTER: status alert, days */
    char *trust_anchors;  /* QSCD_TRUST_ANCHORS, else CLI_DEFAULT_TRUST_ANCHORS if present */
    char *module_preference; /* QSCD_MODULE_PREFERENCE: which module shows a token */
    char *sign_pin_source;   /* QSCD_SIGN_PIN_SOURCE: context-specific logins */
    char *so_pin_source;     /* QSCD_SO_PIN_SOURCE: token unblock-pin */
    char *signature_check;   /* QSCD_SIGNATURE_CHECK: "no" skips the test signature */
    bool  json;           /* --json */
    int   verbose;        /* -v, repeatable */
    bool  quiet;          /* -q */
} cli_config;

/*
 * Load the configuration: defaults, then the config file (an explicit
 * --config that cannot be read is an error; the default path may be
 * missing), then the environment, then the global options found in argv.
 * Global options are removed from argv; *argc is updated.  Returns 0, or an
 * exit code after printing the problem.
 */
int  cli_config_load(cli_config *cfg, int *argc, char **argv);
void cli_config_free(cli_config *cfg);
/* The settings in an open config file (path names it in messages); 0 or an
 * exit code after printing the problem.  Used by cli_config_load; public
 * for the fuzzer (tests/fuzz/fuzz-config.c). */
int  cli_config_read(cli_config *cfg, FILE *f, const char *path);

/*
 * Commands that install a certificate call this first: 0 when trust
 * anchors are set, else the problem printed (naming the setting and what
 * to put there) and exit 2, before any PIN try or token write.
 */
int cli_trust_anchors_required(const cli_config *cfg);

/* Default state dir: /var/lib/qscd-agent for root, else $XDG_STATE_HOME/qscd-agent. */
char *cli_default_state_dir(void);

/* Messages for a person go to stderr; with --json, results go to stdout. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_info(const cli_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Human (not JSON) output on stdout, its control characters made visible
 * (term_text.h): token labels and server strings are not ours. */
void cli_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands.  argv[0] is the command word (e.g. "submit" for "order submit"). */
int cli_order(const cli_config *cfg, int argc, char **argv);
int cli_token(const cli_config *cfg, int argc, char **argv);
int cli_provision(const cli_config *cfg, int argc, char **argv);
int cli_status(const cli_config *cfg, int argc, char **argv);
int cli_watch(const cli_config *cfg, int argc, char **argv);
int cli_db(const cli_config *cfg, int argc, char **argv);

void cli_usage(FILE *out);

#endif
