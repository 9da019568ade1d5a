/*
 * Where a PIN comes from: prompt (terminal, no echo), file:PATH (mode 0600
 * or stricter), fd:N, env:VAR, or pinpad (the reader's keypad: no PIN
 * passes through the agent at all).  The PIN is read into a secret buffer.
 */
#ifndef QSCD_PIN_SOURCE_H
#define QSCD_PIN_SOURCE_H

#include "secret.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum pin_source_kind {
    PIN_SOURCE_PROMPT,
    PIN_SOURCE_FILE,
    PIN_SOURCE_FD,
    PIN_SOURCE_ENV,
    PIN_SOURCE_PINPAD,
} pin_source_kind;

typedef struct pin_source {
    pin_source_kind kind;
    char           *arg;   /* path or variable name; NULL otherwise */
    int             fd;
} pin_source;

/*
 * Parse a pin-source spec; NULL or "" means prompt.  `option` names the
 * option in messages ("--pin-source").  Returns false with err filled.
 */
bool pin_source_parse(const char *spec, const char *option, pin_source *out,
                      char *err, size_t errlen);
void pin_source_clear(pin_source *src);

/* "prompt", "file", "fd", "env", "pinpad" (the record of a refused PIN keeps these). */
const char *pin_source_kind_name(pin_source_kind kind);
/* false for an unknown name. */
bool pin_source_kind_from_name(const char *name, pin_source_kind *out);
/* A person enters the PIN for this try (prompt, pinpad); file:, fd:, env: do not. */
bool pin_source_interactive(pin_source_kind kind);

/*
 * Read the PIN.  *out is NULL for pinpad (log in through the keypad).
 * `prompt` is shown on the terminal for prompt.  Returns false with err
 * filled (never containing the PIN).  A descriptor (fd:N) is read once per
 * process: a second read of the same N is refused, whatever it would give
 * (the number may have been reused for another file since).
 */
bool pin_source_read(const pin_source *src, const char *prompt, secret **out,
                     char *err, size_t errlen);

#endif
