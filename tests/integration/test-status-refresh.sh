#!/bin/bash
# `status --refresh` for 1000 open jobs: CertCentral's status of every job
# in at most 3 requests (the order list the first time, status changes
# after), kept in the journal; plain `status` sends nothing and says how old
# that state is; a refresh record older than the 7-day window falls back to
# the list; an order CertCentral does not know is asked for by itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup
JOBS="$QSCD_STATE_DIR/jobs"

# api_requests: API requests the simulator has seen so far.
api_requests() {
    sim_admin GET /stats > "$T/stats.json" &&
        python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]))' "$T/stats.json"
}
# requests_since N: the API requests after the first N, "METHOD PATH" a line.
requests_since() {
    sim_admin GET /stats > "$T/stats.json" && python3 - "$T/stats.json" "$1" <<'EOP'
import json, sys
for e in json.load(open(sys.argv[1]))["log"][int(sys.argv[2]):]:
    print(e["method"], e["path"].split("?")[0], e["status"])
EOP
}
remote_of() {   # remote_of ORDER: the job's remote.status
    python3 - "$JOBS" "$1" <<'EOP'
import json, os, sys
for f in os.listdir(sys.argv[1]):
    if f.endswith(".json"):
        j = json.load(open(os.path.join(sys.argv[1], f)))
        if j["order"]["id"] == sys.argv[2]:
            print((j.get("remote") or {}).get("status", "-"))
EOP
}

echo "1000 open jobs"
lc_submit
FIRST=$ORDER
[ -n "$FIRST" ] && pass "one job submitted ($FIRST)" || { fail "order submit: $(cat "$T/err")"; finish; }
sim_admin POST /orders '{"count":999}' > "$T/ids.json"
# The other 999 jobs: copies of the first one's file for the orders placed
# above (the journal's own format; `order submit` a thousand times would
# only make the test slow).
python3 - "$JOBS" "$T/ids.json" <<'EOP'
import json, os, secrets, sys
jobs, ids = sys.argv[1], json.load(open(sys.argv[2]))["ids"]
tmpl = json.load(open(os.path.join(jobs, [f for f in os.listdir(jobs) if f.endswith(".json")][0])))
for i in ids:
    j = json.loads(json.dumps(tmpl))
    j["ref"] = "job-" + secrets.token_hex(8)
    j["order"]["id"] = str(i)
    j["order"]["request_id"] = None
    with open(os.path.join(jobs, j["ref"] + ".json"), "w") as f:
        json.dump(j, f, indent=2)
EOP
[ "$(ls "$JOBS"/*.json | wc -l)" = 1000 ] && pass "1000 job files" || fail "$(ls "$JOBS"/*.json | wc -l) job files"

# --- plain status: local, and says the remote state was never asked for --------
N0=$(api_requests)
lc_agent status
expect_rc 1 "status: not every job is ready"
[ "$(api_requests)" = "$N0" ] && pass "plain status sends no request" || fail "plain status sent $(( $(api_requests) - N0 ))"
expect_err 'CertCentral state of some jobs was never asked for; `qscd-agent status --refresh`' \
    "status says the remote state was never asked for"

# --- the first refresh: the order list -------------------------------------------------
N0=$(api_requests)
lc_agent status --refresh
expect_rc 1 "status --refresh: the jobs are still pending"
requests_since "$N0" > "$T/req"
n=$(wc -l < "$T/req")
[ "$n" -ge 1 ] && [ "$n" -le 3 ] && pass "first refresh of 1000 jobs: $n request(s)" ||
    fail "first refresh: $n requests: $(head -5 "$T/req")"
