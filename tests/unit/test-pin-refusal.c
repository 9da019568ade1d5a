/*
 * The record of a refused PIN (src/pin_refusal.c): its file name per token,
 * what it holds (never a PIN, a hash or a length), a round trip through the
 * state dir with the journal's durable writer, removal, and a damaged
 * record kept as a refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin_refusal.h"
#include "state_layout.h"

/* The records go through the store, as every command reads them. */
static store *open_store(const char *dir)
{
    store_settings ss = { .state_dir = dir };
    journal_err je = { 0 };
    store *st = NULL;

    assert_int_equal(store_open(&ss, &st, &je), JOURNAL_OK);
    return st;
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/qscd-unit-refusal.XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static void remove_tree(const char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static pin_refusal sample(void)
{
    pin_refusal r = { .present = true, .at = 1764609847, .source = PIN_SOURCE_FILE };

    snprintf(r.manufacturer, sizeof(r.manufacturer), "SoftHSM project");
    snprintf(r.serial, sizeof(r.serial), "c345f7336913ff25");
    snprintf(r.label, sizeof(r.label), "QSCD-01");
    snprintf(r.rv, sizeof(r.rv), "CKR_PIN_INCORRECT");
    return r;
}

static void test_file_name(void **state)
{
    char *n;

    (void)state;
    n = pin_refusal_file_name("SoftHSM project", "c345f7336913ff25");
    assert_string_equal(n, "SoftHSM%20project_c345f7336913ff25.json");
    free(n);
    /* Nothing that leaves the folder or collides across the separator. */
    n = pin_refusal_file_name("../a_b", "x/y");
    assert_string_equal(n, "..%2Fa%5Fb_x%2Fy.json");
    free(n);
    n = pin_refusal_file_name("A", "");
    assert_string_equal(n, "A_.json");
    free(n);
}

static void test_json_round_trip(void **state)
{
    pin_refusal r = sample(), back;
    char *text;

    (void)state;
    text = pin_refusal_to_json(&r);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"refused_at\":\t\"2025-12-01T17:24:07Z\""));
    assert_non_null(strstr(text, "\"source\":\t\"file\""));
    assert_null(strstr(text, "len"));
    assert_null(strstr(text, "pin\""));
    assert_true(pin_refusal_from_json(text, &back));
    assert_true(back.present);
    assert_false(back.outcome_unknown);
    assert_int_equal(back.at, r.at);
    assert_int_equal(back.source, PIN_SOURCE_FILE);
    assert_string_equal(back.serial, r.serial);
    assert_string_equal(back.rv, "CKR_PIN_INCORRECT");
    free(text);

    r.outcome_unknown = true;
    r.source = PIN_SOURCE_FD;
    text = pin_refusal_to_json(&r);
    assert_true(pin_refusal_from_json(text, &back));
    assert_true(back.outcome_unknown);
    assert_int_equal(back.source, PIN_SOURCE_FD);
    free(text);

    assert_false(pin_refusal_from_json("{\"schema\":2}", &back));
    assert_false(back.present);
    assert_false(pin_refusal_from_json("not json", &back));
}

static void test_save_load_clear(void **state)
{
    char *dir = make_dir(), sub[512];
    pin_refusal r = sample(), got;
    journal_err je = { 0 };

    (void)state;
    store *st = open_store(dir);
    snprintf(sub, sizeof(sub), "%s/" STATE_PIN_REFUSED, dir);
    assert_int_equal(pin_refusal_load_in(st, r.manufacturer, r.serial, &got, &je), JOURNAL_OK);
    assert_false(got.present);                     /* no folder yet: no record */
    assert_int_equal(pin_refusal_save_in(st, &r, &je), JOURNAL_OK);
    assert_int_equal(entries(sub), 1);             /* no temporary file left */
    {
        struct stat sb;

        assert_int_equal(stat(sub, &sb), 0);
        assert_int_equal(sb.st_mode & 077, 0);     /* the folder is the owner's */
    }
    assert_int_equal(pin_refusal_load_in(st, r.manufacturer, r.serial, &got, &je), JOURNAL_OK);
    assert_true(got.present);
    assert_false(got.unreadable);
    assert_string_equal(got.label, "QSCD-01");
    /* Another token (same manufacturer, other serial) has none. */
    assert_int_equal(pin_refusal_load_in(st, r.manufacturer, "0000000000000001", &got, &je),
                     JOURNAL_OK);
    assert_false(got.present);
    /* A second refusal replaces the first. */
    r.at += 60;
    assert_int_equal(pin_refusal_save_in(st, &r, &je), JOURNAL_OK);
    assert_int_equal(entries(sub), 1);
    assert_int_equal(pin_refusal_load_in(st, r.manufacturer, r.serial, &got, &je), JOURNAL_OK);
    assert_int_equal(got.at, r.at);
    assert_int_equal(pin_refusal_clear_in(st, r.manufacturer, r.serial, &je), JOURNAL_OK);
    assert_int_equal(entries(sub), 0);
    assert_int_equal(pin_refusal_clear_in(st, r.manufacturer, r.serial, &je), JOURNAL_OK);
    store_close(st);
    remove_tree(dir);
    free(dir);
}

