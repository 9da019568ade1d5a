/*
 * Bounded job files.  Every commit that moves a state appends a transition,
 * and a job resumed often enough (a token plugged in and out for weeks)
 * would outgrow what the reader accepts (1 MiB) and become unreadable.  So
 * the job file keeps a recent tail of its transitions; older ones go to
 * the audit log, which is where a person looks for history anyway.  The
 * audit line is written (and synced) before the job file is rewritten
 * without them: a crash in between repeats a line, never loses one.
 */
#include "journal_int.h"

#include "audit.h"
#include "lifecycle.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* One audit line holds this many, so that it stays under the line limit. */
#define COMPACT_PER_LINE 16

static const char *state_name(const journal_transition *t)
{
    return t->device ? lifecycle_device_state_name(t->state)
                     : lifecycle_order_state_name(t->state);
}

/* "order:pending@2026-05-01T12:00:00Z device:key_ready@..." */
static void describe(const journal_transition *t, size_t n, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        char when[32];
        struct tm tm;

        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t[i].at, &tm));
        used += (size_t)snprintf(out + used, len - used, "%s%s:%s@%s", i ? " " : "",
                                 t[i].device ? "device" : "order", state_name(&t[i]), when);
    }
}

static bool record(const char *dir, const journal_job *job, const journal_transition *t,
                   size_t n)
{
    char text[1024];
    audit_entry e = { 0 };
    audit_err ae;

    describe(t, n, text, sizeof(text));
    e.action = "journal compact";
    e.job_ref = job->ref;
    e.order_id = job->order_id;
    e.outcome = "moved";
    e.error = text;
    return audit_record(dir, &e, &ae) == AUDIT_OK;
}

void jn_compact(const char *dir, journal_job *job)
{
    size_t drop, moved = 0;

    if (job->n_transitions <= JOURNAL_TRANSITIONS_MAX)
        return;
    drop = job->n_transitions - JOURNAL_TRANSITIONS_KEEP;
    while (moved < drop) {
        size_t n = drop - moved < COMPACT_PER_LINE ? drop - moved : COMPACT_PER_LINE;

        if (!record(dir, job, job->transitions + moved, n))
            break;
        moved += n;
    }
    /* The audit log refused: keep them, unless the file would near the
     * reader's limit, when the oldest go anyway (readable beats complete). */
    if (moved == 0 && job->n_transitions > JOURNAL_TRANSITIONS_HARD)
        moved = drop;
    memmove(job->transitions, job->transitions + moved,
            (job->n_transitions - moved) * sizeof(*job->transitions));
    job->n_transitions -= moved;
}
