/*
 * The order client for a set of settings, built in one place for the
 * engine, the order commands and watch's matcher: which URL, which trust
 * anchors, which key, and that every agent on the machine shares one
 * pacing ledger in the state dir (CertCentral counts per key).
 */
#include "lifecycle_engine.h"

#include <string.h>

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
    o.pace_dir = set->state_dir;
    if ((c = order_client_new(&o, err)) == NULL && loaded) {
        secret_free(*key);
        *key = NULL;
    }
    return c;
}

journal_code lifecycle_store_open(const lifecycle_settings *set, store **out, journal_err *err)
{
    store_settings ss = { .state_dir = set->state_dir, .state_db = set->state_db };

    return store_open(&ss, out, err);
}
