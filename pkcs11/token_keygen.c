/*
 * Key generation on a blank token (re-keying, test tokens).  The normal
 * case is a key DigiCert already put on the token; this one is only taken
 * when asked, and never next to an existing private key.
 */
#include "token_internal.h"

#include "x509.h"

#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

token_code token_keyspec_parse(const char *s, token_keyspec *out, token_err *err)
{
    static const struct { const char *name; CK_KEY_TYPE type; unsigned bits; int nid; } specs[] = {
        { "rsa:2048", CKK_RSA, 2048, NID_undef },
        { "rsa:3072", CKK_RSA, 3072, NID_undef },
        { "rsa:4096", CKK_RSA, 4096, NID_undef },
        { "ec:P-256", CKK_EC, 256, NID_X9_62_prime256v1 },
        { "ec:P-384", CKK_EC, 384, NID_secp384r1 },
    };

    return_val_if_fail(out != NULL, TOKEN_ERR_INVALID);
    if (s == NULL)
        s = "rsa:3072";
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        if (strcasecmp(s, specs[i].name) == 0) {
            out->type = specs[i].type;
            out->bits = specs[i].bits;
            out->nid = specs[i].nid;
            return TOKEN_OK;
        }
    }
    return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK,
                         "key type \"%s\" is not one of rsa:2048, rsa:3072, rsa:4096, "
                         "ec:P-256, ec:P-384", s);
}

/*
 * A pre-keyed QSCD's key is the one thing that cannot be replaced: no key
 * is generated beside a private or a public key, and only after a login
 * (before it, a token may hide both).
 */
static token_code refuse_if_key(token *tok, token_err *err)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) } };
    CK_OBJECT_HANDLE *h;
    size_t n;
    token_key_list l;
    char d[300] = "";
    token_code rc;

    if (!tok->logged_in)
        return token_err_set(err, TOKEN_ERR_NOT_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
                             "%s: log in before generating a key, so that the keys already "
                             "on the token can be seen", tok->name);
    rc = token_find_objects(tok, tmpl, 1, &h, &n, err);
    free(h);
    if (rc == TOKEN_OK && n == 0) {
        cls = CKO_PUBLIC_KEY;
        rc = token_find_objects(tok, tmpl, 1, &h, &n, err);
        free(h);
    }
    if (rc != TOKEN_OK || n == 0)
        return rc;
    if (token_list_keys(tok, &l, err) == TOKEN_OK && l.count > 0)
        token_key_describe(&l.items[0], d, sizeof(d));
    token_key_list_free(&l);
    return token_err_set(err, TOKEN_ERR_EXISTS, CKR_OK,
                         "%s already holds a key (%s%s); keys are only generated on "
                         "a blank token. Use the key that is there (token csr), or choose "
                         "another token", tok->name, n > 1 ? "and others: " : "", d);
}

static token_code ec_params(int nid, unsigned char **der, int *len, token_err *err)
{
    ASN1_OBJECT *oid = OBJ_nid2obj(nid);

    *der = NULL;
    *len = oid ? i2d_ASN1_OBJECT(oid, der) : -1;
    if (*len <= 0)
        return token_err_set(err, TOKEN_ERR_GENERAL, CKR_OK, "cannot encode the EC curve");
    return TOKEN_OK;
}

/* id NULL: the key pair gets no CKA_ID here (set_id gives it one after). */
static token_code generate(token *tok, const token_keyspec *spec, const char *label,
                           const unsigned char *id, size_t id_len,
                           CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv, token_err *err)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = spec->bits;
    CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
    CK_MECHANISM mech = { spec->type == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN
                                                : CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    unsigned char *curve = NULL;
    int curve_len = 0;
    CK_ULONG lab_len = (CK_ULONG)strlen(label);
    CK_ATTRIBUTE pub_t[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 }, { CKA_VERIFY, &yes, 1 },
        { CKA_LABEL, (void *)label, lab_len },
        { CKA_MODULUS_BITS, &bits, sizeof(bits) },
        { CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent) },
        { CKA_ID, (void *)id, (CK_ULONG)id_len },
    };
    CK_ATTRIBUTE priv_t[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
        { CKA_EXTRACTABLE, &no, 1 }, { CKA_SIGN, &yes, 1 },
        { CKA_LABEL, (void *)label, lab_len },
        { CKA_ID, (void *)id, (CK_ULONG)id_len },
    };
    CK_ULONG n_pub = spec->type == CKK_EC ? 5 : 6, n_priv = 6;
    CK_RV rv;
    token_code rc = TOKEN_OK;

    if (spec->type == CKK_EC) {
        rc = ec_params(spec->nid, &curve, &curve_len, err);
        if (rc != TOKEN_OK)
            return rc;
        /* EC: the curve takes the place of the RSA size and exponent. */
        pub_t[4].type = CKA_EC_PARAMS;
        pub_t[4].pValue = curve;
        pub_t[4].ulValueLen = (CK_ULONG)curve_len;
        pub_t[5] = pub_t[6];   /* the CKA_ID moves up into the exponent's place */
    }
    if (id != NULL) {          /* the last entry of each template */
        n_pub++;
        n_priv++;
    }
    rv = tok->fn->C_GenerateKeyPair(tok->session, &mech, pub_t, n_pub, priv_t, n_priv,
                                    pub, priv);
    if (rv != CKR_OK)
        rc = token_err_rv(err, rv, "%s: generating a %s %u key (C_GenerateKeyPair)",
                          tok->name, spec->type == CKK_RSA ? "RSA" : "EC", spec->bits);
    OPENSSL_free(curve);
    return rc;
}

