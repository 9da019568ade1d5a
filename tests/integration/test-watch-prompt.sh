#!/bin/bash
# PIN prompts on the terminal: two shipped tokens in at once, no PIN source
# configured.  watch asks on its terminal (a pseudo-terminal from script(1))
# once per token, one at a time, naming the token; each PIN reaches its
# worker through a pipe; nothing echoes the PIN.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-watch-prompt"
command -v script > /dev/null || { fail "script(1) missing (util-linux)"; finish; }
lc_setup --approve-after-polls 1
export QSCD_POLL_INTERVAL=0.1
# ship_token N: an approved order and its shipped token PR-0N (key id 8N),
# with a job for it.
ship_token() {
    lc_submit
    [ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
    sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
    lc_token "PR-0$1" "8$1"
    lc_ship "$ORDER" "$T/PR-0$1.pub.pem" || fail "ship"
    lc_ensure_job "$ORDER"
}
ship_token 1
ship_token 2

mkfifo "$T/tty-in"
CMD="timeout --foreground --kill-after=5 120 '$QSCD_AGENT' --module '$SOFTHSM_MODULE' watch --exit-when-idle --poll-interval 0.2"
script -qfec "$CMD" "$T/typescript" < "$T/tty-in" > /dev/null 2>&1 &
S=$!
track_pid "$S"
exec 3> "$T/tty-in"
prompts() { grep -o 'User PIN for token "PR-0[12]" (serial [0-9a-f]*) in reader "[^"]*": ' \
                "$T/typescript" 2>/dev/null | wc -l; }
for n in 1 2; do
    for _ in $(seq 1 300); do
        [ "$(prompts)" -ge "$n" ] && break
        sleep 0.1
    done
    [ "$(prompts)" = "$n" ] && pass "prompt $n names the token" || fail "prompt $n: $(prompts) seen"
    printf '%s\n' "$LC_PIN" >&3
done
exec 3>&-
wait "$S"; RC=$?
untrack_pid "$S"
cp "$T/typescript" "$T/out"; : > "$T/err"
expect_rc 0 "watch under a terminal completes both"
[ "$(grep -c 'certificate installed and verified' "$T/out")" = 2 ] &&
    pass "both tokens provisioned" || fail "provisioned: $(grep -c 'installed and verified' "$T/out")"
expect_no_string "$LC_PIN" "the PIN is not echoed" "$T/typescript"
[ "$(lc_count PR-01 cert 81)" = 1 ] && [ "$(lc_count PR-02 cert 82)" = 1 ] &&
    pass "one certificate on each token" || fail "certificates not installed"

echo "Ctrl-C at a PIN prompt stops the watcher at once; no further prompt, the tokens are left for later"
# Two shipped tokens wait: the second must not be prompted for after the
# first prompt is interrupted (they are found in the same scan round).
ship_token 3
ship_token 4
rm -f "$T/tty-in"; mkfifo "$T/tty-in"; : > "$T/typescript"
# The guard is short: a watcher that sits in a prompt until Enter is a hang.
CMD="timeout --foreground --kill-after=5 30 '$QSCD_AGENT' --module '$SOFTHSM_MODULE' watch --poll-interval 0.2"
script -qfec "$CMD" "$T/typescript" < "$T/tty-in" > /dev/null 2>&1 &
S=$!
track_pid "$S"
exec 3> "$T/tty-in"
for _ in $(seq 1 300); do
    grep -q 'User PIN for token "PR-0[34]"' "$T/typescript" && break
    sleep 0.1
done
grep -q 'User PIN for token "PR-0[34]"' "$T/typescript" && pass "a prompt for PR-03 or PR-04" ||
    fail "no prompt for PR-03 or PR-04"
P=$(pgrep -f -- "^$QSCD_AGENT --module $SOFTHSM_MODULE watch")
[ -n "$P" ] && kill -INT $P        # Ctrl-C: the terminal signals the watcher
wait "$S"; RC=$?
exec 3>&-
untrack_pid "$S"
cp "$T/typescript" "$T/out"; : > "$T/err"
expect_rc 0 "SIGINT at the prompt: exit 0 (no Enter needed)"
expect_out "no PIN: interrupted: the watcher is stopping; left untouched" \
    "the abandoned prompt is reported"
[ "$(grep -c 'User PIN for token' "$T/out")" = 1 ] && pass "no second prompt after Ctrl-C" ||
    fail "prompts after Ctrl-C: $(grep -c 'User PIN for token' "$T/out")"
expect_out "watch: stopped" "stopped line"
[ "$(lc_count PR-03 cert 83)" = 0 ] && [ "$(lc_count PR-04 cert 84)" = 0 ] &&
    pass "nothing written to PR-03 or PR-04" || fail "PR-03 or PR-04 got a certificate"
run timeout --kill-after=5 120 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" \
    --pin-source "file:$T/pin" watch --exit-when-idle --poll-interval 0.2
expect_rc 0 "a later watch"
[ "$(grep -c 'certificate installed and verified' "$T/out")" = 2 ] &&
    pass "completes both jobs" || fail "completed: $(grep -c 'installed and verified' "$T/out")"
finish
