/*
 * qscd-agent order submit|status|wait|fetch: the CertCentral side, by hand.
 * Each verb parses its options, opens an order client, and maps the
 * order layer's error to an exit code.
 */
#include "cli.h"
#include "exit_codes.h"
#include "journal.h"
#include "lifecycle_engine.h"
#include "lifecycle_exit.h"
#include "cli_report_int.h"
#include "cli_advice_int.h"
#include "order.h"
#include "order_request.h"
#include "cli_args_int.h"
#include "cli_order_int.h"
#include "cli_help_int.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_MAX_BYTES (1024 * 1024)

int cli_order_fail(struct cli_order_session *s, const order_err *err)
{
    const char *advice = cli_advice_for(order_code_name(err->code));

    if (s != NULL)
        cli_progress_end(&s->progress);
    cli_error("%s%s%s", err->message, advice ? ".  " : "", advice ? advice : "");
    return lifecycle_exit_for_order(err->code);
}

static void on_retry(void *ctx, const char *what, double delay_s)
{
    struct cli_order_session *s = ctx;

    cli_progress_end(&s->progress);
    cli_info(s->cfg, "qscd-agent: %s; retrying in %.1f s", what, delay_s);
}

int cli_order_session_open(struct cli_order_session *s, const cli_config *cfg, const struct cli_order_net *n)
{
    order_client_opts tune = {
        .max_retries = -1, .retry_base_s = n ? n->retry_base : 0,
        .timeout_s = n ? n->http_timeout : 0, .on_retry = on_retry, .on_retry_ctx = s,
    };
    lifecycle_settings set;
    order_err err = { 0 };

    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    cli_progress_init(&s->progress, cfg, NULL);
    cli_settings_from(cfg, &set);
    s->client = lifecycle_client_new(&set, &tune, &s->key, &err);
    if (s->client == NULL)
        return cli_order_fail(NULL, &err);
    return 0;
}

void cli_order_session_close(struct cli_order_session *s)
{
    cli_progress_end(&s->progress);
    order_client_free(s->client);
    secret_free(s->key);
    memset(s, 0, sizeof(*s));
}

int cli_order_parse_id(const char *arg, const char *what, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(arg ? arg : "", &end, 10);
    if (arg == NULL || *arg == '\0' || *end != '\0' || errno != 0 || *out <= 0) {
        cli_error("%s: must be a positive number (got \"%s\")", what, arg ? arg : "");
        return QSCD_EXIT_USAGE;
    }
    return 0;
}


static void print_json(cJSON *obj)
{
    char *text = obj ? cJSON_Print(obj) : NULL;

    if (text != NULL)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(obj);
}

/* --- submit --------------------------------------------------------------- */

