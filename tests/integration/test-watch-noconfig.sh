#!/bin/bash
# watch with every setting from options and environment and no config file
# at all: its workers get exactly the watcher's settings (never the
# default config path as an explicit --config, which would make a missing
# file an error) and the token is provisioned.  The hooks build takes
# QSCD_TEST_DEFAULT_CONFIG in place of /etc/qscd-agent/qscd-agent.conf, so
# the test does not depend on what the machine has in /etc.  And a worker
# that ends without a result is reported with a readable message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-watch-noconfig"
if [ ! -x "$QSCD_AGENT_HOOKS" ]; then
    echo "  no hooks build at $QSCD_AGENT_HOOKS (make hooks)"; exit 1
fi
lc_setup
plug noconf; lc_token NOCONF 61
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_ship "$ORDER" "$T/NOCONF.pub.pem"

echo "settings from options and environment only"
# Nothing names a config file, and the default one does not exist.
unset QSCD_CONFIG
export QSCD_TEST_DEFAULT_CONFIG="$T/etc/qscd-agent.conf"
API_URL=$QSCD_API_URL CA=$QSCD_CA_FILE
unset QSCD_API_URL QSCD_CA_FILE
export QSCD_PIN_SOURCE="file:$T/pin"
run timeout --kill-after=5 120 "$QSCD_AGENT_HOOKS" --api-url "$API_URL" --ca-file "$CA" \
    --module "$SOFTHSM_MODULE" watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "watch provisions with no config file"
expect_out "order $ORDER: certificate installed and verified" "order $ORDER installed"
expect_no_string "config file" "no worker complains about a config file" "$T/out" "$T/err"
[ "$(lc_count NOCONF cert 61)" = 1 ] && pass "the token holds the certificate for its key" ||
    fail "certificates for key 61: $(lc_count NOCONF cert 61)"
unset QSCD_PIN_SOURCE

echo "a worker that ends without a result"
# The config file the user named is gone by the time the worker starts: it
# stops (exit 2) before it has a result to give.
export QSCD_API_URL=$API_URL QSCD_CA_FILE=$CA
mkdir -p "$T/later/tokens" "$T/stage"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/later/tokens" > "$T/later.conf"
printf 'module = %s\n' "$SOFTHSM_MODULE" > "$T/gone.conf"
SOFTHSM2_CONF=$T/later.conf timeout --kill-after=5 60 "$QSCD_AGENT" --config "$T/gone.conf" \
    --pin-source "file:$T/pin" watch --max-tokens 1 --poll-interval 0.2 \
    > "$T/w.out" 2> "$T/w.err" &
W=$!
track_pid "$W"
plug stage; lc_token LATE 62
lc_submit
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_ship "$ORDER" "$T/LATE.pub.pem"
sleep 1
rm -f "$T/gone.conf"
# Plugged in whole: the token directory moves in with its key on it.
mv "$T/stage/tokens/"* "$T/later/tokens/"
wait "$W"; RC=$?
untrack_pid "$W"
cp "$T/w.out" "$T/out"; cp "$T/w.err" "$T/err"
expect_rc 2 "watch ends with the worker's exit code"
expect_out "order $ORDER: provisioning stopped \(exit 2\): see the messages above" \
    "the message reads with its separator"
finish
