#!/bin/bash
# The order commands when CertCentral is slow, odd or damaged: a reply that
# never comes in time is retried a bounded number of times (--http-timeout);
# a status value nobody knows yet is shown as received and waited on, never
# a crash; `order wait` on a terminal keeps one progress line (status,
# elapsed, next poll); a damaged chain download is refused and nothing is
# written (an existing FILE stays as it was).
. "$(dirname "$0")/lib.sh"

echo "test-order-resilience"
sim_start --approve-after-polls 1000
REQ=tests/data/requests/seed-fixed.json
order_of() { sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out"; }
faults() { sim_admin POST /faults "$1" > /dev/null || fail "arming faults $1"; }
tries() {   # tries PATH_SUFFIX: API requests logged for that path
    sim_admin GET /stats > "$T/stats.json"
    python3 -c 'import json,sys
print(sum(1 for e in json.load(open(sys.argv[1]))["log"] if e["path"].endswith(sys.argv[2])))' \
        "$T/stats.json" "$1"
}

agent order submit "$REQ"
expect_rc 0 "submit"
ORDER=$(order_of)

# --- replies slower than the client's timeout --------------------------------
faults '{"delay_ms":2500,"delay_count":2}'
agent order status "$ORDER" --http-timeout 1 --retry-base 0.1
expect_rc 0 "status succeeds after two timed-out tries"
expect_err "no complete reply in time.*retrying in" "the user sees the timeouts being retried"
expect_out "^order $ORDER: pending" "the status after the retries"
# A new order: late requests of the case above still land in the log.
agent order submit "$REQ" --new-order
ORDER=$(order_of)
BEFORE=$(tries "/order/certificate/$ORDER")
faults '{"delay_ms":2500,"delay_count":50}'
agent order status "$ORDER" --http-timeout 1 --retry-base 0.05
expect_rc 3 "status gives up when every reply is late"
expect_err "error: .*no complete reply in time" "the final error says the reply did not come in time"
sleep 2   # the simulator logs the last late request when its delay is over
N=$(( $(tries "/order/certificate/$ORDER") - BEFORE ))
[ "$N" = 6 ] && pass "one try plus five retries on timeouts" || fail "$N tries"
faults '{"delay_ms":0,"delay_count":0}'
agent order status 1 --http-timeout 1x
expect_rc 2 "a malformed --http-timeout"

# --- a status value CertCentral may add one day --------------------------------
sim_admin POST /status "{\"order_id\":$ORDER,\"status\":\"awaiting_courier_2099\"}" > /dev/null ||
    fail "setting an unknown status"
agent order status "$ORDER"
expect_rc 0 "status with an unknown order status"
expect_out "^order $ORDER: awaiting_courier_2099$" "the unknown status is shown as received"
agent --json order status "$ORDER"
expect_rc 0 "--json status with an unknown order status"
[ "$(json_get "$T/out" status)" = awaiting_courier_2099 ] && pass "--json carries it verbatim" ||
    fail "--json status is '$(json_get "$T/out" status)'"
agent order wait "$ORDER" --poll-interval 0.1 --timeout 0.6
expect_rc 1 "wait treats the unknown status as still in progress"
expect_err "order $ORDER: awaiting_courier_2099" "progress shows the unknown status"
expect_err "not approved yet .*\"awaiting_courier_2099\"" "the timeout names it too"
agent order fetch "$ORDER" -o "$T/never.pem"
expect_rc 1 "fetch with an unknown status: not ready"
expect_err "no certificate yet \(status \"awaiting_courier_2099\"\)" "fetch names the status"
[ ! -e "$T/never.pem" ] && pass "nothing written" || fail "a file was written"
sim_admin POST /status "{\"order_id\":$ORDER,\"status\":\"\"}" > /dev/null

# --- progress on a terminal ---------------------------------------------------------
if command -v script > /dev/null; then
    script -qec "$QSCD_AGENT order wait $ORDER --poll-interval 0.2 --timeout 1.2" "$T/tty" \
        > /dev/null 2>&1
    RC=$?
    expect_rc 1 "wait on a terminal (not approved in time)"
    tr '\r' '\n' < "$T/tty" > "$T/tty.lines"
    if grep -Eq $'^\033\\[Korder '"$ORDER"': pending \(request (pending|submitted)\) — waited [0-9]+ s, next poll in [0-9.]+ s' \
            "$T/tty.lines"; then
        pass "one rewritten progress line: status, elapsed, next poll"
    else
        fail "no progress line on the terminal: $(cat -A "$T/tty" | head -5)"
    fi
    N=$(grep -c 'next poll in' "$T/tty.lines")
    [ "$N" -ge 2 ] && pass "the line is updated on every poll ($N)" || fail "$N progress updates"
    grep -q 'not approved yet' "$T/tty.lines" && pass "the final message follows the line" ||
        fail "no final message"
else
    fail "script(1) (bsdutils) is needed to test progress on a terminal"
fi

# --- a damaged chain download --------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k.pem" 2>/dev/null
openssl pkey -in "$T/k.pem" -pubout -out "$T/pub.pem"
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve"
python3 -c 'import json,sys; print(json.dumps({"order_id":int(sys.argv[1]),"public_key_pem":open(sys.argv[2]).read()}))' \
    "$ORDER" "$T/pub.pem" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null || fail "ship"
echo "the previous chain" > "$T/chain.pem"
faults '{"truncated_pem":1}'
agent order fetch "$ORDER" -o "$T/chain.pem"
expect_rc 3 "fetch of a truncated chain"
expect_err "chain CertCentral sent for order $ORDER is damaged.*nothing was written" \
    "the damage is named and nothing written"
[ "$(cat "$T/chain.pem")" = "the previous chain" ] && pass "the existing file is untouched" ||
    fail "the existing file was changed"
ls -a "$T" | grep -q '^\.qscd-fetch' && fail "temporary file left behind" || pass "no temporary file left"
faults '{"truncated_pem":1}'
agent order fetch "$ORDER"
expect_rc 3 "fetch of a truncated chain to stdout"
[ ! -s "$T/out" ] && pass "nothing on stdout" || fail "damaged chain printed"
agent order fetch "$ORDER" -o "$T/chain.pem"
expect_rc 0 "the next fetch succeeds"
openssl storeutl -noout -certs "$T/chain.pem" > /dev/null 2>&1 && pass "the chain parses" ||
    fail "the chain does not parse"

finish
