/*
 * Parsing an order request file.  cJSON does the parsing; this file makes
 * its failures something a person can fix: the line and column of the
 * offending character, what was found there, and a guess at the usual
 * cause (a trailing comma, single quotes, a missing comma).
 *
 * Positions: lines and columns are 1-based.  A column counts characters,
 * not bytes (a UTF-8 sequence is one column) and a tab counts as ONE
 * column, whatever width an editor draws it with: the seed example mixes
 * tabs and spaces, and "one character, one column" is the only count that
 * does not depend on the reader's tab stops (vim shows it as "2-9" for a
 * tab at 8; its first number is ours).  "\r\n" and a lone "\r" end a line.
 */
#include "order_request.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parse_pos {
    size_t line, col;
} parse_pos;

static parse_pos position_of(const char *buf, size_t len, size_t off)
{
    parse_pos p = { 1, 1 };

    for (size_t i = 0; i < off && i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
            p.line++;
            p.col = 1;
        } else if (c != '\r' && (c & 0xC0) != 0x80) {
            p.col++;
        }
    }
    return p;
}

static void set_error(char *err, size_t errlen, const char *buf, size_t len,
                      size_t off, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void set_error(char *err, size_t errlen, const char *buf, size_t len,
                      size_t off, const char *fmt, ...)
{
    parse_pos p = position_of(buf, len, off);
    va_list ap;
    int n;

    if (err == NULL || errlen == 0)
        return;
    n = snprintf(err, errlen, "line %zu, column %zu: ", p.line, p.col);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Length of a valid UTF-8 sequence at s, 0 if invalid (overlong,
 * surrogate, beyond U+10FFFF, truncated).  *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t left, unsigned *cp)
{
    size_t n;
    unsigned min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) { n = 2; min = 0x80; *cp = s[0] & 0x1F; }
    else if ((s[0] & 0xF0) == 0xE0) { n = 3; min = 0x800; *cp = s[0] & 0x0F; }
    else if ((s[0] & 0xF8) == 0xF0) { n = 4; min = 0x10000; *cp = s[0] & 0x07; }
    else return 0;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return n;
}

/* What cannot reach cJSON: no text, a BOM, NUL bytes, invalid UTF-8. */
static int check_encoding(const char *text, size_t len, char *err, size_t errlen)
{
    const unsigned char *u = (const unsigned char *)text;
    unsigned cp;

    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        set_error(err, errlen, text, len, 0, "the request starts with a UTF-8 "
                  "byte order mark (BOM); save it as UTF-8 without BOM");
        return -1;
    }
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        set_error(err, errlen, text, len, 0, "the request is UTF-16 (it starts "
                  "with a UTF-16 byte order mark); save it as UTF-8");
        return -1;
    }
    for (size_t i = 0; i < len;) {
        size_t n;
        if (u[i] == 0) {
            set_error(err, errlen, text, len, i, "NUL byte in the request (a "
                      "binary or UTF-16 file?); it must be UTF-8 text");
            return -1;
        }
        n = utf8_seq(u + i, len - i, &cp);
        if (n == 0) {
            set_error(err, errlen, text, len, i, "invalid UTF-8 (byte 0x%02X); "
                      "save the request as UTF-8", u[i]);
            return -1;
        }
        i += n;
    }
    return 0;
}

static bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Index of the last non-space character before off, or -1. */
static long prev_token(const char *buf, size_t off)
{
    while (off > 0) {
        off--;
        if ((unsigned char)buf[off] > ' ')
            return (long)off;
    }
    return -1;
}

/* Lexical state just before buf[upto]: enough to tell a key from a value. */
typedef struct scan_state {
    bool in_string;
    size_t string_start;
    char innermost;        /* '{', '[' or 0 at the top level */
} scan_state;

