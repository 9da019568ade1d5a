/*
 * The state directory's layout (state_layout.h): every path into it is
 * built here.
 */
#include "state_layout.h"

#include <stdio.h>
#include <stdlib.h>

static char *join(const char *state, const char *sub, const char *name, const char *suffix)
{
    char *p = NULL;

    if (asprintf(&p, "%s/%s%s%s%s", state, sub, name ? "/" : "", name ? name : "",
                 suffix ? suffix : "") < 0)
        return NULL;
    return p;
}

char *state_jobs_dir(const char *state)
{
    return join(state, "jobs", NULL, NULL);
}

char *state_job_file(const char *state, const char *name, const char *suffix)
{
    return join(state, "jobs", name ? name : "", suffix);
}

char *state_certs_dir(const char *state)
{
    return join(state, "certs", NULL, NULL);
}

char *state_chain_file(const char *state, const char *ref)
{
    return join(state, "certs", ref, ".pem");
}

char *state_audit_file(const char *state)
{
    return join(state, "audit.log", NULL, NULL);
}

char *state_submit_lock_file(const char *state)
{
    return join(state, "submit.lock", NULL, NULL);
}

char *state_pace_file(const char *state, const char *name)
{
    return join(state, "pace", name, NULL);
}

char *state_sub_dir(const char *state, const char *sub)
{
    return join(state, sub, NULL, NULL);
}

char *state_sub_file(const char *state, const char *sub, const char *name)
{
    return join(state, sub, name, NULL);
}
