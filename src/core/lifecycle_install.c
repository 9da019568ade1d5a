/*
 * The last device steps: locate the key the certificate is for, install
 * the certificate next to it, read it back and compare.  A key that does
 * not match the certificate stops the run before anything is written
 * (exit 5); installation itself is the token layer's and is safe to repeat.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"
#include "test_signature.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say_key(const lc_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_key(const lc_run *r, const char *fmt, ...)
{
    const token_slot_info *si = token_get_info(r->tok);
    char line[1024], prefix[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    snprintf(prefix, sizeof(prefix), "[token %s serial %s]", si->label, si->serial);
    lc_say_as(r, prefix, line);
}

static int key_mismatch(lc_run *r, const token_key *key)
{
    char desc[256];

    token_key_describe(key, desc, sizeof(desc));
    return lc_fail(r->err, QSCD_EXIT_VERIFY, "key_mismatch",
                   "%s: key %s is not the key of order %s's certificate (serial %s); "
                   "nothing was written", token_name(r->tok), desc, r->job->order_id,
                   r->job->cert_serial ? r->job->cert_serial : "?");
}

/* The key by --key-id (or the journal's), which must match the certificate. */
static int locate_by_id(lc_run *r, const char *hex)
{
    unsigned char id[128];
    size_t id_len = 0;
    token_err te = { 0 };

    if (!token_unhex(hex, id, sizeof(id), &id_len) || id_len == 0)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "usage",
                       "key id: must be the key's CKA_ID in hex, e.g. 0a1b2c (got \"%s\")", hex);
    if (token_find_key(r->tok, id, id_len, NULL, &r->key, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "locating the key");
    if (r->key->pub == NULL || !x509_key_matches(r->chain->leaf, r->key->pub))
        return key_mismatch(r, r->key);
    return 0;
}

/* The one private key whose public half the certificate holds. */
static int locate_by_cert(lc_run *r)
{
    token_key_list keys = { 0 };
    token_err te = { 0 };
    const token_key *hit = NULL;
    int rc = 0;

    if (token_list_keys(r->tok, &keys, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "listing the keys");
    hit = token_key_for_cert(&keys, r->chain->leaf);
    if (hit == NULL)
        rc = lc_fail(r->err, QSCD_EXIT_VERIFY, "key_mismatch",
                     "%s holds %zu key%s, none of them the key of order %s's certificate "
                     "(serial %s); nothing was written", token_name(r->tok), keys.count,
                     keys.count == 1 ? "" : "s", r->job->order_id,
                     r->job->cert_serial ? r->job->cert_serial : "?");
    else if (token_find_key(r->tok, hit->id, hit->id_len, NULL, &r->key, &te) != TOKEN_OK)
        rc = lc_fail_token(r->err, &te, "locating the key");
    token_key_list_free(&keys);
    return rc;
}

int lc_act_locate_key(lc_run *r)
{
    char hex[2 * 128 + 1], desc[256];
    int rc;

    if ((rc = lc_ensure_chain(r)) != 0)
        return rc;
    token_key_free(r->key);
    r->key = NULL;
    if (r->opts->key_id_hex != NULL)
        rc = locate_by_id(r, r->opts->key_id_hex);
    else
        rc = locate_by_cert(r);
    if (rc != 0)
        return rc;
    token_hex(r->key->id, r->key->id_len, hex);
    journal_set(&r->job->key_id_hex, hex);
    lc_set_device(r, LC_DEV_KEY_READY);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    token_key_describe(r->key, desc, sizeof(desc));
    say_key(r, "key located: %s", desc);
    return 0;
}

/* Intermediates only: a root does not belong on the token. */
static size_t intermediates(const x509_chain *c, X509 **out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n_rest && n < cap; i++)
        if (X509_check_issued(c->rest[i], c->rest[i]) != X509_V_OK)
            out[n++] = c->rest[i];
    return n;
}

