#!/bin/bash
# The shipped-token case on SoftHSM2: a key pair as DigiCert leaves it, found
# through the p11-kit registry and through --module; a CSR signed on the
# token; the certificate verified and installed next to the key, visible to
# pkcs11-tool and p11tool with the key's ID and label; re-install is a no-op;
# a newer certificate replaces the old one; a certificate for another key
# gives exit 5 and writes nothing.  A distinctive PIN never shows up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"

PIN="Zq7-distinct-PIN-4711"
softhsm_setup
softhsm_token QSCD-01 "$PIN"
softhsm_keypair QSCD-01 a1b2 rsa:2048 "$PIN"
( umask 077; printf '%s\n' "$PIN" > "$T/pin" )
export QSCD_PIN_SOURCE="file:$T/pin"
tca_init || { fail "test CA could not be made"; finish; }
M=(--module "$SOFTHSM_MODULE")

# --- list and locate: registry and --module ------------------------------------
agent token list
expect_rc 0 "token list via the p11-kit registry"
expect_out 'token "QSCD-01"' "registry: the private token is listed"
expect_out 'key: label "QSCD-01-key", id a1b2, RSA 2048' "registry: the shipped key is listed"
agent "${M[@]}" token list --json
expect_rc 0 "token list --json via --module"
if python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = [s for s in d["slots"] if s.get("label") == "QSCD-01"][0]
assert t["uri"].startswith("pkcs11:") and "token=QSCD-01" in t["uri"]
assert t["pin_state"] == "ok" and t["serial"]
assert t["keys"][0]["id"] == "a1b2" and t["keys"][0]["bits"] == 2048
PY
then pass "JSON: uri, pin state, serial, key id and size"; else fail "JSON content"; fi
URI=$(python3 -c 'import json,sys; print([s for s in json.load(open(sys.argv[1]))["slots"] if s.get("label")=="QSCD-01"][0]["uri"])' "$T/out")

agent "${M[@]}" token check
expect_rc 1 "token check before install: not ready"
expect_out 'certificate +MISSING' "check names the missing certificate"

# --- CSR signed on the token ---------------------------------------------------------
agent "${M[@]}" --token "$URI" token csr --subject "$TOKEN_SUBJECT" -o "$T/token.csr"
expect_rc 0 "token csr with --token URI"
if openssl req -verify -in "$T/token.csr" -noout > /dev/null 2>&1; then
    pass "CSR verifies with openssl req -verify"; else fail "CSR does not verify"; fi
if openssl req -in "$T/token.csr" -noout -subject | grep -q 'organizationIdentifier = NTRNL-12345678'; then
    pass "CSR subject carries organizationIdentifier"; else fail "CSR subject"; fi

tca_issue "$T/token.csr" "$T/leaf1.pem"
tca_issue "$T/token.csr" "$T/leaf2.pem"
tca_soft_csr "$T/other.csr"; tca_issue "$T/other.csr" "$T/other.pem"

count_certs() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 -O --type cert 2>/dev/null |
        grep -c '^Certificate Object'
}

# --- mismatch: exit 5, nothing written --------------------------------------------
agent "${M[@]}" token install "$T/other.pem" --chain "$TCA/chain.pem"
expect_rc 5 "install of a certificate for another key"
expect_err 'not for any key on the token' "mismatch is named"
[ "$(count_certs)" = 0 ] && pass "nothing written on mismatch" || fail "objects written on mismatch"

# --- install (registry path) -------------------------------------------------------------
agent token install "$T/leaf1.pem" --chain "$TCA/chain.pem"
expect_rc 0 "install via the registry"
expect_out '^installed' "reported installed"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 -O > "$T/objs" 2>&1
# One certificate object whose label and ID are the private key's.
if awk '/Object;/ { cert = /^Certificate Object/; l = "" }
        cert && /label:/ { l = $2 }
        cert && /ID:/ && l == "QSCD-01-key" && $2 == "a1b2" { found = 1 }
        END { exit !found }' "$T/objs"; then
    pass "pkcs11-tool -O: certificate with the key's label and ID"
