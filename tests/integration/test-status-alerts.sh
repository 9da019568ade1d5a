#!/bin/bash
# `status` alerts and the exit code monitors read (0 ready, 1 not ready, 7
# needs attention): a certificate expiring within expiry-warn (option,
# environment, config file), a job stuck at approval for longer than
# stuck-after, a token that holds another certificate than the job's; and
# `--prometheus FILE` in node_exporter's textfile format, written whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup --issue-days 30
JOBS="$QSCD_STATE_DIR/jobs"

echo "a certificate valid for 30 days"
plug A; lc_token TA 51
lc_submit; READY=$ORDER; lc_ship "$READY" "$T/TA.pub.pem"
lc_agent provision "$READY" --wait --poll-interval 0.1
expect_rc 0 "provisioned"
lc_agent status
expect_rc 7 "status: expires within the default 60 days: needs attention (7)"
expect_out "^  ALERT expiring: certificate expires in (29|30) days \(expiry-warn 60\)" "the expiry alert, with the threshold"
lc_agent status --expiry-warn 20
expect_rc 0 "--expiry-warn 20: ready, no alert"
QSCD_EXPIRY_WARN=20 lc_agent status
expect_rc 0 "QSCD_EXPIRY_WARN=20: the same"
printf 'expiry-warn = 20\n' > "$T/agent.conf"
lc_agent --config "$T/agent.conf" status
expect_rc 0 "expiry-warn = 20 in the config file: the same"
lc_agent status --expiry-warn soon
expect_rc 2 "--expiry-warn soon refused"
expect_err 'expiry-warn: must be a whole number of days' "the message names expiry-warn"
QSCD_STUCK_AFTER=-1 lc_agent status
expect_rc 2 "QSCD_STUCK_AFTER=-1 refused"

echo "a job stuck at approval"
lc_submit; STUCK=$ORDER
lc_agent status "$STUCK" --expiry-warn 20
expect_rc 1 "a fresh pending job: not ready, not stuck"
# Ten days without a change: the job file as it would be after them.
python3 - "$JOBS" "$STUCK" <<'EOP'
import json, os, sys, time
old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10 * 86400))
for f in os.listdir(sys.argv[1]):
    p = os.path.join(sys.argv[1], f)
    if not f.endswith(".json"):
        continue
    j = json.load(open(p))
    if j["order"]["id"] != sys.argv[2]:
        continue
    j["created"] = old
    for t in j["transitions"]:
        t["at"] = old
    # A serial with the characters the exposition format escapes.
    j["device"]["token"] = {"serial": 'x"y\\z\nw', "manufacturer": None, "model": None,
                            "label": None, "uri": None}
    json.dump(j, open(p, "w"))
EOP
lc_agent status "$STUCK" --expiry-warn 20
expect_rc 7 "ten days at approval: needs attention"
expect_out "^  ALERT stuck: stuck at approval: no change for 10 days \(stuck-after 7\)" "stuck, with the step named"
lc_agent status "$STUCK" --stuck-after 30
expect_rc 1 "--stuck-after 30: not ready, not stuck"
lc_agent --json status "$STUCK" --expiry-warn 20
python3 - "$T/out" > "$T/chk" <<'EOP'
import json, sys
j = json.load(open(sys.argv[1]))[0]
print(j["stuck"], j["waiting_for"], j["alerts"][0]["kind"], j["alerts"][0]["step"])
EOP
[ "$(cat "$T/chk")" = "True approval stuck approval" ] && pass "--json: stuck, the step, the alert" ||
    fail "--json: $(cat "$T/chk")"

echo "--prometheus"
mkdir -p "$T/prom"
lc_agent status --expiry-warn 20 --prometheus "$T/prom/qscd-agent.prom"
expect_rc 7 "status --prometheus: still needs attention"
[ "$(stat -c %a "$T/prom/qscd-agent.prom")" = 644 ] && pass "metrics file mode 0644 (the collector reads it)" ||
    fail "mode $(stat -c %a "$T/prom/qscd-agent.prom")"
