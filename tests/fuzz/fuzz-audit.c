/*
 * Fuzz target: the audit log reader (audit_read), on whatever is in
 * STATE/audit.log: torn lines after a crash, edits, another version's
 * fields.  Every line is either an entry or counted as corrupt.
 */
#include "audit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64], path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/dev/shm/qscd-fuzz-audit.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        snprintf(dir, sizeof dir, "/tmp/qscd-fuzz-audit.XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
    }
    snprintf(path, sizeof path, "%s/audit.log", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    audit_log log;
    audit_err err;
    size_t lines = 0;
    FILE *f = fopen(path, "w");

    if (f == NULL)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    lines += size > 0 && data[size - 1] != '\n';
    memset(&log, 0, sizeof log);
    if (audit_read(dir, NULL, &log, &err) == AUDIT_OK && log.n + log.n_corrupt > lines) {
        fprintf(stderr, "fuzz invariant broken: more entries than lines\n");
        abort();
    }
    for (size_t i = 0; i < log.n; i++)
        if (log.entries[i].action == NULL || log.entries[i].outcome == NULL)
            abort();
    audit_log_free(&log);
    (void)audit_read(dir, "100001", &log, &err);
    audit_log_free(&log);
    return 0;
}
