/*
 * x509_anchor: does the issued chain lead to a root the organisation
 * accepts?  x509_link.c only checks that the bundle hangs together; a
 * bundle is self-contained by nature, so a forged one (its own root and
 * intermediate, the right QC statements, the right key) passes that.  Here
 * the only trusted certificates are the configured anchors: the bundle's
 * certificates are untrusted intermediates, and OpenSSL's full path
 * validation (no PARTIAL_CHAIN) must end at one of the anchors.
 */
#include "x509_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* A trust-anchor file is a handful of roots, never megabytes. */
#define X509_ANCHORS_MAX_BYTES (1024 * 1024)

struct x509_anchors {
    X509_STORE *store;
    size_t      count;
    char        path[256];
};

void x509_anchors_free(x509_anchors *a)
{
    if (!a)
        return;
    X509_STORE_free(a->store);
    free(a);
}

size_t x509_anchors_count(const x509_anchors *a)
{
    return a ? a->count : 0;
}

static x509_code read_file(const char *path, char **out, size_t *len, x509_err *err)
{
    FILE *f = fopen(path, "rbe");
    char *buf = NULL;
    size_t n = 0;

    if (!f)
        return x509_fail(err, X509_ERR_PARSE, "trust anchors %s: cannot open: %s", path,
                         strerror(errno));
    buf = malloc(X509_ANCHORS_MAX_BYTES + 1);
    if (buf)
        n = fread(buf, 1, X509_ANCHORS_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");
    if (bad || n > X509_ANCHORS_MAX_BYTES) {
        free(buf);
        return x509_fail(err, X509_ERR_PARSE, "trust anchors %s: %s", path,
                         bad ? "read error" : "larger than 1 MiB; not a file of root certificates");
    }
    *out = buf;
    *len = n;
    return X509_OK;
}

/* Every certificate of the parsed file must be a CA that signs itself. */
static x509_code add_anchor(x509_anchors *a, X509 *cert, const char *path, x509_err *err)
{
    char name[256];

    x509_display_name(X509_get_subject_name(cert), name, sizeof name);
    if (X509_check_ca(cert) == 0 || X509_self_signed(cert, 1) != 1)
        return x509_fail(err, X509_ERR_PARSE,
                         "trust anchors %s: \"%s\" is not a self-signed CA certificate "
                         "(the file holds the roots themselves, not intermediates or leaves)",
                         path, name);
    if (!X509_STORE_add_cert(a->store, cert))
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");
    a->count++;
    return X509_OK;
}

x509_code x509_anchors_load(const char *path, x509_anchors **out, x509_err *err)
{
    x509_chain *certs = NULL;
    x509_anchors *a = NULL;
    char *text = NULL;
    size_t len = 0;
    x509_code rc;

    *out = NULL;
    if ((rc = read_file(path, &text, &len, err)) != X509_OK)
        return rc;
    rc = x509_chain_parse_pem(text, len, &certs, err);
    free(text);
    if (rc != X509_OK) {
        if (err) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err->message);
            x509_fail(err, rc, "trust anchors %s: %s", path, msg);
        }
        return rc;
    }
    a = calloc(1, sizeof *a);
    if (!a || !(a->store = X509_STORE_new())) {
        free(a);
        x509_chain_free(certs);
        return x509_fail(err, X509_ERR_NOMEM, "out of memory");
    }
    snprintf(a->path, sizeof a->path, "%s", path);
    rc = add_anchor(a, certs->leaf, path, err);
    for (size_t i = 0; rc == X509_OK && i < certs->n_rest; i++)
        rc = add_anchor(a, certs->rest[i], path, err);
    x509_chain_free(certs); /* the store holds its own references */
    ERR_clear_error();
    if (rc != X509_OK) {
        x509_anchors_free(a);
        return rc;
    }
    *out = a;
    return X509_OK;
}

/* The name a person can look for: the issuer of the last certificate reached. */
static void unanchored_issuer(X509_STORE_CTX *ctx, X509 *leaf, char *out, size_t len)
{
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
    X509 *top = built && sk_X509_num(built) > 0 ? sk_X509_value(built, sk_X509_num(built) - 1)
                                                : X509_STORE_CTX_get_current_cert(ctx);

    if (!top)
        top = leaf;
    x509_display_name(X509_get_issuer_name(top), out, len);
}

static x509_code verdict(X509_STORE_CTX *ctx, const x509_chain *c, const x509_anchors *a,
                         x509_err *err)
{
    int e = X509_STORE_CTX_get_error(ctx);
    char issuer[256];

    unanchored_issuer(ctx, c->leaf, issuer, sizeof issuer);
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return x509_fail(err, X509_ERR_CHAIN,
                         "chain: the certificate does not chain to a trust anchor: issuer "
                         "\"%s\" is none of the %zu root%s in %s (%s)",
                         issuer, a->count, a->count == 1 ? "" : "s", a->path,
                         X509_verify_cert_error_string(e));
    default: {
        char who[256];
        X509 *at = X509_STORE_CTX_get_current_cert(ctx);
        x509_display_name(X509_get_subject_name(at ? at : c->leaf), who, sizeof who);
        return x509_fail(err, X509_ERR_CHAIN,
                         "chain: path validation to the trust anchors in %s failed at \"%s\": %s",
                         a->path, who, X509_verify_cert_error_string(e));
    }
    }
}

x509_code x509_chain_check_anchored(const x509_chain *c, const x509_anchors *a, time_t now,
                                    unsigned relax, x509_err *err)
{
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    x509_code rc = X509_ERR_NOMEM;

    if (!c || !c->leaf || !a)
        return x509_fail(err, X509_ERR_CHAIN, "chain: no certificate or no trust anchors given");
    ctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (!ctx || !untrusted)
        goto out;
    for (size_t i = 0; i < c->n_rest; i++)
        if (!sk_X509_push(untrusted, c->rest[i]))
            goto out;
    if (!X509_STORE_CTX_init(ctx, a->store, c->leaf, untrusted))
        goto out;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    /* Validity is its own (relaxable) profile check; otherwise "now". */
    if (relax & X509_RELAX_VALIDITY)
        X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_NO_CHECK_TIME);
    else
        X509_VERIFY_PARAM_set_time(vp, now);
    rc = X509_verify_cert(ctx) == 1 ? X509_OK : verdict(ctx, c, a, err);
out:
    if (rc == X509_ERR_NOMEM)
        x509_fail(err, rc, "out of memory");
    sk_X509_free(untrusted); /* the certificates stay the chain's */
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
