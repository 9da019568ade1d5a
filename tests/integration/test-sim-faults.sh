#!/bin/bash
# The simulator's switchable faults (/_sim/faults), the admin decisions
# (approve, reject, reject_orders) and the request log in /_sim/stats.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../sim/test-helpers.sh"

retry_after_of() { tr -d '\r' < "$1" | awk -F': ' 'tolower($1)=="retry-after"{print $2}'; }

echo "test-sim-faults"
sim_start

# --- 429 with and without Retry-After ----------------------------------------
sim_admin POST /faults '{"status_429":{"count":2,"retry_after":2}}' > /dev/null
sim_admin GET /stats > "$T/stats.json"
expect_json "$T/stats.json" faults.status_429.count 2 "admin requests do not use up faults"
http "$T/r.json" GET /order/certificate -D "$T/h1"
expect_code 429 "first request rate-limited"
expect_json "$T/r.json" errors.0.code request_limit_exceeded "429 error code"
expect_json "$T/r.json" errors.0.message "Service unavailable, please limit request volume" "429 message"
[ "$(retry_after_of "$T/h1")" = 2 ] && pass "Retry-After: 2" || fail "Retry-After: '$(retry_after_of "$T/h1")'"
http "$T/r.json" GET /order/certificate
expect_code 429 "second request rate-limited"
http "$T/r.json" GET /order/certificate
expect_code 200 "third request served"

sim_admin POST /faults '{"status_429":{"count":1}}' > /dev/null
http "$T/r.json" GET /order/certificate -D "$T/h2"
expect_code 429 "429 without retry_after"
[ -z "$(retry_after_of "$T/h2")" ] && pass "no Retry-After header" || fail "unexpected Retry-After"

# --- 5xx ---------------------------------------------------------------------------
sim_admin POST /faults '{"status_5xx":{"count":1,"code":503}}' > /dev/null
http "$T/r.json" GET /order/certificate
expect_code 503 "503 fault"
expect_json "$T/r.json" errors.0.code service_unavailable "5xx in DigiCert's error shape"
http "$T/r.json" GET /order/certificate
expect_code 200 "served after the 5xx"
run sim_admin POST /faults '{"status_5xx":{"count":1,"code":404}}'
[ "$RC" -ne 0 ] && pass "5xx code outside 500..599 refused" || fail "5xx code 404 accepted"

# --- dropped connection after the order is stored ---------------------------------
sim_admin POST /faults '{"drop_after_store":1}' > /dev/null
http "$T/r.json" POST /order/certificate/pkio_qualified_organisation_services \
    -H 'Content-Type: application/json' --data-binary @"$SEED"
[ "$CODE" = 000 ] && pass "drop_after_store: no HTTP reply ($(head -c 60 "$T/curl.err"))" ||
    fail "drop_after_store: got HTTP $CODE"
sim_admin GET /stats > "$T/stats.json"
expect_json "$T/stats.json" orders_created 1 "the dropped order was stored"
http "$T/r.json" GET /order/certificate
expect_json "$T/r.json" page.total 1 "the dropped order is listed"
expect_json "$T/r.json" orders.0.id 100001 "with its id"

# --- broken bodies ---------------------------------------------------------------------
sim_admin POST /faults '{"malformed_json":1}' > /dev/null
http "$T/r.json" GET /order/certificate/100001
expect_code 200 "malformed reply keeps its status"
run python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/r.json"
[ "$RC" -ne 0 ] && pass "malformed_json: body is not JSON" || fail "malformed_json: body parsed"
sim_admin POST /faults '{"truncated_json":1}' > /dev/null
http "$T/r.json" GET /order/certificate/100001
run python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/r.json"
[ "$RC" -ne 0 ] && pass "truncated_json: body is cut short" || fail "truncated_json: body parsed"
http "$T/r.json" GET /order/certificate/100001
run python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/r.json"
expect_rc 0 "next reply is whole JSON again"

# --- delay (consumed, request still served; no timing assertions) -------------------
sim_admin POST /faults '{"delay_ms":300,"delay_count":1}' > /dev/null
http "$T/r.json" GET /order/certificate
expect_code 200 "delayed request served"
sim_admin GET /faults > "$T/f.json"
expect_json "$T/f.json" delay_count 0 "delay used up"

# --- approve, reject, reject_orders ------------------------------------------------
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
O2=$(json_get "$T/r.json" id)
sim_admin POST /reject "{\"order_id\":$O2}" > "$T/r.json"
expect_json "$T/r.json" status rejected "/_sim/reject"
http "$T/r.json" GET "/order/certificate/$O2"
expect_json "$T/r.json" requests.0.status rejected "request rejected"
run sim_admin POST /approve "{\"order_id\":$O2}"
[ "$RC" -ne 0 ] && pass "approving a rejected order refused" || fail "rejected order approved"

json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
O3=$(json_get "$T/r.json" id)
sim_admin POST /approve "{\"order_id\":$O3}" > "$T/r.json"
expect_json "$T/r.json" request_status approved "/_sim/approve"
[ -n "$(json_get "$T/r.json" certificate_id 2>/dev/null)" ] && pass "approval gives a certificate id" ||
    fail "no certificate id after approval"

sim_admin POST /faults '{"reject_orders":true}' > /dev/null
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
expect_code 201 "order accepted while reject_orders is armed"
O4=$(json_get "$T/r.json" id)
http "$T/r.json" GET "/order/certificate/$O4"
http "$T/r.json" GET "/order/certificate/$O4"
expect_json "$T/r.json" status rejected "reject_orders: the order ends rejected"
http "$T/r.json" GET "/order/certificate?filters[status]=rejected" -g
expect_json "$T/r.json" page.total 2 "list filtered by status rejected"

# --- stats and the request log ------------------------------------------------------
sim_admin GET /stats > "$T/stats.json"
python3 - "$T/stats.json" > "$T/check.txt" 2>&1 <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
req, log = s["requests"], s["log"]
assert req["GET /order/certificate"] >= 8, req
assert req["POST /order/certificate/pkio_qualified_organisation_services"] == 4, req
assert req["GET /order/certificate/{id}"] >= 5, req
assert all(isinstance(e["t"], float) for e in log), "t not a float"
assert all(a["t"] <= b["t"] for a, b in zip(log, log[1:])), "log not in time order"
assert [e["status"] for e in log[:3]] == [429, 429, 200], log[:3]
assert any(e.get("dropped") for e in log), "no dropped entry"
assert not any(e["path"].startswith("/stats") or e["path"].startswith("/faults") for e in log)
print("ok")
EOF
grep -qx ok "$T/check.txt" && pass "stats: per-endpoint counts and a timed log of API requests" ||
    fail "stats: $(cat "$T/check.txt")"

sim_admin POST /reset > /dev/null
sim_admin GET /stats > "$T/stats.json"
expect_json "$T/stats.json" orders_created 0 "reset forgets orders"
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
expect_json "$T/r.json" id 100001 "ids start again after reset"

# Under ASan this is where leaks would show: the exit code says so.
kill "$SIM_PID"
wait "$SIM_PID"; rc=$?
untrack_pid "$SIM_PID"
[ "$rc" = 0 ] && pass "SIGTERM: clean exit" || { fail "simulator exit $rc on SIGTERM"; tail -40 "$T/sim.log"; }
finish
