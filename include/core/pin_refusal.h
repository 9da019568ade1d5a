/*
 * The memory of refused PINs: a PIN a token refused is never sent to it
 * again automatically.  Many tokens do not report CKF_USER_PIN_COUNT_LOW /
 * FINAL_TRY (OpenSC leaves them unset on many cards), so the token cannot
 * be the only memory: the state dir keeps one record per token,
 * STATE/pin-refused/<manufacturer>_<serial>.json, with when it happened,
 * which kind of PIN source gave the PIN and what the token answered.
 * Never the PIN, a hash of it or its length.
 *
 * The rule, in pin_login() (every command that logs in calls it):
 * - a record for the token refuses file:, fd: and env: before anything is
 *   read or sent, unless the caller says a person asked for one more try;
 * - prompt and pinpad are allowed (a person enters this try);
 * - a login the token refuses writes the record (durably), one whose outcome
 *   is unknown (CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED) too;
 * - a login the token accepts removes it.
 * Nothing here prints or names a command-line option: the result says what
 * happened and the caller words the advice.
 */
#ifndef QSCD_PIN_REFUSAL_H
#define QSCD_PIN_REFUSAL_H

#include "journal.h"
#include "store.h"
#include "pin_source.h"
#include "token.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>


/*
 * Which PIN a record is about: each has its own record, since a token
 * keeps a try counter for each (the user PIN, the signature PIN of keys
 * with CKA_ALWAYS_AUTHENTICATE, the security officer's PIN / PUK).
 */
typedef enum pin_kind {
    PIN_KIND_USER = 0,
    PIN_KIND_SIGN,
    PIN_KIND_SO,
} pin_kind;

/* "user", "signature", "security officer": for messages. */
const char *pin_kind_words(pin_kind kind);

typedef struct pin_refusal {
    bool            present;
    pin_kind        kind;              /* which PIN (the file name says it too) */
    bool            unreadable;        /* a record is there but cannot be read: treated
                                          as a refusal at an unknown time */
    bool            outcome_unknown;   /* the token's answer did not say (see above) */
    time_t          at;                /* 0: unknown */
    pin_source_kind source;
    char            rv[48];            /* what C_Login answered, "CKR_PIN_INCORRECT" */
    char            manufacturer[33];
    char            serial[17];
    char            label[33];
} pin_refusal;

/*
 * The record's file name for a token: each part with every byte outside
 * [A-Za-z0-9.-] as %XX, joined by "_", ".json" appended.  NULL when out
 * of memory.  Tokens without a serial share their manufacturer's record.
 */
char *pin_refusal_file_name(const char *manufacturer, const char *serial);
/* The same for a kind: the user PIN's name above; "_sign" / "_so" before
 * ".json" for the others ("_" never occurs escaped, so names cannot clash). */
char *pin_refusal_kind_file_name(pin_kind kind, const char *manufacturer, const char *serial);

/* Read the record; JOURNAL_OK with out->present false when there is none. */
journal_code pin_refusal_load_in(store *st, const char *manufacturer, const char *serial,
                                 pin_refusal *out, journal_err *err);
/* The same for one kind of PIN, in a store. */
journal_code pin_refusal_load_kind_in(store *st, pin_kind kind, const char *manufacturer,
                                      const char *serial, pin_refusal *out, journal_err *err);
journal_code pin_refusal_clear_kind_in(store *st, pin_kind kind, const char *manufacturer,
                                       const char *serial, journal_err *err);
/* Write rec (its kind, manufacturer and serial name the record), replacing any older one. */
journal_code pin_refusal_save_in(store *st, const pin_refusal *rec, journal_err *err);
journal_code pin_refusal_clear_in(store *st, const char *manufacturer, const char *serial,
                                  journal_err *err);
/* The record as text, and back (pin_refusal_save_in / _load_in use these). */
char *pin_refusal_to_json(const pin_refusal *rec);
bool  pin_refusal_from_json(const char *text, pin_refusal *out);

