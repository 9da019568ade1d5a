#!/bin/bash
# Token removal through the fault module: at the k-th call of a function
# (not forwarded: nothing written), after it (forwarded: written, reply
# lost), at the k-th call of any function, persisted in the state file, and
# what the slot side shows afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

softhsm_setup
softhsm_token QSCD-01 123456 12345678
export QSCD_P11FAULT_LOG="$T/p11f.log"
echo "payload" > "$T/data.bin"

# objects LABEL: is a data object with that label on the token (ask SoftHSM2).
has_object() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --login --pin 123456 -O 2>/dev/null |
        grep -q "label: *'$1'"
}

QSCD_P11FAULT_REMOVE_AT=C_CreateObject:1 p11f_tool --login --pin 123456 \
    --write-object "$T/data.bin" --type data --label before-write
expect_err 'CKR_DEVICE_REMOVED' "removal at C_CreateObject:1: write fails with CKR_DEVICE_REMOVED"
[ "$(log_count '^C_CreateObject rv=0x00000032 fault=removed$')" = 1 ] &&
    pass "log shows the refused C_CreateObject" || fail "log lacks C_CreateObject fault=removed"
if has_object before-write; then fail "object written although removed before the call"
else pass "removed before C_CreateObject: object not on the token"; fi

: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_REMOVE_AFTER=C_CreateObject:1 p11f_tool --login --pin 123456 \
    --write-object "$T/data.bin" --type data --label after-write
expect_err 'CKR_DEVICE_REMOVED' "removal after C_CreateObject:1: reply is CKR_DEVICE_REMOVED"
[ "$(log_count '^C_CreateObject rv=0x00000032 fault=removed-after$')" = 1 ] &&
    pass "log shows C_CreateObject fault=removed-after" || fail "log lacks removed-after"
if has_object after-write; then pass "removed after C_CreateObject: the write happened"
else fail "REMOVE_AFTER: object missing"; fi

# Once removed, every later token call fails; the slot stays, empty.
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_REMOVE_AT=C_Login:1 p11f_tool --login --pin 123456 -O
expect_err 'C_Login failed: rv = CKR_DEVICE_REMOVED' "removal at C_Login:1"
[ "$(log_count 'C_Login rv=0x000000a0|C_Login rv=0x00000000')" = 0 ] &&
    pass "the C_Login that saw the removal never reached SoftHSM2" || fail "C_Login was forwarded"

QSCD_P11FAULT_REMOVED=1 p11f_tool -L
expect_rc 0 "QSCD_P11FAULT_REMOVED=1: listing still works"
expect_out '\(empty\)' "removed token: slot listed empty (CKF_TOKEN_PRESENT cleared)"
QSCD_P11FAULT_REMOVED=1 p11f_tool -T
expect_out '^Available slots:$' "removed token: C_GetSlotList(tokenPresent) is empty"
if grep -q 'QSCD-01' "$T/out"; then fail "removed token still listed"; else pass "no token listed"; fi
QSCD_P11FAULT_REMOVED=1 p11f_tool --slot-index 0 --login --pin 123456 -O
expect_err 'C_OpenSession failed: rv = CKR_TOKEN_NOT_PRESENT' "removed: opening a session finds no token"

# A removal at a slot call is logged as a fault too, so a sweep can prove
# that it fired: the call where the token went, and every slot reply that
# the removal changed.
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_REMOVE_AT=C_GetSlotList:1 p11f_tool -T
if grep -q 'QSCD-01' "$T/out"; then fail "C_GetSlotList:1: token still listed"; else pass "C_GetSlotList:1: no token listed"; fi
[ "$(log_count '^C_GetSlotList rv=0x00000000 fault=removed$')" -ge 1 ] &&
    pass "log shows C_GetSlotList fault=removed" ||
    fail "log lacks C_GetSlotList fault=removed: $(tr '\n' '|' < "$QSCD_P11FAULT_LOG")"
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_REMOVE_AT=C_GetSlotInfo:1 p11f_tool -L
expect_out '\(empty\)' "C_GetSlotInfo:1: the slot is listed empty"
[ "$(log_count '^C_GetSlotInfo rv=0x00000000 fault=removed$')" -ge 1 ] &&
    pass "log shows C_GetSlotInfo fault=removed" ||
    fail "log lacks C_GetSlotInfo fault=removed: $(tr '\n' '|' < "$QSCD_P11FAULT_LOG")"
