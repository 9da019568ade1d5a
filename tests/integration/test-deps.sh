#!/bin/bash
# `make deps` (tests/deps.sh): installs only the missing Debian packages as
# root (apt-get, fetching the package lists when a fresh machine has none),
# and without root prints the exact command and fails.  dpkg-query, id and
# apt-get are stand-ins on PATH, so nothing is installed and the test runs
# the same as root or not.
. "$(dirname "$0")/lib.sh"

echo "test-deps"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FAKE="$T/fakebin"
mkdir -p "$FAKE"

# dpkg-query: packages named in $T/missing are not installed.
cat > "$FAKE/dpkg-query" <<EOF
#!/bin/sh
for a; do last=\$a; done
if grep -qx "\$last" "$T/missing" 2>/dev/null; then
    echo "dpkg-query: no packages found matching \$last" >&2; exit 1
fi
printf 'install ok installed'
EOF
# id -u: the uid in $T/uid.
cat > "$FAKE/id" <<EOF
#!/bin/sh
[ "\$1" = -u ] && { cat "$T/uid"; exit 0; }
exec /usr/bin/id "\$@"
EOF
# apt-get: logs its arguments; "install" fails until "update" ran when
# $T/no-lists exists (a fresh machine).
cat > "$FAKE/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >> "$T/apt.log"
if [ "\$1" = update ]; then rm -f "$T/no-lists"; exit 0; fi
[ -e "$T/no-lists" ] && { echo "E: Unable to locate package" >&2; exit 100; }
exit 0
EOF
chmod +x "$FAKE"/*

deps() { run env PATH="$FAKE:$PATH" make -s -C "$ROOT" deps; }

# --- nothing missing: silent success, apt-get never called --------------------
: > "$T/missing"; echo 1000 > "$T/uid"; rm -f "$T/apt.log"
deps
expect_rc 0 "make deps with every package installed"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] && pass "nothing printed" || fail "output when nothing is missing"
[ ! -e "$T/apt.log" ] && pass "apt-get not run" || fail "apt-get ran: $(cat "$T/apt.log")"

# --- not root: the exact command, and a failure --------------------------------
printf 'libcjson-dev\nscdoc\n' > "$T/missing"
deps
expect_rc 2 "make deps as non-root with two packages missing"
expect_err "^deps: missing packages: libcjson-dev scdoc$" "the missing packages are listed"
expect_err "^deps: run: sudo apt-get install -y --no-install-recommends libcjson-dev scdoc$" \
    "the exact command to run is printed"
[ ! -e "$T/apt.log" ] && pass "apt-get not run without root" || fail "apt-get ran: $(cat "$T/apt.log")"
CMD=$(sed -n 's/^deps: run: sudo //p' "$T/err")
# The printed command works as given (with our apt-get stand-in).
if env PATH="$FAKE:$PATH" sh -c "$CMD" && grep -qx "apt-get install -y --no-install-recommends libcjson-dev scdoc" "$T/apt.log"; then
    pass "the printed command runs as printed"
else
    fail "the printed command: $CMD"
fi
rm -f "$T/apt.log"

# --- root: apt-get installs exactly the missing ones ----------------------------
echo 0 > "$T/uid"
deps
expect_rc 0 "make deps as root"
if [ "$(cat "$T/apt.log")" = "apt-get install -y --no-install-recommends libcjson-dev scdoc" ]; then
    pass "apt-get install of exactly the missing packages"
else
    fail "apt-get calls: $(cat "$T/apt.log" 2>/dev/null)"
fi
rm -f "$T/apt.log"

# --- root on a fresh machine: no package lists yet -------------------------------
touch "$T/no-lists"
deps
expect_rc 0 "make deps as root without package lists"
if [ "$(tr '\n' '|' < "$T/apt.log")" = "apt-get install -y --no-install-recommends libcjson-dev scdoc|apt-get update|apt-get install -y --no-install-recommends libcjson-dev scdoc|" ]; then
    pass "apt-get update, then install again"
else
    fail "apt-get calls: $(tr '\n' '|' < "$T/apt.log" 2>/dev/null)"
fi

# --- every package named exists in this machine's Debian archive ---------------
PKGS=$("$ROOT/tests/deps.sh" --list)
unknown=""
[ "$(printf '%s\n' $PKGS | wc -l)" -gt 30 ] && pass "deps.sh --list names the packages" ||
    fail "deps.sh --list: $PKGS"
# One dpkg-query for the installed ones (most), apt-cache for the rest.
known=$(dpkg-query -W -f='${Package}\n' $PKGS 2>/dev/null)
for p in $PKGS; do
    printf '%s\n' "$known" | grep -qx -- "$p" && continue
    apt-cache show "$p" > /dev/null 2>&1 || unknown="$unknown $p"
done
[ -z "$unknown" ] && pass "every package deps.sh names is known to apt/dpkg" ||
    fail "unknown package names:$unknown"

finish
