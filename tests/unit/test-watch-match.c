/*
 * watch's token -> job decision against a real journal in a temporary state
 * dir: a key in a job's stored certificate wins, then the job bound to the
 * serial, then (--assign-next, blank tokens only) the oldest job waiting for
 * a generated key; finished and busy jobs are named as such; anything else
 * is "none" with a reason.  No network: every job here either has a stored
 * chain or waits for a generated key, and no API key is configured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "journal.h"
#include "watch.h"

#include <ftw.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char       root[64];
    watch_settings cfg;
    EVP_PKEY  *k1, *k2, *k3;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

/* A self-signed certificate for key, as the stored chain of job ref. */
static void store_cert(const struct fixture *fx, const char *ref, EVP_PKEY *key)
{
    char path[256];
    X509 *x = X509_new();
    FILE *f;

    snprintf(path, sizeof(path), "%s/certs", fx->root);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/certs/%s.pem", fx->root, ref);
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
}

/* A job for order_id; returns its ref in ref (JOURNAL_REF_LEN + 1). */
static void add_job(const struct fixture *fx, const char *order_id, int order_state,
                    int device_state, const char *serial, bool generate_key, char *ref)
{
    static time_t created = 1700000000;   /* increasing: journal_list is oldest first */
    journal_job *job = NULL;
    journal_err je = { 0 };

    assert_int_equal(journal_create(fx->root, &job, &je), JOURNAL_OK);
    job->created = created++;
    journal_set(&job->order_id, order_id);
    job->order_state = order_state;
    job->device_state = device_state;
    job->generate_key = generate_key;
    if (serial != NULL)
        journal_set(&job->token.serial, serial);
    assert_int_equal(journal_commit(fx->root, job, &je), JOURNAL_OK);
    strcpy(ref, job->ref);
    journal_job_free(job);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    strcpy(fx->root, "/tmp/qscd-watch-unit.XXXXXX");
    if (mkdtemp(fx->root) == NULL)
        return -1;
    fx->cfg.core.state_dir = fx->root;
    fx->cfg.core.api_url = "https://127.0.0.1:9/services/v2";   /* never reached */
    fx->cfg.core.api_key_file = "/nonexistent/api-key";
    fx->k1 = new_key();
    fx->k2 = new_key();
    fx->k3 = new_key();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    EVP_PKEY_free(fx->k1);
    EVP_PKEY_free(fx->k2);
    EVP_PKEY_free(fx->k3);
    free(fx);
    return 0;
}

static watch_token token_with(EVP_PKEY **keys, size_t n, const char *serial)
{
    watch_token t = { 0 };

    t.key = "pkcs11:serial=x";
    t.uri = "pkcs11:serial=x";
    t.label = "T";
    t.serial = (char *)serial;
    t.recognised = true;
    t.keys_read = true;
    t.keys = keys;
    t.n_keys = n;
    return t;
}

static void test_key_then_serial(void **state)
{
    struct fixture *fx = *state;
    watch_matcher *m = watch_matcher_new();
    char r1[32], r2[32], r3[32];
    EVP_PKEY *keys[2] = { fx->k3, fx->k2 };
    watch_token t = token_with(keys, 2, "S-1");
    watch_match out;
    const char *busy[] = { "100002" };
    EVP_PKEY *other;

    add_job(fx, "100001", LC_ORDER_CERTIFICATE_READY, LC_DEV_TOKEN_ABSENT, "S-1", false, r1);
    store_cert(fx, r1, fx->k1);
    add_job(fx, "100002", LC_ORDER_CERTIFICATE_READY, LC_DEV_TOKEN_ABSENT, NULL, false, r2);
    store_cert(fx, r2, fx->k2);
    add_job(fx, "100003", LC_ORDER_CERTIFICATE_READY, LC_DEV_VERIFIED, NULL, false, r3);
    store_cert(fx, r3, fx->k3);

    /* k3 is the finished job's, k2 the open one's: the first key found wins. */
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, false, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_KEY);
    assert_string_equal(out.order_id, "100002");
    assert_string_equal(out.job_ref, r2);

    assert_int_equal(watch_match_token(m, &fx->cfg, &t, false, busy, 1, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_BUSY);

    t.n_keys = 1;   /* only k3: the finished job */
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, false, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_DONE);
    assert_string_equal(out.order_id, "100003");

    /* A key no job knows: the serial decides. */
    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(other);
    t.keys = &other;
    t.n_keys = 1;
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, true, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_SERIAL);
    assert_string_equal(out.order_id, "100001");

    /* No key visible at all: bound by serial, but nobody can check it before
     * a PIN is spent, so watch leaves it to a person. */
    t.n_keys = 0;
    t.keys_read = false;
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, true, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_NONE);
    assert_non_null(strstr(out.reason, "needs a person"));

    /* ... unless the job wants a new key: a blank token has none to show. */
    add_job(fx, "100004", LC_ORDER_CERTIFICATE_READY, LC_DEV_TOKEN_ABSENT, "S-2", true, r3);
    t.serial = "S-2";
    t.keys_read = true;
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, false, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_SERIAL);
    assert_string_equal(out.order_id, "100004");
    EVP_PKEY_free(other);
    watch_matcher_free(m);
}

static void test_unknown_key_is_none(void **state)
{
    struct fixture *fx = *state;
    watch_matcher *m = watch_matcher_new();
    char r1[32];
    EVP_PKEY *keys[1] = { fx->k2 };
    watch_token t = token_with(keys, 1, "S-9");
    watch_match out;

    add_job(fx, "100001", LC_ORDER_CERTIFICATE_READY, LC_DEV_TOKEN_ABSENT, NULL, false, r1);
    store_cert(fx, r1, fx->k1);
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, true, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_NONE);
    assert_non_null(strstr(out.reason, "no open job holds its key"));
    watch_matcher_free(m);
}

static void test_assign_next(void **state)
{
    struct fixture *fx = *state;
    watch_matcher *m = watch_matcher_new();
    char r1[32], r2[32], r3[32];
    watch_token t = token_with(NULL, 0, "S-2");
    watch_match out;
    const char *busy[] = { "100002" };

    add_job(fx, "100001", LC_ORDER_APPROVED, LC_DEV_TOKEN_ABSENT, "S-other", true, r1);
    add_job(fx, "100002", LC_ORDER_APPROVED, LC_DEV_TOKEN_ABSENT, NULL, true, r2);
    add_job(fx, "100003", LC_ORDER_APPROVED, LC_DEV_TOKEN_ABSENT, NULL, true, r3);

    /* Without --assign-next a blank token is nobody's. */
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, false, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_NONE);
    assert_non_null(strstr(out.reason, "--assign-next"));

    /* The oldest unbound job; one bound to another token is skipped. */
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, true, NULL, 0, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_NEXT);
    assert_true(out.generate_key);
    assert_string_equal(out.order_id, "100002");

    /* A job a worker is on is not handed out twice. */
    assert_int_equal(watch_match_token(m, &fx->cfg, &t, true, busy, 1, &out), 0);
    assert_int_equal(out.kind, WATCH_MATCH_NEXT);
    assert_string_equal(out.order_id, "100003");

    /* A token with a key is not blank: never assigned. */
    {
        EVP_PKEY *keys[1] = { fx->k1 };
        watch_token tk = token_with(keys, 1, "S-3");

        assert_int_equal(watch_match_token(m, &fx->cfg, &tk, true, NULL, 0, &out), 0);
        assert_int_equal(out.kind, WATCH_MATCH_NONE);
    }
    watch_matcher_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_then_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_is_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assign_next, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
