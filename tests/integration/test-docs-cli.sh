#!/bin/bash
# The manual pages against the program: every global option `qscd-agent
# --help` lists, every command of design.md's contract (and of the contract
# additions), every environment variable and config key cli_config.c reads,
# and every exit code in exit_codes.h must be documented; every config key
# qscd-agent.conf(5) documents must be accepted by the parser, and the
# shipped example configuration must load.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN1_SRC="$ROOT/docs/man/qscd-agent.1.scd"
MAN5_SRC="$ROOT/docs/man/qscd-agent.conf.5.scd"

# Render the pages from source, as `make man` does, and read them as text:
# that checks what a person sees, not the markup.
render() {   # render SRC OUT
    scdoc < "$1" > "$T/page.roff" &&
    MANWIDTH=200 man -l "$T/page.roff" 2>/dev/null | col -bx > "$2"
}
if render "$MAN1_SRC" "$T/man1.txt" && [ -s "$T/man1.txt" ]; then
    pass "qscd-agent.1 renders"
else
    fail "qscd-agent.1 does not render"; finish
fi
if render "$MAN5_SRC" "$T/man5.txt" && [ -s "$T/man5.txt" ]; then
    pass "qscd-agent.conf.5 renders"
else
    fail "qscd-agent.conf.5 does not render"; finish
fi
# Hyphenation could split an option over two lines; join them back.
tr -s ' \n' '  ' < "$T/man1.txt" | sed 's/\([a-z]\)‐ \([a-z]\)/\1\2/g; s/\([a-z]\)- \([a-z]\)/\1-\2/g' > "$T/man1.flat"
tr -s ' \n' '  ' < "$T/man5.txt" | sed 's/\([a-z]\)‐ \([a-z]\)/\1\2/g; s/\([a-z]\)- \([a-z]\)/\1-\2/g' > "$T/man5.flat"

in_man1() { grep -Fq -- "$1" "$T/man1.flat"; }
in_man5() { grep -Fq -- "$1" "$T/man5.flat"; }

# man_section NAME: the text of one top-level section of qscd-agent(1).
man_section() {
    awk -v s="$1" '/^[A-Z]/ { on = ($0 == s) ; next } on' "$T/man1.txt"
}

# --- global options from --help --------------------------------------------
agent --help
expect_rc 0 "qscd-agent --help"
grep -oE '(^|[ ,])--?[a-z][a-z-]*' "$T/out" | tr -d ' ,' | sort -u > "$T/help-opts"
n=$(wc -l < "$T/help-opts")
if [ "$n" -ge 10 ]; then pass "--help lists $n options"; else fail "--help lists only $n options"; fi
man_section "GLOBAL OPTIONS" > "$T/globals.txt"
while read -r opt; do
    if grep -Eq -- "(^|[ ,])$opt([ ,=]|$)" "$T/globals.txt"; then
        pass "global option $opt in GLOBAL OPTIONS"
    else
        fail "global option $opt (from --help) missing in qscd-agent.1 GLOBAL OPTIONS"
    fi
done < "$T/help-opts"

# --- commands from --help and design.md --------------------------------------
sed -n '/^commands:/,/^$/p' "$T/out" | awk 'NF { print $1 }' | grep -v '^commands:' > "$T/help-cmds"
while read -r c; do
    if man_section "COMMANDS" | grep -Eq "^ *$c( |$)"; then
        pass "command $c in COMMANDS"
    else
        fail "command $c (from --help) missing in qscd-agent.1 COMMANDS"
    fi
done < "$T/help-cmds"

DESIGN=""
for d in "$ROOT/docs/design.md" "$ROOT/../shared/docs/design.md" /work/shared/docs/design.md; do
    [ -f "$d" ] && { DESIGN=$d; break; }
