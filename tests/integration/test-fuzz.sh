#!/bin/bash
# The fuzzers (tests/fuzz/run.sh: one libFuzzer + ASan + UBSan target per
# parser that reads outside input, linked against the agent's part
# libraries) for a short run each, as part of `make check`: every target
# must build with clang, run, and find nothing; the inputs that once
# crashed a target (tests/fuzz/regress/) are replayed first.  It builds its
# own instrumented libraries, so it runs once, with the release build.
# FUZZ_SECONDS (default here 3, per target) sets the length; `make fuzz`
# runs longer.
# builds: release
. "$(dirname "$0")/lib.sh"

echo "test-fuzz"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The parsers of outside input that must have a target; any other
# tests/fuzz/fuzz-*.c runs too.
TARGETS="order-request order-replies x509-chain config journal audit pin-source pace-ledger"
for f in "$ROOT"/tests/fuzz/fuzz-*.c; do
    f=${f##*/fuzz-}; f=${f%.c}
    case " $TARGETS " in *" $f "*) ;; *) TARGETS="$TARGETS $f" ;; esac
done
run env FUZZ_SECONDS="${FUZZ_SECONDS:-3}" "$ROOT/tests/fuzz/run.sh"
expect_rc 0 "tests/fuzz/run.sh (a crash input is kept in build/fuzz/)"
for t in $TARGETS; do
    [ -f "$ROOT/tests/fuzz/fuzz-$t.c" ] && pass "$t: a harness" || fail "$t: no tests/fuzz/fuzz-$t.c"
    expect_out "^fuzz: $t: libFuzzer for [0-9]+s" "$t: libFuzzer ran (clang, not a fallback)"
    log="$ROOT/build/fuzz/$t.log"
    grep -Eq "^Done [0-9]+ runs in [0-9]+ second" "$log" 2>/dev/null &&
        pass "$t: libFuzzer finished its run" || fail "$t: no finished run in $log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null)
    [ "${runs:-0}" -gt 100 ] && pass "$t: $runs inputs tried" || fail "$t: only ${runs:-0} inputs tried"
    if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:\|deadly signal\|invariant broken' "$log" 2>/dev/null; then
        fail "$t: the fuzzer found a bug: $(grep -m3 'ERROR\|runtime error\|invariant' "$log")"
    else
        pass "$t: no sanitizer report"
    fi
done
finish
