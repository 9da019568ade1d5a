#!/bin/bash
# The parts are built with the include path of what they may use and no
# more (Makefile, USES_<part>; design.md "Architecture"), so a forbidden
# include fails to compile.  Each probe is one #include compiled with a
# part's own flags, taken from the Makefile: the allowed ones must compile
# (the probe itself works), the forbidden ones must not.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2

PKG_CFLAGS=$(pkg-config --cflags libcurl libcjson openssl p11-kit-1 libpcsclite)

# probe PART HEADER: 0 when "#include HEADER" compiles with PART's flags.
probe() {
    local flags
    flags=$(make -s --no-print-directory part-cflags PART="$1") || return 2
    printf '#include "%s"\nint qscd_probe;\n' "$2" > "$T/probe.c"
    # shellcheck disable=SC2086
    cc -std=gnu11 -D_GNU_SOURCE -fsyntax-only $PKG_CFLAGS $flags "$T/probe.c" 2> "$T/probe.err"
}

allowed() {
    if probe "$1" "$2"; then pass "$1 may include $2"
    else fail "$1 cannot include $2, which it may use: $(head -1 "$T/probe.err")"; fi
}

forbidden() {
    if probe "$1" "$2"; then
        fail "$1 can include $2 ($3)"
    elif grep -q "$2: No such file" "$T/probe.err"; then
        pass "$1 cannot include $2 ($3)"
    else
        fail "$1 + $2 failed for another reason: $(head -1 "$T/probe.err")"
    fi
}

allowed   token   token.h
allowed   token   x509.h
forbidden token   http.h            "the token layer never reaches HTTP"
forbidden token   order.h           "nor CertCentral"
forbidden token   journal.h         "nor the state"
allowed   order   http.h
forbidden order   token.h           "the order client never reaches PKCS#11"
forbidden order   journal.h         "nor the state"
forbidden http    order.h           "HTTP knows nothing of orders"
forbidden x509    token.h           "x509 is pure OpenSSL"
allowed   journal lifecycle.h
forbidden journal order.h           "the store keeps facts, it calls nobody"
allowed   core    order.h
allowed   core    token.h
allowed   core    journal.h
forbidden core    cli.h             "the core never reaches the CLI"
forbidden core    http.h            "the core reaches CertCentral through the order client"
forbidden core    cli_progress_int.h "nor the CLI's status line"
forbidden core    watch.h           "nor watch"
forbidden common  token.h           "common primitives depend on nothing"
allowed   watch   lifecycle_engine.h
forbidden watch   cli.h             "watch is a front end beside the CLI, not below it"
forbidden watch   cli_report_int.h  "nor the CLI's private parts"
allowed   cli     lifecycle_engine.h

# Every part's own sources compile with those flags: the build says so,
# and this checks the build used them (no -Iinclude for all).
if make -s --no-print-directory -n "build/obj/pkcs11/token_pin.o" -W pkcs11/token_pin.c 2>/dev/null |
   grep -q -- '-Iinclude/token' &&
   ! make -s --no-print-directory -n "build/obj/pkcs11/token_pin.o" -W pkcs11/token_pin.c |
   grep -q -- '-Iinclude/http'; then
    pass "the token layer's objects are built with its own include path"
else
    fail "token_pin.o is not built with the token layer's include path"
fi
# The picture in docs/lifecycle.md is drawn from the same rules.
if make -s --no-print-directory architecture-dot | cmp -s - docs/architecture.dot; then
    pass "docs/architecture.dot is what the Makefile's rules draw"
else
    fail "docs/architecture.dot differs from 'make architecture-dot': regenerate it (docs/lifecycle.md)"
fi
finish
