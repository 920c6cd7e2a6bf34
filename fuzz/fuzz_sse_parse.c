/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the event-stream parser; the input is the stream. For each input it
 * checks that:
 *   1. the transcript is the same whatever the chunking: whole, one byte at a time (inputs
 *      up to BYTEWISE_MAX bytes), and split at positions derived from the input;
 *   2. memory stays bounded: the parser's peak live bytes are at most
 *      5 x max_size + PARSER_OVERHEAD (partial line, data, type, pending and confirmed id),
 *      for the default max_size and for a small one chosen by the first byte, and nothing
 *      is left allocated afterwards;
 *   3. a small max_size or a failing allocator only cuts the transcript short (it ends with
 *      "error E2BIG" or "error ENOMEM" after a prefix of the full transcript);
 *   4. every dispatched string is valid UTF-8, the type is never empty and holds no CR or
 *      LF, the id holds no CR, LF or NUL, the data holds no CR;
 *   5. errors (E2BIG, ECANCELED from a callback) are sticky; a callback returning non-zero
 *      stops the parse right there; without callbacks the parse ends the same way;
 *      reset() keeps the confirmed last event ID and, with it cleared, replays the same
 *      callbacks; set_last_event_id() refuses NUL, CR, LF and oversize ids and decodes
 *      invalid UTF-8;
 *   6. each dispatched event, encoded with ssehub_sse_encode() (and _rcbuf(), identically),
 *      parses back to the same type, data, id and retry.
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
#include "support/transcript.h"
#include "fuzz.h"

#define BYTEWISE_MAX    4096 /* longest input also fed one byte at a time */
#define PARSER_OVERHEAD 1024 /* the parser object itself, beyond its five capped buffers */

/* The small max_size values, indexed by the first byte: limits on every path. */
static const size_t small_max_sizes[8] = {1, 2, 3, 7, 16, 64, 100, 512};

/* ---- Helpers -------------------------------------------------------------------------- */

/* splitmix64. */
static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static bool is_utf8(const char *s, size_t len)
{
    return sh_utf8_valid_prefix(s, len) == len;
}

/* Prints both transcripts and aborts when they differ. */
static void check_same(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return;
    fprintf(stderr, "transcript mismatch (%s)\n--- expected:\n%s--- got:\n%s---\n", what, want,
            got);
    abort();
}

/*
 * Returns the length of transcript |t| without its final "error NAME" line and points
 * |*err| at that line (NULL when the parse did not fail). Checks that every other line is
 * an event or a retry.
 */
static size_t transcript_body(const char *t, const char **err)
{
    const char *line = t, *nl;

    *err = NULL;
    while (*line != '\0') {
        nl = strchr(line, '\n');
        FUZZ_CHECK(nl != NULL);
        if (strncmp(line, "error ", 6) == 0) {
            FUZZ_CHECK(nl[1] == '\0'); /* the error line is the last one */
            *err = line;
            break;
        }
        FUZZ_CHECK(line[0] == '{');
        line = nl + 1;
    }
    return (size_t)(line - t);
}

/*
 * Checks that |cut| (a transcript of a run stopped early by |err_name|) is |full| cut short:
 * either identical, or a prefix of |full|'s events followed by "error |err_name|".
 */
static void check_cut_short(const char *cut, const char *full, const char *err_name)
{
    const char *cut_err, *full_err;
    size_t cut_len = transcript_body(cut, &cut_err);
    size_t full_len = transcript_body(full, &full_err);
    char line[64];

    if (strcmp(cut, full) == 0)
        return;
    snprintf(line, sizeof(line), "error %s\n", err_name);
    if (cut_err == NULL || strcmp(cut_err, line) != 0 || cut_len > full_len ||
        memcmp(cut, full, cut_len) != 0) {
        fprintf(stderr, "not a cut-short transcript (%s)\n--- full:\n%s--- cut:\n%s---\n", err_name,
                full, cut);
        abort();
    }
}

/* ---- 1, 2: chunking and memory -------------------------------------------------------- */

