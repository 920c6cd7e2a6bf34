/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the client's pure parts: URLs (src/client/url.c) and the response reader
 * (src/client/resp.c): statuses, the headers the client acts on, identity, chunked and
 * until-close bodies, pipelined replies, informational responses, limits and errors.
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
#include "client/resp.h"
#include "client/url.h"
#include "support/failalloc.h"

static void expect_url(const char *in, const char *host, unsigned port, const char *target,
                       const char *authority, const char *href)
{
    sh_url_t u;
    int rc = sh_url_parse(in, strlen(in), &u);

    if (rc != 0)
        print_error("parse '%s': %d\n", in, rc);
    assert_int_equal(rc, 0);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.target, target);
    assert_string_equal(u.authority, authority);
    assert_string_equal(u.href, href);
    sh_url_dispose(&u);
}

static void expect_bad_url(const char *in)
{
    sh_url_t u;
    int rc = sh_url_parse(in, strlen(in), &u);

    if (rc != SSEHUB_EINVAL)
        print_error("'%s' should be refused, rc %d\n", in, rc);
    assert_int_equal(rc, SSEHUB_EINVAL);
    assert_null(u.host);
}

static void test_url_parse(void **state)
{
    (void)state;
    expect_url("http://example.com", "example.com", 80, "/", "example.com", "http://example.com/");
    expect_url("HTTPS://Example.com:8443/a/b?x=1#frag", "Example.com", 8443, "/a/b?x=1",
               "Example.com:8443", "https://Example.com:8443/a/b?x=1");
    expect_url("http://127.0.0.1:80/events", "127.0.0.1", 80, "/events", "127.0.0.1",
               "http://127.0.0.1/events");
    expect_url("http://[::1]:9000/x", "::1", 9000, "/x", "[::1]:9000", "http://[::1]:9000/x");
    expect_url("https://[2001:db8::1]/", "2001:db8::1", 443, "/", "[2001:db8::1]",
               "https://[2001:db8::1]/");
    expect_url("http://h?topic=a b", "h", 80, "/?topic=a%20b", "h", "http://h/?topic=a%20b");
    expect_url("http://h/\xc3\xa9\x01", "h", 80, "/%C3%A9%01", "h", "http://h/%C3%A9%01");
    expect_url("http://h:/p", "h", 80, "/p", "h", "http://h/p");
    expect_bad_url("");
    expect_bad_url("ftp://h/");
    expect_bad_url("http://");
    expect_bad_url("http:///p");
    expect_bad_url("http://user:pw@h/");
    expect_bad_url("http://h:0/");
    expect_bad_url("http://h:65536/");
    expect_bad_url("http://h:12x/");
    expect_bad_url("http://[::1/");
    expect_bad_url("http://[]/");
    expect_bad_url("http://[::g]/");
    expect_bad_url("http://a b/");
    {
        sh_url_t u;
        assert_int_equal(sh_url_parse("http://h/\0x", 11, &u), SSEHUB_EINVAL);
        char *big = malloc(SH_URL_MAX + 2);
        memcpy(big, "http://h/", 9);
        memset(big + 9, 'a', SH_URL_MAX + 1 - 9);
        big[SH_URL_MAX + 1] = '\0';
        assert_int_equal(sh_url_parse(big, SH_URL_MAX + 1, &u), SSEHUB_EINVAL);
        /* Nor may the href (scheme, authority and target) pass it: "http://h/" then K
           letters and two spaces (each encoded in three bytes) give an href of K + 15. */
        memset(big + 9, 'a', SH_URL_MAX - 9);
        memcpy(big + 9 + SH_URL_MAX - 11, "  ", 2);
        assert_int_equal(sh_url_parse(big, SH_URL_MAX, &u), SSEHUB_EINVAL);
        memcpy(big + 9 + SH_URL_MAX - 15, "  ", 2);
        assert_int_equal(sh_url_parse(big, SH_URL_MAX - 4, &u), 0);
        assert_int_equal(strlen(u.href), SH_URL_MAX);
        sh_url_dispose(&u);
        /* Percent-encoding may not push the target past the cap either. */
        memset(big + 9, ' ', SH_URL_MAX - 9);
        assert_int_equal(sh_url_parse(big, SH_URL_MAX, &u), SSEHUB_EINVAL);
        free(big);
    }
}

static void expect_resolve(const char *base, const char *ref, const char *href)
{
    sh_url_t b, u;

    assert_int_equal(sh_url_parse(base, strlen(base), &b), 0);
    assert_int_equal(sh_url_resolve(&b, ref, strlen(ref), &u), 0);
    assert_string_equal(u.href, href);
    sh_url_dispose(&u);
    sh_url_dispose(&b);
}

