#!/bin/bash
# watch on the production stack: OpenSC's PKCS#11 module behind pcscd, with
# the virtual reader (vpcd) and a virtual card (vicc).  The card is one
# OpenSC does not recognise, so watch reports it and leaves it alone: it
# sees the card arrive (a long-running OpenSC would not: the scans run in
# fresh processes, woken by PC/SC: the poll interval here is longer than
# any wait, so only PC/SC events can bring the reports in time) and leave,
# and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pcsc.sh"
. "$(dirname "$0")/token-ca.sh"

echo "test-watch-opensc-hotplug"
# watch installs certificates, so it starts only with trust anchors.
tca_init || { fail "test CA could not be made"; finish; }
missing=$(pcsc_missing)
if [ -n "$missing" ]; then
    echo "SKIP: missing:$missing -- run make deps; counted as a failure"
    fail "test stack incomplete:$missing"
    finish
fi
pcsc_start || { fail "pcscd did not start"; finish; }

timeout --kill-after=5 120 "$QSCD_AGENT" --module "$OPENSC_MODULE" \
    watch --poll-interval 60 > "$T/w.out" 2> "$T/w.err" &
W=$!
track_pid "$W"
wait_for_line "$T/w.out" "waiting for tokens" 20 && pass "watch started" || fail "watch did not start"
sleep 1
if grep -q 'arrived' "$T/w.out"; then fail "a card reported before any was inserted"
else pass "nothing reported while the reader is empty"; fi

vicc_start
wait_for_line "$T/w.out" 'card in reader "Virtual PCD[^"]*": arrived: token not recognized' 30 &&
    pass "the card's arrival is reported, as not recognized" ||
    { fail "no arrival seen"; cat "$T/vicc.log"; }
grep -q 'left untouched' "$T/w.out" && pass "it is left untouched" || fail "no 'left untouched'"

vicc_stop
wait_for_line "$T/w.out" 'card in reader "Virtual PCD[^"]*": left' 30 &&
    pass "the card's removal is reported" || fail "no removal seen"

vicc_start
c=0
for _ in $(seq 1 300); do
    c=$(grep -c 'arrived: token not recognized' "$T/w.out")
    [ "$c" -ge 2 ] && break
    sleep 0.1
done
[ "$c" = 2 ] && pass "plugged in again: reported again" || fail "second arrival: $c reports"
vicc_stop

# SIGTERM to the watcher itself (W is timeout(1), which is only a guard).
kill -TERM "$(pgrep -P "$W")"
wait "$W"; RC=$?
untrack_pid "$W"
cp "$T/w.out" "$T/out"; cp "$T/w.err" "$T/err"
expect_rc 0 "watch exits 0 on SIGTERM"
expect_out "watch: stopped" "stopped line"
c=$(grep -c '"action":"watch card arrived"' "$QSCD_STATE_DIR/audit.log")
[ "$c" = 2 ] && pass "audit: one entry per arrival" || fail "audit arrivals: $c"
c=$(grep -c '"action":"watch card left"' "$QSCD_STATE_DIR/audit.log")
[ "$c" -ge 1 ] && pass "audit: departures recorded" || fail "audit departures: $c"
finish
