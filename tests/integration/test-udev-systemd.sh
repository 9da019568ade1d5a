#!/bin/bash
# The workstation integration files, checked with systemd's and udev's own
# tools, offline (no systemd or udevd needs to run):
#
#  - units: `systemd-analyze verify --root=DIR` on an installed tree (the
#    unit parser, every directive known, ExecStart/ExecReload executables
#    present, dependencies resolvable, the Documentation= man pages found),
#    with a negative control; `systemd-analyze security --offline` exposure
#    under a threshold; the hardening directives issue 5 asks for.
#  - rules: udev's rule parser and rule engine (`udevadm test`) on fake USB
#    devices in a private mount namespace: a tmpfs /sys with a device
#    directory holding uevent, idVendor/idProduct and a binary USB
#    descriptor set (which udev's usb_id builtin turns into
#    ID_USB_INTERFACES), a tmpfs /run and /dev so nothing leaks to the host.
#    SYSTEMD_DEVICE_VERIFY_SYSFS=0 lets sd-device accept a tmpfs as sysfs.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT="$ROOT/udev/qscd-agent.service"
RULES="$ROOT/udev/70-qscd-agent.rules"
SYSUSERS="$ROOT/udev/qscd-agent.sysusers"

for f in "$UNIT" "$RULES" "$SYSUSERS"; do
    if [ -f "$f" ]; then pass "${f#"$ROOT"/} exists"; else fail "${f#"$ROOT"/} missing"; finish; fi
done

