/* Exit codes of qscd-agent: the contract scripts rely on (design.md). */
#ifndef QSCD_EXIT_CODES_H
#define QSCD_EXIT_CODES_H

enum qscd_exit {
    QSCD_EXIT_OK        = 0, /* success, or ready */
    QSCD_EXIT_NOT_READY = 1, /* pending, token absent: try again later */
    QSCD_EXIT_USAGE     = 2, /* usage error or invalid input */
    QSCD_EXIT_API       = 3, /* CertCentral (or transport) error */
    QSCD_EXIT_TOKEN     = 4, /* token / PKCS#11 error */
    QSCD_EXIT_VERIFY    = 5, /* certificate does not match key or profile */
    QSCD_EXIT_REJECTED  = 6, /* order rejected */
    QSCD_EXIT_ATTENTION = 7, /* status: a job needs attention (an alert) */
};

#endif
