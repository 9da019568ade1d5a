#!/bin/bash
# The simulator's status-changes endpoint (window in minutes or seconds, at
# most 7 days, DigiCert's time_frame_too_long beyond), and --latency.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../sim/test-helpers.sh"

echo "test-sim-changes"

( umask 077; echo k > "$T/k" )
run "$QSCD_SIM" --dir "$T/x" --latency soon --api-key-file "$T/k"
expect_rc 2 "bad --latency refused"
expect_err 'latency' "message names --latency"

sim_start --latency 150
count_of() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["orders"]))' "$1"; }

# --- the window --------------------------------------------------------------------
http "$T/r.json" GET '/order/certificate/status-changes?minutes=10080'
expect_code 200 "7 days in minutes accepted"
[ "$(count_of "$T/r.json")" = 0 ] && pass "no orders, no changes" || fail "changes: $(cat "$T/r.json")"
http "$T/r.json" GET '/order/certificate/status-changes?minutes=10081'
expect_code 400 "7 days and a minute refused"
expect_json "$T/r.json" errors.0.code time_frame_too_long "DigiCert's code for a long window"
http "$T/r.json" GET '/order/certificate/status-changes?seconds=604801'
expect_json "$T/r.json" errors.0.code time_frame_too_long "seconds: over 7 days refused"
http "$T/r.json" GET '/order/certificate/status-changes?seconds=604800'
expect_code 200 "seconds: 7 days accepted"
http "$T/r.json" GET '/order/certificate/status-changes'
expect_code 400 "no window refused"
expect_json "$T/r.json" errors.0.code invalid_input "no window: invalid_input"
http "$T/r.json" GET '/order/certificate/status-changes?minutes=5&seconds=5'
expect_code 400 "two windows refused"
http "$T/r.json" GET '/order/certificate/status-changes?minutes=-3'
expect_code 400 "negative window refused"
grep -q 'minutes' "$T/r.json" && pass "error names minutes" || fail "error: $(cat "$T/r.json")"

# --- what changed ----------------------------------------------------------------------
sim_admin POST /orders '{"count":3,"age_seconds":7200}' > /dev/null      # 100001-100003, 2 h old
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"   # 100004, now
http "$T/r.json" GET '/order/certificate/status-changes?minutes=60'
[ "$(count_of "$T/r.json")" = 1 ] && pass "an hour: only the new order" || fail "an hour: $(cat "$T/r.json")"
expect_json "$T/r.json" orders.0.order_id 100004 "the new order is a change"
expect_json "$T/r.json" orders.0.status pending "with its status"
http "$T/r.json" GET '/order/certificate/status-changes?minutes=180'
[ "$(count_of "$T/r.json")" = 4 ] && pass "three hours: all four" || fail "three hours: $(cat "$T/r.json")"
sim_admin POST /reject '{"order_id":100002}' > /dev/null
sim_admin POST /approve '{"order_id":100003}' > /dev/null
sim_admin POST /status '{"order_id":100001,"status":"revoked"}' > /dev/null
http "$T/r.json" GET '/order/certificate/status-changes?seconds=60'
python3 - "$T/r.json" > "$T/ch" <<'EOP'
import json, sys
for o in json.load(open(sys.argv[1]))["orders"]:
    print(o["order_id"], o["status"], o.get("certificate_id", "-"))
EOP
grep -qx '100001 revoked -' "$T/ch" && pass "revoked order listed" || fail "changes: $(cat "$T/ch")"
grep -qx '100002 rejected -' "$T/ch" && pass "rejected order listed" || fail "changes: $(cat "$T/ch")"
grep -qx '100004 pending -' "$T/ch" && pass "the new order still in the window" || fail "changes: $(cat "$T/ch")"
# Approved but not shipped: the status stays pending (no change), the certificate id is known.
grep -q '^100003' "$T/ch" && fail "100003 listed though its status did not change" ||
    pass "approval without issuance is no status change"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k1.pem" 2>/dev/null
openssl pkey -in "$T/k1.pem" -pubout -out "$T/k1.pub"
python3 -c 'import json,sys; print(json.dumps({"order_id": 100003, "public_key_pem": open(sys.argv[1]).read()}))' \
    "$T/k1.pub" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null
http "$T/r.json" GET '/order/certificate/status-changes?seconds=60'
python3 - "$T/r.json" > "$T/ch" <<'EOP'
import json, sys
for o in json.load(open(sys.argv[1]))["orders"]:
    print(o["order_id"], o["status"], o.get("certificate_id", "-"))
EOP
grep -qx '100003 issued 300001' "$T/ch" && pass "issued: status and certificate_id" || fail "changes: $(cat "$T/ch")"

# --- --latency: every API request waits, admin requests do not ---------------------------
s=$(date +%s%N)
http "$T/r.json" GET '/order/certificate?limit=1'
e=$(( ($(date +%s%N) - s) / 1000000 ))
[ "$e" -ge 150 ] && pass "--latency 150: the list took $e ms" || fail "--latency 150: the list took only $e ms"
sim_admin GET /stats > "$T/stats.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"].get("GET /order/certificate/status-changes", 0))' \
    "$T/stats.json" > "$T/n"
[ "$(cat "$T/n")" -ge 10 ] && pass "status-changes counted in stats" || fail "stats: $(cat "$T/n")"
finish
