/*
 * Fuzz target: the pacing ledger (STATE/pace/<api>), read under its lock
 * by every agent sharing the state dir, and written back.  A ledger of
 * this boot (the seed's boot id is replaced by this machine's, so the
 * times are parsed and not skipped as stale) or any other bytes: no crash,
 * and the ring it yields keeps the request budget sane.
 */
#include "order.h"
#include "order_pace_int.h"

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
    snprintf(dir, sizeof dir, "/dev/shm/qscd-fuzz-pace.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        snprintf(dir, sizeof dir, "/tmp/qscd-fuzz-pace.XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
    }
    snprintf(path, sizeof path, "%s/ledger", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const order_pace_window w[] = { ORDER_PACE_SHORT, ORDER_PACE_LONG };
    order_pace *p = order_pace_new(w, 2);
    const char magic[] = "qscd-pace 1 ";
    size_t boot_at = sizeof(magic) - 1;
    int fd = -1;
    FILE *f;

    if (p == NULL || order_pace_share(p, path) != 0)
        abort();
    f = fopen(path, "w");
    if (f == NULL)
        abort();
    if (size > boot_at + 36 && memcmp(data, magic, boot_at) == 0) {
        fwrite(data, 1, boot_at, f);
        fputs(p->boot, f);
        fwrite(data + boot_at + 36, 1, size - boot_at - 36, f);
    } else if (size) {
        fwrite(data, 1, size, f);
    }
    fclose(f);
    if (order_pace_ledger_load(p, 12080.0, &fd)) {
        if (p->count > p->cap)
            abort();
        order_pace_ledger_store(p, fd, true);
    }
    /* Whatever the ledger held, the next request waits a sane time: at
     * most the longest window, never NaN. */
    double wait = order_pace_reserve(p, 12080.0);
    if (!(wait >= 0) || wait > 180.0) {
        fprintf(stderr, "fuzz invariant broken: the ledger asks for a wait of %g s\n", wait);
        abort();
    }
    order_pace_free(p);
    return 0;
}
