#!/bin/bash
# Replacing a certificate when the token goes away mid-install: through the
# fault module, the token is pulled at every PKCS#11 call an install makes
# (the call not forwarded) and after every write (forwarded, reply lost).
# After each interruption the key still has a certificate, the old or the
# new one, nothing half-written; a re-run completes to exactly the new
# state: the new leaf with the key's ID and label, the intermediate once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

PIN="Rm4-distinct-PIN-1618"
softhsm_setup
tca_replacement_fixture "$PIN"
labels_ok() {
    pkcs11-tool "${S[@]}" --token-label QSCD-01 -O --type cert 2>/dev/null |
        awk '/^Certificate Object/{l=""} /label:/{l=$2} /ID:/{ if ($2 == "c0ffee" && l != "QSCD-01-key") bad=1 } END { exit bad }'
}

# The calls of one uninterrupted install, in order.
restore
export QSCD_P11FAULT_LOG="$T/calls.log"
: > "$QSCD_P11FAULT_LOG"
agent "${F[@]}" token install "$T/new.pem" --chain "$TCA/chain.pem"
expect_rc 0 "an uninterrupted install through the fault module"
# (C_Initialize and C_Finalize are the module's own business, not the token's.)
awk '{print $1}' "$T/calls.log" | grep '^C_' | grep -v '^C_Initialize$\|^C_Finalize$' > "$T/calls"
unset QSCD_P11FAULT_LOG
expect_calls "$T/calls" 10 "removal sweep over one install"

bad=0; runs=0
# interrupt MODE NAME K: one interrupted install and its re-run.
interrupt() {
    local state
    restore
    runs=$((runs + 1))
    : > "$T/run.log"
    env "QSCD_P11FAULT_$1=$2:$3" QSCD_P11FAULT_LOG="$T/run.log" "$QSCD_AGENT" "${F[@]}" \
        token install "$T/new.pem" --chain "$TCA/chain.pem" > "$T/out" 2> "$T/err" < /dev/null
    local rc=$? kind=removed
    [ "$1" = REMOVE_AFTER ] && kind=removed-after
    if ! fault_fired "$T/run.log" "$kind"; then
        fail "$1 $2:$3: no fault=$kind in the call log: the removal never fired"; bad=$((bad + 1)); return
    fi
    state=$(leaf_serials)
    case "$state" in
        "$OLD_SERIAL "|"$NEW_SERIAL "|"$(printf '%s\n%s\n' "$OLD_SERIAL" "$NEW_SERIAL" | sort | tr '\n' ' ')") ;;
        *) fail "$1 $2:$3 (exit $rc) left certificates [$state] for the key"; bad=$((bad + 1)); return ;;
    esac
    # 1: gone before the token was chosen (not ready); 4: gone mid-way.
    if [ "$rc" != 0 ] && [ "$rc" != 4 ] && { [ "$rc" != 1 ] || ! grep -q 'no token is present' "$T/err"; }; then
        fail "$1 $2:$3: exit $rc: $(cat "$T/err")"; bad=$((bad + 1)); return
    fi
    if [ "$rc" = 4 ] && ! grep -q 'removed\|CKR_DEVICE_REMOVED\|CKR_TOKEN_NOT_PRESENT' "$T/err"; then
        fail "$1 $2:$3: exit 4 without saying the token was removed: $(cat "$T/err")"; bad=$((bad + 1)); return
    fi
    agent "${S[@]}" token install "$T/new.pem" --chain "$TCA/chain.pem"
    if [ "$RC" != 0 ] || [ "$(leaf_serials)" != "$NEW_SERIAL " ] || [ "$(count_certs)" != 2 ] || ! labels_ok; then
        fail "$1 $2:$3: re-run (exit $RC) left [$(leaf_serials)], $(count_certs) certificates"
        bad=$((bad + 1))
    fi
}

declare -A seen=()
while read -r name; do
    seen[$name]=$(( ${seen[$name]:-0} + 1 ))
    interrupt REMOVE_AT "$name" "${seen[$name]}"
    case "$name" in
        C_CreateObject|C_DestroyObject|C_SetAttributeValue)
            interrupt REMOVE_AFTER "$name" "${seen[$name]}" ;;
    esac
done < "$T/calls"
[ "$bad" = 0 ] && pass "$runs interrupted installs: always old or new certificate, re-run completes" ||
    note "$bad of $runs interrupted installs went wrong"
finish
