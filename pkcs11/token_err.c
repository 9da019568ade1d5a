/*
 * token_err: the token layer's one error value, and what PKCS#11 return
 * values mean for the caller (retry, ask the user, give up).
 */
#include "token_internal.h"

#include <p11-kit/p11-kit.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RV(x) { x, #x }

static const struct { CK_RV rv; const char *name; } rv_names[] = {
    RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
    RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD),
    RV(CKR_ATTRIBUTE_READ_ONLY), RV(CKR_ATTRIBUTE_SENSITIVE),
    RV(CKR_ATTRIBUTE_TYPE_INVALID), RV(CKR_ATTRIBUTE_VALUE_INVALID),
    RV(CKR_DATA_INVALID), RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_ERROR),
    RV(CKR_DEVICE_MEMORY), RV(CKR_DEVICE_REMOVED), RV(CKR_FUNCTION_CANCELED),
    RV(CKR_FUNCTION_NOT_SUPPORTED), RV(CKR_KEY_HANDLE_INVALID),
    RV(CKR_KEY_TYPE_INCONSISTENT), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
    RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
    RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
    RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT), RV(CKR_PIN_INVALID),
    RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED), RV(CKR_PIN_LOCKED),
    RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT), RV(CKR_SESSION_HANDLE_INVALID),
    RV(CKR_SESSION_READ_ONLY), RV(CKR_SESSION_EXISTS), RV(CKR_SIGNATURE_INVALID),
    RV(CKR_TEMPLATE_INCOMPLETE), RV(CKR_TEMPLATE_INCONSISTENT),
    RV(CKR_TOKEN_NOT_PRESENT), RV(CKR_TOKEN_NOT_RECOGNIZED),
    RV(CKR_TOKEN_WRITE_PROTECTED), RV(CKR_USER_ALREADY_LOGGED_IN),
    RV(CKR_USER_NOT_LOGGED_IN), RV(CKR_USER_PIN_NOT_INITIALIZED),
    RV(CKR_USER_TYPE_INVALID), RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    RV(CKR_BUFFER_TOO_SMALL), RV(CKR_CRYPTOKI_NOT_INITIALIZED),
    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_NO_EVENT),
};

static const char *code_names[] = {
    [TOKEN_OK] = "ok",
    [TOKEN_ERR_INVALID] = "invalid",
    [TOKEN_ERR_MODULE] = "module",
    [TOKEN_ERR_ABSENT] = "absent",
    [TOKEN_ERR_NOT_FOUND] = "not_found",
    [TOKEN_ERR_AMBIGUOUS] = "ambiguous",
    [TOKEN_ERR_PIN_INCORRECT] = "pin_incorrect",
    [TOKEN_ERR_PIN_LOCKED] = "pin_locked",
    [TOKEN_ERR_PIN_FINAL_TRY] = "pin_final_try",
    [TOKEN_ERR_PIN_EXPIRED] = "pin_expired",
    [TOKEN_ERR_PIN_INVALID] = "pin_invalid",
    [TOKEN_ERR_NOT_LOGGED_IN] = "not_logged_in",
    [TOKEN_ERR_REMOVED] = "removed",
    [TOKEN_ERR_EXISTS] = "exists",
    [TOKEN_ERR_MISMATCH] = "mismatch",
    [TOKEN_ERR_READBACK] = "readback",
    [TOKEN_ERR_UNSUPPORTED] = "unsupported",
    [TOKEN_ERR_TIMEOUT] = "timeout",
    [TOKEN_ERR_NOMEM] = "nomem",
    [TOKEN_ERR_GENERAL] = "general",
};

const char *token_code_name(token_code code)
{
    if ((size_t)code < sizeof(code_names) / sizeof(code_names[0]) && code_names[code])
        return code_names[code];
    return "unknown";
}

const char *token_rv_name(CK_RV rv)
{
    static __thread char buf[32];

    for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    snprintf(buf, sizeof(buf), "CKR_0x%08lx", (unsigned long)rv);
    return buf;
}

bool token_rv_removed(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
           rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_ERROR;
}

bool token_rv_gone(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
           rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_SLOT_ID_INVALID;
}

token_code token_code_for_rv(CK_RV rv)
{
    if (rv == CKR_OK)
        return TOKEN_OK;
    if (token_rv_removed(rv))
        return TOKEN_ERR_REMOVED;
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
        return TOKEN_ERR_PIN_INCORRECT;
    case CKR_PIN_INVALID:
        return TOKEN_ERR_PIN_INVALID;
    case CKR_PIN_LOCKED:
        return TOKEN_ERR_PIN_LOCKED;
    case CKR_PIN_EXPIRED:
        return TOKEN_ERR_PIN_EXPIRED;
    case CKR_USER_NOT_LOGGED_IN:
        return TOKEN_ERR_NOT_LOGGED_IN;
    case CKR_HOST_MEMORY:
        return TOKEN_ERR_NOMEM;
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_MECHANISM_INVALID:
    case CKR_TOKEN_WRITE_PROTECTED:
        return TOKEN_ERR_UNSUPPORTED;
    case CKR_SLOT_ID_INVALID:
        return TOKEN_ERR_ABSENT;
    default:
        return TOKEN_ERR_GENERAL;
    }
}

void token_err_clear(token_err *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
}

static void set_flags(token_err *err)
{
    switch (err->code) {
    case TOKEN_ERR_REMOVED:
    case TOKEN_ERR_TIMEOUT:
        err->retryable = true;
        err->needs_user = err->code == TOKEN_ERR_REMOVED;
        break;
    case TOKEN_ERR_ABSENT:
    case TOKEN_ERR_PIN_INCORRECT:
    case TOKEN_ERR_PIN_LOCKED:
    case TOKEN_ERR_PIN_FINAL_TRY:
    case TOKEN_ERR_PIN_EXPIRED:
    case TOKEN_ERR_PIN_INVALID:
    case TOKEN_ERR_AMBIGUOUS:
        err->retryable = false;
        err->needs_user = true;
        break;
    default:
        err->retryable = false;
        err->needs_user = false;
        break;
    }
}

static token_code vset(token_err *err, token_code code, CK_RV rv, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->rv = rv;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    set_flags(err);
    return code;
}

token_code token_err_set(token_err *err, token_code code, CK_RV rv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(err, code, rv, fmt, ap);
    va_end(ap);
    return code;
}

/* What a person should do about the rv, when there is something to say. */
static const char *rv_advice(CK_RV rv)
{
    if (rv == CKR_DEVICE_ERROR)
        return "the token is there but did not answer (device error); unplug it, plug it "
               "in again and run the command again, it resumes";
    if (token_rv_removed(rv))
        return "the token was removed or stopped answering; plug it in and run the "
               "command again, it resumes";
    switch (rv) {
    case CKR_USER_NOT_LOGGED_IN:
        return "log in first";
    case CKR_TOKEN_WRITE_PROTECTED:
        return "the token is write-protected";
    case CKR_DEVICE_MEMORY:
        return "the token is full";
    default:
        return p11_kit_strerror(rv);
    }
}

token_code token_err_rv(token_err *err, CK_RV rv, const char *fmt, ...)
{
    va_list ap;
    size_t used;
    token_code code = token_code_for_rv(rv);

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    vset(err, code, rv, fmt, ap);
    va_end(ap);
    used = strlen(err->message);
    snprintf(err->message + used, sizeof(err->message) - used, ": %s (%s)",
             token_rv_name(rv), rv_advice(rv));
    return code;
}
