#!/bin/sh
# Run every cmocka unit test binary of one build variant.
# usage: tests/run-unit.sh BUILD_DIR
set -u
B=${1:-build}
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