static void test_url_resolve(void **state)
{
    sh_url_t b, u;

    (void)state;
    expect_resolve("http://h:81/a/b?q", "http://other/x", "http://other/x");
    expect_resolve("http://h:81/a/b?q", "HTTPS://other:444", "https://other:444/");
    expect_resolve("https://h/a/b?q", "//other:81/y", "https://other:81/y");
    expect_resolve("http://h:81/a/b?q", "/c?d", "http://h:81/c?d");
    expect_resolve("http://h:81/a/b?q", "c", "http://h:81/a/c");
    expect_resolve("http://h:81/a/b?q", "?z", "http://h:81/a/b?z");
    expect_resolve("http://[::1]:81/a/", "c/d", "http://[::1]:81/a/c/d");
    assert_int_equal(sh_url_parse("http://h/", 9, &b), 0);
    assert_int_equal(sh_url_resolve(&b, "ftp://x/", 8, &u), SSEHUB_EINVAL);
    assert_int_equal(sh_url_resolve(&b, "javascript:x", 12, &u), SSEHUB_EINVAL);
    assert_true(sh_url_same_origin(&b, &b));
    assert_int_equal(sh_url_resolve(&b, "http://h:80/z", 13, &u), 0);
    assert_true(sh_url_same_origin(&b, &u));
    sh_url_dispose(&u);
    assert_int_equal(sh_url_resolve(&b, "https://h/z", 11, &u), 0);
    assert_false(sh_url_same_origin(&b, &u));
    sh_url_dispose(&u);
    sh_url_dispose(&b);
}

/* A recorder of what the response reader reports. */
typedef struct rec_s {
    char log[8192];
    size_t len;
    int stop_at_head; /* on_head's return value */
} rec_t;

static void rec_printf(rec_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rec_printf(rec_t *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r->len += (size_t)vsnprintf(r->log + r->len, sizeof(r->log) - r->len, fmt, ap);
    va_end(ap);
}

static int rec_head(void *user, const sh_resp_head_t *h)
{
    rec_t *r = user;

    rec_printf(r, "head %d '%s' ct=%s loc=%s ka=%d|", h->status, h->reason,
               h->content_type != NULL ? h->content_type : "-",
               h->location != NULL ? h->location : "-", h->keep_alive);
    return r->stop_at_head;
}

static int rec_body(void *user, const char *at, size_t len)
{
    rec_t *r = user;

    rec_printf(r, "%.*s", (int)len, at);
    return 0;
}

static int rec_complete(void *user)
{
    rec_printf(user, "|end|");
    return 0;
}

static const sh_resp_cbs_t rec_cbs = {rec_head, rec_body, rec_complete};

/* Feeds |in| in pieces of |step| bytes; returns the first error, or finish()'s result. */
static int feed(rec_t *r, const char *in, size_t step, bool finish)
{
    sh_resp_t resp;
    size_t len = strlen(in), i;
    int rc = 0;

    memset(r->log, 0, sizeof(r->log));
    r->len = 0;
    sh_resp_init(&resp, &rec_cbs, r);
    for (i = 0; i < len && rc == 0; i += step)
        rc = sh_resp_feed(&resp, in + i, len - i < step ? len - i : step);
    if (rc == 0 && finish)
        rc = sh_resp_finish(&resp);
    sh_resp_dispose(&resp);
    return rc;
}

static void test_resp_bodies(void **state)
{
    static const char *chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n"
                                 "5\r\ndata:\r\n3\r\n x\n\r\n0\r\n\r\n";
    static const char *identity = "HTTP/1.1 200 OK\r\ncontent-type:  Text/Event-Stream ; x=1  "
                                  "\r\nContent-Length: 7\r\n\r\ndata: y";
    static const char *until_close = "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                                     "data: z\n\n";
    rec_t r = {0};
    size_t step;

    (void)state;
    for (step = 1; step <= 64; step *= 4) {
        assert_int_equal(feed(&r, chunked, step, true), 0);
        assert_string_equal(r.log, "head 200 'OK' ct=text/event-stream loc=- ka=1|data: x\n|end|");
        assert_int_equal(feed(&r, identity, step, true), 0);
        assert_string_equal(r.log,
                            "head 200 'OK' ct=Text/Event-Stream ; x=1 loc=- ka=1|data: y|end|");
        assert_int_equal(feed(&r, until_close, step, false), 0);
        assert_string_equal(r.log, "head 200 'OK' ct=text/event-stream loc=- ka=0|data: z\n\n");
        assert_int_equal(feed(&r, until_close, step, true), 0);
        assert_string_equal(r.log,
                            "head 200 'OK' ct=text/event-stream loc=- ka=0|data: z\n\n|end|");
    }
    /* Cut short: a chunked body without its last chunk is an early end of stream. */
    assert_int_equal(
        feed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 3, true),
        SSEHUB_EEOF);
}

