/*
 * Control characters out of terminal text (term_text.h).
 */
#include "term_text.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned long cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and beyond U+10FFFF are not text. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

char *term_text_escape(const char *in, bool keep_newlines, char *out, size_t len)
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t used = 0;

    if (len == 0)
        return out;
    while (*s) {
        size_t n = utf8_len(s);
        char esc[8] = "";

        if (n == 0)
            snprintf(esc, sizeof(esc), "\\x%02x", s[0]);
        else if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f) && !(keep_newlines && s[0] == '\n'))
            snprintf(esc, sizeof(esc), "\\x%02x", s[0]);
        else if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)   /* C1: U+0080..U+009F */
            snprintf(esc, sizeof(esc), "\\u%04x", s[1]);
        size_t w = esc[0] ? strlen(esc) : (n ? n : 1);
        if (used + w >= len)
            break;
        memcpy(out + used, esc[0] ? esc : (const char *)s, w);
        used += w;
        s += n ? n : 1;
    }
    out[used] = '\0';
    return out;
}
