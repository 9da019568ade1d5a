#!/bin/bash
# CKR_DEVICE_ERROR injection: once or onward, on an operation (forwarded so
# the token ends it, reply replaced) and on a write (not forwarded).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

softhsm_setup
softhsm_token QSCD-01 123456 12345678
softhsm_keypair QSCD-01 01 rsa:2048
export QSCD_P11FAULT_LOG="$T/p11f.log"
echo "to be signed" > "$T/tbs"

sign() {
    p11f_tool --login --pin 123456 --sign -m SHA256-RSA-PKCS --id 01 \
        -i "$T/tbs" -o "$T/sig"
}

# pkcs11-tool falls back to C_SignUpdate/C_SignFinal when C_Sign fails, so
# both paths get the error.
QSCD_P11FAULT_DEVICE_ERROR_AT=C_Sign:1,C_SignUpdate:1 sign
expect_err 'CKR_DEVICE_ERROR' "device error at C_Sign:1: signing fails with CKR_DEVICE_ERROR"
[ "$(log_count '^C_Sign rv=0x00000030 fault=device-error$')" = 1 ] &&
    pass "log shows the injected C_Sign error" || fail "log lacks C_Sign fault=device-error"

# Only the first C_Sign fails; the fallback's C_SignInit must not find the
# failed operation still active (a failed C_Sign ends it on a real token).
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_DEVICE_ERROR_AT=C_Sign:1 sign
expect_rc 0 "after a failed C_Sign the next C_SignInit starts afresh"
[ "$(log_count '^C_SignInit rv=0x00000000$')" = 2 ] &&
    pass "two C_SignInit, both OK" || fail "expected two successful C_SignInit"

QSCD_P11FAULT_DEVICE_ERROR_AT=C_SignInit:1+ sign
expect_err 'C_SignInit failed: rv = CKR_DEVICE_ERROR' "C_SignInit:1+ fails every C_SignInit"

sign
expect_rc 0 "a new process without the fault signs"
softhsm_pubkey_pem QSCD-01 01 "$T/pub.pem"
openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig" "$T/tbs" > /dev/null 2>&1 &&
    pass "signature verifies" || fail "signature does not verify"

# A write that fails with a device error leaves nothing on the token.
echo "payload" > "$T/data.bin"
QSCD_P11FAULT_DEVICE_ERROR_AT=C_CreateObject:1 p11f_tool --login --pin 123456 \
    --write-object "$T/data.bin" --type data --label errored
expect_err 'CKR_DEVICE_ERROR' "device error at C_CreateObject:1"
softhsm_tool --login --pin 123456 -O
if grep -q "label: *'errored'" "$T/out"; then fail "object written despite the device error"
else pass "no object written"; fi

# The 2nd call of a function: the first goes through.
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_DEVICE_ERROR_AT=C_GetSlotInfo:2 p11f_tool -L
[ "$(log_count '^C_GetSlotInfo rv=0x00000000$')" -ge 1 ] &&
[ "$(sed -n '/^C_GetSlotInfo/p' "$QSCD_P11FAULT_LOG" | sed -n 2p)" = \
  "C_GetSlotInfo rv=0x00000030 fault=device-error" ] &&
    pass "C_GetSlotInfo:2: first call OK, second fails" ||
    fail "C_GetSlotInfo:2: log is $(grep C_GetSlotInfo "$QSCD_P11FAULT_LOG" | tr '\n' ';')"
finish
