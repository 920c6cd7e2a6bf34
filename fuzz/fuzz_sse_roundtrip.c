/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for encode -> parse. The input describes a few events (and comments between
 * them); each is encoded with ssehub_sse_encode() into an exact-size buffer and with
 * ssehub_sse_encode_rcbuf(), and the concatenated stream is parsed back, whole, byte by
 * byte and in random chunks. Checks that:
 *   1. an id or type holding CR, LF or NUL is refused with SSEHUB_EINVAL by all three
 *      encoder entry points (the event is then sent with those bytes stripped);
 *   2. both encoders write the same ssehub_sse_encoded_len() bytes, a buffer one byte short
 *      gives SSEHUB_ENOBUFS, and encode_rcbuf() under a failing allocator gives
 *      SSEHUB_ENOMEM and no buffer;
 *   3. the parser gives back exactly what was sent, after the receiver's normalisation:
 *      data with CRLF and lone CR turned into LF, invalid UTF-8 replaced by U+FFFD, type
 *      "message" when none or empty, the last event ID carried over when no id was sent,
 *      each retry through on_retry, no event at all when data was NULL, nothing for
 *      comments, and a leading BOM skipped;
 *   4. nothing is left allocated.
 *
 * Input layout (missing bytes read as 0):
 *   byte 0      bits 0-2: events - 1; bit 3: start the stream with a UTF-8 BOM
 *   per event   flags byte: bit 0 id, bit 1 type, bit 2 data, bit 3 retry, bit 4 a comment
 *               first, bit 5 retry from a table of edge values, bit 6 try encode_rcbuf()
 *               out of memory, bit 7 two-byte data length
 *               then id length, type length, data length (1 or 2 bytes, little endian),
 *               retry (1 byte table index or 8 bytes little endian), comment length,
 *               then the id, type, data and comment bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/sse.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "support/evlog.h"
#include "support/failalloc.h"
#include "support/testutil.h"
#include "fuzz.h"

#define BYTEWISE_MAX 4096 /* longest stream also fed one byte at a time */

static const uint64_t retry_edges[8] = {
    0, 1, 999, UINT64_C(3000000000), UINT32_MAX, UINT64_C(4294967296), UINT64_MAX - 1, UINT64_MAX,
};

/* ---- Helpers -------------------------------------------------------------------------- */

static bool has_line_breaker(const char *s, size_t len)
{
    return sh_test_has_byte(s, len, '\r') || sh_test_has_byte(s, len, '\n') ||
           sh_test_has_byte(s, len, '\0');
}

/* |s| without CR, LF and NUL, as a libc copy. */
static char *strip_breakers(const char *s, size_t len, size_t *out_len)
{
    sh_test_text_t b = {0};
    size_t i;

    sh_test_text_put(&b, "", 0);
    for (i = 0; i < len; i++) {
        if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
            sh_test_text_put(&b, &s[i], 1);
    }
    *out_len = b.len;
    return b.s;
}

/*
 * What a receiver makes of a field value: with |newlines|, CRLF and lone CR become LF (the
 * data lines the encoder splits are joined by LF again); then invalid UTF-8 becomes U+FFFD.
 * Returns a libc copy.
 */
