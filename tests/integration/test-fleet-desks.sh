#!/bin/bash
# Two desks, one database (docs/fleet.md): two agents with different desk
# names (QSCD_DESK) sharing one PostgreSQL server.
#  - a job one desk works on is "busy at desk X since T" for the other, at
#    once (exit 1), and the first one provisions it;
#  - the same request submitted by both at once places one order;
#  - a desk SIGKILLed mid-step (waiting, or right after a commit) loses its
#    lock with its connection: the other takes the job over and completes it;
#  - the database going away mid-run: a clear error, nothing paid twice, the
#    job resumes when it is back;
#  - the pacing ledger is the fleet's: the sends of both desks are in it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

pg_start && pg_init_schema > "$T/init.log" 2>&1 || { fail "PostgreSQL"; cat "$T/init.log"; finish; }
lc_setup --approve-after-polls 6
export QSCD_STATE_DB=$PG_URI
export QSCD_STATE_DIR=/dev/null/no-state-dir   # nothing may be kept locally
desk() {   # desk NAME ARGS...: the agent as desk NAME, on SoftHSM2, PIN from a file
    local name=$1; shift
    QSCD_DESK=$name "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" "$@"
}
desk_hooks() {
    local name=$1; shift
    QSCD_DESK=$name "$QSCD_AGENT_HOOKS" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" "$@"
}

echo "one job, two desks"
QSCD_DESK=desk-a lc_submit
[ -n "$ORDER" ] && pass "order $ORDER submitted at desk-a" || { fail "no order"; finish; }
lc_token QSCD-01 51
lc_ship "$ORDER" "$T/QSCD-01.pub.pem"
# desk-a works on the job: it polls the order until it is approved (a few
# polls), holding the job's lock all along.
desk desk-a provision "$ORDER" --wait --poll-interval 0.5 > "$T/a.out" 2> "$T/a.err" &
A=$!
track_pid "$A"
for _ in $(seq 1 50); do
    grep -q 'waiting for order' "$T/a.err" && break; sleep 0.1
done
start=$(date +%s.%N)
run desk desk-b provision "$ORDER"
took=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
expect_rc 1 "desk-b: provision of the job desk-a works on"
expect_err "job job-[0-9a-f]{16} is busy at desk desk-a since [0-9T:-]+Z" "told it is busy at desk-a, since when"
note "desk-b was told in ${took}s"
wait "$A"; RC=$?; untrack_pid "$A"
expect_rc 0 "desk-a provisions it"
[ "$(lc_count QSCD-01 cert 51)" = 1 ] && pass "one certificate on the token" ||
    fail "certificates: $(lc_count QSCD-01 cert 51)"
[ "$(pg_sql qscd_admin "SELECT holder_desk FROM qscd_jobs WHERE order_id = '$ORDER'")" = desk-a ] &&
    pass "the job's holder is desk-a" || fail "holder: $(pg_sql qscd_admin "SELECT holder_desk FROM qscd_jobs")"
run desk desk-b status "$ORDER"
expect_rc 0 "desk-b sees the job ready"
n=$(pg_sql qscd_admin "SELECT count(*) FROM qscd_audit WHERE desk = 'desk-a' AND action = 'install' AND order_id = '$ORDER'")
[ "$n" = 1 ] && pass "the audit names desk-a for the install" || fail "install audit rows at desk-a: $n"

echo "one request, two desks at once"
# A request of its own (another recipient): never placed before.
python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); d["ship_info"]["name"] = "Jane Roe"
json.dump(d, open(sys.argv[2], "w"))' "$EXAMPLE_REQUEST" "$T/request-b.json"
before=$(lc_orders_created)
for d in desk-a desk-b; do
    QSCD_DESK=$d "$QSCD_AGENT" --json order submit "$T/request-b.json" \
        > "$T/sub-$d.out" 2> "$T/sub-$d.err" &
    eval "P_${d#desk-}=\$!"
done
wait "$P_a"; ra=$?
wait "$P_b"; rb=$?
[ "$ra" = 0 ] && [ "$rb" = 0 ] && pass "both submits end well" || fail "submit exits: $ra $rb"
[ "$(lc_orders_created)" = $((before + 1)) ] && pass "one order placed at the simulator" ||
    fail "orders placed: $(( $(lc_orders_created) - before ))"
