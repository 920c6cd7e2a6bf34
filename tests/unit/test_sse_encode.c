/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the event-stream encoder (src/proto/sse_encode.c): exact wire bytes,
 * rejected fields, sizes and buffer limits, the reference-counted form, comments, and a
 * seeded round trip through the parser that checks the transcript it dispatches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ssehub/ssehub.h"
#include "support/testutil.h"
#include "support/failalloc.h"
#include "support/transcript.h"

#define S(lit) lit, sizeof(lit) - 1

/* Prints |len| bytes with C escapes, to show a failing input. */
static void print_bytes(const char *what, const char *s, size_t len)
{
    sh_test_text_t t = {0};
    char esc[8];

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            sh_test_text_put(&t, "\\n", 2);
        else if (c == '\r')
            sh_test_text_put(&t, "\\r", 2);
        else if (c == '\\')
            sh_test_text_put(&t, "\\\\", 2);
        else if (c < 0x20 || c >= 0x7F)
            sh_test_text_put(&t, esc, (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c));
        else
            sh_test_text_put(&t, s + i, 1);
    }
    sh_test_text_put(&t, "", 0);
    print_error("%s (%zu bytes): \"%s\"\n", what, len, t.s);
    sh_test_text_free(&t);
}

/* ---- Exact wire bytes ------------------------------------------------------------------ */

/*
 * Asserts that |ev| encodes to exactly |want|: by size, by ssehub_sse_encode() into a
 * buffer of exactly that size and into a larger one (nothing written past the end), and
 * by ssehub_sse_encode_rcbuf(); and that one byte less of room is SSEHUB_ENOBUFS.
 */
static void assert_encodes(const ssehub_sse_event_t *ev, const char *want, size_t want_len)
{
    ssehub_rcbuf_t *rb = NULL;
    size_t len = 0;
    char *buf, *big;

    assert_int_equal(ssehub_sse_encoded_len(ev, &len), 0);
    assert_int_equal(len, want_len);

    buf = malloc(want_len);
    assert_non_null(buf);
    assert_int_equal(ssehub_sse_encode(ev, buf, want_len), (ssize_t)want_len);
    if (memcmp(buf, want, want_len) != 0) {
        print_bytes("got", buf, want_len);
        print_bytes("want", want, want_len);
    }
    assert_memory_equal(buf, want, want_len);
    assert_int_equal(ssehub_sse_encode(ev, buf, want_len - 1), SSEHUB_ENOBUFS);
    assert_int_equal(ssehub_sse_encode(ev, buf, 0), SSEHUB_ENOBUFS);
    free(buf);

    big = malloc(want_len + 16);
    assert_non_null(big);
    memset(big, '#', want_len + 16);
    assert_int_equal(ssehub_sse_encode(ev, big, want_len + 16), (ssize_t)want_len);
    assert_memory_equal(big, want, want_len);
    for (size_t i = want_len; i < want_len + 16; i++)
        assert_int_equal(big[i], '#');
    free(big);

    assert_int_equal(ssehub_sse_encode_rcbuf(ev, &rb), 0);
    assert_non_null(rb);
    assert_int_equal(ssehub_rcbuf_len(rb), want_len);
    assert_int_equal(ssehub_rcbuf_refcount(rb), 1);
    assert_memory_equal(ssehub_rcbuf_data(rb), want, want_len);
    ssehub_rcbuf_unref(rb);
}

