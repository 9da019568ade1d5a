# Shared helpers for integration tests (sourced, POSIX-ish bash).
#
# Every test runs in its own temporary directory; whatever it starts is
# recorded by PID and stopped on exit.  Nothing here touches /etc or the
# system's tokens: SoftHSM2 gets a private SOFTHSM2_CONF.

set -u

: "${QSCD_AGENT:=build/qscd-agent}"
: "${QSCD_AGENT_HOOKS:=build/hooks/qscd-agent}"
: "${QSCD_SIM:=build/qscd-sim}"
: "${QSCD_P11FAULT:=build/libqscd-p11fault.so}"
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
OPENSC_MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
export QSCD_AGENT QSCD_AGENT_HOOKS QSCD_SIM QSCD_P11FAULT

T=$(mktemp -d "${TMPDIR:-/tmp}/qscd-test.XXXXXX")
chmod 700 "$T"
# From here on PATH holds only the programs of tests/tools.list.
. "$(dirname "${BASH_SOURCE[0]}")/../tools.sh"
tools_path "$T/bin" || { echo "lib.sh: cannot set up the tools' PATH"; exit 1; }
PIDS=""
FAILED=0
CHECKS=0

# Keep the developer's own settings out of the tests.
unset QSCD_API_URL QSCD_API_KEY QSCD_API_KEY_FILE QSCD_CA_FILE QSCD_STATE_DIR QSCD_STATE_DB \
      QSCD_DESK QSCD_TRUST_ANCHORS QSCD_PKCS11_MODULE QSCD_TOKEN QSCD_PIN_SOURCE QSCD_CONFIG \
      QSCD_SIGN_PIN_SOURCE QSCD_SO_PIN_SOURCE QSCD_MODULE_PREFERENCE QSCD_SIGNATURE_CHECK \
      QSCD_EXPIRY_WARN QSCD_STUCK_AFTER
export QSCD_CONFIG="$T/none.conf"   # an empty config file, not /etc's
: > "$QSCD_CONFIG"
export QSCD_STATE_DIR="$T/state"

cleanup() {
    for p in $PIDS; do
        kill "$p" 2>/dev/null
    done
    for p in $PIDS; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "${KEEP_TEST_DIR:-0}" = 1 ]; then
        echo "kept $T" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

track_pid() { PIDS="$PIDS $1"; }

untrack_pid() {
    local out="" p
    for p in $PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
    PIDS=$out
}

note() { echo "  - $*"; }

pass() { CHECKS=$((CHECKS + 1)); echo "  ok: $*"; }

fail() {
    CHECKS=$((CHECKS + 1)); FAILED=$((FAILED + 1))
    echo "  FAIL: $*"
    [ -f "$T/out" ] && { echo "  --- stdout:"; sed 's/^/    /' "$T/out" | tail -30; }
    [ -f "$T/err" ] && { echo "  --- stderr:"; sed 's/^/    /' "$T/err" | tail -30; }
    return 0
}

# mount_ns_ok: a mount namespace can be had whose mounts stay inside it;
# NS_UNSHARE is then the command that makes one.  unshare makes every mount
# private first; in a chroot (where / is no mount point) it cannot, and there
# the namespace is used only when no mount is shared, so that nothing mounted
# in it can propagate out.
mount_ns_ok() {
    if unshare -m true 2>/dev/null; then
        NS_UNSHARE=(unshare -m); return 0
    fi
    if unshare -m --propagation unchanged sh -c '! grep -q " shared:" /proc/self/mountinfo' 2>/dev/null; then
        NS_UNSHARE=(unshare -m --propagation unchanged); return 0
    fi
    NS_UNSHARE=(); return 1
}

# run CMD...: runs with stdout in $T/out, stderr in $T/err, exit code in RC.
run() {
    "$@" > "$T/out" 2> "$T/err" < /dev/null
    RC=$?
    return 0
}

agent() { run "$QSCD_AGENT" "$@"; }

