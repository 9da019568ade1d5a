#!/bin/bash
# The CertCentral simulator on its own, driven with curl and openssl: TLS
# with its own CA, the API key, the seed's order from pending to issued for a
# "shipped" key, the issued chain and its qualified-eSeal profile, reissue
# with a CSR, and clean shutdown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../sim/test-helpers.sh"

echo "test-sim-basic"
sim_start

# --- TLS and the API key ---------------------------------------------------
run curl -sS -o /dev/null "$SIM_URL/order/certificate"
[ "$RC" -ne 0 ] && pass "TLS refused without the simulator's CA (curl exit $RC)" ||
    fail "TLS worked without the simulator's CA"
CODE=$(curl -sS --cacert "$SIM_CA" -o "$T/r.json" -w '%{http_code}' \
    -H "X-DC-DEVKEY: $SIM_API_KEY" "https://localhost:$SIM_PORT/services/v2/order/certificate")
expect_code 200 "TLS with DIR/ca.pem, by name localhost"

CODE=$(curl -sS --cacert "$SIM_CA" -o "$T/r.json" -w '%{http_code}' \
    -H "X-DC-DEVKEY: wrong-$SIM_API_KEY" "$SIM_URL/order/certificate")
expect_code 401 "wrong API key"
expect_json "$T/r.json" errors.0.code access_denied "401 carries DigiCert's error shape"
CODE=$(curl -sS --cacert "$SIM_CA" -o "$T/r.json" -w '%{http_code}' "$SIM_URL/order/certificate")
expect_code 401 "missing API key"

# --- server-side checks of the order ---------------------------------------
python3 - "$SEED" "$T/bad-order.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["certificate"]["signature_hash"] = "sha1"
d["csa_agreed_to"] = False
del d["ship_info"]
json.dump(d, open(sys.argv[2], "w"))
EOF
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$T/bad-order.json"
expect_code 400 "order with sha1, csa_agreed_to false and no ship_info refused"
if grep -q 'certificate.signature_hash' "$T/r.json" && grep -q 'csa_agreed_to' "$T/r.json" &&
   grep -q 'ship_info' "$T/r.json"; then
    pass "every bad field named in the errors"
else
    fail "errors do not name every bad field: $(cat "$T/r.json")"
fi
expect_json "$T/r.json" errors.0.code invalid_input "error code invalid_input"
http "$T/r.json" POST /order/certificate/pkio_qualified_organisation_services \
    -H 'Content-Type: text/plain' --data-binary @"$SEED"
expect_code 415 "order without a JSON Content-Type refused"

# --- the seed's order, pending -> approved -> issued ------------------------
json_post "$T/r.json" /order/certificate/pkio_qualified_organisation_services "$SEED"
expect_code 201 "seed order placed"
expect_json "$T/r.json" id 100001 "first order id is 100001"
expect_json "$T/r.json" requests.0.id 200001 "first request id is 200001"
expect_json "$T/r.json" requests.0.status pending "new request is pending"
ORDER=$(json_get "$T/r.json" id); REQ=$(json_get "$T/r.json" requests.0.id)

http "$T/r.json" GET "/order/certificate/$ORDER"
expect_code 200 "order info"
expect_json "$T/r.json" requests.0.status submitted "first poll: submitted"
expect_json "$T/r.json" product.name_id pkio_qualified_organisation_services "product name_id"
expect_json "$T/r.json" organization.id 2042709 "preset organisation"
http "$T/r.json" GET "/request/$REQ"
expect_json "$T/r.json" status approved "second poll: approved"
expect_json "$T/r.json" certificate_id 300001 "request info has certificate_id"
http "$T/r.json" GET "/order/certificate/$ORDER"
expect_json "$T/r.json" status pending "order pending until the token key is shipped"
expect_json "$T/r.json" certificate.id 300001 "order knows its certificate id"
http "$T/r.json" GET "/certificate/300001/download/format/pem_all"
expect_code 404 "no download before issuance"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/token.key" 2>/dev/null
openssl pkey -in "$T/token.key" -pubout -out "$T/token.pub"
python3 -c 'import json,sys; print(json.dumps({"order_id": int(sys.argv[1]), "public_key_pem": open(sys.argv[2]).read()}))' \
    "$ORDER" "$T/token.pub" > "$T/ship.json"
