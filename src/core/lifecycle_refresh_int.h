/*
 * The refresh record, STATE/remote/refresh.json: when the last `status
 * --refresh` ran and which jobs it confirmed.  A job whose remote state was
 * unchanged is not rewritten (one durable write per job would cost more
 * than the requests saved); the record says it was current at that time.
 */
#ifndef QSCD_LIFECYCLE_REFRESH_INT_H
#define QSCD_LIFECYCLE_REFRESH_INT_H

#include "journal.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct lc_refresh_record {
    time_t at;          /* 0: never refreshed */
    char **refs;        /* the jobs it confirmed, sorted */
    size_t n;
} lc_refresh_record;

/* The record, or an empty one when there is none or it cannot be read. */
void   lc_refresh_record_load(store *st, lc_refresh_record *out);
void   lc_refresh_record_free(lc_refresh_record *rec);
/* When the job's remote state was last known to be current; 0: never. */
time_t lc_remote_checked(const journal_job *j, const lc_refresh_record *rec);

/*
 * Writing the jobs whose remote state changed (lifecycle_refresh_write.c).
 * Each write is the journal's durable one (temp file, fsync, rename, fsync
 * of the folder), under the job's lock; several run at once, so that the
 * file system can commit their syncs together: the first refresh of 1000
 * jobs writes 1000 files.
 */
enum lc_remote_result {
    LC_REMOTE_WRITTEN = 0,
    LC_REMOTE_UNCHANGED,   /* found current when read again under the lock */
    LC_REMOTE_BUSY,        /* another qscd-agent works on the job */
    LC_REMOTE_FAILED,      /* the journal refused: problem says why */
};

typedef struct lc_remote_write {
    journal_job *job;                /* the listing's; relocked, reread, written */
    char         status[128];        /* CertCentral's status, as received */
    long         cert_id;            /* 0: none in the answer (the known one is kept) */
    enum lc_remote_result result;
    char         problem[512];
} lc_remote_write;

/* The job already holds this remote state. */
bool lc_remote_same(const journal_job *j, const char *status, long cert_id);
/* Write every w[i], several at once; results in w[i].result. */
void lc_remote_write_all(store *st, lc_remote_write *w, size_t n, time_t now);

#endif
