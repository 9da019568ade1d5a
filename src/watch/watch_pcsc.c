/*
 * Reader and card events from PC/SC.  A long-running OpenSC never learns of
 * an inserted card, but SCardGetStatusChange does (design.md, "Hotplug, as
 * observed here").  The monitor runs in its own forked process so that the
 * watcher stays single-threaded and never holds libpcsclite state that a
 * forked scan process would inherit; it writes one byte per change and the
 * watcher scans at once instead of at the next poll.
 */
#include "watch.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_READERS 16
#define PNP_READER "\\\\?PnP?\\Notification"

static void notify(int fd)
{
    unsigned char b = 1;

    if (write(fd, &b, 1) < 0 && errno == EPIPE)
        _exit(0);
}

/* Names of the readers now, each NUL-terminated in a multi-string; count in *n. */
static char *list_readers(SCARDCONTEXT ctx, const char **names, size_t *n)
{
    DWORD len = 0;
    char *buf;

    *n = 0;
    if (SCardListReaders(ctx, NULL, NULL, &len) != SCARD_S_SUCCESS || len == 0)
        return NULL;
    buf = calloc(1, len + 1);
    if (buf == NULL || SCardListReaders(ctx, NULL, buf, &len) != SCARD_S_SUCCESS) {
        free(buf);
        return NULL;
    }
    for (char *p = buf; *p != '\0' && *n < MAX_READERS; p += strlen(p) + 1)
        names[(*n)++] = p;
    return buf;
}

/* Wait for changes until the reader list itself changes or PC/SC fails. */
static LONG watch_readers(SCARDCONTEXT ctx, int fd)
{
    SCARD_READERSTATE st[MAX_READERS + 1];
    const char *names[MAX_READERS];
    size_t n;
    char *buf = list_readers(ctx, names, &n);
    LONG rv;
    bool first = true;

    memset(st, 0, sizeof(st));
    for (size_t i = 0; i < n; i++)
        st[i].szReader = names[i];
    st[n].szReader = PNP_READER;
    for (;;) {
        for (size_t i = 0; i <= n; i++)
            st[i].dwCurrentState = first ? SCARD_STATE_UNAWARE
                                         : st[i].dwEventState & ~SCARD_STATE_CHANGED;
        rv = SCardGetStatusChange(ctx, first ? 0 : INFINITE, st, (DWORD)n + 1);
        if (rv == (LONG)SCARD_E_TIMEOUT && first)
            rv = SCARD_S_SUCCESS;
        if (rv != SCARD_S_SUCCESS)
            break;
        if (!first) {
            notify(fd);
            if (st[n].dwEventState & SCARD_STATE_CHANGED)
                break;   /* a reader came or went: list them again */
        }
        first = false;
    }
    free(buf);
    return rv;
}

static void monitor(int fd)
{
    SCARDCONTEXT ctx;

    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
        return;   /* no pcscd: EOF tells the watcher to rely on polling */
    for (;;) {
        LONG rv = watch_readers(ctx, fd);

        if (rv == (LONG)SCARD_E_NO_SERVICE || rv == (LONG)SCARD_E_SERVICE_STOPPED ||
            rv == (LONG)SCARD_E_INVALID_HANDLE) {
            SCardReleaseContext(ctx);
            sleep(1);
            if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
                return;
            notify(fd);
        } else if (rv != SCARD_S_SUCCESS) {
            sleep(1);   /* no readers yet, or a passing error: look again */
        }
    }
}

int watch_pcsc_start(pid_t *pid_out)
{
    int fds[2];
    pid_t pid;

    *pid_out = -1;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        watch_signal_child();
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        monitor(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    *pid_out = pid;
    return fds[0];
}

void watch_pcsc_stop(pid_t pid, int fd)
{
    if (fd >= 0)
        close(fd);
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
}
