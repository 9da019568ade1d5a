/*
 * token install CERT.pem: verify the certificate against the key on the
 * token (exit 5, nothing written, no PIN asked, when it is not for that
 * key) and the qualified-eSeal profile (each deviation named; exit 5 unless
 * the user relaxed it), then install it next to the key.
 */
#include "cli_token_int.h"
#include "cli_args_int.h"
#include "cli_help_int.h"

#include "exit_codes.h"
#include "x509.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct install_args {
    const char *cert, *chain, *hex, *label, *relax;
    unsigned    login_flags;
    bool        no_test_signature;
} install_args;

static int append_file(const char *path, const char *what, char **buf, size_t *len)
{
    FILE *f = fopen(path, "re");
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        cli_error("%s %s: cannot be read", what, path);
        return QSCD_EXIT_USAGE;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        char *p = realloc(*buf, *len + n + 2);

        if (p == NULL) {
            fclose(f);
            cli_error("out of memory");
            return QSCD_EXIT_USAGE;
        }
        memcpy(p + *len, chunk, n);
        *buf = p;
        *len += n;
    }
    fclose(f);
    if (*buf != NULL) {
        (*buf)[(*len)++] = '\n';   /* a file without final newline before the next */
        (*buf)[*len] = '\0';
    }
    return QSCD_EXIT_OK;
}

static int load_chain(const install_args *a, x509_chain **chain)
{
    char *pem = NULL;
    size_t len = 0;
    x509_err xerr;
    int rc = append_file(a->cert, "certificate", &pem, &len);

    if (rc == QSCD_EXIT_OK && a->chain != NULL)
        rc = append_file(a->chain, "--chain", &pem, &len);
    if (rc == QSCD_EXIT_OK && x509_chain_parse_pem(pem ? pem : "", len, chain, &xerr)) {
        cli_error("%s: %s", a->cert, xerr.message);
        rc = QSCD_EXIT_USAGE;
    }
    free(pem);
    return rc;
}


static const char usage[] =
    "usage: qscd-agent [global options] token install CERT.pem [--chain F] [--key-id HEX|--key-label L]\n"
    "                  [--relax CHECK,...] [--allow-final-try] [--retry-pin] [--no-test-signature]\n"
    "  Install a certificate next to the key it holds the public key of, after\n"
    "  checking it against that key, its issuer chain and the qualified eSeal\n"
    "  profile.  A certificate for no key on the token is never written (exit 5).\n"
    "  CERT.pem           the certificate; certificates after it are its chain\n"
    "  --chain F          the issuer chain (PEM), when not in CERT.pem\n"
    "  --key-id HEX       the key, by its CKA_ID in hex\n"
    "  --key-label L      the key, by its label\n"
    "  --relax CHECK,...  accept named profile deviations (test certificates only):\n"
    "                     qc-statements, policy, key-usage, validity, chain\n"
    "  --allow-final-try  log in even when the token shows one PIN try left\n"
    "  --retry-pin        send a PIN from file:, fd: or env: that this token refused\n"
    "                     before once more\n"
    "  --no-test-signature  do not sign a test challenge with the key and verify it\n"
    "                     with the installed certificate afterwards\n"
    "  -h, --help         this text\n";

static int parse(int argc, char **argv, install_args *a)
{
    for (int i = 1; i < argc; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(usage), CLI_HELP_SHOWN;
        r = cli_token_opt(argc, argv, &i, "--chain", &a->chain);

        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--key-id", &a->hex);
        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--key-label", &a->label);
        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--relax", &a->relax);
        if (r == 0)
            r = cli_token_login_opt(argv[i], &a->login_flags);
        if (r == 0 && strcmp(argv[i], "--no-test-signature") == 0) {
            a->no_test_signature = true;
            r = 1;
        }
        if (r == 0 && argv[i][0] != '-' && a->cert == NULL) {
            a->cert = argv[i];
            r = 1;
        }
        if (r == 0)
            cli_error("token install: unexpected argument \"%s\"", argv[i]);
        if (r <= 0)
            return cli_help_bad(usage);
    }
    if (a->cert == NULL) {
        cli_error("token install: the certificate file is required (token install CERT.pem)");
        return cli_help_bad(usage);
    }
    return QSCD_EXIT_OK;
}

/*
 * Which key the certificate is for, from what is readable without a PIN,
 * so a wrong certificate or token costs no PIN try.  *id_len 0: nothing
 * visible, decide after login.
 */
static int match_key(token *tok, X509 *leaf, unsigned char *id, size_t *id_len)
{
    token_key_list keys;
    token_err err;
    const token_key *k;

    if (token_read_public_keys(tok, &keys, &err) != TOKEN_OK)
        return cli_token_fail(&err);
    k = token_key_for_cert(&keys, leaf);
    if (k == NULL && keys.count > 0) {
        token_key_list_free(&keys);
        cli_error("%s: the certificate is not for any key on the token (its public key "
                  "differs from every key there); nothing was written", token_name(tok));
        return QSCD_EXIT_VERIFY;
    }
    if (k != NULL && *id_len == 0 && k->id_len > 0) {
        memcpy(id, k->id, k->id_len);
        *id_len = k->id_len;
    }
    token_key_list_free(&keys);
    return QSCD_EXIT_OK;
}

