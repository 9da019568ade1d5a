/*
 * x509_link: does the bundle link leaf -> intermediate(s) -> root?
 *
 * Two passes.  First a walk by issuer name with X509_verify at each step,
 * which yields messages a person can act on ("leaf is not signed by X").
 * Then, if that walk found nothing, OpenSSL's own path validation with the
 * bundle's root as the only trust anchor, for what the walk does not look
 * at (CA flags, path length, name constraints).  Validity dates are
 * checked (and reported) separately, so time is left out here.
 */
#include "x509_internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

typedef struct link_walk {
    X509 *top;        /* the last certificate reached */
    bool  root;       /* top is a self-signed root */
    bool  broken;     /* a deviation was reported */
    bool  open_end;   /* ... and it was only that no root is in the bundle */
} link_walk;

static void label_of(X509 *cert, X509 *leaf, char *out, size_t len)
{
    char name[256];
    if (cert == leaf) {
        snprintf(out, len, "leaf");
        return;
    }
    x509_display_name(X509_get_subject_name(cert), name, sizeof name);
    snprintf(out, len, "\"%s\"", name);
}

/* Certificates in the bundle named as cur's issuer; the one that signed it wins. */
static X509 *find_issuer(const x509_chain *c, X509 *cur, bool *named)
{
    EVP_PKEY *pk;

    *named = false;
    for (size_t i = 0; i < c->n_rest; i++) {
        X509 *cand = c->rest[i];
        if (cand == cur || X509_NAME_cmp(X509_get_subject_name(cand), X509_get_issuer_name(cur)))
            continue;
        *named = true;
        pk = X509_get0_pubkey(cand);
        if (pk && X509_verify(cur, pk) == 1)
            return cand;
    }
    return NULL;
}

static x509_code walk_step(const x509_chain *c, X509 *cur, bool relaxed, x509_report *r,
                           link_walk *w, X509 **next)
{
    char who[300], issuer[256];
    bool named;

    *next = NULL;
    x509_display_name(X509_get_issuer_name(cur), issuer, sizeof issuer);
    label_of(cur, c->leaf, who, sizeof who);
    if (X509_self_signed(cur, 0) == 1) {
        if (cur == c->leaf) {
            w->broken = true;
            return x509_report_add(r, relaxed, "chain: leaf is self-signed, not issued by a CA");
        }
        w->root = true;
        if (X509_verify(cur, X509_get0_pubkey(cur)) == 1)
            return X509_OK;
        w->broken = true;
        return x509_report_add(r, relaxed, "chain: root %s has a bad self-signature", who);
    }
    *next = find_issuer(c, cur, &named);
    if (*next)
        return X509_OK;
    w->broken = true;
    if (named)
        return x509_report_add(r, relaxed, "chain: %s is not signed by \"%s\"", who, issuer);
    if (cur == c->leaf && c->n_rest > 0)
        return x509_report_add(r, relaxed,
                               "chain: the leaf's issuer \"%s\" is not in the bundle", issuer);
    w->open_end = true;
    return x509_report_add(r, relaxed, "chain ends at \"%s\" without a root", issuer);
}

static x509_code walk(const x509_chain *c, bool relaxed, x509_report *r, link_walk *w)
{
    X509 *cur = c->leaf;
    x509_code rc = X509_OK;

    memset(w, 0, sizeof *w);
    /* Each step moves to a different certificate; n_rest + 1 bounds loops. */
    for (size_t step = 0; step <= c->n_rest + 1; step++) {
        X509 *next = NULL;
        w->top = cur;
        rc = walk_step(c, cur, relaxed, r, w, &next);
        if (rc || !next)
            return rc;
        cur = next;
    }
    w->broken = true;
    return x509_report_add(r, relaxed, "chain: the bundle's issuers form a loop");
}

/* OpenSSL's path validation, trusting only the top the walk reached. */
static x509_code verify_path(const x509_chain *c, const link_walk *w, bool relaxed,
                             x509_report *r)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    x509_code rc = X509_ERR_NOMEM;
    char who[300];

    if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store, w->top))
        goto out;
    for (size_t i = 0; i < c->n_rest; i++)
        if (!sk_X509_push(untrusted, c->rest[i]))
            goto out;
    unsigned long flags = X509_V_FLAG_NO_CHECK_TIME;
    if (!w->root)
        flags |= X509_V_FLAG_PARTIAL_CHAIN;
    X509_STORE_set_flags(store, flags);
    if (!X509_STORE_CTX_init(ctx, store, c->leaf, untrusted))
        goto out;
    rc = X509_OK;
    if (X509_verify_cert(ctx) != 1) {
        X509 *at = X509_STORE_CTX_get_current_cert(ctx);
        label_of(at ? at : c->leaf, c->leaf, who, sizeof who);
        rc = x509_report_add(r, relaxed, "chain: %s (at %s)",
                             X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)), who);
    }
out:
    sk_X509_free(untrusted); /* the certificates stay the chain's */
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

x509_code x509_link_check(const x509_chain *c, bool relaxed, x509_report *r)
{
    link_walk w;
    x509_code rc = walk(c, relaxed, r, &w);

    /* A bundle without a root is still checked as far as it goes. */
    if (rc || w.top == c->leaf || (w.broken && !w.open_end))
        return rc;
    return verify_path(c, &w, relaxed, r);
}
