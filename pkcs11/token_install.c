/*
 * Installing the issued certificate next to its key.  Every step can be
 * interrupted (token pulled) and the whole thing run again: objects already
 * there are recognised by their DER value and not written twice, and the
 * old certificate of the key goes only after the new one reads back
 * identical, so the key is never without a certificate.
 */
#include "token_internal.h"

#include "x509.h"

#include <stdlib.h>
#include <string.h>

typedef struct der {
    unsigned char *p;
    int            len;
} der;

static void der_free(der *d)
{
    OPENSSL_free(d->p);
    d->p = NULL;
}

static bool same_cert(X509 *a, X509 *b)
{
    return a != NULL && b != NULL && X509_cmp(a, b) == 0;
}

static const token_cert *find_identical(const token_cert_list *l, X509 *x)
{
    for (size_t i = 0; i < l->count; i++)
        if (same_cert(l->items[i].x509, x))
            return &l->items[i];
    return NULL;
}

/*
 * The subject's CN (else O) as a label; "" when it has neither.  At most
 * TOKEN_LABEL_MAX bytes, cut before a UTF-8 continuation byte: many cards
 * refuse a longer CKA_LABEL (CKR_ATTRIBUTE_VALUE_INVALID), as their token
 * label field is 32 bytes.
 */
#define TOKEN_LABEL_MAX 32
static char *subject_label(X509 *x)
{
    X509_NAME *n = X509_get_subject_name(x);
    char buf[128] = "";
    size_t len;

    if (X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf)) <= 0)
        X509_NAME_get_text_by_NID(n, NID_organizationName, buf, sizeof(buf));
    len = strlen(buf);
    if (len > TOKEN_LABEL_MAX) {
        len = TOKEN_LABEL_MAX;
        while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
            len--;
        buf[len] = '\0';
    }
    return strdup(buf);
}

static token_code write_cert(token *tok, X509 *x, const unsigned char *id, size_t id_len,
                             const char *label, CK_ULONG category, CK_OBJECT_HANDLE *h,
                             token_err *err)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    der value = { 0 }, subj = { 0 }, iss = { 0 }, serial = { 0 };
    CK_RV rv = CKR_HOST_MEMORY;

    value.len = i2d_X509(x, &value.p);
    subj.len = i2d_X509_NAME(X509_get_subject_name(x), &subj.p);
    iss.len = i2d_X509_NAME(X509_get_issuer_name(x), &iss.p);
    serial.len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial.p);
    if (value.len > 0 && subj.len > 0 && iss.len > 0 && serial.len > 0) {
        CK_ATTRIBUTE t[] = {
            { CKA_CLASS, &cls, sizeof(cls) }, { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
            { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 },
            { CKA_VALUE, value.p, (CK_ULONG)value.len },
            { CKA_SUBJECT, subj.p, (CK_ULONG)subj.len },
            { CKA_ISSUER, iss.p, (CK_ULONG)iss.len },
            { CKA_SERIAL_NUMBER, serial.p, (CK_ULONG)serial.len },
            { CKA_ID, (void *)id, (CK_ULONG)id_len },
            { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
            { CKA_CERTIFICATE_CATEGORY, &category, sizeof(category) },
        };
        rv = tok->fn->C_CreateObject(tok->session, t, sizeof(t) / sizeof(t[0]), h);
    }
    der_free(&value);
    der_free(&subj);
    der_free(&iss);
    der_free(&serial);
    if (rv == CKR_DEVICE_MEMORY)
        return token_err_rv(err, rv, "%s: no room for the certificate \"%s\": nothing was "
                            "written and the certificates on the token are kept; remove an "
                            "object it no longer needs (C_CreateObject)", tok->name, label);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: writing the certificate \"%s\" (C_CreateObject)",
                            tok->name, label);
    return TOKEN_OK;
}

/* Read the new object back: only a certificate known to be whole replaces another. */
static token_code read_back(token *tok, CK_OBJECT_HANDLE h, X509 *x, token_err *err)
{
    unsigned char *v = NULL;
    size_t len;
    der want = { 0 };
    token_code rc = token_get_attr(tok, h, CKA_VALUE, &v, &len, err);
    bool same;

    if (rc != TOKEN_OK)
        return rc;
    want.len = i2d_X509(x, &want.p);
    same = v != NULL && want.len > 0 && (size_t)want.len == len && memcmp(v, want.p, len) == 0;
    free(v);
    der_free(&want);
    if (same)
        return TOKEN_OK;
    tok->fn->C_DestroyObject(tok->session, h);
    return token_err_set(err, TOKEN_ERR_READBACK, CKR_OK,
                         "%s: the certificate written reads back differently; it was removed "
                         "again and the old certificate kept", tok->name);
}

static token_code set_key_label(token *tok, const token_key *key, const char *label,
                                token_err *err)
{
    CK_ATTRIBUTE a = { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) };
    CK_RV rv = CKR_OK;

    if (key->priv != CK_INVALID_HANDLE)
        rv = tok->fn->C_SetAttributeValue(tok->session, key->priv, &a, 1);
    if (rv == CKR_OK && key->pubobj != CK_INVALID_HANDLE)
        rv = tok->fn->C_SetAttributeValue(tok->session, key->pubobj, &a, 1);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: setting the label \"%s\" on the key", tok->name,
                            label);
    return TOKEN_OK;
}

