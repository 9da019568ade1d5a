/*
 * p11fault.h — internals of the fault-injecting PKCS#11 module.
 *
 * The module forwards every call to a real module (SoftHSM2 by default) and,
 * as its configuration says, injects what SoftHSM2 cannot do: a PIN retry
 * counter with lockout, token removal, device errors, a PIN pad, latency.
 * See README.md beside this file for every knob.
 *
 * Only C_GetFunctionList is exported; everything here is hidden so that the
 * module never interposes on symbols of the module it wraps.
 */
#ifndef P11FAULT_H
#define P11FAULT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "p11fault_functions.h"

#pragma GCC visibility push(hidden)

#define P11F_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define P11F_MAX_SPECS   16
#define P11F_MAX_TOKENS  32
#define P11F_NAME_MAX    40
#define P11F_SERIAL_MAX  33
#define P11F_PIN_MAX     256

/* What a call does once the token is gone (see p11fault_functions.h). */
enum p11f_class { P11F_SLOT, P11F_TOKEN, P11F_SESSION };

/* "C_Name:K" (the K-th call only) or "C_Name:K+" (the K-th and later);
 * name "*" counts every call. */
typedef struct {
    char name[P11F_NAME_MAX];
    unsigned long k;
    bool onward;
    unsigned long seen;     /* calls counted since C_Initialize */
} p11f_spec;

typedef struct {
    p11f_spec specs[P11F_MAX_SPECS];
    size_t n;
} p11f_spec_list;

typedef struct {
    char name[P11F_NAME_MAX];   /* "" = every function */
    unsigned long ms;
} p11f_latency;

typedef struct {
    char module[PATH_MAX];
    char state[PATH_MAX];
    char log[PATH_MAX];
    unsigned long pin_tries;    /* 0: no counter, pass SoftHSM2's flags on */
    bool pinpad;
    bool pin_expired;           /* user PIN must be changed until a C_SetPIN */
    char pinpad_pin[P11F_PIN_MAX];
    size_t pinpad_pin_len;
    p11f_spec_list remove_at;
    p11f_spec_list remove_after;
    p11f_spec_list device_error;
    p11f_spec_list general_error;
    bool remove_persist;
    bool removed;               /* token absent from the start */
    p11f_latency latency[P11F_MAX_SPECS];
    size_t n_latency;
    unsigned profiles;          /* P11F_Q_* bits (QSCD_P11FAULT_PROFILE) */
    char sign_pin[P11F_PIN_MAX];/* ALWAYS_AUTHENTICATE's own signature PIN */
    size_t sign_pin_len;
} p11f_config;

/* Quirk profiles of real modules (p11fault_quirks.c), by name. */
enum p11f_quirk {
    P11F_Q_NO_PIN_FLAGS      = 1u << 0,  /* "no-pin-flags": PIN counter flags never set */
    P11F_Q_WRONG_PIN_GENERAL = 1u << 1,  /* "wrong-pin-general-error" */
    P11F_Q_HIDDEN_PUBKEYS    = 1u << 2,  /* "hidden-public-keys": until login */
    P11F_Q_ALWAYS_AUTH       = 1u << 3,  /* "always-authenticate": keys need a context
                                            login each signature, with SIGN_PIN */
    P11F_Q_FULL_TOKEN        = 1u << 4,  /* "full-token": C_CreateObject CKR_DEVICE_MEMORY */
    P11F_Q_LABEL_32          = 1u << 5,  /* "label-32": CKA_LABEL at most 32 bytes */
    P11F_Q_PRIVATE_EXPLICIT  = 1u << 6,  /* "private-explicit": certificates need CKA_PRIVATE */
    P11F_Q_PINPAD_WRONG      = 1u << 7,  /* "pinpad-wrong": claims a PIN pad it has not */
    P11F_Q_USER_PIN_LOCKED   = 1u << 8,  /* "user-pin-locked": no user PIN try left */
    P11F_Q_SO_FINAL_TRY      = 1u << 9,  /* "so-pin-final-try": CKF_SO_PIN_FINAL_TRY */
};

