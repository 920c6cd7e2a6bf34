/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/server/reqsyntax.c, the RFC 9112 checks beside llhttp: the framing
 * scanner (whole heads, and the same bytes fed one at a time), Host values, request-target
 * forms and Transfer-Encoding lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/reqsyntax.h"

/* Scans |s| as a request head (all of it at once, or |step| bytes at a time) until the end
 * of the header section: 0 when it got there, -1 on a framing error (|*reason| set). */
static int scan_head(const char *s, size_t step, const char **reason)
{
    sh_frame_t f;
    const char *p = s, *end = s + strlen(s);

    memset(&f, 0, sizeof(f));
    *reason = NULL;
    while (p < end && f.state != SH_FRAME_HEAD_END) {
        const char *stop = step == 0 || (size_t)(end - p) < step ? end : p + step;
        const char *q = sh_frame_scan(&f, p, stop, SH_FRAME_HEAD_END, reason);

        if (q == NULL)
            return -1;
        if (q == p && q < stop)
            break;
        p = q;
    }
    return f.state == SH_FRAME_HEAD_END && p == end ? 0 : -2;
}

static void assert_head(const char *s, int want)
{
    size_t steps[] = {0, 1, 2, 3, 7};
    size_t i;
    const char *reason;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int got = scan_head(s, steps[i], &reason);

        if (got != want)
            fail_msg("%s (step %zu): got %d (%s), want %d", s, steps[i], got, reason ? reason : "-",
                     want);
    }
}

static void test_frame_good(void **state)
{
    (void)state;
    assert_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    assert_head("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0); /* empty lines first */
    assert_head("GET / HTTP/1.0\r\n\r\n", 0);
    assert_head("GET /?a=b%20c HTTP/1.1\r\nHost: a\r\nX:\r\nY: \t v \t\r\n\r\n", 0);
    assert_head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0);
}

