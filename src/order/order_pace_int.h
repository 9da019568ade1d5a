/*
 * The pacer's insides, shared by order_pace.c (the windows) and
 * order_pace_ledger.c (the send times kept on disk for every agent on the
 * machine).  Not part of the order interface.
 */
#ifndef QSCD_ORDER_PACE_INT_H
#define QSCD_ORDER_PACE_INT_H

#include "order.h"

#include <stdbool.h>
#include <stddef.h>

#define PACE_MAX_WINDOWS 4
#define PACE_BOOT_ID_LEN 40

struct order_pace {
    order_pace_window windows[PACE_MAX_WINDOWS];
    size_t            n_windows;
    double           *ring;      /* send times, oldest overwritten */
    size_t            cap;
    size_t            count;     /* how many recorded, up to cap */
    size_t            next;      /* where the next one goes */
    char             *ledger;    /* shared ledger file, or NULL */
    char              boot[PACE_BOOT_ID_LEN];   /* this boot, read once */
    order_pace_hook   hook;      /* a ledger kept by the caller; load NULL: none */
    char             *hook_api;  /* the API the hook's ledger is for */
};

/* Replace the ring with these send times (oldest first; the last cap kept). */
void order_pace_record_all(order_pace *p, const double *times, size_t n);

/* Lock the ledger and load its times into the ring; false (ring as it was)
 * when the ledger cannot be used. */
bool order_pace_ledger_load(order_pace *p, double now, int *fd);
/* Write the ring back when `store`, and unlock. */
void order_pace_ledger_store(order_pace *p, int fd, bool store);
/* The same through the hook (order_pace_use_hook). */
bool order_pace_hook_load(order_pace *p, double now);
void order_pace_hook_done(order_pace *p, bool sent);

#endif
