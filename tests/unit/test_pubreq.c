/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for publish request decoding: the urlencoded form reader (src/proto/form.c)
 * and sh_pubreq_parse() (src/server/pubreq.c) with form and JSON bodies: every field,
 * every refusal and its status, UTF-8 checks, deep JSON nesting, a seeded round trip
 * through both encodings, and allocation failures at every step (jansson's included).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ssehub/ssehub.h"
#include "base/str.h"
#include "proto/form.h"
#include "server/pubreq.h"
#include "support/testutil.h"
#include "support/failalloc.h"

#define S(lit) lit, sizeof(lit) - 1

#define MAX_TOPICS 100

/* Every test runs under the counting allocator and must leave nothing allocated. */
static int setup(void **state)
{
    (void)state;
    sh_failalloc_install();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
    return 0;
}

/* Asserts that |s| holds exactly |want| (|len| bytes), NUL-terminated. */
static void assert_str(const sh_str_t *s, const char *want, size_t len)
{
    assert_non_null(s->ptr);
    if (s->len != len || memcmp(s->ptr, want, len) != 0) {
        print_error("got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"\n", s->len, (int)s->len,
                    s->ptr, len, (int)len, want);
        fail();
    }
    assert_int_equal(s->ptr[len], '\0');
}

#define assert_str_lit(s, lit) assert_str((s), lit, sizeof(lit) - 1)

/* Asserts that |r| is the empty request that a failed parse or a dispose leaves. */
static void assert_empty(const sh_pubreq_t *r)
{
    assert_null(r->topics);
    assert_int_equal(r->ntopics, 0);
    assert_null(r->mem);
    assert_str_lit(&r->data, "");
    assert_str_lit(&r->id, "");
    assert_str_lit(&r->type, "");
    assert_int_equal(r->has_retry, 0);
    assert_int_equal(r->retry, 0);
    assert_int_equal(r->is_private, 0);
}

/* Parses |body|, which must succeed. */
static void parse_ok(sh_pubreq_t *r, sh_pubreq_kind_t kind, const char *body, size_t len,
                     size_t max_topics)
{
    const char *reason = "unset";
    int rc = sh_pubreq_parse(r, kind, body, len, max_topics, &reason);

    if (rc != 0) {
        print_error("%s body \"%.*s\": %d %s\n", kind == SH_PUBREQ_JSON ? "JSON" : "form", (int)len,
                    body, rc, reason);
        fail();
    }
    assert_null(reason);
    assert_true(r->ntopics >= 1 && r->ntopics <= max_topics);
    assert_ptr_equal(r->topics, r->mem);
}

#define form_ok(r, lit) parse_ok((r), SH_PUBREQ_FORM, S(lit), MAX_TOPICS)
#define json_ok(r, lit) parse_ok((r), SH_PUBREQ_JSON, S(lit), MAX_TOPICS)

/* Parses |body|, which must fail with |status| and |want| (compared as text). */
static void parse_fails(sh_pubreq_kind_t kind, const char *body, size_t len, size_t max_topics,
                        int status, const char *want)
{
    sh_pubreq_t r;
    const char *reason = NULL;
    int rc;

    memset(&r, 0xA5, sizeof(r)); /* parse needs no initialised request */
    rc = sh_pubreq_parse(&r, kind, body, len, max_topics, &reason);
    if (rc != status || reason == NULL || strcmp(reason, want) != 0) {
        print_error("%s body \"%.*s\": got %d \"%s\", want %d \"%s\"\n",
                    kind == SH_PUBREQ_JSON ? "JSON" : "form", (int)len, body, rc,
                    reason != NULL ? reason : "(null)", status, want);
        fail();
    }
    assert_empty(&r);
    sh_pubreq_dispose(&r);
    sh_pubreq_dispose(&r);
    assert_empty(&r);
    assert_int_equal(sh_failalloc_live(), 0);
}

#define form_400(lit, why) parse_fails(SH_PUBREQ_FORM, S(lit), MAX_TOPICS, 400, why)
#define json_400(lit, why) parse_fails(SH_PUBREQ_JSON, S(lit), MAX_TOPICS, 400, why)

/* ---- The form reader -------------------------------------------------------------------- */

/* Collects the raw pairs of |s| as "name=value;" into |out|. */
static void pairs_of(const char *s, size_t len, char *out, size_t out_size)
{
    sh_form_iter_t it;
    const char *name, *value;
    size_t name_len, value_len, n = 0;

    out[0] = '\0';
    sh_form_iter_init(&it, s, len);
    while (sh_form_next(&it, &name, &name_len, &value, &value_len)) {
        n += (size_t)snprintf(out + n, out_size - n, "%.*s=%.*s;", (int)name_len, name,
                              (int)value_len, value);
        assert_true(n < out_size);
    }
    /* The end is sticky. */
    assert_int_equal(sh_form_next(&it, &name, &name_len, &value, &value_len), 0);
}

static void test_pubreq_form_split_pairs(void **state)
{
    char got[256];
    sh_form_iter_t it;
    const char *name, *value;
    size_t name_len, value_len;

    (void)state;
    pairs_of(S("a=1&b=2"), got, sizeof(got));
    assert_string_equal(got, "a=1;b=2;");
    /* Empty pieces are skipped, wherever they are. */
    pairs_of(S("&&a=1&&&b=2&"), got, sizeof(got));
    assert_string_equal(got, "a=1;b=2;");
    pairs_of(S("&&&"), got, sizeof(got));
    assert_string_equal(got, "");
    pairs_of(S(""), got, sizeof(got));
    assert_string_equal(got, "");
    /* No '=': an empty value. The first '=' splits; "=" alone is an empty pair. */
    pairs_of(S("flag&x=a=b&=&=v&n="), got, sizeof(got));
    assert_string_equal(got, "flag=;x=a=b;=;=v;n=;");
    /* Nothing is decoded here. */
    pairs_of(S("a%3Db=c%26d&e+f=g+h"), got, sizeof(got));
    assert_string_equal(got, "a%3Db=c%26d;e+f=g+h;");

    /* A NULL input of length 0 has no pairs. */
    sh_form_iter_init(&it, NULL, 0);
    assert_int_equal(sh_form_next(&it, &name, &name_len, &value, &value_len), 0);

    /* A pair without '=' points its empty value at the end of the piece. */
    sh_form_iter_init(&it, S("ab&c"));
    assert_int_equal(sh_form_next(&it, &name, &name_len, &value, &value_len), 1);
    assert_int_equal(name_len, 2);
    assert_int_equal(value_len, 0);
    assert_non_null(value);
}

/* Decodes |lit| and compares with the |want| bytes. */
static void assert_decodes(const char *src, size_t len, const char *want, size_t want_len)
{
    char *dst = malloc(len + 1), *inplace = malloc(len + 1);
    size_t n;

    assert_non_null(dst);
    assert_non_null(inplace);
    n = sh_form_decode(src, len, dst);
    if (n != want_len || memcmp(dst, want, n) != 0) {
        print_error("\"%.*s\" decoded to \"%.*s\"\n", (int)len, src, (int)n, dst);
        fail();
    }
    /* Decoding in place gives the same bytes. */
    memcpy(inplace, src, len);
    assert_int_equal(sh_form_decode(inplace, len, inplace), want_len);
    assert_memory_equal(inplace, want, want_len);
    free(dst);
    free(inplace);
}

#define assert_decodes_lit(src, want) assert_decodes(S(src), S(want))

static void test_pubreq_form_decode(void **state)
{
    (void)state;
    assert_decodes_lit("", "");
    assert_decodes_lit("plain", "plain");
    assert_decodes_lit("a+b++", "a b  ");
    assert_decodes_lit("%41%62%7e%7E", "Ab~~");
    /* %2B is a plus sign, not a space: '+' is replaced before percent-decoding. */
    assert_decodes_lit("%2B+%2b", "+ +");
    assert_decodes_lit("%20", " ");
    assert_decodes_lit("%00", "\0");
    assert_decodes_lit("a%0D%0Ab", "a\r\nb");
    assert_decodes_lit("%C3%A9", "\xc3\xa9");
    assert_decodes_lit("%ff%FE", "\xff\xfe");
    /* Malformed escapes are kept as they are. */
    assert_decodes_lit("%zz", "%zz");
    assert_decodes_lit("%4", "%4");
    assert_decodes_lit("%", "%");
    assert_decodes_lit("%%", "%%");
    assert_decodes_lit("%%41", "%A");
    assert_decodes_lit("%G1%1G", "%G1%1G");
    assert_decodes_lit("a%2", "a%2");
    assert_decodes_lit("%+1", "% 1");
    assert_decodes_lit("%%%", "%%%");
    /* Bytes pass through, NUL included. */
    assert_decodes_lit("\xff\0\n", "\xff\0\n");
}

static void test_pubreq_form_name_is(void **state)
{
    (void)state;
    assert_true(sh_form_name_is(S("topic"), "topic"));
    assert_true(sh_form_name_is(S("%74opic"), "topic"));
    assert_true(sh_form_name_is(S("TOP%69c"), "TOPic"));
    assert_true(sh_form_name_is(S("%74%6F%70%69%63"), "topic"));
    assert_true(sh_form_name_is(S("a+b"), "a b"));
    assert_true(sh_form_name_is(S("a%2Bb"), "a+b"));
    assert_true(sh_form_name_is(S(""), ""));
    assert_false(sh_form_name_is(S("Topic"), "topic"));
    assert_false(sh_form_name_is(S("topi"), "topic"));
    assert_false(sh_form_name_is(S("topics"), "topic"));
    assert_false(sh_form_name_is(S("topic%"), "topic"));
    assert_false(sh_form_name_is(S("%74opi"), "topic"));
    assert_false(sh_form_name_is(S(""), "topic"));
    assert_false(sh_form_name_is(S("x"), ""));
    assert_false(sh_form_name_is(S("topic%00"), "topic"));
}

/* ---- Form bodies ------------------------------------------------------------------------ */

static void test_pubreq_form_all_fields(void **state)
{
    sh_pubreq_t r;

    (void)state;
    form_ok(&r, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=%7B%22a%22%3A+1%7D"
                "&id=urn%3Auuid%3A42&type=update&retry=3000&private=on");
    assert_int_equal(r.ntopics, 1);
    assert_str_lit(&r.topics[0], "https://example.com/books/1");
    assert_str_lit(&r.data, "{\"a\": 1}");
    assert_str_lit(&r.id, "urn:uuid:42");
    assert_str_lit(&r.type, "update");
    assert_true(r.has_retry);
    assert_int_equal(r.retry, 3000);
    assert_true(r.is_private);
    sh_pubreq_dispose(&r);
    assert_empty(&r);
    sh_pubreq_dispose(&r);

    /* Only a topic: everything else is empty or off. */
    form_ok(&r, "topic=t");
    assert_int_equal(r.ntopics, 1);
    assert_str_lit(&r.topics[0], "t");
    assert_str_lit(&r.data, "");
    assert_str_lit(&r.id, "");
    assert_str_lit(&r.type, "");
    assert_false(r.has_retry);
    assert_false(r.is_private);
    sh_pubreq_dispose(&r);
}

static void test_pubreq_form_topics_in_order(void **state)
{
    sh_pubreq_t r;

    (void)state;
    form_ok(&r, "topic=c&data=x&topic=a&other=1&topic=b+b&topic=c");
    assert_int_equal(r.ntopics, 4);
    assert_str_lit(&r.topics[0], "c"); /* the first is canonical */
    assert_str_lit(&r.topics[1], "a");
    assert_str_lit(&r.topics[2], "b b");
    assert_str_lit(&r.topics[3], "c"); /* duplicates are the hub's business */
    assert_str_lit(&r.data, "x");
    sh_pubreq_dispose(&r);

    /* Encoded names count; exactly max_topics is allowed. */
    parse_ok(&r, SH_PUBREQ_FORM, S("%74opic=1&top%69c=2&topic=3"), 3);
    assert_int_equal(r.ntopics, 3);
    assert_str_lit(&r.topics[0], "1");
    assert_str_lit(&r.topics[2], "3");
    sh_pubreq_dispose(&r);
}

static void test_pubreq_form_first_occurrence_wins(void **state)
{
    sh_pubreq_t r;

    (void)state;
    form_ok(&r, "data=first&topic=t&data=second&id=1&id=2&type=a&type=b&retry=5&retry=x"
                "&private=off&private=on");
    assert_str_lit(&r.data, "first");
    assert_str_lit(&r.id, "1");
    assert_str_lit(&r.type, "a");
    assert_true(r.has_retry);
    assert_int_equal(r.retry, 5);
    assert_false(r.is_private);
    sh_pubreq_dispose(&r);
}

static void test_pubreq_form_unknown_fields_and_empty_pieces(void **state)
{
    sh_pubreq_t r;

    (void)state;
    form_ok(&r, "&&foo=%zz&topic=t&&topics=x&Topic=y&data[]=z&bar&=&\xff=\xfe&");
    assert_int_equal(r.ntopics, 1);
    assert_str_lit(&r.topics[0], "t");
    assert_str_lit(&r.data, "");
    sh_pubreq_dispose(&r);
}

static void test_pubreq_form_values_decoded(void **state)
{
    sh_pubreq_t r;

    (void)state;
    /* Data keeps every line break and NUL; malformed escapes stay literal. */
    form_ok(&r, "topic=a%2Bb+c%zz&data=line1%0D%0Aline2%0Aline3%0D%00end%4&id=%C3%A9+1"
                "&type=%2B");
    assert_str_lit(&r.topics[0], "a+b c%zz");
    assert_str(&r.data, "line1\r\nline2\nline3\r\0end%4", 25);
    assert_str_lit(&r.id, "\xc3\xa9 1");
    assert_str_lit(&r.type, "+");
    sh_pubreq_dispose(&r);

    /* Empty values: no data, no id (the hub assigns one), no type. */
    form_ok(&r, "topic=t&data=&id=&type");
    assert_str_lit(&r.data, "");
    assert_str_lit(&r.id, "");
    assert_str_lit(&r.type, "");
    sh_pubreq_dispose(&r);

    /* Raw bytes that are valid UTF-8 are taken as they are. */
    form_ok(&r, "topic=\xe2\x82\xac&data=\xf0\x9f\x98\x80");
    assert_str_lit(&r.topics[0], "\xe2\x82\xac");
    assert_str_lit(&r.data, "\xf0\x9f\x98\x80");
    sh_pubreq_dispose(&r);

    /* A NULL body of length 0 is an empty body. */
    parse_fails(SH_PUBREQ_FORM, NULL, 0, MAX_TOPICS, 400, "missing topic");
}

static void test_pubreq_form_retry(void **state)
{
    sh_pubreq_t r;

    (void)state;
    form_ok(&r, "topic=t&retry=0");
    assert_true(r.has_retry);
    assert_int_equal(r.retry, 0);
    sh_pubreq_dispose(&r);
    form_ok(&r, "topic=t&retry=9007199254740991");
    assert_true(r.has_retry);
    assert_int_equal(r.retry, SH_PUBREQ_RETRY_MAX);
    sh_pubreq_dispose(&r);
    form_ok(&r, "topic=t&retry=%31%32");
    assert_int_equal(r.retry, 12);
    sh_pubreq_dispose(&r);
    form_ok(&r, "topic=t&retry=007");
    assert_int_equal(r.retry, 7);
    sh_pubreq_dispose(&r);
    /* Empty means absent (an HTML form sends its empty inputs). */
    form_ok(&r, "topic=t&retry=");
    assert_false(r.has_retry);
    sh_pubreq_dispose(&r);
    form_ok(&r, "topic=t&retry");
    assert_false(r.has_retry);
    sh_pubreq_dispose(&r);

    form_400("topic=t&retry=9007199254740992", "invalid retry");
    form_400("topic=t&retry=18446744073709551615", "invalid retry");
    form_400("topic=t&retry=18446744073709551616", "invalid retry");
    form_400("topic=t&retry=-1", "invalid retry");
    form_400("topic=t&retry=%2B1", "invalid retry");
    form_400("topic=t&retry=+1", "invalid retry");
    form_400("topic=t&retry=1.5", "invalid retry");
    form_400("topic=t&retry=1e3", "invalid retry");
    form_400("topic=t&retry=abc", "invalid retry");
    form_400("topic=t&retry=%00", "invalid retry");
    form_400("topic=t&retry=%", "invalid retry");
    /* Too long to mean anything, even as leading zeros. */
    form_400("topic=t&retry=00000000000000000000000000000000000000000000000000000000000000001",
             "invalid retry");
}

static void test_pubreq_form_private(void **state)
{
    static const struct {
        const char *body;
        int is_private;
    } cases[] = {
        {"topic=t", 0},
        {"topic=t&private", 1},
        {"topic=t&private=", 1},
        {"topic=t&private=on", 1},
        {"topic=t&private=true", 1},
        {"topic=t&private=1", 1},
        {"topic=t&private=%31", 1},
        {"topic=t&private=off", 0},
        {"topic=t&private=false", 0},
        {"topic=t&private=0", 0},
        {"topic=t&priv%61te=tru%65", 1},
    };
    sh_pubreq_t r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse_ok(&r, SH_PUBREQ_FORM, cases[i].body, strlen(cases[i].body), MAX_TOPICS);
        assert_int_equal(r.is_private, cases[i].is_private);
        sh_pubreq_dispose(&r);
    }
    form_400("topic=t&private=yes", "invalid private");
    form_400("topic=t&private=TRUE", "invalid private");
    form_400("topic=t&private=On", "invalid private");
    form_400("topic=t&private=+", "invalid private");
    form_400("topic=t&private=2", "invalid private");
    form_400("topic=t&private=01", "invalid private");
    form_400("topic=t&private=true%00", "invalid private");
    form_400("topic=t&private=%74%72%75%65%74%72%75%65%74%72%75%65%74%72%75%65%74%72%75%65"
             "%74%72%75%65",
             "invalid private");
}

