/*
 * Fuzz target: the job file reader (journal_job_from_json), on whatever a
 * crash, a disk or a person left in STATE/jobs/.  What it accepts must
 * write out again and read back.
 */
#include "journal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    journal_job *job = NULL, *again = NULL;
    journal_err err;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&err, 0, sizeof err);
    if (journal_job_from_json(text, "job-0123456789abcdef.json", &job, &err) == JOURNAL_OK) {
        char *out = journal_job_to_json(job);
        if (out == NULL || journal_job_from_json(out, "again", &again, &err) != JOURNAL_OK) {
            fprintf(stderr, "fuzz invariant broken: a job read does not read back: %s\n",
                    err.message);
            abort();
        }
        free(out);
    }
    journal_job_free(again);
    journal_job_free(job);
    free(text);
    return 0;
}
