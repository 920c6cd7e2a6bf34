/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sh_uritpl (RFC 6570 templates as topic selectors), the selectors that use
 * them, and the registry's shared template entries. Runs on the counting allocator.
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
#include "base/alloc.h"
#include "hub/event.h"
#include "hub/selector.h"
#include "hub/subs.h"
#include "hub/uritemplate.h"
#include "support/failalloc.h"

static int tmatch(const char *tpl, const char *topic)
{
    sh_uritpl_t *t = NULL;
    int m;

    if (sh_uritpl_compile(tpl, strlen(tpl), &t) != 0)
        fail_msg("template %s did not compile", tpl);
    m = sh_uritpl_match(t, topic, strlen(topic));
    assert_string_equal(sh_uritpl_source(t), tpl);
    sh_uritpl_free(t);
    return m;
}

#define YES(tpl, topic)                                 \
    do {                                                \
        if (!tmatch(tpl, topic))                        \
            fail_msg("%s should match %s", tpl, topic); \
    } while (0)
#define NO(tpl, topic)                                      \
    do {                                                    \
        if (tmatch(tpl, topic))                             \
            fail_msg("%s should not match %s", tpl, topic); \
    } while (0)

static void test_uritpl_level1(void **state)
{
    (void)state;
    sh_failalloc_install();
    YES("https://example.com/books/{id}", "https://example.com/books/1");
    YES("https://example.com/books/{id}", "https://example.com/books/");
    YES("https://example.com/books/{id}", "https://example.com/books/abc-._~");
    NO("https://example.com/books/{id}", "https://example.com/books/1/reviews");
    NO("https://example.com/books/{id}", "https://example.com/book/1");
    NO("https://example.com/books/{id}", "https://example.com/books/a?b");
    YES("/users/{id}/posts/{post}", "/users/7/posts/99");
    NO("/users/{id}/posts/{post}", "/users/7/posts");
    YES("{a}", "");
    YES("x{a}y{b}z", "xyz");
    YES("x{a}y{b}z", "x1y2z");
    YES("x{a}y{b}z", "xyyyz"); /* a = "yy" or b = "yy": y is unreserved */
    /* Percent-encoding: a triplet is one value character; a bare % is not. */
    YES("/t/{id}", "/t/a%2Fb");
    YES("/t/{id}", "/t/%E2%82%AC");
    NO("/t/{id}", "/t/a%2");
    NO("/t/{id}", "/t/a%zz");
    NO("/t/{id}", "/t/a/b");
    /* A literal with a triplet is compared byte for byte (no decoding). */
    YES("/a%20b/{x}", "/a%20b/1");
    NO("/a%20b/{x}", "/a b/1");
    /* IRIs: non-ASCII characters are value characters. */
    YES("/livres/{titre}", "/livres/\xc3\xa9t\xc3\xa9");
    /* Lists: commas. */
    YES("/l/{x,y}", "/l/1,2");
    assert_int_equal(sh_failalloc_live(), 0);
}

static void test_uritpl_level2_3(void **state)
{
    (void)state;
    sh_failalloc_install();
    /* Reserved expansion. */
    YES("https://example.com/{+path}", "https://example.com/a/b/c?d=1");
    NO("https://example.com/{path}", "https://example.com/a/b");
    YES("{+base}/books/{id}", "https://example.com/books/2");
    YES("/x{#frag}", "/x#sec/1");
    YES("/x{#frag}", "/x");
    NO("/x{#frag}", "/x/1");
    /* Path segments. */
    YES("/books{/id}", "/books/1");
    YES("/books{/id}", "/books");
    NO("/books{/id}", "/books/1/2");
    YES("/books{/id,part}", "/books/1/2");
    YES("/books{/id*}", "/books/1/2/3");
    NO("/books{/id}", "/books1");
    /* Labels. */
    YES("/file{.ext}", "/file.json");
    YES("/file{.ext}", "/file");
    NO("/file{.ext}", "/file-json");
    /* Query. */
    YES("/search{?q}", "/search?q=books");
    YES("/search{?q}", "/search?q=");
    YES("/search{?q}", "/search");
    NO("/search{?q}", "/search?r=books");
    NO("/search{?q}", "/search?q");
    YES("/search{?q,lang}", "/search?q=a&lang=fr");
    YES("/search{?q,lang}", "/search?lang=fr");
    NO("/search{?q,lang}", "/search?q=a&other=fr");
    YES("/search{?q}{&page}", "/search?q=a&page=2");
    YES("/search{?params*}", "/search?any=1&thing=2");
    YES("/m{;x,y}", "/m;x=1;y");
    NO("/m{;x}", "/m;z=1");
    YES("/search{?q}/end", "/search?q=abc/end");
    /* Prefix modifier (one variable). */
    YES("/p/{id:3}", "/p/abc");
    NO("/p/{id:3}", "/p/abcd");
    YES("/p/{id:3}", "/p/%41bc");
    YES("/p{?id:2}", "/p?id=ab");
    NO("/p{?id:2}", "/p?id=abc");
    assert_int_equal(sh_failalloc_live(), 0);
}

