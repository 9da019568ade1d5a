/*
 * Listing the journal: every job in STATE/jobs, oldest first, and finding
 * the job of an order.  Files that cannot be read are reported, not fatal:
 * one bad file must not hide the other jobs from `status`.
 */
#include "journal.h"
#include "journal_int.h"
#include "state_layout.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool add_problem(journal_listing *l, const char *msg)
{
    char **p = realloc(l->problems, (l->n_problems + 1) * sizeof(*p));

    if (p == NULL)
        return false;
    l->problems = p;
    if ((p[l->n_problems] = strdup(msg)) == NULL)
        return false;
    l->n_problems++;
    return true;
}

/* A job file that cannot be read: kept apart, with the reason alone, so that
 * a caller can say which job it may be (lifecycle_provision). */
static bool add_unreadable(journal_listing *l, const char *dir, const char *name,
                           const journal_err *e)
{
    journal_unreadable *p = realloc(l->unreadable, (l->n_unreadable + 1) * sizeof(*p));
    journal_unreadable *u;
    const char *reason = e->message;
    size_t n;

    if (p == NULL)
        return false;
    l->unreadable = p;
    u = &p[l->n_unreadable];
    memset(u, 0, sizeof(*u));
    if ((u->file = state_job_file(dir, name, "")) == NULL) {
        u->file = NULL;
        return false;
    }
    n = strlen(u->file);
    /* journal_load says "job file PATH: REASON". */
    if (strncmp(reason, "job file ", 9) == 0 && strncmp(reason + 9, u->file, n) == 0 &&
        strncmp(reason + 9 + n, ": ", 2) == 0)
        reason += 9 + n + 2;
    u->code = e->code;
    if ((u->reason = strdup(reason)) == NULL) {
        free(u->file);
        return false;
    }
    l->n_unreadable++;
    return true;
}

static bool add_job(journal_listing *l, journal_job *job)
{
    journal_job **p = realloc(l->jobs, (l->n + 1) * sizeof(*p));

    if (p == NULL)
        return false;
    l->jobs = p;
    p[l->n++] = job;
    return true;
}

static int by_creation(const void *a, const void *b)
{
    const journal_job *x = *(journal_job *const *)a, *y = *(journal_job *const *)b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->ref, y->ref);
}

/* One directory entry: a job, a problem, or nothing (temp and lock files). */
static bool list_entry(const char *dir, const char *name, journal_listing *l)
{
    size_t len = strlen(name);
    char ref[JOURNAL_REF_LEN + 1];
    journal_job *job = NULL;
    journal_err e;

    if (name[0] == '.' || len < 5 || strcmp(name + len - 5, ".json") != 0)
        return true;
    if (len - 5 != JOURNAL_REF_LEN) {
        snprintf(e.message, sizeof(e.message), "%s/jobs/%s: not a job file name; ignored", dir, name);
        return add_problem(l, e.message);
    }
    memcpy(ref, name, JOURNAL_REF_LEN);
    ref[JOURNAL_REF_LEN] = '\0';
    switch (journal_load(dir, ref, &job, &e)) {
    case JOURNAL_OK:
        if (add_job(l, job))
            return true;
        journal_job_free(job);
        return false;
    case JOURNAL_ERR_NOMEM:
        return false;
    case JOURNAL_ERR_NOT_FOUND:  /* removed since readdir */
        return true;
    default:
        return add_problem(l, e.message) && add_unreadable(l, dir, name, &e);
    }
}

journal_code journal_list(const char *dir, journal_listing *out, journal_err *err)
{
    char *jobs;
    struct dirent *de;
    DIR *d;

    if (out == NULL || dir == NULL || *dir == '\0')
        return jn_fail(err, JOURNAL_ERR_INVALID, "no state directory given");
    memset(out, 0, sizeof(*out));
    if ((jobs = state_jobs_dir(dir)) == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    d = opendir(jobs);
    if (d == NULL) {
        journal_code rc = errno == ENOENT ? JOURNAL_OK
                          : jn_fail(err, JOURNAL_ERR_IO, "job directory %s: %s", jobs, strerror(errno));
        free(jobs);
        return rc;
    }
    free(jobs);
    while ((de = readdir(d)) != NULL)
        if (!list_entry(dir, de->d_name, out)) {
            closedir(d);
            journal_listing_free(out);
            return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
        }
    closedir(d);
    if (out->n > 1)
        qsort(out->jobs, out->n, sizeof(*out->jobs), by_creation);
    return JOURNAL_OK;
}

void journal_listing_free(journal_listing *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        journal_job_free(l->jobs[i]);
    for (size_t i = 0; i < l->n_problems; i++)
        free(l->problems[i]);
    for (size_t i = 0; i < l->n_unreadable; i++) {
        free(l->unreadable[i].file);
        free(l->unreadable[i].reason);
    }
    free(l->jobs);
    free(l->problems);
    free(l->unreadable);
    memset(l, 0, sizeof(*l));
}

journal_code journal_find_by_order(const char *dir, const char *order_id,
                                   journal_job **out, journal_err *err)
{
    journal_listing l;
    journal_code rc;
    size_t found = (size_t)-1;

    if (out == NULL || order_id == NULL || *order_id == '\0')
        return jn_fail(err, JOURNAL_ERR_INVALID, "journal_find_by_order: no order id");
    *out = NULL;
    if ((rc = journal_list(dir, &l, err)) != JOURNAL_OK)
        return rc;
    for (size_t i = 0; i < l.n; i++)  /* oldest first: the last match is the newest */
        if (l.jobs[i]->order_id != NULL && strcmp(l.jobs[i]->order_id, order_id) == 0)
            found = i;
    if (found == (size_t)-1) {
        rc = jn_fail(err, JOURNAL_ERR_NOT_FOUND, "no job for order %s in %s/jobs", order_id, dir);
    } else {
        *out = l.jobs[found];
        l.jobs[found] = NULL;
    }
    journal_listing_free(&l);
    return rc;
}
