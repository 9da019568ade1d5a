/*
 * p11fault_pin.c — the user PIN as a real card handles it and SoftHSM2 does
 * not: a retry counter per token (QSCD_P11FAULT_PIN_TRIES) that locks, the
 * token flags that report it, unlock by the SO (C_InitPIN, "the PUK"), and a
 * protected authentication path (QSCD_P11FAULT_PINPAD).
 *
 * The counter is kept per token serial in the state (see p11fault_state.c),
 * so it spans processes when a state file is configured.  The lookups of
 * session and token info that find the serial go straight to the real
 * module: they are ours, not the application's, and are neither counted
 * nor logged.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "p11fault.h"

#define P11F_PIN_FLAGS (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | \
                        CKF_USER_PIN_LOCKED)

static void token_serial(const CK_TOKEN_INFO *ti, char out[P11F_SERIAL_MAX])
{
    size_t i, n = 0;

    for (i = 0; i < sizeof ti->serialNumber && n < P11F_SERIAL_MAX - 1; i++) {
        unsigned char c = ti->serialNumber[i];

        if (isalnum(c) || c == '-' || c == '_' || c == '.')
            out[n++] = (char)c;
    }
    out[n] = '\0';
    if (n == 0)
        strcpy(out, "unknown");
}

static void slot_serial_remember(CK_SLOT_ID slot, const char *serial)
{
    size_t i;

    pthread_mutex_lock(&p11f.lock);
    for (i = 0; i < p11f.n_slot_serials && p11f.slot_serials[i].slot != slot; i++)
        ;
    if (i < P11F_MAX_TOKENS) {
        p11f.slot_serials[i].slot = slot;
        snprintf(p11f.slot_serials[i].serial, P11F_SERIAL_MAX, "%s", serial);
        if (i == p11f.n_slot_serials)
            p11f.n_slot_serials++;
    }
    pthread_mutex_unlock(&p11f.lock);
}

static bool slot_serial_known(CK_SLOT_ID slot, char out[P11F_SERIAL_MAX])
{
    bool found = false;

    pthread_mutex_lock(&p11f.lock);
    for (size_t i = 0; i < p11f.n_slot_serials && !found; i++) {
        if (p11f.slot_serials[i].slot == slot) {
            memcpy(out, p11f.slot_serials[i].serial, P11F_SERIAL_MAX);
            found = true;
        }
    }
    pthread_mutex_unlock(&p11f.lock);
    return found;
}

static void session_serial(CK_SESSION_HANDLE session, char out[P11F_SERIAL_MAX])
{
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;

    /* SoftHSM2 now and then answers CKR_GENERAL_ERROR while another process
     * rewrites the token's files; a try counted on "unknown" would be lost,
     * so the serial seen earlier for the slot is used, else asked again. */
    for (int i = 0; i < 200; i++) {
        if (p11f.real->C_GetSessionInfo(session, &si) == CKR_OK) {
            if (slot_serial_known(si.slotID, out))
                return;
            if (p11f.real->C_GetTokenInfo(si.slotID, &ti) == CKR_OK) {
                token_serial(&ti, out);
                slot_serial_remember(si.slotID, out);
                return;
            }
        }
        usleep(10000);
    }
    strcpy(out, "unknown");
}

/* Caller holds p11f.lock and a begun state. */
static p11f_pin_entry *pin_entry(p11f_state *st, const char *serial)
{
    p11f_pin_entry *e;
    size_t i;

    for (i = 0; i < st->n_pins; i++)
        if (strcmp(st->pins[i].serial, serial) == 0)
            return &st->pins[i];
    if (st->n_pins == P11F_MAX_TOKENS)
        return NULL;
    e = &st->pins[st->n_pins++];
    snprintf(e->serial, sizeof e->serial, "%s", serial);
    e->remaining = (p11f.cfg.profiles & P11F_Q_USER_PIN_LOCKED) ? 0 : p11f.cfg.pin_tries;
    return e;
}

