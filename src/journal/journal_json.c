/*
 * The journal's file format: a job to JSON text and back (docs/lifecycle.md,
 * "The job file").  Reading is strict about kinds and states and names the
 * field that is wrong; unknown fields are ignored so that an older reader of
 * the same schema still works.
 */
#include "journal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void journal_format_time(time_t t, char out[32])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static bool parse_time(const char *s, time_t *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return false;
    *out = timegm(&tm);
    return true;
}

journal_code journal_set(char **field, const char *value)
{
    char *copy = NULL;

    if (value != NULL && (copy = strdup(value)) == NULL)
        return JOURNAL_ERR_NOMEM;
    free(*field);
    *field = copy;
    return JOURNAL_OK;
}

unsigned journal_job_facts(const journal_job *job)
{
    unsigned facts = 0;

    if (job->token.serial != NULL)
        facts |= LC_F_TOKEN_BOUND;
    if (job->generate_key && !job->reissued)
        facts |= LC_F_REKEY;
    return facts;
}

/* --- writing ------------------------------------------------------------- */

static void add_str(cJSON *obj, const char *key, const char *value)
{
    if (value != NULL)
        cJSON_AddStringToObject(obj, key, value);
    else
        cJSON_AddNullToObject(obj, key);
}

static void add_time(cJSON *obj, const char *key, time_t t)
{
    char buf[32];

    if (t == 0) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    journal_format_time(t, buf);
    cJSON_AddStringToObject(obj, key, buf);
}

static const char *const rekey_steps[] = { NULL, "keygen", "reissue" };

/* Optional ("rekey" absent while no step is in hand): schema 1 readers skip it. */
static void add_rekey(cJSON *dev, const journal_job *job)
{
    cJSON *o;

    if (job->rekey_step == JOURNAL_REKEY_NONE ||
        (o = cJSON_AddObjectToObject(dev, "rekey")) == NULL)
        return;
    add_str(o, "step", rekey_steps[job->rekey_step]);
    add_str(o, "after_request", job->rekey_after_request);
    add_str(o, "csr_sha256", job->rekey_csr_sha256);
    add_time(o, "at", job->rekey_at);
}

/* Optional ("test_signature" absent until one is made): schema 1 readers skip it. */
static void add_test_signature(cJSON *dev, const journal_job *job)
{
    cJSON *o;

    if (job->test_signature == NULL ||
        (o = cJSON_AddObjectToObject(dev, "test_signature")) == NULL)
        return;
    add_str(o, "result", job->test_signature);
    add_str(o, "mechanism", job->test_signature_alg);
    add_time(o, "at", job->test_signature_at);
}

static void add_device(cJSON *root, const journal_job *job)
{
    cJSON *dev = cJSON_AddObjectToObject(root, "device");
    cJSON *tok;

    if (dev == NULL)
        return;
    add_str(dev, "state", lifecycle_device_state_name(job->device_state));
    if (job->token.serial == NULL) {
        cJSON_AddNullToObject(dev, "token");
    } else if ((tok = cJSON_AddObjectToObject(dev, "token")) != NULL) {
        add_str(tok, "serial", job->token.serial);
        add_str(tok, "manufacturer", job->token.manufacturer);
        add_str(tok, "model", job->token.model);
        add_str(tok, "label", job->token.label);
        add_str(tok, "uri", job->token.uri);
    }
    add_str(dev, "key_id", job->key_id_hex);
    cJSON_AddBoolToObject(dev, "generate_key", job->generate_key);
    cJSON_AddBoolToObject(dev, "reissued", job->reissued);
    add_rekey(dev, job);
    add_test_signature(dev, job);
}

static void add_transitions(cJSON *root, const journal_job *job)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "transitions");

    for (size_t i = 0; arr != NULL && i < job->n_transitions; i++) {
        const journal_transition *t = &job->transitions[i];
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return;
        }
        add_str(o, "side", t->device ? "device" : "order");
        add_str(o, "state", t->device ? lifecycle_device_state_name(t->state)
                                      : lifecycle_order_state_name(t->state));
        add_time(o, "at", t->at);
    }
}

static void add_sections(cJSON *root, const journal_job *job)
{
    cJSON *o;

    if ((o = cJSON_AddObjectToObject(root, "order")) != NULL) {
        add_str(o, "state", lifecycle_order_state_name(job->order_state));
        add_str(o, "id", job->order_id);
        add_str(o, "request_id", job->request_id);
        add_str(o, "certificate_id", job->certificate_id);
    }
    if ((o = cJSON_AddObjectToObject(root, "request")) != NULL) {
        add_str(o, "product", job->product);
        add_str(o, "organization_id", job->organization_id);
        add_time(o, "created", job->request_created);
        if (job->request_sha256 != NULL)   /* optional: schema 1 readers ignore it */
            add_str(o, "sha256", job->request_sha256);
    }
    add_device(root, job);
    if ((o = cJSON_AddObjectToObject(root, "certificate")) != NULL) {
        add_str(o, "serial", job->cert_serial);
        add_str(o, "sha256", job->cert_sha256);
    }
    if (job->error_code == NULL && job->error_message == NULL) {
        cJSON_AddNullToObject(root, "last_error");
    } else if ((o = cJSON_AddObjectToObject(root, "last_error")) != NULL) {
        add_str(o, "code", job->error_code);
        add_str(o, "message", job->error_message);
        add_time(o, "at", job->error_at);
    }
}

