#!/bin/bash
# The attributes of what `token install` writes, read back straight from
# SoftHSM2 (ctypes, logged in): the leaf as CKO_CERTIFICATE/CKC_X_509 with
# CKA_VALUE, CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER equal to the
# certificate's DER, CKA_TOKEN true, CKA_CERTIFICATE_CATEGORY 1, CKA_ID and
# CKA_LABEL equal to the key's; the intermediate with category 2 and its own
# ID; no root.  The key here is one without CKA_ID and label (as some
# issuers leave it): both halves get SHA-1 of the public key as ID and the
# certificate's CN as label, never an empty ID.  Then the profile checks
# before install: an expired certificate and one without the qualified
# profile are refused naming each deviation (exit 5, nothing written) and
# installed only with an explicit --relax naming the check.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"

PIN="At6-distinct-PIN-9931"
softhsm_setup
softhsm_token QSCD-ATTR "$PIN"
# A key pair with neither CKA_ID nor CKA_LABEL.
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-ATTR --login --pin "$PIN" \
    --keypairgen --key-type rsa:2048 > /dev/null 2>&1
( umask 077; printf '%s\n' "$PIN" > "$T/pin" )
export QSCD_PIN_SOURCE="file:$T/pin"
tca_init || { fail "test CA could not be made"; finish; }
M=(--module "$SOFTHSM_MODULE")

agent "${M[@]}" token list
expect_out 'key: label "", id \(none\), RSA 2048' "the key has no ID and no label"
agent "${M[@]}" token csr --subject "$TOKEN_SUBJECT" -o "$T/csr"
expect_rc 0 "CSR for the key without ID"
tca_issue "$T/csr" "$T/leaf.pem"
openssl x509 -in "$T/leaf.pem" -outform DER -out "$T/leaf.der"
openssl x509 -in "$TCA/int.pem" -outform DER -out "$T/int.der"

agent "${M[@]}" token install "$T/leaf.pem" --chain "$TCA/chain.pem"
expect_rc 0 "install for a key without ID"
expect_err 'had no CKA_ID' "the user is told the key got an ID"
tca_objects "$SOFTHSM_MODULE" QSCD-ATTR "$PIN" "$T/objs.json"

check_attrs() {
    python3 - "$T/objs.json" "$T/leaf.der" "$T/int.der" <<'PY'
import hashlib, json, sys
objs = json.load(open(sys.argv[1]))
leaf, inter = open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()

def tlv(b, i):
    """(start of value, length, end) of the TLV at i."""
    l, j = b[i + 1], i + 2
    if l & 0x80:
        n = l & 0x7f
        l, j = int.from_bytes(b[j:j + n], "big"), j + n
    return j, l, j + l

def children(b, i):
    j, _, end = tlv(b, i)
    out = []
    while j < end:
        out.append(j)
        j = tlv(b, j)[2]
    return out

def fields(der):
    tbs = children(der, 0)[0]
    c = children(der, tbs)
    if der[c[0]] == 0xa0:          # [0] version
        c = c[1:]
    serial, issuer, subject, spki = c[0], c[2], c[4], c[5]
    part = lambda i: der[i:tlv(der, i)[2]]
    bits = children(der, spki)[1]
    v, l, _ = tlv(der, bits)
    return {"serial": part(serial).hex(), "issuer": part(issuer).hex(),
            "subject": part(subject).hex(),
            "keyid": hashlib.sha1(der[v + 1:v + l]).hexdigest()}

bad = []
def want(cond, what):
    if not cond:
        bad.append(what)

certs = [o for o in objs if o.get("class") == 1]
privs = [o for o in objs if o.get("class") == 3]
pubs = [o for o in objs if o.get("class") == 2]
want(len(certs) == 2, "two certificates (leaf, intermediate), got %d" % len(certs))
lf, it = fields(leaf), fields(inter)
c = [o for o in certs if o.get("value") == leaf.hex()]
want(len(c) == 1, "one certificate object holds the leaf")
if c:
    c = c[0]
    want(c.get("certificate_type") == 0, "leaf CKA_CERTIFICATE_TYPE CKC_X_509")
    want(c.get("certificate_category") == 1, "leaf CKA_CERTIFICATE_CATEGORY 1, got %s" % c.get("certificate_category"))
    want(c.get("token") is True, "leaf CKA_TOKEN true")
    want(c.get("private") is False, "leaf CKA_PRIVATE false")
    want(c.get("subject") == lf["subject"], "leaf CKA_SUBJECT is the DER subject")
    want(c.get("issuer") == lf["issuer"], "leaf CKA_ISSUER is the DER issuer")
    want(c.get("serial_number") == lf["serial"], "leaf CKA_SERIAL_NUMBER is the DER INTEGER")
    want(c.get("id") == lf["keyid"], "leaf CKA_ID is SHA-1 of the public key, got %r" % c.get("id"))
    want(c.get("label") == "Example Seal", "leaf label is the CN, got %r" % c.get("label"))
    for k, kind in ((privs, "private"), (pubs, "public")):
        want(len(k) == 1 and k[0].get("id") == c.get("id"), "%s key CKA_ID equals the certificate's" % kind)
        want(len(k) == 1 and k[0].get("label") == c.get("label"), "%s key label equals the certificate's" % kind)
i = [o for o in certs if o.get("value") == inter.hex()]
want(len(i) == 1, "one certificate object holds the intermediate")
if i:
    i = i[0]
    want(i.get("certificate_category") == 2, "intermediate CKA_CERTIFICATE_CATEGORY 2")
    want(i.get("id") == it["keyid"], "intermediate has its own ID (SHA-1 of its key)")
    want(i.get("subject") == it["subject"] and i.get("issuer") == it["issuer"], "intermediate subject/issuer")
    want(i.get("token") is True, "intermediate CKA_TOKEN true")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
}
if check_attrs > "$T/attrs.log" 2>&1; then
    pass "leaf, intermediate and key attributes as the issue asks"
