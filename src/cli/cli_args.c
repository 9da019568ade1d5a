/*
 * Option values shared by several commands: durations, counts, --relax.
 */
#include "cli.h"
#include "cli_args_int.h"
#include "exit_codes.h"
#include "x509.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_duration(const char *arg, const char *what, double *out)
{
    static const struct { const char *suffix; double factor; } units[] = {
        { "", 1 }, { "s", 1 }, { "ms", 0.001 }, { "m", 60 }, { "h", 3600 },
    };
    char *end;
    double v;

    errno = 0;
    v = strtod(arg ? arg : "", &end);
    if (arg != NULL && end != arg && errno == 0 && isfinite(v) && v >= 0) {
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strcmp(end, units[i].suffix) == 0) {
                *out = v * units[i].factor;
                return 0;
            }
        }
    }
    cli_error("%s: expected seconds, or a number with ms, s, m or h (got \"%s\")", what,
              arg ? arg : "");
    return QSCD_EXIT_USAGE;
}

int cli_parse_count(const char *arg, const char *what, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg ? arg : "", &end, 10);
    if (arg == NULL || end == arg || *end != '\0' || errno != 0 || v < 1 || v > 1000000) {
        cli_error("%s: must be a whole number of at least 1 (got \"%s\")", what,
                  arg ? arg : "");
        return QSCD_EXIT_USAGE;
    }
    *out = (int)v;
    return 0;
}

int cli_parse_relax(const char *arg, unsigned *out)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "qc-statements", X509_RELAX_QC_STATEMENTS }, { "policy", X509_RELAX_POLICY },
        { "key-usage", X509_RELAX_KEY_USAGE }, { "validity", X509_RELAX_VALIDITY },
        { "chain", X509_RELAX_CHAIN },
    };
    char *copy = strdup(arg ? arg : ""), *save = NULL;
    int rc = 0;

    if (copy == NULL) {
        cli_error("out of memory");
        return QSCD_EXIT_USAGE;
    }
    for (char *t = strtok_r(copy, ",", &save); t != NULL && rc == 0;
         t = strtok_r(NULL, ",", &save)) {
        size_t i, n = sizeof(names) / sizeof(names[0]);

        for (i = 0; i < n && strcmp(t, names[i].name) != 0; i++)
            ;
        if (i == n) {
            cli_error("--relax: unknown check \"%s\" (known: qc-statements, policy, "
                      "key-usage, validity, chain)", t);
            rc = QSCD_EXIT_USAGE;
        } else {
            *out |= names[i].bit;
        }
    }
    free(copy);
    return rc;
}
