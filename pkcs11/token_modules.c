/*
 * Loading PKCS#11 modules through p11-kit: the registered ones (OpenSC in
 * production, SoftHSM2 in tests) or the single one named with --module.
 */
#include "token_internal.h"

#include <p11-kit/p11-kit.h>
#include <stdlib.h>
#include <string.h>

/* Trust-policy modules (p11-kit-trust) hold CA anchors, never our tokens. */
static bool is_trust_module(CK_FUNCTION_LIST *fn)
{
    char *opt = p11_kit_config_option(fn, "trust-policy");
    bool yes = opt != NULL && (strcmp(opt, "yes") == 0 || strcmp(opt, "true") == 0);

    free(opt);
    return yes;
}

static token_code add_module(token_ctx *ctx, CK_FUNCTION_LIST *fn, const char *name,
                             bool by_path, token_err *err)
{
    token_module *m = realloc(ctx->modules, (ctx->n_modules + 1) * sizeof(*m));

    if (m == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    ctx->modules = m;
    m = &ctx->modules[ctx->n_modules];
    m->fn = fn;
    m->name = strdup(name ? name : "(unnamed module)");
    m->by_path = by_path;
    if (m->name == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    token_module_describe(m);
    ctx->n_modules++;
    return TOKEN_OK;
}

static token_code load_path(token_ctx *ctx, const char *path, token_err *err)
{
    CK_FUNCTION_LIST *fn;
    CK_RV rv;

    fn = p11_kit_module_load(path, 0);
    if (fn == NULL) {
        const char *why = p11_kit_message();
        return token_err_set(err, TOKEN_ERR_MODULE, CKR_OK,
                             "PKCS#11 module %s: cannot be loaded%s%s", path,
                             why ? ": " : "", why ? why : "");
    }
    rv = p11_kit_module_initialize(fn);
    if (rv != CKR_OK) {
        p11_kit_module_release(fn);
        return token_err_rv(err, rv, "PKCS#11 module %s: C_Initialize failed", path);
    }
    if (add_module(ctx, fn, path, true, err) != TOKEN_OK) {
        p11_kit_module_finalize(fn);
        p11_kit_module_release(fn);
        return err->code;
    }
    return TOKEN_OK;
}

/* p11-kit reads a relative path as relative to its module directory; a user
 * typing build/x.so means the current directory.  A bare name
 * (opensc-pkcs11.so) keeps p11-kit's meaning. */
static token_code open_path(token_ctx *ctx, const char *path, token_err *err)
{
    char *abs = NULL;
    token_code rc;

    if (path[0] != '/' && strchr(path, '/') != NULL)
        abs = realpath(path, NULL);
    rc = load_path(ctx, abs ? abs : path, err);
    free(abs);
    return rc;
}

static token_code open_registry(token_ctx *ctx, token_err *err)
{
    CK_FUNCTION_LIST **all;
    token_code rc = TOKEN_OK;

    /* Failing modules are dropped from the list; the others still serve. */
    all = p11_kit_modules_load_and_initialize(0);
    if (all == NULL)
        return token_err_set(err, TOKEN_ERR_MODULE, CKR_OK,
                             "no PKCS#11 module registered with p11-kit could be loaded%s%s",
                             p11_kit_message() ? ": " : "",
                             p11_kit_message() ? p11_kit_message() : "");
    ctx->registry = all;
    for (size_t i = 0; all[i] != NULL && rc == TOKEN_OK; i++) {
        char *name;

        if (is_trust_module(all[i]))
            continue;
        name = p11_kit_module_get_name(all[i]);
        rc = add_module(ctx, all[i], name, false, err);
        free(name);
    }
    if (rc == TOKEN_OK && ctx->n_modules == 0)
        rc = token_err_set(err, TOKEN_ERR_MODULE, CKR_OK,
                           "no PKCS#11 token module is registered with p11-kit");
    return rc;
}

token_ctx *token_ctx_open(const char *module_path, token_err *err)
{
    token_ctx *ctx = calloc(1, sizeof(*ctx));
    token_code rc;

    token_err_clear(err);
    if (ctx == NULL) {
        token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        return NULL;
    }
    /* p11-kit prints its own warnings to stderr otherwise; we report ourselves. */
    p11_kit_be_quiet();
    if (module_path != NULL && *module_path != '\0')
        rc = open_path(ctx, module_path, err);
    else
        rc = open_registry(ctx, err);
    if (rc != TOKEN_OK) {
        token_ctx_close(ctx);
        return NULL;
    }
    return ctx;
}

void token_ctx_close(token_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (size_t i = 0; i < ctx->n_modules; i++) {
        if (ctx->modules[i].by_path) {
            p11_kit_module_finalize(ctx->modules[i].fn);
            p11_kit_module_release(ctx->modules[i].fn);
        }
        free(ctx->modules[i].name);
        free(ctx->modules[i].path);
    }
    if (ctx->registry != NULL)
        p11_kit_modules_finalize_and_release(ctx->registry);
    free(ctx->modules);
    free(ctx);
}
