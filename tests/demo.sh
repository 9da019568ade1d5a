#!/bin/bash
# make demo: the whole flow on the embedded default — the CertCentral
# simulator on loopback and a SoftHSM2 token standing in for the QSCD that
# DigiCert ships.  Everything runs in a temporary directory; everything it
# starts is stopped, by PID, on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test suite runs this with its own variant of the binaries.
A="${QSCD_AGENT:-$PWD/build/qscd-agent}"
SIM="${QSCD_SIM:-$PWD/build/qscd-sim}"
case "$A" in /*) ;; *) A="$PWD/$A" ;; esac
case "$SIM" in /*) ;; *) SIM="$PWD/$SIM" ;; esac
# Only the demo's own configuration counts.
unset QSCD_API_URL QSCD_API_KEY QSCD_API_KEY_FILE QSCD_CA_FILE QSCD_STATE_DIR \
      QSCD_TRUST_ANCHORS QSCD_PKCS11_MODULE QSCD_TOKEN QSCD_PIN_SOURCE
D=$(mktemp -d "${TMPDIR:-/tmp}/qscd-demo.XXXXXX")
chmod 700 "$D"
SIM_PID=""
cleanup() {
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting the CertCentral simulator on 127.0.0.1"
( umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$D/api-key" )
"$SIM" --port 0 --port-file "$D/port" --dir "$D/sim" --api-key-file "$D/api-key" \
    --approve-after-polls 2 > "$D/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.1; done
[ -s "$D/port" ] || { cat "$D/sim.log"; exit 1; }
PORT=$(cat "$D/port")
export QSCD_CONFIG="$D/qscd-agent.conf"
cat > "$QSCD_CONFIG" <<EOC
api-url = https://127.0.0.1:$PORT/services/v2
api-key-file = $D/api-key
ca-file = $D/sim/ca.pem
# The roots an issued certificate must chain to: here the simulator's test
# root; in production the qualified roots you accept (qscd-agent(1)).
trust-anchors = $D/sim/root.pem
state-dir = $D/state
# The SoftHSM2 token stands in for the QSCD; a real one is found through
# p11-kit's registered modules (OpenSC) when no module is named.
module = /usr/lib/softhsm/libsofthsm2.so
EOC
echo "simulator: https://127.0.0.1:$PORT (config in $QSCD_CONFIG)"

say "Creating the \"shipped\" token: SoftHSM2 with a key generated on it"
mkdir -p "$D/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$D/tokens" > "$D/softhsm2.conf"
export SOFTHSM2_CONF="$D/softhsm2.conf"
PIN=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ' | cut -c1-6)
softhsm2-util --init-token --free --label "QSCD-DEMO" --pin "$PIN" --so-pin 87654321 >/dev/null
( umask 077; printf '%s\n' "$PIN" > "$D/pin" )
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label QSCD-DEMO \
    --login --pin "$PIN" --keypairgen --key-type rsa:3072 --id 51 --label "eSeal key" >/dev/null
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label QSCD-DEMO \
    --read-object --type pubkey --id 51 -o "$D/pub.der" >/dev/null
openssl pkey -pubin -inform DER -in "$D/pub.der" -out "$D/pub.pem"

say "qscd-agent order submit docs/examples/pkio-qualified-eseal-order.json"
"$A" --json order submit docs/examples/pkio-qualified-eseal-order.json | tee "$D/submit.json"
ORDER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["order_id"])' "$D/submit.json")

say "DigiCert ships the token: the simulator learns the key on it"
curl -sS --cacert "$D/sim/ca.pem" -X POST -H 'Content-Type: application/json' \
    --data "$(python3 -c 'import json,sys; print(json.dumps({"order_id":int(sys.argv[1]),"public_key_pem":open(sys.argv[2]).read()}))' "$ORDER" "$D/pub.pem")" \
    "https://127.0.0.1:$PORT/_sim/ship" >/dev/null
echo "token QSCD-DEMO shipped for order $ORDER"

say "qscd-agent provision $ORDER --wait   (PIN from a file, never argv)"
QSCD_POLL_INTERVAL=0.5 "$A" --pin-source "file:$D/pin" provision "$ORDER" --wait

say "qscd-agent status"
"$A" status || true

say "The token, as pkcs11-tool sees it"
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label QSCD-DEMO \
    --login --pin "$PIN" -O 2>/dev/null | sed -n '1,200p'

say "Done: the certificate sits next to the key DigiCert generated."
