/*
 * The audit log, STATE/audit.log: one JSON object per line.  See
 * include/audit.h.
 */
#include "audit.h"
#include "durable_file.h"
#include "journal_int.h"
#include "state_layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_TEXT_MAX 1024   /* longer error texts are cut: lines stay short */

__attribute__((format(printf, 3, 4)))
static audit_code fail(audit_err *err, audit_code code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* mkdir -p, 0700 for what it creates (the state dir may not exist yet). */
static audit_code make_dirs(const char *path, audit_err *err)
{
    char *copy = strdup(path);
    audit_code rc = AUDIT_OK;

    if (copy == NULL)
        return fail(err, AUDIT_ERR_NOMEM, "out of memory");
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            rc = fail(err, AUDIT_ERR_IO, "state directory %s: cannot create %s: %s",
                      path, copy, strerror(errno));
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(copy);
    return rc;
}

static void add_str(cJSON *o, const char *key, const char *value)
{
    char cut[AUDIT_TEXT_MAX + 4];

    if (value == NULL) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    if (strlen(value) > AUDIT_TEXT_MAX) {
        memcpy(cut, value, AUDIT_TEXT_MAX);
        memcpy(cut + AUDIT_TEXT_MAX, "...", 4);
        value = cut;
    }
    cJSON_AddStringToObject(o, key, value);
}

/* The line to append, "\n" included: who, where, when, then the entry. */
char *audit_format_line(const audit_entry *e)
{
    char when[32], host[256] = "", pwbuf[1024], *text, *line = NULL;
    struct passwd pw, *found = NULL;
    time_t now = time(NULL);
    struct tm tm;
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) != 0)
        found = NULL;
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    add_str(o, "time", when);
    add_str(o, "user", found != NULL ? found->pw_name : NULL);
    cJSON_AddNumberToObject(o, "uid", (double)getuid());
    add_str(o, "host", host[0] ? host : NULL);
    add_str(o, "action", e->action);
    add_str(o, "job", e->job_ref);
    add_str(o, "order_id", e->order_id);
    add_str(o, "token_serial", e->token_serial);
    add_str(o, "cert_serial", e->cert_serial);
    add_str(o, "cert_sha256", e->cert_sha256);
    add_str(o, "outcome", e->outcome);
    add_str(o, "error", e->error);
    if (e->desk != NULL)
        add_str(o, "desk", e->desk);
    text = cJSON_GetArraySize(o) == (e->desk != NULL ? 13 : 12) ? cJSON_PrintUnformatted(o)
                                                                 : NULL;
    cJSON_Delete(o);
    if (text != NULL && asprintf(&line, "%s\n", text) < 0)
        line = NULL;
    free(text);
    return line;
}

audit_code audit_record(const char *dir, const audit_entry *e, audit_err *err)
{
    char *path = NULL, *line = NULL;
    audit_code rc;
    ssize_t n;
    int fd = -1;

    if (dir == NULL || *dir == '\0' || e == NULL || e->action == NULL || e->outcome == NULL)
        return fail(err, AUDIT_ERR_INVALID, "audit_record: state directory, action and outcome are required");
    if ((rc = make_dirs(dir, err)) != AUDIT_OK)
        return rc;
    if ((path = state_audit_file(dir)) == NULL || (line = audit_format_line(e)) == NULL) {
        rc = fail(err, AUDIT_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Created here (first entry): its name in the directory is synced too. */
    bool created = true;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0) {
        rc = fail(err, AUDIT_ERR_IO, "audit log %s: %s%s", path, strerror(errno),
                  errno == ELOOP ? " (a symbolic link, never followed)" : "");
        goto out;
    }
    /* One write: O_APPEND places it whole at the end, whoever else appends. */
    do
        n = write(fd, line, strlen(line));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)strlen(line)) {
        rc = fail(err, AUDIT_ERR_IO, "audit log %s: %s", path,
                  n < 0 ? strerror(errno) : "short write (disk full?)");
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = fail(err, AUDIT_ERR_IO, "audit log %s: cannot sync: %s", path, strerror(errno));
    } else if (created) {
        durable_err de = { 0 };
        if (durable_sync_dir(dir, &de) != 0)
            rc = fail(err, AUDIT_ERR_IO, "audit log %s: cannot %s: %s", path, de.step,
                      strerror(de.errnum));
    }
out:
    if (fd >= 0)
        close(fd);
    free(line);
    free(path);
    return rc;
}

/* --- reading -------------------------------------------------------------- */

struct audit_priv {
    cJSON **docs;   /* the parsed lines: entries point into them */
    size_t  n_docs;
};

/* A string field or null; false when the field has another kind. */
static bool get_str(const cJSON *o, const char *key, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    *out = cJSON_IsString(it) ? it->valuestring : NULL;
    return it == NULL || cJSON_IsNull(it) || cJSON_IsString(it);
}

