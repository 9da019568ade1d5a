# Helpers for tests/bench/run.sh (sourced after tests/integration/lib.sh,
# which provides $T, the simulator and SoftHSM2 helpers and cleanup).
#
# Every measurement ends in `record`, which holds it against its target.
# A measurement that could not be made counts as a missed target: a bench
# that silently skips is a bench that cannot fail.

ROWS=()
NOTES=()
MISSED=0
TARGETS=0
CMD_ERR=""

note_line() { NOTES+=("$*"); echo "  - $*"; }

# miss WHAT WHY: a target that could not even be measured.
miss() {
    TARGETS=$((TARGETS + 1)); MISSED=$((MISSED + 1))
    ROWS+=("| $1 | not measured | | **FAIL** | $2 |")
    echo "  FAIL: $1: $2"
}

# record WHAT VALUE UNIT OP LIMIT NOTE   (OP is <= or >=)
record() {
    local what=$1 value=$2 unit=$3 op=$4 limit=$5 notes=$6 ok
    if [ -z "$value" ]; then
        miss "$what" "${CMD_ERR:-no value}"
        return 0
    fi
    TARGETS=$((TARGETS + 1))
    ok=$(awk -v v="$value" -v l="$limit" -v op="$op" \
        'BEGIN { print ((op == "<=" && v + 0 <= l + 0) || (op == ">=" && v + 0 >= l + 0)) ? 1 : 0 }')
    if [ "$ok" = 1 ]; then
        ROWS+=("| $what | $value $unit | $op $limit | pass | $notes |")
        echo "  ok:   $what: $value $unit (target $op $limit)"
    else
        MISSED=$((MISSED + 1))
        ROWS+=("| $what | $value $unit | $op $limit | **FAIL** | $notes |")
        echo "  FAIL: $what: $value $unit (target $op $limit)"
    fi
}

# measure_driver NAME DRIVER ARGS...: run a bench driver for about a second,
# keep its "key value" lines in $T/NAME.kv.
measure_driver() {
    local name=$1; shift
    CMD_ERR=""
    if ! timeout 120 "$@" > "$T/$name.kv" 2> "$T/$name.err"; then
        CMD_ERR="$(basename "$1") failed: $(head -c 300 "$T/$name.err")"
        : > "$T/$name.kv"
    fi
}

# val NAME KEY: one value a driver printed (empty when it failed).
val() { awk -v k="$2" '$1 == k { print $2 }' "$T/$1.kv"; }

# callgrind_ir FUNC N DRIVER ARGS...: instructions executed inside FUNC
# (and what it calls) over N iterations, divided by N -> CG_PER.
callgrind_ir() {
    local func=$1 n=$2 total; shift 2
    CG_PER=""; CMD_ERR=""
    if ! timeout 120 valgrind --tool=callgrind --toggle-collect="$func" \
            --callgrind-out-file="$T/cg.$func" "$@" "$n" > /dev/null 2> "$T/cg.err"; then
        CMD_ERR="callgrind run of $(basename "$1") failed: $(grep -v '^==' "$T/cg.err" | head -c 300)"
        return 0
    fi
    total=$(awk '$1 == "summary:" { print $2 }' "$T/cg.$func")
    [ -n "$total" ] && CG_PER=$(( total / n ))
    [ -n "$CG_PER" ] || CMD_ERR="no callgrind summary"
}

