/*
 * The job journal against a real directory: create, commit, load, lock,
 * list, find; corrupt and newer files left alone; no secret field; and the
 * test-only crash hook (build/asan has it, build/ has not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "journal.h"
#include "unit-files.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char root[64];
    char dir[128];   /* the state dir, below root so that creating it is tested */
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    if (unit_tempdir(fx->root, sizeof(fx->root), "journal") != 0)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "%s/var/state", fx->root);
    unsetenv("QSCD_TEST_CRASH_AFTER");
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

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long len;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)len + 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *job_file(const struct fixture *fx, const char *ref)
{
    static char path[256];

    snprintf(path, sizeof(path), "%s/jobs/%s.json", fx->dir, ref);
    return path;
}

static journal_job *create(const struct fixture *fx)
{
    journal_job *job = NULL;
    journal_err err;

    if (journal_create(fx->dir, &job, &err) != JOURNAL_OK)
        fail_msg("journal_create: %s", err.message);
    return job;
}

static void fill_everything(journal_job *job)
{
    journal_set(&job->order_id, "123456");
    journal_set(&job->request_id, "654321");
    journal_set(&job->certificate_id, "777");
    journal_set(&job->product, "pkio_qualified_organisation_services");
    journal_set(&job->organization_id, "42");
    journal_set(&job->request_sha256, "ab12");
    job->request_created = 1714564800;
    journal_set(&job->token.serial, "0123456789ab");
    journal_set(&job->token.manufacturer, "SoftHSM project");
    journal_set(&job->token.model, "SoftHSM v2");
    journal_set(&job->token.label, "QSCD-01");
    journal_set(&job->token.uri, "pkcs11:token=QSCD-01;serial=0123456789ab");
    journal_set(&job->key_id_hex, "a1b2c3");
    journal_set(&job->cert_serial, "0A1B2C");
    journal_set(&job->cert_sha256, "ab12");
    job->generate_key = true;
    job->reissued = true;
    job->rekey_step = JOURNAL_REKEY_REISSUE;
    journal_set(&job->rekey_after_request, "654320");
    journal_set(&job->rekey_csr_sha256, "cd34");
    job->rekey_at = 1714564900;
    journal_set_error(job, "request_limit_exceeded", "CertCentral: rate limited; retried later");
    job->order_state = LC_ORDER_CERTIFICATE_READY;
    job->device_state = LC_DEV_VERIFIED;
}

