#!/bin/bash
# The lifecycle suites against the PostgreSQL backend: each chosen suite
# runs as it is, with QSCD_TEST_STATE_DB=pg, so that its lc_setup starts a
# PostgreSQL server of its own and the agent keeps every job, chain, audit
# line and PIN-refusal record there (--state-db) instead of a state
# directory.  The crash suite is among them: a desk killed right after each
# commit loses its locks with its connection, and the re-run resumes; and
# watch-requests: the watcher and its workers (--state-db passed on); the
# signature PIN's refusal records (lifecycle-sign-pin) are rows there too.
# The suites that read or reset the state directory's files themselves
# (draft, journal, provision, reconcile, signal, submit) stay on it; the
# fleet's own tests cover the same promises on the database.
# builds: release
# (Under ASan the PostgreSQL backend is covered by test-fleet-db and
# test-fleet-desks; the suites themselves run there on the state directory.)
. "$(dirname "$0")/lib.sh"
DIR=$(cd "$(dirname "$0")" && pwd)

for suite in lifecycle-final lifecycle-rekey lifecycle-wrong-token lifecycle-removal \
             lifecycle-crash lifecycle-progress lifecycle-hidden-keys lifecycle-sign-pin \
             watch-requests; do
    if QSCD_TEST_STATE_DB=pg bash "$DIR/test-$suite.sh" > "$T/$suite.log" 2>&1; then
        pass "$suite on PostgreSQL ($(grep -c '  ok: ' "$T/$suite.log") checks)"
    else
        fail "$suite on PostgreSQL"
        grep -E 'FAIL' -A4 "$T/$suite.log" | head -40 | sed 's/^/    /'
    fi
done
finish
