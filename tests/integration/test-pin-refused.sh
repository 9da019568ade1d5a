#!/bin/bash
# A PIN a token refused is never sent to it again automatically (issue 8,
# bug 1).  Through the fault module, C_Login counted in its call log:
# - provision with a wrong PIN from file:, env: and fd:, run twice: one
#   C_Login; the second run is refused before any login (exit 4) saying
#   when, and how to go on; --retry-pin makes one more try; a right PIN
#   clears the record;
# - the token commands (csr, change-pin) share the rule; token check shows it;
# - CKR_GENERAL_ERROR at C_Login (outcome unknown) is recorded like a
#   refusal, a device error is not;
# - watch: a re-plugged token with a refused file: PIN gets no second
#   C_Login; a refused fd: PIN is not handed to the next token;
#   --allow-final-try is refused with file:/env:/fd:;
# - an fd: is read once: a second read is refused;
# - the PIN is in no file of the state dir, no log, no output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

lc_setup --approve-after-polls 1
BAD="wrong-Pin"            # lc_setup's $T/badpin
NEWPIN="Nw9-refused-test"
( umask 077; printf '%s\n' "$NEWPIN" > "$T/newpin" )
export QSCD_P11FAULT_MODULE=$SOFTHSM_MODULE QSCD_P11FAULT_LOG="$T/p11f.log" \
       QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_P11FAULT_PIN_TRIES=6 QSCD_POLL_INTERVAL=0.1
