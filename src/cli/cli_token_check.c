/*
 * token check: is one token ready?  Present, PIN usable, exactly one
 * signing key, a certificate for it installed and within its validity.
 * Exit 0 ready, 1 not ready (what is missing is printed), 4 token error
 * (a locked PIN, or a PIN refused before (pin_refusal.h): no waiting fixes it).
 * Without a configured PIN source nothing is tried on the PIN.
 */
#include "cli_token_int.h"
#include "cli_help_int.h"

#include "exit_codes.h"
#include "cli_report_int.h"
#include "pin_refusal.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct check_state {
    const cli_config *cfg;
    cJSON *items;       /* JSON: [{"check":..., "ok":..., "detail":...}] */
    bool ready;
    bool broken;        /* not a matter of time: the token needs the PUK */
} check_state;

static void report(check_state *st, const char *what, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(check_state *st, const char *what, bool ok, const char *fmt, ...)
{
    char detail[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (!ok)
        st->ready = false;
    if (st->items != NULL) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "check", what);
        cJSON_AddBoolToObject(o, "ok", ok);
        cJSON_AddStringToObject(o, "detail", detail);
        cJSON_AddItemToArray(st->items, o);
    } else {
        cli_out("%-12s %s  %s\n", what, ok ? "ok     " : "MISSING", detail);
    }
}

/* A PIN refused before: provision would not send one from a file, fd or env. */
static void check_refused(check_state *st, token *tok)
{
    const token_slot_info *si = token_get_info(tok);
    pin_refusal rec;
    journal_err je = { 0 };
    char what[600];
    store *s = NULL;
    bool found;

    if (cli_store_open(st->cfg, &s) != 0 || s == NULL)
        return;
    found = pin_refusal_load_in(s, si->manufacturer, si->serial, &rec, &je) == JOURNAL_OK &&
            rec.present;
    store_close(s);
    if (!found)
        return;
    pin_refusal_describe(&rec, what, sizeof(what));
    report(st, "pin-refused", false, "%s; log in once with --pin-source prompt or pinpad, "
           "or use --retry-pin", what);
    st->broken = true;   /* a person must act: no waiting fixes it */
}

static void check_pin(check_state *st, token *tok)
{
    token_pin_state ps = token_pin_state_get(tok);
    bool ok = ps == TOKEN_PIN_OK || ps == TOKEN_PIN_COUNT_LOW || ps == TOKEN_PIN_FINAL_TRY;

    report(st, "pin", ok, "%s%s%s", token_pin_state_name(ps),
           token_has_pinpad(tok) ? " (pinpad)" : "",
           ps == TOKEN_PIN_LOCKED ? ": unlock it with the PUK" :
           ps == TOKEN_PIN_TO_BE_CHANGED ? ": run token change-pin" : "");
    /* Provision refuses a locked PIN as a token error; check says the same. */
    if (ps == TOKEN_PIN_LOCKED)
        st->broken = true;
    check_refused(st, tok);
}

/* The one key: selected, or the only key pair on the token. */
static const token_key *check_key(check_state *st, const token_key_list *keys,
                                  const unsigned char *id, size_t id_len, const char *label)
{
    const token_key *found = NULL;
    size_t n = 0;
    char d[300];

    for (size_t i = 0; i < keys->count; i++) {
        const token_key *k = &keys->items[i];

        if ((id_len && (k->id_len != id_len || memcmp(k->id, id, id_len) != 0)) ||
            (label && strcmp(k->label, label) != 0))
            continue;
        found = k;
        n++;
    }
    if (n == 1) {
        token_key_describe(found, d, sizeof(d));
        report(st, "key", true, "%s", d);
        return found;
    }
    if (n == 0)
        report(st, "key", false, "no key pair visible on the token%s",
               id_len || label ? " with that id/label" : "");
    else
        report(st, "key", false, "%zu keys; choose one with --key-id or --key-label", n);
    return NULL;
}

