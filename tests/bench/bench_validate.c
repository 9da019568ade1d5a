/*
 * Request validation as `order submit` does it before sending anything:
 * order_request_parse + order_request_validate on one request file.
 *
 * usage: bench_validate REQUEST.json [ITERATIONS]
 * ITERATIONS 0 or absent: run for about a second.  The request must be
 * valid (no problems): timing the error path of a broken file would
 * measure the wrong thing.  `validate_once` is the unit that
 * `valgrind --tool=callgrind --toggle-collect=validate_once` counts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "order_request.h"

struct validate_ctx {
    const char *text;
    size_t len;
    time_t today;
};

__attribute__((noinline)) static int validate_once(void *p)
{
    struct validate_ctx *c = p;
    char err[256];
    order_problems probs = {0};
    size_t n;
    cJSON *req = order_request_parse(c->text, c->len, err, sizeof err);

    if (!req) {
        fprintf(stderr, "request does not parse: %s\n", err);
        return 1;
    }
    n = order_request_validate(req, c->today, &probs);
    if (n)
        fprintf(stderr, "request has %zu problem(s), first: %s\n", n,
                probs.count ? probs.items[0] : "?");
    order_problems_free(&probs);
    cJSON_Delete(req);
    return n ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct validate_ctx c = {0};
    unsigned long iterations = 0;
    char *text;
    int rc;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s REQUEST.json [ITERATIONS]\n", argv[0]);
        return 2;
    }
    if (argc == 3 && bench_parse_count("ITERATIONS", argv[2], &iterations))
        return 2;
    text = bench_slurp(argv[1], &c.len);
    if (!text)
        return 2;
    c.text = text;
    c.today = time(NULL);
    printf("bytes %zu\n", c.len);
    rc = bench_loop(validate_once, &c, iterations);
    free(text);
    return rc;
}
