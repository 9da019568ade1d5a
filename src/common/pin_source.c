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
        *out = secret_from_fd(src->fd, "PIN descriptor", err, errlen);
        if (*out != NULL && src->fd > 2)
            close(src->fd);   /* read once; nothing else may read it later */
        break;
    case PIN_SOURCE_ENV:
        *out = secret_from_env(src->arg);
        if (*out == NULL)
            snprintf(err, errlen, "PIN variable %s: not set or empty", src->arg);
        break;
    }
    return *out != NULL;
}