static char *read_request_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    char *buf;

    if (f == NULL) {
        cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    /* Unbuffered: no copy of the file (it may hold card data) in stdio's buffer. */
    setvbuf(f, NULL, _IONBF, 0);
    buf = malloc(REQUEST_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        cli_error("out of memory");
        return NULL;
    }
    *len = fread(buf, 1, REQUEST_MAX_BYTES + 1, f);
    if (ferror(f) || *len > REQUEST_MAX_BYTES) {
        cli_error("%s: %s", path, ferror(f) ? "read error" : "larger than 1 MiB");
        memset(buf, 0, *len);
        free(buf);
        buf = NULL;
    } else {
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

static int report_problems(const cli_config *cfg, const char *path, const order_problems *p)
{
    cJSON *out = cfg->json ? cJSON_CreateObject() : NULL;
    cJSON *arr = out ? cJSON_AddArrayToObject(out, "problems") : NULL;

    for (size_t i = 0; i < p->count; i++) {
        cli_error("%s: %s", path, p->items[i]);
        if (arr != NULL)
            cJSON_AddItemToArray(arr, cJSON_CreateString(p->items[i]));
    }
    cli_error("%s: %zu problem%s; nothing was sent", path, p->count, p->count == 1 ? "" : "s");
    if (out != NULL) {
        cJSON_AddFalseToObject(out, "valid");
        cJSON_AddFalseToObject(out, "sent");
        print_json(out);
    }
    return QSCD_EXIT_USAGE;
}

/* Parse and validate; returns the tree or NULL with *rc set. */
static cJSON *load_request(const cli_config *cfg, const char *path, int *rc)
{
    order_problems problems = { 0 };
    char perr[512];
    size_t len = 0;
    char *text = read_request_file(path, &len);
    cJSON *req;

    *rc = QSCD_EXIT_USAGE;
    if (text == NULL)
        return NULL;
    perr[0] = '\0';
    req = order_request_parse(text, len, perr, sizeof(perr));
    /* The file may hold card data. */
    memset(text, 0, len);
    free(text);
    if (req == NULL) {
        cli_error("%s: %s", path, perr[0] ? perr : "not valid JSON");
        return NULL;
    }
    if (order_request_validate(req, time(NULL), &problems) > 0) {
        *rc = report_problems(cfg, path, &problems);
        order_problems_free(&problems);
        order_request_free(req);
        return NULL;
    }
    order_problems_free(&problems);
    *rc = 0;
    return req;
}

static void print_placed(const cli_config *cfg, const lifecycle_placed *placed)
{
    order_placed op = { 0 };
    char when[32];
    cJSON *out;

    if (cfg->json) {
        op.order_id = placed->order_id;
        op.request_id = placed->request_id;
        snprintf(op.status, sizeof(op.status), "%s", placed->status);
        out = order_placed_to_json(&op);
        cJSON_AddStringToObject(out, "job", placed->job_ref);
        cJSON_AddBoolToObject(out, "adopted", placed->adopted);
        cJSON_AddBoolToObject(out, "existing", placed->existing);
        print_json(out);
    } else if (placed->existing) {
        journal_format_time(placed->placed_at, when);
        cli_out("order %ld, request %ld (%s), job %s: this request was placed already "
               "(%s); nothing was sent\n", placed->order_id, placed->request_id,
               placed->status, placed->job_ref, when);
    } else {
        cli_out("order %ld, request %ld (%s)%s\n", placed->order_id, placed->request_id,
               placed->status[0] ? placed->status : "status not given",
               placed->adopted ? ", found after an interrupted submit" : "");
    }
    if (placed->existing)
        cli_info(cfg, "order %ld is this request's order; `order submit --new-order` would "
                 "place a second one", placed->order_id);
}

/*
 * Through the lifecycle engine: the job is journaled as "submitting" before
 * the POST, an interrupted earlier submit of the same request is
 * reconciled first, and a request placed before is reported, so that an
 * order is never sent twice.
 */
static int submit_journaled(const cli_config *cfg, const cJSON *req, bool confirm,
                            bool new_order, const struct cli_order_net *n)
{
    lifecycle_opts lo = { .confirm_resubmit = confirm, .new_order = new_order,
                          .retry_base_s = n->retry_base };
    lifecycle_placed placed;
    lifecycle_err lerr;
    lifecycle_settings set;
    lifecycle_reporter rep;
    cli_progress progress;
    const char *advice;
    int rc;

    cli_settings_from(cfg, &set);
    cli_reporter_init(&rep, &progress, cfg);
    rc = lifecycle_submit(&set, &rep, req, &lo, &placed, &lerr);
    advice = rc != 0 && cli_advice_for(lerr.code) ? cli_advice_for(lerr.code) : "";

    if (rc != 0) {
        cli_error("%s%s%s", lerr.message, advice[0] ? ".  " : "", advice);
        return rc;
    }
    print_placed(cfg, &placed);
    return QSCD_EXIT_OK;
}

static const char submit_usage[] =
    "usage: qscd-agent [global options] order submit REQUEST.json [--dry-run] [--new-order]\n"
    "                                               [--confirm-resubmit]\n"
    "  Validate the order request, journal it, send it to CertCentral, and print\n"
    "  the order id and request id.  Nothing is sent when a field is wrong.  A\n"
    "  request that was placed already is reported with its order and job, and\n"
    "  nothing is sent (exit 0).\n"
    "  REQUEST.json        the order request (see docs/orders.md)\n"
    "  --dry-run           validate only: nothing is sent or journalled\n"
    "  --new-order         place another order for a request that was placed\n"
    "                      already (it costs money again)\n"
    "  --confirm-resubmit  send again a submit that was interrupted and that\n"
    "                      CertCentral shows no order for (an order costs money)\n"
    "  -h, --help          this text\n";

static int cmd_submit(const cli_config *cfg, int argc, char **argv, const struct cli_order_net *n)
{
    static const struct option longopts[] = {
        { "dry-run", no_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
        { "confirm-resubmit", no_argument, NULL, 'C' }, { "new-order", no_argument, NULL, 'N' },
        { NULL, 0, NULL, 0 },
    };
    bool dry_run = false, confirm = false, new_order = false;
    cJSON *req;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'n')
            dry_run = true;
        else if (c == 'C')
            confirm = true;
        else if (c == 'N')
            new_order = true;
        else if (c == 'h')
            return cli_help_show(submit_usage);
        else
            return cli_help_bad(submit_usage);
    }
    if (optind + 1 != argc) {
        cli_error("order submit: %s", optind < argc ? "one request file only" :
                  "the request file is missing");
        return cli_help_bad(submit_usage);
    }
    req = load_request(cfg, argv[optind], &rc);
    if (req == NULL)
        return rc;
    if (dry_run) {
        if (cfg->json)
            printf("{\"valid\":true,\"sent\":false}\n");
        else
            cli_out("%s: valid, not sent\n", argv[optind]);
        order_request_free(req);
        return QSCD_EXIT_OK;
    }
    rc = submit_journaled(cfg, req, confirm, new_order, n);
    order_request_free(req);
    return rc;
}

/* --- status ------------------------------------------------------------- */

static void print_info(const order_info *info)
{
    const order_certificate *c = &info->certificate;

    cli_out("order %ld: %s\n", info->id, info->status[0] ? info->status : "(no status given)");
    if (info->product_name_id[0])
        cli_out("  product: %s\n", info->product_name_id);
    if (info->date_created_str[0])
        cli_out("  created: %s\n", info->date_created_str);
    if (c->id != 0) {
        printf("  certificate: %ld", c->id);
        if (c->serial_number[0])
            cli_out(", serial %s", c->serial_number);
        if (c->valid_till[0])
            cli_out(", valid %s to %s (%ld days left)", c->valid_from, c->valid_till,
                   c->days_remaining);
        putchar('\n');
    }
    for (size_t i = 0; i < info->n_requests; i++) {
        const order_request_item *r = &info->requests[i];

        cli_out("  request %ld%s%s%s%s%s: %s\n", r->id, r->type[0] || r->date[0] ? " (" : "",
               r->type, r->type[0] && r->date[0] ? ", " : "", r->date,
               r->type[0] || r->date[0] ? ")" : "", r->status);
    }
}

static const char status_usage[] =
    "usage: qscd-agent [global options] order status ORDER_ID\n"
    "  The remote status of the order and of its requests, as CertCentral has it.\n"
    "  ORDER_ID    the CertCentral order id\n"
    "  -h, --help  this text\n";

static int cmd_status(const cli_config *cfg, int argc, char **argv, const struct cli_order_net *n)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    order_info info = { 0 };
    order_err err = { 0 };
    struct cli_order_session s;
    long id;
    int c, rc;

    optind = 1;
    if ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
        return c == 'h' ? cli_help_show(status_usage) : cli_help_bad(status_usage);
    if (optind + 1 != argc) {
        cli_error("order status: %s", optind < argc ? "one ORDER_ID only" : "ORDER_ID is missing");
        return cli_help_bad(status_usage);
    }
    if ((rc = cli_order_parse_id(argv[optind], "ORDER_ID", &id)) != 0)
        return rc;
    if ((rc = cli_order_session_open(&s, cfg, n)) != 0)
        return rc;
    rc = order_get(s.client, id, &info, &err);
    if (rc != ORDER_OK)
        rc = cli_order_fail(&s, &err);
    else if (cfg->json)
        print_json(order_info_to_json(&info));
    else
        print_info(&info);
    order_info_free(&info);
    cli_order_session_close(&s);
    return rc;
}