[ "$(ls -A "$T/prom")" = qscd-agent.prom ] && pass "no temporary file left" || fail "left: $(ls -A "$T/prom")"
python3 - "$T/prom/qscd-agent.prom" "$READY" "$STUCK" > "$T/chk" 2>&1 <<'EOP'
import re, sys, time
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "no final newline"
line_re = re.compile(r'^([a-z_]+)(\{(.*)\})? (-?[0-9.e+]+)$')
label_re = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"(,|$)')
series, types = {}, {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        types[name] = kind
        continue
    if line.startswith("#"):
        continue
    m = line_re.match(line)
    assert m, "not an exposition line: %r" % line
    labels = {}
    rest = m.group(3) or ""
    while rest:
        lm = label_re.match(rest)
        assert lm, "bad labels: %r" % rest
        labels[lm.group(1)] = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1), lm.group(2))
        rest = rest[lm.end():]
    key = (m.group(1), tuple(sorted(labels.items())))
    assert key not in series, "duplicate series %r" % (key,)
    series[key] = float(m.group(4))
    assert types.get(m.group(1)) == "gauge", "no TYPE for " + m.group(1)
def get(name, order):
    return [(dict(k[1]), v) for k, v in series.items() if k[0] == name and dict(k[1]).get("order_id") == order]
ready = get("qscd_job_ready", sys.argv[2])
assert ready and ready[0][1] == 1, ready
assert ready[0][0]["state"] == "certificate_ready/verified", ready
exp = get("qscd_certificate_expiry_timestamp_seconds", sys.argv[2])
assert exp and 28 * 86400 < exp[0][1] - time.time() < 31 * 86400, exp
stuck = get("qscd_job_stuck", sys.argv[3])
assert stuck and stuck[0][1] == 1 and stuck[0][0]["token_serial"] == 'x"y\\z\nw', stuck
since = get("qscd_job_state_since_timestamp_seconds", sys.argv[3])
assert since and 9 * 86400 < time.time() - since[0][1] < 11 * 86400, since
assert get("qscd_job_stuck", sys.argv[2])[0][1] == 0
assert series[("qscd_refresh_timestamp_seconds", ())] == 0, "never refreshed"
print("ok", len(series))
EOP
grep -q '^ok' "$T/chk" && pass "textfile: exposition format, labels escaped, values ($(cat "$T/chk"))" ||
    fail "textfile: $(cat "$T/chk")"
lc_agent status --refresh --prometheus "$T/prom/qscd-agent.prom" --expiry-warn 20
grep -Eq '^qscd_refresh_timestamp_seconds [1-9][0-9]+$' "$T/prom/qscd-agent.prom" &&
    pass "after --refresh: qscd_refresh_timestamp_seconds set" || fail "$(grep refresh_timestamp "$T/prom/qscd-agent.prom")"
lc_agent status --prometheus "$T/nodir/x.prom"
expect_rc 2 "--prometheus into a missing directory: refused"
expect_err 'prometheus .*/nodir/x.prom: cannot' "the message names the file"

echo "the token holds another certificate"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label TA --login --pin "$LC_PIN" \
    --delete-object --type cert --id 51 > /dev/null 2>&1
openssl x509 -in "$T/sim/issuing-chain.pem" -outform DER -out "$T/other.der"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label TA --login --pin "$LC_PIN" \
    --write-object "$T/other.der" --type cert --id 52 --label other > /dev/null 2>&1
lc_agent status "$READY" --expiry-warn 20
expect_rc 7 "status: the token shows another certificate: needs attention"
expect_out "certificate another certificate, not this job's" "the certificate is named as another one"
expect_out "^  ALERT other_certificate: token serial [0-9a-f]+ holds another certificate" "the alert names the token"
sim_stop
finish
