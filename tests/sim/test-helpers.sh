# Helpers for the simulator's integration tests (sourced after lib.sh).
# SEED: the seed document's example order, fixed to be valid JSON.
SEED="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/seed-order.json"

http() {   # http OUT METHOD PATH [curl args...]: API call, status in $CODE
    local out=$1 m=$2 p=$3; shift 3
    CODE=$(curl -sS --cacert "$SIM_CA" -X "$m" -H "X-DC-DEVKEY: $SIM_API_KEY" \
        -o "$out" -w '%{http_code}' "$@" "$SIM_URL$p" 2> "$T/curl.err")
}
json_post() {  # json_post OUT PATH FILE
    http "$1" POST "$2" -H 'Content-Type: application/json' --data-binary @"$3"
}
expect_code() {  # expect_code WANT DESC
    if [ "$CODE" = "$1" ]; then pass "$2 (HTTP $CODE)"; else fail "$2: HTTP $CODE, expected $1"; cat "$T/r.json" 2>/dev/null; fi
}
expect_json() {  # expect_json FILE EXPR WANT DESC
    local got
    got=$(json_get "$1" "$2" 2>/dev/null)
    if [ "$got" = "$3" ]; then pass "$4"; else fail "$4: $2 is '$got', expected '$3'"; fi
}
count_certs() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1"; }
split_bundle() {  # split_bundle BUNDLE PREFIX -> PREFIX1.pem PREFIX2.pem ...
    awk -v p="$2" '/-----BEGIN/{n++} n{print > (p n ".pem")}' "$1"
}
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum; }
pub_of_key() { openssl pkey -in "$1" -pubout -outform DER | sha256sum; }

