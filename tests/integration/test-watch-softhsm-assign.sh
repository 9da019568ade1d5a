#!/bin/bash
# watch --assign-next at a helpdesk with blank tokens: four approved orders
# whose tokens were never shipped with a key, four blank SoftHSM2 tokens (all
# with the same PIN, from a file).  Every token gets its own job, a key
# generated on it and the certificate reissued for that key, exactly once;
# the simulator served one download per job; without --assign-next a blank
# token is left alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-watch-softhsm-assign"
lc_setup --approve-after-polls 1
N=4
ORDERS=""
bad=0
for i in $(seq 1 $N); do
    lc_submit
    [ -n "$ORDER" ] || { fail "order submit $i gave no order id"; finish; }
    sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || { fail "approve $ORDER"; bad=$((bad + 1)); }
    lc_ensure_job "$ORDER"
    ORDERS="$ORDERS $ORDER"
    softhsm_token "BLANK-0$i" "$LC_PIN" || { fail "softhsm token BLANK-0$i"; bad=$((bad + 1)); }
done
[ "$bad" = 0 ] && pass "$N approved orders, $N blank tokens"

wrun() {
    run timeout --kill-after=5 180 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" \
        --pin-source "file:$T/pin" "$@"
}
export QSCD_POLL_INTERVAL=0.1

echo "without --assign-next: blank tokens are left alone"
wrun watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "watch without --assign-next"
[ "$(grep -c 'unassigned: a blank token no job is bound to' "$T/out")" = "$N" ] &&
    pass "every blank token reported unassigned" || fail "blank tokens not all unassigned"
keys=0
for i in $(seq 1 $N); do
    k=$(lc_count "BLANK-0$i" privkey)
    [ "$k" = 0 ] || { fail "BLANK-0$i got a key ($k)"; keys=$((keys + 1)); }
done
[ "$keys" = 0 ] && pass "no key generated on any of the $N blank tokens"

echo "--assign-next: each blank token gets the oldest waiting job"
wrun watch --assign-next --exit-when-idle --poll-interval 0.2
expect_rc 0 "watch --assign-next"
[ "$(grep -c 'oldest approved job waiting for a key) → provisioning' "$T/out")" = "$N" ] &&
    pass "$N tokens assigned" || fail "assigned: $(grep -c 'provisioning' "$T/out")"
[ "$(grep -c 'certificate installed and verified' "$T/out")" = "$N" ] &&
    pass "$N certificates installed" || fail "installed: $(grep -c 'installed and verified' "$T/out")"
for O in $ORDERS; do
    c=$(grep -c "belongs to order $O " "$T/out")
    [ "$c" = 1 ] && pass "order $O given to exactly one token" || fail "order $O given $c times"
done
for i in $(seq 1 $N); do
    L=BLANK-0$i
    ID=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$L" -O --type pubkey 2>/dev/null |
         awk '/^ *ID: / { print $2; exit }')
    k=$(lc_count "$L" privkey); c=$(lc_count "$L" cert "$ID")
    [ "$k" = 1 ] && [ "$c" = 1 ] && pass "$L: one key, one certificate for it" ||
        fail "$L: $k keys, $c certificates for key $ID"
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$L" --read-object --type cert \
        --id "$ID" -o "$T/$L.crt.der" > /dev/null 2>&1
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$L" --read-object --type pubkey \
        --id "$ID" -o "$T/$L.pub.der" > /dev/null 2>&1
    openssl x509 -inform DER -in "$T/$L.crt.der" -noout -pubkey > "$T/$L.a" 2>/dev/null
    openssl pkey -pubin -inform DER -in "$T/$L.pub.der" -out "$T/$L.b" 2>/dev/null
    [ -s "$T/$L.a" ] && cmp -s "$T/$L.a" "$T/$L.b" &&
        pass "$L: its certificate is for the key generated on it" || fail "$L: key mismatch"
done

echo "one download per job"
sim_admin GET /stats > "$T/stats.json"
d=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(1 for e in d["log"] if "/download/" in e["path"] and e["status"] == 200))' "$T/stats.json")
[ "$d" = "$N" ] && pass "$N downloads for $N jobs" || fail "downloads: $d for $N jobs"

echo "again: nothing left to do"
wrun watch --assign-next --exit-when-idle --poll-interval 0.2
expect_rc 0 "second watch --assign-next"
[ "$(grep -c 'provisioned already' "$T/out")" = "$N" ] && pass "every token: done already" ||
    fail "second run: $(grep -c 'provisioned already' "$T/out") done"
expect_no_string "$LC_PIN" "no PIN in the audit log" "$QSCD_STATE_DIR/audit.log"
expect_no_string "$SIM_API_KEY" "no API key in the audit log" "$QSCD_STATE_DIR/audit.log"
finish
