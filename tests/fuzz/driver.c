/*
 * Stand-in for libFuzzer when only gcc is there: replays each corpus file,
 * then feeds deterministic mutations of it (xorshift, fixed seed) to
 * LLVMFuzzerTestOneInput.  usage: driver [-n ITERATIONS] FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as with libFuzzer: a target's one-time setup. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const tokens[] = {
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00", "true", "false", "null",
    "0", "-1", "1e999", "\"\"", "\t", "\r\n", "\xEF\xBB\xBF", "\xC3\xA9", "\xFF",
    "\"card\"", "\"credit_card\"", "\"organization\"", "\"contacts\"", "\"id\"",
    "\"order_validity\"", "\"custom_expiration_date\"", "\"31 FEB 2027\"",
    "\"verified_contact\"", "\"ship_info\"", "\"method\"",
};

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
    size_t pos = len ? next() % len : 0;
    const char *t;
    size_t tl, n;

    switch (next() % 5) {
    case 0:                                    /* flip a byte */
        if (len)
            buf[pos] ^= (uint8_t)(1u << (next() % 8));
        return len;
    case 1:                                    /* delete a run */
        n = len - pos < 16 ? len - pos : next() % 16;
        memmove(buf + pos, buf + pos + n, len - pos - n);
        return len - n;
    case 2:                                    /* truncate */
        return pos;
    default:                                   /* insert a token */
        t = tokens[next() % (sizeof tokens / sizeof tokens[0])];
        tl = strlen(t);
        if (len + tl > cap)
            return len;
        memmove(buf + pos + tl, buf + pos, len - pos);
        memcpy(buf + pos, t, tl);
        return len + tl;
    }
}

static void fuzz_file(const char *path, long iterations)
{
    FILE *f = fopen(path, "rb");
    uint8_t *orig, *buf;
    size_t len, cap;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    rewind(f);
    cap = len + 4096;
    orig = malloc(len + 1);
    buf = malloc(cap);
    if (orig == NULL || buf == NULL || fread(orig, 1, len, f) != len)
        exit(2);
    fclose(f);
    LLVMFuzzerTestOneInput(orig, len);
    for (long i = 0; i < iterations; i++) {
        size_t n = len;
        memcpy(buf, orig, len);
        for (uint64_t k = 1 + next() % 4; k > 0; k--)
            n = mutate(buf, n, cap);
        /* An exact-size copy, so ASan sees any read past the end. */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    free(buf);
    free(orig);
}

int main(int argc, char **argv)
{
    long iterations = 20000;
    int i = 1;

    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        iterations = atol(argv[2]);
        i = 3;
    }
    int first = i;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);

    for (; i < argc; i++)
        fuzz_file(argv[i], iterations);
    printf("fuzz: %d files, %ld mutations each, no failure\n", argc - first, iterations);
    return 0;
}
