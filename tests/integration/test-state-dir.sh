#!/bin/bash
# The state directory is trusted only when it is the agent's own: owned by
# the running user (or root) and writable by nobody else; another user's
# directory, or a group/world-writable one, is refused (exit 2) before
# anything in it is read.  Nothing in it is followed through a symbolic
# link: a job's lock and the audit log planted as links to another file
# leave that file untouched, and `token csr -o` replaces a link at its
# output name rather than writing through it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

echo "test-state-dir"
echo "another user's directory, a writable one"
mkdir -p "$T/theirs" "$T/open" "$T/group"
chown nobody "$T/theirs" && chmod 700 "$T/theirs"
QSCD_STATE_DIR="$T/theirs" agent status
expect_rc 2 "a state dir owned by another user is refused"
expect_err "state directory $T/theirs: owned by uid [0-9]+ \(nobody\), not by this user" "the owner is named"
expect_err "sudo -u nobody qscd-agent" "it says how to run as the owner"
expect_err "mktemp -d" "it says how to make a private one"
chmod 777 "$T/open"
QSCD_STATE_DIR="$T/open" agent status
expect_rc 2 "a world-writable state dir is refused"
expect_err "writable by every user \(mode 0777\)" "world-writable is named with the mode"
chmod 770 "$T/group"
QSCD_STATE_DIR="$T/group" agent order submit --dry-run "$EXAMPLE_REQUEST"
expect_rc 2 "a group-writable state dir is refused"
expect_err "writable by its group" "group-writable is named"
[ -z "$(ls -A "$T/group")" ] && pass "nothing was written into it" || fail "written: $(ls -A "$T/group")"
QSCD_STATE_DIR="$T/new/state" agent status
expect_rc 0 "a state dir that does not exist yet is fine"
[ "$(stat -c %a "$T/new/state" 2>/dev/null || echo none)" != none ] && {
    [ "$(stat -c %a "$T/new/state")" = 700 ] && pass "created with mode 0700" ||
        fail "mode $(stat -c %a "$T/new/state")"; } || pass "status does not create it"

echo "a job's lock and the audit log as symbolic links"
lc_setup
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
JOB=$(basename "$(ls "$QSCD_STATE_DIR"/jobs/*.json | head -1)" .json)
printf 'precious\n' > "$T/victim"
rm -f "$QSCD_STATE_DIR/jobs/$JOB.lock"
ln -s "$T/victim" "$QSCD_STATE_DIR/jobs/$JOB.lock"
plug absent
lc_agent provision "$ORDER"
[ "$RC" != 0 ] && pass "provision stops on a linked lock (exit $RC)" || fail "provision went on"
expect_err "symbolic link" "the link is named"
[ "$(cat "$T/victim")" = precious ] && pass "the lock's target is untouched" ||
    fail "the target now holds: $(head -c 80 "$T/victim")"
rm -f "$QSCD_STATE_DIR/jobs/$JOB.lock"

printf 'precious\n' > "$T/victim2"
rm -f "$QSCD_STATE_DIR/audit.log"
ln -s "$T/victim2" "$QSCD_STATE_DIR/audit.log"
lc_agent provision "$ORDER"
[ "$(cat "$T/victim2")" = precious ] && pass "the audit log's target is untouched" ||
    fail "the target now holds: $(head -c 120 "$T/victim2")"
expect_err "audit log .*symbolic link" "the audit log's link is reported"
rm -f "$QSCD_STATE_DIR/audit.log"

echo "token csr -o onto a symbolic link"
plug csr; lc_token CSR 51
printf 'precious\n' > "$T/victim3"
ln -s "$T/victim3" "$T/out.csr"
lc_agent token csr --subject "/C=NL/O=Example B.V./CN=Example Seal" -o "$T/out.csr"
expect_rc 0 "token csr -o"
[ "$(cat "$T/victim3")" = precious ] && pass "the link's target is untouched" ||
    fail "the target now holds: $(head -c 80 "$T/victim3")"
[ ! -L "$T/out.csr" ] && grep -q 'BEGIN CERTIFICATE REQUEST' "$T/out.csr" &&
    pass "the CSR replaced the link" || fail "the CSR is not at $T/out.csr"
finish
