/*
 * Fuzz target: the config file reader (cli_config_read), on the text of a
 * file as an administrator (or a bad editor) leaves it.  Messages go to
 * stderr; run.sh closes it for the run.
 */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cli_config cfg;
    FILE *f;

    if (size == 0)
        return 0;
    f = fmemopen((void *)data, size, "r");
    if (f == NULL)
        return 0;
    memset(&cfg, 0, sizeof cfg);
    (void)cli_config_read(&cfg, f, "fuzz.conf");
    fclose(f);
    cli_config_free(&cfg);
    return 0;
}
