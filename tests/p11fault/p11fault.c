/*
 * p11fault.c — the module's face: C_GetFunctionList, the function table,
 * and C_Initialize / C_Finalize, which (re)read the configuration and load
 * the real module.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "p11fault.h"

p11f_module p11f = { .lock = PTHREAD_MUTEX_INITIALIZER };

static CK_RV p11f_C_Initialize(void *init_args);
static CK_RV p11f_C_Finalize(void *reserved);

static CK_FUNCTION_LIST p11f_function_list = {
    .version = { 2, 40 },
    .C_Initialize = p11f_C_Initialize,
    .C_Finalize = p11f_C_Finalize,
    .C_GetFunctionList = C_GetFunctionList,
#define X_FORWARD(fn, cls, params, args) .fn = p11f_##fn,
#define X_SPECIAL(fn, cls, params, args) .fn = p11f_##fn,
    P11F_FUNCTIONS
#undef X_FORWARD
#undef X_SPECIAL
};

/* Callable at any time, before C_Initialize too: nothing is loaded here. */
__attribute__((visibility("default")))
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL)
        return CKR_ARGUMENTS_BAD;
    *list = &p11f_function_list;
    return CKR_OK;
}

/*
 * The real module stays loaded until the process exits: dlclose would make
 * its leaks (SoftHSM2 keeps singletons) unsymbolizable for LeakSanitizer,
 * and reloading on every C_Initialize gains nothing.  A different path after
 * a configuration change is an error rather than a silent second module.
 */
static CK_RV p11f_load_real(const char *path)
{
    CK_C_GetFunctionList get;
    CK_RV rv;

    if (p11f.dl != NULL) {
        if (strcmp(p11f.dl_path, path) == 0)
            return CKR_OK;
        fprintf(stderr, "p11fault: QSCD_P11FAULT_MODULE changed from %s to %s "
                "within one process; not supported\n", p11f.dl_path, path);
        return CKR_GENERAL_ERROR;
    }
    p11f.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (p11f.dl == NULL) {
        fprintf(stderr, "p11fault: cannot load QSCD_P11FAULT_MODULE %s: %s\n",
                path, dlerror());
        return CKR_GENERAL_ERROR;
    }
    snprintf(p11f.dl_path, sizeof p11f.dl_path, "%s", path);
    get = (CK_C_GetFunctionList)dlsym(p11f.dl, "C_GetFunctionList");
    if (get == NULL) {
        fprintf(stderr, "p11fault: %s has no C_GetFunctionList\n", path);
        return CKR_GENERAL_ERROR;
    }
    rv = get(&p11f.real);
    if (rv == CKR_OK && p11f.real == NULL)
        rv = CKR_GENERAL_ERROR;
    if (rv != CKR_OK)
        fprintf(stderr, "p11fault: C_GetFunctionList of %s failed (0x%08lx)\n",
                path, (unsigned long)rv);
    return rv;
}

/* The configuration is read afresh at every C_Initialize, so a process that
 * finalizes and initializes again picks up a changed config file. */
static CK_RV p11f_C_Initialize(void *init_args)
{
    char err[512];
    CK_RV rv;

    pthread_mutex_lock(&p11f.lock);
    if (p11f.initialized) {
        pthread_mutex_unlock(&p11f.lock);
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    p11f_config_wipe(&p11f.cfg);
    if (p11f_config_load(&p11f.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "p11fault: %s\n", err);
        p11f_config_wipe(&p11f.cfg);
        pthread_mutex_unlock(&p11f.lock);
        return CKR_GENERAL_ERROR;
    }
    rv = p11f_load_real(p11f.cfg.module);
    if (rv == CKR_OK)
        rv = p11f.real->C_Initialize(init_args);
    p11f.initialized = (rv == CKR_OK);
    if (p11f.initialized && p11f.cfg.removed)
        p11f.removed = true;
    pthread_mutex_unlock(&p11f.lock);
    p11f_log_call("C_Initialize", rv, P11F_FAULT_NONE);
    return rv;
}

static CK_RV p11f_C_Finalize(void *reserved)
{
    CK_RV rv;

    pthread_mutex_lock(&p11f.lock);
    if (!p11f.initialized) {
        pthread_mutex_unlock(&p11f.lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    pthread_mutex_unlock(&p11f.lock);
    rv = p11f.real->C_Finalize(reserved);
    p11f_log_call("C_Finalize", rv, P11F_FAULT_NONE);
    pthread_mutex_lock(&p11f.lock);
    if (rv == CKR_OK) {
        p11f.initialized = false;
        /* The PIN typed "on the keypad" does not outlive the session. */
        p11f_config_wipe(&p11f.cfg);
    }
    pthread_mutex_unlock(&p11f.lock);
    return rv;
}
