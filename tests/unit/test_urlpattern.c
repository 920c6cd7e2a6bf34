/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sh_urlpat_comp (src/hub/urlpattern.c), one URL Pattern component: the
 * regular expressions the standard generates for each kind of part, matching of pathname
 * and hostname patterns (cases of the URL Pattern standard's examples), the tokenizing and
 * parsing errors, and the cost limit on a hostile regular expression. Everything runs on
 * the counting allocator and ends with nothing alive. Chromium's native URLPattern is the
 * reference of tests/interop/urlpattern_chromium.mjs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ssehub/errno.h"
#include "hub/urlpattern.h"
#include "support/failalloc.h"
#include "support/testutil.h"

static sh_urlpat_comp_t *compile(const char *pat, sh_urlpat_opts_t o)
{
    sh_urlpat_comp_t *c = NULL;
    const char *reason = NULL;
    int rc = sh_urlpat_comp_compile(pat, strlen(pat), o, &c, &reason);

    if (rc != 0)
        fail_msg("%s: %d %s", pat, rc, reason ? reason : "");
    return c;
}

static void regex_is(const char *pat, sh_urlpat_opts_t o, const char *want)
{
    sh_urlpat_comp_t *c = compile(pat, o);

    if (strcmp(sh_urlpat_comp_regex(c), want) != 0)
        fail_msg("%s: regex %s, want %s", pat, sh_urlpat_comp_regex(c), want);
    sh_urlpat_comp_free(c);
}

static void test_urlpattern_regex(void **state)
{
    (void)state;
    sh_failalloc_install();
    regex_is("/foo/bar", SH_URLPAT_PATHNAME, "^\\/foo\\/bar$");
    regex_is("/foo/:bar", SH_URLPAT_PATHNAME, "^\\/foo(?:\\/([^\\/]+?))$");
    regex_is("/foo/:bar?", SH_URLPAT_PATHNAME, "^\\/foo(?:\\/([^\\/]+?))?$");
    regex_is("/foo/:bar+", SH_URLPAT_PATHNAME, "^\\/foo(?:\\/((?:[^\\/]+?)(?:\\/(?:[^\\/]+?))*))$");
    regex_is("/foo/:bar*", SH_URLPAT_PATHNAME,
             "^\\/foo(?:\\/((?:[^\\/]+?)(?:\\/(?:[^\\/]+?))*))?$");
    regex_is("/foo/*", SH_URLPAT_PATHNAME, "^\\/foo(?:\\/((?s:.*)))$");
    regex_is("/foo/(\\d+)", SH_URLPAT_PATHNAME, "^\\/foo(?:\\/(\\d+))$");
    regex_is("/foo{/bar}?", SH_URLPAT_PATHNAME, "^\\/foo(?:\\/bar)?$");
    regex_is("/x{-:id}+", SH_URLPAT_PATHNAME, "^\\/x(?:-((?:[^\\/]+?)(?:-(?:[^\\/]+?))*))$");
    regex_is(":sub.example.com", SH_URLPAT_HOSTNAME, "^([^\\.]+?)\\.example\\.com$");
    regex_is("*", SH_URLPAT_DEFAULT, "^((?s:.*))$");
    regex_is(":a", SH_URLPAT_DEFAULT, "^((?s:.+?))$");
    regex_is("a\\:b\\*", SH_URLPAT_DEFAULT, "^a:b\\*$");
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* |pat| matches each input of the NULL-terminated |yes| and none of |no|. */
static void matches(const char *pat, sh_urlpat_opts_t o, const char *const *yes,
                    const char *const *no)
{
    sh_urlpat_comp_t *c = compile(pat, o);

    for (; yes != NULL && *yes != NULL; yes++)
        if (!sh_urlpat_comp_match(c, *yes, strlen(*yes)))
            fail_msg("%s should match %s (%s)", pat, *yes, sh_urlpat_comp_regex(c));
    for (; no != NULL && *no != NULL; no++)
        if (sh_urlpat_comp_match(c, *no, strlen(*no)))
            fail_msg("%s should not match %s (%s)", pat, *no, sh_urlpat_comp_regex(c));
    sh_urlpat_comp_free(c);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_urlpattern_match(void **state)
{
    (void)state;
    sh_failalloc_install();
    matches("/foo/bar", SH_URLPAT_PATHNAME, L("/foo/bar"),
            L("/foo/ba", "/foo/bar/", "/foo/bar/baz"));
    matches("/foo/:bar", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo/index.html"),
            L("/foo/bar/", "/foo/", "/foo"));
    matches("/foo/*", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo/bar/baz", "/foo/"), L("/foo"));
    matches("/foo/(.*)", SH_URLPAT_PATHNAME, L("/foo/bar/baz", "/foo/"), L("/foo"));
    matches("/foo/:bar(.*)", SH_URLPAT_PATHNAME, L("/foo/bar/baz", "/foo/"), L("/foo"));
    matches("/foo/:bar?", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo"),
            L("/foo/", "/foobar", "/foo/bar/baz"));
    matches("/foo/:bar+", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo/bar/baz"),
            L("/foo", "/foo/", "/foobar"));
    matches("/foo/:bar*", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo/bar/baz", "/foo"),
            L("/foo/", "/foobar"));
    matches("/foo/*?", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo/bar/baz", "/foo"), L("/foobar"));
    matches("/foo{/bar}", SH_URLPAT_PATHNAME, L("/foo/bar"), L("/foo/bar/baz", "/foo"));
    matches("/foo{/bar}?", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo"), L("/foo/"));
    matches("/foo{/bar}+", SH_URLPAT_PATHNAME, L("/foo/bar", "/foo/bar/bar"), L("/foo"));
    matches("/foo{/bar}*", SH_URLPAT_PATHNAME, L("/foo", "/foo/bar/bar"), L("/foo/"));
    matches("/books/:id(\\d+)", SH_URLPAT_PATHNAME, L("/books/12"), L("/books/x", "/books/"));
    matches("/:a/:b", SH_URLPAT_PATHNAME, L("/x/y"), L("/x", "/x/y/z"));
    matches("{*.}?example.com", SH_URLPAT_HOSTNAME,
            L("example.com", "a.example.com", "a.b.example.com"), L("example.org", "xexample.com"));
    matches(":sub.example.com", SH_URLPAT_HOSTNAME, L("a.example.com"),
            L("a.b.example.com", "example.com"));
    matches("http{s}?", SH_URLPAT_DEFAULT, L("http", "https"), L("ftp", "httpss"));
    matches("caf\xc3\xa9/:x", SH_URLPAT_PATHNAME, L("caf\xc3\xa9/1"), L("cafe/1"));
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void refused(const char *pat, const char *want)
{
    sh_urlpat_comp_t *c = NULL;
    const char *reason = NULL;

    assert_int_equal(sh_urlpat_comp_compile(pat, strlen(pat), SH_URLPAT_PATHNAME, &c, &reason), -1);
    assert_null(c);
    if (reason == NULL || strstr(reason, want) == NULL)
        fail_msg("%s: reason %s, want %s", pat, reason ? reason : "(none)", want);
}

static void test_urlpattern_errors(void **state)
{
    static char big[SH_URLPAT_MAX + 1];

    (void)state;
    sh_failalloc_install();
    refused("/foo\\", "backslash at the end");
    refused("/:", "without a valid name");
    refused("/:1a", "without a valid name");
    refused("/(?x)", "may not start with '?'");
    refused("/((a))", "capturing groups");
    refused("/(a", "unbalanced");
    refused("/()", "empty regular expression");
    refused("/(\xc3\xa9)", "non-ASCII");
    refused("/:a/:a", "duplicate group name");
    refused("/{a", "without its '}'");
    refused("/{a{b}}", "without its '}'");
    refused("/a}", "misplaced");
    refused("/?", "misplaced");
    refused("/a\xff", "UTF-8");
    refused("/(a{2,1})", "cannot compile");
    refused("/([a-)", "not a range");
    refused("/([^-])", "not a range");
    refused("/(a{)", "lone");
    refused("/(\\a)", "escape");
    refused("/([|])", "syntax character");
    memset(big, 'a', sizeof(big));
    {
        sh_urlpat_comp_t *c = NULL;
        const char *reason = NULL;
        assert_int_equal(sh_urlpat_comp_compile(big, sizeof(big), SH_URLPAT_PATHNAME, &c, &reason),
                         -1);
        assert_non_null(strstr(reason, "too long"));
    }
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* A regular expression with exponential backtracking: every match ends at the cost limit,
 * quickly, as no match; inputs that match fast still match. */
static void test_urlpattern_cost_limit(void **state)
{
    static const char *const hostile[] = {"/((?:a|a)+b)", "/((?:a+)+b)", "/((?:a|aa)+$)x",
                                          "/((?:(?:a*)*)+b)"};
    char input[64];
    size_t i, k;

    (void)state;
    sh_failalloc_install();
    memset(input, 0, sizeof(input));
    input[0] = '/';
    memset(input + 1, 'a', 40);
    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        sh_urlpat_comp_t *c = compile(hostile[i], SH_URLPAT_PATHNAME);
        struct timespec t0, t1;
        double ms;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (k = 0; k < 10; k++)
            assert_false(sh_urlpat_comp_match(c, input, strlen(input)));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        /* Unbounded, (a|a)+b on 40 a's is 2^40 steps; bounded it is a few ms (ASan
         * included, on a busy machine: a wide margin). */
        if (ms > 2000)
            fail_msg("%s: 10 matches took %.0f ms", hostile[i], ms);
        if (i < 2)
            assert_true(sh_urlpat_comp_match(c, "/aab", 4));
        sh_urlpat_comp_free(c);
    }
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* Out of memory at every allocation of a compile: ENOMEM, nothing left. */
static void test_urlpattern_oom(void **state)
{
    sh_urlpat_comp_t *c = NULL;
    const char *reason = NULL;
    long k;
    int rc;

    (void)state;
    sh_failalloc_install();
    for (k = 0;; k++) {
        sh_failalloc_fail_after(k);
        rc = sh_urlpat_comp_compile("/a/:b/{c:d}+/(x+)", 17, SH_URLPAT_PATHNAME, &c, &reason);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_null(c);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    assert_int_equal(sh_urlpat_comp_ngroups(c), 3);
    sh_urlpat_comp_free(c);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urlpattern_regex),  cmocka_unit_test(test_urlpattern_match),
        cmocka_unit_test(test_urlpattern_errors), cmocka_unit_test(test_urlpattern_cost_limit),
        cmocka_unit_test(test_urlpattern_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
