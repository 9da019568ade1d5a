/*
 * PIN sources: parse the spec, then read the PIN into a secret buffer.
 */
#include "pin_source.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool valid_env_name(const char *s)
{
    if (*s == '\0' || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool parse_fd(const char *s, int *fd)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > INT_MAX)
        return false;
    *fd = (int)v;
    return true;
}

bool pin_source_parse(const char *spec, const char *option, pin_source *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (spec == NULL || *spec == '\0' || strcmp(spec, "prompt") == 0) {
        out->kind = PIN_SOURCE_PROMPT;
    } else if (strcmp(spec, "pinpad") == 0) {
        out->kind = PIN_SOURCE_PINPAD;
    } else if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
        out->kind = PIN_SOURCE_FILE;
        out->arg = strdup(spec + 5);
    } else if (strncmp(spec, "env:", 4) == 0 && valid_env_name(spec + 4)) {
        out->kind = PIN_SOURCE_ENV;
        out->arg = strdup(spec + 4);
    } else if (strncmp(spec, "fd:", 3) == 0 && parse_fd(spec + 3, &out->fd)) {
        out->kind = PIN_SOURCE_FD;
    } else {
        /* The spec is not echoed: a PIN typed here by mistake must not be printed. */
        snprintf(err, errlen, "%s: must be prompt, file:PATH, fd:N, env:VAR or pinpad",
                 option);
        return false;
    }
    if ((out->kind == PIN_SOURCE_FILE || out->kind == PIN_SOURCE_ENV) && out->arg == NULL) {
        snprintf(err, errlen, "%s: out of memory", option);
        return false;
    }
    return true;
}

static const char *const kind_names[] = {
    [PIN_SOURCE_PROMPT] = "prompt", [PIN_SOURCE_FILE] = "file", [PIN_SOURCE_FD] = "fd",
    [PIN_SOURCE_ENV] = "env",       [PIN_SOURCE_PINPAD] = "pinpad",
};

const char *pin_source_kind_name(pin_source_kind kind)
{
    if ((size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]))
        return kind_names[kind];
    return "?";
}

bool pin_source_kind_from_name(const char *name, pin_source_kind *out)
{
    for (size_t i = 0; name != NULL && i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (pin_source_kind)i;
            return true;
        }
    }
    return false;
}

bool pin_source_interactive(pin_source_kind kind)
{
    return kind == PIN_SOURCE_PROMPT || kind == PIN_SOURCE_PINPAD;
}

/* The descriptors this process has read a PIN from (fd:N is read once). */
#define FDS_READ_MAX 64
static int fds_read[FDS_READ_MAX];
static size_t n_fds_read;

static bool fd_was_read(int fd)
{
    for (size_t i = 0; i < n_fds_read; i++)
        if (fds_read[i] == fd)
            return true;
    return false;
}

static secret *read_fd_once(int fd, char *err, size_t errlen)
{
    secret *s;

    if (fd_was_read(fd) || n_fds_read == FDS_READ_MAX) {
        snprintf(err, errlen, "PIN descriptor fd:%d: read already by this run; a descriptor "
                 "gives one PIN once (use a separate descriptor for each PIN)", fd);
        return NULL;
    }
    fds_read[n_fds_read++] = fd;
    s = secret_from_fd(fd, "PIN descriptor", err, errlen);
    if (fd > 2)
        close(fd);   /* read once; nothing else may read it later */
    return s;
}

void pin_source_clear(pin_source *src)
{
    if (src == NULL)
        return;
    free(src->arg);
    memset(src, 0, sizeof(*src));
    src->fd = -1;
}

bool pin_source_read(const pin_source *src, const char *prompt, secret **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    switch (src->kind) {
    case PIN_SOURCE_PINPAD:
        return true;
    case PIN_SOURCE_PROMPT:
        *out = secret_prompt_tty(prompt ? prompt : "PIN: ", err, errlen);
        break;
    case PIN_SOURCE_FILE:
        *out = secret_from_file(src->arg, "PIN file", err, errlen);
        break;
    case PIN_SOURCE_FD:
        *out = read_fd_once(src->fd, err, errlen);
        break;
    case PIN_SOURCE_ENV:
        *out = secret_from_env(src->arg);
        if (*out == NULL)
            snprintf(err, errlen, "PIN variable %s: not set or empty", src->arg);
        break;
    }
    return *out != NULL;
}
