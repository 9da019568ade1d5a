#!/bin/bash
# Run every integration test script against one build variant.
# usage: tests/run-integration.sh BUILD_DIR [PATTERN]
# Each script drives the built binaries; logs go to BUILD_DIR/test-logs/.
set -u
B=${1:-build}
PATTERN=${2:-}
cd "$(dirname "$0")/.." || exit 2
export QSCD_AGENT="$PWD/$B/qscd-agent"
export QSCD_SIM="$PWD/$B/qscd-sim"
# The fault module is loaded by third-party tools too (pkcs11-tool), which
# cannot host an ASan-built library: always use the plain build of it.
case "$B" in
    *asan*) export QSCD_P11FAULT="$PWD/build/libqscd-p11fault.so" ;;
    *)      export QSCD_P11FAULT="$PWD/$B/libqscd-p11fault.so" ;;
esac
if [ "$B" = build ]; then
    export QSCD_AGENT_HOOKS="$PWD/build/hooks/qscd-agent"
else
    export QSCD_AGENT_HOOKS="$QSCD_AGENT"   # asan builds carry the hooks
fi
[ -x "$QSCD_SIM" ] || export QSCD_SIM="$PWD/build/qscd-sim"
[ -f "$QSCD_P11FAULT" ] || case "$B" in
    *asan*) export QSCD_P11FAULT="$PWD/build/libqscd-p11fault.so" ;;
    *)      export QSCD_P11FAULT="$PWD/$B/libqscd-p11fault.so" ;;
esac
# A test that applies to some builds only says so in a "# builds: NAME..."
# line (release, asan); in another build it is not run, and not counted.
case "$B" in
    *asan*) VARIANT=asan ;;
    *)      VARIANT=release ;;
esac
mkdir -p "$B/test-logs"
passed=0; failed=0; failures=""; notrun=""
for t in tests/integration/test-*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    case "$name" in *"$PATTERN"*) ;; *) continue ;; esac
    builds=$(sed -n 's/^# builds: *//p' "$t" | head -1)
    if [ -n "$builds" ] && ! printf ' %s ' $builds | grep -q " $VARIANT "; then
        echo "N/A  integration/$name (builds: $builds; this is $VARIANT)"
        notrun="$notrun $name"
        continue
    fi
    log="$B/test-logs/$name.log"
    start=$(date +%s)
    timeout --kill-after=10 900 bash "$t" > "$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then
        echo "PASS integration/$name (${secs}s)"
        passed=$((passed + 1))
    else
        echo "FAIL integration/$name (exit $rc, ${secs}s)"
        sed 's/^/    /' "$log" | tail -60
        failed=$((failed + 1)); failures="$failures $name"
    fi
done
[ -n "$notrun" ] && echo "not for the $VARIANT build:$notrun"
echo "integration ($B): $passed passed, $failed failed${failures:+ -$failures}"
[ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]
