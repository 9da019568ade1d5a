/*
 * token list: every slot of every module, its token, PIN state, keys and
 * certificates.  Reads only what is visible without a PIN.
 */
#include "cli_token_int.h"
#include "cli_help_int.h"

#include "exit_codes.h"
#include "x509.h"

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_cert_subject(X509 *x, char *buf, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n;

    buf[0] = '\0';
    if (b == NULL)
        return;
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    n = BIO_read(b, buf, (int)len - 1);
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

void cli_cert_not_after(X509 *x, char *buf, size_t len)
{
    struct tm tm;

    buf[0] = '\0';
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *key_type(const token_key *k)
{
    return k->type == CKK_RSA ? "RSA" : k->type == CKK_EC ? "EC" : "other";
}

static void print_objects(const token_key_list *keys, const token_cert_list *certs)
{
    char hex[257], subj[512], na[32];

    for (size_t i = 0; i < keys->count; i++) {
        const token_key *k = &keys->items[i];

        token_hex(k->id, k->id_len, hex);
        cli_out("    key: label \"%s\", id %s, %s %u\n", k->label, k->id_len ? hex : "(none)",
               key_type(k), k->bits);
    }
    for (size_t i = 0; i < certs->count; i++) {
        const token_cert *c = &certs->items[i];

        token_hex(c->id, c->id_len, hex);
        if (c->x509 == NULL) {
            cli_out("    certificate: label \"%s\", id %s: unreadable\n", c->label, hex);
            continue;
        }
        cli_cert_subject(c->x509, subj, sizeof(subj));
        cli_cert_not_after(c->x509, na, sizeof(na));
        cli_out("    certificate: label \"%s\", id %s, subject \"%s\", not after %s%s\n",
               c->label, c->id_len ? hex : "(none)", subj, na,
               token_key_for_cert(keys, c->x509) ? ", matches a key on the token" :
               c->category == 2 ? ", authority" : "");
    }
}

static cJSON *json_objects(const token_key_list *keys, const token_cert_list *certs,
                           cJSON *slot)
{
    cJSON *ka = cJSON_AddArrayToObject(slot, "keys");
    cJSON *ca = cJSON_AddArrayToObject(slot, "certificates");
    char hex[257], buf[512];

    for (size_t i = 0; ka && i < keys->count; i++) {
        const token_key *k = &keys->items[i];
        cJSON *o = cJSON_CreateObject();

        token_hex(k->id, k->id_len, hex);
        cJSON_AddStringToObject(o, "label", k->label);
        cJSON_AddStringToObject(o, "id", hex);
        cJSON_AddStringToObject(o, "type", key_type(k));
        cJSON_AddNumberToObject(o, "bits", k->bits);
        cJSON_AddItemToArray(ka, o);
    }
    for (size_t i = 0; ca && i < certs->count; i++) {
        const token_cert *c = &certs->items[i];
        cJSON *o = cJSON_CreateObject();

        token_hex(c->id, c->id_len, hex);
        cJSON_AddStringToObject(o, "label", c->label);
        cJSON_AddStringToObject(o, "id", hex);
        cJSON_AddNumberToObject(o, "category", (double)c->category);
        if (c->x509 != NULL) {
            cli_cert_subject(c->x509, buf, sizeof(buf));
            cJSON_AddStringToObject(o, "subject", buf);
            cli_cert_not_after(c->x509, buf, sizeof(buf));
            cJSON_AddStringToObject(o, "not_after", buf);
        }
        cJSON_AddBoolToObject(o, "matches_key", token_key_for_cert(keys, c->x509) != NULL);
        cJSON_AddItemToArray(ca, o);
    }
    return slot;
}

/* The same token's other modules (not used: token_ctx_prefer's rule). */
static void json_also_visible(cJSON *o, const token_slot_info *s)
{
    cJSON *a = cJSON_AddArrayToObject(o, "also_visible_through");
    char *copy = s->also_visible ? strdup(s->also_visible) : NULL, *save = NULL;

    for (char *m = copy ? strtok_r(copy, ",", &save) : NULL; a && m;
         m = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(a, cJSON_CreateString(m + (*m == ' ')));
    free(copy);
}

static cJSON *json_slot(const token_slot_info *s)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "module", s->module);
    cJSON_AddNumberToObject(o, "slot_id", (double)s->slot_id);
    cJSON_AddStringToObject(o, "slot_description", s->slot_description);
    cJSON_AddBoolToObject(o, "card_present", s->card_present);
    cJSON_AddBoolToObject(o, "token_present", s->present);
    cJSON_AddBoolToObject(o, "blank", s->blank);
    if (!s->present)
        return o;
    cJSON_AddStringToObject(o, "label", s->label);
    cJSON_AddStringToObject(o, "manufacturer", s->manufacturer);
    cJSON_AddStringToObject(o, "model", s->model);
    cJSON_AddStringToObject(o, "serial", s->serial);
    cJSON_AddStringToObject(o, "uri", s->uri ? s->uri : "");
    cJSON_AddStringToObject(o, "pin_state", token_pin_state_name(s->pin_state));
    cJSON_AddBoolToObject(o, "pinpad", s->pinpad);
    json_also_visible(o, s);
    return o;
}

static void print_slot(const token_slot_info *s)
{
    cli_out("module %s, slot %lu \"%s\": ", s->module, (unsigned long)s->slot_id,
           s->slot_description);
    if (!s->card_present) {
        printf("no token\n");
        return;
    }
    if (s->blank) {
        printf("token not initialised\n");
        return;
    }
    if (!s->present) {
        printf("card present, token not recognised by the module\n");
        return;
    }
    cli_out("token \"%s\"\n    manufacturer %s, model %s, serial %s\n    uri %s\n"
           "    PIN: %s%s\n", s->label, s->manufacturer, s->model, s->serial,
           s->uri ? s->uri : "", token_pin_state_name(s->pin_state),
           s->pinpad ? " (pinpad)" : "");
    if (s->also_visible != NULL)
        cli_out("    also visible through %s (not used: one module per token)\n",
               s->also_visible);
}

/* Keys and certificates of one token; a token that fails is reported, not fatal. */
static int list_token(const cli_config *cfg, token_ctx *ctx, const token_slot_info *s,
                      cJSON *js)
{
    token *tok = NULL;
    token_key_list keys = { 0 };
    token_cert_list certs = { 0 };
    token_err err;
    int rc = QSCD_EXIT_OK;

    if (token_open_slot(ctx, s, &tok, &err) != TOKEN_OK ||
        token_read_public_keys(tok, &keys, &err) != TOKEN_OK ||
        token_list_certificates(tok, &certs, &err) != TOKEN_OK) {
        cli_warn("%s", err.message);
        rc = cli_token_exit(err.code);
    } else if (cfg->json) {
        json_objects(&keys, &certs, js);
    } else {
        print_objects(&keys, &certs);
    }
    token_key_list_free(&keys);
    token_cert_list_free(&certs);
    token_close(tok);
    return rc;
}

static const char usage[] =
    "usage: qscd-agent [global options] token list [--json]\n"
    "  Every token the modules see: its pkcs11: URI, label, serial, reader, PIN\n"
    "  state, and the keys and certificates on it.  Needs no PIN.\n"
    "  --json      (global option) the slots as JSON on standard output\n"
    "  -h, --help  this text\n";

int cli_token_list(const cli_config *cfg, int argc, char **argv)
{
    token_ctx *ctx;
    token_slot_list slots;
    token_err err;
    cJSON *root = NULL, *arr = NULL;
    int rc = QSCD_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        if (cli_help_asked(argv[i]))
            return cli_help_show(usage);
        cli_error("token list: unknown option \"%s\"", argv[i]);
        return cli_help_bad(usage);
    }
    ctx = token_ctx_open(cfg->module, &err);
    if (ctx == NULL)
        return cli_token_fail(&err);
    if (token_ctx_prefer(ctx, cfg->module_preference, &err) != TOKEN_OK ||
        token_enumerate(ctx, &slots, &err) != TOKEN_OK) {
        token_ctx_close(ctx);
        return cli_token_fail(&err);
    }
    if (cfg->json) {
        root = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(root, "slots");
    }
    for (size_t i = 0; i < slots.count; i++) {
        const token_slot_info *s = &slots.items[i];
        cJSON *js = cfg->json ? json_slot(s) : NULL;

        if (js != NULL)
            cJSON_AddItemToArray(arr, js);
        else
            print_slot(s);
        if (s->present && list_token(cfg, ctx, s, js) != QSCD_EXIT_OK)
            rc = QSCD_EXIT_TOKEN;
    }
    if (!cfg->json && slots.count == 0)
        printf("no slots\n");
    if (root != NULL) {
        char *text = cJSON_Print(root);

        if (text != NULL)
            puts(text);
        free(text);
        cJSON_Delete(root);
    }
    token_slot_list_free(&slots);
    token_ctx_close(ctx);
    return rc;
}
