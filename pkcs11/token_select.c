/*
 * Choosing one token (by pkcs11: URI, or the only one present) and the
 * session on it that every other operation uses.
 */
#include "token_internal.h"

#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct candidate {
    token_module *mod;
    CK_SLOT_ID    slot;
    char          manufacturer[33];
    char          serial[17];
} candidate;

/*
 * Does the token in slot match the URI (any initialised token when NULL)?
 * *rv is set when the module failed on a token that is there: a device
 * error must not read as "no token present".
 */
static bool slot_matches(token_module *mod, CK_SLOT_ID slot, P11KitUri *uri, CK_RV *rv,
                         const char **call, candidate *c)
{
    CK_INFO mi;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SLOT_ID want;
    CK_RV r;

    *rv = CKR_OK;
    if ((r = mod->fn->C_GetSlotInfo(slot, &si)) != CKR_OK) {
        *rv = token_rv_gone(r) ? CKR_OK : r;
        *call = "C_GetSlotInfo";
        return false;
    }
    if (!(si.flags & CKF_TOKEN_PRESENT))
        return false;
    if ((r = mod->fn->C_GetTokenInfo(slot, &ti)) != CKR_OK) {
        *rv = token_rv_gone(r) ? CKR_OK : r;
        *call = "C_GetTokenInfo";
        return false;
    }
    if (!(ti.flags & CKF_TOKEN_INITIALIZED))
        return false;
    token_field(ti.manufacturerID, sizeof(ti.manufacturerID), c->manufacturer);
    token_field(ti.serialNumber, sizeof(ti.serialNumber), c->serial);
    if (uri == NULL)
        return true;
    if (mod->fn->C_GetInfo(&mi) != CKR_OK || !p11_kit_uri_match_module_info(uri, &mi))
        return false;
    want = p11_kit_uri_get_slot_id(uri);
    if (want != (CK_SLOT_ID)-1 && want != slot)
        return false;
    return p11_kit_uri_match_slot_info(uri, &si) && p11_kit_uri_match_token_info(uri, &ti);
}

/* The first module failure seen while collecting, reported when nothing matched. */
typedef struct collect_fail {
    CK_RV       rv;
    const char *call;
    const char *module;
    CK_SLOT_ID  slot;
} collect_fail;

static void note_fail(collect_fail *f, CK_RV rv, const char *call, token_module *mod,
                      CK_SLOT_ID slot)
{
    if (rv == CKR_OK || f->rv != CKR_OK)
        return;
    f->rv = rv;
    f->call = call;
    f->module = mod->name;
    f->slot = slot;
}

static token_code collect_module(token_module *mod, P11KitUri *uri, candidate **out,
                                 size_t *n, collect_fail *f, token_err *err)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG count = 0;
    CK_RV rv = mod->fn->C_GetSlotList(CK_TRUE, NULL, &count);

    if (rv == CKR_OK && count > 0 && (slots = calloc(count, sizeof(*slots))) == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    if (rv == CKR_OK && count > 0)
        rv = mod->fn->C_GetSlotList(CK_TRUE, slots, &count);
    note_fail(f, rv, "C_GetSlotList", mod, (CK_SLOT_ID)-1);
    for (CK_ULONG i = 0; rv == CKR_OK && i < count; i++) {
        const char *call = NULL;
        CK_RV mrv;
        candidate *c, found = { mod, slots[i], "", "" };

        if (!slot_matches(mod, slots[i], uri, &mrv, &call, &found)) {
            note_fail(f, mrv, call, mod, slots[i]);
            continue;
        }
        c = realloc(*out, (*n + 1) * sizeof(*c));
        if (c == NULL) {
            free(slots);
            return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        }
        *out = c;
        c[*n] = found;
        (*n)++;
    }
    free(slots);
    return TOKEN_OK;
}

/* One candidate per token: the preferred module's (token_prefer.c). */
static void dedupe(token_ctx *ctx, candidate *c, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        for (size_t j = i + 1; j < *n;) {
            if (!token_same_token(c[i].manufacturer, c[i].serial, c[j].manufacturer,
                                  c[j].serial)) {
                j++;
                continue;
            }
            if (token_module_cmp(ctx, c[j].mod, c[i].mod) < 0)
                c[i] = c[j];
            memmove(&c[j], &c[j + 1], (*n - j - 1) * sizeof(*c));
            (*n)--;
        }
}

