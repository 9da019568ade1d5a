#!/bin/bash
# Everything `make check` runs, after the builds: unit and integration tests
# on the release build, then the same on the ASan+UBSan build.
set -u
cd "$(dirname "$0")/.." || exit 2
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
total_pass=0; total_fail=0
step() {
    local out
    out=$("$@" 2>&1 | tee /dev/stderr | tail -1)
    local p f
    p=$(echo "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(echo "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    total_pass=$((total_pass + ${p:-0}))
    total_fail=$((total_fail + ${f:-1}))
}
step tests/run-unit.sh build
step tests/run-integration.sh build
step tests/run-unit.sh build/asan
step tests/run-integration.sh build/asan
echo
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
