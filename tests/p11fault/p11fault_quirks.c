/*
 * p11fault_quirks.c — quirk profiles: behaviours of real modules and cards
 * that SoftHSM2 does not have, chosen by name with QSCD_P11FAULT_PROFILE
 * (comma-separated; README.md, "Quirk profiles"):
 *
 *   no-pin-flags             PIN counter flags never set (an OpenSC-like module)
 *   wrong-pin-general-error  a wrong PIN answered with CKR_GENERAL_ERROR
 *   hidden-public-keys       public key objects found only after login
 *   always-authenticate      private keys carry CKA_ALWAYS_AUTHENTICATE: every
 *                            C_Sign needs C_Login(CKU_CONTEXT_SPECIFIC) with
 *                            QSCD_P11FAULT_SIGN_PIN first
 *   full-token               C_CreateObject answers CKR_DEVICE_MEMORY
 *   label-32                 CKA_LABEL longer than 32 bytes is refused
 *   private-explicit         a certificate without CKA_PRIVATE is refused
 *   pinpad-wrong             claims CKF_PROTECTED_AUTHENTICATION_PATH but has no
 *                            keypad: C_Login with a NULL PIN fails
 *   user-pin-locked          the user PIN starts with no try left (PIN_TRIES
 *                            defaults to 3); C_InitPIN by the SO unblocks it
 *   so-pin-final-try         the token reports CKF_SO_PIN_FINAL_TRY
 */
#include <stdio.h>
#include <string.h>

#include "p11fault.h"

static const struct { const char *name; unsigned bit; } quirks[] = {
    { "no-pin-flags", P11F_Q_NO_PIN_FLAGS },
    { "wrong-pin-general-error", P11F_Q_WRONG_PIN_GENERAL },
    { "hidden-public-keys", P11F_Q_HIDDEN_PUBKEYS },
    { "always-authenticate", P11F_Q_ALWAYS_AUTH },
    { "full-token", P11F_Q_FULL_TOKEN },
    { "label-32", P11F_Q_LABEL_32 },
    { "private-explicit", P11F_Q_PRIVATE_EXPLICIT },
    { "pinpad-wrong", P11F_Q_PINPAD_WRONG },
    { "user-pin-locked", P11F_Q_USER_PIN_LOCKED },
    { "so-pin-final-try", P11F_Q_SO_FINAL_TRY },
};

#define HAS(q) ((p11f.cfg.profiles & (q)) != 0)

int p11f_quirks_parse(p11f_config *cfg, const char *v, char *err, size_t errlen)
{
    char buf[512], *save = NULL;

    snprintf(buf, sizeof buf, "%s", v);
    cfg->profiles = 0;
    for (char *n = strtok_r(buf, ", ", &save); n != NULL; n = strtok_r(NULL, ", ", &save)) {
        size_t i;

        for (i = 0; i < sizeof quirks / sizeof quirks[0]; i++)
            if (strcmp(n, quirks[i].name) == 0)
                break;
        if (i == sizeof quirks / sizeof quirks[0]) {
            snprintf(err, errlen, "QSCD_P11FAULT_PROFILE: unknown profile \"%s\" "
                     "(see tests/p11fault/README.md)", n);
            return -1;
        }
        cfg->profiles |= quirks[i].bit;
    }
    if ((cfg->profiles & P11F_Q_USER_PIN_LOCKED) && cfg->pin_tries == 0)
        cfg->pin_tries = 3;
    return 0;
}

void p11f_quirks_token_flags(CK_FLAGS *flags)
{
    if (HAS(P11F_Q_NO_PIN_FLAGS))
        *flags &= ~(CK_FLAGS)(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY |
                              CKF_USER_PIN_LOCKED | CKF_SO_PIN_COUNT_LOW |
                              CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED);
    if (HAS(P11F_Q_SO_FINAL_TRY))
        *flags |= CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_COUNT_LOW;
    if (HAS(P11F_Q_PINPAD_WRONG))
        *flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
}

