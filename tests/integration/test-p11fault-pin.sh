#!/bin/bash
# The fault module's PIN retry counter: wrong tries lower it and the token
# flags say so, a locked PIN refuses even the right PIN without asking the
# token, the SO unlocks it, the counter spans processes, the PIN is never
# logged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

softhsm_setup
softhsm_token QSCD-01 123456 12345678
export QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_P11FAULT_PIN_TRIES=3 \
       QSCD_P11FAULT_LOG="$T/p11f.log"

p11f_tool -L
expect_rc 0 "pkcs11-tool -L through the module"
expect_out 'token label +: QSCD-01' "token listed through the module"
expect_no_flags 'count low|final|locked' "fresh token: no PIN warning flags"

p11f_tool --login --pin 000000 -O
expect_err 'CKR_PIN_INCORRECT' "wrong PIN 1: CKR_PIN_INCORRECT"
expect_flags 'user PIN count low' "after 1 wrong try: count low"
expect_no_flags 'final user PIN try|locked' "after 1 wrong try: not final, not locked"

p11f_tool --login --pin 000000 -O
expect_err 'CKR_PIN_INCORRECT' "wrong PIN 2: CKR_PIN_INCORRECT"
expect_flags 'final user PIN try' "after 2 wrong tries: final try"

p11f_tool --login --pin 000000 -O
expect_err 'CKR_PIN_INCORRECT' "wrong PIN 3: CKR_PIN_INCORRECT"
expect_flags 'user PIN locked' "after 3 wrong tries: locked"

: > "$QSCD_P11FAULT_LOG"
p11f_tool --login --pin 123456 -O
expect_err 'CKR_PIN_LOCKED' "locked: right PIN gets CKR_PIN_LOCKED"
[ "$(log_count '^C_Login rv=0x000000a4 fault=pin-locked$')" = 1 ] &&
    pass "locked login answered by the module (not forwarded)" ||
    fail "locked login: log lacks one 'fault=pin-locked' C_Login"

softhsm_tool --login --pin 123456 -O
expect_rc 0 "SoftHSM2 itself never locked the PIN (the module did)"

p11f_tool --init-pin --login --login-type so --so-pin 12345678 --new-pin 654321
expect_rc 0 "SO sets a new user PIN (unlock with the PUK)"
expect_no_flags 'count low|final|locked' "after C_InitPIN: counter reset"
p11f_tool --login --pin 654321 -O
expect_rc 0 "login with the new PIN after unlock"

p11f_tool --login --pin 000000 -O
p11f_tool --login --pin 654321 -O
expect_rc 0 "a correct login after a wrong one"
expect_no_flags 'count low' "a correct login resets the counter"

p11f_tool --change-pin --pin 999999 --new-pin 111111
expect_err 'CKR_PIN_INCORRECT' "C_SetPIN with a wrong old PIN"
expect_flags 'user PIN count low' "a wrong old PIN in C_SetPIN counts as a try"
p11f_tool --login --pin 654321 -O

# Without a state file the counter lives in one process only.
QSCD_P11FAULT_STATE='' p11f_tool --login --pin 000000 -O
QSCD_P11FAULT_STATE='' run p11f_env sh -c \
    'pkcs11-tool --module "$QSCD_P11FAULT" -T | grep -m1 "token flags"'
if grep -q 'count low' "$T/out"; then
    fail "without a state file a new process starts afresh"
else
    pass "without a state file a new process starts afresh"
fi

# Several processes at once: no update lost (flock on the state file).
# SoftHSM2 itself sometimes answers CKR_GENERAL_ERROR under concurrent
# access, so the count to expect is read from the log, and rounds of six
# are run until at least two wrong tries got through.
export QSCD_P11FAULT_PIN_TRIES=40
p11f_tool --init-pin --login --login-type so --so-pin 12345678 --new-pin 654321
: > "$QSCD_P11FAULT_LOG"
for round in 1 2 3 4 5; do
    for i in 1 2 3 4 5 6; do
        p11f_env pkcs11-tool --module "$QSCD_P11FAULT" --login --pin 00000$i -O \
            > /dev/null 2>&1 &
    done
    wait
    wrong=$(log_count '^C_Login rv=0x000000a0$')
    [ "$wrong" -ge 2 ] && break
done
if [ "$wrong" -ge 2 ] &&
   grep -Eq "^pin_remaining\.[^=]+=$((40 - wrong))\$" "$QSCD_P11FAULT_STATE"; then
    pass "$wrong concurrent wrong tries: $((40 - wrong)) of 40 left"
else
    fail "$wrong concurrent wrong tries in $round rounds: state is $(cat "$QSCD_P11FAULT_STATE")"
fi

expect_no_string 123456 "user PIN never in the call log" "$QSCD_P11FAULT_LOG"
expect_no_string 654321 "new user PIN never in the call log" "$QSCD_P11FAULT_LOG"
expect_no_string 12345678 "SO PIN never in the call log" "$QSCD_P11FAULT_LOG"
expect_no_string 654321 "PIN never in the state file" "$QSCD_P11FAULT_STATE"
finish
