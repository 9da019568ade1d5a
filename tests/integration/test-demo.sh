#!/bin/bash
# `make demo`'s script with this variant's binaries: it must run the whole
# flow (simulator, shipped SoftHSM2 token, submit, provision --wait,
# status, the token's contents) and leave nothing running behind it.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
run env QSCD_AGENT="$QSCD_AGENT" QSCD_SIM="$QSCD_SIM" TMPDIR="$T" "$ROOT/tests/demo.sh"
expect_rc 0 "tests/demo.sh completes"
expect_out '"order_id":[[:space:]]*[0-9]+' "the order is submitted"
expect_out '^order [0-9]+: ready: certificate [0-9A-F]+ installed on token QSCD-DEMO' \
    "provision --wait reports the installed certificate"
expect_out 'READY; order certificate_ready; token QSCD-DEMO serial [0-9a-f]+, present; PIN ok; key 51; certificate installed and matching' \
    "status shows the job ready"
expect_out 'Certificate Object; type = X.509 cert' "pkcs11-tool lists the certificate"
expect_err '\[token QSCD-DEMO serial [0-9a-f]+\] key located' "progress shows the steps"
if ls "$T"/qscd-demo.* > /dev/null 2>&1; then fail "the demo left its directory behind"
else pass "the demo removed its directory"; fi
if pgrep -f "$T/qscd-demo" > /dev/null; then fail "a demo process is still running"
else pass "no demo process left running"; fi

finish
