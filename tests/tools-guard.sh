#!/bin/bash
# The guard `make check` runs first (tests/run-all.sh): every program the
# tests, the demo and the benchmarks run (tests/tools.list, the tests' whole
# PATH: see tests/tools.sh), every file they use by path, and every library
# the build links must come from a package that tests/deps.sh names, or from
# one of those packages' dependencies (Depends/PreDepends, recursively, as
# `apt-cache depends --installed` shows them; Recommends do not count, as
# deps.sh installs with --no-install-recommends).  So the answer does not
# depend on what else this machine has installed.
#
#   - a program of the list: `command -v` on the system PATH, its real path,
#     `dpkg -S`: the package must be covered, and be the one the list names;
#   - a program or module the test scripts name by absolute path
#     (/usr/bin/vicc, the shebangs, /usr/lib/.../*.so) must be in the list;
#   - a library: every `pkg-config` module the Makefile and the tests use,
#     `pkg-config --libs` -> each -lNAME's libNAME.so -> `dpkg -S`; plus the
#     Makefile's literal -lNAME.
#
# usage: tests/tools-guard.sh     (env TOOLS_GUARD_DROP="PKG...": act as if
# deps.sh did not name PKG, to prove that the guard notices; its own test)
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/tools.sh
passed=0; failed=0
ok()  { passed=$((passed + 1)); [ -n "${GUARD_VERBOSE:-}" ] && echo "  ok: $*"; return 0; }
bad() { failed=$((failed + 1)); echo "  FAIL: $*"; }
ARCH=$(dpkg --print-architecture)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qscd-tools-guard.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

# --- what deps.sh installs, and everything that brings --------------------------
DEPS=$(tests/deps.sh --list) || { echo "tools: tests/deps.sh --list failed"; exit 2; }
for d in ${TOOLS_GUARD_DROP:-}; do
    DEPS=$(printf '%s\n' $DEPS | grep -vx -- "$d")
done
declare -A COVERED=()
not_installed=""
for p in $DEPS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        not_installed="$not_installed $p"
done
[ -z "$not_installed" ] || bad "deps.sh names packages that are not installed (run make deps):$not_installed"
# Every package reached: the names at column 0 (the packages visited) and
# every Depends/PreDepends target and provider of a virtual one.  The whole
# graph is kept for `brings`.
apt-cache depends --installed --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $DEPS > "$TMP/depends" 2>/dev/null
while read -r w; do
    [ -n "$w" ] && COVERED[$w]=1
done < <(sed -e 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: *//' -e 's/^ *//' -e 's/[<>]//g' \
             -e 's/:.*//' "$TMP/depends" | sort -u)
echo "tools: deps.sh names $(printf '%s\n' $DEPS | wc -w) packages; with their dependencies ${#COVERED[@]}"

# candidates PATH: the path given, each link on the way to the real one,
# the real one, and their /usr-merged twins: the names dpkg may know it by.
declare -A CANDS=()
candidates() {
    local p=$1 c out="" seen=""
    while [ -n "$p" ] && [[ " $seen " != *" $p "* ]]; do
        seen="$seen $p"
        out="$out $p"
        [ -L "$p" ] || break
        c=$(readlink "$p")
        case "$c" in /*) p=$c ;; *) p="$(dirname "$p")/$c" ;; esac
    done
    out="$out $(readlink -f "$1")"
    for c in $out; do printf '%s\n' "$c" "${c#/usr}" "/usr$c"; done
}

# owner PATH: the package that ships PATH (fails when none), as `dpkg -S`
# answers, from dpkg's own lists (OWNER, read once for every path at the end).
owner() {
    local c
    for c in ${CANDS[$1]}; do
        [ -n "${OWNER[$c]:-}" ] && { echo "${OWNER[$c]}"; return 0; }
    done
    return 1
}

# brings PKG OWNER: OWNER is PKG or one of its dependencies (Depends and
# PreDepends, recursively), from the graph apt-cache gave above.
brings() {
    [ "$1" = "$2" ] && return 0
    awk -v start="$1" -v want="$2" '
        function norm(x) { gsub(/[<>]/, "", x); sub(/:.*/, "", x); return x }
        /^[^ ]/ { cur = norm($1); next }
        { l = $0; sub(/^ *\|?(Pre)?Depends: */, "", l); sub(/^ */, "", l); l = norm(l)
          if (l != "") edge[cur] = edge[cur] " " l }
        END { q[1] = start; seen[start] = 1; n = 1
              for (i = 1; i <= n; i++) { k = split(edge[q[i]], a, " ")
                  for (j = 1; j <= k; j++) if (!(a[j] in seen)) { seen[a[j]] = 1; q[++n] = a[j] } }
              exit !(want in seen) }' "$TMP/depends"
}

