#!/bin/bash
# What provision shows while it works.  On a terminal: one status line
# rewritten in place while it waits for the order or for the token
# ("\r\033[K[order N] pending (...) — waited 1 s, next poll in 0.3 s"),
# cleared before each permanent one-line-per-step message.  Not on a
# terminal (a log, a pipe): no "\r" at all, the step messages, and one line
# per change of state while waiting, never the same line twice.  -q: nothing
# on stderr.  --json: the result object on stdout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup --approve-after-polls 4
command -v script > /dev/null || { fail "script(1) (bsdutils) is needed for the terminal case"; finish; }

# on_tty OUT CMD...: CMD on a pseudo-terminal (stdout and stderr), what the
# terminal received in OUT; RC its exit code.
on_tty() {
    local out=$1; shift
    script -qfec "$(printf '%q ' "$@")" "$out" > /dev/null 2>&1 < /dev/null
    RC=$?
    tr '\r' '\n' < "$out" > "$out.lines"
}
AGENT=("$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin")

echo "on a terminal: waiting for the order"
plug A; lc_token TA 51
lc_submit; O1=$ORDER; lc_ship "$O1" "$T/TA.pub.pem"
on_tty "$T/tty1" "${AGENT[@]}" provision "$O1" --wait --poll-interval 0.3
expect_rc 0 "provision --wait on a terminal"
if grep -Eq $'^\033\\[K\\[order '"$O1"'\] pending \(request [a-z_]+\) — waited [0-9]+ s, next poll in [0-9.]+ s' \
        "$T/tty1.lines"; then
    pass "a status line: state, time waited, next poll"
else
    fail "no status line on the terminal: $(cat -A "$T/tty1" | head -5)"
fi
grep -q $'\r\033\\[K' "$T/tty1" && pass "the line is rewritten in place (\\r, erase line)" ||
    fail "no \\r on the terminal"
N=$(grep -c 'next poll in' "$T/tty1.lines")
[ "$N" -ge 2 ] && pass "updated on every poll ($N)" || fail "$N status updates"
# Each permanent line starts on a cleared line: "\r\033[K" came before it.
if grep -Eq $'^\033\\[K\\[order '"$O1"'\] approved; certificate' "$T/tty1.lines"; then
    pass "the status line is cleared before the next step's message"
else
    fail "approved message not on a cleared line: $(grep -a approved "$T/tty1" | cat -A)"
fi
grep -q "\[token TA serial [0-9a-f]*\] present" "$T/tty1.lines" &&
    pass "the permanent step messages are there" || fail "no step messages on the terminal"
grep -q "order $O1: ready" "$T/tty1.lines" && pass "the result line" || fail "no result line"

echo "not on a terminal: waiting for the order"
plug B; lc_token TB 51
lc_submit; O2=$ORDER; lc_ship "$O2" "$T/TB.pub.pem"
lc_agent provision "$O2" --wait --poll-interval 0.3
expect_rc 0 "provision --wait, stderr to a file"
if grep -q $'\r' "$T/err"; then fail "a \\r in the non-terminal output"; else pass "no \\r"; fi
expect_err "^\[order $O2\] pending \(request [a-z_]+\)$" "the state while waiting, as a plain line"
expect_err "^\[order $O2\] approved; certificate" "the approval"
DUPS=$(sort "$T/err" | uniq -d)
[ -z "$DUPS" ] && pass "no line is repeated ($(wc -l < "$T/err") lines)" ||
    fail "repeated lines: $DUPS"
if grep -q 'next poll in\|waited' "$T/err"; then fail "poll lines in the non-terminal output"
else pass "no per-poll lines"; fi

echo "waiting for the token"
plug C; lc_token TC 51
lc_submit; O3=$ORDER; lc_ship "$O3" "$T/TC.pub.pem"
plug EMPTY
on_tty "$T/tty3" "${AGENT[@]}" provision "$O3" --wait --poll-interval 0.2 --timeout 3
expect_rc 1 "provision --wait --timeout on a terminal, no token"
if grep -Eq $'^\033\\[K\\[order '"$O3"'\] waiting for .* to be plugged in — waited [0-9]+ s$' "$T/tty3.lines"; then
    pass "a status line while waiting for the token"
else
    fail "no token status line: $(grep -a 'plugged' "$T/tty3" | cat -A | head -3)"
fi
N=$(grep -c 'to be plugged in — waited' "$T/tty3.lines")
[ "$N" -ge 2 ] && pass "updated while waiting ($N)" || fail "$N token status updates"
grep -Eq $'^\033\\[Kqscd-agent: error: .*waiting for the token' "$T/tty3.lines" &&
    pass "the error starts on a cleared line" || fail "error not on a cleared line: $(tail -3 "$T/tty3" | cat -A)"
lc_agent provision "$O3" --wait --timeout 2
expect_rc 1 "the same, stderr to a file"
N=$(grep -c 'to be plugged in' "$T/err")
[ "$N" = 1 ] && pass "one line for the wait" || fail "$N lines for the wait: $(cat "$T/err")"
if grep -q $'\r' "$T/err"; then fail "a \\r in the non-terminal output"; else pass "no \\r"; fi

echo "-q and --json"
plug D; lc_token TD 51
lc_submit; O4=$ORDER; lc_ship "$O4" "$T/TD.pub.pem"
on_tty "$T/tty4" "${AGENT[@]}" -q provision "$O4" --wait --poll-interval 0.3
expect_rc 0 "provision -q --wait on a terminal"
if grep -aq 'waited\|\[order\|\[token' "$T/tty4"; then
    fail "-q printed progress: $(cat -A "$T/tty4" | head -5)"
else
    pass "-q: no progress, no status line"
fi
plug E; lc_token TE 51
lc_submit; O5=$ORDER; lc_ship "$O5" "$T/TE.pub.pem"
lc_agent -q --json provision "$O5" --wait --poll-interval 0.3
expect_rc 0 "provision -q --json --wait"
[ ! -s "$T/err" ] && pass "-q: stderr empty" || fail "-q: stderr: $(cat "$T/err")"
python3 -c 'import json,sys; o = json.load(open(sys.argv[1])); assert o["ready"] is True and o["job"]["order"]["id"] == sys.argv[2]' \
    "$T/out" "$O5" && pass "--json: the result object on stdout" || fail "--json stdout: $(head -5 "$T/out")"

finish