static char *normalise(const char *s, size_t len, bool newlines, size_t *out_len)
{
    sh_test_text_t nl = {0};
    sh_buf_t b;
    size_t i;
    char *out;

    sh_test_text_put(&nl, "", 0);
    for (i = 0; i < len; i++) {
        if (newlines && s[i] == '\r') {
            sh_test_text_put(&nl, "\n", 1);
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else {
            sh_test_text_put(&nl, &s[i], 1);
        }
    }
    sh_buf_init(&b, SIZE_MAX);
    FUZZ_CHECK(sh_utf8_append_sanitized(&b, nl.s, nl.len) == 0);
    out = sh_test_dup_bytes(b.len != 0 ? b.base : "", b.len);
    *out_len = b.len;
    sh_buf_dispose(&b);
    sh_test_text_free(&nl);
    return out;
}

/* ---- Callback records ----------------------------------------------------------------- */

static void rec_print(const char *what, const sh_test_rec_t *r)
{
    if (r->is_retry) {
        fprintf(stderr, "  %s retry %llu\n", what, (unsigned long long)r->retry);
        return;
    }
    fprintf(stderr, "  %s event type[%zu] data[%zu] id[%zu]\n", what, r->type_len, r->data_len,
            r->id_len);
}

/* Aborts, printing both logs and the stream, when |got| differs from |want|. */
static void check_log(const char *what, const sh_test_log_t *got, const sh_test_log_t *want,
                      const sh_test_text_t *stream)
{
    size_t i;

    if (sh_test_log_equal(got, want))
        return;
    fprintf(stderr, "round trip mismatch (%s): %zu callbacks, %zu expected\n", what, got->n,
            want->n);
    for (i = 0; i < got->n || i < want->n; i++) {
        if (i < want->n)
            rec_print("want", &want->v[i]);
        if (i < got->n)
            rec_print("got ", &got->v[i]);
    }
    fprintf(stderr, "stream (%zu bytes):\n", stream->len);
    fwrite(stream->s, 1, stream->len, stderr);
    abort();
}

/* ---- Input ---------------------------------------------------------------------------- */

typedef struct cursor_s {
    const uint8_t *p;
    size_t left;
} cursor_t;

static unsigned take_byte(cursor_t *c)
{
    if (c->left == 0)
        return 0;
    c->left--;
    return *c->p++;
}

/* The next |want| bytes, or fewer when the input ends; never NULL. */
static const char *take_bytes(cursor_t *c, size_t want, size_t *got)
{
    const char *s = (const char *)c->p;

    *got = want < c->left ? want : c->left;
    c->p += *got;
    c->left -= *got;
    return s;
}

/* One event as the input describes it, before any cleaning. */
typedef struct spec_s {
    unsigned flags;
    const char *id;
    size_t id_len;
    const char *type;
    size_t type_len;
    const char *data;
    size_t data_len;
    const char *comment;
    size_t comment_len;
    uint64_t retry;
} spec_t;

enum {
    F_ID = 1,
    F_TYPE = 2,
    F_DATA = 4,
    F_RETRY = 8,
    F_COMMENT = 16,
    F_RETRY_EDGE = 32,
    F_OOM = 64,
    F_LONG_DATA = 128,
};

static void read_spec(cursor_t *c, spec_t *s)
{
    size_t id_len, type_len, data_len, comment_len = 0;
    int i;

    memset(s, 0, sizeof(*s));
    s->flags = take_byte(c);
    id_len = take_byte(c);
    type_len = take_byte(c);
    data_len = take_byte(c);
    if (s->flags & F_LONG_DATA)
        data_len |= (size_t)take_byte(c) << 8;
    if ((s->flags & F_RETRY) && (s->flags & F_RETRY_EDGE)) {
        s->retry = retry_edges[take_byte(c) % 8];
    } else if (s->flags & F_RETRY) {
        for (i = 0; i < 8; i++)
            s->retry |= (uint64_t)take_byte(c) << (8 * i);
    }
    if (s->flags & F_COMMENT)
        comment_len = take_byte(c);
    s->id = take_bytes(c, id_len, &s->id_len);
    s->type = take_bytes(c, type_len, &s->type_len);
    s->data = take_bytes(c, data_len, &s->data_len);
    s->comment = take_bytes(c, comment_len, &s->comment_len);
}

/* ---- Encoding ------------------------------------------------------------------------- */

/* Appends the comment ssehub_sse_encode_comment() makes of |text| and checks its shape. */
static void put_comment(sh_test_text_t *stream, const char *text, size_t len)
{
    size_t cap = 4 * len + 4, i;
    char *buf = sh_test_xmalloc(cap), *small;
    ssize_t n;

    n = ssehub_sse_encode_comment(text, len, buf, cap);
    FUZZ_CHECK(n >= 2 && (size_t)n <= cap);
    FUZZ_CHECK(buf[0] == ':' && buf[n - 1] == '\n');
    for (i = 1; i < (size_t)n; i++) {
        FUZZ_CHECK(buf[i] != '\r');
        if (buf[i - 1] == '\n')
            FUZZ_CHECK(buf[i] == ':');
    }
    if (len == 0)
        FUZZ_CHECK(n == 2);
    small = sh_test_xmalloc((size_t)n - 1);
    FUZZ_CHECK(ssehub_sse_encode_comment(text, len, small, (size_t)n - 1) == SSEHUB_ENOBUFS);
    free(small);
    sh_test_text_put(stream, buf, (size_t)n);
    free(buf);
}

/* An absent comment text is an empty comment. */
static void check_null_comment(void)
{
    char buf[2];

    FUZZ_CHECK(ssehub_sse_encode_comment(NULL, 0, buf, sizeof(buf)) == 2);
    FUZZ_CHECK(buf[0] == ':' && buf[1] == '\n');
    FUZZ_CHECK(ssehub_sse_encode_comment(NULL, 0, buf, 1) == SSEHUB_ENOBUFS);
}

/* Checks that every encoder entry point refuses |ev| with SSEHUB_EINVAL. */
static void check_refused(const ssehub_sse_event_t *ev)
{
    ssehub_rcbuf_t *rb, *sentinel;
    size_t len = 0;
    char buf[16];

    FUZZ_CHECK(ssehub_sse_encoded_len(ev, &len) == SSEHUB_EINVAL);
    FUZZ_CHECK(ssehub_sse_encode(ev, buf, sizeof(buf)) == SSEHUB_EINVAL);
    FUZZ_CHECK(ssehub_rcbuf_new(1, &sentinel) == 0);
    rb = sentinel; /* the encoder must overwrite it with NULL */
    FUZZ_CHECK(ssehub_sse_encode_rcbuf(ev, &rb) == SSEHUB_EINVAL && rb == NULL);
    ssehub_rcbuf_unref(sentinel);
}

/*
 * Encodes |ev| three ways (exact buffer, one byte short, rcbuf), checks they agree and
 * appends the bytes to |stream|.
 */
static void put_event(sh_test_text_t *stream, const ssehub_sse_event_t *ev, bool try_oom)
{
    ssehub_rcbuf_t *rb = NULL;
    size_t need = 0;
    char *buf;

    FUZZ_CHECK(ssehub_sse_encoded_len(ev, &need) == 0);
    FUZZ_CHECK(need >= 1);
    buf = sh_test_xmalloc(need);
    FUZZ_CHECK(ssehub_sse_encode(ev, buf, need) == (ssize_t)need);
    FUZZ_CHECK(buf[need - 1] == '\n' && (need == 1 || buf[need - 2] == '\n'));
    FUZZ_CHECK(ssehub_sse_encode_rcbuf(ev, &rb) == 0 && rb != NULL);
    FUZZ_CHECK(ssehub_rcbuf_len(rb) == need && ssehub_rcbuf_refcount(rb) == 1);
    FUZZ_CHECK(memcmp(ssehub_rcbuf_data(rb), buf, need) == 0);
    ssehub_rcbuf_unref(rb);
    if (need > 1) {
        char *small = sh_test_xmalloc(need - 1);
        FUZZ_CHECK(ssehub_sse_encode(ev, small, need - 1) == SSEHUB_ENOBUFS);
        free(small);
    }
    if (try_oom) {
        rb = NULL;
        sh_failalloc_fail_after(0);
        FUZZ_CHECK(ssehub_sse_encode_rcbuf(ev, &rb) == SSEHUB_ENOMEM && rb == NULL);
        sh_failalloc_fail_after(-1);
    }
    sh_test_text_put(stream, buf, need);
    free(buf);
}

/*
 * Encodes the event |s| describes into |stream| and appends the callbacks a receiver must
 * make of it to |want|. |last_id| is the receiver's last event ID, updated here.
 */
static void add_event(const spec_t *s, sh_test_text_t *stream, sh_test_log_t *want, char **last_id,
                      size_t *last_id_len)
{
    ssehub_sse_event_t ev = {0};
    char *id = NULL, *type = NULL;
    size_t id_len = 0, type_len = 0;

    if (s->flags & F_COMMENT)
        put_comment(stream, s->comment, s->comment_len);

    ev.id = (s->flags & F_ID) ? s->id : NULL;
    ev.id_len = (s->flags & F_ID) ? s->id_len : 0;
    ev.type = (s->flags & F_TYPE) ? s->type : NULL;
    ev.type_len = (s->flags & F_TYPE) ? s->type_len : 0;
    ev.data = (s->flags & F_DATA) ? s->data : NULL;
    ev.data_len = (s->flags & F_DATA) ? s->data_len : 0;
    ev.has_retry = (s->flags & F_RETRY) != 0;
    ev.retry = s->retry;

    /* A raw id or type that would break its line is refused; the stripped one is sent. */
    if ((ev.id != NULL && has_line_breaker(ev.id, ev.id_len)) ||
        (ev.type != NULL && has_line_breaker(ev.type, ev.type_len)))
        check_refused(&ev);
    if (ev.id != NULL) {
        id = strip_breakers(ev.id, ev.id_len, &id_len);
        ev.id = id;
        ev.id_len = id_len;
    }
    if (ev.type != NULL) {
        type = strip_breakers(ev.type, ev.type_len, &type_len);
        ev.type = type;
        ev.type_len = type_len;
    }
    put_event(stream, &ev, (s->flags & F_OOM) != 0);

    /* In wire order: id, event, retry, data lines, then the blank line dispatches. */
    if (id != NULL) {
        free(*last_id);
        *last_id = normalise(id, id_len, false, last_id_len);
    }
    if (ev.has_retry) {
        sh_test_rec_t *r = sh_test_log_add(want);
        r->is_retry = true;
        r->retry = ev.retry;
    }
    if (ev.data != NULL) {
        sh_test_rec_t *r = sh_test_log_add(want);
        if (type_len != 0) {
            r->type = normalise(type, type_len, false, &r->type_len);
        } else {
            r->type = sh_test_dup_bytes("message", 7);
            r->type_len = 7;
        }
        r->data = normalise(ev.data, ev.data_len, true, &r->data_len);
        r->id = sh_test_dup_bytes(*last_id, *last_id_len);
        r->id_len = *last_id_len;
    }
    free(id);
    free(type);
}

/* ---- Parsing back --------------------------------------------------------------------- */

/*
 * Parses |stream| cut at |cuts| (NULL with |ncuts| 1: byte by byte) and checks the
 * callbacks against |want| and the final last event ID against |last_id|.
 */
static void check_parse(const char *what, const sh_test_text_t *stream, const size_t *cuts,
                        size_t ncuts, const sh_test_log_t *want, const char *last_id,
                        size_t last_id_len)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;
    sh_test_log_t got = SH_TEST_LOG_INIT;
    size_t from = 0, i, n = cuts == NULL && ncuts != 0 ? stream->len : ncuts + 1;
    const char *id;
    size_t id_len;

    /* Decoding may triple the data (each invalid byte becomes U+FFFD); stay clear of it. */
    settings.max_size = 3 * stream->len + 64;
    settings.on_event = sh_test_log_on_event;
    settings.on_retry = sh_test_log_on_retry;
    settings.user = &got;
    FUZZ_CHECK(ssehub_sse_parser_new(&settings, &p) == 0);
    for (i = 0; i < n; i++) {
        size_t to =
            cuts == NULL ? (ncuts != 0 ? i + 1 : stream->len) : (i < ncuts ? cuts[i] : stream->len);
        FUZZ_CHECK(ssehub_sse_parse(p, stream->s + from, to - from) == (ssize_t)(to - from));
        from = to;
    }
    FUZZ_CHECK(from == stream->len);
    FUZZ_CHECK(ssehub_sse_parser_error(p) == 0);
    id = ssehub_sse_parser_last_event_id(p, &id_len);
    FUZZ_CHECK(id_len == last_id_len && memcmp(id, last_id, id_len) == 0);
    ssehub_sse_parser_free(p);
    check_log(what, &got, want, stream);
    sh_test_log_free(&got);
}

