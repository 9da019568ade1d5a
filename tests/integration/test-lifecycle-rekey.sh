#!/bin/bash
# provision --generate-key on a blank token: key pair generated on the
# token, CSR signed there, reissue requested and followed, certificate
# installed.  Killed after any journal commit (the hooks build, commit by
# commit), the re-run completes with one key pair and one certificate: a
# key generated before the reissue was sent is used again, not doubled.
# A lost reply to the reissue POST is followed, on the re-run, by a look
# at the order's requests: the stored reissue is adopted, not sent again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-helpers.sh"

lc_setup

echo "blank token"
plug blank; softhsm_token BLANK "$LC_PIN"
lc_submit
lc_agent provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
expect_rc 0 "provision --generate-key completes"
expect_err "key generated on token \"BLANK\"" "key generated"
expect_err "reissue requested" "reissue sent"
expect_err "read back: identical" "certificate verified"
[ "$(lc_count BLANK privkey)/$(lc_count BLANK cert)" = 1/2 ] &&
    pass "one private key, leaf + intermediate" || fail "objects: $(lc_count BLANK privkey)/$(lc_count BLANK cert)"
KEY=$(lc_job_field "$ORDER" device.key_id)
[ "$(lc_count BLANK cert "$KEY")" = 1 ] && pass "the certificate sits next to the new key $KEY" ||
    fail "no certificate for key $KEY"
sim_admin GET /stats > "$T/stats.json"
[ "$(python3 -c 'import json,sys
print(sum(1 for e in json.load(open(sys.argv[1]))["log"] if e["path"].endswith("/reissue")))' "$T/stats.json")" = 1 ] &&
    pass "one reissue" || fail "reissue count wrong"

echo "a token that already holds a key"
plug full; lc_token FULL 51
lc_submit
lc_agent provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
expect_rc 4 "--generate-key refuses a token with a key"
[ "$(lc_count FULL privkey)/$(lc_count FULL cert)" = 1/0 ] && pass "nothing written" ||
    fail "objects on FULL: $(lc_count FULL privkey)/$(lc_count FULL cert)"

echo "killed after each journal commit"
k=1
while [ "$k" -le 40 ]; do
    plug "k$k"; softhsm_token "K$k" "$LC_PIN"
    lc_submit
    QSCD_TEST_CRASH_AFTER=$k lc_hooks provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
    first=$RC
    if [ "$first" = 0 ]; then
        pass "a run with fewer than $k commits completes unharmed"
        break
    fi
    [ "$first" = 137 ] && pass "commit $k: killed" || fail "commit $k: exit $first, expected 137"
    lc_agent provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
    expect_rc 0 "commit $k: re-run completes"
    [ "$(lc_count "K$k" privkey)/$(lc_count "K$k" cert)" = 1/2 ] &&
        pass "commit $k: one key pair, leaf + intermediate" ||
        fail "commit $k: objects $(lc_count "K$k" privkey)/$(lc_count "K$k" cert)"
    [ "$(lc_reissues "$ORDER")" = 1 ] && pass "commit $k: one reissue" ||
        fail "commit $k: $(lc_reissues "$ORDER") reissues of order $ORDER"
    k=$((k + 1))
done
[ "$k" -gt 5 ] && pass "$((k - 1)) crash points exercised" || fail "only $((k - 1)) crash points"

echo "the reply to the reissue is lost"
plug drop; softhsm_token DROP "$LC_PIN"
lc_submit
sim_admin POST /faults '{"drop_after_reissue":1}' > /dev/null || fail "arm drop_after_reissue"
lc_agent provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
expect_rc 3 "provision stops: whether the reissue was stored is unknown"
expect_err "no complete reply came back" "says the reply was lost"
expect_err "not sent again" "and that nothing was re-sent"
[ "$(lc_reissues "$ORDER")" = 1 ] && pass "one reissue sent" ||
    fail "$(lc_reissues "$ORDER") reissues of order $ORDER"
[ "$(lc_job_field "$ORDER" device.rekey.step)" = reissue ] &&
    pass "the journal holds the reissue's write-ahead" ||
    fail "device.rekey.step is '$(lc_job_field "$ORDER" device.rekey.step)'"
lc_agent provision "$ORDER" --generate-key --wait --poll-interval 0.1 --timeout 30
expect_rc 0 "the re-run completes"
expect_err "interrupted reissue was stored by CertCentral \(request [0-9]+\): adopted" \
    "the re-run adopts the stored reissue"
[ "$(lc_reissues "$ORDER")" = 1 ] && pass "still exactly one reissue at the simulator" ||
    fail "$(lc_reissues "$ORDER") reissues of order $ORDER"
[ "$(lc_count DROP privkey)/$(lc_count DROP cert)" = 1/2 ] &&
    pass "one key pair, leaf + intermediate" ||
    fail "objects on DROP: $(lc_count DROP privkey)/$(lc_count DROP cert)"

finish
