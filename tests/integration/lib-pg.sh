# A private PostgreSQL server for a test (sourced after lib.sh): initdb into
# a directory of its own, listening on a Unix socket in that directory only
# (listen_addresses=''), run as the unprivileged user `nobody` (PostgreSQL
# refuses to run as root), stopped by its PID when the test ends.
#
# Password authentication (scram-sha-256) for every connection, so that the
# agent is tested the way a fleet runs it: the URI names no password, the
# password file PGPASSFILE (mode 0600) holds them.
#
#   pg_start                 start the server; sets PG_DIR, PG_BIN, PG_URI (the
#                            agent's URI, role qscd_desk) and PG_ADMIN_URI (the owner)
#   pg_sql ROLE SQL          run SQL as ROLE (qscd_admin or qscd_desk), output
#                            unaligned, no headers
#   pg_down / pg_up          the database goes away (fast shutdown: every client
#                            is cut off) and comes back with its data
#   pg_stop                  stop it for good and remove its files

PG_USER=nobody
PG_PID=""

# The server's programs: pg_config's bindir (Debian: /usr/lib/postgresql/N/bin).
pg_bindir() {
    local d
    d=$(pg_config --bindir 2>/dev/null)
    if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
        for d in /usr/lib/postgresql/*/bin; do :; done
    fi
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/psql" ] || return 1
    echo "$d"
}

pg_as_user() { setpriv --reuid="$PG_USER" --regid=nogroup --clear-groups -- "$@"; }

pg_start() {
    PG_BIN=$(pg_bindir) || { echo "lib-pg: no PostgreSQL server (tests/deps.sh: postgresql)"; return 1; }
    # Not under $T: that is root's (0700), and the server runs as nobody.
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/qscd-pg.XXXXXX") || return 1
    chmod 755 "$PG_DIR"
    printf 'admin-secret\n' > "$PG_DIR/pwfile"
    chown -R "$PG_USER" "$PG_DIR"
    pg_as_user "$PG_BIN/initdb" -D "$PG_DIR/data" -U qscd_admin --pwfile="$PG_DIR/pwfile" \
        --auth-local=scram-sha-256 --auth-host=reject -E UTF8 --no-sync > "$PG_DIR/initdb.log" 2>&1 ||
        { cat "$PG_DIR/initdb.log"; return 1; }
    rm -f "$PG_DIR/pwfile"
    # The agent's password file: root's, 0600 (libpq ignores a looser one).
    export PGPASSFILE="$T/pgpass"
    printf '*:*:*:qscd_admin:admin-secret\n*:*:*:qscd_desk:desk-secret\n' > "$PGPASSFILE"
    chmod 600 "$PGPASSFILE"
    pg_up || return 1
    PG_ADMIN_URI="postgresql://qscd_admin@/qscd?host=$PG_DIR"
    PG_URI="postgresql://qscd_desk@/qscd?host=$PG_DIR"
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "postgresql://qscd_admin@/postgres?host=$PG_DIR" \
        -c 'CREATE DATABASE qscd' \
        -c "CREATE ROLE qscd_desk LOGIN PASSWORD 'desk-secret'" > "$PG_DIR/setup.log" 2>&1 ||
        { cat "$PG_DIR/setup.log" "$PG_DIR/server.log"; return 1; }
    # lib.sh's cleanup stops tracked PIDs with SIGTERM (a "smart" shutdown that
    # waits for clients); this stops the server first, then removes its files.
    trap 'pg_stop; cleanup' EXIT
}

pg_up() {
    # setpriv itself, not through pg_as_user: $! is then the server's PID.
    setpriv --reuid="$PG_USER" --regid=nogroup --clear-groups -- "$PG_BIN/postgres" \
        -D "$PG_DIR/data" -k "$PG_DIR" -c listen_addresses='' -c fsync=off \
        -c max_connections=40 >> "$PG_DIR/server.log" 2>&1 &
    PG_PID=$!
    track_pid "$PG_PID"
    for _ in $(seq 1 100); do
        PGPASSFILE="$T/pgpass" "$PG_BIN/psql" -X -q \
            "postgresql://qscd_admin@/postgres?host=$PG_DIR" -c 'SELECT 1' > /dev/null 2>&1 &&
            return 0
        sleep 0.1
    done
    echo "lib-pg: the server did not start:"; tail -20 "$PG_DIR/server.log"
    return 1
}

pg_sql() {
    local role=$1; shift
    "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "postgresql://$role@/qscd?host=$PG_DIR" -c "$*"
}

pg_wait_gone() {
    for _ in $(seq 1 100); do
        kill -0 "$PG_PID" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

pg_stop() {
    pg_down
    [ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
    PG_DIR=""
}

pg_down() {
    [ -n "$PG_PID" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null     # fast shutdown: sessions are cut off
    pg_wait_gone || kill -9 "$PG_PID" 2>/dev/null
    wait "$PG_PID" 2>/dev/null
    untrack_pid "$PG_PID"
    PG_PID=""
}

# pg_init_schema: the schema and the desk role's grants, as the owner.
pg_init_schema() {
    "$QSCD_AGENT" --state-db "$PG_ADMIN_URI" db init --agent-role qscd_desk
}
