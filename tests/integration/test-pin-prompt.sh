#!/bin/bash
# The PIN prompt on a terminal: no echo, the PIN works, and Ctrl-C (SIGINT)
# or SIGTERM at the prompt gives the terminal its echo back before the agent
# stops.  Driven through a pseudo-terminal so that /dev/tty is real.
. "$(dirname "$0")/lib.sh"

softhsm_setup
softhsm_token PROMPT 246813 > /dev/null
softhsm_keypair PROMPT 01 rsa:2048 246813

cat > "$T/on_pty.py" <<'EOP'
import os, select, signal, sys, termios, time
agent, mode = sys.argv[1], sys.argv[2]
master, slave = os.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    import fcntl
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    if mode in ("bg", "tobg", "tstp"):
        # This process plays the shell.  bg: the agent is a background job
        # (`agent &`, or timeout(1) without --foreground).  tobg: it is put
        # in the background while at the prompt (on SIGUSR1 from above).
        # tstp: Ctrl-Z at the prompt (SIGUSR1), then the shell takes the
        # terminal and switches echo on, then `fg`.
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        job = os.fork()
        if job != 0:
            def on_usr1(*_):
                if mode == "tobg":
                    os.tcsetpgrp(0, os.getpgrp())
                else:
                    os.killpg(job, signal.SIGTSTP)
            signal.signal(signal.SIGUSR1, on_usr1)
            while True:
                _, st = os.waitpid(job, os.WUNTRACED)
                if not os.WIFSTOPPED(st):
                    break
                os.tcsetpgrp(0, os.getpgrp())
                attrs = termios.tcgetattr(0)
                attrs[3] |= termios.ECHO
                termios.tcsetattr(0, termios.TCSANOW, attrs)
                os.write(1, b"[stopped]\n")
                os.tcsetpgrp(0, job)
                os.killpg(job, signal.SIGCONT)
            os._exit(os.waitstatus_to_exitcode(st) & 0xff)
        os.setpgid(0, 0)
        if mode != "bg":
            os.tcsetpgrp(0, os.getpgrp())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
    os.execv(agent, [agent, "--module", "/usr/lib/softhsm/libsofthsm2.so",
                     "--pin-source", "prompt", "token", "csr",
                     "--subject", "/C=NL/O=Prompt B.V./CN=Prompt"])
out = b""
deadline = time.time() + 30
def read_until(prompts):
    """Collect the terminal's output until it holds `prompts` PIN prompts."""
    global out
    while out.count(b"PIN for") < prompts and time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            out += os.read(master, 4096)
if mode != "bg":
    read_until(1)
if mode != "bg" and b"PIN" not in out:
    print("no prompt seen:", out); sys.exit(3)
time.sleep(0.3)
echo_during = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
if mode == "pin":
    os.write(master, b"246813\n")
elif mode == "tobg":
    os.kill(pid, signal.SIGUSR1)
elif mode == "tstp":
    os.kill(pid, signal.SIGUSR1)
    read_until(2)
    time.sleep(0.3)
    print("echo_again=%d" % bool(termios.tcgetattr(slave)[3] & termios.ECHO))
    os.write(master, b"246813\n")
elif mode != "bg":
    os.kill(pid, signal.SIGINT if mode == "int" else signal.SIGTERM)
while True:
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL); print("timeout"); sys.exit(3)
if not done:
    _, status = os.waitpid(pid, 0)
echo_after = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
print("echo_during=%d echo_after=%d" % (echo_during, echo_after))
print("signaled=%d sig=%d exit=%d" % (os.WIFSIGNALED(status),
      os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
      os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1))
sys.stdout.write(out.decode(errors="replace"))
EOP

run python3 "$T/on_pty.py" "$QSCD_AGENT" pin
expect_rc 0 "token csr with the PIN typed at the prompt"
expect_out 'echo_during=0 echo_after=1' "no echo while typing, echo back afterwards"
expect_out 'BEGIN CERTIFICATE REQUEST' "the CSR was signed with the typed PIN"
expect_no_string 246813 "the typed PIN is not echoed" "$T/out"

run python3 "$T/on_pty.py" "$QSCD_AGENT" int
expect_rc 0 "SIGINT at the prompt"
expect_out 'echo_during=0 echo_after=1' "SIGINT at the prompt: terminal echo restored"
expect_out 'signaled=1 sig=2' "SIGINT at the prompt ends the agent as SIGINT does"

run python3 "$T/on_pty.py" "$QSCD_AGENT" term
expect_out 'echo_during=0 echo_after=1' "SIGTERM at the prompt: terminal echo restored"
expect_out 'signaled=1 sig=15' "SIGTERM at the prompt ends the agent as SIGTERM does"

echo "a background job is told it cannot prompt, at once (it is not stopped by SIGTTOU)"
run python3 "$T/on_pty.py" "$QSCD_AGENT" bg
expect_out 'echo_during=1 echo_after=1' "background job: the terminal's modes are untouched"
expect_out 'signaled=0 sig=0 exit=2' "background job: exit 2 (as with no terminal)"
expect_out "not the terminal's foreground job" "background job: the error says why"
expect_out 'use --pin-source' "background job: the error says what to do"

echo "put in the background at the prompt: it gives up, it is not stopped, the echo comes back"
run python3 "$T/on_pty.py" "$QSCD_AGENT" tobg
expect_out 'echo_during=0 echo_after=1' "moved to the background: terminal echo restored"
expect_out 'signaled=0 sig=0 exit=2' "moved to the background: exit 2"
expect_out "put in the background at the prompt; no PIN was read" \
    "moved to the background: the error says why"

echo "Ctrl-Z at the prompt: echo back while stopped; after fg, echo off again and asked again"
run python3 "$T/on_pty.py" "$QSCD_AGENT" tstp
expect_rc 0 "Ctrl-Z and fg at the prompt"
expect_out '\[stopped\]' "the agent stopped on Ctrl-Z"
expect_out 'echo_again=0' "after fg the echo is off again, though the shell had switched it on"
[ "$(grep -c 'PIN for token "PROMPT"' "$T/out")" = 2 ] && pass "asked again after fg" ||
    fail "prompts: $(grep -c 'PIN for token "PROMPT"' "$T/out")"
expect_out 'echo_during=0 echo_after=1' "Ctrl-Z: terminal echo restored at the end"
expect_out 'BEGIN CERTIFICATE REQUEST' "Ctrl-Z: the PIN typed after fg works"
expect_no_string 246813 "Ctrl-Z: the typed PIN is not echoed" "$T/out"

finish
