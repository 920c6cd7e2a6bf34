/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/base/: sh_buf, UTF-8 validation and replacement (against a reference
 * decoder written here from the WHATWG Encoding Standard), JSON strings, decimal parsing
 * and formatting, the error table, the allocator hooks, the version and ssehub_rcbuf.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <pthread.h>

#include <cmocka.h>

#include "ssehub/ssehub.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"
#include "base/utf8.h"
#include "support/testutil.h"
#include "support/failalloc.h"

/* Prints |len| bytes in hex, to show a failing input. */
static void print_hex(const char *what, const void *s, size_t len)
{
    const unsigned char *p = s;
    char line[3 * 64 + 1];
    size_t i, n = 0;

    for (i = 0; i < len && i < 64; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x ", p[i]);
    line[n] = '\0';
    print_error("%s (%zu bytes): %s%s\n", what, len, line, len > 64 ? "..." : "");
}

/* ---- sh_buf ----------------------------------------------------------------------------- */

static void test_base_buf_init_append_take_dispose(void **state)
{
    sh_buf_t b;
    char *p;
    size_t len = 99;

    (void)state;
    sh_buf_init(&b, 1000);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 1000);

    assert_int_equal(sh_buf_append(&b, "hello", 5), 0);
    assert_int_equal(sh_buf_append_str(&b, ", world"), 0);
    assert_int_equal(b.len, 12);
    assert_true(b.cap >= b.len);
    assert_memory_equal(b.base, "hello, world", 12);

    sh_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_non_null(b.base);
    assert_int_equal(sh_buf_append(&b, "abc", 3), 0);
    assert_memory_equal(b.base, "abc", 3);

    p = sh_buf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "abc", 3);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 1000);
    sh_free(p);

    /* Taking from a buffer that holds no allocation gives NULL and a zero length. */
    len = 99;
    assert_null(sh_buf_take(&b, &len));
    assert_int_equal(len, 0);
    assert_null(sh_buf_take(&b, NULL));

    /* Reusable after take; dispose leaves it empty and initialised, twice is fine. */
    assert_int_equal(sh_buf_append(&b, "x", 1), 0);
    sh_buf_dispose(&b);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 1000);
    sh_buf_dispose(&b);
    assert_int_equal(sh_buf_append(&b, "y", 1), 0);
    assert_memory_equal(b.base, "y", 1);
    sh_buf_dispose(&b);
}

static void test_base_buf_reserve(void **state)
{
    sh_buf_t b;
    char *base;
    size_t cap;

    (void)state;
    sh_buf_init(&b, 4096);
    assert_int_equal(sh_buf_reserve(&b, 0), 0);
    assert_int_equal(sh_buf_reserve(&b, 100), 0);
    assert_true(b.cap >= 100);
    assert_int_equal(b.len, 0);
    cap = b.cap;
    base = b.base;

    /* Appends within the reserved room do not reallocate. */
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(sh_buf_append(&b, "z", 1), 0);
    assert_ptr_equal(b.base, base);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 100);

    assert_int_equal(sh_buf_reserve(&b, 4096 - 100), 0);
    assert_int_equal(b.cap, 4096);
    assert_int_equal(sh_buf_reserve(&b, 4096 - 99), SSEHUB_E2BIG);
    assert_int_equal(sh_buf_reserve(&b, SIZE_MAX), SSEHUB_E2BIG);
    assert_int_equal(b.len, 100);
    assert_int_equal(b.cap, 4096);
    sh_buf_dispose(&b);
}

static void test_base_buf_append_zero_bytes(void **state)
{
    sh_buf_t b;

    (void)state;
    /* Zero bytes allocates nothing and succeeds, even with max 0 or a full buffer. */
    sh_buf_init(&b, 0);
    assert_int_equal(sh_buf_append(&b, "", 0), 0);
    assert_int_equal(sh_buf_append(&b, NULL, 0), 0);
    assert_int_equal(sh_buf_append_str(&b, ""), 0);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(sh_buf_append(&b, "a", 1), SSEHUB_E2BIG);
    assert_null(b.base);
    sh_buf_dispose(&b);

    sh_buf_init(&b, 3);
    assert_int_equal(sh_buf_append(&b, "abc", 3), 0);
    assert_int_equal(sh_buf_append(&b, "d", 0), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.base, "abc", 3);
    sh_buf_dispose(&b);
}

static void test_base_buf_append_past_max_unchanged(void **state)
{
    sh_buf_t b;
    char big[300];
    size_t cap;

    (void)state;
    memset(big, 'q', sizeof(big));
    sh_buf_init(&b, 10);
    assert_int_equal(sh_buf_append(&b, "0123456", 7), 0);
    cap = b.cap;

    assert_int_equal(sh_buf_append(&b, "7890", 4), SSEHUB_E2BIG);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.base, "0123456", 7);
    assert_int_equal(sh_buf_append(&b, big, sizeof(big)), SSEHUB_E2BIG);
    assert_int_equal(sh_buf_append_str(&b, "abcd"), SSEHUB_E2BIG);
    assert_int_equal(b.len, 7);
    assert_int_equal(b.cap, cap);
    assert_memory_equal(b.base, "0123456", 7);

    /* Exactly up to max is fine, one more byte is not. */
    assert_int_equal(sh_buf_append(&b, "789", 3), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.base, "0123456789", 10);
    assert_int_equal(sh_buf_append(&b, "x", 1), SSEHUB_E2BIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.base, "0123456789", 10);
    sh_buf_dispose(&b);

    /* E2BIG on an empty buffer allocates nothing. */
    sh_buf_init(&b, 10);
    assert_int_equal(sh_buf_append(&b, big, 11), SSEHUB_E2BIG);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    sh_buf_dispose(&b);
}

