/*
 * The lifecycle engine's parts that need neither CertCentral nor a token:
 * how layer errors become exit codes (and keep their retryable/needs-user
 * flags), argument checks at the door, and `status` over a state dir.
 * The flows themselves are tested end to end in
 * tests/integration/test-lifecycle-*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lifecycle_int.h"
#include "audit.h"
#include "exit_codes.h"
#include "monotonic.h"
#include "state_layout.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup_dir(void **state)
{
    char tmpl[] = "/tmp/qscd-lc-unit.XXXXXX";
    char *dir = mkdtemp(tmpl);

    assert_non_null(dir);
    *state = strdup(dir);
    return 0;
}

static int teardown_dir(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static void order_errors_map_to_exit_codes(void **state)
{
    static const struct { order_code code; int exit; } cases[] = {
        { ORDER_ERR_NOT_READY, QSCD_EXIT_NOT_READY }, { ORDER_ERR_TIMEOUT, QSCD_EXIT_NOT_READY },
        { ORDER_ERR_REJECTED, QSCD_EXIT_REJECTED },   { ORDER_ERR_INVALID, QSCD_EXIT_USAGE },
        { ORDER_ERR_NETWORK, QSCD_EXIT_API },         { ORDER_ERR_AUTH, QSCD_EXIT_API },
        { ORDER_ERR_SERVER, QSCD_EXIT_API },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        order_err oe = { .code = cases[i].code, .retryable = cases[i].code == ORDER_ERR_NETWORK };
        lifecycle_err e = { 0 };

        snprintf(oe.message, sizeof(oe.message), "order 7: what happened");
        assert_int_equal(lc_fail_order(&e, &oe, "following the order"), cases[i].exit);
        assert_int_equal(e.exit_code, cases[i].exit);
        assert_string_equal(e.message, "following the order: order 7: what happened");
        assert_string_equal(e.code, order_code_name(cases[i].code));
        assert_int_equal(e.retryable, oe.retryable || cases[i].exit == QSCD_EXIT_NOT_READY);
    }
}

static void token_errors_map_to_exit_codes(void **state)
{
    token_err te;
    lifecycle_err e = { 0 };

    (void)state;
    token_err_set(&te, TOKEN_ERR_ABSENT, CKR_OK, "no token");
    assert_int_equal(lc_fail_token(&e, &te, "waiting"), QSCD_EXIT_NOT_READY);
    token_err_set(&te, TOKEN_ERR_MISMATCH, CKR_OK, "not this key");
    assert_int_equal(lc_fail_token(&e, &te, "install"), QSCD_EXIT_VERIFY);
    token_err_set(&te, TOKEN_ERR_PIN_INCORRECT, CKR_PIN_INCORRECT, "wrong PIN");
    assert_int_equal(lc_fail_token(&e, &te, "logging in"), QSCD_EXIT_TOKEN);
    assert_true(e.needs_user);
    assert_non_null(strstr(e.message, "logging in: wrong PIN"));
    token_err_set(&te, TOKEN_ERR_REMOVED, CKR_DEVICE_REMOVED, "token removed");
    assert_int_equal(lc_fail_token(&e, &te, "install"), QSCD_EXIT_TOKEN);
    assert_true(e.retryable);
}

/* A step asks for a wait; the poll interval grows by half (plus up to a
 * quarter of jitter) up to the cap. */
static void a_waiting_step_backs_off_to_the_cap(void **state)
{
    lifecycle_opts o = { .poll_start_s = 2, .poll_cap_s = 4 };
    lc_run r = { .rep = lc_reporter(NULL), .opts = &o };
    double d;

    (void)state;
    r.wait_since = monotonic_now();
    assert_true(lc_backoff(&r) == 2);
    assert_int_equal(lc_wait_time(&r, lc_backoff(&r), "the last poll", "pending (%s)", "x"), 0);
    assert_int_equal(r.wait.kind, LC_WAIT_TIME);
    assert_true(r.wait.delay_s == 2);
    assert_string_equal(r.wait.state, "pending (x)");
    assert_string_equal(r.wait.stopped, "the last poll");
    d = lc_backoff(&r);
    assert_true(d >= 3 && d <= 3 * 1.25);
    lc_wait_time(&r, d, "the last poll", "%s", "");
    d = lc_backoff(&r);
    assert_true(d >= 4 && d <= 4 * 1.25);     /* 4.5, capped at 4, then jitter */
    lc_wait_token(&r, 0.5, "waiting for the token", "waiting for %s", "T");
    assert_int_equal(r.wait.kind, LC_WAIT_TOKEN);
    assert_true(lc_waited(&r) >= 0 && lc_waited(&r) < 5);
    /* A wait of nothing returns at once. */
    memset(&r.wait, 0, sizeof(r.wait));
    assert_int_equal(lc_wait_do(&r), 0);
}

static void provision_checks_the_order_id_first(void **state)
{
    char dir[512];
    lifecycle_settings set = { 0 };
    lifecycle_opts o = { 0 };
    lifecycle_err e;
    journal_job *job = (journal_job *)&set;   /* must be reset to NULL */
    struct stat st;

    snprintf(dir, sizeof(dir), "%s/state", (char *)*state);
    set.state_dir = dir;
    assert_int_equal(lifecycle_provision(&set, NULL, "12x", &o, &job, &e), QSCD_EXIT_USAGE);
    assert_null(job);
    assert_non_null(strstr(e.message, "ORDER_ID: must be a positive number (got \"12x\")"));
    assert_int_equal(lifecycle_provision(&set, NULL, "-5", &o, NULL, &e), QSCD_EXIT_USAGE);
    assert_int_equal(lifecycle_provision(&set, NULL, "", &o, NULL, &e), QSCD_EXIT_USAGE);
    assert_int_not_equal(stat(dir, &st), 0);   /* nothing created */
}