static void test_pubreq_form_topic_errors(void **state)
{
    (void)state;
    form_400("", "missing topic");
    form_400("&&", "missing topic");
    form_400("data=x&id=1", "missing topic");
    form_400("topics=x&Topic=y&topic%00=z", "missing topic");
    form_400("topic=", "empty topic");
    form_400("topic", "empty topic");
    form_400("topic=a&topic=", "empty topic");
    form_400("topic=%0A", "topic contains a line break or NUL");
    form_400("topic=a%0Db", "topic contains a line break or NUL");
    form_400("topic=a%00", "topic contains a line break or NUL");
    form_400("topic=%FF", "topic is not valid UTF-8");
    form_400("topic=ok&topic=%C3", "topic is not valid UTF-8");
    form_400("topic=\xc0\xaf", "topic is not valid UTF-8");

    parse_fails(SH_PUBREQ_FORM, S("topic=a&topic=b&topic=c"), 2, 400, "too many topics");
    parse_fails(SH_PUBREQ_FORM, S("topic=a"), 0, 400, "too many topics");
}

static void test_pubreq_form_id_type_data_errors(void **state)
{
    sh_pubreq_t r;
    sh_test_text_t body = {0};

    (void)state;
    form_400("topic=t&id=a%0Ab", "id contains a line break or NUL");
    form_400("topic=t&id=a%0D", "id contains a line break or NUL");
    form_400("topic=t&id=%00", "id contains a line break or NUL");
    form_400("topic=t&id=%E2%82", "id is not valid UTF-8");
    form_400("topic=t&id=earliest", "id \"earliest\" is reserved");
    form_400("topic=t&id=%65arliest", "id \"earliest\" is reserved");
    form_400("topic=t&type=a%0Ab", "type contains a line break or NUL");
    form_400("topic=t&type=%0D", "type contains a line break or NUL");
    form_400("topic=t&type=%00", "type contains a line break or NUL");
    /* Other control characters (C0, DEL, C1), as Mercure. */
    form_400("topic=t&id=a%01b", "id contains a control character");
    form_400("topic=t&id=a%7F", "id contains a control character");
    form_400("topic=t&id=%C2%85", "id contains a control character");
    form_400("topic=t&type=a%09b", "type contains a control character");
    form_400("topic=a%1Bb", "topic contains a control character");
    form_400("topic=a%C2%9F", "topic contains a control character");
    form_400("topic=t&type=%ED%A0%80", "type is not valid UTF-8");
    form_400("topic=t&data=%FF", "data is not valid UTF-8");
    form_400("topic=t&data=ok%0A%F0%9F%98", "data is not valid UTF-8");

    /* Not reserved: other spellings of "earliest". */
    form_ok(&r, "topic=t&id=Earliest");
    sh_pubreq_dispose(&r);
    form_ok(&r, "topic=t&id=earliest1");
    sh_pubreq_dispose(&r);

    /* The id limit counts decoded bytes: 256 pass, 257 do not. */
    sh_test_text_str(&body, "topic=t&id=");
    for (int i = 0; i < 128; i++)
        sh_test_text_str(&body, "%C3%A9");
    parse_ok(&r, SH_PUBREQ_FORM, body.s, body.len, MAX_TOPICS);
    assert_int_equal(r.id.len, 256);
    sh_pubreq_dispose(&r);
    sh_test_text_str(&body, "x");
    parse_fails(SH_PUBREQ_FORM, body.s, body.len, MAX_TOPICS, 400, "id is too long");
    sh_test_text_free(&body);
}

