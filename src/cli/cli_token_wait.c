/*
 * token wait: return when a token appears (--present, the default) or goes
 * (--absent).  It only reports the event: PKCS#11 work for a card that was
 * just inserted belongs in a fresh process (see pkcs11/token_events.c).
 */
#include "cli_token_int.h"
#include "cli_help_int.h"

#include "exit_codes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "30", "30s", "500ms", "5m", "1h" -> milliseconds; -1 when malformed. */
static long parse_timeout(const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno != 0 || v < 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        ;
    else if (*end == '\0' || strcmp(end, "s") == 0)
        v *= 1000;
    else if (strcmp(end, "m") == 0)
        v *= 60000;
    else if (strcmp(end, "h") == 0)
        v *= 3600000;
    else
        return -1;
    return v > 2147483647.0 ? 2147483647L : (long)v;
}

static const char usage[] =
    "usage: qscd-agent [global options] token wait [--present|--absent] [--timeout T]\n"
    "  Wait until a token (the one --token names, if given) is present or absent.\n"
    "  It only reports the event and needs no PIN.\n"
    "  --present    wait for a token to appear (the default)\n"
    "  --absent     wait for it to go\n"
    "  --timeout T  give up after T with exit 1 (seconds, or 30s, 500ms, 5m)\n"
    "  -h, --help   this text\n";

int cli_token_wait(const cli_config *cfg, int argc, char **argv)
{
    bool present = true;
    const char *t = NULL;
    long timeout = -1;
    token_ctx *ctx;
    token_event ev;
    token_err err;

    for (int i = 1; i < argc; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(usage);
        r = cli_token_opt(argc, argv, &i, "--timeout", &t);

        if (r == 0 && (strcmp(argv[i], "--present") == 0 || strcmp(argv[i], "--absent") == 0)) {
            present = strcmp(argv[i], "--present") == 0;
            r = 1;
        }
        if (r == 0)
            cli_error("token wait: unknown option \"%s\"", argv[i]);
        if (r <= 0)
            return cli_help_bad(usage);
    }
    if (t != NULL && (timeout = parse_timeout(t)) < 0) {
        cli_error("--timeout: must be a duration such as 30, 30s, 500ms, 5m (got \"%s\")", t);
        return QSCD_EXIT_USAGE;
    }
    ctx = token_ctx_open(cfg->module, &err);
    if (ctx == NULL)
        return cli_token_fail(&err);
    if (token_ctx_prefer(ctx, cfg->module_preference, &err) != TOKEN_OK ||
        token_wait_event(ctx, cfg->token_uri, present, (int)timeout, &ev, &err) != TOKEN_OK) {
        token_ctx_close(ctx);
        return cli_token_fail(&err);
    }
    if (cfg->json)
        printf("{\"present\":%s,\"source\":\"%s\",\"pcsc\":%s}\n", ev.present ? "true" : "false",
               ev.source, ev.from_pcsc ? "true" : "false");
    else
        cli_out("%s: %s%s\n", ev.present ? "present" : "absent", ev.source,
               ev.from_pcsc ? " (card inserted)" : "");
    fflush(stdout);
    token_ctx_close(ctx);
    return QSCD_EXIT_OK;
}