ex=$(cat "$T/sub-desk-a.out" "$T/sub-desk-b.out" | grep -c '"existing":[[:space:]]*true')
[ "$ex" = 1 ] && pass "the other desk is told the request was placed" || fail "existing: $ex"
[ "$(json_get "$T/sub-desk-a.out" order_id)" = "$(json_get "$T/sub-desk-b.out" order_id)" ] &&
    pass "both name the same order" || fail "orders: $(cat "$T/sub-desk-a.out" "$T/sub-desk-b.out")"

echo "a desk SIGKILLed while it holds a job"
plug k1; lc_token QSCD-K1 51
QSCD_DESK=desk-a lc_submit; ORDER_K=$ORDER
lc_ship "$ORDER_K" "$T/QSCD-K1.pub.pem"
# The agent itself in the background (not a function's subshell): $! is its PID.
QSCD_DESK=desk-a "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" \
    provision "$ORDER_K" --wait --poll-interval 5 > "$T/k.out" 2> "$T/k.err" &
A=$!
track_pid "$A"
for _ in $(seq 1 50); do grep -q 'waiting for order' "$T/k.err" && break; sleep 0.1; done
run desk desk-b provision "$ORDER_K"
expect_rc 1 "desk-b: busy while desk-a lives"
expect_err "busy at desk desk-a" "names desk-a"
kill -9 "$A"; wait "$A" 2>/dev/null; untrack_pid "$A"
# The server ends the dead desk's session when it sees the socket close.
for _ in $(seq 1 50); do
    [ "$(pg_sql qscd_admin "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] && break
    sleep 0.1
done
[ "$(pg_sql qscd_admin "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] &&
    pass "the job's lock went with desk-a's connection" || fail "an advisory lock is still held"
run desk desk-b provision "$ORDER_K" --wait --poll-interval 0.1
expect_rc 0 "desk-b takes the job over at once and completes it"
[ "$(lc_count QSCD-K1 cert 51)" = 1 ] && pass "one certificate" || fail "certificates: $(lc_count QSCD-K1 cert 51)"
[ "$(pg_sql qscd_admin "SELECT holder_desk FROM qscd_jobs WHERE order_id = '$ORDER_K'")" = desk-b ] &&
    pass "desk-b is the holder now" || fail "holder"

echo "a desk killed right after a commit (key_ready)"
plug k2; lc_token QSCD-K2 51
QSCD_DESK=desk-a lc_submit; ORDER_C=$ORDER
lc_ship "$ORDER_C" "$T/QSCD-K2.pub.pem"
QSCD_TEST_CRASH_AFTER=key_ready run desk_hooks desk-a provision "$ORDER_C" --wait --poll-interval 0.1
[ "$RC" = 137 ] && pass "desk-a killed after committing key_ready" || fail "desk-a: exit $RC"
[ "$(pg_sql qscd_admin "SELECT device_state FROM qscd_jobs WHERE order_id = '$ORDER_C'")" = key_ready ] &&
    pass "key_ready is in the database" || fail "state: $(pg_sql qscd_admin "SELECT device_state FROM qscd_jobs WHERE order_id = '$ORDER_C'")"
run desk desk-b provision "$ORDER_C" --wait --poll-interval 0.1
expect_rc 0 "desk-b completes the job"
[ "$(lc_count QSCD-K2 cert 51)" = 1 ] && pass "one certificate" || fail "certificates: $(lc_count QSCD-K2 cert 51)"

echo "the database goes away mid-run"
plug g; lc_token QSCD-G 51
QSCD_DESK=desk-a lc_submit; ORDER_G=$ORDER
lc_ship "$ORDER_G" "$T/QSCD-G.pub.pem"
orders=$(lc_orders_created)
desk desk-a provision "$ORDER_G" --wait --poll-interval 0.5 > "$T/g.out" 2> "$T/g.err" &
A=$!
track_pid "$A"
for _ in $(seq 1 50); do grep -q 'waiting for order' "$T/g.err" && break; sleep 0.1; done
pg_down
wait "$A"; RC=$?; untrack_pid "$A"
cp "$T/g.err" "$T/err"
[ "$RC" != 0 ] && pass "desk-a stops (exit $RC)" || fail "desk-a ended well without its database"
expect_err 'state database unreachable' "a clear error"
pg_up || fail "the database came back"
run desk desk-a provision "$ORDER_G" --wait --poll-interval 0.1
expect_rc 0 "the job resumes and completes"
[ "$(lc_count QSCD-G cert 51)" = 1 ] && pass "one certificate" || fail "certificates: $(lc_count QSCD-G cert 51)"
[ "$(lc_orders_created)" = "$orders" ] && pass "nothing ordered again" || fail "orders placed meanwhile"

