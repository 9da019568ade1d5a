/*
 * p11fault_log.c — the call log (QSCD_P11FAULT_LOG): one line per call,
 * "C_Name rv=0x%08lx" plus " fault=..." when the module made the reply up.
 * Arguments are never logged, so no PIN can reach it.  Each line is one
 * O_APPEND write, so several processes (and threads) can share a log.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "p11fault.h"

static const char *fault_name(enum p11f_fault fault)
{
    switch (fault) {
    case P11F_FAULT_REMOVED:       return "removed";
    case P11F_FAULT_REMOVED_AFTER: return "removed-after";
    case P11F_FAULT_DEVICE_ERROR:  return "device-error";
    case P11F_FAULT_GENERAL_ERROR: return "general-error";
    case P11F_FAULT_PIN_LOCKED:    return "pin-locked";
    case P11F_FAULT_PINPAD:        return "pinpad";
    case P11F_FAULT_PIN_EXPIRED:   return "pin-expired";
    case P11F_FAULT_NONE:
    case P11F_FAULT_NOT_INITIALIZED:
        break;
    }
    return NULL;
}

static void log_write(const char *line, size_t len)
{
    int fd;

    if (p11f.cfg.log[0] == '\0')
        return;
    fd = open(p11f.cfg.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write(fd, line, len) < 0) {
        /* A test that reads the log will notice the missing line. */
    }
    close(fd);
}

void p11f_log_call(const char *name, CK_RV rv, enum p11f_fault fault)
{
    const char *f = fault_name(fault);
    char line[128];
    int n;

    n = snprintf(line, sizeof line, "%s rv=0x%08lx%s%s\n", name,
                 (unsigned long)rv, f ? " fault=" : "", f ? f : "");
    if (n > 0 && (size_t)n < sizeof line)
        log_write(line, (size_t)n);
}
