#!/bin/bash
# The agent and the unit test binaries under valgrind's memcheck: no definite
# leak and no use of uninitialised memory (which ASan does not see).  Agent
# commands: --help, order submit --dry-run (valid and invalid request), order
# submit / status / wait / fetch against the simulator, token list, check
# and csr on SoftHSM2 through --module; then every unit test binary.  Leaks
# that are only "still reachable" or "possibly lost" (process-wide caches of
# OpenSSL, p11-kit, SoftHSM2) are not errors; third-party findings that are
# genuinely not ours are suppressed in tests/valgrind.supp, each explained.
#
# Canaries first: a small program that leaks (plain malloc, an OpenSSL
# object, a cJSON tree) or branches on uninitialised memory must be caught
# with the same options and suppressions, so an over-broad suppression or a
# wrong option cannot turn this test into one that always passes.
#
# Valgrind cannot run ASan binaries: the test is for the release build only.
# builds: release
# The unit tests' torture loops (test_torture_*: thousands of mutated inputs
# through the same parsers) are skipped under valgrind, where they would take
# minutes; ASan and the fuzzer cover them.  QSCD_VALGRIND_FULL=1 runs them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/token-ca.sh"

echo "test-valgrind"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SUPP="$SRC/tests/valgrind.supp"
UNIT_DIR="$(dirname "$QSCD_AGENT")/tests"

if ! command -v valgrind > /dev/null 2>&1; then
    fail "valgrind is not installed (tests/deps.sh installs it)"
    finish
fi
# tests/run-integration.sh runs this on the release build only (the
# "builds:" line above); an ASan binary here is a mistake, not a pass.
if ldd "$QSCD_AGENT" 2>/dev/null | grep -q libasan; then
    fail "$QSCD_AGENT is an ASan build, which valgrind cannot run"
    finish
fi

VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no --num-callers=30
    --suppressions="$SUPP")

# vg_report LOG: the error part of a valgrind log, for a failure message.
vg_report() {
    sed -n 's/^==[0-9]*== //p' "$1" |
        grep -Ev '^(Memcheck|Copyright|Using Valgrind|Command:|Parent PID:|HEAP SUMMARY|For lists|To see|Rerun with)' |
        head -80 | sed 's/^/    | /'
}

# vg NAME WANT_RC CMD...: CMD under memcheck; its stdout/stderr in $T/out,
# $T/err as with `run`, the valgrind log in $T/vg-NAME.log.
vg() {
    local name=$1 want=$2; shift 2
    timeout 120 "${VG[@]}" --log-file="$T/vg-$name.log" "$@" > "$T/out" 2> "$T/err" < /dev/null
    RC=$?
    if [ "$RC" = 99 ]; then
        fail "$name: valgrind found errors (log $T/vg-$name.log)"
        vg_report "$T/vg-$name.log"
    elif [ "$RC" = "$want" ]; then
        pass "$name: clean under valgrind (exit $RC)"
    else
        fail "$name: exit $RC, expected $want"
        vg_report "$T/vg-$name.log"
    fi
}

# --- canaries: valgrind, options and suppressions can catch a bug ----------------
cat > "$T/canary.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <openssl/x509.h>

static void *keep;

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "leak")) {
        keep = malloc(64);
        keep = NULL;                    /* the only pointer is gone */
    } else if (!strcmp(mode, "uninit")) {
        int *p = malloc(sizeof *p);
        if (*p == 42)                   /* never written */
            puts("42");
        free(p);
    } else if (!strcmp(mode, "openssl")) {
        X509 *x = X509_new();           /* never X509_free'd */
        printf("%p\n", (void *)x);
    } else if (!strcmp(mode, "cjson")) {
        cJSON *j = cJSON_Parse("{\"a\":[1,2,3]}");  /* never cJSON_Delete'd */
        printf("%p\n", (void *)j);
    }
    return 0;
}
EOF
if cc -g -O0 -o "$T/canary" "$T/canary.c" $(pkg-config --cflags --libs libcjson libcrypto) 2> "$T/cc.err"; then
    "${VG[@]}" --log-file="$T/vg-canary-clean.log" "$T/canary" clean > /dev/null 2>&1
    [ $? = 0 ] && pass "canary without a bug: clean" ||
        { fail "canary without a bug reported"; vg_report "$T/vg-canary-clean.log"; }
    for mode in leak uninit openssl cjson; do
        "${VG[@]}" --log-file="$T/vg-canary-$mode.log" "$T/canary" "$mode" > /dev/null 2>&1
        rc=$?
        if [ "$rc" = 99 ] && grep -Eq 'definitely lost|uninitialised' "$T/vg-canary-$mode.log"; then
            pass "canary '$mode' is caught (exit 99)"
        else
            fail "canary '$mode' not caught (exit $rc): options or suppressions hide bugs"
        fi
    done