static void test_resp_heads(void **state)
{
    rec_t r = {0};

    (void)state;
    /* An informational response is skipped; the final one is reported. */
    assert_int_equal(
        feed(&r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 5, true), 0);
    assert_string_equal(r.log, "head 204 'No Content' ct=- loc=- ka=1||end|");
    assert_int_equal(feed(&r,
                          "HTTP/1.1 302 Found\r\nLocation: /next \r\nContent-Length: 0\r\n"
                          "location: /ignored\r\n\r\n",
                          7, true),
                     0);
    assert_string_equal(r.log, "head 302 'Found' ct=- loc=/next ka=1||end|");
    /* Pipelined replies, as ssecat --publish reads them. */
    assert_int_equal(feed(&r,
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nidHTTP/1.1 403 Forbidden\r\n"
                          "Content-Length: 4\r\nConnection: close\r\n\r\nnope",
                          9, true),
                     0);
    assert_string_equal(r.log, "head 200 'OK' ct=- loc=- ka=1|id|end|head 403 'Forbidden' ct=- "
                               "loc=- ka=0|nope|end|");
    /* A callback may stop the reader; the error sticks. */
    r.stop_at_head = -1;
    assert_int_equal(feed(&r, "HTTP/1.1 200 OK\r\n\r\n", 100, true), SSEHUB_ECANCELED);
    r.stop_at_head = 0;
    assert_int_equal(feed(&r, "SSH-2.0-OpenSSH\r\n", 100, true), SSEHUB_EPROTO);
    assert_int_equal(feed(&r, "HTTP/1.1 2000 OK\r\n\r\n", 100, true), SSEHUB_EPROTO);
    assert_int_equal(feed(&r, "HTTP/1.1 050 Low\r\n\r\n", 100, true), SSEHUB_EPROTO);
    assert_int_equal(
        feed(&r, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw", 100, true),
        SSEHUB_EPROTO);
}

static void test_resp_limits(void **state)
{
    size_t big = SH_RESP_MAX_HEAD + 100, i;
    char *in = malloc(big + 200);
    rec_t r = {0};
    int n;

    (void)state;
    /* A head larger than the cap, whatever the headers. */
    n = snprintf(in, 200, "HTTP/1.1 200 OK\r\n");
    for (i = (size_t)n; i + 14 < big; i += 14)
        memcpy(in + i, "X-A: 1234567\r\n", 14);
    memcpy(in + i, "\r\n", 3);
    assert_int_equal(feed(&r, in, 4096, true), SSEHUB_E2BIG);
    /* A Location longer than we keep. */
    n = snprintf(in, 200, "HTTP/1.1 302 Found\r\nLocation: /");
    memset(in + n, 'a', 9000);
    memcpy(in + n + 9000, "\r\n\r\n", 5);
    assert_int_equal(feed(&r, in, 1000, true), SSEHUB_E2BIG);
    free(in);
}

static void test_resp_content_type(void **state)
{
    (void)state;
    assert_true(sh_resp_is_event_stream("text/event-stream", 17));
    assert_true(sh_resp_is_event_stream("TEXT/EVENT-STREAM;charset=utf-8", 31));
    assert_true(sh_resp_is_event_stream("text/event-stream ; x", 21));
    assert_false(sh_resp_is_event_stream("text/event-streams", 18));
    assert_false(sh_resp_is_event_stream("text/plain", 10));
    assert_false(sh_resp_is_event_stream("text/event-", 11));
    assert_false(sh_resp_is_event_stream(NULL, 0));
}

/* Every allocation failure in parsing and resolving is reported, with nothing leaked. */
static void test_url_oom(void **state)
{
    sh_url_t b, u;
    long n;
    int rc;

    (void)state;
    for (n = 0;; n++) {
        sh_failalloc_fail_after(n);
        rc = sh_url_parse("http://[::1]:81/a/b?q", 21, &b);
        if (rc == 0) {
            rc = sh_url_resolve(&b, "c?d", 3, &u);
            sh_url_dispose(&b);
            if (rc == 0) {
                sh_url_dispose(&u);
                break;
            }
        }
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    sh_failalloc_fail_after(-1);
    assert_int_equal(sh_failalloc_live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),   cmocka_unit_test(test_url_resolve),
        cmocka_unit_test(test_resp_bodies), cmocka_unit_test(test_resp_heads),
        cmocka_unit_test(test_resp_limits), cmocka_unit_test(test_resp_content_type),
        cmocka_unit_test(test_url_oom),
    };

    sh_failalloc_install();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