else
    fail "pkcs11-tool -O does not show the certificate with label/ID"; cat "$T/objs"
fi
[ "$(count_certs)" = 2 ] && pass "leaf and intermediate installed (root not)" ||
    fail "expected 2 certificates, got $(count_certs)"
GNUTLS_PIN="$PIN" p11tool --provider "$SOFTHSM_MODULE" --login --list-all "$URI" > "$T/p11tool" 2>&1
# p11tool_has TYPE: an object of TYPE labelled QSCD-01-key with ID a1:b2.
p11tool_has() {
    awk -v want="$1" '
        function check() { if (index(t, want) == 1 && l == "QSCD-01-key" && i == "a1:b2") found = 1 }
        /^Object [0-9]+:/ { check(); t = l = i = "" }
        /^\tType: / { sub(/^\tType: /, ""); t = $0 }
        /^\tLabel: / { sub(/^\tLabel: /, ""); l = $0 }
        /^\tID: / { sub(/^\tID: /, ""); i = $0 }
        END { check(); exit !found }' "$T/p11tool"
}
if p11tool_has "X.509 Certificate" && p11tool_has "Private key"; then
    pass "p11tool --list-all: certificate and private key share label and ID"
else
    fail "p11tool view"; cat "$T/p11tool"
fi

agent "${M[@]}" token check
expect_rc 0 "token check after install: ready"

# --- re-install: no-op ------------------------------------------------------------------------
before=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 -O 2>/dev/null | md5sum)
agent "${M[@]}" token install "$T/leaf1.pem" --chain "$TCA/chain.pem"
expect_rc 0 "re-install"
expect_out 'already installed' "re-install reports already installed"
after=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 -O 2>/dev/null | md5sum)
[ "$before" = "$after" ] && pass "re-install changed nothing" || fail "re-install changed objects"

# --- replacement -------------------------------------------------------------------------------
agent "${M[@]}" token install "$T/leaf2.pem" --chain "$TCA/chain.pem"
expect_rc 0 "install a newer certificate for the key"
expect_out 'replaced 1' "the older certificate is replaced"
[ "$(count_certs)" = 2 ] && pass "still one leaf and one intermediate" || fail "count $(count_certs)"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 --read-object --type cert \
    --id a1b2 -o "$T/onchip.der" > /dev/null 2>&1
if cmp -s "$T/onchip.der" <(openssl x509 -in "$T/leaf2.pem" -outform DER); then
    pass "the certificate on the token is the new one"; else fail "token holds another certificate"; fi

# --- profile: deviations named, exit 5, nothing written; --relax ----------------------------
tca_issue "$T/token.csr" "$T/noqc.pem" noqc
before=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 -O 2>/dev/null | md5sum)
agent "${M[@]}" token install "$T/noqc.pem" --chain "$TCA/chain.pem"
expect_rc 5 "certificate without the qualified profile"
expect_err 'nonRepudiation|keyUsage' "keyUsage deviation named"
expect_err 'QcCompliance|QCStatements|qcStatements' "QCStatements deviation named"
after=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-01 -O 2>/dev/null | md5sum)
[ "$before" = "$after" ] && pass "nothing written on profile failure" || fail "objects changed"
agent "${M[@]}" token install "$T/noqc.pem" --chain "$TCA/chain.pem" --relax bogus
expect_rc 2 "unknown --relax check"

# --- the PIN never appears ----------------------------------------------------------------------
agent -v "${M[@]}" token install "$T/leaf2.pem" --chain "$TCA/chain.pem"
expect_rc 0 "verbose re-install"
expect_no_string "$PIN" "PIN not in any output" "$T/out" "$T/err"
echo wrong > "$T/badpin"; chmod 600 "$T/badpin"
agent -v "${M[@]}" --pin-source "file:$T/badpin" token csr --subject "$TOKEN_SUBJECT"
expect_rc 4 "wrong PIN"
expect_no_string "$PIN" "PIN not in error output" "$T/out" "$T/err"
expect_no_string "wrong" "the wrong PIN is not echoed either" "$T/out"
finish