/* Optional ("remote" absent until a refresh wrote it): schema 1 readers skip it. */
static int add_remote(cJSON *root, const journal_job *job)
{
    cJSON *o;

    if (job->remote_status == NULL)
        return 0;
    if ((o = cJSON_AddObjectToObject(root, "remote")) == NULL)
        return 1;   /* counted as missing below */
    add_str(o, "status", job->remote_status);
    add_str(o, "certificate_id", job->remote_certificate_id);
    add_time(o, "since", job->remote_since);
    add_time(o, "checked", job->remote_checked);
    return 1;
}

char *journal_job_to_json(const journal_job *job)
{
    cJSON *root;
    char *text;
    int extra;

    if (job == NULL || (root = cJSON_CreateObject()) == NULL)
        return NULL;
    cJSON_AddNumberToObject(root, "schema", JOURNAL_SCHEMA);
    add_str(root, "ref", job->ref);
    add_time(root, "created", job->created);
    add_time(root, "updated", job->updated);
    add_sections(root, job);
    add_transitions(root, job);
    extra = add_remote(root, job);
    /* cJSON drops members silently when out of memory: count what we built. */
    text = cJSON_GetArraySize(root) == 10 + extra ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* --- reading ------------------------------------------------------------- */

/* Reader state: the first problem found wins, later calls become no-ops. */
struct rd {
    const char  *name;
    journal_err *err;
    journal_code rc;
};

__attribute__((format(printf, 3, 4)))
static void rd_fail(struct rd *r, journal_code code, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->rc != JOURNAL_OK)
        return;
    r->rc = code;
    if (r->err == NULL)
        return;
    r->err->code = code;
    r->err->retryable = false;
    n = snprintf(r->err->message, sizeof(r->err->message), "job file %s: ", r->name);
    if (n < 0 || (size_t)n >= sizeof(r->err->message))
        return;
    va_start(ap, fmt);
    vsnprintf(r->err->message + n, sizeof(r->err->message) - (size_t)n, fmt, ap);
    va_end(ap);
}

static const cJSON *rd_item(struct rd *r, const cJSON *obj, const char *sect, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (r->rc != JOURNAL_OK || it == NULL || cJSON_IsNull(it))
        return NULL;
    if (!cJSON_IsString(it)) {
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"%s%s%s\" must be a string", sect, *sect ? "." : "", key);
        return NULL;
    }
    return it;
}

static void rd_str(struct rd *r, const cJSON *obj, const char *sect, const char *key, char **out)
{
    const cJSON *it = rd_item(r, obj, sect, key);

    if (it != NULL && journal_set(out, it->valuestring) != JOURNAL_OK)
        rd_fail(r, JOURNAL_ERR_NOMEM, "out of memory");
}

static void rd_time(struct rd *r, const cJSON *obj, const char *sect, const char *key, time_t *out)
{
    const cJSON *it = rd_item(r, obj, sect, key);

    if (it != NULL && !parse_time(it->valuestring, out))
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"%s%s%s\": not a time like 2024-05-01T12:00:00Z (got \"%s\")",
                sect, *sect ? "." : "", key, it->valuestring);
}

static void rd_bool(struct rd *r, const cJSON *obj, const char *sect, const char *key, bool *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (r->rc != JOURNAL_OK || it == NULL)
        return;
    if (!cJSON_IsBool(it))
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"%s.%s\" must be true or false", sect, key);
    else
        *out = cJSON_IsTrue(it);
}

/* A section that is absent or null reads as empty; anything else is corrupt. */
static const cJSON *rd_obj(struct rd *r, const cJSON *root, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);

    if (r->rc != JOURNAL_OK || it == NULL || cJSON_IsNull(it))
        return NULL;
    if (!cJSON_IsObject(it)) {
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"%s\" must be an object", key);
        return NULL;
    }
    return it;
}

