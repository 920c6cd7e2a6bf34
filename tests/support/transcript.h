/* SPDX-License-Identifier: MIT */
/*
 * Runs the event-stream parser over an input cut into chunks and records what it
 * dispatched as a transcript in ssecat's --parse format, one line per callback:
 *   {"event": TYPE, "data": DATA, "id": ID}     {"retry": N}
 * followed, when parsing failed, by a last line "error NAME" (ssehub_err_name()).
 * Identical transcripts for every chunking is the parser's main invariant.
 */
#ifndef SH_TEST_TRANSCRIPT_H
#define SH_TEST_TRANSCRIPT_H

#include <stddef.h>

/**
 * Parses |in| cut before each offset in |cuts| (ascending, each in 1..len-1; |ncuts| may
 * be 0 for the whole input at once) with the given max_size (0: default). Returns a
 * NUL-terminated transcript from malloc() (free() it), or NULL when the parser could not
 * be created (out of memory). Out of memory for the transcript itself aborts.
 */
char *sh_test_transcript(const char *in, size_t len, size_t max_size, const size_t *cuts,
                         size_t ncuts);

/** As sh_test_transcript(), fed one byte at a time. */
char *sh_test_transcript_bytewise(const char *in, size_t len, size_t max_size);

/**
 * cmocka assertion: the transcript equals |expected| when |in| is fed whole, one byte at
 * a time, and split into two chunks at every position.
 */
void sh_test_assert_parse(const char *in, size_t len, size_t max_size, const char *expected);

#endif /* SH_TEST_TRANSCRIPT_H */
