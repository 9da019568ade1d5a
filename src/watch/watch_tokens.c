/*
 * The tokens the watcher knows of: arrivals and departures between two
 * scans, the decision for each arrival (watch_match.c), a worker per
 * decision, and what each worker's end means for its token.
 */
#include "watch_int.h"
#include "monotonic.h"

#include "exit_codes.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_LIMIT_S 60   /* a module that hangs longer than this is reported */

static tracked *find_tracked(watch_state *ws, const char *key)
{
    for (size_t i = 0; i < ws->n_tr; i++)
        if (strcmp(ws->tr[i].tok.key, key) == 0)
            return &ws->tr[i];
    return NULL;
}

static watch_worker *worker_for(watch_state *ws, const char *key)
{
    for (size_t i = 0; i < ws->n_wk; i++)
        if (strcmp(ws->wk[i].token_key, key) == 0)
            return &ws->wk[i];
    return NULL;
}

static const char *match_how(watch_match_kind k)
{
    switch (k) {
    case WATCH_MATCH_KEY:    return "its key is in the order's certificate";
    case WATCH_MATCH_SERIAL: return "the job is bound to its serial";
    case WATCH_MATCH_NEXT:   return "--assign-next: blank token, oldest approved job "
                                    "waiting for a key";
    default:                 return "";
    }
}

static void start_worker(watch_state *ws, tracked *tr, const watch_match *m)
{
    watch_spawn sp = { 0 };
    watch_worker *nw, w;
    char spec[64], err[1024];
    int pin_fd = -1;
    bool typed = false;

    if (!watch_pin_for(ws->pin, &tr->tok, spec, sizeof(spec), &pin_fd, &typed, err,
                       sizeof(err))) {
        watch_emit(ws, "pin_unavailable", &tr->tok, m->order_id, QSCD_EXIT_USAGE,
                   "order %s: no PIN: %s; left untouched", m->order_id, err);
        tr->state = TR_HANDLED;
        return;
    }
    sp.order_id = m->order_id;
    sp.token_uri = tr->tok.uri;
    sp.generate_key = m->generate_key;
    sp.allow_final_try = ws->opts->allow_final_try;
    sp.retry_pin = typed;
    sp.pin_spec = spec;
    sp.pin_fd = pin_fd;
    sp.env_apikey = watch_matcher_env_apikey(ws->matcher);
    nw = realloc(ws->wk, (ws->n_wk + 1) * sizeof(*nw));
    if (nw == NULL || watch_worker_start(ws->set, &sp, &w, err, sizeof(err)) != 0) {
        if (nw != NULL)
            ws->wk = nw;
        watch_emit(ws, "worker_failed", &tr->tok, m->order_id, QSCD_EXIT_USAGE,
                   "order %s: %s", m->order_id, nw ? err : "out of memory");
        tr->state = TR_HANDLED;
    } else {
        ws->wk = nw;
        snprintf(w.token_key, sizeof(w.token_key), "%s", tr->tok.key);
        if (watch_token_copy(&tr->tok, &w.token) != 0)
            watch_token_clear(&w.token);
        ws->wk[ws->n_wk++] = w;
        tr->state = TR_RUNNING;
    }
    if (pin_fd >= 0)
        close(pin_fd);
}

static void busy_list(const watch_state *ws, const char **busy)
{
    for (size_t i = 0; i < ws->n_wk; i++)
        busy[i] = ws->wk[i].order_id;
}