static void test_create_makes_private_dirs_and_a_locked_draft(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx);
    struct stat st;
    char jobs[160];

    assert_int_equal(strncmp(job->ref, "job-", 4), 0);
    assert_int_equal(strlen(job->ref), JOURNAL_REF_LEN);
    assert_true(journal_ref_valid(job->ref));
    assert_true(job->lock_fd >= 0);
    assert_int_equal(job->order_state, LC_ORDER_DRAFT);
    assert_int_equal(job->device_state, LC_DEV_TOKEN_ABSENT);
    assert_int_equal(job->n_transitions, 2);
    assert_true(job->created > 0 && job->updated >= job->created);
    assert_int_equal(stat(fx->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(jobs, sizeof(jobs), "%s/jobs", fx->dir);
    assert_int_equal(stat(jobs, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(job_file(fx, job->ref), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    journal_job_free(job);
}

static void test_commit_and_load_round_trip(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *back = NULL;
    journal_err err;

    fill_everything(job);
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    assert_int_equal(journal_load(fx->dir, job->ref, &back, &err), JOURNAL_OK);
    assert_string_equal(back->ref, job->ref);
    assert_int_equal(back->order_state, LC_ORDER_CERTIFICATE_READY);
    assert_int_equal(back->device_state, LC_DEV_VERIFIED);
    assert_string_equal(back->order_id, "123456");
    assert_string_equal(back->request_id, "654321");
    assert_string_equal(back->certificate_id, "777");
    assert_string_equal(back->product, "pkio_qualified_organisation_services");
    assert_string_equal(back->organization_id, "42");
    assert_string_equal(back->request_sha256, "ab12");
    assert_int_equal(back->request_created, 1714564800);
    assert_string_equal(back->token.serial, "0123456789ab");
    assert_string_equal(back->token.manufacturer, "SoftHSM project");
    assert_string_equal(back->token.model, "SoftHSM v2");
    assert_string_equal(back->token.label, "QSCD-01");
    assert_string_equal(back->token.uri, "pkcs11:token=QSCD-01;serial=0123456789ab");
    assert_string_equal(back->key_id_hex, "a1b2c3");
    assert_string_equal(back->cert_serial, "0A1B2C");
    assert_string_equal(back->cert_sha256, "ab12");
    assert_true(back->generate_key && back->reissued);
    assert_int_equal(back->rekey_step, JOURNAL_REKEY_REISSUE);
    assert_string_equal(back->rekey_after_request, "654320");
    assert_string_equal(back->rekey_csr_sha256, "cd34");
    assert_int_equal(back->rekey_at, 1714564900);
    assert_string_equal(back->error_code, "request_limit_exceeded");
    assert_string_equal(back->error_message, "CertCentral: rate limited; retried later");
    assert_int_equal(back->created, job->created);
    assert_int_equal(back->lock_fd, -1);
    assert_int_equal(journal_job_facts(back), LC_F_TOKEN_BOUND);
    /* draft, token_absent, then one change on each side */
    assert_int_equal(back->n_transitions, 4);
    assert_false(back->transitions[2].device);
    assert_int_equal(back->transitions[2].state, LC_ORDER_CERTIFICATE_READY);
    assert_true(back->transitions[3].device);
    assert_int_equal(back->transitions[3].state, LC_DEV_VERIFIED);
    journal_job_free(back);
    journal_job_free(job);
}

static void test_transitions_only_on_change(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx);
    journal_err err;

    journal_set(&job->order_id, "1");
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    assert_int_equal(job->n_transitions, 2);
    job->order_state = LC_ORDER_SUBMITTING;
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    assert_int_equal(job->n_transitions, 3);
    job->device_state = LC_DEV_TOKEN_PRESENT;
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    assert_int_equal(job->n_transitions, 4);
    assert_true(job->transitions[3].device);
    journal_job_free(job);
}

/* Walk every key of the file: none may be a place for a PIN or an API key. */
static void assert_no_secret_keys(const cJSON *node)
{
    static const char *const bad[] = { "pin", "secret", "pass", "api", "devkey", "puk", "private" };
    const cJSON *c;

    cJSON_ArrayForEach(c, node) {
        if (c->string != NULL) {
            char lower[64] = "";

            for (size_t i = 0; c->string[i] && i < sizeof(lower) - 1; i++)
                lower[i] = (char)tolower((unsigned char)c->string[i]);
            for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (strstr(lower, bad[i]) != NULL)
                    fail_msg("journal field \"%s\" looks like a secret", c->string);
        }
        assert_no_secret_keys(c);
    }
}

static void test_written_file_has_no_secret_field(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx);
    journal_err err;
    cJSON *root;
    char *text;

    fill_everything(job);
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    text = slurp(job_file(fx, job->ref));
    assert_non_null(text);
    root = cJSON_Parse(text);
    assert_non_null(root);
    assert_int_equal(cJSON_GetObjectItem(root, "schema")->valueint, 1);
    assert_no_secret_keys(root);
    assert_null(strstr(text, "pin-value"));
    cJSON_Delete(root);
    free(text);
    journal_job_free(job);
}

static void test_lock_is_exclusive_and_names_the_holder(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *other = NULL;
    char want[64];
    journal_err err;

    /* flock conflicts between open files even within one process. */
    assert_int_equal(journal_open_locked(fx->dir, job->ref, false, &other, &err), JOURNAL_ERR_BUSY);
    assert_null(other);
    assert_true(err.retryable);
    snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
    assert_non_null(strstr(err.message, "is being worked on by another qscd-agent"));
    assert_non_null(strstr(err.message, want));
    assert_non_null(strstr(err.message, job->ref));
    journal_unlock(job);
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_ERR_INVALID);
    assert_non_null(strstr(err.message, "not locked"));
    assert_int_equal(journal_open_locked(fx->dir, job->ref, false, &other, &err), JOURNAL_OK);
    assert_int_equal(journal_lock(fx->dir, job, false, &err), JOURNAL_ERR_BUSY);
    journal_job_free(other);
    assert_int_equal(journal_lock(fx->dir, job, false, &err), JOURNAL_OK);
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    journal_job_free(job);
}

/* A blocking lock waits for the holder: child holds, parent waits, child lets go. */
static void test_blocking_lock_waits_for_the_holder(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *mine = NULL;
    int ready[2], go[2];
    journal_err err;
    char c;
    pid_t pid;
    int status;

    journal_unlock(job);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        journal_job *held = NULL;

        if (journal_open_locked(fx->dir, job->ref, false, &held, &err) != JOURNAL_OK)
            _exit(1);
        held->order_state = LC_ORDER_PENDING;
        if (journal_commit(fx->dir, held, &err) != JOURNAL_OK || write(ready[1], "r", 1) != 1)
            _exit(2);
        if (read(go[0], &c, 1) != 1)
            _exit(3);
        _exit(0);  /* exit releases the lock */
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(journal_open_locked(fx->dir, job->ref, false, &mine, &err), JOURNAL_ERR_BUSY);
    assert_non_null(strstr(err.message, "pid"));
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(journal_lock(fx->dir, job, true, &err), JOURNAL_OK);
    /* Locking re-reads: the child's commit is seen. */
    assert_int_equal(job->order_state, LC_ORDER_PENDING);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]); close(ready[1]); close(go[0]); close(go[1]);
    journal_job_free(job);
}

