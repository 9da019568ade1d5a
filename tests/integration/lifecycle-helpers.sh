# Helpers for the lifecycle tests (sourced after lib.sh): a simulator, a
# PIN file, SoftHSM2 "shipped" tokens, orders submitted and shipped.

EXAMPLE_REQUEST="docs/examples/pkio-qualified-eseal-order.json"
# Letters and punctuation: never found by accident in hex or decimal ids.
LC_PIN="pin-Qx_zv"

# QSCD_TEST_STATE_DB=pg (tests/integration/test-fleet-lifecycle.sh): the
# suite keeps its jobs in a PostgreSQL server of its own (lib-pg.sh), as a
# desk of a fleet does, instead of the state directory.
lc_setup() {   # lc_setup [simulator options]
    if [ "${QSCD_TEST_STATE_DB:-}" = pg ] && [ -z "${PG_URI:-}" ]; then
        . "$(dirname "${BASH_SOURCE[0]}")/lib-pg.sh"
        pg_start && pg_init_schema > "$T/pg-init.log" 2>&1 ||
            { fail "PostgreSQL for the suite"; cat "$T/pg-init.log"; finish; }
        export QSCD_STATE_DB=$PG_URI
        # A state directory that cannot be made: anything kept there instead
        # of the database fails the suite.
        export QSCD_STATE_DIR=/dev/null/no-state-dir
    fi
    sim_start --approve-after-polls 1 "$@"
    softhsm_setup
    ( umask 077; printf '%s\n' "$LC_PIN" > "$T/pin"; printf 'wrong-Pin\n' > "$T/badpin" )
}

# plug NAME: only the tokens in SoftHSM2 directory NAME are "plugged in".
plug() {
    mkdir -p "$T/$1/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$T/$1/tokens" > "$T/$1.conf"
    export SOFTHSM2_CONF="$T/$1.conf"
}

# lc_token LABEL [ID]: a token with a key on it, as DigiCert ships it;
# its public key in $T/LABEL.pub.pem.
lc_token() {
    softhsm_token "$1" "$LC_PIN"
    softhsm_keypair "$1" "${2:-51}" rsa:3072 "$LC_PIN"
    softhsm_pubkey_pem "$1" "${2:-51}" "$T/$1.pub.pem"
}

# lc_submit: order submit the example; ORDER is the new order's id.  A new
# order each time, as each caller wants one (--new-order: the same request
# placed before is otherwise reported, not sent again).
lc_submit() {
    agent --json order submit "$EXAMPLE_REQUEST" --new-order
    ORDER=$(json_get "$T/out" order_id 2>/dev/null || echo "")
}

# lc_ship ORDER PUBPEM: the simulator learns the key on the shipped token.
lc_ship() {
    sim_admin POST /ship "$(python3 -c 'import json,sys
print(json.dumps({"order_id": int(sys.argv[1]), "public_key_pem": open(sys.argv[2]).read()}))' \
        "$1" "$2")" > /dev/null
}

# lc_ensure_job ORDER: a job for ORDER in the journal.  `order submit`
# journals one; where it did not (an order placed some other way), provision
# adopts the order, with no token in sight so that it stops at once.
lc_ensure_job() {
    if [ -n "${QSCD_STATE_DB:-}" ]; then
        [ "$(pg_sql qscd_admin "SELECT count(*) FROM qscd_jobs WHERE order_id = '$1'")" != 0 ] &&
            return 0
    else
        grep -qs "\"id\":[[:space:]]*\"$1\"" "$QSCD_STATE_DIR"/jobs/*.json && return 0
    fi
    mkdir -p "$T/empty/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$T/empty/tokens" > "$T/empty.conf"
    SOFTHSM2_CONF=$T/empty.conf lc_agent provision "$1"
}

# lc_agent ARGS...: the agent on SoftHSM2 with the PIN from a file.
lc_agent() { agent --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" "$@"; }
# lc_hooks ARGS...: the same with the test-hooks build (QSCD_TEST_CRASH_AFTER).
lc_hooks() { run "$QSCD_AGENT_HOOKS" --module "$SOFTHSM_MODULE" --pin-source "file:$T/pin" "$@"; }

# lc_reissues ORDER: reissue POSTs for ORDER the simulator received (stored
# or not: a dropped reply counts too).
lc_reissues() {
    sim_admin GET /stats > "$T/stats.json" && python3 -c 'import json,sys
print(sum(1 for e in json.load(open(sys.argv[1]))["log"]
          if e["method"] == "POST" and e["path"] == "/order/certificate/%s/reissue" % sys.argv[2]))' \
        "$T/stats.json" "$1"
}

lc_orders_created() {
    sim_admin GET /stats > "$T/stats.json" && json_get "$T/stats.json" orders_created
}

# lc_count LABEL TYPE [ID]: objects of TYPE (cert, pubkey, privkey, data) on
# the token, with that CKA_ID when given (pkcs11-tool -O does not filter by --id).
lc_count() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$1" --login --pin "$LC_PIN" \
        -O --type "$2" 2>/dev/null |
        awk -v id="${3:-}" '/Object;/ { if (n) c += ok; n = 1; ok = (id == "") }
                            /^ *ID: / { if ($2 == id) ok = 1 }
                            END { if (n) c += ok; print c + 0 }'
}

# lc_job_field ORDER FIELD: a field of the order's job as `status --json` shows it.
lc_job_field() {
    "$QSCD_AGENT" --module "$SOFTHSM_MODULE" status "$1" --json > "$T/st.json" 2>/dev/null
    json_get "$T/st.json" "0.job.$2" 2>/dev/null || echo ""
}

# lc_posts: order POSTs the simulator has had; lc_jobs: job files in the journal.
lc_posts() {
    sim_admin GET /stats > "$T/stats.json"
    json_get "$T/stats.json" "requests.POST /order/certificate/pkio_qualified_organisation_services" 2>/dev/null || echo 0
}
lc_jobs() {
    if [ -n "${QSCD_STATE_DB:-}" ]; then pg_sql qscd_admin "SELECT count(*) FROM qscd_jobs"
    else ls "$QSCD_STATE_DIR/jobs/"*.json 2>/dev/null | wc -l; fi
}