static void assign(watch_state *ws, tracked *tr)
{
    const char **busy = calloc(ws->n_wk + 1, sizeof(*busy));
    watch_match m;
    int rc;

    if (busy == NULL)
        return;
    busy_list(ws, busy);
    rc = watch_match_token(ws->matcher, ws->set, &tr->tok, ws->opts->assign_next, busy,
                           ws->n_wk, &m);
    free(busy);
    if (rc != 0) {
        watch_emit(ws, "error", &tr->tok, NULL, rc, "cannot look up its job: %s; left untouched",
                   m.reason);
        tr->state = TR_HANDLED;
        return;
    }
    switch (m.kind) {
    case WATCH_MATCH_NONE:
        watch_emit(ws, "token_unassigned", &tr->tok, NULL, -1,
                   "unassigned: %s; left untouched", m.reason);
        watch_audit(ws, "watch unassigned", &tr->tok, NULL, "unassigned", m.reason);
        tr->state = TR_HANDLED;
        break;
    case WATCH_MATCH_DONE:
        watch_emit(ws, "token_done", &tr->tok, m.order_id, 0,
                   "belongs to order %s, which is provisioned already: nothing to do",
                   m.order_id);
        tr->state = TR_HANDLED;
        break;
    case WATCH_MATCH_BUSY:
        if (!tr->said_busy)
            watch_emit(ws, "token_waiting", &tr->tok, m.order_id, -1,
                       "belongs to order %s, which a worker is still on: waiting", m.order_id);
        tr->said_busy = true;
        tr->state = TR_PENDING;
        break;
    default:
        watch_emit(ws, "token_assigned", &tr->tok, m.order_id, -1,
                   "belongs to order %s (%s) \xe2\x86\x92 provisioning", m.order_id,
                   match_how(m.kind));
        watch_audit(ws, "watch assign", &tr->tok, m.order_id, "ok", NULL);
        start_worker(ws, tr, &m);
        break;
    }
}

/* A SIGINT at one token's PIN prompt is seen by the event loop only after
 * this scan round: the tokens after it in the round must not be prompted. */
static bool stop_coming(const watch_state *ws)
{
    return ws->stopping || watch_signal_stop_asked();
}

static void arrive(watch_state *ws, const watch_token *t)
{
    tracked *nt = realloc(ws->tr, (ws->n_tr + 1) * sizeof(*nt)), *tr;

    if (nt == NULL)
        return;
    ws->tr = nt;
    tr = &ws->tr[ws->n_tr];
    memset(tr, 0, sizeof(*tr));
    if (watch_token_copy(t, &tr->tok) != 0) {
        watch_token_clear(&tr->tok);
        return;
    }
    ws->n_tr++;
    tr->seen = true;
    if (!tr->tok.recognised) {
        watch_emit(ws, "card_unrecognized", &tr->tok, NULL, -1,
                   "arrived: token not recognized by the PKCS#11 module; left untouched");
        watch_audit(ws, "watch card arrived", &tr->tok, NULL, "unrecognized",
                    "token not recognized");
        tr->state = TR_HANDLED;
        return;
    }
    watch_emit(ws, "token_arrived", &tr->tok, NULL, -1, "arrived");
    watch_audit(ws, "watch token arrived", &tr->tok, NULL, "ok", NULL);
    assign(ws, &ws->tr[ws->n_tr - 1]);
}

static void leave(watch_state *ws, size_t i)
{
    tracked *tr = &ws->tr[i];
    watch_worker *w = worker_for(ws, tr->tok.key);

    if (w != NULL && !w->exited) {
        watch_emit(ws, "token_removed", &tr->tok, w->order_id, -1,
                   "removed while order %s was being provisioned; the job is kept and "
                   "resumes when the token is plugged in again", w->order_id);
        /* Its worker may be waiting for the token: stop it at a safe point. */
        if (!w->term_sent) {
            kill(w->pid, SIGTERM);
            w->term_at = monotonic_now();
        }
        w->term_sent = true;
    } else {
        watch_emit(ws, "token_left", &tr->tok, NULL, -1, "left");
    }
    watch_audit(ws, tr->tok.recognised ? "watch token left" : "watch card left", &tr->tok,
                w ? w->order_id : NULL, "ok", NULL);
    watch_token_clear(&tr->tok);
    memmove(tr, tr + 1, (ws->n_tr - i - 1) * sizeof(*tr));
    ws->n_tr--;
}

