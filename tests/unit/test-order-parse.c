/*
 * order_request_parse: line and column of syntax errors (the seed's own
 * trailing comma included), what was found there, encoding problems,
 * and a deterministic torture run of truncated and mutated requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "order_request.h"
#include "unit-files.h"

static char root_dir[512];

static char *read_data(const char *name, size_t *len)
{
    char path[1024];
    char *buf;

    snprintf(path, sizeof path, "%s/tests/data/requests/%s", root_dir, name);
    buf = unit_read_file(path, len);
    assert_non_null(buf);
    return buf;
}

static void test_seed_trailing_comma(void **state)
{
    char err[256];
    size_t len;
    char *text = read_data("seed-trailing-comma.json", &len);
    (void)state;

    assert_null(order_request_parse(text, len, err, sizeof err));
    /* Line 5 is "\t}," of the seed: the tab is column 1, the "}" column 2. */
    assert_string_equal(err, "line 5, column 2: unexpected \"}\" (a trailing comma before it?)");
    free(text);
}

static void test_seed_fixed(void **state)
{
    char err[256] = "untouched";
    size_t len;
    char *text = read_data("seed-fixed.json", &len);
    struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 5, .tm_mday = 1 };
    order_problems p = { 0 };
    cJSON *req;
    (void)state;

    req = order_request_parse(text, len, err, sizeof err);
    assert_non_null(req);
    assert_string_equal(err, "");
    assert_int_equal(order_request_validate(req, timegm(&tm), &p), 0);
    assert_int_equal(p.count, 0);
    cJSON_Delete(req);
    free(text);
}

typedef struct parse_case {
    const char *text;
    size_t len;            /* 0: strlen(text) */
    const char *error;
} parse_case;

#define EMPTY "the request is empty; it must be a JSON object ({ ... })"

static const parse_case cases[] = {
    { "", 0, "line 1, column 1: " EMPTY },
    { " \n\t ", 0, "line 2, column 3: " EMPTY },
    { "\xEF\xBB\xBF{}", 0, "line 1, column 1: the request starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM" },
    { "\xFF\xFE{\0}\0", 6, "line 1, column 1: the request is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8" },
    { "{\"a\":\n 1,\0}", 11, "line 2, column 4: NUL byte in the request (a binary or UTF-16 file?); it must be UTF-8 text" },
    { "{\"caf\xE9\": 1}", 0, "line 1, column 6: invalid UTF-8 (byte 0xE9); save the request as UTF-8" },
    { "{\"\xC0\xAF\": 1}", 0, "line 1, column 3: invalid UTF-8 (byte 0xC0); save the request as UTF-8" },
    { "{\"a\":1,}", 0, "line 1, column 8: unexpected \"}\" (a trailing comma before it?)" },
    { "{\"a\":[1,2,]}", 0, "line 1, column 11: unexpected \"]\" (a trailing comma before it?)" },
    /* A tab is one column, like any character. */
    { "{\n\t\"a\": 1,\n\t}", 0, "line 3, column 2: unexpected \"}\" (a trailing comma before it?)" },
    /* A UTF-8 sequence is one column. */
    { "{\"\xC3\xA9\": \xC3\xBC}", 0, "line 1, column 7: unexpected character U+00FC" },
    { "{\r\n\"a\": 1,\r\n}", 0, "line 3, column 1: unexpected \"}\" (a trailing comma before it?)" },
    { "{\"a\":1", 0, "line 1, column 7: unexpected end of input (a missing \"}\" or \"]\"?)" },
    { "{\"a\":[1,2", 0, "line 1, column 10: unexpected end of input (a missing \"}\" or \"]\"?)" },
    { "{'a':1}", 0, "line 1, column 2: unexpected \"'\" (JSON strings and keys need double quotes)" },
    { "{a:1}", 0, "line 1, column 2: unexpected \"a\" (object keys need double quotes)" },
    { "{\"a\": tru}", 0, "line 1, column 7: unexpected \"tru\" (strings need double quotes; the bare words are true, false, null)" },
    { "{\"a\": STANDARD}", 0, "line 1, column 7: unexpected \"STANDARD\" (strings need double quotes; the bare words are true, false, null)" },
    { "{\n\"a\": \"x}", 0, "line 2, column 6: this string is never closed (a missing '\"')" },
    { "{\"a\":1 \"b\":2}", 0, "line 1, column 8: unexpected '\"' (a missing comma before it?)" },
    { "{\"a\" 1}", 0, "line 1, column 6: unexpected \"1\" (a missing \":\" after the key?)" },
    { "{\"a\"=1}", 0, "line 1, column 5: unexpected \"=\" (use \":\" between a key and its value)" },
    { "{\"a\":1 // note\n}", 0, "line 1, column 8: unexpected \"/\" (JSON has no comments)" },
    { "{\"a\":\"x\\q\"}", 0, "line 1, column 8: unexpected \"\\\" (an invalid escape sequence in a string)" },
    { "{\"a\\q\":1}", 0, "line 1, column 4: unexpected \"\\\" (an invalid escape sequence in a string)" },
    { "{\"a\":1}\n{\"b\":2}", 0, "line 2, column 1: unexpected \"{\" after the end of the request (only one JSON object is allowed)" },
    { "[{\"a\":1}]", 0, "line 1, column 1: the request must be a JSON object ({ ... }), not an array" },
    { "\n  \"x\"", 0, "line 2, column 3: the request must be a JSON object ({ ... }), not a string" },
    { "42", 0, "line 1, column 1: the request must be a JSON object ({ ... }), not a number" },
    { "null", 0, "line 1, column 1: the request must be a JSON object ({ ... }), not null" },
};

