#!/bin/bash
# provision stopped by SIGTERM (watch stopping its workers) or SIGINT
# (Ctrl-C): the step in hand is finished and committed, the run ends with
# exit 1 saying it was stopped, the journal is valid, and a re-run
# completes with one order and one certificate.  Slow steps come from the
# simulator's delay fault and the fault module's latency, so the signal
# lands while a step is in hand; a bounded wait guards against a hang.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup
export QSCD_P11FAULT_MODULE="$SOFTHSM_MODULE"
SUBMITTED=0

# start_bg ENV... -- ARGS...: the agent in the background on the fault module.
start_bg() {
    local vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    : > "$T/err"
    env "${vars[@]}" "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "file:$T/pin" "$@" \
        > "$T/out" 2> "$T/err" < /dev/null &
    BG=$!; track_pid "$BG"
}

# signal_when SIG PATTERN [DELAY]: send SIG once stderr shows PATTERN (and
# DELAY seconds more, to land inside the slow call that follows); RC is the
# exit code.
signal_when() {
    local i=0
    until grep -Eq -- "$2" "$T/err"; do
        i=$((i + 1))
        if [ "$i" -gt 300 ] || ! kill -0 "$BG" 2>/dev/null; then
            fail "never saw /$2/ before the signal"; break
        fi
        sleep 0.1
    done
    sleep "${3:-0}"
    signal_now "$1"
}

# signal_now SIG: send SIG to the background agent and wait for it.
signal_now() {
    kill -"$1" "$BG" 2>/dev/null
    # A stopped run exits; a hung one is killed by lib.sh's cleanup and fails here.
    for _ in $(seq 600); do kill -0 "$BG" 2>/dev/null || break; sleep 0.1; done
    wait "$BG"; RC=$?
    untrack_pid "$BG"
}

journal_valid() {
    if python3 -c 'import json,sys
for f in sys.argv[1:]: json.load(open(f))' "$QSCD_STATE_DIR"/jobs/*.json; then
        pass "$1: every job file is valid JSON"
    else
        fail "$1: a job file is not valid JSON"
    fi
    if ls "$QSCD_STATE_DIR"/jobs/.*tmp* > /dev/null 2>&1; then fail "$1: a temporary file is left"
    else pass "$1: no temporary file left"; fi
}

