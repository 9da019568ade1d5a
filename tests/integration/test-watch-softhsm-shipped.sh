#!/bin/bash
# watch with tokens as DigiCert ships them: four SoftHSM2 tokens, each with
# a key made by pkcs11-tool and shipped to the simulator for its own order,
# and a fifth token with a key no order knows.  `watch` (no --assign-next)
# matches every token to its order by its public key before any PIN,
# provisions each once, and leaves the stranger untouched.  The audit log
# has one decision per token and no secret.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-watch-softhsm-shipped"
lc_setup --approve-after-polls 1
N=4
declare -A ORDER_OF
bad=0
for i in $(seq 1 $N); do
    lc_submit
    [ -n "$ORDER" ] || { fail "order submit $i gave no order id"; finish; }
    sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || { fail "approve $ORDER"; bad=$((bad + 1)); }
    lc_ensure_job "$ORDER"
    lc_token "SHIP-0$i" "5$i"
    lc_ship "$ORDER" "$T/SHIP-0$i.pub.pem" || { fail "ship $ORDER"; bad=$((bad + 1)); }
    ORDER_OF[SHIP-0$i]=$ORDER
done
[ "$bad" = 0 ] && pass "$N orders placed, approved and shipped"
lc_token STRANGER 77

wrun() {   # wrun ARGS...: watch, bounded in time whatever happens
    run timeout --kill-after=5 120 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" \
        --pin-source "file:$T/pin" "$@"
}

export QSCD_POLL_INTERVAL=0.1
wrun watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "watch --exit-when-idle provisions and ends"
for i in $(seq 1 $N); do
    L=SHIP-0$i; O=${ORDER_OF[$L]}
    expect_out "token \"$L\" \(serial [0-9a-f]+\) in reader \"[^\"]*\": belongs to order $O \(its key is in the order's certificate\)" \
        "$L matched to order $O by its key"
    expect_out "token \"$L\" .*: order $O: certificate installed and verified" "order $O installed"
    [ "$(lc_count "$L" cert "5$i")" = 1 ] && pass "$L holds one certificate for its key" ||
        fail "$L certificates for key 5$i: $(lc_count "$L" cert "5$i")"
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$L" --read-object --type cert \
        --id "5$i" -o "$T/$L.crt.der" > /dev/null 2>&1
    openssl x509 -inform DER -in "$T/$L.crt.der" -noout -pubkey > "$T/$L.crt.pub" 2>/dev/null
    cmp -s "$T/$L.crt.pub" "$T/$L.pub.pem" && pass "$L: the certificate holds its own key" ||
        fail "$L: certificate is not for its key"
done
expect_out 'token "STRANGER" .*: unassigned: no open job holds its key; left untouched' \
    "the stranger is reported unassigned"
[ "$(lc_count STRANGER cert)" = 0 ] && pass "nothing written to the stranger" ||
    fail "the stranger got a certificate"
[ "$(grep -c 'provisioning' "$T/out")" = "$N" ] && pass "exactly $N workers started" ||
    fail "workers started: $(grep -c 'provisioning' "$T/out")"

echo "a second watch finds nothing left to do"
wrun --json watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "second watch"
expect_out '"event":"token_done"' "--json: tokens reported as done"
if grep -q '"event":"token_assigned"' "$T/out"; then fail "second watch started a worker"
else pass "no worker on the second run"; fi
python3 -c 'import json,sys
for line in open(sys.argv[1]): json.loads(line)' "$T/out" && pass "--json: every line is JSON" ||
    fail "--json output is not JSON lines"

echo "audit log"
LOG=$QSCD_STATE_DIR/audit.log
for i in $(seq 1 $N); do
    O=${ORDER_OF[SHIP-0$i]}
    c=$(grep -c "\"action\":\"watch assign\".*\"order_id\":\"$O\"" "$LOG")
    [ "$c" = 1 ] && pass "one assign entry for order $O" || fail "assign entries for $O: $c"
    c=$(grep "\"order_id\":\"$O\"" "$LOG" | grep -c '"action":"provision".*"outcome":"ok"')
    [ "$c" = 1 ] && pass "one provision ok entry for order $O" || fail "provision entries for $O: $c"
done
# One entry per action: no step of any order recorded twice over both runs.
python3 -c 'import json,sys,collections
c = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["order_id"]: c[(e["order_id"], e["action"])] += 1
twice = [k for k, v in c.items() if v != 1]
print("actions per order:", len(c), "recorded more than once:", twice)
sys.exit(1 if twice or len(c) < 4 * 5 else 0)' "$LOG" > "$T/once.txt" &&
    pass "every action of every order recorded once ($(cat "$T/once.txt"))" ||
    fail "audit: $(cat "$T/once.txt")"
for f in time user uid host action order_id token_serial cert_serial cert_sha256 outcome error; do
    grep "\"action\":\"install\"" "$LOG" | head -1 | grep -q "\"$f\":" && pass "install entry has $f" ||
        fail "install entry lacks $f"
done
grep '"action":"install"' "$LOG" | grep -Eq '"cert_sha256":"[0-9a-fA-F:]{64,}"' &&
    pass "install entry carries the certificate fingerprint" || fail "no fingerprint in the install entry"
run "$QSCD_AGENT" status --history
expect_rc 0 "status --history"
for i in $(seq 1 $N); do
    O=${ORDER_OF[SHIP-0$i]}
    expect_out "install: order $O, token [0-9a-f]+, certificate [0-9A-F]+: ok" "history shows order $O installed"
done
c=$(grep -c '"action":"watch unassigned"' "$LOG")
[ "$c" = 2 ] && pass "one unassigned entry per watch run for the stranger" ||
    fail "unassigned entries: $c"
expect_no_string "$LC_PIN" "no PIN in the audit log" "$LOG"
expect_no_string "$SIM_API_KEY" "no API key in the audit log" "$LOG"
expect_no_string "$LC_PIN" "no PIN in watch's output" "$T/out" "$T/err"
expect_no_string "$SIM_API_KEY" "no API key in watch's output" "$T/out" "$T/err"
finish