/* --- sessions with a signing operation that needs a context login --------- */

#define MAX_OPS 64
static struct { CK_SESSION_HANDLE s; bool needs; bool authed; } ops[MAX_OPS];

static int op_slot(CK_SESSION_HANDLE s, bool create)
{
    int free_i = -1;

    for (int i = 0; i < MAX_OPS; i++) {
        if (ops[i].s == s && (ops[i].needs || ops[i].authed))
            return i;
        if (free_i < 0 && !ops[i].needs && !ops[i].authed)
            free_i = i;
    }
    if (create && free_i >= 0)
        ops[free_i].s = s;
    return create ? free_i : -1;
}

bool p11f_quirks_login(CK_SESSION_HANDLE s, CK_USER_TYPE ut, CK_UTF8CHAR_PTR pin,
                       CK_ULONG len, CK_RV *rv)
{
    int i;

    if (HAS(P11F_Q_PINPAD_WRONG) && pin == NULL) {
        *rv = CKR_ARGUMENTS_BAD;   /* there is no keypad to take it */
        return true;
    }
    if (!HAS(P11F_Q_ALWAYS_AUTH) || ut != CKU_CONTEXT_SPECIFIC)
        return false;
    pthread_mutex_lock(&p11f.lock);
    i = op_slot(s, false);
    if (i < 0 || !ops[i].needs) {
        *rv = CKR_OPERATION_NOT_INITIALIZED;
    } else if (pin != NULL && len == p11f.cfg.sign_pin_len &&
               memcmp(pin, p11f.cfg.sign_pin, len) == 0) {
        ops[i].authed = true;
        *rv = CKR_OK;
    } else {
        *rv = CKR_PIN_INCORRECT;
    }
    pthread_mutex_unlock(&p11f.lock);
    return true;
}

CK_RV p11f_quirks_login_reply(CK_USER_TYPE ut, CK_RV rv, p11f_call *call)
{
    if (HAS(P11F_Q_WRONG_PIN_GENERAL) && ut != CKU_SO && rv == CKR_PIN_INCORRECT) {
        call->fault = P11F_FAULT_GENERAL_ERROR;
        return CKR_GENERAL_ERROR;
    }
    return rv;
}

static bool is_class(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_OBJECT_CLASS want)
{
    CK_OBJECT_CLASS c;
    CK_ATTRIBUTE a = { CKA_CLASS, &c, sizeof c };

    return p11f.real->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && c == want;
}

