/*
 * The audit log against a real file: lines are JSON with the fixed set of
 * fields, concurrent appends from forked children never interleave, corrupt
 * lines are skipped and named, and no field could hold a secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit.h"
#include "unit-files.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char root[64];
    char dir[128];
    char log[160];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    if (unit_tempdir(fx->root, sizeof(fx->root), "audit") != 0)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "%s/state", fx->root);
    snprintf(fx->log, sizeof(fx->log), "%s/audit.log", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    unit_rmtree(fx->root);
    free(fx);
    return 0;
}

static void record(const struct fixture *fx, const audit_entry *e)
{
    audit_err err;

    if (audit_record(fx->dir, e, &err) != AUDIT_OK)
        fail_msg("audit_record: %s", err.message);
}

static void test_record_and_read_back(void **state)
{
    struct fixture *fx = *state;
    audit_entry a = { .action = "install", .job_ref = "job-0123456789abcdef", .order_id = "123",
                      .token_serial = "0011", .cert_serial = "0A", .cert_sha256 = "ff00",
                      .outcome = "ok" };
    audit_entry b = { .action = "order submit", .outcome = "error",
                      .error = "ship_info.method: must be STANDARD or EXPEDITED" };
    audit_log log;
    audit_err err;
    struct stat st;

    record(fx, &a);
    record(fx, &b);
    assert_int_equal(stat(fx->log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(audit_read(fx->dir, NULL, &log, &err), AUDIT_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.n_corrupt, 0);
    assert_string_equal(log.entries[0].action, "install");
    assert_string_equal(log.entries[0].job_ref, "job-0123456789abcdef");
    assert_string_equal(log.entries[0].order_id, "123");
    assert_string_equal(log.entries[0].token_serial, "0011");
    assert_string_equal(log.entries[0].cert_serial, "0A");
    assert_string_equal(log.entries[0].cert_sha256, "ff00");
    assert_string_equal(log.entries[0].outcome, "ok");
    assert_null(log.entries[0].error);
    assert_int_equal(log.entries[0].uid, (long)getuid());
    assert_non_null(log.entries[0].user);
    assert_non_null(log.entries[0].host);
    assert_int_equal(strlen(log.entries[0].time), 20);
    assert_int_equal(log.entries[0].time[19], 'Z');
    assert_int_equal(log.entries[1].line, 2);
    assert_null(log.entries[1].order_id);
    assert_string_equal(log.entries[1].error, "ship_info.method: must be STANDARD or EXPEDITED");
    audit_log_free(&log);
    /* Filtered by order. */
    assert_int_equal(audit_read(fx->dir, "123", &log, &err), AUDIT_OK);
    assert_int_equal(log.n, 1);
    audit_log_free(&log);
    assert_int_equal(audit_read(fx->dir, "999", &log, &err), AUDIT_OK);
    assert_int_equal(log.n, 0);
    audit_log_free(&log);
}

static const char *const allowed_keys[] = {
    "time", "user", "uid", "host", "action", "job", "order_id", "token_serial",
    "cert_serial", "cert_sha256", "outcome", "error",
};