static void test_sse_encode_data_only(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    ev.data = "hello";
    ev.data_len = 5;
    assert_encodes(&ev, S("data: hello\n\n"));
    sh_test_assert_parse(S("data: hello\n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"hello\", \"id\": \"\"}\n");
}

static void test_sse_encode_all_fields_in_order(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    ev.id = "42";
    ev.id_len = 2;
    ev.type = "update";
    ev.type_len = 6;
    ev.retry = 3000;
    ev.has_retry = true;
    ev.data = "x";
    ev.data_len = 1;
    assert_encodes(&ev, S("id: 42\nevent: update\nretry: 3000\ndata: x\n\n"));

    /* Only |*_len| bytes count: the strings need no terminator. */
    ev.id = "12345";
    ev.id_len = 3;
    ev.type = "pingpong";
    ev.type_len = 4;
    ev.has_retry = false;
    ev.data = "abcdef";
    ev.data_len = 2;
    assert_encodes(&ev, S("id: 123\nevent: ping\ndata: ab\n\n"));

    /* Colons and spaces in values pass through. */
    ev.id = " a: b ";
    ev.id_len = 6;
    ev.type = ": t";
    ev.type_len = 3;
    ev.data = NULL;
    ev.data_len = 0;
    assert_encodes(&ev, S("id:  a: b \nevent: : t\n\n"));
}

static void test_sse_encode_data_split_on_line_breaks(void **state)
{
    static const struct {
        const char *data;
        size_t data_len;
        const char *want;
        size_t want_len;
    } cases[] = {
        {S("a\nb"), S("data: a\ndata: b\n\n")},
        {S("a\r\nb"), S("data: a\ndata: b\n\n")},
        {S("a\rb"), S("data: a\ndata: b\n\n")},
        {S("a\n\nb"), S("data: a\ndata: \ndata: b\n\n")},
        {S("a\r\r\nb"), S("data: a\ndata: \ndata: b\n\n")},
        {S("a\n\rb"), S("data: a\ndata: \ndata: b\n\n")},
        {S("a\r\rb"), S("data: a\ndata: \ndata: b\n\n")},
        {S("a\r\n\r\nb"), S("data: a\ndata: \ndata: b\n\n")},
        {S("\nb"), S("data: \ndata: b\n\n")},
        {S("\r\n"), S("data: \ndata: \n\n")},
        {S("\r"), S("data: \ndata: \n\n")},
        {S("\n"), S("data: \ndata: \n\n")},
        {S("one\ntwo\r\nthree\rfour"), S("data: one\ndata: two\ndata: three\ndata: four\n\n")},
        {S("  x"), S("data:   x\n\n")},
        {S(" "), S("data:  \n\n")},
        {S("a\n  b"), S("data: a\ndata:   b\n\n")},
        {S(":x"), S("data: :x\n\n")},
        {S("data: x"), S("data: data: x\n\n")},
    };
    ssehub_sse_event_t ev = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ev.data = cases[i].data;
        ev.data_len = cases[i].data_len;
        assert_encodes(&ev, cases[i].want, cases[i].want_len);
    }

    /* Leading spaces survive the parser too, and line breaks come back as LF. */
    sh_test_assert_parse(S("data:   x\n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"  x\", \"id\": \"\"}\n");
    sh_test_assert_parse(S("data: one\ndata: two\ndata: three\ndata: four\n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"one\\ntwo\\nthree\\nfour\", "
                         "\"id\": \"\"}\n");
}

static void test_sse_encode_trailing_newline_gives_empty_line(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    ev.data = "a\n";
    ev.data_len = 2;
    assert_encodes(&ev, S("data: a\ndata: \n\n"));
    ev.data = "a\r\n";
    ev.data_len = 3;
    assert_encodes(&ev, S("data: a\ndata: \n\n"));
    ev.data = "a\r";
    ev.data_len = 2;
    assert_encodes(&ev, S("data: a\ndata: \n\n"));
    ev.data = "a\n\n";
    ev.data_len = 3;
    assert_encodes(&ev, S("data: a\ndata: \ndata: \n\n"));
    /* The parser gives the trailing newline back. */
    sh_test_assert_parse(S("data: a\ndata: \n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"a\\n\", \"id\": \"\"}\n");
}

static void test_sse_encode_empty_and_missing_data(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    /* Empty data is one empty data line, and dispatches an event with empty data. */
    ev.data = "";
    ev.data_len = 0;
    assert_encodes(&ev, S("data: \n\n"));
    sh_test_assert_parse(S("data: \n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"\", \"id\": \"\"}\n");

    /* NULL data writes no data line at all. */
    ev.data = NULL;
    ev.id = "7";
    ev.id_len = 1;
    assert_encodes(&ev, S("id: 7\n\n"));
    ev.id = NULL;
    ev.id_len = 0;
    ev.type = "t";
    ev.type_len = 1;
    assert_encodes(&ev, S("event: t\n\n"));
    sh_test_assert_parse(S("event: t\n\n"), 0, "");
}

static void test_sse_encode_nothing_is_blank_line(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    assert_encodes(&ev, S("\n"));
    /* Lengths alone do not make a field: only non-NULL pointers do. */
    ev.id_len = 3;
    ev.type_len = 3;
    ev.data_len = 3;
    assert_encodes(&ev, S("\n"));
}

static void test_sse_encode_retry_extremes(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    ev.has_retry = true;
    ev.retry = 0;
    assert_encodes(&ev, S("retry: 0\n\n"));
    ev.retry = 9;
    assert_encodes(&ev, S("retry: 9\n\n"));
    ev.retry = 10;
    assert_encodes(&ev, S("retry: 10\n\n"));
    ev.retry = UINT64_MAX;
    assert_encodes(&ev, S("retry: 18446744073709551615\n\n"));
    sh_test_assert_parse(S("retry: 18446744073709551615\n\n"), 0,
                         "{\"retry\": 18446744073709551615}\n");
    /* A retry value given without has_retry is not written. */
    ev.has_retry = false;
    assert_encodes(&ev, S("\n"));
}

static void test_sse_encode_nul_in_data_passes_through(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    ev.data = "a\0b";
    ev.data_len = 3;
    assert_encodes(&ev, S("data: a\0b\n\n"));
    ev.data = "\0";
    ev.data_len = 1;
    assert_encodes(&ev, S("data: \0\n\n"));
    sh_test_assert_parse(S("data: a\0b\n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"a\\u0000b\", \"id\": \"\"}\n");
}

static void test_sse_encode_empty_id_and_type(void **state)
{
    ssehub_sse_event_t ev = {0};

    (void)state;
    /* A non-NULL pointer of length 0 is an empty field, whatever the bytes it points at. */
    ev.id = "";
    ev.id_len = 0;
    assert_encodes(&ev, S("id: \n\n"));
    ev.id = "\n";
    assert_encodes(&ev, S("id: \n\n"));
    ev.id = "\r";
    assert_encodes(&ev, S("id: \n\n"));
    ev.id = "\0";
    assert_encodes(&ev, S("id: \n\n"));
    ev.id = NULL;
    ev.type = "\n";
    ev.type_len = 0;
    assert_encodes(&ev, S("event: \n\n"));

    /* A breaker just past |len| does not count either. */
    ev.type = NULL;
    ev.id = "ab\n";
    ev.id_len = 2;
    ev.data = "d";
    ev.data_len = 1;
    assert_encodes(&ev, S("id: ab\ndata: d\n\n"));

    /* An empty id resets the last event ID; an empty type means "message". */
    sh_test_assert_parse(S("id: 1\ndata: a\n\nid: \nevent: \ndata: b\n\n"), 0,
                         "{\"event\": \"message\", \"data\": \"a\", \"id\": \"1\"}\n"
                         "{\"event\": \"message\", \"data\": \"b\", \"id\": \"\"}\n");
}

/* ---- Rejected fields ------------------------------------------------------------------- */

/* Asserts that every encoder entry point rejects |ev| with SSEHUB_EINVAL. */
static void assert_rejected(const ssehub_sse_event_t *ev)
{
    ssehub_rcbuf_t *rb = (ssehub_rcbuf_t *)&rb;
    char buf[256];
    size_t len = 0;

    assert_int_equal(ssehub_sse_encoded_len(ev, &len), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_encode(ev, buf, sizeof(buf)), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_encode_rcbuf(ev, &rb), SSEHUB_EINVAL);
    assert_null(rb);
}

static void test_sse_encode_rejects_line_breakers(void **state)
{
    static const char breakers[] = {'\r', '\n', '\0'};
    ssehub_sse_event_t ev = {0};

    (void)state;
    sh_failalloc_install();
    for (size_t i = 0; i < sizeof(breakers); i++) {
        /* The breaker first, in the middle, last, and alone. */
        for (size_t at = 0; at < 4; at++) {
            char s[3] = {'a', 'b', 'c'};
            size_t len = at < 3 ? 3 : 1, enc_len;

            s[at < 3 ? at : 0] = breakers[i];
            memset(&ev, 0, sizeof(ev));
            ev.id = s;
            ev.id_len = len;
            assert_rejected(&ev);
            ev.data = "ok";
            ev.data_len = 2;
            ev.type = "t";
            ev.type_len = 1;
            ev.has_retry = true;
            assert_rejected(&ev);

            memset(&ev, 0, sizeof(ev));
            ev.type = s;
            ev.type_len = len;
            assert_rejected(&ev);
            ev.id = "1";
            ev.id_len = 1;
            ev.data = "ok";
            ev.data_len = 2;
            assert_rejected(&ev);

            /* The same bytes in data are line breaks or plain bytes, never an error. */
            memset(&ev, 0, sizeof(ev));
            ev.data = s;
            ev.data_len = len;
            assert_int_equal(ssehub_sse_encoded_len(&ev, &enc_len), 0);
        }
    }
    /* Rejection allocates nothing. */
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- Sizes and buffer limits ----------------------------------------------------------- */

static void test_sse_encode_len_and_cap_limits(void **state)
{
    ssehub_sse_event_t ev = {0};
    size_t len = 0;
    char *buf;

    (void)state;
    ev.id = "abc";
    ev.id_len = 3;
    ev.type = "tick";
    ev.type_len = 4;
    ev.has_retry = true;
    ev.retry = 12345;
    ev.data = "line1\r\nline2\rline3\n";
    ev.data_len = 19;
    assert_int_equal(ssehub_sse_encoded_len(&ev, &len), 0);
    assert_int_equal(len, strlen("id: abc\nevent: tick\nretry: 12345\ndata: line1\ndata: line2\n"
                                 "data: line3\ndata: \n\n"));

    /* Every capacity below the size fails, the size itself and more succeed. */
    for (size_t cap = 0; cap < len; cap++) {
        buf = malloc(cap != 0 ? cap : 1);
        assert_non_null(buf);
        assert_int_equal(ssehub_sse_encode(&ev, buf, cap), SSEHUB_ENOBUFS);
        free(buf);
    }
    buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(ssehub_sse_encode(&ev, buf, len), (ssize_t)len);
    free(buf);

    /* A long run of lone CRs: one data line each, sized exactly. */
    {
        enum { N = 10000 };
        char *data = malloc(N);
        assert_non_null(data);
        memset(data, '\r', N);
        memset(&ev, 0, sizeof(ev));
        ev.data = data;
        ev.data_len = N;
        assert_int_equal(ssehub_sse_encoded_len(&ev, &len), 0);
        assert_int_equal(len, (N + 1) * 7 + 1);
        buf = malloc(len);
        assert_non_null(buf);
        assert_int_equal(ssehub_sse_encode(&ev, buf, len), (ssize_t)len);
        for (size_t i = 0; i < N + 1; i++)
            assert_memory_equal(buf + i * 7, "data: \n", 7);
        assert_int_equal(buf[len - 1], '\n');
        free(buf);
        free(data);
    }
}

/* ---- Reference-counted form ------------------------------------------------------------ */

static void test_sse_encode_rcbuf(void **state)
{
    ssehub_sse_event_t ev = {0};
    ssehub_rcbuf_t *rb = NULL;
    char buf[128];
    ssize_t n;

    (void)state;
    sh_failalloc_install();
    ev.id = "9";
    ev.id_len = 1;
    ev.data = "a\nb";
    ev.data_len = 3;
    n = ssehub_sse_encode(&ev, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(ssehub_sse_encode_rcbuf(&ev, &rb), 0);
    assert_non_null(rb);
    assert_int_equal(ssehub_rcbuf_len(rb), (size_t)n);
    assert_memory_equal(ssehub_rcbuf_data(rb), buf, (size_t)n);
    assert_int_equal(ssehub_rcbuf_refcount(rb), 1);
    assert_int_equal(sh_failalloc_live(), 1);

    assert_ptr_equal(ssehub_rcbuf_ref(rb), rb);
    assert_ptr_equal(ssehub_rcbuf_ref(rb), rb);
    assert_int_equal(ssehub_rcbuf_refcount(rb), 3);
    ssehub_rcbuf_unref(rb);
    assert_int_equal(ssehub_rcbuf_refcount(rb), 2);
    ssehub_rcbuf_unref(rb);
    assert_int_equal(ssehub_rcbuf_refcount(rb), 1);
    assert_memory_equal(ssehub_rcbuf_data(rb), buf, (size_t)n);
    ssehub_rcbuf_unref(rb);
    assert_int_equal(sh_failalloc_live(), 0);
    ssehub_rcbuf_unref(NULL);

    /* The empty event is a one-byte buffer. */
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(ssehub_sse_encode_rcbuf(&ev, &rb), 0);
    assert_int_equal(ssehub_rcbuf_len(rb), 1);
    assert_memory_equal(ssehub_rcbuf_data(rb), "\n", 1);
    ssehub_rcbuf_unref(rb);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_sse_encode_rcbuf_oom(void **state)
{
    ssehub_sse_event_t ev = {0};
    ssehub_rcbuf_t *rb;
    long budget;

    (void)state;
    ev.type = "t";
    ev.type_len = 1;
    ev.data = "payload";
    ev.data_len = 7;
    sh_failalloc_install();
    rb = (ssehub_rcbuf_t *)&rb;
    sh_failalloc_fail_after(0);
    assert_int_equal(ssehub_sse_encode_rcbuf(&ev, &rb), SSEHUB_ENOMEM);
    assert_null(rb);
    assert_int_equal(sh_failalloc_live(), 0);

    /* Raise the budget until it succeeds: every failure is ENOMEM with nothing live. */
    for (budget = 0;; budget++) {
        int rc;

        sh_failalloc_fail_after(budget);
        rb = (ssehub_rcbuf_t *)&rb;
        rc = ssehub_sse_encode_rcbuf(&ev, &rb);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_null(rb);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    assert_int_equal(budget, 1);
    assert_memory_equal(ssehub_rcbuf_data(rb), "event: t\ndata: payload\n\n", 24);
    ssehub_rcbuf_unref(rb);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- Comments -------------------------------------------------------------------------- */

/* Asserts that |text| encodes to the comment |want|, and that no smaller buffer will do. */
static void assert_comment(const char *text, size_t len, const char *want, size_t want_len)
{
    char *buf;

    for (size_t cap = 0; cap < want_len; cap++) {
        buf = malloc(cap != 0 ? cap : 1);
        assert_non_null(buf);
        assert_int_equal(ssehub_sse_encode_comment(text, len, buf, cap), SSEHUB_ENOBUFS);
        free(buf);
    }
    buf = malloc(want_len);
    assert_non_null(buf);
    assert_int_equal(ssehub_sse_encode_comment(text, len, buf, want_len), (ssize_t)want_len);
    if (memcmp(buf, want, want_len) != 0) {
        print_bytes("got", buf, want_len);
        print_bytes("want", want, want_len);
    }
    assert_memory_equal(buf, want, want_len);
    free(buf);

    /* Comments dispatch nothing, alone or between the lines of an event. */
    sh_test_assert_parse(want, want_len, 0, "");
    {
        sh_test_text_t t = {0};
        sh_test_text_str(&t, "data: a\n");
        sh_test_text_put(&t, want, want_len);
        sh_test_text_str(&t, "data: b\n\n");
        sh_test_text_put(&t, want, want_len);
        sh_test_text_str(&t, "\n");
        sh_test_assert_parse(t.s, t.len, 0,
                             "{\"event\": \"message\", \"data\": \"a\\nb\", \"id\": \"\"}\n");
        sh_test_text_free(&t);
    }
}

static void test_sse_encode_comment(void **state)
{
    (void)state;
    assert_comment(S(""), S(":\n"));
    assert_comment(S("ping"), S(": ping\n"));
    assert_comment(S("a\nb"), S(": a\n: b\n"));
    assert_comment(S("a\r\n\rb"), S(": a\n:\n: b\n"));
    assert_comment(S("a\n"), S(": a\n:\n"));
    assert_comment(S("\r\n"), S(":\n:\n"));
    assert_comment(S("  x"), S(":   x\n"));
    /* Field-like text stays inside the comment. */
    assert_comment(S("data: x\n\nevent: y"), S(": data: x\n:\n: event: y\n"));
    assert_comment(S("x\0y"), S(": x\0y\n"));
    /* Only |len| bytes count. */
    assert_comment("pingpong", 4, S(": ping\n"));
}

/* ---- Round trip through the parser ----------------------------------------------------- */

typedef struct token_s {
    const char *s;
    size_t len;
} token_t;

#define TOKEN(lit)           \
    {                        \
        lit, sizeof(lit) - 1 \
    }

/* Field bytes: ASCII with space and colon, and valid UTF-8; never CR, LF or NUL. */
#define FIELD_TOKENS                                                                           \
    TOKEN("a"), TOKEN("Z"), TOKEN("0"), TOKEN("9"), TOKEN(" "), TOKEN(":"), TOKEN("-"),        \
        TOKEN("_"), TOKEN("id"), TOKEN("\t"), TOKEN("\x7F"), TOKEN("\"\\"), TOKEN("\xC3\xA9"), \
        TOKEN("\xC2\x80"), TOKEN("\xDF\xBF"), TOKEN("\xE2\x82\xAC"), TOKEN("\xEF\xBF\xBF"),    \
        TOKEN("\xEF\xBB\xBF"), TOKEN("\xED\x9F\xBF"), TOKEN("\xF0\x9F\x98\x80"),               \
        TOKEN("\xF4\x8F\xBF\xBF")

static const token_t field_tokens[] = {FIELD_TOKENS};

/* Data bytes: the field alphabet plus every line break, NUL and field-like text. */
static const token_t data_tokens[] = {
    FIELD_TOKENS,   TOKEN("\r"),       TOKEN("\n"),       TOKEN("\r\n"),   TOKEN("\r"),
    TOKEN("\n"),    TOKEN("\0"),       TOKEN("  "),       TOKEN("data: "), TOKEN("data:"),
    TOKEN("id: 7"), TOKEN("event: x"), TOKEN("retry: 5"), TOKEN(": c"),    TOKEN("\n\n"),
    TOKEN("\r\r"),  TOKEN("\r\n\r\n"),
};

#define FIELD_MAX (8 * 4)  /* 8 field tokens of at most 4 bytes */
#define DATA_MAX  (24 * 8) /* 24 data tokens of at most 8 bytes */

/*
 * Fills |buf| with 1..|max_tokens| random tokens and returns it, or returns NULL (no
 * field) or an empty string now and then.
 */
static const char *random_field(char *buf, size_t *len, const token_t *tokens, size_t ntokens,
                                size_t max_tokens)
{
    size_t n;

    *len = 0;
    switch (sh_test_rng_below(10)) {
    case 0:
        return NULL;
    case 1:
        return buf;
    default:
        break;
    }
    n = 1 + sh_test_rng_below(max_tokens);
    for (size_t i = 0; i < n; i++) {
        const token_t *t = &tokens[sh_test_rng_below(ntokens)];
        memcpy(buf + *len, t->s, t->len);
        *len += t->len;
    }
    return buf;
}

typedef struct random_event_s {
    ssehub_sse_event_t ev;
    char id[FIELD_MAX];
    char type[FIELD_MAX];
    char data[DATA_MAX];
} random_event_t;

static void random_event(random_event_t *r)
{
    memset(&r->ev, 0, sizeof(r->ev));
    r->ev.id = random_field(r->id, &r->ev.id_len, field_tokens,
                            sizeof(field_tokens) / sizeof(field_tokens[0]), 8);
    r->ev.type = random_field(r->type, &r->ev.type_len, field_tokens,
                              sizeof(field_tokens) / sizeof(field_tokens[0]), 8);
    r->ev.data = random_field(r->data, &r->ev.data_len, data_tokens,
                              sizeof(data_tokens) / sizeof(data_tokens[0]), 24);
    r->ev.has_retry = sh_test_rng_below(4) == 0;
    switch (sh_test_rng_below(4)) {
    case 0:
        r->ev.retry = sh_test_rng_below(2) != 0 ? 0 : UINT64_MAX;
        break;
    case 1:
        r->ev.retry = sh_test_rng_below(100000);
        break;
    default:
        r->ev.retry = sh_test_rng_next() >> sh_test_rng_below(64);
        break;
    }
}

/* The last event ID as a stream of events leaves it. */
typedef struct last_id_s {
    char s[FIELD_MAX];
    size_t len;
} last_id_t;

/*
 * Appends to |want| what the parser should report for |ev|: a retry line when it has one,
 * then, when it has data, the event with its type ("message" when none or empty), its
 * data with CRLF and CR turned into LF, and the last event ID, which |last| tracks.
 */
static void expect_event(sh_test_text_t *want, const ssehub_sse_event_t *ev, last_id_t *last)
{
    if (ev->id != NULL) {
        memcpy(last->s, ev->id, ev->id_len);
        last->len = ev->id_len;
    }
    if (ev->has_retry) {
        char digits[32];
        sh_test_text_str(want, "{\"retry\": ");
        snprintf(digits, sizeof(digits), "%llu", (unsigned long long)ev->retry);
        sh_test_text_str(want, digits);
        sh_test_text_str(want, "}\n");
    }
    if (ev->data == NULL)
        return;
    {
        char data[DATA_MAX];
        size_t n = 0;

        for (size_t i = 0; i < ev->data_len; i++) {
            if (ev->data[i] == '\r') {
                data[n++] = '\n';
                if (i + 1 < ev->data_len && ev->data[i + 1] == '\n')
                    i++;
            } else {
                data[n++] = ev->data[i];
            }
        }
        sh_test_text_str(want, "{\"event\": ");
        if (ev->type != NULL && ev->type_len != 0)
            sh_test_text_json(want, ev->type, ev->type_len);
        else
            sh_test_text_json(want, "message", 7);
        sh_test_text_str(want, ", \"data\": ");
        sh_test_text_json(want, data, n);
        sh_test_text_str(want, ", \"id\": ");
        sh_test_text_json(want, last->s, last->len);
        sh_test_text_str(want, "}\n");
    }
}

/* Fills |cuts| with up to |max| distinct ascending offsets in 1..len-1; returns how many. */
static size_t random_cuts(size_t *cuts, size_t max, size_t len)
{
    size_t n, k = 0;

    if (len < 2)
        return 0;
    n = 1 + sh_test_rng_below(max);
    if (n > len - 1)
        n = len - 1;
    while (k < n) {
        size_t c = 1 + sh_test_rng_below(len - 1), i;
        for (i = 0; i < k && cuts[i] != c; i++)
            ;
        if (i < k)
            continue;
        /* Insertion keeps the cuts ascending. */
        for (i = k; i > 0 && cuts[i - 1] > c; i--)
            cuts[i] = cuts[i - 1];
        cuts[i] = c;
        k++;
    }
    return n;
}

static const uint64_t roundtrip_seed = UINT64_C(0x55E4B0B5EED20250);

/* Asserts the transcript of |in| cut at |cuts|; reports the seed and the case on mismatch. */
static void assert_transcript(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                              const char *want, size_t iter)
{
    char *got = sh_test_transcript(in, len, 0, cuts, ncuts);

    assert_non_null(got);
    if (strcmp(got, want) != 0) {
        print_error("round trip mismatch: seed 0x%016llx, case %zu, %zu cuts\n",
                    (unsigned long long)roundtrip_seed, iter, ncuts);
        for (size_t i = 0; i < ncuts; i++)
            print_error("  cut at %zu\n", cuts[i]);
        if (len <= 4096)
            print_bytes("stream", in, len);
    }
    assert_string_equal(got, want);
    free(got);
}

static void test_sse_encode_round_trip_random_events(void **state)
{
    random_event_t r;
    char buf[4096];

    (void)state;
    sh_test_rng_seed(roundtrip_seed);
    for (size_t iter = 0; iter < 20000; iter++) {
        last_id_t last = {{0}, 0};
        sh_test_text_t want = {0};
        ssehub_rcbuf_t *rb = NULL;
        size_t len = 0, cuts[3], ncuts;
        ssize_t n;

        random_event(&r);
        assert_int_equal(ssehub_sse_encoded_len(&r.ev, &len), 0);
        n = ssehub_sse_encode(&r.ev, buf, sizeof(buf));
        assert_int_equal(n, (ssize_t)len);
        assert_int_equal(ssehub_sse_encode(&r.ev, buf, len - 1), SSEHUB_ENOBUFS);
        assert_int_equal(ssehub_sse_encode_rcbuf(&r.ev, &rb), 0);
        assert_int_equal(ssehub_rcbuf_len(rb), len);
        assert_memory_equal(ssehub_rcbuf_data(rb), buf, len);
        ssehub_rcbuf_unref(rb);

        sh_test_text_put(&want, "", 0);
        expect_event(&want, &r.ev, &last);
        assert_transcript(buf, len, NULL, 0, want.s, iter);
        ncuts = random_cuts(cuts, 3, len);
        assert_transcript(buf, len, cuts, ncuts, want.s, iter);
        sh_test_text_free(&want);
    }
}

static void test_sse_encode_round_trip_concatenated_stream(void **state)
{
    random_event_t r;
    char buf[4096];

    (void)state;
    sh_test_rng_seed(roundtrip_seed ^ 1);
    for (size_t batch = 0; batch < 20; batch++) {
        last_id_t last = {{0}, 0};
        sh_test_text_t stream = {0}, want = {0};
        size_t cuts[32], ncuts, events = 200 + sh_test_rng_below(200);

        sh_test_text_put(&stream, "", 0);
        sh_test_text_put(&want, "", 0);
        for (size_t i = 0; i < events; i++) {
            ssize_t n;

            random_event(&r);
            n = ssehub_sse_encode(&r.ev, buf, sizeof(buf));
            assert_true(n > 0);
            sh_test_text_put(&stream, buf, (size_t)n);
            expect_event(&want, &r.ev, &last);
        }
        assert_transcript(stream.s, stream.len, NULL, 0, want.s, batch);
        for (int k = 0; k < 4; k++) {
            ncuts = random_cuts(cuts, k == 0 ? 3 : 32, stream.len);
            assert_transcript(stream.s, stream.len, cuts, ncuts, want.s, batch);
        }
        if (batch == 0) {
            char *got = sh_test_transcript_bytewise(stream.s, stream.len, 0);
            assert_non_null(got);
            assert_string_equal(got, want.s);
            free(got);
        }
        sh_test_text_free(&stream);
        sh_test_text_free(&want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_encode_data_only),
        cmocka_unit_test(test_sse_encode_all_fields_in_order),
        cmocka_unit_test(test_sse_encode_data_split_on_line_breaks),
        cmocka_unit_test(test_sse_encode_trailing_newline_gives_empty_line),
        cmocka_unit_test(test_sse_encode_empty_and_missing_data),
        cmocka_unit_test(test_sse_encode_nothing_is_blank_line),
        cmocka_unit_test(test_sse_encode_retry_extremes),
        cmocka_unit_test(test_sse_encode_nul_in_data_passes_through),
        cmocka_unit_test(test_sse_encode_empty_id_and_type),
        cmocka_unit_test(test_sse_encode_rejects_line_breakers),
        cmocka_unit_test(test_sse_encode_len_and_cap_limits),
        cmocka_unit_test(test_sse_encode_rcbuf),
        cmocka_unit_test(test_sse_encode_rcbuf_oom),
        cmocka_unit_test(test_sse_encode_comment),
        cmocka_unit_test(test_sse_encode_round_trip_random_events),
        cmocka_unit_test(test_sse_encode_round_trip_concatenated_stream),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
