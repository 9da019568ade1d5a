/*
 * Provision workers: the agent itself, exec'd afresh as
 *   qscd-agent [settings] --token URI --pin-source S --json provision ORDER_ID
 * so that each token's PKCS#11 work loads the modules in a new process
 * (OpenSC and insertions, a crashing module) and the engine's journal lock
 * keeps two workers off one job.  Settings go on argv as the options the
 * watcher resolved; secrets never do: the API key stays in its file (or,
 * when it came from $QSCD_API_KEY, is put back into the worker's
 * environment only), the PIN comes through a pipe.
 */
#include "watch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 40

static void add(const char **argv, int *n, const char *a)
{
    if (*n < MAX_ARGS - 1)
        argv[(*n)++] = a;
}

static void add_opt(const char **argv, int *n, const char *name, const char *value)
{
    if (value == NULL)
        return;
    add(argv, n, name);
    add(argv, n, value);
}

static void build_argv(const watch_settings *set, const watch_spawn *sp, const char **argv)
{
    int n = 0;

    add(argv, &n, "qscd-agent");
    /* Only a file the user named: the default path may be missing, and as
     * an explicit --config a missing file is an error. */
    add_opt(argv, &n, "--config", set->config_file);
    add_opt(argv, &n, "--api-url", set->core.api_url);
    add_opt(argv, &n, "--api-key-file", set->core.api_key_file);
    add_opt(argv, &n, "--ca-file", set->core.ca_file);
    add_opt(argv, &n, "--trust-anchors", set->core.trust_anchors);
    add_opt(argv, &n, "--state-dir", set->core.state_dir);
    add_opt(argv, &n, "--state-db", set->core.state_db);
    add_opt(argv, &n, "--module", set->core.module);
    add_opt(argv, &n, "--module-preference", set->core.module_preference);
    add_opt(argv, &n, "--sign-pin-source", set->core.sign_pin_source);
    add_opt(argv, &n, "--token", sp->token_uri);
    add_opt(argv, &n, "--pin-source", sp->pin_spec);
    for (int i = 0; i < set->core.verbose && i < 3; i++)
        add(argv, &n, "-v");
    if (set->quiet)
        add(argv, &n, "-q");
    add(argv, &n, "--json");
    add(argv, &n, "provision");
    add(argv, &n, sp->order_id);
    /* The token is here now: wait for the order side (a reissue), not for a token. */
    add(argv, &n, "--wait");
    if (sp->generate_key)
        add(argv, &n, "--generate-key");
    if (sp->allow_final_try)
        add(argv, &n, "--allow-final-try");
    if (sp->retry_pin)
        add(argv, &n, "--retry-pin");
    argv[n] = NULL;
}

/*
 * The agent's own binary by name, so that workers show up as qscd-agent
 * (exec of /proc/self/exe names them "exe" in ps, pgrep and the journal);
 * /proc/self/exe itself when the file was replaced or removed meanwhile.
 */
static void self_path(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);

    if (n > 0 && (size_t)n < len - 1) {
        buf[n] = '\0';
        if (access(buf, X_OK) == 0)
            return;
    }
    snprintf(buf, len, "/proc/self/exe");
}

/* In the child between fork and exec. */
static void child(const watch_settings *set, const watch_spawn *sp, const char *exe,
                  int out_fd)
{
    const char *argv[MAX_ARGS];
    int devnull = open("/dev/null", O_RDONLY);

    /* Own process group: a Ctrl-C on the terminal reaches the watcher, which
     * then stops the workers in order. */
    watch_signal_child();
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(out_fd, 1);
    if (sp->pin_fd >= 0)
        fcntl(sp->pin_fd, F_SETFD, 0);   /* this one is inherited */
    if (sp->env_apikey != NULL)
        setenv("QSCD_API_KEY", sp->env_apikey->data, 1);
    signal(SIGPIPE, SIG_DFL);
    build_argv(set, sp, argv);
    execv(exe, (char *const *)argv);
    dprintf(2, "qscd-agent: error: watch: cannot start a worker: %s\n", strerror(errno));
    _exit(127);
}

int watch_worker_start(const watch_settings *set, const watch_spawn *sp, watch_worker *w,
                       char *err, size_t errlen)
{
    char exe[4096];
    int fds[2];
    pid_t pid;

    memset(w, 0, sizeof(*w));
    w->out_fd = -1;
    self_path(exe, sizeof(exe));
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "worker pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        child(set, sp, exe, fds[1]);
    close(fds[1]);
    if (pid < 0) {
        snprintf(err, errlen, "cannot start a worker: fork: %s", strerror(errno));
        close(fds[0]);
        return -1;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    w->pid = pid;
    w->out_fd = fds[0];
    snprintf(w->order_id, sizeof(w->order_id), "%s", sp->order_id);
    return 0;
}

bool watch_worker_read(watch_worker *w)
{
    char buf[4096];

    while (w->out_fd >= 0) {
        ssize_t n = read(w->out_fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        if (n <= 0) {
            close(w->out_fd);
            w->out_fd = -1;
            break;
        }
        /* The result is one JSON document; cap it so a confused worker cannot grow us. */
        if (w->out_len + (size_t)n <= 1 << 20) {
            char *nb = realloc(w->out, w->out_len + (size_t)n + 1);

            if (nb != NULL) {
                memcpy(nb + w->out_len, buf, (size_t)n);
                w->out = nb;
                w->out_len += (size_t)n;
                w->out[w->out_len] = '\0';
            }
        }
    }
    return true;
}

bool watch_worker_reap(watch_worker *w)
{
    pid_t r;

    if (w->exited)
        return true;
    do {
        r = waitpid(w->pid, &w->status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == w->pid || (r < 0 && errno == ECHILD))
        w->exited = true;
    return w->exited;
}

int watch_worker_exit_code(const watch_worker *w)
{
    if (WIFEXITED(w->status))
        return WEXITSTATUS(w->status);
    if (WIFSIGNALED(w->status))
        return 128 + WTERMSIG(w->status);
    return 255;
}

char *watch_worker_error(const watch_worker *w)
{
    cJSON *root = w->out ? cJSON_Parse(w->out) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    char *msg = cJSON_IsString(e) ? strdup(e->valuestring) : NULL;

    cJSON_Delete(root);
    return msg;
}

void watch_worker_clear(watch_worker *w)
{
    if (w->out_fd >= 0)
        close(w->out_fd);
    free(w->out);
    watch_token_clear(&w->token);
    memset(w, 0, sizeof(*w));
    w->out_fd = -1;
}