# time_cmd NAME CMD...: one warm-up run that must exit 0, then $RUNS timed
# runs (median and max in ms -> MED_MS, MAX_MS), then one run under
# /usr/bin/time for the peak resident set (-> RSS_MIB).
time_cmd() {
    local name=$1 i t0 t1 rc; shift
    MED_MS=""; MAX_MS=""; RSS_MIB=""; CMD_ERR=""
    timeout 60 "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
    rc=$?
    if [ "$rc" -ne 0 ]; then
        CMD_ERR="exit $rc: $(head -c 300 "$T/$name.err")"
        return 0
    fi
    : > "$T/$name.ns"
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        timeout 60 "$@" > /dev/null 2>&1 < /dev/null
        t1=$(date +%s%N)
        echo $(( t1 - t0 )) >> "$T/$name.ns"
    done
    MED_MS=$(sort -n "$T/$name.ns" | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.1f", m / 1e6 }')
    MAX_MS=$(sort -n "$T/$name.ns" | tail -1 | awk '{ printf "%.1f", $1 / 1e6 }')
    if [ -x /usr/bin/time ] &&
       timeout 60 /usr/bin/time -f %M -o "$T/$name.rss" "$@" > /dev/null 2>&1 < /dev/null; then
        RSS_MIB=$(awk 'END { printf "%.1f", $1 / 1024 }' "$T/$name.rss")
    fi
}

# verify_out NAME PATTERN COUNT: the warm-up run of time_cmd NAME printed
# COUNT lines matching PATTERN (grep -E), else its numbers are dropped:
# timing a command that does not do its job measures nothing.
verify_out() {
    local got
    [ -n "$MED_MS" ] || return 0
    got=$(grep -Ec -- "$2" "$T/$1.out")
    if [ "$got" != "$3" ]; then
        CMD_ERR="expected $3 output line(s) matching /$2/, got $got: $(head -c 300 "$T/$1.out")"
        MED_MS=""; MAX_MS=""; RSS_MIB=""
    fi
}

# bench_tokens N: SoftHSM2 tokens BENCH-01.. until there are N, each with an
# RSA-2048 key pair as DigiCert leaves it on a shipped token.
BENCH_TOKENS=0
bench_tokens() {
    local label
    while [ "$BENCH_TOKENS" -lt "$1" ]; do
        BENCH_TOKENS=$((BENCH_TOKENS + 1))
        label=$(printf 'BENCH-%02d' "$BENCH_TOKENS")
        softhsm_token "$label" &&
        softhsm_keypair "$label" "$(printf 'a1%02x' "$BENCH_TOKENS")" rsa:2048 ||
            note_line "could not set up SoftHSM2 token $label"
    done
}

# Machine facts, so numbers from different machines are never mixed up.
bench_facts() {
    local cpu commit
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        commit="$commit (with uncommitted changes)"
    fi
    echo "| date (UTC) | $(date -u '+%Y-%m-%d %H:%M') |"
    echo "| commit | $commit |"
    echo "| CPU | ${cpu:-unknown}, nproc $(nproc) |"
    echo "| memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
    echo "| kernel | $(uname -sr) |"
    echo "| compiler | $(${CC:-cc} --version 2>/dev/null | head -1) |"
    echo "| build | \`$B\` (\`make bench\` builds \`build/\`: -O2 -g) |"
    echo "| libraries | libcurl $(pkg-config --modversion libcurl), OpenSSL $(pkg-config --modversion openssl), cJSON $(pkg-config --modversion libcjson), p11-kit $(pkg-config --modversion p11-kit-1), $(softhsm2-util --version 2>/dev/null | sed 's/^/SoftHSM2 /') |"
    echo "| load average at start | $(cut -d' ' -f1-3 /proc/loadavg) |"
}

# write_report FILE SECONDS
write_report() {
    local out=$1 secs=$2 r n
    {
        echo "# qscd-agent performance"
        echo
        echo "Written by \`make bench\` (tests/bench/run.sh); do not edit by hand."
        echo "Each number is held against a target; \`make bench\` fails when one"
        echo "is missed.  The test suites never assert timings: speed and memory"
        echo "targets live here only.  Wall-clock targets leave a wide margin"
        echo "because they depend on the machine and its load; instruction counts"
        echo "(valgrind callgrind) are repeatable and get tighter targets."
        echo
        echo "## Machine"
        echo
        echo "| | |"
        echo "|---|---|"
        bench_facts
        echo
        echo "## Results"
        echo
        echo "| measurement | value | target | result | notes |"
        echo "|---|---|---|---|---|"
        for r in "${ROWS[@]}"; do echo "$r"; done
        echo
        echo "$((TARGETS - MISSED)) of $TARGETS targets met; the run took ${secs}s."
        if [ "${#NOTES[@]}" -gt 0 ]; then
            echo
            for n in "${NOTES[@]}"; do echo "- $n"; done
        fi
        echo
        echo "## What is measured"
        echo
        echo "- **Validation**: \`tests/bench/bench_validate\` runs"
        echo "  \`order_request_parse\` + \`order_request_validate\` on the example"
        echo "  request in memory for about a second; the request must be valid."
        echo "- **Certificate check**: \`tests/bench/bench_x509\` runs"
        echo "  \`x509_chain_parse_pem\` + \`x509_check_profile\` (nothing relaxed) on a"
        echo "  leaf + intermediate + root bundle issued by the simulator, at a fixed"
        echo "  time inside its validity; the chain must pass."
        echo "- **Instructions**: \`valgrind --tool=callgrind --toggle-collect=FUNC\`"
        echo "  over the same drivers' per-iteration function, divided by the count."
        echo "- **Commands**: the built \`qscd-agent\` as a user runs it, one warm-up run"
        echo "  that must succeed, then $RUNS runs timed with \`date +%s%N\` (median and"
        echo "  max), then one run under \`/usr/bin/time -f %M\` for the peak RSS."
        echo "  \`order status\` talks to \`qscd-sim\` over TLS on 127.0.0.1 (a fresh"
        echo "  process each time, so it includes the TLS handshake); \`token list\`"
        echo "  loads SoftHSM2 with \`--module\`, each token holding one RSA-2048 key pair."
        echo "- **Requests per token**: one order approved and shipped for a SoftHSM2"
        echo "  token, in a state dir of its own; the simulator's request log counts what"
        echo "  \`provision --wait\` and \`watch --exit-when-idle\` send to CertCentral."
        echo "- **Token work for one order** (tests/bench/token_install.sh): a SoftHSM2"
        echo "  token with an RSA-2048 key and a certificate issued for it by a test CA"
        echo "  (leaf, intermediate, root); the token directory restored before every"
        echo "  run. \`token install\` (chain and qualified-profile checks, leaf and"
        echo "  intermediate written, read back) against a helpdesk script of three"
        echo "  \`pkcs11-tool\` calls (find the key, write the certificate, read it back)"
        echo "  and the floor, \`tests/bench/floor_install.c\` (C_Login, find the key by"
        echo "  CKA_ID, C_CreateObject, read CKA_VALUE back; libc and the module only)."
        echo "  Instructions: the whole process under callgrind, loader included."
        echo "- **Eight tokens** (tests/bench/eight_tokens.sh): eight SoftHSM2 tokens,"
        echo "  each shipped for its own approved order; one \`watch --exit-when-idle\`"
        echo "  and eight \`provision --wait\` started together, against the CPU bound:"
        echo "  8 × the CPU time (user + system, /usr/bin/time) of one provision over"
        echo "  \`nproc\` cores. The simulator shares those cores."
        echo "- **Readiness** (tests/bench/readiness.sh): N = 10, 100, 1000 open jobs"
        echo "  (copies of one \`order submit\` job, each for its own order), the"
        echo "  simulator answering every API request after 20 ms (\`--latency 20\`)."
        echo "  \`status --refresh\` the first time (every job's \`remote\` state and"
        echo "  the refresh record removed before each run: the order list, every job"
        echo "  file written) and after one (status changes, nothing changed), against a"
        echo "  loop of one \`curl\` per order (\`GET /order/certificate/ID\`); requests"
        echo "  from the simulator's log; median, min and max of 3 runs (the 1000-order"
        echo "  curl loop: 1 run)."
        echo "- **A fleet's database** (docs/fleet.md): 1000 jobs (one submitted, 999"
        echo "  copies with other refs and order ids) in a state directory, moved into a"
        echo "  private PostgreSQL server (tests/integration/lib-pg.sh, Unix socket, scram"
        echo "  login) with \`db import\`; \`status\` over them from each. One"
        echo "  \`provision --wait\` of a shipped SoftHSM2 token with each backend, one run."
    } > "$out.tmp" && mv "$out.tmp" "$out"
}
