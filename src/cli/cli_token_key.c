/*
 * token generate-key (blank tokens only) and token csr (a PKCS#10 request
 * signed on the token, for re-keying or a token without a certificate).
 */
#include "cli_token_int.h"
#include "durable_file.h"
#include "cli_help_int.h"

#include "exit_codes.h"
#include "test_signature.h"
#include "x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_KEY_LABEL "qscd-eseal"

static const char keygen_usage[] =
    "usage: qscd-agent [global options] token generate-key [--key-type TYPE] [--label L]\n"
    "                  [--allow-final-try] [--retry-pin]\n"
    "  Generate a key pair on a blank token (re-keying, test tokens) and print its\n"
    "  CKA_ID in hex.  Tokens DigiCert shipped already carry their key.\n"
    "  --key-type TYPE    rsa:3072 (default), rsa:2048, rsa:4096, ec:P-256, ec:P-384\n"
    "  --label L          label of the new key objects (default " DEFAULT_KEY_LABEL ")\n"
    "  --allow-final-try  log in even when the token shows one PIN try left\n"
    "  --retry-pin        send a PIN from file:, fd: or env: that this token refused\n"
    "                     before once more\n"
    "  -h, --help         this text\n";

int cli_token_generate_key(const cli_config *cfg, int argc, char **argv)
{
    const char *type = NULL, *label = DEFAULT_KEY_LABEL;
    unsigned flags = 0;
    token_keyspec spec;
    token_ctx *ctx = NULL;
    token *tok = NULL;
    token_key *key = NULL;
    secret *pin = NULL;
    token_err err;
    char d[300];
    int rc = QSCD_EXIT_OK;

    for (int i = 1; i < argc && rc == QSCD_EXIT_OK; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(keygen_usage);
        r = cli_token_opt(argc, argv, &i, "--key-type", &type);

        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--label", &label);
        if (r == 0)
            r = cli_token_login_opt(argv[i], &flags);
        if (r == 0)
            cli_error("token generate-key: unknown option \"%s\"", argv[i]);
        if (r <= 0)
            rc = cli_help_bad(keygen_usage);
    }
    if (rc == QSCD_EXIT_OK && token_keyspec_parse(type, &spec, &err) != TOKEN_OK) {
        cli_error("--key-type: %s", err.message);
        rc = cli_token_exit(err.code);
    }
    if (rc == QSCD_EXIT_OK && *label == '\0') {
        cli_error("--label: must not be empty");
        rc = QSCD_EXIT_USAGE;
    }
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_open(cfg, &ctx, &tok);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_login(cfg, tok, flags, &pin);
    if (rc == QSCD_EXIT_OK && token_generate_key(tok, &spec, label, &key, &err) != TOKEN_OK)
        rc = cli_token_fail(&err);
    if (rc == QSCD_EXIT_OK) {
        char hex[257];

        token_key_describe(key, d, sizeof(d));
        token_hex(key->id, key->id_len, hex);
        cli_info(cfg, "%s: generated key %s", token_name(tok), d);
        printf(cfg->json ? "{\"id\":\"%s\"}\n" : "%s\n", hex);
    }
    token_key_free(key);
    secret_free(pin);
    token_close(tok);
    token_ctx_close(ctx);
    return rc;
}

/* -o: through the durable writer, so the file is whole or absent, and a
 * symbolic link at the name is replaced, never written through. */
static int write_out(const char *path, const char *pem)
{
    durable_err de = { 0 };

    if (path == NULL) {
        fputs(pem, stdout);
        return QSCD_EXIT_OK;
    }
    if (durable_write(path, pem, strlen(pem), 0644, false, &de) != 0) {
        cli_error("-o %s: cannot %s: %s", path, de.step, strerror(de.errnum));
        return QSCD_EXIT_USAGE;
    }
    return QSCD_EXIT_OK;
}

typedef struct csr_args {
    const char *subject, *hex, *label, *out;
    unsigned    login_flags;
} csr_args;

static const char csr_usage[] =
    "usage: qscd-agent [global options] token csr --subject S [--key-id HEX|--key-label L]\n"
    "                  [-o FILE] [--allow-final-try] [--retry-pin]\n"
    "  A PKCS#10 certificate signing request for the key on the token, signed on\n"
    "  the token.\n"
    "  --subject S        the subject, e.g. /C=NL/O=Example B.V./CN=Example\n"
    "  --key-id HEX       the key, by its CKA_ID in hex\n"
    "  --key-label L      the key, by its label\n"
    "  -o, --output FILE  write FILE instead of standard output\n"
    "  --allow-final-try  log in even when the token shows one PIN try left\n"
    "  --retry-pin        send a PIN from file:, fd: or env: that this token refused\n"
    "                     before once more\n"
    "  -h, --help         this text\n";

