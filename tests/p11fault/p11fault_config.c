/*
 * p11fault_config.c — the configuration: QSCD_P11FAULT_* environment
 * variables, then the file named by QSCD_P11FAULT_CONFIG (KEY=VALUE lines
 * with the same names; the file wins, since it is what a test changes
 * between C_Finalize and C_Initialize).  Read at every C_Initialize.
 *
 * Anything unknown or malformed is an error naming the variable: a typo in a
 * test's fault spec must fail the test, not silently inject nothing.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11fault.h"

#define P11F_PREFIX "QSCD_P11FAULT_"

extern char **environ;

typedef int (*p11f_setter)(p11f_config *cfg, const char *value, char *err, size_t errlen);

static const char *const p11f_names[] = {
#define X_FORWARD(fn, cls, params, args) #fn,
#define X_SPECIAL(fn, cls, params, args) #fn,
    P11F_FUNCTIONS
#undef X_FORWARD
#undef X_SPECIAL
};

static bool known_function(const char *name)
{
    size_t i;

    if (strcmp(name, "*") == 0)
        return true;
    for (i = 0; i < sizeof p11f_names / sizeof p11f_names[0]; i++)
        if (strcmp(p11f_names[i], name) == 0)
            return true;
    return false;
}

static int parse_ulong(const char *s, unsigned long *out)
{
    char *end;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

/* This module's own file name: two copies of it registered as two modules
 * (a vendor's and OpenSC's, in front of one token) log apart with %m. */
static const char *own_file_name(void)
{
    Dl_info info;
    const char *slash;

    if (dladdr((void *)own_file_name, &info) == 0 || info.dli_fname == NULL)
        return "p11fault";
    slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

/* A path; "%m" in it is this module's file name (see above). */
static int set_path(char *dst, const char *value, const char *key, char *err, size_t errlen)
{
    const char *m = strstr(value, "%m");
    char path[PATH_MAX];

    if (m != NULL && snprintf(path, sizeof path, "%.*s%s%s", (int)(m - value), value,
                              own_file_name(), m + 2) < (int)sizeof path)
        value = path;
    if (value[0] == '\0' || strlen(value) >= PATH_MAX || strstr(value, "%m") != NULL) {
        snprintf(err, errlen, P11F_PREFIX "%s: must be a non-empty path", key);
        return -1;
    }
    strcpy(dst, value);
    return 0;
}

static int set_module(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_path(cfg->module, v, "MODULE", err, errlen); }

static int set_state(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_path(cfg->state, v, "STATE", err, errlen); }

static int set_log(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_path(cfg->log, v, "LOG", err, errlen); }

static int set_pin_tries(p11f_config *cfg, const char *v, char *err, size_t errlen)
{
    if (parse_ulong(v, &cfg->pin_tries) != 0 || cfg->pin_tries > 100) {
        snprintf(err, errlen, P11F_PREFIX "PIN_TRIES: must be 0..100 (got \"%s\")", v);
        return -1;
    }
    return 0;
}

static int parse_bool(const char *v, bool *out, const char *key, char *err, size_t errlen)
{
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !v[0]) {
        *out = false;
        return 0;
    }
    snprintf(err, errlen, P11F_PREFIX "%s: must be 1 or 0 (got \"%s\")", key, v);
    return -1;
}

static int set_pinpad(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return parse_bool(v, &cfg->pinpad, "PINPAD", err, errlen); }

static int set_remove_persist(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return parse_bool(v, &cfg->remove_persist, "REMOVE_PERSIST", err, errlen); }

static int set_removed(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return parse_bool(v, &cfg->removed, "REMOVED", err, errlen); }

/* The PIN itself never goes into an error message. */
static int set_pin_expired(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return parse_bool(v, &cfg->pin_expired, "PIN_EXPIRED", err, errlen); }

