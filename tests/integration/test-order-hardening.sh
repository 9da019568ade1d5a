#!/bin/bash
# HTTP answers that must not steer the agent: a Retry-After of a day is
# capped at an hour (and the wait is shown), and a 3xx reply to the paid
# order POST (a proxy's redirect; the order was stored) is "outcome
# unknown": the job stays in submitting and the next run reconciles it from
# the order list, never sending the order again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-order-hardening"
lc_setup

echo "a 302 to the order POST"
sim_admin POST /faults '{"redirect_after_store":1}' > /dev/null
agent order submit "$EXAMPLE_REQUEST" --retry-base 0.1
expect_rc 3 "submit answered with a redirect"
expect_err "outcome unknown" "says the outcome is unknown"
expect_err "unexpected HTTP 302" "names the status"
[ "$(lc_orders_created)" = 1 ] && pass "the simulator stored one order" || fail "orders: $(lc_orders_created)"
lc_agent status
expect_out "order - \(job-[0-9a-f]+\): not ready; order submitting" "the job stays in submitting"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "the same submit again"
expect_err "stored by CertCentral as order 100001: adopted" "the stored order is adopted"
[ "$(lc_orders_created)" = 1 ] && [ "$(lc_posts)" = 1 ] && pass "not resent: one order, one POST" ||
    fail "orders $(lc_orders_created), POSTs $(lc_posts)"

echo "Retry-After of a day"
sim_admin POST /faults '{"status_429":{"count":1,"retry_after":86400}}' > /dev/null
"$QSCD_AGENT" order status 100001 > "$T/ra.out" 2> "$T/ra.err" &
RA=$!
track_pid "$RA"
for _ in $(seq 100); do grep -q "retrying in" "$T/ra.err" && break; sleep 0.1; done
if grep -Eq "Retry-After 86400 s, capped at 3600 s\); retrying in 3600\.0 s" "$T/ra.err"; then
    pass "the wait is capped at an hour and shown"
else
    fail "the wait: $(cat "$T/ra.err")"
fi
kill "$RA" 2>/dev/null; wait "$RA" 2>/dev/null; untrack_pid "$RA"
finish
