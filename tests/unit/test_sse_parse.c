/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the event-stream parser: every rule of the WHATWG HTML "parsing an event
 * stream" algorithm, the size limits, the sticky errors, the API and bounded memory.
 * Most inputs go through sh_test_assert_parse(), which checks the same transcript for the
 * whole input, for one byte at a time and for every split into two chunks.
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

#include "ssehub/sse.h"
#include "support/testutil.h"
#include "support/failalloc.h"
#include "support/transcript.h"

/* Expected transcript lines, in ssecat's format (see tests/support/transcript.c). */
#define EV(type, data, id) "{\"event\": \"" type "\", \"data\": \"" data "\", \"id\": \"" id "\"}\n"
#define MSG(data)          EV("message", data, "")
#define RETRY(digits)      "{\"retry\": " digits "}\n"
#define ERR(name)          "error " name "\n"

/* U+FFFD REPLACEMENT CHARACTER and U+FEFF (a BOM once decoded), as UTF-8. */
#define FFFD "\xEF\xBF\xBD"
#define FEFF "\xEF\xBB\xBF"

/* Asserts the transcript of the string literal |in| for every chunking. */
#define CHECK(in, expected) sh_test_assert_parse(in, sizeof(in) - 1, 0, expected)
#define CHECK_MAX(in, max_size, expected) \
    sh_test_assert_parse(in, sizeof(in) - 1, max_size, expected)

/* Feeds the string literal |lit| to |p|. */
#define PARSE(p, lit) ssehub_sse_parse(p, lit, sizeof(lit) - 1)

/* ---- A recorder for the tests that drive the parser directly. ------------------------ */

/*
 * Builds the same transcript as tests/support/transcript.c, with libc's allocator so the
 * counting test allocator sees the parser's memory only, and can cancel on demand.
 */
typedef struct rec_s {
    sh_test_text_t text; /* the transcript */
    int events;          /* events seen */
    int retries;         /* retry fields seen */
    int cancel_event;    /* return non-zero from this event on (1-based); 0: never */
    int cancel_retry;    /* the same for retry fields */
} rec_t;

/* Returns the transcript so far, "" while empty. */
static const char *rec_text(const rec_t *r)
{
    return sh_test_text_cstr(&r->text);
}

static void rec_dispose(rec_t *r)
{
    sh_test_text_free(&r->text);
    memset(r, 0, sizeof(*r));
}

static int rec_on_event(void *user, const ssehub_sse_event_t *ev)
{
    rec_t *r = user;

    assert_non_null(ev->type);
    assert_non_null(ev->data);
    assert_non_null(ev->id);
    assert_false(ev->has_retry);
    r->events++;
    sh_test_text_event(&r->text, ev->type, ev->type_len, ev->data, ev->data_len, ev->id,
                       ev->id_len);
    return r->cancel_event != 0 && r->events >= r->cancel_event;
}

static int rec_on_retry(void *user, uint64_t retry_ms)
{
    rec_t *r = user;

    r->retries++;
    sh_test_text_retry(&r->text, retry_ms);
    return r->cancel_retry != 0 && r->retries >= r->cancel_retry;
}

/* Creates a parser recording into |r|; max_size 0 is the default. */
static ssehub_sse_parser_t *rec_parser(rec_t *r, size_t max_size)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;

    settings.max_size = max_size;
    settings.on_event = rec_on_event;
    settings.on_retry = rec_on_retry;
    settings.user = r;
    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    assert_non_null(p);
    return p;
}

/* Asserts the last event ID of |p|. */
static void assert_last_id(const ssehub_sse_parser_t *p, const char *expected)
{
    size_t len = 0;
    const char *id = ssehub_sse_parser_last_event_id(p, &len);

    assert_non_null(id);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(id, expected, len);
}

/*
 * Asserts that |in| fed with |rounds| random chunkings (up to |max_cuts| cuts each) gives
 * |expected|.
 */
static void assert_random_chunks(const char *in, size_t len, size_t max_size, const char *expected,
                                 int rounds, size_t max_cuts)
{
    size_t *cuts = calloc(max_cuts, sizeof(*cuts));
    int round;

    assert_non_null(cuts);
    for (round = 0; round < rounds && len > 1; round++) {
        size_t want = 1 + sh_test_rng_below(max_cuts), n = 0, i;
        char *got;

        /* Draw |want| positions in 1..len-1, then sort and drop duplicates. */
        for (i = 0; i < want; i++)
            cuts[i] = 1 + sh_test_rng_below(len - 1);
        for (i = 1; i < want; i++) {
            size_t v = cuts[i], j = i;
            while (j > 0 && cuts[j - 1] > v) {
                cuts[j] = cuts[j - 1];
                j--;
            }
            cuts[j] = v;
        }
        for (i = 0; i < want; i++) {
            if (n == 0 || cuts[i] != cuts[n - 1])
                cuts[n++] = cuts[i];
        }
        got = sh_test_transcript(in, len, max_size, cuts, n);
        assert_non_null(got);
        if (strcmp(got, expected) != 0)
            print_error("random chunking %d (%zu cuts) differs\n", round, n);
        assert_string_equal(got, expected);
        free(got);
    }
    free(cuts);
}

/* ---- Byte order mark. ------------------------------------------------------------------ */

static void test_sse_parse_bom_stripped(void **state)
{
    CHECK(FEFF "data: x\n\n", MSG("x"));
    CHECK(FEFF "\ndata: x\n\n", MSG("x"));
    CHECK(FEFF "\r\ndata: x\r\n\r\n", MSG("x"));
    CHECK(FEFF ": comment\ndata: x\n\n", MSG("x"));
    CHECK(FEFF, "");
    CHECK(FEFF "\n", "");
}

static void test_sse_parse_bom_only_one_stripped(void **state)
{
    /* The second U+FEFF is an ordinary character: it starts the field name "\uFEFFdata". */
    CHECK(FEFF FEFF "data: x\n\n", "");
    CHECK(FEFF FEFF "\ndata: x\n\n", MSG("x"));
    /* In a value it is data like any other character. */
    CHECK(FEFF "data: " FEFF "\n\n", MSG(FEFF));
    CHECK("data: " FEFF "x\n\n", MSG(FEFF "x"));
    CHECK(FEFF "event: " FEFF "\ndata: x\n\n", EV(FEFF, "x", ""));
}

static void test_sse_parse_bom_partial(void **state)
{
    /*
     * EF BB is the maximal subpart of a three-byte sequence cut by 'd': the decoder turns it
     * into one U+FFFD, giving the unknown field name "\uFFFDdata".
     */
    CHECK("\xEF\xBB"
          "data: x\n\n",
          "");
    CHECK("\xEF"
          "data: x\n\n",
          "");
    CHECK("\xEF\xBB\ndata: x\n\n", MSG("x"));
    CHECK("\xEF\ndata: x\n\n", MSG("x"));
    CHECK("\xEF\xBB\rdata: x\r\r", MSG("x"));
    /* EF BB then a whole BOM: U+FFFD U+FEFF, one unknown field. */
    CHECK("\xEF\xBB" FEFF "data: x\n\n", "");
    CHECK("\xEF\xBB" FEFF "\ndata: x\n\n", MSG("x"));
    /* EF then a whole BOM: the first EF is not a BOM, the rest is U+FEFF. */
    CHECK("\xEF" FEFF "\ndata: x\n\n", MSG("x"));
    /* EF BF BD is U+FFFD itself, not a BOM. */
    CHECK(FFFD "\ndata: x\n\n", MSG("x"));
    /* A stream made of a partial BOM only. */
    CHECK("\xEF\xBB", "");
}

static void test_sse_parse_bom_after_first_line(void **state)
{
    CHECK("data: a\n" FEFF "data: b\n\n", MSG("a"));
    CHECK(":\n" FEFF "data: b\n\n", "");
    CHECK("\n" FEFF "data: b\n\n", "");
    CHECK("\r" FEFF "data: b\n\n", "");
    CHECK("data: a\n\n" FEFF "data: b\n\n" FEFF "\ndata: c\n\n", MSG("a") MSG("c"));
}

/* ---- Line ends. ------------------------------------------------------------------------ */

static void test_sse_parse_line_ends_lf_cr_crlf(void **state)
{
    CHECK("data: a\n\n", MSG("a"));
    CHECK("data: a\r\r", MSG("a"));
    CHECK("data: a\r\n\r\n", MSG("a"));
    CHECK("data: a\ndata: b\n\n", MSG("a\\nb"));
    CHECK("data: a\rdata: b\r\r", MSG("a\\nb"));
    CHECK("data: a\r\ndata: b\r\n\r\n", MSG("a\\nb"));
}