void watch_scan_round(watch_state *ws)
{
    const char **known = calloc(ws->n_tr + 1, sizeof(*known));
    watch_scan scan;

    if (known == NULL)
        return;
    for (size_t i = 0; i < ws->n_tr; i++)
        known[i] = ws->tr[i].tok.key;
    if (watch_scan_run(ws->set, known, ws->n_tr, SCAN_LIMIT_S, &scan) != 0) {
        if (strcmp(scan.error, ws->last_scan_error) != 0)
            watch_emit(ws, "scan_failed", NULL, NULL, QSCD_EXIT_TOKEN, "%s", scan.error);
        snprintf(ws->last_scan_error, sizeof(ws->last_scan_error), "%s", scan.error);
        /* A script waiting for --exit-when-idle must not wait for ever. */
        if (ws->opts->exit_when_idle && !ws->scanned && ws->rc == 0)
            ws->rc = QSCD_EXIT_TOKEN;
        ws->scanned = ws->scanned || ws->opts->exit_when_idle;
        free(known);
        return;
    }
    free(known);
    ws->last_scan_error[0] = '\0';
    ws->scanned = true;
    for (size_t i = 0; i < ws->n_tr; i++)
        ws->tr[i].seen = false;
    for (size_t i = 0; i < scan.n; i++) {
        tracked *tr = find_tracked(ws, scan.items[i].key);

        if (tr != NULL)
            tr->seen = true;
        else if (!stop_coming(ws))
            arrive(ws, &scan.items[i]);
    }
    for (size_t i = ws->n_tr; i-- > 0;)
        if (!ws->tr[i].seen)
            leave(ws, i);
    watch_scan_free(&scan);
}

void watch_retry_pending(watch_state *ws)
{
    for (size_t i = 0; i < ws->n_tr && !stop_coming(ws); i++)
        if (ws->tr[i].state == TR_PENDING)
            assign(ws, &ws->tr[i]);
}

bool watch_has_pending(const watch_state *ws)
{
    for (size_t i = 0; i < ws->n_tr; i++)
        if (ws->tr[i].state != TR_HANDLED)
            return true;
    return false;
}

/* A job stopped and later completed in the same watch counts as completed. */
static void record_outcome(watch_state *ws, const char *order_id, int code)
{
    watch_outcome *no;

    for (size_t i = 0; i < ws->n_outcomes; i++) {
        if (strcmp(ws->outcomes[i].order_id, order_id) == 0) {
            ws->outcomes[i].code = code;
            return;
        }
    }
    no = realloc(ws->outcomes, (ws->n_outcomes + 1) * sizeof(*no));
    if (no == NULL) {
        ws->rc = ws->rc ? ws->rc : code;
        return;
    }
    ws->outcomes = no;
    snprintf(no[ws->n_outcomes].order_id, sizeof(no->order_id), "%s", order_id);
    no[ws->n_outcomes++].code = code;
}

static void report_end(watch_state *ws, watch_worker *w, tracked *tr)
{
    int code = watch_worker_exit_code(w);
    char *error = watch_worker_error(w);

    if (code == 0) {
        watch_emit(ws, "provisioned", &w->token, w->order_id, 0,
                   "order %s: certificate installed and verified", w->order_id);
    } else if (tr == NULL || w->term_sent) {
        watch_emit(ws, "provision_stopped", &w->token, w->order_id, code,
                   "order %s: stopped (exit %d)%s%s; the job resumes when the token is "
                   "plugged in again", w->order_id, code, error ? ": " : "",
                   error ? error : "");
    } else {
        const char *advice = watch_pin_advice(w);

        watch_emit(ws, "provision_failed", &w->token, w->order_id, code,
                   "order %s: provisioning stopped (exit %d): %s%s%s", w->order_id, code,
                   error ? error : "see the messages above",
                   advice ? ".  To go on: " : "", advice ? advice : "");
    }
    record_outcome(ws, w->order_id, code);
    free(error);
}

int watch_outcome_rc(const watch_state *ws)
{
    for (size_t i = 0; i < ws->n_outcomes; i++)
        if (ws->outcomes[i].code != 0)
            return ws->outcomes[i].code;
    return ws->rc;
}

void watch_worker_done(watch_state *ws, size_t i)
{
    watch_worker *w = &ws->wk[i];
    tracked *tr = find_tracked(ws, w->token_key);

    report_end(ws, w, tr);
    watch_pin_worker_ended(ws->pin, w);
    /* A token plugged in again while this worker stopped waits in TR_PENDING. */
    if (tr != NULL && tr->state == TR_RUNNING)
        tr->state = TR_HANDLED;
    ws->ended++;
    watch_worker_clear(w);
    memmove(w, w + 1, (ws->n_wk - i - 1) * sizeof(*w));
    ws->n_wk--;
}

void watch_tracked_free(watch_state *ws)
{
    for (size_t i = 0; i < ws->n_tr; i++)
        watch_token_clear(&ws->tr[i].tok);
    free(ws->tr);
    ws->tr = NULL;
    ws->n_tr = 0;
}
