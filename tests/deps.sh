#!/bin/sh
# Install the Debian packages that building and testing qscd-agent need,
# only the ones that are missing.  As root: apt-get.  Otherwise: print the
# exact command to run.
set -eu

PKGS="build-essential pkg-config libcurl4-openssl-dev libcjson-dev libp11-kit-dev p11-kit
opensc opensc-pkcs11 libssl-dev openssl libmicrohttpd-dev softhsm2 pcscd libpcsclite-dev
vsmartcard-vpcd python3-virtualsmartcard python3-pycryptodome libcmocka-dev gnutls-bin
scdoc graphviz valgrind udev systemd procps man-db curl python3 bsdutils"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; fetch them once.
    if ! apt-get install -y --no-install-recommends $missing; then
        apt-get update
        apt-get install -y --no-install-recommends $missing
    fi
else
    echo "deps: missing packages:$missing" >&2
    echo "deps: run: sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