static int rd_state(struct rd *r, const cJSON *obj, const char *sect, bool device)
{
    const cJSON *it = rd_item(r, obj, sect, "state");
    enum lifecycle_order_state os;
    enum lifecycle_device_state ds;

    if (r->rc != JOURNAL_OK)
        return -1;
    if (it == NULL) {
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"%s.state\" is missing", sect);
        return -1;
    }
    if (device ? lifecycle_device_state_parse(it->valuestring, &ds)
               : lifecycle_order_state_parse(it->valuestring, &os))
        return device ? (int)ds : (int)os;
    rd_fail(r, JOURNAL_ERR_CORRUPT, "\"%s.state\": \"%s\" is not a known %s state",
            sect, it->valuestring, sect);
    return -1;
}

bool journal_ref_valid(const char *ref)
{
    if (ref == NULL || strlen(ref) != JOURNAL_REF_LEN || strncmp(ref, "job-", 4) != 0)
        return false;
    for (const char *p = ref + 4; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            return false;
    return true;
}

static void rd_transition(struct rd *r, const cJSON *o, journal_transition *t)
{
    const cJSON *side = rd_item(r, o, "transitions[]", "side");
    const cJSON *state = rd_item(r, o, "transitions[]", "state");
    enum lifecycle_order_state os;
    enum lifecycle_device_state ds;

    if (r->rc != JOURNAL_OK)
        return;
    if (side == NULL || state == NULL) {
        rd_fail(r, JOURNAL_ERR_CORRUPT, "a transition lacks \"side\" or \"state\"");
        return;
    }
    t->device = strcmp(side->valuestring, "device") == 0;
    if (!t->device && strcmp(side->valuestring, "order") != 0)
        rd_fail(r, JOURNAL_ERR_CORRUPT, "transition side \"%s\": must be order or device",
                side->valuestring);
    else if (t->device ? !lifecycle_device_state_parse(state->valuestring, &ds)
                       : !lifecycle_order_state_parse(state->valuestring, &os))
        rd_fail(r, JOURNAL_ERR_CORRUPT, "transition state \"%s\" is not a known %s state",
                state->valuestring, side->valuestring);
    else
        t->state = t->device ? (int)ds : (int)os;
    rd_time(r, o, "transitions[]", "at", &t->at);
}

static void rd_transitions(struct rd *r, const cJSON *root, journal_job *job)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "transitions");
    const cJSON *o;
    size_t n;

    if (r->rc != JOURNAL_OK || arr == NULL || cJSON_IsNull(arr))
        return;
    if (!cJSON_IsArray(arr)) {
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"transitions\" must be an array");
        return;
    }
    n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0)
        return;
    if ((job->transitions = calloc(n, sizeof(*job->transitions))) == NULL) {
        rd_fail(r, JOURNAL_ERR_NOMEM, "out of memory");
        return;
    }
    cJSON_ArrayForEach(o, arr) {
        if (!cJSON_IsObject(o))
            rd_fail(r, JOURNAL_ERR_CORRUPT, "\"transitions\" entries must be objects");
        rd_transition(r, o, &job->transitions[job->n_transitions++]);
    }
}

static void rd_rekey(struct rd *r, const cJSON *dev, journal_job *job)
{
    const cJSON *o = dev != NULL ? rd_obj(r, dev, "rekey") : NULL;
    char *step = NULL;

    if (o == NULL)
        return;
    rd_str(r, o, "device.rekey", "step", &step);
    for (size_t i = 1; step != NULL && i < sizeof(rekey_steps) / sizeof(rekey_steps[0]); i++)
        if (strcmp(step, rekey_steps[i]) == 0)
            job->rekey_step = (enum journal_rekey_step)i;
    if (r->rc == JOURNAL_OK && job->rekey_step == JOURNAL_REKEY_NONE)
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"device.rekey.step\" must be keygen or reissue (got %s%s%s)",
                step ? "\"" : "", step ? step : "nothing", step ? "\"" : "");
    free(step);
    rd_str(r, o, "device.rekey", "after_request", &job->rekey_after_request);
    rd_str(r, o, "device.rekey", "csr_sha256", &job->rekey_csr_sha256);
    rd_time(r, o, "device.rekey", "at", &job->rekey_at);
}

static void rd_test_signature(struct rd *r, const cJSON *dev, journal_job *job)
{
    const cJSON *o = dev != NULL ? rd_obj(r, dev, "test_signature") : NULL;

    if (o == NULL)
        return;
    rd_str(r, o, "device.test_signature", "result", &job->test_signature);
    rd_str(r, o, "device.test_signature", "mechanism", &job->test_signature_alg);
    rd_time(r, o, "device.test_signature", "at", &job->test_signature_at);
}

