/*
 * A job committed thousands of times stays readable: its file keeps a
 * bounded tail of transitions, the older ones are in the audit log (each
 * exactly once, oldest first), and a reload sees the tail in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit.h"
#include "journal.h"
#include "lifecycle.h"
#include "unit-files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COMMITS 3000

static size_t words(const char *s)
{
    size_t n = 0;

    for (bool in = false; s != NULL && *s; s++) {
        if (*s != ' ' && !in)
            n++;
        in = *s != ' ';
    }
    return n;
}

static void a_job_resumed_thousands_of_times_stays_readable(void **state)
{
    char root[64], path[256];
    journal_job *job = NULL, *back = NULL;
    journal_err err = { 0 };
    audit_log log = { 0 };
    audit_err ae = { 0 };
    struct stat st;
    size_t moved = 0, lines = 0;

    (void)state;
    /* tmpfs when there is one: thousands of fsyncs on a disk take a while. */
    snprintf(root, sizeof(root), "/dev/shm/qscd-test-compact.XXXXXX");
    if (mkdtemp(root) == NULL)
        assert_int_equal(unit_tempdir(root, sizeof(root), "compact"), 0);
    assert_int_equal(journal_create(root, &job, &err), JOURNAL_OK);
    size_t first = job->n_transitions;
    /* A token plugged in and pulled out, over and over. */
    for (int i = 0; i < COMMITS; i++) {
        job->device_state = (i % 2) ? LC_DEV_TOKEN_ABSENT : LC_DEV_TOKEN_PRESENT;
        assert_int_equal(journal_commit(root, job, &err), JOURNAL_OK);
    }
    char ref[64];
    snprintf(ref, sizeof(ref), "%s", job->ref);
    journal_job_free(job);

    snprintf(path, sizeof(path), "%s/jobs/%s.json", root, ref);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < 32 * 1024);
    assert_int_equal(journal_load(root, ref, &back, &err), JOURNAL_OK);
    assert_true(back->n_transitions <= 96);
    assert_true(back->n_transitions >= 64);
    /* The newest is the last commit's state. */
    assert_true(back->transitions[back->n_transitions - 1].device);
    assert_int_equal(back->transitions[back->n_transitions - 1].state, LC_DEV_TOKEN_ABSENT);

    assert_int_equal(audit_read(root, NULL, &log, &ae), AUDIT_OK);
    for (size_t i = 0; i < log.n; i++)
        if (strcmp(log.entries[i].action, "journal compact") == 0) {
            assert_string_equal(log.entries[i].job_ref, ref);
            moved += words(log.entries[i].error);
            lines++;
        }
    assert_true(lines > 0);
    assert_int_equal(moved + back->n_transitions, first + COMMITS);
    assert_non_null(strstr(log.entries[0].error, "device:token_present@"));
    audit_log_free(&log);
    journal_job_free(back);
    unit_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_job_resumed_thousands_of_times_stays_readable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
