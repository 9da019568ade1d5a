/*
 * x509_profile: is this a qualified eSeal certificate on a QSCD
 * (ETSI EN 319 412-1/-3/-5), valid now, from a chain that links?
 *
 * Every check runs and every deviation is named; one deviation never hides
 * the next, so the person reading the report fixes everything in one go.
 */
#include "x509_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define OID_QCP_L_QSCD "0.4.0.194112.1.3"
#define OID_QCP_L      "0.4.0.194112.1.1"
#define RSA_MIN_BITS   2048
#define EC_MIN_BITS    256

x509_code x509_report_add(x509_report *r, bool relaxed, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);

    char ***list = relaxed ? &r->relaxed : &r->items;
    size_t *n = relaxed ? &r->n_relaxed : &r->count;
    char **grown = realloc(*list, (*n + 1) * sizeof **list);
    if (!grown)
        return X509_ERR_NOMEM;
    *list = grown;
    grown[*n] = strdup(buf);
    if (!grown[*n])
        return X509_ERR_NOMEM;
    (*n)++;
    return X509_OK;
}

void x509_report_free(x509_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        free(r->items[i]);
    for (size_t i = 0; i < r->n_relaxed; i++)
        free(r->relaxed[i]);
    free(r->items);
    free(r->relaxed);
    memset(r, 0, sizeof *r);
}

static x509_code check_key_usage(X509 *leaf, bool relaxed, x509_report *r)
{
    int idx = X509_get_ext_by_NID(leaf, NID_key_usage, -1);
    if (idx < 0)
        return x509_report_add(r, relaxed,
                               "keyUsage missing: it must be present, critical, "
                               "with nonRepudiation (contentCommitment)");
    x509_code rc = X509_OK;
    if (!(X509_get_key_usage(leaf) & KU_NON_REPUDIATION))
        rc = x509_report_add(r, relaxed, "keyUsage lacks nonRepudiation (contentCommitment)");
    if (!rc && !X509_EXTENSION_get_critical(X509_get_ext(leaf, idx)))
        rc = x509_report_add(r, relaxed, "keyUsage is not marked critical");
    return rc;
}

static bool policy_has(const CERTIFICATEPOLICIES *pols, const char *dotted)
{
    ASN1_OBJECT *want = OBJ_txt2obj(dotted, 1);
    bool found = false;
    for (int i = 0; want && !found && i < sk_POLICYINFO_num(pols); i++)
        found = OBJ_cmp(sk_POLICYINFO_value(pols, i)->policyid, want) == 0;
    ASN1_OBJECT_free(want);
    return found;
}

static x509_code check_policies(X509 *leaf, bool relaxed, x509_report *r)
{
    int crit = 0;
    CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(leaf, NID_certificate_policies, &crit, NULL);
    x509_code rc = X509_OK;

    if (!pols) {
        rc = x509_report_add(r, relaxed, crit == -1
                             ? "certificatePolicies missing: QCP-l-qscd (" OID_QCP_L_QSCD ") expected"
                             : "certificatePolicies cannot be decoded");
        goto out;
    }
    if (!policy_has(pols, OID_QCP_L_QSCD))
        rc = x509_report_add(r, relaxed, "certificatePolicies: QCP-l-qscd (" OID_QCP_L_QSCD
                             ") missing%s",
                             policy_has(pols, OID_QCP_L) ? "; it has QCP-l (" OID_QCP_L
                             "), the policy for a seal whose key is not on a QSCD" : "");
out:
    CERTIFICATEPOLICIES_free(pols);
    return rc;
}

/* ETSI EN 319 412-3: the subject of a legal person. */
static x509_code check_subject(X509 *leaf, x509_report *r)
{
    static const struct { int nid; const char *what; } need[] = {
        { NID_countryName, "countryName (C)" },
        { NID_organizationName, "organizationName (O)" },
        { NID_organizationIdentifier,
          "organizationIdentifier (2.5.4.97, e.g. NTRNL- and the KvK number)" },
        { NID_commonName, "commonName (CN)" },
    };
    const X509_NAME *subj = X509_get_subject_name(leaf);
    x509_code rc = X509_OK;

    for (size_t i = 0; !rc && i < sizeof need / sizeof need[0]; i++)
        if (X509_NAME_get_index_by_NID(subj, need[i].nid, -1) < 0)
            rc = x509_report_add(r, false, "subject lacks %s", need[i].what);
    return rc;
}

static void format_day(const ASN1_TIME *t, char out[16])
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(out, 16, "%Y-%m-%d", &tm))
        snprintf(out, 16, "(unreadable)");
}

