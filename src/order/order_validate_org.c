/*
 * organization and organization.contacts.
 *
 * An order names an existing organization by id, or carries the details
 * of a new one.  What a new one needs follows DigiCert's "Create
 * organization" endpoint (POST /services/v2/organization,
 * https://dev.digicert.com/en/certcentral-apis/services-api/organizations/create-organization.html):
 * its example and our reading of its table give name, address, city,
 * country and telephone as the details without which no organization can
 * be validated; address2, state, zip and assumed_name are optional (state
 * and zip are "conditional" per country there, so we do not insist).  The
 * seed adds: a new organization for an EU eSeal needs at least one and at
 * most fifteen verified contacts (the authorized representative).
 */
#include "order_validate_int.h"

#include <stdio.h>
#include <string.h>

#define VERIFIED_CONTACTS_MAX 15

static const char *const contact_types[] = {
    "organization_contact", "technical_contact", "verified_contact", NULL
};

/*
 * A plausible address, not RFC 5322: one "@", a non-empty local part, a
 * domain with a dot between non-empty labels, no spaces or control bytes.
 * Enough to catch a phone number or name in the email field.
 */
static bool looks_like_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0' || strstr(at, "..") != NULL)
        return false;
    return true;
}

static void check_contact_type(order_vctx *v, const cJSON *c, const char *path,
                               size_t *verified)
{
    char p[ORDER_V_PATH_MAX], got[64];
    const char *t = order_v_string(v, c, path, "contact_type", true,
                                   "organization_contact, technical_contact or "
                                   "verified_contact");

    if (t == NULL)
        return;
    if (!order_v_one_of(t, contact_types)) {
        order_v_path(p, sizeof p, path, "contact_type");
        order_v_quote(t, got, sizeof got);
        order_v_problem(v, p, "must be organization_contact, technical_contact "
                        "or verified_contact (got %s)", got);
    } else if (strcmp(t, "verified_contact") == 0) {
        (*verified)++;
    }
}

static void check_contact(order_vctx *v, const cJSON *c, const char *path,
                          size_t *verified)
{
    static const char *const details[] = {
        "first_name", "last_name", "email", "job_title", "telephone", NULL
    };
    char p[ORDER_V_PATH_MAX], got[96];
    const cJSON *uid;
    const char *email = NULL;
    bool need_details;

    if (!cJSON_IsObject(c)) {
        order_v_describe(c, false, got, sizeof got);
        order_v_problem(v, path, "must be an object (got %s)", got);
        return;
    }
    check_contact_type(v, c, path, verified);
    uid = order_v_field(v, c, path, "user_id");
    if (uid != NULL) {
        order_v_path(p, sizeof p, path, "user_id");
        order_v_id(v, uid, p);
    }
    /* Without user_id DigiCert creates the contact from these details. */
    need_details = uid == NULL;
    for (const char *const *k = details; *k; k++) {
        const char *s = order_v_string(v, c, path, *k, need_details,
                                       "needed when user_id is not given");
        if (strcmp(*k, "email") == 0)
            email = s;
    }
    if (email != NULL && !looks_like_email(email)) {
        order_v_path(p, sizeof p, path, "email");
        order_v_quote(email, got, sizeof got);
        order_v_problem(v, p, "does not look like an email address (got %s)", got);
    }
}

static void check_contacts(order_vctx *v, const cJSON *org, bool new_org)
{
    const cJSON *list = order_v_field(v, org, "organization", "contacts");
    const cJSON *c;
    char path[ORDER_V_PATH_MAX], got[96];
    size_t i = 0, verified = 0;

    if (list == NULL || cJSON_IsNull(list)) {
        order_v_problem(v, "organization.contacts", "is required (an array of "
                        "contacts%s)", new_org ? "; a new organization needs "
                        "a verified_contact" : "");
        return;
    }
    if (!cJSON_IsArray(list)) {
        order_v_describe(list, false, got, sizeof got);
        order_v_problem(v, "organization.contacts", "must be an array (got %s)", got);
        return;
    }
    cJSON_ArrayForEach(c, list) {
        snprintf(path, sizeof path, "organization.contacts[%zu]", i++);
        check_contact(v, c, path, &verified);
    }
    if (new_org && verified == 0)
        order_v_problem(v, "organization.contacts", "a new organization (no "
                        "organization.id) needs at least one verified_contact, "
                        "its authorized representative");
    else if (new_org && verified > VERIFIED_CONTACTS_MAX)
        order_v_problem(v, "organization.contacts", "a new organization takes at "
                        "most fifteen verified_contact entries (got %zu)", verified);
}

static void check_new_org(order_vctx *v, const cJSON *org)
{
    static const char *const required[] = {
        "name", "address", "city", "country", "telephone", NULL
    };
    static const char *const optional[] = {
        "assumed_name", "address2", "state", "zip", NULL
    };

    for (const char *const *k = required; *k; k++)
        order_v_string(v, org, "organization", *k, true,
                       "a new organization needs it when no organization.id "
                       "is given");
    for (const char *const *k = optional; *k; k++)
        order_v_string(v, org, "organization", *k, false,
                       "leave it out when there is none");
}

void order_validate_organization(order_vctx *v, const cJSON *req)
{
    const cJSON *org, *id;

    org = order_v_object(v, req, "", "organization", true,
                         "an object with the id of an existing organization, "
                         "or the details of a new one");
    if (org == NULL)
        return;
    id = order_v_field(v, org, "organization", "id");
    if (id != NULL && !cJSON_IsNull(id))
        order_v_id(v, id, "organization.id");
    else
        check_new_org(v, org);
    check_contacts(v, org, id == NULL || cJSON_IsNull(id));
}
