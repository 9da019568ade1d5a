#!/bin/bash
# token unblock-pin, through the fault module's quirk profiles: a locked
# user PIN ("user-pin-locked") is unblocked with the SO PIN (C_InitPIN) and
# the key stays; a wrong SO PIN is tried once, recorded, and never sent
# again from a file; a token reporting its SO PIN at the final try
# ("so-pin-final-try") is refused before anything is read, unless
# --allow-so-final-try.  No path initialises the token.  No PIN in output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

PIN="Ub7-distinct-PIN-6607"
NEWPIN="Nb2-distinct-PIN-8821"
SOPIN="So9-distinct-PUK-4403"
softhsm_setup
softhsm_token QSCD-01 "$PIN" "$SOPIN"
softhsm_keypair QSCD-01 01 rsa:2048 "$PIN"
export QSCD_P11FAULT_STATE="$T/p11f.state" QSCD_P11FAULT_LOG="$T/p11f.log" \
       QSCD_P11FAULT_PROFILE=user-pin-locked
M=(--module "$QSCD_P11FAULT")
( umask 077; printf '%s\n' "$PIN" > "$T/pin"; printf '%s\n' "$NEWPIN" > "$T/newpin"
  printf '%s\n' "$SOPIN" > "$T/sopin"; printf 'wrong-PUK-1\n' > "$T/badso" )
SUBJ="/C=NL/O=Example B.V./CN=Example Seal"
logins() { log_count '^C_Login'; }

agent "${M[@]}" token list
expect_out 'PIN: locked' "the profile's user PIN is locked"
agent "${M[@]}" --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem"
expect_rc 4 "a locked user PIN: the right PIN is refused too"

agent "${M[@]}" token unblock-pin --new-pin-source "file:$T/newpin"
expect_rc 2 "unblock-pin without an SO PIN source"
expect_err 'so-pin-source' "the message names --so-pin-source"

# A wrong SO PIN: one C_Login, recorded, then never sent again from a file.
: > "$QSCD_P11FAULT_LOG"
agent "${M[@]}" --so-pin-source "file:$T/badso" token unblock-pin --new-pin-source "file:$T/newpin"
expect_rc 4 "a wrong SO PIN"
expect_err 'wrong security officer PIN \(CKR_PIN_INCORRECT\), not retried' "it says which PIN"
expect_err 'refusal is recorded' "and that it is recorded"
ls "$QSCD_STATE_DIR"/pin-refused/*_so.json > /dev/null 2>&1 &&
    pass "the SO PIN has its own refusal record" || fail "no *_so.json record"
[ -z "$(ls "$QSCD_STATE_DIR"/pin-refused/ | grep -v '_so.json')" ] &&
    pass "the user PIN's record is untouched" || fail "other records: $(ls "$QSCD_STATE_DIR"/pin-refused/)"
QSCD_SO_PIN_SOURCE="file:$T/sopin" agent "${M[@]}" token unblock-pin --new-pin-source "file:$T/newpin"
expect_rc 4 "after a refusal, an SO PIN from a file is not sent (even another one)"
expect_err 'security officer PIN from a PIN file was refused' "it names the earlier refusal"
[ "$(logins)" = 1 ] && pass "exactly one SO C_Login so far" || fail "$(logins) C_Login calls"
expect_no_string "badso" "the record holds no PIN (nor its file name)" -r "$QSCD_STATE_DIR"
expect_no_string "wrong-PUK-1" "the record holds no PIN" -r "$QSCD_STATE_DIR"

# The right SO PIN, sent once more explicitly: unblocked, key kept.
echo "so-pin-source = file:$T/sopin" > "$T/so.conf"
agent --config "$T/so.conf" "${M[@]}" token unblock-pin --new-pin-source "file:$T/newpin" --retry-pin
expect_rc 0 "unblock-pin with the SO PIN (config so-pin-source, --retry-pin)"
expect_err 'user PIN unblocked' "it says so"
[ -z "$(ls "$QSCD_STATE_DIR"/pin-refused/ 2>/dev/null)" ] &&
    pass "the accepted SO PIN cleared its record" || fail "records left: $(ls "$QSCD_STATE_DIR"/pin-refused/)"
grep -q '^C_InitToken' "$QSCD_P11FAULT_LOG" && fail "C_InitToken was called" ||
    pass "the token was not initialised"
agent "${M[@]}" --pin-source "file:$T/newpin" token csr --subject "$SUBJ" -o "$T/req.pem"
expect_rc 0 "the new user PIN works, with the key that was there"
softhsm_tool --token-label QSCD-01 -O --type privkey --login --pin "$NEWPIN"
grep -q 'ID: *01' "$T/out" && pass "the key (id 01) is still on the token" || fail "key gone"

# An SO PIN at its final try: refused before anything is read.
: > "$QSCD_P11FAULT_LOG"
QSCD_P11FAULT_PROFILE=so-pin-final-try agent "${M[@]}" --so-pin-source "file:$T/sopin" \
    token unblock-pin --new-pin-source "file:$T/pin"
expect_rc 4 "SO PIN at its final try: refused"
expect_err 'at its final try; nothing was read or sent.*--allow-so-final-try' "it says why and how"
[ "$(logins)" = 0 ] && pass "no C_Login at the SO's final try" || fail "$(logins) C_Login calls"
QSCD_P11FAULT_PROFILE=so-pin-final-try agent "${M[@]}" --so-pin-source "file:$T/sopin" \
    token unblock-pin --new-pin-source "file:$T/pin" --allow-so-final-try
expect_rc 0 "--allow-so-final-try goes on"
agent "${M[@]}" --pin-source "file:$T/pin" token csr --subject "$SUBJ" -o "$T/req.pem"
expect_rc 0 "the PIN set then works"

for f in "$T/out" "$T/err" "$QSCD_P11FAULT_LOG"; do
    for p in "$PIN" "$NEWPIN" "$SOPIN"; do expect_no_string "$p" "no PIN in $(basename "$f")" "$f"; done
done
finish