static void test_sse_parse_line_ends_mixed(void **state)
{
    CHECK("data: a\rdata: b\ndata: c\r\ndata: d\n\r\n", MSG("a\\nb\\nc\\nd"));
    CHECK("data: a\r\n\n", MSG("a"));
    CHECK("data: a\n\r\n", MSG("a"));
    CHECK("data: a\n\r", MSG("a"));
    CHECK("data: a\r\n\r", MSG("a"));
    /* LF CR is two line ends, not one. */
    CHECK("data: a\n\rdata: b\n\n", MSG("a") MSG("b"));
    /* Each CR of CR CR ends a line: the second one is a blank line. */
    CHECK("data: a\r\rdata: b\n\n", MSG("a") MSG("b"));
    CHECK("event: e\r\ndata: 1\rid: 7\n\r\ndata: 2\r\r", EV("e", "1", "7") EV("message", "2", "7"));
}

static void test_sse_parse_crlf_split_across_chunks(void **state)
{
    static const char in1[] = "data: a\r\n\ndata: b\r\n\r\n";
    static const size_t cuts1[] = {8}; /* "data: a\r" | "\n\n..." */
    static const size_t cuts2[] = {8, 9, 19, 20};
    static const char in2[] = "data: a\r\rdata: b\n\n";
    static const size_t cuts3[] = {8}; /* "data: a\r" | "\rdata..." */
    rec_t r = {0};
    ssehub_sse_parser_t *p;
    char *got;

    got = sh_test_transcript(in1, sizeof(in1) - 1, 0, cuts1, 1);
    assert_non_null(got);
    assert_string_equal(got, MSG("a") MSG("b"));
    free(got);
    got = sh_test_transcript(in1, sizeof(in1) - 1, 0, cuts2, 4);
    assert_non_null(got);
    assert_string_equal(got, MSG("a") MSG("b"));
    free(got);
    got = sh_test_transcript(in2, sizeof(in2) - 1, 0, cuts3, 1);
    assert_non_null(got);
    assert_string_equal(got, MSG("a") MSG("b"));
    free(got);

    /* An empty chunk between CR and LF does not break the CRLF. */
    p = rec_parser(&r, 0);
    assert_int_equal(PARSE(p, "data: a\r"), 8);
    assert_int_equal(ssehub_sse_parse(p, "", 0), 0);
    assert_int_equal(ssehub_sse_parse(p, NULL, 0), 0);
    assert_int_equal(PARSE(p, "\n"), 1);
    assert_string_equal(rec_text(&r), "");
    assert_int_equal(PARSE(p, "\n"), 1);
    assert_string_equal(rec_text(&r), MSG("a"));
    /* A CR ends its line at once: the event fires before the LF arrives. */
    assert_int_equal(PARSE(p, "data: b\r\r"), 9);
    assert_string_equal(rec_text(&r), MSG("a") MSG("b"));
    assert_int_equal(PARSE(p, "\ndata: c\n\n"), 10);
    assert_string_equal(rec_text(&r), MSG("a") MSG("b") MSG("c"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_whitespace_line_is_not_blank(void **state)
{
    CHECK("data: x\n \ndata: y\n\n", MSG("x\\ny"));
    CHECK("data: x\n\t\n\n", MSG("x"));
    CHECK(" \n\n", "");
}

/* ---- Comments and fields. ---------------------------------------------------------------- */

static void test_sse_parse_comment_ignored(void **state)
{
    CHECK(": hello\n\n", "");
    CHECK(":\n\n", "");
    CHECK(":\r:\r\n:\n", "");
    CHECK("::\n", "");
    CHECK(": data: x\n\n", "");
    CHECK(":data: x\n\n", "");
    CHECK("data: a\n: c\ndata: b\n\n", MSG("a\\nb"));
    CHECK("data: a\n:\ndata: b\n:\n\n", MSG("a\\nb"));
    CHECK(":\ndata: x\n:\n\n", MSG("x"));
    /* A comment is not a blank line: it does not dispatch. */
    CHECK("data: a\n:\n", "");
    CHECK(": only heartbeats\n:\n: \n", "");
}

static void test_sse_parse_field_without_colon(void **state)
{
    CHECK("data\n\n", MSG(""));
    CHECK("data\ndata\n\n", MSG("\\n"));
    CHECK("data\ndata: x\n\n", MSG("\\nx"));
    CHECK("data: x\ndata\n\n", MSG("x\\n"));
    CHECK("data\r\r", MSG(""));
    CHECK("event\ndata: x\n\n", MSG("x"));
    CHECK("event: e\nevent\ndata: x\n\n", MSG("x"));
    CHECK("id: 1\nid\ndata: x\n\n", MSG("x"));
    CHECK("retry\ndata: x\n\n", MSG("x"));
}

static void test_sse_parse_value_leading_space(void **state)
{
    CHECK("data:x\n\n", MSG("x"));
    CHECK("data: x\n\n", MSG("x"));
    CHECK("data:  x\n\n", MSG(" x"));
    CHECK("data:   x\n\n", MSG("  x"));
    CHECK("data: \n\n", MSG(""));
    CHECK("data:  \n\n", MSG(" "));
    CHECK("data:\t x\n\n", MSG("\\t x"));
    CHECK("data: x \n\n", MSG("x "));
    CHECK("data: a: b\n\n", MSG("a: b"));
    CHECK("data::\n\n", MSG(":"));
    CHECK("event:  foo\ndata: x\n\n", EV(" foo", "x", ""));
    CHECK("event:foo\ndata: x\n\n", EV("foo", "x", ""));
    CHECK("id:  1\ndata: x\n\n", EV("message", "x", " 1"));
    CHECK("id:1\ndata: x\n\n", EV("message", "x", "1"));
}

static void test_sse_parse_unknown_field_ignored(void **state)
{
    CHECK("foo: bar\ndata: x\n\n", MSG("x"));
    CHECK("foo\n\n", "");
    CHECK("foo: bar\n\n", "");
    CHECK("dat: x\n\n", "");
    CHECK("datas: x\n\n", "");
    CHECK("data\0: x\n\n", "");
    /* Field names are case-sensitive. */
    CHECK("Data: x\n\n", "");
    CHECK("DATA: x\n\n", "");
    CHECK("Event: e\ndata: x\n\n", MSG("x"));
    CHECK("ID: 1\ndata: x\n\n", MSG("x"));
    CHECK("Retry: 5\nRETRY: 5\n", "");
    /* A space is part of the name: "data " and " data" are unknown. */
    CHECK("data :x\n\n", "");
    CHECK(" data: x\n\n", "");
    CHECK("event :e\ndata: x\n\n", MSG("x"));
    CHECK("id :1\ndata: x\n\n", MSG("x"));
    CHECK("retry :5\n", "");
    /* An unknown field does not disturb the event around it. */
    CHECK("data: a\nfoo: b\ndata: c\n\n", MSG("a\\nc"));
}

/* ---- Event type. ---------------------------------------------------------------------- */

static void test_sse_parse_event_type(void **state)
{
    CHECK("event: foo\ndata: x\n\n", EV("foo", "x", ""));
    CHECK("data: x\nevent: late\n\n", EV("late", "x", ""));
    CHECK("event: a\nevent: b\ndata: x\n\n", EV("b", "x", ""));
    CHECK("event: message\ndata: x\n\n", MSG("x"));
    CHECK("event: a b:c\ndata: x\n\n", EV("a b:c", "x", ""));
}

static void test_sse_parse_event_type_reset_after_dispatch(void **state)
{
    CHECK("event: foo\ndata: a\n\ndata: b\n\n", EV("foo", "a", "") MSG("b"));
    CHECK("event: foo\ndata: a\n\nevent: bar\ndata: b\n\n", EV("foo", "a", "") EV("bar", "b", ""));
}

static void test_sse_parse_event_type_empty(void **state)
{
    CHECK("event:\ndata: x\n\n", MSG("x"));
    CHECK("event: \ndata: x\n\n", MSG("x"));
    CHECK("event: foo\nevent:\ndata: x\n\n", MSG("x"));
}

static void test_sse_parse_event_type_without_data(void **state)
{
    /* No data: nothing fires, and the type is forgotten. */
    CHECK("event: a\n\ndata: x\n\n", MSG("x"));
    CHECK("event: a\n\n", "");
    CHECK("event: a\n:\n\ndata: x\n\n", MSG("x"));
    CHECK("event: a\n\r\nevent: b\n\rdata: x\r\r", MSG("x"));
}

/* ---- Last event ID. ---------------------------------------------------------------------- */

static void test_sse_parse_id_sets_last_event_id(void **state)
{
    CHECK("id: 1\ndata: x\n\n", EV("message", "x", "1"));
    CHECK("data: x\nid: 3\n\n", EV("message", "x", "3"));
    CHECK("id: 1\nid: 2\ndata: x\n\n", EV("message", "x", "2"));
    CHECK("id: a:b c\ndata: x\n\n", EV("message", "x", "a:b c"));
    CHECK("id: 1\nevent: e\ndata: x\n\n", EV("e", "x", "1"));
}

static void test_sse_parse_id_persists(void **state)
{
    CHECK("id: 1\ndata: a\n\ndata: b\n\n", EV("message", "a", "1") EV("message", "b", "1"));
    CHECK("id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\n",
          EV("message", "a", "1") EV("message", "b", "2") EV("message", "c", "2"));
}

static void test_sse_parse_id_empty_resets(void **state)
{
    CHECK("id: 1\ndata: a\n\nid:\ndata: b\n\n", EV("message", "a", "1") MSG("b"));
    CHECK("id: 1\ndata: a\n\nid\ndata: b\n\n", EV("message", "a", "1") MSG("b"));
    CHECK("id: 1\ndata: a\n\nid: \ndata: b\n\n", EV("message", "a", "1") MSG("b"));
    /* An id with a NUL is ignored, so it does not reset to empty either. */
    CHECK("id: 1\nid: \0\ndata: a\n\n", EV("message", "a", "1"));
}

static void test_sse_parse_id_with_nul_ignored(void **state)
{
    CHECK("id: 1\ndata: a\n\nid: 2\0"
          "x\ndata: b\n\n",
          EV("message", "a", "1") EV("message", "b", "1"));
    CHECK("id: \0\ndata: b\n\n", MSG("b"));
    CHECK("id: 5\nid: 6\0\ndata: b\n\n", EV("message", "b", "5"));
    /* NUL elsewhere is fine. */
    CHECK("data: a\0"
          "b\n\n",
          MSG("a\\u0000b"));
    CHECK("event: \0\ndata: x\n\n", EV("\\u0000", "x", ""));
}

static void test_sse_parse_id_without_data_updates_last_id(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p;

    CHECK("id: 1\n\ndata: x\n\n", EV("message", "x", "1"));
    CHECK("id: 1\n\nid\n\ndata: x\n\n", MSG("x"));
    CHECK("id: 1\ndata: a\n\nid: 2\n\ndata: b\n\n",
          EV("message", "a", "1") EV("message", "b", "2"));

    p = rec_parser(&r, 0);
    assert_int_equal(PARSE(p, "id: 7\n\n"), 7);
    assert_string_equal(rec_text(&r), "");
    assert_last_id(p, "7");
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

/* ---- Retry. ------------------------------------------------------------------------------ */

static void test_sse_parse_retry_valid(void **state)
{
    CHECK("retry: 3000\n", RETRY("3000"));
    CHECK("retry:3000\n", RETRY("3000"));
    CHECK("retry: 0\n", RETRY("0"));
    CHECK("retry: 007\n", RETRY("7"));
    CHECK("retry: 3000000000\n", RETRY("3000000000"));
    CHECK("retry: 18446744073709551615\n", RETRY("18446744073709551615"));
    CHECK("retry: 000000000000000000000000018446744073709551615\n", RETRY("18446744073709551615"));
    CHECK("retry: 1\rretry: 2\r\nretry: 3\n", RETRY("1") RETRY("2") RETRY("3"));
    /* A retry field fires on its own line: it needs no blank line, and no data. */
    CHECK("retry: 5\r", RETRY("5"));
    CHECK("retry: 5", "");
}

static void test_sse_parse_retry_invalid_ignored(void **state)
{
    static const char *const bad[] = {
        "retry: 1a\n",
        "retry: a1\n",
        "retry: -1\n",
        "retry: +1\n",
        "retry: 1.5\n",
        "retry: 1e3\n",
        "retry: 0x10\n",
        "retry:  100\n", /* the value is " 100" */
        "retry: 100 \n",
        "retry: 1 0\n",
        "retry:\t100\n",
        "retry:\n",
        "retry: \n",
        "retry\n",
        "retry: 18446744073709551616\n",
        "retry: 99999999999999999999\n",
        "retry: 100000000000000000000000\n",
        "retry: \xEF\xBC\x91\n", /* U+FF11 FULLWIDTH DIGIT ONE */
        "retry: \xD9\xA1\n",     /* U+0661 ARABIC-INDIC DIGIT ONE */
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char in[64];
        int n = snprintf(in, sizeof(in), "%sdata: x\n\n", bad[i]);

        assert_true(n > 0 && (size_t)n < sizeof(in));
        sh_test_assert_parse(bad[i], strlen(bad[i]), 0, "");
        sh_test_assert_parse(in, (size_t)n, 0, MSG("x"));
    }
    CHECK("retry: 1\0\n", "");
}

static void test_sse_parse_retry_in_stream_order(void **state)
{
    CHECK("data: a\n\nretry: 10\ndata: b\nretry: 20\n\nretry: 30\n",
          MSG("a") RETRY("10") RETRY("20") MSG("b") RETRY("30"));
    /* A retry inside an event does not disturb the event. */
    CHECK("event: e\nid: 1\nretry: 5\ndata: x\n\n", RETRY("5") EV("e", "x", "1"));
}

/* ---- Dispatch and the data buffer. ------------------------------------------------------ */

static void test_sse_parse_empty_data_not_dispatched(void **state)
{
    CHECK("\n", "");
    CHECK("\n\n\n", "");
    CHECK("\r\n\r\n", "");
    CHECK("event: a\nid: 1\n\n", "");
    CHECK("\n\ndata: x\n\n\n\n", MSG("x"));
    CHECK("data: x\n\n\n\ndata: y\n\n", MSG("x") MSG("y"));
}

static void test_sse_parse_data_lines_joined(void **state)
{
    CHECK("data: a\ndata: b\ndata: c\n\n", MSG("a\\nb\\nc"));
    CHECK("data: a\ndata:\n\n", MSG("a\\n"));
    CHECK("data:\ndata: a\n\n", MSG("\\na"));
    /* Only one trailing LF goes. */
    CHECK("data: a\ndata\ndata\n\n", MSG("a\\n\\n"));
    CHECK("data:\ndata:\n\n", MSG("\\n"));
    /* CR and LF cannot be in a value, other controls can. */
    CHECK("data: \x01\x1f\x7f\b\f\n\n", MSG("\\u0001\\u001f\x7f\\b\\f"));
    CHECK("data: \"q\" \\\n\n", MSG("\\\"q\\\" \\\\"));
}

static void test_sse_parse_nothing_dispatched_at_end(void **state)
{
    CHECK("data: x\n", "");
    CHECK("data: x", "");
    CHECK("data: x\r", "");
    CHECK("data: x\r\n", "");
    CHECK("data: a\n\ndata: b\n", MSG("a"));
    CHECK("data: a\n\ndata: b", MSG("a"));
    CHECK("", "");
}

static void test_sse_parse_spec_examples(void **state)
{
    /* The examples of the HTML standard's "Event stream interpretation" section. */
    CHECK("data: YHOO\ndata: +2\ndata: 10\n\n", MSG("YHOO\\n+2\\n10"));
    CHECK(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
          "data:  third event\n\n",
          EV("message", "first event", "1") MSG("second event") MSG(" third event"));
    CHECK("data\n\ndata\ndata\n\ndata:", MSG("") MSG("\\n"));
    CHECK("data:test\n\ndata: test\n\n", MSG("test") MSG("test"));
}

static void test_sse_parse_combined_stream(void **state)
{
    CHECK(FEFF ": welcome\r\nretry: 2500\r\n\r\nid: 1\r\nevent: tick\r\ndata: {\"n\": 1}\r\n\r\n"
               ":\rdata: line 1\rdata:  line 2\r: between\rdata\r\r"
               "id\nevent: bye\ndata: \xE2\x82\xAC\x80\n\n",
          RETRY("2500") EV("tick", "{\\\"n\\\": 1}", "1") EV("message", "line 1\\n line 2\\n", "1")
              EV("bye", "\xE2\x82\xAC" FFFD, ""));
}

/* ---- UTF-8 decoding with replacement. --------------------------------------------------- */

static void test_sse_parse_utf8_valid_passthrough(void **state)
{
    CHECK("data: \xC2\x80 \xC3\xA9 \xDF\xBF\n\n", MSG("\xC2\x80 \xC3\xA9 \xDF\xBF"));
    CHECK("data: \xE0\xA0\x80 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF\n\n",
          MSG("\xE0\xA0\x80 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF"));
    CHECK("data: \xF0\x90\x80\x80 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\n\n",
          MSG("\xF0\x90\x80\x80 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
    CHECK("event: \xC3\xA9t\xC3\xA9\nid: \xE2\x82\xAC\ndata: x\n\n",
          EV("\xC3\xA9t\xC3\xA9", "x", "\xE2\x82\xAC"));
}

static void test_sse_parse_utf8_lone_continuation(void **state)
{
    CHECK("data: \x80\n\n", MSG(FFFD));
    CHECK("data: \xBF\n\n", MSG(FFFD));
    CHECK("data: a\x80\xBF"
          "b\n\n",
          MSG("a" FFFD FFFD "b"));
    /* After a complete sequence, a further continuation byte stands alone. */
    CHECK("data: \xC3\xA9\xA9\n\n", MSG("\xC3\xA9" FFFD));
}

static void test_sse_parse_utf8_invalid_lead(void **state)
{
    CHECK("data: \xC0\n\n", MSG(FFFD));
    CHECK("data: \xF5\x80\n\n", MSG(FFFD FFFD));
    CHECK("data: \xFE\xFF\n\n", MSG(FFFD FFFD));
    CHECK("data: \xF8\x88\x80\x80\x80\n\n", MSG(FFFD FFFD FFFD FFFD FFFD));
}

static void test_sse_parse_utf8_overlong(void **state)
{
    CHECK("data: \xC0\x80\n\n", MSG(FFFD FFFD));
    CHECK("data: \xC1\xBF\n\n", MSG(FFFD FFFD));
    CHECK("data: \xE0\x80\x80\n\n", MSG(FFFD FFFD FFFD));
    CHECK("data: \xE0\x9F\xBF\n\n", MSG(FFFD FFFD FFFD));
    CHECK("data: \xF0\x80\x80\x80\n\n", MSG(FFFD FFFD FFFD FFFD));
    CHECK("data: \xF0\x8F\xBF\xBF\n\n", MSG(FFFD FFFD FFFD FFFD));
}

static void test_sse_parse_utf8_surrogates(void **state)
{
    CHECK("data: \xED\xA0\x80\n\n", MSG(FFFD FFFD FFFD));
    CHECK("data: \xED\xBF\xBF\n\n", MSG(FFFD FFFD FFFD));
    /* A surrogate pair encoded as two three-byte sequences (CESU-8). */
    CHECK("data: \xED\xA0\xBD\xED\xB8\x80\n\n", MSG(FFFD FFFD FFFD FFFD FFFD FFFD));
}

static void test_sse_parse_utf8_above_max(void **state)
{
    CHECK("data: \xF4\x90\x80\x80\n\n", MSG(FFFD FFFD FFFD FFFD));
    CHECK("data: \xF4\xBF\xBF\xBF\n\n", MSG(FFFD FFFD FFFD FFFD));
}

static void test_sse_parse_utf8_truncated(void **state)
{
    /* The maximal subpart of a truncated sequence is one U+FFFD. */
    CHECK("data: \xC3\n\n", MSG(FFFD));
    CHECK("data: \xE2\x82\n\n", MSG(FFFD));
    CHECK("data: \xF0\x9F\x98\n\n", MSG(FFFD));
    CHECK("data: \xE2\x82\r\r", MSG(FFFD));
    CHECK("data: \xE2\x82\r\n\r\n", MSG(FFFD));
    CHECK("data: \xC3"
          "A\n\n",
          MSG(FFFD "A"));
    CHECK("data: \xE2\x82"
          "a\n\n",
          MSG(FFFD "a"));
    CHECK("data: \xF0\x9F\xE2\x82\xAC\n\n", MSG(FFFD "\xE2\x82\xAC"));
    CHECK("data: \xE0\xA0\xC2\x80\n\n", MSG(FFFD "\xC2\x80"));
    CHECK("data: \xF0\x9F\x98 \n\n", MSG(FFFD " "));
    /* A line end ends the sequence: the next line's continuation bytes stand alone. */
    CHECK("data: \xE2\ndata: \x82\xAC\n\n", MSG(FFFD "\\n" FFFD FFFD));
    CHECK("data: \xE2\rdata: \x82\xAC\r\r", MSG(FFFD "\\n" FFFD FFFD));
    /* So does the colon: a lead byte that ends a field name does not eat the value. */
    CHECK("data\xE2:\x82\xAC\ndata: x\n\n", MSG("x"));
}

static void test_sse_parse_utf8_in_type_and_id(void **state)
{
    CHECK("event: \xFF\nid: \xC0\ndata: x\n\n", EV(FFFD, "x", FFFD));
    CHECK("event: a\xE2\x82\nid: \xED\xA0\x80"
          "1\ndata: x\n\n",
          EV("a" FFFD, "x", FFFD FFFD FFFD "1"));
    CHECK("id: \xF0\x9F\x98\ndata: a\n\ndata: b\n\n",
          EV("message", "a", FFFD) EV("message", "b", FFFD));
}

/* ---- Long and randomly chunked streams. ------------------------------------------------- */

static void test_sse_parse_many_events(void **state)
{
    static const char *const types[] = {"message", "tick", "update"};
    static const char *const ends[] = {"\n", "\r", "\r\n"};
    sh_test_text_t in = {0}, expected = {0};
    char line[128];
    char *got;
    int i;

    for (i = 0; i < 5000; i++) {
        const char *end = ends[i % 3];
        int n;

        n = snprintf(line, sizeof(line), "id: %d%sevent: %s%sdata: payload %d%sdata: second%s%s", i,
                     end, types[i % 3], end, i, end, end, end);
        sh_test_text_put(&in, line, (size_t)n);
        n = snprintf(line, sizeof(line),
                     "{\"event\": \"%s\", \"data\": \"payload %d\\nsecond\", \"id\": \"%d\"}\n",
                     types[i % 3], i, i);
        sh_test_text_put(&expected, line, (size_t)n);
        if (i % 100 == 99) {
            n = snprintf(line, sizeof(line), ": keep-alive\nretry: %d\n", i);
            sh_test_text_put(&in, line, (size_t)n);
            n = snprintf(line, sizeof(line), "{\"retry\": %d}\n", i);
            sh_test_text_put(&expected, line, (size_t)n);
        }
    }

    got = sh_test_transcript(in.s, in.len, 0, NULL, 0);
    assert_non_null(got);
    assert_string_equal(got, expected.s);
    free(got);
    got = sh_test_transcript_bytewise(in.s, in.len, 0);
    assert_non_null(got);
    assert_string_equal(got, expected.s);
    free(got);
    sh_test_rng_seed(0x5eed0001);
    assert_random_chunks(in.s, in.len, 0, expected.s, 20, 2000);

    /* A shorter prefix, exactly 100 events, through every two-chunk split. */
    {
        size_t len = 0, ev = 0;
        char *cut;

        while (ev < 100) {
            cut = strstr(in.s + len, "second");
            assert_non_null(cut);
            len = (size_t)(cut - in.s) + strlen("second");
            len += 2 * strlen(ends[ev % 3]);
            ev++;
        }
        cut = strstr(expected.s, "\"id\": \"99\"}\n");
        assert_non_null(cut);
        cut[strlen("\"id\": \"99\"}\n")] = '\0';
        sh_test_assert_parse(in.s, len, 0, expected.s);
    }
    free(in.s);
    free(expected.s);
}

static void test_sse_parse_random_chunks(void **state)
{
    static const struct {
        const char *s;
        size_t len;
    } frags[] = {
#define FRAG(lit) {lit, sizeof(lit) - 1}
        FRAG("data: hello\n"),
        FRAG("data:\n"),
        FRAG("data\n"),
        FRAG("data:  spaced\r\n"),
        FRAG("data: x"),
        FRAG("event: e1\n"),
        FRAG("event:\r"),
        FRAG("id: 42\n"),
        FRAG("id\n"),
        FRAG("id: a\0b\n"),
        FRAG("retry: 1000\n"),
        FRAG("retry: x1\n"),
        FRAG(": comment\n"),
        FRAG(":\r"),
        FRAG("\n"),
        FRAG("\n"),
        FRAG("\r\n"),
        FRAG("\r"),
        FRAG("\r"),
        FRAG("data: \xE2\x82\xAC\n"),
        FRAG("data: \xE2\x82"),
        FRAG("data: \xF0\x9F\x98\x80\r"),
        FRAG("data: \xED\xA0\x80\n"),
        FRAG("\x80"),
        FRAG(FEFF),
        FRAG("Data: no\n"),
        FRAG("data :no\n"),
        FRAG("foo: bar\n"),
#undef FRAG
    };
    int round;

    sh_test_rng_seed(0x5eed0002);
    for (round = 0; round < 20; round++) {
        sh_test_text_t in = {0};
        char *whole, *bytewise;
        int i;

        if (round % 2 == 0)
            sh_test_text_str(&in, FEFF);
        for (i = 0; i < 400; i++) {
            size_t k = sh_test_rng_below(sizeof(frags) / sizeof(frags[0]));
            sh_test_text_put(&in, frags[k].s, frags[k].len);
        }
        sh_test_text_str(&in, "\n\n");
        whole = sh_test_transcript(in.s, in.len, 0, NULL, 0);
        assert_non_null(whole);
        assert_true(strstr(whole, "\"event\"") != NULL);
        bytewise = sh_test_transcript_bytewise(in.s, in.len, 0);
        assert_non_null(bytewise);
        assert_string_equal(bytewise, whole);
        assert_random_chunks(in.s, in.len, 0, whole, 50, 64);
        free(bytewise);
        free(whole);
        free(in.s);
    }
}

/* ---- Size limits. ------------------------------------------------------------------------ */

static void test_sse_parse_line_at_max_accepted(void **state)
{
    /* max_size 16: "data: 0123456789" is exactly 16 bytes; terminators do not count. */
    CHECK_MAX("data: 0123456789\n\n", 16, MSG("0123456789"));
    CHECK_MAX("data: 0123456789\r\n\r\n", 16, MSG("0123456789"));
    CHECK_MAX("data: 0123456789\r\r", 16, MSG("0123456789"));
    CHECK_MAX(FEFF "data: 0123456789\n\n", 16, MSG("0123456789"));
    CHECK_MAX(": 01234567890123\n", 16, "");
    CHECK_MAX("id: 012345678901\ndata: x\n\n", 16, EV("message", "x", "012345678901"));
    CHECK_MAX("event: 012345678\ndata: x\n\n", 16, EV("012345678", "x", ""));
    CHECK_MAX("retry: 123456789\n", 16, RETRY("123456789"));
    /* Unterminated at the end of the stream, still within the limit. */
    CHECK_MAX("data: 0123456789", 16, "");
}

static void test_sse_parse_line_over_max(void **state)
{
    CHECK_MAX("data: 01234567890\n\n", 16, ERR("E2BIG"));
    CHECK_MAX("data: 01234567890\r\n", 16, ERR("E2BIG"));
    CHECK_MAX("data: 01234567890", 16, ERR("E2BIG"));
    /* The BOM is not part of the first line; a partial BOM is. */
    CHECK_MAX(FEFF "data: 01234567890\n\n", 16, ERR("E2BIG"));
    CHECK_MAX("\xEF\xBB"
              "data: 012345678\n\n",
              16, ERR("E2BIG"));
    CHECK_MAX("\xEF\xBB"
              "data: 01234567\n\n",
              16, "");
    /* Events before the long line are dispatched; nothing after it is. */
    CHECK_MAX("data: a\n\nretry: 1\ndata: 01234567890\n\ndata: b\n\n", 16,
              MSG("a") RETRY("1") ERR("E2BIG"));
    CHECK_MAX("data: a\n\ndata: b\n01234567890123456\n\n", 16, MSG("a") ERR("E2BIG"));
}

static void test_sse_parse_long_comment_over_max(void **state)
{
    /* Every line is capped, whatever it holds. */
    CHECK_MAX(": 012345678901234\n", 16, ERR("E2BIG"));
    CHECK_MAX("::::::::::::::::::::\n", 16, ERR("E2BIG"));
    CHECK_MAX("unknown-field: 012\n", 16, ERR("E2BIG"));
    CHECK_MAX("retry: 1234567890\n", 16, ERR("E2BIG"));
    CHECK_MAX("data: a\n\n: 012345678901234", 16, MSG("a") ERR("E2BIG"));
}

static void test_sse_parse_data_over_max(void **state)
{
    /* Each "data: 0123456" adds 8 bytes (value and LF): two fill the 16-byte buffer. */
    CHECK_MAX("data: 0123456\ndata: 0123456\n\n", 16, MSG("0123456\\n0123456"));
    CHECK_MAX("data: 0123456\ndata: 0123456\ndata\n\n", 16, ERR("E2BIG"));
    CHECK_MAX("data: 0123456\ndata: 012345\ndata\n\n", 16, MSG("0123456\\n012345\\n"));
    CHECK_MAX("data: 0123456\ndata: 012345\ndata\ndata\n\n", 16, ERR("E2BIG"));
    /* The limit applies to one event: the buffer empties at each dispatch. */
    CHECK_MAX("data: 0123456\ndata: 0123456\n\ndata: 0123456\ndata: 0123456\n\n", 16,
              MSG("0123456\\n0123456") MSG("0123456\\n0123456"));
    CHECK_MAX("data: a\n\ndata: 0123456\ndata: 0123456\ndata: 0\n\n", 16, MSG("a") ERR("E2BIG"));
    /* Decoding may grow a value threefold: U+FFFD counts as its three bytes. */
    CHECK_MAX("data: \x80\x80\x80\x80\x80\n\n", 16, MSG(FFFD FFFD FFFD FFFD FFFD));
    CHECK_MAX("data: \x80\x80\x80\x80\x80\x80\n\n", 16, ERR("E2BIG"));
    CHECK_MAX("event: \xFF\xFF\xFF\xFF\xFF\ndata: x\n\n", 16,
              EV(FFFD FFFD FFFD FFFD FFFD, "x", ""));
    CHECK_MAX("event: \xFF\xFF\xFF\xFF\xFF\xFF\ndata: x\n\n", 16, ERR("E2BIG"));
    CHECK_MAX("id: \xFF\xFF\xFF\xFF\xFF\ndata: x\n\n", 16,
              EV("message", "x", FFFD FFFD FFFD FFFD FFFD));
    CHECK_MAX("id: \xFF\xFF\xFF\xFF\xFF\xFF\ndata: x\n\n", 16, ERR("E2BIG"));
}

/* ---- Sticky errors, reset and cancellation. --------------------------------------------- */

static void test_sse_parse_error_sticky(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 16);

    assert_int_equal(ssehub_sse_parser_error(p), 0);
    assert_int_equal(PARSE(p, "id: 1\ndata: a\n\n"), 15);
    assert_int_equal(PARSE(p, "data: b\ndata: 01234567890\n\n"), SSEHUB_E2BIG);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_E2BIG);
    assert_int_equal(PARSE(p, "\n"), SSEHUB_EBADSTATE);
    assert_int_equal(PARSE(p, "data: c\n\n"), SSEHUB_EBADSTATE);
    assert_int_equal(ssehub_sse_parse(p, "", 0), SSEHUB_EBADSTATE);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_E2BIG);
    assert_string_equal(rec_text(&r), EV("message", "a", "1"));

    /* reset clears the error and the pending event; the last event ID stays. */
    ssehub_sse_parser_reset(p);
    assert_int_equal(ssehub_sse_parser_error(p), 0);
    assert_last_id(p, "1");
    assert_int_equal(PARSE(p, "\ndata: c\n\n"), 10);
    assert_string_equal(rec_text(&r), EV("message", "a", "1") EV("message", "c", "1"));

    /* An error in a line that spans chunks is sticky too. */
    assert_int_equal(PARSE(p, "data: 0123"), 10);
    assert_int_equal(PARSE(p, "4567890"), SSEHUB_E2BIG);
    assert_int_equal(PARSE(p, "\n\n"), SSEHUB_EBADSTATE);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_E2BIG);
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

/*
 * The last event ID string changes only at a blank line (the spec's dispatch step 1): an
 * id whose event has not ended must not be what a reconnecting client resumes from, or it
 * would skip the event it never received. A reset drops such an id.
 */
static void test_sse_parse_last_event_id_set_at_blank_line(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);

    assert_int_equal(PARSE(p, "id: 1\ndata: a\n\nid: 2\ndata: b\n"), 29);
    assert_last_id(p, "1");
    assert_int_equal(PARSE(p, "\n"), 1);
    assert_last_id(p, "2");
    /* A blank line with no data still confirms the id. */
    assert_int_equal(PARSE(p, "id: 3\n"), 6);
    assert_last_id(p, "2");
    assert_int_equal(PARSE(p, "\n"), 1);
    assert_last_id(p, "3");
    /* A pending id is dropped by a reset; the confirmed one carries over. */
    assert_int_equal(PARSE(p, "id: 4\ndata: c\n"), 14);
    ssehub_sse_parser_reset(p);
    assert_last_id(p, "3");
    assert_int_equal(PARSE(p, "data: d\n\n"), 9);
    /* An id and its event in one go: the event carries the new id. */
    assert_int_equal(PARSE(p, "data: e\nid: 5\n\n"), 15);
    assert_last_id(p, "5");
    assert_string_equal(rec_text(&r), EV("message", "a", "1") EV("message", "b", "2")
                                          EV("message", "d", "3") EV("message", "e", "5"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_reset_keeps_last_event_id(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);

    assert_int_equal(PARSE(p, "id: 5\ndata: a\n\n"), 15);
    ssehub_sse_parser_reset(p);
    assert_last_id(p, "5");
    assert_int_equal(PARSE(p, "data: b\n\n"), 9);
    assert_string_equal(rec_text(&r), EV("message", "a", "5") EV("message", "b", "5"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_reset_restores_bom(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);

    assert_int_equal(PARSE(p, FEFF "data: a\n\n"), 12);
    assert_int_equal(PARSE(p, FEFF "data: no\n\n"), 13);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, FEFF "data: b\n\n"), 12);
    /* A BOM cut by the reset: its held bytes belong to the old stream and are dropped. */
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "\xEF\xBB"), 2);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "data: c\n\n"), 9);
    /* A BOM split over three chunks of the new stream. */
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "\xEF"), 1);
    assert_int_equal(PARSE(p, "\xBB"), 1);
    assert_int_equal(PARSE(p, "\xBF"), 1);
    assert_int_equal(PARSE(p, "data: d\n\n"), 9);
    assert_string_equal(rec_text(&r), MSG("a") MSG("b") MSG("c") MSG("d"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_reset_drops_pending(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);

    /* Pending data and type are forgotten: "b" alone fires, as a "message". */
    assert_int_equal(PARSE(p, "event: t\ndata: a\n"), 17);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "data: b\n\n"), 9);
    assert_string_equal(rec_text(&r), MSG("b"));
    /* So is a partial line: "tial" is a field of its own, not the end of "data: par". */
    assert_int_equal(PARSE(p, "data: par"), 9);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "tial\n\n"), 6);
    assert_string_equal(rec_text(&r), MSG("b"));
    /* The partial line "da" must not join "ta: c" after a reset. */
    assert_int_equal(PARSE(p, "da"), 2);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "ta: c\n\ndata: d\n\n"), 16);
    assert_string_equal(rec_text(&r), MSG("b") MSG("d"));
    /* A reset with nothing pending is harmless, and so is a second one. */
    ssehub_sse_parser_reset(p);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "data: e\n\n"), 9);
    assert_string_equal(rec_text(&r), MSG("b") MSG("d") MSG("e"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_callback_cancels(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);

    /* The first event cancels: the second one, in the same chunk, never fires. */
    r.cancel_event = 1;
    assert_int_equal(PARSE(p, "data: a\n\ndata: b\n\n"), SSEHUB_ECANCELED);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_ECANCELED);
    assert_int_equal(r.events, 1);
    assert_int_equal(PARSE(p, "data: c\n\n"), SSEHUB_EBADSTATE);
    assert_string_equal(rec_text(&r), MSG("a"));

    /* After a reset the parser goes on; the cancelled event's buffers are gone. */
    r.cancel_event = 0;
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "\ndata: d\n\n"), 10);
    assert_string_equal(rec_text(&r), MSG("a") MSG("d"));

    /* A retry callback cancels the same way. */
    r.cancel_retry = 1;
    assert_int_equal(PARSE(p, "data: e\nretry: 7\n\ndata: f\n\n"), SSEHUB_ECANCELED);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_ECANCELED);
    assert_int_equal(PARSE(p, "\n"), SSEHUB_EBADSTATE);
    assert_string_equal(rec_text(&r), MSG("a") MSG("d") RETRY("7"));
    ssehub_sse_parser_reset(p);
    r.cancel_retry = 0;
    assert_int_equal(PARSE(p, "data: g\n\n"), 9);
    assert_string_equal(rec_text(&r), MSG("a") MSG("d") RETRY("7") MSG("g"));

    /* Cancelling on a later event of a chunk split in two. */
    r.cancel_event = r.events + 2;
    assert_int_equal(PARSE(p, "data: h\n\ndata: i"), 16);
    assert_int_equal(PARSE(p, "\n\ndata: j\n\n"), SSEHUB_ECANCELED);
    assert_string_equal(rec_text(&r), MSG("a") MSG("d") RETRY("7") MSG("g") MSG("h") MSG("i"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_null_callbacks(void **state)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;

    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    assert_int_equal(PARSE(p, "retry: 10\nid: 3\nevent: e\ndata: x\n\n"), 34);
    assert_last_id(p, "3");
    assert_int_equal(ssehub_sse_parser_error(p), 0);
    ssehub_sse_parser_free(p);
}

/* ---- The rest of the API. ---------------------------------------------------------------- */

static void test_sse_parse_set_last_event_id(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 16);
    size_t len = 99;

    assert_string_equal(ssehub_sse_parser_last_event_id(p, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "abc", 3), 0);
    assert_last_id(p, "abc");
    /* Only |len| bytes are copied. */
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "xyzw", 2), 0);
    assert_last_id(p, "xy");
    assert_int_equal(PARSE(p, "data: a\n\n"), 9);
    assert_string_equal(rec_text(&r), EV("message", "a", "xy"));

    /* Rejected ids leave the id as it was. */
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "a\0b", 3), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "a\rb", 3), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "a\nb", 3), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "\n", 1), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "01234567890123456", 17), SSEHUB_E2BIG);
    assert_last_id(p, "xy");
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "0123456789012345", 16), 0);
    assert_last_id(p, "0123456789012345");
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "", 0), 0);
    assert_last_id(p, "");
    /* Invalid UTF-8 is replaced as in the stream, so handed-out ids are always valid. */
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "\xff\xc0", 2), 0);
    assert_last_id(p, FFFD FFFD);
    /* Six invalid bytes decode to 18 bytes: past the 16-byte limit, the id is unchanged. */
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "\xff\xff\xff\xff\xff\xff", 6),
                     SSEHUB_E2BIG);
    assert_last_id(p, FFFD FFFD);
    /* A set id replaces one pending in an unfinished event. */
    assert_int_equal(PARSE(p, "id: pending\n"), 12);
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "", 0), 0);
    assert_int_equal(PARSE(p, "\n"), 1);
    assert_last_id(p, "");

    /* The stream overrides a set id, and a set id overrides the stream's. */
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "s1", 2), 0);
    assert_int_equal(PARSE(p, "data: b\n\nid: 9\n\n"), 16);
    assert_last_id(p, "9");
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "s2", 2), 0);
    assert_int_equal(PARSE(p, "data: c\n\n"), 9);
    assert_string_equal(rec_text(&r),
                        EV("message", "a", "xy") EV("message", "b", "s1") EV("message", "c", "s2"));

    /* A set id survives a reset, as one read from the stream does. */
    ssehub_sse_parser_reset(p);
    assert_last_id(p, "s2");
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_new_invalid(void **state)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = (ssehub_sse_parser_t *)&settings;

    assert_int_equal(ssehub_sse_parser_new(NULL, &p), SSEHUB_EINVAL);
    assert_null(p);
    assert_int_equal(ssehub_sse_parser_new(&settings, NULL), SSEHUB_EINVAL);
    assert_int_equal(ssehub_sse_parser_new(NULL, NULL), SSEHUB_EINVAL);
}

