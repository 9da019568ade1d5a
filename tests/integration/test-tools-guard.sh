#!/bin/bash
# The tools guard (tests/tools-guard.sh, the first step of `make check`) and
# the tests' PATH it stands on (tests/tools.sh):
#  - with a package taken out of tests/deps.sh (TOOLS_GUARD_DROP), the guard
#    fails, naming the program and the package that ships it;
#  - a program that is installed but not in tests/tools.list is not on a
#    test's PATH: running it fails and says to add it to the list;
#  - a listed program that is not installed is a stand-in that fails naming
#    the package to install.
# builds: release
. "$(dirname "$0")/lib.sh"

echo "test-tools-guard"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# --- the guard notices a package missing from deps.sh -------------------------------
run env TOOLS_GUARD_DROP=strace "$ROOT/tests/tools-guard.sh"
expect_rc 1 "guard with strace taken out of deps.sh fails"
expect_out "FAIL: strace \(/[a-z/]*strace\) is in package strace, which tests/deps.sh does not install: add strace to deps.sh" \
    "the guard names the program and its package"
expect_out "^tools: [0-9]+ passed, [1-9][0-9]* failed$" "the guard prints its summary"
[ "$(grep -c 'FAIL:' "$T/out")" = 1 ] && pass "strace is the only finding" ||
    fail "other findings: $(grep 'FAIL:' "$T/out" | grep -v strace | head -3)"

# --- an unlisted program is not on the tests' PATH -----------------------------------
unlisted=""
for p in /usr/bin/*; do
    n=${p##*/}
    [ -x "$p" ] && [ -f "$p" ] || continue
    grep -Eq "^$(printf '%s' "$n" | sed 's/[.+]/\\&/g')[[:space:]]" "$TOOLS_LIST" && continue
    [ "$(type -t "$n")" = "" ] || continue          # builtins and functions
    case "$n" in *[!A-Za-z0-9_-]*) continue ;; esac
    unlisted=$n; break
done
if [ -z "$unlisted" ]; then
    fail "no installed program outside tests/tools.list found to try"
else
    run "$unlisted" --version
    expect_rc 127 "$unlisted (installed, not listed) is not found"
    expect_err "$unlisted: not in tests/tools.list" "the message says to list it"
fi
[ "$PATH" = "$T/bin" ] && pass "PATH is the test's tools directory only" || fail "PATH is $PATH"

# --- a listed program that is not installed -------------------------------------------
printf 'qscd-no-such-tool   qscd-some-package\n' > "$T/tools.list"
( TOOLS_LIST="$T/tools.list"; tools_path "$T/bin2"; qscd-no-such-tool --help ) > "$T/out" 2> "$T/err"
RC=$?
expect_rc 127 "a listed but missing program fails"
expect_err "^qscd-no-such-tool: not installed \(Debian package qscd-some-package; run make deps\)$" \
    "the message names the package"
finish
