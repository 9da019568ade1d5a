/*
 * One module per token.  A token (manufacturer + serial) that shows
 * through several modules -- a vendor's own module beside OpenSC, both
 * registered with p11-kit -- is used through exactly one, chosen by one
 * rule (docs/tokens.md, "Which module"):
 *
 *   1. the first module-preference pattern the module's name or path
 *      matches (fnmatch; earlier patterns win, modules matching none come
 *      after every one that matches);
 *   2. p11-kit's `priority` of the module's config (higher first);
 *   3. a vendor's module before OpenSC's (OpenSC reads many cards, but
 *      the vendor's module is the one that signs with them);
 *   4. the order p11-kit loaded them in.
 *
 * The others are dropped from token_enumerate's list and from token_open's
 * candidates, so no path can log in to one token through two modules.
 */
#include "token_internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <limits.h>
#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;

    return s ? s + 1 : path;
}

static bool is_opensc(const token_module *m)
{
    CK_INFO info;
    char manu[33];

    if (strstr(m->name, "opensc") != NULL ||
        (m->path != NULL && strstr(base_name(m->path), "opensc") != NULL))
        return true;
    if (m->fn->C_GetInfo(&info) != CKR_OK)
        return false;
    token_field(info.manufacturerID, sizeof(info.manufacturerID), manu);
    return strncmp(manu, "OpenSC", 6) == 0;
}

/* Registry modules: what p11-kit's config says of them. */
void token_module_describe(token_module *m)
{
    char *opt;

    m->priority = 0;
    m->path = NULL;
    if (!m->by_path) {
        m->path = p11_kit_config_option(m->fn, "module");
        if ((opt = p11_kit_config_option(m->fn, "priority")) != NULL)
            m->priority = atoi(opt);
        free(opt);
    } else {
        m->path = strdup(m->name);
    }
    m->opensc = is_opensc(m);
    m->pattern = INT_MAX;
}

static bool pattern_matches(const char *pat, const token_module *m)
{
    return fnmatch(pat, m->name, 0) == 0 ||
           (m->path != NULL && (fnmatch(pat, m->path, 0) == 0 ||
                                fnmatch(pat, base_name(m->path), 0) == 0));
}

token_code token_ctx_prefer(token_ctx *ctx, const char *patterns, token_err *err)
{
    char *copy, *save = NULL;
    int index = 0;

    return_val_if_fail(ctx != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    for (size_t i = 0; i < ctx->n_modules; i++)
        ctx->modules[i].pattern = INT_MAX;
    if (patterns == NULL || *patterns == '\0')
        return TOKEN_OK;
    if ((copy = strdup(patterns)) == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    for (char *p = strtok_r(copy, ", \t", &save); p != NULL; p = strtok_r(NULL, ", \t", &save)) {
        for (size_t i = 0; i < ctx->n_modules; i++)
            if (ctx->modules[i].pattern == INT_MAX && pattern_matches(p, &ctx->modules[i]))
                ctx->modules[i].pattern = index;
        index++;
    }
    free(copy);
    return TOKEN_OK;
}

/* < 0: a is preferred over b. */
int token_module_cmp(const token_ctx *ctx, const token_module *a, const token_module *b)
{
    if (a->pattern != b->pattern)
        return a->pattern < b->pattern ? -1 : 1;
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->opensc != b->opensc)
        return a->opensc ? 1 : -1;
    return (a - ctx->modules) < (b - ctx->modules) ? -1 : (a == b ? 0 : 1);
}

token_module *token_module_named(token_ctx *ctx, const char *name)
{
    for (size_t i = 0; ctx != NULL && name != NULL && i < ctx->n_modules; i++)
        if (strcmp(ctx->modules[i].name, name) == 0)
            return &ctx->modules[i];
    return NULL;
}

/* A token without a serial cannot be told from another: never merged. */
bool token_same_token(const char *manu_a, const char *serial_a, const char *manu_b,
                      const char *serial_b)
{
    return serial_a[0] != '\0' && strcmp(serial_a, serial_b) == 0 &&
           strcmp(manu_a, manu_b) == 0;
}

static token_code add_also(token_slot_info *keep, const char *module, token_err *err)
{
    size_t old = keep->also_visible ? strlen(keep->also_visible) : 0;
    char *s = realloc(keep->also_visible, old + strlen(module) + 3);

    if (s == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    snprintf(s + old, strlen(module) + 3, "%s%s", old ? ", " : "", module);
    keep->also_visible = s;
    return TOKEN_OK;
}

/* Drop items[j] (a token shown by a less preferred module) into keep's note. */
static token_code fold(token_slot_list *l, size_t keep, size_t j, token_err *err)
{
    token_code rc = add_also(&l->items[keep], l->items[j].module, err);

    if (rc != TOKEN_OK)
        return rc;
    token_slot_info_clear(&l->items[j]);
    memmove(&l->items[j], &l->items[j + 1], (l->count - j - 1) * sizeof(l->items[0]));
    l->count--;
    return TOKEN_OK;
}

/* items[i] is the entry kept: the token as the preferred module shows it. */
static void best_first(token_ctx *ctx, token_slot_list *l, size_t i, size_t j)
{
    token_module *a = token_module_named(ctx, l->items[i].module);
    token_module *b = token_module_named(ctx, l->items[j].module);
    token_slot_info t;
    char *note;

    if (a == NULL || b == NULL || token_module_cmp(ctx, b, a) >= 0)
        return;
    t = l->items[i];
    l->items[i] = l->items[j];
    l->items[j] = t;
    /* The note of modules folded so far stays with the entry kept. */
    note = l->items[i].also_visible;
    l->items[i].also_visible = l->items[j].also_visible;
    l->items[j].also_visible = note;
}

token_code token_slot_list_dedupe(token_ctx *ctx, token_slot_list *l, token_err *err)
{
    token_code rc = TOKEN_OK;

    for (size_t i = 0; rc == TOKEN_OK && i < l->count; i++) {
        if (!l->items[i].present)
            continue;
        for (size_t j = i + 1; rc == TOKEN_OK && j < l->count;) {
            if (!l->items[j].present ||
                !token_same_token(l->items[i].manufacturer, l->items[i].serial,
                                  l->items[j].manufacturer, l->items[j].serial)) {
                j++;
                continue;
            }
            best_first(ctx, l, i, j);
            rc = fold(l, i, j, err);
        }
    }
    return rc;
}