static void test_damaged_record_is_a_refusal(void **state)
{
    char *dir = make_dir(), *name, path[1024];
    pin_refusal r = sample(), got;
    journal_err je = { 0 };
    FILE *f;

    (void)state;
    store *st = open_store(dir);
    assert_int_equal(pin_refusal_save_in(st, &r, &je), JOURNAL_OK);
    name = pin_refusal_file_name(r.manufacturer, r.serial);
    snprintf(path, sizeof(path), "%s/" STATE_PIN_REFUSED "/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"schema\":1,\"serial\":", f);
    fclose(f);
    assert_int_equal(pin_refusal_load_in(st, r.manufacturer, r.serial, &got, &je), JOURNAL_OK);
    assert_true(got.present);
    assert_true(got.unreadable);
    assert_string_equal(got.serial, r.serial);
    free(name);
    store_close(st);
    remove_tree(dir);
    free(dir);
}

/* Each kind of PIN has its own record: a refused SO PIN is not the user's. */
static void test_kinds_apart(void **state)
{
    char *dir = make_dir(), *n, sub[1024];
    pin_refusal r = sample(), got;
    journal_err je = { 0 };
    char buf[600];

    (void)state;
    store *st = open_store(dir);
    n = pin_refusal_kind_file_name(PIN_KIND_SO, "A", "1");
    assert_string_equal(n, "A_1_so.json");
    free(n);
    n = pin_refusal_kind_file_name(PIN_KIND_SIGN, "A_b", "1");
    assert_string_equal(n, "A%5Fb_1_sign.json");
    free(n);
    snprintf(sub, sizeof(sub), "%s/" STATE_PIN_REFUSED, dir);
    r.kind = PIN_KIND_SO;
    assert_int_equal(pin_refusal_save_in(st, &r, &je), JOURNAL_OK);
    assert_int_equal(pin_refusal_load_in(st, r.manufacturer, r.serial, &got, &je), JOURNAL_OK);
    assert_false(got.present);
    assert_int_equal(pin_refusal_load_kind_in(st, PIN_KIND_SIGN, r.manufacturer, r.serial, &got,
                                           &je), JOURNAL_OK);
    assert_false(got.present);
    assert_int_equal(pin_refusal_load_kind_in(st, PIN_KIND_SO, r.manufacturer, r.serial, &got,
                                           &je), JOURNAL_OK);
    assert_true(got.present);
    assert_int_equal(got.kind, PIN_KIND_SO);
    pin_refusal_describe(&got, buf, sizeof(buf));
    assert_non_null(strstr(buf, "a wrong security officer PIN from a PIN file was refused"));
    assert_int_equal(pin_refusal_clear_in(st, r.manufacturer, r.serial, &je), JOURNAL_OK);
    assert_int_equal(entries(sub), 1);
    assert_int_equal(pin_refusal_clear_kind_in(st, PIN_KIND_SO, r.manufacturer, r.serial, &je),
                     JOURNAL_OK);
    assert_int_equal(entries(sub), 0);
    store_close(st);
    remove_tree(dir);
    free(dir);
}

static void test_describe(void **state)
{
    pin_refusal r = sample();
    char buf[600];

    (void)state;
    pin_refusal_describe(&r, buf, sizeof(buf));
    assert_string_equal(buf, "a wrong PIN from a PIN file was refused by token \"QSCD-01\" "
                             "(serial c345f7336913ff25) at 2025-12-01T17:24:07Z "
                             "(CKR_PIN_INCORRECT)");
    r.outcome_unknown = true;
    r.source = PIN_SOURCE_ENV;
    snprintf(r.rv, sizeof(r.rv), "CKR_GENERAL_ERROR");
    pin_refusal_describe(&r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "from an environment variable"));
    assert_non_null(strstr(buf, "does not say whether it was right (CKR_GENERAL_ERROR)"));
    pin_refusal_describe_rule(&r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "is sent to it again automatically"));
    /* The lower layer never names a command-line option. */
    assert_null(strstr(buf, "--"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_name),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_save_load_clear),
        cmocka_unit_test(test_damaged_record_is_a_refusal),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_kinds_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