: > "$QSCD_P11FAULT_LOG"
p11f_tool -L
[ "$(log_count 'fault=')" = 0 ] && pass "no fault= line without a fault" ||
    fail "fault= without a fault: $(grep fault= "$QSCD_P11FAULT_LOG")"

# "*:K" counts every call: the 6th call of the run is refused.
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_REMOVE_AT='*:6' p11f_tool --login --pin 123456 -O
n=$(grep -v '^#' "$QSCD_P11FAULT_LOG" | sed -n '7p')
case "$n" in *fault=removed*) pass "*:6 removes at the 6th call after C_Initialize ($n)" ;;
    *) fail "*:6: 7th log line is '$n'" ;; esac
[ "$(sed -n '2,6p' "$QSCD_P11FAULT_LOG" | grep -c fault=)" = 0 ] &&
    pass "*:6: the 5 calls before are untouched" || fail "*:6: a fault before the 6th call"

# Persisted removal: stays out for later processes until the flag is cleared.
export QSCD_P11FAULT_STATE="$T/p11f.state"
QSCD_P11FAULT_REMOVE_PERSIST=1 QSCD_P11FAULT_REMOVE_AT=C_FindObjectsInit:1 \
    p11f_tool --login --pin 123456 -O
expect_err 'CKR_DEVICE_REMOVED' "persisted removal at C_FindObjectsInit:1"
grep -q '^removed=1$' "$QSCD_P11FAULT_STATE" &&
    pass "state file records the removal" || fail "state file lacks removed=1"
p11f_tool -T
if grep -q 'QSCD-01' "$T/out"; then fail "a new process sees the token though removed"
else pass "a new process without the fault still sees no token"; fi
sed -i 's/^removed=1$/removed=0/' "$QSCD_P11FAULT_STATE"
p11f_tool -T
expect_out 'QSCD-01' "clearing removed= in the state file re-inserts the token"

# ... and for a running process: the state file is read at every call.
QSCD_P11FAULT_REMOVE_PERSIST=1 QSCD_P11FAULT_REMOVE_AT=C_GetTokenInfo:1 \
    run p11f_env python3 "$(dirname "$0")/../p11fault/p11f_driver.py" \
    "$QSCD_P11FAULT" reinsert "$QSCD_P11FAULT_STATE"
expect_rc 0 "removal and re-insertion within one process (driver)"
unset QSCD_P11FAULT_STATE

# A re-run without the fault completes.
p11f_tool --login --pin 123456 --write-object "$T/data.bin" --type data --label rerun
expect_rc 0 "re-run without a fault writes the object"
has_object rerun && pass "object on the token after the re-run" || fail "re-run object missing"

# A typo in a fault spec fails loudly instead of injecting nothing.
QSCD_P11FAULT_REMOVE_AT=C_CreatObject:1 p11f_tool -L
expect_err 'QSCD_P11FAULT_REMOVE_AT: "C_CreatObject:1"' "misspelt function named in the error"
QSCD_P11FAULT_REMOVE_AT=C_CreateObject:0 p11f_tool -L
expect_err 'QSCD_P11FAULT_REMOVE_AT' "K=0 refused"
QSCD_P11FAULT_REMOV_AT=C_CreateObject:1 p11f_tool -L
expect_err 'unknown setting QSCD_P11FAULT_REMOV_AT' "unknown variable refused"
finish
