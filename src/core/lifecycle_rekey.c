/*
 * --generate-key: a blank token gets a new key pair, a CSR signed on the
 * token, and the order a reissue for it.
 *
 * Two of these steps cannot be undone, and each has a write-ahead state
 * (journal_rekey_step) committed durably before it:
 *   KEYGEN   the CKA_ID the key pair will carry is journaled, then
 *            C_GenerateKeyPair runs with that id: a re-run finds the key by
 *            it whether or not the call completed, instead of finding the
 *            token "no longer blank";
 *   REISSUE  the order's latest request id, the CSR's digest and the time
 *            are journaled, then the reissue is POSTed.  A re-run that finds
 *            this state reads the order first and adopts the reissue request
 *            CertCentral stored after it; only when the order shows none is
 *            the CSR sent again.  A reply that may have been lost leaves the
 *            state as it is: never a blind second reissue.
 *
 * Test builds (-DQSCD_TEST_HOOKS): QSCD_TEST_CRASH_AFTER=NAME kills the
 * process with SIGKILL at these points (rekey_crash_points):
 *   keygen        the planned CKA_ID is committed, C_GenerateKeyPair not run
 *   keygen_done   the key pair exists, nothing more committed
 *   reissuing     the reissue write-ahead is committed, the POST not sent
 *   reissue_sent  CertCentral answered the POST, its request id not committed
 */
#include "lifecycle_int.h"

#include "exit_codes.h"
#include "test_signature.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_KEY_LABEL "eSeal key"
#define LC_KEY_ID_LEN 20

#ifdef QSCD_TEST_HOOKS
static void crash_point(const char *name)
{
    const char *want = getenv("QSCD_TEST_CRASH_AFTER");

    if (want != NULL && strcmp(want, name) == 0)
        raise(SIGKILL);
}
#else
#define crash_point(name) ((void)0)
#endif

static void clear_step(journal_job *j)
{
    j->rekey_step = JOURNAL_REKEY_NONE;
    j->rekey_at = 0;
    journal_set(&j->rekey_after_request, NULL);
    journal_set(&j->rekey_csr_sha256, NULL);
}

/* The key an interrupted run generated (or was generating), if the token has it. */
static void reuse_key(lc_run *r)
{
    unsigned char id[128];
    size_t id_len = 0;
    token_err te = { 0 };

    if (r->key != NULL || r->job->key_id_hex == NULL ||
        !token_unhex(r->job->key_id_hex, id, sizeof(id), &id_len))
        return;
    if (token_find_key(r->tok, id, id_len, NULL, &r->key, &te) != TOKEN_OK)
        r->key = NULL;
}

/* Write-ahead of the key generation: the CKA_ID it will carry. */
static int plan_key(lc_run *r)
{
    unsigned char id[LC_KEY_ID_LEN];
    char hex[2 * LC_KEY_ID_LEN + 1];
    int rc;

    if (r->job->rekey_step == JOURNAL_REKEY_KEYGEN && r->job->key_id_hex != NULL)
        return 0;   /* planned by an interrupted run: the key was not made */
    if (RAND_bytes(id, sizeof(id)) != 1)
        return lc_fail(r->err, QSCD_EXIT_TOKEN, "random", "no random bytes for the key's CKA_ID");
    token_hex(id, sizeof(id), hex);
    clear_step(r->job);
    if (journal_set(&r->job->key_id_hex, hex) != JOURNAL_OK)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "nomem", "out of memory");
    r->job->rekey_step = JOURNAL_REKEY_KEYGEN;
    r->job->rekey_at = time(NULL);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    crash_point("keygen");
    return 0;
}

