/*
 * The lifecycle as one table of transitions, and the pure function that
 * picks the one due for a job.  See include/lifecycle.h and
 * docs/lifecycle.md; docs/lifecycle.dot is printed from this table.
 */
#include "lifecycle.h"

#include <string.h>

static const char *const order_names[LC_ORDER_STATE_COUNT] = {
    [LC_ORDER_DRAFT] = "draft",
    [LC_ORDER_SUBMITTING] = "submitting",
    [LC_ORDER_PENDING] = "pending",
    [LC_ORDER_SUBMITTED] = "submitted",
    [LC_ORDER_APPROVED] = "approved",
    [LC_ORDER_CERTIFICATE_READY] = "certificate_ready",
    [LC_ORDER_REJECTED] = "rejected",
};

static const char *const device_names[LC_DEVICE_STATE_COUNT] = {
    [LC_DEV_TOKEN_ABSENT] = "token_absent",
    [LC_DEV_TOKEN_PRESENT] = "token_present",
    [LC_DEV_UNLOCKED] = "unlocked",
    [LC_DEV_KEY_READY] = "key_ready",
    [LC_DEV_CERTIFICATE_INSTALLED] = "certificate_installed",
    [LC_DEV_VERIFIED] = "verified",
};

static const char *const action_names[LC_ACTION_COUNT] = {
    [LC_ACT_STOP_REJECTED] = "stop_rejected",
    [LC_ACT_SUBMIT] = "submit",
    [LC_ACT_RECONCILE_SUBMIT] = "reconcile_submit",
    [LC_ACT_POLL_ORDER] = "poll_order",
    [LC_ACT_DOWNLOAD_AND_VERIFY] = "download_and_verify",
    [LC_ACT_WAIT_TOKEN] = "wait_token",
    [LC_ACT_CHECK_TOKEN_IDENTITY] = "check_token_identity",
    [LC_ACT_BIND_TOKEN] = "bind_token",
    [LC_ACT_UNLOCK] = "unlock",
    [LC_ACT_GENERATE_KEY_AND_REISSUE] = "generate_key_and_reissue",
    [LC_ACT_LOCATE_KEY] = "locate_key",
    [LC_ACT_INSTALL] = "install",
    [LC_ACT_READ_BACK] = "read_back",
    [LC_ACT_DONE] = "done",
};

/* Short aliases so that the table reads in one screen. */
#define DRAFT      LC_ORDER_DRAFT
#define SUBMITTING LC_ORDER_SUBMITTING
#define PENDING    LC_ORDER_PENDING
#define SUBMITTED  LC_ORDER_SUBMITTED
#define APPROVED   LC_ORDER_APPROVED
#define READY      LC_ORDER_CERTIFICATE_READY
#define REJECTED   LC_ORDER_REJECTED
#define ABSENT     LC_DEV_TOKEN_ABSENT
#define PRESENT    LC_DEV_TOKEN_PRESENT
#define UNLOCKED   LC_DEV_UNLOCKED
#define KEY        LC_DEV_KEY_READY
#define INSTALLED  LC_DEV_CERTIFICATE_INSTALLED
#define VERIFIED   LC_DEV_VERIFIED
#define BOUND      LC_F_TOKEN_BOUND
#define REKEY      LC_F_REKEY
#define SAME       LC_SAME
#define O          LC_O
#define D          LC_D
#define A(a)       LC_ACT_##a

/*
 * First matching row wins.  The order side moves first: the certificate is
 * downloaded before the token is touched, so that a plugged-in token can be
 * checked against it without spending a PIN try.  With --generate-key
 * (REKEY) the token gets a new key and the order a reissue instead, and the
 * order side goes round once more.
 */