int lc_act_install(lc_run *r)
{
    token_install_result res = { 0 };
    token_err te = { 0 };
    X509 *mid[8];
    size_t n;
    int rc;

    if ((rc = lc_ensure_chain(r)) != 0)
        return rc;
    if (r->key == NULL && (rc = lc_act_locate_key(r)) != 0)
        return rc;
    n = intermediates(r->chain, mid, 8);
    if (token_install_certificate(r->tok, r->key, r->chain->leaf, mid, n, &res, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "installing the certificate");
    lc_set_device(r, LC_DEV_CERTIFICATE_INSTALLED);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    say_key(r, "certificate %s %s next to the key%s; %zu intermediate%s written",
            r->job->cert_serial ? r->job->cert_serial : "?",
            res.leaf_written ? "installed" : "already installed",
            res.old_removed ? ", older one removed" : "", res.intermediates_written,
            res.intermediates_written == 1 ? "" : "s");
    return 0;
}

static bool same_der(X509 *a, X509 *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_X509(a, &da), lb = i2d_X509(b, &db);
    bool same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

    OPENSSL_free(da);
    OPENSSL_free(db);
    return same;
}

/* The signature PIN of the settings, for keys with CKA_ALWAYS_AUTHENTICATE. */
void lc_sign_pin_req(lc_run *r, pin_login_req *req, char *prompt, size_t len, bool *own)
{
    const char *spec = r->set->sign_pin_source;

    snprintf(prompt, len, "signature PIN for %s (order %s): ", token_name(r->tok),
             r->job->order_id);
    memset(req, 0, sizeof(*req));
    req->store = r->st;
    req->kind = PIN_KIND_SIGN;
    req->spec = spec ? spec : r->set->pin_source;
    req->option = "signature PIN source";
    req->prompt = prompt;
    req->retry = r->opts->retry_pin;
    req->around_read = lc_pin_around_read;
    req->arg = r;
    *own = spec != NULL;
}

/* Signs the documented challenge and verifies it with the installed certificate. */
static int test_signature(lc_run *r)
{
    lifecycle_sig_check chk;
    pin_login_req req;
    char prompt[200];
    bool own;
    int rc;

    if (r->opts->no_test_signature) {
        journal_set(&r->job->test_signature, "skipped");
        journal_set(&r->job->test_signature_alg, NULL);
        r->job->test_signature_at = time(NULL);
        lc_audit(r, "test_signature", "skipped", NULL);
        return 0;
    }
    if (r->key == NULL)
        return lc_fail(r->err, QSCD_EXIT_TOKEN, "test_signature",
                       "%s: the key was not located in this run; run provision again",
                       token_name(r->tok));
    lc_sign_pin_req(r, &req, prompt, sizeof(prompt), &own);
    rc = lifecycle_test_signature(r->tok, r->key, r->chain->leaf, &req, own, &chk, r->err);
    if (chk.sign_pin.record_problem[0] != '\0')
        lc_warn(r, "%s", chk.sign_pin.record_problem);
    if (rc != 0) {
        lc_audit(r, "test_signature", "error", r->err->message);
        return rc;
    }
    journal_set(&r->job->test_signature, "verified");
    journal_set(&r->job->test_signature_alg, x509_sig_alg_name(chk.alg));
    r->job->test_signature_at = time(NULL);
    lc_audit(r, "test_signature", "ok", NULL);
    say_key(r, "test signature (%s) made on the token, verified with the installed "
            "certificate", x509_sig_alg_name(chk.alg));
    return 0;
}

int lc_act_read_back(lc_run *r)
{
    token_cert_list certs = { 0 };
    token_err te = { 0 };
    size_t found = 0;
    int rc;

    if ((rc = lc_ensure_chain(r)) != 0)
        return rc;
    if (token_list_certificates(r->tok, &certs, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "reading the certificates back");
    for (size_t i = 0; i < certs.count; i++)
        if (certs.items[i].x509 != NULL && same_der(certs.items[i].x509, r->chain->leaf))
            found++;
    token_cert_list_free(&certs);
    if (found == 0)
        return lc_fail(r->err, QSCD_EXIT_TOKEN, "readback",
                       "%s: the certificate %s does not read back from the token; run "
                       "provision again to install it", token_name(r->tok),
                       r->job->cert_serial ? r->job->cert_serial : "?");
    if ((rc = test_signature(r)) != 0)
        return rc;
    lc_set_device(r, LC_DEV_VERIFIED);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    say_key(r, "read back: identical to the issued certificate; verified");
    return 0;
}