# --- units: systemd-analyze verify ------------------------------------------------
# A root with the host's units (targets, pcscd.socket) plus ours, and the
# executables the unit names.  Man pages are looked up with `man`, so
# MANPATH points at pages rendered from this tree.
R="$T/root"
mkdir -p "$R/usr/lib/systemd/system" "$R/usr/bin" "$R/etc" "$R/usr/share/man/man1" "$R/usr/share/man/man5"
ln -s usr/bin "$R/bin"
cp -a /usr/lib/systemd/system/. "$R/usr/lib/systemd/system/"
install -m 0755 "$QSCD_AGENT" "$R/usr/bin/qscd-agent"
cp /usr/bin/kill "$R/usr/bin/kill"
scdoc < "$ROOT/docs/man/qscd-agent.1.scd" > "$R/usr/share/man/man1/qscd-agent.1"
scdoc < "$ROOT/docs/man/qscd-agent.conf.5.scd" > "$R/usr/share/man/man5/qscd-agent.conf.5"
for u in "$ROOT"/udev/*.service "$ROOT"/udev/*.path "$ROOT"/udev/*.socket "$ROOT"/udev/*.target \
         "$ROOT"/udev/*.timer; do
    [ -f "$u" ] && install -m 0644 "$u" "$R/usr/lib/systemd/system/"
done

verify() {   # verify UNIT_NAME: output in $T/verify.log, status in RC
    MANPATH="$R/usr/share/man" SYSTEMD_LOG_COLOR=0 \
        systemd-analyze verify --root="$R" "$1" > "$T/verify.log" 2>&1
    RC=$?
}
for u in "$ROOT"/udev/*.service "$ROOT"/udev/*.path "$ROOT"/udev/*.socket "$ROOT"/udev/*.timer; do
    [ -f "$u" ] || continue
    n=$(basename "$u")
    verify "$n"
    if [ "$RC" = 0 ] && [ ! -s "$T/verify.log" ]; then
        pass "systemd-analyze verify $n: clean"
    else
        fail "systemd-analyze verify $n (exit $RC):"; sed 's/^/    /' "$T/verify.log"
    fi
done

# Negative controls: verify must notice a misspelt directive, a missing
# executable and a missing man page, else the checks above prove nothing.
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$UNIT" > "$R/usr/lib/systemd/system/qscd-typo.service"
verify qscd-typo.service
if grep -q "Unknown key" "$T/verify.log"; then pass "verify reports a misspelt directive"; else fail "verify missed a misspelt directive: $(cat "$T/verify.log")"; fi
sed 's|^ExecStart=/usr/bin/qscd-agent|ExecStart=/usr/bin/qscd-agent-missing|' "$UNIT" > "$R/usr/lib/systemd/system/qscd-noexec.service"
verify qscd-noexec.service
if [ "$RC" != 0 ]; then pass "verify fails on a missing executable"; else fail "verify accepted a missing executable"; fi
sed 's|^Documentation=.*|Documentation=man:qscd-agent-nopage(1)|' "$UNIT" > "$R/usr/lib/systemd/system/qscd-noman.service"
verify qscd-noman.service
if [ "$RC" != 0 ]; then pass "verify fails on a missing man page"; else fail "verify accepted a missing man page"; fi
rm -f "$R"/usr/lib/systemd/system/qscd-{typo,noexec,noman}.service

# --- units: exposure ---------------------------------------------------------------
# systemd's own sandboxing score, 0 (locked down) to 10; "OK" is below 2.
# --threshold is in tenths.
for svc in qscd-agent.service qscd-agent-status.service; do
    if systemd-analyze security --offline=true --root="$R" --threshold=20 \
            "$svc" > "$T/security.log" 2>&1; then
        pass "systemd-analyze security $svc: $(grep -o 'exposure level.*' "$T/security.log" | head -1)"
    else
        fail "systemd-analyze security $svc: exposure above 2.0"; grep '✗' "$T/security.log" | sed 's/^/    /'
    fi
done
# The status timer runs the status service hourly, refreshing and writing
# the metrics; the service counts "not ready" and "needs attention" as answers.
TIMER="$ROOT/udev/qscd-agent-status.timer"
grep -q '^OnCalendar=hourly$' "$TIMER" && grep -q '^Unit=qscd-agent-status.service$' "$TIMER" &&
    pass "timer: hourly, runs qscd-agent-status.service" || fail "timer: $(grep -v '^#' "$TIMER")"
grep -Eq '^ExecStart=/usr/bin/qscd-agent .*status --refresh --prometheus /' "$ROOT/udev/qscd-agent-status.service" &&
    pass "status unit: status --refresh --prometheus" || fail "status unit: ExecStart"
grep -q '^SuccessExitStatus=1 7$' "$ROOT/udev/qscd-agent-status.service" &&
    pass "status unit: exits 1 and 7 are answers" || fail "status unit: SuccessExitStatus"

# --- units: the hardening issue 5 asks for ------------------------------------------
# has KEY=VALUE-REGEX: a line of the [Service] section.
has() {
    if sed -n '/^\[Service\]/,/^\[/p' "$UNIT" | grep -Eq "^$1\$"; then
        pass "unit: $1"
    else
        fail "unit lacks $1"
    fi
}
has 'ExecStart=/usr/bin/qscd-agent watch( .*)?'
has 'Type=simple'
has 'ExecReload=/bin/kill -HUP \$MAINPID'
has 'NoNewPrivileges=yes'
has 'ProtectSystem=strict'
has 'ProtectHome=yes'
has 'PrivateTmp=yes'
has 'StateDirectory=qscd-agent'
has 'ConfigurationDirectory=qscd-agent'
has 'User=qscd-agent'
has 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'
has 'IPAddressDeny=any'
has 'IPAddressAllow=.+'
has 'CapabilityBoundingSet='
has 'ProtectKernelTunables=yes'
has 'ProtectKernelModules=yes'
has 'ProtectKernelLogs=yes'
has 'LockPersonality=yes'
has 'MemoryDenyWriteExecute=yes'
has 'RestrictRealtime=yes'
has 'SystemCallFilter=@system-service'
has 'EnvironmentFile=-/etc/qscd-agent/environment'
has 'LimitCORE=0'
# No secret on the command line or in the unit.
if grep -Eq '^(ExecStart|Environment)=.*(--api-key|QSCD_API_KEY=|pin-value|--pin )' "$UNIT"; then
    fail "the unit passes a secret on the command line or in Environment="
else
    pass "the unit passes no secret in ExecStart= or Environment="
fi
# The user exists: the sysusers file creates the unit's User=.
user=$(sed -n 's/^User=//p' "$UNIT")
if grep -Eq "^u[[:space:]]+$user[[:space:]]" "$SYSUSERS"; then
    pass "sysusers creates User=$user"
else
    fail "sysusers does not create User=$user"
fi
# Every unit the rules want is shipped.
for w in $(grep -v '^#' "$RULES" | grep -o 'SYSTEMD_WANTS}+="[^"]*"' | cut -d'"' -f2 | sort -u); do
    if [ -f "$ROOT/udev/$w" ]; then pass "rule wants $w, which is shipped"; else fail "rule wants $w, not in udev/"; fi
done

# --- rules: udev's parser and engine on fake devices ------------------------------
# They need a private mount namespace (root, or a user namespace): where
# there is none the rule checks cannot run, and that is a failure.
if ! mount_ns_ok; then
    fail "no private mount namespace here (unshare -m; run as root): the udev rule checks cannot run"
    finish
fi

# The script run inside the namespace: builds fake devices, runs udevadm test.
cat > "$T/udev-ns.sh" <<'EOS'
set -e
T=$1 RULESDIR=$2
mount -t tmpfs tmpfs /run
mkdir -p /run/udev/rules.d
[ -n "$RULESDIR" ] && cp "$RULESDIR"/*.rules /run/udev/rules.d/
mkdir -p "$T/dev" && touch "$T/dev/null" && mount --bind /dev/null "$T/dev/null"
mount --rbind "$T/dev" /dev
mount -t tmpfs tmpfs /sys
mkdir -p /sys/bus/usb/devices
n=0
# fake NAME VID PID CLASS SUBCLASS PROTO: a USB device with one interface.
fake() {
    n=$((n + 1))
    local d=/sys/devices/pci0000:00/0000:00:14.0/usb1/1-$n
    mkdir -p "$d"
    ln -s ../../../../../bus/usb "$d/subsystem"
    printf 'MAJOR=189\nMINOR=%d\nDEVNAME=bus/usb/001/%03d\nDEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=%x/%x/100\nTYPE=0/0/0\nBUSNUM=001\nDEVNUM=%03d\n' \
        "$n" "$n" "0x$2" "0x$3" "$n" > "$d/uevent"
    echo "189:$n" > "$d/dev"
    echo "$2" > "$d/idVendor"; echo "$3" > "$d/idProduct"
    echo "$1" > "$d/product"; echo "Test" > "$d/manufacturer"
    # device, configuration, interface (class/subclass/protocol), endpoint
    printf "\\x12\\x01\\x00\\x02\\x00\\x00\\x00\\x40\\x${2:2:2}\\x${2:0:2}\\x${3:2:2}\\x${3:0:2}\\x00\\x01\\x01\\x02\\x03\\x01" > "$d/descriptors"
    printf "\\x09\\x02\\x19\\x00\\x01\\x01\\x00\\x80\\x32" >> "$d/descriptors"
    printf "\\x09\\x04\\x00\\x00\\x01\\x$4\\x$5\\x$6\\x00" >> "$d/descriptors"
    printf "\\x07\\x05\\x81\\x03\\x08\\x00\\x0a" >> "$d/descriptors"
    echo "$d" > "$T/dev-$1"
}
fake reader    076b 3031 0b 00 00   # HID Omnikey 3x21: a CCID reader
fake etoken    0529 0620 ff 00 00   # SafeNet eToken 5100/5110, vendor class
fake etokenfips 08e6 34cf ff 00 00  # SafeNet eToken 5110+ FIPS, vendor class
fake idone     1a74 b111 ff 00 00   # IDEMIA ID-One token slim v2
fake storage   0781 5567 08 06 50   # a USB stick: mass storage
fake otheraladdin 0529 0001 ff 00 00 # same vendor, product not listed
# The removal first, while udev has no database entry from an "add" whose
# properties it would carry over.  The eToken: it matches on sysfs
# attributes, which a removal still has (ID_USB_INTERFACES it has not).
SYSTEMD_DEVICE_VERIFY_SYSFS=0 udevadm test --action=remove "$(cat "$T/dev-etoken")" \
    > "$T/udev-etoken-remove.log" 2>&1 || true
for name in reader etoken etokenfips idone storage otheraladdin; do
    SYSTEMD_DEVICE_VERIFY_SYSFS=0 udevadm test --action=add "$(cat "$T/dev-$name")" \
        > "$T/udev-$name.log" 2>&1 || true
done
EOS

# udev_run RULESDIR: fresh fake devices, rules from RULESDIR ("" = none of ours).
udev_run() {
    rm -f "$T"/udev-*.log "$T"/dev-*
    "${NS_UNSHARE[@]}" bash "$T/udev-ns.sh" "$T" "$1" > "$T/udev-ns.log" 2>&1
}
prop() {     # prop NAME KEY: the property as udevadm test printed it
    sed -n "s/^$2=//p" "$T/udev-$1.log" | tail -1
}

mkdir -p "$T/ours" "$T/broken"
cp "$RULES" "$T/ours/"
if udev_run "$T/ours" && [ -s "$T/udev-reader.log" ]; then
    pass "udevadm test ran on fake devices"
else
    fail "udevadm test did not run: $(cat "$T/udev-ns.log")"; finish
fi
rules_name=$(basename "$RULES")
if grep -q "Reading rules file: /run/udev/rules.d/$rules_name" "$T/udev-reader.log"; then
    pass "udev read $rules_name"
else
    fail "udev did not read $rules_name"
fi
# udev reports a parse problem as "FILE:LINE message" (no device prefix).
if grep -E "^/run/udev/rules.d/$rules_name:[0-9]+ " "$T/udev-reader.log" > "$T/parse.txt"; then
    fail "udev's parser complains about $rules_name:"; sed 's/^/    /' "$T/parse.txt"
else
    pass "udev's parser accepts every line of $rules_name"
fi
if [ "$(prop reader ID_USB_INTERFACES)" = ":0b0000:" ]; then
    pass "fake reader has ID_USB_INTERFACES=:0b0000: (usb_id read its descriptors)"
else
    fail "fake reader: ID_USB_INTERFACES=$(prop reader ID_USB_INTERFACES)"
fi

expect_matched() {   # expect_matched NAME KIND
    local tags wants
    tags=$(prop "$1" TAGS) wants=$(prop "$1" SYSTEMD_WANTS)
    case "$tags" in *:uaccess:*) pass "$1: tagged uaccess" ;; *) fail "$1: TAGS=$tags, no uaccess" ;; esac
    case "$tags" in *:systemd:*) pass "$1: tagged systemd" ;; *) fail "$1: TAGS=$tags, no systemd" ;; esac
    case " $wants " in *" qscd-agent.service "*) pass "$1: wants qscd-agent.service" ;;
        *) fail "$1: SYSTEMD_WANTS=$wants" ;; esac
    if [ "$(prop "$1" QSCD_AGENT_DEVICE)" = "$2" ]; then pass "$1: matched as $2"; else fail "$1: QSCD_AGENT_DEVICE=$(prop "$1" QSCD_AGENT_DEVICE), expected $2"; fi
}
expect_untouched() { # expect_untouched NAME [LOG]
    local tags wants
    tags=$(prop "$1" TAGS) wants=$(prop "$1" SYSTEMD_WANTS)
    case "$tags" in *:uaccess:*) fail "$1: tagged uaccess ($tags)" ;; *) pass "$1: not tagged uaccess" ;; esac
    case " $wants " in *" qscd-agent.service "*) fail "$1: wants qscd-agent.service" ;; *) pass "$1: does not start the agent" ;; esac
}
expect_matched reader ccid
expect_matched etoken etoken
expect_matched etokenfips etoken
expect_matched idone idone
expect_untouched storage
expect_untouched otheraladdin
expect_untouched etoken-remove

# Negative controls: without our rules the tokens with a vendor class get
# nothing and nothing starts the agent; a broken rule is reported.
udev_run ""
case " $(prop reader SYSTEMD_WANTS) " in
    *" qscd-agent.service "*) fail "without our rules something still wants qscd-agent.service" ;;
    *) pass "without our rules the reader does not start the agent" ;;
esac
case "$(prop etoken TAGS)" in
    *:uaccess:*) fail "without our rules the eToken is tagged uaccess anyway: the check proves nothing" ;;
    *) pass "without our rules the eToken gets no uaccess" ;;
esac
sed 's/TAG+="uaccess"/TAG=+"uaccess"/; s/^ENV{DEVTYPE}!=/ENV{DEVTYPE}!~/' "$RULES" > "$T/broken/$rules_name"
udev_run "$T/broken"
if grep -Eq "^/run/udev/rules.d/$rules_name:[0-9]+ " "$T/udev-reader.log"; then
    pass "udev's parser reports a broken copy of the rules (the check can fail)"
else
    fail "udev's parser did not report a broken rule"
fi

finish
