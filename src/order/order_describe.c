/*
 * The order's state in words, as every front end shows it while waiting:
 * the order's status and that of its newest request.
 */
#include "order.h"

#include <stdio.h>

void order_info_describe(const order_info *info, char *buf, size_t len)
{
    const order_request_item *req = order_latest_request(info);

    snprintf(buf, len, "%s%s%s%s", info->status[0] ? info->status : "(no status)",
             req ? " (request " : "", req ? req->status : "", req ? ")" : "");
}
