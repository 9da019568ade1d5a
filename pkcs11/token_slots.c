/*
 * Slots and tokens: enumerate them, name them with RFC 7512 URIs (p11-kit's
 * URI functions), select one, open a session on it.
 */
#include "token_internal.h"

#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void token_field(const unsigned char *field, size_t n, char *out)
{
    size_t len = p11_kit_space_strlen(field, n);

    memcpy(out, field, len);
    out[len] = '\0';
}

const char *token_pin_state_name(token_pin_state s)
{
    switch (s) {
    case TOKEN_PIN_OK:            return "ok";
    case TOKEN_PIN_COUNT_LOW:     return "count low";
    case TOKEN_PIN_FINAL_TRY:     return "final try";
    case TOKEN_PIN_LOCKED:        return "locked";
    case TOKEN_PIN_TO_BE_CHANGED: return "must be changed";
    case TOKEN_PIN_UNINITIALIZED: return "not initialised";
    }
    return "unknown";
}

/* Worst first: what the user must deal with before anything else. */
static token_pin_state pin_state_of(CK_FLAGS f)
{
    if (f & CKF_USER_PIN_LOCKED)
        return TOKEN_PIN_LOCKED;
    if (!(f & CKF_USER_PIN_INITIALIZED) && (f & CKF_LOGIN_REQUIRED))
        return TOKEN_PIN_UNINITIALIZED;
    if (f & CKF_USER_PIN_FINAL_TRY)
        return TOKEN_PIN_FINAL_TRY;
    if (f & CKF_USER_PIN_TO_BE_CHANGED)
        return TOKEN_PIN_TO_BE_CHANGED;
    if (f & CKF_USER_PIN_COUNT_LOW)
        return TOKEN_PIN_COUNT_LOW;
    return TOKEN_PIN_OK;
}

static char *token_uri_string(CK_TOKEN_INFO *ti)
{
    P11KitUri *uri = p11_kit_uri_new();
    char *s = NULL;

    if (uri == NULL)
        return NULL;
    memcpy(p11_kit_uri_get_token_info(uri), ti, sizeof(*ti));
    if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &s) != P11_KIT_URI_OK)
        s = NULL;
    p11_kit_uri_free(uri);
    return s;
}

static void fill_token(token_slot_info *info, CK_TOKEN_INFO *ti)
{
    token_field(ti->label, sizeof(ti->label), info->label);
    token_field(ti->manufacturerID, sizeof(ti->manufacturerID), info->manufacturer);
    token_field(ti->model, sizeof(ti->model), info->model);
    token_field(ti->serialNumber, sizeof(ti->serialNumber), info->serial);
    info->flags = ti->flags;
    info->pin_state = pin_state_of(ti->flags);
    info->pinpad = (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    info->write_protected = (ti->flags & CKF_WRITE_PROTECTED) != 0;
}

token_code token_slot_info_fill(token_module *mod, CK_SLOT_ID slot, token_slot_info *info,
                                token_err *err)
{
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_RV rv;

    memset(info, 0, sizeof(*info));
    info->slot_id = slot;
    info->module = strdup(mod->name);
    if (info->module == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    rv = mod->fn->C_GetSlotInfo(slot, &si);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "module %s, slot %lu: C_GetSlotInfo", mod->name,
                            (unsigned long)slot);
    token_field(si.slotDescription, sizeof(si.slotDescription), info->slot_description);
    token_field(si.manufacturerID, sizeof(si.manufacturerID), info->slot_manufacturer);
    info->removable = (si.flags & CKF_REMOVABLE_DEVICE) != 0;
    info->card_present = (si.flags & CKF_TOKEN_PRESENT) != 0;
    if (!info->card_present)
        return TOKEN_OK;
    rv = mod->fn->C_GetTokenInfo(slot, &ti);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED)
        return TOKEN_OK;   /* a card the module cannot use: a slot without token */
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "module %s, slot %lu: C_GetTokenInfo", mod->name,
                            (unsigned long)slot);
    fill_token(info, &ti);
    /* An uninitialised token (SoftHSM2's spare slot, a factory-fresh card) has
     * no PIN and no key: not a token this agent can use. */
    info->blank = !(ti.flags & CKF_TOKEN_INITIALIZED);
    info->present = !info->blank;
    info->uri = token_uri_string(&ti);
    if (info->uri == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    return TOKEN_OK;
}

void token_slot_info_clear(token_slot_info *info)
{
    if (info == NULL)
        return;
    free(info->module);
    free(info->uri);
    free(info->also_visible);
    memset(info, 0, sizeof(*info));
}

static token_code module_slots(token_module *mod, CK_SLOT_ID **slots, CK_ULONG *n,
                               token_err *err)
{
    CK_RV rv;

    *slots = NULL;
    *n = 0;
    rv = mod->fn->C_GetSlotList(CK_FALSE, NULL, n);
    if (rv == CKR_OK && *n > 0) {
        *slots = calloc(*n, sizeof(**slots));
        if (*slots == NULL)
            return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        rv = mod->fn->C_GetSlotList(CK_FALSE, *slots, n);
    }
    if (rv != CKR_OK) {
        free(*slots);
        *slots = NULL;
        return token_err_rv(err, rv, "module %s: C_GetSlotList", mod->name);
    }
    return TOKEN_OK;
}

static token_code append_slots(token_module *mod, token_slot_list *out, token_err *err)
{
    CK_SLOT_ID *slots;
    CK_ULONG n;
    token_code rc = module_slots(mod, &slots, &n, err);

    for (CK_ULONG i = 0; rc == TOKEN_OK && i < n; i++) {
        token_slot_info *items = realloc(out->items, (out->count + 1) * sizeof(*items));

        if (items == NULL) {
            rc = token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
            break;
        }
        out->items = items;
        rc = token_slot_info_fill(mod, slots[i], &items[out->count], err);
        out->count++;
        /* A slot that vanished while we looked is not an error of the list;
         * a token that is there but fails (CKR_DEVICE_ERROR) is. */
        if ((rc == TOKEN_ERR_REMOVED || rc == TOKEN_ERR_ABSENT) && token_rv_gone(err->rv)) {
            token_slot_info_clear(&items[--out->count]);
            token_err_clear(err);
            rc = TOKEN_OK;
        }
    }
    free(slots);
    return rc;
}

token_code token_enumerate(token_ctx *ctx, token_slot_list *out, token_err *err)
{
    token_code rc = TOKEN_OK;

    token_err local;

    return_val_if_fail(ctx != NULL && out != NULL, TOKEN_ERR_INVALID);
    if (err == NULL)
        err = &local;   /* append_slots looks at the rv of a failed slot */
    memset(out, 0, sizeof(*out));
    token_err_clear(err);
    for (size_t m = 0; m < ctx->n_modules && rc == TOKEN_OK; m++)
        rc = append_slots(&ctx->modules[m], out, err);
    if (rc == TOKEN_OK)
        rc = token_slot_list_dedupe(ctx, out, err);
    if (rc != TOKEN_OK)
        token_slot_list_free(out);
    return rc;
}

void token_slot_list_free(token_slot_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        token_slot_info_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}
