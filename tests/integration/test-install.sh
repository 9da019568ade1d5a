#!/bin/bash
# `make install DESTDIR=... PREFIX=...` puts every file where a Debian system
# looks for it, with the right modes, and nothing else; the installed manual
# pages render without a single warning; the installed unit runs the
# installed binary; the sysusers file creates the service's user.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(dirname "$QSCD_AGENT")

# install_into DESTDIR PREFIX: `make install` from the tree, reusing the
# build the test runs against.  -o: never rebuild the agent here (an ASan
# build must not be relinked with release flags); the man pages are built.
install_into() {
    make -C "$ROOT" --no-print-directory -o "$B/qscd-agent" \
        B="$B" DESTDIR="$1" PREFIX="$2" install > "$T/make.log" 2>&1
}

D="$T/root"
if install_into "$D" /usr; then
    pass "make install DESTDIR=... PREFIX=/usr"
else
    fail "make install failed"; sed 's/^/    /' "$T/make.log" | tail -20; finish
fi

# mode_is FILE MODE
mode_is() {
    local m
    m=$(stat -c %a "$1" 2>/dev/null)
    if [ "$m" = "$2" ]; then pass "${1#"$D"} mode $2"; else fail "${1#"$D"}: mode ${m:-missing}, expected $2"; fi
}

EXPECTED="
/etc/qscd-agent/qscd-agent.conf.example 644
/usr/bin/qscd-agent 755
/usr/lib/systemd/system/qscd-agent.service 644
/usr/lib/systemd/system/qscd-agent-status.service 644
/usr/lib/systemd/system/qscd-agent-status.timer 644
/usr/lib/sysusers.d/qscd-agent.conf 644
/usr/lib/udev/rules.d/70-qscd-agent.rules 644
/usr/share/doc/qscd-agent/helpdesk.md 644
/usr/share/man/man1/qscd-agent.1 644
/usr/share/man/man5/qscd-agent.conf.5 644
"
echo "$EXPECTED" | while read -r f m; do [ -n "$f" ] && echo "$f"; done > "$T/expected"
while read -r f m; do
    [ -n "$f" ] || continue
    mode_is "$D$f" "$m"
done <<< "$EXPECTED"

# Nothing else, apart from the lifecycle diagram the guide links to.
(cd "$D" && find . -type f -o -type l) | sed 's/^\.//' | sort > "$T/installed"
grep -v '^/usr/share/doc/qscd-agent/lifecycle\.\(svg\|dot\)$' "$T/installed" > "$T/installed.core"
if diff -u <(sort "$T/expected") "$T/installed.core" > "$T/diff"; then
    pass "exactly the expected files are installed"
else
    fail "installed files differ from the expected set"; sed 's/^/    /' "$T/diff"
fi
if [ -f "$ROOT/docs/lifecycle.svg" ]; then
    mode_is "$D/usr/share/doc/qscd-agent/lifecycle.svg" 644
else
    note "docs/lifecycle.svg not in the tree yet; not installed"
fi

# The installed binary runs.
run "$D/usr/bin/qscd-agent" --version
expect_rc 0 "installed qscd-agent --version"
expect_out '^qscd-agent [0-9]' "it prints its version"

# The installed manual pages render without warnings (groff's own checks:
# bad requests, escapes, fonts, line breaks it cannot honour).
for page in "$D/usr/share/man/man1/qscd-agent.1" "$D/usr/share/man/man5/qscd-agent.conf.5"; do
    warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 > "$T/page.txt")
    if [ -z "$warn" ] && [ -s "$T/page.txt" ]; then
        pass "${page#"$D"} renders without warnings"
    else
        fail "${page#"$D"}: man --warnings says: $warn"
    fi
done
# man finds them by name through the installed MANPATH.
if MANPATH="$D/usr/share/man" man -w qscd-agent.conf > /dev/null 2>&1 &&
   MANPATH="$D/usr/share/man" man -w 1 qscd-agent > /dev/null 2>&1; then
    pass "man finds qscd-agent(1) and qscd-agent.conf(5) by name"
else
    fail "man cannot find the installed pages by name"
fi
# A negative control for the warning check: a page with a bad request warns.
printf '.TH X 1\n.SH NAME\nx \\- y\n.BOGUS\n' > "$T/bad.1"
if [ -n "$(MANWIDTH=80 man --warnings -l "$T/bad.1" 2>&1 >/dev/null)" ]; then
    pass "man --warnings reports a broken page (the check can fail)"
else
    fail "man --warnings did not report a broken page"
fi

# The unit runs the binary that was installed.
exec_of() { sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$1"; }
e=$(exec_of "$D/usr/lib/systemd/system/qscd-agent.service")
if [ "$e" = /usr/bin/qscd-agent ] && [ -x "$D$e" ]; then
    pass "ExecStart= is the installed $e"
else
    fail "ExecStart=$e is not the installed binary"
fi

# With another prefix the unit follows the binary.
D2="$T/root-local"
if install_into "$D2" /usr/local; then
    e=$(exec_of "$D2/usr/lib/systemd/system/qscd-agent.service")
    if [ "$e" = /usr/local/bin/qscd-agent ] && [ -x "$D2$e" ]; then
        pass "PREFIX=/usr/local: ExecStart= is $e"
    else
        fail "PREFIX=/usr/local: ExecStart=$e"
    fi
    if [ -f "$D2/usr/local/share/man/man1/qscd-agent.1" ]; then
        pass "PREFIX=/usr/local: man page under /usr/local/share/man"
    else
        fail "PREFIX=/usr/local: man page not under /usr/local/share/man"
    fi
else
    fail "make install PREFIX=/usr/local failed"
fi

# The sysusers file creates the user the unit runs as.
user=$(sed -n 's/^User=//p' "$D/usr/lib/systemd/system/qscd-agent.service")
mkdir -p "$D/etc"
if systemd-sysusers --root="$D" > "$T/sysusers.log" 2>&1; then
    pass "systemd-sysusers --root accepts qscd-agent.conf"
else
    fail "systemd-sysusers failed: $(cat "$T/sysusers.log")"
fi
if [ -n "$user" ] && grep -q "^$user:x:[0-9]*:[0-9]*:.*:/var/lib/qscd-agent:/usr/sbin/nologin$" "$D/etc/passwd"; then
    pass "user $user created, home /var/lib/qscd-agent, no login shell"
else
    fail "user \"$user\" not created as expected: $(cat "$D/etc/passwd" 2>/dev/null)"
fi
uid=$(awk -F: -v u="$user" '$1 == u { print $3 }' "$D/etc/passwd")
if [ -n "$uid" ] && [ "$uid" -lt 1000 ]; then pass "$user is a system user (uid $uid)"; else fail "$user uid ${uid:-none}"; fi

finish
