#!/bin/bash
# A token that shows its public keys only after login (the fault module's
# "hidden-public-keys" profile): provision says so and spends no PIN try
# unless the operator names the token (--token URI), which binds it by its
# serial; the key is checked after login and the test signature made.  In
# watch such a token is "needs a person": no PIN from a file is sent to it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

lc_setup --approve-after-polls 1
export QSCD_P11FAULT_PROFILE=hidden-public-keys QSCD_P11FAULT_LOG="$T/p11f.log" \
       QSCD_POLL_INTERVAL=0.1
F=(--module "$QSCD_P11FAULT" --pin-source "file:$T/pin")
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null
lc_token HIDE-01 61
lc_ship "$ORDER" "$T/HIDE-01.pub.pem"

agent "${F[@]}" token list
expect_out 'token "HIDE-01"' "the token is listed"
if grep -q 'key: label' "$T/out"; then fail "a key is listed before login"
else pass "no public key is visible before login"; fi

: > "$QSCD_P11FAULT_LOG"
agent "${F[@]}" provision "$ORDER" --wait --timeout 20
expect_rc 4 "provision without naming the token: refused"
expect_err 'shows no public key without a login, so it cannot be checked before a PIN is spent' \
    "it says why"
expect_err 'Name the token with --token URI' "and what to do"
[ "$(log_count '^C_Login')" = 0 ] && pass "no PIN try was spent" || fail "C_Login was called"

# serial_of LABEL: the token's serial as token list --json gives it.
serial_of() {
    "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --json token list 2>/dev/null |
        python3 -c 'import json,sys; print([s["serial"] for s in json.load(sys.stdin)["slots"] if s.get("label") == sys.argv[1]][0])' "$1"
}
SERIAL=$(serial_of HIDE-01)
agent "${F[@]}" --token "pkcs11:serial=$SERIAL" provision "$ORDER" --wait --timeout 30
expect_rc 0 "provision --token URI: the operator's choice"
expect_err 'bound by its serial as the operator chose it; the key is checked after login' \
    "it says how the token was chosen"
expect_err 'test signature \(rsa-pkcs1-sha256\) made on the token, verified' "the test signature"
[ "$(lc_job_field "$ORDER" device.token.serial)" = "$SERIAL" ] &&
    pass "the job is bound to the token's serial" || fail "job bound to $(lc_job_field "$ORDER" device.token.serial)"

# watch: a second order whose job is bound to a hidden-key token by serial.
lc_submit
ORDER2=$ORDER
sim_admin POST /approve "{\"order_id\":$ORDER2}" > /dev/null
plug desk2
lc_token HIDE-02 62
lc_ship "$ORDER2" "$T/HIDE-02.pub.pem"
SERIAL2=$(serial_of HIDE-02)
# Bound once (a person began it), then unplugged before the PIN.
agent "${F[@]}" --token "pkcs11:serial=$SERIAL2" provision "$ORDER2" --wait --timeout 30 \
    --pin-source "file:$T/badpin"
expect_rc 4 "the person's first try with a wrong PIN"
rm -rf "$QSCD_STATE_DIR/pin-refused"
: > "$QSCD_P11FAULT_LOG"
run timeout --kill-after=5 60 "$QSCD_AGENT" "${F[@]}" watch --exit-when-idle --poll-interval 0.2
expect_out "needs a person: it shows no public key before login" "watch: the token needs a person"
[ "$(log_count '^C_Login')" = 0 ] && pass "watch sent no PIN to it" || fail "watch logged in"
expect_no_string "$LC_PIN" "no PIN in the output" "$T/out" "$T/err"
finish