static void test_frame_bad(void **state)
{
    (void)state;
    assert_head("GET / HTTP/1.1\nHost: a\r\n\r\n", -1);       /* bare LF */
    assert_head("GET / HTTP/1.1\r\nHost: a\r\n\n", -1);       /* bare LF ending the head */
    assert_head("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", -1);   /* bare LF before */
    assert_head("GET / HTTP/1.1\rHost: a\r\n\r\n", -1);       /* bare CR */
    assert_head("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -1);    /* two spaces */
    assert_head("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", -1);    /* two spaces */
    assert_head("GET /\r\nHost: a\r\n\r\n", -1);              /* HTTP/0.9 */
    assert_head(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", -1);    /* leading space */
    assert_head("GET / HTTP/1.1\r\n Host: a\r\n\r\n", -1);    /* space before the first */
    assert_head("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", -1);  /* obs-fold */
    assert_head("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", -1); /* obs-fold with HTAB */
    assert_head("GET / HTTP/1.1\r\n: a\r\n\r\n", -1);         /* empty name */
}

static void test_frame_chunks(void **state)
{
    sh_frame_t f;
    const char *reason = NULL;
    const char *s = "\r\n5;a=b\r\n", *p;

    (void)state;
    memset(&f, 0, sizeof(f));
    sh_frame_set(&f, SH_FRAME_CHUNK_DATA); /* after the data of a chunk */
    p = sh_frame_scan(&f, s, s + strlen(s), SH_FRAME_CHUNK_LINE, &reason);
    assert_ptr_equal(p, s + 2);
    p = sh_frame_scan(&f, p, s + strlen(s), SH_FRAME_CHUNK_LINE_END, &reason);
    assert_ptr_equal(p, s + strlen(s));
    /* Anything but CRLF after chunk data. */
    sh_frame_set(&f, SH_FRAME_CHUNK_DATA);
    s = "XX\r\n";
    assert_null(sh_frame_scan(&f, s, s + 4, -1, &reason));
    assert_non_null(reason);
    /* The trailer section: fields, then an empty line; a bare LF refused. */
    sh_frame_set(&f, SH_FRAME_TRAILERS);
    s = "X: y\r\n\r\n";
    assert_ptr_equal(sh_frame_scan(&f, s, s + strlen(s), SH_FRAME_TRAILERS_END, &reason),
                     s + strlen(s));
    sh_frame_set(&f, SH_FRAME_TRAILERS);
    s = "\n";
    assert_null(sh_frame_scan(&f, s, s + 1, SH_FRAME_TRAILERS_END, &reason));
    /* Body bytes are never the scanner's. */
    sh_frame_set(&f, SH_FRAME_BODY);
    s = "a";
    assert_null(sh_frame_scan(&f, s, s + 1, -1, &reason));
}

static void test_method_and_version_flags(void **state)
{
    sh_frame_t f;
    const char *reason = NULL, *s;

    (void)state;
    memset(&f, 0, sizeof(f));
    s = "FOO / HTTP/1.1\r\n";
    assert_non_null(sh_frame_scan(&f, s, s + strlen(s), SH_FRAME_HEAD, &reason));
    assert_int_equal(f.state, SH_FRAME_HEAD);
    assert_int_equal(f.method_bad, 0);
    assert_int_equal(f.version_bad, 0);
    memset(&f, 0, sizeof(f));
    s = "F@O / HTTP/1.1\r\n";
    assert_non_null(sh_frame_scan(&f, s, s + strlen(s), SH_FRAME_HEAD, &reason));
    assert_int_equal(f.method_bad, 1);
    memset(&f, 0, sizeof(f));
    s = "FOO / HTTP/1.10\r\n";
    assert_non_null(sh_frame_scan(&f, s, s + strlen(s), SH_FRAME_HEAD, &reason));
    assert_int_equal(f.version_bad, 1);
    memset(&f, 0, sizeof(f));
    s = "FOO / XTTP/1.1\r\n";
    assert_non_null(sh_frame_scan(&f, s, s + strlen(s), SH_FRAME_HEAD, &reason));
    assert_int_equal(f.version_bad, 1);
}

static void test_host(void **state)
{
    static const char *good[] = {
        "",         "a",  "a.example:8080", "  a  ",      "127.0.0.1",       "[::1]",
        "[::1]:80", "a:", "%41b",           "xn--d-0a.b", "a_b~c!$&'()*+,;="};
    static const char *bad[] = {"a b", "a@b", "a:b", "a:80:90", "[::1", "[]",    "[::1]x", "a/b",
                                ":80", "%4",  "%zz", "a?",      "a#",   "\"a\"", "a\\b",   "[a b]"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!sh_host_valid(good[i], strlen(good[i])))
            fail_msg("Host %s refused", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sh_host_valid(bad[i], strlen(bad[i])))
            fail_msg("Host %s accepted", bad[i]);
}

static void test_target(void **state)
{
    static const char *good[] = {"/",
                                 "/a?b=c",
                                 "//a",
                                 "http://a/b",
                                 "HTTPS://a:443/?x",
                                 "http://a",
                                 "http://a?q",
                                 "http://[::1]:8080/x"};
    static const char *bad[] = {"",          "*x",           "/a#b", "ftp://a/", "http://u@a/",
                                "http:///x", "http://:80/x", "a:80", "http:/a",  "http://a b/"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (sh_target_check(good[i], strlen(good[i]), 0) != NULL)
            fail_msg("target %s refused", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sh_target_check(bad[i], strlen(bad[i]), 0) == NULL)
            fail_msg("target %s accepted", bad[i]);
    assert_null(sh_target_check("*", 1, 1));
    assert_non_null(sh_target_check("*", 1, 0));
}

static sh_te_t te_of(const char *a, const char *b)
{
    sh_te_t te;

    memset(&te, 0, sizeof(te));
    sh_te_add(&te, a, strlen(a));
    if (b != NULL)
        sh_te_add(&te, b, strlen(b));
    return te;
}

static void test_te(void **state)
{
    sh_te_t te;

    (void)state;
    te = te_of("chunked", NULL);
    assert_true(te.codings == 1 && te.chunked == 1 && !te.other && te.last_chunked);
    te = te_of(" , ChUnKeD ,", NULL); /* empty elements, case, OWS */
    assert_true(te.codings == 1 && te.chunked == 1 && !te.other && te.last_chunked);
    te = te_of("gzip, chunked", NULL);
    assert_true(te.codings == 2 && te.other && te.last_chunked);
    te = te_of("chunked", "gzip");
    assert_true(te.chunked == 1 && te.other && !te.last_chunked);
    te = te_of("chunked", "chunked");
    assert_true(te.chunked == 2 && te.last_chunked);
    te = te_of("", NULL);
    assert_int_equal(te.codings, 0);
    te = te_of("chunked;x=1", NULL);
    assert_true(te.other && !te.last_chunked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_good),   cmocka_unit_test(test_frame_bad),
        cmocka_unit_test(test_frame_chunks), cmocka_unit_test(test_method_and_version_flags),
        cmocka_unit_test(test_host),         cmocka_unit_test(test_target),
        cmocka_unit_test(test_te),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