/* --- wait --------------------------------------------------------------- */

static int parse_until(const char *arg, order_wait_target *t)
{
    if (strcmp(arg, "approved") == 0)
        *t = ORDER_WAIT_APPROVED;
    else if (strcmp(arg, "issued") == 0)
        *t = ORDER_WAIT_ISSUED;
    else {
        cli_error("--until: must be approved or issued (got \"%s\")", arg);
        return QSCD_EXIT_USAGE;
    }
    return 0;
}

static const char wait_usage[] =
    "usage: qscd-agent [global options] order wait ORDER_ID [--until approved|issued] [--timeout T]\n"
    "  Poll the order until it reaches the wanted state, backing off between\n"
    "  polls and honouring rate limits; exit 1 on timeout, 6 at once when the\n"
    "  order is rejected, canceled, revoked or expired.\n"
    "  ORDER_ID          the CertCentral order id\n"
    "  --until approved  stop once the request is approved (the default)\n"
    "  --until issued    stop once the certificate can be downloaded\n"
    "  --timeout T       give up after T (seconds, or 90s, 30m, 2h)\n"
    "  -h, --help        this text\n";

static int wait_args(int argc, char **argv, order_wait_opts *o, long *id)
{
    static const struct option longopts[] = {
        { "timeout", required_argument, NULL, 't' },
        { "until", required_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c, rc = 0;

    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 't')
            rc = cli_parse_duration(optarg, "--timeout", &o->timeout_s);
        else if (c == 'u')
            rc = parse_until(optarg, &o->target);
        else if (c == 'h')
            return cli_help_show(wait_usage), CLI_HELP_SHOWN;
        else
            return cli_help_bad(wait_usage);
    }
    if (rc == 0 && optind + 1 != argc) {
        cli_error("order wait: %s", optind < argc ? "one ORDER_ID only" : "ORDER_ID is missing");
        return cli_help_bad(wait_usage);
    }
    return rc ? rc : cli_order_parse_id(argv[optind], "ORDER_ID", id);
}