/* Persistent state: in the state file when one is configured (so it spans
 * processes), in memory otherwise. */
typedef struct {
    char serial[P11F_SERIAL_MAX];
    unsigned long remaining;
} p11f_pin_entry;

typedef struct {
    bool removed;
    bool pin_changed;           /* PIN_EXPIRED: the user has changed the PIN */
    p11f_pin_entry pins[P11F_MAX_TOKENS];
    size_t n_pins;
} p11f_state;

/* The module's own state: owned by p11fault.c, guarded by lock. */
typedef struct {
    pthread_mutex_t lock;
    bool initialized;
    void *dl;
    char dl_path[PATH_MAX];
    CK_FUNCTION_LIST *real;
    p11f_config cfg;
    bool removed;               /* this process saw the token go */
    p11f_state mem_state;       /* used when no state file is configured */
    /* Serials of the tokens seen, by slot: the PIN counter's key must not
     * depend on a C_GetTokenInfo that SoftHSM2 fails under concurrency. */
    struct { CK_SLOT_ID slot; char serial[P11F_SERIAL_MAX]; } slot_serials[P11F_MAX_TOKENS];
    size_t n_slot_serials;
} p11f_module;

extern p11f_module p11f;

enum p11f_fault {
    P11F_FAULT_NONE,
    P11F_FAULT_NOT_INITIALIZED,
    P11F_FAULT_REMOVED,         /* the call was refused: token gone */
    P11F_FAULT_REMOVED_AFTER,   /* forwarded, then the token went */
    P11F_FAULT_DEVICE_ERROR,
    P11F_FAULT_GENERAL_ERROR,
    P11F_FAULT_PIN_LOCKED,
    P11F_FAULT_PINPAD,          /* PIN supplied "from the keypad" */
    P11F_FAULT_PIN_EXPIRED,     /* login answered CKR_PIN_EXPIRED */
};

/* One call in flight, from p11f_enter to p11f_leave. */
typedef struct {
    const char *name;
    enum p11f_class cls;
    enum p11f_fault fault;
    bool absent;                /* the token is gone (slot calls filter) */
    bool triggered;             /* this call is where the token went */
    bool remove_after;
    bool error_after;           /* forward, then report CKR_DEVICE_ERROR */
} p11f_call;

/* p11fault_config.c */
int  p11f_config_load(p11f_config *cfg, char *err, size_t errlen);
void p11f_config_wipe(p11f_config *cfg);

/* p11fault_state.c: begin locks (flock on the state file) and loads; end
 * saves when save is true, then unlocks.  Caller holds p11f.lock. */
int  p11f_state_begin(p11f_state *st, int *lockfd);
int  p11f_state_end(const p11f_state *st, int lockfd, bool save);

/* p11fault_faults.c */
bool  p11f_enter(p11f_call *call, const char *name, enum p11f_class cls, CK_RV *rv);
CK_RV p11f_leave(p11f_call *call, CK_RV rv);
bool  p11f_token_absent(void);
void  p11f_mark_removed(void);

/* p11fault_quirks.c */
int   p11f_quirks_parse(p11f_config *cfg, const char *v, char *err, size_t errlen);
void  p11f_quirks_token_flags(CK_FLAGS *flags);
/* C_Login: true when the quirk answered (*rv) and nothing is forwarded. */
bool  p11f_quirks_login(CK_SESSION_HANDLE s, CK_USER_TYPE ut, CK_UTF8CHAR_PTR pin,
                        CK_ULONG len, CK_RV *rv);
CK_RV p11f_quirks_login_reply(CK_USER_TYPE ut, CK_RV rv, p11f_call *call);

/* p11fault_log.c */
void p11f_log_call(const char *name, CK_RV rv, enum p11f_fault fault);

/* Prototypes of every wrapper: p11f_C_Login and so on. */
#define X_FORWARD(fn, cls, params, args) CK_RV p11f_##fn params;
#define X_SPECIAL(fn, cls, params, args) CK_RV p11f_##fn params;
P11F_FUNCTIONS
#undef X_FORWARD
#undef X_SPECIAL

#pragma GCC visibility pop

#endif
