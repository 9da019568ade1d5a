/*
 * The state directory's layout: every path the parts use, from one place.
 * docs/lifecycle.md describes the same layout for operators.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "state_layout.h"

#include <stdlib.h>

static void expect_path(char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void every_path_of_the_layout(void **state)
{
    (void)state;
    expect_path(state_jobs_dir("/s"), "/s/jobs");
    expect_path(state_job_file("/s", "job-1", ".json"), "/s/jobs/job-1.json");
    expect_path(state_job_file("/s", "job-1", ".lock"), "/s/jobs/job-1.lock");
    expect_path(state_job_file("/s", "odd-name", ""), "/s/jobs/odd-name");
    expect_path(state_certs_dir("/s"), "/s/certs");
    expect_path(state_chain_file("/s", "job-1"), "/s/certs/job-1.pem");
    expect_path(state_audit_file("/s"), "/s/audit.log");
    expect_path(state_submit_lock_file("/s"), "/s/submit.lock");
    expect_path(state_sub_file("/s", STATE_PIN_REFUSED, "x.json"), "/s/pin-refused/x.json");
    expect_path(state_pace_file("/s", "https___h_services_v2"), "/s/pace/https___h_services_v2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_path_of_the_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
