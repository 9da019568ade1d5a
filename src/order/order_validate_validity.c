/*
 * order_validity: years, days or custom_expiration_date ("dd MMM YYYY"),
 * the last checked against `today` (its UTC date; DigiCert counts the 397
 * days from the day the certificate is requested).
 */
#include "order_validate_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest certificate validity DigiCert accepts, in days (seed). */
#define VALIDITY_MAX_DAYS 397

static const char *const month_names[12] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
};

static bool two_digits(const char *s)
{
    return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

/*
 * "dd MMM YYYY": exactly two day digits, a three-letter English month
 * (any case), four year digits, single spaces.  Returns 0 and the parts,
 * -1 when the shape is wrong.
 */
static int parse_dmy(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) != 11 || !two_digits(s) || s[2] != ' ' || s[6] != ' ' ||
        !two_digits(s + 7) || !two_digits(s + 9))
        return -1;
    *m = 0;
    for (int i = 0; i < 12; i++)
        if (strncasecmp(s + 3, month_names[i], 3) == 0)
            *m = i + 1;
    if (*m == 0)
        return -1;
    *d = (s[0] - '0') * 10 + (s[1] - '0');
    *y = (s[7] - '0') * 1000 + (s[8] - '0') * 100 + (s[9] - '0') * 10 + (s[10] - '0');
    return 0;
}

static void format_dmy(int days, char *buf, size_t len)
{
    int y, m, d;

    order_v_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%02d %s %04d", d, month_names[m - 1], y);
}

static void check_expiration_date(order_vctx *v, const char *s)
{
    static const char path[] = "order_validity.custom_expiration_date";
    char got[64], today[16], limit[16];
    int y, m, d, days;

    order_v_quote(s, got, sizeof got);
    if (parse_dmy(s, &y, &m, &d) != 0) {
        order_v_problem(v, path, "must be \"dd MMM YYYY\", e.g. \"09 JUN 2027\" "
                        "(got %s)", got);
        return;
    }
    if (d < 1 || d > order_v_days_in_month(y, m)) {
        order_v_problem(v, path, "is not a real date (got %s)", got);
        return;
    }
    days = order_v_days_from_civil(y, m, d);
    format_dmy(v->today_days, today, sizeof today);
    format_dmy(v->today_days + VALIDITY_MAX_DAYS, limit, sizeof limit);
    if (days <= v->today_days)
        order_v_problem(v, path, "must be after today, %s (got %s)", today, got);
    else if (days - v->today_days > VALIDITY_MAX_DAYS)
        order_v_problem(v, path, "must be within %d days of today, so on or "
                        "before %s (got %s)", VALIDITY_MAX_DAYS, limit, got);
}

static void check_int_member(order_vctx *v, const cJSON *it, const char *path,
                             long long lo, long long hi, const char *rule)
{
    char got[96];

    if (it == NULL || cJSON_IsNull(it) || order_v_is_int(it, lo, hi, NULL))
        return;
    order_v_describe(it, false, got, sizeof got);
    order_v_problem(v, path, "must be %s (got %s)", rule, got);
}

void order_validate_validity(order_vctx *v, const cJSON *req)
{
    const cJSON *ov, *years, *days, *date;
    const char *s;

    ov = order_v_object(v, req, "", "order_validity", false, "");
    if (ov == NULL)
        return;
    years = order_v_field(v, ov, "order_validity", "years");
    days = order_v_field(v, ov, "order_validity", "days");
    /* Not order_v_field: order_v_string below reports a repeated key. */
    date = cJSON_GetObjectItemCaseSensitive(ov, "custom_expiration_date");
    if (years == NULL && days == NULL && date == NULL) {
        order_v_problem(v, "order_validity", "give years, days or "
                        "custom_expiration_date (or leave order_validity out)");
        return;
    }
    check_int_member(v, years, "order_validity.years", 1, 3, "1, 2 or 3");
    check_int_member(v, days, "order_validity.days", 1, VALIDITY_MAX_DAYS,
                     "a whole number of days from 1 to 397");
    s = order_v_string(v, ov, "order_validity", "custom_expiration_date", false,
                       "\"dd MMM YYYY\"");
    if (s != NULL)
        check_expiration_date(v, s);
}
