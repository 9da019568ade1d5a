/*
 * What the files of the token layer share among themselves and nobody
 * else sees: the context and token structures and PKCS#11 helpers.
 */
#ifndef QSCD_TOKEN_INTERNAL_H
#define QSCD_TOKEN_INTERNAL_H

#include "token.h"

#include <p11-kit/uri.h>

#define return_val_if_fail(expr, val) \
    do { if (!(expr)) return (val); } while (0)

typedef struct token_module {
    CK_FUNCTION_LIST *fn;
    char             *name;       /* p11-kit name, or the path */
    bool              by_path;    /* p11_kit_module_load: release ourselves */
    char             *path;       /* the module file (p11-kit's "module:"), or NULL */
    int               priority;   /* p11-kit's "priority:" (0 when not set) */
    bool              opensc;     /* OpenSC's module (by file name or C_GetInfo) */
    int               pattern;    /* first module-preference pattern matched; INT_MAX none */
} token_module;

struct token_ctx {
    token_module      *modules;
    size_t             n_modules;
    CK_FUNCTION_LIST **registry;  /* p11_kit_modules_load result, or NULL */
};

struct token {
    token_ctx        *ctx;
    token_module     *module;
    CK_FUNCTION_LIST *fn;
    CK_SESSION_HANDLE session;
    token_slot_info   info;
    char              name[128];
    bool              logged_in;
    bool              so_logged_in; /* token_so_login: logged out at token_close */
    const secret     *pin;        /* not owned: for context-specific logins */
    const secret     *sign_pin;   /* not owned: the signature PIN (NULL: the keypad) */
    bool              sign_pin_own; /* false: context logins take the user PIN */
    token_login_verdict last_context_login;
    token_login_verdict last_login; /* what the last token_login's C_Login said */
    unsigned char     key_id[128];
    size_t            key_id_len;
    char             *key_label;
};

/* Fill info from slot (and token, when present) data; allocates strings. */
token_code token_slot_info_fill(token_module *mod, CK_SLOT_ID slot, token_slot_info *info,
                                token_err *err);
void       token_slot_info_clear(token_slot_info *info);
/* Space-padded fixed field -> C string (out holds n+1). */
void       token_field(const unsigned char *field, size_t n, char *out);

/* An rv that means the token went away (or the session with it). */
bool token_rv_removed(CK_RV rv);
/*
 * An rv that means the slot holds no token (any more): the slot is skipped.
 * A device error is not that: the token is there but does not answer, and
 * saying "no token present" would send the user looking for the wrong fix.
 */
bool token_rv_gone(CK_RV rv);

/* Find objects matching a template; *handles malloc'd. */
token_code token_find_objects(token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                              CK_OBJECT_HANDLE **handles, size_t *count, token_err *err);
/*
 * Read one attribute in two calls (size, then value); *value malloc'd with
 * a NUL after it.  CKR_ATTRIBUTE_TYPE_INVALID / SENSITIVE give TOKEN_OK
 * with *value NULL and *len 0.
 */
token_code token_get_attr(token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                          unsigned char **value, size_t *len, token_err *err);
token_code token_get_ulong(token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                           CK_ULONG *out, bool *found, token_err *err);

/* Public key from the attributes of obj (public or private key object). */
EVP_PKEY *token_read_pkey(token *tok, CK_OBJECT_HANDLE obj, CK_KEY_TYPE type,
                          token_err *err);

/* token_prefer.c: the one rule for which module shows a token. */
void          token_module_describe(token_module *m);
int           token_module_cmp(const token_ctx *ctx, const token_module *a,
                               const token_module *b);
token_module *token_module_named(token_ctx *ctx, const char *name);
bool          token_same_token(const char *manu_a, const char *serial_a, const char *manu_b,
                               const char *serial_b);
/* One entry per token: the others folded into its also_visible. */
token_code    token_slot_list_dedupe(token_ctx *ctx, token_slot_list *l, token_err *err);

/* Context-specific login for keys with CKA_ALWAYS_AUTHENTICATE. */
token_code token_context_login(token *tok, token_err *err);

#endif
