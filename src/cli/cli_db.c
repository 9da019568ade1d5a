/*
 * qscd-agent db init|migrate|status|import: the shared state database of a
 * fleet of desks (docs/fleet.md).  Only with --state-db / QSCD_STATE_DB /
 * state-db; the password comes from a password file, never from here.
 */
#include "cli.h"
#include "cli_report_int.h"
#include "exit_codes.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: qscd-agent [global options] db init|migrate|status|import [arguments]\n"
    "  The fleet's shared state database that --state-db names (docs/fleet.md).\n"
    "  init               create the schema (once, as the database's owner)\n"
    "  migrate            apply the migrations this qscd-agent brings\n"
    "  status             the schema version, the jobs, this desk's name\n"
    "  import STATE_DIR   move a workstation's state directory in, once\n"
    "  --agent-role ROLE  with init or migrate: grant the desks' role what they\n"
    "                     need (on the audit log INSERT and SELECT only)\n"
    "  -h, --help         this text\n";

/* A journal error as an exit code: an unreachable database is "not ready". */
static int db_fail(const journal_err *je)
{
    cli_error("%s", je->message);
    return je->code == JOURNAL_ERR_IO ? QSCD_EXIT_NOT_READY : QSCD_EXIT_USAGE;
}

static int parse_role(int argc, char **argv, const char **role)
{
    static const struct option longopts[] = {
        { "agent-role", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *role = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'r' && *optarg != '\0') {
            *role = optarg;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return -1;
        } else {
            cli_error(c == 'r' ? "--agent-role: no role named" : "db %s: unknown option",
                      argv[0]);
            return QSCD_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("db %s: unexpected argument \"%s\"", argv[0], argv[optind]);
        return QSCD_EXIT_USAGE;
    }
    return 0;
}

static int db_migrate(const cli_config *cfg, bool init, int argc, char **argv)
{
    const char *role = NULL;
    journal_err je = { 0 };
    int from = 0, to = 0, rc = parse_role(argc, argv, &role);

    if (rc != 0)
        return rc < 0 ? QSCD_EXIT_OK : rc;
    if (store_db_migrate(cfg->state_db, init, role, &from, &to, &je) != JOURNAL_OK)
        return db_fail(&je);
    if (from == to)
        cli_info(cfg, "state database: schema version %d, nothing to migrate", to);
    else
        cli_info(cfg, "state database: schema version %d -> %d", from, to);
    if (role != NULL)
        cli_info(cfg, "role %s: may work on the jobs; on the audit log INSERT and SELECT only",
                 role);
    return QSCD_EXIT_OK;
}

static int db_status(const cli_config *cfg)
{
    store_db_info info;
    journal_err je = { 0 };

    if (store_db_status(cfg->state_db, &info, &je) != JOURNAL_OK)
        return db_fail(&je);
    if (cfg->json) {
        cJSON *o = cJSON_CreateObject();
        char *text;

        cJSON_AddNumberToObject(o, "schema_version", info.version);
        cJSON_AddNumberToObject(o, "schema_known", info.known);
        cJSON_AddNumberToObject(o, "jobs", (double)info.jobs);
        cJSON_AddNumberToObject(o, "open_jobs", (double)info.open_jobs);
        cJSON_AddNumberToObject(o, "audit_lines", (double)info.audit_lines);
        cJSON_AddStringToObject(o, "desk", info.desk);
        if ((text = cJSON_Print(o)) != NULL)
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(o);
    } else if (info.version == 0) {
        printf("schema: none (run qscd-agent db init)\ndesk: %s\n", info.desk);
    } else {
        printf("schema: version %d (this qscd-agent knows %d)%s\njobs: %ld (%ld not ready)\n"
               "audit lines: %ld\ndesk: %s\n", info.version, info.known,
               info.version < info.known ? ": run qscd-agent db migrate" : "", info.jobs,
               info.open_jobs, info.audit_lines, info.desk);
    }
    return info.version == info.known ? QSCD_EXIT_OK : QSCD_EXIT_NOT_READY;
}

static int db_import(const cli_config *cfg, int argc, char **argv)
{
    store_import_counts n;
    journal_err je = { 0 };
    struct stat sb;
    store *st = NULL;
    int rc;

    if (argc != 2 || argv[1][0] == '\0') {
        cli_error("db import: one STATE_DIR expected");
        return QSCD_EXIT_USAGE;
    }
    /* A typo must not look like an empty state directory moved in. */
    if (stat(argv[1], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error("db import: STATE_DIR %s: %s", argv[1],
                  stat(argv[1], &sb) != 0 ? strerror(errno) : "not a directory");
        return QSCD_EXIT_USAGE;
    }
    if ((rc = cli_store_open(cfg, &st)) != 0)
        return rc;
    if (store_db_import(st, argv[1], &n, &je) != JOURNAL_OK) {
        store_close(st);
        return db_fail(&je);
    }
    store_close(st);
    printf("imported %zu jobs from %s (%zu in the database already, left as they are); "
           "%zu audit lines and %zu PIN-refusal records looked at\n", n.jobs, argv[1],
           n.jobs_there, n.audit_lines, n.refusals);
    if (n.unreadable > 0)
        cli_warn("%zu job files of %s cannot be read and were not imported: see qscd-agent "
                 "--state-dir %s status", n.unreadable, argv[1], argv[1]);
    return n.unreadable > 0 ? QSCD_EXIT_NOT_READY : QSCD_EXIT_OK;
}

int cli_db(const cli_config *cfg, int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;

    if (sub == NULL || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(usage, sub ? stdout : stderr);
        return sub ? QSCD_EXIT_OK : QSCD_EXIT_USAGE;
    }
    if (sub[0] == '-') {
        cli_error("db: unknown option \"%s\"", sub);
        fputs(usage, stderr);
        return QSCD_EXIT_USAGE;
    }
    if (cfg->state_db == NULL || *cfg->state_db == '\0') {
        cli_error("db %s: no state database: set --state-db URI, QSCD_STATE_DB or state-db "
                  "in the config (docs/fleet.md)", sub);
        return QSCD_EXIT_USAGE;
    }
    if (strcmp(sub, "init") == 0 || strcmp(sub, "migrate") == 0)
        return db_migrate(cfg, strcmp(sub, "init") == 0, argc - 1, argv + 1);
    if (strcmp(sub, "status") == 0 && argc == 2)
        return db_status(cfg);
    if (strcmp(sub, "import") == 0)
        return db_import(cfg, argc - 1, argv + 1);
    cli_error("db: unknown command \"%s\" (init, migrate, status, import)", sub);
    fputs(usage, stderr);
    return QSCD_EXIT_USAGE;
}
