/*
 * Fuzz target: the status-changes reply (order_parse_status_changes), as
 * GET /order/certificate/status-changes sends it for `status --refresh`.
 * A pure function of the text: every entry it returns must have an order
 * id, a status that fits its buffer, and a class it can name.
 */
#include "order.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    order_status_change *changes = NULL;
    size_t n = 0, skipped = 0;
    order_err err;

    if (body == NULL)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    memset(&err, 0, sizeof err);
    if (order_parse_status_changes(body, size, &changes, &n, &skipped, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (changes[i].order_id <= 0 ||
                memchr(changes[i].status, '\0', sizeof changes[i].status) == NULL) {
                fprintf(stderr, "fuzz invariant broken: entry %zu\n", i);
                abort();
            }
        }
        free(changes);
    } else if (err.message[0] == '\0') {
        fprintf(stderr, "fuzz invariant broken: refused without a message\n");
        abort();
    }
    free(body);
    return 0;
}
