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

#include "../../src/lifecycle_int.h"
#include "audit.h"
#include "exit_codes.h"

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

static void provision_checks_the_order_id_first(void **state)
{
    char dir[512];
    cli_config cfg = { 0 };
    lifecycle_opts o = { 0 };
    lifecycle_err e;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s/state", (char *)*state);
    cfg.state_dir = dir;
    cfg.quiet = true;
    assert_int_equal(lifecycle_provision(&cfg, "12x", &o, &e), QSCD_EXIT_USAGE);
    assert_non_null(strstr(e.message, "ORDER_ID: must be a positive number (got \"12x\")"));
    assert_int_equal(lifecycle_provision(&cfg, "-5", &o, &e), QSCD_EXIT_USAGE);
    assert_int_equal(lifecycle_provision(&cfg, "", &o, &e), QSCD_EXIT_USAGE);
    assert_int_not_equal(stat(dir, &st), 0);   /* nothing created */
}

static void status_of_an_empty_state_dir_is_ready(void **state)
{
    cli_config cfg = { .state_dir = *state, .quiet = true };
    lifecycle_err e;

    assert_int_equal(lifecycle_status(&cfg, NULL, &e), QSCD_EXIT_OK);
    assert_int_equal(lifecycle_status(&cfg, "100001", &e), QSCD_EXIT_USAGE);
    assert_int_equal(lifecycle_history(&cfg, NULL, &e), QSCD_EXIT_OK);
}

static void status_of_an_unfinished_job_is_not_ready(void **state)
{
    cli_config cfg = { .state_dir = *state, .quiet = true };
    journal_job *job = NULL;
    journal_err je;
    lifecycle_err e;
    audit_entry ae = { .action = "order submit", .order_id = "100001", .outcome = "ok" };
    audit_err aerr;

    assert_int_equal(journal_create(*state, &job, &je), JOURNAL_OK);
    job->order_state = LC_ORDER_SUBMITTING;
    assert_int_equal(journal_commit(*state, job, &je), JOURNAL_OK);
    journal_job_free(job);
    assert_int_equal(lifecycle_status(&cfg, NULL, &e), QSCD_EXIT_NOT_READY);
    cfg.json = true;
    assert_int_equal(lifecycle_status(&cfg, NULL, &e), QSCD_EXIT_NOT_READY);
    assert_int_equal(audit_record(*state, &ae, &aerr), AUDIT_OK);
    assert_int_equal(lifecycle_history(&cfg, "100001", &e), QSCD_EXIT_OK);
}

static void chain_path_is_beside_the_journal(void **state)
{
    char *p = lc_chain_path("/var/lib/qscd-agent", "job-0123456789abcdef");

    (void)state;
    assert_string_equal(p, "/var/lib/qscd-agent/certs/job-0123456789abcdef.pem");
    free(p);
    assert_null(lc_chain_load("/nonexistent", "job-0123456789abcdef"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_errors_map_to_exit_codes),
        cmocka_unit_test(token_errors_map_to_exit_codes),
        cmocka_unit_test_setup_teardown(provision_checks_the_order_id_first, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(status_of_an_empty_state_dir_is_ready, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(status_of_an_unfinished_job_is_not_ready, setup_dir,
                                        teardown_dir),
        cmocka_unit_test(chain_path_is_beside_the_journal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
