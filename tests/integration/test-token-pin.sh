#!/bin/bash
# PIN handling of the token commands, through the fault-injecting module
# (SoftHSM2 behind it, with a retry counter that locks): PIN sources file
# (mode checked), fd, env; a wrong PIN is tried once and the counter state
# reported; a final try is refused unless allowed; a locked PIN is refused
# with the PUK message without trying; the pinpad path; change-pin.  The PIN
# never reaches output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

PIN="Pn5-distinct-PIN-2718"
NEWPIN="Nw3-distinct-PIN-3141"
softhsm_setup
softhsm_token QSCD-01 "$PIN"
softhsm_keypair QSCD-01 01 rsa:2048 "$PIN"
export QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_P11FAULT_PIN_TRIES=3 \
       QSCD_P11FAULT_LOG="$T/p11f.log"
M=(--module "$QSCD_P11FAULT")
SUBJ="/C=NL/O=Example B.V./organizationIdentifier=NTRNL-12345678/CN=Example Seal"
( umask 077; printf '%s\n' "$PIN" > "$T/pin"; printf 'wrong-pin\n' > "$T/bad" )
logins() { log_count '^C_Login'; }
# RETRY=--retry-pin csr ...: send a file's PIN to a token that refused one
# before (test-pin-refused.sh has the rule; here the counter is driven down).
csr() { agent "${M[@]}" "$@" token csr --subject "$SUBJ" -o "$T/req.pem" ${RETRY:-}; }

# --- sources ------------------------------------------------------------------------
cp "$T/pin" "$T/pin644"; chmod 644 "$T/pin644"
: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/pin644"
expect_rc 2 "a group/world-readable PIN file is refused"
expect_err 'chmod 600' "the message says how to fix the mode"
[ "$(logins)" = 0 ] && pass "no login tried with a refused PIN file" || fail "login was tried"

csr --pin-source "file:$T/pin"
expect_rc 0 "file: PIN source"
run "$QSCD_AGENT" "${M[@]}" --pin-source fd:7 token csr --subject "$SUBJ" -o "$T/req.pem" 7< "$T/pin"
expect_rc 0 "fd: PIN source"
MY_PIN_VAR="$PIN" run "$QSCD_AGENT" "${M[@]}" --pin-source env:MY_PIN_VAR token csr --subject "$SUBJ" -o "$T/req.pem"
expect_rc 0 "env: PIN source"
csr --pin-source "$PIN"
expect_rc 2 "a PIN given as the source itself is refused"
expect_no_string "$PIN" "and not echoed" "$T/out" "$T/err"
csr --pin-source "env:UNSET_VAR_$$"
expect_rc 2 "env: source with an unset variable"

# --- wrong PIN: once, never retried, counter reported --------------------------------
: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/bad"
expect_rc 4 "wrong PIN: token error"
expect_err 'wrong PIN \(CKR_PIN_INCORRECT\), not retried; .*try counter as low' "message reports count low"
[ "$(logins)" = 1 ] && pass "exactly one C_Login: not retried" || fail "$(logins) C_Login calls"

csr --pin-source "file:$T/bad"
expect_rc 4 "the same wrong PIN again: refused before a login"
expect_err 'was refused by token .* at .*--retry-pin' "it says when, and how to go on"
RETRY=--retry-pin csr --pin-source "file:$T/bad"
expect_rc 4 "second wrong PIN (--retry-pin)"
expect_err 'only ONE try is left' "message reports the final try"

# The right PIN now: the file was fixed.
: > "$QSCD_P11FAULT_LOG"
RETRY=--retry-pin csr --pin-source "file:$T/pin"
expect_rc 4 "final try refused without --allow-final-try"
expect_err 'allow-final-try' "the message names the flag"
[ "$(logins)" = 0 ] && pass "final try: no login attempted" || fail "login attempted on final try"

agent "${M[@]}" token list
expect_out 'PIN: final try' "token list shows the final try"

# With the explicit flag the right PIN on the final try logs in and resets
# the counter.
agent "${M[@]}" --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem" --allow-final-try --retry-pin
expect_rc 0 "final try with --allow-final-try and the right PIN"
agent "${M[@]}" --pin-source "file:$T/pin" token change-pin --new-pin-source "file:$T/pin"
expect_rc 4 "change-pin to the same PIN is refused"
expect_err 'same as the old one' "same-PIN message"
agent "${M[@]}" token list
expect_out 'PIN: ok' "a correct login on the final try resets the counter"

# --- locked --------------------------------------------------------------------------
for i in 1 2; do RETRY=--retry-pin csr --pin-source "file:$T/bad"; done
agent "${M[@]}" --pin-source "file:$T/bad" token change-pin --allow-final-try --retry-pin --new-pin-source "file:$T/pin"
expect_rc 4 "third wrong PIN (allowed final try)"
expect_err 'LOCKED' "message says the PIN is now locked"
: > "$QSCD_P11FAULT_LOG"
csr --pin-source "file:$T/pin"
expect_rc 4 "locked: refused"
expect_err 'PIN locked .*PUK' "locked message names the PUK"
[ "$(logins)" = 0 ] && pass "locked: no login attempted" || fail "login attempted while locked"
agent "${M[@]}" token check
expect_rc 4 "token check: a locked PIN is a token problem"
expect_out 'pin +MISSING +locked' "check names the locked PIN"

# Unlock with the SO PIN (the PUK), then change the PIN from env to fd (the
# agent still remembers the refusal: the unlock was done with another tool).
p11f_tool --init-pin --login --login-type so --so-pin 12345678 --new-pin "$PIN"
MY_OLD="$PIN" run "$QSCD_AGENT" "${M[@]}" --pin-source env:MY_OLD token change-pin --retry-pin --new-pin-source fd:8 8< <(printf '%s\n' "$NEWPIN")
expect_rc 0 "change-pin (old from env, new from fd)"
expect_no_string "$NEWPIN" "new PIN not in output" "$T/out" "$T/err"
printf '%s\n' "$NEWPIN" > "$T/newpin"; chmod 600 "$T/newpin"
csr --pin-source "file:$T/newpin"
expect_rc 0 "login with the new PIN"

# --- pinpad ----------------------------------------------------------------------------
export QSCD_P11FAULT_PINPAD=1 QSCD_P11FAULT_PINPAD_PIN="$NEWPIN"
agent "${M[@]}" token list
expect_out 'PIN: ok \(pinpad\)' "token list shows the pinpad"
: > "$QSCD_P11FAULT_LOG"
csr --pin-source pinpad
expect_rc 0 "pinpad login"
expect_err "keypad" "the user is told to use the keypad"
csr
expect_rc 0 "a pinpad token needs no --pin-source"
unset QSCD_P11FAULT_PINPAD
csr --pin-source pinpad
expect_rc 2 "pinpad on a token without one"
expect_err 'no PIN pad' "message says the token has no PIN pad"

for f in "$T/out" "$T/err" "$QSCD_P11FAULT_LOG"; do
    expect_no_string "$PIN" "PIN not in $(basename "$f")" "$f"
done
finish