grep -q '^GET /order/certificate 200$' "$T/req" && pass "the order list was read" || fail "requests: $(cat "$T/req")"
expect_err 'refreshed 1000 of 1000 open job\(s\)' "all 1000 open jobs refreshed"
[ "$(remote_of "$FIRST")" = pending ] && pass "remote status kept in the journal" || fail "remote of $FIRST: $(remote_of "$FIRST")"
python3 - "$JOBS" > "$T/chk" <<'EOP'
import json, os, sys
n = 0
for f in os.listdir(sys.argv[1]):
    if f.endswith(".json"):
        r = json.load(open(os.path.join(sys.argv[1], f))).get("remote") or {}
        n += r.get("status") == "pending" and r.get("checked") is not None and r.get("since") is not None
print(n)
EOP
[ "$(cat "$T/chk")" = 1000 ] && pass "every job has remote.status, .since and .checked" || fail "$(cat "$T/chk") jobs with a remote state"
[ -f "$QSCD_STATE_DIR/remote/refresh.json" ] && pass "refresh record written" || fail "no refresh record"

# --- CertCentral moves on: the next refresh asks for the changes only ------------------
IDS=($(python3 -c 'import json,sys; print(" ".join(map(str, json.load(open(sys.argv[1]))["ids"])))' "$T/ids.json"))
sim_admin POST /reject "{\"order_id\": ${IDS[0]}}" > /dev/null
sim_admin POST /status "{\"order_id\": ${IDS[1]}, \"status\": \"revoked\"}" > /dev/null
sim_admin POST /cancel "{\"order_id\": ${IDS[2]}}" > /dev/null
N0=$(api_requests)
lc_agent status --refresh
expect_rc 7 "status --refresh: rejected, revoked and canceled orders need attention"
requests_since "$N0" > "$T/req"
[ "$(wc -l < "$T/req")" = 1 ] && pass "second refresh: 1 request" || fail "second refresh: $(cat "$T/req")"
grep -q '^GET /order/certificate/status-changes 200$' "$T/req" && pass "the status changes were read" ||
    fail "requests: $(cat "$T/req")"
expect_err '3 job file\(s\) written' "only the three changed jobs written"
[ "$(remote_of "${IDS[0]}")" = rejected ] && pass "rejected seen" || fail "remote: $(remote_of "${IDS[0]}")"
[ "$(remote_of "${IDS[1]}")" = revoked ] && pass "revoked seen" || fail "remote: $(remote_of "${IDS[1]}")"
[ "$(remote_of "${IDS[2]}")" = canceled ] && pass "canceled seen" || fail "remote: $(remote_of "${IDS[2]}")"
expect_out "^  ALERT order_final: CertCentral reports order ${IDS[1]} revoked" "the revoked order is an alert"
[ "$(grep -c '^  ALERT order_final' "$T/out")" = 3 ] && pass "three order alerts" ||
    fail "$(grep -c '^  ALERT order_final' "$T/out") order alerts"

# --- plain status: how old the state is; still no request -------------------------------
N0=$(api_requests)
lc_agent status --json
expect_rc 7 "status --json: needs attention"
[ "$(api_requests)" = "$N0" ] && pass "status --json sends no request" || fail "status --json sent requests"
expect_err 'CertCentral state [0-9]+ s old; `qscd-agent status --refresh`' "status says how old the remote state is"
python3 - "$T/out" "${IDS[1]}" > "$T/chk" <<'EOP'
import json, sys
jobs = json.load(open(sys.argv[1]))
j = [x for x in jobs if x["job"]["order"]["id"] == sys.argv[2]][0]
print(j["job"]["remote"]["status"], j["alerts"][0]["kind"], j["remote_age_seconds"] < 600,
      len([x for x in jobs if x["alerts"]]))
EOP
[ "$(cat "$T/chk")" = "revoked order_final True 3" ] && pass "--json: remote status, alert, age" ||
    fail "--json: $(cat "$T/chk")"

# --- nothing changed: one request, nothing written ------------------------------------
N0=$(api_requests)
lc_agent status --refresh
requests_since "$N0" > "$T/req"
[ "$(wc -l < "$T/req")" = 1 ] && pass "third refresh: 1 request" || fail "third refresh: $(cat "$T/req")"
expect_err '0 job file\(s\) written' "nothing changed, nothing written"

