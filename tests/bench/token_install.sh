# Token work for one approved order, the chain already downloaded (sourced
# by tests/bench/run.sh after tests/integration/token-ca.sh): `token
# install` against (a) a helpdesk script of pkcs11-tool calls and (b) the
# floor, tests/bench/floor_install.c, on the same SoftHSM2 token state,
# restored before every run.  Wall time median / min / max of RUNS runs each,
# side by side, and the ratios to the floor; instructions of the whole
# process (dynamic loader included) under callgrind.
TI_LABEL=BENCH-TI
TI_ID=a1b2
TI_PIN=bench-PIN-77

# ti_restore: the token as it was before the first install.
ti_restore() {
    rm -rf "$T/softhsm/tokens" && cp -a "$T/ti-tokens.orig" "$T/softhsm/tokens"
}

# The helpdesk's way: find the key, write the certificate, read it back.
ti_script() {
    local p=(--module "$SOFTHSM_MODULE" --token-label "$TI_LABEL")
    pkcs11-tool "${p[@]}" --login --pin "env:TI_PIN_ENV" --list-objects --type privkey --id "$TI_ID" \
        2>/dev/null | grep -q 'Private Key Object' || return 1
    pkcs11-tool "${p[@]}" --login --pin "env:TI_PIN_ENV" --write-object "$T/ti-leaf.der" --type cert \
        --id "$TI_ID" --label "$TI_LABEL-cert" > /dev/null 2>&1 || return 1
    pkcs11-tool "${p[@]}" --read-object --type cert --id "$TI_ID" -o "$T/ti-back.der" > /dev/null 2>&1 &&
        cmp -s "$T/ti-back.der" "$T/ti-leaf.der"
}

# ti_time NAME CMD...: RUNS runs, each after ti_restore, each must exit 0;
# nanoseconds in $T/NAME.ns.
ti_time() {
    local name=$1 i t0 t1; shift
    : > "$T/$name.ns"; CMD_ERR=""
    for ((i = 0; i < RUNS; i++)); do
        ti_restore
        t0=$(date +%s%N)
        if ! "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null; then
            CMD_ERR="$name: $(head -c 300 "$T/$name.err")"; : > "$T/$name.ns"; return 0
        fi
        t1=$(date +%s%N)
        echo $(( t1 - t0 )) >> "$T/$name.ns"
    done
}

# ti_ir CMD...: instructions of the whole process (callgrind), after ti_restore.
ti_ir() {
    ti_restore
    TI_IR=""
    valgrind --tool=callgrind --callgrind-out-file="$T/ti.cg" "$@" > /dev/null 2> "$T/ti.cg.err" < /dev/null &&
        TI_IR=$(awk '$1 == "summary:" { print $2 }' "$T/ti.cg")
}

bench_token_install() {
    local am amin amax sm smin smax fm fmin fmax ag fl
    CMD_ERR=""
    softhsm_token "$TI_LABEL" "$TI_PIN" && softhsm_keypair "$TI_LABEL" "$TI_ID" rsa:2048 "$TI_PIN" &&
    ( umask 077; printf '%s\n' "$TI_PIN" > "$T/ti-pin" ) &&
    "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/ti-pin" --token "pkcs11:token=$TI_LABEL" \
        token csr --subject "$TOKEN_SUBJECT" --key-id "$TI_ID" -o "$T/ti.csr" > /dev/null 2>&1 &&
    tca_issue "$T/ti.csr" "$T/ti-leaf.pem" &&
    openssl x509 -in "$T/ti-leaf.pem" -outform DER -out "$T/ti-leaf.der" &&
    python3 tests/bench/der-subject.py "$T/ti-leaf.der" "$T/ti-subject.der" &&
    cp -a "$T/softhsm/tokens" "$T/ti-tokens.orig" || {
        miss "Token work for one order" "could not set up the token and its certificate"; return 0; }
    export TI_PIN_ENV=$TI_PIN
    local agent=("$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/ti-pin"
                 --token "pkcs11:token=$TI_LABEL" token install "$T/ti-leaf.pem" --chain "$TCA/chain.pem"
                 --key-id "$TI_ID")
    local floor=("$B/bench/floor_install" "$SOFTHSM_MODULE" "$TI_LABEL" "$T/ti-pin"
                 "$T/ti-leaf.der" "$T/ti-subject.der" "$TI_ID")
    ti_time ti-agent "${agent[@]}"
    [ -s "$T/ti-agent.ns" ] && read -r am amin amax <<< "$(ms_stats "$T/ti-agent.ns")" || am=""
    ti_time ti-script ti_script
    [ -s "$T/ti-script.ns" ] && read -r sm smin smax <<< "$(ms_stats "$T/ti-script.ns")" || sm=""
    ti_time ti-floor "${floor[@]}"
    [ -s "$T/ti-floor.ns" ] && read -r fm fmin fmax <<< "$(ms_stats "$T/ti-floor.ns")" || fm=""
    if [ -z "$am" ] || [ -z "$sm" ] || [ -z "$fm" ]; then
        miss "Token work for one order: agent, script and floor" "${CMD_ERR:-a run failed}"
        return 0
    fi
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
    note_line "Token work for one order, side by side (ms, median / min / max of $RUNS; ratio to the floor): \`token install\` $am / $amin / $amax ($(ratio "$am" "$fm")× / $(ratio "$amin" "$fmin")× / $(ratio "$amax" "$fmax")×); helpdesk script of 3 pkcs11-tool calls $sm / $smin / $smax ($(ratio "$sm" "$fm")× / $(ratio "$smin" "$fmin")× / $(ratio "$smax" "$fmax")×); floor $fm / $fmin / $fmax"
    record "Token work for one order: \`token install\` / floor, wall time (medians)" \
        "$(ratio "$am" "$fm")" "× ($am ms / $fm ms; min $(ratio "$amin" "$fmin")×, max $(ratio "$amax" "$fmax")×)" \
        "<=" 1.3 "same SoftHSM2 token state restored before each run; the agent also checks the chain and the qualified profile, and installs the intermediate"
    record "Token work for one order: \`token install\` / helpdesk script, wall time (medians)" \
        "$(ratio "$am" "$sm")" "× ($am ms / $sm ms)" "<=" 1 "never slower than the script it replaces"
    if command -v valgrind > /dev/null 2>&1; then
        ti_ir "${agent[@]}"; ag=$TI_IR
        ti_ir "${floor[@]}"; fl=$TI_IR
        if [ -n "$ag" ] && [ -n "$fl" ]; then
            record "Token work for one order: instructions, \`token install\` / floor (callgrind)" \
                "$(ratio "$ag" "$fl")" "× ($ag / $fl)" "<=" 1.3 "whole process, dynamic loader included"
        else
            miss "Token work for one order: instructions (callgrind)" "a callgrind run failed: $(head -c 200 "$T/ti.cg.err")"
        fi
    fi
}