static void test_base_buf_cap_never_exceeds_max(void **state)
{
    static const size_t maxes[] = {1, 2, 10, 63, 64, 65, 100, 127, 128, 129, 1000, 4097, 65536};
    static const size_t steps[] = {1, 3, 7, 50, 1000};
    char chunk[1000];

    (void)state;
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            sh_buf_t b;
            size_t max = maxes[m], step = steps[s];

            sh_buf_init(&b, max);
            for (;;) {
                size_t n = max - b.len < step ? max - b.len : step;
                if (n == 0)
                    break;
                assert_int_equal(sh_buf_append(&b, chunk, n), 0);
                assert_true(b.cap >= b.len);
                assert_true(b.cap <= b.max);
            }
            assert_int_equal(b.len, max);
            assert_int_equal(b.cap, max);
            assert_int_equal(sh_buf_append(&b, chunk, 1), SSEHUB_E2BIG);
            assert_int_equal(b.cap, max);
            for (size_t k = 0; k < max; k += step) {
                size_t n = max - k < step ? max - k : step;
                assert_memory_equal(b.base + k, chunk, n);
            }
            sh_buf_dispose(&b);
        }
    }

    /* One reserve straight to max, from empty and from a small allocation. */
    {
        sh_buf_t b;
        sh_buf_init(&b, 1000);
        assert_int_equal(sh_buf_reserve(&b, 1000), 0);
        assert_int_equal(b.cap, 1000);
        sh_buf_dispose(&b);
        assert_int_equal(sh_buf_append(&b, "a", 1), 0);
        assert_int_equal(sh_buf_reserve(&b, 999), 0);
        assert_int_equal(b.cap, 1000);
        assert_int_equal(sh_buf_reserve(&b, 1000), SSEHUB_E2BIG);
        sh_buf_dispose(&b);
    }
}

