/*
 * Fuzz target: order_request_parse, then order_request_validate on what
 * parses.  Built with libFuzzer by tests/fuzz/run.sh when clang is there,
 * else linked with driver.c (deterministic mutations, gcc).
 *
 * Beyond "no crash, no leak, no UB" it checks the promises callers rely
 * on: a failed parse says "line N, column M: ..." with N and M inside the
 * input; validate returns as many problems as it listed, each one
 * "path: message"; a card number or CVV never appears in a message.
 */
#include "order_request.h"

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

static void check_parse_error(const char *text, size_t len, const char *err)
{
    size_t line = 0, col = 0, lines = 1;

    check(sscanf(err, "line %zu, column %zu: ", &line, &col) == 2, "error has no position");
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n' || (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n'));
    check(line >= 1 && line <= lines && col >= 1 && col <= len + 1, "position outside the input");
}

/* A secret value (digits only, long enough to be recognisable). */
static const char *secret_of(const cJSON *req, const char *key)
{
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(req, "credit_card");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cc, key);

    if (!cJSON_IsString(v) || strlen(v->valuestring) < 3 ||
        strspn(v->valuestring, "0123456789") != strlen(v->valuestring))
        return NULL;
    return v->valuestring;
}

static void check_problems(const cJSON *req, const order_problems *p, size_t n)
{
    const char *number = secret_of(req, "number"), *cvv = secret_of(req, "cvv");

    check(n == p->count, "returned count differs from the list");
    for (size_t i = 0; i < p->count; i++) {
        check(strstr(p->items[i], ": ") != NULL, "problem without \"path: \"");
        check(number == NULL || strlen(number) < 6 || strstr(p->items[i], number) == NULL,
              "card number in a message");
        /* Only the CVV's own message is judged: a short CVV ("027") is
         * found in other messages' fixed text ("e.g. \"2027\""). */
        check(cvv == NULL || strncmp(p->items[i], "credit_card.cvv: ", 17) != 0 ||
              strstr(p->items[i] + 17, cvv) == NULL, "CVV in a message");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A fixed day (2026-06-01 UTC) keeps runs reproducible. */
    const time_t today = 1780272000;  /* date -u -d 2026-06-01 +%s */
    char err[512];
    order_problems p = { 0 };
    cJSON *req = order_request_parse((const char *)data, size, err, sizeof err);
    size_t n;

    if (req == NULL) {
        check_parse_error((const char *)data, size, err);
        return 0;
    }
    check(cJSON_IsObject(req), "parse returned a non-object");
    n = order_request_validate(req, today, &p);
    check_problems(req, &p, n);
    check(order_request_validate(req, today, NULL) == n, "count-only run differs");
    order_problems_free(&p);
    cJSON_Delete(req);
    return 0;
}