/*
 * The facts in words, for a message: `a wrong PIN from a PIN file was
 * refused by token "L" (serial S) at 2026-12-01T17:04:07Z (CKR_PIN_INCORRECT)`.
 */
void pin_refusal_describe(const pin_refusal *rec, char *buf, size_t len);
/* The same, then "; no PIN from a file, a descriptor or the environment is sent
 * to it again automatically". */
void pin_refusal_describe_rule(const pin_refusal *rec, char *buf, size_t len);

/* --- logging in under the rule (pin_login.c) ------------------------------ */

struct pin_login_result;

typedef struct pin_login_req {
    store      *store;        /* where the records are; NULL: nowhere, no rule */
    pin_kind    kind;         /* whose record: the user PIN's unless said */
    const char *spec;         /* the PIN source; NULL: prompt, or pinpad on a pinpad token */
    const char *option;       /* the spec's name in messages about its syntax */
    const char *prompt;       /* shown for prompt */
    unsigned    flags;        /* token_login_flags */
    bool        retry;        /* a person asked to send a non-interactive PIN once more */
    /*
     * Called just before the PIN is read (before = true; res->kind and
     * res->earlier are known: warn of an earlier refusal before a prompt)
     * and just after (false); returning false after the read stops the
     * login before anything is sent.  May be NULL.
     */
    bool      (*around_read)(void *arg, bool before, const struct pin_login_result *res);
    void       *arg;
} pin_login_req;

typedef enum pin_login_code {
    PIN_LOGIN_OK = 0,
    PIN_LOGIN_SOURCE,          /* the source cannot be parsed or read: res->message */
    PIN_LOGIN_REFUSED_BEFORE,  /* res->earlier holds a refusal and the source is not
                                  interactive: nothing was read or sent */
    PIN_LOGIN_STOPPED,         /* around_read said stop: nothing was sent */
    PIN_LOGIN_TOKEN,           /* token_login failed: te; res->verdict says what it was */
} pin_login_code;

typedef struct pin_login_result {
    pin_source_kind     kind;
    pin_refusal         earlier;      /* the record found before logging in */
    token_login_verdict verdict;
    bool                recorded;     /* this login's refusal is now recorded */
    char                record_problem[600]; /* the record could not be written or
                                                removed ("" when fine) */
    char                message[512]; /* for PIN_LOGIN_SOURCE (never the PIN) */
} pin_login_result;

/*
 * Log in as the user under the rule above.  *pin is the PIN read (NULL for
 * pinpad), kept for context-specific logins: the caller frees it with
 * secret_free after token_close (on failure it is freed here).
 */
pin_login_code pin_login(token *tok, const pin_login_req *req, secret **pin,
                         pin_login_result *res, token_err *te);

/*
 * The signature PIN, for a key with CKA_ALWAYS_AUTHENTICATE (nothing to do
 * for other keys): req->kind PIN_KIND_SIGN, req->spec the signature PIN's
 * source.  Under the same rule as the user PIN, with its own record: a
 * refusal recorded for a non-interactive source stops here.  own_source:
 * the PIN is read from req->spec and handed to the token for the context
 * logins (token_set_sign_pin); else the user PIN token_login took is used.
 * Sign, then call pin_sign_end with the signing's error (NULL when it
 * succeeded): it records what the context login's C_Login said, takes the
 * PIN back from the token and frees it.
 */
/*
 * Log in as the security officer (req->kind PIN_KIND_SO) under the same
 * rule, with its own record: token_so_login, which refuses a locked SO
 * PIN or its final try (unless req->flags allow it) before any try.
 */
pin_login_code pin_so_login(token *tok, const pin_login_req *req, secret **pin,
                            pin_login_result *res, token_err *te);

pin_login_code pin_sign_begin(token *tok, const token_key *key, const pin_login_req *req,
                              bool own_source, secret **pin, pin_login_result *res);
void           pin_sign_end(token *tok, const token_key *key, const pin_login_req *req,
                            const token_err *te, secret *pin, pin_login_result *res);

#endif
