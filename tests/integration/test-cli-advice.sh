#!/bin/bash
# Only the CLI names its options.  The lower layers (core, order client,
# journal, x509, token layer, common) report what happened and an error
# code; the CLI adds the advice that names a flag (src/cli/cli_advice.c).
# A user still gets the advice, from every command that meets the error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2

echo "test-cli-advice"

# The flags whose advice moved up into the CLI stay out of the layers below.
for flag in --allow-final-try --confirm-resubmit --retry-pin --new-order --module --token \
            --key-id --key-label --key-type --label --wait --relax --api-key-file --api-url \
            --ca-file --state-dir --format; do
    hits=$(grep -rnw --include='*.c' -- "\"[^\"]*$flag" "$ROOT/src/core" "$ROOT/src/order" \
           "$ROOT/src/journal" "$ROOT/src/x509" "$ROOT/src/http" "$ROOT/src/common" \
           "$ROOT/src/job" "$ROOT/pkcs11" | head -3)
    if [ -z "$hits" ]; then pass "no layer below the CLI words advice with $flag"
    else fail "$flag named below the CLI: $hits"; fi
done
# The guard itself finds such a string (it is not looking in the wrong place).
hits=$(grep -rn --include='*.c' -- '"[^"]*--allow-final-try' "$ROOT/src/cli" | head -1)
[ -n "$hits" ] && pass "the CLI's advice names --allow-final-try" ||
    fail "no advice with --allow-final-try found in src/cli: the guard above proves nothing"

# A module that cannot be loaded: the token layer says which and why, the
# CLI says what to do, for a token command and for provision alike.
agent --module "$T/no-such-module.so" token list
expect_rc 4 "token list with a module that cannot be loaded"
expect_err "PKCS#11 module $T/no-such-module.so: cannot be loaded" "the token layer names the module"
expect_err 'Name the token.s PKCS#11 module with --module PATH' "the CLI adds the advice"

lc_setup
lc_token ADV-01
lc_submit
[ -n "$ORDER" ] && pass "an order to provision ($ORDER)" || fail "no order: $(cat "$T/err")"
lc_ship "$ORDER" "$T/ADV-01.pub.pem"
agent --module "$T/no-such-module.so" --pin-source "file:$T/pin" provision "$ORDER" --wait --timeout 60
expect_rc 4 "provision with a module that cannot be loaded"
expect_err "cannot be loaded" "provision: the token layer's fact"
expect_err 'Name the token.s PKCS#11 module with --module PATH' "provision: the CLI's advice"
finish