static const struct lifecycle_transition table[] = {
/*  order guard          device guard                        need         forbid       action               next order/device  other */
  { O(REJECTED),         LC_D_ANY,                           0,           0,           A(STOP_REJECTED),    SAME,     SAME,      SAME,
    "the order was rejected: nothing more to do" },
  { O(DRAFT),            LC_D_ANY,                           0,           0,           A(SUBMIT),           PENDING,  SAME,      SUBMITTING,
    "journal 'submitting', send the order, record its ids (no answer: stays submitting)" },
  { O(SUBMITTING),       LC_D_ANY,                           0,           0,           A(RECONCILE_SUBMIT), PENDING,  SAME,      DRAFT,
    "a submit was interrupted: find the order it stored (product, organisation, time); none: resend only when confirmed" },
  { O(PENDING)|O(SUBMITTED), LC_D_ANY,                       0,           0,           A(POLL_ORDER),       APPROVED, SAME,      REJECTED,
    "follow the order until it is approved or rejected" },
  { O(APPROVED),         LC_D_ANY,                           0,           REKEY,       A(DOWNLOAD_AND_VERIFY), READY, SAME,      SAME,
    "download the certificate chain and check it against the qualified-eSeal profile" },
  { O(APPROVED)|O(READY), D(ABSENT),                         0,           0,           A(WAIT_TOKEN),       SAME,     PRESENT,   SAME,
    "wait for a token to be plugged in" },
  { O(APPROVED)|O(READY), D(PRESENT)|D(INSTALLED)|D(VERIFIED), REKEY,     BOUND,       A(BIND_TOKEN),       SAME,     SAME,      SAME,
    "a new key is wanted: bind the chosen token to this job" },
  { O(READY),            D(PRESENT)|D(INSTALLED)|D(VERIFIED), 0,          BOUND|REKEY, A(CHECK_TOKEN_IDENTITY), SAME,   SAME,      SAME,
    "compare the token's public keys with the certificate, before any PIN; bind on a match" },
  { O(APPROVED)|O(READY), D(PRESENT),                        BOUND,       0,           A(UNLOCK),           SAME,     UNLOCKED,  SAME,
    "log in to the bound token with the user PIN" },
  { O(APPROVED)|O(READY), D(INSTALLED)|D(VERIFIED),          BOUND|REKEY, 0,           A(UNLOCK),           SAME,     UNLOCKED,  SAME,
    "log in to the bound token to replace its key" },
  { O(APPROVED)|O(READY), D(UNLOCKED)|D(KEY),                REKEY,       0,           A(GENERATE_KEY_AND_REISSUE), PENDING, KEY, SAME,
    "generate a key pair on the token, sign a CSR there, request a reissue" },
  { O(READY),            D(UNLOCKED),                        0,           0,           A(LOCATE_KEY),       SAME,     KEY,       SAME,
    "find the private key whose public half the certificate holds" },
  { O(READY),            D(KEY),                             0,           0,           A(INSTALL),          SAME,     INSTALLED, SAME,
    "write the certificate next to the key (same CKA_ID and label)" },
  { O(READY),            D(INSTALLED),                       BOUND,       0,           A(READ_BACK),        SAME,     VERIFIED,  SAME,
    "read the certificate back from the token and compare" },
  { O(READY),            D(VERIFIED),                        BOUND,       0,           A(DONE),             SAME,     SAME,      SAME,
    "ready: the token holds the order's certificate next to its key" },
};

#define N_ROWS (sizeof(table) / sizeof(table[0]))

const char *lifecycle_order_state_name(enum lifecycle_order_state s)
{
    return (unsigned)s < LC_ORDER_STATE_COUNT ? order_names[s] : "?";
}

const char *lifecycle_device_state_name(enum lifecycle_device_state s)
{
    return (unsigned)s < LC_DEVICE_STATE_COUNT ? device_names[s] : "?";
}

const char *lifecycle_action_name(enum lifecycle_action a)
{
    return (unsigned)a < LC_ACTION_COUNT ? action_names[a] : "?";
}

