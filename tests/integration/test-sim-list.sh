#!/bin/bash
# The simulator's order list (paging, filters), organisations (preset and
# created with an order), order_validity, and its command-line options.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../sim/test-helpers.sh"

echo "test-sim-list"

# --- options refused before anything starts ---------------------------------------
run "$QSCD_SIM" --dir "$T/x" --api-key-file /dev/null
expect_rc 2 "no API key: refused"
expect_err 'no API key' "message names the missing API key"
( umask 077; echo k > "$T/k" )
run "$QSCD_SIM" --dir "$T/x" --listen 0.0.0.0 --port 0 --api-key-file "$T/k"
expect_rc 2 "non-loopback --listen refused"
expect_err 'not a loopback address' "message names the loopback rule"
run "$QSCD_SIM" --api-key-file "$T/k"
expect_rc 2 "missing --dir"
expect_err '--dir: required' "message names --dir"
run "$QSCD_SIM" --dir "$T/x" --approve-after-polls many --api-key-file "$T/k"
expect_rc 2 "bad --approve-after-polls"

sim_start

# --- paging ---------------------------------------------------------------------------
for _ in 1 2 3 4 5; do
    json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
done
expect_json "$T/r.json" id 100005 "five orders placed"
http "$T/r.json" GET '/order/certificate?limit=2&offset=0'
expect_json "$T/r.json" page.total 5 "total counts every order"
expect_json "$T/r.json" page.limit 2 "limit echoed"
python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["orders"]))' "$T/r.json" > "$T/n"
[ "$(cat "$T/n")" = 2 ] && pass "page of 2" || fail "page has $(cat "$T/n") orders"
expect_json "$T/r.json" orders.0.id 100001 "first page starts at the first order"
expect_json "$T/r.json" orders.0.product.name_id pkio_qualified_organisation_services "list entry product"
expect_json "$T/r.json" orders.0.organization.name "Example Seal B.V." "list entry organisation"
expect_json "$T/r.json" orders.0.certificate.common_name "Example Seal B.V." "list entry common name"
http "$T/r.json" GET '/order/certificate?limit=2&offset=4'
expect_json "$T/r.json" orders.0.id 100005 "last page"
python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["orders"]))' "$T/r.json" > "$T/n"
[ "$(cat "$T/n")" = 1 ] && pass "last page has 1" || fail "last page has $(cat "$T/n") orders"
http "$T/r.json" GET '/order/certificate?limit=5000'
expect_json "$T/r.json" page.limit 1000 "limit capped at 1000"
http "$T/r.json" GET '/order/certificate?limit=0'
expect_code 400 "limit=0 refused"
http "$T/r.json" GET '/order/certificate?offset=abc'
expect_code 400 "offset=abc refused"
grep -q 'offset' "$T/r.json" && pass "error names offset" || fail "error does not name offset"

# --- filters ----------------------------------------------------------------------------
sim_admin POST /approve '{"order_id":100002}' > /dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k1.pem" 2>/dev/null
openssl pkey -in "$T/k1.pem" -pubout -out "$T/k1.pub"
python3 -c 'import json,sys; print(json.dumps({"order_id": 100002, "public_key_pem": open(sys.argv[1]).read()}))' \
    "$T/k1.pub" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null
http "$T/r.json" GET '/order/certificate?filters[status]=issued' -g
expect_json "$T/r.json" page.total 1 "filters[status]=issued"
expect_json "$T/r.json" orders.0.id 100002 "the issued one"
http "$T/r.json" GET '/order/certificate?filters[status]=pending' -g
expect_json "$T/r.json" page.total 4 "filters[status]=pending"
today=$(date -u +%F)
http "$T/r.json" GET "/order/certificate?filters[date_created]=$today" -g
expect_json "$T/r.json" page.total 5 "filters[date_created]=today"
http "$T/r.json" GET "/order/certificate?filters[date_created]=2001-01-01...2001-12-31" -g
expect_json "$T/r.json" page.total 0 "filters[date_created] range in the past"