sim_admin POST /ship "$(cat "$T/ship.json")" > "$T/r.json"
expect_json "$T/r.json" status issued "shipping the key issues the certificate"
http "$T/r.json" GET "/order/certificate/$ORDER"
expect_json "$T/r.json" status issued "order issued"
expect_json "$T/r.json" certificate.valid_till "$(date -u -d '+365 days' +%F)" "1 year validity"

# --- the issued chain --------------------------------------------------------
CT=$(curl -sS --cacert "$SIM_CA" -H "X-DC-DEVKEY: $SIM_API_KEY" -o "$T/all.pem" \
    -w '%{content_type}' "$SIM_URL/certificate/300001/download/format/pem_all")
[ "$CT" = application/x-pem-file ] && pass "PEM content type" || fail "content type $CT"
[ "$(count_certs "$T/all.pem")" = 3 ] && pass "pem_all has 3 certificates" ||
    fail "pem_all has $(count_certs "$T/all.pem") certificates"
split_bundle "$T/all.pem" "$T/c"
[ "$(pub_of_cert "$T/c1.pem")" = "$(pub_of_key "$T/token.key")" ] &&
    pass "leaf holds the shipped public key" || fail "leaf key differs from the shipped key"
run openssl verify -CAfile "$T/c3.pem" -untrusted "$T/c2.pem" "$T/c1.pem"
expect_rc 0 "openssl verify leaf -> intermediate -> root"
cmp -s "$T/c3.pem" <(awk '/BEGIN/{n++} n==2' "$T/sim/issuing-chain.pem") &&
    pass "root is the one in DIR/issuing-chain.pem" || fail "root differs from issuing-chain.pem"
openssl x509 -in "$T/c1.pem" -noout -text > "$T/leaf.txt"
grep -q 'organizationIdentifier = NTRNL-12345678' "$T/leaf.txt" &&
    grep -q 'O = Example Seal B.V.' "$T/leaf.txt" && grep -q 'C = NL' "$T/leaf.txt" &&
    pass "subject C, O, organizationIdentifier" || fail "subject: $(grep Subject: "$T/leaf.txt")"
grep -A1 'Key Usage: critical' "$T/leaf.txt" | grep -qx ' *Non Repudiation' &&
    pass "keyUsage nonRepudiation, critical" || fail "keyUsage not nonRepudiation critical"
grep -q 'Policy: 0.4.0.194112.1.3' "$T/leaf.txt" && grep -q 'Policy: 2.16.528.1.1003.1.2.5.7' "$T/leaf.txt" &&
    pass "certificatePolicies QCP-l-qscd + PKIo" || fail "certificatePolicies missing"
grep -q 'Signature Algorithm: sha256WithRSAEncryption' "$T/leaf.txt" && pass "SHA-256 signature" ||
    fail "signature algorithm"
off=$(openssl asn1parse -in "$T/c1.pem" | grep -A1 ':qcStatements' | tail -1 | cut -d: -f1 | tr -d ' ')
openssl asn1parse -in "$T/c1.pem" -strparse "$off" > "$T/qc.txt" 2>&1
tr -s ' ' < "$T/qc.txt" | sed 's/^ *[0-9]*://' > "$T/qc.norm"
cat > "$T/qc.want" <<'EOF'
d=0 hl=2 l= 41 cons: SEQUENCE 
d=1 hl=2 l= 8 cons: SEQUENCE 
d=2 hl=2 l= 6 prim: OBJECT :0.4.0.1862.1.1
d=1 hl=2 l= 8 cons: SEQUENCE 
d=2 hl=2 l= 6 prim: OBJECT :0.4.0.1862.1.4
d=1 hl=2 l= 19 cons: SEQUENCE 
d=2 hl=2 l= 6 prim: OBJECT :0.4.0.1862.1.6
d=2 hl=2 l= 9 cons: SEQUENCE 
d=3 hl=2 l= 7 prim: OBJECT :0.4.0.1862.1.6.2
EOF
diff -b "$T/qc.want" "$T/qc.norm" > /dev/null && pass "QCStatements: QcCompliance, QcSSCD, QcType eseal (DER)" ||
    fail "QCStatements DER: $(cat "$T/qc.txt")"

