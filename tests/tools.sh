# The programs the tests may run: sourced by tests/integration/lib.sh (so by
# every integration test, tests/demo.sh under test-demo, tests/bench/run.sh
# and the fuzzer under test-fuzz).  tests/tools.list is the one list of them;
# tools_path builds a directory holding exactly those programs and makes it
# the whole PATH, so a test that runs a program not in the list fails
# ("command not found"), and tests/tools-guard.sh (run by `make check`)
# proves that every program in the list comes from a package tests/deps.sh
# installs.  Programs are taken from the system's directories only, never
# from /usr/local or a developer's ~/bin, so what runs is what Debian ships.

TOOLS_LIST="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tools.list"
TOOLS_SYSPATH=/usr/sbin:/usr/bin:/sbin:/bin

# tools_entries: "NAME PACKAGE" for every entry of tools.list.
tools_entries() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOOLS_LIST" | awk '{ print $1, $2 }'
}

# tools_path DIR: DIR/ holds a symlink for every program of the list found
# in TOOLS_SYSPATH and, for one that is not installed, a stand-in that says
# which package ships it and fails; then PATH=DIR.  Entries that are
# absolute paths (files the tests use by path) are only checked by the guard.
tools_path() {
    local dir=$1 name pkg p magic links=()
    mkdir -p "$dir" || return 1
    [ -r "$TOOLS_LIST" ] || { echo "tools: $TOOLS_LIST missing" >&2; return 1; }
    while read -r name pkg; do
        case "$name" in /*) continue ;; esac
        if p=$(PATH=$TOOLS_SYSPATH type -P "$name"); then
            # A script may find its parts from $0 (valgrind runs $0.bin):
            # it gets a wrapper that runs it by its real name; binaries a link.
            magic=""
            IFS= read -r -n 2 magic < "$p" 2>/dev/null
            if [ "$magic" = "#!" ]; then
                printf '#!/bin/sh\nexec %q "$@"\n' "$p" > "$dir/$name" && chmod 755 "$dir/$name"
            else
                links+=("$p")
            fi
        else
            printf '#!/bin/sh\necho "%s: not installed (Debian package %s; run make deps)" >&2\nexit 127\n' \
                "$name" "$pkg" > "$dir/$name"
            chmod 755 "$dir/$name"
        fi
    done < <(tools_entries)
    [ ${#links[@]} -gt 0 ] && ln -s -t "$dir" "${links[@]}"
    PATH=$dir
    export PATH
    hash -r
}

# A program that is not in the list: say so, so the fix is obvious.
command_not_found_handle() {
    echo "$1: not in tests/tools.list, so not on the tests' PATH (add it with its Debian package)" >&2
    return 127
}
