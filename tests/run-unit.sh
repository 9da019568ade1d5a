#!/bin/bash
# Run every cmocka unit test binary of one build variant.  Some run programs
# (softhsm2-util, openssl): they get the tests' PATH, only the programs of
# tests/tools.list (tests/tools.sh).
# usage: tests/run-unit.sh BUILD_DIR
set -u
B=${1:-build}
TOOLS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/qscd-unit-tools.XXXXXX") || exit 2
trap 'rm -rf "$TOOLS_DIR"' EXIT
. "$(dirname "$0")/tools.sh"
tools_path "$TOOLS_DIR" || exit 2
passed=0; failed=0
for t in "$B"/tests/test-*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if "$t" > "$B/tests/$name.log" 2>&1; then
        echo "PASS unit/$name"
        passed=$((passed + 1))
    else
        echo "FAIL unit/$name"
        sed 's/^/    /' "$B/tests/$name.log" | tail -40
        failed=$((failed + 1))
    fi
done
echo "unit ($B): $passed passed, $failed failed"
[ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]
