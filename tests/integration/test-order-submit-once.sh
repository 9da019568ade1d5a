#!/bin/bash
# A request is placed once.  `order submit FILE` run again (cron, a retry,
# a second operator) reports the order the request's job placed and sends
# nothing; a second order for it only with --new-order.  Concurrent submits
# of one file (the state dir's submit lock) place one order, and the digest
# that tells requests apart leaves out payment card data.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup

echo "the same request again"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "first submit"
FIRST=$(json_get "$T/out" order_id); JOB=$(json_get "$T/out" job); REQ=$(json_get "$T/out" request_id)
agent order submit "$EXAMPLE_REQUEST"
expect_rc 0 "the same submit again: exit 0"
expect_out "order $FIRST, request $REQ \([a-z_]+\), job $JOB: this request was placed already" \
    "it names the existing order, request and job"
expect_out "nothing was sent" "it says nothing was sent"
expect_err "--new-order" "it names the flag that places another"
[ "$(lc_orders_created)" = 1 ] && [ "$(lc_posts)" = 1 ] && pass "one order, one POST" ||
    fail "orders $(lc_orders_created), POSTs $(lc_posts)"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "again, --json"
[ "$(json_get "$T/out" existing)" = True ] && [ "$(json_get "$T/out" order_id)" = "$FIRST" ] &&
    [ "$(json_get "$T/out" job)" = "$JOB" ] && pass "json: existing order $FIRST of job $JOB" ||
    fail "json: $(cat "$T/out")"
[ "$(lc_orders_created)" = 1 ] && pass "still one order" || fail "orders $(lc_orders_created)"
[ "$(lc_jobs)" = 1 ] && pass "no new job" || fail "$(lc_jobs) jobs"
grep -q '"existing"' "$QSCD_STATE_DIR/audit.log" && pass "the audit log records the re-run" ||
    fail "no audit line for the re-run"

