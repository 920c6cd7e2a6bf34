/* SPDX-License-Identifier: MIT */
/*
 * The event-stream encoder: one event to its wire bytes, computed exactly first so that
 * an event is written once into a buffer of its final size (caller's or reference-counted).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "ssehub/sse.h"
#include "base/str.h"
#include "proto/sse_lines.h"

/* |*acc| += |n|; false on size_t overflow. */
static bool add_size(size_t *acc, size_t n)
{
    if (n > SIZE_MAX - *acc)
        return false;
    *acc += n;
    return true;
}

/*
 * Bytes needed for the text |s| written as prefixed lines, per line of |s| split on CRLF,
 * LF and CR: the prefix ("data:" or ":"), a space, the line's bytes and an LF. Data lines
 * keep the space even when empty ("data: "), so leading spaces survive; comment lines
 * drop it when empty (":"). Adds to |*acc|; false on size_t overflow.
 */
static bool lines_size(const char *s, size_t len, size_t prefix_len, bool space_when_empty,
                       size_t *acc)
{
    sh_sse__lines_t it;
    size_t lines = 0, spaces = 0, text = 0;

    sh_sse__lines_init(&it, s, len);
    for (;;) {
        const char *eol = sh_sse__lines_eol(&it);
        text += (size_t)(eol - it.p);
        lines++;
        if (space_when_empty || eol != it.p)
            spaces++;
        if (eol == it.end)
            break;
        (void)sh_sse__lines_skip(&it, eol);
    }
    if (lines > SIZE_MAX / (prefix_len + 1))
        return false;
    return add_size(acc, text) && add_size(acc, lines * (prefix_len + 1)) && add_size(acc, spaces);
}

int ssehub_sse_encoded_len(const ssehub_sse_event_t *ev, size_t *len)
{
    size_t n = 1; /* the blank line that dispatches */
    char digits[20];

    if (ev->id != NULL) {
        if (sh_sse__has_line_breaker(ev->id, ev->id_len))
            return SSEHUB_EINVAL;
        if (!add_size(&n, 5) || !add_size(&n, ev->id_len))
            return SSEHUB_E2BIG;
    }
    if (ev->type != NULL) {
        if (sh_sse__has_line_breaker(ev->type, ev->type_len))
            return SSEHUB_EINVAL;
        if (!add_size(&n, 8) || !add_size(&n, ev->type_len))
            return SSEHUB_E2BIG;
    }
    if (ev->has_retry && !add_size(&n, 8 + sh_fmt_u64(digits, ev->retry)))
        return SSEHUB_E2BIG;
    if (ev->data != NULL && !lines_size(ev->data, ev->data_len, 5, true, &n))
        return SSEHUB_E2BIG;
    *len = n;
    return 0;
}

/* Writes |len| bytes and returns the position after them. */
static char *put(char *dst, const char *src, size_t len)
{
    memcpy(dst, src, len);
    return dst + len;
}

/* Writes |s| as lines sized by lines_size(); the caller has checked the room. */
static char *put_lines(char *dst, const char *prefix, size_t prefix_len, bool space_when_empty,
                       const char *s, size_t len)
{
    sh_sse__lines_t it;

    sh_sse__lines_init(&it, s, len);
    for (;;) {
        const char *eol = sh_sse__lines_eol(&it);
        dst = put(dst, prefix, prefix_len);
        if (space_when_empty || eol != it.p)
            *dst++ = ' ';
        dst = put(dst, it.p, (size_t)(eol - it.p));
        *dst++ = '\n';
        if (eol == it.end)
            break;
        (void)sh_sse__lines_skip(&it, eol);
    }
    return dst;
}

/* Writes |ev| into |buf|, which holds exactly ssehub_sse_encoded_len() bytes or more. */
static size_t encode_unchecked(const ssehub_sse_event_t *ev, char *buf)
{
    char *dst = buf;

    if (ev->id != NULL) {
        dst = put(dst, "id: ", 4);
        dst = put(dst, ev->id, ev->id_len);
        *dst++ = '\n';
    }
    if (ev->type != NULL) {
        dst = put(dst, "event: ", 7);
        dst = put(dst, ev->type, ev->type_len);
        *dst++ = '\n';
    }
    if (ev->has_retry) {
        dst = put(dst, "retry: ", 7);
        dst += sh_fmt_u64(dst, ev->retry);
        *dst++ = '\n';
    }
    if (ev->data != NULL)
        dst = put_lines(dst, "data:", 5, true, ev->data, ev->data_len);
    *dst++ = '\n';
    return (size_t)(dst - buf);
}

ssize_t ssehub_sse_encode(const ssehub_sse_event_t *ev, char *buf, size_t cap)
{
    size_t need;
    int rc;

    rc = ssehub_sse_encoded_len(ev, &need);
    if (rc != 0)
        return rc;
    if (need > cap || need > (size_t)SSIZE_MAX)
        return SSEHUB_ENOBUFS;
    return (ssize_t)encode_unchecked(ev, buf);
}

int ssehub_sse_encode_rcbuf(const ssehub_sse_event_t *ev, ssehub_rcbuf_t **out)
{
    ssehub_rcbuf_t *b;
    size_t need;
    int rc;

    *out = NULL;
    rc = ssehub_sse_encoded_len(ev, &need);
    if (rc != 0)
        return rc;
    rc = ssehub_rcbuf_new(need, &b);
    if (rc != 0)
        return rc;
    (void)encode_unchecked(ev, ssehub_rcbuf_data(b));
    *out = b;
    return 0;
}

ssize_t ssehub_sse_encode_comment(const char *text, size_t len, char *buf, size_t cap)
{
    size_t need = 0;

    if (text == NULL)
        text = ""; /* NULL + 0 is undefined; an absent text is an empty comment */
    if (!lines_size(text, len, 1, false, &need) || need > cap || need > (size_t)SSIZE_MAX)
        return SSEHUB_ENOBUFS;
    return (ssize_t)(put_lines(buf, ":", 1, false, text, len) - buf);
}