static void test_sse_parse_max_size(void **state)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;

    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    assert_int_equal(ssehub_sse_parser_max_size(p), SSEHUB_SSE_DEFAULT_MAX_SIZE);
    ssehub_sse_parser_free(p);
    settings.max_size = 16;
    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    assert_int_equal(ssehub_sse_parser_max_size(p), 16);
    ssehub_sse_parser_free(p);
    settings.max_size = 1;
    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    assert_int_equal(ssehub_sse_parser_max_size(p), 1);
    ssehub_sse_parser_free(p);

    /* The settings were copied: changing them later has no effect. */
    settings.max_size = 16;
    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    settings.max_size = 1000;
    assert_int_equal(ssehub_sse_parser_max_size(p), 16);
    ssehub_sse_parser_free(p);

    /* The default limit is enforced: a line of max + 1 bytes fails. */
    {
        size_t max = SSEHUB_SSE_DEFAULT_MAX_SIZE;
        char *line = malloc(max + 2);
        char *got;

        assert_non_null(line);
        memset(line, 'x', max + 1);
        memcpy(line, "data: ", 6);
        line[max] = '\n';
        line[max + 1] = '\n';
        got = sh_test_transcript(line, max + 2, 0, NULL, 0);
        assert_non_null(got);
        assert_int_equal(strlen(got), strlen(MSG("")) + max - 6);
        free(got);
        line[max] = 'x';
        got = sh_test_transcript(line, max + 2, 0, NULL, 0);
        assert_non_null(got);
        assert_string_equal(got, ERR("E2BIG"));
        free(got);
        free(line);
    }
}

