/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry point it defines (called by libFuzzer,
 * or by replay_main.c in the plain replay build) and FUZZ_CHECK, an assertion that is
 * compiled in whatever the build type.
 */
#ifndef SH_FUZZ_FUZZ_H
#define SH_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/** Runs one input. Returns 0; an invariant failure abort()s. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Checks an invariant and abort()s with its text when it does not hold. assert() would
 * vanish in the Release build (NDEBUG), and an abort is what libFuzzer reports as a crash.
 */
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* FNV-1a over the input: the seed of a target's "random" choices, so runs are reproducible. */
static inline uint64_t fuzz_hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

#endif /* SH_FUZZ_FUZZ_H */