static void test_corrupt_file_is_reported_and_left_alone(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *back = NULL;
    const char *bad = "{\n  \"schema\": 1,\n  \"ref\": oops\n}\n";
    journal_listing l;
    journal_err err;
    char *text;

    journal_unlock(job);
    spit(job_file(fx, job->ref), bad);
    assert_int_equal(journal_load(fx->dir, job->ref, &back, &err), JOURNAL_ERR_CORRUPT);
    assert_null(back);
    assert_non_null(strstr(err.message, "not valid JSON at line 3"));
    assert_non_null(strstr(err.message, job_file(fx, job->ref)));
    assert_int_equal(journal_open_locked(fx->dir, job->ref, false, &back, &err), JOURNAL_ERR_CORRUPT);
    assert_int_equal(journal_list(fx->dir, &l, &err), JOURNAL_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.n_problems, 1);
    assert_non_null(strstr(l.problems[0], "not valid JSON"));
    /* The job files among the problems, with the reason apart. */
    assert_int_equal(l.n_unreadable, 1);
    assert_string_equal(l.unreadable[0].file, job_file(fx, job->ref));
    assert_string_equal(l.unreadable[0].reason, "not valid JSON at line 3");
    assert_int_equal(l.unreadable[0].code, JOURNAL_ERR_CORRUPT);
    journal_listing_free(&l);
    text = slurp(job_file(fx, job->ref));
    assert_string_equal(text, bad);
    free(text);
    journal_job_free(job);
}

/* The request's identity is in the first write: a crash right after it
 * leaves a draft that names its request. */
static void test_create_request_writes_the_request_first(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = NULL, *back = NULL;
    journal_err err;

    assert_int_equal(journal_create_request(fx->dir, "prod", "42", "ab12", &job, &err),
                     JOURNAL_OK);
    assert_int_equal(journal_load(fx->dir, job->ref, &back, &err), JOURNAL_OK);
    assert_int_equal(back->order_state, LC_ORDER_DRAFT);
    assert_string_equal(back->product, "prod");
    assert_string_equal(back->organization_id, "42");
    assert_string_equal(back->request_sha256, "ab12");
    assert_int_equal(back->n_transitions, 2);
    journal_job_free(back);
    journal_job_free(job);
}

