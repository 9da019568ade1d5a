/*
 * --generate-key: a blank token gets a new key pair, a CSR signed on the
 * token, and the order a reissue for it.  The key's CKA_ID is journaled as
 * soon as the key exists, so a run interrupted before the reissue was sent
 * uses that key again instead of finding the token no longer blank.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_KEY_LABEL "eSeal key"

/* The key an interrupted run generated, if the token still has it. */
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

static int generate(lc_run *r)
{
    token_keyspec spec;
    token_err te = { 0 };
    char hex[2 * 128 + 1];

    if (token_keyspec_parse(NULL, &spec, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "key type");
    if (token_generate_key(r->tok, &spec, LC_KEY_LABEL, &r->key, &te) != TOKEN_OK)
        return lc_fail_token(r->err, &te, "generating the key");
    token_hex(r->key->id, r->key->id_len, hex);
    journal_set(&r->job->key_id_hex, hex);
    return lc_commit(r);
}

/* The subject of the order's certificate, else its common name. */
static X509_NAME *csr_subject(lc_run *r, long order_id)
{
    x509_chain *old = lc_chain_load(r->dir, r->job->ref);
    order_info info = { 0 };
    order_err oe = { 0 };
    X509_NAME *name = NULL;
    x509_err xe;
    char *line = NULL;

    if (old != NULL) {
        name = X509_NAME_dup(X509_get_subject_name(old->leaf));
        x509_chain_free(old);
        return name;
    }
    if (order_get(r->client, order_id, &info, &oe) == ORDER_OK &&
        info.certificate.common_name[0] &&
        asprintf(&line, "/CN=%s", info.certificate.common_name) > 0)
        name = x509_name_parse(line, &xe);
    free(line);
    order_info_free(&info);
    return name;
}

static int reissue(lc_run *r, long order_id)
{
    token_signer signer = { .tok = r->tok, .key = r->key };
    order_placed placed = { 0 };
    order_err oe = { 0 };
    x509_err xe = { 0 };
    X509_NAME *subject = csr_subject(r, order_id);
    char *csr = NULL;
    int rc = 0;

    if (x509_csr_build(r->key->pub, subject, token_signer_sign, &signer, &csr, &xe) != X509_OK) {
        rc = signer.err.code != TOKEN_OK ? lc_fail_token(r->err, &signer.err, "signing the CSR")
                                         : lc_fail(r->err, QSCD_EXIT_TOKEN, "csr", "CSR: %s",
                                                   xe.message);
        goto out;
    }
    if (order_reissue(r->client, order_id, csr, &placed, &oe) != ORDER_OK) {
        rc = lc_fail_order(r->err, &oe, "requesting the reissue");
        goto out;
    }
    if (placed.request_id > 0) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%ld", placed.request_id);
        journal_set(&r->job->request_id, buf);
    }
out:
    X509_NAME_free(subject);
    free(csr);
    return rc;
}

int lc_act_generate_and_reissue(lc_run *r)
{
    long id = atol(r->job->order_id ? r->job->order_id : "0");
    char desc[256];
    int rc;

    if ((rc = lc_client_open(r)) != 0)
        return rc;
    reuse_key(r);
    if (r->key == NULL && (rc = generate(r)) != 0)
        return rc;
    token_key_describe(r->key, desc, sizeof(desc));
    lc_say(r, "key generated on %s: %s; sending its CSR as a reissue", token_name(r->tok), desc);
    if ((rc = reissue(r, id)) != 0)
        return rc;
    r->job->reissued = true;
    journal_set(&r->job->cert_serial, NULL);
    journal_set(&r->job->cert_sha256, NULL);
    r->job->order_state = LC_ORDER_PENDING;
    lc_set_device(r, LC_DEV_KEY_READY);
    if ((rc = lc_commit(r)) != 0)
        return rc;
    lc_say(r, "reissue requested (request %s); following it", r->job->request_id ? r->job->request_id : "?");
    return 0;
}