# covers WHAT PATH [LISTED_PKG]: WHAT, found at PATH, must be covered (and
# the package tools.list names for it, the one to install, must bring it);
# judged at the end, once dpkg's lists have been read for every path.
ITEMS=()
covers() {
    ITEMS+=("$1"$'\t'"$2"$'\t'"${3:-}")
    [ -n "${CANDS[$2]:-}" ] || CANDS[$2]=$(candidates "$2" | sort -u | tr '\n' ' ')
}
judge() {
    local what=$1 path=$2 listed=${3:-} pkg
    if ! pkg=$(owner "$path"); then
        bad "$what ($path) belongs to no Debian package"
        return
    fi
    if [ -z "${COVERED[$pkg]:-}" ]; then
        bad "$what ($path) is in package $pkg, which tests/deps.sh does not install: add $pkg to deps.sh"
    elif [ -n "$listed" ] && [ -z "${COVERED[$listed]:-}" ]; then
        bad "$what: tests/tools.list names package $listed, which tests/deps.sh does not install"
    elif [ -n "$listed" ] && ! brings "$listed" "$pkg"; then
        bad "$what: tests/tools.list names package $listed, but $path is in $pkg, which $listed does not bring"
    else
        ok "$what: $pkg"
    fi
}

# --- the programs and files of tools.list ------------------------------------------
declare -A LISTED=()
while read -r name pkg; do
    LISTED[$name]=1; LISTED[${name##*/}]=1
    [ -n "$pkg" ] || { bad "tools.list: $name has no package"; continue; }
    case "$name" in
        /*) path=$name; [ -e "$path" ] || path="" ;;
        *)  path=$(PATH=$TOOLS_SYSPATH type -P "$name") || path="" ;;
    esac
    if [ -z "$path" ]; then
        if [ -n "${COVERED[$pkg]:-}" ]; then
            bad "$name is not installed (package $pkg: run make deps)"
        else
            bad "$name is not installed, and its package $pkg is not in tests/deps.sh"
        fi
        continue
    fi
    covers "$name" "$path" "$pkg"
done < <(tools_entries)

# --- programs and modules the scripts name by absolute path ---------------------------
SCRIPTS=$(ls tests/*.sh tests/*/*.sh tests/*/*.py 2>/dev/null)
for p in $( { grep -ohE '(^|[^A-Za-z0-9_.$/-])/(usr/)?s?bin/[A-Za-z0-9_.+-]*[A-Za-z0-9_+-]' $SCRIPTS
              grep -ohE '/usr/lib/[A-Za-z0-9_./+-]*\.so\b' $SCRIPTS; } |
           sed 's|^[^/]*||' | sort -u); do
    case "$p" in */qscd-agent*) continue ;; esac      # ours, as installed
    [ -n "${LISTED[$p]:-}" ] && continue
    bad "$p is named in $(grep -lF -- "$p" $SCRIPTS | head -3 | tr '\n' ' ')but not in tests/tools.list"
done

# --- the libraries the build links ---------------------------------------------------
# pkg-config modules named in the Makefile (with its PKGS-style variables
# expanded one level) and in the tests.
mf_var() { sed -n "s/^$1[[:space:]]*[:?]\{0,1\}=[[:space:]]*//p" Makefile | head -1; }
MODS=""
for words in $(grep -ohE 'pkg-config (--[a-z-]+ +)+[^)`;|&]*' Makefile $SCRIPTS |
               sed -E 's/pkg-config (--[a-z-]+ +)+//; s/2>.*//; s/ +/,/g'); do
    for m in ${words//,/ }; do
        case "$m" in
            '$('*')') MODS="$MODS $(mf_var "${m:2:${#m}-3}")" ;;
            '$'*|'"'*|-*) ;;
            *) MODS="$MODS $m" ;;
        esac
    done
done
MODS=$(printf '%s\n' $MODS | sort -u)
LIBDIRS="$(gcc -print-multiarch 2>/dev/null | sed 's|^|/usr/lib/|') /usr/lib /lib/$ARCH-linux-gnu"
LFLAGS=$(grep -ohE '(^|[[:space:]])-l[A-Za-z0-9_+-]+' Makefile | tr -d ' \t' | sort -u)
for m in $MODS; do
    if ! libs=$(pkg-config --libs "$m" 2>/dev/null); then
        bad "pkg-config module $m is not installed (run make deps)"; continue
    fi
    pc=$(pkg-config --variable=pcfiledir "$m")/$m.pc
    [ -f "$pc" ] && covers "pkg-config $m" "$pc"
    LFLAGS="$LFLAGS $libs"
done
for f in $(printf '%s\n' $LFLAGS | sort -u); do
    case "$f" in -l*) ;; *) continue ;; esac
    l=${f#-l}; found=""
    for d in $LIBDIRS; do
        for ext in so a; do
            [ -e "$d/lib$l.$ext" ] && { found="$d/lib$l.$ext"; break 2; }
        done
    done
    if [ -z "$found" ]; then bad "library -l$l: no lib$l.so or .a in $LIBDIRS"; continue; fi
    covers "library -l$l" "$found"
done

# --- judge: which package ships each path ----------------------------------------
declare -A OWNER=()
printf '%s\n' ${CANDS[@]} | sort -u > "$TMP/want"
while IFS=$'\t' read -r f pkg; do
    [ -z "${OWNER[$f]:-}" ] && OWNER[$f]=$pkg
done < <(awk 'NR == FNR { want[$0] = 1; next }
              ($0 in want) { f = FILENAME; sub(/.*\//, "", f); sub(/\.list$/, "", f); sub(/:.*/, "", f)
                             print $0 "\t" f }' "$TMP/want" /var/lib/dpkg/info/*.list)
for item in "${ITEMS[@]}"; do
    IFS=$'\t' read -r what path listed <<< "$item"
    judge "$what" "$path" "$listed"
done

echo "tools: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
