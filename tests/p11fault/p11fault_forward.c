/*
 * p11fault_forward.c — the generated forwarders: every function that needs
 * nothing beyond the common gate (count, fault, latency, log) goes through
 * p11f_enter, then to the real module, then p11f_leave.
 */
#include "p11fault.h"

#define X_FORWARD(fn, cls, params, args)                        \
    CK_RV p11f_##fn params                                      \
    {                                                           \
        p11f_call call;                                         \
        CK_RV rv;                                               \
        if (!p11f_enter(&call, #fn, cls, &rv))                  \
            rv = p11f.real->fn args;                            \
        return p11f_leave(&call, rv);                           \
    }
#define X_SPECIAL(fn, cls, params, args)

P11F_FUNCTIONS

#undef X_FORWARD
#undef X_SPECIAL
