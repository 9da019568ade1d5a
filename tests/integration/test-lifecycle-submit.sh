#!/bin/bash
# order submit through the journal: "submitting" is written before the
# POST; a submit whose reply was lost is reconciled before anything is sent
# again (the simulator's drop_after_store: the order is stored, the
# connection closed), and never produces a second order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup

echo "dry run"
agent order submit "$EXAMPLE_REQUEST" --dry-run
expect_rc 0 "--dry-run"
[ "$(lc_jobs)" = 0 ] && pass "--dry-run creates no job" || fail "--dry-run created a job"

echo "the reply is lost after the order was stored"
sim_admin POST /faults '{"drop_after_store":1}' > /dev/null
agent order submit "$EXAMPLE_REQUEST" --retry-base 0.1
expect_rc 3 "submit with the connection dropped"
expect_err "outcome unknown" "says the outcome is unknown"
expect_err "re-run the same .qscd-agent order submit" "says how to resume"
[ "$(lc_orders_created)" = 1 ] && pass "the simulator stored one order" || fail "orders: $(lc_orders_created)"
lc_agent status
expect_rc 1 "status: the job is not ready"
expect_out "order - \(job-[0-9a-f]+\): not ready; order submitting" "status shows the job in submitting"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "the same submit again"
expect_err "interrupted; looking for its order first" "it reconciles first"
expect_err "stored by CertCentral as order 100001: adopted" "adopts the stored order"
[ "$(json_get "$T/out" adopted)" = True ] && pass "json: adopted" || fail "json: not adopted"
[ "$(json_get "$T/out" order_id)" = 100001 ] && pass "json: order 100001" || fail "json: order id"
[ "$(lc_orders_created)" = 1 ] && [ "$(lc_posts)" = 1 ] && pass "no second order, no second POST" ||
    fail "orders $(lc_orders_created), POSTs $(lc_posts)"
[ "$(lc_jobs)" = 1 ] && pass "one job" || fail "$(lc_jobs) jobs"
lc_token QSCD-01 51
lc_ship 100001 "$T/QSCD-01.pub.pem"
lc_agent provision 100001 --wait --poll-interval 0.1
expect_rc 0 "the adopted order provisions"

echo "lost reply, then provision ORDER_ID of the stored order"
sim_admin POST /faults '{"drop_after_store":1}' > /dev/null
agent order submit "$EXAMPLE_REQUEST" --retry-base 0.1 --new-order
expect_rc 3 "second submit, reply lost"
lc_agent provision 100002
expect_rc 1 "provision 100002: not approved yet or no token"
expect_err "taken by job job-[0-9a-f]+, whose submit was interrupted" "the interrupted job takes the order"
[ "$(lc_jobs)" = 2 ] && pass "no extra job" || fail "$(lc_jobs) jobs"
lc_agent status --json
python3 -c 'import json,sys
sys.exit(0 if all(j["job"]["order"]["state"] != "submitting" for j in json.load(open(sys.argv[1]))) else 1)' "$T/out" &&
    pass "no job left in submitting" || fail "a job is still in submitting"
[ "$(lc_orders_created)" = 2 ] && pass "two orders for two submits" || fail "orders $(lc_orders_created)"

echo "interrupted before the POST, and two orders it could be"
if [ -x "$QSCD_AGENT_HOOKS" ] && QSCD_TEST_CRASH_AFTER=submitting \
       "$QSCD_AGENT_HOOKS" order submit "$EXAMPLE_REQUEST" --new-order > /dev/null 2>&1; [ $? = 137 ]; then
    pass "hooks build killed after submitting"
    REQ_BODY=$(cat "$EXAMPLE_REQUEST")
    sim_api POST /order/certificate/pkio_qualified_organisation_services "$REQ_BODY" > /dev/null
    sim_api POST /order/certificate/pkio_qualified_organisation_services "$REQ_BODY" > /dev/null
    agent order submit "$EXAMPLE_REQUEST"
    expect_rc 3 "two candidate orders: refused"
    expect_err "2 orders could be the one it stored: 100003 \(created [^,]+, pending\), 100004 \(created [^,]+, pending\)" \
        "lists both, with date and status"
    expect_err "provision ORDER_ID" "says how to pick one"
    if grep -q "confirm-resubmit" "$T/err"; then fail "advises a resubmit while a candidate could be ours"
    else pass "no resubmit advice while a candidate could be ours"; fi
    [ "$(lc_orders_created)" = 4 ] && pass "nothing sent" || fail "orders $(lc_orders_created)"
    agent order submit "$EXAMPLE_REQUEST" --confirm-resubmit
    expect_rc 3 "--confirm-resubmit does not override an ambiguous match"
    [ "$(lc_orders_created)" = 4 ] && pass "still nothing sent" || fail "orders $(lc_orders_created)"
