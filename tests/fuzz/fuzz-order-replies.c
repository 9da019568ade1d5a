/*
 * Fuzz target: every parser of a CertCentral reply, each fed the same
 * bytes: the order POST / reissue reply (order_parse_placed), order info,
 * request info, one page of the order list (and where the next page
 * starts), and DigiCert's errors[] body.  A reply is whatever the network
 * brings: no input may crash, leak or hit undefined behaviour, and the
 * error text must stay inside its buffer.
 */
#include "order.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    order_placed placed;
    order_info info;
    order_request_info req;
    order_summary *list = NULL;
    order_list_page page;
    order_err err;
    size_t n = 0;
    char dc[640];

    memset(&placed, 0, sizeof placed);
    memset(&err, 0, sizeof err);
    if (order_parse_placed(body, size, &placed, &err) == ORDER_OK) {
        cJSON *j = order_placed_to_json(&placed);
        cJSON_Delete(j);
    }
    check(memchr(err.message, '\0', sizeof err.message) != NULL, "placed: message unterminated");

    memset(&info, 0, sizeof info);
    if (order_parse_info(body, size, &info, &err) == ORDER_OK) {
        cJSON *j = order_info_to_json(&info);
        cJSON_Delete(j);
    }
    order_info_free(&info);

    memset(&req, 0, sizeof req);
    (void)order_parse_request_info(body, size, &req, &err);

    memset(&page, 0, sizeof page);
    if (order_parse_list_page(body, size, &list, &n, &page, &err) == ORDER_OK) {
        long next = order_list_next_offset(0, 1000, &page);
        check(next == -1 || next > 0, "list: the next page does not move forward");
    }
    free(list);

    order_parse_errors(body, size, dc, sizeof dc);
    check(strlen(dc) < sizeof dc, "errors: buffer overrun");
    return 0;
}
