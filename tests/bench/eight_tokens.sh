# Eight tokens at once (sourced by tests/bench/run.sh after
# lifecycle-helpers.sh): eight SoftHSM2 tokens, each shipped for its own
# approved order, provisioned by one `watch --exit-when-idle` and by eight
# `provision` processes started together, against the CPU bound: the CPU
# time (user + system) of one `provision`, times eight, over the cores.
# Token and state directory restored before every run; median / min / max
# of RUNS_8 runs side by side.
RUNS_8=${BENCH_RUNS_8:-3}

e8_restore() {
    rm -rf "$T/EIGHT/tokens" "$QSCD_STATE_DIR" &&
        cp -a "$T/e8-tokens.orig" "$T/EIGHT/tokens" && cp -a "$T/e8-state.orig" "$QSCD_STATE_DIR"
}

e8_parallel() {   # eight provisions at once; 0 when every one succeeded
    local pids=() p rc=0
    for o in "${E8_ORDERS[@]}"; do
        "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" \
            provision "$o" --wait --poll-interval 0.1 --timeout 60 > /dev/null 2>&1 < /dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
}

e8_watch() {
    timeout --kill-after=5 120 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" \
        watch --exit-when-idle --poll-interval 0.2 > "$T/e8-watch.out" 2>&1 < /dev/null &&
        [ "$(grep -c 'certificate installed and verified' "$T/e8-watch.out")" = 8 ]
}

# e8_time NAME CMD...: wall nanoseconds of RUNS_8 runs in $T/NAME.ns, API
# requests of the last run in E8_REQ; empty file when a run failed.
e8_time() {
    local name=$1 i t0 t1 n0; shift
    : > "$T/$name.ns"
    for ((i = 0; i < RUNS_8; i++)); do
        e8_restore
        n0=$(sim_log_len)
        t0=$(date +%s%N)
        if ! "$@"; then CMD_ERR="$name: a run failed"; : > "$T/$name.ns"; return 0; fi
        t1=$(date +%s%N)
        echo $(( t1 - t0 )) >> "$T/$name.ns"
        E8_REQ=$(( $(sim_log_len) - n0 ))
    done
}

bench_eight_tokens() {
    local i cpu one pm pmin pmax wm wmin wmax bound preq wreq
    rm -f "$T/sim.port"
    export QSCD_STATE_DIR="$T/state-eight" QSCD_POLL_INTERVAL=0.1
    lc_setup
    plug EIGHT
    E8_ORDERS=()
    for i in 1 2 3 4 5 6 7 8; do
        lc_submit
        [ -n "$ORDER" ] && sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null &&
            lc_token "EIGHT-$i" "6$i" && lc_ship "$ORDER" "$T/EIGHT-$i.pub.pem" ||
            { miss "Eight tokens" "could not place and ship order $i"; sim_stop; return 0; }
        E8_ORDERS+=("$ORDER")
    done
    cp -a "$T/EIGHT/tokens" "$T/e8-tokens.orig" && cp -a "$QSCD_STATE_DIR" "$T/e8-state.orig"
    # One provision's CPU time, the median of RUNS_8.
    : > "$T/e8-cpu"
    for ((i = 0; i < RUNS_8; i++)); do
        e8_restore
        /usr/bin/time -f '%U %S' -o "$T/e8-one.time" "$QSCD_AGENT" --module "$SOFTHSM_MODULE" \
            --pin-source "file:$T/pin" provision "${E8_ORDERS[0]}" --wait --poll-interval 0.1 \
            --timeout 60 > /dev/null 2>&1 < /dev/null &&
            awk '{ printf "%.0f\n", ($1 + $2) * 1e9 }' "$T/e8-one.time" >> "$T/e8-cpu"
    done
    [ "$(wc -l < "$T/e8-cpu")" = "$RUNS_8" ] || { miss "Eight tokens" "one provision failed"; sim_stop; return 0; }
    read -r one _ _ <<< "$(ms_stats "$T/e8-cpu")"
    bound=$(awk -v c="$one" -v n="$(nproc)" 'BEGIN { printf "%.0f", 8 * c / n }')
    e8_time e8-par e8_parallel; preq=$E8_REQ
    [ -s "$T/e8-par.ns" ] && read -r pm pmin pmax <<< "$(ms_stats "$T/e8-par.ns")" || pm=""
    e8_time e8-watch e8_watch; wreq=$E8_REQ
    [ -s "$T/e8-watch.ns" ] && read -r wm wmin wmax <<< "$(ms_stats "$T/e8-watch.ns")" || wm=""
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
    if [ -n "$pm" ] && [ -n "$wm" ]; then
        note_line "Eight tokens, side by side (ms, median / min / max of $RUNS_8; ratio to the CPU bound of $bound ms = 8 × $one ms CPU of one provision / $(nproc) cores): 8 provisions at once $pm / $pmin / $pmax ($(ratio "$pm" "$bound")× / $(ratio "$pmin" "$bound")× / $(ratio "$pmax" "$bound")×, $preq requests); watch $wm / $wmin / $wmax ($(ratio "$wm" "$bound")× / $(ratio "$wmin" "$bound")× / $(ratio "$wmax" "$bound")×, $wreq requests)"
    fi
    record "Eight tokens through \`watch\`, wall time / CPU bound (medians)" \
        "${wm:+$(ratio "$wm" "$bound")}" "× ($wm ms / $bound ms)" "<=" 1.1 \
        "bound: 8 × one provision's CPU time over $(nproc) cores; watch's polling and idle detection included"
    record "Eight tokens through 8 parallel \`provision\`, wall time / CPU bound (medians)" \
        "${pm:+$(ratio "$pm" "$bound")}" "× ($pm ms / $bound ms)" "<=" 1.1 "the same bound"
    record "Eight tokens: requests, \`watch\` / 8 \`provision\`" \
        "${wm:+$(ratio "$wreq" "$preq")}" "× ($wreq / $preq)" "<=" 1 "the watcher's downloads are the ones its workers use"
    sim_stop
}