else
    fail "no hooks build at $QSCD_AGENT_HOOKS, or it did not crash"
fi

echo "bad input"
agent order submit /nonexistent.json
expect_rc 2 "missing request file"
[ "$(lc_orders_created)" = 4 ] && pass "nothing sent" || fail "orders $(lc_orders_created)"
jobs_before=$(lc_jobs)
QSCD_API_KEY_FILE=/nonexistent agent order submit "$EXAMPLE_REQUEST"
expect_rc 2 "missing API key file"
[ "$(lc_jobs)" = "$jobs_before" ] && pass "no job created without an API key" || fail "job created"
( umask 077; echo wrong-key > "$T/wrong-key" )
# A journal without the interrupted job above, which would be reconciled first.
export QSCD_STATE_DIR="$T/state-refused"
QSCD_API_KEY_FILE=$T/wrong-key agent order submit "$EXAMPLE_REQUEST"
expect_rc 3 "a submit CertCentral refuses (wrong API key)"
[ "$(lc_orders_created)" = 4 ] && pass "nothing ordered" || fail "orders $(lc_orders_created)"
lc_agent status --json
python3 -c 'import json,sys
d=[j for j in json.load(open(sys.argv[1])) if j["job"]["order"]["state"]=="draft"]
sys.exit(0 if len(d)==1 and "refused" in d[0]["next"] and d[0]["job"]["last_error"] else 1)' "$T/out" &&
    pass "status shows the refused submit as a draft with its error" || fail "no refused draft shown"
lc_agent status
expect_rc 0 "a refused draft does not make status 'not ready'"

echo "an interrupted submit is resumed by the same request only"
# A fresh journal and simulator: orders of the jobs above would be candidates.
export QSCD_STATE_DIR="$T/state-digest"
sim_admin POST /reset '{}' > /dev/null
python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); r["comments"]="a second, different request"
json.dump(r, open(sys.argv[2], "w"), indent=2)' "$EXAMPLE_REQUEST" "$T/other.json"
before=$(lc_orders_created)
sim_admin POST /faults '{"drop_after_store":1}' > /dev/null
agent order submit "$EXAMPLE_REQUEST" --retry-base 0.1
expect_rc 3 "first request: reply lost"
STORED=$((100000 + before + 1))
grep -q '"sha256"' "$QSCD_STATE_DIR"/jobs/*.json && pass "the job keeps the request's digest" ||
    fail "no request digest in the job"
agent --json order submit "$T/other.json"
expect_rc 0 "a different request for the same organisation is sent"
if grep -q "interrupted" "$T/err"; then fail "the other request was taken for the interrupted one"
else pass "it is not taken for the interrupted submit"; fi
[ "$(json_get "$T/out" adopted)" = False ] && [ "$(json_get "$T/out" order_id)" != "$STORED" ] &&
    pass "it gets its own order" || fail "adopted the stored order $STORED"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "the first request again"
[ "$(json_get "$T/out" adopted)" = True ] && [ "$(json_get "$T/out" order_id)" = "$STORED" ] &&
    pass "it adopts its own stored order $STORED" || fail "order $(json_get "$T/out" order_id)"
[ "$(lc_orders_created)" = $((before + 2)) ] && pass "two orders for two requests" ||
    fail "orders $(lc_orders_created), expected $((before + 2))"

finish
