/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests and the fuzz targets: a seeded PRNG, and a growable
 * string on libc's allocator (so a test allocator installed in ssehub counts only the
 * library's memory) that also writes transcript lines in ssecat --parse format.
 * No cmocka here: fuzz targets link this file too. Out of memory aborts.
 */
#ifndef SH_TEST_TESTUTIL_H
#define SH_TEST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/** Seeds the PRNG (splitmix64); the same seed gives the same sequence. */
void sh_test_rng_seed(uint64_t seed);
/** The next 64 random bits. */
uint64_t sh_test_rng_next(void);
/** A number in [0, n); n > 0. */
size_t sh_test_rng_below(size_t n);

/** A growable NUL-terminated byte string. Zero-initialise; free with sh_test_text_free(). */
typedef struct sh_test_text_s {
    char *s;    /* the bytes, NUL-terminated; NULL while nothing was added */
    size_t len; /* bytes in |s| */
    size_t cap; /* bytes allocated */
} sh_test_text_t;

void sh_test_text_put(sh_test_text_t *t, const void *s, size_t len);
void sh_test_text_str(sh_test_text_t *t, const char *s);
/** Appends |n| copies of |c|. */
void sh_test_text_fill(sh_test_text_t *t, char c, size_t n);
/**
 * Appends |s| as a JSON string as ssecat writes it: \" \\ \b \f \n \r \t, other control
 * bytes as \u00XX (lowercase hex), every other byte as is.
 */
void sh_test_text_json(sh_test_text_t *t, const char *s, size_t len);
/** Appends the transcript line of one event: {"event": T, "data": D, "id": I} and LF. */
void sh_test_text_event(sh_test_text_t *t, const char *type, size_t type_len, const char *data,
                        size_t data_len, const char *id, size_t id_len);
/** Appends the transcript line of one retry field: {"retry": N} and LF. */
void sh_test_text_retry(sh_test_text_t *t, uint64_t retry_ms);
/** Returns the string, "" while empty. */
const char *sh_test_text_cstr(const sh_test_text_t *t);
/** Frees the bytes and leaves |t| empty. */
void sh_test_text_free(sh_test_text_t *t);

/** Puts libc's allocator back after a test that installed another one. */
void sh_test_restore_allocator(void);

#endif /* SH_TEST_TESTUTIL_H */
