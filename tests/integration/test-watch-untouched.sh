#!/bin/bash
# What watch does NOT do, seen from outside:
#  - a token with no job (a stranger's key, a blank token without
#    --assign-next) is never logged in to nor written: the fault module's
#    call log of every process shows the scans but no C_Login and no call
#    that changes a token;
#  - the watcher itself never loads a PKCS#11 module (its memory map), the
#    scans and workers do, each afresh;
#  - a running worker has neither the PIN nor the API key on its command
#    line (/proc/PID/cmdline): the PIN reaches it through a pipe (fd:N);
#  - SIGINT with the default grace lets the worker in hand finish: exit 0,
#    and the journal says the job is done (`status` exit 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

echo "test-watch-untouched"
lc_setup --approve-after-polls 1
export QSCD_P11FAULT_MODULE=$SOFTHSM_MODULE QSCD_P11FAULT_LOG="$T/p11f.log"
export QSCD_POLL_INTERVAL=0.1
# desk2: the token DigiCert shipped for the order.
plug desk2
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_token SHIP-01 41
lc_ship "$ORDER" "$T/SHIP-01.pub.pem" || fail "ship"
if ! grep -qs "\"id\":[[:space:]]*\"$ORDER\"" "$QSCD_STATE_DIR"/jobs/*.json; then
    plug nothing
    lc_agent provision "$ORDER"   # the job, adopted
fi
# desk1: a stranger's token (a key no order knows) and a blank one.
plug desk1
lc_token STRANGER 77
softhsm_token BLANK-01 "$LC_PIN"

echo "tokens without a job are left untouched"
: > "$QSCD_P11FAULT_LOG"
run timeout --kill-after=5 120 "$QSCD_AGENT" --module "$QSCD_P11FAULT" \
    --pin-source "file:$T/pin" watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "watch --exit-when-idle"
expect_out 'token "STRANGER" .*: unassigned: no open job holds its key; left untouched' "stranger unassigned"
expect_out 'token "BLANK-01" .*: unassigned: a blank token no job is bound to' "blank token unassigned"
[ "$(log_count '^C_FindObjectsInit ')" -ge 2 ] &&
    pass "the scans looked at both tokens through the fault module" ||
    fail "the call log shows no scan: $(head -5 "$QSCD_P11FAULT_LOG")"
for f in C_Login C_InitPIN C_SetPIN C_CreateObject C_CopyObject C_DestroyObject \
         C_SetAttributeValue C_GenerateKeyPair C_GenerateKey C_SignInit C_InitToken; do
    c=$(log_count "^$f ")
    [ "$c" = 0 ] && pass "no $f on tokens without a job" || fail "$c calls of $f"
done
[ "$(lc_count STRANGER cert)" = 0 ] && [ "$(lc_count BLANK-01 privkey)" = 0 ] &&
    pass "nothing written to either token" || fail "a token without a job was written to"

echo "the watcher itself loads no module; a worker's command line holds no secret"
plug desk2
: > "$QSCD_P11FAULT_LOG"
( exec env -u QSCD_API_KEY_FILE QSCD_API_KEY="$SIM_API_KEY" QSCD_P11FAULT_LATENCY_MS=C_Login:3000 \
    timeout --kill-after=5 120 "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source fd:3 \
    watch --poll-interval 0.2 3< <(printf '%s\n' "$LC_PIN") ) > "$T/w.out" 2> "$T/w.err" &
W=$!
track_pid "$W"
for _ in $(seq 1 300); do
    grep -q 'holds the key of the certificate' "$T/w.err" && break
    sleep 0.1
done
grep -q 'holds the key of the certificate' "$T/w.err" && pass "the worker is logging in" ||
    fail "the worker never got to log in"
P=$(pgrep -P "$W" -x qscd-agent | head -1)
WP=$(pgrep -P "$P" -f -- ' provision ' | head -1)
if [ -n "$WP" ] && tr '\0' ' ' < "/proc/$WP/cmdline" > "$T/worker.cmdline" 2>/dev/null; then
    pass "worker $WP found: $(cat "$T/worker.cmdline")"
    expect_no_string "$LC_PIN" "no PIN on the worker's command line" "$T/worker.cmdline"
    expect_no_string "$SIM_API_KEY" "no API key on the worker's command line" "$T/worker.cmdline"
    grep -Eq -- "--pin-source fd:[0-9]+ " "$T/worker.cmdline" &&
        pass "the PIN reaches the worker through a pipe" || fail "worker's PIN source is not fd:N"
    grep -Eq -- "--token pkcs11:.*provision $ORDER " "$T/worker.cmdline" &&
        pass "the worker is told the token and the order" || fail "worker arguments"
    [ "$(cat "/proc/$WP/comm" 2>/dev/null)" = qscd-agent ] && pass "the worker is named qscd-agent" ||
        fail "worker comm: $(cat "/proc/$WP/comm" 2>/dev/null)"
    grep -q 'libsofthsm2\|libqscd-p11fault' "/proc/$WP/maps" 2>/dev/null &&
        pass "the worker loaded the module itself" || fail "the worker has no module loaded"
else
    fail "no running worker found under watcher ${P:-?}"
fi
if [ -n "$P" ] && [ -r "/proc/$P/maps" ]; then
    grep -q 'libsofthsm2\|libqscd-p11fault\|opensc-pkcs11' "/proc/$P/maps" &&
        fail "the watcher process has a PKCS#11 module loaded" ||
        pass "the watcher process has no PKCS#11 module loaded"
else
    fail "cannot read the watcher's memory map"
fi
# SIGINT now, while the worker is in its 3 s C_Login: it must be alive and
# not done yet, so "lets the worker in hand finish" is what is tested.
if [ -n "$WP" ] && kill -0 "$WP" 2>/dev/null && [ "$(log_count '^C_Login ')" = 0 ] &&
   ! grep -q 'certificate installed\|provisioning stopped' "$T/w.out" "$T/w.err"; then
    pass "SIGINT sent while worker $WP is mid-step (logging in, nothing installed yet)"
else
    fail "the worker was not mid-step when SIGINT was sent"
fi
[ -n "$P" ] && kill -INT "$P"
wait "$W"; RC=$?
untrack_pid "$W"
cp "$T/w.out" "$T/out"; cp "$T/w.err" "$T/err"
expect_rc 0 "SIGINT: exit 0"
expect_out "order $ORDER: certificate installed and verified" "the worker finished its job"
expect_out "watch: stopped" "stopped line"
[ "$(log_count '^C_Login rv=0x00000000')" = 1 ] && pass "one login, by the worker" ||
    fail "logins: $(log_count '^C_Login ')"
lc_agent status "$ORDER"
expect_rc 0 "status: the job is done, the journal consistent"
expect_no_string "$LC_PIN" "no PIN in watch's output" "$T/w.out" "$T/w.err"
expect_no_string "$SIM_API_KEY" "no API key in watch's output" "$T/w.out" "$T/w.err"
expect_no_string "$LC_PIN" "no PIN in the audit log" "$QSCD_STATE_DIR/audit.log"
expect_no_string "$SIM_API_KEY" "no API key in the audit log" "$QSCD_STATE_DIR/audit.log"
finish