static void test_uritpl_invalid(void **state)
{
    static const char *const bad[] = {
        "{",        "}",         "/a/{id", "/a/id}", "{}",    "{,}",      "{a,}",
        "{a b}",    "{=a}",      "{!a}",   "{@a}",   "{|a}",  "{a:0}",    "{a:10000}",
        "{a:}",     "{a**}",     "{.}",    "{a..b}", "{{a}}", "/a b/{x}", "/a\"/{x}",
        "/a%g1{x}", "/a\x01{x}", "/a<{x}", "{a}{",   "{a%2}",
    };
    sh_uritpl_t *t = NULL;
    size_t i;

    (void)state;
    sh_failalloc_install();
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sh_uritpl_compile(bad[i], strlen(bad[i]), &t) != SSEHUB_EINVAL)
            fail_msg("%s should be refused", bad[i]);
        assert_null(t);
    }
    assert_int_equal(sh_uritpl_compile("", 0, &t), SSEHUB_EINVAL);
    assert_true(sh_uritpl_is_template("/a/{x}", 6));
    assert_false(sh_uritpl_is_template("/a/x", 4));
    /* Valid odd ones. */
    YES("{a.b}", "1");
    YES("{%41}", "1");
    YES("{a_1:9999}", "x");
    assert_int_equal(sh_failalloc_live(), 0);
}

static void test_uritpl_long_topic_and_oom(void **state)
{
    size_t n = 10000, fails;
    char *topic = malloc(n + 4);
    sh_uritpl_t *t = NULL;
    int rc;

    (void)state;
    sh_failalloc_install();
    memcpy(topic, "/a/", 3);
    memset(topic + 3, 'x', n);
    topic[n + 3] = '\0';
    YES("/a/{x}", topic);
    NO("/a/{x}z", topic);
    /* A long topic needs one allocation: when it fails, no match (and no leak). */
    assert_int_equal(sh_uritpl_compile("/a/{x}", 6, &t), 0);
    sh_failalloc_fail_after(0);
    assert_false(sh_uritpl_match(t, topic, strlen(topic)));
    sh_failalloc_fail_after(-1);
    sh_uritpl_free(t);
    /* Compile fails cleanly at every allocation. */
    for (fails = 0;; fails++) {
        sh_failalloc_fail_after((long)fails);
        rc = sh_uritpl_compile("/a/{x}{?y}", 10, &t);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_null(t);
    }
    sh_uritpl_free(t);
    free(topic);
    assert_int_equal(sh_failalloc_live(), 0);
}

static sh_event_t *mkev(const char *topic, uint64_t seq, int is_private)
{
    sh_event_init_t in;
    sh_str_t tp;
    sh_event_t *ev = NULL;

    memset(&in, 0, sizeof(in));
    tp.ptr = topic;
    tp.len = strlen(topic);
    in.topics = &tp;
    in.ntopics = 1;
    in.id.ptr = "id";
    in.id.len = 2;
    in.data.ptr = "d";
    in.data.len = 1;
    in.seq = seq;
    in.is_private = is_private;
    assert_int_equal(sh_event_new(&in, &ev), 0);
    return ev;
}

