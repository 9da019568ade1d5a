#!/bin/bash
# The shared state database (docs/fleet.md) on a real PostgreSQL server
# started for the test: db init/migrate/status; the desks' role may only
# INSERT and SELECT on the audit log (and nobody may change it); a URI with
# a password is refused; an unreachable database stops the agent with a
# clear error and nothing is kept in a state directory instead; a job
# provisioned through the database leaves no file behind; db import moves a
# state directory in once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

pg_start || { fail "PostgreSQL server"; finish; }

echo "schema"
agent --state-db "$PG_URI" status
expect_rc 2 "status on a database without the schema"
expect_err 'no qscd-agent schema; run "qscd-agent db init"' "says to run db init"
agent --state-db "$PG_ADMIN_URI" db init --agent-role qscd_desk
expect_rc 0 "db init --agent-role"
expect_err 'schema version 0 -> 2' "applies migrations 1 and 2"
agent --state-db "$PG_ADMIN_URI" db migrate
expect_rc 0 "db migrate when up to date"
expect_err 'nothing to migrate' "nothing to migrate"
QSCD_DESK=desk-a agent --state-db "$PG_URI" --json db status
expect_rc 0 "db status as the desks' role"
[ "$(json_get "$T/out" schema_version)" = 2 ] && pass "schema version 2" ||
    fail "schema version: $(json_get "$T/out" schema_version)"
[ "$(json_get "$T/out" desk)" = desk-a ] && pass "desk named by QSCD_DESK" ||
    fail "desk: $(json_get "$T/out" desk)"
agent db status
expect_rc 2 "db without --state-db"
expect_err 'no state database: set --state-db' "names the option"

echo "URIs"
agent --state-db "postgresql://qscd_desk:desk-secret@/qscd?host=$PG_DIR" status
expect_rc 2 "a URI with a password"
expect_err 'holds a password; remove it and put it in a password file' "refused, says where it goes"
expect_no_string desk-secret "the password is not repeated" "$T/err" "$T/out"
agent --state-db "mysql://x@/y" status
expect_rc 2 "not a postgresql:// URI"
expect_err 'must be a postgresql:// URI' "names the scheme"
# sslmode=verify-full reaches libpq: a loopback listener that offers TLS
# (answers the SSLRequest with "S"), and no root certificate to verify it by.
python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept(); c.recv(8); c.sendall(b"S"); c.recv(4096); c.close()' "$T/tls.port" &
track_pid $!
wait_for_file "$T/tls.port" 5
QSCD_STATE_DB="postgresql://qscd_desk@127.0.0.1:$(cat "$T/tls.port")/qscd?sslmode=verify-full&sslrootcert=$T/no-ca.pem" \
    agent status
expect_rc 1 "sslmode=verify-full without the CA certificate"
expect_err 'state database unreachable: .*root certificate file .*no-ca.pem.* does not exist' \
    "verify-full is what libpq enforces"

echo "the desks' role and the audit log"
lc_setup
export QSCD_STATE_DB=$PG_URI QSCD_DESK=desk-a
lc_submit
[ -n "$ORDER" ] && pass "order $ORDER submitted through the database" || fail "no order"
lc_token QSCD-01 51
lc_ship "$ORDER" "$T/QSCD-01.pub.pem"
lc_agent provision "$ORDER" --wait --poll-interval 0.1
expect_rc 0 "provision through the database"
[ ! -e "$QSCD_STATE_DIR/jobs" ] && [ ! -e "$QSCD_STATE_DIR/audit.log" ] &&
    pass "no job file or audit log in the state directory" || fail "files in $QSCD_STATE_DIR"
[ "$(pg_sql qscd_admin "SELECT order_state || '/' || device_state || '/' || holder_desk FROM qscd_jobs WHERE order_id = '$ORDER'")" = certificate_ready/verified/desk-a ] &&
    pass "job row: states and holder desk" || fail "job row: $(pg_sql qscd_admin 'SELECT * FROM qscd_jobs')"
n=$(pg_sql qscd_admin "SELECT count(*) FROM qscd_transitions t JOIN qscd_jobs j USING (ref) WHERE j.order_id = '$ORDER'")
[ "$n" -ge 6 ] && pass "transitions recorded ($n)" || fail "transitions: $n"
[ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_audit WHERE desk = 'desk-a' AND action = 'install'")" = 1 ] &&
    pass "audit: the install, with the desk" || fail "audit rows: $(pg_sql qscd_admin 'SELECT desk, action FROM qscd_audit')"