static int cmd_wait(const cli_config *cfg, int argc, char **argv, const struct cli_order_net *n)
{
    order_wait_opts o = { .target = ORDER_WAIT_APPROVED };
    order_info info = { 0 };
    order_err err = { 0 };
    struct cli_order_session s;
    long id;
    int rc;

    if ((rc = wait_args(argc, argv, &o, &id)) != 0)
        return rc == CLI_HELP_SHOWN ? QSCD_EXIT_OK : rc;
    o.poll_start_s = n->poll_start;
    o.poll_cap_s = n->poll_cap;
    if ((rc = cli_order_session_open(&s, cfg, n)) != 0)
        return rc;
    snprintf(s.progress.prefix, sizeof(s.progress.prefix), "order %ld:", id);
    rc = order_wait(s.client, id, &o, cli_progress_order, &s.progress, &info, &err);
    cli_progress_end(&s.progress);
    if (cfg->json && info.id != 0)
        print_json(order_info_to_json(&info));
    if (rc != ORDER_OK) {
        rc = cli_order_fail(&s, &err);
    } else if (!cfg->json) {
        if (info.certificate.id != 0)
            cli_out("order %ld: %s (certificate %ld)\n", id, info.status, info.certificate.id);
        else
            cli_out("order %ld: %s\n", id, info.status);
    }
    order_info_free(&info);
    cli_order_session_close(&s);
    return rc;
}

/* --- dispatch ----------------------------------------------------------- */

/*
 * Hidden options for tests and impatient operators, taken out of argv
 * before the verb sees it: --poll-interval S (first wait between polls),
 * --poll-max S (cap), --retry-base S (first retry backoff), --http-timeout S
 * (per request, whole seconds, at least 1).
 */
static int take_net_opts(int *argc, char **argv, struct cli_order_net *n)
{
    static const struct { const char *name; size_t off; } hidden[] = {
        { "--poll-interval", offsetof(struct cli_order_net, poll_start) },
        { "--poll-max", offsetof(struct cli_order_net, poll_cap) },
        { "--retry-base", offsetof(struct cli_order_net, retry_base) },
        { "--http-timeout", offsetof(struct cli_order_net, http_timeout) },
    };
    int i = 1;

    while (i < *argc) {
        size_t k, m = sizeof(hidden) / sizeof(hidden[0]);
        int rc;

        for (k = 0; k < m && strcmp(argv[i], hidden[k].name) != 0; k++)
            ;
        if (k == m) {
            i++;
            continue;
        }
        if (i + 1 >= *argc) {
            cli_error("%s: needs a value", hidden[k].name);
            return QSCD_EXIT_USAGE;
        }
        rc = cli_parse_duration(argv[i + 1], hidden[k].name, (double *)((char *)n + hidden[k].off));
        if (rc != 0)
            return rc;
        memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 1) * sizeof(char *));
        *argc -= 2;
    }
    return 0;
}

static const char order_usage[] =
    "usage: qscd-agent [global options] order VERB [arguments]\n"
    "  submit REQUEST.json  validate, journal and send an order request\n"
    "  status ORDER_ID      the remote status of an order\n"
    "  wait ORDER_ID        poll until the order is approved or issued\n"
    "  fetch ORDER_ID       download the issued certificate chain (PEM)\n"
    "  `qscd-agent order VERB --help` lists a verb's options.\n";

int cli_order(const cli_config *cfg, int argc, char **argv)
{
    struct cli_order_net n = { 0 };
    const char *verb;
    int rc;

    if (argc < 2)
        return cli_help_bad(order_usage);
    verb = argv[1];
    argc--, argv++;
    if ((rc = take_net_opts(&argc, argv, &n)) != 0)
        return rc;
    if (strcmp(verb, "submit") == 0)
        return cmd_submit(cfg, argc, argv, &n);
    if (strcmp(verb, "status") == 0)
        return cmd_status(cfg, argc, argv, &n);
    if (strcmp(verb, "wait") == 0)
        return cmd_wait(cfg, argc, argv, &n);
    if (strcmp(verb, "fetch") == 0)
        return cli_order_fetch(cfg, argc, argv, &n);
    if (strcmp(verb, "help") == 0 || cli_help_asked(verb))
        return cli_help_show(order_usage);
    cli_error("order: unknown verb \"%s\"", verb);
    return cli_help_bad(order_usage);
}