static int scan_to(const char *buf, size_t upto, scan_state *st)
{
    char *stack = malloc(upto + 1);
    size_t depth = 0;

    if (stack == NULL)
        return -1;
    st->in_string = false;
    st->string_start = 0;
    for (size_t i = 0; i < upto; i++) {
        char c = buf[i];
        if (st->in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                st->in_string = false;
        } else if (c == '"') {
            st->in_string = true;
            st->string_start = i;
        } else if (c == '{' || c == '[') {
            stack[depth++] = c;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    st->innermost = depth ? stack[depth - 1] : 0;
    free(stack);
    return 0;
}

static bool word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+' || c == '.';
}

/* Ends a value, so that what follows it needed a comma first. */
static bool value_end(char c)
{
    return c == '"' || c == '}' || c == ']' || (c >= '0' && c <= '9') ||
           (c >= 'a' && c <= 'z');
}

/* The found thing, for "unexpected ...": "}", a bare word, U+XXXX. */
static void describe_at(const char *buf, size_t len, size_t at, char *out, size_t n)
{
    const unsigned char *u = (const unsigned char *)buf + at;
    unsigned cp = 0;
    size_t w = 0;

    if (at >= len) {
        snprintf(out, n, "end of input");
    } else if (word_char(u[0])) {
        while (at + w < len && w < 24 && word_char(u[w]))
            w++;
        snprintf(out, n, "\"%.*s\"", (int)w, (const char *)u);
    } else if (u[0] == '"') {
        snprintf(out, n, "'\"'");
    } else if (u[0] > 0x20 && u[0] < 0x7f) {
        snprintf(out, n, "\"%c\"", u[0]);
    } else if (u[0] < 0x80) {
        snprintf(out, n, "control character 0x%02X", u[0]);
    } else {
        utf8_seq(u, len - at, &cp);
        snprintf(out, n, "character U+%04X", cp);
    }
}

/* True when the token before at is an object key (a ":" must follow). */
static bool follows_key(const char *buf, size_t at)
{
    long p = prev_token(buf, at);
    scan_state st;

    if (p < 0 || buf[p] != '"' || scan_to(buf, (size_t)p, &st) != 0 ||
        !st.in_string || st.innermost != '{')
        return false;
    p = prev_token(buf, st.string_start);
    return p >= 0 && (buf[p] == '{' || buf[p] == ',');
}

/* The usual cause of finding buf[at] where cJSON gave up. */
static const char *hint_for(const char *buf, size_t len, size_t at, bool key)
{
    long p = prev_token(buf, at);
    char c = at < len ? buf[at] : '\0', pc = p >= 0 ? buf[p] : '\0';

    if (at >= len)
        return " (a missing \"}\" or \"]\"?)";
    if ((c == '}' || c == ']') && pc == ',')
        return " (a trailing comma before it?)";
    if (c == '\'')
        return " (JSON strings and keys need double quotes)";
    if (c == '/' || c == '#')
        return " (JSON has no comments)";
    if (c == '=')
        return " (use \":\" between a key and its value)";
    if (c == '\\')
        return " (an invalid escape sequence in a string)";
    if (!key && follows_key(buf, at))
        return " (a missing \":\" after the key?)";
    if (key && word_char((unsigned char)c))
        return " (object keys need double quotes)";
    if (!key && value_end(pc) && (c == '"' || c == '{' || c == '[' || c == '-' ||
                                  word_char((unsigned char)c)))
        return " (a missing comma before it?)";
    if (word_char((unsigned char)c) && !(c >= '0' && c <= '9'))
        return " (strings need double quotes; the bare words are true, false, null)";
    return "";
}

/* In the string opened at q, the first escape JSON does not know, or q. */
static size_t bad_escape(const char *buf, size_t len, size_t q)
{
    for (size_t i = q + 1; i + 1 < len && buf[i] != '"'; i++) {
        if (buf[i] != '\\')
            continue;
        if (strchr("\"\\/bfnrtu", buf[i + 1]) == NULL || buf[i + 1] == '\0')
            return i;
        i++;
    }
    return q;
}

/*
 * cJSON stops at the bad character, except after "{" or "," in an object
 * where it stops one past it (it tried to read a key).  Undo that, then
 * say what is there.
 */
static void syntax_error(const char *buf, size_t len, size_t e, char *err, size_t errlen)
{
    scan_state st;
    size_t at = e > len ? len : e;
    bool key = false;
    char what[64];

    if (scan_to(buf, len, &st) == 0 && st.in_string) {
        set_error(err, errlen, buf, len, st.string_start,
                  "this string is never closed (a missing '\"')");
        return;
    }
    if (at > 0 && (unsigned char)buf[at - 1] > ' ' && scan_to(buf, at - 1, &st) == 0 &&
        !st.in_string && st.innermost == '{') {
        long p = prev_token(buf, at - 1);
        if (p >= 0 && (buf[p] == '{' || buf[p] == ',')) {
            at--;
            key = true;
        }
    }
    if (key && buf[at] == '"')
        at = bad_escape(buf, len, at);
    describe_at(buf, len, at, what, sizeof what);
    set_error(err, errlen, buf, len, at, "unexpected %s%s", what,
              hint_for(buf, len, at, key));
}

static const char *kind_of(const cJSON *j)
{
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsNull(j))
        return "null";
    return "a boolean";
}

