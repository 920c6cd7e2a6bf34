/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sh_mercure (src/proto/mercure.c), the rules that differ between Mercure
 * draft-07 and draft-08: the subscription parameters and their spellings, the `match`
 * prefix rule, selector and Last-Event-ID validation, the draft-08 publish rules and the
 * reserved namespace of each version.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/mercure.h"

static sh_mercure_qparam_t qp(const char *name)
{
    return sh_mercure_query_param(name, strlen(name));
}

static void test_mercure_query_params(void **state)
{
    (void)state;
    assert_int_equal(qp("topic"), SH_MQ_TOPIC);
    assert_int_equal(qp("match"), SH_MQ_MATCH_EXACT);
    assert_int_equal(qp("matchExact"), SH_MQ_MATCH_EXACT);
    assert_int_equal(qp("matchURLPattern"), SH_MQ_MATCH_URLPATTERN);
    assert_int_equal(qp("match_urlpattern"), SH_MQ_MATCH_URLPATTERN);
    assert_int_equal(qp("lastEventID"), SH_MQ_LAST_ID_07);
    assert_int_equal(qp("Last-Event-ID"), SH_MQ_LAST_ID_07);
    assert_int_equal(qp("last_event_id"), SH_MQ_LAST_ID_08);
    assert_int_equal(qp("authorization"), SH_MQ_AUTHORIZATION);
    /* Any other name starting with "match", in any ASCII case, is refused. */
    assert_int_equal(qp("Match"), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(qp("MATCH"), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(qp("matchexact"), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(qp("matchUrlPattern"), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(qp("match_exact"), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(qp("matchType"), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(qp("mAtChX"), SH_MQ_MATCH_UNKNOWN);
    /* Not ours: ignored. */
    assert_int_equal(qp("matc"), SH_MQ_OTHER);
    assert_int_equal(qp("xmatch"), SH_MQ_OTHER);
    assert_int_equal(qp("Topic"), SH_MQ_OTHER);
    assert_int_equal(qp("lasteventid"), SH_MQ_OTHER);
    assert_int_equal(qp(""), SH_MQ_OTHER);
    assert_int_equal(sh_mercure_query_param("match\0x", 7), SH_MQ_MATCH_UNKNOWN);
    assert_int_equal(sh_mercure_query_param("topic\0", 6), SH_MQ_OTHER);
}

static const char *sel(const char *v)
{
    return sh_mercure_check_selector(v, strlen(v));
}

static void test_mercure_selector_values(void **state)
{
    static char big[SH_MERCURE_SELECTOR_MAX + 2];
    (void)state;
    assert_null(sel("https://example.com/books/1"));
    assert_null(sel("*"));
    assert_null(sel("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")); /* é € emoji */
    assert_null(sel("a b\xc2\xa0")); /* space and NBSP are not controls */
    assert_string_equal(sel(""), "empty topic");
    assert_string_equal(sh_mercure_check_selector("a\0b", 3),
                        "selector contains a control character");
    assert_string_equal(sel("a\tb"), "selector contains a control character");
    assert_string_equal(sel("a\x1f"), "selector contains a control character");
    assert_string_equal(sel("a\x7f"), "selector contains a control character");
    assert_string_equal(sel("a\xc2\x80"), "selector contains a control character"); /* C1 */
    assert_string_equal(sel("a\xc2\x9f"), "selector contains a control character");
    assert_string_equal(sel("a\xc2\xad"), "selector contains a Unicode format character");
    assert_string_equal(sel("a\xe2\x80\x8b"), "selector contains a Unicode format character");
    assert_string_equal(sel("\xef\xbb\xbf"
                            "a"),
                        "selector contains a Unicode format character");
    assert_string_equal(sel("a\xe2\x80\xae"), "selector contains a Unicode format character");
    assert_string_equal(sel("\xf3\xa0\x80\x81"), "selector contains a Unicode format character");
    assert_null(sel("a\xe2\x80\x90")); /* U+2010 hyphen: not Cf */
    assert_string_equal(sel("a\xff"), "selector is not valid UTF-8");
    assert_string_equal(sel("a\xc3"), "selector is not valid UTF-8");
    assert_string_equal(sel("\xed\xa0\x80"), "selector is not valid UTF-8"); /* surrogate */
    assert_string_equal(sel("\xc0\xaf"), "selector is not valid UTF-8");     /* overlong */
    memset(big, 'a', SH_MERCURE_SELECTOR_MAX);
    assert_null(sh_mercure_check_selector(big, SH_MERCURE_SELECTOR_MAX));
    big[SH_MERCURE_SELECTOR_MAX] = 'a';
    assert_string_equal(sh_mercure_check_selector(big, SH_MERCURE_SELECTOR_MAX + 1),
                        "selector too long (limit 4096 bytes)");
}

static void test_mercure_last_id(void **state)
{
    static char big[SH_MERCURE_LAST_ID_MAX + 1];
    (void)state;
    assert_null(sh_mercure_check_last_id("", 0));
    assert_null(sh_mercure_check_last_id("urn:uuid:1\t2", 12));
    assert_non_null(sh_mercure_check_last_id("a\nb", 3));
    assert_non_null(sh_mercure_check_last_id("a\x7f", 2));
    memset(big, '1', sizeof(big));
    assert_null(sh_mercure_check_last_id(big, SH_MERCURE_LAST_ID_MAX));
    assert_non_null(sh_mercure_check_last_id(big, SH_MERCURE_LAST_ID_MAX + 1));
}

static const char *pub08(const char *id, const char *type)
{
    return sh_mercure_check_publish_08(id, strlen(id), type, strlen(type));
}

static void test_mercure_publish_08(void **state)
{
    (void)state;
    assert_null(pub08("", ""));
    assert_null(pub08("a#b", "message"));
    assert_null(pub08("earliest2", "mercure2"));
    assert_null(pub08("Earliest", "Mercure"));
    assert_non_null(pub08("#1", ""));
    assert_non_null(pub08("#", ""));
    assert_non_null(pub08("earliest", ""));
    assert_non_null(pub08("", "mercure"));
}

static int res(sh_mercure_version_t v, const char *t)
{
    return sh_mercure_topic_reserved(v, t, strlen(t));
}

static void test_mercure_reserved(void **state)
{
    static const char *const both[] = {
        "/.well-known/mercure",
        "/.well-known/mercure/subscriptions/x",
        "/.well-known/mercure?x",
        "https://example.com/.well-known/mercure",
        "https://example.com/.well-known/mercure/subscriptions",
        "https://example.com/.well-known/mercure#f",
    };
    static const char *const only08[] = {
        "mercure", /* relative to the hub's URL */
        "mercure/x",
        "./mercure",
        "../.well-known/mercure",
        "?topic=x", /* the hub's own URL */
        "#f",
        "/a/../.well-known/mercure",
        "/.well-known/./mercure/",
        "/.well-known/%2e/mercure",
        "/x/%2E%2e/.well-known/mercure",
        "https://e.x/a/b/../../.well-known/mercure",
        "https:\\\\e.x\\.well-known\\mercure",
        "//e.x/.well-known/mercure",
        "/.well-known/x/../mercure/y",
    };
    static const char *const neither[] = {
        "/.well-known/mercurex",
        "/.well-known/mercure2/x",
        "https://example.com/books/1",
        "urn:/.well-known/mercure:x",
        "urn:isbn:1",
        "https://example.com",
        "/.well-known/mercure/..",
        "/.well-known/mercure/../x",
        "/.WELL-KNOWN/mercure",
        "/.well-known/%6Dercure",
        "x/../../mercurey",
        "a",
        "books/1",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
        if (!res(SH_MERCURE_07, both[i]) || !res(SH_MERCURE_08, both[i]))
            fail_msg("%s: should be reserved in both versions", both[i]);
    }
    for (i = 0; i < sizeof(only08) / sizeof(only08[0]); i++) {
        if (res(SH_MERCURE_07, only08[i]) || !res(SH_MERCURE_08, only08[i]))
            fail_msg("%s: should be reserved in draft-08 only", only08[i]);
    }
    for (i = 0; i < sizeof(neither) / sizeof(neither[0]); i++) {
        if (res(SH_MERCURE_08, neither[i]))
            fail_msg("%s: should not be reserved in draft-08", neither[i]);
    }
}

static int api(const char *rest, int token_version, size_t *mt_len)
{
    return (int)sh_mercure_subs_api_version(rest, strlen(rest), token_version, mt_len);
}

static void test_mercure_subs_api(void **state)
{
    size_t mt = 99;

    (void)state;
    /* The collection: by the token's version. */
    assert_int_equal(api("", 0, &mt), SH_MERCURE_07);
    assert_int_equal(mt, 0);
    assert_int_equal(api("", 7, &mt), SH_MERCURE_07);
    assert_int_equal(api("", 8, &mt), SH_MERCURE_08);
    assert_int_equal(mt, 0);
    /* Draft-08's {matchType} segment, whatever the token. */
    assert_int_equal(api("/Exact/a", 7, &mt), SH_MERCURE_08);
    assert_int_equal(mt, 6);
    assert_int_equal(api("/URLPattern/a%2Fb/urn%3Ax", 0, &mt), SH_MERCURE_08);
    assert_int_equal(mt, 11);
    /* Draft-07's /{topic}[/{subscriber}], also with a draft-08 token. */
    assert_int_equal(api("/a/b", 8, &mt), SH_MERCURE_07);
    assert_int_equal(mt, 0);
    assert_int_equal(api("/Exact", 8, &mt), SH_MERCURE_07);
    assert_int_equal(api("/Exact/", 8, &mt), SH_MERCURE_07);
    assert_int_equal(api("/exact/a", 8, &mt), SH_MERCURE_07);
    assert_int_equal(api("/Exactly/a", 8, &mt), SH_MERCURE_07);
    assert_int_equal(api("/", 8, &mt), SH_MERCURE_07);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mercure_query_params), cmocka_unit_test(test_mercure_selector_values),
        cmocka_unit_test(test_mercure_last_id),      cmocka_unit_test(test_mercure_publish_08),
        cmocka_unit_test(test_mercure_reserved),     cmocka_unit_test(test_mercure_subs_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