static void check_cert(check_state *st, const token_cert_list *certs, const token_key *key)
{
    token_key_list one = { 1, (token_key *)key };
    time_t now = time(NULL);
    char subj[512], na[32];
    bool any = false;

    for (size_t i = 0; i < certs->count; i++) {
        X509 *x = certs->items[i].x509;

        if (token_key_for_cert(&one, x) == NULL)
            continue;
        any = true;
        cli_cert_subject(x, subj, sizeof(subj));
        cli_cert_not_after(x, na, sizeof(na));
        if (X509_cmp_time(X509_get0_notBefore(x), &now) < 0 &&
            X509_cmp_time(X509_get0_notAfter(x), &now) > 0) {
            report(st, "certificate", true, "\"%s\", valid until %s", subj, na);
            return;
        }
        report(st, "validity", false, "certificate \"%s\" is not valid now (not after %s)",
               subj, na);
    }
    if (!any)
        report(st, "certificate", false, "no certificate for the key is installed; run "
               "token install CERT.pem");
}

static int check_token(check_state *st, token *tok, const unsigned char *id, size_t id_len,
                       const char *label)
{
    token_key_list keys = { 0 };
    token_cert_list certs = { 0 };
    token_err err;
    const token_key *key;
    int rc = QSCD_EXIT_OK;

    report(st, "token", true, "%s, %s", token_name(tok), token_get_info(tok)->uri);
    check_pin(st, tok);
    if (token_read_public_keys(tok, &keys, &err) != TOKEN_OK ||
        token_list_certificates(tok, &certs, &err) != TOKEN_OK) {
        rc = cli_token_fail(&err);
        goto out;
    }
    key = check_key(st, &keys, id, id_len, label);
    if (key != NULL)
        check_cert(st, &certs, key);
out:
    token_key_list_free(&keys);
    token_cert_list_free(&certs);
    return rc;
}

static const char usage[] =
    "usage: qscd-agent [global options] token check [--key-id HEX|--key-label L]\n"
    "  Readiness of one token: present, PIN usable, one signing key (or the one\n"
    "  chosen), its certificate installed and valid.  Exit 0 ready, 1 not yet,\n"
    "  4 token problem (a locked PIN, a PIN refused before).\n"
    "  --key-id HEX    the key to check, by its CKA_ID in hex (e.g. 0a1b2c)\n"
    "  --key-label L   the key to check, by its label\n"
    "  -h, --help      this text\n";

static int parse(int argc, char **argv, const char **hex, const char **label)
{
    for (int i = 1; i < argc; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(usage), CLI_HELP_SHOWN;
        r = cli_token_opt(argc, argv, &i, "--key-id", hex);

        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--key-label", label);
        if (r < 0)
            return cli_help_bad(usage);
        if (r == 0) {
            cli_error("token check: unknown option \"%s\"", argv[i]);
            return cli_help_bad(usage);
        }
    }
    return QSCD_EXIT_OK;
}

int cli_token_check(const cli_config *cfg, int argc, char **argv)
{
    const char *hex = NULL, *label = NULL;
    unsigned char id[128];
    size_t id_len;
    token_ctx *ctx = NULL;
    token *tok = NULL;
    check_state st = { cfg, NULL, true, false };
    cJSON *root = NULL;
    int rc;

    rc = parse(argc, argv, &hex, &label);
    if (rc == CLI_HELP_SHOWN)
        return QSCD_EXIT_OK;
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_key_selector(hex, id, sizeof(id), &id_len);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_open(cfg, &ctx, &tok);
    if (rc != QSCD_EXIT_OK)
        goto out;
    if (cfg->json) {
        root = cJSON_CreateObject();
        st.items = cJSON_AddArrayToObject(root, "checks");
    }
    rc = check_token(&st, tok, id, id_len, label);
    if (rc == QSCD_EXIT_OK && !st.ready)
        rc = st.broken ? QSCD_EXIT_TOKEN : QSCD_EXIT_NOT_READY;
    if (root != NULL) {
        char *text;

        cJSON_AddBoolToObject(root, "ready", rc == QSCD_EXIT_OK);
        text = cJSON_Print(root);
        if (text != NULL)
            puts(text);
        free(text);
    } else if (rc == QSCD_EXIT_OK) {
        printf("ready\n");
    } else if (rc == QSCD_EXIT_NOT_READY || st.broken) {
        printf("not ready\n");
    }
out:
    cJSON_Delete(root);
    token_close(tok);
    token_ctx_close(ctx);
    return rc;
}
