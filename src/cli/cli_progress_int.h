/*
 * Progress while waiting, shared by `order wait` and the lifecycle engine
 * (`provision`): on a terminal one status line rewritten in place
 * ("\r[order 7] pending (request submitted) — waited 35 s, next poll in
 * 8 s"), cleared before the next permanent line; elsewhere (a log, a pipe)
 * one line per change of state and never the same line twice; with -q
 * nothing.
 */
#ifndef QSCD_CLI_PROGRESS_INT_H
#define QSCD_CLI_PROGRESS_INT_H

#include "cli.h"
#include "order.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct cli_progress {
    FILE *out;            /* stderr, or a test's stream */
    bool  tty;            /* out is a terminal: rewrite a status line */
    bool  quiet;          /* -q: print nothing */
    bool  line_open;      /* a status line is on the terminal */
    char  prefix[64];     /* "[order 7]", "order 7:" */
    char  last[2 * ORDER_STR + 64];  /* the last state shown */
    char  drawn[512];     /* the status line as last drawn */
} cli_progress;

/* On stderr, rewriting a status line when it is the terminal this process
 * runs in the foreground of; quiet as cfg says. */
void cli_progress_init(cli_progress *p, const cli_config *cfg, const char *prefix);

/*
 * A state while waiting.  next_s < 0: no "next poll" (waiting for an
 * event, such as a token being plugged in).
 */
void cli_progress_wait(cli_progress *p, const char *state, double waited_s, double next_s);

/* Clear the status line (before a permanent line or an error); NULL is fine. */
void cli_progress_end(cli_progress *p);

/* A permanent line "<prefix> <text>" after clearing the status line. */
void cli_progress_line(cli_progress *p, const char *text);

/* An order_progress_fn for order_wait(); ctx is the cli_progress. */
void cli_progress_order(void *ctx, const order_info *info, double elapsed_s, double next_s);

#endif
