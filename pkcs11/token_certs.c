/*
 * X.509 certificate objects on the token: read them.
 */
#include "token_internal.h"

#include <stdlib.h>
#include <string.h>

static void cert_clear(token_cert *c)
{
    free(c->label);
    X509_free(c->x509);
    memset(c, 0, sizeof(*c));
}

void token_cert_list_free(token_cert_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        cert_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static token_code read_cert(token *tok, CK_OBJECT_HANDLE h, token_cert *c, token_err *err)
{
    unsigned char *v = NULL;
    const unsigned char *p;
    size_t len;
    bool found;
    token_code rc;

    c->handle = h;
    rc = token_get_attr(tok, h, CKA_ID, &v, &len, err);
    if (rc != TOKEN_OK)
        return rc;
    if (v != NULL && len <= sizeof(c->id)) {
        memcpy(c->id, v, len);
        c->id_len = len;
    }
    free(v);
    rc = token_get_attr(tok, h, CKA_LABEL, &v, &len, err);
    if (rc != TOKEN_OK)
        return rc;
    c->label = v ? (char *)v : strdup("");
    if (c->label == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    rc = token_get_ulong(tok, h, CKA_CERTIFICATE_CATEGORY, &c->category, &found, err);
    if (!found)
        c->category = 0;
    if (rc == TOKEN_OK)
        rc = token_get_attr(tok, h, CKA_VALUE, &v, &len, err);
    if (rc != TOKEN_OK)
        return rc;
    p = v;
    c->x509 = v ? d2i_X509(NULL, &p, (long)len) : NULL;
    free(v);
    return TOKEN_OK;
}

token_code token_list_certificates(token *tok, token_cert_list *out, token_err *err)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) }, { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
    };
    CK_OBJECT_HANDLE *h;
    size_t n;
    token_code rc;

    return_val_if_fail(tok != NULL && out != NULL, TOKEN_ERR_INVALID);
    memset(out, 0, sizeof(*out));
    token_err_clear(err);
    rc = token_find_objects(tok, tmpl, 2, &h, &n, err);
    if (rc != TOKEN_OK)
        return rc;
    out->items = calloc(n + 1, sizeof(*out->items));
    if (out->items == NULL)
        rc = token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    for (size_t i = 0; rc == TOKEN_OK && i < n; i++) {
        rc = read_cert(tok, h[i], &out->items[i], err);
        out->count++;
    }
    free(h);
    if (rc != TOKEN_OK)
        token_cert_list_free(out);
    return rc;
}
