#!/bin/bash
# Pacing is shared by every agent on the machine (the ledger in the state
# dir): several processes at once stay inside one rate-limit window
# together, as CertCentral counts per API key, not per process.  The test
# build narrows the short window to 2 requests per 3 s (QSCD_TEST_PACE_SHORT)
# so that the spacing shows in seconds; only lower bounds are checked, so a
# slow machine cannot fail it.
. "$(dirname "$0")/lib.sh"

echo "test-order-pacing"
sim_start
agent order submit tests/data/requests/seed-fixed.json
expect_rc 0 "an order to ask about"
ORDER=$(sed -n 's/^order \([0-9]*\),.*/\1/p' "$T/out")
[ -n "$ORDER" ] || { fail "no order id"; finish; }

# gets_times: the times of the simulator's GETs of the order, sorted.
gets_times() {
    sim_admin GET /stats > "$T/stats.json"
    python3 - "$T/stats.json" "$ORDER" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))["log"]
ts = sorted(e["t"] for e in log if e["method"] == "GET" and e["path"].endswith("/" + sys.argv[2]))
print(" ".join("%.3f" % t for t in ts))
PY
}

# burst DIR: four `order status` processes at once, one state dir each or
# all the same.
burst() {
    local pids=() i dir
    for i in 1 2 3 4; do
        dir=$1; [ "$dir" = each ] && dir="$T/state-$i"
        QSCD_TEST_PACE_SHORT=2/3 QSCD_STATE_DIR="$dir" "$QSCD_AGENT_HOOKS" \
            order status "$ORDER" > "$T/burst-$i.out" 2>&1 &
        pids+=("$!")
    done
    RC=0
    for i in "${pids[@]}"; do wait "$i" || RC=$?; done
}

before=$(gets_times | wc -w)
burst "$T/shared"
expect_rc 0 "four order status processes sharing a state dir"
read -r -a t <<< "$(gets_times)"
t=("${t[@]:$before}")
if [ "${#t[@]}" -ne 4 ]; then
    fail "expected 4 GETs, the simulator saw ${#t[@]}"
else
    # Any 3 consecutive GETs span at least the window: at most 2 per 3 s.
    python3 - "${t[@]}" <<'PY' && pass "at most 2 GETs in any 3 s across the four processes" ||
import sys
t = [float(x) for x in sys.argv[1:]]
sys.exit(0 if all(t[i + 2] - t[i] >= 2.9 for i in range(len(t) - 2)) else 1)
PY
        fail "GETs closer than the shared window allows: ${t[*]}"
fi
ls "$T/shared/pace/" > "$T/pace.ls" 2>&1
grep -q '127.0.0.1' "$T/pace.ls" && pass "the ledger is named after the API URL" ||
    fail "ledger: $(cat "$T/pace.ls")"
[ "$(stat -c %a "$T/shared/pace/"* 2>/dev/null | head -1)" = 600 ] &&
    pass "the ledger is private (0600)" || fail "ledger mode: $(stat -c %a "$T/shared/pace/"*)"
expect_no_string "$SIM_API_KEY" "the API key is not in the ledger" "$T/shared/pace/"*

[ "$(grep -c '^[0-9.]*$' "$T/shared/pace/"*)" = 4 ] &&
    pass "the shared ledger holds the four sends" ||
    fail "shared ledger: $(cat "$T/shared/pace/"*)"

# Each process with its own state dir has a budget of its own: each ledger
# holds its one send.  (Agents meant to share must share the state dir, as
# the watcher's workers do.)
burst each
expect_rc 0 "four processes with separate state dirs"
n=0
for i in 1 2 3 4; do
    [ "$(grep -c '^[0-9.]*$' "$T/state-$i/pace/"* 2>/dev/null)" = 1 ] && n=$((n + 1))
done
[ "$n" = 4 ] && pass "separate state dirs: one send in each ledger" ||
    fail "separate state dirs: $n of 4 ledgers hold one send"

# A ledger that cannot be written does not stop a command.  Root writes
# through mode 0500, so as root the agent runs as nobody (setpriv), from a
# directory of its own holding copies of the binary, key, CA and config.
if [ "$(id -u)" != 0 ]; then
    U="$T"; as_user=()
else
    U=$(mktemp -d "${TMPDIR:-/tmp}/qscd-nobody.XXXXXX")
    trap 'rm -rf "$U"; cleanup' EXIT
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env)
fi
cp "$QSCD_AGENT" "$U/qscd-agent.copy"; cp "$SIM_CA" "$U/ca.pem"
( umask 077; cp "$T/api-key" "$U/api-key.copy"; : > "$U/none.conf" )
mkdir -p "$U/ro/pace"
[ "$U" = "$T" ] || chown -R nobody:nogroup "$U"
chmod 500 "$U/ro/pace"
unpriv() {
    run ${as_user[@]+"${as_user[@]}"} env QSCD_CONFIG="$U/none.conf" QSCD_STATE_DIR="$U/ro" \
        QSCD_API_URL="$SIM_URL" QSCD_API_KEY_FILE="$U/api-key.copy" QSCD_CA_FILE="$U/ca.pem" "$@"
}
unpriv sh -c ': > "$1/ro/pace/probe"' sh "$U"
[ "$RC" != 0 ] && pass "the ledger directory is unwritable for the agent's user (uid $(stat -c %u "$U/ro"))" ||
    fail "the ledger directory is writable: the check below would prove nothing"
unpriv "$U/qscd-agent.copy" order status "$ORDER"
expect_rc 0 "order status with an unwritable ledger directory"
expect_out "^order $ORDER: " "the status is printed all the same"
( umask 077; : > "$T/ro-file" )
QSCD_STATE_DIR="$T/ro-file" agent order status "$ORDER"
expect_rc 0 "order status when the state dir is a file (no ledger possible)"
finish
