/*
 * PIN sources: the spec syntax, and reading from file (mode enforced), fd
 * and environment into secret buffers; errors never carry the PIN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin_source.h"

static void test_parse(void **state)
{
    pin_source s;
    char err[256];

    (void)state;
    assert_true(pin_source_parse(NULL, "--pin-source", &s, err, sizeof(err)));
    assert_int_equal(s.kind, PIN_SOURCE_PROMPT);
    assert_true(pin_source_parse("pinpad", "--pin-source", &s, err, sizeof(err)));
    assert_int_equal(s.kind, PIN_SOURCE_PINPAD);
    assert_true(pin_source_parse("fd:7", "--pin-source", &s, err, sizeof(err)));
    assert_int_equal(s.kind, PIN_SOURCE_FD);
    assert_int_equal(s.fd, 7);
    assert_true(pin_source_parse("file:/x/y", "--pin-source", &s, err, sizeof(err)));
    assert_int_equal(s.kind, PIN_SOURCE_FILE);
    assert_string_equal(s.arg, "/x/y");
    pin_source_clear(&s);
    assert_true(pin_source_parse("env:MY_PIN", "--pin-source", &s, err, sizeof(err)));
    assert_string_equal(s.arg, "MY_PIN");
    pin_source_clear(&s);
}

static void test_parse_rejects_without_echo(void **state)
{
    const char *bad[] = { "123456", "fd:", "fd:-1", "fd:7x", "file:", "env:", "env:1X",
                          "env:A-B", "FILE:/x" };
    pin_source s;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(pin_source_parse(bad[i], "--pin-source", &s, err, sizeof(err)));
        assert_non_null(strstr(err, "--pin-source"));
        pin_source_clear(&s);
    }
    /* a PIN typed where the source belongs must not be printed back */
    assert_false(pin_source_parse("739184", "--pin-source", &s, err, sizeof(err)));
    assert_null(strstr(err, "739184"));
    assert_false(pin_source_parse("fd:739184x", "--pin-source", &s, err, sizeof(err)));
    assert_null(strstr(err, "739184"));
}

static char *write_file(const char *content, mode_t mode)
{
    char *path = strdup("/tmp/qscd-pin-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    chmod(path, mode);
    return path;
}

static void test_file(void **state)
{
    char *ok = write_file("4711\n", 0600), *open_ = write_file("4711\n", 0640);
    char spec[64], err[512];
    pin_source s;
    secret *pin = NULL;

    (void)state;
    snprintf(spec, sizeof(spec), "file:%s", ok);
    assert_true(pin_source_parse(spec, "--pin-source", &s, err, sizeof(err)));
    assert_true(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_string_equal(pin->data, "4711");   /* newline dropped */
    assert_int_equal(pin->len, 4);
    secret_free(pin);
    pin_source_clear(&s);

    snprintf(spec, sizeof(spec), "file:%s", open_);
    assert_true(pin_source_parse(spec, "--pin-source", &s, err, sizeof(err)));
    assert_false(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_null(pin);
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, "4711"));
    pin_source_clear(&s);
    unlink(ok);
    unlink(open_);
    free(ok);
    free(open_);
}

static void test_fd_and_env(void **state)
{
    int p[2];
    char spec[32], err[256];
    pin_source s;
    secret *pin = NULL;

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "987654\r\n", 8), 8);
    close(p[1]);
    snprintf(spec, sizeof(spec), "fd:%d", p[0]);
    assert_true(pin_source_parse(spec, "--pin-source", &s, err, sizeof(err)));
    assert_true(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_string_equal(pin->data, "987654");
    secret_free(pin);
    pin_source_clear(&s);

    setenv("QSCD_TEST_PIN", "55667788", 1);
    assert_true(pin_source_parse("env:QSCD_TEST_PIN", "--pin-source", &s, err, sizeof(err)));
    assert_true(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_string_equal(pin->data, "55667788");
    assert_null(getenv("QSCD_TEST_PIN"));     /* not left for children */
    secret_free(pin);
    assert_false(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_non_null(strstr(err, "QSCD_TEST_PIN"));
    pin_source_clear(&s);
}

/* fd:N is read once per process, even when N now names another pipe. */
static void test_fd_read_once(void **state)
{
    const int n = 201;   /* a number no other test of this process has read */
    int p[2];
    char err[256];
    pin_source s;
    secret *pin = NULL;

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "246810\n", 7), 7);
    close(p[1]);
    assert_int_equal(dup2(p[0], n), n);
    close(p[0]);
    assert_true(pin_source_parse("fd:201", "--pin-source", &s, err, sizeof(err)));
    assert_true(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_string_equal(pin->data, "246810");
    secret_free(pin);
    /* The read closed it; the number may be given to another pipe since. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "135791\n", 7), 7);
    close(p[1]);
    assert_int_equal(dup2(p[0], n), n);
    close(p[0]);
    pin = NULL;
    assert_false(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_null(pin);
    assert_non_null(strstr(err, "fd:201: read already"));
    assert_null(strstr(err, "135791"));
    pin_source_clear(&s);
    close(n);
}

static void test_kinds(void **state)
{
    pin_source_kind k;

    (void)state;
    for (int i = PIN_SOURCE_PROMPT; i <= PIN_SOURCE_PINPAD; i++) {
        assert_true(pin_source_kind_from_name(pin_source_kind_name((pin_source_kind)i), &k));
        assert_int_equal(k, i);
    }
    assert_false(pin_source_kind_from_name("tty", &k));
    assert_true(pin_source_interactive(PIN_SOURCE_PROMPT));
    assert_true(pin_source_interactive(PIN_SOURCE_PINPAD));
    assert_false(pin_source_interactive(PIN_SOURCE_FILE));
    assert_false(pin_source_interactive(PIN_SOURCE_FD));
    assert_false(pin_source_interactive(PIN_SOURCE_ENV));
}

static void test_pinpad_gives_no_secret(void **state)
{
    pin_source s;
    char err[64];
    secret *pin = (secret *)&s;

    (void)state;
    assert_true(pin_source_parse("pinpad", "--pin-source", &s, err, sizeof(err)));
    assert_true(pin_source_read(&s, NULL, &pin, err, sizeof(err)));
    assert_null(pin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_rejects_without_echo),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_fd_and_env),
        cmocka_unit_test(test_fd_read_once),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_pinpad_gives_no_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
