/*
 * The lifecycle table: every (order state, device state, facts) view gets the
 * action written down here independently of the table, every run of
 * successful actions ends in a terminal state, and docs/lifecycle.dot is what
 * the table prints.
 *
 * `test-lifecycle-table --print-dot > docs/lifecycle.dot` regenerates it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_FACT_SETS = 4 };
static const unsigned fact_sets[N_FACT_SETS] = {
    0, LC_F_TOKEN_BOUND, LC_F_REKEY, LC_F_TOKEN_BOUND | LC_F_REKEY,
};

#define STOP    LC_ACT_STOP_REJECTED
#define SUBMIT  LC_ACT_SUBMIT
#define RECON   LC_ACT_RECONCILE_SUBMIT
#define POLL    LC_ACT_POLL_ORDER
#define DOWN    LC_ACT_DOWNLOAD_AND_VERIFY
#define WAIT    LC_ACT_WAIT_TOKEN
#define CHECK   LC_ACT_CHECK_TOKEN_IDENTITY
#define BIND    LC_ACT_BIND_TOKEN
#define UNLOCK  LC_ACT_UNLOCK
#define GEN     LC_ACT_GENERATE_KEY_AND_REISSUE
#define LOCATE  LC_ACT_LOCATE_KEY
#define INSTALL LC_ACT_INSTALL
#define READ    LC_ACT_READ_BACK
#define DONE    LC_ACT_DONE

/*
 * Expected action per device state (absent, present, unlocked, key_ready,
 * installed, verified), for facts {}, {bound}, {rekey}, {bound, rekey}.
 */
struct expect_row {
    enum lifecycle_order_state order;
    enum lifecycle_action act[N_FACT_SETS][LC_DEVICE_STATE_COUNT];
};

#define ALL6(a) { a, a, a, a, a, a }
#define REKEY_UNBOUND { WAIT, BIND, GEN, GEN, BIND, BIND }
#define REKEY_BOUND   { WAIT, UNLOCK, GEN, GEN, UNLOCK, UNLOCK }

static const struct expect_row expected[] = {
    { LC_ORDER_DRAFT,      { ALL6(SUBMIT), ALL6(SUBMIT), ALL6(SUBMIT), ALL6(SUBMIT) } },
    { LC_ORDER_SUBMITTING, { ALL6(RECON), ALL6(RECON), ALL6(RECON), ALL6(RECON) } },
    { LC_ORDER_PENDING,    { ALL6(POLL), ALL6(POLL), ALL6(POLL), ALL6(POLL) } },
    { LC_ORDER_SUBMITTED,  { ALL6(POLL), ALL6(POLL), ALL6(POLL), ALL6(POLL) } },
    { LC_ORDER_APPROVED,   { ALL6(DOWN), ALL6(DOWN), REKEY_UNBOUND, REKEY_BOUND } },
    { LC_ORDER_CERTIFICATE_READY, {
        { WAIT, CHECK, LOCATE, INSTALL, CHECK, CHECK },
        { WAIT, UNLOCK, LOCATE, INSTALL, READ, DONE },
        REKEY_UNBOUND, REKEY_BOUND } },
    { LC_ORDER_REJECTED,   { ALL6(STOP), ALL6(STOP), ALL6(STOP), ALL6(STOP) } },
};

static void test_every_view_has_the_expected_action(void **state)
{
    (void)state;
    assert_int_equal(sizeof(expected) / sizeof(expected[0]), LC_ORDER_STATE_COUNT);
    for (size_t r = 0; r < LC_ORDER_STATE_COUNT; r++)
        for (int f = 0; f < N_FACT_SETS; f++)
            for (int d = 0; d < LC_DEVICE_STATE_COUNT; d++) {
                lifecycle_view v = { expected[r].order, (enum lifecycle_device_state)d, fact_sets[f] };
                const struct lifecycle_transition *t = lifecycle_next(&v);

                if (t == NULL || t->action != expected[r].act[f][d])
                    fail_msg("order %s, device %s, facts %u: got %s, want %s",
                             lifecycle_order_state_name(v.order),
                             lifecycle_device_state_name(v.device), v.facts,
                             t ? lifecycle_action_name(t->action) : "nothing",
                             lifecycle_action_name(expected[r].act[f][d]));
                /* The row chosen really has guards that hold. */
                assert_true(t->order_guard & LC_O(v.order));
                assert_true(t->device_guard & LC_D(v.device));
                assert_int_equal(v.facts & t->need, t->need);
                assert_int_equal(v.facts & t->forbid, 0);
            }
}

