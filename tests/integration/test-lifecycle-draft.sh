#!/bin/bash
# Jobs that stopped short of an order, and job files that cannot be read.
#
# A submit killed right after its job was created (the first commit, which
# moves the job into "draft": QSCD_TEST_CRASH_AFTER=draft) sent nothing:
# `status` says it was not submitted and how to resume, and the next
# `order submit` of the same request (same request digest) sends it with
# that job instead of creating a second one; another request gets its own.
#
# `provision ORDER_ID` with no readable job for the order while a job file
# cannot be read (corrupt, or from a newer qscd-agent) refuses (exit 2),
# naming the file and why, and leaves it byte for byte; once the file is
# moved aside it proceeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

if [ ! -x "$QSCD_AGENT_HOOKS" ]; then
    echo "  no hooks build at $QSCD_AGENT_HOOKS (make hooks)"; exit 1
fi
lc_setup
JOBS="$QSCD_STATE_DIR/jobs"
jobs() { ls "$JOBS"/*.json 2>/dev/null | wc -l; }
posts() {
    sim_admin GET /stats > "$T/stats.json"
    json_get "$T/stats.json" "requests.POST /order/certificate/pkio_qualified_organisation_services" 2>/dev/null || echo 0
}
# The same order request with one field changed: another request digest.
python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); d["ship_info"]["addr2"] = "Floor 95"
json.dump(d, open(sys.argv[2], "w"), indent=2)' "$EXAMPLE_REQUEST" "$T/other-request.json"

echo "a submit killed right after its job was created"
QSCD_TEST_CRASH_AFTER=draft lc_hooks order submit "$EXAMPLE_REQUEST"
expect_rc 137 "killed after the first commit"
[ "$(jobs)" = 1 ] && pass "one job file" || fail "$(jobs) job files"
DRAFT=$(basename "$(ls "$JOBS"/*.json)" .json)
python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
assert j["order"]["state"] == "draft", j["order"]
assert len(j["request"]["sha256"]) == 64, j["request"]
assert j["request"]["product"] == "pkio_qualified_organisation_services"' "$JOBS/$DRAFT.json" &&
    pass "the job is a draft that already names its request (product, digest)" ||
    fail "draft job file: $(cat "$JOBS/$DRAFT.json")"
[ "$(posts)" = 0 ] && [ "$(lc_orders_created)" = 0 ] && pass "nothing was sent" ||
    fail "POSTs $(posts), orders $(lc_orders_created)"

lc_agent status
expect_rc 1 "status: the interrupted draft is not ready"
expect_out "next: not submitted: interrupted before sending; run .qscd-agent order submit FILE. again" \
    "status says it was never sent and how to resume"
if grep -q "refused" "$T/out"; then fail "status calls it refused: $(cat "$T/out")"
else pass "status does not call it refused"; fi

echo "another request is not taken for it"
agent --json order submit "$T/other-request.json"
expect_rc 0 "submit of a different request"
[ "$(json_get "$T/out" job)" != "$DRAFT" ] && pass "it gets its own job" ||
    fail "the other request took the draft $DRAFT"
[ "$(jobs)" = 2 ] && pass "two jobs" || fail "$(jobs) jobs"

echo "the same request again"
agent --json order submit "$EXAMPLE_REQUEST"
expect_rc 0 "submit of the same request"
expect_err "job $DRAFT: an earlier submit of this request stopped before sending it" \
    "says it resumes the draft"
[ "$(json_get "$T/out" job)" = "$DRAFT" ] && pass "sent with the draft's job" ||
    fail "job $(json_get "$T/out" job), not the draft $DRAFT"
[ "$(jobs)" = 2 ] && pass "no third job" || fail "$(jobs) jobs"
[ "$(posts)" = 2 ] && [ "$(lc_orders_created)" = 2 ] && pass "one POST for each request" ||
    fail "POSTs $(posts), orders $(lc_orders_created)"
ORDER_D=$(json_get "$T/out" order_id)
lc_agent status "$ORDER_D"
expect_out "order $ORDER_D \($DRAFT\): not ready; order pending" "status: the draft is now the pending order"

echo "a job file that cannot be read"
plug A; lc_token TA 51
lc_submit; O1=$ORDER; lc_ship "$O1" "$T/TA.pub.pem"
REF=$(lc_job_field "$O1" ref)
# Its own job file is damaged: provision cannot tell which order it was for.
printf '{\n  "schema": 1,\n  "ref": "%s",\n  "order": {\n' "$REF" > "$JOBS/$REF.json"
sha256sum "$JOBS/$REF.json" > "$T/bad.sha"
lc_agent provision "$O1" --wait --poll-interval 0.1
expect_rc 2 "provision refuses"
expect_err "job file $JOBS/$REF.json cannot be read \(not valid JSON at line 5\); it may belong to order $O1: repair or move it aside, then run again" \
    "names the file, why, the order, and what to do"
[ "$(jobs)" = 3 ] && pass "no second job for the order" || fail "$(jobs) job files"
sha256sum -c --quiet "$T/bad.sha" && pass "the file is left byte for byte" || fail "the file was changed"
[ "$(lc_count TA cert 51)" = 0 ] && pass "nothing installed" || fail "a certificate was installed"

echo "a job file from a newer qscd-agent, and two unreadable files"
sed -e 's/"schema":[[:space:]]*1/"schema": 99/' "$JOBS/$DRAFT.json" > "$JOBS/job-00000000000000d1.json"
sed -i "s/$DRAFT/job-00000000000000d1/" "$JOBS/job-00000000000000d1.json"
sha256sum "$JOBS/$REF.json" "$JOBS/job-00000000000000d1.json" > "$T/bad.sha"
lc_agent provision "$O1"
expect_rc 2 "provision refuses"
expect_err "job files .*$REF.json \(not valid JSON at line 5\)" "the corrupt file named, with why"
expect_err "job files .*job-00000000000000d1.json \(schema 99 is newer than this qscd-agent understands" \
    "the newer file named, with why"
expect_err "one may belong to order $O1: repair or move them aside, then run again" "and what to do"
sha256sum -c --quiet "$T/bad.sha" && pass "both left byte for byte" || fail "a file was changed"

echo "an order whose job is readable is not stopped by them"
lc_agent status "$ORDER_D" --json
[ "$(json_get "$T/out" 0.job.ref)" = "$DRAFT" ] && pass "the other job is still found" ||
    fail "the other job: $(head -3 "$T/out")"

echo "moved aside, provision proceeds"
mkdir -p "$T/aside"
mv "$JOBS/$REF.json" "$JOBS/job-00000000000000d1.json" "$T/aside/"
lc_agent provision "$O1" --wait --poll-interval 0.1
expect_rc 0 "provision after the files were moved aside"
[ "$(lc_count TA cert 51)" = 1 ] && pass "one certificate installed" || fail "$(lc_count TA cert 51) certificates"

finish
