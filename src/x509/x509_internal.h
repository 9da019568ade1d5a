/*
 * Private to the x509 part (src/x509_*.c): the report builder and the
 * individual checks that x509_check_profile strings together.
 */
#ifndef QSCD_X509_INTERNAL_H
#define QSCD_X509_INTERNAL_H

#include "x509.h"

#include <stdarg.h>

/* Set err (may be NULL) and return code. */
x509_code x509_fail(x509_err *err, x509_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One deviation; `relaxed` files it under report->relaxed. */
x509_code x509_report_add(x509_report *r, bool relaxed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Subject CN (or the whole one-line name) quoted for messages. */
void x509_display_name(const X509_NAME *name, char *out, size_t len);

/* Deviations of the QCStatements extension of the leaf. */
x509_code x509_qc_check(X509 *leaf, bool relaxed, x509_report *r);

/* Issuer names, signatures and the bundle's own root as trust anchor. */
x509_code x509_link_check(const x509_chain *chain, bool relaxed, x509_report *r);

#endif
