/*
 * Reconciling a submit that was interrupted: the job was committed as
 * "submitting" before the POST, so its order may or may not exist at
 * CertCentral.  Every order of the list is looked at (every page, no cap);
 * the ones that may be the job's are its candidates.  Exactly one is
 * adopted; with none, nothing is sent again unless the user confirms; with
 * several that cannot be told apart the run stops and lists them all.
 *
 * lc_order_may_be_job() is the one rule for "may this order be the one the
 * job's submit stored": reconciliation here and `provision ORDER_ID`
 * (lifecycle_order.c) both ask it.
 */
#include "lifecycle_int.h"

#include "exit_codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool lc_order_may_be_job(const journal_job *j, const lc_order_facts *f)
{
    char org[32];

    if (j->order_state != LC_ORDER_SUBMITTING || j->order_id != NULL)
        return false;
    /* Whatever the order does not say could be ours: only a known,
     * different value rules it out. */
    if (j->product != NULL && f->product != NULL && f->product[0] &&
        strcmp(j->product, f->product) != 0)
        return false;
    snprintf(org, sizeof(org), "%ld", f->organization_id);
    if (j->organization_id != NULL && f->organization_id != 0 &&
        strcmp(j->organization_id, org) != 0)
        return false;
    /* An absent or unparseable date_created is no reason to drop it. */
    return f->date_created == 0 || j->request_created == 0 ||
           f->date_created >= j->request_created - LC_CLOCK_SKEW_S;
}

void lc_order_facts_of_info(const order_info *info, lc_order_facts *f)
{
    f->product = info->product_name_id;
    f->organization_id = info->organization_id;
    f->date_created = info->date_created;
}

/* True when another job already owns this order id. */
static bool owned_elsewhere(const journal_listing *l, const char *ref, long id)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%ld", id);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->jobs[i]->ref, ref) != 0 && l->jobs[i]->order_id != NULL &&
            strcmp(l->jobs[i]->order_id, buf) == 0)
            return true;
    return false;
}

static bool listed(const lc_candidates *c, long id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].id == id)
            return true;
    return false;
}

/*
 * The list may leave out an order's organisation: then the order itself
 * says (one GET per such order, however many there are).  0 or an error.
 */
static int complete_facts(lc_run *r, order_summary *s)
{
    order_info info = { 0 };
    order_err oe = { 0 };

    if (s->organization_id != 0 || r->job->organization_id == NULL)
        return 0;
    if (order_get(r->client, s->id, &info, &oe) != ORDER_OK)
        return lc_fail_order(r->err, &oe, "looking for the interrupted order");
    s->organization_id = info.organization_id;
    if (!s->product_name_id[0])
        snprintf(s->product_name_id, sizeof(s->product_name_id), "%s", info.product_name_id);
    if (s->date_created == 0 && info.date_created != 0) {
        s->date_created = info.date_created;
        snprintf(s->date_created_str, sizeof(s->date_created_str), "%s", info.date_created_str);
    }
    order_info_free(&info);
    return 0;
}

static bool may_be(const lc_run *r, const order_summary *s)
{
    lc_order_facts f = { s->product_name_id, s->organization_id, s->date_created };

    return lc_order_may_be_job(r->job, &f);
}

/* Keep s as a candidate when the rule says it may be the job's. */
static int consider(lc_run *r, const journal_listing *l, order_summary *s, lc_candidates *c)
{
    lc_candidate *grown;
    int rc;

    if (listed(c, s->id) || owned_elsewhere(l, r->job->ref, s->id) || !may_be(r, s))
        return 0;
    if ((rc = complete_facts(r, s)) != 0 || !may_be(r, s))
        return rc;
    if ((grown = realloc(c->items, (c->n + 1) * sizeof(*grown))) == NULL)
        return lc_fail(r->err, QSCD_EXIT_USAGE, "nomem", "out of memory");
    c->items = grown;
    grown[c->n].id = s->id;
    snprintf(grown[c->n].date, sizeof(grown[c->n].date), "%s", s->date_created_str);
    grown[c->n].date_known = s->date_created != 0;
    snprintf(grown[c->n].status, sizeof(grown[c->n].status), "%s", s->status);
    snprintf(grown[c->n].common_name, sizeof(grown[c->n].common_name), "%s", s->common_name);
    c->n++;
    return 0;
}

int lc_find_candidates(lc_run *r, lc_candidates *c)
{
    order_summary *list = NULL;
    journal_listing l = { 0 };
    journal_err je = { 0 };
    order_err oe = { 0 };
    size_t count = 0;
    int rc = 0;

    memset(c, 0, sizeof(*c));
    if (order_list(r->client, NULL, &list, &count, &oe) != ORDER_OK)
        return lc_fail_order(r->err, &oe, "looking for the interrupted order");
    c->looked_at = count;
    if (store_list(r->st, &l, &je) != JOURNAL_OK)
        rc = lc_fail_journal(r->err, &je);
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = consider(r, &l, &list[i], c);
    journal_listing_free(&l);
    free(list);
    if (rc != 0)
        lc_candidates_free(c);
    return rc;
}