done
# The contract additions the team builds on top of design.md's table.
cat > "$T/contract" <<'EOF'
order submit --dry-run --new-order --confirm-resubmit
order status
order wait --until --timeout
order fetch --format pem_all pem_noroot -o
token list
token check --key-id --key-label
token change-pin --new-pin-source --allow-final-try
token unblock-pin --new-pin-source --allow-so-final-try --retry-pin
token generate-key --key-type rsa:3072 rsa:2048 rsa:4096 ec:P-256 ec:P-384 --label
token csr --subject --key-id --key-label -o --output
token install --chain --key-id --key-label --relax qc-statements policy key-usage validity chain --allow-final-try --no-test-signature
token wait --present --absent --timeout
provision --wait --generate-key --allow-final-try --confirm-resubmit --no-test-signature
status --json --history --refresh --prometheus --expiry-warn --stuck-after --desk
watch --assign-next
db init migrate status import --agent-role STATE_DIR
EOF
if [ -n "$DESIGN" ]; then
    # Rows of the "Commands:" table: | `order submit REQUEST.json [--dry-run]` | ... |
    # Rows marked "(... issue)" are planned by an open issue: each joins the
    # contract list above when its issue lands.
    sed -n '/^Commands:/,/^Exit codes/p' "$DESIGN" | grep -E '^\| `' | grep -v 'issue)' |
        sed -E 's/^\| `([^`]*)`.*/\1/' > "$T/design-rows"
    grep -c 'issue) *|$' "$DESIGN" > "$T/planned" || true
    note "design.md rows planned by open issues, not checked yet: $(cat "$T/planned")"
    n=$(wc -l < "$T/design-rows")
    if [ "$n" -ge 9 ]; then pass "design.md command table: $n rows"; else fail "design.md command table: only $n rows read from $DESIGN"; fi
    while read -r row; do
        words=$(echo "$row" | awk '{ for (i = 1; i <= NF; i++) { if ($i !~ /^[a-z-]+$/) break; printf "%s ", $i } }')
        opts=$(echo "$row" | grep -oE -- '(^|[ [])-{1,2}[a-z][a-z-]*' | tr -d ' [' | tr '\n' ' ')
        echo "${words% } ${opts% }" >> "$T/contract"
    done < "$T/design-rows"
else
    note "design.md not found next to the tree; checking the built-in contract list only"
fi
# Each contract line: the command words, then options/values it must name.
# The command must have its own entry in COMMANDS, and the options must be
# in that entry (from its heading to the next command heading).
man_section "COMMANDS" > "$T/commands.txt"
while read -r line; do
    set -- $line
    cmd=$1; sub=""
    case "$cmd" in order|token) sub=$2; shift 2 ;; *) shift 1 ;; esac
    head="$cmd${sub:+ $sub}"
    awk -v h="$head" '
        /^       [a-z]/ && !/^        / { on = (index($0, h) == 8 && (length($0) == 7 + length(h) || substr($0, 8 + length(h), 1) == " ")) }
        on' "$T/commands.txt" > "$T/entry.txt"
    if [ -s "$T/entry.txt" ]; then
        pass "command \"$head\" has an entry"
    else
        fail "command \"$head\" has no entry in qscd-agent.1 COMMANDS"
        continue
    fi
    for o in "$@"; do
        if grep -Fq -- "$o" "$T/entry.txt"; then
            pass "\"$head\" documents $o"
        else
            fail "\"$head\": $o missing from its entry in qscd-agent.1"
        fi
    done
done < <(sed 's/ *$//' "$T/contract" | sort -u)

# --- every command's and verb's own --help against its entry -------------------
# The program is the reference: every command, and every verb of order and
# token, prints its own usage on stdout and exits 0, with one line per
# option saying what it does; a bad option prints that same usage on
# stderr with exit 2.  Every option a usage names must be in that command's
# COMMANDS entry, and every option the entry's heading names must be one
# the usage names, so neither side drifts from the other.  Global options
# (from `qscd-agent --help`) are checked above, not here.
help_of() {   # help_of WORDS...: WORDS --help, stdout in h.out, stderr in h.err
    "$QSCD_AGENT" "$@" --help > "$T/h.out" 2> "$T/h.err" < /dev/null
    HRC=$?
}
: > "$T/heads"
while read -r c; do
    case "$c" in
        order|token)
            help_of "$c"
            if [ "$HRC" = 0 ] && [ ! -s "$T/h.err" ]; then pass "$c --help lists its verbs (exit 0)"
            else fail "$c --help: exit $HRC: $(head -2 "$T/h.err")"; fi
            # The verbs: "  VERB  what it does" lines of the group's usage.
            awk -v c="$c" '/^  [a-z][a-z-]* / { print c " " $1 }' "$T/h.out" >> "$T/heads" ;;
        *) echo "$c" >> "$T/heads" ;;
    esac
done < "$T/help-cmds"
n=$(wc -l < "$T/heads")
if [ "$n" -ge 14 ]; then pass "$n commands and verbs"; else fail "only $n commands and verbs: $(tr '\n' ' ' < "$T/heads")"; fi
: > "$T/usage-all"
while read -r head; do
    # shellcheck disable=SC2086  # "order submit" is two words
    help_of $head
    if [ "$HRC" = 0 ] && [ ! -s "$T/h.err" ] && grep -q "^usage: qscd-agent .*$head\( \|$\)" "$T/h.out"; then
        pass "$head --help prints its usage (exit 0)"
    else
        fail "$head --help: exit $HRC, stdout: $(head -1 "$T/h.out"), stderr: $(head -2 "$T/h.err")"
    fi
    cp "$T/h.out" "$T/usage.txt"
    # shellcheck disable=SC2086
    "$QSCD_AGENT" $head --no-such-option > "$T/bad.out" 2> "$T/bad.err" < /dev/null
    BRC=$?
    if [ "$BRC" = 2 ] && [ ! -s "$T/bad.out" ] && python3 -c 'import sys