/*
 * Runs the transcript of |in| cut at |cuts| with |max_size| under the counting allocator
 * and checks the memory bound and that nothing leaks. Returns the transcript (free() it).
 */
static char *bounded_transcript(const uint8_t *in, size_t len, size_t max_size, const size_t *cuts,
                                size_t ncuts)
{
    size_t max = max_size != 0 ? max_size : SSEHUB_SSE_DEFAULT_MAX_SIZE;
    size_t base = sh_failalloc_live_bytes();
    char *t;

    sh_failalloc_reset_peak();
    if (cuts == NULL && ncuts != 0)
        t = sh_test_transcript_bytewise((const char *)in, len, max_size);
    else
        t = sh_test_transcript((const char *)in, len, max_size, cuts, ncuts);
    FUZZ_CHECK(t != NULL);
    FUZZ_CHECK(sh_failalloc_peak_bytes() - base <= 5 * max + PARSER_OVERHEAD);
    FUZZ_CHECK(sh_failalloc_live_bytes() == base);
    return t;
}

/* Checks that |t| matches |whole|, then frees |t|. */
static void check_and_free(const char *what, char *t, const char *whole)
{
    check_same(what, t, whole);
    free(t);
}

/*
 * Checks that every chunking of |in| gives the transcript |whole|: byte by byte, one cut,
 * cuts around the bytes where state spans chunks (BOM, CR, UTF-8 continuation bytes), and
 * chunks of random sizes. |cuts| has room for len - 1 entries.
 */
static void check_chunkings(const uint8_t *in, size_t len, size_t max_size, const char *whole,
                            uint64_t seed, size_t *cuts)
{
    size_t n, i;

    if (len < 2)
        return;
    if (len <= BYTEWISE_MAX)
        check_and_free("bytewise", bounded_transcript(in, len, max_size, NULL, 1), whole);

    cuts[0] = 1 + (size_t)(seed % (len - 1));
    check_and_free("one cut", bounded_transcript(in, len, max_size, cuts, 1), whole);

    n = 0;
    for (i = 1; i < len; i++) {
        if (i <= 3 || in[i - 1] == '\r' || (in[i] & 0xC0) == 0x80)
            cuts[n++] = i;
    }
    check_and_free("state cuts", bounded_transcript(in, len, max_size, cuts, n), whole);

    n = 0;
    for (i = 0;;) {
        uint64_t r = next_rand(&seed);
        i += 1 + (size_t)(r % 17);
        if ((r >> 32) % 16 == 0)
            i += (size_t)((r >> 40) % 512);
        if (i >= len)
            break;
        cuts[n++] = i;
    }
    check_and_free("random cuts", bounded_transcript(in, len, max_size, cuts, n), whole);
}

/* ---- 3: a failing allocator cuts short ------------------------------------------------ */

/* Lets |budget| allocations succeed, then fails them: the parse must stop with ENOMEM. */
static void check_oom(const uint8_t *in, size_t len, long budget, const char *full)
{
    size_t base = sh_failalloc_live_bytes();
    char *t;

    sh_failalloc_fail_after(budget);
    t = sh_test_transcript((const char *)in, len, 0, NULL, 0);
    sh_failalloc_fail_after(-1);
    FUZZ_CHECK(sh_failalloc_live_bytes() == base);
    if (t == NULL) {
        /* Only ssehub_sse_parser_new() failing gives no transcript at all. */
        FUZZ_CHECK(budget == 0);
        return;
    }
    check_cut_short(t, full, "ENOMEM");
    free(t);
}

/* ---- 4, 5: dispatched events ---------------------------------------------------------- */