# --- organisations ----------------------------------------------------------------------
http "$T/r.json" GET /organization/2042709
expect_json "$T/r.json" organization_identifier NTRNL-12345678 "preset organisation"
python3 - "$SEED" "$T/neworg.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["organization"] = {"name": "Nieuw Zegel B.V.", "registration_number": "87654321",
                     "country": "nl", "contacts": d["organization"]["contacts"]}
d["order_validity"] = {"days": 30}
json.dump(d, open(sys.argv[2], "w"))
EOF
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$T/neworg.json"
expect_code 201 "order with a new organisation"
ORG=$(json_get "$T/r.json" organization.id 2>/dev/null)
[ -n "$ORG" ] && [ "$ORG" != 2042709 ] && pass "new organization.id returned ($ORG)" ||
    fail "no new organization.id"
O6=$(json_get "$T/r.json" id)
http "$T/r.json" GET "/organization/$ORG"
expect_json "$T/r.json" name "Nieuw Zegel B.V." "new organisation stored"
expect_json "$T/r.json" organization_identifier NTRNL-87654321 "organizationIdentifier from the KvK number"
sim_admin POST /approve "{\"order_id\":$O6}" > /dev/null
python3 -c 'import json,sys; print(json.dumps({"order_id": int(sys.argv[2]), "public_key_pem": open(sys.argv[1]).read()}))' \
    "$T/k1.pub" "$O6" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null
http "$T/c.pem" GET "/certificate/download/order/$O6/format/pem_noroot"
expect_code 200 "EC key certificate issued"
openssl x509 -in "$T/c.pem" -noout -subject > "$T/subj"
grep -q 'O = Nieuw Zegel B.V.' "$T/subj" && grep -q 'NTRNL-87654321' "$T/subj" &&
    pass "leaf subject is the new organisation" || fail "leaf subject: $(cat "$T/subj")"
http "$T/r.json" GET "/order/certificate/$O6"
expect_json "$T/r.json" certificate.valid_till "$(date -u -d '+30 days' +%F)" "order_validity.days 30"

python3 - "$SEED" "$T/badorg.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["organization"]["id"] = 99
d["order_validity"] = {"years": 5}
json.dump(d, open(sys.argv[2], "w"))
EOF
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$T/badorg.json"
expect_code 400 "unknown organization.id and 5 years refused"
grep -q 'organization.id' "$T/r.json" && grep -q 'order_validity.years' "$T/r.json" &&
    pass "both fields named" || fail "errors: $(cat "$T/r.json")"
sim_admin GET /stats > "$T/stats.json"
expect_json "$T/stats.json" orders_created 6 "refused orders are not stored"
sim_stop

# --- --approve-after-polls 0 and --issue-days -------------------------------------------
rm -f "$T/sim.port"
sim_start --approve-after-polls 0 --issue-days -1
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
expect_json "$T/r.json" requests.0.status approved "--approve-after-polls 0: approved at once"
expect_json "$T/r.json" certificate_id 300001 "with its certificate_id"
python3 -c 'import json,sys; print(json.dumps({"order_id": 100001, "public_key_pem": open(sys.argv[1]).read()}))' \
    "$T/k1.pub" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null
http "$T/c.pem" GET /certificate/300001/download/format/pem_all
run openssl x509 -in "$T/c.pem" -noout -checkend 0
[ "$RC" -ne 0 ] && pass "--issue-days -1: certificate already expired" || fail "certificate not expired"
sim_stop

# --- --approve-after-seconds --------------------------------------------------------------
rm -f "$T/sim.port"
sim_start --approve-after-seconds 1
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
sleep 1.5
http "$T/r.json" GET /request/200001
expect_json "$T/r.json" status approved "--approve-after-seconds 1: approved after a wait"
finish
