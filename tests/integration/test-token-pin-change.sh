#!/bin/bash
# A PIN that must be changed first (transport PIN, expired), through the
# fault module (QSCD_P11FAULT_PIN_EXPIRED: CKF_USER_PIN_TO_BE_CHANGED, and
# C_Login answers CKR_PIN_EXPIRED until a C_SetPIN): token list and token
# check show it, signing is refused before any login with a message that
# names `token change-pin`, change-pin (C_SetPIN) clears it, and the new PIN
# works where the old one no longer does.  Neither PIN reaches the output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

PIN="Tp8-distinct-PIN-1123"
NEWPIN="Np2-distinct-PIN-5813"
softhsm_setup
softhsm_token QSCD-01 "$PIN"
softhsm_keypair QSCD-01 01 rsa:2048 "$PIN"
export QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_P11FAULT_PIN_EXPIRED=1 \
       QSCD_P11FAULT_LOG="$T/p11f.log"
M=(--module "$QSCD_P11FAULT")
SUBJ="/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example Seal"
( umask 077; printf '%s\n' "$PIN" > "$T/pin"; printf '%s\n' "$NEWPIN" > "$T/newpin" )
csr() { agent "${M[@]}" "$@" token csr --subject "$SUBJ" -o "$T/req.pem"; }

agent "${M[@]}" token list
expect_rc 0 "token list"
expect_out 'PIN: must be changed' "token list shows that the PIN must be changed"
agent "${M[@]}" token list --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s for s in d["slots"] if s.get("label")=="QSCD-01"][0]["pin_state"]=="must be changed"' "$T/out" &&
    pass "JSON pin_state: must be changed" || fail "JSON pin_state"
agent "${M[@]}" token check
expect_rc 1 "token check: not ready"
expect_out 'pin +MISSING +must be changed' "check names the PIN to be changed"

: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/pin"
expect_rc 4 "signing with a PIN that must be changed is refused"
expect_err 'must be changed.*token change-pin' "the message names token change-pin"
[ "$(log_count '^C_Login')" = 0 ] && pass "no login tried" || fail "C_Login was called"

: > "$QSCD_P11FAULT_LOG"
agent "${M[@]}" --pin-source "file:$T/pin" token change-pin --new-pin-source "file:$T/newpin"
expect_rc 0 "token change-pin"
expect_err 'PIN changed' "change reported"
[ "$(log_count '^C_Login rv=0x000000a3 fault=pin-expired$')" = 1 ] &&
    pass "the login for the change saw CKR_PIN_EXPIRED" || fail "log: $(grep C_Login "$QSCD_P11FAULT_LOG")"
[ "$(log_count '^C_SetPIN rv=0x00000000')" = 1 ] && pass "one C_SetPIN" || fail "C_SetPIN not in log"

agent "${M[@]}" token list
expect_out 'PIN: ok' "after the change the PIN state is ok"
csr --pin-source "file:$T/newpin"
expect_rc 0 "signing with the new PIN"
openssl req -verify -in "$T/req.pem" -noout > /dev/null 2>&1 &&
    pass "the CSR verifies" || fail "CSR does not verify"
csr --pin-source "file:$T/pin"
expect_rc 4 "the old PIN no longer works"
expect_err 'CKR_PIN_INCORRECT' "wrong PIN named"

for f in "$T/out" "$T/err" "$QSCD_P11FAULT_LOG"; do
    expect_no_string "$PIN" "old PIN not in $(basename "$f")" "$f"
    expect_no_string "$NEWPIN" "new PIN not in $(basename "$f")" "$f"
done
finish