/* ---- JSON bodies ------------------------------------------------------------------------ */

static void test_pubreq_json_all_fields(void **state)
{
    sh_pubreq_t r;

    (void)state;
    json_ok(&r, "{\"topic\": \"https://example.com/books/1\", \"data\": \"hello\\nworld\","
                " \"id\": \"urn:uuid:42\", \"type\": \"update\", \"retry\": 3000,"
                " \"private\": true}");
    assert_int_equal(r.ntopics, 1);
    assert_str_lit(&r.topics[0], "https://example.com/books/1");
    assert_str_lit(&r.data, "hello\nworld");
    assert_str_lit(&r.id, "urn:uuid:42");
    assert_str_lit(&r.type, "update");
    assert_true(r.has_retry);
    assert_int_equal(r.retry, 3000);
    assert_true(r.is_private);
    sh_pubreq_dispose(&r);

    json_ok(&r, "{\"topic\":\"t\"}");
    assert_str_lit(&r.topics[0], "t");
    assert_str_lit(&r.data, "");
    assert_str_lit(&r.id, "");
    assert_str_lit(&r.type, "");
    assert_false(r.has_retry);
    assert_false(r.is_private);
    sh_pubreq_dispose(&r);

    /* null counts as absent; unknown members are ignored. */
    json_ok(&r, "{\"topic\":\"t\",\"data\":null,\"id\":null,\"type\":null,\"retry\":null,"
                "\"private\":null,\"extra\":{\"topic\":1}}");
    assert_str_lit(&r.data, "");
    assert_str_lit(&r.id, "");
    assert_false(r.has_retry);
    assert_false(r.is_private);
    sh_pubreq_dispose(&r);

    json_ok(&r, "{\"topic\":\"t\",\"private\":false,\"retry\":0}");
    assert_false(r.is_private);
    assert_true(r.has_retry);
    assert_int_equal(r.retry, 0);
    sh_pubreq_dispose(&r);

    json_ok(&r, "{\"topic\":\"t\",\"retry\":9007199254740991}");
    assert_int_equal(r.retry, SH_PUBREQ_RETRY_MAX);
    sh_pubreq_dispose(&r);
}

