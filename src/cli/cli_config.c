/*
 * Global options: defaults < config file < environment < command line.
 */
#include "cli.h"
#include "cli_advice_int.h"
#include "exit_codes.h"
#include "term_text.h"
#include "x509.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct option_def {
    const char *name;    /* long option and config-file key */
    const char *env;     /* environment variable, or NULL */
    size_t      offset;  /* char * field in cli_config */
};

#define FIELD(f) offsetof(cli_config, f)

static const struct option_def options[] = {
    { "api-url",      "QSCD_API_URL",       FIELD(api_url) },
    { "api-key-file", "QSCD_API_KEY_FILE",  FIELD(api_key_file) },
    { "ca-file",      "QSCD_CA_FILE",       FIELD(ca_file) },
    { "state-dir",    "QSCD_STATE_DIR",     FIELD(state_dir) },
    { "state-db",     "QSCD_STATE_DB",      FIELD(state_db) },
    { "module",       "QSCD_PKCS11_MODULE", FIELD(module) },
    { "token",        "QSCD_TOKEN",         FIELD(token_uri) },
    { "pin-source",   "QSCD_PIN_SOURCE",    FIELD(pin_source) },
    /* status's alert thresholds: set once for the desk, like the others */
    { "expiry-warn",  "QSCD_EXPIRY_WARN",   FIELD(expiry_warn) },
    { "stuck-after",  "QSCD_STUCK_AFTER",   FIELD(stuck_after) },
    { "trust-anchors", "QSCD_TRUST_ANCHORS", FIELD(trust_anchors) },
    { "module-preference", "QSCD_MODULE_PREFERENCE", FIELD(module_preference) },
    { "sign-pin-source",   "QSCD_SIGN_PIN_SOURCE",   FIELD(sign_pin_source) },
    { "so-pin-source",     "QSCD_SO_PIN_SOURCE",     FIELD(so_pin_source) },
    { "signature-check",   "QSCD_SIGNATURE_CHECK",   FIELD(signature_check) },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static char **field(cli_config *cfg, const struct option_def *o)
{
    return (char **)((char *)cfg + o->offset);
}

static int set_field(cli_config *cfg, const struct option_def *o, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL) {
        cli_error("out of memory");
        return QSCD_EXIT_USAGE;
    }
    free(*field(cfg, o));
    *field(cfg, o) = copy;
    return 0;
}

static const struct option_def *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

/* Every message for a person: formatted, then its control characters
 * (from a token label, a reader, a server reply) made visible. */
static void say(FILE *f, const char *lead, const char *fmt, va_list ap, const char *end)
{
    char *msg = NULL, *safe = NULL;
    int n = vasprintf(&msg, fmt, ap);

    /* An escape is at most 6 bytes for 1: room for the worst case. */
    if (n >= 0 && (safe = malloc(6 * (size_t)n + 1)) != NULL)
        fprintf(f, "%s%s%s", lead, term_text_escape(msg, true, safe, 6 * (size_t)n + 1), end);
    else
        fprintf(f, "%s(out of memory)%s", lead, end);
    free(safe);
    free(msg);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say(stderr, "qscd-agent: error: ", fmt, ap, "\n");
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say(stderr, "qscd-agent: warning: ", fmt, ap, "\n");
    va_end(ap);
}

void cli_info(const cli_config *cfg, const char *fmt, ...)
{
    va_list ap;

    if (cfg != NULL && cfg->quiet)
        return;
    va_start(ap, fmt);
    say(stderr, "", fmt, ap, "\n");
    va_end(ap);
}

void cli_out(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say(stdout, "", fmt, ap, "");
    va_end(ap);
}

char *cli_default_state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char *out = NULL;

    if (geteuid() == 0)
        return strdup("/var/lib/qscd-agent");
    if (xdg != NULL && *xdg == '/') {
        if (asprintf(&out, "%s/qscd-agent", xdg) < 0)
            return NULL;
    } else if (home != NULL && *home == '/') {
        if (asprintf(&out, "%s/.local/state/qscd-agent", home) < 0)
            return NULL;
    }
    return out;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int load_file(cli_config *cfg, const char *path, bool must_exist)
{
    FILE *f = fopen(path, "re");
    int rc;

    if (f == NULL) {
        if (!must_exist && errno == ENOENT)
            return 0;
        cli_error("config file %s: %s", path, strerror(errno));
        return QSCD_EXIT_USAGE;
    }
    rc = cli_config_read(cfg, f, path);
    fclose(f);
    return rc;
}

/* "key = value" lines, '#' comments; keys are the long option names. */
int cli_config_read(cli_config *cfg, FILE *f, const char *path)
{
    char line[4096];
    int lineno = 0, rc = 0;

    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char *s = trim(line), *eq, *key, *value;
        const struct option_def *o;

        lineno++;
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            cli_error("config file %s, line %d: expected \"key = value\"", path, lineno);
            rc = QSCD_EXIT_USAGE;
            break;
        }
        *eq = '\0';
        key = trim(s);
        value = trim(eq + 1);
        o = find_option(key, strlen(key));
        if (o == NULL) {
            cli_error("config file %s, line %d: unknown setting \"%s\"", path, lineno, key);
            rc = QSCD_EXIT_USAGE;
            break;
        }
        rc = set_field(cfg, o, value);
    }
    return rc;
}

