#!/bin/bash
# Crash safety: the hooks build kills itself with SIGKILL right after a
# journal commit.  Every commit a clean provision makes is a crash point in
# turn (the list of transitions comes from a clean run's journal, and each
# must have been crashed after).  The killed run is followed by a normal
# one: it completes, the simulator holds exactly the orders that were
# submitted, and the token exactly one certificate for the key.  The same
# for the named write-ahead points of --generate-key (keygen, keygen_done,
# reissuing, reissue_sent): one key pair, at most one reissue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

if [ ! -x "$QSCD_AGENT_HOOKS" ]; then
    echo "  no hooks build at $QSCD_AGENT_HOOKS (make hooks)"; exit 1
fi
lc_setup
SUBMITTED=0

# states STATEFILE: "side:state" of every transition in a job JSON (one a line).
states() {
    python3 -c 'import json,sys
for t in json.load(open(sys.argv[1]))[0]["job"]["transitions"]: print(t["side"] + ":" + t["state"])' "$1"
}

echo "a clean run: the transitions provision commits"
plug clean; lc_token T-clean 51
lc_submit; SUBMITTED=$((SUBMITTED + 1))
lc_agent status "$ORDER" --json; states "$T/out" > "$T/submit.states"
lc_ship "$ORDER" "$T/T-clean.pub.pem"
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "clean provision"
lc_agent status "$ORDER" --json; states "$T/out" > "$T/all.states"
grep -vxF -f "$T/submit.states" "$T/all.states" > "$T/provision.states"
note "provision commits: $(tr '\n' ' ' < "$T/provision.states")"
[ "$(wc -l < "$T/provision.states")" -ge 6 ] && pass "provision moves the job through $(wc -l < "$T/provision.states") states" ||
    fail "too few transitions in a clean run"
: > "$T/crashed.states"

# Every commit of a provision in turn (state changes, and commits that only
# record a binding or an error): killed right after commit K, then re-run.
k=1
while [ "$k" -le 30 ]; do
    plug "k$k"; lc_token "T-k$k" 51
    lc_submit; SUBMITTED=$((SUBMITTED + 1))
    lc_ship "$ORDER" "$T/T-k$k.pub.pem"
    QSCD_TEST_CRASH_AFTER=$k lc_hooks provision "$ORDER" --wait --poll-interval 0.1
    if [ "$RC" = 0 ]; then
        pass "a provision makes $((k - 1)) commits; each was a crash point"
        break
    fi
    expect_rc 137 "killed right after commit $k"
    lc_agent status "$ORDER" --json
    states "$T/out" | tail -n 1 >> "$T/crashed.states"
    lc_agent provision "$ORDER" --wait --poll-interval 0.1
    expect_rc 0 "commit $k: re-run completes"
    [ "$(lc_count "T-k$k" cert 51)" = 1 ] && pass "commit $k: exactly one certificate for the key" ||
        fail "commit $k: $(lc_count "T-k$k" cert 51) certificates for the key"
    [ "$(lc_count "T-k$k" cert)" = 2 ] && pass "commit $k: leaf and intermediate, nothing else" ||
        fail "commit $k: $(lc_count "T-k$k" cert) certificates on the token"
    [ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "commit $k: $SUBMITTED orders at the simulator" ||
        fail "commit $k: orders_created $(lc_orders_created), submitted $SUBMITTED"
    k=$((k + 1))
done
while read -r st; do
    grep -qxF "$st" "$T/crashed.states" && pass "killed right after the transition to $st" ||
        fail "no crash right after the transition to $st"
done < "$T/provision.states"

echo "crash after submitting (before the POST)"
plug submitting; lc_token T-submitting 51
QSCD_TEST_CRASH_AFTER=submitting lc_hooks order submit "$EXAMPLE_REQUEST" --new-order
expect_rc 137 "order submit killed after committing submitting"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "nothing reached the simulator" ||
    fail "an order was stored"
lc_agent order submit "$EXAMPLE_REQUEST"
expect_rc 3 "re-run finds no order and does not resend"
expect_err "--confirm-resubmit" "tells how to send it again"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "still no order sent" || fail "an order was resent"
lc_agent --json order submit "$EXAMPLE_REQUEST" --confirm-resubmit
expect_rc 0 "--confirm-resubmit sends it"
ORDER=$(json_get "$T/out" order_id); SUBMITTED=$((SUBMITTED + 1))
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "exactly one order for the job" ||
    fail "orders_created $(lc_orders_created), expected $SUBMITTED"
lc_ship "$ORDER" "$T/T-submitting.pub.pem"
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "the job provisions"

echo "crash after pending (the order is stored, its id journaled, nothing printed)"
plug pending; lc_token T-pending 51
QSCD_TEST_CRASH_AFTER=pending lc_hooks order submit "$EXAMPLE_REQUEST" --new-order
expect_rc 137 "order submit killed after committing pending"
SUBMITTED=$((SUBMITTED + 1))
lc_agent status --json
ORDER=$(python3 -c 'import json,sys
jobs=[j for j in json.load(open(sys.argv[1])) if j["job"]["device"]["state"]=="token_absent" and j["job"]["order"]["state"]=="pending"]
print(jobs[-1]["job"]["order"]["id"])' "$T/out")
[ -n "$ORDER" ] && pass "status shows the job with its order $ORDER" || fail "no pending job"
lc_ship "$ORDER" "$T/T-pending.pub.pem"
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "provision of the order completes"
[ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "$SUBMITTED orders, none twice" ||
    fail "orders_created $(lc_orders_created), expected $SUBMITTED"
[ "$(lc_count T-pending cert 51)" = 1 ] && pass "one certificate" || fail "certificates wrong"

# The write-ahead points of --generate-key (lifecycle_rekey.c), where a
# commit is followed by what cannot be undone: the key pair, the reissue.
echo "--generate-key: killed at each write-ahead point"
for p in keygen keygen_done reissuing reissue_sent; do
    plug "wal-$p"; softhsm_token "W-$p" "$LC_PIN"
    lc_submit; SUBMITTED=$((SUBMITTED + 1))
    QSCD_TEST_CRASH_AFTER=$p lc_hooks provision "$ORDER" --generate-key --wait \
        --poll-interval 0.1 --timeout 30
    expect_rc 137 "$p: killed there"
    lc_agent provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
    expect_rc 0 "$p: re-run completes"
    [ "$(lc_reissues "$ORDER")" = 1 ] && pass "$p: one reissue at the simulator" ||
        fail "$p: $(lc_reissues "$ORDER") reissues of order $ORDER"
    [ "$(lc_count "W-$p" privkey)/$(lc_count "W-$p" cert)" = 1/2 ] &&
        pass "$p: one key pair, leaf + intermediate" ||
        fail "$p: objects $(lc_count "W-$p" privkey)/$(lc_count "W-$p" cert)"
    KEY=$(lc_job_field "$ORDER" device.key_id)
    [ "$(lc_count "W-$p" cert "$KEY")" = 1 ] && pass "$p: the certificate sits next to key $KEY" ||
        fail "$p: no certificate for key $KEY"
    [ "$(lc_orders_created)" = "$SUBMITTED" ] && pass "$p: $SUBMITTED orders, none twice" ||
        fail "$p: orders_created $(lc_orders_created), expected $SUBMITTED"
done

lc_agent status
expect_rc 0 "every job ready"

finish
