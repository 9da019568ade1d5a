/*
 * One look at the tokens, in a forked process.  The watcher never loads a
 * PKCS#11 module itself: OpenSC in a long-running process does not learn of
 * card insertions, and a vendor module that crashes or hangs must only cost
 * a scan.  The child reports as one JSON document on a pipe; public keys
 * travel as DER SubjectPublicKeyInfo in hex.
 */
#include "watch.h"
#include "monotonic.h"

#include "token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void watch_token_clear(watch_token *t)
{
    if (t == NULL)
        return;
    free(t->key), free(t->uri), free(t->label), free(t->serial), free(t->reader);
    free(t->keys_error);
    for (size_t i = 0; i < t->n_keys; i++)
        EVP_PKEY_free(t->keys[i]);
    free(t->keys);
    memset(t, 0, sizeof(*t));
}

void watch_scan_free(watch_scan *s)
{
    for (size_t i = 0; i < s->n; i++)
        watch_token_clear(&s->items[i]);
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int watch_token_copy(const watch_token *src, watch_token *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->key = dup_or_null(src->key);
    dst->uri = dup_or_null(src->uri);
    dst->label = dup_or_null(src->label);
    dst->serial = dup_or_null(src->serial);
    dst->reader = dup_or_null(src->reader);
    dst->keys_error = dup_or_null(src->keys_error);
    dst->recognised = src->recognised;
    dst->pinpad = src->pinpad;
    dst->keys_read = src->keys_read;
    if (src->n_keys > 0) {
        dst->keys = calloc(src->n_keys, sizeof(*dst->keys));
        if (dst->keys == NULL)
            return -1;
        for (size_t i = 0; i < src->n_keys; i++) {
            if (EVP_PKEY_up_ref(src->keys[i]) != 1)
                return -1;
            dst->keys[dst->n_keys++] = src->keys[i];
        }
    }
    return dst->key ? 0 : -1;
}

void watch_token_describe(const watch_token *t, char *buf, size_t len)
{
    if (!t->recognised)
        snprintf(buf, len, "card in reader \"%s\"", t->reader ? t->reader : "?");
    else
        snprintf(buf, len, "token \"%s\" (serial %s) in reader \"%s\"",
                 t->label ? t->label : "?", t->serial ? t->serial : "?",
                 t->reader ? t->reader : "?");
}

/* --- the child --------------------------------------------------------------- */

static cJSON *keys_json(token_ctx *ctx, const token_slot_info *slot, cJSON *obj)
{
    token_key_list keys = { 0 };
    token_err err = { 0 };
    token *tok = NULL;
    cJSON *arr = cJSON_AddArrayToObject(obj, "keys");

    if (token_open_slot(ctx, slot, &tok, &err) != TOKEN_OK ||
        token_read_public_keys(tok, &keys, &err) != TOKEN_OK) {
        cJSON_AddStringToObject(obj, "keys_error", err.message);
        token_close(tok);
        return obj;
    }
    for (size_t i = 0; i < keys.count; i++) {
        unsigned char *der = NULL;
        int n = keys.items[i].pub ? i2d_PUBKEY(keys.items[i].pub, &der) : -1;
        char *hex;

        if (n <= 0) {
            /* A key whose public half cannot be read still makes the token not blank. */
            cJSON_AddItemToArray(arr, cJSON_CreateString(""));
            continue;
        }
        hex = malloc((size_t)n * 2 + 1);
        if (hex != NULL) {
            token_hex(der, (size_t)n, hex);
            cJSON_AddItemToArray(arr, cJSON_CreateString(hex));
        }
        free(hex);
        OPENSSL_free(der);
    }
    cJSON_AddBoolToObject(obj, "keys_read", true);
    token_key_list_free(&keys);
    token_close(tok);
    return obj;
}

static bool is_known(const char *key, const char *const *known, size_t n_known)
{
    for (size_t i = 0; i < n_known; i++)
        if (strcmp(known[i], key) == 0)
            return true;
    return false;
}

static void slot_json(token_ctx *ctx, const token_slot_info *s, const char *const *known,
                      size_t n_known, cJSON *arr)
{
    cJSON *o;
    char key[512];

    if (!s->card_present || s->blank)
        return;   /* empty slot, or SoftHSM2's uninitialised spare slot */
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "reader", s->slot_description);
    cJSON_AddBoolToObject(o, "recognised", s->present);
    if (!s->present) {
        snprintf(key, sizeof(key), "reader:%s", s->slot_description);
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddItemToArray(arr, o);
        return;
    }
    cJSON_AddStringToObject(o, "key", s->uri);
    cJSON_AddStringToObject(o, "uri", s->uri);
    cJSON_AddStringToObject(o, "label", s->label);
    cJSON_AddStringToObject(o, "serial", s->serial);
    cJSON_AddBoolToObject(o, "pinpad", s->pinpad);
    if (!is_known(s->uri, known, n_known))
        keys_json(ctx, s, o);
    cJSON_AddItemToArray(arr, o);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
}

