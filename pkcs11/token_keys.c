/*
 * Key pairs on the token: list them (public halves without login, private
 * halves after it) and locate the one signing key.
 */
#include "token_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_clear(token_key *k)
{
    free(k->label);
    EVP_PKEY_free(k->pub);
    memset(k, 0, sizeof(*k));
}

void token_key_list_free(token_key_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        key_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

void token_key_free(token_key *key)
{
    if (key == NULL)
        return;
    key_clear(key);
    free(key);
}

void token_key_describe(const token_key *key, char *buf, size_t len)
{
    char hex[2 * sizeof(key->id) + 1];

    token_hex(key->id, key->id_len, hex);
    snprintf(buf, len, "label \"%s\", id %s, %s %u", key->label ? key->label : "",
             key->id_len ? hex : "(none)", key->type == CKK_RSA ? "RSA" :
             key->type == CKK_EC ? "EC" : "other", key->bits);
}

/* Common attributes of a key object into k. */
static token_code read_key(token *tok, CK_OBJECT_HANDLE h, token_key *k, token_err *err)
{
    unsigned char *v = NULL;
    size_t len;
    CK_ULONG ul;
    bool found;
    token_code rc;

    rc = token_get_attr(tok, h, CKA_ID, &v, &len, err);
    if (rc != TOKEN_OK)
        return rc;
    if (v != NULL && len <= sizeof(k->id)) {
        memcpy(k->id, v, len);
        k->id_len = len;
    }
    free(v);
    rc = token_get_attr(tok, h, CKA_LABEL, &v, &len, err);
    if (rc != TOKEN_OK)
        return rc;
    k->label = v ? (char *)v : strdup("");
    if (k->label == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    rc = token_get_ulong(tok, h, CKA_KEY_TYPE, &ul, &found, err);
    k->type = found ? ul : (CK_KEY_TYPE)-1;
    return rc;
}

static token_key *find_by_id(token_key_list *list, const unsigned char *id, size_t len)
{
    for (size_t i = 0; i < list->count; i++)
        if (len > 0 && list->items[i].id_len == len && memcmp(list->items[i].id, id, len) == 0)
            return &list->items[i];
    return NULL;
}

/* A key pair whose halves carry no CKA_ID is paired by its public key. */
static token_key *find_by_pub(token_key_list *list, const EVP_PKEY *pub)
{
    for (size_t i = 0; pub != NULL && i < list->count; i++) {
        token_key *k = &list->items[i];

        if (k->id_len == 0 && k->priv == CK_INVALID_HANDLE && k->pub != NULL &&
            EVP_PKEY_eq(k->pub, pub) == 1)
            return k;
    }
    return NULL;
}

static bool get_bool(token *tok, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool dflt)
{
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a = { type, &v, sizeof(v) };

    if (tok->fn->C_GetAttributeValue(tok->session, h, &a, 1) != CKR_OK)
        return dflt;
    return v == CK_TRUE;
}

/*
 * A key whose public half cannot be read is still listed (some tokens hide
 * it); a token that went away while we read is an error, not such a key.
 */
static token_code read_pub(token *tok, CK_OBJECT_HANDLE h, token_key *k, token_err *err)
{
    token_err e;

    token_err_clear(&e);
    k->pub = token_read_pkey(tok, h, k->type, &e);
    if (k->pub == NULL && e.code != TOKEN_OK) {
        if (err != NULL)
            *err = e;
        return e.code;
    }
    return TOKEN_OK;
}

static token_code add_object(token *tok, CK_OBJECT_HANDLE h, bool is_private,
                             token_key_list *list, token_err *err)
{
    token_key k = { 0 }, *slot;
    token_code rc = read_key(tok, h, &k, err);

    if (rc != TOKEN_OK)
        goto fail;
    if (is_private && k.id_len == 0 && (rc = read_pub(tok, h, &k, err)) != TOKEN_OK)
        goto fail;
    slot = !is_private ? NULL : k.id_len ? find_by_id(list, k.id, k.id_len)
                                         : find_by_pub(list, k.pub);
    if (slot != NULL && slot->priv == CK_INVALID_HANDLE) {
        key_clear(&k);
    } else {
        slot = realloc(list->items, (list->count + 1) * sizeof(*slot));
        if (slot == NULL) {
            rc = token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
            goto fail;
        }
        list->items = slot;
        slot = &list->items[list->count++];
        *slot = k;
    }
    if (!is_private) {
        slot->pubobj = h;
        return read_pub(tok, h, slot, err);
    }
    slot->priv = h;
    slot->can_sign = get_bool(tok, h, CKA_SIGN, true);
    slot->always_authenticate = get_bool(tok, h, CKA_ALWAYS_AUTHENTICATE, false);
    return slot->pub == NULL ? read_pub(tok, h, slot, err) : TOKEN_OK;
fail:
    key_clear(&k);
    return rc;
}

static token_code add_class(token *tok, CK_OBJECT_CLASS cls, token_key_list *list,
                            token_err *err)
{
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) } };
    CK_OBJECT_HANDLE *h;
    size_t n;
    token_code rc = token_find_objects(tok, tmpl, 1, &h, &n, err);

    for (size_t i = 0; rc == TOKEN_OK && i < n; i++)
        rc = add_object(tok, h[i], cls == CKO_PRIVATE_KEY, list, err);
    free(h);
    return rc;
}