static int generate(lc_run *r)
{
    token_keyspec spec;
    token_err te = { 0 };
    unsigned char id[128];
    size_t id_len = 0;
    int rc;

    if (token_keyspec_parse(NULL, &spec, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "key type");
    if ((rc = plan_key(r)) != 0)
        return rc;
    if (!token_unhex(r->job->key_id_hex, id, sizeof(id), &id_len))
        return lc_fail(r->err, QSCD_EXIT_USAGE, "journal", "job %s: key_id \"%s\" is not hex",
                       r->job->ref, r->job->key_id_hex);
    if (token_generate_key_id(r->tok, &spec, LC_KEY_LABEL, id, id_len, &r->key, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "generating the key");
    crash_point("keygen_done");
    return 0;
}

/* The subject of the order's certificate, else its common name. */
static X509_NAME *csr_subject(lc_run *r, long order_id)
{
    x509_chain *old = lc_chain_load(r->st, r->job->ref);
    order_info info = { 0 };
    order_err oe = { 0 };
    X509_NAME *name = NULL;
    x509_err xe;

    if (old != NULL) {
        name = X509_NAME_dup(X509_get_subject_name(old->leaf));
        x509_chain_free(old);
        return name;
    }
    /* The server's string is one value, never parsed as a name. */
    if (order_get(r->client, order_id, &info, &oe) == ORDER_OK &&
        info.certificate.common_name[0]) {
        x509_name_attr cn = { "CN", info.certificate.common_name };
        name = x509_name_build(&cn, 1, &xe);
    }
    order_info_free(&info);
    return name;
}

static int build_csr(lc_run *r, long order_id, char **csr)
{
    token_signer signer = { .tok = r->tok, .key = r->key };
    x509_err xe = { 0 };
    X509_NAME *subject;
    pin_login_result res;
    pin_login_req req;
    pin_login_code pc;
    secret *pin = NULL;
    char prompt[200];
    bool own, failed;
    int rc = 0;

    /* A key with CKA_ALWAYS_AUTHENTICATE: the CSR's signature needs the signature PIN. */
    lc_sign_pin_req(r, &req, prompt, sizeof(prompt), &own);
    if ((pc = pin_sign_begin(r->tok, r->key, &req, own, &pin, &res)) != PIN_LOGIN_OK)
        return lifecycle_sign_pin_failed(pc, &res, &signer.err, "signing the CSR", r->err);
    subject = csr_subject(r, order_id);
    failed = x509_csr_build(r->key->pub, subject, token_signer_sign, &signer, csr, &xe) != X509_OK;
    pin_sign_end(r->tok, r->key, &req, signer.err.code != TOKEN_OK ? &signer.err : NULL, pin,
                 &res);
    if (failed)
        rc = signer.err.code != TOKEN_OK
                 ? lifecycle_sign_pin_failed(PIN_LOGIN_TOKEN, &res, &signer.err,
                                             "signing the CSR", r->err)
                 : lc_fail(r->err, QSCD_EXIT_TOKEN, "csr", "CSR: %s", xe.message);
    if (res.record_problem[0] != '\0')
        lc_warn(r, "%s", res.record_problem);
    X509_NAME_free(subject);
    return rc;
}

/* Write-ahead of the reissue POST: what recognises our reissue at CertCentral. */
static int commit_reissuing(lc_run *r, const char *csr)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    int rc;

    SHA256((const unsigned char *)csr, strlen(csr), md);
    token_hex(md, sizeof(md), hex);
    clear_step(r->job);
    r->job->rekey_step = JOURNAL_REKEY_REISSUE;
    r->job->rekey_at = time(NULL);
    if (journal_set(&r->job->rekey_after_request, r->job->request_id) != JOURNAL_OK ||
        journal_set(&r->job->rekey_csr_sha256, hex) != JOURNAL_OK)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "nomem", "out of memory");
    if ((rc = lc_commit(r)) != 0)
        return rc;
    crash_point("reissuing");
    return 0;
}

/* The reissue is CertCentral's: follow its request from now on. */
static int record_reissue(lc_run *r, long request_id)
{
    char buf[32];
    int rc;

    if (request_id > 0) {
        snprintf(buf, sizeof(buf), "%ld", request_id);
        journal_set(&r->job->request_id, buf);
    }
    clear_step(r->job);
    r->job->reissued = true;
    journal_set(&r->job->cert_serial, NULL);
    journal_set(&r->job->cert_sha256, NULL);
    r->job->order_state = LC_ORDER_PENDING;
    reuse_key(r);
    /* Without the key in hand (adopted without a login), locate it again. */
    lc_set_device(r, r->key != NULL ? LC_DEV_KEY_READY : LC_DEV_UNLOCKED);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    lc_say(r, "reissue requested (request %s); following it",
           r->job->request_id ? r->job->request_id : "?");
    return 0;
}