static int find_name(const char *const *names, int n, const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

bool lifecycle_order_state_parse(const char *name, enum lifecycle_order_state *out)
{
    int i = find_name(order_names, LC_ORDER_STATE_COUNT, name);

    if (i < 0)
        return false;
    *out = (enum lifecycle_order_state)i;
    return true;
}

bool lifecycle_device_state_parse(const char *name, enum lifecycle_device_state *out)
{
    int i = find_name(device_names, LC_DEVICE_STATE_COUNT, name);

    if (i < 0)
        return false;
    *out = (enum lifecycle_device_state)i;
    return true;
}

const struct lifecycle_transition *lifecycle_next(const lifecycle_view *v)
{
    if (v == NULL || (unsigned)v->order >= LC_ORDER_STATE_COUNT ||
        (unsigned)v->device >= LC_DEVICE_STATE_COUNT)
        return NULL;
    for (size_t i = 0; i < N_ROWS; i++) {
        const struct lifecycle_transition *t = &table[i];

        if (!(t->order_guard & O(v->order)) || !(t->device_guard & D(v->device)))
            continue;
        if ((v->facts & t->need) != t->need || (v->facts & t->forbid) != 0)
            continue;
        return t;
    }
    return NULL;
}

bool lifecycle_is_terminal(enum lifecycle_action a)
{
    return a == LC_ACT_DONE || a == LC_ACT_STOP_REJECTED;
}

const struct lifecycle_transition *lifecycle_table(size_t *n)
{
    if (n != NULL)
        *n = N_ROWS;
    return table;
}

/* --- Graphviz ------------------------------------------------------------ */

/* "[approved|certificate_ready, bound, !rekey]": what else must hold. */
static void print_guard(FILE *out, const char *const *names, unsigned n_states,
                        unsigned any, unsigned guard, const struct lifecycle_transition *t)
{
    const char *sep = "";

    if (guard == any && t->need == 0 && t->forbid == 0)
        return;
    fputs("\\n[", out);
    if (guard != any) {
        for (unsigned s = 0; s < n_states; s++)
            if (guard & (1u << s)) {
                fprintf(out, "%s%s", sep, names[s]);
                sep = "|";
            }
        sep = ", ";
    }
    if (t->need & BOUND) { fprintf(out, "%sbound", sep); sep = ", "; }
    if (t->need & REKEY) { fprintf(out, "%srekey", sep); sep = ", "; }
    if (t->forbid & BOUND) { fprintf(out, "%s!bound", sep); sep = ", "; }
    if (t->forbid & REKEY) fprintf(out, "%s!rekey", sep);
    fputc(']', out);
}

/* One edge per source state of one side to `next`. */
static void print_edges(FILE *out, const struct lifecycle_transition *t, bool order_side,
                        int next, const char *style)
{
    const char *const *names = order_side ? order_names : device_names;
    unsigned n = order_side ? LC_ORDER_STATE_COUNT : LC_DEVICE_STATE_COUNT;
    unsigned guard = order_side ? t->order_guard : t->device_guard;

    for (unsigned s = 0; s < n; s++) {
        if (!(guard & (1u << s)) || (unsigned)next == s)
            continue;
        fprintf(out, "  %s -> %s [label=\"%s", names[s], names[next], action_names[t->action]);
        if (order_side)
            print_guard(out, device_names, LC_DEVICE_STATE_COUNT, LC_D_ANY, t->device_guard, t);
        else
            print_guard(out, order_names, LC_ORDER_STATE_COUNT, LC_O_ANY, t->order_guard, t);
        fprintf(out, "\"%s];\n", style);
    }
}

/*
 * Rows that move neither side (checks, terminals) become one self-loop per
 * state listing them all: several loops on one node make labels collide.
 */
static void print_self_loops(FILE *out, bool order_side)
{
    const char *const *names = order_side ? order_names : device_names;
    unsigned n = order_side ? LC_ORDER_STATE_COUNT : LC_DEVICE_STATE_COUNT;

    for (unsigned s = 0; s < n; s++) {
        const char *sep = "";
        bool terminal = false;

        for (size_t i = 0; i < N_ROWS; i++) {
            const struct lifecycle_transition *t = &table[i];
            unsigned guard = order_side ? t->order_guard : t->device_guard;

            if (t->next_order != SAME || t->next_device != SAME || !(guard & (1u << s)) ||
                (t->device_guard == LC_D_ANY) != order_side)
                continue;
            if (*sep == '\0')
                fprintf(out, "  %s -> %s [label=\"", names[s], names[s]);
            fprintf(out, "%s%s", sep, action_names[t->action]);
            if (order_side)
                print_guard(out, device_names, LC_DEVICE_STATE_COUNT, LC_D_ANY, t->device_guard, t);
            else
                print_guard(out, order_names, LC_ORDER_STATE_COUNT, LC_O_ANY, t->order_guard, t);
            terminal = terminal || lifecycle_is_terminal(t->action);
            sep = "\\n";
        }
        if (*sep != '\0')
            fprintf(out, "\"%s];\n", terminal ? ", style=bold" : "");
    }
}

static void print_cluster(FILE *out, const char *id, const char *label,
                          const char *const *names, unsigned n, unsigned terminal)
{
    fprintf(out, "  subgraph cluster_%s {\n    label=\"%s\";\n", id, label);
    for (unsigned s = 0; s < n; s++)
        fprintf(out, "    %s%s;\n", names[s], (terminal & (1u << s)) ? " [peripheries=2]" : "");
    fputs("  }\n", out);
}

int lifecycle_table_print_dot(FILE *out)
{
    fputs("// Generated from src/job/lifecycle_table.c by lifecycle_table_print_dot();\n"
          "// regenerate with: build/tests/test-lifecycle-table --print-dot\n"
          "digraph lifecycle {\n"
          "  rankdir=TB;\n"
          "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
          "  edge [fontname=\"Helvetica\", fontsize=10];\n", out);
    print_cluster(out, "order", "order side", order_names, LC_ORDER_STATE_COUNT,
                  O(REJECTED) | O(READY));
    print_cluster(out, "device", "device side", device_names, LC_DEVICE_STATE_COUNT, D(VERIFIED));
    for (size_t i = 0; i < N_ROWS; i++) {
        const struct lifecycle_transition *t = &table[i];

        if (t->next_order != SAME)
            print_edges(out, t, true, t->next_order, "");
        if (t->other_order != SAME)
            print_edges(out, t, true, t->other_order, ", style=dashed");
        if (t->next_device != SAME)
            print_edges(out, t, false, t->next_device, "");
    }
    print_self_loops(out, true);
    print_self_loops(out, false);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}
