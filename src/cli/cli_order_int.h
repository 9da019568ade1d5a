/*
 * Private to the `order` command files (src/cli_order*.c): the session a
 * verb opens (API key + client) and the helpers they share.
 */
#ifndef QSCD_CLI_ORDER_INT_H
#define QSCD_CLI_ORDER_INT_H

#include "cli.h"
#include "cli_progress_int.h"
#include "order.h"

/* Options shared by the verbs that talk to CertCentral (some hidden). */
struct cli_order_net {
    double retry_base;
    double poll_start;
    double poll_cap;
    double http_timeout;   /* per HTTP request; 0: the client's default */
};

struct cli_order_session {
    secret       *key;
    order_client *client;
    cli_progress  progress;    /* order wait's status line */
    const cli_config *cfg;
};

int  cli_order_session_open(struct cli_order_session *s, const cli_config *cfg, const struct cli_order_net *n);
void cli_order_session_close(struct cli_order_session *s);
/* Print err, close any progress line; returns the exit code for it. */
int  cli_order_fail(struct cli_order_session *s, const order_err *err);
int  cli_order_parse_id(const char *arg, const char *what, long *out);

int  cli_order_fetch(const cli_config *cfg, int argc, char **argv, const struct cli_order_net *n);

#endif