static void scan_child(const watch_settings *set, const char *const *known, size_t n_known,
                       int fd)
{
    token_slot_list list = { 0 };
    token_err err = { 0 };
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "tokens");
    token_ctx *ctx = token_ctx_open(set->core.module, &err);
    char *text;

    if (ctx == NULL || token_ctx_prefer(ctx, set->core.module_preference, &err) != TOKEN_OK ||
        token_enumerate(ctx, &list, &err) != TOKEN_OK) {
        cJSON_AddStringToObject(root, "error", err.message);
    } else {
        for (size_t i = 0; i < list.count; i++)
            slot_json(ctx, &list.items[i], known, n_known, arr);
    }
    token_slot_list_free(&list);
    token_ctx_close(ctx);
    text = cJSON_PrintUnformatted(root);
    if (text != NULL)
        write_all(fd, text, strlen(text));
    free(text);
    cJSON_Delete(root);
}

/* --- the parent ------------------------------------------------------------- */

static EVP_PKEY *pkey_from_hex(const char *hex)
{
    size_t n = strlen(hex) / 2, len = 0;
    unsigned char *der = malloc(n + 1);
    const unsigned char *p = der;
    EVP_PKEY *k = NULL;

    if (der != NULL && n > 0 && token_unhex(hex, der, n + 1, &len))
        k = d2i_PUBKEY(NULL, &p, (long)len);
    free(der);
    return k;
}

static char *str_item(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static int token_from_json(const cJSON *o, watch_token *t)
{
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(o, "keys"), *k;

    memset(t, 0, sizeof(*t));
    t->key = str_item(o, "key");
    t->uri = str_item(o, "uri");
    t->label = str_item(o, "label");
    t->serial = str_item(o, "serial");
    t->reader = str_item(o, "reader");
    t->keys_error = str_item(o, "keys_error");
    t->recognised = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "recognised"));
    t->pinpad = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "pinpad"));
    t->keys_read = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "keys_read"));
    if (t->key == NULL)
        return -1;
    if (cJSON_IsArray(keys) && cJSON_GetArraySize(keys) > 0) {
        t->keys = calloc((size_t)cJSON_GetArraySize(keys), sizeof(*t->keys));
        if (t->keys == NULL)
            return -1;
        cJSON_ArrayForEach(k, keys) {
            EVP_PKEY *pk = cJSON_IsString(k) ? pkey_from_hex(k->valuestring) : NULL;

            /* A key without a readable public half: the token is not blank,
             * but there is nothing to match it by. */
            if (pk != NULL)
                t->keys[t->n_keys++] = pk;
            else
                t->keys_read = false;
        }
    }
    return 0;
}

static int parse_scan(const char *text, watch_scan *out)
{
    cJSON *root = cJSON_Parse(text), *arr, *o;
    const cJSON *e;
    int rc = 0;

    if (root == NULL) {
        snprintf(out->error, sizeof(out->error), "token scan: no readable report");
        return -1;
    }
    e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsString(e)) {
        snprintf(out->error, sizeof(out->error), "token scan: %s", e->valuestring);
        rc = -1;
    }
    arr = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    if (rc == 0 && cJSON_GetArraySize(arr) > 0) {
        out->items = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*out->items));
        if (out->items == NULL)
            rc = -1;
        cJSON_ArrayForEach(o, arr) {
            if (rc != 0)
                break;
            if (token_from_json(o, &out->items[out->n]) != 0) {
                watch_token_clear(&out->items[out->n]);
                continue;
            }
            out->n++;
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* Read the child's report until EOF or the time limit. */
static char *read_report(int fd, double limit_s, bool *timed_out)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    double end = monotonic_now() + limit_s;

    *timed_out = false;
    while (buf != NULL) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        double left = end - monotonic_now();
        ssize_t n;

        if (left <= 0) {
            *timed_out = true;
            break;
        }
        if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        if (len + 1024 > cap) {
            char *nb = realloc(buf, cap * 2);

            if (nb == NULL)
                break;
            buf = nb, cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

int watch_scan_run(const watch_settings *set, const char *const *known, size_t n_known,
                   double limit_s, watch_scan *out)
{
    int fds[2], status = 0, rc = -1;
    bool timed_out = false;
    char *text = NULL;
    pid_t pid;

    memset(out, 0, sizeof(*out));
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(out->error, sizeof(out->error), "token scan: pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        watch_signal_child();
        signal(SIGINT, SIG_IGN);   /* the watcher decides when to stop */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        scan_child(set, known, n_known, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        snprintf(out->error, sizeof(out->error), "token scan: fork: %s", strerror(errno));
        close(fds[0]);
        return -1;
    }
    text = read_report(fds[0], limit_s, &timed_out);
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        snprintf(out->error, sizeof(out->error),
                 "token scan: the PKCS#11 module did not answer within %.0f s", limit_s);
    else if (WIFSIGNALED(status))
        snprintf(out->error, sizeof(out->error),
                 "token scan: the PKCS#11 module crashed (signal %d)", WTERMSIG(status));
    else if (text != NULL)
        rc = parse_scan(text, out);
    free(text);
    if (rc != 0)
        watch_scan_free(out);
    return rc;
}
