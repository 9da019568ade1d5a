#!/bin/bash
# Fuzz every parser that reads outside input (`make fuzz`; `make check`
# runs each for a few seconds as integration/test-fuzz).  One libFuzzer
# target per parser, tests/fuzz/fuzz-<target>.c, linked against the
# agent's own part libraries built with clang + ASan + UBSan
# (build/fuzz/lib/libqscd.a, `make B=build/fuzz/lib CC=clang ...`):
#   order-request  the order request file and its validation
#   order-replies  every CertCentral reply (order POST/reissue, order info,
#                  request info, order list page, errors[] body)
#   x509-chain     the PEM chain, the profile and link checks, the trust anchors
#   config         the config file
#   journal        a job file; audit: the audit log
#   pin-source     the pin-source spec; pace-ledger: the pacing ledger
# Seeds: tests/data (and docs/examples); every input that ever crashed a
# target is kept in tests/fuzz/regress/<target>/ and replayed first.
# Without clang this fails, naming the packages (tests/deps.sh installs
# them): a fuzzer that quietly does not run is no test.  FUZZ_GCC=1 asks
# for the deterministic stand-in instead: build/asan's library (make asan)
# + driver.c, FUZZ_ITERATIONS mutations per corpus file (default 20000).
# usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (SECONDS per target)
set -eu
cd "$(dirname "$0")/../.."
B=build/fuzz
SECS=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
ITER=${FUZZ_ITERATIONS:-20000}
# Every tests/fuzz/fuzz-<target>.c is a target: a new parser's harness
# (seeds in tests/data/fuzz/<target>/) joins by being there.
ALL=$(for f in tests/fuzz/fuzz-*.c; do f=${f##*/fuzz-}; printf '%s ' "${f%.c}"; done)
TARGETS=${*:-$ALL}
INC=$(for d in include/*/ src/*/ pkcs11/; do printf -- '-I%s ' "${d%/}"; done)
LIBS="$(pkg-config --libs libcurl libcjson openssl p11-kit-1 libpq) $(pkg-config --libs libpcsclite 2>/dev/null || true) -ldl -lpthread"
CFL="-std=gnu11 -g -O1 -D_GNU_SOURCE $(pkg-config --cflags libcjson p11-kit-1) $INC"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

seeds() {
    case "$1" in
    order-request) echo tests/data/requests/*.json docs/examples/*.json ;;
    order-replies) echo tests/data/fuzz/replies/* ;;
    x509-chain)    echo tests/data/x509/*.pem ;;
    pace-ledger)   echo tests/data/fuzz/ledger/* ;;
    *)             echo tests/data/fuzz/"$1"/* ;;
    esac
}

corpus() {   # corpus TARGET: seeds and regression inputs into $B/corpus/TARGET
    mkdir -p "$B/corpus/$1"
    # shellcheck disable=SC2046
    cp $(seeds "$1") "$B/corpus/$1/"
    if [ -d "tests/fuzz/regress/$1" ]; then cp tests/fuzz/regress/"$1"/* "$B/corpus/$1/"; fi
}

mkdir -p "$B"
if [ "${FUZZ_GCC:-0}" = 1 ]; then
    [ -f build/asan/libqscd.a ] || { echo "fuzz: FUZZ_GCC=1 needs build/asan/libqscd.a (make asan)" >&2; exit 1; }
    for t in $TARGETS; do
        corpus "$t"
        gcc $CFL $SAN tests/fuzz/fuzz-"$t".c tests/fuzz/driver.c build/asan/libqscd.a $LIBS \
            -o "$B/fuzz-$t-gcc"
        echo "fuzz: $t: FUZZ_GCC=1: deterministic run, $ITER mutations per file"
        "$B/fuzz-$t-gcc" -n "$ITER" "$B/corpus/$t"/*
    done
    exit 0
fi

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
# The parts as the agent has them, instrumented for the fuzzer.
make -s -j"${JOBS:-2}" B="$B/lib" CC=clang CFLAGS="-O1 -g" \
    EXTRA_CFLAGS="-Wno-format-nonliteral -fsanitize=fuzzer-no-link $SAN" "$B/lib/libqscd.a"

failed=""
for t in $TARGETS; do
    corpus "$t"
    clang $CFL -fsanitize=fuzzer $SAN tests/fuzz/fuzz-"$t".c "$B/lib/libqscd.a" $LIBS \
        -o "$B/fuzz-$t"
    # The config reader prints every problem it finds: keep that off the log.
    mask=1; [ "$t" = config ] && mask=3
    echo "fuzz: $t: libFuzzer for ${SECS}s, corpus $B/corpus/$t"
    if "$B/fuzz-$t" -max_total_time="$SECS" -dict=tests/fuzz/json.dict -max_len=8192 \
        -close_fd_mask="$mask" -print_final_stats=1 -artifact_prefix="$B/$t-" \
        "$B/corpus/$t" > "$B/$t.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$t.log")
        echo "fuzz: $t: ${runs:-0} inputs, no failure"
    else
        echo "fuzz: $t: FAILED (log $B/$t.log, input $B/$t-*)"
        grep -m3 'ERROR: \|runtime error:\|invariant broken\|deadly signal' "$B/$t.log" || true
        failed="$failed $t"
    fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed" >&2; exit 1; }