/* Checks what the header promises of a dispatched event, and records a copy. */
static int on_event(void *user, const ssehub_sse_event_t *ev)
{
    FUZZ_CHECK(ev->type != NULL && ev->data != NULL && ev->id != NULL);
    FUZZ_CHECK(!ev->has_retry);
    FUZZ_CHECK(is_utf8(ev->type, ev->type_len));
    FUZZ_CHECK(is_utf8(ev->data, ev->data_len));
    FUZZ_CHECK(is_utf8(ev->id, ev->id_len));
    FUZZ_CHECK(ev->type_len != 0);
    FUZZ_CHECK(!sh_test_has_byte(ev->type, ev->type_len, '\r') &&
               !sh_test_has_byte(ev->type, ev->type_len, '\n'));
    FUZZ_CHECK(!sh_test_has_byte(ev->id, ev->id_len, '\r') &&
               !sh_test_has_byte(ev->id, ev->id_len, '\n') &&
               !sh_test_has_byte(ev->id, ev->id_len, '\0'));
    FUZZ_CHECK(!sh_test_has_byte(ev->data, ev->data_len, '\r'));
    return sh_test_log_on_event(user, ev);
}

static ssehub_sse_parser_t *new_parser(size_t max_size, sh_test_log_t *l)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;

    settings.max_size = max_size;
    settings.on_event = on_event;
    settings.on_retry = sh_test_log_on_retry;
    settings.user = l;
    FUZZ_CHECK(ssehub_sse_parser_new(&settings, &p) == 0 && p != NULL);
    FUZZ_CHECK(ssehub_sse_parser_max_size(p) ==
               (max_size != 0 ? max_size : SSEHUB_SSE_DEFAULT_MAX_SIZE));
    return p;
}

/* Feeds |in| whole; checks the return value, the sticky error and the last event ID. */
static ssize_t parse_whole(ssehub_sse_parser_t *p, const uint8_t *in, size_t len)
{
    ssize_t rc = ssehub_sse_parse(p, (const char *)in, len);
    const char *id;
    size_t id_len;

    FUZZ_CHECK(rc == (ssize_t)len || rc == SSEHUB_E2BIG || rc == SSEHUB_ECANCELED);
    if (rc < 0) {
        FUZZ_CHECK(ssehub_sse_parser_error(p) == rc);
        FUZZ_CHECK(ssehub_sse_parse(p, "\n\n", 2) == SSEHUB_EBADSTATE);
    } else {
        FUZZ_CHECK(ssehub_sse_parser_error(p) == 0);
    }
    id = ssehub_sse_parser_last_event_id(p, &id_len);
    FUZZ_CHECK(id != NULL && is_utf8(id, id_len));
    FUZZ_CHECK(id_len <= ssehub_sse_parser_max_size(p));
    FUZZ_CHECK(!sh_test_has_byte(id, id_len, '\r') && !sh_test_has_byte(id, id_len, '\n') &&
               !sh_test_has_byte(id, id_len, '\0'));
    return rc;
}

/* ---- 6: encode(parse(x)) round-trips -------------------------------------------------- */

/*
 * Encodes the dispatched event |r| (with a retry line when |has_retry|), checks both
 * encoders agree, and parses the bytes back with a fresh parser: the same retry and event
 * must come out. A type holding NUL cannot be encoded: the encoder must refuse it.
 */
