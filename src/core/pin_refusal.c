/*
 * Records of refused PINs in the state dir (include/pin_refusal.h): one
 * small JSON file per token, written with the journal's durable writer.
 *
 *   {"schema":1,"manufacturer":"SoftHSM project","serial":"c345f7336913ff25",
 *    "label":"QSCD-01","refused_at":"2026-12-01T17:04:07Z","source":"file",
 *    "outcome":"refused","rv":"CKR_PIN_INCORRECT"}
 */
#include "pin_refusal.h"
#include "state_layout.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_SCHEMA 1

static bool name_byte_plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-';
}

static size_t escape_part(const char *s, char *out)
{
    size_t n = 0;

    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (name_byte_plain(c)) {
            if (out)
                out[n] = (char)c;
            n++;
        } else {
            if (out)
                snprintf(out + n, 4, "%%%02X", c);
            n += 3;
        }
    }
    return n;
}

const char *pin_kind_words(pin_kind kind)
{
    switch (kind) {
    case PIN_KIND_SIGN: return "signature";
    case PIN_KIND_SO:   return "security officer";
    default:            return "user";
    }
}

static const char *kind_suffix(pin_kind kind)
{
    return kind == PIN_KIND_SIGN ? "_sign" : kind == PIN_KIND_SO ? "_so" : "";
}

char *pin_refusal_kind_file_name(pin_kind kind, const char *manufacturer, const char *serial)
{
    size_t a = escape_part(manufacturer, NULL), b = escape_part(serial, NULL);
    const char *suffix = kind_suffix(kind);
    char *name = malloc(a + 1 + b + strlen(suffix) + sizeof(".json"));

    if (name == NULL)
        return NULL;
    escape_part(manufacturer, name);
    name[a] = '_';
    escape_part(serial, name + a + 1);
    memcpy(name + a + 1 + b, suffix, strlen(suffix));
    memcpy(name + a + 1 + b + strlen(suffix), ".json", sizeof(".json"));
    return name;
}

char *pin_refusal_file_name(const char *manufacturer, const char *serial)
{
    return pin_refusal_kind_file_name(PIN_KIND_USER, manufacturer, serial);
}