# resume LABEL WHAT: the re-run completes; one order per submit, one certificate.
resume() {
    lc_agent provision "$ORDER" --wait --poll-interval 0.1
    expect_rc 0 "$2: re-run completes"
    [ "$(lc_count "$1" cert 51)" = 1 ] && pass "$2: one certificate for the key" ||
        fail "$2: $(lc_count "$1" cert 51) certificates for the key"
    [ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "$2: $SUBMITTED orders, none twice" ||
        fail "$2: orders_created $(lc_orders_created), submitted $SUBMITTED"
}

echo "SIGTERM while a poll of the order is in flight"
plug p; lc_token TP 51
lc_submit; SUBMITTED=$((SUBMITTED + 1)); lc_ship "$ORDER" "$T/TP.pub.pem"
sim_admin POST /faults '{"delay_ms":1500,"delay_count":1}' > /dev/null
start_bg -- provision "$ORDER" --wait --poll-interval 0.1 -v
signal_when TERM 'next: poll_order'
expect_rc 1 "SIGTERM: exit 1 (not finished yet)"
expect_err "stopped by SIGTERM after poll_order; the journal is consistent: run .qscd-agent provision $ORDER. again" \
    "says it stopped after the poll and how to resume"
[ "$(lc_job_field "$ORDER" order.state)" = approved ] && pass "the poll's answer was committed" ||
    fail "order state $(lc_job_field "$ORDER" order.state), expected approved"
[ "$(lc_job_field "$ORDER" last_error.code)" = interrupted ] && pass "last error: interrupted" ||
    fail "last error $(lc_job_field "$ORDER" last_error.code)"
journal_valid "poll"
resume TP "poll"

echo "SIGTERM while waiting for the token"
plug w; lc_token TW 51
lc_submit; SUBMITTED=$((SUBMITTED + 1)); lc_ship "$ORDER" "$T/TW.pub.pem"
plug w-empty
start_bg -- provision "$ORDER" --wait --poll-interval 0.1
signal_when TERM 'waiting for the token shipped'
expect_rc 1 "SIGTERM while no token: exit 1"
expect_err "stopped by SIGTERM after waiting for the token" "says what it was doing"
[ "$(lc_job_field "$ORDER" order.state)" = certificate_ready ] &&
    pass "the downloaded certificate stays journaled" || fail "order state $(lc_job_field "$ORDER" order.state)"
journal_valid "token wait"
plug w
resume TW "token wait"

echo "SIGINT during a slow login: the login finishes, nothing after it"
plug i; lc_token TI 51
lc_submit; SUBMITTED=$((SUBMITTED + 1)); lc_ship "$ORDER" "$T/TI.pub.pem"
start_bg QSCD_P11FAULT_LATENCY_MS=C_Login:3000 QSCD_P11FAULT_LOG="$T/int.log" -- \
    provision "$ORDER" --wait --poll-interval 0.1
signal_when INT 'holds the key of the certificate' 0.7
expect_rc 1 "SIGINT: exit 1"
expect_err "stopped by SIGINT after unlock" "stopped right after the login step"
[ "$(lc_job_field "$ORDER" device.state)" = unlocked ] && pass "journal: device unlocked" ||
    fail "device state $(lc_job_field "$ORDER" device.state)"
grep -q '^C_Login rv=0x00000000' "$T/int.log" && pass "the login in hand completed" ||
    fail "no successful C_Login in the call log"
if grep -q '^C_CreateObject' "$T/int.log"; then fail "objects were written after the signal"
else pass "nothing written after the signal"; fi
[ "$(lc_count TI cert)" = 0 ] && pass "no certificate on the token yet" || fail "certificate written"
journal_valid "login"
resume TI "login"

echo "SIGTERM during order submit: the POST's reply is read and journaled"
sim_admin POST /faults '{"delay_ms":1500,"delay_count":1}' > /dev/null
start_bg -- order submit "$EXAMPLE_REQUEST" --json --new-order
# The submit prints nothing before the POST; the job file appears first.
for _ in $(seq 300); do
    grep -lq '"submitting"' "$QSCD_STATE_DIR"/jobs/*.json 2>/dev/null && break; sleep 0.05
done
sleep 0.3
signal_now TERM
SUBMITTED=$((SUBMITTED + 1))
expect_rc 0 "order submit finishes the POST it had sent"
[ "$(json_get "$T/out" order_id 2>/dev/null)" != "" ] && pass "the order id is printed" ||
    fail "no order id printed"
lc_agent status --json
python3 -c 'import json,sys
sys.exit(0 if all(j["job"]["order"]["state"] != "submitting" for j in json.load(open(sys.argv[1]))) else 1)' "$T/out" &&
    pass "no job left in submitting" || fail "a job was left in submitting"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "one order for the submit" ||
    fail "orders_created $(lc_orders_created), expected $SUBMITTED"

echo "SIGTERM while order submit waits to retry an unreachable API: it stops at once, nothing sent"
# Port 1 refuses the connection: nothing is sent, so the submit retries,
# here after a minute.  The stop must not wait that minute out.
start_bg QSCD_API_URL="https://127.0.0.1:1/services/v2" -- \
    order submit "$EXAMPLE_REQUEST" --retry-base 60 --new-order
T0=$(date +%s)
signal_when TERM 'retrying in'
T1=$(date +%s)
expect_rc 1 "SIGTERM in the retry wait: exit 1 (not submitted yet)"
expect_err "stopped while waiting to retry; nothing was in flight" "says nothing was in flight"
[ $((T1 - T0)) -lt 30 ] && pass "stopped without waiting out the 60 s backoff" ||
    fail "took $((T1 - T0)) s to stop"
lc_agent status --json
python3 -c 'import json,sys
sys.exit(0 if all(j["job"]["order"]["state"] != "submitting" for j in json.load(open(sys.argv[1]))) else 1)' "$T/out" &&
    pass "the job is not left in submitting (nothing to reconcile)" || fail "a job was left in submitting"
lc_agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "the same submit, API reachable again"
SUBMITTED=$((SUBMITTED + 1))
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "exactly one order for it" ||
    fail "orders_created $(lc_orders_created), expected $SUBMITTED"

finish
