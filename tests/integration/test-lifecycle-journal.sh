#!/bin/bash
# The journal as the commands see it: `status` with several jobs in
# different states (one line each, exit 0 only when every listed job is
# ready), a corrupt and a newer-schema job file (reported, left byte for
# byte), two provisions of one job at once (serialised by the lock: one
# works, the other is told who has it), and the write sequence of a commit
# (temp file, fsync, rename, fsync of the directory) as strace sees it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup
export QSCD_P11FAULT_MODULE="$SOFTHSM_MODULE"
JOBS="$QSCD_STATE_DIR/jobs"

echo "three jobs: ready, pending, rejected"
plug A; lc_token TA 51
lc_submit; READY=$ORDER; lc_ship "$READY" "$T/TA.pub.pem"
lc_agent provision "$READY" --wait --poll-interval 0.1
expect_rc 0 "job 1 provisioned"
lc_submit; PENDING=$ORDER
lc_submit; REJECTED=$ORDER
sim_admin POST /reject "{\"order_id\": $REJECTED}" > /dev/null
lc_agent provision "$REJECTED"
expect_rc 6 "job 3 rejected"
lc_agent status
expect_rc 7 "status: not every job is ready, and the rejected one needs attention"
[ "$(grep -c '^order ' "$T/out")" = 3 ] && pass "one line per job" || fail "$(grep -c '^order ' "$T/out") lines"
expect_out "^order $READY \(job-[0-9a-f]+\): READY; order certificate_ready; token TA serial [0-9a-f]+, present; PIN ok; key 51; certificate installed and matching; 3[0-9][0-9] days to expiry; next: nothing: ready" \
    "ready job: order state, token, PIN, key, certificate, expiry, next"
expect_out "^order $PENDING \(job-[0-9a-f]+\): not ready; order pending; no token bound; .*next: follow the order" \
    "pending job: what happens next"
expect_out "^order $REJECTED \(job-[0-9a-f]+\): not ready; order rejected; .*next: the order was rejected" \
    "rejected job"
lc_agent status "$READY"
expect_rc 0 "status of the ready job alone: 0"
lc_agent status "$PENDING"
expect_rc 1 "status of the pending job alone: 1"

echo "a corrupt and a newer-schema job file"
REF=$(lc_job_field "$READY" ref)
printf '{\n  "schema": 1,\n  "ref": oops\n' > "$JOBS/job-00000000000000c0.json"
sed -e 's/"schema":[[:space:]]*1/"schema": 99/' -e "s/$REF/job-00000000000000c1/" \
    "$JOBS/$REF.json" > "$JOBS/job-00000000000000c1.json"
sha256sum "$JOBS"/job-00000000000000c[01].json > "$T/bad.sha"
lc_agent status
expect_rc 7 "status with unreadable job files: not 0 (7: the rejected job above needs attention)"
expect_err "job-00000000000000c0.json: not valid JSON at line 3" "the corrupt file is named, with where"
expect_err "job-00000000000000c1.json: schema 99 is newer than this qscd-agent understands" \
    "the newer file is named, with what to do"
[ "$(grep -c '^order ' "$T/out")" = 3 ] && pass "the readable jobs are still listed" ||
    fail "$(grep -c '^order ' "$T/out") jobs listed"
lc_agent status --json
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 3' "$T/out" &&
    pass "status --json: valid JSON, three jobs" || fail "status --json output"
lc_agent provision "$READY"
expect_rc 0 "provision of another job is not stopped by them"
lc_agent order submit "$EXAMPLE_REQUEST"
expect_rc 0 "order submit (which reads every job) is not stopped by them"
sha256sum -c --quiet "$T/bad.sha" && pass "both files left byte for byte" ||
    fail "an unreadable job file was changed"
rm -f "$JOBS"/job-00000000000000c[01].json

echo "two provisions of one job at once"
plug B; lc_token TB 51
lc_submit; ORDER_B=$ORDER; lc_ship "$ORDER_B" "$T/TB.pub.pem"
for i in 1 2; do
    QSCD_P11FAULT_LATENCY_MS=C_Login:1500 "$QSCD_AGENT" --module "$QSCD_P11FAULT" \
        --pin-source "file:$T/pin" provision "$ORDER_B" --wait --poll-interval 0.1 \
        > "$T/par$i.out" 2> "$T/par$i.err" < /dev/null &
    eval "P$i=\$!"; track_pid "$!"
done
wait "$P1"; R1=$?; wait "$P2"; R2=$?
untrack_pid "$P1"; untrack_pid "$P2"
[ "$(printf '%s\n' "$R1" "$R2" | sort | tr '\n' ' ')" = "0 1 " ] &&
    pass "one completes, the other stops (exits $R1, $R2)" || fail "exits $R1 and $R2"
grep -Eq "job job-[0-9a-f]+ is being worked on by another qscd-agent" \
    "$T/par1.err" "$T/par2.err" && pass "the other is told which process has the job" ||
    fail "no 'being worked on' message"
[ "$(lc_count TB cert 51)" = 1 ] && pass "one certificate for the key" ||
    fail "$(lc_count TB cert 51) certificates"
lc_agent provision "$ORDER_B"
expect_rc 0 "afterwards the job is ready"

echo "a commit's write sequence"
lc_submit
strace -f -qq -s 4096 -e trace=openat,fsync,rename,link,write -o "$T/strace" \
    "$QSCD_AGENT" --module "$SOFTHSM_MODULE" provision "$ORDER" > /dev/null 2>&1
python3 - "$T/strace" "$JOBS" <<'EOF' && pass "temp file written, fsynced, renamed over the job file, then the directory fsynced" || fail "write sequence wrong (see above)"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
jobs = sys.argv[2]
fds, ev = {}, []
for l in lines:
    m = re.search(r'openat\(AT_FDCWD, "([^"]+)".*\) = (\d+)', l)
    if m:
        path = m.group(1).rstrip("/")
        fds[m.group(2)] = path
        if path.startswith(jobs + "/.") or path == jobs:
            ev.append(("open", path))
        continue
    m = re.search(r'(fsync|write)\((\d+)[,)]', l)
    if m and fds.get(m.group(2), "").startswith(jobs):
        ev.append((m.group(1), fds[m.group(2)]))
        continue
    m = re.search(r'rename\("([^"]+)", "([^"]+)"\) = 0', l)
    if m and m.group(2).startswith(jobs + "/job-"):
        ev.append(("rename", m.group(1), m.group(2)))
renames = [i for i, e in enumerate(ev) if e[0] == "rename"]
if not renames:
    print("no rename of a job file", ev); sys.exit(1)
for i in renames:
    tmp = ev[i][1]
    before = [e[0] for e in ev[:i] if e[1] == tmp]
    after = [e for e in ev[i + 1:] if e[1] == jobs]
    if "write" not in before or "fsync" not in before or before.index("fsync") < before.index("write"):
        print("temp file not written then fsynced before rename:", tmp, before); sys.exit(1)
    if not any(e[0] == "fsync" for e in after[:2]):
        print("directory not fsynced after rename of", tmp, ev[i:i + 4]); sys.exit(1)
print(len(renames), "commits checked")
EOF

finish