/*
 * A key without CKA_ID would give its certificate an empty ID, and tools
 * pair key and certificate by ID.  It gets the usual SHA-1 of its public
 * key, on the public half first: an interruption then leaves the private
 * half without ID, which a re-run sees and finishes.
 */
static token_code set_key_id(token *tok, const token_key *key, unsigned char id[20],
                             token_err *err)
{
    CK_ATTRIBUTE a = { CKA_ID, id, 20 };
    CK_RV rv = CKR_OK;

    if (!x509_key_id_sha1(key->pub, id))
        return token_err_set(err, TOKEN_ERR_GENERAL, CKR_OK,
                             "%s: cannot compute an ID for the key", tok->name);
    if (key->pubobj != CK_INVALID_HANDLE)
        rv = tok->fn->C_SetAttributeValue(tok->session, key->pubobj, &a, 1);
    if (rv == CKR_OK && key->priv != CK_INVALID_HANDLE)
        rv = tok->fn->C_SetAttributeValue(tok->session, key->priv, &a, 1);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: setting CKA_ID on the key, which has none", tok->name);
    return TOKEN_OK;
}

static token_code install_authorities(token *tok, const token_cert_list *have,
                                      X509 **certs, size_t n, token_install_result *res,
                                      token_err *err)
{
    token_code rc = TOKEN_OK;

    for (size_t i = 0; rc == TOKEN_OK && i < n; i++) {
        unsigned char id[20];
        CK_OBJECT_HANDLE h;
        char *label;

        if (certs[i] == NULL)
            continue;
        if (find_identical(have, certs[i]) != NULL) {
            res->intermediates_present++;
            continue;
        }
        if (!x509_cert_key_id_sha1(certs[i], id))
            return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK,
                                 "intermediate certificate %zu: unreadable public key", i + 1);
        label = subject_label(certs[i]);
        if (label == NULL)
            return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        rc = write_cert(tok, certs[i], id, sizeof(id), label, 2, &h, err);
        free(label);
        if (rc == TOKEN_OK)
            res->intermediates_written++;
    }
    return rc;
}

/* Older certificates for the same key go once the new one is in place. */
static token_code remove_old(token *tok, const token_key *key, const token_cert_list *have,
                             X509 *leaf, token_install_result *res, token_err *err)
{
    for (size_t i = 0; i < have->count; i++) {
        const token_cert *c = &have->items[i];
        CK_RV rv;

        if (c->x509 == NULL || same_cert(c->x509, leaf) || c->category == 2 ||
            !x509_key_matches(c->x509, key->pub))
            continue;
        rv = tok->fn->C_DestroyObject(tok->session, c->handle);
        if (rv != CKR_OK)
            return token_err_rv(err, rv, "%s: removing the replaced certificate \"%s\"",
                                tok->name, c->label);
        res->old_removed++;
    }
    return TOKEN_OK;
}

static token_code install_leaf(token *tok, const token_key *key, const char *label,
                               const token_cert_list *have, X509 *leaf,
                               token_install_result *res, token_err *err)
{
    CK_OBJECT_HANDLE h;
    unsigned char own_id[20];
    const unsigned char *id = key->id;
    size_t id_len = key->id_len;
    token_code rc;

    if (id_len == 0) {
        rc = set_key_id(tok, key, own_id, err);
        if (rc != TOKEN_OK)
            return rc;
        id = own_id;
        id_len = sizeof(own_id);
        res->key_id_set = true;
    }
    if (find_identical(have, leaf) == NULL) {
        rc = write_cert(tok, leaf, id, id_len, label, 1, &h, err);
        if (rc == TOKEN_OK)
            rc = read_back(tok, h, leaf, err);
        if (rc != TOKEN_OK)
            return rc;
        res->leaf_written = true;
    }
    return remove_old(tok, key, have, leaf, res, err);
}

token_code token_install_certificate(token *tok, const token_key *key, X509 *leaf,
                                     X509 **intermediates, size_t n,
                                     token_install_result *res, token_err *err)
{
    token_cert_list have = { 0 };
    char *label = NULL;
    token_code rc;

    return_val_if_fail(tok != NULL && key != NULL && leaf != NULL && res != NULL,
                       TOKEN_ERR_INVALID);
    token_err_clear(err);
    memset(res, 0, sizeof(*res));
    if (key->pub == NULL || !x509_key_matches(leaf, key->pub))
        return token_err_set(err, TOKEN_ERR_MISMATCH, CKR_OK,
                             "%s: the certificate is not for the key on the token (public "
                             "keys differ); nothing was written", tok->name);
    if (!tok->logged_in)
        return token_err_set(err, TOKEN_ERR_NOT_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
                             "%s: log in before installing a certificate", tok->name);
    rc = token_list_certificates(tok, &have, err);
    if (rc != TOKEN_OK)
        goto out;
    label = key->label && *key->label ? strdup(key->label) : subject_label(leaf);
    if (label == NULL) {
        rc = token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        goto out;
    }
    if (!(key->label && *key->label) && *label != '\0') {
        rc = set_key_label(tok, key, label, err);
        if (rc != TOKEN_OK)
            goto out;
        res->key_label_set = true;
    }
    rc = install_authorities(tok, &have, intermediates, n, res, err);
    if (rc == TOKEN_OK)
        rc = install_leaf(tok, key, label, &have, leaf, res, err);
out:
    free(label);
    token_cert_list_free(&have);
    return rc;
}