static void test_pubreq_json_topics_in_order(void **state)
{
    sh_pubreq_t r;

    (void)state;
    json_ok(&r, "{\"topic\":[\"c\",\"a\",\"b b\",\"c\"]}");
    assert_int_equal(r.ntopics, 4);
    assert_str_lit(&r.topics[0], "c");
    assert_str_lit(&r.topics[1], "a");
    assert_str_lit(&r.topics[2], "b b");
    assert_str_lit(&r.topics[3], "c");
    sh_pubreq_dispose(&r);

    parse_ok(&r, SH_PUBREQ_JSON, S("{\"topic\":[\"1\",\"2\"]}"), 2);
    assert_int_equal(r.ntopics, 2);
    sh_pubreq_dispose(&r);
    parse_fails(SH_PUBREQ_JSON, S("{\"topic\":[\"1\",\"2\",\"3\"]}"), 2, 400, "too many topics");
    parse_fails(SH_PUBREQ_JSON, S("{\"topic\":\"1\"}"), 0, 400, "too many topics");

    /* Escapes are decoded. */
    json_ok(&r, "{\"topic\":\"\\u00e9\\/\\\"\\\\\",\"id\":\"\\u20ac\",\"type\":\"\\u0041\"}");
    assert_str_lit(&r.topics[0], "\xc3\xa9/\"\\");
    assert_str_lit(&r.id, "\xe2\x82\xac");
    assert_str_lit(&r.type, "A");
    sh_pubreq_dispose(&r);
}

