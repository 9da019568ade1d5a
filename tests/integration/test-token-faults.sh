#!/bin/bash
# The token commands through the fault module, beyond test-token-pin.sh (PIN
# states on csr) and test-token-install-removal.sh (removal mid-install):
# the PIN states on `token install` itself (one C_Login on a wrong PIN, none
# on a final try or a locked PIN, nothing written), a CKR_DEVICE_ERROR at
# every PKCS#11 call of an install (old or new certificate, never half, and
# a re-run completes), the token pulled at every call of `token list` and
# `token check`, and slow calls.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

PIN="Ft7-distinct-PIN-5772"
softhsm_setup
tca_replacement_fixture "$PIN"
( umask 077; printf 'Wr0ng-PIN-0000\n' > "$T/bad" )
logins() { log_count '^C_Login'; }
# install [GLOBAL OPTIONS] [-- INSTALL OPTIONS]: the new certificate, through
# the fault module.
install() {
    local g=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do g+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    agent "${F[@]}" ${g[@]+"${g[@]}"} token install "$T/new.pem" --chain "$TCA/chain.pem" "$@"
}
BOTH=$(printf '%s\n%s\n' "$OLD_SERIAL" "$NEW_SERIAL" | sort | tr '\n' ' ')

# --- PIN states on install ------------------------------------------------------
export QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_P11FAULT_PIN_TRIES=3 \
       QSCD_P11FAULT_LOG="$T/p11f.log"

: > "$QSCD_P11FAULT_LOG"
install --pin-source "file:$T/bad"
expect_rc 4 "install with a wrong PIN: token error"
expect_err 'CKR_PIN_INCORRECT' "the message names the wrong PIN"
[ "$(logins)" = 1 ] && pass "exactly one C_Login: not retried" || fail "$(logins) C_Login calls"
[ "$(leaf_serials)" = "$OLD_SERIAL " ] && pass "wrong PIN: nothing changed on the token" ||
    fail "wrong PIN: certificates now [$(leaf_serials)]"

# The token refused a file's PIN: sending one to it again takes --retry-pin
# (test-pin-refused.sh has the rule; here the counter is driven down).
install --pin-source "file:$T/bad" -- --retry-pin
expect_rc 4 "second wrong PIN"
: > "$QSCD_P11FAULT_LOG"
install -- --retry-pin
expect_rc 4 "final try: install refused without --allow-final-try"
expect_err 'allow-final-try' "the message names --allow-final-try"
[ "$(logins)" = 0 ] && pass "final try: no C_Login" || fail "final try: $(logins) C_Login calls"
[ "$(leaf_serials)" = "$OLD_SERIAL " ] && pass "final try refused: nothing changed" ||
    fail "final try refused: certificates now [$(leaf_serials)]"

install -- --allow-final-try --retry-pin
expect_rc 0 "install --allow-final-try with the right PIN"
[ "$(leaf_serials)" = "$NEW_SERIAL " ] && pass "the new certificate replaced the old one" ||
    fail "after install: [$(leaf_serials)]"
expect_no_flags 'count low|final' "a correct login reset the counter"

restore
rm -f "$QSCD_P11FAULT_STATE"
install --pin-source "file:$T/bad"
install --pin-source "file:$T/bad" -- --retry-pin
install --pin-source "file:$T/bad" -- --allow-final-try --retry-pin
expect_rc 4 "third wrong PIN (final try allowed)"
expect_flags 'user PIN locked' "the token reports the PIN locked"
: > "$QSCD_P11FAULT_LOG"
install
expect_rc 4 "locked: install refused"
expect_err 'PUK' "the message tells the user to unlock with the PUK"
[ "$(logins)" = 0 ] && pass "locked: no C_Login" || fail "locked: $(logins) C_Login calls"
[ "$(leaf_serials)" = "$OLD_SERIAL " ] && pass "locked: nothing changed" ||
    fail "locked: certificates now [$(leaf_serials)]"

export QSCD_P11FAULT_PINPAD=1 QSCD_P11FAULT_PINPAD_PIN="$PIN"
rm -f "$QSCD_P11FAULT_STATE"
: > "$QSCD_P11FAULT_LOG"
QSCD_PIN_SOURCE= install
expect_rc 0 "pinpad token: install with no PIN source"
expect_err 'keypad' "the user is told to use the keypad"
[ "$(log_count '^C_Login rv=0x00000000 fault=pinpad$')" = 1 ] &&
    pass "one login, through the keypad" || fail "log lacks the keypad login"
unset QSCD_P11FAULT_PINPAD QSCD_P11FAULT_PINPAD_PIN QSCD_P11FAULT_PIN_TRIES QSCD_P11FAULT_STATE

for f in "$T/out" "$T/err" "$QSCD_P11FAULT_LOG"; do
    expect_no_string "$PIN" "PIN not in $(basename "$f")" "$f"
done

# --- slow calls --------------------------------------------------------------------
restore
QSCD_P11FAULT_LATENCY_MS=2,C_CreateObject:50 install
expect_rc 0 "install with slow PKCS#11 calls"

# --- a device error at every call of an install ------------------------------------
restore
: > "$QSCD_P11FAULT_LOG"
install
expect_rc 0 "an uninterrupted install through the fault module"
grep -Eo '^C_[A-Za-z]+' "$QSCD_P11FAULT_LOG" | grep -vx 'C_Initialize\|C_Finalize' > "$T/calls"
unset QSCD_P11FAULT_LOG
expect_calls "$T/calls" 10 "device-error sweep over one install"