CK_RV p11f_C_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
    p11f_call call;
    CK_RV rv;
    int i;

    if (p11f_enter(&call, "C_SignInit", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_SignInit(session, mechanism, key);
    if (rv == CKR_OK && HAS(P11F_Q_ALWAYS_AUTH)) {
        pthread_mutex_lock(&p11f.lock);
        if ((i = op_slot(session, true)) >= 0) {
            ops[i].needs = true;
            ops[i].authed = false;
        }
        pthread_mutex_unlock(&p11f.lock);
    }
    return p11f_leave(&call, rv);
}

CK_RV p11f_C_Sign(CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,
                  unsigned char *signature, unsigned long *signature_len)
{
    bool refuse = false, query = signature == NULL;
    p11f_call call;
    CK_RV rv;
    int i;

    if (p11f_enter(&call, "C_Sign", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    if (HAS(P11F_Q_ALWAYS_AUTH)) {
        pthread_mutex_lock(&p11f.lock);
        i = op_slot(session, false);
        refuse = i >= 0 && ops[i].needs && !ops[i].authed;
        if (i >= 0 && !query)
            ops[i].needs = ops[i].authed = false;   /* C_Sign ends the operation */
        pthread_mutex_unlock(&p11f.lock);
    }
    /* Forwarded even when refused: the operation ends on the token, as on a card. */
    rv = p11f.real->C_Sign(session, data, data_len, signature, signature_len);
    if (refuse && !query)
        rv = CKR_USER_NOT_LOGGED_IN;
    return p11f_leave(&call, rv);
}

CK_RV p11f_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                               CK_ATTRIBUTE *templ, unsigned long count)
{
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_GetAttributeValue", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_GetAttributeValue(session, object, templ, count);
    if ((rv == CKR_OK || rv == CKR_ATTRIBUTE_TYPE_INVALID) && HAS(P11F_Q_ALWAYS_AUTH) &&
        is_class(session, object, CKO_PRIVATE_KEY)) {
        for (unsigned long i = 0; i < count; i++) {
            if (templ[i].type != CKA_ALWAYS_AUTHENTICATE)
                continue;
            if (templ[i].pValue != NULL && templ[i].ulValueLen >= sizeof(CK_BBOOL))
                *(CK_BBOOL *)templ[i].pValue = CK_TRUE;
            templ[i].ulValueLen = sizeof(CK_BBOOL);
        }
    }
    return p11f_leave(&call, rv);
}

static bool logged_in(CK_SESSION_HANDLE s)
{
    CK_SESSION_INFO si;

    return p11f.real->C_GetSessionInfo(s, &si) == CKR_OK &&
           si.state != CKS_RO_PUBLIC_SESSION && si.state != CKS_RW_PUBLIC_SESSION;
}

CK_RV p11f_C_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *object,
                         unsigned long max_object_count, unsigned long *object_count)
{
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_FindObjects", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    rv = p11f.real->C_FindObjects(session, object, max_object_count, object_count);
    if (rv == CKR_OK && HAS(P11F_Q_HIDDEN_PUBKEYS) && !logged_in(session)) {
        unsigned long kept = 0;

        for (unsigned long i = 0; i < *object_count; i++)
            if (!is_class(session, object[i], CKO_PUBLIC_KEY))
                object[kept++] = object[i];
        *object_count = kept;
    }
    return p11f_leave(&call, rv);
}

static const CK_ATTRIBUTE *find_attr(const CK_ATTRIBUTE *t, unsigned long n, CK_ATTRIBUTE_TYPE ty)
{
    for (unsigned long i = 0; i < n; i++)
        if (t[i].type == ty)
            return &t[i];
    return NULL;
}

static CK_RV label_check(const CK_ATTRIBUTE *t, unsigned long n)
{
    const CK_ATTRIBUTE *l = find_attr(t, n, CKA_LABEL);

    return HAS(P11F_Q_LABEL_32) && l != NULL && l->ulValueLen > 32
               ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_OK;
}

CK_RV p11f_C_CreateObject(CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ, unsigned long count,
                          CK_OBJECT_HANDLE *object)
{
    const CK_ATTRIBUTE *cls = find_attr(templ, count, CKA_CLASS);
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_CreateObject", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    if (HAS(P11F_Q_FULL_TOKEN))
        rv = CKR_DEVICE_MEMORY;
    else if ((rv = label_check(templ, count)) != CKR_OK)
        ;
    else if (HAS(P11F_Q_PRIVATE_EXPLICIT) && cls != NULL && cls->pValue != NULL &&
             *(CK_OBJECT_CLASS *)cls->pValue == CKO_CERTIFICATE &&
             find_attr(templ, count, CKA_PRIVATE) == NULL)
        rv = CKR_TEMPLATE_INCOMPLETE;
    else
        rv = p11f.real->C_CreateObject(session, templ, count, object);
    return p11f_leave(&call, rv);
}

CK_RV p11f_C_SetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                               CK_ATTRIBUTE *templ, unsigned long count)
{
    p11f_call call;
    CK_RV rv;

    if (p11f_enter(&call, "C_SetAttributeValue", P11F_SESSION, &rv))
        return p11f_leave(&call, rv);
    if ((rv = label_check(templ, count)) == CKR_OK)
        rv = p11f.real->C_SetAttributeValue(session, object, templ, count);
    return p11f_leave(&call, rv);
}
