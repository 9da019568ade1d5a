#!/bin/bash
# A token pulled while watch provisions it: the removal is reported, the
# worker stops with the job kept, and plugging the token back in resumes
# the job in a new worker, which completes it.  Pull and plug are the fault
# module's shared state file (removed=1 / removed=0), seen by every process;
# C_Login is slowed so that the pull lands mid-provisioning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

echo "test-watch-removal"
lc_setup --approve-after-polls 1
export QSCD_P11FAULT_MODULE=$SOFTHSM_MODULE QSCD_P11FAULT_LOG="$T/p11f.log"
export QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_POLL_INTERVAL=0.1
echo "removed=0" > "$QSCD_P11FAULT_STATE"
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_token PULL-01 71
lc_ship "$ORDER" "$T/PULL-01.pub.pem" || fail "ship"
lc_ensure_job "$ORDER"

QSCD_P11FAULT_LATENCY_MS=C_Login:3000 timeout --kill-after=5 120 \
    "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "file:$T/pin" \
    watch --poll-interval 0.2 --max-tokens 2 > "$T/w.out" 2> "$T/w.err" &
W=$!
track_pid "$W"
for _ in $(seq 1 300); do
    grep -q 'holds the key of the certificate' "$T/w.err" && break
    sleep 0.1
done
grep -q 'holds the key of the certificate' "$T/w.err" && pass "the worker got to log in" ||
    fail "the worker never got to log in"
echo "removed=1" > "$QSCD_P11FAULT_STATE"          # pull
for _ in $(seq 1 300); do
    grep -q "order $ORDER: stopped" "$T/w.out" && break
    sleep 0.1
done
grep -Eq "token \"PULL-01\" .*: removed while order $ORDER was being provisioned" "$T/w.out" &&
    pass "the pull is reported" || fail "no removal report"
grep -Eq "order $ORDER: stopped \(exit [0-9]+\).*resumes when the token is plugged in again" \
    "$T/w.out" && pass "the stopped job is reported as resumable" || fail "no stop report"
[ "$(lc_count PULL-01 cert 71)" = 0 ] && pass "nothing installed yet" || fail "installed already"
echo "removed=0" > "$QSCD_P11FAULT_STATE"          # plug back
wait "$W"; RC=$?
untrack_pid "$W"
cp "$T/w.out" "$T/out"; cp "$T/w.err" "$T/err"
expect_rc 0 "watch --max-tokens 2 ends with the job completed"
[ "$(grep -c "belongs to order $ORDER" "$T/out")" = 2 ] && pass "matched again when plugged back" ||
    fail "matches: $(grep -c "belongs to order $ORDER" "$T/out")"
expect_out "order $ORDER: certificate installed and verified" "the job completes"
[ "$(lc_count PULL-01 cert 71)" = 1 ] && pass "exactly one certificate for the key" ||
    fail "certificates for key 71: $(lc_count PULL-01 cert 71)"
c=$(grep -c '"action":"watch token left"' "$QSCD_STATE_DIR/audit.log")
[ "$c" = 1 ] && pass "audit: the pull recorded once" || fail "audit pulls: $c"
finish
