#!/bin/bash
# Key generation on blank SoftHSM2 tokens: RSA (default 3072) and EC P-256
# (then RSA 2048/4096 and EC P-384), with the attributes a QSCD key needs
# and CKA_ID = SHA-1 of the public key on both halves; refused next to an
# existing key; a CSR for each verifies; the certificate issued for the
# generated key installs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"

PIN="Kg9-distinct-PIN-0815"
softhsm_setup
softhsm_token BLANK-RSA "$PIN"
softhsm_token BLANK-EC "$PIN"
( umask 077; printf '%s\n' "$PIN" > "$T/pin" )
export QSCD_PIN_SOURCE="file:$T/pin"
tca_init || { fail "test CA could not be made"; finish; }
M=(--module "$SOFTHSM_MODULE")
RSA_URI="pkcs11:token=BLANK-RSA"
EC_URI="pkcs11:token=BLANK-EC"

agent "${M[@]}" token check
expect_rc 2 "two tokens and no --token: ambiguous"
expect_err 'BLANK-RSA' "candidates listed (1)"
expect_err 'BLANK-EC' "candidates listed (2)"

agent "${M[@]}" --token "$RSA_URI" token generate-key --key-type rsa:9999
expect_rc 2 "bad --key-type"
expect_err 'key-type' "bad key type named"

agent "${M[@]}" --token "$RSA_URI" token generate-key --label seal-rsa
expect_rc 0 "generate the default key (RSA 3072)"
RSA_ID=$(tr -d '\n' < "$T/out")
agent "${M[@]}" --token "$EC_URI" token generate-key --key-type ec:P-256 --label seal-ec
expect_rc 0 "generate EC P-256"
EC_ID=$(tr -d '\n' < "$T/out")

# attrs LABEL TYPE ID: the attributes pkcs11-tool shows for one object.
attrs() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$1" --login --pin "$PIN" -O \
        --type "$2" --id "$3" 2>/dev/null
}
attrs BLANK-RSA privkey "$RSA_ID" > "$T/priv"
grep -q 'RSA' "$T/priv" && pass "RSA private key present with the reported ID" || fail "no RSA private key with id $RSA_ID"
grep -q 'Usage: *.*sign' "$T/priv" && pass "private key can sign" || fail "private key usage"
grep -q 'Access: *sensitive, always sensitive, never extractable' "$T/priv" &&
    pass "private key sensitive and never extractable" || { fail "private key access flags"; cat "$T/priv"; }
attrs BLANK-RSA pubkey "$RSA_ID" > "$T/pub"
grep -q 'RSA 3072 bits' "$T/pub" && pass "public half RSA 3072 with the same ID" || { fail "public key"; cat "$T/pub"; }
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label BLANK-RSA --read-object --type pubkey \
    --id "$RSA_ID" -o "$T/pub.der" > /dev/null 2>&1
# SHA-1 over the subjectPublicKey BIT STRING contents (RFC 5280 method 1).
want=$(python3 - "$T/pub.der" <<'PY'
import hashlib, subprocess, sys
der = subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", sys.argv[1],
                      "-outform", "DER"], capture_output=True).stdout
# SubjectPublicKeyInfo: SEQ { AlgorithmIdentifier, BIT STRING }; take the bit string.
def tlv(b, i):
    l = b[i+1]; i2 = i + 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i2:i2+n], "big"); i2 += n
    return i2, l
i, _ = tlv(der, 0)
j, l = tlv(der, i); i = j + l          # skip AlgorithmIdentifier
j, l = tlv(der, i)
print(hashlib.sha1(der[j+1:j+l]).hexdigest())
PY
)
[ "$RSA_ID" = "$want" ] && pass "CKA_ID is the SHA-1 of the public key" || fail "CKA_ID $RSA_ID, expected $want"
attrs BLANK-EC privkey "$EC_ID" | grep -q 'EC' && pass "EC private key with the reported ID" || fail "EC private key"
attrs BLANK-EC pubkey "$EC_ID" | grep -q 'EC_POINT 256 bits' && pass "EC public half P-256" || fail "EC public key"

agent "${M[@]}" --token "$RSA_URI" token generate-key
expect_rc 4 "second generate-key on the same token is refused"
expect_err 'already holds a key \(label "seal-rsa"' "refusal names the existing key"

for t in RSA EC; do
    uri=$([ $t = RSA ] && echo "$RSA_URI" || echo "$EC_URI")
    agent "${M[@]}" --token "$uri" token csr --subject "$TOKEN_SUBJECT" -o "$T/$t.csr"
    expect_rc 0 "CSR for the generated $t key"
    openssl req -verify -in "$T/$t.csr" -noout > /dev/null 2>&1 &&
        pass "$t CSR verifies with openssl req -verify" || fail "$t CSR does not verify"
    tca_issue "$T/$t.csr" "$T/$t.pem"
    agent "${M[@]}" --token "$uri" token install "$T/$t.pem" --chain "$TCA/chain.pem"
    expect_rc 0 "install the certificate for the generated $t key"
    agent "${M[@]}" --token "$uri" token check
    expect_rc 0 "$t token ready"
done
# The other selectable key types, end to end: generate, check the size the
# token reports, a CSR that verifies.
for spec in rsa:2048 rsa:4096 ec:P-384; do
    label="BLANK-$(echo "$spec" | tr ':a-z' '-A-Z')"
    softhsm_token "$label" "$PIN"
    agent "${M[@]}" --token "pkcs11:token=$label" token generate-key --key-type "$spec"
    expect_rc 0 "generate $spec"
    id=$(tr -d '\n' < "$T/out")
    case $spec in
        rsa:*) want="RSA ${spec#rsa:} bits" ;;
        ec:P-384) want="EC_POINT 384 bits" ;;
    esac
    attrs "$label" pubkey "$id" | grep -q "$want" && pass "$spec: public half is $want" ||
        fail "$spec: public half is not $want"
    agent "${M[@]}" --token "pkcs11:token=$label" token csr --subject "$TOKEN_SUBJECT" \
        -o "$T/$label.csr"
    expect_rc 0 "$spec: CSR"
    openssl req -verify -in "$T/$label.csr" -noout > /dev/null 2>&1 &&
        pass "$spec: CSR verifies with openssl req -verify" || fail "$spec: CSR does not verify"
done
expect_no_string "$PIN" "PIN not in output" "$T/out" "$T/err"
finish