REC="$QSCD_STATE_DIR/pin-refused"
SUBJ="/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example Seal"
logins() { log_count '^C_Login'; }
fa() { agent --module "$QSCD_P11FAULT" "$@"; }
records() { find "$REC" -name '*.json' 2>/dev/null | wc -l; }
record_of() { grep -lsF "\"$1\"" "$REC"/*.json | wc -l; }   # record_of LABEL: 0 or 1
keep_logs() { cat "$T/out" "$T/err" >> "$T/all-output"; }

# new_case NAME: a token NAME alone in its own SoftHSM2 directory, an order
# for its key, approved and shipped; ORDER is its id.
new_case() {
    plug "$1"; lc_token "$1" 51
    lc_submit
    sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
    lc_ship "$ORDER" "$T/$1.pub.pem" || fail "ship $ORDER"
    : > "$QSCD_P11FAULT_LOG"
}
prov() { fa "$@" --wait --timeout 60; keep_logs; }

refused_before() {   # refused_before DESC: the second run's checks
    expect_rc 4 "$1: refused (token error)"
    [ "$(logins)" = 1 ] && pass "$1: no second C_Login" || fail "$1: $(logins) C_Login calls"
    expect_err 'wrong PIN .* was refused by token .* at 20[0-9-]+T[0-9:]+Z \(CKR_PIN_INCORRECT\)' \
        "$1: the message says a wrong PIN was refused earlier, and when"
    expect_err 'pin-source prompt.*pinpad.*--retry-pin' "$1: it says how to go on"
}

echo "provision, PIN from a file"
new_case RF-FILE
prov --pin-source "file:$T/badpin" provision "$ORDER"
expect_rc 4 "file: wrong PIN"
[ "$(logins)" = 1 ] && pass "file: one C_Login" || fail "file: $(logins) C_Login calls"
expect_err 'recorded' "file: the refusal is said to be recorded"
[ "$(records)" = 1 ] && pass "file: one record in the state dir" || fail "records: $(records)"
prov --pin-source "file:$T/badpin" provision "$ORDER"
refused_before "file: second run"
python3 - "$REC" <<'EOF' && pass "the record: token, time, source kind, answer; nothing else" || fail "record content"
import json, os, sys
d = sys.argv[1]
[f] = os.listdir(d)
r = json.load(open(os.path.join(d, f)))
assert set(r) == {"schema", "manufacturer", "serial", "label", "refused_at", "source",
                  "outcome", "rv"}, r
assert r["source"] == "file" and r["outcome"] == "refused" and r["rv"] == "CKR_PIN_INCORRECT", r
assert r["label"] == "RF-FILE" and f.endswith("_" + r["serial"] + ".json"), (f, r)
EOF
prov --pin-source "file:$T/badpin" provision "$ORDER" --retry-pin
expect_rc 4 "file: --retry-pin with the wrong PIN again"
[ "$(logins)" = 2 ] && pass "--retry-pin: one more C_Login" || fail "--retry-pin: $(logins) C_Login calls"
prov --pin-source "file:$T/badpin" provision "$ORDER"
[ "$(logins)" = 2 ] && pass "after the retry the record holds again" || fail "$(logins) C_Login calls"
prov --pin-source "file:$T/pin" provision "$ORDER" --retry-pin
expect_rc 0 "file: the right PIN with --retry-pin provisions"
[ "$(record_of RF-FILE)" = 0 ] && pass "a login that succeeds clears the record" ||
    fail "records: $(records)"
: > "$QSCD_P11FAULT_LOG"
fa --pin-source "file:$T/badpin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
[ "$(logins)" = 1 ] && pass "once cleared, the PIN source is tried again" || fail "$(logins) C_Login calls"

echo "provision, PIN from the environment"
new_case RF-ENV
for i in 1 2; do
    MY_PIN="$BAD" run "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source env:MY_PIN \
        provision "$ORDER" --wait --timeout 60; keep_logs
    [ "$i" = 1 ] && expect_rc 4 "env: wrong PIN"
done
refused_before "env: second run"

echo "provision, PIN from a descriptor"
new_case RF-FD
for i in 1 2; do
    run "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source fd:7 \
        provision "$ORDER" --wait --timeout 60 7< "$T/badpin"; keep_logs
    [ "$i" = 1 ] && expect_rc 4 "fd: wrong PIN"
done
refused_before "fd: second run"
# A person at the prompt may try (and a pinpad); pinpad here: the keypad PIN.
QSCD_P11FAULT_PINPAD=1 QSCD_P11FAULT_PINPAD_PIN="$LC_PIN" \
    fa --pin-source pinpad provision "$ORDER" --wait --timeout 60; keep_logs
expect_rc 0 "pinpad: a person's try is allowed after a refusal"
expect_err 'warning: a wrong PIN from a PIN descriptor was refused' "and warned of the refusal"
[ "$(record_of RF-FD)" = 0 ] && [ "$(record_of RF-ENV)" = 1 ] &&
    pass "the keypad login cleared RF-FD's record (RF-ENV's is left)" || fail "records: $(records)"

echo "token commands"
plug RF-TOK; lc_token RF-TOK 51
: > "$QSCD_P11FAULT_LOG"
fa --pin-source "file:$T/badpin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
expect_rc 4 "token csr: wrong PIN"
fa --pin-source "file:$T/badpin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
refused_before "token csr: second run"
fa --pin-source "file:$T/badpin" token change-pin --new-pin-source "file:$T/newpin"; keep_logs
refused_before "token change-pin after a refused csr"
fa token check; keep_logs
expect_rc 4 "token check: a PIN refused before is a token problem"
expect_out 'pin-refused +MISSING +a wrong PIN from a PIN file was refused' "token check names it"
fa --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem" --retry-pin; keep_logs
expect_rc 0 "token csr --retry-pin with the right PIN"
[ "$(record_of RF-TOK)" = 0 ] && pass "token csr: the record cleared" || fail "records: $(records)"

echo "outcome unknown (CKR_GENERAL_ERROR at C_Login) is recorded; a device error is not"
plug RF-GEN; lc_token RF-GEN 51
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_GENERAL_ERROR_AT=C_Login:1 \
    fa --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
expect_rc 4 "CKR_GENERAL_ERROR at C_Login: token error"
GEN_REC=$(grep -lsF '"RF-GEN"' "$REC"/*.json)
[ -n "$GEN_REC" ] && grep -qs '"outcome":[[:space:]]*"unknown"' "$GEN_REC" &&
    pass "recorded, outcome unknown" || fail "no 'unknown' record: $(cat "$REC"/*.json)"
fa --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
expect_rc 4 "after an unknown outcome: refused"
[ "$(logins)" = 1 ] && pass "no second C_Login after an unknown outcome" || fail "$(logins) C_Login calls"
expect_err 'does not say whether it was right \(CKR_GENERAL_ERROR\)' "the message says the outcome is unknown"
fa --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem" --retry-pin; keep_logs
expect_rc 0 "--retry-pin after an unknown outcome"
QSCD_P11FAULT_DEVICE_ERROR_AT=C_Login:1 \
    fa --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
expect_rc 4 "CKR_DEVICE_ERROR at C_Login: token error"
[ "$(record_of RF-GEN)" = 0 ] && pass "a device error is not recorded" || fail "records: $(records)"
fa --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem"; keep_logs
expect_rc 0 "after a device error the PIN source is used again"

echo "an fd: is read once"
: > "$QSCD_P11FAULT_LOG"
run "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source fd:7 \
    token change-pin --new-pin-source fd:7 7< "$T/pin"; keep_logs
expect_rc 2 "the same fd for the old and the new PIN: refused"
expect_err 'fd:7: read already' "the message says the descriptor was read already"
[ "$(logins)" = 0 ] && pass "no C_Login" || fail "$(logins) C_Login calls"

echo "watch --allow-final-try needs a person at each PIN"
plug RF-NONE
for src in "file:$T/pin" "env:MY_PIN" "fd:7"; do
    MY_PIN="$LC_PIN" run timeout 30 "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "$src" \
        watch --allow-final-try --exit-when-idle --poll-interval 0.2 7< "$T/pin"; keep_logs
    expect_rc 2 "watch --allow-final-try --pin-source ${src%%:*}: refused at start"
    expect_err 'allow-final-try: only with --pin-source prompt or --pin-source pinpad' \
        "${src%%:*}: the message names both options"
done

echo "watch: a re-plugged token with a refused file: PIN"
new_case RF-WATCH
lc_ensure_job "$ORDER"
echo "removed=0" > "$QSCD_P11FAULT_STATE"
: > "$QSCD_P11FAULT_LOG"
timeout --kill-after=5 120 "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "file:$T/badpin" \
    watch --poll-interval 0.2 --max-tokens 2 > "$T/w.out" 2> "$T/w.err" &
W=$!; track_pid "$W"
for _ in $(seq 1 300); do grep -q 'provisioning stopped' "$T/w.out" && break; sleep 0.1; done
echo "removed=1" > "$QSCD_P11FAULT_STATE"          # pull
for _ in $(seq 1 100); do grep -q '"RF-WATCH".*: left' "$T/w.out" && break; sleep 0.1; done
echo "removed=0" > "$QSCD_P11FAULT_STATE"          # plug back
wait "$W"; RC=$?; untrack_pid "$W"
cp "$T/w.out" "$T/out"; cp "$T/w.err" "$T/err"; keep_logs
[ "$(grep -c "belongs to order $ORDER" "$T/out")" = 2 ] && pass "watch: matched twice" ||
    fail "watch: matched $(grep -c "belongs to order $ORDER" "$T/out") times"
[ "$(logins)" = 1 ] && pass "watch: one C_Login over both plugs" || fail "watch: $(logins) C_Login calls"
expect_out "order $ORDER: provisioning stopped \(exit 4\): .*was refused by token \"RF-WATCH\"" \
    "watch: the second worker says the PIN was refused before"

echo "watch: a refused fd: PIN is not handed to the next token"
new_case RF-WFD1; O1=$ORDER; D1=$SOFTHSM2_CONF; lc_ensure_job "$O1"
new_case RF-WFD2; O2=$ORDER; lc_ensure_job "$O2"
export SOFTHSM2_CONF=$D1
: > "$QSCD_P11FAULT_LOG"
timeout --kill-after=5 120 "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source fd:7 \
    watch --poll-interval 0.2 > "$T/w.out" 2> "$T/w.err" 7< "$T/badpin" &
W=$!; track_pid "$W"
for _ in $(seq 1 300); do grep -q "order $O1: provisioning stopped" "$T/w.out" && break; sleep 0.1; done
mv "$T/RF-WFD2/tokens/"* "$T/RF-WFD1/tokens/"     # plug the second token in
for _ in $(seq 1 150); do grep -Eq "order $O2: (no PIN|provisioning stopped)" "$T/w.out" && break; sleep 0.1; done
kill "$W"; wait "$W"; untrack_pid "$W"
cp "$T/w.out" "$T/out"; cp "$T/w.err" "$T/err"; keep_logs
expect_out "order $O2: no PIN: the PIN from fd:7 was refused by token \"RF-WFD1\"" \
    "watch fd: the next token gets no PIN, and is told why"
[ "$(logins)" = 1 ] && pass "watch fd: one C_Login" || fail "watch fd: $(logins) C_Login calls"

echo "the PIN is nowhere"
for pin in "$BAD" "$LC_PIN" "$NEWPIN"; do
    if grep -rFq -- "$pin" "$QSCD_STATE_DIR" "$QSCD_P11FAULT_LOG" "$T/all-output"; then
        fail "a PIN found in: $(grep -rlF -- "$pin" "$QSCD_STATE_DIR" "$QSCD_P11FAULT_LOG" "$T/all-output")"
    else
        pass "a PIN (${#pin} chars) is in no state file, log or output"
    fi
done
finish
