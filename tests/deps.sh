#!/bin/sh
# Install the Debian packages that building qscd-agent, `make demo`, every
# test of `make check` and the benchmarks need, only the ones that are
# missing.  As root: apt-get.  Otherwise: print the exact command to run.
# Always --no-install-recommends, so every package is named here and none
# arrives by accident; tests/tools-guard.sh checks that each program the
# tests run (tests/tools.list) and each library the build links comes from
# one of these or their dependencies.
# usage: tests/deps.sh [--list]    (--list: print the package names only)
set -eu

PKGS="build-essential pkg-config libcurl4-openssl-dev libcjson-dev libp11-kit-dev p11-kit
opensc opensc-pkcs11 libssl-dev openssl libmicrohttpd-dev softhsm2 pcscd libpcsclite-dev
vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard python3-pycryptodome libcmocka-dev
gnutls-bin scdoc graphviz valgrind udev systemd procps man-db curl python3 bsdutils strace
clang libclang-rt-14-dev time git libpq-dev postgresql"
# Essential or required on every Debian system (so nothing is installed for
# them), named all the same: the tests run their programs, and the guard
# wants each package that a program comes from named here or brought by one.
PKGS="$PKGS apt bash coreutils dash diffutils findutils grep libc-bin login mawk sed util-linux"

if [ "${1:-}" = --list ]; then
    printf '%s\n' $PKGS
    exit 0
fi

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
