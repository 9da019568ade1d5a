/*
 * Waiting for a token to come or go.
 *
 * Seen with OpenSC 0.23 behind pcscd: a long-running process that loaded
 * opensc-pkcs11.so learns of a card removal but never of an insertion (not
 * from C_WaitForSlotEvent, not from polling C_GetSlotList, not after
 * re-initialising), while PC/SC's SCardGetStatusChange reports both at
 * once.  So insertions in readers come from PC/SC (the PnP pseudo-reader
 * tells when readers come and go), and the PKCS#11 work for a new card
 * belongs in a fresh process.  Modules without readers (SoftHSM2) are polled:
 * for them in-process slot state is accurate.
 */
#include "token_internal.h"
#include "monotonic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <winscard.h>

#define POLL_MS 500
#define MAX_READERS 16
#define PNP_READER "\\\\?PnP?\\Notification"

typedef struct pcsc_watch {
    SCARDCONTEXT        ctx;
    SCARD_READERSTATE   st[MAX_READERS + 1];   /* readers, then the PnP entry */
    char               *names;                 /* the multi-string of reader names */
    DWORD               n;                     /* entries in st, PnP included */
} pcsc_watch;

static long now_ms(void)
{
    return (long)(monotonic_now() * 1000);
}

/* Reader list (again): new readers start UNAWARE so their state is reported. */
static void pcsc_readers(pcsc_watch *w)
{
    DWORD len = 0, n = 0;
    char *names = NULL;

    if (SCardListReaders(w->ctx, NULL, NULL, &len) == SCARD_S_SUCCESS && len > 0 &&
        (names = calloc(1, len + 1)) != NULL &&
        SCardListReaders(w->ctx, NULL, names, &len) != SCARD_S_SUCCESS) {
        free(names);
        names = NULL;
    }
    free(w->names);
    w->names = names;
    for (char *p = names; p != NULL && *p != '\0' && n < MAX_READERS; p += strlen(p) + 1) {
        memset(&w->st[n], 0, sizeof(w->st[n]));
        w->st[n].szReader = p;
        w->st[n].dwCurrentState = SCARD_STATE_UNAWARE;
        n++;
    }
    memset(&w->st[n], 0, sizeof(w->st[n]));
    w->st[n].szReader = PNP_READER;
    w->st[n].dwCurrentState = (DWORD)(n << 16);   /* the reader count we know of */
    w->n = n + 1;
}

static bool pcsc_open(pcsc_watch *w)
{
    memset(w, 0, sizeof(*w));
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &w->ctx) != SCARD_S_SUCCESS)
        return false;   /* no pcscd: only modules without readers can be watched */
    pcsc_readers(w);
    /* Learn the present state without waiting. */
    SCardGetStatusChange(w->ctx, 0, w->st, w->n);
    for (DWORD i = 0; i < w->n; i++)
        w->st[i].dwCurrentState = w->st[i].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    return true;
}

/* A card already in a reader: what a fresh process would find (uri NULL only). */
static bool pcsc_card_present(const pcsc_watch *w, token_event *ev)
{
    for (DWORD i = 0; i + 1 < w->n; i++) {
        if (w->st[i].dwCurrentState & SCARD_STATE_PRESENT) {
            ev->present = true;
            ev->from_pcsc = true;
            snprintf(ev->source, sizeof(ev->source), "%s", w->st[i].szReader);
            return true;
        }
    }
    return false;
}

static void pcsc_close(pcsc_watch *w)
{
    if (w->ctx)
        SCardReleaseContext(w->ctx);
    free(w->names);
    memset(w, 0, sizeof(*w));
}

/*
 * Wait up to ms for a change.  Returns true with ev filled when a card was
 * inserted into a reader and that is what we wait for.  A removal only
 * wakes us: the module itself does see removals, and knows which token went.
 */
static bool pcsc_wait(pcsc_watch *w, long ms, bool want_present, token_event *ev)
{
    LONG r = SCardGetStatusChange(w->ctx, (DWORD)ms, w->st, w->n);
    bool hit = false, readers_changed = false;

    if (r == SCARD_E_TIMEOUT)
        return false;
    if (r != SCARD_S_SUCCESS) {
        stoppable_sleep(ms / 1000.0, NULL);   /* e.g. pcscd restarted: keep polling */
        return false;
    }
    for (DWORD i = 0; i < w->n; i++) {
        DWORD was = w->st[i].dwCurrentState, is = w->st[i].dwEventState;

        if (!(is & SCARD_STATE_CHANGED))
            continue;
        if (i == w->n - 1) {
            readers_changed = true;
        } else if (!hit && want_present && (is & SCARD_STATE_PRESENT) &&
                   !(was & SCARD_STATE_PRESENT)) {
            hit = true;
            ev->present = true;
            ev->from_pcsc = true;
            snprintf(ev->source, sizeof(ev->source), "%s", w->st[i].szReader);
        }
        w->st[i].dwCurrentState = is & ~(DWORD)SCARD_STATE_CHANGED;
    }
    if (readers_changed && !hit)
        pcsc_readers(w);
    return hit;
}