echo "status over the fleet"
run desk desk-c status
for o in "$ORDER" "$ORDER_K" "$ORDER_C" "$ORDER_G"; do
    grep -q "^order $o " "$T/out" || fail "status at desk-c lacks order $o"
done
pass "status at a third desk shows every desk's jobs"
run desk desk-c status --desk desk-b
# Which desk won the concurrent submit varies: the database says which jobs
# are desk-b's, and status --desk must list exactly those.
[ "$RC" = 0 ] || [ "$RC" = 1 ] && pass "status --desk desk-b (exit $RC)" || fail "status --desk: exit $RC"
want=$(pg_sql qscd_admin "SELECT order_id FROM qscd_jobs WHERE holder_desk = 'desk-b' ORDER BY order_id" | tr '\n' ' ')
got=$(sed -n 's/^order \([0-9]*\) .*/\1/p' "$T/out" | sort | tr '\n' ' ')
[ "$got" = "$want" ] && pass "exactly desk-b's jobs are listed ($got)" ||
    fail "status --desk desk-b: $got, the database: $want"
case " $got " in *" $ORDER_K "*) pass "among them the job desk-b took over" ;;
                 *) fail "the job desk-b took over is not listed" ;; esac
case " $got " in *" $ORDER_G "*) fail "desk-a's job listed for desk-b" ;;
                 *) pass "desk-a's jobs are not" ;; esac
run desk desk-c status --desk desk-b "$ORDER_K"
expect_rc 2 "--desk with an ORDER_ID"
run desk desk-c status --history "$ORDER_K"
expect_rc 0 "the fleet's audit log"
expect_out "desk desk-b provision: order $ORDER_K.*: ok" "names the desk that provisioned"

echo "the fleet's pacing ledger"
n=$(pg_sql qscd_admin "SELECT count(*) FROM qscd_pace")
[ "$n" -gt 0 ] && pass "the desks' sends are in the shared ledger ($n)" || fail "pacing ledger empty"
before=$n
run desk desk-b order status "$ORDER"
expect_rc 0 "order status at desk-b"
[ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_pace")" -gt "$before" ] &&
    pass "its send joins the ledger" || fail "the ledger did not grow"
[ "$(pg_sql qscd_admin "SELECT count(DISTINCT api) FROM qscd_pace")" = 1 ] &&
    pass "one ledger for the API URL" || fail "ledgers: $(pg_sql qscd_admin "SELECT DISTINCT api FROM qscd_pace")"

# Four desks at once, each its own process and desk name: the test build
# narrows the short window to 2 requests per 3 s (QSCD_TEST_PACE_SHORT), and
# together they stay inside it.  Only lower bounds are checked.
gets_times() {
    sim_admin GET /stats > "$T/stats.json"
    python3 - "$T/stats.json" "$ORDER" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))["log"]
ts = sorted(e["t"] for e in log if e["method"] == "GET" and e["path"].endswith("/" + sys.argv[2]))
print(" ".join("%.3f" % t for t in ts))
PY
}
before=$(gets_times | wc -w)
pids=()
for i in 1 2 3 4; do
    QSCD_DESK=desk-$i QSCD_TEST_PACE_SHORT=2/3 "$QSCD_AGENT_HOOKS" order status "$ORDER" \
        > "$T/burst-$i.out" 2>&1 &
    pids+=("$!")
done
RC=0
for p in "${pids[@]}"; do wait "$p" || RC=$?; done
expect_rc 0 "four desks ask at once"
read -r -a t <<< "$(gets_times)"
t=("${t[@]:$before}")
if [ "${#t[@]}" -ne 4 ]; then
    fail "expected 4 GETs, the simulator saw ${#t[@]}"
else
    python3 - "${t[@]}" <<'PY' && pass "at most 2 GETs in any 3 s across the four desks" ||
import sys
t = [float(x) for x in sys.argv[1:]]
sys.exit(0 if all(t[i + 2] - t[i] >= 2.9 for i in range(len(t) - 2)) else 1)
PY
        fail "GETs closer than the fleet's window allows: ${t[*]}"
fi

finish