static void test_out_of_range_views_get_nothing(void **state)
{
    lifecycle_view v = { LC_ORDER_STATE_COUNT, LC_DEV_TOKEN_ABSENT, 0 };

    (void)state;
    assert_null(lifecycle_next(NULL));
    assert_null(lifecycle_next(&v));
    v.order = LC_ORDER_DRAFT;
    v.device = LC_DEVICE_STATE_COUNT;
    assert_null(lifecycle_next(&v));
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < LC_ORDER_STATE_COUNT; s++) {
        enum lifecycle_order_state o;

        assert_true(lifecycle_order_state_parse(lifecycle_order_state_name(s), &o));
        assert_int_equal(o, s);
        /* Order and device names never collide: a transition names one side. */
        for (int d = 0; d < LC_DEVICE_STATE_COUNT; d++)
            assert_string_not_equal(lifecycle_order_state_name(s), lifecycle_device_state_name(d));
    }
    for (int s = 0; s < LC_DEVICE_STATE_COUNT; s++) {
        enum lifecycle_device_state d;

        assert_true(lifecycle_device_state_parse(lifecycle_device_state_name(s), &d));
        assert_int_equal(d, s);
    }
    for (int a = 0; a < LC_ACTION_COUNT; a++)
        assert_string_not_equal(lifecycle_action_name(a), "?");
    assert_string_equal(lifecycle_order_state_name(LC_ORDER_CERTIFICATE_READY), "certificate_ready");
    assert_string_equal(lifecycle_device_state_name(LC_DEV_CERTIFICATE_INSTALLED), "certificate_installed");
    enum lifecycle_order_state o = LC_ORDER_DRAFT;
    assert_false(lifecycle_order_state_parse("issued", &o));
    assert_false(lifecycle_order_state_parse(NULL, &o));
    assert_int_equal(o, LC_ORDER_DRAFT);
    assert_string_equal(lifecycle_order_state_name(99), "?");
}

static void test_table_rows_are_well_formed(void **state)
{
    size_t n;
    const struct lifecycle_transition *t = lifecycle_table(&n);
    bool used[LC_ACTION_COUNT] = { false };

    (void)state;
    assert_true(n > 0 && n <= 20);   /* one screen */
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].order_guard != 0 && (t[i].order_guard & ~LC_O_ANY) == 0);
        assert_true(t[i].device_guard != 0 && (t[i].device_guard & ~LC_D_ANY) == 0);
        assert_true((t[i].need & ~LC_F_ALL) == 0 && (t[i].need & t[i].forbid) == 0);
        assert_true(t[i].next_order == LC_SAME ||
                    (t[i].next_order >= 0 && t[i].next_order < LC_ORDER_STATE_COUNT));
        assert_true(t[i].next_device == LC_SAME ||
                    (t[i].next_device >= 0 && t[i].next_device < LC_DEVICE_STATE_COUNT));
        assert_non_null(t[i].what);
        if (lifecycle_is_terminal(t[i].action))
            assert_true(t[i].next_order == LC_SAME && t[i].next_device == LC_SAME);
        used[t[i].action] = true;
    }
    for (int a = 0; a < LC_ACTION_COUNT; a++)
        if (!used[a])
            fail_msg("action %s appears in no row", lifecycle_action_name(a));
    assert_true(lifecycle_is_terminal(LC_ACT_DONE));
    assert_true(lifecycle_is_terminal(LC_ACT_STOP_REJECTED));
    assert_false(lifecycle_is_terminal(LC_ACT_WAIT_TOKEN));
}

/* What a successful action does to the view (the engine's job, simulated). */
static void apply(lifecycle_view *v, const struct lifecycle_transition *t)
{
    if (t->next_order != LC_SAME)
        v->order = (enum lifecycle_order_state)t->next_order;
    if (t->next_device != LC_SAME)
        v->device = (enum lifecycle_device_state)t->next_device;
    if (t->action == LC_ACT_BIND_TOKEN || t->action == LC_ACT_CHECK_TOKEN_IDENTITY)
        v->facts |= LC_F_TOKEN_BOUND;
    if (t->action == LC_ACT_GENERATE_KEY_AND_REISSUE)
        v->facts &= ~(unsigned)LC_F_REKEY;
}

static size_t run_to_end(lifecycle_view v, enum lifecycle_action *seq, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        const struct lifecycle_transition *t = lifecycle_next(&v);

        assert_non_null(t);
        seq[i] = t->action;
        if (lifecycle_is_terminal(t->action))
            return i + 1;
        apply(&v, t);
    }
    fail_msg("no terminal state after %zu steps from order %s device %s facts %u", max,
             lifecycle_order_state_name(v.order), lifecycle_device_state_name(v.device), v.facts);
    return 0;
}

