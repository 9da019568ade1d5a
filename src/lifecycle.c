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

#include "audit.h"
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
    int ec;

    switch (oe->code) {
    case ORDER_ERR_INVALID:   ec = QSCD_EXIT_USAGE; break;
    case ORDER_ERR_IO:        ec = QSCD_EXIT_USAGE; break;
    case ORDER_ERR_REJECTED:  ec = QSCD_EXIT_REJECTED; break;
    case ORDER_ERR_TIMEOUT:
    case ORDER_ERR_INTERRUPTED:
    case ORDER_ERR_NOT_READY: ec = QSCD_EXIT_NOT_READY; break;
    default:                  ec = QSCD_EXIT_API; break;
    }
    lc_fail(err, ec, order_code_name(oe->code), "%s: %s", what, oe->message);
    err->retryable = oe->retryable || ec == QSCD_EXIT_NOT_READY;
    return ec;
}

int lc_fail_token(lifecycle_err *err, const token_err *te, const char *what)
{
    int ec;

    switch (te->code) {
    case TOKEN_ERR_ABSENT:
    case TOKEN_ERR_TIMEOUT:   ec = QSCD_EXIT_NOT_READY; break;
    case TOKEN_ERR_INVALID:
    case TOKEN_ERR_AMBIGUOUS: ec = QSCD_EXIT_USAGE; break;
    case TOKEN_ERR_MISMATCH:  ec = QSCD_EXIT_VERIFY; break;
    default:                  ec = QSCD_EXIT_TOKEN; break;
    }
    lc_fail(err, ec, token_code_name(te->code), "%s: %s", what,
            te->message[0] ? te->message : token_code_name(te->code));
    err->retryable = te->retryable;
    err->needs_user = te->needs_user;
    return ec;
}

int lc_fail_journal(lifecycle_err *err, const journal_err *je)
{
    int ec = je->code == JOURNAL_ERR_BUSY ? QSCD_EXIT_NOT_READY : QSCD_EXIT_USAGE;

    return lc_fail(err, ec, je->code == JOURNAL_ERR_BUSY ? "journal_busy" : "journal",
                   "%s", je->message);
}

int lc_commit(lc_run *r)
{
    journal_err je = { 0 };

    if (journal_commit(r->dir, r->job, &je) != JOURNAL_OK)
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

void lc_say_as(const lc_run *r, const char *prefix, const char *line)
{
    if (r->cfg->quiet)
        return;
    cli_progress_end(r->progress);
    fprintf(stderr, "%s %s\n", prefix, line);
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
    if (r->progress == NULL)
        return;
    job_prefix(r, r->progress->prefix, sizeof(r->progress->prefix));
    cli_progress_wait(r->progress, state, waited_s, next_s);
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
    if (audit_record(r->dir, &e, &ae) != AUDIT_OK)
        cli_warn("audit log: %s", ae.message);
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
    journal_job_free(r->job);
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

/* Run every due step; 0 when the job is ready. */
static int run_loop(lc_run *r)
{
    const char *done = "resuming the job";

    for (int step = 0; step < LC_MAX_STEPS; step++) {
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
        if (r->cfg->verbose)
            lc_say(r, "next: %s (%s)", name, t->what);
        rc = perform(r, t);
        cli_progress_end(r->progress);
        if (rc != 0)
            return rc;
        lc_audit(r, name, "ok", NULL);
        done = name;
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

    if (journal_list(r->dir, &l, &je) != JOURNAL_OK)
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
    jc = journal_find_by_order(r->dir, order_id, &r->job, &je);
    if (jc == JOURNAL_OK) {
        if (journal_lock(r->dir, r->job, false, &je) != JOURNAL_OK)
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

    if (r->job == NULL || r->job->lock_fd < 0)
        return;
    if (rc == 0)
        journal_set_error(r->job, NULL, NULL);
    else
        journal_set_error(r->job, r->err->code, r->err->message);
    if (journal_commit(r->dir, r->job, &je) != JOURNAL_OK)
        cli_warn("%s", je.message);
    lc_audit(r, "provision", rc == 0 ? "ok" : rc == QSCD_EXIT_NOT_READY ? "not_ready" :
             rc == QSCD_EXIT_REJECTED ? "rejected" : "error", rc ? r->err->message : NULL);
}

static void print_result(lc_run *r, int rc)
{
    char *text;

    if (r->cfg->json && r->job != NULL) {
        cJSON *o = cJSON_CreateObject();
        cJSON *job = NULL;

        text = journal_job_to_json(r->job);
        if (text != NULL)
            job = cJSON_Parse(text);
        free(text);
        cJSON_AddBoolToObject(o, "ready", rc == 0);
        cJSON_AddNumberToObject(o, "exit_code", rc);
        if (rc != 0)
            cJSON_AddStringToObject(o, "error", r->err->message);
        if (job != NULL)
            cJSON_AddItemToObject(o, "job", job);
        text = cJSON_Print(o);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else if (rc == 0 && r->job != NULL) {
        printf("order %s: ready: certificate %s installed on token %s (serial %s)\n",
               r->job->order_id, r->job->cert_serial ? r->job->cert_serial : "?",
               r->job->token.label ? r->job->token.label : "?",
               r->job->token.serial ? r->job->token.serial : "?");
    }
}

int lifecycle_provision(const cli_config *cfg, const char *order_id,
                        const lifecycle_opts *opts, lifecycle_err *err)
{
    cli_progress progress;
    lc_run r = { .cfg = cfg, .opts = opts, .dir = cfg->state_dir, .err = err,
                 .progress = &progress };
    int rc;

    memset(err, 0, sizeof(*err));
    cli_progress_init(&progress, cfg, NULL);
    if (order_id == NULL || cfg->state_dir == NULL)
        return lc_fail(err, QSCD_EXIT_USAGE, "usage", "provision: no order id or state dir");
    lc_signals_install();
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
    cli_progress_end(&progress);
    print_result(&r, rc);
    lc_run_close(&r);
    lc_signals_restore();
    return rc;
}