static void test_sse_parse_free_null(void **state)
{
    ssehub_sse_parser_free(NULL);
}

/* ---- Bounded memory and allocation failure. -------------------------------------------- */

/* Counts events and data bytes; for the long runs, where a transcript would be huge. */
typedef struct counter_s {
    size_t events;
    size_t data_bytes;
} counter_t;

static int count_event(void *user, const ssehub_sse_event_t *ev)
{
    counter_t *c = user;

    c->events++;
    c->data_bytes += ev->data_len;
    return 0;
}

/* Appends |n| value bytes: ASCII with some two-byte characters, never CR, LF or NUL. */
static void gen_value(sh_test_text_t *g, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 :-_";
    size_t i = 0;

    while (i < n) {
        if (n - i >= 2 && sh_test_rng_below(16) == 0) {
            sh_test_text_put(g, "\xC3\xA9", 2);
            i += 2;
        } else {
            sh_test_text_put(g, &alphabet[sh_test_rng_below(sizeof(alphabet) - 1)], 1);
            i++;
        }
    }
}

/* Appends a random line end; never an LF right after a CR, which would merge with it. */
static void gen_eol(sh_test_text_t *g)
{
    static const char *const ends[] = {"\r", "\r\n", "\n"};
    bool after_cr = g->len != 0 && g->s[g->len - 1] == '\r';

    sh_test_text_str(g, ends[sh_test_rng_below(after_cr ? 2 : 3)]);
}

