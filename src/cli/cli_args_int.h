/*
 * Private to the src/cli_*.c files: parsers for option values that several
 * commands share, so that "--timeout 5m" means the same everywhere and the
 * messages read the same.
 */
#ifndef QSCD_CLI_ARGS_INT_H
#define QSCD_CLI_ARGS_INT_H

#include "cli.h"

#include <stdbool.h>

/* "90", "90s", "500ms", "5m", "2h" -> seconds (>= 0).  0 or QSCD_EXIT_USAGE. */
int cli_parse_duration(const char *arg, const char *what, double *out);

/* A whole number of at least 1.  0 or QSCD_EXIT_USAGE. */
int cli_parse_count(const char *arg, const char *what, int *out);

/*
 * "qc-statements,policy,key-usage,validity,chain" -> X509_RELAX_* bits,
 * added to *out.  0 or QSCD_EXIT_USAGE naming the unknown check.
 */
int cli_parse_relax(const char *arg, unsigned *out);

/* The signature-check setting (config, QSCD_SIGNATURE_CHECK): "no" turns the
 * test signature after install off; check says whether it is yes or no. */
bool cli_test_signature_off(const cli_config *cfg);
int  cli_test_signature_check(const cli_config *cfg);

#endif
