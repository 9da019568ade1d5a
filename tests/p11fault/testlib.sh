# Helpers for tests that drive tools through the fault module (sourced after
# tests/integration/lib.sh).
#
# The ASan build of the module links libasan, which must come first in a
# process; pkcs11-tool, p11tool and python are not built with it, so they get
# the runtime preloaded.  Their own leaks are not ours: leak checking is off
# for them (the agent's ASan runs check the module's leaks).

P11F_PRELOAD=$(ldd "$QSCD_P11FAULT" 2>/dev/null | awk '/libasan/ { print $3; exit }')

# p11f_env CMD...: runs CMD with the sanitizer runtime preloaded if needed.
# A hung tool must fail the test, not stall the suite.
p11f_env() {
    if [ -n "$P11F_PRELOAD" ]; then
        LD_PRELOAD="$P11F_PRELOAD" \
        ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:exitcode=86" timeout 120 "$@"
    else
        timeout 120 "$@"
    fi
}

# p11f_tool ARGS...: pkcs11-tool through the fault module, run-style
# (stdout in $T/out, stderr in $T/err, exit code in RC).
p11f_tool() { run p11f_env pkcs11-tool --module "$QSCD_P11FAULT" "$@"; }

# softhsm_tool ARGS...: pkcs11-tool straight to SoftHSM2, to see the truth
# behind the module.
softhsm_tool() { run pkcs11-tool --module "$SOFTHSM_MODULE" "$@"; }

# p11f_flags: the token flags line pkcs11-tool prints for the first token.
p11f_flags() {
    p11f_env pkcs11-tool --module "$QSCD_P11FAULT" -T 2>/dev/null | grep -m1 'token flags'
}

# expect_flags PATTERN DESC / expect_no_flags PATTERN DESC
expect_flags() {
    local f; f=$(p11f_flags)
    if echo "$f" | grep -Eq -- "$1"; then pass "$2"; else fail "$2: flags are: $f"; fi
}
expect_no_flags() {   # pkcs11-tool must have printed a flags line at all
    local f; f=$(p11f_flags)
    if [ -z "$f" ]; then fail "$2: pkcs11-tool printed no token flags line"
    elif echo "$f" | grep -Eq -- "$1"; then fail "$2: flags are: $f"; else pass "$2"; fi
}

# log_count PATTERN: how many lines of the call log match (grep -E).
log_count() { grep -Ec -- "$1" "$QSCD_P11FAULT_LOG" 2>/dev/null || true; }

# expect_calls FILE MIN DESC: a call list for a fault sweep holds at least
# MIN calls (an empty log would give a sweep of no runs, and a pass).
expect_calls() {
    local n; n=$(wc -l < "$1" 2>/dev/null || echo 0)
    if [ "$n" -ge "$2" ]; then pass "$3: $n calls to sweep"; else fail "$3: only $n calls logged (want >= $2)"; fi
}

# fault_fired LOG KIND: the call log LOG shows a fault=KIND line (a spec that
# never fires proves nothing).
fault_fired() { grep -Eq -- " fault=$2\$" "$1" 2>/dev/null; }