# digest with|without FILE: SHA-256 of the request's compact JSON, its
# payment members kept or left out.
digest() {
    python3 -c 'import hashlib, json, sys
d = json.load(open(sys.argv[2]))
if sys.argv[1] == "without":
    for k in ("payment_method", "credit_card", "billing_address"):
        d.pop(k, None)
print(hashlib.sha256(json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest())' "$1" "$2"
}
grep -q "\"$(digest without "$EXAMPLE_REQUEST")\"" "$QSCD_STATE_DIR/jobs/$JOB.json" &&
    pass "the job keeps the digest of the request without its payment members" ||
    fail "request.sha256 is not that of the request without payment members"

echo "a job written before the digest left out the payment members"
export QSCD_STATE_DIR="$T/state-legacy"
agent --json order submit "$EXAMPLE_REQUEST"
LJOB=$(json_get "$T/out" job); LORDER=$(json_get "$T/out" order_id)
sed -i "s/$(digest without "$EXAMPLE_REQUEST")/$(digest with "$EXAMPLE_REQUEST")/" \
    "$QSCD_STATE_DIR/jobs/$LJOB.json"
grep -q "$(digest with "$EXAMPLE_REQUEST")" "$QSCD_STATE_DIR/jobs/$LJOB.json" &&
    pass "job rewritten with the whole request's digest" || fail "could not rewrite the job"
before=$(lc_orders_created)
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "the same request again"
[ "$(json_get "$T/out" existing)" = True ] && [ "$(json_get "$T/out" order_id)" = "$LORDER" ] &&
    pass "its order $LORDER is still found" || fail "not found: $(cat "$T/out")"
[ "$(lc_orders_created)" = "$before" ] && pass "nothing sent" || fail "an order was sent"
export QSCD_STATE_DIR="$T/state"

echo "--new-order"
agent --json order submit "$EXAMPLE_REQUEST" --new-order
expect_rc 0 "--new-order"
SECOND=$(json_get "$T/out" order_id)
[ -n "$SECOND" ] && [ "$SECOND" != "$FIRST" ] && [ "$(json_get "$T/out" existing)" = False ] &&
    pass "a second order $SECOND" || fail "order $SECOND"
[ "$(lc_orders_created)" = 3 ] && [ "$(lc_jobs)" = 2 ] && pass "a second order, a second job" ||
    fail "orders $(lc_orders_created) (3 with the legacy case), jobs $(lc_jobs)"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "without the flag again"
[ "$(json_get "$T/out" order_id)" = "$SECOND" ] && pass "reports the newest order $SECOND" ||
    fail "reports $(json_get "$T/out" order_id)"
[ "$(lc_orders_created)" = 3 ] && pass "no further order" || fail "orders $(lc_orders_created)"
agent order submit --help
grep -q -- "--new-order" "$T/out" && pass "--help names --new-order" || fail "--help lacks --new-order"

echo "five submits of one file at once"
export QSCD_STATE_DIR="$T/state-race"
sim_admin POST /reset '{}' > /dev/null
# A slow POST: the others look while the first is in flight.
sim_admin POST /faults '{"delay_ms":1500,"delay_count":1}' > /dev/null
for i in 1 2 3 4 5; do
    "$QSCD_AGENT" --json order submit "$EXAMPLE_REQUEST" > "$T/race$i.out" 2> "$T/race$i.err" &
    eval "P$i=\$!"
done
for i in 1 2 3 4 5; do
    eval "wait \$P$i"; echo $? > "$T/race$i.rc"
done
ok=0; ids=""
for i in 1 2 3 4 5; do
    [ "$(cat "$T/race$i.rc")" = 0 ] && ok=$((ok + 1))
    ids="$ids $(json_get "$T/race$i.out" order_id 2>/dev/null)"
done
[ "$ok" = 5 ] && pass "all five exit 0" || { fail "$ok of 5 exit 0"; cat "$T"/race*.err; }
[ "$(lc_orders_created)" = 1 ] && pass "the simulator stored one order" ||
    fail "orders $(lc_orders_created)"
[ "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" = 1 ] && pass "all five report order$ids" ||
    fail "orders reported:$ids"
n_existing=$(for i in 1 2 3 4 5; do json_get "$T/race$i.out" existing 2>/dev/null; done | grep -c True)
[ "$n_existing" = 4 ] && pass "four report it as placed already" || fail "$n_existing report existing"
[ "$(lc_jobs)" = 1 ] && pass "one job" || fail "$(lc_jobs) jobs"
grep -q "waiting for it" "$T"/race*.err && pass "a submit that found the first in flight waited" ||
    fail "no submit found the first one in flight"

echo "payment card data is not part of the request's identity"
export QSCD_STATE_DIR="$T/state-card"
CARD=tests/data/requests/card-payment.json
python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); r["credit_card"]["number"]="5555 5555 5555 4444"; r["credit_card"]["cvv"]="987"
json.dump(r, open(sys.argv[2], "w"), indent=2)' "$CARD" "$T/other-card.json"
before=$(lc_orders_created)
agent --json order submit "$CARD"
expect_rc 0 "submit paid by card"
agent --json order submit "$T/other-card.json"
expect_rc 0 "the same request paid with another card"
[ "$(json_get "$T/out" existing)" = True ] && pass "it is the same request: reported, not sent" ||
    fail "taken for another request"
[ "$(lc_orders_created)" = $((before + 1)) ] && pass "one order" ||
    fail "orders $(lc_orders_created), expected $((before + 1))"
expect_no_string "4111 1111 1111 1111" "no card number in the state dir" -r "$QSCD_STATE_DIR"
expect_no_string "4111111111111111" "no card number (without spaces) in the state dir" -r "$QSCD_STATE_DIR"
python3 - "$CARD" "$QSCD_STATE_DIR" <<'EOF' && pass "the kept digest is not that of the whole request" || fail "the digest covers the card"
import hashlib, json, os, sys
whole = json.load(open(sys.argv[1]))
text = json.dumps(whole, separators=(",", ":"), ensure_ascii=False)
bad = hashlib.sha256(text.encode()).hexdigest()
for f in os.listdir(os.path.join(sys.argv[2], "jobs")):
    if f.endswith(".json") and bad in open(os.path.join(sys.argv[2], "jobs", f)).read():
        sys.exit(1)
EOF

finish
