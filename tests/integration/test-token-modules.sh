#!/bin/bash
# One module per token: the same SoftHSM2 token behind two registered
# modules (two copies of the fault module, named as a vendor's libeToken.so
# and OpenSC's opensc-pkcs11.so, registered through a private p11-kit module
# directory bind-mounted over /usr/share/p11-kit/modules in a mount
# namespace: p11-kit ignores ~/.config/pkcs11/modules for root).  token
# list shows the token once with "also visible through"; the vendor module
# wins by default, module-preference and p11-kit's priority change that;
# a login and a signature go through the chosen module only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"

if ! mount_ns_ok; then
    note "no mount namespace here: cannot register modules privately; skipped"
    finish
fi
PIN="Md4-distinct-PIN-5501"
softhsm_setup
softhsm_token QSCD-01 "$PIN"
softhsm_keypair QSCD-01 01 rsa:2048 "$PIN"
( umask 077; printf '%s\n' "$PIN" > "$T/pin" )
mkdir -p "$T/mods" "$T/p11kit"
cp "$QSCD_P11FAULT" "$T/mods/libeToken.so"
cp "$QSCD_P11FAULT" "$T/mods/opensc-pkcs11.so"
# Each copy forwards to its own copy of SoftHSM2 (one library initialised
# twice would be one module, not two); both read the same token directory.
cp "$SOFTHSM_MODULE" "$T/mods/softhsm-libeToken.so"
cp "$SOFTHSM_MODULE" "$T/mods/softhsm-opensc-pkcs11.so"
export QSCD_P11FAULT_LOG="$T/log.%m" QSCD_P11FAULT_MODULE="$T/mods/softhsm-%m"
# register NAME FILE [PRIORITY]: a p11-kit module config, as a vendor's
# installer leaves one in /usr/share/p11-kit/modules/.
register() {
    { echo "module: $T/mods/$2"; [ -n "${3:-}" ] && echo "priority: $3"; } > "$T/p11kit/$1.module"
}
register etoken libeToken.so
register opensc-pkcs11 opensc-pkcs11.so
# p11agent ARGS...: the agent with the private registry (run-style).
p11agent() {
    run p11f_env "${NS_UNSHARE[@]}" sh -c \
        'mount --bind "$1" /usr/share/p11-kit/modules && shift && exec "$@"' \
        sh "$T/p11kit" "$QSCD_AGENT" "$@"
}

p11agent token list
expect_rc 0 "token list through two registered modules"
[ "$(grep -c 'token "QSCD-01"' "$T/out")" = 1 ] && pass "the token is listed once" ||
    fail "token listed $(grep -c 'token "QSCD-01"' "$T/out") times"
expect_out '^module etoken, slot' "the vendor module is the one used (default rule)"
expect_out 'also visible through opensc-pkcs11 \(not used' "the other module is named"

p11agent --json token list
expect_rc 0 "token list --json"
python3 - "$T/out" <<'EOF' && pass "JSON: one slot for the token, also_visible_through names OpenSC" || fail "JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
t = [s for s in d["slots"] if s.get("label") == "QSCD-01"]
assert len(t) == 1, t
assert t[0]["module"] == "etoken", t[0]
assert t[0]["also_visible_through"] == ["opensc-pkcs11"], t[0]
EOF

# module-preference: config, environment, option.
echo "module-preference = opensc*" > "$T/pref.conf"
p11agent --config "$T/pref.conf" token list
expect_out '^module opensc-pkcs11, slot' "module-preference (config) picks OpenSC"
expect_out 'also visible through etoken' "and names the vendor module as the other"
QSCD_MODULE_PREFERENCE="*/opensc-pkcs11.so" p11agent token list
expect_out '^module opensc-pkcs11, slot' "QSCD_MODULE_PREFERENCE matches a module path"
p11agent --module-preference "nomatch,libeToken.so" token list
expect_out '^module etoken, slot' "--module-preference matches a file name; no match is skipped"

# p11-kit's priority outranks the vendor-over-OpenSC default.
register opensc-pkcs11 opensc-pkcs11.so 10
p11agent token list
expect_out '^module opensc-pkcs11, slot' "p11-kit priority: is honoured"
register opensc-pkcs11 opensc-pkcs11.so

# A login and a signature through one module only, though the URI matches both.
rm -f "$T"/log.*
p11agent --pin-source "file:$T/pin" --token "pkcs11:token=QSCD-01" token csr \
    --subject "/C=NL/O=Example B.V./CN=Example Seal" -o "$T/req.pem"
expect_rc 0 "token csr with a URI both modules match: not ambiguous"
[ "$(grep -c '^C_Login' "$T/log.libeToken.so" 2>/dev/null)" -ge 1 ] &&
    pass "the login went through the vendor module" || fail "no login through libeToken.so"
if grep -q '^C_Login\|^C_Sign' "$T/log.opensc-pkcs11.so" 2>/dev/null; then
    fail "OpenSC's module was logged in to or signed with"
else
    pass "nothing was logged in or signed through the other module"
fi
for f in "$T/out" "$T/err"; do
    expect_no_string "$PIN" "PIN not in $(basename "$f")" "$f"
done
finish