static bool slot_matches(token_module *mod, CK_SLOT_ID slot, P11KitUri *uri,
                         token_event *ev)
{
    token_slot_info info;
    token_err e;
    bool match = false;

    if (token_slot_info_fill(mod, slot, &info, &e) != TOKEN_OK || !info.card_present)
        goto out;
    if (uri != NULL) {
        CK_TOKEN_INFO ti;

        if (!info.present || mod->fn->C_GetTokenInfo(slot, &ti) != CKR_OK ||
            !p11_kit_uri_match_token_info(uri, &ti))
            goto out;
    }
    match = true;
    snprintf(ev->source, sizeof(ev->source), "%s", info.present && info.uri ? info.uri
                                                   : info.slot_description);
out:
    token_slot_info_clear(&info);
    return match;
}

/* Is a matching token (uri NULL: any card or token) in a slot now? */
static bool p11_present(token_ctx *ctx, P11KitUri *uri, token_event *ev)
{
    for (size_t m = 0; m < ctx->n_modules; m++) {
        token_module *mod = &ctx->modules[m];
        CK_SLOT_ID slots[64];
        CK_ULONG n = 64;

        if (mod->fn->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK)
            continue;
        for (CK_ULONG i = 0; i < n; i++)
            if (slot_matches(mod, slots[i], uri, ev))
                return true;
    }
    return false;
}

static token_code parse_uri(const char *s, P11KitUri **uri, token_err *err)
{
    *uri = NULL;
    if (s == NULL || *s == '\0')
        return TOKEN_OK;
    *uri = p11_kit_uri_new();
    if (*uri == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    if (p11_kit_uri_parse(s, P11_KIT_URI_FOR_TOKEN, *uri) != P11_KIT_URI_OK)
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK, "token URI \"%s\": not a valid "
                             "pkcs11: URI", s);
    return TOKEN_OK;
}

token_code token_wait_event(token_ctx *ctx, const char *uri_s, bool want_present,
                            int timeout_ms, token_event *ev, token_err *err)
{
    P11KitUri *uri;
    pcsc_watch w;
    bool have_pcsc;
    long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    token_code rc;

    return_val_if_fail(ctx != NULL && ev != NULL, TOKEN_ERR_INVALID);
    token_err_clear(err);
    memset(ev, 0, sizeof(*ev));
    rc = parse_uri(uri_s, &uri, err);
    if (rc != TOKEN_OK) {
        p11_kit_uri_free(uri);
        return rc;
    }
    /* Diagnostics: watch through the PKCS#11 module alone, to see what it
     * notices by itself (tests/integration/test-token-opensc-vpcd.sh). */
    have_pcsc = getenv("QSCD_TOKEN_EVENTS_PKCS11_ONLY") == NULL && pcsc_open(&w);
    /* Callers that poll with short timeouts must not miss a card that came
     * between two calls and that this process's module cannot see. */
    if (have_pcsc && want_present && uri == NULL && pcsc_card_present(&w, ev))
        goto out;
    for (;;) {
        long left = deadline < 0 ? POLL_MS : deadline - now_ms();
        bool present = p11_present(ctx, uri, ev);

        if (present == want_present) {
            ev->present = present;
            if (!present)
                snprintf(ev->source, sizeof(ev->source), "%s", uri_s ? uri_s : "any token");
            break;
        }
        if (left <= 0) {
            rc = token_err_set(err, TOKEN_ERR_TIMEOUT, CKR_OK,
                               "no token %s within the timeout",
                               want_present ? "appeared" : "went away");
            break;
        }
        left = left < POLL_MS ? left : POLL_MS;
        if (have_pcsc ? pcsc_wait(&w, left, want_present, ev)
                      : (stoppable_sleep(left / 1000.0, NULL), false))
            break;
    }
out:
    if (have_pcsc)
        pcsc_close(&w);
    p11_kit_uri_free(uri);
    return rc;
}
