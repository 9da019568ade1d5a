#!/bin/bash
# The order commands end to end against the simulator: submit (and
# --dry-run), status, wait until approved, fetch refused before issuance,
# ship a key, wait until issued, fetch: the chain parses and its leaf holds
# the shipped key.
. "$(dirname "$0")/lib.sh"

echo "test-order-flow"
sim_start --approve-after-polls 2
REQ=tests/data/requests/seed-fixed.json
[ -f "$REQ" ] || { echo "missing $REQ"; exit 1; }

post_count() {
    sim_admin GET /stats > "$T/stats.json"
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(d["requests"].get("POST /order/certificate/pkio_qualified_organisation_services",0))' "$T/stats.json"
}

# --- dry run: valid, nothing sent --------------------------------------------
agent order submit "$REQ" --dry-run
expect_rc 0 "submit --dry-run of a valid request"
expect_out "valid, not sent" "dry run says it sent nothing"
[ "$(post_count)" = 0 ] && pass "no POST after --dry-run" || fail "a POST after --dry-run"

# --- submit ------------------------------------------------------------------
agent order submit "$REQ"
expect_rc 0 "order submit"
expect_out "^order [0-9]+, request [0-9]+ \(pending\)$" "human output names order and request"
agent --json order submit "$REQ" --new-order
expect_rc 0 "order submit --json (a second order for the same request)"
ORDER=$(json_get "$T/out" order_id)
REQUEST=$(json_get "$T/out" request_id)
[ "$(json_get "$T/out" status)" = pending ] && pass "--json status pending" || fail "--json status"
[ -n "$ORDER" ] && [ -n "$REQUEST" ] && pass "order $ORDER, request $REQUEST" || fail "no ids"
[ "$(post_count)" = 2 ] && pass "exactly two POSTs for two submits" || fail "POST count $(post_count)"

# --- status ------------------------------------------------------------------
agent order status "$ORDER"
expect_rc 0 "order status"
expect_out "^order $ORDER: pending" "status shows the order status"
expect_out "request $REQUEST .*: (pending|submitted|approved)" "status shows the request"
agent order status nonsense
expect_rc 2 "order status with a non-numeric id"
expect_err "ORDER_ID: must be a positive number" "id error names ORDER_ID"
agent order status 999999
expect_rc 3 "order status of an unknown order"
expect_err "order 999999 not found" "404 says which order"

# --- wait until approved, fetch refused until issued --------------------------
agent order wait "$ORDER" --poll-interval 0.2 --timeout 30
expect_rc 0 "order wait (until approved)"
expect_out "certificate [0-9]+" "wait reports the certificate id"
agent order fetch "$ORDER" -o "$T/chain.pem"
expect_rc 1 "fetch before issuance: not ready yet"
expect_err "has no certificate yet" "fetch says there is no certificate yet"
[ ! -e "$T/chain.pem" ] && pass "no output file written" || fail "output file written"
agent order wait "$ORDER" --until issued --poll-interval 0.2 --timeout 1
expect_rc 1 "wait --until issued times out before the token ships"
expect_err "not issued yet" "timeout message says not issued yet"

# --- ship the key DigiCert put on the token ------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/token-key.pem" 2>/dev/null
openssl pkey -in "$T/token-key.pem" -pubout -out "$T/token-pub.pem"
python3 -c 'import json,sys; print(json.dumps({"order_id":int(sys.argv[1]),"public_key_pem":open(sys.argv[2]).read()}))' \
    "$ORDER" "$T/token-pub.pem" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null && pass "key shipped" || fail "ship"

agent --json order wait "$ORDER" --until issued --poll-interval 0.2 --timeout 30
expect_rc 0 "wait --until issued"
[ "$(json_get "$T/out" status)" = issued ] && pass "--json wait shows issued" || fail "not issued"

# --- fetch -------------------------------------------------------------------
agent order fetch "$ORDER" -o "$T/chain.pem"
expect_rc 0 "order fetch -o FILE"
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/chain.pem")" -ge 2 ] && pass "chain has several certificates" ||
    fail "chain too short"
if openssl x509 -in "$T/chain.pem" -noout -pubkey > "$T/leaf-pub.pem" 2>/dev/null &&
   cmp -s "$T/leaf-pub.pem" "$T/token-pub.pem"; then
    pass "the leaf holds the shipped key"
else
    fail "leaf key differs from the shipped key"
fi
openssl storeutl -noout -certs "$T/chain.pem" > /dev/null 2>&1 && pass "openssl parses the chain" ||
    fail "openssl cannot parse the chain"
ls -a "$T" | grep -q '^\.qscd-fetch' && fail "temporary file left behind" || pass "no temporary file left"

agent order fetch "$ORDER" --format pem_noroot
expect_rc 0 "fetch --format pem_noroot to stdout"
ALL=$(grep -c 'BEGIN CERTIFICATE' "$T/chain.pem")
NOROOT=$(grep -c 'BEGIN CERTIFICATE' "$T/out")
[ "$NOROOT" -eq $((ALL - 1)) ] && pass "pem_noroot leaves out the root" || fail "noroot $NOROOT vs all $ALL"
agent order fetch "$ORDER" --format p12
expect_rc 2 "fetch with an unknown format"
expect_err "--format: must be pem_all or pem_noroot" "format error names the option"
agent order fetch "$ORDER" -o "$T/no/such/dir/chain.pem"
expect_rc 2 "fetch into a missing directory"

finish