void lc_candidates_free(lc_candidates *c)
{
    free(c->items);
    memset(c, 0, sizeof(*c));
}

/* certificate.common_name of the request in hand, or NULL. */
static const char *request_common_name(const cJSON *req)
{
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(req, "certificate");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(cert, "common_name");

    return cJSON_IsString(cn) && cn->valuestring[0] ? cn->valuestring : NULL;
}

/*
 * Among several candidates, the one whose common name is the request's,
 * when every other one has a different, known common name; -1 otherwise.
 */
static long told_apart(const lc_run *r, const lc_candidates *c)
{
    const char *cn = r->request ? request_common_name(r->request) : NULL;
    long found = -1;

    if (cn == NULL)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        if (strcasecmp(c->items[i].common_name, cn) == 0) {
            if (found >= 0)
                return -1;
            found = c->items[i].id;
        } else if (c->items[i].common_name[0] == '\0') {
            return -1;
        }
    }
    return found;
}

static int adopt_found(lc_run *r, long id)
{
    order_info info = { 0 };
    order_err oe = { 0 };
    const order_request_item *req;
    char buf[32];
    int rc;

    if (order_get(r->client, id, &info, &oe) != ORDER_OK)
        return lc_fail_order(r->err, &oe, "the interrupted submit's order");
    req = order_latest_request(&info);
    snprintf(buf, sizeof(buf), "%ld", info.id);
    journal_set(&r->job->order_id, buf);
    if (req != NULL) {
        snprintf(buf, sizeof(buf), "%ld", req->id);
        journal_set(&r->job->request_id, buf);
    }
    r->job->order_state = LC_ORDER_PENDING;   /* the next poll tells the rest */
    snprintf(r->placed_status, sizeof(r->placed_status), "%s",
             req != NULL ? req->status : info.status);
    journal_set_error(r->job, NULL, NULL);
    lc_say(r, "the interrupted submit was stored by CertCentral as order %ld: adopted", info.id);
    rc = lc_commit(r);
    order_info_free(&info);
    return rc;
}

/* One candidate as "100001 (created 2026-12-01T10:00:00+00:00, pending)". */
static int describe_one(const lc_candidate *c, char *buf, size_t len)
{
    const char *status = c->status[0] ? c->status : "no status given";

    if (!c->date[0])
        return snprintf(buf, len, "%ld (date unknown, %s)", c->id, status);
    if (!c->date_known)
        return snprintf(buf, len, "%ld (date \"%.40s\" not understood, %s)", c->id, c->date,
                        status);
    return snprintf(buf, len, "%ld (created %s, %s)", c->id, c->date, status);
}

/* Every candidate, as much as fits; the rest counted. */
static void describe(const lc_candidates *c, char *buf, size_t len)
{
    size_t used = 0, i;
    char one[160];

    buf[0] = '\0';
    for (i = 0; i < c->n; i++) {
        int n = describe_one(&c->items[i], one, sizeof(one));

        if (n < 0 || used + (size_t)n + 24 >= len)
            break;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
    }
    if (i < c->n)
        snprintf(buf + used, len - used, " and %zu more", c->n - i);
}

static int ambiguous(lc_run *r, const lc_candidates *c)
{
    char list[1300];

    describe(c, list, sizeof(list));
    lc_fail(r->err, QSCD_EXIT_API, "submit_ambiguous",
            "job %s: a submit was interrupted and %zu orders could be the one it stored: %s; "
            "nothing was sent", r->job->ref, c->n, list);
    r->err->needs_user = true;
    return QSCD_EXIT_API;
}

int lc_act_reconcile(lc_run *r)
{
    lc_candidates c;
    long id;
    int rc;

    if ((rc = lc_client_open(r)) != 0 || (rc = lc_find_candidates(r, &c)) != 0)
        return rc;
    id = c.n == 1 ? c.items[0].id : told_apart(r, &c);
    if (id > 0) {
        rc = adopt_found(r, id);
    } else if (c.n > 0) {
        rc = ambiguous(r, &c);   /* never a resend while one could be ours */
    } else if (r->opts->confirm_resubmit) {
        lc_say(r, "no order of the interrupted submit found among %zu listed; sending again "
               "as confirmed", c.looked_at);
        r->job->order_state = LC_ORDER_DRAFT;
        rc = lc_commit(r);
    } else {
        rc = lc_fail(r->err, QSCD_EXIT_API, "submit_unconfirmed",
                     "job %s: a submit was interrupted and none of the %zu orders CertCentral "
                     "lists can be the one it stored; nothing was sent again", r->job->ref,
                     c.looked_at);
        r->err->needs_user = true;
    }
    lc_candidates_free(&c);
    return rc;
}