static void test_pubreq_json_data_values(void **state)
{
    static const struct {
        const char *body;
        const char *data;
    } cases[] = {
        {"{\"topic\":\"t\",\"data\":{\"a\":1}}", "{\"a\":1}"},
        {"{\"topic\":\"t\",\"data\": { \"a\" : [ 1 , 2 ] ,\n\t\"b\" : \"x y\" } }",
         "{\"a\":[1,2],\"b\":\"x y\"}"},
        /* Numbers keep their spelling (jansson would print 0.10000000000000001). */
        {"{\"topic\":\"t\",\"data\":0.1}", "0.1"},
        {"{\"topic\":\"t\",\"data\":1E2}", "1E2"},
        {"{\"topic\":\"t\",\"data\":-0}", "-0"},
        {"{\"topic\":\"t\",\"data\":12 }", "12"},
        {"{\"data\":12,\"topic\":\"t\"}", "12"},
        {"{\"data\"\r\n:\r\n12\r\n,\"topic\":\"t\"}", "12"},
        {"{\"topic\":\"t\",\"data\":true}", "true"},
        {"{\"topic\":\"t\",\"data\":false}", "false"},
        {"{\"topic\":\"t\",\"data\":[]}", "[]"},
        {"{\"topic\":\"t\",\"data\":{}}", "{}"},
        {"{\"topic\":\"t\",\"data\":[[],{},[[]]]}", "[[],{},[[]]]"},
        /* Strings inside keep their bytes and escapes, spaces included. */
        {"{\"topic\":\"t\",\"data\":{\"s\":\" a\\\" ] } \\\\\",\"u\":\"\\u00e9\\n\"}}",
         "{\"s\":\" a\\\" ] } \\\\\",\"u\":\"\\u00e9\\n\"}"},
        {"{\"topic\":\"t\",\"data\":[\"\\u0000\"]}", "[\"\\u0000\"]"},
        /* Only the top-level member counts, whatever comes before it. */
        {"{\"x\":{\"data\":1},\"topic\":\"data\",\"y\":[\"data\",{\"data\":2}],\"data\":[3]}",
         "[3]"},
        /* A key spelled with escapes is the same key. */
        {"{\"topic\":\"t\",\"d\\u0061ta\":[1]}", "[1]"},
        {"{\"topic\":\"t\",\"\\u0064\\u0061\\u0074\\u0061\":{\"k\":null}}", "{\"k\":null}"},
        {"{\"topic\":\"t\",\"dat\\u00e1\":1,\"data\":2}", "2"},
        /* Keys with every escape come before it; none of them is "data". */
        {"{\"\\b\\f\\n\\r\\t\\/\\\\\\\"\":0,\"\\u0044ata\":1,\"d\\u0041ta\":2,\"dat\":3,"
         "\"datax\":4,\"\":5,\"topic\":\"t\",\"dat\\u0061\":[6]}",
         "[6]"},
        /* A string is used decoded, line breaks and NUL included. */
        {"{\"topic\":\"t\",\"data\":\"a\\r\\nb\"}", "a\r\nb"},
        {"{\"topic\":\"t\",\"data\":\"\\u00e9\\ud83d\\ude00\"}", "\xc3\xa9\xf0\x9f\x98\x80"},
        {"{\"topic\":\"t\",\"data\":\"\"}", ""},
        {" \n{\"topic\":\"t\",\"data\":[1]} \n", "[1]"},
    };
    sh_pubreq_t r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse_ok(&r, SH_PUBREQ_JSON, cases[i].body, strlen(cases[i].body), MAX_TOPICS);
        assert_str(&r.data, cases[i].data, strlen(cases[i].data));
        sh_pubreq_dispose(&r);
    }
    json_ok(&r, "{\"topic\":\"t\",\"data\":\"a\\u0000b\"}");
    assert_str(&r.data, "a\0b", 3);
    sh_pubreq_dispose(&r);
}

