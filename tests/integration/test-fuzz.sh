#!/bin/bash
# The fuzzer (tests/fuzz/run.sh: libFuzzer + ASan + UBSan on the request
# parser and validator) for a short run, as part of `make check`: it must
# build with clang, run, and find nothing.  It builds its own sanitized
# binary, so it runs once, with the release build.  FUZZ_SECONDS (default
# here 20) sets the length; `make fuzz` runs longer.
# builds: release
. "$(dirname "$0")/lib.sh"

echo "test-fuzz"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
run env FUZZ_SECONDS="${FUZZ_SECONDS:-20}" "$ROOT/tests/fuzz/run.sh"
expect_rc 0 "tests/fuzz/run.sh (a crash input is kept in build/fuzz/)"
expect_out "^fuzz: libFuzzer for [0-9]+s" "libFuzzer ran (clang, not a fallback)"
expect_err "^Done [0-9]+ runs in [0-9]+ second" "libFuzzer finished its run"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/err")
[ "${runs:-0}" -gt 1000 ] && pass "$runs inputs tried" || fail "only ${runs:-0} inputs tried"
if grep -q 'ERROR: AddressSanitizer\|runtime error:\|deadly signal' "$T/err"; then
    fail "the fuzzer found a bug: $(grep -m3 'ERROR\|runtime error' "$T/err")"
else
    pass "no sanitizer report"
fi
finish