expect_rc() {
    local want=$1; shift
    if [ "$RC" = "$want" ]; then pass "$* (exit $RC)"; else fail "$*: exit $RC, expected $want"; fi
}

expect_out() {   # expect_out PATTERN DESC   (grep -E in stdout)
    if grep -Eq -- "$1" "$T/out"; then pass "$2"; else fail "$2: stdout lacks /$1/"; fi
}

expect_err() {   # expect_err PATTERN DESC   (grep -E in stderr)
    if grep -Eq -- "$1" "$T/err"; then pass "$2"; else fail "$2: stderr lacks /$1/"; fi
}

# A negative check first proves that what it searches is there: a missing or
# unreadable file (no audit log written at all) is a failure, not a pass.
# With -r DIR: every file under DIR, and DIR must hold at least one.
expect_no_string() {  # expect_no_string STRING DESC FILE... | -r DIR
    local s=$1 d=$2 f r=(); shift 2
    if [ "${1:-}" = -r ]; then
        r=(-r); shift
        if [ ! -d "${1:-}" ] || [ -z "$(find "$1" -type f 2>/dev/null | head -1)" ]; then
            fail "$d: ${1:-no directory} is missing or holds no file"; return 0
        fi
        f=$(find "$1" -type f ! -readable 2>/dev/null | head -1)
        [ -z "$f" ] || { fail "$d: $f is unreadable"; return 0; }
    else
        [ $# -gt 0 ] || { fail "$d: no file to search"; return 0; }
        for f in "$@"; do
            if [ ! -f "$f" ] || [ ! -r "$f" ]; then fail "$d: $f is missing or unreadable"; return 0; fi
        done
    fi
    if grep ${r[@]+"${r[@]}"} -Fq -- "$s" "$@"; then fail "$d: found in $*"; else pass "$d"; fi
}

# check_test_signatures: every job the test's runs took to "verified" went
# through the test signature after install (issue 10: on every provisioning
# of every suite), verified or explicitly skipped; none may lack it.
check_test_signatures() {
    local files res
    files=$(find "$T" -path '*/jobs/*.json' -type f 2>/dev/null)
    [ -n "$files" ] || return 0
    res=$(python3 - $files <<'EOF'
import json, sys
verified = skipped = 0
bad = []
for f in sys.argv[1:]:
    try:
        d = json.load(open(f))
    except Exception:
        continue
    dev = d.get("device") or {}
    if dev.get("state") != "verified":
        continue
    r = (dev.get("test_signature") or {}).get("result")
    if r == "verified":
        verified += 1
    elif r == "skipped":
        skipped += 1
    else:
        bad.append(f)
print(verified, skipped, " ".join(bad))
EOF
)
    set -- $res
    if [ $# -gt 2 ]; then
        shift 2; fail "jobs verified without a test signature: $*"
    elif [ "${1:-0}" -gt 0 ] || [ "${2:-0}" -gt 0 ]; then
        pass "every verified job made its test signature (${1:-0} verified, ${2:-0} skipped)"
    fi
}

finish() {
    check_test_signatures
    if [ "$FAILED" -ne 0 ]; then
        echo "  $FAILED of $CHECKS checks failed"
        exit 1
    fi
    if [ "$CHECKS" -eq 0 ]; then
        echo "  no checks ran"
        exit 1
    fi
    echo "  all $CHECKS checks passed"
    exit 0
}

# wait_for_file FILE [SECONDS]
wait_for_file() {
    local i=0 limit=$(( ${2:-10} * 10 ))
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ "$i" -gt "$limit" ] && return 1
        sleep 0.1
    done
    return 0
}

# --- trust anchors -----------------------------------------------------------

# trust_anchor_add ROOT.pem: one more root the agent accepts for issued
# chains ($T/trust-anchors.pem, exported as QSCD_TRUST_ANCHORS).
trust_anchor_add() {
    cat "$1" >> "$T/trust-anchors.pem" || return 1
    export QSCD_TRUST_ANCHORS="$T/trust-anchors.pem"
}

# --- CertCentral simulator --------------------------------------------------

# sim_start [simulator options...]
# Starts build/qscd-sim on 127.0.0.1 with a free port, an API key file of
# mode 0600, and its own CA.  Exports what the agent needs.
SIM_API_KEY="sim-key-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
sim_start() {
    mkdir -p "$T/sim"
    ( umask 077; printf '%s\n' "$SIM_API_KEY" > "$T/api-key" )
    "$QSCD_SIM" --port 0 --port-file "$T/sim.port" --dir "$T/sim" \
        --api-key-file "$T/api-key" "$@" > "$T/sim.log" 2>&1 &
    SIM_PID=$!
    track_pid "$SIM_PID"
    if ! wait_for_file "$T/sim.port" 20; then
        echo "simulator did not start:"; cat "$T/sim.log"
        exit 1
    fi
    SIM_PORT=$(cat "$T/sim.port")
    SIM_BASE="https://127.0.0.1:$SIM_PORT"
    SIM_URL="$SIM_BASE/services/v2"
    SIM_CA="$T/sim/ca.pem"
    export QSCD_API_URL="$SIM_URL" QSCD_API_KEY_FILE="$T/api-key" QSCD_CA_FILE="$SIM_CA"
    # The simulator's eSeal root is the trust anchor of the certificates it issues.
    trust_anchor_add "$T/sim/root.pem"
}

sim_stop() {
    kill "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    untrack_pid "$SIM_PID"
}

# sim_admin METHOD PATH [JSON]: talk to the simulator's /_sim admin API.
sim_admin() {
    local m=$1 p=$2 body=${3:-}
    if [ -n "$body" ]; then
        curl -sS --fail-with-body --cacert "$SIM_CA" -X "$m" \
            -H 'Content-Type: application/json' --data "$body" "$SIM_BASE/_sim$p"
    else
        curl -sS --fail-with-body --cacert "$SIM_CA" -X "$m" "$SIM_BASE/_sim$p"
    fi
}

# sim_api METHOD PATH [JSON]: call the simulated CertCentral API directly.
sim_api() {
    local m=$1 p=$2 body=${3:-}
    curl -sS --cacert "$SIM_CA" -X "$m" -H "X-DC-DEVKEY: $SIM_API_KEY" \
        -H 'Content-Type: application/json' ${body:+--data "$body"} "$SIM_URL$p"
}

# json_get FILE EXPR: read a value with python3's json (tests only).
json_get() {
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    if k == "": continue
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$1" "$2"
}

# --- SoftHSM2 ---------------------------------------------------------------

# softhsm_setup: a private SoftHSM2 token directory for this test.
softhsm_setup() {
    mkdir -p "$T/softhsm/tokens"
    cat > "$T/softhsm/softhsm2.conf" <<EOC
directories.tokendir = $T/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOC
    export SOFTHSM2_CONF="$T/softhsm/softhsm2.conf"
}

# softhsm_token LABEL [PIN] [SOPIN]: initialise a token in the next free slot.
softhsm_token() {
    softhsm2-util --init-token --free --label "$1" --pin "${2:-123456}" \
        --so-pin "${3:-12345678}" > /dev/null
}

# softhsm_keypair LABEL ID_HEX [KEYTYPE] [PIN]: a key pair as DigiCert would
# leave it on the shipped token.  KEYTYPE as pkcs11-tool takes it (rsa:3072).
softhsm_keypair() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$1" --login \
        --pin "${4:-123456}" --keypairgen --key-type "${3:-rsa:3072}" \
        --id "$2" --label "$1-key" > /dev/null 2>&1
}

# softhsm_pubkey_pem LABEL ID_HEX OUT: export the public key as PEM SPKI.
softhsm_pubkey_pem() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$1" \
        --read-object --type pubkey --id "$2" -o "$T/pub.der" > /dev/null 2>&1 &&
    openssl pkey -pubin -inform DER -in "$T/pub.der" -outform PEM -out "$3" 2>/dev/null
}