static void test_pubreq_json_errors(void **state)
{
    (void)state;
    json_400("", "invalid JSON body");
    json_400(" ", "invalid JSON body");
    json_400("{", "invalid JSON body");
    json_400("{\"topic\":\"t\"", "invalid JSON body");
    json_400("{\"topic\":\"t\"} x", "invalid JSON body");
    json_400("{\"topic\":\"t\"}{}", "invalid JSON body");
    json_400("{\"topic\":'t'}", "invalid JSON body");
    json_400("{topic:\"t\"}", "invalid JSON body");
    json_400("{\"topic\":\"t\",}", "invalid JSON body");
    json_400("{\"topic\":\"\xff\"}", "invalid JSON body");
    json_400("{\"topic\":\"\\ud800\"}", "invalid JSON body");
    json_400("{\"topic\":\"a\nb\"}", "invalid JSON body");
    json_400("{\"topic\":\"t\",\"retry\":99999999999999999999}", "invalid JSON body");
    json_400("{\"topic\":\"t\",\"data\":1e999}", "invalid JSON body");
    json_400("{\"topic\":\"t\",\"data\":NaN}", "invalid JSON body");
    json_400("\xef\xbb\xbf{\"topic\":\"t\"}", "invalid JSON body");
    json_400("{\"a\\u0000\":1,\"topic\":\"t\"}", "invalid JSON body");
    parse_fails(SH_PUBREQ_JSON, NULL, 0, MAX_TOPICS, 400, "invalid JSON body");
    parse_fails(SH_PUBREQ_JSON, "{\"topic\":\"t\"}\0", 14, MAX_TOPICS, 400, "invalid JSON body");

    json_400("{\"topic\":\"a\",\"topic\":\"b\"}", "duplicate key in JSON body");
    json_400("{\"topic\":\"t\",\"data\":{\"k\":1,\"k\":2}}", "duplicate key in JSON body");
    json_400("{\"topic\":\"t\",\"d\\u0061ta\":1,\"data\":2}", "duplicate key in JSON body");

    json_400("[]", "JSON body must be an object");
    json_400("[{\"topic\":\"t\"}]", "JSON body must be an object");
    json_400("\"topic\"", "JSON body must be an object");
    json_400("1", "JSON body must be an object");
    json_400("null", "JSON body must be an object");

    json_400("{}", "missing topic");
    json_400("{\"data\":\"x\"}", "missing topic");
    json_400("{\"topic\":null}", "missing topic");
    json_400("{\"topic\":[]}", "missing topic");
    json_400("{\"Topic\":\"t\"}", "missing topic");
    json_400("{\"topic\":\"\"}", "empty topic");
    json_400("{\"topic\":[\"a\",\"\"]}", "empty topic");
    json_400("{\"topic\":1}", "topic must be a string or an array of strings");
    json_400("{\"topic\":true}", "topic must be a string or an array of strings");
    json_400("{\"topic\":{\"t\":1}}", "topic must be a string or an array of strings");
    json_400("{\"topic\":[\"a\",1]}", "topic must be a string or an array of strings");
    json_400("{\"topic\":[\"a\",null]}", "topic must be a string or an array of strings");
    json_400("{\"topic\":[[\"a\"]]}", "topic must be a string or an array of strings");
    json_400("{\"topic\":\"a\\nb\"}", "topic contains a line break or NUL");
    json_400("{\"topic\":[\"ok\",\"a\\u0000\"]}", "topic contains a line break or NUL");

    json_400("{\"topic\":\"t\",\"id\":1}", "id must be a string");
    json_400("{\"topic\":\"t\",\"id\":[\"x\"]}", "id must be a string");
    json_400("{\"topic\":\"t\",\"id\":\"a\\rb\"}", "id contains a line break or NUL");
    json_400("{\"topic\":\"t\",\"id\":\"a\\u0000b\"}", "id contains a line break or NUL");
    json_400("{\"topic\":\"t\",\"id\":\"earliest\"}", "id \"earliest\" is reserved");
    json_400("{\"topic\":\"t\",\"id\":\"\\u0065arliest\"}", "id \"earliest\" is reserved");
    json_400("{\"topic\":\"t\",\"type\":false}", "type must be a string");
    json_400("{\"topic\":\"t\",\"type\":\"\\n\"}", "type contains a line break or NUL");
    json_400("{\"topic\":\"t\",\"retry\":-1}", "retry must be a non-negative integer");
    json_400("{\"topic\":\"t\",\"retry\":1.0}", "retry must be a non-negative integer");
    json_400("{\"topic\":\"t\",\"retry\":\"5\"}", "retry must be a non-negative integer");
    json_400("{\"topic\":\"t\",\"retry\":true}", "retry must be a non-negative integer");
    json_400("{\"topic\":\"t\",\"retry\":9007199254740992}", "invalid retry");
    json_400("{\"topic\":\"t\",\"retry\":9223372036854775807}", "invalid retry");
    json_400("{\"topic\":\"t\",\"private\":1}", "private must be a boolean");
    json_400("{\"topic\":\"t\",\"private\":\"true\"}", "private must be a boolean");
}

static void test_pubreq_json_id_length(void **state)
{
    sh_test_text_t body = {0};
    sh_pubreq_t r;

    (void)state;
    sh_test_text_str(&body, "{\"topic\":\"t\",\"id\":\"");
    for (int i = 0; i < 128; i++)
        sh_test_text_str(&body, "\\u00e9");
    sh_test_text_str(&body, "\"}");
    parse_ok(&r, SH_PUBREQ_JSON, body.s, body.len, MAX_TOPICS);
    assert_int_equal(r.id.len, 256);
    sh_pubreq_dispose(&r);
    sh_test_text_free(&body);

    sh_test_text_str(&body, "{\"topic\":\"t\",\"id\":\"");
    sh_test_text_fill(&body, 'i', 257);
    sh_test_text_str(&body, "\"}");
    parse_fails(SH_PUBREQ_JSON, body.s, body.len, MAX_TOPICS, 400, "id is too long");
    sh_test_text_free(&body);
}

/*
 * Deep nesting cannot exhaust the stack: jansson refuses more than JSON_PARSER_MAX_DEPTH
 * levels, and the data scanner counts depth instead of recursing.
 */
static void test_pubreq_json_deep_nesting(void **state)
{
    sh_test_text_t body = {0}, want = {0};
    sh_pubreq_t r;

    (void)state;
    sh_test_text_fill(&body, '[', 100000);
    parse_fails(SH_PUBREQ_JSON, body.s, body.len, MAX_TOPICS, 400, "invalid JSON body");
    sh_test_text_fill(&body, ']', 100000);
    parse_fails(SH_PUBREQ_JSON, body.s, body.len, MAX_TOPICS, 400, "invalid JSON body");
    sh_test_text_free(&body);

    sh_test_text_str(&body, "{\"topic\":\"t\",\"data\":");
    sh_test_text_fill(&body, '{', 1);
    for (int i = 0; i < 100000; i++)
        sh_test_text_str(&body, "\"a\":{");
    parse_fails(SH_PUBREQ_JSON, body.s, body.len, MAX_TOPICS, 400, "invalid JSON body");
    sh_test_text_free(&body);

    /* Deep but within jansson's limit: the data comes back as sent. */
    sh_test_text_fill(&want, '[', 2000);
    sh_test_text_fill(&want, ']', 2000);
    sh_test_text_str(&body, "{\"topic\":\"t\",\"data\":");
    sh_test_text_put(&body, want.s, want.len);
    sh_test_text_str(&body, "}");
    parse_ok(&r, SH_PUBREQ_JSON, body.s, body.len, MAX_TOPICS);
    assert_str(&r.data, want.s, want.len);
    sh_pubreq_dispose(&r);
    sh_test_text_free(&body);
    sh_test_text_free(&want);
}

/* ---- Round trip ------------------------------------------------------------------------- */

/* A request's fields, kept by the test. */
typedef struct fields_s {
    sh_test_text_t topics[4];
    size_t ntopics;
    sh_test_text_t data, id, type;
    int has_retry;
    uint64_t retry;
    int is_private;
} fields_t;

/* Random bytes that exercise both encodings: delimiters, escapes, UTF-8, line breaks. */
static void random_text(sh_test_text_t *t, size_t max_len, bool line_breaks)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "0",
                                         " ",
                                         "+",
                                         "%",
                                         "&",
                                         "=",
                                         "\"",
                                         "\\",
                                         "/",
                                         "{",
                                         "]",
                                         ",",
                                         ":",
                                         "%41",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\t",
                                         "\x01"};
    static const char *const breaks[] = {"\n", "\r", "\r\n", "\0"};
    size_t n = sh_test_rng_below(max_len + 1), i;

    for (i = 0; i < n; i++) {
        if (line_breaks && sh_test_rng_below(8) == 0) {
            size_t k = sh_test_rng_below(4);
            sh_test_text_put(t, breaks[k], k == 3 ? 1 : strlen(breaks[k]));
        } else {
            /* Control characters (the last two pieces) only in data: topics, ids and types
             * refuse them. */
            size_t npieces = sizeof(pieces) / sizeof(pieces[0]) - (line_breaks ? 0 : 2);
            sh_test_text_str(t, pieces[sh_test_rng_below(npieces)]);
        }
    }
}