sys.exit(open(sys.argv[1]).read() not in open(sys.argv[2]).read())' "$T/usage.txt" "$T/bad.err"; then
        pass "$head --no-such-option: exit 2, the same usage on stderr"
    else
        fail "$head --no-such-option: exit $BRC, not the --help usage on stderr: $(head -2 "$T/bad.err")"
    fi
    # "HEAD -opt -opt ..." for the checks below; options without a line of
    # their own (saying what they do) are failures.
    python3 - "$head" "$T/usage.txt" "$T/help-opts" "$T/undescribed" >> "$T/usage-all" <<'EOP'
import re, sys
head, path, globals_path, undescribed = sys.argv[1:5]
glob = {l.strip() for l in open(globals_path)}
opts, described = set(), set()
for line in open(path):
    m = re.match(r"\s+(--?[a-z][a-z-]*(?:, --?[a-z][a-z-]*)*)", line)
    if m:
        described.update(m.group(1).split(", "))
    for o in re.findall(r"(?:^|[\s\[|,])(--?[a-z][a-z-]*)", line):
        if o not in glob and o not in ("-h", "--help"):
            opts.add(o)
with open(undescribed, "a") as f:
    for o in sorted(opts - described):
        f.write("%s %s\n" % (head, o))
print(head, " ".join(sorted(opts)))
EOP
done < "$T/heads"
if [ -s "$T/undescribed" ]; then
    while read -r line; do fail "--help of ${line% *}: ${line##* } has no line saying what it does"; done < "$T/undescribed"
else
    pass "every option in every usage has a line saying what it does"
fi
# man_entry HEAD: the COMMANDS entry for "order submit", "watch", ...
man_entry() {
    awk -v h="$1" '
        /^       [a-z]/ && !/^        / { on = (index($0, h) == 8 && (length($0) == 7 + length(h) || substr($0, 8 + length(h), 1) == " ")) }
        on' "$T/commands.txt"
}
# The heading of an entry may wrap: it is the text before the first
# indented-further line.
man_heading() {
    man_entry "$1" | awk 'NR == 1 || (!/^           / && !done) { print; next } { done = 1 }'
}
while read -r line; do
    set -- $line
    head=$1
    case "$head" in order|token) head="$1 $2"; shift 2 ;; *) shift 1 ;; esac
    man_entry "$head" > "$T/entry.txt"
    if [ ! -s "$T/entry.txt" ]; then
        fail "\"$head\" (from its --help) has no entry in qscd-agent.1 COMMANDS"
        continue
    fi
    for o in "$@"; do
        if grep -Eq -- "(^|[^a-z-])$o([^a-z-]|$)" "$T/entry.txt"; then
            pass "\"$head\": $o (from --help) documented"
        else
            fail "\"$head\": $o is in its --help but not in its qscd-agent.1 entry"
        fi
    done
    for o in $(man_heading "$head" | grep -oE -- '(^|[ [|])--?[a-z][a-z-]*' | tr -d ' [|' | sort -u); do
        case " $* " in
            *" $o "*) pass "\"$head\": $o (man heading) is in its --help" ;;
            *) grep -qx -- "$o" "$T/help-opts" && continue
               fail "\"$head\": the man page names $o, its --help does not" ;;
        esac
    done
done < "$T/usage-all"

# --- environment variables and config keys from cli_config.c --------------------
# QSCD_TEST_*: hooks of test builds only (-DQSCD_TEST_HOOKS), not the interface.
grep -oE '"QSCD_[A-Z0-9_]+"' "$ROOT/src/cli/cli_config.c" "$ROOT/src/cli/main.c" | cut -d'"' -f2 |
    grep -v '^QSCD_TEST_' | sort -u > "$T/envs"
echo QSCD_API_KEY >> "$T/envs"    # read at use, see cli.h
man_section "ENVIRONMENT" > "$T/env.txt"
for v in $(sort -u "$T/envs"); do
    if grep -Eq "(^| )$v( |$)" "$T/env.txt"; then
        pass "environment variable $v in ENVIRONMENT"
    else
        fail "environment variable $v missing in qscd-agent.1 ENVIRONMENT"
    fi
done
# { "api-url", "QSCD_API_URL", FIELD(api_url) },
grep -oE '\{ *"[a-z-]+", *"QSCD_' "$ROOT/src/cli/cli_config.c" | cut -d'"' -f2 > "$T/keys"
n=$(wc -l < "$T/keys")
if [ "$n" -ge 7 ]; then pass "cli_config.c: $n config keys"; else fail "cli_config.c: only $n config keys found"; fi
for k in $(cat "$T/keys"); do
    if grep -Eq "(^| )$k = " "$T/man5.txt"; then
        pass "config key $k in qscd-agent.conf.5"
    else
        fail "config key $k missing in qscd-agent.conf.5 SETTINGS"
    fi