static void test_wrong_kinds_and_states_name_the_field(void **state)
{
    static const struct { const char *text, *want; } cases[] = {
        { "[1]", "not a JSON object" },
        { "{\"ref\":\"job-0000000000000000\"}", "no \"schema\" field" },
        { "{\"schema\":\"1\"}", "\"schema\" must be a positive integer" },
        { "{\"schema\":1,\"ref\":\"../../etc/passwd\"}", "\"ref\" must be" },
        { "{\"schema\":1,\"ref\":\"job-0000000000000000\",\"order\":{\"state\":\"issued\"}}",
          "\"order.state\": \"issued\" is not a known order state" },
        { "{\"schema\":1,\"ref\":\"job-0000000000000000\",\"order\":{\"state\":\"draft\",\"id\":5}}",
          "\"order.id\" must be a string" },
        { "{\"schema\":1,\"ref\":\"job-0000000000000000\",\"order\":{\"state\":\"draft\"}}",
          "\"device.state\" is missing" },
        { "{\"schema\":1,\"ref\":\"job-0000000000000000\",\"created\":\"yesterday\"}",
          "\"created\": not a time" },
        { "{\"schema\":1,\"ref\":\"job-0000000000000000\",\"order\":{\"state\":\"draft\"},"
          "\"device\":{\"state\":\"token_absent\",\"rekey\":{\"step\":\"posted\"}}}",
          "\"device.rekey.step\" must be keygen or reissue (got \"posted\")" },
    };
    journal_job *job = NULL;
    journal_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(journal_job_from_json(cases[i].text, "x.json", &job, &err), JOURNAL_ERR_CORRUPT);
        assert_null(job);
        if (strstr(err.message, cases[i].want) == NULL || strncmp(err.message, "job file x.json: ", 17))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.message, cases[i].want);
    }
}

/* A file torn anywhere (a disk that lied about fsync) is refused, never half-read. */
static void test_every_truncation_is_refused(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *back = NULL;
    journal_err err;
    char *text;
    size_t len;

    fill_everything(job);
    text = journal_job_to_json(job);
    assert_non_null(text);
    len = strlen(text);
    for (size_t n = 0; n < len; n++) {
        char saved = text[n];

        text[n] = '\0';
        if (journal_job_from_json(text, "torn.json", &back, &err) == JOURNAL_OK)
            fail_msg("a file cut after %zu of %zu bytes was accepted", n, len);
        assert_null(back);
        text[n] = saved;
    }
    assert_int_equal(journal_job_from_json(text, "whole.json", &back, &err), JOURNAL_OK);
    assert_string_equal(back->token.label, "QSCD-01");
    journal_job_free(back);
    free(text);
    journal_job_free(job);
}

static void test_newer_schema_is_refused_untouched(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *back = NULL;
    journal_err err;
    char *text, *newer;

    text = journal_job_to_json(job);
    newer = strstr(text, "\"schema\":\t1");
    assert_non_null(newer);
    newer[10] = '7';
    journal_unlock(job);
    spit(job_file(fx, job->ref), text);
    assert_int_equal(journal_open_locked(fx->dir, job->ref, false, &back, &err), JOURNAL_ERR_VERSION);
    assert_non_null(strstr(err.message, "schema 7 is newer than this qscd-agent understands"));
    free(text);
    text = slurp(job_file(fx, job->ref));
    assert_non_null(strstr(text, "\"schema\":\t7"));
    free(text);
    journal_job_free(job);
}