/* ---- Entry point ---------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = (ssehub_sse_parser_t *)&settings; /* must be overwritten */
    cursor_t c = {data, size};
    sh_test_text_t stream = {0};
    sh_test_log_t want = SH_TEST_LOG_INIT;
    char *last_id = sh_test_dup_bytes("", 0);
    size_t last_id_len = 0, events, e, *cuts, ncuts, pos;
    unsigned head;
    uint64_t seed = 0;

    if (!installed) {
        /* Once: every ssehub allocation from here on is counted. */
        sh_failalloc_install();
        installed = true;
    }
    FUZZ_CHECK(sh_failalloc_live() == 0);

    /* A parser that cannot get its memory reports it and returns none. */
    sh_failalloc_fail_after(0);
    FUZZ_CHECK(ssehub_sse_parser_new(&settings, &p) == SSEHUB_ENOMEM && p == NULL);
    sh_failalloc_fail_after(-1);

    check_null_comment();

    head = take_byte(&c);
    events = 1 + (head & 7);
    sh_test_text_put(&stream, "", 0);
    if (head & 8)
        sh_test_text_put(&stream, "\xEF\xBB\xBF", 3);
    for (e = 0; e < events && (e == 0 || c.left != 0); e++) {
        spec_t s;
        read_spec(&c, &s);
        add_event(&s, &stream, &want, &last_id, &last_id_len);
    }

    check_parse("whole", &stream, NULL, 0, &want, last_id, last_id_len);
    if (stream.len <= BYTEWISE_MAX)
        check_parse("bytewise", &stream, NULL, 1, &want, last_id, last_id_len);
    cuts = sh_test_xmalloc(stream.len * sizeof(*cuts));
    for (e = 0; e < size; e++)
        seed = (seed ^ data[e]) * UINT64_C(1099511628211);
    for (ncuts = 0, pos = 0;;) {
        seed = seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        pos += 1 + (size_t)((seed >> 33) % 23);
        if (pos >= stream.len)
            break;
        cuts[ncuts++] = pos;
    }
    check_parse("random cuts", &stream, cuts, ncuts, &want, last_id, last_id_len);

    free(cuts);
    free(last_id);
    sh_test_log_free(&want);
    sh_test_text_free(&stream);
    FUZZ_CHECK(sh_failalloc_live() == 0);
    return 0;
}
