#!/bin/bash
# A token provisioned by `watch` costs the requests it costs `provision`:
# the watcher downloads the order's chain to tell which job the token is
# for and leaves it where the engine looks for it, so its worker reads the
# order once and downloads nothing again.  Counted at the simulator (its
# request log), for two orders in the same state: approved and shipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-watch-requests"
lc_setup

# log_len: API requests the simulator has logged so far.
log_len() {
    sim_admin GET /stats > "$T/stats.json" &&
        python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]))' "$T/stats.json"
}

# ready_order LABEL ID: an order approved and shipped for a new token LABEL.
ready_order() {
    plug "$1"; lc_token "$1" "$2"
    lc_submit
    [ -n "$ORDER" ] || { fail "order submit for $1 gave no order id"; finish; }
    sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
    lc_ship "$ORDER" "$T/$1.pub.pem"
}

echo "provision"
ready_order BYPROV 81
before=$(log_len)
lc_agent provision "$ORDER" --wait --poll-interval 0.1 --timeout 30
expect_rc 0 "provision installs the certificate"
PROV=$(( $(log_len) - before ))
note "provision: $PROV requests"

echo "watch"
ready_order BYWATCH 82
before=$(log_len)
run timeout --kill-after=5 120 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" \
    --pin-source "file:$T/pin" watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "watch provisions the token"
expect_out "order $ORDER: certificate installed and verified" "order $ORDER installed"
WATCH=$(( $(log_len) - before ))
note "watch: $WATCH requests"
[ "$WATCH" = "$PROV" ] && pass "watch made as many requests as provision ($WATCH)" ||
    fail "watch made $WATCH requests for a token, provision $PROV"
[ "$PROV" -le 2 ] && pass "provision: at most 2 requests (read the order, download)" ||
    fail "provision made $PROV requests"
[ "$(lc_count BYWATCH cert 82)" = 1 ] && pass "the token holds the certificate for its key" ||
    fail "certificates for key 82: $(lc_count BYWATCH cert 82)"

finish
