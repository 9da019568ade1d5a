/*
 * p11fault_state.c — state that must outlive a process (every agent run is
 * one): the PIN tries left per token and the "token removed" flag.
 *
 * With QSCD_P11FAULT_STATE=PATH it lives in PATH, a few "key=value" lines:
 *     removed=1
 *     pin_changed=1
 *     pin_remaining.<token serial>=2
 * read-modify-written under flock(PATH.lock) and replaced by rename, so a
 * reader never sees half a file and concurrent processes never lose an
 * update.  Without a state file it lives in p11f.mem_state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "p11fault.h"

static void state_parse_line(p11f_state *st, const char *line)
{
    static const char pin_key[] = "pin_remaining.";
    const char *eq = strchr(line, '=');
    size_t klen;
    p11f_pin_entry *e;

    if (eq == NULL)
        return;
    if (strncmp(line, "removed=", 8) == 0) {
        st->removed = atoi(eq + 1) != 0;
        return;
    }
    if (strncmp(line, "pin_changed=", 12) == 0) {
        st->pin_changed = atoi(eq + 1) != 0;
        return;
    }
    if (strncmp(line, pin_key, sizeof pin_key - 1) != 0 || st->n_pins == P11F_MAX_TOKENS)
        return;
    klen = (size_t)(eq - line) - (sizeof pin_key - 1);
    if (klen == 0 || klen >= P11F_SERIAL_MAX)
        return;
    e = &st->pins[st->n_pins++];
    memcpy(e->serial, line + sizeof pin_key - 1, klen);
    e->serial[klen] = '\0';
    e->remaining = strtoul(eq + 1, NULL, 10);
}

static int state_read(p11f_state *st, const char *path)
{
    char line[256];
    FILE *f = fopen(path, "re");

    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        state_parse_line(st, line);
    }
    fclose(f);
    return 0;
}

static int state_write(const p11f_state *st, const char *path)
{
    char tmp[PATH_MAX + 32];
    FILE *f;
    size_t i;
    int rc;

    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "we");
    if (f == NULL)
        return -1;
    fprintf(f, "removed=%d\n", st->removed ? 1 : 0);
    fprintf(f, "pin_changed=%d\n", st->pin_changed ? 1 : 0);
    for (i = 0; i < st->n_pins; i++)
        fprintf(f, "pin_remaining.%s=%lu\n", st->pins[i].serial, st->pins[i].remaining);
    rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int p11f_state_begin(p11f_state *st, int *lockfd)
{
    char lockpath[PATH_MAX + 8];

    *lockfd = -1;
    if (p11f.cfg.state[0] == '\0') {
        *st = p11f.mem_state;
        return 0;
    }
    memset(st, 0, sizeof *st);
    snprintf(lockpath, sizeof lockpath, "%s.lock", p11f.cfg.state);
    *lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*lockfd < 0 || flock(*lockfd, LOCK_EX) != 0 ||
        state_read(st, p11f.cfg.state) != 0) {
        fprintf(stderr, "p11fault: QSCD_P11FAULT_STATE %s: %s\n",
                p11f.cfg.state, strerror(errno));
        if (*lockfd >= 0)
            close(*lockfd);
        *lockfd = -1;
        return -1;
    }
    return 0;
}

int p11f_state_end(const p11f_state *st, int lockfd, bool save)
{
    int rc = 0;

    if (p11f.cfg.state[0] == '\0') {
        if (save)
            p11f.mem_state = *st;
        return 0;
    }
    if (save && state_write(st, p11f.cfg.state) != 0) {
        fprintf(stderr, "p11fault: cannot write QSCD_P11FAULT_STATE %s: %s\n",
                p11f.cfg.state, strerror(errno));
        rc = -1;
    }
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}
