#!/bin/bash
# Trust and secrets on the CertCentral side: TLS verification cannot be
# bypassed, http:// is refused, the API key comes only from a private file
# or the environment and never shows in any output (even -v -v), a wrong key
# gets a clear message, card data is not traced, and a bad request file
# sends nothing.
. "$(dirname "$0")/lib.sh"

echo "test-order-security"
sim_start
REQ=tests/data/requests/seed-fixed.json
POST_KEY="POST /order/certificate/pkio_qualified_organisation_services"
posts() { sim_admin GET /stats > "$T/stats.json"; python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["requests"].get(sys.argv[2],0))' "$T/stats.json" "$POST_KEY"; }

# --- invalid request files: exit 2, nothing sent ------------------------------
agent order submit tests/data/requests/seed-trailing-comma.json
expect_rc 2 "request file with a JSON syntax error"
expect_err "seed-trailing-comma.json: line [0-9]+, column [0-9]+" "syntax error with line and column"
python3 - "$REQ" "$T/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["certificate"]["signature_hash"] = "sha1"
d["ship_info"]["method"] = "OVERNIGHT"
json.dump(d, open(sys.argv[2], "w"))
PY
agent order submit "$T/bad.json"
expect_rc 2 "request file breaking two rules"
expect_err "signature_hash" "the hash problem is named"
expect_err "ship_info.method" "the shipping problem is named"
expect_err "nothing was sent" "the user is told nothing was sent"
agent order submit "$T/missing.json"
expect_rc 2 "missing request file"
[ "$(posts)" = 0 ] && pass "no POST reached the simulator" || fail "POST count $(posts)"

# --- TLS --------------------------------------------------------------------------
QSCD_CA_FILE= agent order status 100001
expect_rc 3 "no --ca-file: the simulator's certificate is not trusted"
expect_err "TLS: the server certificate .* could not be verified" "message about the certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other-ca.pem" \
    -subj "/CN=Other CA" -days 2 2>/dev/null
agent order status 100001 --ca-file "$T/other-ca.pem"
expect_rc 3 "a different CA file"
expect_err "could not be verified" "a different CA is refused too"
agent order submit "$REQ" --ca-file "$T/other-ca.pem"
expect_rc 3 "submit over an untrusted connection"
[ "$(posts)" = 0 ] && pass "nothing was posted over an untrusted connection" || fail "POST count $(posts)"

# --- http:// ---------------------------------------------------------------------
agent order status 100001 --api-url "http://127.0.0.1:$SIM_PORT/services/v2"
expect_rc 2 "http:// API URL"
expect_err "only https:// URLs are accepted" "http:// refused with a reason"

# --- the API key -------------------------------------------------------------------
( umask 077; echo "wrong-key-123" > "$T/wrong-key" )
agent order status 100001 --api-key-file "$T/wrong-key"
expect_rc 3 "wrong API key"
expect_err "API key rejected by CertCentral \(HTTP 401: access_denied" "API-key message with DigiCert's error"
expect_err "Check --api-key-file / QSCD_API_KEY" "the CLI says what to check"
sim_admin POST /faults '{"status_403":{"count":2}}' > /dev/null || fail "arming 403"
agent order status 100001
expect_rc 3 "a key whose role may not read orders (403)"
expect_err "API key rejected by CertCentral \(HTTP 403: access_denied: the API key's role" \
    "403 gets the API-key message with DigiCert's error"
QSCD_STATE_DIR="$T/state-403" agent order submit "$REQ"
expect_rc 3 "submit refused with 403"
expect_err "HTTP 403" "the submit error names the 403"
[ "$(posts)" = 1 ] && pass "the refused POST was not sent again" || fail "POST count $(posts)"
sim_admin POST /reset > /dev/null
cp "$T/api-key" "$T/group-key"; chmod 640 "$T/group-key"
agent order status 100001 --api-key-file "$T/group-key"
expect_rc 2 "group-readable key file"
expect_err "readable or writable by group or others" "group-readable key file refused"
QSCD_API_KEY_FILE= QSCD_API_KEY="$SIM_API_KEY" agent order submit "$REQ"
expect_rc 0 "API key from QSCD_API_KEY"
ORDER=$(sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out")
QSCD_API_KEY_FILE= agent order status "$ORDER"
expect_rc 2 "no API key at all"
expect_err "no CertCentral API key" "missing key explained"
( umask 077; printf 'abc\r\nX-Evil: 1\n' > "$T/crlf-key" )
agent order status "$ORDER" --api-key-file "$T/crlf-key"
expect_rc 2 "a key file with a second line (header injection)"

# --- never in output, even -v -v -------------------------------------------------
agent -v -v order submit tests/data/requests/card-payment.json
expect_rc 0 "verbose submit with card payment"
expect_err "X-DC-DEVKEY: \[redacted\]" "the key header is shown redacted"
expect_err "\"credit_card\":\"\[redacted\]\"" "card data redacted in the traced body"
expect_no_string "$SIM_API_KEY" "API key absent from -v -v output" "$T/out" "$T/err"
expect_no_string "4111 1111 1111 1111" "card number absent from -v -v output" "$T/out" "$T/err"
cp "$T/err" "$T/err-submit"
agent -v -v order wait "$ORDER" --poll-interval 0.1 --timeout 20
expect_rc 0 "verbose wait"
expect_no_string "$SIM_API_KEY" "API key absent from verbose wait" "$T/out" "$T/err"
QSCD_API_KEY_FILE= QSCD_API_KEY="$SIM_API_KEY" agent -v -v order status "$ORDER"
expect_rc 0 "verbose status with the key from the environment"
expect_no_string "$SIM_API_KEY" "API key from the environment absent from output" "$T/out" "$T/err"

# --- the environment's copy of the key is wiped -----------------------------------
# /proc/PID/environ shows the environment block the process started with;
# once the key is read, its value there must be gone.  The GET is held by
# the simulator so the process is caught while it talks to the API.
sim_admin POST /faults '{"delay_ms":4000,"delay_count":1}' > /dev/null
QSCD_API_KEY_FILE= QSCD_API_KEY="$SIM_API_KEY" "$QSCD_AGENT" order status "$ORDER" \
    > "$T/env.out" 2> "$T/env.err" < /dev/null &
EP=$!
track_pid "$EP"
for _ in $(seq 1 300); do
    ls -l "/proc/$EP/fd" 2>/dev/null | grep -q 'socket:' && break
    sleep 0.1
done
if ! ls -l "/proc/$EP/fd" 2>/dev/null | grep -q 'socket:'; then
    fail "order status never opened a connection"
elif ! tr '\0' '\n' < "/proc/$EP/environ" > "$T/environ" 2>/dev/null; then
    pass "environment of the running agent unreadable (undumpable process)"
elif grep -qF -- "$SIM_API_KEY" "$T/environ"; then
    fail "the API key is still in /proc/$EP/environ"
elif grep -q '^QSCD_API_KEY=.' "$T/environ"; then
    fail "QSCD_API_KEY still has a value in /proc/$EP/environ"
else
    pass "the API key's value is wiped from /proc/PID/environ while the agent runs"
fi
wait "$EP"; RC=$?
untrack_pid "$EP"
expect_rc 0 "order status with the key from the environment (held reply)"

finish