/* Appends |s| form-encoded, with '+' or %20 for spaces and either hex case at random. */
static void form_put(sh_test_text_t *t, const sh_test_text_t *s)
{
    static const char hex_lo[] = "0123456789abcdef", hex_up[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->s[i];
        const char *hex = sh_test_rng_below(2) ? hex_lo : hex_up;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if (c == ' ' && sh_test_rng_below(2))
            sh_test_text_put(t, "+", 1);
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            sh_test_text_put(t, s->s + i, 1);
        else if (c >= 0x80 && sh_test_rng_below(2))
            sh_test_text_put(t, s->s + i, 1); /* raw UTF-8 is fine too */
        else
            sh_test_text_put(t, esc, 3);
    }
}

static void form_field(sh_test_text_t *t, const char *name, const sh_test_text_t *value)
{
    sh_test_text_str(t, "&");
    if (sh_test_rng_below(4) == 0)
        sh_test_text_str(t, "&"); /* an empty piece */
    sh_test_text_str(t, name);
    sh_test_text_str(t, "=");
    form_put(t, value);
}

/* Builds the form body for |f|, with noise fields and in a random field order. */
static void form_body(sh_test_text_t *t, const fields_t *f)
{
    char num[24];
    sh_test_text_t v = {0};
    size_t i;

    for (i = 0; i < f->ntopics; i++) {
        form_field(t, "topic", &f->topics[i]);
        if (sh_test_rng_below(3) == 0)
            sh_test_text_str(t, "&noise=%zz&topics=x");
    }
    form_field(t, "data", &f->data);
    form_field(t, "id", &f->id);
    form_field(t, "type", &f->type);
    if (f->has_retry) {
        sh_test_text_put(&v, num, sh_fmt_u64(num, f->retry));
        form_field(t, "retry", &v);
        sh_test_text_free(&v);
    }
    sh_test_text_str(&v, f->is_private ? "true" : "off");
    form_field(t, sh_test_rng_below(2) ? "private" : "%70rivate", &v);
    sh_test_text_free(&v);
    /* Later duplicates are ignored. */
    sh_test_text_str(t, "&data=ignored&id=ignored");
}

/* Builds the JSON body for |f|; sh_test_text_json() writes the string literals. */
static void json_body(sh_test_text_t *t, const fields_t *f)
{
    char num[24];
    size_t i;

    sh_test_text_str(t, "{\"data\":");
    sh_test_text_json(t, sh_test_text_cstr(&f->data), f->data.len);
    sh_test_text_str(t, ", \"topic\" : ");
    if (f->ntopics == 1 && sh_test_rng_below(2)) {
        sh_test_text_json(t, sh_test_text_cstr(&f->topics[0]), f->topics[0].len);
    } else {
        sh_test_text_str(t, "[");
        for (i = 0; i < f->ntopics; i++) {
            if (i != 0)
                sh_test_text_str(t, ",");
            sh_test_text_json(t, sh_test_text_cstr(&f->topics[i]), f->topics[i].len);
        }
        sh_test_text_str(t, "]");
    }
    sh_test_text_str(t, ",\"id\":");
    sh_test_text_json(t, sh_test_text_cstr(&f->id), f->id.len);
    sh_test_text_str(t, ",\"type\":");
    sh_test_text_json(t, sh_test_text_cstr(&f->type), f->type.len);
    if (f->has_retry) {
        sh_test_text_str(t, ",\"retry\":");
        sh_test_text_put(t, num, sh_fmt_u64(num, f->retry));
    }
    sh_test_text_str(t, f->is_private ? ",\"private\":true}" : "}");
}

static void assert_fields(const sh_pubreq_t *r, const fields_t *f)
{
    size_t i;

    assert_int_equal(r->ntopics, f->ntopics);
    for (i = 0; i < f->ntopics; i++)
        assert_str(&r->topics[i], sh_test_text_cstr(&f->topics[i]), f->topics[i].len);
    assert_str(&r->data, sh_test_text_cstr(&f->data), f->data.len);
    assert_str(&r->id, sh_test_text_cstr(&f->id), f->id.len);
    assert_str(&r->type, sh_test_text_cstr(&f->type), f->type.len);
    assert_int_equal(r->has_retry, f->has_retry);
    if (f->has_retry)
        assert_int_equal(r->retry, f->retry);
    assert_int_equal(r->is_private, f->is_private);
}

static void fields_free(fields_t *f)
{
    size_t i;

    for (i = 0; i < 4; i++)
        sh_test_text_free(&f->topics[i]);
    sh_test_text_free(&f->data);
    sh_test_text_free(&f->id);
    sh_test_text_free(&f->type);
}

/* Random valid requests, encoded both ways, decode to what was encoded. */
static void test_pubreq_roundtrip_random(void **state)
{
    sh_pubreq_t r;
    size_t i, k;

    (void)state;
    sh_test_rng_seed(20240611);
    for (k = 0; k < 2000; k++) {
        fields_t f = {0};
        sh_test_text_t form = {0}, json = {0};

        f.ntopics = 1 + sh_test_rng_below(4);
        for (i = 0; i < f.ntopics; i++) {
            while (f.topics[i].len == 0)
                random_text(&f.topics[i], 12, false);
        }
        random_text(&f.data, 40, true);
        random_text(&f.id, 10, false);
        random_text(&f.type, 10, false);
        f.has_retry = (int)sh_test_rng_below(2);
        f.retry = sh_test_rng_next() & SH_PUBREQ_RETRY_MAX;
        f.is_private = (int)sh_test_rng_below(2);

        form_body(&form, &f);
        parse_ok(&r, SH_PUBREQ_FORM, form.s, form.len, 4);
        assert_fields(&r, &f);
        sh_pubreq_dispose(&r);

        json_body(&json, &f);
        parse_ok(&r, SH_PUBREQ_JSON, json.s, json.len, 4);
        assert_fields(&r, &f);
        sh_pubreq_dispose(&r);
        sh_test_text_free(&json);

        sh_test_text_free(&form);
        fields_free(&f);
    }
}

