/*
 * The one durable file writer: content, mode, create-only, a target that is
 * a symbolic link, failures that leave nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "durable_file.h"
#include "unit-files.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static int setup(void **state)
{
    static char dir[256];

    assert_int_equal(unit_tempdir(dir, sizeof(dir), "durable"), 0);
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    unit_rmtree(*state);
    return 0;
}

/* Entries in dir besides . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void writes_replaces_and_keeps_the_mode(void **state)
{
    char path[512], *text;
    durable_err e = { 0 };
    struct stat st;
    size_t len;

    snprintf(path, sizeof(path), "%s/chain.pem", (char *)*state);
    assert_int_equal(durable_write(path, "first", 5, 0600, false, &e), 0);
    assert_int_equal(durable_write(path, "second, longer", 14, 0644, false, &e), 0);
    text = unit_read_file(path, &len);
    assert_non_null(text);
    assert_string_equal(text, "second, longer");
    free(text);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(entries(*state), 1);   /* no temporary file left */
}

static void create_only_never_replaces(void **state)
{
    char path[512], *text;
    durable_err e = { 0 };
    struct stat st;
    size_t len;

    snprintf(path, sizeof(path), "%s/job.json", (char *)*state);
    assert_int_equal(durable_write(path, "{\"a\":1}", 7, 0600, true, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(durable_write(path, "{\"b\":2}", 7, 0600, true, &e), -1);
    assert_int_equal(e.errnum, EEXIST);
    assert_string_equal(e.step, "create");
    text = unit_read_file(path, &len);
    assert_string_equal(text, "{\"a\":1}");
    free(text);
    assert_int_equal(entries(*state), 1);
}

/* A link planted at the target is replaced, never written through. */
static void a_symlinked_target_is_not_followed(void **state)
{
    char path[512], victim[512], *text;
    durable_err e = { 0 };
    struct stat st;
    size_t len;

    snprintf(victim, sizeof(victim), "%s/victim", (char *)*state);
    snprintf(path, sizeof(path), "%s/chain.pem", (char *)*state);
    assert_int_equal(durable_write(victim, "keep me", 7, 0600, false, &e), 0);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(durable_write(path, "new", 3, 0600, false, &e), 0);
    text = unit_read_file(victim, &len);
    assert_string_equal(text, "keep me");
    free(text);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void a_missing_directory_is_an_error_that_says_so(void **state)
{
    char path[512];
    durable_err e = { 0 };

    snprintf(path, sizeof(path), "%s/no/such/dir/file", (char *)*state);
    assert_int_equal(durable_write(path, "x", 1, 0600, false, &e), -1);
    assert_int_equal(e.errnum, ENOENT);
    assert_string_equal(e.step, "create a temporary file");
    assert_int_equal(durable_sync_dir(path, &e), -1);
    assert_int_equal(durable_sync_dir(*state, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_replaces_and_keeps_the_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(create_only_never_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(a_symlinked_target_is_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_directory_is_an_error_that_says_so, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