/* What a front end's reporter is handed. */
typedef struct seen {
    char lines[4][256];
    int  n_lines;
    char warning[256];
    char waiting[256];
} seen;

static void seen_line(void *ctx, const char *prefix, const char *text)
{
    seen *s = ctx;

    if (s->n_lines < 4)
        snprintf(s->lines[s->n_lines++], sizeof(s->lines[0]), "%s %s", prefix, text);
}

static void seen_warning(void *ctx, const char *text)
{
    snprintf(((seen *)ctx)->warning, sizeof(((seen *)ctx)->warning), "%s", text);
}

static void seen_waiting(void *ctx, const char *prefix, const char *state, double waited_s,
                         double next_s)
{
    snprintf(((seen *)ctx)->waiting, sizeof(((seen *)ctx)->waiting), "%s %s %.0f %.0f", prefix,
             state, waited_s, next_s);
}

static void the_engine_speaks_through_its_reporter(void **state)
{
    seen s = { 0 };
    lifecycle_reporter rep = { .ctx = &s, .line = seen_line, .warning = seen_warning,
                               .waiting = seen_waiting };
    journal_job job = { .ref = "job-1", .order_id = "7" };
    lc_run r = { .rep = &rep, .job = &job };
    lc_run quiet = { .rep = lc_reporter(NULL), .job = &job };

    (void)state;
    lc_say(&r, "approved; certificate %d", 42);
    lc_say_as(&r, "[token T serial 1]", "certificate installed");
    lc_warn(&r, "audit log: %s", "read-only");
    lc_wait_status(&r, "pending", 3, 8);
    assert_int_equal(s.n_lines, 2);
    assert_string_equal(s.lines[0], "[order 7] approved; certificate 42");
    assert_string_equal(s.lines[1], "[token T serial 1] certificate installed");
    assert_string_equal(s.warning, "audit log: read-only");
    assert_string_equal(s.waiting, "[order 7] pending 3 8");
    /* No reporter: nothing is shown, and nothing breaks. */
    lc_say(&quiet, "nothing");
    lc_warn(&quiet, "nothing");
    lc_wait_status(&quiet, "pending", 0, -1);
}

static void status_of_an_empty_state_dir_is_ready(void **state)
{
    lifecycle_settings set = { .state_dir = *state };
    lifecycle_status_list l;
    audit_log log;
    lifecycle_err e;

    assert_int_equal(lifecycle_status(&set, NULL, &l, &e), QSCD_EXIT_OK);
    assert_int_equal(l.n, 0);
    lifecycle_status_list_free(&l);
    assert_int_equal(lifecycle_status(&set, "100001", &l, &e), QSCD_EXIT_USAGE);
    lifecycle_status_list_free(&l);
    assert_int_equal(lifecycle_history(&set, NULL, &log, &e), QSCD_EXIT_OK);
    assert_int_equal(log.n, 0);
    audit_log_free(&log);
}

static void status_of_an_unfinished_job_is_not_ready(void **state)
{
    lifecycle_settings set = { .state_dir = *state };
    lifecycle_status_list l;
    audit_log log;
    journal_job *job = NULL;
    journal_err je;
    lifecycle_err e;
    audit_entry ae = { .action = "order submit", .order_id = "100001", .outcome = "ok" };
    audit_err aerr;

    assert_int_equal(journal_create(*state, &job, &je), JOURNAL_OK);
    job->order_state = LC_ORDER_SUBMITTING;
    assert_int_equal(journal_commit(*state, job, &je), JOURNAL_OK);
    journal_job_free(job);
    assert_int_equal(lifecycle_status(&set, NULL, &l, &e), QSCD_EXIT_NOT_READY);
    assert_int_equal(l.n, 1);
    assert_ptr_equal(l.items[0].job, l.listing.jobs[0]);
    assert_false(l.items[0].ready);
    assert_true(l.items[0].counts);
    assert_string_equal(l.items[0].token, "none bound");
    lifecycle_status_list_free(&l);
    assert_int_equal(audit_record(*state, &ae, &aerr), AUDIT_OK);
    assert_int_equal(lifecycle_history(&set, "100001", &log, &e), QSCD_EXIT_OK);
    assert_int_equal(log.n, 1);
    assert_string_equal(log.entries[0].action, "order submit");
    audit_log_free(&log);
}

static void chain_path_is_beside_the_journal(void **state)
{
    char *p = state_chain_file("/var/lib/qscd-agent", "job-0123456789abcdef");

    (void)state;
    assert_string_equal(p, "/var/lib/qscd-agent/certs/job-0123456789abcdef.pem");
    free(p);
    {
        store_settings ss = { .state_dir = "/nonexistent" };
        store *st = NULL;
        journal_err je = { 0 };

        assert_int_equal(store_open(&ss, &st, &je), JOURNAL_OK);
        assert_null(lc_chain_load(st, "job-0123456789abcdef"));
        store_close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_errors_map_to_exit_codes),
        cmocka_unit_test(token_errors_map_to_exit_codes),
        cmocka_unit_test(the_engine_speaks_through_its_reporter),
        cmocka_unit_test(a_waiting_step_backs_off_to_the_cap),
        cmocka_unit_test_setup_teardown(provision_checks_the_order_id_first, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(status_of_an_empty_state_dir_is_ready, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(status_of_an_unfinished_job_is_not_ready, setup_dir,
                                        teardown_dir),
        cmocka_unit_test(chain_path_is_beside_the_journal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