/* Tries left for the token; the full count when it cannot be read. */
static unsigned long pin_remaining(const char *serial)
{
    unsigned long left = p11f.cfg.pin_tries;
    p11f_pin_entry *e;
    p11f_state st;
    int fd;

    pthread_mutex_lock(&p11f.lock);
    if (p11f_state_begin(&st, &fd) == 0) {
        e = pin_entry(&st, serial);
        if (e != NULL)
            left = e->remaining;
        p11f_state_end(&st, fd, false);
    }
    pthread_mutex_unlock(&p11f.lock);
    return left;
}

/* delta -1: one wrong try; 0: back to the full count. */
static void pin_update(const char *serial, int delta)
{
    p11f_pin_entry *e;
    p11f_state st;
    int fd;

    pthread_mutex_lock(&p11f.lock);
    if (p11f_state_begin(&st, &fd) == 0) {
        e = pin_entry(&st, serial);
        if (e != NULL && delta == 0)
            e->remaining = p11f.cfg.pin_tries;
        else if (e != NULL && e->remaining > 0)
            e->remaining--;
        p11f_state_end(&st, fd, e != NULL);
    }
    pthread_mutex_unlock(&p11f.lock);
}

/* QSCD_P11FAULT_PIN_EXPIRED: does the user PIN still have to be changed? */
static bool pin_must_change(void)
{
    p11f_state st;
    bool must = false;
    int fd;

    if (!p11f.cfg.pin_expired)
        return false;
    pthread_mutex_lock(&p11f.lock);
    if (p11f_state_begin(&st, &fd) == 0) {
        must = !st.pin_changed;
        p11f_state_end(&st, fd, false);
    }
    pthread_mutex_unlock(&p11f.lock);
    return must;
}

static void pin_mark_changed(void)
{
    p11f_state st;
    int fd;

    pthread_mutex_lock(&p11f.lock);
    if (p11f_state_begin(&st, &fd) == 0) {
        st.pin_changed = true;
        p11f_state_end(&st, fd, true);
    }
    pthread_mutex_unlock(&p11f.lock);
}

CK_RV p11f_C_GetTokenInfo(CK_SLOT_ID slot_id, CK_TOKEN_INFO_PTR info)
{
    char serial[P11F_SERIAL_MAX];
    unsigned long left;
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_GetTokenInfo", P11F_TOKEN, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_GetTokenInfo(slot_id, info);
    if (rv == CKR_OK && p11f.cfg.pin_tries > 0) {
        token_serial(info, serial);
        slot_serial_remember(slot_id, serial);
        left = pin_remaining(serial);
        info->flags &= ~(CK_FLAGS)P11F_PIN_FLAGS;
        if (left < p11f.cfg.pin_tries)
            info->flags |= CKF_USER_PIN_COUNT_LOW;
        if (left == 1)
            info->flags |= CKF_USER_PIN_FINAL_TRY;
        if (left == 0)
            info->flags |= CKF_USER_PIN_LOCKED;
    }
    if (rv == CKR_OK && p11f.cfg.pinpad)
        info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
    if (rv == CKR_OK && pin_must_change())
        info->flags |= CKF_USER_PIN_TO_BE_CHANGED;
    if (rv == CKR_OK)
        p11f_quirks_token_flags(&info->flags);
    return p11f_leave(&call, rv);
}

/* The user PIN, and a context-specific login which re-enters it. */
static bool counts_tries(CK_USER_TYPE user_type)
{
    return p11f.cfg.pin_tries > 0 &&
           (user_type == CKU_USER || user_type == CKU_CONTEXT_SPECIFIC);
}