static void check_roundtrip(const sh_test_rec_t *r, bool has_retry, uint64_t retry, uint64_t seed)
{
    ssehub_sse_event_t ev = {0};
    ssehub_rcbuf_t *rb = NULL, *sentinel = NULL;
    ssehub_sse_parser_t *p;
    sh_test_log_t back = SH_TEST_LOG_INIT;
    size_t need = 0, cut;
    char *buf;
    sh_test_rec_t want_retry = {0};

    ev.id = r->id;
    ev.id_len = r->id_len;
    ev.type = r->type;
    ev.type_len = r->type_len;
    ev.data = r->data;
    ev.data_len = r->data_len;
    ev.has_retry = has_retry;
    ev.retry = retry;

    if (sh_test_has_byte(r->type, r->type_len, '\0')) {
        char one;
        FUZZ_CHECK(ssehub_sse_encoded_len(&ev, &need) == SSEHUB_EINVAL);
        FUZZ_CHECK(ssehub_sse_encode(&ev, &one, sizeof(one)) == SSEHUB_EINVAL);
        FUZZ_CHECK(ssehub_rcbuf_new(1, &sentinel) == 0);
        rb = sentinel; /* the encoder must overwrite it with NULL */
        FUZZ_CHECK(ssehub_sse_encode_rcbuf(&ev, &rb) == SSEHUB_EINVAL && rb == NULL);
        ssehub_rcbuf_unref(sentinel);
        return;
    }
    FUZZ_CHECK(ssehub_sse_encoded_len(&ev, &need) == 0);
    FUZZ_CHECK(need >= 2);

    /* Exact-size heap buffers, so that ASan sees any write past the computed length. */
    buf = sh_test_xmalloc(need);
    FUZZ_CHECK(ssehub_sse_encode(&ev, buf, need) == (ssize_t)need);
    FUZZ_CHECK(buf[need - 1] == '\n' && buf[need - 2] == '\n');
    FUZZ_CHECK(ssehub_sse_encode_rcbuf(&ev, &rb) == 0 && rb != NULL);
    FUZZ_CHECK(ssehub_rcbuf_len(rb) == need && ssehub_rcbuf_refcount(rb) == 1);
    FUZZ_CHECK(memcmp(ssehub_rcbuf_data(rb), buf, need) == 0);
    ssehub_rcbuf_unref(rb);
    {
        char *small = sh_test_xmalloc(need - 1);
        FUZZ_CHECK(ssehub_sse_encode(&ev, small, need - 1) == SSEHUB_ENOBUFS);
        free(small);
    }

    /* Parse it back in two chunks; every line fits in |need| bytes. */
    p = new_parser(need + 64, &back);
    cut = (size_t)(seed % (need + 1));
    FUZZ_CHECK(ssehub_sse_parse(p, buf, cut) == (ssize_t)cut);
    FUZZ_CHECK(ssehub_sse_parse(p, buf + cut, need - cut) == (ssize_t)(need - cut));
    ssehub_sse_parser_free(p);

    want_retry.is_retry = true;
    want_retry.retry = retry;
    if (back.n != (has_retry ? 2u : 1u) ||
        (has_retry && !sh_test_rec_equal(&back.v[0], &want_retry)) ||
        !sh_test_rec_equal(&back.v[back.n - 1], r)) {
        fprintf(stderr, "round trip failed: %zu callbacks for encoding:\n", back.n);
        fwrite(buf, 1, need, stderr);
        abort();
    }
    sh_test_log_free(&back);
    free(buf);
}

/*
 * After |p| parsed a stream, a reconnection: reset() drops the partial event and any id
 * not confirmed by a blank line, and keeps the last event ID string, which the next event
 * then carries.
 */
static void check_resume(ssehub_sse_parser_t *p, sh_test_log_t *l)
{
    const char *id;
    size_t id_len, last_len;
    char *last;
    sh_test_rec_t want = {0};

    id = ssehub_sse_parser_last_event_id(p, &last_len);
    last = sh_test_dup_bytes(id, last_len);
    ssehub_sse_parser_reset(p);
    FUZZ_CHECK(ssehub_sse_parser_error(p) == 0);
    id = ssehub_sse_parser_last_event_id(p, &id_len);
    FUZZ_CHECK(id_len == last_len && memcmp(id, last, id_len) == 0);
    FUZZ_CHECK(ssehub_sse_parse(p, "data: x\n\n", 9) == 9);
    want.type = "message";
    want.type_len = 7;
    want.data = "x";
    want.data_len = 1;
    want.id = last;
    want.id_len = last_len;
    FUZZ_CHECK(l->n == 1 && sh_test_rec_equal(&l->v[0], &want));
    free(last);
}

/*
 * With a small max_size (so that E2BIG happens): an error is sticky until reset(), and a
 * reset stream with the last event ID cleared is a new stream: the same callbacks again.
 */
static void check_reset_replay(const uint8_t *in, size_t len, size_t max_size)
{
    ssehub_sse_parser_t *p;
    sh_test_log_t cur = SH_TEST_LOG_INIT, first;
    ssize_t rc1, rc2;

    p = new_parser(max_size, &cur);
    rc1 = parse_whole(p, in, len);
    first = cur;
    cur = (sh_test_log_t)SH_TEST_LOG_INIT;
    ssehub_sse_parser_reset(p);
    FUZZ_CHECK(ssehub_sse_parser_error(p) == 0);
    FUZZ_CHECK(ssehub_sse_parser_set_last_event_id(p, "", 0) == 0);
    rc2 = parse_whole(p, in, len);
    FUZZ_CHECK(rc1 == rc2);
    FUZZ_CHECK(sh_test_log_equal(&first, &cur));
    ssehub_sse_parser_free(p);
    sh_test_log_free(&cur);
    sh_test_log_free(&first);
}