static int sel_of(sh_selectors_t *s, const char *a, const char *b)
{
    sh_str_t raw[2];
    size_t n = 0;

    raw[n].ptr = a;
    raw[n++].len = strlen(a);
    if (b != NULL) {
        raw[n].ptr = b;
        raw[n++].len = strlen(b);
    }
    return sh_selectors_init(s, raw, n);
}

static void test_selectors_templates_and_private(void **state)
{
    sh_selectors_t s, allow;
    sh_event_t *b1 = mkev("https://example.com/books/1", 1, 0);
    sh_event_t *p1 = mkev("https://example.com/books/1", 2, 1);
    sh_event_t *raw = mkev("https://example.com/books/{id}", 3, 0);
    sh_event_t *bad = mkev("/x/{", 4, 0);

    (void)state;
    assert_int_equal(sel_of(&s, "https://example.com/books/{id}", "/x/{"), 0);
    assert_int_equal(s.ntopics, 2);
    assert_int_equal(s.ntemplates, 1); /* "/x/{" is not a template: exact only */
    assert_true(sh_selectors_match(&s, b1));
    assert_true(sh_selectors_match(&s, raw)); /* the template's own text matches exactly */
    assert_true(sh_selectors_match(&s, bad));
    assert_false(sh_selectors_match(&s, p1)); /* private: no authorization */
    assert_int_equal(sel_of(&allow, "https://example.com/books/{id}", NULL), 0);
    s.allow = &allow;
    assert_true(sh_selectors_match(&s, p1));
    sh_selectors_dispose(&allow);
    assert_int_equal(sel_of(&allow, "https://example.com/authors/{id}", NULL), 0);
    s.allow = &allow;
    assert_false(sh_selectors_match(&s, p1)); /* the claim does not cover the topic */
    sh_selectors_dispose(&allow);
    sh_selectors_dispose(&s);
    sh_event_unref(b1);
    sh_event_unref(p1);
    sh_event_unref(raw);
    sh_event_unref(bad);
}

static void count_cb(sh_sub_t *sub, sh_event_t *ev, void *user)
{
    (void)sub;
    (void)ev;
    (*(size_t *)user)++;
}

static void remove_cb(sh_sub_t *sub, sh_event_t *ev, void *user)
{
    (void)ev;
    sh_subs_remove(user, sub);
}

/* Many subscriptions with the same template share one registry entry. */
static void test_subs_templates_shared(void **state)
{
    enum { N = 50 };
    sh_subs_t r;
    sh_sub_t subs[N];
    sh_event_t *e1, *e2, *e3;
    size_t i, calls = 0;

    (void)state;
    sh_failalloc_install();
    e1 = mkev("/books/1", 1, 0);
    e2 = mkev("/authors/1", 2, 0);
    e3 = mkev("/books/2", 3, 0);
    assert_int_equal(sh_subs_init(&r), 0);
    memset(subs, 0, sizeof(subs));
    for (i = 0; i < N; i++) {
        assert_int_equal(sel_of(&subs[i].sel, "/books/{id}", i % 2 ? "/authors/1" : NULL), 0);
        assert_int_equal(sh_subs_add(&r, &subs[i]), 0);
    }
    assert_int_equal(r.npatterns, 1);
    assert_int_equal(r.ntopics, 1);
    assert_int_equal(sh_subs_dispatch(&r, e1, count_cb, &calls), N);
    assert_int_equal(sh_subs_dispatch(&r, e2, count_cb, &calls), N / 2);
    /* Callbacks that remove their own subscription, the template entry going with the last. */
    assert_int_equal(sh_subs_dispatch(&r, e3, remove_cb, &r), N);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.npatterns, 0);
    assert_int_equal(r.ntopics, 0);
    for (i = 0; i < N; i++)
        sh_selectors_dispose(&subs[i].sel);
    sh_subs_dispose(&r);
    sh_event_unref(e1);
    sh_event_unref(e2);
    sh_event_unref(e3);
    assert_int_equal(sh_failalloc_live(), 0);
}