static void test_error_positions(void **state)
{
    size_t bad = 0;
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const parse_case *c = &cases[i];
        char err[256] = "";
        cJSON *j = order_request_parse(c->text, c->len ? c->len : strlen(c->text),
                                       err, sizeof err);
        if (j != NULL || strcmp(err, c->error) != 0) {
            print_message("case %zu\n  want: %s\n  got:  %s\n", i, c->error,
                          j ? "(parsed)" : err);
            bad++;
        }
        cJSON_Delete(j);
    }
    assert_int_equal(bad, 0);
}

static void test_length_not_nul(void **state)
{
    static const char text[] = "{\"a\": [1]}GARBAGE";
    char err[256];
    cJSON *j;
    (void)state;

    /* Only len bytes count: the text need not be NUL-terminated. */
    j = order_request_parse(text, 10, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "a")), 1);
    cJSON_Delete(j);
    assert_null(order_request_parse(text, 9, err, sizeof err));
    assert_string_equal(err, "line 1, column 10: unexpected end of input (a missing \"}\" or \"]\"?)");
}

static void test_error_buffer_edges(void **state)
{
    char small[10];
    (void)state;

    assert_null(order_request_parse("{,}", 3, NULL, 0));
    assert_null(order_request_parse("{,}", 3, small, 0));
    assert_null(order_request_parse("{,}", 3, small, sizeof small));
    assert_string_equal(small, "line 1, c");  /* cut, still terminated */
    assert_null(order_request_parse(NULL, 5, small, sizeof small));
    cJSON *j = order_request_parse("{}", 2, NULL, 0);
    assert_non_null(j);
    cJSON_Delete(j);
}

static void test_deep_nesting(void **state)
{
    size_t n = 5000;
    char *text = malloc(2 * n + 16);
    char err[256];
    (void)state;

    /* Beyond cJSON's nesting limit: an error, not a crash. */
    strcpy(text, "{\"a\":");
    memset(text + 5, '[', n);
    memset(text + 5 + n, ']', n);
    strcpy(text + 5 + 2 * n, "}");
    assert_null(order_request_parse(text, strlen(text), err, sizeof err));
    assert_memory_equal(err, "line 1, column ", 15);
    free(text);
}

/* Every truncation of a valid request fails cleanly, on a line it has. */
static void test_truncations(void **state)
{
    size_t len;
    char *text = read_data("card-payment.json", &len);
    char *last = strrchr(text, '}');
    (void)state;

    for (size_t cut = 0; cut < (size_t)(last - text); cut++) {
        char err[256];
        size_t lines = 1, line = 0;
        assert_null(order_request_parse(text, cut, err, sizeof err));
        for (size_t i = 0; i < cut; i++)
            lines += text[i] == '\n';
        assert_int_equal(sscanf(err, "line %zu, column", &line), 1);
        assert_true(line >= 1 && line <= lines);
    }
    free(text);
}

/* Each byte replaced by each troublesome byte: parse and validate, no crash. */
static void test_mutations(void **state)
{
    static const char repl[] = { '}', ']', ',', '"', ':', '\\', '{', '[', 'x', '0',
                                 ' ', '\'', '\n', (char)0xC3, (char)0x80, 0 };
    size_t len;
    char *text = read_data("card-payment.json", &len);
    char *copy = malloc(len);
    struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 5, .tm_mday = 1 };
    time_t today = timegm(&tm);
    size_t parsed = 0, failed = 0;
    (void)state;

    for (size_t i = 0; i < len; i++) {
        for (size_t r = 0; r < sizeof repl; r++) {
            char err[256];
            cJSON *j;
            memcpy(copy, text, len);
            copy[i] = repl[r];
            j = order_request_parse(copy, len, err, sizeof err);
            if (j == NULL) {
                assert_memory_equal(err, "line ", 5);
                failed++;
                continue;
            }
            order_request_validate(j, today, NULL);
            cJSON_Delete(j);
            parsed++;
        }
    }
    assert_true(parsed > 0 && failed > 0);
    free(copy);
    free(text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_trailing_comma),
        cmocka_unit_test(test_seed_fixed),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_length_not_nul),
        cmocka_unit_test(test_error_buffer_edges),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_mutations),
    };

    (void)argc;
    unit_find_root(argv[0], "tests/data/requests/seed-fixed.json", root_dir, sizeof root_dir);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
