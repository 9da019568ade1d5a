#!/bin/bash
# Strings that are not ours reach the terminal made harmless: a token label
# carrying escape sequences (clear screen, a window title, colour) is shown
# with them escaped ("\x1b[2J") in `token list`, in messages and in the PIN
# prompt, and no ESC byte from it reaches stdout, stderr or the terminal.
. "$(dirname "$0")/lib.sh"

echo "test-term-escape"
softhsm_setup
LABEL=$'EVIL\e[2J\e]0;pwn\a\e[31m'
softhsm_token "$LABEL" 246813
softhsm_token "PLAIN" 246813
softhsm_keypair "$LABEL" 01 rsa:2048 246813
ESCAPED='EVIL\\x1b\[2J\\x1b\]0;pwn\\x07\\x1b\[31m'
has_esc() { LC_ALL=C grep -q $'\e\|\a' "$1"; }

agent --module "$SOFTHSM_MODULE" token list
expect_rc 0 "token list"
expect_out "token \"$ESCAPED\"" "the label is shown escaped"
has_esc "$T/out" && fail "an ESC or BEL byte reached stdout" || pass "no ESC or BEL byte on stdout"

# Two tokens and no --token: the message lists them, labels included.
agent --module "$SOFTHSM_MODULE" token check
[ "$RC" != 0 ] && pass "token check with two tokens stops (exit $RC)" || fail "token check went on"
expect_err "$ESCAPED" "the message shows the label escaped"
has_esc "$T/err" && fail "an ESC or BEL byte reached stderr" || pass "no ESC or BEL byte on stderr"

echo "the PIN prompt"
URI=$(python3 -c 'import urllib.parse,sys; print("pkcs11:token=" + urllib.parse.quote(sys.argv[1], safe=""))' "$LABEL")
cat > "$T/pty.py" <<'EOP'
import os, select, sys, termios, time
agent, uri = sys.argv[1], sys.argv[2]
pid, master = os.forkpty()
if pid == 0:
    os.execv(agent, [agent, "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token", uri,
                     "--pin-source", "prompt", "token", "csr",
                     "--subject", "/C=NL/O=Prompt B.V./CN=Prompt"])
out, deadline, sent = b"", time.time() + 30, False
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not sent and b"PIN for" in out:
        time.sleep(0.2); os.write(master, b"246813\n"); sent = True
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
prompt = out[out.find(b"PIN for"):].split(b":", 1)[0] if b"PIN for" in out else b""
sys.stdout.write("prompt=%r\n" % prompt.decode("latin-1"))
sys.stdout.write("esc_in_prompt=%d\n" % (b"\x1b" in prompt or b"\x07" in prompt))
EOP
run python3 "$T/pty.py" "$QSCD_AGENT" "$URI"
expect_out "prompt='PIN for token \"EVIL" "the prompt names the token"
expect_out 'EVIL\\\\x1b\[2J' "the prompt shows the label escaped"
expect_out "esc_in_prompt=0" "no ESC or BEL byte in the prompt"
finish
