/*
 * Whether the state directory can be trusted (state_trust.h).  Everything
 * the agent keeps there (jobs, locks, the chain it installs, the audit
 * log) decides what it does next; a directory another local user can write
 * to, or one they created for us, lets them decide instead.
 */
#include "state_trust.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int state_dir_trusted(const char *dir, char *msg, size_t len)
{
    struct stat st;

    if (dir == NULL || *dir == '\0')
        return 0;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;   /* created private (0700) when first needed */
        if (errno == ENOTDIR)
            return 0;   /* cannot be a directory: nothing can be planted there, and
                           whatever needs it fails on its own */
        snprintf(msg, len, "state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    /* Not a directory: whatever needs it there fails on its own (and a
     * command that can do without, such as order status, still runs). */
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        char pwbuf[1024];
        struct passwd pw, *owner = NULL;

        if (getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &owner) != 0)
            owner = NULL;
        snprintf(msg, len,
                 "state directory %s: owned by uid %ld%s%s%s, not by this user (uid %ld) or "
                 "root; its owner could plant jobs and locks there. Run as its owner%s%s%s, "
                 "or use a directory of your own (e.g. one made with mktemp -d)", dir,
                 (long)st.st_uid, owner ? " (" : "", owner ? owner->pw_name : "",
                 owner ? ")" : "", (long)geteuid(), owner ? " (sudo -u " : "",
                 owner ? owner->pw_name : "", owner ? " qscd-agent ...)" : "");
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(msg, len,
                 "state directory %s: writable by %s (mode %04o); make it private "
                 "(chmod 700 %s)", dir, (st.st_mode & S_IWOTH) ? "every user" : "its group",
                 (unsigned)(st.st_mode & 07777), dir);
        return -1;
    }
    return 0;
}