static token_code set_id(token *tok, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv,
                         EVP_PKEY *pkey, token_key *k, token_err *err)
{
    CK_ATTRIBUTE a = { CKA_ID, k->id, 20 };
    CK_RV rv;

    if (!x509_key_id_sha1(pkey, k->id))
        return token_err_set(err, TOKEN_ERR_GENERAL, CKR_OK,
                             "%s: cannot compute the key ID of the new key", tok->name);
    k->id_len = 20;
    rv = tok->fn->C_SetAttributeValue(tok->session, pub, &a, 1);
    if (rv == CKR_OK)
        rv = tok->fn->C_SetAttributeValue(tok->session, priv, &a, 1);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: setting CKA_ID on the new key", tok->name);
    return TOKEN_OK;
}

static token_code generate_key(token *tok, const token_keyspec *spec, const char *label,
                               const unsigned char *id, size_t id_len, token_key **out,
                               token_err *err)
{
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    token_key *k = NULL;
    token_code rc;

    return_val_if_fail(tok != NULL && spec != NULL && out != NULL, TOKEN_ERR_INVALID);
    return_val_if_fail(id == NULL || (id_len > 0 && id_len <= sizeof(k->id)), TOKEN_ERR_INVALID);
    token_err_clear(err);
    *out = NULL;
    if (label == NULL || *label == '\0')
        return token_err_set(err, TOKEN_ERR_INVALID, CKR_OK, "key label: must not be empty");
    if (!tok->logged_in)
        return token_err_set(err, TOKEN_ERR_NOT_LOGGED_IN, CKR_USER_NOT_LOGGED_IN,
                             "%s: log in before generating a key", tok->name);
    rc = refuse_if_key(tok, err);
    if (rc == TOKEN_OK)
        rc = generate(tok, spec, label, id, id_len, &pub, &priv, err);
    if (rc != TOKEN_OK)
        return rc;
    k = calloc(1, sizeof(*k));
    if (k == NULL || (k->label = strdup(label)) == NULL) {
        rc = token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
        goto out;
    }
    k->type = spec->type;
    k->priv = priv;
    k->pubobj = pub;
    k->can_sign = true;
    /* A token may mark its keys CKA_ALWAYS_AUTHENTICATE on its own: then the
     * CSR itself needs the context-specific login. */
    {
        CK_BBOOL aa = CK_FALSE;
        CK_ATTRIBUTE a = { CKA_ALWAYS_AUTHENTICATE, &aa, sizeof(aa) };

        k->always_authenticate =
            tok->fn->C_GetAttributeValue(tok->session, priv, &a, 1) == CKR_OK && aa == CK_TRUE;
    }
    k->pub = token_read_pkey(tok, pub, spec->type, err);
    if (k->pub == NULL) {
        rc = token_err_set(err, TOKEN_ERR_GENERAL, CKR_OK,
                           "%s: cannot read the public half of the new key", tok->name);
        goto out;
    }
    k->bits = (unsigned)EVP_PKEY_get_bits(k->pub);
    if (id != NULL) {
        memcpy(k->id, id, id_len);
        k->id_len = id_len;
    } else {
        rc = set_id(tok, pub, priv, k->pub, k, err);
    }
out:
    if (rc != TOKEN_OK) {
        token_key_free(k);
        k = NULL;
    }
    *out = k;
    return rc;
}

token_code token_generate_key(token *tok, const token_keyspec *spec, const char *label,
                              token_key **out, token_err *err)
{
    return generate_key(tok, spec, label, NULL, 0, out, err);
}

token_code token_generate_key_id(token *tok, const token_keyspec *spec, const char *label,
                                 const unsigned char *id, size_t id_len, token_key **out,
                                 token_err *err)
{
    return_val_if_fail(id != NULL, TOKEN_ERR_INVALID);
    return generate_key(tok, spec, label, id, id_len, out, err);
}