static int set_pinpad_pin(p11f_config *cfg, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);

    if (len >= sizeof cfg->pinpad_pin) {
        snprintf(err, errlen, P11F_PREFIX "PINPAD_PIN: longer than %zu bytes",
                 sizeof cfg->pinpad_pin - 1);
        return -1;
    }
    memcpy(cfg->pinpad_pin, v, len + 1);
    cfg->pinpad_pin_len = len;
    return 0;
}

/* One "C_Name:K" or "C_Name:K+" item, already cut out of its list. */
static int parse_spec(p11f_spec *s, char *item)
{
    char *colon = strrchr(item, ':');
    size_t len;

    if (colon == NULL)
        return -1;
    *colon = '\0';
    len = strlen(colon + 1);
    s->onward = len > 0 && colon[len] == '+';
    if (s->onward)
        colon[len] = '\0';
    if (parse_ulong(colon + 1, &s->k) != 0 || s->k == 0)
        return -1;
    if (!known_function(item) || strlen(item) >= sizeof s->name)
        return -1;
    strcpy(s->name, item);
    s->seen = 0;
    return 0;
}

static int set_specs(p11f_spec_list *list, const char *v, const char *key,
                     char *err, size_t errlen)
{
    char buf[1024], *item, *save = NULL;

    list->n = 0;
    if (strlen(v) >= sizeof buf) {
        snprintf(err, errlen, P11F_PREFIX "%s: too long", key);
        return -1;
    }
    strcpy(buf, v);
    for (item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        char shown[64];

        snprintf(shown, sizeof shown, "%s", item);
        if (list->n == P11F_MAX_SPECS || parse_spec(&list->specs[list->n], item) != 0) {
            snprintf(err, errlen, P11F_PREFIX "%s: \"%s\" is not C_Name:K or C_Name:K+ "
                     "(a PKCS#11 function or *, K >= 1, at most %d items)",
                     key, shown, P11F_MAX_SPECS);
            return -1;
        }
        list->n++;
    }
    return 0;
}

static int set_remove_at(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_specs(&cfg->remove_at, v, "REMOVE_AT", err, errlen); }

static int set_remove_after(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_specs(&cfg->remove_after, v, "REMOVE_AFTER", err, errlen); }

static int set_device_error(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_specs(&cfg->device_error, v, "DEVICE_ERROR_AT", err, errlen); }

static int set_general_error(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return set_specs(&cfg->general_error, v, "GENERAL_ERROR_AT", err, errlen); }

/* "MS" for every call, "C_Name:MS" for one function; comma-separated. */
static int set_latency(p11f_config *cfg, const char *v, char *err, size_t errlen)
{
    char buf[1024], *item, *save = NULL;

    cfg->n_latency = 0;
    if (strlen(v) >= sizeof buf)
        goto bad;
    strcpy(buf, v);
    for (item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        p11f_latency *l = &cfg->latency[cfg->n_latency];
        char *colon = strchr(item, ':');
        const char *ms = item;

        if (cfg->n_latency == P11F_MAX_SPECS)
            goto bad;
        l->name[0] = '\0';
        if (colon != NULL) {
            *colon = '\0';
            ms = colon + 1;
            if (strcmp(item, "*") == 0 || !known_function(item) ||
                strlen(item) >= sizeof l->name)
                goto bad;
            strcpy(l->name, item);
        }
        if (parse_ulong(ms, &l->ms) != 0 || l->ms > 600000)
            goto bad;
        cfg->n_latency++;
    }
    return 0;
bad:
    snprintf(err, errlen, P11F_PREFIX "LATENCY_MS: expected MS or C_Name:MS items "
             "(0..600000 ms, at most %d)", P11F_MAX_SPECS);
    return -1;
}

static int set_profile(p11f_config *cfg, const char *v, char *err, size_t errlen)
{ return p11f_quirks_parse(cfg, v, err, errlen); }

/* The PIN itself never goes into an error message. */
static int set_sign_pin(p11f_config *cfg, const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);

    if (len >= sizeof cfg->sign_pin) {
        snprintf(err, errlen, P11F_PREFIX "SIGN_PIN: longer than %zu bytes",
                 sizeof cfg->sign_pin - 1);
        return -1;
    }
    memcpy(cfg->sign_pin, v, len + 1);
    cfg->sign_pin_len = len;
    return 0;
}