static void remove_arg(int *argc, char **argv, int i, int n)
{
    memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof(char *));
    *argc -= n;
}

/* The config file must be known before anything else is read. */
static int find_config_arg(cli_config *cfg, int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= *argc) {
                cli_error("--config: needs a file name");
                return QSCD_EXIT_USAGE;
            }
            free(cfg->config_file);
            cfg->config_file = strdup(argv[i + 1]);
            remove_arg(argc, argv, i, 2);
            return cfg->config_file ? 0 : QSCD_EXIT_USAGE;
        }
        if (strncmp(argv[i], "--config=", 9) == 0) {
            free(cfg->config_file);
            cfg->config_file = strdup(argv[i] + 9);
            remove_arg(argc, argv, i, 1);
            return cfg->config_file ? 0 : QSCD_EXIT_USAGE;
        }
    }
    return 0;
}

static int parse_globals(cli_config *cfg, int *argc, char **argv)
{
    int i = 1, rc;

    while (i < *argc) {
        const char *a = argv[i];
        const struct option_def *o;
        const char *eq;

        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "--json") == 0) {
            cfg->json = true;
            remove_arg(argc, argv, i, 1);
            continue;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cfg->verbose++;
            remove_arg(argc, argv, i, 1);
            continue;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cfg->quiet = true;
            remove_arg(argc, argv, i, 1);
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            i++;
            continue;
        }
        eq = strchr(a + 2, '=');
        o = find_option(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
        if (o == NULL) {
            i++;            /* a command's own option */
            continue;
        }
        if (eq != NULL) {
            rc = set_field(cfg, o, eq + 1);
            remove_arg(argc, argv, i, 1);
        } else if (i + 1 < *argc) {
            rc = set_field(cfg, o, argv[i + 1]);
            remove_arg(argc, argv, i, 2);
        } else {
            cli_error("--%s: needs a value", o->name);
            return QSCD_EXIT_USAGE;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * Test builds only (-DQSCD_TEST_HOOKS): QSCD_TEST_DEFAULT_CONFIG stands in
 * for /etc/qscd-agent/qscd-agent.conf, so that a test of "no config file"
 * does not depend on what the machine has in /etc.
 */
static const char *default_config(void)
{
#ifdef QSCD_TEST_HOOKS
    const char *t = getenv("QSCD_TEST_DEFAULT_CONFIG");

    if (t != NULL && *t != '\0')
        return t;
#endif
    return CLI_DEFAULT_CONFIG;
}

int cli_config_load(cli_config *cfg, int *argc, char **argv)
{
    const char *env;
    bool explicit_config;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    cfg->api_url = strdup(CLI_DEFAULT_API_URL);
    rc = find_config_arg(cfg, argc, argv);
    if (rc != 0)
        return rc;
    explicit_config = cfg->config_file != NULL;
    if (!explicit_config && (env = getenv("QSCD_CONFIG")) != NULL && *env != '\0') {
        cfg->config_file = strdup(env);
        explicit_config = true;
    }
    if (cfg->config_file == NULL)
        cfg->config_file = strdup(default_config());
    cfg->config_given = explicit_config;
    rc = load_file(cfg, cfg->config_file, explicit_config);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        env = options[i].env ? getenv(options[i].env) : NULL;
        if (env != NULL && *env != '\0' && (rc = set_field(cfg, &options[i], env)) != 0)
            return rc;
    }
    rc = parse_globals(cfg, argc, argv);
    if (rc != 0)
        return rc;
    if (cfg->state_dir == NULL)
        cfg->state_dir = cli_default_state_dir();
    /* The default only when the file is there: else installing refuses,
     * naming the setting (cli_trust_anchors_required). */
    if (cfg->trust_anchors == NULL && access(CLI_DEFAULT_TRUST_ANCHORS, F_OK) == 0)
        cfg->trust_anchors = strdup(CLI_DEFAULT_TRUST_ANCHORS);
    return 0;
}

int cli_trust_anchors_required(const cli_config *cfg)
{
    x509_anchors *a = NULL;
    x509_err xe = { 0 };

    if (cfg->trust_anchors == NULL) {
        cli_error("no trust anchors: a certificate is installed only when it chains to a "
                  "root you accept.  %s", cli_advice_for("no_trust_anchors"));
        return QSCD_EXIT_USAGE;
    }
    if (x509_anchors_load(cfg->trust_anchors, &a, &xe) != X509_OK) {
        cli_error("--trust-anchors: %s", xe.message);
        return QSCD_EXIT_USAGE;
    }
    x509_anchors_free(a);
    return 0;
}

void cli_config_free(cli_config *cfg)
{
    free(cfg->config_file);
    for (size_t i = 0; i < N_OPTIONS; i++)
        free(*field(cfg, &options[i]));
    memset(cfg, 0, sizeof(*cfg));
}
