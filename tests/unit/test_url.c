/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sh_url (src/hub/url.c): absolute and relative URLs against the hub's URL,
 * each component as the URL Standard serializes it, the failures, and out of memory at
 * every allocation. The differential test against Chromium's URL parser is
 * tests/interop/url_chromium.mjs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ssehub/errno.h"
#include "hub/url.h"
#include "support/failalloc.h"
#include "support/testutil.h"

#define BASE "https://hub.example/.well-known/mercure?q#f"

/* |in| against BASE gives the components |want| ("proto|user|pass|host|port|path|search|hash"),
 * or fails when |want| is NULL. */
static void parses(const char *in, const char *want)
{
    sh_url_t base, u;
    char got[1024];
    size_t n = 0;
    int k, rc;

    assert_int_equal(sh_url_parse(BASE, strlen(BASE), NULL, &base), 0);
    rc = sh_url_parse(in, strlen(in), &base, &u);
    if (want == NULL) {
        if (rc != -1)
            fail_msg("%s: parsed, should fail", in);
        sh_url_dispose(&base);
        return;
    }
    if (rc != 0)
        fail_msg("%s: failed (%d)", in, rc);
    for (k = 0; k < SH_URL_NCOMP; k++)
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", k ? "|" : "", u.comp[k].ptr);
    if (strcmp(got, want) != 0)
        fail_msg("%s: %s, want %s", in, got, want);
    sh_url_dispose(&u);
    sh_url_dispose(&base);
}

static void test_url_parse(void **state)
{
    (void)state;
    sh_failalloc_install();
    parses("https://example.com/books/1", "https|||example.com||/books/1||");
    parses("HTTPS://u:p@EXAMPLE.com:443/a/../b/./c?x y'#f g",
           "https|u|p|example.com||/b/c|x%20y%27|f%20g");
    parses("http://example.com:0080", "http|||example.com||/||");
    parses("http://example.com:8080/", "http|||example.com|8080|/||");
    parses("http://0x7f.1/%2e%2E/x", "http|||127.0.0.1||/x||");
    parses("wss://a.b/{x}^`", "wss|||a.b||/%7Bx%7D%5E%60||");
    parses("https:\\\\a.b\\c\\d", "https|||a.b||/c/d||");
    parses("urn:isbn:0-486", "urn|||||isbn:0-486||");
    parses("mercure://h/x?a'", "mercure|||h||/x|a'|");
    parses("mercure:/x/../y", "mercure|||||/y||");
    /* Relative references against the hub's URL. */
    parses("mercure/x", "https|||hub.example||/.well-known/mercure/x||");
    parses("/books/1", "https|||hub.example||/books/1||");
    parses("../x", "https|||hub.example||/x||");
    parses("?y", "https|||hub.example||/.well-known/mercure|y|");
    parses("#g", "https|||hub.example||/.well-known/mercure|q|g");
    parses("//other.example/p", "https|||other.example||/p||");
    parses("https:/p", "https|||hub.example||/p||");
    /* Not URLs (or not covered). */
    parses("https://", NULL);
    parses("https://a b/", NULL);
    parses("https://h:99999/", NULL);
    parses("https://h:x/", NULL);
    parses("http://256.1.1.1/", NULL);
    parses("https://\xc3\xa9.example/", NULL); /* IDNA: not covered */
    parses("file:///etc/passwd", NULL);
    parses("foo://u@:1/", NULL);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_url_oom(void **state)
{
    static const char in[] = "https://u:p@example.com:8443/a/b/../c?q=1#f";
    sh_url_t u;
    long k;
    int rc;

    (void)state;
    sh_failalloc_install();
    for (k = 0;; k++) {
        sh_failalloc_fail_after(k);
        rc = sh_url_parse(in, strlen(in), NULL, &u);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    assert_string_equal(u.comp[SH_URL_PATHNAME].ptr, "/a/c");
    assert_string_equal(u.comp[SH_URL_PORT].ptr, "8443");
    sh_url_dispose(&u);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_url_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