static int send_reissue(lc_run *r, long order_id, const char *csr)
{
    order_placed placed = { 0 };
    order_err oe = { 0 };
    int rc;

    if (order_reissue(r->client, order_id, csr, &placed, &oe) == ORDER_OK) {
        crash_point("reissue_sent");
        return record_reissue(r, placed.request_id);
    }
    if (oe.outcome_unknown) {
        /* The write-ahead stays: the next run looks at the order first. */
        rc = lc_fail(r->err, QSCD_EXIT_API, order_code_name(oe.code),
                     "the reissue of order %ld was sent but no complete reply came back; "
                     "CertCentral may have stored it, so it was not sent again. Run the "
                     "same command again: it reads the order's requests before sending "
                     "anything", order_id);
        r->err->retryable = true;
        return rc;
    }
    /* Refused or never sent: nothing to look for later. */
    clear_step(r->job);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    return lc_fail_order(r->err, &oe, "requesting the reissue");
}

/*
 * A re-run in REISSUE: the requests CertCentral added to the order since
 * the write-ahead (a newer id than the latest before it, not older than
 * its time).  One: it is ours.  None: the POST was not stored.  Several:
 * someone else reissued too; stop and tell.
 */
static int reconcile(lc_run *r, long order_id, bool *adopted)
{
    order_info info = { 0 };
    order_err oe = { 0 };
    long after = r->job->rekey_after_request ? atol(r->job->rekey_after_request) : 0, hit = 0;
    char ids[256] = "";
    size_t n = 0, used = 0;
    int rc = 0;

    *adopted = false;
    if (order_get(r->client, order_id, &info, &oe) != ORDER_OK) {
        rc = lc_fail_order(r->err, &oe, "looking for the interrupted reissue");
        goto out;
    }
    for (size_t i = 0; i < info.n_requests; i++) {
        const order_request_item *q = &info.requests[i];
        time_t at = order_parse_time(q->date);

        if (q->id <= after || strcmp(q->type, "new_request") == 0 ||
            (at != 0 && r->job->rekey_at != 0 &&
             at < r->job->rekey_at - LC_CLOCK_SKEW_S))
            continue;
        hit = q->id;
        if (used < sizeof(ids))
            used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%ld", n ? ", " : "", q->id);
        n++;
    }
    if (n > 1) {
        rc = lc_fail(r->err, QSCD_EXIT_API, "reissue_ambiguous",
                     "order %ld: the reply to our reissue was lost and the order now has %zu "
                     "newer requests (%s); which is ours cannot be told, so nothing was sent. "
                     "Check them at CertCentral", order_id, n, ids);
        r->err->needs_user = true;
    } else if (n == 1) {
        lc_say(r, "the interrupted reissue was stored by CertCentral (request %ld): adopted", hit);
        *adopted = true;
        rc = record_reissue(r, hit);
    } else {
        lc_say(r, "the interrupted reissue is not at CertCentral: sending it");
    }
out:
    order_info_free(&info);
    return rc;
}

int lc_act_generate_and_reissue(lc_run *r)
{
    long id = atol(r->job->order_id ? r->job->order_id : "0");
    bool adopted = false;
    char desc[256], *csr = NULL;
    int rc;

    if ((rc = lc_client_open(r)) != 0)
        return rc;
    if (r->job->rekey_step == JOURNAL_REKEY_REISSUE &&
        ((rc = reconcile(r, id, &adopted)) != 0 || adopted))
        return rc;
    reuse_key(r);
    if (r->key != NULL) {
        token_key_describe(r->key, desc, sizeof(desc));
        lc_say(r, "key found again on %s: %s; sending its CSR as a reissue", token_name(r->tok),
               desc);
    } else {
        if ((rc = generate(r)) != 0)
            return rc;
        token_key_describe(r->key, desc, sizeof(desc));
        lc_say(r, "key generated on %s: %s; sending its CSR as a reissue", token_name(r->tok),
               desc);
    }
    if ((rc = build_csr(r, id, &csr)) == 0 && (rc = commit_reissuing(r, csr)) == 0)
        rc = send_reissue(r, id, csr);
    free(csr);
    return rc;
}
