/*
 * The token layer: PKCS#11 through p11-kit.  Modules, slots and tokens
 * (RFC 7512 URIs), PIN state and login, the signing key (locate or
 * generate), signatures for a CSR, certificate installation and device
 * events.  Knows nothing of HTTP or orders; certificate checks are x509's.
 *
 * Every call reports through one error value, token_err: a code the
 * lifecycle engine can act on, whether trying again may help (retryable:
 * the token was removed mid-operation, a device error), whether a person
 * must act (needs_user: wrong PIN, locked PIN, no token plugged in), the
 * PKCS#11 return value and a message naming the token and what to do.
 */
#ifndef QSCD_TOKEN_H
#define QSCD_TOKEN_H

#include "secret.h"
#include "x509.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum token_code {
    TOKEN_OK = 0,
    TOKEN_ERR_INVALID,       /* bad argument: URI, key spec, hex ID */
    TOKEN_ERR_MODULE,        /* a module cannot be loaded or initialised */
    TOKEN_ERR_ABSENT,        /* no token present (plug one in) */
    TOKEN_ERR_NOT_FOUND,     /* no such token / key / object */
    TOKEN_ERR_AMBIGUOUS,     /* several candidates; the message lists them */
    TOKEN_ERR_PIN_INCORRECT, /* wrong PIN: never retried automatically */
    TOKEN_ERR_PIN_LOCKED,    /* needs the PUK / security officer */
    TOKEN_ERR_PIN_FINAL_TRY, /* refused: one try left, not explicitly allowed */
    TOKEN_ERR_PIN_EXPIRED,   /* must be changed first (token change-pin) */
    TOKEN_ERR_PIN_INVALID,   /* a new PIN the token does not accept */
    TOKEN_ERR_NOT_LOGGED_IN, /* operation needs token_login first */
    TOKEN_ERR_REMOVED,       /* removed / device error mid-operation: resumable */
    TOKEN_ERR_EXISTS,        /* a key is there already (generate refuses) */
    TOKEN_ERR_MISMATCH,      /* certificate is not for this key */
    TOKEN_ERR_READBACK,      /* what was written reads back differently */
    TOKEN_ERR_UNSUPPORTED,   /* the token cannot do what was asked */
    TOKEN_ERR_TIMEOUT,
    TOKEN_ERR_NOMEM,
    TOKEN_ERR_GENERAL,       /* any other PKCS#11 failure */
} token_code;

typedef struct token_err {
    token_code code;
    bool       retryable;
    bool       needs_user;
    CK_RV      rv;          /* CKR_OK when the error is not from the module */
    char       message[1024];
} token_err;

const char *token_code_name(token_code code);
/* "CKR_PIN_INCORRECT" etc.; "CKR_0x..." for values not in the standard. */
const char *token_rv_name(CK_RV rv);
/* The code a PKCS#11 return value means (REMOVED for device loss). */
token_code  token_code_for_rv(CK_RV rv);