/*
 * The callback numbered |k| returns non-zero: the parse stops with SSEHUB_ECANCELED right
 * after it (sticky), having made exactly the first k + 1 callbacks of |full|.
 */
static void check_cancel(const uint8_t *in, size_t len, const sh_test_log_t *full, ssize_t full_rc,
                         size_t k)
{
    ssehub_sse_parser_t *p;
    sh_test_log_t cur = SH_TEST_LOG_INIT;
    ssize_t rc;
    size_t i;

    cur.cancel_at = k;
    p = new_parser(0, &cur);
    rc = parse_whole(p, in, len);
    if (k < full->n) {
        FUZZ_CHECK(rc == SSEHUB_ECANCELED && cur.n == k + 1);
        for (i = 0; i <= k; i++)
            FUZZ_CHECK(sh_test_rec_equal(&cur.v[i], &full->v[i]));
    } else {
        FUZZ_CHECK(rc == full_rc && sh_test_log_equal(&cur, full));
    }
    ssehub_sse_parser_free(p);
    sh_test_log_free(&cur);
}

/*
 * Without callbacks, in two chunks: the same result, and the same last event ID, as the
 * parser |ref| that saw the input whole with callbacks.
 */
static void check_no_callbacks(const uint8_t *in, size_t len, ssize_t want_rc,
                               const ssehub_sse_parser_t *ref, uint64_t seed)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p = NULL;
    size_t cut = len != 0 ? (size_t)(seed % (len + 1)) : 0, id_len, ref_len;
    const char *id, *ref_id;
    ssize_t rc;

    FUZZ_CHECK(ssehub_sse_parser_new(&settings, &p) == 0);
    rc = ssehub_sse_parse(p, (const char *)in, cut);
    FUZZ_CHECK(rc == (ssize_t)cut || rc == SSEHUB_E2BIG);
    if (rc >= 0) {
        rc = ssehub_sse_parse(p, (const char *)in + cut, len - cut);
        FUZZ_CHECK(rc == (ssize_t)(len - cut) || rc == SSEHUB_E2BIG);
    }
    FUZZ_CHECK((rc < 0) == (want_rc < 0));
    if (rc >= 0) {
        id = ssehub_sse_parser_last_event_id(p, &id_len);
        ref_id = ssehub_sse_parser_last_event_id(ref, &ref_len);
        FUZZ_CHECK(id_len == ref_len && memcmp(id, ref_id, id_len) == 0);
    }
    ssehub_sse_parser_free(p);
}

/*
 * ssehub_sse_parser_set_last_event_id() with the first bytes of the input: refused with
 * SSEHUB_EINVAL (NUL, CR or LF) or SSEHUB_E2BIG (over max_size once decoded), leaving the
 * id unchanged; else stored decoded as stream ids are (invalid UTF-8 as U+FFFD), and the
 * next event carries it.
 */
