/*
 * p11fault_faults.c — the gate every call passes: count it against the
 * configured fault specs, decide removal / device error, sleep the latency,
 * and log the reply on the way out.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "p11fault.h"

/* Counts this call against every spec naming it; true if one fires. */
static bool spec_hit(p11f_spec_list *list, const char *name)
{
    bool hit = false;
    size_t i;

    for (i = 0; i < list->n; i++) {
        p11f_spec *s = &list->specs[i];

        if (strcmp(s->name, "*") != 0 && strcmp(s->name, name) != 0)
            continue;
        s->seen++;
        if (s->seen == s->k || (s->onward && s->seen > s->k))
            hit = true;
    }
    return hit;
}

/* Caller holds p11f.lock.  A state file lets a test (or an earlier process
 * with QSCD_P11FAULT_REMOVE_PERSIST) keep the token out, and lets a test put
 * it back by clearing the flag. */
static bool state_removed(void)
{
    p11f_state st;
    int fd;

    if (p11f.removed)
        return true;
    if (p11f.cfg.state[0] == '\0')
        return false;
    if (p11f_state_begin(&st, &fd) != 0)
        return false;
    p11f_state_end(&st, fd, false);
    return st.removed;
}

/* Caller holds p11f.lock.  A persisted removal lives only in the state
 * file, so that clearing the flag there re-inserts the token for a running
 * process too. */
void p11f_mark_removed(void)
{
    p11f_state st;
    int fd;

    if (!p11f.cfg.remove_persist || p11f.cfg.state[0] == '\0' ||
        p11f_state_begin(&st, &fd) != 0) {
        p11f.removed = true;
        return;
    }
    st.removed = true;
    if (p11f_state_end(&st, fd, true) != 0)
        p11f.removed = true;
}

bool p11f_token_absent(void)
{
    bool absent;

    pthread_mutex_lock(&p11f.lock);
    absent = state_removed();
    pthread_mutex_unlock(&p11f.lock);
    return absent;
}

/* Caller holds p11f.lock: a per-function value wins over the default. */
static unsigned long latency_for(const char *name)
{
    unsigned long ms = 0;
    size_t i;

    for (i = 0; i < p11f.cfg.n_latency; i++) {
        const p11f_latency *l = &p11f.cfg.latency[i];

        if (strcmp(l->name, name) == 0)
            return l->ms;
        if (l->name[0] == '\0')
            ms = l->ms;
    }
    return ms;
}

/*
 * A failed C_Sign (or Final, or Update) ends the operation on a real token.
 * Refusing to forward it would leave SoftHSM2's operation active, and the
 * application's next C_SignInit would get CKR_OPERATION_ACTIVE, which no
 * card does.  These calls change nothing on the token, so they are
 * forwarded and their reply replaced.
 */
static bool ends_operation(const char *name)
{
    static const char *const suffixes[] = { "Final", "Update" };
    static const char *const single[] = {
        "C_Encrypt", "C_Decrypt", "C_Digest", "C_Sign", "C_SignRecover",
        "C_Verify", "C_VerifyRecover",
    };
    size_t i, len = strlen(name);

    for (i = 0; i < sizeof single / sizeof single[0]; i++)
        if (strcmp(name, single[i]) == 0)
            return true;
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t slen = strlen(suffixes[i]);

        if (len > slen && strcmp(name + len - slen, suffixes[i]) == 0)
            return true;
    }
    return false;
}

static void sleep_ms(unsigned long ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Returns true when the call must not reach the real module; *rv is then
 * its reply.  The call that triggers a removal is never forwarded, so it
 * cannot leave anything half-written (QSCD_P11FAULT_REMOVE_AFTER is the
 * opposite case: forwarded, then the reply is lost).
 */
bool p11f_enter(p11f_call *call, const char *name, enum p11f_class cls, CK_RV *rv)
{
    bool remove_now, remove_after, device_error, general_error, triggered = false;
    unsigned long ms;

    memset(call, 0, sizeof *call);
    call->name = name;
    call->cls = cls;
    pthread_mutex_lock(&p11f.lock);
    if (!p11f.initialized) {
        pthread_mutex_unlock(&p11f.lock);
        call->fault = P11F_FAULT_NOT_INITIALIZED;
        *rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        return true;
    }
    remove_now = spec_hit(&p11f.cfg.remove_at, name);
    remove_after = spec_hit(&p11f.cfg.remove_after, name);
    device_error = spec_hit(&p11f.cfg.device_error, name);
    general_error = spec_hit(&p11f.cfg.general_error, name);
    call->absent = state_removed();
    if (remove_now && !call->absent) {
        p11f_mark_removed();
        call->absent = triggered = true;
    }
    call->triggered = triggered;
    ms = latency_for(name);
    pthread_mutex_unlock(&p11f.lock);

    if (ms > 0)
        sleep_ms(ms);
    if (call->absent && cls != P11F_SLOT) {
        /* The call that saw the token go gets DEVICE_REMOVED; later calls
         * naming the slot find no token there, as with a real reader. */
        call->fault = P11F_FAULT_REMOVED;
        *rv = (triggered || cls == P11F_SESSION) ? CKR_DEVICE_REMOVED
                                                 : CKR_TOKEN_NOT_PRESENT;
        return true;
    }
    if (device_error && ends_operation(name)) {
        call->error_after = true;
        return false;
    }
    if (device_error) {
        call->fault = P11F_FAULT_DEVICE_ERROR;
        *rv = CKR_DEVICE_ERROR;
        return true;
    }
    if (general_error) {   /* a module that fails without saying why */
        call->fault = P11F_FAULT_GENERAL_ERROR;
        *rv = CKR_GENERAL_ERROR;
        return true;
    }
    call->remove_after = remove_after && !call->absent;
    return false;
}

CK_RV p11f_leave(p11f_call *call, CK_RV rv)
{
    if (call->remove_after) {
        pthread_mutex_lock(&p11f.lock);
        p11f_mark_removed();
        pthread_mutex_unlock(&p11f.lock);
        call->fault = P11F_FAULT_REMOVED_AFTER;
        rv = CKR_DEVICE_REMOVED;
    } else if (call->error_after) {
        call->fault = P11F_FAULT_DEVICE_ERROR;
        rv = CKR_DEVICE_ERROR;
    }
    if (call->fault != P11F_FAULT_NOT_INITIALIZED)
        p11f_log_call(call->name, rv, call->fault);
    return rv;
}
