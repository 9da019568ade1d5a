#!/bin/bash
# An order that will not give a certificate to install ends `provision
# --wait` at once with exit 6, exactly as it ends `order wait`: revoked (here
# after it was issued: its certificate is not installed), canceled, and a
# canceled request while the order's status still reads pending.  The
# status rule is one function (order_status_is_final) both use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-lifecycle-final"
lc_setup

# timed CMD...: run, with the seconds it took in SECS.
timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    SECS=$(python3 -c 'import sys; print(int(float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")
}

# check_final NAME WORD: order wait and provision --wait both end with 6 at once.
check_final() {
    timed lc_agent order wait "$ORDER" --timeout 20 --poll-interval 0.2
    expect_rc 6 "$1: order wait ends with exit 6"
    expect_err "$2" "$1: order wait says: $2"
    [ "$SECS" -lt 10 ] && pass "$1: order wait ended at once (${SECS} s)" ||
        fail "$1: order wait took ${SECS} s"
    timed lc_agent provision "$ORDER" --wait --timeout 20 --poll-interval 0.2
    expect_rc 6 "$1: provision --wait ends with exit 6"
    expect_err "$2" "$1: provision says: $2"
    expect_err "nothing more to do" "$1: and that nothing is left to do"
    [ "$SECS" -lt 10 ] && pass "$1: provision --wait ended at once (${SECS} s)" ||
        fail "$1: provision --wait took ${SECS} s"
    lc_agent provision "$ORDER"
    expect_rc 6 "$1: a re-run says the same"
    expect_err "$2" "$1: naming what became of the order"
}

echo "revoked after it was issued"
plug revoked; lc_token REVOKED 71
lc_submit
lc_ship "$ORDER" "$T/REVOKED.pub.pem"
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
sim_admin POST /status "{\"order_id\":$ORDER,\"status\":\"revoked\"}" > /dev/null ||
    fail "revoke $ORDER"
check_final revoked "is revoked"
[ "$(lc_count REVOKED cert)" = 0 ] && pass "revoked: no certificate written to the token" ||
    fail "revoked: $(lc_count REVOKED cert) certificates on the token"

echo "canceled"
plug canceled; lc_token CANCELED 72
lc_submit
sim_admin POST /cancel "{\"order_id\":$ORDER}" > /dev/null || fail "cancel $ORDER"
check_final canceled "was canceled"

echo "a canceled request while the order still reads pending"
plug creq; lc_token CREQ 73
lc_submit
sim_admin POST /cancel "{\"order_id\":$ORDER}" > /dev/null || fail "cancel $ORDER"
sim_admin POST /status "{\"order_id\":$ORDER,\"status\":\"pending\"}" > /dev/null ||
    fail "status pending $ORDER"
check_final "canceled request" "request [0-9]+ was canceled"

echo "an unknown status is still in progress"
plug odd; lc_token ODD 74
lc_submit
sim_admin POST /status "{\"order_id\":$ORDER,\"status\":\"on_hold\"}" > /dev/null
lc_agent provision "$ORDER" --wait --timeout 2 --poll-interval 0.2
expect_rc 1 "on_hold: provision --wait waits (exit 1 at the timeout)"

finish
