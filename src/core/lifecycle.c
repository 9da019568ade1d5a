/*
 * The engine's run loop: open and lock the job, build the view, ask the
 * table (lifecycle_next) what is due, perform it, commit, look again.
 *
 * The device side of the view is this process's session, not the
 * journal's: a login or a located key does not survive the process, so a
 * resumed run starts at token_absent and walks the (idempotent) device
 * steps again.  Only a job that was verified is taken as it stands.
 */
#include "lifecycle_int.h"
#include "monotonic.h"

#include "audit.h"
#include "lifecycle_exit.h"
#include "exit_codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_MAX_STEPS 64   /* a bug guard: a job never needs this many */

int lc_fail(lifecycle_err *err, int exit_code, const char *code, const char *fmt, ...)
{
    va_list ap;

    err->exit_code = exit_code;
    err->retryable = exit_code == QSCD_EXIT_NOT_READY;
    err->needs_user = false;
    snprintf(err->code, sizeof(err->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return exit_code;
}

int lc_fail_order(lifecycle_err *err, const order_err *oe, const char *what)
{
    int ec = lifecycle_exit_for_order(oe->code);

    lc_fail(err, ec, order_code_name(oe->code), "%s: %s", what, oe->message);
    err->retryable = oe->retryable || ec == QSCD_EXIT_NOT_READY;
    return ec;
}

int lc_fail_token(lifecycle_err *err, const token_err *te, const char *what)
{
    int ec = lifecycle_exit_for_token(te->code);

    lc_fail(err, ec, token_code_name(te->code), "%s: %s", what,
            te->message[0] ? te->message : token_code_name(te->code));
    err->retryable = te->retryable;
    err->needs_user = te->needs_user;
    return ec;
}

int lc_fail_journal(lifecycle_err *err, const journal_err *je)
{
    /* retryable: busy, or a shared store that cannot be reached just now */
    int ec = je->code == JOURNAL_ERR_BUSY || je->retryable ? QSCD_EXIT_NOT_READY
                                                            : QSCD_EXIT_USAGE;

    return lc_fail(err, ec, je->code == JOURNAL_ERR_BUSY ? "journal_busy"
                            : je->retryable ? "store_unreachable" : "journal",
                   "%s", je->message);
}

int lc_commit(lc_run *r)
{
    journal_err je = { 0 };

    if (store_commit(r->st, r->job, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    return 0;
}

/* "[order N]", or the job's ref while it has no order. */
static void job_prefix(const lc_run *r, char *buf, size_t len)
{
    if (r->job != NULL && r->job->order_id != NULL)
        snprintf(buf, len, "[order %s]", r->job->order_id);
    else
        snprintf(buf, len, "[%s]", r->job ? r->job->ref : "qscd-agent");
}

const lifecycle_reporter *lc_reporter(const lifecycle_reporter *rep)
{
    static const lifecycle_reporter silent = { 0 };

    return rep != NULL ? rep : &silent;
}

void lc_say_as(const lc_run *r, const char *prefix, const char *line)
{
    if (r->rep->line != NULL)
        r->rep->line(r->rep->ctx, prefix, line);
}

void lc_warn(const lc_run *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (r->rep->warning != NULL)
        r->rep->warning(r->rep->ctx, line);
}

void lc_say(const lc_run *r, const char *fmt, ...)
{
    char line[1024], prefix[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    job_prefix(r, prefix, sizeof(prefix));
    lc_say_as(r, prefix, line);
}

void lc_wait_status(const lc_run *r, const char *state, double waited_s, double next_s)
{
    char prefix[64];

    if (r->rep->waiting == NULL)
        return;
    job_prefix(r, prefix, sizeof(prefix));
    r->rep->waiting(r->rep->ctx, prefix, state, waited_s, next_s);
}

void lc_audit(const lc_run *r, const char *action, const char *outcome, const char *error)
{
    audit_entry e = { 0 };
    audit_err ae = { 0 };
    const journal_job *j = r->job;

    e.action = action;
    e.outcome = outcome;
    e.error = error;
    if (j != NULL) {
        e.job_ref = j->ref;
        e.order_id = j->order_id;
        e.token_serial = j->token.serial;
        e.cert_serial = j->cert_serial;
        e.cert_sha256 = j->cert_sha256;
    }
    if (store_audit_append(r->st, &e, &ae) != AUDIT_OK)
        lc_warn(r, "audit log: %s", ae.message);
}

int lc_store_open_set(const lifecycle_settings *set, store **st, lifecycle_err *err)
{
    journal_err je = { 0 };

    if (lifecycle_store_open(set, st, &je) != JOURNAL_OK)
        return lc_fail(err, je.code == JOURNAL_ERR_IO ? QSCD_EXIT_NOT_READY : QSCD_EXIT_USAGE,
                       je.code == JOURNAL_ERR_IO ? "store_unreachable" : "store", "%s",
                       je.message);
    return 0;
}

int lc_store_open(lc_run *r)
{
    return r->st != NULL ? 0 : lc_store_open_set(r->set, &r->st, r->err);
}

void lc_run_close(lc_run *r)
{
    token_key_free(r->key);
    token_close(r->tok);
    token_ctx_close(r->tctx);
    secret_free(r->pin);
    x509_chain_free(r->chain);
    order_client_free(r->client);
    secret_free(r->apikey);
    store_job_free(r->st, r->job);
    store_close(r->st);
    r->st = NULL;
    r->key = NULL, r->tok = NULL, r->tctx = NULL, r->pin = NULL, r->chain = NULL;
    r->client = NULL, r->apikey = NULL, r->job = NULL;
}

static int perform(lc_run *r, const struct lifecycle_transition *t)
{
    switch (t->action) {
    case LC_ACT_RECONCILE_SUBMIT:         return lc_act_reconcile(r);
    case LC_ACT_POLL_ORDER:               return lc_act_poll(r);
    case LC_ACT_DOWNLOAD_AND_VERIFY:      return lc_act_download(r);
    case LC_ACT_WAIT_TOKEN:               return lc_act_wait_token(r);
    case LC_ACT_CHECK_TOKEN_IDENTITY:     return lc_act_identity(r);
    case LC_ACT_BIND_TOKEN:               return lc_act_bind(r);
    case LC_ACT_UNLOCK:                   return lc_act_unlock(r);
    case LC_ACT_GENERATE_KEY_AND_REISSUE: return lc_act_generate_and_reissue(r);
    case LC_ACT_LOCATE_KEY:               return lc_act_locate_key(r);
    case LC_ACT_INSTALL:                  return lc_act_install(r);
    case LC_ACT_READ_BACK:                return lc_act_read_back(r);
    case LC_ACT_SUBMIT:
        return lc_fail(r->err, QSCD_EXIT_USAGE, "not_submitted",
                       "job %s was never submitted: run `qscd-agent order submit REQUEST.json`",
                       r->job->ref);
    default:
        return lc_fail(r->err, QSCD_EXIT_USAGE, "internal",
                       "job %s: action %s cannot be performed here", r->job->ref,
                       lifecycle_action_name(t->action));
    }
}

/* A job whose order ended: what the poll that saw it said (revoked, canceled...). */
static int stop_rejected(lc_run *r)
{
    const journal_job *j = r->job;

    if (j->error_code != NULL && strcmp(j->error_code, "order_final") == 0 &&
        j->error_message != NULL)
        return lc_fail(r->err, QSCD_EXIT_REJECTED, "order_final", "%s", j->error_message);
    return lc_fail(r->err, QSCD_EXIT_REJECTED, "rejected",
                   "order %s was rejected by CertCentral: nothing more to do",
                   j->order_id ? j->order_id : j->ref);
}

/*
 * Run every due step; 0 when the job is ready.  A step either moves the job
 * on or says what it waits for (r->wait); the waiting is done here, then
 * the same step runs again, still as the same step (its wait time and poll
 * interval carry on).  Only a step that moved the job on is audited.
 */
static int run_loop(lc_run *r)
{
    const char *done = "resuming the job";
    int in_hand = -1;   /* the action that has been waiting, or -1 */

    for (int step = 0; step < LC_MAX_STEPS;) {
        lifecycle_view v = { r->job->order_state, r->dev,
                             journal_job_facts(r->job) };
        const struct lifecycle_transition *t = lifecycle_next(&v);
        const char *name;
        int rc;

        if (t == NULL)
            return lc_fail(r->err, QSCD_EXIT_USAGE, "internal",
                           "job %s: no step for order state %s, device state %s", r->job->ref,
                           lifecycle_order_state_name(v.order),
                           lifecycle_device_state_name(v.device));
        if (t->action == LC_ACT_DONE)
            return 0;
        if (t->action == LC_ACT_STOP_REJECTED)
            return stop_rejected(r);
        /* Between steps: the last one is committed, nothing is in hand. */
        if (lc_stop_asked())
            return lc_stopped(r, done);
        name = lifecycle_action_name(t->action);
        if ((int)t->action != in_hand) {
            r->wait_since = monotonic_now();
            r->backoff_s = 0;
            r->polls = 0;
            if (r->set->verbose)
                lc_say(r, "next: %s (%s)", name, t->what);
        }
        memset(&r->wait, 0, sizeof(r->wait));
        rc = perform(r, t);
        if (r->rep->resumed != NULL && r->wait.kind == LC_WAIT_NONE)
            r->rep->resumed(r->rep->ctx);
        if (rc != 0)
            return rc;
        if (r->wait.kind != LC_WAIT_NONE) {
            in_hand = (int)t->action;
            if ((rc = lc_wait_do(r)) != 0)
                return rc;
            continue;
        }
        in_hand = -1;
        lc_audit(r, name, "ok", NULL);
        done = name;
        step++;
    }
    return lc_fail(r->err, QSCD_EXIT_USAGE, "internal", "job %s: too many steps", r->job->ref);
}

/*
 * No readable job has the order, but a job file cannot be read: it may be
 * the order's own job, and a second job for one order would follow and
 * install it twice.  Refuse, naming the files, and leave them as they are.
 */
static int refuse_unreadable(lc_run *r, const char *order_id)
{
    journal_listing l = { 0 };
    journal_err je = { 0 };
    char files[1024] = "";
    size_t used = 0;
    int rc = 0;

    if (store_list(r->st, &l, &je) != JOURNAL_OK)
        return lc_fail_journal(r->err, &je);
    for (size_t i = 0; i < l.n_unreadable && used < sizeof(files); i++)
        used += (size_t)snprintf(files + used, sizeof(files) - used, "%s%s (%s)", i ? ", " : "",
                                 l.unreadable[i].file, l.unreadable[i].reason);
    if (l.n_unreadable == 1)
        rc = lc_fail(r->err, QSCD_EXIT_USAGE, "journal_unreadable",
                     "job file %s cannot be read (%s); it may belong to order %s: repair or "
                     "move it aside, then run again", l.unreadable[0].file,
                     l.unreadable[0].reason, order_id);
    else if (l.n_unreadable > 1)
        rc = lc_fail(r->err, QSCD_EXIT_USAGE, "journal_unreadable",
                     "job files %s cannot be read; one may belong to order %s: repair or move "
                     "them aside, then run again", files, order_id);
    if (rc != 0)
        r->err->needs_user = true;
    journal_listing_free(&l);
    return rc;
}

/* The job for the order, locked; created (adopting the order) when none. */
static int open_job(lc_run *r, const char *order_id)
{
    journal_err je = { 0 };
    journal_code jc;
    long id;
    char *end;
    int rc;

    id = strtol(order_id, &end, 10);
    if (*order_id == '\0' || *end != '\0' || id <= 0)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "usage",
                       "ORDER_ID: must be a positive number (got \"%s\")", order_id);
    /* Anchors before anything is asked of CertCentral or the token. */
    if ((rc = lc_anchors_ready(r->set, r->err)) != 0)
        return rc;
    jc = store_find_by_order(r->st, order_id, &r->job, &je);
    if (jc == JOURNAL_OK) {
        if (store_lock(r->st, r->job, false, &je) != JOURNAL_OK)
            return lc_fail_journal(r->err, &je);
        return 0;
    }
    if (jc != JOURNAL_ERR_NOT_FOUND)
        return lc_fail_journal(r->err, &je);
    if ((rc = refuse_unreadable(r, order_id)) != 0)
        return rc;
    return lc_adopt_order(r, id);
}

/* A resumed run holds no session: see the comment at the top. */
static void start_session_state(lc_run *r)
{
    journal_job *j = r->job;

    if (j->order_state == LC_ORDER_CERTIFICATE_READY && j->device_state == LC_DEV_VERIFIED)
        r->dev = LC_DEV_VERIFIED;
    else
        r->dev = LC_DEV_TOKEN_ABSENT;
}

void lc_set_device(lc_run *r, enum lifecycle_device_state s)
{
    r->dev = s;
    r->job->device_state = s;
}

static void record_outcome(lc_run *r, int rc)
{
    journal_err je = { 0 };

    if (!store_job_locked(r->st, r->job))
        return;
    if (rc == 0)
        journal_set_error(r->job, NULL, NULL);
    else
        journal_set_error(r->job, r->err->code, r->err->message);
    if (store_commit(r->st, r->job, &je) != JOURNAL_OK)
        lc_warn(r, "%s", je.message);
    lc_audit(r, "provision", rc == 0 ? "ok" : rc == QSCD_EXIT_NOT_READY ? "not_ready" :
             rc == QSCD_EXIT_REJECTED ? "rejected" : "error", rc ? r->err->message : NULL);
}

int lifecycle_provision(const lifecycle_settings *set, const lifecycle_reporter *rep,
                        const char *order_id, const lifecycle_opts *opts,
                        journal_job **job_out, lifecycle_err *err)
{
    lc_run r = { .set = set, .rep = lc_reporter(rep), .opts = opts, .err = err };
    int rc;

    memset(err, 0, sizeof(*err));
    if (job_out != NULL)
        *job_out = NULL;
    if (order_id == NULL || (set->state_dir == NULL && set->state_db == NULL))
        return lc_fail(err, QSCD_EXIT_USAGE, "usage", "provision: no order id or state dir");
    lc_signals_install();
    rc = lc_store_open(&r);
    if (rc == 0)
        rc = open_job(&r, order_id);
    if (rc != 0)
        goto out;
    if (opts->generate_key && !r.job->generate_key && !r.job->reissued) {
        r.job->generate_key = true;
        if ((rc = lc_commit(&r)) != 0)
            goto out;
    }
    start_session_state(&r);
    rc = run_loop(&r);
    if (rc == 0)
        lc_say(&r, "ready: certificate %s (sha256 %s) verified on %s",
               r.job->cert_serial ? r.job->cert_serial : "?",
               r.job->cert_sha256 ? r.job->cert_sha256 : "?",
               r.job->token.label ? r.job->token.label : "the token");
    record_outcome(&r, rc);
out:
    if (r.rep->resumed != NULL)
        r.rep->resumed(r.rep->ctx);
    if (job_out != NULL) {
        *job_out = r.job;     /* still locked: the caller's free unlocks */
        r.job = NULL;
    }
    lc_run_close(&r);
    lc_signals_restore();
    return rc;
}
