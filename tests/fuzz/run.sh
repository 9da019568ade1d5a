#!/bin/sh
# Fuzz order_request_parse + order_request_validate (`make fuzz`; `make
# check` runs it for a short while as integration/test-fuzz).
# clang's libFuzzer + ASan + UBSan for FUZZ_SECONDS (default 60).  Without
# clang this fails, naming the packages (tests/deps.sh installs them): a
# fuzzer that quietly does not run is no test.  FUZZ_GCC=1 asks for the
# deterministic stand-in instead: gcc + ASan + UBSan and a mutation run
# (FUZZ_ITERATIONS per corpus file, default 20000).
# usage: tests/fuzz/run.sh [SECONDS]
set -eu
cd "$(dirname "$0")/../.."
B=build/fuzz
SECS=${1:-${FUZZ_SECONDS:-60}}
ITER=${FUZZ_ITERATIONS:-20000}
SRCS="src/order/order_request.c $(ls src/order/order_validate*.c)"
INC="-Iinclude/order -Iinclude/common -Isrc/order"
CJSON=$(pkg-config --cflags --libs libcjson)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$B/corpus"
cp tests/data/requests/*.json docs/examples/*.json "$B/corpus/"

if [ "${FUZZ_GCC:-0}" != 1 ]; then
    if ! command -v clang >/dev/null 2>&1; then
        echo "fuzz: clang is not installed (Debian package clang; run make deps)" >&2
        exit 1
    fi
    if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
         clang -fsanitize=fuzzer -x c - -o "$B/probe" 2> "$B/probe.err"; then
        echo "fuzz: clang cannot link -fsanitize=fuzzer (libFuzzer: Debian package libclang-rt-14-dev; run make deps):" >&2
        head -5 "$B/probe.err" >&2
        exit 1
    fi
    clang -std=gnu11 -g -O1 -D_GNU_SOURCE $INC -fsanitize=fuzzer $SAN \
        $SRCS tests/fuzz/fuzz-order-request.c $CJSON -o "$B/fuzz-order-request"
    echo "fuzz: libFuzzer for ${SECS}s, corpus $B/corpus"
    exec "$B/fuzz-order-request" -max_total_time="$SECS" -dict=tests/fuzz/json.dict \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$B/" "$B/corpus"
fi

gcc -std=gnu11 -g -O1 -D_GNU_SOURCE $INC $SAN \
    $SRCS tests/fuzz/fuzz-order-request.c tests/fuzz/driver.c $CJSON -o "$B/fuzz-order-request-gcc"
echo "fuzz: FUZZ_GCC=1: deterministic run, $ITER mutations per file"
exec "$B/fuzz-order-request-gcc" -n "$ITER" "$B"/corpus/*.json