else
    fail "canary does not compile: $(head -5 "$T/cc.err")"
fi

# --- the agent without a server or token ----------------------------------------
REQ="$SRC/docs/examples/pkio-qualified-eseal-order.json"
vg help 0 "$QSCD_AGENT" --help
expect_out "usage: qscd-agent" "--help prints the usage"

vg dry-run-valid 0 "$QSCD_AGENT" order submit "$REQ" --dry-run
expect_out "valid, not sent" "dry run of a valid request"

cat > "$T/bad.json" <<'EOF'
{"certificate": {"signature_hash": "sha1", "profile_option": "nonrepudiation"},
 "csa_agreed_to": true, "provisioning_method": "qscd",
 "ship_info": {"method": "OVERNIGHT"}, "organization": {"id": "2042709"},
 "order_validity": {"years": 9}, "payment_method": "balance"}
EOF
vg dry-run-invalid 2 "$QSCD_AGENT" order submit "$T/bad.json" --dry-run
expect_err "certificate.signature_hash" "invalid request: the field is named"

# --- against the simulator: submit, status, wait, fetch -----------------------
sim_start
vg order-submit 0 "$QSCD_AGENT" --json order submit "$REQ"
ORDER=$(json_get "$T/out" order_id 2>/dev/null)
if [ -n "$ORDER" ]; then
    pass "order $ORDER placed"
    vg order-status 0 "$QSCD_AGENT" order status "$ORDER"
    expect_out "^order $ORDER: " "status names the order"
    # Ship a key so the order gets a certificate: wait and fetch then walk
    # the PEM download and the chain parsing too.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.pem" 2>/dev/null &&
        openssl pkey -in "$T/k.pem" -pubout -out "$T/pub.pem" 2>/dev/null
    python3 -c 'import json,sys; print(json.dumps({"order_id":int(sys.argv[1]),"public_key_pem":open(sys.argv[2]).read()}))' \
        "$ORDER" "$T/pub.pem" > "$T/ship.json"
    sim_admin POST /ship "$(cat "$T/ship.json")" > /dev/null && sim_admin POST /approve "{\"order_id\":$ORDER}" > /dev/null
    vg order-wait 0 "$QSCD_AGENT" order wait "$ORDER" --until issued --poll-interval 0.2 --timeout 60
    vg order-fetch 0 "$QSCD_AGENT" order fetch "$ORDER" -o "$T/chain.pem"
    grep -q 'BEGIN CERTIFICATE' "$T/chain.pem" 2>/dev/null && pass "fetched chain written" ||
        fail "no chain written by order fetch"
else
    fail "no order id from order submit"
fi
sim_stop

# --- SoftHSM2 through --module --------------------------------------------------
softhsm_setup
softhsm_token VG-01
softhsm_keypair VG-01 a1b2 rsa:2048
vg token-list 0 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" token list
expect_out 'key: label "VG-01-key", id a1b2, RSA 2048' "token list shows the key"
( umask 077; echo 123456 > "$T/pin" )
vg token-check 1 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" token check
expect_out 'certificate +MISSING' "token check: not ready, no certificate yet"
# A CSR signed on the token: login, C_Sign, and the CSR code around it.
vg token-csr 0 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" token csr \
    --subject "/C=NL/O=Example Seal B.V./organizationIdentifier=NTRNL-12345678/CN=Example" -o "$T/csr.pem"
openssl req -in "$T/csr.pem" -noout -verify > /dev/null 2>&1 && pass "the CSR's signature verifies" ||
    fail "the CSR from the token does not verify"
# The install and the test signature after it (C_Sign, the x509 check).
if tca_init; then
    tca_issue "$T/csr.pem" "$T/leaf.pem"
    vg token-install 0 "$QSCD_AGENT" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" \
        token install "$T/leaf.pem" --chain "$TCA/chain.pem"
    expect_out 'test signature verified' "token install: the test signature is verified"
