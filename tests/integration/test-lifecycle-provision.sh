#!/bin/bash
# provision and status end to end: the simulator, SoftHSM2 tokens through
# the real module.  Not-ready steps exit 1 naming what they wait for; the
# whole flow installs exactly one certificate next to the shipped key; a
# re-run changes nothing; a wrong PIN or a key that is not the
# certificate's stops the run with nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup --approve-after-polls 3

echo "order not approved yet, no token"
lc_submit
[ -n "$ORDER" ] && pass "order $ORDER submitted" || fail "order submit gave no order id"
lc_agent provision "$ORDER"
expect_rc 1 "provision before approval"
expect_err "waiting for order $ORDER to be approved" "says it waits for approval"
lc_agent status
expect_rc 1 "status of a job that is not ready"
expect_out "order $ORDER .*not ready" "status line names the order as not ready"

echo "approved, issued, no token plugged in"
lc_ship "$ORDER" /dev/null 2>/dev/null   # no key yet: simulator refuses; harmless
lc_token QSCD-01 51
# Take the token out again: a second SoftHSM2 directory stands for "unplugged".
PLUGGED=$SOFTHSM2_CONF
mkdir -p "$T/empty/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/empty/tokens" > "$T/empty.conf"
lc_ship "$ORDER" "$T/QSCD-01.pub.pem"
SOFTHSM2_CONF=$T/empty.conf lc_agent provision "$ORDER" --poll-interval 0.1 --wait --timeout 3
expect_rc 1 "provision --wait --timeout with no token plugged in"
expect_err "waiting for the token" "says it waits for the token"
expect_err "certificate [0-9A-F]+ downloaded; profile checked" "certificate downloaded first"
[ "$(lc_job_field "$ORDER" order.state)" = certificate_ready ] &&
    pass "journal: order side certificate_ready" || fail "journal order state not certificate_ready"

echo "token plugged in"
SOFTHSM2_CONF=$PLUGGED lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "provision --wait completes"
expect_err '\[token QSCD-01 serial [0-9a-f]+\] holds the key of the certificate' \
    "token identified by its public key before login"
expect_err '\[token QSCD-01 serial [0-9a-f]+\] key located: .*id 51' "key located"
expect_err 'installed next to the key' "certificate installed"
expect_err 'read back: identical' "read back and compared"
expect_out "order $ORDER: ready" "result line on stdout"
[ "$(lc_count QSCD-01 cert 51)" = 1 ] && pass "exactly one certificate for key 51" ||
    fail "certificates for key 51: $(lc_count QSCD-01 cert 51)"

echo "re-run and status"
lc_agent provision "$ORDER"
expect_rc 0 "re-run of a provisioned job"
if grep -q 'installed next to the key' "$T/err"; then fail "re-run installed again"
else pass "re-run does nothing"; fi
[ "$(lc_count QSCD-01 cert 51)" = 1 ] && pass "still one certificate" || fail "certificate count changed"
lc_agent status
expect_rc 0 "status: every job ready"
expect_out "order $ORDER .*READY.*present; PIN ok; key 51; certificate installed and matching; 3[0-9][0-9] days to expiry" \
    "status line: token, PIN, key, certificate, expiry"
lc_agent status "$ORDER" --json
expect_rc 0 "status ORDER --json"
[ "$(json_get "$T/out" 0.ready)" = True ] && pass "json: ready" || fail "json: not ready"
[ "$(json_get "$T/out" 0.job.device.state)" = verified ] && pass "json: device verified" ||
    fail "json: device state $(json_get "$T/out" 0.job.device.state)"
lc_agent status --history
expect_rc 0 "status --history"
expect_out "install: order $ORDER, token [0-9a-f]+, certificate [0-9A-F]+: ok" "history shows the install"
lc_agent --json provision "$ORDER"
expect_rc 0 "provision --json"
[ "$(json_get "$T/out" ready)" = True ] && pass "provision --json: ready" || fail "provision --json"
expect_no_string "$LC_PIN" "the PIN is in no journal, chain or audit file" -r "$QSCD_STATE_DIR"
expect_no_string "$SIM_API_KEY" "the API key is in no state file" -r "$QSCD_STATE_DIR"

