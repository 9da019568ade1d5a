#!/bin/bash
# status --refresh over a fleet's database (docs/fleet.md, docs/monitoring.md):
# the jobs of two desks are refreshed in one go, in as few requests as on a
# state directory; CertCentral's state lands in the database (the jobs'
# journal and the refresh record in qscd_records), so the next refresh asks
# only for the status changes, from whichever desk runs it; plain status
# then says how old the state is and sends nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

pg_start && pg_init_schema > "$T/init.log" 2>&1 || { fail "PostgreSQL"; cat "$T/init.log"; finish; }
lc_setup --approve-after-polls 1000
export QSCD_STATE_DB=$PG_URI
export QSCD_STATE_DIR=/dev/null/no-state-dir   # nothing may be kept locally

api_requests() {
    sim_admin GET /stats > "$T/stats.json" &&
        python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]))' "$T/stats.json"
}
remote_of() {   # remote_of ORDER: the job's remote status as the database holds it
    pg_sql qscd_admin "SELECT journal->'remote'->>'status' FROM qscd_jobs WHERE order_id = '$1'"
}

echo "three jobs, two desks"
QSCD_DESK=desk-a lc_submit; O1=$ORDER
QSCD_DESK=desk-a lc_submit; O2=$ORDER
QSCD_DESK=desk-b lc_submit; O3=$ORDER
[ -n "$O1" ] && [ -n "$O2" ] && [ -n "$O3" ] && pass "orders $O1 $O2 $O3 submitted" ||
    { fail "orders: $O1 $O2 $O3"; finish; }
sim_admin POST /reject "{\"order_id\": $O2}" > /dev/null
sim_admin POST /cancel "{\"order_id\": $O3}" > /dev/null

echo "the first refresh"
N0=$(api_requests)
QSCD_DESK=desk-a lc_agent status --refresh
[ "$RC" = 1 ] || [ "$RC" = 7 ] && pass "status --refresh ran (exit $RC: not every job ready)" ||
    fail "exit $RC: $(head -c 400 "$T/err")"
N1=$(api_requests)
[ $(( N1 - N0 )) -le 3 ] && pass "$(( N1 - N0 )) request(s) for the fleet's 3 jobs" ||
    fail "$(( N1 - N0 )) requests"
[ "$(remote_of "$O2")" = rejected ] && pass "desk-a's rejected order: rejected in the database" ||
    fail "remote of $O2: $(remote_of "$O2")"
[ -n "$(remote_of "$O3")" ] && [ "$(remote_of "$O3")" != pending ] &&
    pass "desk-b's canceled order refreshed too ($(remote_of "$O3"))" || fail "remote of $O3: $(remote_of "$O3")"
[ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_records WHERE sub = 'remote'")" = 1 ] &&
    pass "the refresh record is a row of qscd_records" || fail "no refresh record in the database"

echo "the next refresh, from the other desk: status changes only"
QSCD_DESK=desk-b lc_agent status --refresh
N2=$(api_requests)
[ $(( N2 - N1 )) = 1 ] && pass "one request" || fail "$(( N2 - N1 )) requests"
sim_admin GET /stats > "$T/stats.json"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["log"][-1]; print(e["method"], e["path"].split("?")[0])' \
    "$T/stats.json" > "$T/last"
grep -q '^GET .*/order/certificate/status-changes$' "$T/last" && pass "it asked for the status changes" ||
    fail "last request: $(cat "$T/last")"

echo "plain status: no request, says how old the state is"
lc_agent status
N3=$(api_requests)
[ "$N3" = "$N2" ] && pass "no request" || fail "$(( N3 - N2 )) requests"
expect_err 'CertCentral state [0-9]+ s old; `qscd-agent status --refresh`' "the age of the fleet's remote state"
expect_out "order $O2" "the rejected job is listed"
[ "$RC" = 7 ] && pass "exit 7: the rejected order needs attention" || fail "exit $RC"

sim_stop
pg_stop
finish