static int csr_parse(int argc, char **argv, csr_args *a)
{
    for (int i = 1; i < argc; i++) {
        int r;

        if (cli_help_asked(argv[i]))
            return cli_help_show(csr_usage), CLI_HELP_SHOWN;
        r = cli_token_opt(argc, argv, &i, "--subject", &a->subject);

        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--key-id", &a->hex);
        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--key-label", &a->label);
        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "-o", &a->out);
        if (r == 0)
            r = cli_token_opt(argc, argv, &i, "--output", &a->out);
        if (r == 0)
            r = cli_token_login_opt(argv[i], &a->login_flags);
        if (r == 0)
            cli_error("token csr: unknown option \"%s\"", argv[i]);
        if (r <= 0)
            return cli_help_bad(csr_usage);
    }
    if (a->subject == NULL) {
        cli_error("token csr: --subject is required, e.g. "
                  "\"/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example\"");
        return cli_help_bad(csr_usage);
    }
    return QSCD_EXIT_OK;
}

static int make_csr(const cli_config *cfg, token *tok, token_key *key, X509_NAME *name,
                    const char *out, unsigned flags)
{
    token_signer signer = { tok, key, { 0 } };
    pin_login_result res;
    pin_login_req req;
    pin_login_code pc;
    lifecycle_err le;
    secret *spin = NULL;
    char prompt[160];
    x509_err xerr;
    char *pem = NULL;
    bool own, failed;
    int rc;

    /* A key with CKA_ALWAYS_AUTHENTICATE signs after a login with the signature PIN. */
    if ((rc = cli_sign_pin_req(cfg, tok, flags, &req, prompt, sizeof(prompt), &own)) != 0)
        return rc;
    if ((pc = pin_sign_begin(tok, key, &req, own, &spin, &res)) != PIN_LOGIN_OK) {
        store_close(req.store);
        lifecycle_sign_pin_failed(pc, &res, &signer.err, "signing the CSR", &le);
        return cli_sign_failed(&le);
    }
    failed = x509_csr_build(key->pub, name, token_signer_sign, &signer, &pem, &xerr) != X509_OK;
    pin_sign_end(tok, key, &req, signer.err.code != TOKEN_OK ? &signer.err : NULL, spin, &res);
    store_close(req.store);
    if (res.record_problem[0] != '\0')
        cli_warn("%s", res.record_problem);
    if (failed) {
        if (signer.err.code != TOKEN_OK) {
            lifecycle_sign_pin_failed(PIN_LOGIN_TOKEN, &res, &signer.err, "signing the CSR", &le);
            return cli_sign_failed(&le);
        }
        cli_error("%s", xerr.message);
        return QSCD_EXIT_TOKEN;
    }
    rc = write_out(out, pem);
    free(pem);
    return rc;
}

int cli_token_csr(const cli_config *cfg, int argc, char **argv)
{
    csr_args a = { 0 };
    unsigned char id[128];
    size_t id_len = 0;
    X509_NAME *name = NULL;
    x509_err xerr;
    token_ctx *ctx = NULL;
    token *tok = NULL;
    token_key *key = NULL;
    secret *pin = NULL;
    token_err err;
    int rc;

    rc = csr_parse(argc, argv, &a);
    if (rc == CLI_HELP_SHOWN)
        return QSCD_EXIT_OK;
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_key_selector(a.hex, id, sizeof(id), &id_len);
    if (rc == QSCD_EXIT_OK && (name = x509_name_parse(a.subject, &xerr)) == NULL) {
        cli_error("--subject: %s", xerr.message);
        rc = QSCD_EXIT_USAGE;
    }
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_open(cfg, &ctx, &tok);
    if (rc == QSCD_EXIT_OK)
        rc = cli_token_login(cfg, tok, a.login_flags, &pin);
    if (rc == QSCD_EXIT_OK &&
        token_find_key(tok, id, id_len, a.label, &key, &err) != TOKEN_OK)
        rc = cli_token_fail(&err);
    if (rc == QSCD_EXIT_OK && key->pub == NULL) {
        cli_error("%s: the public key of the signing key cannot be read", token_name(tok));
        rc = QSCD_EXIT_TOKEN;
    }
    if (rc == QSCD_EXIT_OK)
        rc = make_csr(cfg, tok, key, name, a.out, a.login_flags);
    X509_NAME_free(name);
    token_key_free(key);
    secret_free(pin);
    token_close(tok);
    token_ctx_close(ctx);
    return rc;
}
