/*
 * The CLI's reporter for the job core: progress lines and the waiting
 * status line on stderr, warnings as the CLI's warnings.
 */
#include "term_text.h"
#include "cli_report_int.h"

#include "exit_codes.h"

#include <stdio.h>
#include <string.h>

void cli_settings_from(const cli_config *cfg, lifecycle_settings *set)
{
    memset(set, 0, sizeof(*set));
    set->state_dir = cfg->state_dir;
    set->state_db = cfg->state_db;
    set->api_url = cfg->api_url;
    set->api_key_file = cfg->api_key_file;
    set->ca_file = cfg->ca_file;
    set->trust_anchors = cfg->trust_anchors;
    set->module = cfg->module;
    set->token_uri = cfg->token_uri;
    set->pin_source = cfg->pin_source;
    set->module_preference = cfg->module_preference;
    set->sign_pin_source = cfg->sign_pin_source;
    set->verbose = cfg->verbose;
}

int cli_store_open(const cli_config *cfg, store **out)
{
    lifecycle_settings set;
    journal_err je = { 0 };

    *out = NULL;
    cli_settings_from(cfg, &set);
    if (set.state_dir == NULL && set.state_db == NULL)
        return 0;
    if (lifecycle_store_open(&set, out, &je) == JOURNAL_OK)
        return 0;
    cli_error("%s", je.message);
    return je.code == JOURNAL_ERR_IO ? QSCD_EXIT_NOT_READY : QSCD_EXIT_USAGE;
}

static void on_line(void *ctx, const char *prefix, const char *text)
{
    cli_progress *p = ctx;

    if (p->quiet)
        return;
    char sp[512], st[4096];

    cli_progress_end(p);
    fprintf(stderr, "%s %s\n", term_text_escape(prefix, false, sp, sizeof(sp)),
            term_text_escape(text, true, st, sizeof(st)));
}

static void on_waiting(void *ctx, const char *prefix, const char *state, double waited_s,
                       double next_s)
{
    cli_progress *p = ctx;

    term_text_escape(prefix, false, p->prefix, sizeof(p->prefix));
    cli_progress_wait(p, state, waited_s, next_s);
}

static void on_resumed(void *ctx)
{
    cli_progress_end(ctx);
}

static void on_warning(void *ctx, const char *text)
{
    cli_progress_end(ctx);
    cli_warn("%s", text);
}

void cli_reporter_init(lifecycle_reporter *rep, cli_progress *p, const cli_config *cfg)
{
    cli_progress_init(p, cfg, NULL);
    memset(rep, 0, sizeof(*rep));
    rep->ctx = p;
    rep->line = on_line;
    rep->waiting = on_waiting;
    rep->resumed = on_resumed;
    rep->warning = on_warning;
}
