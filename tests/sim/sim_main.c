/*
 * qscd-sim entry point: options, the API key, the test CAs, the daemon, the
 * port file, and a clean stop on SIGTERM/SIGINT.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qscd-sim [--listen 127.0.0.1] [--port N|0] [--port-file FILE] --dir DIR\n"
            "                [--api-key-file FILE] [--approve-after-polls N]\n"
            "                [--approve-after-seconds S] [--issue-days N] [--latency MS]\n"
            "The API key comes from --api-key-file or QSCD_SIM_API_KEY.\n");
}

static int parse_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || !*v || *end || n < lo || n > hi) {
        fprintf(stderr, "qscd-sim: %s: must be a number %ld..%ld (got \"%s\")\n", opt, lo, hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

/* The simulator is test infrastructure: never reachable from elsewhere. */
static bool listen_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int parse_options(int argc, char **argv, sim_options *o)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "port", required_argument, NULL, 'p' },
        { "port-file", required_argument, NULL, 'f' },
        { "dir", required_argument, NULL, 'd' },
        { "api-key-file", required_argument, NULL, 'k' },
        { "approve-after-polls", required_argument, NULL, 'n' },
        { "approve-after-seconds", required_argument, NULL, 's' },
        { "issue-days", required_argument, NULL, 'i' },
        { "latency", required_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long v = 0;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': o->listen = optarg; break;
        case 'f': o->port_file = optarg; break;
        case 'd': o->dir = optarg; break;
        case 'k': o->api_key_file = optarg; break;
        case 'p': rc = parse_int("--port", optarg, 0, 65535, &v); o->port = (int)v; break;
        case 'n':
            rc = parse_int("--approve-after-polls", optarg, 0, 1000000, &v);
            o->approve_after_polls = (int)v;
            break;
        case 's':
            rc = parse_int("--approve-after-seconds", optarg, 0, 86400, &v);
            o->approve_after_seconds = (int)v;
            break;
        case 'i':
            rc = parse_int("--issue-days", optarg, -3650, 3650, &v);
            o->issue_days = v;
            o->issue_days_set = true;
            break;
        case 'L':
            rc = parse_int("--latency", optarg, 0, 60000, &v);
            o->latency_ms = (int)v;
            break;
        case 'h': usage(stdout); exit(0);
        default: rc = -1;
        }
    }
    if (!rc && optind < argc) {
        fprintf(stderr, "qscd-sim: unexpected argument \"%s\"\n", argv[optind]);
        rc = -1;
    }
    if (!rc && !listen_is_loopback(o->listen)) {
        fprintf(stderr, "qscd-sim: --listen: %s is not a loopback address (127.0.0.0/8 or ::1)\n",
                o->listen);
        rc = -1;
    }
    if (!rc && !o->dir) {
        fprintf(stderr, "qscd-sim: --dir: required (where ca.pem and issuing-chain.pem go)\n");
        rc = -1;
    }
    return rc;
}

/* The key from a file or QSCD_SIM_API_KEY; never printed anywhere. */
static int load_api_key(sim_server *s)
{
    char buf[1024];
    size_t n = 0;
    if (s->opt.api_key_file) {
        FILE *f = fopen(s->opt.api_key_file, "r");
        if (!f) {
            fprintf(stderr, "qscd-sim: --api-key-file %s: %s\n", s->opt.api_key_file,
                    strerror(errno));
            return -1;
        }
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    } else if (getenv("QSCD_SIM_API_KEY")) {
        n = (size_t)snprintf(buf, sizeof buf, "%s", getenv("QSCD_SIM_API_KEY"));
        n = n < sizeof buf ? n : sizeof buf - 1;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (!n) {
        fprintf(stderr, "qscd-sim: no API key: give --api-key-file FILE or set QSCD_SIM_API_KEY\n");
        OPENSSL_cleanse(buf, sizeof buf);
        return -1;
    }
    s->api_key = malloc(n + 1);
    if (s->api_key) {
        memcpy(s->api_key, buf, n);
        s->api_key[n] = '\0';
        s->api_key_len = n;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return s->api_key ? 0 : -1;
}

/* Written only once the daemon accepts connections, and atomically. */
static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "qscd-sim: --port-file %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int run(sim_server *s, sigset_t *stop)
{
    char err[512] = "";
    int sig = 0, rc = 1;
    struct MHD_Daemon *d = NULL;

    if (mkdir(s->opt.dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "qscd-sim: --dir %s: %s\n", s->opt.dir, strerror(errno));
        return 1;
    }
    if (sim_ca_init(&s->ca, s->opt.dir, err, sizeof err) || sim_store_init(s)) {
        fprintf(stderr, "qscd-sim: %s\n", err[0] ? err : "out of memory");
        goto out;
    }
    d = sim_http_start(s, err, sizeof err);
    if (!d) {
        fprintf(stderr, "qscd-sim: %s\n", err);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : s->opt.port;
    if (s->opt.port_file && write_port_file(s->opt.port_file, port))
        goto out;
    fprintf(stderr, "qscd-sim: listening on https://%s:%d%s (CA: %s/ca.pem)\n",
            s->opt.listen, port, SIM_API_PREFIX, s->opt.dir);
    sigwait(stop, &sig);
    fprintf(stderr, "qscd-sim: signal %d, stopping\n", sig);
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    return rc;
}

int main(int argc, char **argv)
{
    sim_server s;
    memset(&s, 0, sizeof s);
    s.opt.listen = "127.0.0.1";
    s.opt.approve_after_polls = 2;
    s.opt.approve_after_seconds = -1;
    if (parse_options(argc, argv, &s.opt)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (load_api_key(&s))
        return EXIT_USAGE;
    /* Blocked from the start: MHD's threads inherit the mask, so only the
     * sigwait in run() sees a stop request, even one sent during startup. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&s.lock, NULL);
    int rc = run(&s, &stop);
    sim_store_clear(&s);
    sim_ca_free(&s.ca);
    OPENSSL_cleanse(s.api_key, s.api_key_len);
    free(s.api_key);
    pthread_mutex_destroy(&s.lock);
    return rc;
}
