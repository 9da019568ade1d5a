# Readiness of N open jobs (sourced by tests/bench/run.sh): `status
# --refresh` against what a script would do without it, one curl per order,
# with the simulator answering every API request after 20 ms (--latency), as
# a remote API does.  Each figure is the median of READY_RUNS runs, with min
# and max, side by side in one run:
#   - the first refresh (the order list; every job file written once),
#   - a refresh after it with nothing changed (the status changes; nothing
#     written),
#   - the curl loop (one process, one TLS handshake, one GET per order).
# Requests are counted in the simulator's log.  The jobs are copies of one
# `order submit` job (tests/bench/seed-jobs.py), each for its own order.
READY_RUNS=${BENCH_READY_RUNS:-3}
# The curl loop of 1000 orders takes half a minute or more a run: once.
READY_LOOP_RUNS_1000=${BENCH_READY_LOOP_RUNS_1000:-1}
READY_LATENCY_MS=20

# ms_stats FILE: "median min max" of the nanosecond values in FILE, in ms.
ms_stats() {
    sort -n "$1" | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.0f %.0f %.0f", m / 1e6, a[1] / 1e6, a[NR] / 1e6 }'
}
sim_log_len() { sim_admin GET /stats | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["log"]))'; }
# peak_5s FROM: the most API requests in any 5 s after the first FROM log entries.
peak_5s() {
    sim_admin GET /stats | python3 -c 'import json,sys
t = sorted(e["t"] for e in json.load(sys.stdin)["log"][int(sys.argv[1]):])
print(max((sum(1 for u in t if s <= u < s + 5) for s in t), default=0))' "$1"
}

# ready_timed NAME CMD...: run CMD READY_RUNS times after `ready_prep`
# (a shell function, may be empty), nanoseconds in $T/NAME.ns, the API
# requests of the last run in READY_REQ; READY_OK=0 when a run failed.
ready_timed() {
    local name=$1 i t0 t1 n0 rc; shift
    : > "$T/$name.ns"; READY_OK=1; READY_REQ=""
    for ((i = 0; i < READY_RUNS; i++)); do
        ready_prep
        n0=$(sim_log_len)
        t0=$(date +%s%N)
        "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
        rc=$?
        t1=$(date +%s%N)
        # status exits 1 (jobs pending) by design; anything else is a failure.
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
            READY_OK=0; CMD_ERR="$name: exit $rc: $(head -c 300 "$T/$name.err")"; return 0
        fi
        echo $(( t1 - t0 )) >> "$T/$name.ns"
        READY_REQ=$(( $(sim_log_len) - n0 ))
    done
}

curl_loop() {
    local id
    for id in $(cat "$T/ready-ids"); do
        curl -sS --fail --cacert "$SIM_CA" -H "X-DC-DEVKEY: $SIM_API_KEY" -o /dev/null \
            "$SIM_URL/order/certificate/$id" || return 3
    done
}

bench_readiness() {
    local n st first steady loop fm fmin fmax sm smin smax lm lmin lmax peak
    rm -f "$T/sim.port"
    sim_start --latency "$READY_LATENCY_MS" --approve-after-polls 1000000
    for n in "$@"; do
        export QSCD_STATE_DIR="$T/state-ready-$n"
        st=$QSCD_STATE_DIR
        CMD_ERR=""
        if ! "$QSCD_AGENT" --json order submit "$REQ" --new-order > "$T/ready.json" 2> "$T/ready.err"; then
            miss "Readiness of $n jobs" "order submit failed: $(head -c 300 "$T/ready.err")"
            continue
        fi
        json_get "$T/ready.json" order_id > "$T/ready-ids"
        if [ "$n" -gt 1 ]; then
            sim_admin POST /orders "{\"count\":$((n - 1))}" > "$T/ready-more.json" &&
            python3 tests/bench/seed-jobs.py "$st/jobs" "$T/ready-more.json" &&
            python3 -c 'import json,sys; print("\n".join(map(str, json.load(open(sys.argv[1]))["ids"])))' \
                "$T/ready-more.json" >> "$T/ready-ids"
        fi
        if [ "$(ls "$st"/jobs/*.json | wc -l)" != "$n" ]; then
            miss "Readiness of $n jobs" "could not make $n jobs"; continue
        fi
        A=(--api-url "$SIM_URL" --api-key-file "$T/api-key" --ca-file "$SIM_CA")
        ready_prep() { python3 tests/bench/seed-jobs.py --strip "$st/jobs"; }
        ready_timed ready-first "$QSCD_AGENT" "${A[@]}" -q status --refresh
        first=$READY_REQ
        [ "$READY_OK" = 1 ] && read -r fm fmin fmax <<< "$(ms_stats "$T/ready-first.ns")" || fm=""
        record "Readiness of $n jobs: first \`status --refresh\`, requests" "${fm:+$first}" \
            "requests" "<=" 3 "the order list (1000 a page); every job file written once"
        record "Readiness of $n jobs: first \`status --refresh\`, wall time (median of $READY_RUNS)" \
            "$fm" "ms (min ${fmin:-?}, max ${fmax:-?})" "<=" 1000 \
            "${READY_LATENCY_MS} ms API latency; $n durable job writes (temp, fsync, rename, fsync dir)"
        ready_prep() { :; }
        ready_timed ready-steady "$QSCD_AGENT" "${A[@]}" -q status --refresh
        steady=$READY_REQ
        [ "$READY_OK" = 1 ] && read -r sm smin smax <<< "$(ms_stats "$T/ready-steady.ns")" || sm=""
        record "Readiness of $n jobs: \`status --refresh\` after one, requests" "${sm:+$steady}" \
            "requests" "<=" 3 "the status changes since the last refresh"
        record "Readiness of $n jobs: \`status --refresh\` after one, wall time (median of $READY_RUNS)" \
            "$sm" "ms (min ${smin:-?}, max ${smax:-?})" "<=" 1000 "nothing changed: nothing written"
        local runs=$READY_RUNS
        [ "$n" -ge 1000 ] && READY_RUNS=$READY_LOOP_RUNS_1000
        ready_timed ready-loop curl_loop
        READY_RUNS=$runs
        loop=$READY_REQ
        peak=$(peak_5s "$(( $(sim_log_len) - n ))")
        [ "$READY_OK" = 1 ] && read -r lm lmin lmax <<< "$(ms_stats "$T/ready-loop.ns")" || lm=""
        if [ -n "$lm" ] && [ -n "$fm" ] && [ -n "$sm" ]; then
            note_line "Readiness of $n jobs, side by side (median / min / max ms; requests): first refresh $fm / $fmin / $fmax ($first); refresh after one $sm / $smin / $smax ($steady); curl-per-order loop $lm / $lmin / $lmax ($loop requests, up to $peak in 5 s against CertCentral's limit of 100)"
            record "Readiness of $n jobs: first \`status --refresh\` / curl loop, wall-time ratio" \
                "$(awk -v a="$fm" -v b="$lm" 'BEGIN { printf "%.2f", a / b }')" \
                "× (loop: $lm ms, $loop requests)" "<=" 1 \
                "never slower than asking order by order"
        else
            miss "Readiness of $n jobs: against a curl loop" "${CMD_ERR:-a run failed}"
        fi
    done
    sim_stop
}