/*
 * Generates about |target| bytes of valid stream for a parser with |max| bytes of limit:
 * long lines up to |max|, data close to |max| per event, long ids, types and comments.
 * Adds the events and data bytes it expects to |c|.
 */
static void gen_bounded_stream(sh_test_text_t *g, size_t max, size_t target, counter_t *c)
{
    /* One event with every buffer near full, so the bound is tested at its worst. */
    sh_test_text_str(g, "id: ");
    gen_value(g, max - 4);
    gen_eol(g);
    sh_test_text_str(g, "event: ");
    gen_value(g, max - 7);
    gen_eol(g);
    sh_test_text_str(g, "data: ");
    gen_value(g, max - 7);
    gen_eol(g);
    sh_test_text_str(g, ": ");
    gen_value(g, max - 2);
    gen_eol(g);
    gen_eol(g);
    c->events++;
    c->data_bytes += max - 7;

    while (g->len < target) {
        size_t data_len = 0, lines = 0, n;
        int fields = 1 + (int)sh_test_rng_below(6);

        while (fields-- > 0) {
            switch (sh_test_rng_below(8)) {
            case 0:
                sh_test_text_str(g, "id: ");
                gen_value(g, sh_test_rng_below(max - 4 + 1));
                break;
            case 1:
                sh_test_text_str(g, "event: ");
                gen_value(g, sh_test_rng_below(max - 7 + 1));
                break;
            case 2:
                sh_test_text_str(g, ": ");
                gen_value(g, sh_test_rng_below(max - 2 + 1));
                break;
            case 3:
                sh_test_text_str(g, "retry: 1000");
                break;
            default:
                /* A data line, if its value and LF still fit in the data buffer. */
                if (data_len + 1 > max) {
                    sh_test_text_str(g, ":");
                    break;
                }
                n = sh_test_rng_below(max - 6 + 1);
                if (data_len + n + 1 > max)
                    n = max - data_len - 1;
                sh_test_text_str(g, "data: ");
                gen_value(g, n);
                data_len += n + 1;
                lines++;
                break;
            }
            gen_eol(g);
        }
        gen_eol(g);
        if (lines != 0) {
            c->events++;
            c->data_bytes += data_len - 1;
        }
    }
}