CK_RV p11f_C_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user_type,
                   CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    char serial[P11F_SERIAL_MAX] = "";
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_Login", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    if (p11f_quirks_login(session, user_type, pin, pin_len, &rv))
        return p11f_leave(&call, rv);
    if (counts_tries(user_type)) {
        session_serial(session, serial);
        if (pin_remaining(serial) == 0) {
            call.fault = P11F_FAULT_PIN_LOCKED;
            return p11f_leave(&call, CKR_PIN_LOCKED);
        }
    }
    if (p11f.cfg.pinpad && pin == NULL && user_type != CKU_SO) {
        /* As if typed on the reader's keypad. */
        pin = (CK_UTF8CHAR_PTR)p11f.cfg.pinpad_pin;
        pin_len = p11f.cfg.pinpad_pin_len;
        call.fault = P11F_FAULT_PINPAD;
    }
    rv = p11f.real->C_Login(session, user_type, pin, pin_len);
    if (counts_tries(user_type) && rv == CKR_PIN_INCORRECT)
        pin_update(serial, -1);
    else if (counts_tries(user_type) && rv == CKR_OK)
        pin_update(serial, 0);
    /* As a card with a transport PIN: the right PIN logs in, but only for
     * C_SetPIN, and the application is told so. */
    if (rv == CKR_OK && user_type == CKU_USER && pin_must_change()) {
        call.fault = P11F_FAULT_PIN_EXPIRED;
        rv = CKR_PIN_EXPIRED;
    }
    rv = p11f_quirks_login_reply(user_type, rv, &call);
    return p11f_leave(&call, rv);
}

/* The SO setting a new user PIN is how a locked PIN is unblocked. */
CK_RV p11f_C_InitPIN(CK_SESSION_HANDLE session, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    char serial[P11F_SERIAL_MAX];
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_InitPIN", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_InitPIN(session, pin, pin_len);
    if (rv == CKR_OK && p11f.cfg.pin_tries > 0) {
        session_serial(session, serial);
        pin_update(serial, 0);
    }
    return p11f_leave(&call, rv);
}

/* A locked user PIN cannot be changed either; a wrong old PIN is a try. */
CK_RV p11f_C_SetPIN(CK_SESSION_HANDLE session, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                    CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
    char serial[P11F_SERIAL_MAX] = "";
    CK_SESSION_INFO si;
    bool user = false;
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_SetPIN", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    if (p11f.cfg.pin_tries > 0 && p11f.real->C_GetSessionInfo(session, &si) == CKR_OK &&
        si.state != CKS_RW_SO_FUNCTIONS) {
        user = true;
        session_serial(session, serial);
        if (pin_remaining(serial) == 0) {
            call.fault = P11F_FAULT_PIN_LOCKED;
            return p11f_leave(&call, CKR_PIN_LOCKED);
        }
    }
    rv = p11f.real->C_SetPIN(session, old_pin, old_len, new_pin, new_len);
    if (rv == CKR_OK && p11f.cfg.pin_expired &&
        p11f.real->C_GetSessionInfo(session, &si) == CKR_OK && si.state != CKS_RW_SO_FUNCTIONS)
        pin_mark_changed();
    if (user && rv == CKR_PIN_INCORRECT)
        pin_update(serial, -1);
    else if (user && rv == CKR_OK)
        pin_update(serial, 0);
    return p11f_leave(&call, rv);
}

/* A re-initialised token starts with a fresh counter. */
CK_RV p11f_C_InitToken(CK_SLOT_ID slot_id, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len,
                       CK_UTF8CHAR_PTR label)
{
    char serial[P11F_SERIAL_MAX];
    CK_TOKEN_INFO ti;
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_InitToken", P11F_TOKEN, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_InitToken(slot_id, pin, pin_len, label);
    if (rv == CKR_OK && p11f.cfg.pin_tries > 0 &&
        p11f.real->C_GetTokenInfo(slot_id, &ti) == CKR_OK) {
        token_serial(&ti, serial);
        slot_serial_remember(slot_id, serial);
        pin_update(serial, 0);
    }
    return p11f_leave(&call, rv);
}
