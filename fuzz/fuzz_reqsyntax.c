/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the RFC 9112 checks beside llhttp (src/server/reqsyntax.c). The first
 * byte picks the scanner's starting state (between requests, header lines, a chunk-size
 * line, after chunk data, trailer lines); the rest is the byte stream. For each input it
 * checks that:
 *   1. sh_frame_scan returns a position within the bytes given, or NULL with a reason;
 *   2. scanning the bytes in one call and in pieces (split where the input's hash says)
 *      ends the same way: same error or none, same state, same position;
 *   3. bytes it accepted as a complete header or trailer section hold no bare CR, no bare
 *      LF, and no line (after the request line) starting with whitespace or a colon;
 *   4. sh_host_valid, sh_target_check and sh_te_add on the first line are consistent: a
 *      valid Host holds no space, control byte, '@', '/' or '?'; no accepted target holds
 *      '#'; a Transfer-Encoding never counts more chunked codings than codings, and ends
 *      with chunked only if it has one.
 */
#include <stdint.h>
#include <string.h>

#include "server/reqsyntax.h"
#include "fuzz.h"

static const int start_states[] = {SH_FRAME_IDLE, SH_FRAME_HEAD, SH_FRAME_CHUNK_LINE,
                                   SH_FRAME_CHUNK_DATA, SH_FRAME_TRAILERS};

/* The state a scan stops at, from the starting one: the end of what it starts. */
static int stop_for(int start)
{
    switch (start) {
    case SH_FRAME_CHUNK_LINE:
        return SH_FRAME_CHUNK_LINE_END;
    case SH_FRAME_CHUNK_DATA:
        return SH_FRAME_CHUNK_LINE;
    case SH_FRAME_TRAILERS:
        return SH_FRAME_TRAILERS_END;
    default:
        return SH_FRAME_HEAD_END;
    }
}

static void start(sh_frame_t *f, int state)
{
    memset(f, 0, sizeof(*f));
    if (state != SH_FRAME_IDLE)
        sh_frame_set(f, state);
}

/* Scans in pieces of 1 to 16 bytes chosen by |seed|: the position reached (NULL: error). */
static const char *scan_pieces(sh_frame_t *f, const char *p, const char *end, int stop,
                               uint64_t seed)
{
    const char *reason = NULL;

    while (p < end && f->state != stop) {
        size_t piece = 1 + (size_t)(seed & 15);
        const char *q = (size_t)(end - p) < piece ? end : p + piece;
        const char *r;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        r = sh_frame_scan(f, p, q, stop, &reason);
        if (r == NULL) {
            FUZZ_CHECK(reason != NULL);
            return NULL;
        }
        FUZZ_CHECK(r >= p && r <= q);
        FUZZ_CHECK(r == q || f->state == stop);
        p = r;
    }
    return p;
}

/* Invariant 3 over an accepted section [s, e). */
static void check_section(const char *s, const char *e, int from_idle)
{
    const char *p;
    int line_start = 1, first_line = from_idle;

    for (p = s; p < e; p++) {
        if (*p == '\n')
            FUZZ_CHECK(p > s && p[-1] == '\r');
        if (*p == '\r')
            FUZZ_CHECK(p + 1 < e && p[1] == '\n');
        if (line_start && *p != '\r' && *p != '\n') {
            if (!first_line)
                FUZZ_CHECK(*p != ' ' && *p != '\t' && *p != ':');
            first_line = 0;
        }
        line_start = *p == '\n';
    }
}

static void check_fields(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    size_t len = nl != NULL ? (size_t)(nl - s) : n;
    const char *why;
    sh_te_t te;
    size_t i;

    if (sh_host_valid(s, len)) {
        size_t a = 0, b = len;

        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        for (i = a; i < b; i++) {
            unsigned char ch = (unsigned char)s[i];

            FUZZ_CHECK(ch > ' ' && ch < 0x7f && ch != '@' && ch != '/' && ch != '?');
        }
    }
    why = sh_target_check(s, len, 1);
    if (why == NULL)
        FUZZ_CHECK(len > 0 && memchr(s, '#', len) == NULL);
    memset(&te, 0, sizeof(te));
    sh_te_add(&te, s, len);
    FUZZ_CHECK(te.chunked <= te.codings);
    if (te.last_chunked)
        FUZZ_CHECK(te.chunked > 0);
    if (te.codings == 0)
        FUZZ_CHECK(!te.last_chunked && !te.other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sh_frame_t whole, pieces;
    const char *s, *end, *reason = NULL, *a, *b;
    int state, stop;

    if (size == 0)
        return 0;
    state = start_states[data[0] % (sizeof(start_states) / sizeof(start_states[0]))];
    stop = stop_for(state);
    s = (const char *)data + 1;
    end = (const char *)data + size;

    start(&whole, state);
    a = sh_frame_scan(&whole, s, end, stop, &reason);
    if (a == NULL)
        FUZZ_CHECK(reason != NULL);
    else
        FUZZ_CHECK(a >= s && a <= end && (a == end || whole.state == stop));
    start(&pieces, state);
    b = scan_pieces(&pieces, s, end, stop, fuzz_hash_bytes(data, size));
    FUZZ_CHECK((a == NULL) == (b == NULL));
    if (a != NULL) {
        FUZZ_CHECK(a == b);
        FUZZ_CHECK(memcmp(&whole, &pieces, sizeof(whole)) == 0);
        if (whole.state == stop && (stop == SH_FRAME_HEAD_END || stop == SH_FRAME_TRAILERS_END))
            check_section(s, a, state == SH_FRAME_IDLE);
    }
    check_fields(s, (size_t)(end - s));
    return 0;
}