/*
 * Candidates in every module.  A module that fails on a token that is
 * plugged in (device error) is reported as such when nothing else
 * matched; a token that answers elsewhere is still usable.
 */
static token_code collect(token_ctx *ctx, P11KitUri *uri, candidate **out, size_t *n,
                          token_err *err)
{
    collect_fail f = { CKR_OK, NULL, NULL, 0 };
    token_code rc = TOKEN_OK;

    *out = NULL;
    *n = 0;
    for (size_t m = 0; m < ctx->n_modules && rc == TOKEN_OK; m++)
        rc = collect_module(&ctx->modules[m], uri, out, n, &f, err);
    if (rc == TOKEN_OK)
        dedupe(ctx, *out, n);
    if (rc == TOKEN_OK && *n == 0 && f.rv != CKR_OK) {
        if (f.slot == (CK_SLOT_ID)-1)
            rc = token_err_rv(err, f.rv, "module %s: %s", f.module, f.call);
        else
            rc = token_err_rv(err, f.rv, "module %s, slot %lu: %s", f.module,
                              (unsigned long)f.slot, f.call);
    }
    if (rc != TOKEN_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* "  token "A" (serial 1) pkcs11:...\n" for each candidate, into buf. */
static void list_candidates(candidate *c, size_t n, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        token_slot_info info;
        token_err e;

        if (token_slot_info_fill(c[i].mod, c[i].slot, &info, &e) == TOKEN_OK && info.present)
            used += (size_t)snprintf(buf + used, len - used, "\n  token \"%s\" (serial %s) %s",
                                     info.label, info.serial, info.uri ? info.uri : "");
        token_slot_info_clear(&info);
    }
}

static token_code parse_uri(const char *s, P11KitUri **out, token_err *err)
{
    int r;

    *out = p11_kit_uri_new();
    if (*out == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    r = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, *out);
    if (r != P11_KIT_URI_OK)
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK, "token URI \"%s\": %s", s,
                             p11_kit_uri_message(r));
    if (p11_kit_uri_any_unrecognized(*out))
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK,
                             "token URI \"%s\": has attributes this agent does not know, so it "
                             "would match nothing; use token=, serial=, model=, "
                             "manufacturer=, slot-id=, id=, object=", s);
    return TOKEN_OK;
}

static token_code choose(token_ctx *ctx, const char *s, P11KitUri *uri, candidate *chosen,
                         token_err *err)
{
    candidate *c;
    size_t n;
    char list[700];
    token_code rc = collect(ctx, uri, &c, &n, err);

    if (rc != TOKEN_OK)
        return rc;
    if (n == 1) {
        *chosen = c[0];
    } else if (n == 0) {
        list[0] = '\0';
        if (s != NULL && collect(ctx, NULL, &c, &n, err) == TOKEN_OK)
            list_candidates(c, n, list, sizeof(list));
        rc = s ? token_err_set(err, TOKEN_ERR_ABSENT, CKR_OK,
                               "no token matching %s is present; plug it in%s%s", s,
                               n ? ". Tokens present:" : "", list)
               : token_err_set(err, TOKEN_ERR_ABSENT, CKR_OK,
                               "no token is present; plug the token in");
    } else {
        list_candidates(c, n, list, sizeof(list));
        rc = token_err_set(err, TOKEN_ERR_AMBIGUOUS, CKR_OK,
                           "%zu tokens %s:%s", n,
                           s ? "match the URI" : "are present", list);
    }
    free(c);
    return rc;
}

static token_code keep_key_selector(token *tok, P11KitUri *uri, token_err *err)
{
    CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(uri, CKA_ID);
    CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);

    if (id != NULL && id->ulValueLen > 0) {
        if (id->ulValueLen > sizeof(tok->key_id))
            return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK, "token URI: id= is too long");
        memcpy(tok->key_id, id->pValue, id->ulValueLen);
        tok->key_id_len = id->ulValueLen;
    }
    if (label != NULL && label->ulValueLen > 0) {
        tok->key_label = strndup(label->pValue, label->ulValueLen);
        if (tok->key_label == NULL)
            return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    }
    return TOKEN_OK;
}

static token_code open_session(token *tok, token_err *err)
{
    CK_RV rv;

    rv = tok->fn->C_OpenSession(tok->info.slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                NULL, NULL, &tok->session);
    if (rv == CKR_TOKEN_WRITE_PROTECTED)
        rv = tok->fn->C_OpenSession(tok->info.slot_id, CKF_SERIAL_SESSION, NULL, NULL,
                                    &tok->session);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: C_OpenSession", tok->name);
    return TOKEN_OK;
}

