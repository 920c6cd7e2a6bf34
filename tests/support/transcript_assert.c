/* SPDX-License-Identifier: MIT */
/* The cmocka assertion over every chunking of a parser input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/transcript.h"

void sh_test_assert_parse(const char *in, size_t len, size_t max_size, const char *expected)
{
    char *got;
    size_t cut;

    got = sh_test_transcript(in, len, max_size, NULL, 0);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);

    got = sh_test_transcript_bytewise(in, len, max_size);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);

    for (cut = 1; cut < len; cut++) {
        got = sh_test_transcript(in, len, max_size, &cut, 1);
        assert_non_null(got);
        if (strcmp(got, expected) != 0)
            print_error("split at %zu of %zu differs\n", cut, len);
        assert_string_equal(got, expected);
        free(got);
    }
}