static void test_sse_parse_memory_bounded(void **state)
{
    const size_t max = 4096, total = (size_t)50 << 20;
    ssehub_sse_parser_settings_t settings = {0};
    counter_t got = {0}, want = {0}, per_pass = {0};
    ssehub_sse_parser_t *p = NULL;
    sh_test_text_t in = {0};
    size_t fed = 0;

    sh_test_rng_seed(0x5eed0003);
    gen_bounded_stream(&in, max, (size_t)1 << 20, &per_pass);

    sh_failalloc_reset_peak();
    settings.max_size = max;
    settings.on_event = count_event;
    settings.user = &got;
    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    while (fed < total) {
        size_t off = 0;

        /* Each pass is one stream, fed in random chunks from 1 byte to 2 x max. */
        ssehub_sse_parser_reset(p);
        while (off < in.len) {
            size_t n = 1 + sh_test_rng_below(2 * max);
            ssize_t rc;

            if (sh_test_rng_below(4) == 0)
                n = 1 + sh_test_rng_below(16);
            if (n > in.len - off)
                n = in.len - off;
            rc = ssehub_sse_parse(p, in.s + off, n);
            assert_int_equal(rc, (ssize_t)n);
            off += n;
        }
        fed += in.len;
        want.events += per_pass.events;
        want.data_bytes += per_pass.data_bytes;
    }
    assert_int_equal(got.events, want.events);
    assert_int_equal(got.data_bytes, want.data_bytes);
    /* The bound holds, and the input did fill the buffers. */
    assert_true(sh_failalloc_peak_bytes() < 5 * max + 1024);
    assert_true(sh_failalloc_peak_bytes() >= 4 * max);
    ssehub_sse_parser_free(p);
    free(in.s);
}