/* After a successful parse: nothing but space may follow, and the top
 * level must be an object.  Returns 0 when both hold. */
static int check_parsed(const char *buf, size_t len, size_t off, const cJSON *root,
                        char *err, size_t errlen)
{
    char what[64];

    while (off < len && json_space(buf[off]))
        off++;
    if (off < len) {
        describe_at(buf, len, off, what, sizeof what);
        set_error(err, errlen, buf, len, off, "unexpected %s after the end of "
                  "the request (only one JSON object is allowed)", what);
        return -1;
    }
    if (!cJSON_IsObject(root)) {
        off = 0;
        while (json_space(buf[off]))
            off++;
        set_error(err, errlen, buf, len, off, "the request must be a JSON "
                  "object ({ ... }), not %s", kind_of(root));
        return -1;
    }
    return 0;
}

cJSON *order_request_parse(const char *text, size_t len, char *err, size_t errlen)
{
    cJSON *root = NULL;
    const char *end = NULL;
    char *buf = NULL;
    size_t off = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (text == NULL)
        len = 0;
    if (check_encoding(text, len, err, errlen) != 0)
        goto out;
    while (off < len && json_space(text[off]))
        off++;
    if (off == len) {
        set_error(err, errlen, text, len, off, "the request is empty; it must "
                  "be a JSON object ({ ... })");
        goto out;
    }
    /* cJSON_ParseWithOpts wants a NUL-terminated copy (no NUL inside:
     * checked above). */
    buf = malloc(len + 1);
    if (buf == NULL) {
        set_error(err, errlen, text, len, 0, "out of memory reading the request");
        goto out;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    root = cJSON_ParseWithOpts(buf, &end, 0);
    if (root == NULL) {
        if (end == NULL)
            end = cJSON_GetErrorPtr();
        syntax_error(buf, len, end != NULL && end >= buf && end <= buf + len ?
                     (size_t)(end - buf) : len, err, errlen);
    } else if (check_parsed(buf, len, (size_t)(end - buf), root, err, errlen) != 0) {
        cJSON_Delete(root);
        root = NULL;
    }
out:
    free(buf);
    return root;
}

static void wipe_tree(cJSON *item)
{
    for (; item != NULL; item = item->next) {
        /* Keys and values cJSON does not own are not ours to overwrite. */
        if (item->string != NULL && !(item->type & cJSON_StringIsConst))
            memset(item->string, 0, strlen(item->string));
        if (item->valuestring != NULL && !(item->type & cJSON_IsReference))
            memset(item->valuestring, 0, strlen(item->valuestring));
        item->valuedouble = 0;
        item->valueint = 0;
        wipe_tree(item->child);
    }
}

void order_request_free(cJSON *req)
{
    if (req == NULL)
        return;
    wipe_tree(req);
    cJSON_Delete(req);
}
