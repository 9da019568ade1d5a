#!/bin/bash
# The agent against quirks of real modules (the fault module's profiles,
# QSCD_P11FAULT_PROFILE): PIN flags never set and a wrong PIN answered with
# CKR_GENERAL_ERROR (never tried twice either way); keys that need a
# context-specific login with their own signature PIN (the CSR and the test
# signature; a refused one ends the signature and is never sent twice); a
# full token (nothing half-written, the old certificate kept); labels of at
# most 32 bytes; CKA_PRIVATE required on certificates; a reader that claims
# a PIN pad it has not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

PIN="Qk3-distinct-PIN-7719"
SIGNPIN="Sg8-distinct-SIG-2290"
softhsm_setup
tca_replacement_fixture "$PIN"
export QSCD_P11FAULT_LOG="$T/p11f.log"
unset QSCD_PIN_SOURCE
( umask 077; printf 'wrong-Pin-9\n' > "$T/bad"; printf '%s\n' "$SIGNPIN" > "$T/signpin" )
logins() { log_count '^C_Login'; }
# RETRY=--retry-pin csr GLOBAL_OPTIONS...
csr() { agent "${F[@]}" --token "pkcs11:token=QSCD-01" "$@" token csr --subject "$TOKEN_SUBJECT" -o "$T/req.pem" ${RETRY:-}; }
fresh_records() { rm -rf "$QSCD_STATE_DIR/pin-refused"; }

# --- no-pin-flags: a wrong PIN, no counter in the flags, never sent twice ------------------
export QSCD_P11FAULT_PROFILE=no-pin-flags QSCD_P11FAULT_PIN_TRIES=3
: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/bad"
expect_rc 4 "no-pin-flags: a wrong PIN"
expect_err 'does not report a try counter' "it says the token reports no counter"
csr --pin-source "file:$T/bad"
expect_rc 4 "no-pin-flags: the same source again is refused before a login"
[ "$(logins)" = 1 ] && pass "no-pin-flags: one C_Login in all" || fail "$(logins) C_Login calls"
RETRY=--retry-pin csr --pin-source "file:$T/pin"
expect_rc 0 "the right PIN (sent once more explicitly) works"
fresh_records