echo "second order: wrong PIN, then a key that is not the certificate's"
lc_token QSCD-02 61
softhsm_keypair QSCD-02 62 rsa:2048 "$LC_PIN"
lc_submit
ORDER2=$ORDER
lc_ship "$ORDER2" "$T/QSCD-02.pub.pem"
agent --module "$SOFTHSM_MODULE" --pin-source "file:$T/badpin" provision "$ORDER2" --wait \
    --poll-interval 0.1 --token "pkcs11:token=QSCD-02"
expect_rc 4 "wrong PIN: token error"
expect_err 'PIN' "the message is about the PIN"
[ "$(lc_count QSCD-02 cert)" = 0 ] && pass "wrong PIN: nothing written" || fail "objects written"
# The PIN source now holds the right PIN, but the token refused one from a
# file before: only --retry-pin (or a prompt) sends a file's PIN to it again.
lc_agent provision "$ORDER2" --token "pkcs11:token=QSCD-02" --key-id 62 --retry-pin
expect_rc 5 "--key-id of another key: verification failed"
expect_err 'key .*62.* is not the key of order' "names the key that does not match"
[ "$(lc_count QSCD-02 cert)" = 0 ] && pass "mismatch: nothing written" || fail "objects written"
lc_agent provision "$ORDER2" --token "pkcs11:token=QSCD-02" --key-id zz
expect_rc 2 "--key-id that is not hex"
lc_agent provision "$ORDER2" --token "pkcs11:token=QSCD-02"
expect_rc 0 "right PIN, key found by the certificate: completes"
[ "$(lc_count QSCD-02 cert 61)" = 1 ] && [ "$(lc_count QSCD-02 cert 62)" = 0 ] &&
    pass "certificate next to key 61 only" || fail "certificates on QSCD-02 wrong"
[ "$(lc_count QSCD-01 cert 51)" = 1 ] && pass "QSCD-01 untouched" || fail "QSCD-01 changed"

echo "a job another qscd-agent is working on"
REF=$(lc_job_field "$ORDER" ref)
flock "$QSCD_STATE_DIR/jobs/$REF.lock" sleep 5 &
LOCKER=$!; track_pid "$LOCKER"
for _ in 1 2 3 4 5 6 7 8 9 10; do
    flock -n "$QSCD_STATE_DIR/jobs/$REF.lock" true 2>/dev/null || break; sleep 0.1
done
lc_agent provision "$ORDER"
expect_rc 1 "a locked job: not now"
expect_err "being worked on by another qscd-agent" "says another process has it"
kill "$LOCKER" 2>/dev/null; wait "$LOCKER" 2>/dev/null; untrack_pid "$LOCKER"

echo "a rejected order"
lc_submit
sim_admin POST /reject "{\"order_id\": $ORDER}" > /dev/null
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 6 "provision of a rejected order"
expect_err "rejected" "says it was rejected"
lc_agent provision "$ORDER"
expect_rc 6 "again: still rejected, nothing more done"
lc_agent status "$ORDER"
expect_rc 7 "status: a rejected job needs attention (exit 7)"
expect_out "order rejected" "status shows the rejection"
expect_out "ALERT order_final: order $ORDER was rejected" "the rejection is an alert"

echo "bad input"
lc_agent provision
expect_rc 2 "provision without an order id"
lc_agent provision abc
expect_rc 2 "provision with a non-numeric order id"
expect_err 'ORDER_ID: must be a positive number' "names the argument"
lc_agent provision "$ORDER" --relax bogus
expect_rc 2 "unknown --relax check"
lc_agent provision 999999
expect_rc 3 "an order CertCentral does not know"
lc_agent status 999999
expect_rc 2 "status of an order with no job"

finish
