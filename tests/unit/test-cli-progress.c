/*
 * The waiting display (src/cli_progress.c) on a stream standing for the
 * terminal and for a log: a status line rewritten in place and cleared
 * before a permanent line; one line per change of state otherwise;
 * nothing with -q.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_progress_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    char  *buf;
    size_t len;
    cli_progress p;
};

static void open_sink(struct sink *s, bool tty, bool quiet)
{
    cli_config cfg = { .quiet = quiet };

    memset(s, 0, sizeof(*s));
    cli_progress_init(&s->p, &cfg, "[order 7]");
    s->p.out = open_memstream(&s->buf, &s->len);
    assert_non_null(s->p.out);
    s->p.tty = tty;
}

static char *close_sink(struct sink *s)
{
    fclose(s->p.out);
    return s->buf;
}

static void test_terminal_rewrites_one_line(void **state)
{
    struct sink s;
    char *out;

    (void)state;
    open_sink(&s, true, false);
    cli_progress_wait(&s.p, "pending (request pending)", 0.2, 0.5);
    cli_progress_wait(&s.p, "pending (request pending)", 35.4, 8);
    cli_progress_wait(&s.p, "pending (request pending)", 35.4, 8);   /* unchanged: not redrawn */
    cli_progress_line(&s.p, "approved; certificate 9");
    out = close_sink(&s);
    assert_string_equal(out,
        "\r\033[K[order 7] pending (request pending) \xe2\x80\x94 waited 0 s, next poll in 0.5 s"
        "\r\033[K[order 7] pending (request pending) \xe2\x80\x94 waited 35 s, next poll in 8.0 s"
        "\r\033[K[order 7] approved; certificate 9\n");
    free(out);
}

static void test_terminal_without_next_poll(void **state)
{
    struct sink s;
    char *out;

    (void)state;
    open_sink(&s, true, false);
    cli_progress_wait(&s.p, "waiting for the token", 12, -1);
    cli_progress_end(&s.p);
    cli_progress_end(&s.p);   /* cleared once */
    out = close_sink(&s);
    assert_string_equal(out, "\r\033[K[order 7] waiting for the token \xe2\x80\x94 waited 12 s\r\033[K");
    free(out);
}

static void test_log_gets_a_line_per_change(void **state)
{
    struct sink s;
    char *out;

    (void)state;
    open_sink(&s, false, false);
    cli_progress_wait(&s.p, "pending (request pending)", 0, 2);
    cli_progress_wait(&s.p, "pending (request pending)", 2, 3);
    cli_progress_wait(&s.p, "pending (request submitted)", 5, 4.5);
    cli_progress_wait(&s.p, "pending (request submitted)", 9.5, 6.7);
    cli_progress_line(&s.p, "approved");
    out = close_sink(&s);
    assert_string_equal(out, "[order 7] pending (request pending)\n"
                             "[order 7] pending (request submitted)\n"
                             "[order 7] approved\n");
    assert_null(strchr(out, '\r'));
    free(out);
}

static void test_quiet_prints_nothing(void **state)
{
    struct sink s;
    char *out;

    (void)state;
    open_sink(&s, true, true);
    cli_progress_wait(&s.p, "pending", 1, 2);
    cli_progress_line(&s.p, "approved");
    cli_progress_end(&s.p);
    out = close_sink(&s);
    assert_string_equal(out, "");
    free(out);
}

static void test_describe_order_names_the_newest_request(void **state)
{
    order_request_item reqs[2] = { { .id = 5 }, { .id = 9 } };
    order_info info = { 0 };
    char buf[128];

    (void)state;
    snprintf(reqs[0].status, sizeof(reqs[0].status), "rejected");
    snprintf(reqs[1].status, sizeof(reqs[1].status), "submitted");
    info.requests = reqs;
    info.n_requests = 2;
    snprintf(info.status, sizeof(info.status), "pending");
    order_info_describe(&info, buf, sizeof(buf));
    assert_string_equal(buf, "pending (request submitted)");
    info.n_requests = 0;
    info.status[0] = '\0';
    order_info_describe(&info, buf, sizeof(buf));
    assert_string_equal(buf, "(no status)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminal_rewrites_one_line),
        cmocka_unit_test(test_terminal_without_next_poll),
        cmocka_unit_test(test_log_gets_a_line_per_change),
        cmocka_unit_test(test_quiet_prints_nothing),
        cmocka_unit_test(test_describe_order_names_the_newest_request),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