void token_err_clear(token_err *err);
/* Sets code, flags (derived from code) and message; returns code. */
token_code token_err_set(token_err *err, token_code code, CK_RV rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps rv, sets the message "<what>: <rv name> (<explanation>)"; returns the code. */
token_code token_err_rv(token_err *err, CK_RV rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- modules --------------------------------------------------------------- */

typedef struct token_ctx token_ctx;

/*
 * Load and initialise PKCS#11 modules: the one at module_path, or (NULL)
 * every module registered with p11-kit except trust-policy modules.
 * NULL on failure with err set.
 */
token_ctx *token_ctx_open(const char *module_path, token_err *err);
/*
 * Which module wins when one token (manufacturer + serial) shows through
 * several: patterns (fnmatch, separated by commas or blanks) matched
 * against each module's p11-kit name, path and file name, earlier first;
 * then p11-kit's priority, then a vendor module before OpenSC, then load
 * order.  NULL or "": the default rule only.  Call after token_ctx_open.
 */
token_code token_ctx_prefer(token_ctx *ctx, const char *patterns, token_err *err);
void       token_ctx_close(token_ctx *ctx);

/* --- slots and tokens ------------------------------------------------------ */

typedef enum token_pin_state {
    TOKEN_PIN_OK = 0,
    TOKEN_PIN_COUNT_LOW,     /* a wrong PIN was entered since the last success */
    TOKEN_PIN_FINAL_TRY,
    TOKEN_PIN_LOCKED,
    TOKEN_PIN_TO_BE_CHANGED, /* expired or still the transport PIN */
    TOKEN_PIN_UNINITIALIZED,
} token_pin_state;

const char *token_pin_state_name(token_pin_state s);  /* "ok", "final try", ... */

typedef struct token_slot_info {
    char       *module;          /* module name (p11-kit) or path */
    CK_SLOT_ID  slot_id;
    char        slot_description[65];
    char        slot_manufacturer[33];
    bool        card_present;    /* the slot says a token/card is in it */
    bool        present;         /* ... initialised, and the module can use it */
    bool        blank;           /* a token that is not initialised (no PIN, no objects) */
    bool        removable;
    /* the rest only when present */
    char        label[33];
    char        manufacturer[33];
    char        model[17];
    char        serial[17];
    char       *uri;             /* pkcs11:model=...;manufacturer=...;serial=...;token=... */
    CK_FLAGS    flags;           /* CK_TOKEN_INFO.flags */
    token_pin_state pin_state;
    bool        pinpad;          /* CKF_PROTECTED_AUTHENTICATION_PATH */
    bool        write_protected;
    char       *also_visible;    /* the same token's other modules, ", "-joined; NULL: none */
} token_slot_info;

typedef struct token_slot_list {
    size_t           count;
    token_slot_info *items;
} token_slot_list;

/* Every slot of every module, with or without a token; a token seen through
 * several modules once, through the preferred one (token_ctx_prefer). */
token_code token_enumerate(token_ctx *ctx, token_slot_list *out, token_err *err);
void       token_slot_list_free(token_slot_list *list);

typedef struct token token;

/*
 * Open a session on one token.  uri NULL: the single present token, an
 * error listing them when there are several, TOKEN_ERR_ABSENT when none.
 * A URI that matches several tokens is TOKEN_ERR_AMBIGUOUS.  Object
 * attributes in the URI (id=, object=) are kept as the key selector.
 */
token_code token_open(token_ctx *ctx, const char *uri, token **out, token_err *err);
/* Open the token in one enumerated slot (token list walks every slot). */
token_code token_open_slot(token_ctx *ctx, const token_slot_info *slot, token **out,
                           token_err *err);
void       token_close(token *tok);

const token_slot_info *token_get_info(const token *tok);
/* "token "LABEL" (serial S)": how messages name the token. */
const char *token_name(const token *tok);
/* Key selection from the URI's id=/object= attributes (NULL/0 when absent). */
const unsigned char *token_uri_key_id(const token *tok, size_t *len);
const char *token_uri_key_label(const token *tok);

/* Re-read the token's flags (PIN counters change after every login). */
token_code token_refresh(token *tok, token_err *err);

/* --- PIN ------------------------------------------------------------------- */

token_pin_state token_pin_state_get(const token *tok);
bool            token_has_pinpad(const token *tok);
bool            token_logged_in(const token *tok);

enum token_login_flags {
    TOKEN_LOGIN_ALLOW_FINAL_TRY = 1 << 0, /* the user said so explicitly */
    TOKEN_LOGIN_ALLOW_EXPIRED   = 1 << 1, /* for change-pin only */
};

/*
 * Log in as the user.  pin NULL: protected authentication path (pinpad).
 * Refuses without trying when the flags say locked or final try (unless
 * allowed).  A wrong PIN is reported with the counter state the token shows
 * afterwards and never retried.  The PIN pointer is remembered (not copied)
 * for keys that need a context-specific login: keep it alive until
 * token_close().
 */
token_code token_login(token *tok, const secret *pin, unsigned flags, token_err *err);
/*
 * What the last token_login's C_Login told of the PIN: a fact for the
 * caller's memory of refused PINs (the token's flags are often not set).
 */
typedef enum token_login_verdict {
    TOKEN_LOGIN_NOT_SENT = 0, /* no C_Login was made (refused before it, or logged in) */
    TOKEN_LOGIN_ACCEPTED,     /* the token took the PIN (CKR_OK, or CKR_PIN_EXPIRED) */
    TOKEN_LOGIN_REFUSED,      /* CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE */
    TOKEN_LOGIN_UNKNOWN,      /* CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED: the token
                                 answered, but not whether it took the PIN */
    TOKEN_LOGIN_NOT_JUDGED,   /* anything else: the device went away or failed,
                                 keypad entry cancelled, locked, already logged in */
} token_login_verdict;

token_login_verdict token_last_login(const token *tok);

/* C_SetPIN for the logged-in user (log in with TOKEN_LOGIN_ALLOW_EXPIRED). */
token_code token_change_pin(token *tok, const secret *old_pin, const secret *new_pin,
                            token_err *err);

/* --- the security officer (token_so.c) --------------------------------------- */

typedef enum token_so_pin_state {
    TOKEN_SO_PIN_OK = 0,
    TOKEN_SO_PIN_COUNT_LOW,
    TOKEN_SO_PIN_FINAL_TRY,
    TOKEN_SO_PIN_LOCKED,
} token_so_pin_state;

/* From the flags of the last token_open / token_refresh. */
token_so_pin_state token_so_pin_state_get(const token *tok);
/*
 * Log in as the security officer (the PUK / admin PIN).  Refuses without a
 * try when the flags say the SO PIN is locked or at its final try, unless
 * TOKEN_LOGIN_ALLOW_FINAL_TRY (the user said so explicitly).  A wrong SO
 * PIN is never retried; token_last_login says what C_Login answered.
 */
token_code token_so_login(token *tok, const secret *so_pin, unsigned flags, token_err *err);
/* C_InitPIN: a new user PIN, set by the logged-in SO; the keys are kept. */
token_code token_init_pin(token *tok, const secret *new_pin, token_err *err);

/* --- keys -------------------------------------------------------------------- */

typedef struct token_key {
    unsigned char    id[128];    /* CKA_ID */
    size_t           id_len;
    char            *label;      /* CKA_LABEL, "" when none */
    CK_KEY_TYPE      type;       /* CKK_RSA, CKK_EC */
    unsigned         bits;
    EVP_PKEY        *pub;        /* NULL when it could not be read */
    CK_OBJECT_HANDLE priv;       /* CK_INVALID_HANDLE when not seen (no login) */
    CK_OBJECT_HANDLE pubobj;     /* CK_INVALID_HANDLE when no public key object */
    bool             can_sign;
    bool             always_authenticate;
} token_key;

typedef struct token_key_list {
    size_t     count;
    token_key *items;
} token_key_list;

/*
 * Public keys readable without login (to match a certificate to a token
 * before asking for a PIN); after login also private keys without a public
 * object.  One entry per key pair (merged by CKA_ID).
 */
token_code token_read_public_keys(token *tok, token_key_list *out, token_err *err);
/* Private keys (needs login on most tokens), with their public halves. */
token_code token_list_keys(token *tok, token_key_list *out, token_err *err);
void       token_key_list_free(token_key_list *list);
/* The key of the list that cert was issued for (its public key), or NULL:
 * the one rule for "which key on the token is this certificate's". */
const token_key *token_key_for_cert(const token_key_list *keys, X509 *cert);

/*
 * The signing private key: by CKA_ID (id_len > 0) or label when given, else
 * the only one; several is TOKEN_ERR_AMBIGUOUS listing them.  *out is a
 * copy owned by the caller (token_key_free).
 */
token_code token_find_key(token *tok, const unsigned char *id, size_t id_len,
                          const char *label, token_key **out, token_err *err);
void       token_key_free(token_key *key);
/* "label \"L\", id 0a1b..., RSA 3072": for messages. */
void       token_key_describe(const token_key *key, char *buf, size_t len);
/* Hex of id (2*len+1 bytes in out). */
void       token_hex(const unsigned char *p, size_t n, char *out);
/* Parse hex ("0a1b", "0A:1B" accepted); false when malformed or too long. */
bool       token_unhex(const char *s, unsigned char *out, size_t cap, size_t *len);

typedef struct token_keyspec {
    CK_KEY_TYPE type;    /* CKK_RSA or CKK_EC */
    unsigned    bits;    /* RSA modulus bits, or curve size */
    int         nid;     /* EC curve */
} token_keyspec;

/* "rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384"; NULL gives rsa:3072. */
token_code token_keyspec_parse(const char *s, token_keyspec *out, token_err *err);

/*
 * Generate a key pair on a blank token (TOKEN_ERR_EXISTS naming the key
 * when a private key is there): token, private, sensitive, not extractable,
 * sign; CKA_ID = SHA-1 of the public key on both halves.
 */
token_code token_generate_key(token *tok, const token_keyspec *spec, const char *label,
                              token_key **out, token_err *err);
/*
 * The same with a CKA_ID chosen beforehand, given to C_GenerateKeyPair
 * itself: a caller that recorded the id before the call finds the key by
 * it after a crash, whether or not the call completed.
 */
token_code token_generate_key_id(token *tok, const token_keyspec *spec, const char *label,
                                 const unsigned char *id, size_t id_len, token_key **out,
                                 token_err *err);

/* --- signing ------------------------------------------------------------------ */

/*
 * Sign data with the key: CKM_SHA256_RSA_PKCS for RSA; for EC the SHA-256
 * digest is signed with CKM_ECDSA and returned DER-encoded.  *sig malloc'd.
 */
token_code token_sign(token *tok, const token_key *key, const unsigned char *data,
                      size_t len, unsigned char **sig, size_t *sig_len, token_err *err);

/* The same with the mechanism alg names (x509.h); TOKEN_ERR_UNSUPPORTED
 * when the key's type cannot make it. */
token_code token_sign_as(token *tok, const token_key *key, x509_sig_alg alg,
                         const unsigned char *data, size_t len, unsigned char **sig,
                         size_t *sig_len, token_err *err);

/*
 * The signature PIN: for keys with CKA_ALWAYS_AUTHENTICATE, each signature
 * logs in context-specifically (CKU_CONTEXT_SPECIFIC).  own true: with pin
 * (NULL: on the keypad); own false (the default): with the user PIN given
 * to token_login.  Not copied: keep it alive while signing.  A failed
 * context login ends the signing operation (the token is left with none
 * active) and is reported like a login.
 */
void                token_set_sign_pin(token *tok, bool own, const secret *pin);
/* What the last context-specific login's C_Login said (NOT_SENT: none). */
token_login_verdict token_last_context_login(const token *tok);

/* An x509_sign_fn adapter: pass a token_signer as the callback's ctx. */
typedef struct token_signer {
    token           *tok;
    const token_key *key;
    token_err        err;    /* what went wrong when the callback returns != 0 */
} token_signer;

int token_signer_sign(void *signer, const unsigned char *tbs, size_t tbs_len,
                      unsigned char **sig, size_t *sig_len);

/* --- certificates -------------------------------------------------------------- */

typedef struct token_cert {
    CK_OBJECT_HANDLE handle;
    unsigned char    id[128];
    size_t           id_len;
    char            *label;
    CK_ULONG         category;  /* 0 unspecified, 1 token user, 2 authority, 3 other */
    X509            *x509;      /* NULL when CKA_VALUE does not parse */
} token_cert;

typedef struct token_cert_list {
    size_t      count;
    token_cert *items;
} token_cert_list;

token_code token_list_certificates(token *tok, token_cert_list *out, token_err *err);
void       token_cert_list_free(token_cert_list *list);

typedef struct token_install_result {
    bool   leaf_written;          /* false: the identical certificate was there */
    size_t old_removed;           /* older certificates for this key destroyed */
    size_t intermediates_written;
    size_t intermediates_present;
    bool   key_label_set;         /* the key halves had no label */
    bool   key_id_set;            /* ... no CKA_ID: given SHA-1 of the public key */
} token_install_result;

/*
 * Install the certificate for key (the leaf's public key must equal the
 * key's: TOKEN_ERR_MISMATCH otherwise, nothing written).  The leaf gets the
 * key's CKA_ID (a key without one first gets SHA-1 of its public key) and
 * label, category 1; intermediates category 2 with their
 * own IDs, skipped when present.  An identical leaf is not written again;
 * an older one for the same key is destroyed only after the new one reads
 * back identical.  Safe to re-run after an interruption.  Needs login.
 */
token_code token_install_certificate(token *tok, const token_key *key, X509 *leaf,
                                     X509 **intermediates, size_t n,
                                     token_install_result *res, token_err *err);

/* --- events --------------------------------------------------------------------- */

typedef struct token_event {
    bool present;             /* the state now: a token/card is there or not */
    char source[160];         /* reader name, or the token's URI */
    bool from_pcsc;           /* seen by PC/SC (do PKCS#11 work in a fresh process) */
} token_event;

/*
 * Wait until a token matching uri (NULL: any) is present (want_present) or
 * no longer present.  Returns at once when that already holds.  Card
 * insertion in a reader is taken from PC/SC, because a long-running OpenSC
 * does not see it; reader-less modules are polled.  timeout_ms < 0 waits
 * forever; TOKEN_ERR_TIMEOUT when it expires.
 */
token_code token_wait_event(token_ctx *ctx, const char *uri, bool want_present,
                            int timeout_ms, token_event *ev, token_err *err);

#endif
