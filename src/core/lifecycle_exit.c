/*
 * Error to exit code (lifecycle_exit.h).
 */
#include "lifecycle_exit.h"

#include "exit_codes.h"

int lifecycle_exit_for_order(order_code code)
{
    switch (code) {
    case ORDER_OK:              return QSCD_EXIT_OK;
    case ORDER_ERR_INVALID:
    case ORDER_ERR_NO_KEY:
    case ORDER_ERR_IO:          return QSCD_EXIT_USAGE;
    case ORDER_ERR_REJECTED:    return QSCD_EXIT_REJECTED;
    case ORDER_ERR_TIMEOUT:
    case ORDER_ERR_INTERRUPTED:
    case ORDER_ERR_NOT_READY:   return QSCD_EXIT_NOT_READY;
    default:                    return QSCD_EXIT_API;
    }
}

int lifecycle_exit_for_token(token_code code)
{
    switch (code) {
    case TOKEN_OK:              return QSCD_EXIT_OK;
    case TOKEN_ERR_ABSENT:
    case TOKEN_ERR_TIMEOUT:     return QSCD_EXIT_NOT_READY;
    case TOKEN_ERR_INVALID:
    case TOKEN_ERR_AMBIGUOUS:   return QSCD_EXIT_USAGE;
    case TOKEN_ERR_MISMATCH:    return QSCD_EXIT_VERIFY;
    default:                    return QSCD_EXIT_TOKEN;
    }
}
