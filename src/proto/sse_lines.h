/* SPDX-License-Identifier: MIT */
/*
 * Splitting bytes into lines ended by CRLF, LF or a lone CR, as event streams are. Shared
 * by the encoder (data and comment lines) and the parser. Internal to src/proto/.
 */
#ifndef SH_PROTO_SSE_LINES_H
#define SH_PROTO_SSE_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * An iterator over the lines of [p, end). It remembers where the next CR and the next LF
 * are, so each memchr() runs over any byte at most once: without that, a stream of lone
 * CRs would rescan for an LF on every line and make splitting quadratic.
 */
typedef struct sh_sse__lines_s {
    const char *p;   /* start of the next line */
    const char *end; /* end of the input */
    const char *cr;  /* the next CR at or after |p|, or |end|; valid when |cr_ok| */
    const char *lf;  /* the next LF at or after |p|, or |end|; valid when |lf_ok| */
    bool cr_ok;
    bool lf_ok;
} sh_sse__lines_t;

static inline void sh_sse__lines_init(sh_sse__lines_t *it, const char *p, size_t len)
{
    it->p = p;
    it->end = p + len;
    it->cr = NULL;
    it->lf = NULL;
    it->cr_ok = false;
    it->lf_ok = false;
}

/* Returns the first byte of [from, end) equal to |c|, or |end|. */
static inline const char *sh_sse__find(const char *from, const char *end, char c)
{
    const char *hit = from < end ? memchr(from, c, (size_t)(end - from)) : NULL;
    return hit != NULL ? hit : end;
}

/*
 * True when |s| holds CR, LF or NUL: bytes that may not appear in an id or event field
 * (CR and LF would end the line early; receivers ignore an id containing NUL).
 */
static inline bool sh_sse__has_line_breaker(const char *s, size_t len)
{
    return len != 0 && (memchr(s, '\r', len) != NULL || memchr(s, '\n', len) != NULL ||
                        memchr(s, '\0', len) != NULL);
}

/*
 * Finds the end of the line that starts at it->p and returns a pointer to its terminator
 * (a CR or an LF), or it->end when the rest of the input holds no terminator. Does not
 * advance; the caller moves it->p past the terminator it decides to consume.
 */
static inline const char *sh_sse__lines_eol(sh_sse__lines_t *it)
{
    if (!it->lf_ok || it->lf < it->p) {
        it->lf = sh_sse__find(it->p, it->end, '\n');
        it->lf_ok = true;
    }
    if (!it->cr_ok || it->cr < it->p) {
        it->cr = sh_sse__find(it->p, it->end, '\r');
        it->cr_ok = true;
    }
    return it->cr < it->lf ? it->cr : it->lf;
}

/*
 * Moves past the terminator at |eol| (returned by sh_sse__lines_eol, not it->end),
 * treating CRLF as one terminator when both bytes are in the input. Returns true when
 * |eol| is a CR that is the input's last byte: an LF may still follow in the next chunk.
 */
static inline bool sh_sse__lines_skip(sh_sse__lines_t *it, const char *eol)
{
    it->p = eol + 1;
    if (*eol != '\r')
        return false;
    if (it->p == it->end)
        return true;
    if (*it->p == '\n')
        it->p++;
    return false;
}

#endif /* SH_PROTO_SSE_LINES_H */
