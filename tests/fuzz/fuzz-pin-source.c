/*
 * Fuzz target: the pin-source spec (pin_source_parse), as --pin-source,
 * QSCD_PIN_SOURCE or the config file give it.  Parsing only: nothing is
 * read, so no PIN is ever asked for.
 */
#include "pin_source.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1), err[512];
    pin_source src;

    if (spec == NULL)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    memset(&src, 0, sizeof src);
    err[0] = '\0';
    if (pin_source_parse(spec, "--pin-source", &src, err, sizeof err)) {
        pin_source_kind back;
        if (!pin_source_kind_from_name(pin_source_kind_name(src.kind), &back) || back != src.kind)
            abort();
        pin_source_clear(&src);
    } else if (err[0] == '\0') {
        fprintf(stderr, "fuzz invariant broken: refused without a message\n");
        abort();
    }
    free(spec);
    return 0;
}
