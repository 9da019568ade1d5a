/*
 * The job files a refresh changes (lifecycle_refresh_int.h).  A durable
 * write waits for the disk twice (the file, then its folder); one after
 * the other, 1000 of them take 1000 such waits (about 10 s on a VM's disk).
 * Written by a few threads at once, the file system commits the syncs that
 * arrive together in one go.  Each job is still written alone and whole,
 * under its own lock (flock is per open file, so threads do not share it),
 * and the threads touch nothing but their job and their slot of w[].
 * A shared store (the fleet's database) is one connection, which threads
 * may not share: there the jobs are written one after the other.
 */
#include "lifecycle_refresh_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_REMOTE_WRITERS 16   /* 8: 10.8 s -> 2.5 s for 1000 jobs here; more helped little */

/* The certificate id to keep: the answer's, else the one known (the
 * status changes may leave it out). */
static void cert_of(const journal_job *j, long cert_id, char out[32])
{
    out[0] = '\0';
    if (cert_id > 0)
        snprintf(out, 32, "%ld", cert_id);
    else if (j->remote_certificate_id != NULL)
        snprintf(out, 32, "%s", j->remote_certificate_id);
}

bool lc_remote_same(const journal_job *j, const char *status, long cert_id)
{
    char cert[32];

    cert_of(j, cert_id, cert);
    return j->remote_status != NULL && strcmp(j->remote_status, status) == 0 &&
           strcmp(j->remote_certificate_id ? j->remote_certificate_id : "", cert) == 0;
}

static void write_one(store *st, lc_remote_write *w, time_t now)
{
    journal_job *j = w->job;
    journal_err je = { 0 };
    char cert[32];

    if (store_lock(st, j, false, &je) != JOURNAL_OK) {
        w->result = LC_REMOTE_BUSY;
        return;
    }
    if (lc_remote_same(j, w->status, w->cert_id)) {   /* read again under the lock */
        w->result = LC_REMOTE_UNCHANGED;
        store_unlock(st, j);
        return;
    }
    if (j->remote_status == NULL || strcmp(j->remote_status, w->status) != 0)
        j->remote_since = now;
    cert_of(j, w->cert_id, cert);
    j->remote_checked = now;
    if (journal_set(&j->remote_status, w->status) != JOURNAL_OK ||
        journal_set(&j->remote_certificate_id, cert[0] ? cert : NULL) != JOURNAL_OK ||
        store_commit(st, j, &je) != JOURNAL_OK) {
        w->result = LC_REMOTE_FAILED;
        snprintf(w->problem, sizeof(w->problem), "%s", je.message[0] ? je.message : "out of memory");
    } else {
        w->result = LC_REMOTE_WRITTEN;
    }
    store_unlock(st, j);
}

struct writers {
    store           *st;
    lc_remote_write *w;
    size_t           n;
    size_t           next;   /* the next item to take (atomic) */
    time_t           now;
};

static void *writer(void *arg)
{
    struct writers *ws = arg;
    size_t i;

    while ((i = __atomic_fetch_add(&ws->next, 1, __ATOMIC_RELAXED)) < ws->n)
        write_one(ws->st, &ws->w[i], ws->now);
    return NULL;
}

void lc_remote_write_all(store *st, lc_remote_write *w, size_t n, time_t now)
{
    struct writers ws = { st, w, n, 0, now };
    pthread_t t[LC_REMOTE_WRITERS];
    size_t started = 0;

    /* A thread that cannot be made leaves its share to the others, and to
     * this one, which writes too. */
    while (n > 1 && !store_shared(st) && started < LC_REMOTE_WRITERS - 1 && started + 1 < n &&
           pthread_create(&t[started], NULL, writer, &ws) == 0)
        started++;
    writer(&ws);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
}
