#!/bin/bash
# A protected authentication path token: the flag is set, C_Login with no
# PIN logs in with the PIN "typed on the keypad", a wrong keypad PIN counts
# as a try, and the PIN never reaches the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

softhsm_setup
softhsm_token QSCD-01 123456 12345678
echo "secret data" > "$T/data.bin"
softhsm_tool --login --pin 123456 --write-object "$T/data.bin" --type data \
    --label private-one --private
export QSCD_P11FAULT_LOG="$T/p11f.log" QSCD_P11FAULT_PINPAD=1

QSCD_P11FAULT_PINPAD=0 p11f_tool -T
if grep -q 'PIN pad present' "$T/out"; then fail "PINPAD=0 still reports a PIN pad"
else pass "PINPAD=0: no protected authentication path"; fi
expect_flags 'PIN pad present' "PINPAD=1: CKF_PROTECTED_AUTHENTICATION_PATH set"

QSCD_P11FAULT_PINPAD_PIN=123456 p11f_tool --login -O
expect_rc 0 "pkcs11-tool --login without --pin on a PIN-pad token"
expect_out "label: *'private-one'" "logged in: the private object is listed"
[ "$(log_count '^C_Login rv=0x00000000 fault=pinpad$')" = 1 ] &&
    pass "log shows the keypad login" || fail "log lacks C_Login fault=pinpad"

# A wrong PIN on the keypad is a wrong try like any other.
export QSCD_P11FAULT_PIN_TRIES=3 QSCD_P11FAULT_STATE="$T/p11f.state"
QSCD_P11FAULT_PINPAD_PIN=999999 p11f_tool --login -O
expect_err 'CKR_PIN_INCORRECT' "wrong keypad PIN: CKR_PIN_INCORRECT"
expect_flags 'user PIN count low' "wrong keypad PIN counts as a try"
QSCD_P11FAULT_PINPAD_PIN=123456 p11f_tool --login -O
expect_rc 0 "right keypad PIN after a wrong one"

# A PIN given by the application still goes through unchanged.
QSCD_P11FAULT_PINPAD_PIN=999999 p11f_tool --login --pin 123456 -O
expect_rc 0 "an explicit PIN overrides the keypad"

# The keypad PIN may come from the config file instead of the environment.
printf 'QSCD_P11FAULT_PINPAD_PIN=123456\n' > "$T/p11f.conf"
QSCD_P11FAULT_CONFIG="$T/p11f.conf" p11f_tool --login -O
expect_rc 0 "keypad PIN from QSCD_P11FAULT_CONFIG"

expect_no_string 123456 "PIN never in the call log" "$QSCD_P11FAULT_LOG"
expect_no_string 999999 "wrong PIN never in the call log" "$QSCD_P11FAULT_LOG"
finish
