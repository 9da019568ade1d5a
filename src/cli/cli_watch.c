/*
 * qscd-agent watch: options in, the watcher's loop (src/watch_loop.c) run.
 */
#include "cli.h"
#include "cli_args_int.h"
#include "cli_help_int.h"
#include "cli_report_int.h"
#include "exit_codes.h"
#include "watch.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: qscd-agent [global options] watch [--assign-next] [--allow-final-try]\n"
    "                  [--poll-interval T] [--grace T] [--timeout T] [--max-tokens N]\n"
    "                  [--exit-when-idle]\n"
    "  Waits for tokens, finds each one's job before asking for a PIN (the key on the\n"
    "  token in the order's certificate, else the job bound to its serial, else with\n"
    "  --assign-next the oldest approved job waiting for a generated key, blank tokens\n"
    "  only) and provisions it in a worker process.  Tokens without a job are reported\n"
    "  and left untouched.  SIGINT/SIGTERM: stop workers safely, exit 0; SIGHUP:\n"
    "  re-read the configuration.\n"
    "  --assign-next      give blank tokens the oldest approved job waiting for a key\n"
    "  --allow-final-try  let workers log in when one PIN try is left; only with\n"
    "                     --pin-source prompt or pinpad (a person enters each PIN)\n"
    "  --poll-interval T  scan for tokens every T seconds (default 1)\n"
    "  --grace T          on shutdown, give workers T seconds to stop (default 30)\n"
    "  --timeout T        stop after T seconds\n"
    "  --max-tokens N     stop after N provisionings ended\n"
    "  --exit-when-idle   stop once every token present is handled (scripts, tests);\n"
    "                     the exit code is then the first failed worker's\n"
    "  -h, --help         this text\n";



static int parse_args(int argc, char **argv, watch_opts *o)
{
    int rc = 0;

    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--poll-interval") == 0 || strcmp(a, "--grace") == 0 ||
                     strcmp(a, "--timeout") == 0 || strcmp(a, "--max-tokens") == 0;

        if (cli_help_asked(a)) {
            cli_help_show(usage);
            return CLI_HELP_SHOWN;
        }
        if (takes && v == NULL) {
            cli_error("watch %s: needs a value", a);
            return cli_help_bad(usage);
        }
        if (strcmp(a, "--assign-next") == 0)
            o->assign_next = true;
        else if (strcmp(a, "--allow-final-try") == 0)
            o->allow_final_try = true;
        else if (strcmp(a, "--exit-when-idle") == 0)
            o->exit_when_idle = true;
        else if (strcmp(a, "--poll-interval") == 0)
            rc = cli_parse_duration(v, a, &o->poll_s), i++;
        else if (strcmp(a, "--grace") == 0)
            rc = cli_parse_duration(v, a, &o->grace_s), i++;
        else if (strcmp(a, "--timeout") == 0)
            rc = cli_parse_duration(v, a, &o->timeout_s), i++;
        else if (strcmp(a, "--max-tokens") == 0)
            rc = cli_parse_count(v, a, &o->max_tokens), i++;
        else {
            cli_error("watch: unknown option or argument \"%s\"", a);
            rc = cli_help_bad(usage);
        }
    }
    if (rc == 0 && o->poll_s < 0.1) {
        cli_error("--poll-interval: must be at least 0.1 s");
        rc = QSCD_EXIT_USAGE;
    }
    return rc;
}

/* The command line as started, for SIGHUP (the globals were taken out of ours). */
static char **saved_cmdline(int *argc)
{
    char *buf = NULL, **argv = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *f = fopen("/proc/self/cmdline", "re");
    int n = 0;

    *argc = 0;
    if (f == NULL)
        return NULL;
    len = getdelim(&buf, &cap, EOF, f);
    fclose(f);
    if (len <= 0)
        goto out;
    for (ssize_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    argv = calloc((size_t)n + 2, sizeof(*argv));
    if (argv == NULL)
        goto out;
    /* argv[n+1] keeps the buffer so that it can be freed with the array. */
    for (char *p = buf; p < buf + len && *argc < n; p += strlen(p) + 1)
        argv[(*argc)++] = p;
    argv[n + 1] = buf;
    return argv;
out:
    free(buf);
    return NULL;
}

static void watch_settings_from(const cli_config *cfg, watch_settings *set)
{
    memset(set, 0, sizeof(*set));
    cli_settings_from(cfg, &set->core);
    set->core.token_uri = NULL;   /* watch takes every token it sees */
    /* Only a file the user named: the default path may be missing, and as
     * a worker's explicit --config a missing file is an error. */
    set->config_file = cfg->config_given ? cfg->config_file : NULL;
    set->json = cfg->json;
    set->quiet = cfg->quiet;
}

/* SIGHUP: the configuration as a new start would read it. */
typedef struct reload_ctx {
    cli_config cfg;
    bool       loaded;
} reload_ctx;

static bool reload_settings(void *arg, watch_settings *out)
{
    reload_ctx *rc = arg;
    int argc;
    char **argv = saved_cmdline(&argc), *buf;
    bool ok;

    if (argv == NULL) {
        cli_error("SIGHUP: cannot read the command line");
        return false;
    }
    buf = argv[argc + 1];
    if (rc->loaded)
        cli_config_free(&rc->cfg);   /* the watcher copied what it kept */
    rc->loaded = false;
    ok = cli_config_load(&rc->cfg, &argc, argv) == 0;
    if (ok) {
        rc->loaded = true;
        watch_settings_from(&rc->cfg, out);
    } else {
        cli_config_free(&rc->cfg);
    }
    free(buf);
    free(argv);
    return ok;
}

int cli_watch(const cli_config *cfg, int argc, char **argv)
{
    watch_opts o = { .poll_s = 1.0, .grace_s = 30.0 };
    watch_settings set;
    reload_ctx rctx = { .loaded = false };
    watch_reload reload = { .fn = reload_settings, .ctx = &rctx };
    int rc = parse_args(argc, argv, &o);

    if (rc != 0)
        return rc == CLI_HELP_SHOWN ? QSCD_EXIT_OK : rc;
    if (cfg->state_dir == NULL) {
        cli_error("watch: no state directory: set --state-dir or QSCD_STATE_DIR");
        return QSCD_EXIT_USAGE;
    }
    if ((rc = cli_trust_anchors_required(cfg)) != 0)
        return rc;
    if (cfg->token_uri != NULL)
        cli_warn("watch: --token / QSCD_TOKEN is ignored: watch takes every token it sees");
    watch_settings_from(cfg, &set);
    rc = watch_run(&set, &o, &reload);
    if (rctx.loaded)
        cli_config_free(&rctx.cfg);
    return rc;
}
