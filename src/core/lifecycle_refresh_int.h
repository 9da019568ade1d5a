/*
 * The refresh record, STATE/remote/refresh.json: when the last `status
 * --refresh` ran and which jobs it confirmed.  A job whose remote state was
 * unchanged is not rewritten (one durable write per job would cost more
 * than the requests saved); the record says it was current at that time.
 */
#ifndef QSCD_LIFECYCLE_REFRESH_INT_H
#define QSCD_LIFECYCLE_REFRESH_INT_H

#include "journal.h"

#include <stddef.h>
#include <time.h>

typedef struct lc_refresh_record {
    time_t at;          /* 0: never refreshed */
    char **refs;        /* the jobs it confirmed, sorted */
    size_t n;
} lc_refresh_record;

/* The record, or an empty one when there is none or it cannot be read. */
void   lc_refresh_record_load(const char *dir, lc_refresh_record *out);
void   lc_refresh_record_free(lc_refresh_record *rec);
/* When the job's remote state was last known to be current; 0: never. */
time_t lc_remote_checked(const journal_job *j, const lc_refresh_record *rec);

#endif
