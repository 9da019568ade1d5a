/*
 * The order client for a set of settings, built in one place for the
 * engine, the order commands and watch's matcher: which URL, which trust
 * anchors, which key, and that every agent on the machine shares one
 * pacing ledger in the state dir (CertCentral counts per key).
 */
#include "lifecycle_engine.h"

#include <string.h>

/* The fleet's pacing ledger, in the database: the hook's ctx is a store of
 * its own (one more connection), so that its transactions never meet the
 * engine's. */
static bool pace_load(void *ctx, const char *api, double horizon_s, double *ages, size_t cap,
                      size_t *n)
{
    journal_err je = { 0 };

    return store_pace_load(ctx, api, horizon_s, ages, cap, n, &je) == JOURNAL_OK;
}

static void pace_done(void *ctx, const char *api, bool sent) { store_pace_done(ctx, api, sent); }
static void pace_release(void *ctx) { store_close(ctx); }

static void share_fleet_pace(const lifecycle_settings *set, order_client *c)
{
    order_pace_hook hook = { .load = pace_load, .done = pace_done, .release = pace_release };
    journal_err je = { 0 };
    store *st = NULL;

    /* A database that cannot be reached leaves this process pacing alone;
     * whatever needs the database fails on its own. */
    if (lifecycle_store_open(set, &st, &je) != JOURNAL_OK)
        return;
    hook.ctx = st;
    order_client_pace_with(c, &hook);
}

order_client *lifecycle_client_new(const lifecycle_settings *set, const order_client_opts *tune,
                                   secret **key, order_err *err)
{
    order_client_opts o;
    order_client *c;
    bool loaded = false;

    if (tune != NULL)
        o = *tune;
    else
        memset(&o, 0, sizeof(o));
    /* The URL first: a job is only created when it can be sent. */
    if (!order_api_url_check(set->api_url, err))
        return NULL;
    if (*key == NULL) {
        if ((*key = order_apikey_load(set->api_key_file, err)) == NULL)
            return NULL;
        loaded = true;
    }
    o.api_url = set->api_url;
    o.ca_file = set->ca_file;
    o.api_key = *key;
    o.verbose = set->verbose;
    /* One ledger for every agent of the machine (the state dir), or of the
     * fleet (the database): CertCentral counts per key. */
    o.pace_dir = set->state_db != NULL ? NULL : set->state_dir;
    if ((c = order_client_new(&o, err)) == NULL && loaded) {
        secret_free(*key);
        *key = NULL;
    }
    if (c != NULL && set->state_db != NULL)
        share_fleet_pace(set, c);
    return c;
}

journal_code lifecycle_store_open(const lifecycle_settings *set, store **out, journal_err *err)
{
    store_settings ss = { .state_dir = set->state_dir, .state_db = set->state_db };

    return store_open(&ss, out, err);
}