static void test_sse_parse_memory_bounded_endless_line(void **state)
{
    const size_t max = 4096;
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;
    char chunk[1000];
    size_t fed = 0;
    ssize_t rc = 0;

    memset(chunk, 'x', sizeof(chunk));
    memcpy(chunk, "data: ", 6);
    sh_failalloc_reset_peak();
    settings.max_size = max;
    assert_int_equal(ssehub_sse_parser_new(&settings, &p), 0);
    while (fed < ((size_t)1 << 20)) {
        rc = ssehub_sse_parse(p, chunk, sizeof(chunk));
        if (rc < 0)
            break;
        assert_int_equal(rc, (ssize_t)sizeof(chunk));
        memset(chunk, 'x', 6);
        fed += sizeof(chunk);
    }
    assert_int_equal(rc, SSEHUB_E2BIG);
    assert_true(fed <= max);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_E2BIG);
    assert_int_equal(ssehub_sse_parse(p, chunk, sizeof(chunk)), SSEHUB_EBADSTATE);
    assert_true(sh_failalloc_peak_bytes() < max + 1024);

    /* Endless line ends and data lines within the limit hold no memory past the cap. */
    ssehub_sse_parser_reset(p);
    sh_failalloc_reset_peak();
    memset(chunk, '\r', sizeof(chunk));
    for (fed = 0; fed < ((size_t)1 << 20); fed += sizeof(chunk))
        assert_int_equal(ssehub_sse_parse(p, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    assert_true(sh_failalloc_peak_bytes() < 5 * max + 1024);

    /* One endless event of short data lines: its data buffer hits the cap. */
    for (fed = 0; fed < ((size_t)1 << 20); fed += 8) {
        rc = ssehub_sse_parse(p, "data: x\n", 8);
        if (rc < 0)
            break;
    }
    /* Each line adds "x" and an LF: the line after max / 2 of them is refused. */
    assert_int_equal(rc, SSEHUB_E2BIG);
    assert_int_equal(fed, max / 2 * 8);
    assert_true(sh_failalloc_peak_bytes() < 5 * max + 1024);
    ssehub_sse_parser_free(p);
}

/*
 * Parses |in| with allocations failing after |budget| (-1: never) into |r|, in chunks of
 * |chunk| bytes. Returns 0, or SSEHUB_ENOMEM from ssehub_sse_parser_new() or parse.
 */
static int parse_with_budget(long budget, const char *in, size_t len, size_t chunk, rec_t *r)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;
    size_t off = 0, live = sh_failalloc_live();
    int rc;

    settings.on_event = rec_on_event;
    settings.on_retry = rec_on_retry;
    settings.user = r;
    sh_failalloc_fail_after(budget);
    rc = ssehub_sse_parser_new(&settings, &p);
    if (rc != 0) {
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_null(p);
        goto out;
    }
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        ssize_t got = ssehub_sse_parse(p, in + off, n);

        if (got < 0) {
            assert_int_equal(got, SSEHUB_ENOMEM);
            assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_ENOMEM);
            assert_int_equal(ssehub_sse_parse(p, "\n", 1), SSEHUB_EBADSTATE);
            rc = (int)got;
            break;
        }
        assert_int_equal(got, (ssize_t)n);
        off += n;
    }
    ssehub_sse_parser_free(p);
