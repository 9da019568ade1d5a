#!/bin/bash
# SIGTERM while watch is provisioning.  With the grace period over, the
# watcher stops its worker, exits 0, and the job is left resumable; a second
# watch completes it, with one certificate on the token.  Within the grace
# period the worker in hand is let finish.  The worker is slowed down at
# C_Login by the fault module (the scans never log in, so they stay quick).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

echo "test-watch-sigterm"
lc_setup --approve-after-polls 1
export QSCD_P11FAULT_MODULE=$SOFTHSM_MODULE QSCD_P11FAULT_LOG="$T/p11f.log"
export QSCD_POLL_INTERVAL=0.1
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_token SLOW-01 61
lc_ship "$ORDER" "$T/SLOW-01.pub.pem" || fail "ship"
lc_ensure_job "$ORDER"

echo "first watch: SIGTERM while the worker logs in"
QSCD_P11FAULT_LATENCY_MS=C_Login:4000 timeout --kill-after=5 120 \
    "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "file:$T/pin" \
    watch --poll-interval 0.2 --grace 0 > "$T/w1.out" 2> "$T/w1.err" &
W=$!
track_pid "$W"
for _ in $(seq 1 300); do
    grep -q 'holds the key of the certificate' "$T/w1.err" && break
    sleep 0.1
done
grep -q 'holds the key of the certificate' "$T/w1.err" &&
    pass "the worker identified the token and is logging in" || fail "worker never got to log in"
sleep 0.5
# SIGTERM to the watcher itself (W is timeout(1), which is only a guard).
kill -TERM "$(pgrep -P "$W")"
wait "$W"; RC=$?
untrack_pid "$W"
cp "$T/w1.out" "$T/out"; cp "$T/w1.err" "$T/err"
expect_rc 0 "watch exits 0 on SIGTERM"
expect_out "watch: asked to stop \(SIGTERM\); 1 worker to finish \(grace 0 s\)" "says it stops its worker"
expect_out "order $ORDER: stopped \(exit [0-9]+\).*resumes when the token is plugged in again" \
    "the interrupted job is reported as resumable"
expect_out "watch: stopped" "stopped line"
[ "$(lc_count SLOW-01 cert 61)" = 0 ] && pass "no certificate yet" || fail "certificate written"
pgrep -f -- "--state-dir $QSCD_STATE_DIR" > /dev/null && fail "a worker outlived the watcher" ||
    pass "no worker left behind"
# The journal after the stop: readable, the job not done and not failed.
lc_agent --json status "$ORDER"
expect_rc 1 "status after the stop: not ready yet (exit 1)"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" &&
    pass "status --json reads the job" || fail "status output is not JSON"
st=$(lc_job_field "$ORDER" order.state)
case "$st" in approved|certificate_ready) pass "the order side is kept ($st)" ;;
    *) fail "order state after the stop: \"$st\"" ;; esac
st=$(lc_job_field "$ORDER" device.state)
case "$st" in token_absent|token_present|unlocked|key_ready) pass "the device side is before install ($st)" ;;
    *) fail "device state after the stop: \"$st\"" ;; esac

echo "second watch completes the job"
run timeout --kill-after=5 120 "$QSCD_AGENT" --module "$QSCD_P11FAULT" \
    --pin-source "file:$T/pin" watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "second watch"
expect_out "belongs to order $ORDER" "the token is matched again"
expect_out "order $ORDER: certificate installed and verified" "job completed"
[ "$(lc_count SLOW-01 cert 61)" = 1 ] && pass "exactly one certificate for the key" ||
    fail "certificates for key 61: $(lc_count SLOW-01 cert 61)"

echo "SIGTERM within the grace period: the worker in hand finishes"
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_token SLOW-02 62
lc_ship "$ORDER" "$T/SLOW-02.pub.pem" || fail "ship"
lc_ensure_job "$ORDER"
: > "$T/w1.err"
QSCD_P11FAULT_LATENCY_MS=C_Login:2000 timeout --kill-after=5 120 \
    "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "file:$T/pin" \
    watch --poll-interval 0.2 --grace 60 > "$T/w1.out" 2> "$T/w1.err" &
W=$!
track_pid "$W"
for _ in $(seq 1 300); do
    grep -q "SLOW-02.*holds the key of the certificate" "$T/w1.err" && break
    sleep 0.1
done
kill -TERM "$(pgrep -P "$W")"
wait "$W"; RC=$?
untrack_pid "$W"
cp "$T/w1.out" "$T/out"; cp "$T/w1.err" "$T/err"
expect_rc 0 "watch exits 0 on SIGTERM"
expect_out "order $ORDER: certificate installed and verified" "the worker in hand finished its job"
[ "$(lc_count SLOW-02 cert 62)" = 1 ] && pass "one certificate on the second token" ||
    fail "certificates for key 62: $(lc_count SLOW-02 cert 62)"
expect_no_string "$LC_PIN" "no PIN in the audit log" "$QSCD_STATE_DIR/audit.log"
finish