static void check_set_id(const uint8_t *in, size_t len, size_t max_size)
{
    ssehub_sse_parser_t *p;
    sh_test_log_t l = SH_TEST_LOG_INIT;
    size_t n = len < max_size + 1 ? len : max_size + 1, id_len;
    const char *s = (const char *)in, *id;
    bool bad = sh_test_has_byte(s, n, '\0') || sh_test_has_byte(s, n, '\r') ||
               sh_test_has_byte(s, n, '\n');
    sh_buf_t want;
    int rc;

    sh_buf_init(&want, SIZE_MAX);
    FUZZ_CHECK(sh_utf8_append_sanitized(&want, s, n) == 0);
    p = new_parser(max_size, &l);
    FUZZ_CHECK(ssehub_sse_parser_set_last_event_id(p, "k", 1) == 0);
    rc = ssehub_sse_parser_set_last_event_id(p, s, n);
    /* The header does not rank the two refusals when both apply. */
    if (bad && want.len > max_size)
        FUZZ_CHECK(rc == SSEHUB_EINVAL || rc == SSEHUB_E2BIG);
    else
        FUZZ_CHECK(rc == (bad ? SSEHUB_EINVAL : want.len > max_size ? SSEHUB_E2BIG : 0));
    id = ssehub_sse_parser_last_event_id(p, &id_len);
    if (rc == 0)
        FUZZ_CHECK(id_len == want.len && (id_len == 0 || memcmp(id, want.base, id_len) == 0));
    else
        FUZZ_CHECK(id_len == 1 && id[0] == 'k');
    /* "data: x" fits any max_size of 7 or more. */
    if (max_size >= 7) {
        FUZZ_CHECK(ssehub_sse_parse(p, "data: x\n\n", 9) == 9);
        FUZZ_CHECK(l.n == 1 && l.v[0].id_len == id_len && memcmp(l.v[0].id, id, id_len) == 0);
    }
    ssehub_sse_parser_free(p);
    sh_test_log_free(&l);
    sh_buf_dispose(&want);
}

/*
 * Parses |in| with the default max_size collecting the callbacks, checks the error paths
 * and a resume against that, and round-trips every dispatched event.
 */
static void check_events(const uint8_t *in, size_t len, size_t small_max, uint64_t seed)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p, *sentinel = (ssehub_sse_parser_t *)&settings;
    sh_test_log_t cur = SH_TEST_LOG_INIT, first;
    ssize_t rc1;
    bool has_retry = false;
    uint64_t retry = 0;
    size_t i;

    /* Misuse is refused, and |*out| is cleared when there is one. */
    p = sentinel;
    FUZZ_CHECK(ssehub_sse_parser_new(NULL, &p) == SSEHUB_EINVAL && p == NULL);
    FUZZ_CHECK(ssehub_sse_parser_new(&settings, NULL) == SSEHUB_EINVAL);

    p = new_parser(0, &cur);
    rc1 = parse_whole(p, in, len);
    first = cur;
    cur = (sh_test_log_t)SH_TEST_LOG_INIT;
    check_no_callbacks(in, len, rc1, p, seed);
    check_resume(p, &cur);
    ssehub_sse_parser_free(p);
    sh_test_log_free(&cur);

    check_reset_replay(in, len, small_max);
    check_cancel(in, len, &first, rc1, (size_t)(seed % (first.n + 1)));
    check_set_id(in, len, small_max);

    for (i = 0; i < first.n; i++) {
        const sh_test_rec_t *r = &first.v[i];
        if (r->is_retry) {
            has_retry = true;
            retry = r->retry;
            continue;
        }
        check_roundtrip(r, has_retry, retry, next_rand(&seed));
    }
    sh_test_log_free(&first);
}

/* ---- Entry point ---------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    size_t small_max, *cuts;
    uint64_t seed = fuzz_hash_bytes(data, size);
    char *whole, *whole_small;

    if (!installed) {
        /* Once: every ssehub allocation from here on is counted. */
        sh_failalloc_install();
        installed = true;
    }
    FUZZ_CHECK(sh_failalloc_live() == 0);
    small_max = small_max_sizes[size != 0 ? data[0] % 8 : 0];
    cuts = sh_test_xmalloc(size * sizeof(*cuts));

    whole = bounded_transcript(data, size, 0, NULL, 0);
    check_chunkings(data, size, 0, whole, seed, cuts);

    whole_small = bounded_transcript(data, size, small_max, NULL, 0);
    check_chunkings(data, size, small_max, whole_small, seed >> 1, cuts);
    check_cut_short(whole_small, whole, "E2BIG");

    check_oom(data, size, (long)(seed % 12), whole);
    check_events(data, size, small_max, seed);

    free(whole_small);
    free(whole);
    free(cuts);
    FUZZ_CHECK(sh_failalloc_live() == 0);
    return 0;
}
