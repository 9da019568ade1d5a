#!/bin/bash
# provision with keys that need a context-specific login for each signature
# (the fault module's "always-authenticate" profile, with a signature PIN
# of its own): the CSR on a blank token (--generate-key) and the test
# signature after install log in with --sign-pin-source; a wrong signature
# PIN ends the signature, leaves the job unverified and resumable, and is
# not sent again from a file; --no-test-signature skips the test signature
# and the journal and audit log say so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

SIGNPIN="Sg4-distinct-SIG-3371"
lc_setup
( umask 077; printf '%s\n' "$SIGNPIN" > "$T/signpin" )
export QSCD_P11FAULT_PROFILE=always-authenticate QSCD_P11FAULT_SIGN_PIN="$SIGNPIN" \
       QSCD_P11FAULT_LOG="$T/p11f.log" QSCD_POLL_INTERVAL=0.1
F=(--module "$QSCD_P11FAULT" --pin-source "file:$T/pin")
history_has() {   # history_has ORDER ACTION OUTCOME: the audit log (status --history) has it
    "$QSCD_AGENT" status "$1" --history > "$T/h.txt" 2>/dev/null
    grep -Eq " $2: order $1, .*: $3(:|\$)" "$T/h.txt"
}

echo "blank token: the CSR after a context-specific login"
plug blank; softhsm_token BLANK "$LC_PIN"
lc_submit
agent "${F[@]}" --sign-pin-source "file:$T/signpin" provision "$ORDER" --generate-key --wait \
    --timeout 30
expect_rc 0 "provision --generate-key with a signature PIN"
expect_err "reissue requested" "the CSR was signed and sent"
expect_err 'test signature \(rsa-pkcs1-sha256\) made on the token, verified with the installed certificate' \
    "the test signature is verified"
[ "$(lc_job_field "$ORDER" device.test_signature.result)" = verified ] &&
    pass "journal: device.test_signature verified" || fail "journal: $(lc_job_field "$ORDER" device.test_signature)"
history_has "$ORDER" test_signature ok && pass "audit log: test_signature ok" || fail "no audit entry"

echo "shipped token: a wrong signature PIN, then the right one"
plug shipped; lc_token SHIP-01 51
lc_submit
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null
lc_ship "$ORDER" "$T/SHIP-01.pub.pem"
: > "$QSCD_P11FAULT_LOG"
QSCD_SIGN_PIN_SOURCE="file:$T/badpin" agent "${F[@]}" provision "$ORDER" --wait --timeout 30
expect_rc 4 "a wrong signature PIN stops the run"
expect_err 'making the test signature: signature PIN \(context-specific login for the key\)' \
    "it says which PIN, at which step"
[ "$(lc_job_field "$ORDER" device.state)" = certificate_installed ] &&
    pass "the job stays installed, not verified" || fail "device state $(lc_job_field "$ORDER" device.state)"
grep -q '^C_Sign rv=0x00000101' "$QSCD_P11FAULT_LOG" && pass "the signing operation was ended" ||
    fail "no C_Sign ended it"
history_has "$ORDER" test_signature error && pass "audit log: test_signature error" ||
    fail "no audit entry for the failure"
: > "$QSCD_P11FAULT_LOG"
QSCD_SIGN_PIN_SOURCE="file:$T/badpin" agent "${F[@]}" provision "$ORDER" --wait --timeout 30
expect_rc 4 "the refused signature PIN is not sent again"
[ "$(log_count '^C_Login')" = 1 ] && pass "only the user login was made" ||
    fail "$(log_count '^C_Login') C_Login calls"
QSCD_SIGN_PIN_SOURCE="file:$T/signpin" agent "${F[@]}" provision "$ORDER" --wait --timeout 30 \
    --retry-pin
expect_rc 0 "the right signature PIN (sent once more explicitly) completes the job"
[ "$(lc_job_field "$ORDER" device.state)" = verified ] && pass "verified" ||
    fail "device state $(lc_job_field "$ORDER" device.state)"

echo "--no-test-signature"
unset QSCD_P11FAULT_PROFILE
plug third; lc_token SHIP-02 52
lc_submit
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null
lc_ship "$ORDER" "$T/SHIP-02.pub.pem"
: > "$QSCD_P11FAULT_LOG"
agent "${F[@]}" provision "$ORDER" --wait --timeout 30 --no-test-signature
expect_rc 0 "provision --no-test-signature"
[ "$(lc_job_field "$ORDER" device.test_signature.result)" = skipped ] &&
    pass "journal: the test signature was skipped" || fail "journal: $(lc_job_field "$ORDER" device.test_signature)"
[ "$(log_count '^C_Sign')" = 0 ] && pass "nothing was signed" || fail "C_Sign was called"
history_has "$ORDER" test_signature skipped && pass "audit log: test_signature skipped" ||
    fail "no audit entry"
echo "signature-check = maybe" > "$T/bad.conf"
agent --config "$T/bad.conf" "${F[@]}" provision "$ORDER"
expect_rc 2 "a malformed signature-check setting"
expect_err 'signature-check \(QSCD_SIGNATURE_CHECK\): must be yes or no' "names the setting"
for f in "$T/out" "$T/err" "$QSCD_P11FAULT_LOG"; do
    expect_no_string "$SIGNPIN" "signature PIN not in $(basename "$f")" "$f"
    expect_no_string "$LC_PIN" "PIN not in $(basename "$f")" "$f"
done
finish