http "$T/noroot.pem" GET "/certificate/download/order/$ORDER/format/pem_noroot"
expect_code 200 "download by order, pem_noroot"
[ "$(count_certs "$T/noroot.pem")" = 2 ] && pass "pem_noroot has 2 certificates" ||
    fail "pem_noroot has $(count_certs "$T/noroot.pem") certificates"
http "$T/r.json" GET "/certificate/300001/download/format/p7b"
expect_code 400 "unsupported format refused"

# --- reissue with a CSR --------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/new.key" \
    -subj "/CN=ignored" -out "$T/new.csr" 2>/dev/null
# One line with literal \n, as CertCentral's examples send it.
python3 -c 'import json,sys; print(json.dumps({"certificate": {"csr": open(sys.argv[1]).read().replace("\n", "\\n"), "signature_hash": "sha256"}}))' \
    "$T/new.csr" > "$T/reissue.json"
json_post "$T/r.json" "/order/certificate/$ORDER/reissue" "$T/reissue.json"
expect_code 201 "reissue accepted"
expect_json "$T/r.json" id "$ORDER" "reissue reply names the order"
expect_json "$T/r.json" requests.0.status pending "reissue request pending"
REQ2=$(json_get "$T/r.json" requests.0.id)
http "$T/r.json" GET "/order/certificate/$ORDER"
expect_json "$T/r.json" status reissue_pending "order reissue_pending"
http "$T/r.json" GET "/request/$REQ2"
expect_json "$T/r.json" type reissue "request type reissue"
expect_json "$T/r.json" status approved "reissue approved after two polls"
http "$T/r.json" GET "/order/certificate/$ORDER"
expect_json "$T/r.json" status issued "order issued again"
expect_json "$T/r.json" certificate.id 300002 "new certificate id"
http "$T/re.pem" GET "/certificate/300002/download/format/pem_all"
split_bundle "$T/re.pem" "$T/r"
[ "$(pub_of_cert "$T/r1.pem")" = "$(pub_of_key "$T/new.key")" ] &&
    pass "reissued leaf holds the CSR's key" || fail "reissued leaf key differs from the CSR key"
openssl x509 -in "$T/r1.pem" -noout -subject | grep -q 'NTRNL-12345678' &&
    pass "reissued leaf keeps the organisation subject" || fail "reissued subject"
http "$T/r.json" GET "/certificate/300001/download/format/pem_all"
expect_code 200 "old certificate still downloadable by id"

# A CSR whose signature was tampered with.
python3 - "$T/new.csr" "$T/bad-reissue.json" <<'EOF'
import base64, json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if not l.startswith("-----")]
der = bytearray(base64.b64decode("".join(lines)))
der[-3] ^= 0x01
pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der)).decode() + "-----END CERTIFICATE REQUEST-----\n"
json.dump({"certificate": {"csr": pem, "signature_hash": "sha256"}}, open(sys.argv[2], "w"))
EOF
json_post "$T/r.json" "/order/certificate/$ORDER/reissue" "$T/bad-reissue.json"
expect_code 400 "tampered CSR refused"
expect_json "$T/r.json" errors.0.code invalid_csr "error code invalid_csr"
grep -q "signature does not verify" "$T/r.json" && pass "CSR refused for its signature" ||
    fail "tampered CSR refused for another reason: $(cat "$T/r.json")"
printf '{"certificate":{"csr":"not a csr"}}' > "$T/junk.json"
json_post "$T/r.json" "/order/certificate/$ORDER/reissue" "$T/junk.json"
expect_code 400 "garbage CSR refused"

# --- unknown things --------------------------------------------------------------
http "$T/r.json" GET /order/certificate/999999
expect_code 404 "unknown order"
expect_json "$T/r.json" errors.0.code not_found "not_found error shape"
http "$T/r.json" GET /request/999999
expect_code 404 "unknown request"

# --- secrets and shutdown ----------------------------------------------------------
expect_no_string "$SIM_API_KEY" "API key never in the simulator's log" "$T/sim.log"
kill "$SIM_PID"
wait "$SIM_PID"; rc=$?
untrack_pid "$SIM_PID"
[ "$rc" = 0 ] && pass "SIGTERM: clean exit" || fail "simulator exit $rc on SIGTERM"
finish