static int ignore_key(p11f_config *cfg, const char *v, char *err, size_t errlen)
{
    (void)cfg; (void)v; (void)err; (void)errlen;
    return 0;
}

static const struct {
    const char *key;
    p11f_setter set;
} p11f_keys[] = {
    { "MODULE", set_module },         { "STATE", set_state },
    { "LOG", set_log },               { "PIN_TRIES", set_pin_tries },
    { "PINPAD", set_pinpad },         { "PINPAD_PIN", set_pinpad_pin },
    { "PIN_EXPIRED", set_pin_expired },
    { "REMOVE_AT", set_remove_at },   { "REMOVE_AFTER", set_remove_after },
    { "REMOVE_PERSIST", set_remove_persist }, { "REMOVED", set_removed },
    { "DEVICE_ERROR_AT", set_device_error },  { "LATENCY_MS", set_latency },
    { "GENERAL_ERROR_AT", set_general_error },
    { "PROFILE", set_profile },       { "SIGN_PIN", set_sign_pin },
    { "CONFIG", ignore_key },
};

/* key is the full name, QSCD_P11FAULT_ included. */
static int config_set(p11f_config *cfg, const char *key, size_t keylen,
                      const char *value, char *err, size_t errlen)
{
    const size_t plen = sizeof P11F_PREFIX - 1;
    size_t i;

    for (i = 0; i < sizeof p11f_keys / sizeof p11f_keys[0]; i++) {
        const char *k = p11f_keys[i].key;

        if (keylen == plen + strlen(k) && strncmp(key + plen, k, keylen - plen) == 0)
            return p11f_keys[i].set(cfg, value, err, errlen);
    }
    snprintf(err, errlen, "unknown setting %.*s (see tests/p11fault/README.md)",
             (int)keylen, key);
    return -1;
}

static int config_from_env(p11f_config *cfg, char *err, size_t errlen)
{
    char **e;

    for (e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');

        if (eq == NULL || strncmp(*e, P11F_PREFIX, sizeof P11F_PREFIX - 1) != 0)
            continue;
        if (config_set(cfg, *e, (size_t)(eq - *e), eq + 1, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Handles one line of the config file; the line is wiped by the caller. */
static int config_line(p11f_config *cfg, char *line, char *err, size_t errlen)
{
    char *eq, *key = line;
    size_t len = strlen(line);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    while (isspace((unsigned char)*key))
        key++;
    if (*key == '\0' || *key == '#')
        return 0;
    eq = strchr(key, '=');
    if (eq == NULL || strncmp(key, P11F_PREFIX, sizeof P11F_PREFIX - 1) != 0) {
        snprintf(err, errlen, "expected " P11F_PREFIX "NAME=VALUE");
        return -1;
    }
    return config_set(cfg, key, (size_t)(eq - key), eq + 1, err, errlen);
}

static int config_from_file(p11f_config *cfg, const char *path, char *err, size_t errlen)
{
    char *line = NULL, msg[384];
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    FILE *f = fopen(path, "re");

    if (f == NULL) {
        snprintf(err, errlen, P11F_PREFIX "CONFIG %s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        rc = config_line(cfg, line, msg, sizeof msg);
        explicit_bzero(line, cap);
    }
    if (rc != 0)
        snprintf(err, errlen, "%s line %u: %s", path, lineno, msg);
    free(line);
    fclose(f);
    return rc;
}

int p11f_config_load(p11f_config *cfg, char *err, size_t errlen)
{
    const char *file = getenv(P11F_PREFIX "CONFIG");

    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->module, P11F_DEFAULT_MODULE);
    if (config_from_env(cfg, err, errlen) != 0)
        return -1;
    if (file != NULL && file[0] != '\0')
        return config_from_file(cfg, file, err, errlen);
    return 0;
}

void p11f_config_wipe(p11f_config *cfg)
{
    explicit_bzero(cfg, sizeof *cfg);
}
