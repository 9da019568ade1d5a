#!/bin/bash
# Everything `make check` runs, after the builds: the tools guard, unit and
# integration tests on the release build, then the same on the ASan+UBSan
# build.
set -u
cd "$(dirname "$0")/.." || exit 2
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p build/test-logs
total_pass=0; total_fail=0; n=0
step() {
    local log summary p f
    n=$((n + 1))
    log="build/test-logs/step-$n.log"
    "$@" 2>&1 | tee "$log"
    # Each runner ends with "<what>: N passed, N failed".
    summary=$(grep -E ': [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    p=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    if [ -z "$p" ]; then
        echo "run-all: step \"$*\" printed no summary; counted as a failure"
        f=1; p=0
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}
# First the guard: every program the tests run, every library the build
# links, comes from a package tests/deps.sh installs.
step tests/tools-guard.sh
step tests/run-unit.sh build
step tests/run-integration.sh build
step tests/run-unit.sh build/asan
step tests/run-integration.sh build/asan
echo
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