# --- wrong-pin-general-error: the outcome is unknown, still never retried ------------------
export QSCD_P11FAULT_PROFILE=wrong-pin-general-error
: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/bad"
expect_rc 4 "wrong-pin-general-error: a wrong PIN"
expect_err 'CKR_GENERAL_ERROR' "the module's answer is named"
grep -q '"outcome":[[:space:]]*"unknown"' "$QSCD_STATE_DIR"/pin-refused/*.json 2>/dev/null &&
    pass "recorded as an unknown outcome" || fail "no unknown-outcome record"
csr --pin-source "file:$T/bad"
expect_rc 4 "wrong-pin-general-error: not sent again"
[ "$(logins)" = 1 ] && pass "general error: one C_Login in all" || fail "$(logins) C_Login calls"
fresh_records
unset QSCD_P11FAULT_PIN_TRIES

# --- always-authenticate with a distinct signature PIN -------------------------------------
export QSCD_P11FAULT_PROFILE=always-authenticate QSCD_P11FAULT_SIGN_PIN="$SIGNPIN"
csr --pin-source "file:$T/pin" --sign-pin-source "file:$T/signpin"
expect_rc 0 "CSR signed after a context-specific login with the signature PIN"
openssl req -verify -in "$T/req.pem" -noout > /dev/null 2>&1 && pass "the CSR verifies" ||
    fail "the CSR does not verify"
: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/pin"
expect_rc 4 "without a signature PIN source the user PIN is tried, and refused"
expect_err 'signature PIN \(context-specific login for the key\): .*wrong PIN' "it says which PIN"
ls "$QSCD_STATE_DIR"/pin-refused/*_sign.json > /dev/null 2>&1 &&
    pass "the signature PIN has its own record" || fail "no *_sign.json record"
grep -q '^C_Sign rv=0x00000101' "$QSCD_P11FAULT_LOG" &&
    pass "the refused signature operation was ended (C_Sign without the login)" ||
    fail "no C_Sign ended the operation"
: > "$QSCD_P11FAULT_LOG"
QSCD_SIGN_PIN_SOURCE="file:$T/bad" csr --pin-source "file:$T/pin"
expect_rc 4 "a signature PIN refused before is not sent from a file again"
expect_err 'signature PIN' "it names the signature PIN"
[ "$(logins)" = 1 ] && pass "only the user login was made" || fail "$(logins) C_Login calls"
echo "sign-pin-source = file:$T/signpin" > "$T/sign.conf"
agent --config "$T/sign.conf" "${F[@]}" --pin-source "file:$T/pin" token install "$T/new.pem" \
    --chain "$TCA/chain.pem" --retry-pin
expect_rc 0 "token install with sign-pin-source (config): test signature after a context login"
expect_err 'test signature \(rsa-pkcs1-sha256\) made on the token, verified' "the test signature is verified"
[ -z "$(ls "$QSCD_STATE_DIR"/pin-refused/ 2>/dev/null)" ] &&
    pass "the accepted signature PIN cleared its record" || fail "records left"
unset QSCD_P11FAULT_SIGN_PIN
restore

# --- full-token: nothing half-written, the old certificate kept -----------------------------
export QSCD_PIN_SOURCE="file:$T/pin" QSCD_P11FAULT_PROFILE=full-token
before=$(count_certs)
agent "${F[@]}" token install "$T/new.pem" --chain "$TCA/chain.pem"
expect_rc 4 "full token: token error"
expect_err 'no room for the certificate .*nothing was written.*CKR_DEVICE_MEMORY \(the token is full\)' \
    "a clear message"
[ "$(leaf_serials)" = "$OLD_SERIAL " ] && pass "the old certificate is still there, alone" ||
    fail "certificates for the key: $(leaf_serials)"
[ "$(count_certs)" = "$before" ] && pass "no other object was written" ||
    fail "$(count_certs) certificates, $before before"
restore

# --- label-32 and private-explicit ----------------------------------------------------------
export QSCD_P11FAULT_PROFILE=label-32,private-explicit
softhsm_token QSCD-02 "$PIN"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-02 --login --pin "$PIN" \
    --keypairgen --key-type rsa:2048 --id 02 > /dev/null 2>&1   # no label
T2=(--token "pkcs11:token=QSCD-02")
LONG="/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example Seal of a very long organisation name"
agent "${F[@]}" "${T2[@]}" token csr --subject "$LONG" -o "$T/long.csr"
expect_rc 0 "CSR for a key without a label"
tca_issue "$T/long.csr" "$T/long.pem"
agent "${F[@]}" "${T2[@]}" token install "$T/long.pem" --chain "$TCA/chain.pem"
expect_rc 0 "install on a module that refuses labels over 32 bytes and certificates without CKA_PRIVATE"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-02 -O --type cert > "$T/objs" 2>/dev/null
lbl=$(awk '/^Certificate Object/{l=""} /label:/{sub(/^ *label: */, ""); l=$0} /ID:/{ if ($2 == "02") print l }' "$T/objs")
[ "${#lbl}" -le 32 ] && [ -n "$lbl" ] && pass "the certificate's label has ${#lbl} bytes: \"$lbl\"" ||
    fail "label \"$lbl\""

# --- pinpad-wrong: the flag says keypad, the reader has none --------------------------------
export QSCD_P11FAULT_PROFILE=pinpad-wrong
unset QSCD_PIN_SOURCE
: > "$QSCD_P11FAULT_LOG"
csr
expect_rc 4 "a reader that wrongly claims a PIN pad: the keypad login fails"
expect_err 'claims a PIN pad .* did not take the PIN from a keypad' "it says so"
csr --pin-source "file:$T/pin"
expect_rc 0 "with a PIN source it works"
[ -z "$(ls "$QSCD_STATE_DIR"/pin-refused/ 2>/dev/null)" ] &&
    pass "the failed keypad login recorded no refusal" || fail "a refusal was recorded"

# --- never a second key: a token holding only a public key ---------------------------------
unset QSCD_P11FAULT_PROFILE
softhsm_token QSCD-03 "$PIN"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k3.pem" 2>/dev/null
openssl pkey -in "$T/k3.pem" -pubout -outform DER -out "$T/k3.pub.der" 2>/dev/null
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-03 --login --pin "$PIN" \
    --write-object "$T/k3.pub.der" --type pubkey --id 03 > /dev/null 2>&1
agent "${F[@]}" --token "pkcs11:token=QSCD-03" --pin-source "file:$T/pin" token generate-key
expect_rc 4 "generate-key on a token that holds a public key is refused"
expect_err 'already holds a key' "it names the key there"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label QSCD-03 --login --pin "$PIN" -O \
    --type privkey > "$T/objs" 2>/dev/null
grep -q 'Private Key Object' "$T/objs" && fail "a key pair was generated" ||
    pass "no key was generated"
grep -q '^C_InitToken' "$QSCD_P11FAULT_LOG" && fail "C_InitToken was called" ||
    pass "the token was never initialised"

for f in "$T/out" "$T/err" "$QSCD_P11FAULT_LOG"; do
    expect_no_string "$PIN" "PIN not in $(basename "$f")" "$f"
    expect_no_string "$SIGNPIN" "signature PIN not in $(basename "$f")" "$f"
done
finish
