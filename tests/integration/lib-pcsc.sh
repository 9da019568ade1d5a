# PC/SC test stack (sourced after lib.sh): a private pcscd with the virtual
# reader (vpcd) on a free loopback port, and a virtual card (vicc) to plug
# in and pull.  Where unshare works, the private pcscd gets its own
# /run/pcscd (a bind mount in its own mount namespace: pcscd refuses to
# start while another one's socket exists there) and the clients find its
# socket through PCSCLITE_CSOCK_NAME, so it never meets the system's pcscd or
# another test's.  Everything is stopped by PID.

# pcsc_missing: what of the stack is not installed ("" when complete).
pcsc_missing() {
    local m=""
    [ -f /etc/reader.conf.d/vpcd ] || m="$m /etc/reader.conf.d/vpcd (vsmartcard-vpcd)"
    [ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || m="$m libifdvpcd.so"
    [ -x /usr/bin/vicc ] || m="$m /usr/bin/vicc (python3-virtualsmartcard)"
    [ -f "$OPENSC_MODULE" ] || m="$m $OPENSC_MODULE (opensc-pkcs11)"
    command -v pcscd > /dev/null || m="$m pcscd"
    [ -d /usr/lib/python3/dist-packages/Cryptodome ] || m="$m python3-pycryptodome"
    echo "$m"
}

# pcsc_start: pcscd on $T/pcscd.comm with vpcd on VPCD_PORT.
pcsc_start() {
    VPCD_PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    mkdir -p "$T/readers"
    sed -e "s/^CHANNELID.*/CHANNELID    $(printf '0x%X' "$VPCD_PORT")/" \
        -e "s|^DEVICENAME.*|DEVICENAME   /dev/null:$(printf '0x%X' "$VPCD_PORT")|" \
        /etc/reader.conf.d/vpcd > "$T/readers/vpcd"
    # OpenSC probes every card driver against the emulated card, each probe
    # waiting out an APDU timeout; the generic driver is all it needs.
    printf 'app default {\n\tcard_drivers = default;\n}\n' > "$T/opensc.conf"
    export OPENSC_CONF="$T/opensc.conf"
    # pcscd refuses to start while /run/pcscd/pcscd.comm exists, whatever
    # socket it is told to use: give ours a private /run/pcscd where we can.
    mkdir -p "$T/run-pcscd"
    if mount_ns_ok; then
        # A tmpfs /run of its own first: on a machine whose pcscd never ran
        # there is no /run/pcscd to bind onto (and none is made on the host).
        "${NS_UNSHARE[@]}" sh -c 'mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/pcscd &&
                          mount --bind "$1" /run/pcscd && exec pcscd --foreground -c "$2"' \
            sh "$T/run-pcscd" "$T/readers" > "$T/pcscd.log" 2>&1 &
        export PCSCLITE_CSOCK_NAME="$T/run-pcscd/pcscd.comm"
    else
        export PCSCLITE_CSOCK_NAME=/run/pcscd/pcscd.comm
        pcscd --foreground -c "$T/readers" > "$T/pcscd.log" 2>&1 &
    fi
    PCSCD_PID=$!
    track_pid "$PCSCD_PID"
    local i
    for i in $(seq 1 300); do
        [ -S "$PCSCLITE_CSOCK_NAME" ] && return 0
        sleep 0.1
    done
    echo "pcscd did not start:"; cat "$T/pcscd.log"
    return 1
}

vicc_start() {
    mkdir -p "$T/shim"
    [ -e "$T/shim/Crypto" ] || ln -s /usr/lib/python3/dist-packages/Cryptodome "$T/shim/Crypto"
    PYTHONPATH=/usr/lib/python3/site-packages/virtualsmartcard:$T/shim \
        /usr/bin/python3 /usr/bin/vicc -t iso7816 -H 127.0.0.1 -P "$VPCD_PORT" \
        > "$T/vicc.log" 2>&1 &
    VICC_PID=$!
    track_pid "$VICC_PID"
}

vicc_stop() {
    kill "$VICC_PID" 2>/dev/null
    wait "$VICC_PID" 2>/dev/null
    untrack_pid "$VICC_PID"
}

# wait_for_line FILE PATTERN SECONDS: grep -E until it matches.
wait_for_line() {
    local i=0 limit=$(( $3 * 10 ))
    until grep -Eq -- "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt "$limit" ] && return 1
        sleep 0.1
    done
    return 0
}
