/*
 * Secret buffers: the one place that holds PINs and API keys.
 *
 * A secret lives in memory that is locked (not swapped), excluded from core
 * dumps, and wiped before it is freed.  Everything else in the agent passes
 * `const secret *` around and never copies the bytes into its own buffers,
 * logs, argv or the journal.
 */
#ifndef QSCD_SECRET_H
#define QSCD_SECRET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct secret {
    char  *data;  /* NUL-terminated for APIs that need a C string */
    size_t len;
    size_t cap;
} secret;

/* Process-wide protections: no core dumps, not ptrace-able by others. */
void secret_harden_process(void);

secret *secret_new(size_t cap);
void    secret_free(secret *s);
void    secret_wipe(void *p, size_t n);

/* Append bytes; false when the secret would exceed its capacity. */
bool secret_append(secret *s, const char *p, size_t n);

/* Drop one trailing "\n" or "\r\n" (files written by editors and echo). */
void secret_chomp(secret *s);

/*
 * Read a secret from a file.  The file must not be readable or writable by
 * group or others (like ssh does with private keys); `what` names the secret
 * in error messages ("API key file").  On failure returns NULL and writes a
 * message for a person into err.
 */
secret *secret_from_file(const char *path, const char *what, char *err, size_t errlen);

/* Read everything from an open descriptor (fd:N PIN source, pipes). */
secret *secret_from_fd(int fd, const char *what, char *err, size_t errlen);

/*
 * Take a secret from the environment variable `name`, then overwrite the
 * variable's value in this process's environment so that it does not linger
 * (and is not inherited by children).  NULL when unset or empty.
 */
secret *secret_from_env(const char *name);

/*
 * Read a line from the terminal without echo; the prompt goes to the tty.
 * SIGINT, SIGTERM or SIGQUIT during the prompt end it: the terminal's echo
 * is restored first, then the signal is raised again for whatever handler
 * (or default action) the process had, and NULL is returned ("interrupted").
 * Only the terminal's foreground job may prompt; the terminal never stops
 * the process (SIGTTOU/SIGTTIN are blocked while the prompt runs).  Ctrl-Z
 * gives the echo back and stops; `fg` asks again from the start.
 */
secret *secret_prompt_tty(const char *prompt, char *err, size_t errlen);

#endif