/* Dispatch of private updates: only to subscriptions whose `allow` selectors match. */
static void test_subs_private_dispatch(void **state)
{
    sh_subs_t r;
    sh_sub_t anon, ok, wrong, star;
    sh_selectors_t allow_ok, allow_wrong;
    sh_event_t *pub, *priv;
    size_t calls = 0;

    (void)state;
    sh_failalloc_install();
    pub = mkev("/books/1", 1, 0);
    priv = mkev("/books/2", 2, 1);
    assert_int_equal(sh_subs_init(&r), 0);
    memset(&anon, 0, sizeof(anon));
    memset(&ok, 0, sizeof(ok));
    memset(&wrong, 0, sizeof(wrong));
    memset(&star, 0, sizeof(star));
    assert_int_equal(sel_of(&anon.sel, "/books/{id}", NULL), 0);
    assert_int_equal(sel_of(&ok.sel, "/books/{id}", NULL), 0);
    assert_int_equal(sel_of(&wrong.sel, "/books/2", NULL), 0);
    assert_int_equal(sel_of(&star.sel, "*", NULL), 0);
    assert_int_equal(sel_of(&allow_ok, "/books/{x}", NULL), 0);
    assert_int_equal(sel_of(&allow_wrong, "/authors/{x}", NULL), 0);
    ok.sel.allow = &allow_ok;
    wrong.sel.allow = &allow_wrong;
    star.sel.allow = &allow_ok;
    assert_int_equal(sh_subs_add(&r, &anon), 0);
    assert_int_equal(sh_subs_add(&r, &ok), 0);
    assert_int_equal(sh_subs_add(&r, &wrong), 0);
    assert_int_equal(sh_subs_add(&r, &star), 0);
    assert_int_equal(r.npatterns, 1); /* anon and ok share the template entry */
    assert_int_equal(sh_subs_dispatch(&r, pub, count_cb, &calls), 3); /* not "wrong" */
    calls = 0;
    assert_int_equal(sh_subs_dispatch(&r, priv, count_cb, &calls), 2); /* ok and star */
    assert_int_equal(ok.last_seq, 2);
    assert_int_equal(star.last_seq, 2);
    assert_int_equal(anon.last_seq, 1);
    assert_int_equal(wrong.last_seq, 0);
    sh_subs_remove(&r, &anon);
    assert_int_equal(r.npatterns, 1); /* still used by ok */
    sh_subs_remove(&r, &ok);
    assert_int_equal(r.npatterns, 0);
    sh_subs_remove(&r, &wrong);
    sh_subs_remove(&r, &star);
    sh_subs_dispose(&r);
    sh_selectors_dispose(&anon.sel);
    sh_selectors_dispose(&ok.sel);
    sh_selectors_dispose(&wrong.sel);
    sh_selectors_dispose(&star.sel);
    sh_selectors_dispose(&allow_ok);
    sh_selectors_dispose(&allow_wrong);
    sh_event_unref(pub);
    sh_event_unref(priv);
    assert_int_equal(sh_failalloc_live(), 0);
}

/* Registering runs out of memory at every allocation in turn, and leaves nothing. */
static void test_subs_add_oom(void **state)
{
    sh_subs_t r;
    sh_sub_t sub;
    long fails;
    int rc;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(sh_subs_init(&r), 0);
    memset(&sub, 0, sizeof(sub));
    assert_int_equal(sel_of(&sub.sel, "/a/{x}", "/b"), 0);
    for (fails = 0;; fails++) {
        sh_failalloc_fail_after(fails);
        rc = sh_subs_add(&r, &sub);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(r.count, 0);
        assert_int_equal(r.npatterns, 0);
        assert_int_equal(r.ntopics, 0);
    }
    sh_subs_remove(&r, &sub);
    sh_subs_dispose(&r);
    sh_selectors_dispose(&sub.sel);
    assert_int_equal(sh_failalloc_live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uritpl_level1),
        cmocka_unit_test(test_uritpl_level2_3),
        cmocka_unit_test(test_uritpl_invalid),
        cmocka_unit_test(test_uritpl_long_topic_and_oom),
        cmocka_unit_test(test_selectors_templates_and_private),
        cmocka_unit_test(test_subs_templates_shared),
        cmocka_unit_test(test_subs_private_dispatch),
        cmocka_unit_test(test_subs_add_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