out:
    sh_failalloc_fail_after(-1);
    assert_int_equal(sh_failalloc_live(), live);
    return rc;
}

static void test_sse_parse_oom_loop(void **state)
{
    sh_test_text_t in = {0};
    rec_t want = {0};
    long n;
    int failures = 0;

    /* Every buffer has to grow several times: a split long line, a long id, type and data. */
    sh_test_text_str(&in, FEFF "id: ");
    sh_test_text_fill(&in, 'i', 300);
    sh_test_text_str(&in, "\nevent: ");
    sh_test_text_fill(&in, 't', 150);
    sh_test_text_str(&in, "\nretry: 10\n");
    for (n = 0; n < 4; n++) {
        sh_test_text_str(&in, "data: ");
        sh_test_text_fill(&in, (char)('a' + n), 700);
        sh_test_text_str(&in, "\xC0\n");
    }
    sh_test_text_str(&in, "\r\ndata: small\r\n\r\n");

    assert_int_equal(parse_with_budget(-1, in.s, in.len, 97, &want), 0);
    assert_int_equal(want.events, 2);

    for (n = 0; n < 1000; n++) {
        rec_t r = {0};
        int rc = parse_with_budget(n, in.s, in.len, 97, &r);

        /* What fired before the failure is what a full run fires first. */
        assert_true(strncmp(rec_text(&want), rec_text(&r), r.text.len) == 0);
        if (rc == 0) {
            assert_string_equal(rec_text(&r), rec_text(&want));
            rec_dispose(&r);
            break;
        }
        assert_int_equal(rc, SSEHUB_ENOMEM);
        failures++;
        rec_dispose(&r);
    }
    assert_true(n < 1000);
    /* The parser struct, then line, id, type and data buffer growths. */
    assert_true(failures >= 10);
    rec_dispose(&want);
    free(in.s);
}

static void test_sse_parse_oom_recovers_after_reset(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);

    sh_failalloc_fail_after(0);
    assert_int_equal(PARSE(p, "data: a\n\n"), SSEHUB_ENOMEM);
    assert_int_equal(ssehub_sse_parser_error(p), SSEHUB_ENOMEM);
    assert_int_equal(PARSE(p, "data: a\n\n"), SSEHUB_EBADSTATE);
    sh_failalloc_fail_after(-1);
    ssehub_sse_parser_reset(p);
    assert_int_equal(PARSE(p, "data: b\n\n"), 9);
    assert_string_equal(rec_text(&r), MSG("b"));
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

static void test_sse_parse_oom_set_last_event_id(void **state)
{
    rec_t r = {0};
    ssehub_sse_parser_t *p = rec_parser(&r, 0);
    char id[200];
    long n;

    memset(id, 'z', sizeof(id));
    assert_int_equal(ssehub_sse_parser_set_last_event_id(p, "old", 3), 0);
    for (n = 0; n < 100; n++) {
        int rc;

        sh_failalloc_fail_after(n);
        rc = ssehub_sse_parser_set_last_event_id(p, id, sizeof(id));
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_last_id(p, "old");
    }
    assert_true(n < 100);
    {
        size_t len = 0;
        const char *got = ssehub_sse_parser_last_event_id(p, &len);

        assert_int_equal(len, sizeof(id));
        assert_memory_equal(got, id, sizeof(id));
    }
    ssehub_sse_parser_free(p);
    rec_dispose(&r);
}

/* ---- Runner. ----------------------------------------------------------------------------- */

static size_t live_at_setup;

/* Every test starts with allocations succeeding; its teardown asserts it leaked nothing. */
static int setup(void **state)
{
    sh_failalloc_fail_after(-1);
    sh_failalloc_reset_peak();
    live_at_setup = sh_failalloc_live();
    return 0;
}

static int teardown(void **state)
{
    sh_failalloc_fail_after(-1);
    assert_int_equal(sh_failalloc_live(), live_at_setup);
    return 0;
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_sse_parse_bom_stripped),
        TEST(test_sse_parse_bom_only_one_stripped),
        TEST(test_sse_parse_bom_partial),
        TEST(test_sse_parse_bom_after_first_line),
        TEST(test_sse_parse_line_ends_lf_cr_crlf),
        TEST(test_sse_parse_line_ends_mixed),
        TEST(test_sse_parse_crlf_split_across_chunks),
        TEST(test_sse_parse_whitespace_line_is_not_blank),
        TEST(test_sse_parse_comment_ignored),
        TEST(test_sse_parse_field_without_colon),
        TEST(test_sse_parse_value_leading_space),
        TEST(test_sse_parse_unknown_field_ignored),
        TEST(test_sse_parse_event_type),
        TEST(test_sse_parse_event_type_reset_after_dispatch),
        TEST(test_sse_parse_event_type_empty),
        TEST(test_sse_parse_event_type_without_data),
        TEST(test_sse_parse_id_sets_last_event_id),
        TEST(test_sse_parse_id_persists),
        TEST(test_sse_parse_id_empty_resets),
        TEST(test_sse_parse_id_with_nul_ignored),
        TEST(test_sse_parse_id_without_data_updates_last_id),
        TEST(test_sse_parse_retry_valid),
        TEST(test_sse_parse_retry_invalid_ignored),
        TEST(test_sse_parse_retry_in_stream_order),
        TEST(test_sse_parse_empty_data_not_dispatched),
        TEST(test_sse_parse_data_lines_joined),
        TEST(test_sse_parse_nothing_dispatched_at_end),
        TEST(test_sse_parse_spec_examples),
        TEST(test_sse_parse_combined_stream),
        TEST(test_sse_parse_utf8_valid_passthrough),
        TEST(test_sse_parse_utf8_lone_continuation),
        TEST(test_sse_parse_utf8_invalid_lead),
        TEST(test_sse_parse_utf8_overlong),
        TEST(test_sse_parse_utf8_surrogates),
        TEST(test_sse_parse_utf8_above_max),
        TEST(test_sse_parse_utf8_truncated),
        TEST(test_sse_parse_utf8_in_type_and_id),
        TEST(test_sse_parse_many_events),
        TEST(test_sse_parse_random_chunks),
        TEST(test_sse_parse_line_at_max_accepted),
        TEST(test_sse_parse_line_over_max),
        TEST(test_sse_parse_long_comment_over_max),
        TEST(test_sse_parse_data_over_max),
        TEST(test_sse_parse_error_sticky),
        TEST(test_sse_parse_last_event_id_set_at_blank_line),
        TEST(test_sse_parse_reset_keeps_last_event_id),
        TEST(test_sse_parse_reset_restores_bom),
        TEST(test_sse_parse_reset_drops_pending),
        TEST(test_sse_parse_callback_cancels),
        TEST(test_sse_parse_null_callbacks),
        TEST(test_sse_parse_set_last_event_id),
        TEST(test_sse_parse_new_invalid),
        TEST(test_sse_parse_max_size),
        TEST(test_sse_parse_free_null),
        TEST(test_sse_parse_memory_bounded),
        TEST(test_sse_parse_memory_bounded_endless_line),
        TEST(test_sse_parse_oom_loop),
        TEST(test_sse_parse_oom_recovers_after_reset),
        TEST(test_sse_parse_oom_set_last_event_id),
    };

    /* Before any parser exists: every test's memory is counted from here on. */
    sh_failalloc_install();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
