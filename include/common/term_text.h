/*
 * Text for a terminal.  Token labels, reader names and whatever CertCentral
 * sends are not ours: an ESC sequence in a label can recolour, move or
 * clear the screen, retitle the window or fake a line of output, the PIN
 * prompt included.  Everything shown to a person passes through here, and
 * control characters come out as visible escapes ("\x1b", "\u009b"); UTF-8
 * text (accents, the em dash) stays as it is.
 */
#ifndef QSCD_TERM_TEXT_H
#define QSCD_TERM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copy in to out (always NUL-terminated, cut to len) with every C0 and C1
 * control character, DEL and every byte that is not valid UTF-8 written as
 * an escape.  keep_newlines: "\n" (a message's own line breaks) stays.
 * Returns out.
 */
char *term_text_escape(const char *in, bool keep_newlines, char *out, size_t len);

#endif