static int check_profile(const cli_config *cfg, const x509_chain *chain, unsigned relax)
{
    x509_report rep;
    x509_err xerr;
    x509_code xc = x509_check_profile(chain, time(NULL), relax, &rep, &xerr);

    for (size_t i = 0; i < rep.n_relaxed; i++)
        cli_warn("relaxed: %s", rep.relaxed[i]);
    for (size_t i = 0; i < rep.count; i++)
        cli_error("profile: %s", rep.items[i]);
    if (xc != X509_OK && rep.count == 0)
        cli_error("%s", xerr.message);
    if (xc != X509_OK)
        cli_info(cfg, "nothing was written; relax a check explicitly with --relax "
                 "CHECK,... only if you know why it fails");
    x509_report_free(&rep);
    return xc == X509_OK ? QSCD_EXIT_OK : QSCD_EXIT_VERIFY;
}

/* Full path validation to the configured roots (cli_trust_anchors_required). */
static int check_anchored(const cli_config *cfg, const x509_chain *chain, unsigned relax)
{
    x509_anchors *anchors = NULL;
    x509_err xerr = { 0 };
    int rc = QSCD_EXIT_OK;

    if (x509_anchors_load(cfg->trust_anchors, &anchors, &xerr) != X509_OK) {
        cli_error("--trust-anchors: %s", xerr.message);
        return QSCD_EXIT_USAGE;
    }
    if (x509_chain_check_anchored(chain, anchors, time(NULL), relax, &xerr) != X509_OK) {
        cli_error("%s; nothing was written", xerr.message);
        rc = QSCD_EXIT_VERIFY;
    }
    x509_anchors_free(anchors);
    return rc;
}

/* The chain's intermediates: what is not self-signed after the leaf. */
static size_t intermediates(const x509_chain *chain, X509 **out)
{
    size_t n = 0;

    for (size_t i = 0; i < chain->n_rest; i++)
        if (X509_check_issued(chain->rest[i], chain->rest[i]) != X509_V_OK)
            out[n++] = chain->rest[i];
    return n;
}

static int install(const cli_config *cfg, token *tok, const install_args *a,
                   const x509_chain *chain, const unsigned char *id, size_t id_len)
{
    X509 **mid = calloc(chain->n_rest + 1, sizeof(*mid));
    token_install_result res;
    token_key *key = NULL;
    token_err err;
    int rc = QSCD_EXIT_OK;

    if (mid == NULL) {
        cli_error("out of memory");
        return QSCD_EXIT_TOKEN;
    }
    if (token_find_key(tok, id, id_len, id_len ? NULL : a->label, &key, &err) != TOKEN_OK ||
        token_install_certificate(tok, key, chain->leaf, mid, intermediates(chain, mid),
                                  &res, &err) != TOKEN_OK)
        rc = cli_token_fail(&err);
    if (rc == QSCD_EXIT_OK) {
        if (!res.leaf_written)
            cli_info(cfg, "%s: certificate already installed", token_name(tok));
        else
            cli_info(cfg, "%s: certificate installed%s", token_name(tok),
                     res.old_removed ? ", the older one for the key removed" : "");
        if (res.key_id_set)
            cli_info(cfg, "%s: the key had no CKA_ID; it now has the SHA-1 of its public "
                     "key, as has its certificate", token_name(tok));
        if (res.key_label_set)
            cli_info(cfg, "%s: the key had no label; it now has its certificate's",
                     token_name(tok));
        if (res.intermediates_written)
            cli_info(cfg, "%zu intermediate certificate(s) installed", res.intermediates_written);
    }
    /* The installed key seals with the installed certificate: proven, not assumed. */
    if (rc == QSCD_EXIT_OK && !a->no_test_signature && !cli_test_signature_off(cfg))
        rc = cli_token_test_signature(cfg, tok, key, chain->leaf, a->login_flags);
    if (rc == QSCD_EXIT_OK)
        printf(cfg->json ? "{\"installed\":%s,\"replaced\":%zu,\"intermediates\":%zu,"
                           "\"test_signature\":\"%s\"}\n"
                         : "%s (replaced %zu, intermediates written %zu, test signature %s)\n",
               cfg->json ? (res.leaf_written ? "true" : "false")
                         : (res.leaf_written ? "installed" : "already installed"),
               res.old_removed, res.intermediates_written,
               a->no_test_signature || cli_test_signature_off(cfg) ? "skipped" : "verified");
    token_key_free(key);
    free(mid);
    return rc;
}

int cli_token_install(const cli_config *cfg, int argc, char **argv)
{
    install_args a = { 0 };
    x509_chain *chain = NULL;
    unsigned relax = 0;
    unsigned char id[128];
    size_t id_len = 0;
    token_ctx *ctx = NULL;
    token *tok = NULL;
    secret *pin = NULL;
    int rc;

    rc = parse(argc, argv, &a);
    if (rc == CLI_HELP_SHOWN)
        return QSCD_EXIT_OK;
    if (rc == QSCD_EXIT_OK)
        rc = cli_trust_anchors_required(cfg);
    if (rc == QSCD_EXIT_OK)
        rc = cli_test_signature_check(cfg);
    if (rc == QSCD_EXIT_OK)
        rc = cli_parse_relax(a.relax, &relax);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_key_selector(a.hex, id, sizeof(id), &id_len);
    if (rc == QSCD_EXIT_OK)
        rc = load_chain(&a, &chain);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_open(cfg, &ctx, &tok);
    if (rc == QSCD_EXIT_OK)
        rc = match_key(tok, chain->leaf, id, &id_len);
    if (rc == QSCD_EXIT_OK)
        rc = check_profile(cfg, chain, relax);
    if (rc == QSCD_EXIT_OK)
        rc = check_anchored(cfg, chain, relax);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_login(cfg, tok, a.login_flags, &pin);
    if (rc == QSCD_EXIT_OK)
        rc = install(cfg, tok, &a, chain, id, id_len);
    secret_free(pin);
    token_close(tok);
    token_ctx_close(ctx);
    x509_chain_free(chain);
    return rc;
}
