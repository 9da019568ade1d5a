#!/bin/bash
# The right token, before any PIN: a token bound to a job is known by its
# serial, an unbound one by the certificate's public key on it.  A wrong
# token is refused with nothing written and no PIN asked for, saying which
# order it belongs to.  Several tokens plugged in: the one holding the key
# is chosen.  "Plugging in" a token is pointing SoftHSM2 at its directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup
NOPIN="--pin-source file:$T/no-such-pin-file"

plug A; lc_token TA 51
lc_submit; ORDER_A=$ORDER; lc_ship "$ORDER_A" "$T/TA.pub.pem"
agent --module "$SOFTHSM_MODULE" --pin-source "file:$T/badpin" provision "$ORDER_A" --wait --poll-interval 0.1
expect_rc 4 "order A: wrong PIN stops after the token was bound"
SERIAL_A=$(lc_job_field "$ORDER_A" device.token.serial)
[ -n "$SERIAL_A" ] && pass "job A bound to token TA ($SERIAL_A)" || fail "job A not bound"

plug B; lc_token TB 51
lc_submit; ORDER_B=$ORDER; lc_ship "$ORDER_B" "$T/TB.pub.pem"
plug empty
lc_agent provision "$ORDER_B" --wait --poll-interval 0.1 --timeout 2
expect_rc 1 "order B: certificate ready, no token yet"

echo "bound job, another token plugged in (through the fault module's call log)"
plug B
QSCD_P11FAULT_MODULE="$SOFTHSM_MODULE" QSCD_P11FAULT_LOG="$T/wrong.log" \
    agent --module "$QSCD_P11FAULT" $NOPIN provision "$ORDER_A"
expect_rc 4 "token TB for job A: refused"
grep -q '^C_FindObjects' "$T/wrong.log" && pass "the module was reached (call log not empty)" ||
    fail "no calls logged"
if grep -Eq '^C_(Login|CreateObject|SetAttributeValue|DestroyObject|GenerateKeyPair)' "$T/wrong.log"
then fail "a login or a write reached the token: $(grep -E '^C_(Login|Create|Set|Destroy|Gen)' "$T/wrong.log" | head -3)"
else pass "call log: no C_Login, no object created, changed or destroyed"; fi
expect_err "token \"TB\" \(serial [0-9a-f]+\) is not the token of order $ORDER_A" "names the token and the order"
expect_err "holds the key of order $ORDER_B's certificate" "says which order TB belongs to"
expect_err "no PIN was asked for" "says no PIN was spent"
if grep -q 'no-such-pin-file' "$T/err"; then fail "a PIN was asked for"; else pass "no PIN read"; fi
[ "$(lc_count TB cert)" = 0 ] && pass "nothing written on TB" || fail "objects written on TB"
[ "$(lc_job_field "$ORDER_A" device.token.serial)" = "$SERIAL_A" ] &&
    pass "job A still bound to TA" || fail "job A binding changed"

echo "unbound job, a token bound to another job"
plug A
agent --module "$SOFTHSM_MODULE" $NOPIN provision "$ORDER_B"
expect_rc 4 "token TA for job B: refused"
expect_err "it is bound to order $ORDER_A" "says TA is bound to order A"
[ "$(lc_count TA cert)" = 0 ] && pass "nothing written on TA" || fail "objects written on TA"

echo "unbound job, a token of no job"
plug C; lc_token TC 51
agent --module "$SOFTHSM_MODULE" $NOPIN provision "$ORDER_B"
expect_rc 4 "token TC for job B: refused"
expect_err "none of its public keys is the certificate's key; it belongs to no job known here" \
    "says why and that TC belongs to no job"
[ "$(lc_count TC cert)" = 0 ] && pass "nothing written on TC" || fail "objects written on TC"
lc_agent status "$ORDER_B"
expect_rc 1 "status B: not ready"

echo "the right tokens"
plug B
lc_agent provision "$ORDER_B"
expect_rc 0 "token TB for job B: provisioned"
plug A
# TA refused a file's PIN at the start: only --retry-pin sends one again.
lc_agent provision "$ORDER_A" --retry-pin
expect_rc 0 "token TA for job A: provisioned"
[ "$(lc_count TA cert 51)" = 1 ] && pass "one certificate on TA" || fail "TA: $(lc_count TA cert 51)"
plug B
[ "$(lc_count TB cert 51)" = 1 ] && pass "one certificate on TB" || fail "TB: $(lc_count TB cert 51)"

echo "several tokens plugged in: the one with the key is chosen"
plug D; lc_token TD1 51; lc_token TD2 51; lc_token TD3 51
lc_submit; ORDER_D=$ORDER; lc_ship "$ORDER_D" "$T/TD2.pub.pem"
lc_agent provision "$ORDER_D" --wait --poll-interval 0.1
expect_rc 0 "provision with three tokens plugged in"
expect_err '\[token TD2 serial' "TD2 chosen"
[ "$(lc_count TD1 cert)$(lc_count TD2 cert 51)$(lc_count TD3 cert)" = 010 ] &&
    pass "only TD2 written" || fail "written: TD1 $(lc_count TD1 cert) TD2 $(lc_count TD2 cert 51) TD3 $(lc_count TD3 cert)"

finish