static x509_code check_validity_of(X509 *cert, const char *who, time_t now, bool relaxed,
                                   x509_report *r)
{
    char day[16], today[16];
    struct tm tm;
    ASN1_TIME *now_t = ASN1_TIME_set(NULL, now);

    if (!now_t)
        return X509_ERR_NOMEM;
    if (!gmtime_r(&now, &tm) || !strftime(today, sizeof today, "%Y-%m-%d", &tm))
        snprintf(today, sizeof today, "(unknown)");
    x509_code rc = X509_OK;
    const ASN1_TIME *nb = X509_get0_notBefore(cert), *na = X509_get0_notAfter(cert);
    if (ASN1_TIME_compare(nb, now_t) > 0) {
        format_day(nb, day);
        rc = x509_report_add(r, relaxed, "%s not valid before %s (now %s)", who, day, today);
    } else if (ASN1_TIME_compare(na, now_t) < 0) {
        format_day(na, day);
        rc = x509_report_add(r, relaxed, "%s expired on %s (now %s)", who, day, today);
    }
    ASN1_TIME_free(now_t);
    return rc;
}

static x509_code check_validity(const x509_chain *c, time_t now, bool relaxed, x509_report *r)
{
    char who[300], name[256];
    x509_code rc = check_validity_of(c->leaf, "certificate", now, relaxed, r);

    for (size_t i = 0; !rc && i < c->n_rest; i++) {
        x509_display_name(X509_get_subject_name(c->rest[i]), name, sizeof name);
        snprintf(who, sizeof who, "CA certificate \"%s\"", name);
        rc = check_validity_of(c->rest[i], who, now, relaxed, r);
    }
    return rc;
}

/* EU qualified products: SHA-256 only; RSA >= 2048 (EC P-256 or larger). */
static x509_code check_algorithms(X509 *leaf, x509_report *r)
{
    int md = NID_undef, pk = NID_undef;
    x509_code rc = X509_OK;

    if (!X509_get_signature_info(leaf, &md, &pk, NULL, NULL) || md != NID_sha256)
        rc = x509_report_add(r, false, "signature hash is %s, not SHA-256 (%s)",
                             md == NID_undef ? "unknown" : OBJ_nid2sn(md),
                             OBJ_nid2ln(X509_get_signature_nid(leaf)));
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    int bits = key ? EVP_PKEY_get_bits(key) : 0;
    if (rc)
        return rc;
    if (!key)
        rc = x509_report_add(r, false, "public key cannot be decoded");
    else if (EVP_PKEY_is_a(key, "RSA") && bits < RSA_MIN_BITS)
        rc = x509_report_add(r, false, "RSA key has %d bits; at least %d required",
                             bits, RSA_MIN_BITS);
    else if (EVP_PKEY_is_a(key, "EC") && bits < EC_MIN_BITS)
        rc = x509_report_add(r, false, "EC key has %d bits; at least %d (P-256) required",
                             bits, EC_MIN_BITS);
    else if (!EVP_PKEY_is_a(key, "RSA") && !EVP_PKEY_is_a(key, "EC"))
        rc = x509_report_add(r, false, "public key type %s is not RSA or EC",
                             EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?");
    return rc;
}

static x509_code run_checks(const x509_chain *c, time_t now, unsigned relax, x509_report *r,
                            bool *chain_bad)
{
    x509_code rc = check_key_usage(c->leaf, relax & X509_RELAX_KEY_USAGE, r);
    if (!rc)
        rc = x509_qc_check(c->leaf, relax & X509_RELAX_QC_STATEMENTS, r);
    if (!rc)
        rc = check_policies(c->leaf, relax & X509_RELAX_POLICY, r);
    if (!rc)
        rc = check_subject(c->leaf, r);
    if (!rc)
        rc = check_algorithms(c->leaf, r);
    if (!rc)
        rc = check_validity(c, now, relax & X509_RELAX_VALIDITY, r);
    size_t before = r->count;
    if (!rc)
        rc = x509_link_check(c, relax & X509_RELAX_CHAIN, r);
    *chain_bad = r->count > before;
    return rc;
}

x509_code x509_check_profile(const x509_chain *chain, time_t now, unsigned relax,
                             x509_report *report, x509_err *err)
{
    char name[256];

    if (!report)
        return x509_fail(err, X509_ERR_PROFILE, "x509_check_profile: no report given");
    memset(report, 0, sizeof *report);
    if (!chain || !chain->leaf)
        return x509_fail(err, X509_ERR_PARSE, "x509_check_profile: no certificate given");

    bool chain_bad = false;
    x509_code rc = run_checks(chain, now, relax, report, &chain_bad);
    ERR_clear_error();
    if (rc)
        return x509_fail(err, rc, "out of memory while checking the certificate");
    if (report->count == 0)
        return X509_OK;

    x509_display_name(X509_get_subject_name(chain->leaf), name, sizeof name);
    return x509_fail(err, chain_bad ? X509_ERR_CHAIN : X509_ERR_PROFILE,
                     "certificate \"%.200s\" is not a qualified eSeal on a QSCD: %s%s",
                     name, report->items[0],
                     report->count > 1 ? " (and more, see the report)" : "");
}