else
    fail "test CA could not be made"
fi

# --- unit test binaries, nproc at a time ----------------------------------------
# Some unit tests fork (a second process holding a journal lock, crash
# hooks).  A forked child that leaves with _exit() still holds the parent's
# allocations, which memcheck would report as leaks and, with
# --error-exitcode, turn into a failed child: so here every process logs to
# its own file (%p), no exit code is changed, the test process itself is
# judged by its ERROR SUMMARY, and its children only by errors other than
# leaks (invalid or uninitialised memory).
VG_UNIT=(valgrind --leak-check=full --errors-for-leak-kinds=definite
         --show-leak-kinds=definite --track-fds=no --num-callers=30
         --suppressions="$SUPP")
MEM_ERRORS='^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function)'

cat > "$T/skip.c" <<'EOF'
/* Preloaded into the unit test binaries: sets cmocka's skip filter from
 * QSCD_CMOCKA_SKIP (cmocka 1.1 has no environment variable for it).  The
 * weak reference keeps it harmless in processes without cmocka. */
#include <stdlib.h>
void cmocka_set_skip_filter(const char *pattern) __attribute__((weak));
__attribute__((constructor)) static void skip_init(void)
{
    const char *p = getenv("QSCD_CMOCKA_SKIP");
    if (p && *p && cmocka_set_skip_filter)
        cmocka_set_skip_filter(p);
}
EOF

# unit_run BINARY: in the background; writes "RC TIMEOUT_PID" to its .rc file.
unit_run() {
    local u=$1 n tpid
    n=$(basename "$u")
    mkdir -p "$T/vgu-$n"
    ( cd "$SRC" || exit
      QSCD_CMOCKA_SKIP="$skip" LD_PRELOAD="$T/skip.so" timeout 300 \
          "${VG_UNIT[@]}" --log-file="$T/vgu-$n/%p.log" "$u" > "$T/unit-$n.out" 2>&1 &
      tpid=$!
      wait "$tpid"
      echo "$? $tpid" > "$T/unit-$n.rc" ) &
}

# unit_judge BINARY: pass or fail from its exit code and its logs.
unit_judge() {
    local n rc tpid main log errs
    n=$(basename "$1")
    read -r rc tpid < "$T/unit-$n.rc" || { fail "unit/$n: no result"; return; }
    main=$(grep -l "^==[0-9]*== Parent PID: $tpid\$" "$T/vgu-$n"/*.log 2>/dev/null | head -1)
    errs=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$main" 2>/dev/null)
    if [ "$rc" != 0 ]; then
        fail "unit/$n: exit $rc under valgrind"
        tail -20 "$T/unit-$n.out" | sed 's/^/    | /'
        [ -n "$main" ] && vg_report "$main"
    elif [ -z "$errs" ]; then
        fail "unit/$n: no valgrind summary for the test process"
    elif [ "$errs" != 0 ]; then
        fail "unit/$n: valgrind found $errs error(s)"
        vg_report "$main"
    else
        for log in "$T/vgu-$n"/*.log; do
            [ "$log" = "$main" ] && continue
            if grep -Eq "$MEM_ERRORS" "$log"; then
                fail "unit/$n: a forked child has memory errors"
                vg_report "$log"
                return
            fi
        done
        pass "unit/$n: clean under valgrind"
    fi
}

rm -f "$T/out" "$T/err"   # fail() would show the last command's output
units=$(ls "$UNIT_DIR"/test-* 2>/dev/null | grep -v '\.log$')
if [ -z "$units" ]; then
    fail "no unit test binaries in $UNIT_DIR: build them first (make unit-bins)"
elif ! cc -shared -fPIC -o "$T/skip.so" "$T/skip.c" 2> "$T/cc.err"; then
    fail "skip shim does not compile: $(head -5 "$T/cc.err")"
else
    skip='test_torture_*'
    [ "${QSCD_VALGRIND_FULL:-0}" = 1 ] && skip=""
    jobs_max=$(nproc 2>/dev/null || echo 2)
    for u in $units; do
        [ -x "$u" ] || continue
        while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
        unit_run "$u"
    done
    wait
    for u in $units; do
        [ -x "$u" ] && unit_judge "$u"
    done
fi

finish
