/*
 * p11fault_slots.c — what a removed token looks like from the slot side:
 * the reader (slot) stays, the token is not present in it.  A reply the
 * removal changed (slots left out, CKF_TOKEN_PRESENT cleared), and the call
 * at which the token went, are logged with fault=removed, so a test can
 * prove that a removal injected at a slot call fired.
 */
#include "p11fault.h"

CK_RV p11f_C_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR slot_list,
                         CK_ULONG_PTR count)
{
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_GetSlotList", P11F_SLOT, &rv))
        return p11f_leave(&call, rv);
    if (call.absent && token_present) {
        if (count == NULL)
            return p11f_leave(&call, CKR_ARGUMENTS_BAD);
        *count = 0;
        call.fault = P11F_FAULT_REMOVED;
        return p11f_leave(&call, CKR_OK);
    }
    rv = p11f.real->C_GetSlotList(token_present, slot_list, count);
    if (call.triggered)
        call.fault = P11F_FAULT_REMOVED;
    return p11f_leave(&call, rv);
}

CK_RV p11f_C_GetSlotInfo(CK_SLOT_ID slot_id, CK_SLOT_INFO_PTR info)
{
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_GetSlotInfo", P11F_SLOT, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_GetSlotInfo(slot_id, info);
    if (rv == CKR_OK && call.absent) {
        info->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
        call.fault = P11F_FAULT_REMOVED;
    } else if (call.triggered) {
        call.fault = P11F_FAULT_REMOVED;
    }
    return p11f_leave(&call, rv);
}