static void test_base_buf_oom_unchanged(void **state)
{
    sh_buf_t b;
    char big[200];
    size_t cap;

    (void)state;
    memset(big, 'm', sizeof(big));
    sh_failalloc_install();

    /* The first allocation fails: nothing allocated, nothing changed. */
    sh_buf_init(&b, 1 << 20);
    sh_failalloc_fail_after(0);
    assert_int_equal(sh_buf_append(&b, "abc", 3), SSEHUB_ENOMEM);
    assert_int_equal(sh_buf_reserve(&b, 1), SSEHUB_ENOMEM);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(sh_failalloc_live(), 0);

    /* Growth fails: the bytes, length and capacity stay as they were. */
    sh_failalloc_fail_after(1);
    assert_int_equal(sh_buf_append(&b, "abc", 3), 0);
    cap = b.cap;
    assert_int_equal(sh_failalloc_live(), 1);
    assert_int_equal(sh_buf_append(&b, big, sizeof(big)), SSEHUB_ENOMEM);
    assert_int_equal(b.len, 3);
    assert_int_equal(b.cap, cap);
    assert_memory_equal(b.base, "abc", 3);

    /* Appends that fit need no allocation and still succeed. */
    assert_int_equal(sh_buf_append(&b, "de", 2), 0);
    assert_memory_equal(b.base, "abcde", 5);

    sh_failalloc_fail_after(-1);
    assert_int_equal(sh_buf_append(&b, big, sizeof(big)), 0);
    assert_int_equal(b.len, 205);
    assert_memory_equal(b.base, "abcde", 5);
    sh_buf_dispose(&b);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/*
 * The reference: the WHATWG Encoding Standard's UTF-8 decoder, written from the spec's
 * steps (UTF-8 bytes needed/seen, lower/upper boundary) and independent of src/base/utf8.c.
 * Decodes |len| bytes into |cps| (room for |len| code points) with U+FFFD for each error
 * and returns the count. |*valid| receives the length of the prefix decoded without
 * error: the start of the sequence in which the first error happened, or |len|.
 */
static size_t ref_utf8_decode(const unsigned char *s, size_t len, uint32_t *cps, size_t *valid)
{
    uint32_t cp = 0;
    unsigned needed = 0, seen = 0;
    unsigned char lower = 0x80, upper = 0xBF;
    size_t i = 0, n = 0, seq_start = 0;

    *valid = len;
    for (;;) {
        unsigned char byte;

        if (i == len) {
            /* End of queue: a sequence still open is an error. */
            if (needed != 0) {
                cps[n++] = 0xFFFD;
                if (*valid == len)
                    *valid = seq_start;
            }
            break;
        }
        byte = s[i];
        if (needed == 0) {
            seq_start = i;
            i++;
            if (byte <= 0x7F) {
                cps[n++] = byte;
            } else if (byte >= 0xC2 && byte <= 0xDF) {
                needed = 1;
                cp = byte & 0x1F;
            } else if (byte >= 0xE0 && byte <= 0xEF) {
                if (byte == 0xE0)
                    lower = 0xA0;
                if (byte == 0xED)
                    upper = 0x9F;
                needed = 2;
                cp = byte & 0xF;
            } else if (byte >= 0xF0 && byte <= 0xF4) {
                if (byte == 0xF0)
                    lower = 0x90;
                if (byte == 0xF4)
                    upper = 0x8F;
                needed = 3;
                cp = byte & 0x7;
            } else {
                cps[n++] = 0xFFFD;
                if (*valid == len)
                    *valid = seq_start;
            }
            continue;
        }
        if (byte < lower || byte > upper) {
            /* Reset, emit an error, and prepend the byte: it is processed again. */
            cp = 0;
            needed = 0;
            seen = 0;
            lower = 0x80;
            upper = 0xBF;
            cps[n++] = 0xFFFD;
            if (*valid == len)
                *valid = seq_start;
            continue;
        }
        lower = 0x80;
        upper = 0xBF;
        cp = (cp << 6) | (byte & 0x3F);
        seen++;
        i++;
        if (seen != needed)
            continue;
        cps[n++] = cp;
        cp = 0;
        needed = 0;
        seen = 0;
    }
    return n;
}

/* Encodes code points as UTF-8 into |out| (room for 4 bytes each); returns the length. */
static size_t ref_utf8_encode(const uint32_t *cps, size_t n, unsigned char *out)
{
    size_t len = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c < 0x80) {
            out[len++] = (unsigned char)c;
        } else if (c < 0x800) {
            out[len++] = (unsigned char)(0xC0 | (c >> 6));
            out[len++] = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[len++] = (unsigned char)(0xE0 | (c >> 12));
            out[len++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            out[len++] = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            out[len++] = (unsigned char)(0xF0 | (c >> 18));
            out[len++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            out[len++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            out[len++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    return len;
}

#define UTF8_MAX_INPUT 64

/* The seed (0: none) and iteration of the random test, reported with a mismatch. */
static uint64_t utf8_seed;
static size_t utf8_iter;

static void print_utf8_context(void)
{
    if (utf8_seed != 0)
        print_error("seed 0x%016llx, iteration %zu\n", (unsigned long long)utf8_seed, utf8_iter);
}

/*
 * Checks sh_utf8_valid_prefix() and sh_utf8_append_sanitized() on |s| against the
 * reference, appending to an empty buffer and to one that already holds bytes.
 */
static void check_utf8(const char *s, size_t len)
{
    uint32_t cps[UTF8_MAX_INPUT];
    unsigned char want[4 * UTF8_MAX_INPUT];
    size_t n, want_len, valid, got_valid;
    sh_buf_t b;

    assert_true(len <= UTF8_MAX_INPUT);
    n = ref_utf8_decode((const unsigned char *)s, len, cps, &valid);
    want_len = ref_utf8_encode(cps, n, want);

    got_valid = sh_utf8_valid_prefix(s, len);
    if (got_valid != valid) {
        print_utf8_context();
        print_hex("input", s, len);
        print_error("valid prefix: got %zu, want %zu\n", got_valid, valid);
    }
    assert_int_equal(got_valid, valid);

    sh_buf_init(&b, 1 << 20);
    assert_int_equal(sh_utf8_append_sanitized(&b, s, len), 0);
    if (b.len != want_len || (want_len != 0 && memcmp(b.base, want, want_len) != 0)) {
        print_utf8_context();
        print_hex("input", s, len);
        print_hex("got", b.base, b.len);
        print_hex("want", want, want_len);
    }
    assert_int_equal(b.len, want_len);
    if (want_len != 0)
        assert_memory_equal(b.base, want, want_len);
    /* The output is always valid UTF-8, and valid input comes out unchanged. */
    assert_int_equal(sh_utf8_valid_prefix(b.base, b.len), b.len);
    if (valid == len) {
        assert_int_equal(b.len, len);
        if (len != 0)
            assert_memory_equal(b.base, s, len);
    }

    /* Appending keeps what the buffer held. */
    sh_buf_reset(&b);
    assert_int_equal(sh_buf_append(&b, "pre", 3), 0);
    assert_int_equal(sh_utf8_append_sanitized(&b, s, len), 0);
    assert_int_equal(b.len, 3 + want_len);
    assert_memory_equal(b.base, "pre", 3);
    if (want_len != 0)
        assert_memory_equal(b.base + 3, want, want_len);
    sh_buf_dispose(&b);
}

/* Checks |s| as check_utf8() does and also against a hand-written expected output. */
static void check_utf8_exact(const char *s, size_t len, const char *want, size_t want_len,
                             size_t want_valid)
{
    sh_buf_t b;

    check_utf8(s, len);
    assert_int_equal(sh_utf8_valid_prefix(s, len), want_valid);
    sh_buf_init(&b, 1 << 20);
    assert_int_equal(sh_utf8_append_sanitized(&b, s, len), 0);
    assert_int_equal(b.len, want_len);
    if (want_len != 0)
        assert_memory_equal(b.base, want, want_len);
    sh_buf_dispose(&b);
}

#define S(lit) lit, sizeof(lit) - 1
#define FFFD   "\xEF\xBF\xBD"

static void test_base_utf8_edge_cases(void **state)
{
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {S("")},
        {S("\x00")},
        {S("a\x00"
           "b")},
        {S("\x01\x1F\x20\x7E\x7F")},
        {S("\x80")},
        {S("\xBF")},
        {S("\x80\xBF\x80")},
        {S("\xC0")},
        {S("\xC1")},
        {S("\xC0\x80")},
        {S("\xC1\xBF")},
        {S("\xC2\x80")},
        {S("\xC2\x9F")},
        {S("\xDF\xBF")},
        {S("\xC2")},
        {S("\xC2\x41")},
        {S("\xC2\xC2\x80")},
        {S("\xC2\xC0")},
        {S("\xE0")},
        {S("\xE0\x80")},
        {S("\xE0\x80\x80")},
        {S("\xE0\x9F\xBF")},
        {S("\xE0\xA0")},
        {S("\xE0\xA0\x80")},
        {S("\xE1\x80\x80")},
        {S("\xEC\xBF\xBF")},
        {S("\xED\x80\x80")},
        {S("\xED\x9F\xBF")},
        {S("\xED\xA0\x80")},
        {S("\xED\xBF\xBF")},
        {S("\xEE\x80\x80")},
        {S("\xEF\xBF\xBF")},
        {S("\xEF\xBB\xBF")},
        {S("\xEF\xBF")},
        {S("\xEF\xBF\x41")},
        {S("\xF0")},
        {S("\xF0\x80\x80\x80")},
        {S("\xF0\x8F\xBF\xBF")},
        {S("\xF0\x90\x80\x80")},
        {S("\xF0\x9F\x98\x80")},
        {S("\xF0\x9F\x98")},
        {S("\xF0\x9F\x98\x41")},
        {S("\xF0\x9F")},
        {S("\xF1\x80\x80\x80")},
        {S("\xF3\xBF\xBF\xBF")},
        {S("\xF4\x80\x80\x80")},
        {S("\xF4\x8F\xBF\xBF")},
        {S("\xF4\x90\x80\x80")},
        {S("\xF4\xBF\xBF\xBF")},
        {S("\xF5\x80\x80\x80")},
        {S("\xF7\xBF\xBF\xBF")},
        {S("\xF8\x88\x80\x80\x80")},
        {S("\xFC\x84\x80\x80\x80\x80")},
        {S("\xFE")},
        {S("\xFF")},
        {S("\xFE\xFF")},
        {S("abcdefgh\xFFijklmnop")},
        {S("abcdefghijklmnopq\xC3\xA9rstuvwxyz0123456789\xE2\x82")},
        {S("01234567\xF0\x9F\x98\x80"
           "01234567")},
        {S("\xE2\x82\xAC\xE2\x82")},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_utf8(cases[i].s, cases[i].len);
    for (unsigned c = 0xF5; c <= 0xFF; c++) {
        char s[2] = {(char)c, 'a'};
        check_utf8(s, 2);
    }

    /* Spot checks of the reference itself against known answers. */
    check_utf8_exact(S("\xE0\x80\x80"), S(FFFD FFFD FFFD), 0);
    check_utf8_exact(S("\xED\xA0\x80"), S(FFFD FFFD FFFD), 0);
    check_utf8_exact(S("\xF0\x80\x80\x80"), S(FFFD FFFD FFFD FFFD), 0);
    check_utf8_exact(S("\xF4\x90\x80\x80"), S(FFFD FFFD FFFD FFFD), 0);
    check_utf8_exact(S("\xC0\x80"), S(FFFD FFFD), 0);
    check_utf8_exact(S("a\xF0\x9F\x98"), S("a" FFFD), 1);
    check_utf8_exact(S("a\xF0\x9F\x98z"), S("a" FFFD "z"), 1);
    check_utf8_exact(S("\xE2\x82\xAC\xE2\x82"), S("\xE2\x82\xAC" FFFD), 3);
    check_utf8_exact(S("\xC2\xC2\x80"), S(FFFD "\xC2\x80"), 0);
    check_utf8_exact(S("\xEF\xBF\xBF"), S("\xEF\xBF\xBF"), 3);
    check_utf8_exact(S("\xF4\x8F\xBF\xBF"), S("\xF4\x8F\xBF\xBF"), 4);
    check_utf8_exact(S("\xFF\xFE"), S(FFFD FFFD), 0);
    check_utf8_exact(S("x\x00y"), S("x\x00y"), 3);
}

/* A random byte, mostly high ones and the boundaries the decoder cares about. */
static unsigned char random_utf8_byte(void)
{
    static const unsigned char special[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                            0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED,
                                            0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFF};

    switch (sh_test_rng_below(10)) {
    case 0:
    case 1:
        return (unsigned char)sh_test_rng_below(0x80);
    case 2:
    case 3:
    case 4:
        return (unsigned char)(0x80 + sh_test_rng_below(0x40));
    case 5:
        return (unsigned char)(0xC0 + sh_test_rng_below(0x20));
    case 6:
        return (unsigned char)(0xE0 + sh_test_rng_below(0x10));
    case 7:
        return (unsigned char)(0xF0 + sh_test_rng_below(0x10));
    default:
        return special[sh_test_rng_below(sizeof(special))];
    }
}

static void test_base_utf8_random_against_reference(void **state)
{
    const uint64_t seed = UINT64_C(0x00C0FFEE5EED0001);
    char s[UTF8_MAX_INPUT];

    (void)state;
    sh_test_rng_seed(seed);
    utf8_seed = seed;
    for (size_t iter = 0; iter < 100000; iter++) {
        size_t len;

        if (sh_test_rng_below(8) == 0) {
            /* Longer strings with ASCII runs, to cross the eight-byte fast path. */
            len = sh_test_rng_below(UTF8_MAX_INPUT + 1);
            for (size_t i = 0; i < len; i++)
                s[i] = sh_test_rng_below(4) != 0 ? (char)('a' + sh_test_rng_below(26))
                                                 : (char)random_utf8_byte();
        } else {
            len = sh_test_rng_below(13);
            for (size_t i = 0; i < len; i++)
                s[i] = (char)random_utf8_byte();
        }
        utf8_iter = iter;
        check_utf8(s, len);
    }
    utf8_seed = 0;
}

static void test_base_utf8_sanitized_e2big_unchanged(void **state)
{
    static const char in[] = "ab\xC3\xA9\xFF"
                             "cd\xE0\x80"
                             "e\xF0\x9F\x98\x80\xF0\x9F";
    sh_buf_t b;
    size_t want_len;
    char want[64];

    (void)state;
    /* Find the full output first, then every smaller cap must fail and change nothing. */
    sh_buf_init(&b, 1 << 20);
    assert_int_equal(sh_utf8_append_sanitized(&b, in, sizeof(in) - 1), 0);
    want_len = b.len;
    assert_true(want_len <= sizeof(want));
    memcpy(want, b.base, want_len);
    sh_buf_dispose(&b);
    assert_int_equal(want_len, 2 + 2 + 3 + 2 + 3 + 3 + 1 + 4 + 3);

    for (size_t max = 3; max < 3 + want_len; max++) {
        sh_buf_init(&b, max);
        assert_int_equal(sh_buf_append(&b, "xyz", 3), 0);
        assert_int_equal(sh_utf8_append_sanitized(&b, in, sizeof(in) - 1), SSEHUB_E2BIG);
        assert_int_equal(b.len, 3);
        assert_memory_equal(b.base, "xyz", 3);
        sh_buf_dispose(&b);
    }
    sh_buf_init(&b, 3 + want_len);
    assert_int_equal(sh_buf_append(&b, "xyz", 3), 0);
    assert_int_equal(sh_utf8_append_sanitized(&b, in, sizeof(in) - 1), 0);
    assert_int_equal(b.len, 3 + want_len);
    assert_memory_equal(b.base + 3, want, want_len);
    sh_buf_dispose(&b);
}

static void test_base_utf8_sanitized_enomem_unchanged(void **state)
{
    char in[200];
    sh_buf_t b;
    size_t cap;

    (void)state;
    /* A short valid run and a U+FFFD fit in the current allocation; the long run does not. */
    memcpy(in, "ab\xFF", 3);
    memset(in + 3, 'k', sizeof(in) - 3);
    sh_failalloc_install();
    sh_buf_init(&b, 1 << 20);
    assert_int_equal(sh_buf_append(&b, "0123456789", 10), 0);
    cap = b.cap;
    assert_true(cap - b.len >= 5);
    assert_true(cap - b.len < sizeof(in));

    sh_failalloc_fail_after(0);
    assert_int_equal(sh_utf8_append_sanitized(&b, in, sizeof(in)), SSEHUB_ENOMEM);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.cap, cap);
    assert_memory_equal(b.base, "0123456789", 10);

    sh_failalloc_fail_after(-1);
    assert_int_equal(sh_utf8_append_sanitized(&b, in, sizeof(in)), 0);
    assert_int_equal(b.len, 10 + 2 + 3 + sizeof(in) - 3);
    assert_memory_equal(b.base + 10, "ab" FFFD "kkk", 8);
    sh_buf_dispose(&b);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* Asserts that |s| is written as the literal |want|, appended after "pre". */
static void check_json(const char *s, size_t len, const char *want)
{
    sh_buf_t b;
    size_t want_len = strlen(want);

    sh_buf_init(&b, 1 << 20);
    assert_int_equal(sh_buf_append(&b, "pre", 3), 0);
    assert_int_equal(sh_json_append_string(&b, s, len), 0);
    if (b.len != 3 + want_len || memcmp(b.base + 3, want, want_len) != 0) {
        print_hex("input", s, len);
        print_error("got  %.*s\nwant %s\n", (int)(b.len - 3), b.base + 3, want);
    }
    assert_int_equal(b.len, 3 + want_len);
    assert_memory_equal(b.base, "pre", 3);
    assert_memory_equal(b.base + 3, want, want_len);
    sh_buf_dispose(&b);
}

static void test_base_json_quotes_and_backslash(void **state)
{
    (void)state;
    check_json(S(""), "\"\"");
    check_json(S("plain text"), "\"plain text\"");
    check_json(S("\""), "\"\\\"\"");
    check_json(S("\\"), "\"\\\\\"");
    check_json(S("a\"b\\c"), "\"a\\\"b\\\\c\"");
    check_json(S("\\\"\\\""), "\"\\\\\\\"\\\\\\\"\"");
    check_json(S("/ '"), "\"/ '\"");
}

static void test_base_json_control_bytes(void **state)
{
    static const char hex[] = "0123456789abcdef";
    char all[32];
    char want_all[32 * 6 + 3];
    size_t n = 0;

    (void)state;
    want_all[n++] = '"';
    for (unsigned c = 0; c < 0x20; c++) {
        char in[3] = {'x', (char)c, 'y'};
        char esc[7];
        char want[16];
        const char *short_esc = NULL;

        switch (c) {
        case '\b':
            short_esc = "\\b";
            break;
        case '\f':
            short_esc = "\\f";
            break;
        case '\n':
            short_esc = "\\n";
            break;
        case '\r':
            short_esc = "\\r";
            break;
        case '\t':
            short_esc = "\\t";
            break;
        default:
            break;
        }
        if (short_esc != NULL)
            snprintf(esc, sizeof(esc), "%s", short_esc);
        else
            snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
        snprintf(want, sizeof(want), "\"x%sy\"", esc);
        check_json(in, sizeof(in), want);
        snprintf(want, sizeof(want), "\"%s\"", esc);
        check_json(in + 1, 1, want);
        all[c] = (char)c;
        memcpy(want_all + n, esc, strlen(esc));
        n += strlen(esc);
    }
    want_all[n++] = '"';
    want_all[n] = '\0';
    check_json(all, sizeof(all), want_all);
    check_json(S("\x00"), "\"\\u0000\"");
    check_json(S("\x1f"), "\"\\u001f\"");
    check_json(S("\x0b"), "\"\\u000b\"");
}

static void test_base_json_raw_bytes_pass_through(void **state)
{
    (void)state;
    check_json(S("\x7F"), "\"\x7F\"");
    check_json(S(" ~"), "\" ~\"");
    check_json(S("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
               "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"");
    check_json(S("\xC2\x80\xC2\x9F"), "\"\xC2\x80\xC2\x9F\"");
    /* Not validated: invalid bytes pass through as they are. */
    check_json(S("\xFF\x80"), "\"\xFF\x80\"");

    /* Every byte from 0x20 up, except the two escaped ones, is copied. */
    for (unsigned c = 0x20; c <= 0xFF; c++) {
        char in[1] = {(char)c};
        char want[5] = {'"', (char)c, '"', '\0', '\0'};
        if (c == '"' || c == '\\') {
            want[1] = '\\';
            want[2] = (char)c;
            want[3] = '"';
        }
        check_json(in, 1, want);
    }
}

static void test_base_json_e2big_unchanged(void **state)
{
    static const char in[] = "a\"b\\c\nd\x01"
                             "e\xC3\xA9\x1F";
    char want[64];
    size_t want_len;
    sh_buf_t b;

    (void)state;
    sh_buf_init(&b, 1 << 20);
    assert_int_equal(sh_json_append_string(&b, in, sizeof(in) - 1), 0);
    want_len = b.len;
    assert_true(want_len < sizeof(want));
    memcpy(want, b.base, want_len);
    sh_buf_dispose(&b);

    /* Every cap short of the full literal fails at a different append; none changes |b|. */
    for (size_t max = 2; max < 2 + want_len; max++) {
        sh_buf_init(&b, max);
        assert_int_equal(sh_buf_append(&b, "[[", 2), 0);
        assert_int_equal(sh_json_append_string(&b, in, sizeof(in) - 1), SSEHUB_E2BIG);
        assert_int_equal(b.len, 2);
        assert_memory_equal(b.base, "[[", 2);
        sh_buf_dispose(&b);
    }
    sh_buf_init(&b, 2 + want_len);
    assert_int_equal(sh_buf_append(&b, "[[", 2), 0);
    assert_int_equal(sh_json_append_string(&b, in, sizeof(in) - 1), 0);
    assert_memory_equal(b.base + 2, want, want_len);
    sh_buf_dispose(&b);

    /* Out of memory on the first byte: nothing allocated. */
    sh_failalloc_install();
    sh_buf_init(&b, 1 << 20);
    sh_failalloc_fail_after(0);
    assert_int_equal(sh_json_append_string(&b, in, sizeof(in) - 1), SSEHUB_ENOMEM);
    assert_int_equal(b.len, 0);
    sh_buf_dispose(&b);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- Decimal parsing and formatting ------------------------------------------------------ */

static void test_base_str_parse_u64_valid(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_int_equal(sh_parse_u64(S("0"), &v), 0);
    assert_true(v == 0);
    assert_int_equal(sh_parse_u64(S("9"), &v), 0);
    assert_true(v == 9);
    assert_int_equal(sh_parse_u64(S("000123"), &v), 0);
    assert_true(v == 123);
    assert_int_equal(sh_parse_u64(S("18446744073709551615"), &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(sh_parse_u64(S("018446744073709551615"), &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(sh_parse_u64(S("18446744073709551610"), &v), 0);
    assert_true(v == UINT64_MAX - 5);
    /* Only |len| bytes count: no NUL terminator needed. */
    assert_int_equal(sh_parse_u64("12345", 3, &v), 0);
    assert_true(v == 123);
}

static void test_base_str_parse_u64_invalid(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int rc;
    } cases[] = {
        {S("18446744073709551616"), SSEHUB_E2BIG},
        {S("18446744073709551620"), SSEHUB_E2BIG},
        {S("99999999999999999999"), SSEHUB_E2BIG},
        {S("100000000000000000000"), SSEHUB_E2BIG},
        {S("184467440737095516150"), SSEHUB_E2BIG},
        {S(""), SSEHUB_EINVAL},
        {S("-1"), SSEHUB_EINVAL},
        {S("+1"), SSEHUB_EINVAL},
        {S(" 1"), SSEHUB_EINVAL},
        {S("1 "), SSEHUB_EINVAL},
        {S("1a"), SSEHUB_EINVAL},
        {S("0x10"), SSEHUB_EINVAL},
        {S("1.5"), SSEHUB_EINVAL},
        {S("1\x00"), SSEHUB_EINVAL},
        {S("/"), SSEHUB_EINVAL},
        {S(":"), SSEHUB_EINVAL},
        {S("\xD9\xA1"), SSEHUB_EINVAL},
        /* Not a number at all wins over too big. */
        {S("99999999999999999999x"), SSEHUB_EINVAL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = UINT64_C(0xDEADBEEF);
        int rc = sh_parse_u64(cases[i].s, cases[i].len, &v);
        if (rc != cases[i].rc)
            print_error("case %zu \"%.*s\": got %d\n", i, (int)cases[i].len, cases[i].s, rc);
        assert_int_equal(rc, cases[i].rc);
        assert_true(v == UINT64_C(0xDEADBEEF));
    }
}

static void check_fmt(uint64_t v, const char *want)
{
    char dst[24];
    size_t n;

    memset(dst, '#', sizeof(dst));
    n = sh_fmt_u64(dst, v);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(dst, want, n);
    /* No NUL, and nothing written past the digits. */
    for (size_t i = n; i < sizeof(dst); i++)
        assert_int_equal(dst[i], '#');
}

static void test_base_str_fmt_u64(void **state)
{
    (void)state;
    check_fmt(0, "0");
    check_fmt(9, "9");
    check_fmt(10, "10");
    check_fmt(UINT64_MAX, "18446744073709551615");
    check_fmt(UINT64_MAX / 10, "1844674407370955161");
    check_fmt(10000000000000000000u, "10000000000000000000");

    /* Formatting then parsing gives the value back. */
    sh_test_rng_seed(42);
    for (int i = 0; i < 10000; i++) {
        uint64_t v = sh_test_rng_next() >> sh_test_rng_below(64), back = 0;
        char dst[20];
        size_t n = sh_fmt_u64(dst, v);
        assert_int_equal(sh_parse_u64(dst, n, &back), 0);
        assert_true(back == v);
    }
}

/* ---- Error table, allocator hooks, version ----------------------------------------------- */

static void test_base_errno_table(void **state)
{
    static const struct {
        int code;
        const char *name;
        const char *text;
    } table[] = {
#define ROW(name, value, text) {SSEHUB_##name, #name, text},
        SSEHUB_ERRNO_MAP(ROW)
#undef ROW
    };
    static const int unknown[] = {0, 1, -1, 4000, -3999, -4001, INT_MIN, INT_MAX};
    const size_t n = sizeof(table) / sizeof(table[0]);

    (void)state;
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        assert_true(table[i].code < 0);
        assert_string_equal(ssehub_strerror(table[i].code), table[i].text);
        assert_string_equal(ssehub_err_name(table[i].code), table[i].name);
        assert_true(strlen(table[i].text) > 0);
        for (size_t j = i + 1; j < n; j++)
            assert_true(table[i].code != table[j].code);
    }
    assert_string_equal(ssehub_err_name(SSEHUB_ENOMEM), "ENOMEM");
    assert_string_equal(ssehub_strerror(SSEHUB_ENOMEM), "out of memory");
    assert_int_equal(SSEHUB_EBADSTATE, -4000);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(ssehub_strerror(unknown[i]), "unknown error");
        assert_string_equal(ssehub_err_name(unknown[i]), "UNKNOWN");
    }
}

static void test_base_alloc_replace_rejects_null(void **state)
{
    static const char zero[32];
    void *p;

    (void)state;
    assert_int_equal(ssehub_replace_allocator(NULL, realloc, calloc, free), SSEHUB_EINVAL);
    assert_int_equal(ssehub_replace_allocator(malloc, NULL, calloc, free), SSEHUB_EINVAL);
    assert_int_equal(ssehub_replace_allocator(malloc, realloc, NULL, free), SSEHUB_EINVAL);
    assert_int_equal(ssehub_replace_allocator(malloc, realloc, calloc, NULL), SSEHUB_EINVAL);
    assert_int_equal(ssehub_replace_allocator(NULL, NULL, NULL, NULL), SSEHUB_EINVAL);

    /* A rejected call leaves the installed allocator in place. */
    sh_failalloc_install();
    assert_int_equal(ssehub_replace_allocator(malloc, realloc, calloc, NULL), SSEHUB_EINVAL);
    p = sh_malloc(16);
    assert_non_null(p);
    assert_int_equal(sh_failalloc_live(), 1);
    p = sh_realloc(p, 32);
    assert_non_null(p);
    assert_int_equal(sh_failalloc_live_bytes(), 32);
    sh_free(p);
    sh_free(NULL);
    p = sh_calloc(4, 8);
    assert_non_null(p);
    assert_memory_equal(p, zero, sizeof(zero));
    sh_free(p);
    /* sh_strndup: a NUL-terminated copy of exactly |len| bytes, through the hooks. */
    p = sh_strndup("topicXYZ", 5);
    assert_non_null(p);
    assert_string_equal(p, "topic");
    assert_int_equal(sh_failalloc_live_bytes(), 6);
    sh_free(p);
    p = sh_strndup(NULL, 0);
    assert_non_null(p);
    assert_string_equal(p, "");
    sh_free(p);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_base_version_string(void **state)
{
    char want[32];

    (void)state;
    assert_string_equal(ssehub_version_string(), SSEHUB_VERSION_STRING);
    snprintf(want, sizeof(want), "%d.%d.%d", SSEHUB_VERSION_MAJOR, SSEHUB_VERSION_MINOR,
             SSEHUB_VERSION_PATCH);
    assert_string_equal(ssehub_version_string(), want);
}

/* ---- rcbuf ------------------------------------------------------------------------------ */

static void test_base_rcbuf_lifecycle(void **state)
{
    ssehub_rcbuf_t *b = NULL, *z = NULL;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(ssehub_rcbuf_new(5, &b), 0);
    assert_non_null(b);
    assert_int_equal(ssehub_rcbuf_len(b), 5);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1);
    assert_int_equal((uintptr_t)ssehub_rcbuf_data(b) % alignof(max_align_t), 0);
    memcpy(ssehub_rcbuf_data(b), "hello", 5);
    assert_ptr_equal(ssehub_rcbuf_ref(b), b);
    assert_int_equal(ssehub_rcbuf_refcount(b), 2);
    ssehub_rcbuf_unref(b);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1);
    assert_memory_equal(ssehub_rcbuf_data(b), "hello", 5);
    assert_int_equal(sh_failalloc_live(), 1);
    ssehub_rcbuf_unref(b);
    assert_int_equal(sh_failalloc_live(), 0);
    ssehub_rcbuf_unref(NULL);

    assert_int_equal(ssehub_rcbuf_new(0, &z), 0);
    assert_int_equal(ssehub_rcbuf_len(z), 0);
    ssehub_rcbuf_unref(z);

    /* Out of memory, and a size that cannot be allocated: ENOMEM, NULL, nothing live. */
    b = (ssehub_rcbuf_t *)&b;
    sh_failalloc_fail_after(0);
    assert_int_equal(ssehub_rcbuf_new(5, &b), SSEHUB_ENOMEM);
    assert_null(b);
    sh_failalloc_fail_after(-1);
    b = (ssehub_rcbuf_t *)&b;
    assert_int_equal(ssehub_rcbuf_new(SIZE_MAX, &b), SSEHUB_ENOMEM);
    assert_null(b);
    b = (ssehub_rcbuf_t *)&b;
    assert_int_equal(ssehub_rcbuf_new(SIZE_MAX - 8, &b), SSEHUB_ENOMEM);
    assert_null(b);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

#define RC_THREADS 4

/* Takes and drops references in bursts and in pairs; every reference taken is dropped. */
static void *rcbuf_worker(void *arg)
{
    ssehub_rcbuf_t *b = arg;
    ssehub_rcbuf_t *held[64];

    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < 64; i++)
            held[i] = ssehub_rcbuf_ref(b);
        for (size_t i = 0; i < 64; i++)
            ssehub_rcbuf_unref(held[i]);
    }
    for (int i = 0; i < 100000; i++)
        ssehub_rcbuf_unref(ssehub_rcbuf_ref(b));
    return NULL;
}

/* Drops the one reference it was handed, after some churn: the last one frees. */
static void *rcbuf_last_owner(void *arg)
{
    rcbuf_worker(arg);
    ssehub_rcbuf_unref(arg);
    return NULL;
}

static void test_base_rcbuf_concurrent_ref_unref(void **state)
{
    pthread_t threads[RC_THREADS];
    ssehub_rcbuf_t *b;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(ssehub_rcbuf_new(4, &b), 0);
    memcpy(ssehub_rcbuf_data(b), "data", 4);

    for (int i = 0; i < RC_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, rcbuf_worker, b), 0);
    for (int i = 0; i < RC_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1);
    assert_memory_equal(ssehub_rcbuf_data(b), "data", 4);

    /* Hand one reference to each thread and drop ours: whichever finishes last frees. */
    for (int i = 0; i < RC_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, rcbuf_last_owner, ssehub_rcbuf_ref(b)),
                         0);
    ssehub_rcbuf_unref(b);
    for (int i = 0; i < RC_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_buf_init_append_take_dispose),
        cmocka_unit_test(test_base_buf_reserve),
        cmocka_unit_test(test_base_buf_append_zero_bytes),
        cmocka_unit_test(test_base_buf_append_past_max_unchanged),
        cmocka_unit_test(test_base_buf_cap_never_exceeds_max),
        cmocka_unit_test(test_base_buf_oom_unchanged),
        cmocka_unit_test(test_base_utf8_edge_cases),
        cmocka_unit_test(test_base_utf8_random_against_reference),
        cmocka_unit_test(test_base_utf8_sanitized_e2big_unchanged),
        cmocka_unit_test(test_base_utf8_sanitized_enomem_unchanged),
        cmocka_unit_test(test_base_json_quotes_and_backslash),
        cmocka_unit_test(test_base_json_control_bytes),
        cmocka_unit_test(test_base_json_raw_bytes_pass_through),
        cmocka_unit_test(test_base_json_e2big_unchanged),
        cmocka_unit_test(test_base_str_parse_u64_valid),
        cmocka_unit_test(test_base_str_parse_u64_invalid),
        cmocka_unit_test(test_base_str_fmt_u64),
        cmocka_unit_test(test_base_errno_table),
        cmocka_unit_test(test_base_alloc_replace_rejects_null),
        cmocka_unit_test(test_base_version_string),
        cmocka_unit_test(test_base_rcbuf_lifecycle),
        cmocka_unit_test(test_base_rcbuf_concurrent_ref_unref),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