lc_agent status
expect_rc 0 "status from the database"
expect_out "order $ORDER .*READY" "the job is ready"
lc_agent status --history "$ORDER"
expect_rc 0 "history from the database"
expect_out 'install: order [0-9]+, token' "the install line"
before=$(pg_sql qscd_admin "SELECT count(*) FROM qscd_audit")
if pg_sql qscd_desk "UPDATE qscd_audit SET outcome = 'ok'" > "$T/sql.out" 2>&1; then
    fail "the desks' role updated audit rows"
else
    grep -q 'permission denied' "$T/sql.out" && pass "the role cannot UPDATE audit rows" ||
        fail "UPDATE failed otherwise: $(cat "$T/sql.out")"
fi
if pg_sql qscd_desk "DELETE FROM qscd_audit" > "$T/sql.out" 2>&1; then
    fail "the desks' role deleted audit rows"
else
    grep -q 'permission denied' "$T/sql.out" && pass "the role cannot DELETE audit rows" ||
        fail "DELETE failed otherwise: $(cat "$T/sql.out")"
fi
pg_sql qscd_desk "INSERT INTO qscd_audit (desk, action, outcome, line) VALUES ('x', 'y', 'z', '{}')" &&
    pass "the role may INSERT" || fail "the role cannot INSERT"
if pg_sql qscd_admin "DELETE FROM qscd_audit" > "$T/sql.out" 2>&1; then
    fail "the owner deleted audit rows"
else
    grep -q 'append-only' "$T/sql.out" && pass "the trigger refuses DELETE even by the owner" ||
        fail "owner DELETE: $(cat "$T/sql.out")"
fi
pg_sql qscd_admin "TRUNCATE qscd_audit" > "$T/sql.out" 2>&1 &&
    fail "the owner truncated the audit log" || pass "TRUNCATE refused"
[ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_audit")" = $((before + 1)) ] &&
    pass "every audit row still there" || fail "audit rows changed"

echo "db import"
unset QSCD_STATE_DB
plug local
lc_token QSCD-02 52
lc_submit
LOCAL_ORDER=$ORDER
lc_ship "$LOCAL_ORDER" "$T/QSCD-02.pub.pem"
lc_agent provision "$LOCAL_ORDER" --wait --poll-interval 0.1
expect_rc 0 "a job provisioned in a state directory"
agent --state-db "$PG_URI" db import "$T/no-such-dir"
expect_rc 2 "db import of a directory that is not there"
expect_err 'STATE_DIR .*no-such-dir: No such file or directory' "names it"
agent --state-db "$PG_URI" db import "$QSCD_STATE_DIR"
expect_rc 0 "db import"
expect_out 'imported 1 jobs' "one job moved in"
agent --state-db "$PG_URI" db import "$QSCD_STATE_DIR"
expect_rc 0 "db import again"
expect_out 'imported 0 jobs .*1 in the database already' "nothing moved twice"
[ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_jobs WHERE order_id = '$LOCAL_ORDER'")" = 1 ] &&
    pass "one row for the imported job" || fail "rows for $LOCAL_ORDER"
lines=$(grep -c . "$QSCD_STATE_DIR/audit.log")
[ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_audit WHERE import_key IS NOT NULL")" = "$lines" ] &&
    pass "each audit line imported once ($lines)" || fail "imported audit lines"
QSCD_STATE_DB=$PG_URI lc_agent status "$LOCAL_ORDER"
expect_rc 0 "the imported job is ready from the database"
expect_out "order $LOCAL_ORDER .*READY.*certificate installed and matching" "chain imported too"

echo "the database goes away"
export QSCD_STATE_DB=$PG_URI
pg_down
rm -rf "$T/nodir"
QSCD_STATE_DIR=$T/nodir lc_agent status
expect_rc 1 "status with the database down"
expect_err 'state database unreachable: .*nothing is kept in a local state directory' "clear error"
QSCD_STATE_DIR=$T/nodir agent order submit "$EXAMPLE_REQUEST" --new-order
expect_rc 1 "order submit with the database down"
[ ! -e "$T/nodir/jobs" ] && pass "no local job made instead" || fail "a local job was made"
[ "$(lc_orders_created)" = 2 ] && pass "nothing ordered" || fail "orders: $(lc_orders_created)"
pg_up || fail "the server came back"
lc_agent status
expect_rc 0 "status when the database is back"

finish
