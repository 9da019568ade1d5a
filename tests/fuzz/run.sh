#!/bin/sh
# Fuzz order_request_parse + order_request_validate (`make fuzz`).
# With clang: libFuzzer + ASan + UBSan for FUZZ_SECONDS (default 60).
# Without: gcc + ASan + UBSan and a deterministic mutation run
# (FUZZ_ITERATIONS per corpus file, default 20000).
# Not part of `make check`: it is meant to run for a while.
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

if command -v clang >/dev/null 2>&1 &&
   echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
   clang -fsanitize=fuzzer -x c - -o "$B/probe" 2>/dev/null; then
    clang -std=gnu11 -g -O1 -D_GNU_SOURCE $INC -fsanitize=fuzzer $SAN \
        $SRCS tests/fuzz/fuzz-order-request.c $CJSON -o "$B/fuzz-order-request"
    echo "fuzz: libFuzzer for ${SECS}s, corpus $B/corpus"
    exec "$B/fuzz-order-request" -max_total_time="$SECS" -dict=tests/fuzz/json.dict \
        -max_len=8192 -print_final_stats=1 "$B/corpus"
fi

gcc -std=gnu11 -g -O1 -D_GNU_SOURCE $INC $SAN \
    $SRCS tests/fuzz/fuzz-order-request.c tests/fuzz/driver.c $CJSON -o "$B/fuzz-order-request-gcc"
echo "fuzz: no libFuzzer; deterministic run, $ITER mutations per file"
exec "$B/fuzz-order-request-gcc" -n "$ITER" "$B"/corpus/*.json