static void rd_sections(struct rd *r, const cJSON *root, journal_job *job)
{
    const cJSON *o = rd_obj(r, root, "order");

    job->order_state = (enum lifecycle_order_state)rd_state(r, o, "order", false);
    rd_str(r, o, "order", "id", &job->order_id);
    rd_str(r, o, "order", "request_id", &job->request_id);
    rd_str(r, o, "order", "certificate_id", &job->certificate_id);
    o = rd_obj(r, root, "request");
    rd_str(r, o, "request", "product", &job->product);
    rd_str(r, o, "request", "organization_id", &job->organization_id);
    rd_time(r, o, "request", "created", &job->request_created);
    rd_str(r, o, "request", "sha256", &job->request_sha256);
    o = rd_obj(r, root, "device");
    job->device_state = (enum lifecycle_device_state)rd_state(r, o, "device", true);
    rd_str(r, o, "device", "key_id", &job->key_id_hex);
    rd_bool(r, o, "device", "generate_key", &job->generate_key);
    rd_bool(r, o, "device", "reissued", &job->reissued);
    rd_rekey(r, o, job);
    rd_test_signature(r, o, job);
    o = o != NULL ? rd_obj(r, o, "token") : NULL;
    rd_str(r, o, "device.token", "serial", &job->token.serial);
    rd_str(r, o, "device.token", "manufacturer", &job->token.manufacturer);
    rd_str(r, o, "device.token", "model", &job->token.model);
    rd_str(r, o, "device.token", "label", &job->token.label);
    rd_str(r, o, "device.token", "uri", &job->token.uri);
    o = rd_obj(r, root, "certificate");
    rd_str(r, o, "certificate", "serial", &job->cert_serial);
    rd_str(r, o, "certificate", "sha256", &job->cert_sha256);
    o = rd_obj(r, root, "last_error");
    rd_str(r, o, "last_error", "code", &job->error_code);
    rd_str(r, o, "last_error", "message", &job->error_message);
    rd_time(r, o, "last_error", "at", &job->error_at);
    o = rd_obj(r, root, "remote");
    rd_str(r, o, "remote", "status", &job->remote_status);
    rd_str(r, o, "remote", "certificate_id", &job->remote_certificate_id);
    rd_time(r, o, "remote", "since", &job->remote_since);
    rd_time(r, o, "remote", "checked", &job->remote_checked);
}

static void rd_schema(struct rd *r, const cJSON *root)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "schema");

    if (s == NULL)
        rd_fail(r, JOURNAL_ERR_CORRUPT, "no \"schema\" field; not a qscd-agent job file?");
    else if (!cJSON_IsNumber(s) || s->valuedouble < 1 || s->valuedouble != (double)s->valueint)
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"schema\" must be a positive integer");
    else if (s->valueint > JOURNAL_SCHEMA)
        rd_fail(r, JOURNAL_ERR_VERSION,
                "schema %d is newer than this qscd-agent understands (it reads schema %d); "
                "use a newer qscd-agent for this job", s->valueint, JOURNAL_SCHEMA);
}

static void rd_root(struct rd *r, const cJSON *root, journal_job *job)
{
    const cJSON *ref;

    if (!cJSON_IsObject(root)) {
        rd_fail(r, JOURNAL_ERR_CORRUPT, "not a JSON object");
        return;
    }
    rd_schema(r, root);
    ref = rd_item(r, root, "", "ref");
    if (r->rc == JOURNAL_OK && (ref == NULL || !journal_ref_valid(ref->valuestring)))
        rd_fail(r, JOURNAL_ERR_CORRUPT, "\"ref\" must be \"job-\" and 16 hex digits");
    if (r->rc == JOURNAL_OK)
        memcpy(job->ref, ref->valuestring, JOURNAL_REF_LEN + 1);
    rd_time(r, root, "", "created", &job->created);
    rd_time(r, root, "", "updated", &job->updated);
    rd_sections(r, root, job);
    rd_transitions(r, root, job);
}

static int error_line(const char *text, const char *at)
{
    int line = 1;

    for (const char *p = text; at != NULL && p < at && *p; p++)
        if (*p == '\n')
            line++;
    return line;
}

journal_code journal_job_from_json(const char *text, const char *name, journal_job **out,
                                   journal_err *err)
{
    struct rd r = { name != NULL ? name : "(journal)", err, JOURNAL_OK };
    const char *end = NULL;
    journal_job *job;
    cJSON *root;

    *out = NULL;
    root = cJSON_ParseWithOpts(text, &end, true);
    if (root == NULL) {
        rd_fail(&r, JOURNAL_ERR_CORRUPT, "not valid JSON at line %d", error_line(text, end));
        return r.rc;
    }
    if ((job = calloc(1, sizeof(*job))) == NULL) {
        cJSON_Delete(root);
        rd_fail(&r, JOURNAL_ERR_NOMEM, "out of memory");
        return r.rc;
    }
    job->lock_fd = -1;
    rd_root(&r, root, job);
    cJSON_Delete(root);
    if (r.rc != JOURNAL_OK) {
        journal_job_free(job);
        return r.rc;
    }
    job->committed_order = (int)job->order_state;
    job->committed_device = (int)job->device_state;
    *out = job;
    return JOURNAL_OK;
}