# --- a record older than the 7-day window: the order list again --------------------------
python3 - "$QSCD_STATE_DIR/remote/refresh.json" "$JOBS" <<'EOP'
import json, os, sys, time
old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 8 * 86400))
r = json.load(open(sys.argv[1])); r["at"] = old; json.dump(r, open(sys.argv[1], "w"))
for f in os.listdir(sys.argv[2]):
    if f.endswith(".json"):
        p = os.path.join(sys.argv[2], f); j = json.load(open(p))
        if j.get("remote"):
            j["remote"]["checked"] = old; json.dump(j, open(p, "w"))
EOP
N0=$(api_requests)
lc_agent status --refresh
requests_since "$N0" > "$T/req"
[ "$(cat "$T/req")" = "GET /order/certificate 200" ] && pass "8 days old: the list, not the changes" ||
    fail "8 days old: $(cat "$T/req")"

# --- an order the list does not have: asked for by itself ----------------------------------
python3 - "$JOBS" <<'EOP'
import json, os, secrets, sys
jobs = sys.argv[1]
tmpl = json.load(open(os.path.join(jobs, [f for f in os.listdir(jobs) if f.endswith(".json")][0])))
tmpl["ref"] = "job-" + secrets.token_hex(8); tmpl["order"]["id"] = "999999"; tmpl.pop("remote", None)
json.dump(tmpl, open(os.path.join(jobs, tmpl["ref"] + ".json"), "w"))
EOP
N0=$(api_requests)
lc_agent status --refresh
requests_since "$N0" > "$T/req"
grep -q '^GET /order/certificate 200$' "$T/req" && grep -q '^GET /order/certificate/{id} 404$\|^GET /order/certificate/999999 404$' "$T/req" &&
    pass "an unknown order: the list, then that order alone" || fail "requests: $(cat "$T/req")"
[ "$(wc -l < "$T/req")" -le 3 ] && pass "still at most 3 requests" || fail "$(wc -l < "$T/req") requests"
expect_err "1 job\(s\) CertCentral did not answer for" "the unknown order is reported"

# --- a job another qscd-agent works on: left for the next refresh ----------------------------
BUSY_REF=$(python3 - "$JOBS" "${IDS[3]}" <<'EOP'
import json, os, sys
for f in os.listdir(sys.argv[1]):
    if f.endswith(".json") and json.load(open(os.path.join(sys.argv[1], f)))["order"]["id"] == sys.argv[2]:
        print(f[:-5])
EOP
)
sim_admin POST /reject "{\"order_id\": ${IDS[3]}}" > /dev/null
# The test holds the job's lock itself, as a provision in another process would.
exec 9> "$JOBS/$BUSY_REF.lock"
flock -n 9 && pass "job lock taken by the test" || fail "could not take the job lock"
lc_agent status --refresh
expect_err "1 job\(s\) being worked on by another qscd-agent: refreshed next time" "a locked job is skipped and said so"
[ "$(remote_of "${IDS[3]}")" = pending ] && pass "the locked job's file is untouched" || fail "remote: $(remote_of "${IDS[3]}")"
exec 9>&-
lc_agent status --refresh
[ "$(remote_of "${IDS[3]}")" = rejected ] && pass "the next refresh catches up" || fail "remote: $(remote_of "${IDS[3]}")"

# --- never over the short window: no 5 s with more than 100 requests ------------------------
sim_admin GET /stats > "$T/stats.json"
python3 - "$T/stats.json" > "$T/chk" <<'EOP'
import json, sys
t = sorted(e["t"] for e in json.load(open(sys.argv[1]))["log"])
print(max((sum(1 for u in t if s <= u < s + 5) for s in t), default=0))
EOP
[ "$(cat "$T/chk")" -le 100 ] && pass "at most $(cat "$T/chk") requests in any 5 s" || fail "$(cat "$T/chk") requests in 5 s"
sim_stop
finish