bad=0; runs=0
declare -A seen=()
while read -r name; do
    seen[$name]=$(( ${seen[$name]:-0} + 1 ))
    spec="$name:${seen[$name]}"
    restore
    runs=$((runs + 1))
    : > "$T/run.log"
    QSCD_P11FAULT_LOG="$T/run.log" QSCD_P11FAULT_DEVICE_ERROR_AT="$spec" install
    if ! fault_fired "$T/run.log" device-error; then
        fail "device error at $spec: no fault=device-error in the call log"; bad=$((bad + 1)); continue
    fi
    state=$(leaf_serials)
    # Old, new, or new written with the old not yet removed (PKCS#11 has no
    # transactions; the re-run finishes the swap).
    if [ "$state" != "$OLD_SERIAL " ] && [ "$state" != "$NEW_SERIAL " ] && [ "$state" != "$BOTH" ]; then
        fail "device error at $spec (exit $RC) left certificates [$state]"; bad=$((bad + 1)); continue
    fi
    # Either the error was one the agent could live with (done, exit 0) or
    # it is a token error that says what happened.
    if [ "$RC" = 0 ] && [ "$state" != "$NEW_SERIAL " ]; then
        fail "device error at $spec: exit 0 but the old certificate is still there"
        bad=$((bad + 1)); continue
    fi
    if [ "$RC" != 0 ] && { [ "$RC" != 4 ] || ! grep -qi 'device error\|CKR_DEVICE_ERROR' "$T/err"; }; then
        fail "device error at $spec: exit $RC: $(head -3 "$T/err")"; bad=$((bad + 1)); continue
    fi
    agent "${S[@]}" token install "$T/new.pem" --chain "$TCA/chain.pem"
    if [ "$RC" != 0 ] || [ "$(leaf_serials)" != "$NEW_SERIAL " ] || [ "$(count_certs)" != 2 ]; then
        fail "device error at $spec: re-run (exit $RC) left [$(leaf_serials)], $(count_certs) certificates"
        bad=$((bad + 1))
    fi
done < "$T/calls"
[ "$bad" = 0 ] && pass "$runs installs with a device error: old or new certificate, re-run completes" ||
    note "$bad of $runs installs with a device error went wrong"

# --- a device error while the slots are looked at is not "no token" -----------------
# The token is plugged in but does not answer: a token error (exit 4) that
# says so and is resumable, never "no token is present" (exit 1).
restore
for fn in C_GetSlotList C_GetSlotInfo C_GetTokenInfo; do
    for verb in check list; do
        QSCD_P11FAULT_DEVICE_ERROR_AT="$fn:1+" agent "${F[@]}" token "$verb"
        expect_rc 4 "token $verb, device error at every $fn: token error"
        expect_err "$fn: CKR_DEVICE_ERROR .*run the command again" "token $verb, $fn: device error named, resumable"
        if grep -q 'no token is present' "$T/err"; then
            fail "token $verb, $fn: device error reported as no token"; fi
    done
done
QSCD_P11FAULT_DEVICE_ERROR_AT="C_GetTokenInfo:1+" agent "${F[@]}" \
    --token "pkcs11:token=QSCD-01" token check
expect_rc 4 "token check --token URI, device error at C_GetTokenInfo: token error"

# --- the token pulled at every call of token list / token check -----------------------
restore
for verb in list check; do
    export QSCD_P11FAULT_LOG="$T/p11f.log"
    : > "$QSCD_P11FAULT_LOG"
    agent "${F[@]}" token "$verb"
    grep -Eo '^C_[A-Za-z]+' "$QSCD_P11FAULT_LOG" | grep -vx 'C_Initialize\|C_Finalize' > "$T/calls"
    unset QSCD_P11FAULT_LOG
    expect_calls "$T/calls" 3 "removal sweep over token $verb"
    bad=0; runs=0
    unset seen; declare -A seen=()
    while read -r name; do
        seen[$name]=$(( ${seen[$name]:-0} + 1 ))
        spec="$name:${seen[$name]}"
        runs=$((runs + 1))
        : > "$T/run.log"
        QSCD_P11FAULT_LOG="$T/run.log" QSCD_P11FAULT_REMOVE_AT="$spec" agent "${F[@]}" token "$verb"
        if ! fault_fired "$T/run.log" removed; then
            fail "token $verb, removal at $spec: no fault=removed in the call log"; bad=$((bad + 1)); continue
        fi
        # 0: listed before the token went / nothing to list; 1: not ready
        # (no token); 4: token error.  Anything else (a crash, a sanitizer
        # report, exit 2/3/5) is a bug.
        case "$RC" in
            0|1|4) ;;
            *) fail "token $verb, removal at $spec: exit $RC: $(head -3 "$T/err")"; bad=$((bad + 1)); continue ;;
        esac
        if [ "$RC" = 4 ] && ! grep -qi 'remov\|not present\|CKR_DEVICE_REMOVED\|CKR_TOKEN_NOT_PRESENT' "$T/err"; then
            fail "token $verb, removal at $spec: exit 4 without saying the token went: $(head -3 "$T/err")"
            bad=$((bad + 1))
        fi
    done < "$T/calls"
    [ "$bad" = 0 ] && pass "token $verb: removal at each of its $runs calls handled" ||
        note "token $verb: $bad of $runs removals mishandled"
done
finish
