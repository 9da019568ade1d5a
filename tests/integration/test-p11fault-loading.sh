#!/bin/bash
# The fault module as a module: loaded by path through p11-kit (p11tool and
# p11_kit_module_load) and by dlopen (pkcs11-tool, ctypes), callable before
# C_Initialize, thread-safe, configured by file as well as environment, with
# latency and a call log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../p11fault/testlib.sh"
DRIVER="$(dirname "$0")/../p11fault/p11f_driver.py"

softhsm_setup
softhsm_token QSCD-01 123456 12345678
export QSCD_P11FAULT_LOG="$T/p11f.log"

run p11f_env python3 "$DRIVER" "$QSCD_P11FAULT" prefinit
expect_rc 0 "C_GetFunctionList before C_Initialize, init args, re-initialize"
expect_out 'ok: C_GetSlotList before C_Initialize' "calls before C_Initialize refused"

export QSCD_P11FAULT_PIN_TRIES=3 QSCD_P11FAULT_STATE="$T/p11f.state"
run p11f_env python3 "$DRIVER" "$QSCD_P11FAULT" threads 8
expect_rc 0 "8 threads calling at once (with the state file in use)"
unset QSCD_P11FAULT_PIN_TRIES QSCD_P11FAULT_STATE

run p11f_env python3 "$DRIVER" "$QSCD_P11FAULT" p11kit
expect_rc 0 "p11_kit_module_load by path, initialize, list, finalize"

# p11tool with the ASan runtime preloaded deadlocks in p11-kit's exit
# handler (freelocale), before and without our module's involvement.
if [ -z "$P11F_PRELOAD" ]; then
    run p11f_env p11tool --provider "$QSCD_P11FAULT" --list-tokens
    expect_rc 0 "p11tool --provider (GnuTLS via p11-kit)"
    expect_out 'token=QSCD-01' "p11tool lists the token through the module"
else
    note "ASan build: p11tool skipped (p11-kit loading is covered by the driver)"
fi

# Call log: one line per call, in order, framed by C_Initialize/C_Finalize.
: > "$QSCD_P11FAULT_LOG"
p11f_tool -L
head -1 "$QSCD_P11FAULT_LOG" | grep -qx 'C_Initialize rv=0x00000000' &&
tail -1 "$QSCD_P11FAULT_LOG" | grep -qx 'C_Finalize rv=0x00000000' &&
    pass "log starts with C_Initialize, ends with C_Finalize" ||
    fail "log framing: $(tr '\n' ';' < "$QSCD_P11FAULT_LOG")"
if grep -Evq '^C_[A-Za-z]+ rv=0x[0-9a-f]{8}( fault=[a-z-]+)?$' "$QSCD_P11FAULT_LOG"; then
    fail "log line format"
else
    pass "every log line is 'C_Name rv=0x...'"
fi

# Latency: configured per call and per function; the calls still work (how
# long they take is for benchmarks, not tests).
QSCD_P11FAULT_LATENCY_MS=1,C_GetTokenInfo:20 p11f_tool -L
expect_rc 0 "with QSCD_P11FAULT_LATENCY_MS=1,C_GetTokenInfo:20"
QSCD_P11FAULT_LATENCY_MS=C_Bogus:5 p11f_tool -L
expect_err 'QSCD_P11FAULT_LATENCY_MS' "latency for an unknown function refused"

# Config file: same names as the environment, and it wins over it.
cat > "$T/p11f.conf" <<EOC
# the token is out
QSCD_P11FAULT_REMOVED=1
EOC
QSCD_P11FAULT_REMOVED=0 QSCD_P11FAULT_CONFIG="$T/p11f.conf" p11f_tool -T
if grep -q QSCD-01 "$T/out"; then fail "config file did not override the environment"
else pass "QSCD_P11FAULT_CONFIG: REMOVED=1 from the file wins"; fi
printf 'QSCD_P11FAULT_PIN_TRIES=lots\n' > "$T/bad.conf"
QSCD_P11FAULT_CONFIG="$T/bad.conf" p11f_tool -L
expect_err 'bad.conf line 1: QSCD_P11FAULT_PIN_TRIES' "bad config line named with its number"
QSCD_P11FAULT_CONFIG="$T/missing.conf" p11f_tool -L
expect_err 'missing.conf' "missing config file named"

# The real module is configurable; a wrong path fails at C_Initialize.
QSCD_P11FAULT_MODULE="$SOFTHSM_MODULE" p11f_tool -L
expect_rc 0 "QSCD_P11FAULT_MODULE=SoftHSM2 explicitly"
QSCD_P11FAULT_MODULE="$T/nonexistent.so" p11f_tool -L
expect_err 'cannot load QSCD_P11FAULT_MODULE' "missing real module named"
finish
