/*
 * The certificate check the agent runs before anything is installed on a
 * token: x509_chain_parse_pem + x509_check_profile (qualified-eSeal profile
 * and chain linkage) on one PEM bundle as CertCentral delivers it.
 *
 * usage: bench_x509 CHAIN.pem AT_UNIX_TIME [ITERATIONS]
 * AT_UNIX_TIME: the moment to check validity at (the bundles in
 * tests/data/x509 are checked at a fixed time, so they never expire for the
 * benchmark).  The chain must pass the check, with nothing relaxed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "x509.h"

struct x509_ctx {
    const char *pem;
    size_t len;
    time_t at;
};

__attribute__((noinline)) static int x509_once(void *p)
{
    struct x509_ctx *c = p;
    x509_chain *chain = NULL;
    x509_report report;
    x509_err err;
    x509_code code;
    int rc = 1;

    code = x509_chain_parse_pem(c->pem, c->len, &chain, &err);
    if (code != X509_OK) {
        fprintf(stderr, "chain does not parse: %s\n", err.message);
        return 1;
    }
    code = x509_check_profile(chain, c->at, X509_RELAX_NONE, &report, &err);
    if (code != X509_OK)
        fprintf(stderr, "profile check failed: %s\n", err.message);
    else
        rc = 0;
    x509_report_free(&report);
    x509_chain_free(chain);
    return rc;
}

int main(int argc, char **argv)
{
    struct x509_ctx c = {0};
    unsigned long iterations = 0, at;
    char *pem;
    int rc;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s CHAIN.pem AT_UNIX_TIME [ITERATIONS]\n", argv[0]);
        return 2;
    }
    if (bench_parse_count("AT_UNIX_TIME", argv[2], &at) ||
        (argc == 4 && bench_parse_count("ITERATIONS", argv[3], &iterations)))
        return 2;
    c.at = (time_t)at;
    pem = bench_slurp(argv[1], &c.len);
    if (!pem)
        return 2;
    c.pem = pem;
    printf("bytes %zu\n", c.len);
    rc = bench_loop(x509_once, &c, iterations);
    free(pem);
    return rc;
}