done

# Every key the page documents must be one the program accepts.  With no
# command the agent loads the config, then prints usage (exit 2): an
# unknown key shows up as "unknown setting" instead.
awk '/^SETTINGS/ { on = 1; next } /^[A-Z]/ { on = 0 } on && /^       [a-z-]+ = / { print $1 }' \
    "$T/man5.txt" > "$T/doc-keys"
n=$(wc -l < "$T/doc-keys")
if [ "$n" -ge 7 ]; then pass "qscd-agent.conf.5 documents $n keys"; else fail "qscd-agent.conf.5 SETTINGS: only $n keys"; fi
: > "$T/all-keys.conf"
while read -r k; do
    case "$k" in    # a value each key accepts, so only the key is on trial
        api-url) v=https://127.0.0.1/services/v2 ;;
        token) v="pkcs11:token=QSCD-01" ;;
        pin-source) v=prompt ;;
        *) v="$T/$k" ;;
    esac
    echo "$k = $v" >> "$T/all-keys.conf"
done < "$T/doc-keys"
agent --config "$T/all-keys.conf"
if grep -q "unknown setting\|config file" "$T/err"; then
    fail "a key documented in qscd-agent.conf.5 is refused by the agent"
else
    pass "every documented key is accepted"
fi
# The check above can fail: a made-up key is refused, with its line number.
printf 'api-url = https://127.0.0.1/\napi-key = nope\n' > "$T/bad.conf"
agent --config "$T/bad.conf"
expect_rc 2 "unknown config key refused"
expect_err 'line 2.*api-key' "the error names the line and the key"

# The shipped example configuration loads.
agent --config "$ROOT/docs/qscd-agent.conf.example"
if grep -q "config file" "$T/err"; then
    fail "docs/qscd-agent.conf.example is refused"
else
    pass "docs/qscd-agent.conf.example loads"
fi

# --- exit codes ------------------------------------------------------------------
man_section "EXIT STATUS" > "$T/exit.txt"
for code in $(grep -oE '= *[0-9]+' "$ROOT/include/common/exit_codes.h" | tr -dc '0-9\n'); do
    if grep -Eq "^ {7}$code$" "$T/exit.txt"; then
        pass "exit code $code in EXIT STATUS"
    else
        fail "exit code $code missing in qscd-agent.1 EXIT STATUS"
    fi
done

# --- the helpdesk guide -------------------------------------------------------------
G="$ROOT/docs/helpdesk.md"
for w in "lifecycle.svg" "final try" "locked" "PUK" "wrong token" "removed" \
         "pending" "rejected" "verification failed" "unassigned"; do
    if grep -Fqi -- "$w" "$G"; then pass "helpdesk.md covers \"$w\""; else fail "helpdesk.md lacks \"$w\""; fi
done
for code in 0 1 2 3 4 5 6; do
    if grep -Eq "^\|[^|]*\| $code \|" "$G"; then pass "helpdesk.md explains exit $code"; else fail "helpdesk.md table lacks exit $code"; fi
done
# Every event watch reports (its --json "event" names, from the source) has
# a row in the guide's table of what watch says.
grep -ho 'watch_emit([a-z&]*, "[a-z_]*"' "$ROOT"/src/watch/watch_*.c | cut -d'"' -f2 | sort -u > "$T/events"
n=$(wc -l < "$T/events")
if [ "$n" -ge 15 ]; then pass "watch reports $n kinds of event"; else fail "only $n watch events found in src/watch/watch_*.c"; fi
while read -r ev; do
    if grep -Eq "^\|.*\`$ev\`" "$G"; then pass "helpdesk.md explains watch event $ev"
    else fail "helpdesk.md: watch event $ev has no row in its table"; fi
done < "$T/events"

# The lifecycle picture the guide links to is the one its source draws
# (docs/lifecycle.dot is checked against the engine's table by the unit
# test test-lifecycle-table).  Graphviz's version comment aside.
if command -v dot > /dev/null; then
    dot -Tsvg "$ROOT/docs/lifecycle.dot" | grep -v '^<!-- Generated by' > "$T/lc.svg"
    if grep -v '^<!-- Generated by' "$ROOT/docs/lifecycle.svg" | cmp -s - "$T/lc.svg"; then
        pass "docs/lifecycle.svg is drawn from docs/lifecycle.dot"
    else
        fail "docs/lifecycle.svg is stale: run dot -Tsvg docs/lifecycle.dot > docs/lifecycle.svg"
    fi
else
    fail "graphviz (dot) missing: cannot check docs/lifecycle.svg"
fi

finish