static token_code finish_open(token_ctx *ctx, candidate *chosen, P11KitUri *uri,
                              token **out, token_err *err)
{
    token *tok = calloc(1, sizeof(*tok));
    token_code rc;

    *out = NULL;
    if (tok == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    tok->ctx = ctx;
    tok->module = chosen->mod;
    tok->fn = chosen->mod->fn;
    tok->session = CK_INVALID_HANDLE;
    rc = token_slot_info_fill(chosen->mod, chosen->slot, &tok->info, err);
    if (rc == TOKEN_OK && !tok->info.present)
        rc = token_err_set(err, TOKEN_ERR_REMOVED, CKR_TOKEN_NOT_PRESENT,
                           "the token was removed while it was being opened; plug it in "
                           "and run the command again");
    if (rc != TOKEN_OK)
        goto out;
    snprintf(tok->name, sizeof(tok->name), "token \"%s\" (serial %s)", tok->info.label,
             tok->info.serial);
    if (uri != NULL && (rc = keep_key_selector(tok, uri, err)) != TOKEN_OK)
        goto out;
    rc = open_session(tok, err);
out:
    if (rc != TOKEN_OK) {
        token_close(tok);
        tok = NULL;
    }
    *out = tok;
    return rc;
}

token_code token_open_slot(token_ctx *ctx, const token_slot_info *slot, token **out,
                           token_err *err)
{
    return_val_if_fail(ctx != NULL && slot != NULL && out != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    *out = NULL;
    for (size_t m = 0; m < ctx->n_modules; m++) {
        candidate c = { &ctx->modules[m], slot->slot_id, "", "" };

        if (strcmp(ctx->modules[m].name, slot->module) == 0)
            return finish_open(ctx, &c, NULL, out, err);
    }
    return token_err_set(err, TOKEN_ERR_NOT_FOUND, CKR_OK, "module %s is not loaded",
                         slot->module);
}

token_code token_open(token_ctx *ctx, const char *uri_s, token **out, token_err *err)
{
    P11KitUri *uri = NULL;
    candidate chosen;
    token_code rc;

    return_val_if_fail(ctx != NULL && out != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    *out = NULL;
    if (uri_s != NULL && *uri_s == '\0')
        uri_s = NULL;
    if (uri_s != NULL && (rc = parse_uri(uri_s, &uri, err)) != TOKEN_OK)
        goto out;
    rc = choose(ctx, uri_s, uri, &chosen, err);
    if (rc == TOKEN_OK)
        rc = finish_open(ctx, &chosen, uri, out, err);
out:
    p11_kit_uri_free(uri);
    return rc;
}

void token_close(token *tok)
{
    if (tok == NULL)
        return;
    if (tok->session != CK_INVALID_HANDLE) {
        if (tok->logged_in || tok->so_logged_in)
            tok->fn->C_Logout(tok->session);
        tok->fn->C_CloseSession(tok->session);
    }
    token_slot_info_clear(&tok->info);
    free(tok->key_label);
    free(tok);
}

const token_slot_info *token_get_info(const token *tok)
{
    return tok ? &tok->info : NULL;
}

const char *token_name(const token *tok)
{
    return tok ? tok->name : "token";
}

const unsigned char *token_uri_key_id(const token *tok, size_t *len)
{
    *len = tok ? tok->key_id_len : 0;
    return *len ? tok->key_id : NULL;
}

const char *token_uri_key_label(const token *tok)
{
    return tok ? tok->key_label : NULL;
}

token_code token_refresh(token *tok, token_err *err)
{
    token_slot_info info;
    token_code rc;

    return_val_if_fail(tok != NULL, TOKEN_ERR_INVALID);
    rc = token_slot_info_fill(tok->module, tok->info.slot_id, &info, err);
    if (rc == TOKEN_OK && !info.present)
        rc = token_err_set(err, TOKEN_ERR_REMOVED, CKR_TOKEN_NOT_PRESENT,
                           "%s was removed; plug it in and run the command again", tok->name);
    if (rc != TOKEN_OK) {
        token_slot_info_clear(&info);
        return rc;
    }
    token_slot_info_clear(&tok->info);
    tok->info = info;
    return TOKEN_OK;
}
