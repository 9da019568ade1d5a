#!/bin/bash
# Token removal at each step of provisioning (the fault module between the
# agent and SoftHSM2): the interrupted run fails (token error, or "waiting
# for the token"), the re-run with the token back completes, and the token
# holds exactly the certificate and its intermediate, never a half-written
# object.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup
export QSCD_P11FAULT_MODULE="$SOFTHSM_MODULE"
N=0
fa() { run "$QSCD_AGENT" --module "$QSCD_P11FAULT" --pin-source "file:$T/pin" "$@"; }

# objects LABEL: "certs/pubkeys/privkeys" on the token, straight from SoftHSM2.
objects() { echo "$(lc_count "$1" cert)/$(lc_count "$1" pubkey)/$(lc_count "$1" privkey)"; }

# case_removal KIND SPEC: a new order and token; provision with the token
# removed at (REMOVE_AT) or right after (REMOVE_AFTER) the call SPEC.
case_removal() {
    local kind=$1 spec=$2 label
    N=$((N + 1)); label="R$N"
    plug "$label"; lc_token "$label" 51
    lc_submit; lc_ship "$ORDER" "$T/$label.pub.pem"
    env "QSCD_P11FAULT_$kind=$spec" QSCD_P11FAULT_LOG="$T/$label.log" \
        "$QSCD_AGENT" --module "$QSCD_P11FAULT" \
        --pin-source "file:$T/pin" provision "$ORDER" --wait --poll-interval 0.1 --timeout 5 \
        > "$T/out" 2> "$T/err" < /dev/null
    RC=$?
    # The fault must have fired, or the spec names a call the run never
    # makes and the case proves nothing.
    want=removed; [ "$kind" = REMOVE_AFTER ] && want=removed-after
    f=$(grep -m1 " fault=$want\$" "$T/$label.log" 2>/dev/null)
    [ -n "$f" ] && pass "$kind $spec: the removal fired ($f)" ||
        fail "$kind $spec: no fault=$want in the call log: the spec never fires"
    case "$RC" in
        1|4) pass "$kind $spec: interrupted run stops (exit $RC)" ;;
        0)   note "$kind $spec: removed at a call after which nothing was needed (exit 0)" ;;
        *)   fail "$kind $spec: exit $RC" ;;
    esac
    fa provision "$ORDER"
    expect_rc 0 "$kind $spec: re-run with the token back completes"
    [ "$(lc_count "$label" cert 51)" = 1 ] && pass "$kind $spec: one certificate for the key" ||
        fail "$kind $spec: $(lc_count "$label" cert 51) certificates for the key"
    [ "$(objects "$label")" = 2/1/1 ] && pass "$kind $spec: leaf + intermediate, one key pair" ||
        fail "$kind $spec: objects (certs/pub/priv) $(objects "$label")"
}

echo "how many PKCS#11 calls a whole provision makes"
plug count; lc_token COUNT 51
lc_submit; lc_ship "$ORDER" "$T/COUNT.pub.pem"
QSCD_P11FAULT_LOG="$T/count.log" fa provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "provision through the fault module without faults"
CALLS=$(grep -vc '^#' "$T/count.log")
[ "$CALLS" -gt 20 ] && pass "$CALLS calls" || fail "only $CALLS calls logged"

echo "removal at named steps"
for spec in C_FindObjectsInit:1 C_Login:1 C_CreateObject:1 C_CreateObject:2; do
    case_removal REMOVE_AT "$spec"
done
for spec in C_Login:1 C_CreateObject:1 C_CreateObject:2; do
    case_removal REMOVE_AFTER "$spec"
done

echo "removal swept across the whole run"
step=$(( CALLS / 10 > 0 ? CALLS / 10 : 1 ))
for k in $(seq 3 "$step" "$CALLS"); do
    case_removal REMOVE_AT "*:$k"
done

finish
