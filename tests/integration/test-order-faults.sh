#!/bin/bash
# The order client under the simulator's faults: 429 paced and retried
# (honouring Retry-After, else exponential backoff), 5xx retried for GETs a
# bounded number of times, a POST never sent twice when its outcome is
# unknown (dropped connection, 5xx), malformed replies reported clearly.
. "$(dirname "$0")/lib.sh"

echo "test-order-faults"
sim_start --approve-after-polls 1000
REQ=tests/data/requests/seed-fixed.json
POST_KEY="POST /order/certificate/pkio_qualified_organisation_services"

stats() { sim_admin GET /stats > "$T/stats.json"; }
posts() { stats; python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["requests"].get(sys.argv[2],0))' "$T/stats.json" "$POST_KEY"; }
created() { stats; json_get "$T/stats.json" orders_created; }
faults() { sim_admin POST /faults "$1" > /dev/null || fail "arming faults $1"; }

# gaps PATH_SUBSTRING: seconds between consecutive API requests whose path
# contains the string, one per line, from the simulator's log.
gaps() {
    stats
    python3 - "$T/stats.json" "$1" <<'PY'
import json, sys
log = [e for e in json.load(open(sys.argv[1]))["log"]
       if sys.argv[2] in e["path"] and not e["path"].startswith("/_sim")]
for a, b in zip(log, log[1:]):
    print("%.3f %s" % (b["t"] - a["t"], a["status"]))
PY
}

agent order submit "$REQ"
expect_rc 0 "a first order"
ORDER=$(sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out")

# --- 429 with Retry-After: the gaps are at least Retry-After ------------------
faults '{"status_429":{"count":3,"retry_after":1}}'
agent order status "$ORDER" --retry-base 0.1
expect_rc 0 "status succeeds after three 429s with Retry-After"
expect_err "rate limit \(HTTP 429, with Retry-After\); retrying in 1" "the user sees the back-off"
gaps "/order/certificate/$ORDER" > "$T/gaps"
N429=$(grep -c ' 429$' "$T/gaps")
[ "$N429" = 3 ] && pass "three 429 replies, then success" || fail "429 count $N429: $(cat "$T/gaps")"
if awk '$2 == 429 && $1 < 1.0 { bad = 1 } END { exit bad }' "$T/gaps"; then
    pass "every retry waited >= Retry-After (1 s): $(awk '$2==429{printf "%s ", $1}' "$T/gaps")"
else
    fail "a retry came sooner than Retry-After: $(cat "$T/gaps")"
fi
sim_admin POST /reset > /dev/null

# --- 429 without Retry-After: exponential backoff -----------------------------
# The simulator was reset: a new order for the request the journal has placed.
agent order submit "$REQ" --new-order
ORDER=$(sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out")
faults '{"status_429":{"count":3}}'
agent order status "$ORDER" --retry-base 0.3
expect_rc 0 "status succeeds after three 429s without Retry-After"
gaps "/order/certificate/$ORDER" > "$T/gaps"
if awk 'BEGIN { want = 0.3 } $2 == 429 { if ($1 < want - 0.01) bad = 1; want *= 2; n++ }
        END { exit (bad || n != 3) }' "$T/gaps"; then
    pass "backoff doubles without Retry-After: $(awk '$2==429{printf "%s ", $1}' "$T/gaps")"
else
    fail "backoff not exponential: $(cat "$T/gaps")"
fi

# --- a 429 on the order POST is safe to retry: it was not processed -----------
sim_admin POST /reset > /dev/null
faults '{"status_429":{"count":1,"retry_after":0}}'
agent order submit "$REQ" --retry-base 0.1 --new-order
expect_rc 0 "submit succeeds after a 429"
[ "$(posts)" = 2 ] && pass "POST sent again after 429" || fail "POST count $(posts)"
[ "$(created)" = 1 ] && pass "one order created" || fail "orders created $(created)"
ORDER=$(sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out")

# --- 5xx: GETs retried, bounded ----------------------------------------------
faults '{"status_5xx":{"count":2,"code":503}}'
agent order status "$ORDER" --retry-base 0.1
expect_rc 0 "status succeeds after two 503s"
expect_err "HTTP 503; retrying" "the user sees the retries"
sim_admin POST /reset > /dev/null
faults '{"status_5xx":{"count":20,"code":502}}'
agent order status 100001 --retry-base 0.05
expect_rc 3 "status gives up after bounded retries"
expect_err "CertCentral failed on order 100001 \(HTTP 502" "the final error names the HTTP status"
stats
N=$(python3 -c 'import json,sys
print(sum(1 for e in json.load(open(sys.argv[1]))["log"] if e["path"].endswith("/order/certificate/100001")))' "$T/stats.json")
[ "$N" = 6 ] && pass "one try plus five retries" || fail "$N tries"
faults '{}'

# --- 5xx on the order POST: not retried, outcome unknown -----------------------
sim_admin POST /reset > /dev/null
# A job left in "submitting" makes the next submit reconcile first: a fresh
# journal for each case that starts from a reset simulator.
export QSCD_STATE_DIR="$T/state-5xx"
faults '{"status_5xx":{"count":1,"code":500}}'
agent order submit "$REQ" --retry-base 0.1
expect_rc 3 "submit with a 500 reply"
expect_err "outcome unknown" "500 on the POST: outcome unknown"
[ "$(posts)" = 1 ] && pass "the POST was not repeated after a 500" || fail "POST count $(posts)"

# --- dropped connection after the order was stored -----------------------------
sim_admin POST /reset > /dev/null
export QSCD_STATE_DIR="$T/state-drop"
faults '{"drop_after_store":1}'
agent order submit "$REQ" --retry-base 0.1
expect_rc 3 "submit whose connection is dropped after the order is stored"
expect_err "outcome unknown" "the user is told the outcome is unknown"
expect_err "NOT sent again" "the user is told nothing was re-sent"
[ "$(posts)" = 1 ] && pass "exactly one POST" || fail "POST count $(posts)"
[ "$(created)" = 1 ] && pass "exactly one order created" || fail "orders created $(created)"

# --- malformed and truncated replies -------------------------------------------
export QSCD_STATE_DIR="$T/state-malformed"
agent order submit "$REQ"
ORDER=$(sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out")
faults '{"malformed_json":1}'
agent order status "$ORDER"
expect_rc 3 "malformed JSON reply"
expect_err "CertCentral sent a reply that is not valid JSON" "malformed reply named"
faults '{"truncated_json":1}'
agent order wait "$ORDER" --poll-interval 0.1
expect_rc 3 "truncated JSON reply during wait"
expect_err "not valid JSON" "truncated reply named"

finish
