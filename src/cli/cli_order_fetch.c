/*
 * qscd-agent order fetch ORDER_ID [-o FILE] [--format pem_all|pem_noroot]:
 * download the issued chain, to stdout or atomically into FILE.
 */
#include "cli_order_int.h"
#include "cli_help_int.h"
#include "exit_codes.h"
#include "x509.h"
#include "durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- fetch -------------------------------------------------------------- */

/* Through the one durable writer: never a half-written FILE. */
static int write_atomic(const char *path, const char *data, size_t len, order_err *err)
{
    durable_err de = { 0 };

    if (durable_write(path, data, len, 0644, false, &de) != 0) {
        order_err_set(err, ORDER_ERR_IO, "%s: cannot %s: %s", path, de.step,
                      strerror(de.errnum));
        return ORDER_ERR_IO;
    }
    return ORDER_OK;
}

static const char fetch_usage[] =
    "usage: qscd-agent [global options] order fetch ORDER_ID [--format pem_all|pem_noroot] [-o FILE]\n"
    "  Download the issued certificate chain as PEM, end-entity certificate first.\n"
    "  ORDER_ID             the CertCentral order id\n"
    "  --format pem_all     with the root (the default)\n"
    "  --format pem_noroot  without the root\n"
    "  -o, --output FILE    write FILE (atomically) instead of standard output\n"
    "  -h, --help           this text\n";

/* 0: go on; CLI_HELP_SHOWN; else an exit code. */
static int fetch_args(int argc, char **argv, const char **out, const char **format, long *id)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'o')
            *out = optarg;
        else if (c == 'f')
            *format = optarg;
        else if (c == 'h')
            return cli_help_show(fetch_usage), CLI_HELP_SHOWN;
        else
            return cli_help_bad(fetch_usage);
    }
    if (!order_download_format_ok(*format)) {
        cli_error("--format: must be pem_all or pem_noroot (got \"%s\")", *format);
        return QSCD_EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        cli_error("order fetch: %s", optind < argc ? "one ORDER_ID only" : "ORDER_ID is missing");
        return cli_help_bad(fetch_usage);
    }
    return cli_order_parse_id(argv[optind], "ORDER_ID", id);
}

/* Only an issued certificate is fetched; anything else is "not yet". */
static int check_fetchable(const order_info *info, order_err *err)
{
    switch (info->status_class) {
    case ORDER_ST_ISSUED:
        return ORDER_OK;
    case ORDER_ST_REVOKED:
    case ORDER_ST_EXPIRED:
        if (info->certificate.id != 0) {
            cli_warn("order %ld is %s; fetching its certificate anyway", info->id, info->status);
            return ORDER_OK;
        }
        break;
    case ORDER_ST_REJECTED:
    case ORDER_ST_CANCELED:
        order_err_set(err, ORDER_ERR_REJECTED, "order %ld was %s: there is no certificate",
                      info->id, info->status);
        return err->code;
    default:
        break;
    }
    order_err_set(err, ORDER_ERR_NOT_READY,
                  "order %ld has no certificate yet (status \"%s\"); "
                  "wait with: qscd-agent order wait %ld --until issued",
                  info->id, info->status, info->id);
    return err->code;
}

/*
 * Every PEM block must be a whole certificate before anything is written:
 * a damaged download must not end up in FILE looking like a chain.
 */
static int check_bundle(long id, const char *pem, size_t len, order_err *err)
{
    x509_chain *chain = NULL;
    x509_err xerr = { 0 };

    if (x509_chain_parse_pem(pem, len, &chain, &xerr) != X509_OK) {
        order_err_set(err, ORDER_ERR_PROTOCOL,
                      "the certificate chain CertCentral sent for order %ld is damaged (%s); "
                      "nothing was written, try the fetch again", id, xerr.message);
        return err->code;
    }
    x509_chain_free(chain);
    return ORDER_OK;
}

int cli_order_fetch(const cli_config *cfg, int argc, char **argv, const struct cli_order_net *n)
{
    const char *out = NULL, *format = "pem_all";
    order_info info = { 0 };
    order_err err = { 0 };
    struct cli_order_session s;
    char *pem = NULL;
    size_t len = 0;
    long id;
    int rc;

    if ((rc = fetch_args(argc, argv, &out, &format, &id)) != 0)
        return rc == CLI_HELP_SHOWN ? QSCD_EXIT_OK : rc;
    if ((rc = cli_order_session_open(&s, cfg, n)) != 0)
        return rc;
    rc = order_get(s.client, id, &info, &err);
    if (rc == ORDER_OK)
        rc = check_fetchable(&info, &err);
    if (rc == ORDER_OK)
        rc = order_download(s.client, id, info.certificate.id, format, &pem, &len, &err);
    if (rc == ORDER_OK)
        rc = check_bundle(id, pem, len, &err);
    if (rc == ORDER_OK && out != NULL)
        rc = write_atomic(out, pem, len, &err);
    else if (rc == ORDER_OK && fwrite(pem, 1, len, stdout) != len)
        order_err_set(&err, ORDER_ERR_IO, "stdout: write failed"), rc = ORDER_ERR_IO;
    if (rc != ORDER_OK)
        rc = cli_order_fail(&s, &err);
    else if (out != NULL)
        cli_info(cfg, "order %ld: certificate chain (%s) written to %s", id, format, out);
    free(pem);
    order_info_free(&info);
    cli_order_session_close(&s);
    return rc;
}

