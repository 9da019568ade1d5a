#!/bin/bash
# A token behind a PIN-pad reader (the fault module's protected
# authentication path, the PIN "typed on the keypad"): watch runs on a
# terminal with no PIN source configured, so any other token would get a
# prompt; this one gets none, its worker logs in through the keypad and the
# job completes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

echo "test-watch-pinpad"
command -v script > /dev/null || { fail "script(1) missing (util-linux)"; finish; }
lc_setup --approve-after-polls 1
export QSCD_P11FAULT_MODULE=$SOFTHSM_MODULE QSCD_P11FAULT_LOG="$T/p11f.log"
export QSCD_P11FAULT_PINPAD=1 QSCD_P11FAULT_PINPAD_PIN="$LC_PIN" QSCD_POLL_INTERVAL=0.1
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_token PAD-01 91
lc_ship "$ORDER" "$T/PAD-01.pub.pem" || fail "ship"
lc_ensure_job "$ORDER"
: > "$QSCD_P11FAULT_LOG"

# A terminal (script's pseudo-terminal) whose input is never written to: a
# prompt would wait there until the guard's timeout.
mkfifo "$T/tty-in"
CMD="timeout --foreground --kill-after=5 60 '$QSCD_AGENT' --module '$QSCD_P11FAULT' watch --exit-when-idle --poll-interval 0.2"
script -qfec "$CMD" "$T/typescript" < "$T/tty-in" > /dev/null 2>&1 &
S=$!
track_pid "$S"
exec 3> "$T/tty-in"
wait "$S"; RC=$?
exec 3>&-
untrack_pid "$S"
cp "$T/typescript" "$T/out"; : > "$T/err"
expect_rc 0 "watch on a terminal, PIN-pad token"
if grep -q 'PIN for' "$T/out"; then fail "a PIN prompt was shown"; else pass "no PIN prompt"; fi
expect_out "token \"PAD-01\" .*: order $ORDER: certificate installed and verified" "the job completes"
[ "$(log_count '^C_Login rv=0x00000000 fault=pinpad$')" = 1 ] &&
    pass "one login, through the keypad" || fail "keypad logins: $(log_count '^C_Login ')"
[ "$(lc_count PAD-01 cert 91)" = 1 ] && pass "one certificate for the key" ||
    fail "certificates for key 91: $(lc_count PAD-01 cert 91)"
expect_no_string "$LC_PIN" "the keypad PIN is nowhere in the output" "$T/out"
finish