else
    fail "attributes: $(cat "$T/attrs.log")"
fi

# A re-run sees the key with its new ID: nothing written.
agent "${M[@]}" token install "$T/leaf.pem" --chain "$TCA/chain.pem"
expect_rc 0 "re-install"
expect_out 'already installed' "re-install is a no-op"

# --- profile checks before install ---------------------------------------------
count_certs() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-ATTR -O --type cert 2>/dev/null |
        grep -c '^Certificate Object'
}
snapshot() { pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-ATTR -O 2>/dev/null | md5sum; }

if tca_issue_dates "$T/csr" "$T/expired.pem" 20200101000000Z 20210101000000Z; then
    before=$(snapshot)
    agent "${M[@]}" token install "$T/expired.pem" --chain "$TCA/chain.pem"
    expect_rc 5 "an expired certificate is refused"
    expect_err 'profile: .*(valid|expired)' "the validity deviation is named"
    [ "$before" = "$(snapshot)" ] && pass "expired: nothing written" || fail "expired: objects changed"
    agent "${M[@]}" token install "$T/expired.pem" --chain "$TCA/chain.pem" --relax validity
    expect_rc 0 "--relax validity installs the expired certificate"
    expect_err 'relaxed: .*(valid|expired)' "the relaxed check is still named"
else
    fail "could not issue an expired certificate"
fi

agent "${M[@]}" token install "$T/leaf.pem"
expect_rc 5 "the leaf without its chain: the chain does not link"
expect_err 'profile: .*(chain|issuer|intermediate)' "the chain deviation is named"

tca_issue "$T/csr" "$T/noqc.pem" noqc
before=$(snapshot)
agent "${M[@]}" token install "$T/noqc.pem" --chain "$TCA/chain.pem" --relax key-usage
expect_rc 5 "relaxing keyUsage alone leaves the other deviations"
expect_err 'profile: .*(QcCompliance|QCStatements|qcStatements)' "QCStatements still named"
[ "$before" = "$(snapshot)" ] && pass "partial relax: nothing written" || fail "partial relax: objects changed"
agent "${M[@]}" token install "$T/noqc.pem" --chain "$TCA/chain.pem" \
    --relax key-usage,qc-statements,policy
expect_rc 0 "every deviation relaxed explicitly: installed"
expect_err 'relaxed: .*(nonRepudiation|keyUsage)' "relaxed keyUsage named"
expect_err 'relaxed: .*(QcCompliance|QCStatements|qcStatements)' "relaxed QCStatements named"
[ "$(count_certs)" = 2 ] && pass "the relaxed certificate replaced the previous one" ||
    fail "expected 2 certificates, got $(count_certs)"
expect_no_string "$PIN" "PIN not in output" "$T/out" "$T/err"
finish
