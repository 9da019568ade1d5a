/*
 * Private to the store's files: the handle.
 */
#ifndef QSCD_STORE_INT_H
#define QSCD_STORE_INT_H

#include "store.h"

struct qscd_store {
    char *dir;           /* the state directory backend; NULL for a database */
    char  desk[256];     /* store_desk() */
};

#endif
