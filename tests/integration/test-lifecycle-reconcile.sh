#!/bin/bash
# Reconciling an interrupted submit on an account with many orders: every
# order of the list is considered (every page, no cap of 16), the
# organisation and product are checked for all of them, exactly one match
# is adopted, and when several could be ours the run stops with exit 3 and
# lists every one of them (ours included), never advising a resubmit.
# Orders whose date_created does not parse stay candidates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup
# fresh NAME: a new journal and an empty simulator (faults off).
fresh() {
    export QSCD_STATE_DIR="$T/state-$1"
    sim_admin POST /reset '{}' > /dev/null
}
# others JSON: orders someone else placed on the account (/_sim/orders);
# LAST is the newest id.
others() {
    sim_admin POST /orders "$1" > "$T/others.json" || fail "/_sim/orders $1"
    LAST=$(json_get "$T/others.json" ids.-1)
}
# lost REQUEST: submit with the reply dropped after the order was stored;
# OURS is that order's id (ids are given in turn).
lost() {
    sim_admin POST /faults '{"drop_after_store":1}' > /dev/null
    agent order submit "$1" --retry-base 0.1
    expect_rc 3 "submit with the reply lost"
    OURS=$((LAST + 1))
}
no_resubmit_advice() {
    if grep -qi "resubmit" "$T/err"; then fail "advises a resubmit while a candidate could be ours"
    else pass "no resubmit advice"; fi
}
adopted() {   # adopted DESC: the re-run adopted OURS, nothing sent again
    [ "$RC" = 0 ] && [ "$(json_get "$T/out" adopted)" = True ] &&
        [ "$(json_get "$T/out" order_id)" = "$OURS" ] && pass "$1: order $OURS adopted" ||
        fail "$1: exit $RC, order $(json_get "$T/out" order_id 2>/dev/null)"
    [ "$(lc_posts)" = 1 ] && [ "$(lc_orders_created)" = 1 ] && pass "$1: one POST, one order" ||
        fail "$1: POSTs $(lc_posts), orders $(lc_orders_created)"
}
python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); r["certificate"]["common_name"]="Zegel Ours"
json.dump(r, open(sys.argv[2], "w"), indent=2)' "$EXAMPLE_REQUEST" "$T/cn.json"

echo "20 orders of other organisations, then ours with the reply lost"
fresh other-orgs
others '{"count":20,"organization_name":"Ander Zegel B.V."}'
lost "$EXAMPLE_REQUEST"
agent --json order submit "$EXAMPLE_REQUEST"
adopted "21 orders listed"

echo "the same, served 7 to a page"
fresh paged
others '{"count":22,"organization_name":"Ander Zegel B.V."}'
sim_admin POST /faults '{"list_limit_max":7}' > /dev/null
lost "$EXAMPLE_REQUEST"
agent --json order submit "$EXAMPLE_REQUEST"
adopted "23 orders, 7 to a page"
sim_admin GET /stats > "$T/stats.json"
n_pages=$(json_get "$T/stats.json" "requests.GET /order/certificate" 2>/dev/null || echo 0)
[ "$n_pages" = 4 ] && pass "every page read, the last one short ($n_pages list requests)" ||
    fail "$n_pages list requests"

echo "the same, list entries without organisation and no page object"
fresh bare
others '{"count":20,"organization_name":"Ander Zegel B.V."}'
sim_admin POST /faults '{"list_bare":true}' > /dev/null
lost "$EXAMPLE_REQUEST"
agent --json order submit "$EXAMPLE_REQUEST"
adopted "organisation read from each order"

echo "20 orders of our organisation, placed an hour before ours"
fresh same-org-older
others '{"count":20,"age_seconds":3600}'
lost "$EXAMPLE_REQUEST"
agent --json order submit "$EXAMPLE_REQUEST"
adopted "older orders are not ours"

echo "20 orders of our organisation at the same time, another common name"
fresh same-org-cn
others '{"count":20,"common_name":"Zegel Ander"}'
lost "$T/cn.json"
agent --json order submit "$T/cn.json"
adopted "told apart by the common name"

echo "20 orders of our organisation at the same time, nothing tells ours apart"
fresh same-org
others '{"count":20}'
lost "$EXAMPLE_REQUEST"
agent order submit "$EXAMPLE_REQUEST"
expect_rc 3 "cannot tell: exit 3"
expect_err "21 orders could be the one it stored" "says 21 candidates"
python3 - "$T/err" "$OURS" <<'EOF' && pass "lists all 21 (ours included) with date and status" || fail "candidate list incomplete"
import re, sys
text = open(sys.argv[1]).read()
ids = set(int(i) for i in re.findall(r"(\d{6}) \(created [^,]+, pending\)", text))
sys.exit(0 if ids == set(range(100001, 100022)) and int(sys.argv[2]) in ids else 1)
EOF
no_resubmit_advice
agent order submit "$EXAMPLE_REQUEST" --confirm-resubmit
expect_rc 3 "--confirm-resubmit does not override candidates"
[ "$(lc_posts)" = 1 ] && [ "$(lc_orders_created)" = 1 ] && pass "nothing sent again" ||
    fail "POSTs $(lc_posts), orders $(lc_orders_created)"
lc_agent provision "$OURS"
expect_err "taken by job job-[0-9a-f]+, whose submit was interrupted" "provision ORDER_ID resolves it"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "then the submit reports it"
[ "$(json_get "$T/out" existing)" = True ] && [ "$(json_get "$T/out" order_id)" = "$OURS" ] &&
    pass "as the existing order $OURS" || fail "reports $(json_get "$T/out" order_id 2>/dev/null)"

echo "an order whose date_created does not parse stays a candidate"
fresh bad-date
others '{"count":20,"organization_name":"Ander Zegel B.V."}'
others '{"count":1,"date_created":"gisteren"}'
lost "$EXAMPLE_REQUEST"
agent order submit "$EXAMPLE_REQUEST"
expect_rc 3 "ours and the undated one: exit 3"
expect_err "2 orders could be the one it stored: 100021 \(date \"gisteren\" not understood, pending\), $OURS \(created " \
    "lists the undated order and ours"
no_resubmit_advice

echo "no candidate at all: only then the resubmit advice"
fresh none
others '{"count":20,"organization_name":"Ander Zegel B.V."}'
others '{"count":20,"age_seconds":7200}'
QSCD_TEST_CRASH_AFTER=submitting run "$QSCD_AGENT_HOOKS" order submit "$EXAMPLE_REQUEST"
expect_rc 137 "killed after committing submitting, before the POST"
agent order submit "$EXAMPLE_REQUEST"
expect_rc 3 "none of the orders can be ours"
expect_err "none of the 40 orders CertCentral lists can be the one it stored" "says how many it looked at"
expect_err "--confirm-resubmit" "advises --confirm-resubmit"
agent --json order submit "$EXAMPLE_REQUEST" --confirm-resubmit
expect_rc 0 "--confirm-resubmit sends it"
[ "$(lc_posts)" = 1 ] && pass "one POST" || fail "POSTs $(lc_posts)"

finish
