/*
 * x509_qc: the QCStatements extension (RFC 3739, ETSI EN 319 412-5).
 *
 *   QCStatements ::= SEQUENCE OF QCStatement
 *   QCStatement  ::= SEQUENCE { statementId OID, statementInfo ANY OPTIONAL }
 *   QcType info  ::= SEQUENCE OF OID
 *
 * Decoded with OpenSSL's generic SEQUENCE OF ANY so that statements we do
 * not know (QcPDS, QcRetentionPeriod, ...) pass through untouched.
 */
#include "x509_internal.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#define OID_QC_COMPLIANCE "0.4.0.1862.1.1"
#define OID_QC_SSCD       "0.4.0.1862.1.4"
#define OID_QC_TYPE       "0.4.0.1862.1.6"
#define OID_QCT_ESIGN     "0.4.0.1862.1.6.1"
#define OID_QCT_ESEAL     "0.4.0.1862.1.6.2"
#define OID_QCT_WEB       "0.4.0.1862.1.6.3"

static bool oid_is(const ASN1_OBJECT *obj, const char *dotted)
{
    char buf[80];
    int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
    return n > 0 && (size_t)n < sizeof buf && strcmp(buf, dotted) == 0;
}

/* DER of a SEQUENCE (tag included) as a stack; NULL unless it is exactly that. */
static ASN1_SEQUENCE_ANY *seq_decode(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    if (seq && p != der + len) {
        sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
        return NULL;
    }
    return seq;
}

static ASN1_SEQUENCE_ANY *type_as_seq(const ASN1_TYPE *t)
{
    if (!t || t->type != V_ASN1_SEQUENCE || !t->value.sequence)
        return NULL;
    return seq_decode(t->value.sequence->data, t->value.sequence->length);
}

/* QcType: every OID must be one we can name; anything else is noted too. */
static bool parse_qc_type(const ASN1_TYPE *info_t, x509_qc_info *info)
{
    ASN1_SEQUENCE_ANY *types = type_as_seq(info_t);
    if (!types)
        return false;
    bool ok = true;
    for (int i = 0; i < sk_ASN1_TYPE_num(types); i++) {
        const ASN1_TYPE *t = sk_ASN1_TYPE_value(types, i);
        if (t->type != V_ASN1_OBJECT) {
            ok = false;
            break;
        }
        if (oid_is(t->value.object, OID_QCT_ESIGN))
            info->type_esign = true;
        else if (oid_is(t->value.object, OID_QCT_ESEAL))
            info->type_eseal = true;
        else if (oid_is(t->value.object, OID_QCT_WEB))
            info->type_web = true;
        else
            info->type_other = true;
    }
    sk_ASN1_TYPE_pop_free(types, ASN1_TYPE_free);
    return ok;
}

static bool parse_statement(const ASN1_TYPE *st, x509_qc_info *info)
{
    ASN1_SEQUENCE_ANY *parts = type_as_seq(st);
    bool ok = false;

    if (!parts)
        return false;
    int n = sk_ASN1_TYPE_num(parts);
    const ASN1_TYPE *id = n >= 1 ? sk_ASN1_TYPE_value(parts, 0) : NULL;
    if (n < 1 || n > 2 || id->type != V_ASN1_OBJECT)
        goto out;
    const ASN1_TYPE *arg = n == 2 ? sk_ASN1_TYPE_value(parts, 1) : NULL;
    ok = true;
    if (oid_is(id->value.object, OID_QC_COMPLIANCE)) {
        info->compliance = true;
    } else if (oid_is(id->value.object, OID_QC_SSCD)) {
        info->sscd = true;
    } else if (oid_is(id->value.object, OID_QC_TYPE)) {
        info->has_type = true;
        ok = parse_qc_type(arg, info);
    }
out:
    sk_ASN1_TYPE_pop_free(parts, ASN1_TYPE_free);
    return ok;
}

x509_code x509_qc_parse(X509 *cert, x509_qc_info *info, x509_err *err)
{
    ASN1_SEQUENCE_ANY *stmts = NULL;
    x509_code rc = X509_OK;

    if (!cert || !info)
        return x509_fail(err, X509_ERR_PARSE, "x509_qc_parse: no certificate given");
    memset(info, 0, sizeof *info);
    int idx = X509_get_ext_by_NID(cert, NID_qcStatements, -1);
    if (idx < 0)
        return X509_OK;
    info->present = true;
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    stmts = os ? seq_decode(os->data, os->length) : NULL;
    if (!stmts) {
        info->malformed = true;
        rc = x509_fail(err, X509_ERR_PARSE,
                       "QCStatements: the extension is not a SEQUENCE OF QCStatement");
        goto out;
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(stmts); i++) {
        if (!parse_statement(sk_ASN1_TYPE_value(stmts, i), info)) {
            info->malformed = true;
            rc = x509_fail(err, X509_ERR_PARSE,
                           "QCStatements: statement %d is not {statementId OID, statementInfo}"
                           " (QcType needs a SEQUENCE OF OID)", i + 1);
            goto out;
        }
    }
out:
    sk_ASN1_TYPE_pop_free(stmts, ASN1_TYPE_free);
    ERR_clear_error();
    return rc;
}

x509_code x509_qc_check(X509 *leaf, bool relaxed, x509_report *r)
{
    x509_qc_info qc;
    x509_err err;
    x509_code rc = X509_OK;

    if (x509_qc_parse(leaf, &qc, &err) != X509_OK)
        return x509_report_add(r, relaxed, "%s", err.message);
    if (!qc.present)
        return x509_report_add(r, relaxed,
                               "QCStatements (1.3.6.1.5.5.7.1.3) missing: the certificate "
                               "does not claim to be qualified");
    if (!qc.compliance)
        rc = x509_report_add(r, relaxed,
                             "QCStatements: QcCompliance (" OID_QC_COMPLIANCE ") missing: "
                             "the certificate does not claim to be an EU qualified certificate");
    if (!rc && !qc.sscd)
        rc = x509_report_add(r, relaxed,
                             "QCStatements: QcSSCD (" OID_QC_SSCD ") missing: "
                             "the certificate does not say its key is on a QSCD");
    if (!rc && !qc.has_type)
        rc = x509_report_add(r, relaxed,
                             "QCStatements: QcType (" OID_QC_TYPE ") missing: "
                             "the certificate does not say it is for electronic seals (eseal "
                             OID_QCT_ESEAL ")");
    else if (!rc && !qc.type_eseal)
        rc = x509_report_add(r, relaxed,
                             "QCStatements: QcType is %s, not eseal (" OID_QCT_ESEAL ")",
                             qc.type_esign ? "esign (" OID_QCT_ESIGN "), for signatures of a person"
                             : qc.type_web ? "web (" OID_QCT_WEB "), for websites"
                             : "empty or unknown");
    else if (!rc && (qc.type_esign || qc.type_web))
        rc = x509_report_add(r, relaxed,
                             "QCStatements: QcType lists eseal together with %s; an eSeal "
                             "certificate is for seals only",
                             qc.type_esign ? "esign (" OID_QCT_ESIGN ")" : "web (" OID_QCT_WEB ")");
    return rc;
}
