#!/bin/bash
# Rejected orders: `order wait` exits 6 with the reason, whether DigiCert
# rejects the request while we wait (/_sim/reject) or the order was doomed
# from the start (reject_orders fault); `order fetch` of a rejected order is
# refused with 6 as well.  A wait without a decision ends with 1 (not ready).
. "$(dirname "$0")/lib.sh"

echo "test-order-reject"
sim_start --approve-after-polls 1000
REQ=tests/data/requests/seed-fixed.json
order_of() { sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out"; }

agent order submit "$REQ"
expect_rc 0 "submit"
ORDER=$(order_of)

agent order wait "$ORDER" --poll-interval 0.1 --timeout 0.5
expect_rc 1 "wait without a decision times out: not ready"
expect_err "order $ORDER is not approved yet" "timeout names the order"
expect_err "^order $ORDER: pending" "progress line (not a tty: one line per change)"

sim_admin POST /reject "{\"order_id\":$ORDER}" > /dev/null && pass "request rejected" || fail "reject"
agent order wait "$ORDER" --poll-interval 0.1 --timeout 20
expect_rc 6 "wait on a rejected order"
expect_err "rejected" "the message says rejected"
agent --json order status "$ORDER"
expect_rc 0 "status of a rejected order"
[ "$(json_get "$T/out" requests.0.status)" = rejected ] && pass "--json shows the rejected request" ||
    fail "request status not rejected"
agent order fetch "$ORDER"
expect_rc 6 "fetch of a rejected order"

# A simulator that decides after two polls; this order is doomed.
sim_stop
rm -f "$T/sim.port"
sim_start --approve-after-polls 2
sim_admin POST /faults '{"reject_orders":true}' > /dev/null
agent order submit "$REQ" --new-order   # the journal has placed this request before
expect_rc 0 "a doomed order is still accepted at first"
DOOMED=$(order_of)
agent -q order wait "$DOOMED" --poll-interval 0.1 --timeout 20
expect_rc 6 "wait on an order the simulator rejects"
[ ! -s "$T/out" ] && pass "nothing on stdout for a rejected wait" || fail "stdout not empty"
if grep -q "^order $DOOMED: pending" "$T/err"; then fail "-q still shows progress"; else pass "-q hides progress"; fi

finish