/* Every line of the raw file is one JSON object with exactly the known keys. */
static size_t check_raw_lines(const struct fixture *fx)
{
    FILE *f = fopen(fx->log, "r");
    char *line = NULL;
    size_t cap = 0, n = 0;

    assert_non_null(f);
    while (getline(&line, &cap, f) >= 0) {
        cJSON *o = cJSON_Parse(line), *c;
        size_t keys = 0;

        if (o == NULL || !cJSON_IsObject(o))
            fail_msg("line %zu is not a JSON object: %.80s", n + 1, line);
        cJSON_ArrayForEach(c, o) {
            bool known = false;

            for (size_t i = 0; i < sizeof(allowed_keys) / sizeof(allowed_keys[0]); i++)
                known = known || strcmp(c->string, allowed_keys[i]) == 0;
            if (!known)
                fail_msg("line %zu has an unexpected field \"%s\"", n + 1, c->string);
            keys++;
        }
        assert_int_equal(keys, sizeof(allowed_keys) / sizeof(allowed_keys[0]));
        cJSON_Delete(o);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static void test_lines_are_json_with_only_known_fields(void **state)
{
    struct fixture *fx = *state;
    audit_entry e = { .action = "provision", .order_id = "1", .outcome = "error",
                      .error = "line one\nline two \"quoted\"" };

    record(fx, &e);
    e.error = NULL;
    e.outcome = "ok";
    record(fx, &e);
    assert_int_equal(check_raw_lines(fx), 2);
}

enum { CHILDREN = 8, PER_CHILD = 40 };

/* Children append long lines at once; every line must come out whole. */
static void test_concurrent_appends_do_not_interleave(void **state)
{
    struct fixture *fx = *state;
    char text[1000];
    int counts[CHILDREN] = { 0 };
    pid_t pids[CHILDREN];
    audit_log log;
    audit_err err;

    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        assert_true(pids[c] >= 0);
        if (pids[c] != 0)
            continue;
        memset(text, 'a' + c, sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        for (int i = 0; i < PER_CHILD; i++) {
            char order[16];
            audit_entry e = { .action = "watch", .order_id = order, .outcome = "error", .error = text };

            snprintf(order, sizeof(order), "%d", c);
            if (audit_record(fx->dir, &e, &err) != AUDIT_OK)
                _exit(1);
        }
        _exit(0);
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status;

        assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(check_raw_lines(fx), CHILDREN * PER_CHILD);
    assert_int_equal(audit_read(fx->dir, NULL, &log, &err), AUDIT_OK);
    assert_int_equal(log.n, CHILDREN * PER_CHILD);
    assert_int_equal(log.n_corrupt, 0);
    for (size_t i = 0; i < log.n; i++) {
        int c = atoi(log.entries[i].order_id);

        assert_true(c >= 0 && c < CHILDREN);
        assert_int_equal(strspn(log.entries[i].error, (char[]){ (char)('a' + c), 0 }), 999);
        counts[c]++;
    }
    for (int c = 0; c < CHILDREN; c++)
        assert_int_equal(counts[c], PER_CHILD);
    audit_log_free(&log);
}

static void test_corrupt_lines_are_skipped_and_named(void **state)
{
    struct fixture *fx = *state;
    audit_entry e = { .action = "install", .order_id = "7", .outcome = "ok" };
    audit_log log;
    audit_err err;
    FILE *f;

    record(fx, &e);
    f = fopen(fx->log, "a");
    assert_non_null(f);
    fputs("{\"time\":\"2024-01-01T00:00:00Z\",\"act\n", f);    /* torn write */
    fputs("[1,2,3]\n", f);                                    /* not an entry */
    fputs("{\"time\":\"2024-01-01T00:00:00Z\",\"action\":5,\"outcome\":\"ok\"}\n", f);
    fclose(f);
    record(fx, &e);
    assert_int_equal(audit_read(fx->dir, NULL, &log, &err), AUDIT_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.n_corrupt, 3);
    assert_int_equal(log.corrupt_lines[0], 2);
    assert_int_equal(log.corrupt_lines[1], 3);
    assert_int_equal(log.corrupt_lines[2], 4);
    assert_int_equal(log.entries[1].line, 5);
    audit_log_free(&log);
}

static void test_long_error_is_cut(void **state)
{
    struct fixture *fx = *state;
    char *big = malloc(5000);
    audit_entry e = { .action = "install", .outcome = "error", .error = big };
    audit_log log;
    audit_err err;

    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    record(fx, &e);
    assert_int_equal(audit_read(fx->dir, NULL, &log, &err), AUDIT_OK);
    assert_int_equal(log.n, 1);
    assert_true(strlen(log.entries[0].error) < 1100);
    audit_log_free(&log);
    free(big);
}

static void test_missing_log_and_bad_arguments(void **state)
{
    struct fixture *fx = *state;
    audit_entry e = { .action = "install" };
    audit_log log;
    audit_err err;

    assert_int_equal(audit_read(fx->dir, NULL, &log, &err), AUDIT_OK);
    assert_int_equal(log.n + log.n_corrupt, 0);
    audit_log_free(&log);
    assert_int_equal(audit_record(fx->dir, &e, &err), AUDIT_ERR_INVALID);  /* no outcome */
    assert_int_equal(audit_record(NULL, &e, &err), AUDIT_ERR_INVALID);
    assert_int_equal(audit_read(NULL, NULL, &log, &err), AUDIT_ERR_INVALID);
    assert_int_equal(access(fx->log, F_OK), -1);  /* nothing written */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_record_and_read_back),
        T(test_lines_are_json_with_only_known_fields),
        T(test_concurrent_appends_do_not_interleave),
        T(test_corrupt_lines_are_skipped_and_named),
        T(test_long_error_is_cut),
        T(test_missing_log_and_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
