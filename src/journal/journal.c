/*
 * The job journal on disk: STATE/jobs/<ref>.json and its lock file
 * STATE/jobs/<ref>.lock.  See include/journal.h; listing is in
 * journal_list.c, the file format in journal_json.c.
 *
 * Durability: a job file is only ever replaced whole (temp file in the same
 * directory, fsync, rename, fsync of the directory), so a crash leaves either
 * the old or the new version.  A file that cannot be read is never written
 * over or removed: commit only writes jobs that were read successfully (or
 * created, which refuses to replace anything).
 */
#include "journal.h"
#include "journal_int.h"
#include "state_layout.h"

#include "durable_file.h"
#include "monotonic.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOB_FILE_MAX (1024 * 1024)  /* far beyond any real job */

journal_code jn_fail(journal_err *err, journal_code code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        err->retryable = code == JOURNAL_ERR_BUSY;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static char *job_path(const char *dir, const char *ref, const char *suffix)
{
    return state_job_file(dir, ref, suffix);
}

/* mkdir -p with mode 0700 for what it creates; each new entry made durable. */
journal_code jn_make_dirs(const char *path, journal_err *err)
{
    char *copy = strdup(path), *slash;
    journal_code rc = JOURNAL_OK;

    if (copy == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    for (slash = strchr(copy + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash != NULL)
            *slash = '\0';
        if (*copy != '\0' && mkdir(copy, 0700) == 0) {
            char *parent = strrchr(copy, '/');

            durable_err de;

            if (parent != NULL && parent != copy) {
                *parent = '\0';
                if (durable_sync_dir(copy, &de) != 0) {
                    rc = jn_fail(err, JOURNAL_ERR_IO, "state directory %s: cannot %s %s: %s",
                              path, de.step, copy, strerror(de.errnum));
                    break;
                }
                *parent = '/';
            }
        } else if (*copy != '\0' && errno != EEXIST) {
            rc = jn_fail(err, JOURNAL_ERR_IO, "state directory %s: cannot create %s: %s",
                      path, copy, strerror(errno));
            break;
        }
        if (slash == NULL)
            break;
        *slash = '/';
    }
    free(copy);
    return rc;
}

FILE *jn_fopen_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

    if (fd >= 0 && f == NULL) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

/*
 * A lock file in the state dir: never through a symbolic link (which could
 * point at another user's file), never truncated, a regular file.
 */
int jn_open_lock(const char *path, journal_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;

    if (fd < 0) {
        jn_fail(err, JOURNAL_ERR_IO, "lock %s: %s%s", path, strerror(errno),
                errno == ELOOP ? " (a symbolic link; locks are never followed)" : "");
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        jn_fail(err, JOURNAL_ERR_IO, "lock %s: not a plain file of its own", path);
        return -1;
    }
    return fd;
}

journal_code jn_read_text(const char *path, const char *what, char **out,
                              journal_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    ssize_t n;

    *out = NULL;
    if (fd < 0)
        return jn_fail(err, errno == ENOENT ? JOURNAL_ERR_NOT_FOUND : JOURNAL_ERR_IO,
                    "%s %s: %s", what, path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > JOB_FILE_MAX) {
        close(fd);
        return jn_fail(err, JOURNAL_ERR_CORRUPT, "%s %s: not a regular file under 1 MiB",
                    what, path);
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    }
    while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            jn_fail(err, JOURNAL_ERR_IO, "%s %s: %s", what, path, strerror(errno));
            free(buf);
            close(fd);
            return JOURNAL_ERR_IO;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    return JOURNAL_OK;
}

/*
 * Through the one durable writer: a new file is created with link (which
 * refuses to replace anything), a later version replaces the old.  `what`
 * names the file in messages.
 */
journal_code jn_write_durable(const char *final, const char *what, const char *text,
                                  bool create, journal_err *err)
{
    durable_err de = { 0 };

    if (durable_write(final, text, strlen(text), 0600, create, &de) != 0)
        return jn_fail(err, JOURNAL_ERR_IO, "%s: cannot %s %s: %s", what, de.step, final,
                    strerror(de.errnum));
    return JOURNAL_OK;
}

static journal_code write_atomic(const char *dir, const char *ref, const char *text,
                                 bool create, journal_err *err)
{
    char *final = job_path(dir, ref, ".json");
    char what[64];
    journal_code rc;

    if (final == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    snprintf(what, sizeof(what), "job %s", ref);
    rc = jn_write_durable(final, what, text, create, err);
    free(final);
    return rc;
}

/* --- jobs in memory -------------------------------------------------------- */

static void job_clear(journal_job *job)
{
    char **strs[] = {
        &job->order_id, &job->request_id, &job->certificate_id, &job->product,
        &job->organization_id, &job->request_sha256, &job->token.serial, &job->token.manufacturer,
        &job->token.model, &job->token.label, &job->token.uri, &job->key_id_hex,
        &job->cert_serial, &job->cert_sha256, &job->error_code, &job->error_message,
        &job->rekey_after_request, &job->rekey_csr_sha256, &job->remote_status,
        &job->remote_certificate_id,
        &job->test_signature, &job->test_signature_alg,
    };

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    free(job->transitions);
    job->transitions = NULL;
    job->n_transitions = 0;
}

void journal_job_free(journal_job *job)
{
    if (job == NULL)
        return;
    journal_unlock(job);
    job_clear(job);
    free(job);
}

journal_code journal_set_error(journal_job *job, const char *code, const char *message)
{
    if (job == NULL)
        return JOURNAL_ERR_INVALID;
    if (journal_set(&job->error_code, code) != JOURNAL_OK ||
        journal_set(&job->error_message, message) != JOURNAL_OK)
        return JOURNAL_ERR_NOMEM;
    job->error_at = (code != NULL || message != NULL) ? time(NULL) : 0;
    return JOURNAL_OK;
}

static bool append_transition(journal_job *job, bool device, int state, time_t at)
{
    journal_transition *t = realloc(job->transitions,
                                    (job->n_transitions + 1) * sizeof(*t));

    if (t == NULL)
        return false;
    job->transitions = t;
    t[job->n_transitions++] = (journal_transition){ device, state, at };
    return true;
}

/* --- locking ------------------------------------------------------------- */

static journal_code report_busy(int fd, const char *ref, journal_err *err)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid = n > 0 ? strtol(buf, NULL, 10) : 0;

    if (pid > 0)
        return jn_fail(err, JOURNAL_ERR_BUSY,
                    "job %s is being worked on by another qscd-agent (pid %ld)", ref, pid);
    return jn_fail(err, JOURNAL_ERR_BUSY, "job %s is being worked on by another qscd-agent", ref);
}

/* flock on the lock file; the holder writes its pid there for the message above. */
static journal_code take_lock(const char *dir, const char *ref, bool blocking, int *out,
                              journal_err *err)
{
    char *path = job_path(dir, ref, ".lock");
    char pid[32];
    int fd, n;

    if (path == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    if ((fd = jn_open_lock(path, err)) < 0) {
        free(path);
        return JOURNAL_ERR_IO;
    }
    free(path);
    while (flock(fd, LOCK_EX | (blocking ? 0 : LOCK_NB)) != 0) {
        journal_code rc;

        if (errno == EINTR)
            continue;
        rc = errno == EWOULDBLOCK ? report_busy(fd, ref, err)
                                  : jn_fail(err, JOURNAL_ERR_IO, "job %s: cannot lock: %s",
                                         ref, strerror(errno));
        close(fd);
        return rc;
    }
    /* Fixed width, so it overwrites any earlier pid without a truncation. */
    n = snprintf(pid, sizeof(pid), "%-20ld\n", (long)getpid());
    if (pwrite(fd, pid, (size_t)n, 0) != n)
        (void)0; /* the pid is only for the message; the lock is what counts */
    *out = fd;
    return JOURNAL_OK;
}

void journal_unlock(journal_job *job)
{
    if (job == NULL || job->lock_fd < 0)
        return;
    close(job->lock_fd);  /* releases the flock */
    job->lock_fd = -1;
}

/* --- load, lock, create ---------------------------------------------------- */

static journal_code check_ref(const char *dir, const char *ref, journal_err *err)
{
    if (dir == NULL || *dir == '\0')
        return jn_fail(err, JOURNAL_ERR_INVALID, "no state directory given");
    if (!journal_ref_valid(ref))
        return jn_fail(err, JOURNAL_ERR_INVALID,
                    "job reference \"%s\": must be \"job-\" and 16 lowercase hex digits",
                    ref != NULL ? ref : "");
    return JOURNAL_OK;
}

journal_code journal_load(const char *dir, const char *ref, journal_job **out, journal_err *err)
{
    char *path = NULL, *text = NULL;
    journal_code rc;

    if (out == NULL)
        return jn_fail(err, JOURNAL_ERR_INVALID, "journal_load: no output");
    *out = NULL;
    if ((rc = check_ref(dir, ref, err)) != JOURNAL_OK)
        return rc;
    if ((path = job_path(dir, ref, ".json")) == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    rc = jn_read_text(path, "job file", &text, err);
    if (rc == JOURNAL_ERR_NOT_FOUND)
        jn_fail(err, rc, "no job %s in %s/jobs", ref, dir);
    if (rc == JOURNAL_OK)
        rc = journal_job_from_json(text, path, out, err);
    if (rc == JOURNAL_OK && strcmp((*out)->ref, ref) != 0) {
        rc = jn_fail(err, JOURNAL_ERR_CORRUPT, "job file %s: holds job %s", path, (*out)->ref);
        journal_job_free(*out);
        *out = NULL;
    }
    free(text);
    free(path);
    return rc;
}

static journal_code job_exists(const char *dir, const char *ref, journal_err *err)
{
    char *path = job_path(dir, ref, ".json");
    journal_code rc = JOURNAL_OK;

    if (path == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    if (access(path, F_OK) != 0)
        rc = errno == ENOENT ? jn_fail(err, JOURNAL_ERR_NOT_FOUND, "no job %s in %s/jobs", ref, dir)
                             : jn_fail(err, JOURNAL_ERR_IO, "job file %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

journal_code journal_open_locked(const char *dir, const char *ref, bool blocking,
                                 journal_job **out, journal_err *err)
{
    journal_code rc;
    int fd = -1;

    if (out == NULL)
        return jn_fail(err, JOURNAL_ERR_INVALID, "journal_open_locked: no output");
    *out = NULL;
    if ((rc = check_ref(dir, ref, err)) != JOURNAL_OK)
        return rc;
    if ((rc = job_exists(dir, ref, err)) != JOURNAL_OK)  /* no lock files for typos */
        return rc;
    if ((rc = take_lock(dir, ref, blocking, &fd, err)) != JOURNAL_OK)
        return rc;
    rc = journal_load(dir, ref, out, err);
    if (rc != JOURNAL_OK) {
        close(fd);
        return rc;
    }
    (*out)->lock_fd = fd;
    return JOURNAL_OK;
}

journal_code journal_lock(const char *dir, journal_job *job, bool blocking, journal_err *err)
{
    journal_job *fresh = NULL;
    journal_code rc;

    if (job == NULL)
        return jn_fail(err, JOURNAL_ERR_INVALID, "journal_lock: no job");
    if (job->lock_fd >= 0)
        return JOURNAL_OK;
    rc = journal_open_locked(dir, job->ref, blocking, &fresh, err);
    if (rc != JOURNAL_OK)
        return rc;
    job_clear(job);
    *job = *fresh;
    free(fresh);
    return JOURNAL_OK;
}

static journal_code new_ref(char out[JOURNAL_REF_LEN + 1], journal_err *err)
{
    unsigned char rnd[8];

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return jn_fail(err, JOURNAL_ERR_IO, "cannot get random bytes for a job reference: %s",
                    strerror(errno));
    snprintf(out, JOURNAL_REF_LEN + 1, "job-%02x%02x%02x%02x%02x%02x%02x%02x",
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    return JOURNAL_OK;
}

journal_code journal_create(const char *dir, journal_job **out, journal_err *err)
{
    return journal_create_request(dir, NULL, NULL, NULL, out, err);
}

journal_code journal_job_new(const char *product, const char *organization_id,
                             const char *request_sha256, journal_job **out, journal_err *err)
{
    journal_job *job = calloc(1, sizeof(*job));
    journal_code rc;

    *out = NULL;
    if (job == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    job->lock_fd = -1;
    if (journal_set(&job->product, product) != JOURNAL_OK ||
        journal_set(&job->organization_id, organization_id) != JOURNAL_OK ||
        journal_set(&job->request_sha256, request_sha256) != JOURNAL_OK) {
        journal_job_free(job);
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    }
    job->committed_order = job->committed_device = -1;  /* both "changed": first entries */
    job->created = time(NULL);
    if ((rc = new_ref(job->ref, err)) != JOURNAL_OK) {
        journal_job_free(job);
        return rc;
    }
    *out = job;
    return JOURNAL_OK;
}

journal_code journal_create_request(const char *dir, const char *product,
                                    const char *organization_id, const char *request_sha256,
                                    journal_job **out, journal_err *err)
{
    journal_job *job = NULL;
    char *jobs = NULL;
    journal_code rc;

    if (out == NULL || dir == NULL || *dir == '\0')
        return jn_fail(err, JOURNAL_ERR_INVALID, "no state directory given");
    *out = NULL;
    if ((jobs = job_path(dir, NULL, "")) == NULL)
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    rc = jn_make_dirs(jobs, err);
    if (rc == JOURNAL_OK)
        rc = journal_job_new(product, organization_id, request_sha256, &job, err);
    if (rc == JOURNAL_OK)
        rc = take_lock(dir, job->ref, false, &job->lock_fd, err);
    if (rc == JOURNAL_OK)
        rc = journal_commit(dir, job, err);
    if (rc == JOURNAL_OK) {
        *out = job;
        job = NULL;
    }
    journal_job_free(job);
    free(jobs);
    return rc;
}

/* --- commit ---------------------------------------------------------------- */

#ifdef QSCD_TEST_HOOKS
/*
 * Test builds only (compiled with -DQSCD_TEST_HOOKS: build/hooks and
 * build/asan; absent from release builds).  QSCD_TEST_CRASH_AFTER makes the
 * process kill itself with SIGKILL right after a commit has reached the disk,
 * so that integration tests can check that every re-run resumes:
 *   "<state>"  after the commit that moved the job into that order or device
 *              state (e.g. "submitting", "key_ready"); commits that change no
 *              state never match, so a resumed run is not killed again;
 *   "<n>"      after the n-th commit made by this process (create counts).
 * The engine adds named points of its own where a commit is followed by
 * what cannot be undone (src/lifecycle_rekey.c: keygen, keygen_done,
 * reissuing, reissue_sent).
 */
static unsigned test_commit_count;  /* owned here: commits made by this process, */
static pid_t    test_commit_pid;    /* which a forked child does not inherit */

static void journal_test_crash_hook(const journal_job *job, bool order_moved, bool device_moved)
{
    const char *want = getenv("QSCD_TEST_CRASH_AFTER");
    char *end;
    unsigned long n;

    if (test_commit_pid != getpid()) {
        test_commit_pid = getpid();
        test_commit_count = 0;
    }
    test_commit_count++;
    if (want == NULL || *want == '\0')
        return;
    n = strtoul(want, &end, 10);
    if (*end == '\0') {
        if (n == test_commit_count)
            raise(SIGKILL);
        return;
    }
    if ((order_moved && strcmp(want, lifecycle_order_state_name(job->order_state)) == 0) ||
        (device_moved && strcmp(want, lifecycle_device_state_name(job->device_state)) == 0))
        raise(SIGKILL);
}
#endif

/* The job file writer of journal_commit (journal_commit_with's `write`). */
static journal_code write_job_file(void *ctx, const journal_job *job, const char *text,
                                   bool create, journal_err *err)
{
    return write_atomic(ctx, job->ref, text, create, err);
}

journal_code journal_commit(const char *dir, journal_job *job, journal_err *err)
{
    if (dir == NULL || job == NULL)
        return jn_fail(err, JOURNAL_ERR_INVALID, "journal_commit: no state directory or job");
    if (job->lock_fd < 0)
        return jn_fail(err, JOURNAL_ERR_INVALID,
                    "job %s: not locked by this process; open it with journal_open_locked", job->ref);
    /* Old transitions go to the audit log first, so the file stays bounded;
     * journal_commit_with's n_before then restores from the compacted job. */
    jn_compact(dir, job);
    return journal_commit_with(job, write_job_file, (void *)dir, err);
}

journal_code journal_commit_with(journal_job *job, journal_writer write, void *ctx,
                                 journal_err *err)
{
    size_t n_before;
    bool order_moved, device_moved;
    journal_code rc;
    char *text;

    if (job == NULL || write == NULL)
        return jn_fail(err, JOURNAL_ERR_INVALID, "journal_commit: no job or writer");
    n_before = job->n_transitions;
    order_moved = job->committed_order != (int)job->order_state;
    device_moved = job->committed_device != (int)job->device_state;
    job->updated = time(NULL);
    if ((order_moved && !append_transition(job, false, (int)job->order_state, job->updated)) ||
        (device_moved && !append_transition(job, true, (int)job->device_state, job->updated)) ||
        (text = journal_job_to_json(job)) == NULL) {
        job->n_transitions = n_before;
        return jn_fail(err, JOURNAL_ERR_NOMEM, "out of memory");
    }
    rc = write(ctx, job, text, job->committed_order < 0, err);
    free(text);
    if (rc != JOURNAL_OK) {
        job->n_transitions = n_before;  /* a retry appends them again */
        return rc;
    }
    job->committed_order = (int)job->order_state;
    job->committed_device = (int)job->device_state;
#ifdef QSCD_TEST_HOOKS
    journal_test_crash_hook(job, order_moved, device_moved);
#endif
    return JOURNAL_OK;
}