static void fill_bits(token_key_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].pub != NULL)
            list->items[i].bits = (unsigned)EVP_PKEY_get_bits(list->items[i].pub);
}

token_code token_read_public_keys(token *tok, token_key_list *out, token_err *err)
{
    token_code rc;

    return_val_if_fail(tok != NULL && out != NULL, TOKEN_ERR_INVALID);
    memset(out, 0, sizeof(*out));
    token_err_clear(err);
    rc = add_class(tok, CKO_PUBLIC_KEY, out, err);
    if (rc == TOKEN_OK && tok->logged_in)
        rc = add_class(tok, CKO_PRIVATE_KEY, out, err);
    if (rc != TOKEN_OK)
        token_key_list_free(out);
    fill_bits(out);
    return rc;
}

token_code token_list_keys(token *tok, token_key_list *out, token_err *err)
{
    token_code rc = token_read_public_keys(tok, out, err);
    size_t kept = 0;

    if (rc != TOKEN_OK)
        return rc;
    if (!tok->logged_in && (rc = add_class(tok, CKO_PRIVATE_KEY, out, err)) != TOKEN_OK) {
        token_key_list_free(out);
        return rc;
    }
    fill_bits(out);
    /* A public key alone is not a key we can use. */
    for (size_t i = 0; i < out->count; i++) {
        if (out->items[i].priv == CK_INVALID_HANDLE)
            key_clear(&out->items[i]);
        else
            out->items[kept++] = out->items[i];
    }
    out->count = kept;
    return TOKEN_OK;
}

static bool key_selected(const token_key *k, const unsigned char *id, size_t id_len,
                         const char *label)
{
    if (id_len > 0)
        return k->id_len == id_len && memcmp(k->id, id, id_len) == 0;
    if (label != NULL)
        return strcmp(k->label, label) == 0;
    return k->can_sign;
}

static void list_keys(const token_key_list *l, const bool *sel, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < l->count && used < len; i++) {
        char d[300];

        if (sel != NULL && !sel[i])
            continue;
        token_key_describe(&l->items[i], d, sizeof(d));
        used += (size_t)snprintf(buf + used, len - used, "\n  %s", d);
    }
}

static token_code select_one(token *tok, token_key_list *l, const unsigned char *id,
                             size_t id_len, const char *label, size_t *which, token_err *err)
{
    bool *sel = calloc(l->count + 1, sizeof(*sel));
    size_t n = 0;
    char list[700], want[300];
    token_code rc = TOKEN_OK;

    if (sel == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    for (size_t i = 0; i < l->count; i++)
        if ((sel[i] = key_selected(&l->items[i], id, id_len, label)))
            *which = i, n++;
    token_hex(id, id_len < 128 ? id_len : 128, want);
    if (n == 0) {
        list_keys(l, NULL, list, sizeof(list));
        rc = token_err_set(err, TOKEN_ERR_NOT_FOUND, CKR_OK,
                           "%s: no %s private key%s%s%s%s", tok->name,
                           id_len ? "" : label ? "" : "signing",
                           id_len ? " with id " : label ? " with label " : "",
                           id_len ? want : label ? label : "",
                           l->count ? "; keys on the token:" : " on the token", list);
    } else if (n > 1) {
        list_keys(l, sel, list, sizeof(list));
        rc = token_err_set(err, TOKEN_ERR_AMBIGUOUS, CKR_OK,
                           "%s: %zu private keys qualify:%s", tok->name, n, list);
    }
    free(sel);
    return rc;
}

token_code token_find_key(token *tok, const unsigned char *id, size_t id_len,
                          const char *label, token_key **out, token_err *err)
{
    token_key_list l;
    size_t which = 0;
    token_code rc;

    return_val_if_fail(tok != NULL && out != NULL, TOKEN_ERR_INVALID);
    *out = NULL;
    if (id_len == 0 && label == NULL) {
        id = token_uri_key_id(tok, &id_len);
        label = token_uri_key_label(tok);
    }
    rc = token_list_keys(tok, &l, err);
    if (rc != TOKEN_OK)
        return rc;
    rc = select_one(tok, &l, id, id_len, label, &which, err);
    if (rc == TOKEN_OK) {
        *out = malloc(sizeof(**out));
        if (*out == NULL) {
            rc = token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        } else {
            **out = l.items[which];
            memset(&l.items[which], 0, sizeof(l.items[which]));
        }
    }
    token_key_list_free(&l);
    return rc;
}
