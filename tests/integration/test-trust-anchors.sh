#!/bin/bash
# Trust anchors for the issued chain: a certificate is installed only when
# it chains, by full path validation, to one of the roots in
# --trust-anchors.  A forged chain (its own root and intermediate, the
# right QC statements, the right key) is refused with exit 5 and nothing is
# written; without anchors every installing command (token install,
# provision, watch) refuses at once with exit 2, before any PIN is read.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
. "$(dirname "$0")/token-ca.sh"

echo "test-trust-anchors"
lc_setup
SIM_ROOT="$T/sim/root.pem"
[ -s "$SIM_ROOT" ] && pass "the simulator writes its root alone (sim/root.pem)" ||
    fail "no $SIM_ROOT"
openssl x509 -in "$SIM_ROOT" -noout -subject | grep -q 'Test PKIo Root G1' &&
    pass "sim/root.pem is the eSeal root" || fail "sim/root.pem subject"

plug forged; lc_token FORGED 71
# The forger's CA (token-ca.sh): a root and intermediate of its own, leaves
# with every qualified-eSeal extension.  Only the simulator's root is trusted.
tca_init || { fail "test CA could not be made"; finish; }
cp "$SIM_ROOT" "$T/sim-only.pem"
export QSCD_TRUST_ANCHORS="$T/sim-only.pem"
agent --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" token csr \
    --subject "$TOKEN_SUBJECT" -o "$T/forged.csr"
expect_rc 0 "CSR for the token's key"
tca_issue "$T/forged.csr" "$T/forged.pem"

echo "token install: a forged chain"
lc_agent token install "$T/forged.pem" --chain "$TCA/chain.pem"
expect_rc 5 "a self-contained chain to another root is refused"
expect_err 'does not chain to a trust anchor' "the refusal says it does not chain"
expect_err 'issuer "Test Root CA"' "the issuer that did not chain is named"
expect_err "$T/sim-only.pem" "the anchors file is named"
expect_err 'nothing was written' "nothing was written"
[ "$(lc_count FORGED cert)" = 0 ] && pass "no certificate on the token" ||
    fail "certificates on the token: $(lc_count FORGED cert)"

echo "token install: the same chain with its root as anchor"
cat "$SIM_ROOT" "$TCA/root.pem" > "$T/both.pem"
lc_agent --trust-anchors "$T/both.pem" token install "$T/forged.pem" --chain "$TCA/chain.pem"
expect_rc 0 "--trust-anchors naming its root: installed"
[ "$(lc_count FORGED cert 71)" = 1 ] && pass "the certificate is on the token next to its key" ||
    fail "certificates on the token: $(lc_count FORGED cert)"

echo "no trust anchors at all"
unset QSCD_TRUST_ANCHORS
# A PIN source that cannot be read: the refusal must come first.
agent --module "$SOFTHSM_MODULE" --pin-source "file:$T/no-such-pin" token install \
    "$T/forged.pem" --chain "$TCA/chain.pem"
expect_rc 2 "token install without anchors: exit 2"
expect_err 'no trust anchors' "it says there are no trust anchors"
expect_err '--trust-anchors FILE \(QSCD_TRUST_ANCHORS, config key trust-anchors' \
    "it names the setting"
expect_no_string "no-such-pin" "no PIN was read" "$T/err"
agent --module "$SOFTHSM_MODULE" --pin-source "file:$T/no-such-pin" provision 1
expect_rc 2 "provision without anchors: exit 2"
expect_err '--trust-anchors FILE' "provision names the setting"
agent --module "$SOFTHSM_MODULE" watch --exit-when-idle
expect_rc 2 "watch without anchors: exit 2"
expect_err '--trust-anchors FILE' "watch names the setting"

echo "a trust-anchors file that holds no root"
agent --trust-anchors "$T/forged.pem" token install "$T/forged.pem" --chain "$TCA/chain.pem"
expect_rc 2 "a leaf as anchor: exit 2"
expect_err 'not a self-signed CA certificate' "the file's problem is named"
agent --trust-anchors "$T/none.pem" token install "$T/forged.pem" --chain "$TCA/chain.pem"
expect_rc 2 "a missing anchors file: exit 2"
printf 'trust-anchors = %s\n' "$T/sim-only.pem" > "$T/anchors.conf"
agent --config "$T/anchors.conf" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" \
    token install "$T/forged.pem" --chain "$TCA/chain.pem"
expect_rc 5 "config key trust-anchors is used"

echo "provision: the simulator's chain against another organisation's root"
plug real; lc_token REAL 72
lc_submit
[ -n "$ORDER" ] || { fail "order submit gave no order id"; finish; }
sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null || fail "approve $ORDER"
lc_ship "$ORDER" "$T/REAL.pub.pem"
export QSCD_TRUST_ANCHORS="$TCA/root.pem"
lc_agent provision "$ORDER" --wait --timeout 60
expect_rc 5 "provision: a chain that does not lead to the anchors is refused"
expect_err 'issuer "Test PKIo Root G1" is none of the 1 root in' "the issuer is named"
[ "$(lc_count REAL cert)" = 0 ] && pass "nothing written to the token" ||
    fail "certificates on the token: $(lc_count REAL cert)"
export QSCD_TRUST_ANCHORS="$SIM_ROOT"
lc_agent provision "$ORDER" --wait --timeout 60
expect_rc 0 "provision with the simulator's root as anchor"
[ "$(lc_count REAL cert 72)" = 1 ] && pass "the certificate is installed" ||
    fail "certificates for key 72: $(lc_count REAL cert 72)"
finish
