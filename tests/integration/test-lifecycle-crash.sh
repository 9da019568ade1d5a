#!/bin/bash
# Crash safety: the hooks build kills itself with SIGKILL right after the
# journal commit that moves a job into a given state.  For each state the
# killed run is followed by a normal one: it completes, the simulator holds
# exactly the orders that were submitted, and the token exactly one
# certificate for the key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

if [ ! -x "$QSCD_AGENT_HOOKS" ]; then
    echo "  no hooks build at $QSCD_AGENT_HOOKS (make hooks)"; exit 1
fi
lc_setup
SUBMITTED=0

# crash_provision STATE: a new order and token; provision killed after STATE.
crash_provision() {
    local s=$1
    echo "crash after $s"
    plug "$s"; lc_token "T-$s" 51
    lc_submit; SUBMITTED=$((SUBMITTED + 1))
    lc_ship "$ORDER" "$T/T-$s.pub.pem"
    QSCD_TEST_CRASH_AFTER=$s lc_hooks provision "$ORDER" --wait --poll-interval 0.1
    expect_rc 137 "provision killed right after committing $s"
    lc_agent status "$ORDER" --json
    case "$s" in
        certificate_ready|approved) want="order.state $s" ;;
        *) want="device.state $s" ;;
    esac
    [ "$(json_get "$T/out" "0.job.${want% *}")" = "${want#* }" ] &&
        pass "$s: the journal holds the state of the crash" ||
        fail "$s: journal ${want% *} is $(json_get "$T/out" "0.job.${want% *}")"
    lc_agent provision "$ORDER" --wait --poll-interval 0.1
    expect_rc 0 "$s: re-run completes"
    [ "$(lc_count "T-$s" cert 51)" = 1 ] && pass "$s: exactly one certificate for the key" ||
        fail "$s: $(lc_count "T-$s" cert 51) certificates for the key"
    [ "$(lc_count "T-$s" cert)" = 2 ] && pass "$s: leaf and intermediate, nothing else" ||
        fail "$s: $(lc_count "T-$s" cert) certificates on the token"
    [ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "$s: $SUBMITTED orders at the simulator" ||
        fail "$s: orders_created $(lc_orders_created), submitted $SUBMITTED"
}

for s in approved certificate_ready token_present unlocked key_ready certificate_installed verified; do
    crash_provision "$s"
done

echo "crash after submitting (before the POST)"
plug submitting; lc_token T-submitting 51
QSCD_TEST_CRASH_AFTER=submitting lc_hooks order submit "$EXAMPLE_REQUEST"
expect_rc 137 "order submit killed after committing submitting"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "nothing reached the simulator" ||
    fail "an order was stored"
lc_agent order submit "$EXAMPLE_REQUEST"
expect_rc 3 "re-run finds no order and does not resend"
expect_err "--confirm-resubmit" "tells how to send it again"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "still no order sent" || fail "an order was resent"
lc_agent --json order submit "$EXAMPLE_REQUEST" --confirm-resubmit
expect_rc 0 "--confirm-resubmit sends it"
ORDER=$(json_get "$T/out" order_id); SUBMITTED=$((SUBMITTED + 1))
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "exactly one order for the job" ||
    fail "orders_created $(lc_orders_created), expected $SUBMITTED"
lc_ship "$ORDER" "$T/T-submitting.pub.pem"
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "the job provisions"

echo "crash after pending (the order is stored, its id journaled, nothing printed)"
plug pending; lc_token T-pending 51
QSCD_TEST_CRASH_AFTER=pending lc_hooks order submit "$EXAMPLE_REQUEST"
expect_rc 137 "order submit killed after committing pending"
SUBMITTED=$((SUBMITTED + 1))
lc_agent status --json
ORDER=$(python3 -c 'import json,sys
jobs=[j for j in json.load(open(sys.argv[1])) if j["job"]["device"]["state"]=="token_absent" and j["job"]["order"]["state"]=="pending"]
print(jobs[-1]["job"]["order"]["id"])' "$T/out")
[ -n "$ORDER" ] && pass "status shows the job with its order $ORDER" || fail "no pending job"
lc_ship "$ORDER" "$T/T-pending.pub.pem"
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "provision of the order completes"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "$SUBMITTED orders, none twice" ||
    fail "orders_created $(lc_orders_created), expected $SUBMITTED"
[ "$(lc_count T-pending cert 51)" = 1 ] && pass "one certificate" || fail "certificates wrong"

lc_agent status
expect_rc 0 "every job ready"

finish
