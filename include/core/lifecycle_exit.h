/*
 * Error to exit code, in one place (design.md, "Exit codes"): the core and
 * every command map the order client's and the token layer's results
 * through these, so `order wait` and `provision` cannot disagree on what a
 * rejected order or a wrong token exits with.
 */
#ifndef QSCD_LIFECYCLE_EXIT_H
#define QSCD_LIFECYCLE_EXIT_H

#include "order.h"
#include "token.h"

int lifecycle_exit_for_order(order_code code);
int lifecycle_exit_for_token(token_code code);

#endif