static bool entry_from_json(const cJSON *o, audit_entry *e)
{
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(o, "uid");
    bool ok = cJSON_IsObject(o);

    ok = ok && get_str(o, "time", &e->time) && get_str(o, "user", &e->user);
    ok = ok && get_str(o, "host", &e->host) && get_str(o, "action", &e->action);
    ok = ok && get_str(o, "job", &e->job_ref) && get_str(o, "order_id", &e->order_id);
    ok = ok && get_str(o, "token_serial", &e->token_serial);
    ok = ok && get_str(o, "cert_serial", &e->cert_serial);
    ok = ok && get_str(o, "cert_sha256", &e->cert_sha256);
    ok = ok && get_str(o, "outcome", &e->outcome) && get_str(o, "error", &e->error);
    ok = ok && get_str(o, "desk", &e->desk);
    e->uid = cJSON_IsNumber(uid) ? (long)uid->valuedouble : -1;
    return ok && e->time != NULL && e->action != NULL && e->outcome != NULL;
}

static bool keep_line(audit_log *log, struct audit_priv *p, cJSON *doc, const audit_entry *e)
{
    cJSON **docs = realloc(p->docs, (p->n_docs + 1) * sizeof(*docs));
    audit_entry *entries;

    if (docs == NULL)
        return false;
    p->docs = docs;
    entries = realloc(log->entries, (log->n + 1) * sizeof(*entries));
    if (entries == NULL)
        return false;
    log->entries = entries;
    docs[p->n_docs++] = doc;
    entries[log->n++] = *e;
    return true;
}

static bool note_corrupt(audit_log *log, int line)
{
    int *c = realloc(log->corrupt_lines, (log->n_corrupt + 1) * sizeof(*c));

    if (c == NULL)
        return false;
    log->corrupt_lines = c;
    c[log->n_corrupt++] = line;
    return true;
}

/* One line: kept, skipped (other order), or noted as corrupt.  False: no memory. */
static bool read_line(audit_log *log, char *text, int lineno, const char *order_id)
{
    struct audit_priv *p = log->priv;
    audit_entry e = { .line = lineno };
    cJSON *doc;

    text[strcspn(text, "\n")] = '\0';
    if (text[0] == '\0')
        return true;
    doc = cJSON_Parse(text);
    if (doc == NULL || !entry_from_json(doc, &e)) {
        cJSON_Delete(doc);
        return note_corrupt(log, lineno);
    }
    if (order_id != NULL && (e.order_id == NULL || strcmp(e.order_id, order_id) != 0)) {
        cJSON_Delete(doc);
        return true;
    }
    if (keep_line(log, p, doc, &e))
        return true;
    cJSON_Delete(doc);
    return false;
}

audit_code audit_read(const char *dir, const char *order_id, audit_log *out, audit_err *err)
{
    char *path = NULL, *line = NULL;
    size_t cap = 0;
    audit_code rc = AUDIT_OK;
    int lineno = 0;
    FILE *f = NULL;

    if (out == NULL || dir == NULL || *dir == '\0')
        return fail(err, AUDIT_ERR_INVALID, "audit_read: no state directory given");
    memset(out, 0, sizeof(*out));
    if ((out->priv = calloc(1, sizeof(struct audit_priv))) == NULL ||
        (path = state_audit_file(dir)) == NULL) {
        path = NULL;
        rc = fail(err, AUDIT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((f = jn_fopen_read(path)) == NULL) {
        if (errno != ENOENT)
            rc = fail(err, AUDIT_ERR_IO, "audit log %s: %s", path, strerror(errno));
        goto out;
    }
    while (getline(&line, &cap, f) >= 0)
        if (!read_line(out, line, ++lineno, order_id)) {
            rc = fail(err, AUDIT_ERR_NOMEM, "out of memory");
            goto out;
        }
    if (ferror(f))
        rc = fail(err, AUDIT_ERR_IO, "audit log %s: read error", path);
out:
    if (f != NULL)
        fclose(f);
    free(line);
    free(path);
    if (rc != AUDIT_OK)
        audit_log_free(out);
    return rc;
}

audit_code audit_log_start(audit_log *out, audit_err *err)
{
    memset(out, 0, sizeof(*out));
    if ((out->priv = calloc(1, sizeof(struct audit_priv))) == NULL)
        return fail(err, AUDIT_ERR_NOMEM, "out of memory");
    return AUDIT_OK;
}

audit_code audit_log_add_line(audit_log *log, char *text, int lineno, const char *order_id,
                              audit_err *err)
{
    if (log == NULL || log->priv == NULL || text == NULL)
        return fail(err, AUDIT_ERR_INVALID, "audit_log_add_line: no log or line");
    return read_line(log, text, lineno, order_id) ? AUDIT_OK
                                                  : fail(err, AUDIT_ERR_NOMEM, "out of memory");
}

void audit_log_free(audit_log *log)
{
    struct audit_priv *p;

    if (log == NULL)
        return;
    p = log->priv;
    for (size_t i = 0; p != NULL && i < p->n_docs; i++)
        cJSON_Delete(p->docs[i]);
    if (p != NULL)
        free(p->docs);
    free(p);
    free(log->entries);
    free(log->corrupt_lines);
    memset(log, 0, sizeof(*log));
}
