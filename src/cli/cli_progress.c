/*
 * Progress while waiting: a status line rewritten in place on a terminal,
 * a line per change of state elsewhere (see cli_progress_int.h).
 */
#include "term_text.h"
#include "cli_progress_int.h"

#include <string.h>
#include <unistd.h>

void cli_progress_init(cli_progress *p, const cli_config *cfg, const char *prefix)
{
    memset(p, 0, sizeof(*p));
    p->out = stderr;
    /* Only for a person watching: a terminal, and this process in its
     * foreground (not a `watch` worker, which has its own process group,
     * nor a job sent to the background). */
    p->tty = isatty(STDERR_FILENO) == 1 && tcgetpgrp(STDERR_FILENO) == getpgrp();
    p->quiet = cfg != NULL && cfg->quiet;
    term_text_escape(prefix, false, p->prefix, sizeof(p->prefix));
}

void cli_progress_end(cli_progress *p)
{
    if (p == NULL || !p->line_open)
        return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->line_open = false;
}

void cli_progress_line(cli_progress *p, const char *text)
{
    if (p == NULL || p->quiet)
        return;
    char safe[2048];

    cli_progress_end(p);
    fprintf(p->out, "%s%s%s\n", p->prefix, p->prefix[0] ? " " : "",
            term_text_escape(text, true, safe, sizeof(safe)));
    fflush(p->out);
}

void cli_progress_wait(cli_progress *p, const char *raw_state, double waited_s, double next_s)
{
    char state[sizeof(p->last)];

    if (p == NULL || p->quiet)
        return;
    term_text_escape(raw_state, false, state, sizeof(state));
    if (p->tty) {
        char line[sizeof(p->drawn)];
        int n;

        /* Whole seconds are enough to watch; a short next poll keeps its tenth. */
        n = snprintf(line, sizeof(line), "%s%s%s \xe2\x80\x94 waited %.0f s", p->prefix,
                     p->prefix[0] ? " " : "", state, waited_s);
        if (next_s >= 0 && n > 0 && (size_t)n < sizeof(line))
            snprintf(line + n, sizeof(line) - (size_t)n, ", next poll in %.*f s",
                     next_s < 10 ? 1 : 0, next_s);
        /* Callers may report more often than the line changes. */
        if (!p->line_open || strcmp(line, p->drawn) != 0) {
            fprintf(p->out, "\r\033[K%s", line);
            fflush(p->out);
            snprintf(p->drawn, sizeof(p->drawn), "%s", line);
        }
        p->line_open = true;
    } else if (strcmp(state, p->last) != 0) {
        fprintf(p->out, "%s%s%s\n", p->prefix, p->prefix[0] ? " " : "", state);
        fflush(p->out);
    }
    snprintf(p->last, sizeof(p->last), "%s", state);
}

void cli_progress_order(void *ctx, const order_info *info, double elapsed_s, double next_s)
{
    cli_progress *p = ctx;
    char state[sizeof(p->last)];

    order_info_describe(info, state, sizeof(state));
    cli_progress_wait(p, state, elapsed_s, next_s);
}
