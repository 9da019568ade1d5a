/*
 * The lifecycle of a job, as one explicit table of transitions (design.md,
 * "Lifecycle states").  A job has an order side and a device side; each
 * transition names what must hold on both sides (and a few facts about the
 * job), the action that moves it on, and where it leads.
 *
 * This part is pure logic: it decides, it never acts.  The engine
 * (src/lifecycle.c) observes the order and the token, builds a
 * lifecycle_view, asks lifecycle_next() what is due, performs the action and
 * journals the new states.  docs/lifecycle.dot is generated from the table
 * (lifecycle_table_print_dot) and a unit test keeps the two equal.
 */
#ifndef QSCD_LIFECYCLE_H
#define QSCD_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum lifecycle_order_state {
    LC_ORDER_DRAFT = 0,          /* request prepared, nothing sent */
    LC_ORDER_SUBMITTING,         /* journaled before the POST: outcome unknown */
    LC_ORDER_PENDING,
    LC_ORDER_SUBMITTED,
    LC_ORDER_APPROVED,           /* certificate id known */
    LC_ORDER_CERTIFICATE_READY,  /* certificate downloaded and verified */
    LC_ORDER_REJECTED,
    LC_ORDER_STATE_COUNT
};

enum lifecycle_device_state {
    LC_DEV_TOKEN_ABSENT = 0,
    LC_DEV_TOKEN_PRESENT,
    LC_DEV_UNLOCKED,              /* logged in with the user PIN */
    LC_DEV_KEY_READY,             /* the key the certificate is for is located */
    LC_DEV_CERTIFICATE_INSTALLED,
    LC_DEV_VERIFIED,              /* read back from the token and compared */
    LC_DEVICE_STATE_COUNT
};

/* Stable names: the journal stores states as these strings. */
const char *lifecycle_order_state_name(enum lifecycle_order_state s);
const char *lifecycle_device_state_name(enum lifecycle_device_state s);
bool lifecycle_order_state_parse(const char *name, enum lifecycle_order_state *out);
bool lifecycle_device_state_parse(const char *name, enum lifecycle_device_state *out);

enum lifecycle_action {
    LC_ACT_STOP_REJECTED = 0,        /* terminal: the order was rejected */
    LC_ACT_SUBMIT,                   /* journal "submitting", then POST the order */
    LC_ACT_RECONCILE_SUBMIT,         /* after a crash in submitting: find the order first */
    LC_ACT_POLL_ORDER,
    LC_ACT_DOWNLOAD_AND_VERIFY,
    LC_ACT_WAIT_TOKEN,
    LC_ACT_CHECK_TOKEN_IDENTITY,     /* public key vs certificate, before any PIN */
    LC_ACT_BIND_TOKEN,               /* blank token: nothing to compare, bind as chosen */
    LC_ACT_UNLOCK,
    LC_ACT_GENERATE_KEY_AND_REISSUE,
    LC_ACT_LOCATE_KEY,
    LC_ACT_INSTALL,
    LC_ACT_READ_BACK,
    LC_ACT_DONE,                     /* terminal: ready */
    LC_ACTION_COUNT
};

const char *lifecycle_action_name(enum lifecycle_action a);

/* Facts about a job beyond its two states (bits of lifecycle_view.facts). */
enum lifecycle_fact {
    LC_F_TOKEN_BOUND = 1u << 0,  /* the journal names this job's token */
    LC_F_REKEY       = 1u << 1,  /* --generate-key asked and no reissue sent yet */
    LC_F_ALL         = (1u << 2) - 1
};

/* Guard bits for a state: LC_O(LC_ORDER_PENDING) | LC_O(LC_ORDER_SUBMITTED). */
#define LC_O(s)     (1u << (s))
#define LC_D(s)     (1u << (s))
#define LC_O_ANY    ((1u << LC_ORDER_STATE_COUNT) - 1)
#define LC_D_ANY    ((1u << LC_DEVICE_STATE_COUNT) - 1)
#define LC_SAME     (-1)   /* next state: unchanged */

struct lifecycle_transition {
    unsigned order_guard;        /* LC_O() bits: order states it applies in */
    unsigned device_guard;       /* LC_D() bits */
    unsigned need;               /* facts that must hold */
    unsigned forbid;             /* facts that must not hold */
    enum lifecycle_action action;
    int next_order;              /* on success, or LC_SAME */
    int next_device;             /* on success, or LC_SAME */
    int other_order;             /* the other outcome the action may record, or LC_SAME */
    const char *what;            /* one line for people (status, docs) */
};

/* What the engine knows about a job right now. */
typedef struct lifecycle_view {
    enum lifecycle_order_state  order;
    enum lifecycle_device_state device;
    unsigned facts;              /* LC_F_* */
} lifecycle_view;

/*
 * The transition due for this view: the first row of the table whose guards
 * hold.  Every view has one (a unit test walks them all); NULL only for a
 * view with out-of-range states.
 */
const struct lifecycle_transition *lifecycle_next(const lifecycle_view *v);

/* True for the two actions after which nothing more is to be done. */
bool lifecycle_is_terminal(enum lifecycle_action a);

/* The whole table, for docs and tests. */
const struct lifecycle_transition *lifecycle_table(size_t *n);

/* Graphviz source of the table: docs/lifecycle.dot is this output. */
int lifecycle_table_print_dot(FILE *out);

#endif
