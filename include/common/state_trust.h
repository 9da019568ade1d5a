/*
 * The state directory must be the agent's own: owned by the running user
 * (or root) and writable by nobody else.  A directory that does not exist
 * yet passes (it is created with mode 0700).
 */
#ifndef QSCD_STATE_TRUST_H
#define QSCD_STATE_TRUST_H

#include <stddef.h>

/* 0 when dir can be trusted, else -1 with msg saying why and what to do. */
int state_dir_trusted(const char *dir, char *msg, size_t len);

#endif
