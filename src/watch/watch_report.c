/*
 * What the watcher tells people and scripts: one line per event on stdout
 * (text, or one JSON object per line with --json), and an audit entry for
 * each decision it takes itself (the workers audit their own steps).
 */
#include "term_text.h"
#include "watch_int.h"

#include "audit.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_token(cJSON *o, const watch_token *t)
{
    cJSON *tj;

    if (t == NULL || (tj = cJSON_AddObjectToObject(o, "token")) == NULL)
        return;
    if (t->label)
        cJSON_AddStringToObject(tj, "label", t->label);
    if (t->serial)
        cJSON_AddStringToObject(tj, "serial", t->serial);
    if (t->reader)
        cJSON_AddStringToObject(tj, "reader", t->reader);
    if (t->uri)
        cJSON_AddStringToObject(tj, "uri", t->uri);
    cJSON_AddBoolToObject(tj, "recognized", t->recognised);
}

void watch_emit(const watch_state *ws, const char *event, const watch_token *t,
                const char *order_id, int exit_code, const char *fmt, ...)
{
    char msg[2048], desc[600] = "";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ws->set->json) {
        cJSON *o = cJSON_CreateObject();
        char *text;

        cJSON_AddStringToObject(o, "event", event);
        add_token(o, t);
        if (order_id != NULL)
            cJSON_AddStringToObject(o, "order_id", order_id);
        if (exit_code >= 0)
            cJSON_AddNumberToObject(o, "exit_code", exit_code);
        cJSON_AddStringToObject(o, "message", msg);
        text = cJSON_PrintUnformatted(o);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else {
        char sd[sizeof(desc) * 4], sm[sizeof(msg) * 4];

        if (t != NULL)
            watch_token_describe(t, desc, sizeof(desc));
        term_text_escape(msg, true, sm, sizeof(sm));
        if (desc[0] != '\0')
            printf("%s: %s\n", term_text_escape(desc, false, sd, sizeof(sd)), sm);
        else
            printf("%s\n", sm);
    }
    fflush(stdout);
}

void watch_audit(const watch_state *ws, const char *action, const watch_token *t,
                 const char *order_id, const char *outcome, const char *error)
{
    audit_entry e = { 0 };
    audit_err ae = { 0 };
    journal_err je = { 0 };
    store *st = NULL;

    e.action = action;
    e.order_id = order_id;
    e.token_serial = t ? t->serial : NULL;
    e.outcome = outcome;
    e.error = error;
    if (lifecycle_store_open(&ws->set->core, &st, &je) != JOURNAL_OK)
        watch_warn("audit log: %s", je.message);
    else if (store_audit_append(st, &e, &ae) != AUDIT_OK)
        watch_warn("audit log: %s", ae.message);
    store_close(st);
}

static void say(const char *kind, const char *fmt, va_list ap)
{
    char msg[2048], safe[4 * sizeof(msg)];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "qscd-agent: %s: %s\n", kind, term_text_escape(msg, true, safe, sizeof(safe)));
}

void watch_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say("error", fmt, ap);
    va_end(ap);
}

void watch_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say("warning", fmt, ap);
    va_end(ap);
}