static void test_list_sorted_by_creation_and_find_by_order(void **state)
{
    struct fixture *fx = *state;
    static const time_t created[3] = { 3000, 1000, 2000 };
    static const char *const orders[3] = { "300", "100", "200" };
    journal_listing l;
    journal_job *found = NULL;
    journal_err err;
    char stray[256];

    for (int i = 0; i < 3; i++) {
        journal_job *job = create(fx);

        job->created = created[i];
        journal_set(&job->order_id, orders[i]);
        assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
        journal_job_free(job);
    }
    snprintf(stray, sizeof(stray), "%s/jobs/notes.json", fx->dir);
    spit(stray, "{}");
    assert_int_equal(journal_list(fx->dir, &l, &err), JOURNAL_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.jobs[0]->order_id, "100");
    assert_string_equal(l.jobs[1]->order_id, "200");
    assert_string_equal(l.jobs[2]->order_id, "300");
    assert_int_equal(l.n_problems, 1);
    assert_non_null(strstr(l.problems[0], "notes.json: not a job file name"));
    journal_listing_free(&l);
    assert_int_equal(journal_find_by_order(fx->dir, "200", &found, &err), JOURNAL_OK);
    assert_string_equal(found->order_id, "200");
    assert_int_equal(found->created, 2000);
    journal_job_free(found);
    assert_int_equal(journal_find_by_order(fx->dir, "999", &found, &err), JOURNAL_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no job for order 999"));
}

static void test_no_temp_files_left_and_empty_dir_lists_nothing(void **state)
{
    struct fixture *fx = *state;
    journal_listing l;
    journal_job *job;
    journal_err err;
    struct dirent *de;
    char jobs[160];
    int others = 0;
    DIR *d;

    assert_int_equal(journal_list(fx->dir, &l, &err), JOURNAL_OK);  /* no dir yet */
    assert_int_equal(l.n + l.n_problems, 0);
    job = create(fx);
    for (int i = 0; i < 5; i++)
        assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    snprintf(jobs, sizeof(jobs), "%s/jobs", fx->dir);
    d = opendir(jobs);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || strstr(de->d_name, ".tmp.") != NULL)
            others += strstr(de->d_name, ".tmp.") != NULL ? 100 : 1;
    closedir(d);
    assert_int_equal(others, 2);  /* <ref>.json and <ref>.lock */
    journal_job_free(job);
}