static void assert_path(unsigned facts, const enum lifecycle_action *want, size_t n_want)
{
    enum lifecycle_action seq[32];
    lifecycle_view v = { LC_ORDER_DRAFT, LC_DEV_TOKEN_ABSENT, facts };
    size_t n = run_to_end(v, seq, 32);

    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        if (seq[i] != want[i])
            fail_msg("step %zu: got %s, want %s", i, lifecycle_action_name(seq[i]),
                     lifecycle_action_name(want[i]));
}

static void test_normal_path_locates_the_shipped_key(void **state)
{
    static const enum lifecycle_action want[] = {
        SUBMIT, POLL, DOWN, WAIT, CHECK, UNLOCK, LOCATE, INSTALL, READ, DONE,
    };

    (void)state;
    assert_path(0, want, sizeof(want) / sizeof(want[0]));
}

static void test_rekey_path_generates_then_reissues(void **state)
{
    static const enum lifecycle_action want[] = {
        SUBMIT, POLL, WAIT, BIND, UNLOCK, GEN, POLL, DOWN, INSTALL, READ, DONE,
    };

    (void)state;
    assert_path(LC_F_REKEY, want, sizeof(want) / sizeof(want[0]));
}

/* From any view at all, successful steps end in done or rejected: no cycles. */
static void test_every_view_terminates(void **state)
{
    enum lifecycle_action seq[32];

    (void)state;
    for (int o = 0; o < LC_ORDER_STATE_COUNT; o++)
        for (int d = 0; d < LC_DEVICE_STATE_COUNT; d++)
            for (int f = 0; f < N_FACT_SETS; f++) {
                lifecycle_view v = { (enum lifecycle_order_state)o, (enum lifecycle_device_state)d,
                                     fact_sets[f] };
                size_t n = run_to_end(v, seq, 32);

                assert_true(seq[n - 1] == (o == LC_ORDER_REJECTED ? STOP : DONE));
            }
}

/* The other outcomes: a rejected poll, a reconcile that found nothing. */
static void test_other_outcomes(void **state)
{
    lifecycle_view v = { LC_ORDER_PENDING, LC_DEV_KEY_READY, LC_F_TOKEN_BOUND };

    (void)state;
    assert_int_equal(lifecycle_next(&v)->other_order, LC_ORDER_REJECTED);
    v.order = LC_ORDER_SUBMITTING;
    assert_int_equal(lifecycle_next(&v)->other_order, LC_ORDER_DRAFT);
    v.order = (enum lifecycle_order_state)lifecycle_next(&v)->other_order;
    assert_int_equal(lifecycle_next(&v)->action, SUBMIT);
}

static char *generated_dot(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    assert_int_equal(lifecycle_table_print_dot(f), 0);
    fclose(f);
    return buf;
}

/* Run from the top of the tree (tests/run-unit.sh is). */
static void test_docs_dot_matches_table(void **state)
{
    char *want = generated_dot(), *have;
    FILE *f = fopen("docs/lifecycle.dot", "r");
    long len;

    (void)state;
    if (f == NULL)
        fail_msg("docs/lifecycle.dot: cannot open (run from the top of the tree)");
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    have = calloc(1, (size_t)len + 1);
    assert_non_null(have);
    assert_int_equal(fread(have, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    if (strcmp(have, want) != 0)
        fail_msg("docs/lifecycle.dot differs from the table: regenerate with "
                 "build/tests/test-lifecycle-table --print-dot > docs/lifecycle.dot "
                 "&& dot -Tsvg docs/lifecycle.dot > docs/lifecycle.svg");
    assert_non_null(strstr(want, "certificate_ready -> pending"));
    free(have);
    free(want);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_view_has_the_expected_action),
        cmocka_unit_test(test_out_of_range_views_get_nothing),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_table_rows_are_well_formed),
        cmocka_unit_test(test_normal_path_locates_the_shipped_key),
        cmocka_unit_test(test_rekey_path_generates_then_reissues),
        cmocka_unit_test(test_every_view_terminates),
        cmocka_unit_test(test_other_outcomes),
        cmocka_unit_test(test_docs_dot_matches_table),
    };

    if (argc == 2 && strcmp(argv[1], "--print-dot") == 0)
        return lifecycle_table_print_dot(stdout) == 0 ? 0 : 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
