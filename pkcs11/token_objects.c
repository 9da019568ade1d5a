/*
 * Objects on the token: finding them, reading attributes, and public keys
 * read into OpenSSL (RSA modulus/exponent, EC parameters/point).
 */
#include "token_internal.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

token_code token_find_objects(token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                              CK_OBJECT_HANDLE **handles, size_t *count, token_err *err)
{
    CK_OBJECT_HANDLE batch[32];
    CK_ULONG got;
    CK_RV rv;

    *handles = NULL;
    *count = 0;
    rv = tok->fn->C_FindObjectsInit(tok->session, tmpl, n);
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: C_FindObjectsInit", tok->name);
    for (;;) {
        CK_OBJECT_HANDLE *h;

        rv = tok->fn->C_FindObjects(tok->session, batch, 32, &got);
        if (rv != CKR_OK || got == 0)
            break;
        h = realloc(*handles, (*count + got) * sizeof(*h));
        if (h == NULL) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        memcpy(h + *count, batch, got * sizeof(*h));
        *handles = h;
        *count += got;
    }
    tok->fn->C_FindObjectsFinal(tok->session);
    if (rv != CKR_OK) {
        free(*handles);
        *handles = NULL;
        *count = 0;
        return token_err_rv(err, rv, "%s: C_FindObjects", tok->name);
    }
    return TOKEN_OK;
}

token_code token_get_attr(token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                          unsigned char **value, size_t *len, token_err *err)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    CK_RV rv;

    *value = NULL;
    *len = 0;
    rv = tok->fn->C_GetAttributeValue(tok->session, obj, &a, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return TOKEN_OK;
    if (rv != CKR_OK)
        return token_err_rv(err, rv, "%s: reading attribute 0x%lx of object %lu", tok->name,
                            (unsigned long)type, (unsigned long)obj);
    a.pValue = malloc(a.ulValueLen + 1);
    if (a.pValue == NULL)
        return token_err_set(err, TOKEN_ERR_NOMEM, CKR_OK, "out of memory");
    rv = tok->fn->C_GetAttributeValue(tok->session, obj, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return token_err_rv(err, rv, "%s: reading attribute 0x%lx of object %lu", tok->name,
                            (unsigned long)type, (unsigned long)obj);
    }
    ((unsigned char *)a.pValue)[a.ulValueLen] = '\0';
    *value = a.pValue;
    *len = a.ulValueLen;
    return TOKEN_OK;
}

token_code token_get_ulong(token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                           CK_ULONG *out, bool *found, token_err *err)
{
    CK_ATTRIBUTE a = { type, out, sizeof(*out) };
    CK_RV rv = tok->fn->C_GetAttributeValue(tok->session, obj, &a, 1);

    *found = rv == CKR_OK;
    if (rv == CKR_OK || rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE)
        return TOKEN_OK;
    return token_err_rv(err, rv, "%s: reading attribute 0x%lx of object %lu", tok->name,
                        (unsigned long)type, (unsigned long)obj);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

static EVP_PKEY *rsa_pkey(const unsigned char *n, size_t n_len, const unsigned char *e,
                          size_t e_len)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
    EVP_PKEY *pkey = NULL;

    if (bld && bn && be && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pkey = pkey_from_params("RSA", bld);
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* CKA_EC_POINT is a DER OCTET STRING by the standard; some modules give it raw. */
static EVP_PKEY *ec_pkey(const unsigned char *params, size_t p_len, const unsigned char *pt,
                         size_t pt_len)
{
    const unsigned char *p = params;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)p_len);
    ASN1_OCTET_STRING *os = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    int nid = oid ? OBJ_obj2nid(oid) : NID_undef;

    p = pt;
    os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)pt_len);
    if (os != NULL && p == pt + pt_len) {
        pt = ASN1_STRING_get0_data(os);
        pt_len = (size_t)ASN1_STRING_length(os);
    }
    if (bld && nid != NID_undef &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_len))
        pkey = pkey_from_params("EC", bld);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

EVP_PKEY *token_read_pkey(token *tok, CK_OBJECT_HANDLE obj, CK_KEY_TYPE type, token_err *err)
{
    CK_ATTRIBUTE_TYPE t1 = type == CKK_RSA ? CKA_MODULUS : CKA_EC_PARAMS;
    CK_ATTRIBUTE_TYPE t2 = type == CKK_RSA ? CKA_PUBLIC_EXPONENT : CKA_EC_POINT;
    unsigned char *a = NULL, *b = NULL;
    size_t a_len, b_len;
    EVP_PKEY *pkey = NULL;

    if (type != CKK_RSA && type != CKK_EC)
        return NULL;
    if (token_get_attr(tok, obj, t1, &a, &a_len, err) != TOKEN_OK ||
        token_get_attr(tok, obj, t2, &b, &b_len, err) != TOKEN_OK)
        goto out;
    if (a == NULL || b == NULL)
        goto out;
    pkey = type == CKK_RSA ? rsa_pkey(a, a_len, b, b_len) : ec_pkey(a, a_len, b, b_len);
out:
    free(a);
    free(b);
    return pkey;
}

void token_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool token_unhex(const char *s, unsigned char *out, size_t cap, size_t *len)
{
    size_t n = 0;

    *len = 0;
    while (*s != '\0') {
        int hi, lo;

        if (*s == ':') {
            s++;
            continue;
        }
        hi = hexval(s[0]);
        lo = hi < 0 ? -1 : hexval(s[1]);
        if (hi < 0 || lo < 0 || n >= cap)
            return false;
        out[n++] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
    *len = n;
    return n > 0;
}