char *pin_refusal_to_json(const pin_refusal *rec)
{
    cJSON *o = cJSON_CreateObject();
    char at[32], *text = NULL;

    if (o == NULL)
        return NULL;
    journal_format_time(rec->at, at);
    if (cJSON_AddNumberToObject(o, "schema", RECORD_SCHEMA) &&
        cJSON_AddStringToObject(o, "manufacturer", rec->manufacturer) &&
        cJSON_AddStringToObject(o, "serial", rec->serial) &&
        cJSON_AddStringToObject(o, "label", rec->label) &&
        cJSON_AddStringToObject(o, "refused_at", at) &&
        cJSON_AddStringToObject(o, "source", pin_source_kind_name(rec->source)) &&
        cJSON_AddStringToObject(o, "outcome", rec->outcome_unknown ? "unknown" : "refused") &&
        cJSON_AddStringToObject(o, "rv", rec->rv))
        text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

static bool get_str(const cJSON *o, const char *key, char *buf, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
        return false;
    memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

static bool parse_time(const char *s, time_t *out)
{
    struct tm tm = { 0 };
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

    if (end == NULL || *end != '\0')
        return false;
    *out = timegm(&tm);
    return true;
}

bool pin_refusal_from_json(const char *text, pin_refusal *out)
{
    cJSON *o = cJSON_Parse(text);
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(o, "schema");
    char at[32], source[16], outcome[16];
    bool ok;

    memset(out, 0, sizeof(*out));
    ok = cJSON_IsObject(o) && cJSON_IsNumber(schema) && schema->valueint == RECORD_SCHEMA &&
         get_str(o, "manufacturer", out->manufacturer, sizeof(out->manufacturer)) &&
         get_str(o, "serial", out->serial, sizeof(out->serial)) &&
         get_str(o, "label", out->label, sizeof(out->label)) &&
         get_str(o, "refused_at", at, sizeof(at)) && parse_time(at, &out->at) &&
         get_str(o, "source", source, sizeof(source)) &&
         pin_source_kind_from_name(source, &out->source) &&
         get_str(o, "outcome", outcome, sizeof(outcome)) &&
         (strcmp(outcome, "refused") == 0 || strcmp(outcome, "unknown") == 0) &&
         get_str(o, "rv", out->rv, sizeof(out->rv));
    out->outcome_unknown = ok && strcmp(outcome, "unknown") == 0;
    out->present = ok;
    cJSON_Delete(o);
    return ok;
}

journal_code pin_refusal_load_kind_in(store *st, pin_kind kind, const char *manufacturer,
                                      const char *serial, pin_refusal *out, journal_err *err)
{
    char *name = pin_refusal_kind_file_name(kind, manufacturer, serial), *text = NULL;
    journal_code rc;

    memset(out, 0, sizeof(*out));
    if (name == NULL)
        return JOURNAL_ERR_NOMEM;
    rc = store_read_file(st, STATE_PIN_REFUSED, name, &text, err);
    if (rc == JOURNAL_ERR_NOT_FOUND) {
        rc = JOURNAL_OK;
    } else if (rc == JOURNAL_OK && !pin_refusal_from_json(text, out)) {
        /* Kept as a refusal: a damaged record must not re-open the door. */
        memset(out, 0, sizeof(*out));
        out->present = out->unreadable = true;
        snprintf(out->manufacturer, sizeof(out->manufacturer), "%s", manufacturer);
        snprintf(out->serial, sizeof(out->serial), "%s", serial);
        snprintf(out->rv, sizeof(out->rv), "?");
    }
    out->kind = kind;
    free(text);
    free(name);
    return rc;
}

journal_code pin_refusal_load_in(store *st, const char *manufacturer, const char *serial,
                                 pin_refusal *out, journal_err *err)
{
    return pin_refusal_load_kind_in(st, PIN_KIND_USER, manufacturer, serial, out, err);
}

journal_code pin_refusal_save_in(store *st, const pin_refusal *rec, journal_err *err)
{
    char *name = pin_refusal_kind_file_name(rec->kind, rec->manufacturer, rec->serial);
    char *text = pin_refusal_to_json(rec);
    journal_code rc = JOURNAL_ERR_NOMEM;

    if (name != NULL && text != NULL)
        rc = store_write_file(st, STATE_PIN_REFUSED, name, text, err);
    else if (err != NULL)
        snprintf(err->message, sizeof(err->message), "out of memory");
    free(text);
    free(name);
    return rc;
}

journal_code pin_refusal_clear_kind_in(store *st, pin_kind kind, const char *manufacturer,
                                       const char *serial, journal_err *err)
{
    char *name = pin_refusal_kind_file_name(kind, manufacturer, serial);
    journal_code rc = JOURNAL_ERR_NOMEM;

    if (name != NULL)
        rc = store_remove_file(st, STATE_PIN_REFUSED, name, err);
    else if (err != NULL)
        snprintf(err->message, sizeof(err->message), "out of memory");
    free(name);
    return rc;
}

journal_code pin_refusal_clear_in(store *st, const char *manufacturer, const char *serial,
                                  journal_err *err)
{
    return pin_refusal_clear_kind_in(st, PIN_KIND_USER, manufacturer, serial, err);
}

static const char *source_words(pin_source_kind kind)
{
    switch (kind) {
    case PIN_SOURCE_FILE:   return "from a PIN file";
    case PIN_SOURCE_FD:     return "from a PIN descriptor";
    case PIN_SOURCE_ENV:    return "from an environment variable";
    case PIN_SOURCE_PROMPT: return "typed at the prompt";
    case PIN_SOURCE_PINPAD: return "entered on the keypad";
    default:                return "";
    }
}

/* The user PIN's messages stay as they were: "a wrong PIN ...". */
static const char *kind_prefix(pin_kind kind)
{
    return kind == PIN_KIND_SIGN ? "signature " : kind == PIN_KIND_SO ? "security officer " : "";
}

void pin_refusal_describe(const pin_refusal *rec, char *buf, size_t len)
{
    char at[32];

    if (rec->unreadable) {
        snprintf(buf, len, "the record of a refused PIN for the token with serial %s cannot "
                 "be read, so a PIN may have been refused before", rec->serial);
        return;
    }
    journal_format_time(rec->at, at);
    if (rec->outcome_unknown)
        snprintf(buf, len, "a %sPIN %s sent to token \"%s\" (serial %s) at %s got an answer "
                 "that does not say whether it was right (%s)", kind_prefix(rec->kind),
                 source_words(rec->source), rec->label, rec->serial, at, rec->rv);
    else
        snprintf(buf, len, "a wrong %sPIN %s was refused by token \"%s\" (serial %s) at %s (%s)",
                 kind_prefix(rec->kind), source_words(rec->source), rec->label, rec->serial,
                 at, rec->rv);
}

void pin_refusal_describe_rule(const pin_refusal *rec, char *buf, size_t len)
{
    size_t n;

    pin_refusal_describe(rec, buf, len);
    n = strlen(buf);
    snprintf(buf + n, len - n, "; no PIN from a file, a descriptor or the environment is sent "
             "to it again automatically");
}