/* ---- Allocation failures ---------------------------------------------------------------- */

/*
 * Lets 0, 1, 2, ... allocations succeed until the parse does: each earlier try must fail
 * with 500 "out of memory", leave |r| empty and nothing allocated. Returns how many tries
 * failed.
 */
static size_t oom_loop(sh_pubreq_kind_t kind, const char *body, size_t len, int final_status,
                       const char *final_reason)
{
    sh_pubreq_t r, ref;
    const char *reason;
    size_t n, i;
    int rc;

    rc = sh_pubreq_parse(&ref, kind, body, len, MAX_TOPICS, &reason);
    assert_int_equal(rc, final_status);
    for (n = 0;; n++) {
        sh_failalloc_fail_after((long)n);
        rc = sh_pubreq_parse(&r, kind, body, len, MAX_TOPICS, &reason);
        sh_failalloc_fail_after(-1);
        if (rc != 500)
            break;
        assert_string_equal(reason, "out of memory");
        assert_empty(&r);
        sh_pubreq_dispose(&r);
        assert_int_equal(sh_failalloc_live(), ref.mem != NULL ? 1 : 0);
        assert_true(n < 1000);
    }
    assert_int_equal(rc, final_status);
    if (rc != 0) {
        assert_string_equal(reason, final_reason);
    } else {
        assert_int_equal(r.ntopics, ref.ntopics);
        for (i = 0; i < r.ntopics; i++)
            assert_str(&r.topics[i], ref.topics[i].ptr, ref.topics[i].len);
        assert_str(&r.data, ref.data.ptr, ref.data.len);
        assert_str(&r.id, ref.id.ptr, ref.id.len);
        assert_str(&r.type, ref.type.ptr, ref.type.len);
    }
    sh_pubreq_dispose(&r);
    sh_pubreq_dispose(&ref);
    assert_int_equal(sh_failalloc_live(), 0);
    return n;
}

static void test_pubreq_oom(void **state)
{
    (void)state;
    /* Form bodies make exactly one allocation. */
    assert_int_equal(oom_loop(SH_PUBREQ_FORM, S("topic=a&topic=b&data=x&id=1&retry=5"), 0, NULL),
                     1);
    assert_int_equal(oom_loop(SH_PUBREQ_FORM, S("topic=a&retry=x"), 400, "invalid retry"), 0);
    assert_int_equal(oom_loop(SH_PUBREQ_FORM, S("topic=%FF"), 400, "topic is not valid UTF-8"), 1);

    /* JSON: jansson's allocations fail too (sh_pubreq_global_init routed them). */
    assert_true(oom_loop(SH_PUBREQ_JSON,
                         S("{\"topic\":[\"a\",\"b\"],\"data\":{\"k\":[1,2,{\"x\":\"y\"}]},"
                           "\"id\":\"1\",\"type\":\"t\",\"retry\":5,\"private\":true}"),
                         0, NULL) > 5);
    assert_true(oom_loop(SH_PUBREQ_JSON, S("{\"topic\":\"a\",\"data\":\"x\"}"), 0, NULL) > 2);
    assert_true(oom_loop(SH_PUBREQ_JSON, S("{\"topic\":1}"), 400,
                         "topic must be a string or an array of strings") > 0);
    assert_true(
        oom_loop(SH_PUBREQ_JSON, S("{\"a\":1,\"a\":2}"), 400, "duplicate key in JSON body") > 0);
    assert_true(oom_loop(SH_PUBREQ_JSON, S("{\"topic\":\"t\",\"id\":\"earliest\"}"), 400,
                         "id \"earliest\" is reserved") > 0);
    oom_loop(SH_PUBREQ_JSON, S("[1,2,"), 400, "invalid JSON body");

    /*
     * Long tokens, whose saved text jansson grows as it lexes: a refused block there would
     * make jansson assert or read past its buffer (akheron/jansson#362), so it gets one
     * from libc and the parse answers 500.
     */
    assert_true(oom_loop(SH_PUBREQ_JSON,
                         S("{\"topic\":\"0123456789012345678901234567890123456789\","
                           "\"data\":[123456789012345678901234567890123456789.5]}"),
                         0, NULL) > 3);
    assert_true(oom_loop(SH_PUBREQ_JSON,
                         S("{\"topic\":pppppppppppppppppppppppppppppppppppppppppppp}"), 400,
                         "invalid JSON body") > 0);
}

/* ---- The API's promises ----------------------------------------------------------------- */

static void test_pubreq_api_reason_optional_and_reuse(void **state)
{
    sh_pubreq_t r;

    (void)state;
    assert_int_equal(sh_pubreq_parse(&r, SH_PUBREQ_FORM, S("topic=t"), MAX_TOPICS, NULL), 0);
    sh_pubreq_dispose(&r);
    assert_int_equal(sh_pubreq_parse(&r, SH_PUBREQ_FORM, S("x"), MAX_TOPICS, NULL), 400);
    assert_empty(&r);
    assert_int_equal(sh_pubreq_parse(&r, SH_PUBREQ_JSON, S("x"), MAX_TOPICS, NULL), 400);
    assert_empty(&r);

    /* A request is reusable after dispose; SIZE_MAX means no topic limit. */
    parse_ok(&r, SH_PUBREQ_JSON, S("{\"topic\":[\"a\",\"b\",\"c\"]}"), SIZE_MAX);
    assert_int_equal(r.ntopics, 3);
    sh_pubreq_dispose(&r);
    parse_ok(&r, SH_PUBREQ_FORM, S("topic=z"), SIZE_MAX);
    assert_str_lit(&r.topics[0], "z");
    sh_pubreq_dispose(&r);
    assert_empty(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pubreq_form_split_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_name_is, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_all_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_topics_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_first_occurrence_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_unknown_fields_and_empty_pieces, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_values_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_topic_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_form_id_type_data_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_json_all_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_json_topics_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_json_data_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_json_id_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_json_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_roundtrip_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pubreq_api_reason_optional_and_reuse, setup, teardown),
    };

    /* Once, as the server does: jansson allocates through sh_malloc, so failalloc sees it. */
    sh_pubreq_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