static void test_bad_arguments(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = NULL;
    journal_err err;

    assert_int_equal(journal_load(fx->dir, "../../etc/passwd", &job, &err), JOURNAL_ERR_INVALID);
    assert_non_null(strstr(err.message, "job reference"));
    assert_int_equal(journal_load(fx->dir, "job-00000000000000ff", &job, &err), JOURNAL_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no job job-00000000000000ff"));
    assert_int_equal(journal_open_locked(fx->dir, "job-00000000000000ff", false, &job, &err),
                     JOURNAL_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no job job-00000000000000ff"));
    assert_int_equal(journal_create(NULL, &job, &err), JOURNAL_ERR_INVALID);
    assert_int_equal(journal_commit(fx->dir, NULL, &err), JOURNAL_ERR_INVALID);
    assert_false(journal_ref_valid("job-00000000000000FF"));
}

/*
 * Create a job in a child with QSCD_TEST_CRASH_AFTER set, in a state dir of
 * its own (a crash at "draft" comes before the child could name the job);
 * report how the child ended.
 */
static int child_commits(const struct fixture *fx, const char *crash_after, char *dir, size_t len)
{
    static int n;
    int status;
    pid_t pid;

    snprintf(dir, len, "%s/crash%d", fx->dir, ++n);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        journal_job *job = NULL;
        journal_err err;

        setenv("QSCD_TEST_CRASH_AFTER", crash_after, 1);
        if (journal_create(dir, &job, &err) != JOURNAL_OK)
            _exit(1);
        journal_set(&job->order_id, "5");
        if (journal_commit(dir, job, &err) != JOURNAL_OK)  /* no state change */
            _exit(2);
        job->order_state = LC_ORDER_SUBMITTING;
        if (journal_commit(dir, job, &err) != JOURNAL_OK)
            _exit(3);
        job->order_state = LC_ORDER_PENDING;
        job->device_state = LC_DEV_TOKEN_PRESENT;
        if (journal_commit(dir, job, &err) != JOURNAL_OK)
            _exit(4);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

/* The order state of the one job in dir, as the disk has it. */
static enum lifecycle_order_state state_on_disk(const char *dir)
{
    enum lifecycle_order_state s;
    journal_listing l;
    journal_err err;

    assert_int_equal(journal_list(dir, &l, &err), JOURNAL_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.n_problems, 0);
    s = l.jobs[0]->order_state;
    journal_listing_free(&l);
    return s;
}

static void test_crash_hook(void **state)
{
    struct fixture *fx = *state;
    char dir[256];

#ifdef QSCD_TEST_HOOKS
    /* Killed right after the commit into "submitting" reached the disk. */
    assert_int_equal(child_commits(fx, "submitting", dir, sizeof(dir)), -SIGKILL);
    assert_int_equal(state_on_disk(dir), LC_ORDER_SUBMITTING);
    /* A device state works too; "draft" at create as well. */
    assert_int_equal(child_commits(fx, "token_present", dir, sizeof(dir)), -SIGKILL);
    assert_int_equal(state_on_disk(dir), LC_ORDER_PENDING);
    assert_int_equal(child_commits(fx, "draft", dir, sizeof(dir)), -SIGKILL);
    assert_int_equal(state_on_disk(dir), LC_ORDER_DRAFT);
    /* The 2nd commit of the process (create is the 1st) changes no state. */
    assert_int_equal(child_commits(fx, "2", dir, sizeof(dir)), -SIGKILL);
    assert_int_equal(state_on_disk(dir), LC_ORDER_DRAFT);
    /* A state never entered never matches. */
    assert_int_equal(child_commits(fx, "approved", dir, sizeof(dir)), 0);
    assert_int_equal(state_on_disk(dir), LC_ORDER_PENDING);
#else
    /* Release builds have no hook: the variable is ignored. */
    assert_int_equal(child_commits(fx, "submitting", dir, sizeof(dir)), 0);
    assert_int_equal(state_on_disk(dir), LC_ORDER_PENDING);
    assert_int_equal(child_commits(fx, "1", dir, sizeof(dir)), 0);
    assert_int_equal(state_on_disk(dir), LC_ORDER_PENDING);
#endif
}

/* The refresh's "remote" object: absent until written, then read back;
 * a wrong kind names its field. */
static void test_remote_state_is_optional_and_round_trips(void **state)
{
    struct fixture *fx = *state;
    journal_job *job = create(fx), *back = NULL;
    journal_err err;
    char *text;

    text = journal_job_to_json(job);
    assert_null(strstr(text, "\"remote\""));
    free(text);
    journal_set(&job->remote_status, "revoked");
    journal_set(&job->remote_certificate_id, "300001");
    job->remote_since = 1714564800;
    job->remote_checked = 1714568400;
    assert_int_equal(journal_commit(fx->dir, job, &err), JOURNAL_OK);
    assert_int_equal(journal_load(fx->dir, job->ref, &back, &err), JOURNAL_OK);
    assert_string_equal(back->remote_status, "revoked");
    assert_string_equal(back->remote_certificate_id, "300001");
    assert_int_equal(back->remote_since, 1714564800);
    assert_int_equal(back->remote_checked, 1714568400);
    journal_job_free(back);
    text = journal_job_to_json(job);
    assert_non_null(strstr(text, "\"since\":\t\"2024-05-01T12:00:00Z\""));
    char *st = strstr(text, "\"revoked\"");
    assert_non_null(st);
    memcpy(st, "12345678 ", 9);   /* "status": a number now */
    assert_int_equal(journal_job_from_json(text, "bad.json", &back, &err), JOURNAL_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "\"remote.status\" must be a string"));
    free(text);
    journal_job_free(job);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_makes_private_dirs_and_a_locked_draft),
        T(test_commit_and_load_round_trip),
        T(test_transitions_only_on_change),
        T(test_written_file_has_no_secret_field),
        T(test_lock_is_exclusive_and_names_the_holder),
        T(test_blocking_lock_waits_for_the_holder),
        T(test_corrupt_file_is_reported_and_left_alone),
        T(test_create_request_writes_the_request_first),
        T(test_wrong_kinds_and_states_name_the_field),
        T(test_every_truncation_is_refused),
        T(test_newer_schema_is_refused_untouched),
        T(test_list_sorted_by_creation_and_find_by_order),
        T(test_no_temp_files_left_and_empty_dir_lists_nothing),
        T(test_bad_arguments),
        T(test_crash_hook),
        T(test_remote_state_is_optional_and_round_trips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
