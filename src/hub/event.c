/* SPDX-License-Identifier: MIT */
/*
 * sh_event: a published update, its wire frame encoded once. The struct, its topic array
 * and copies of the id and topics share one allocation; the frame is its own
 * ssehub_rcbuf_t so that send queues can hold it without holding the event.
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "ssehub/sse.h"
#include "base/alloc.h"
#include "base/map.h"
#include "hub/event.h"

/* |*acc| += |n|; 0 on size_t overflow. */
static int add_size(size_t *acc, size_t n)
{
    if (n > SIZE_MAX - *acc)
        return 0;
    *acc += n;
    return 1;
}

/* Copies |s| to |dst| with a NUL after it; returns the position after the NUL. */
static char *put_str(char *dst, sh_str_t *copy, sh_str_t s)
{
    if (s.len > 0)
        memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
    copy->ptr = dst;
    copy->len = s.len;
    return dst + s.len + 1;
}

/*
 * Validates |init|, encodes the frame (the encoder rejects CR, LF and NUL in the id and
 * the type), then makes the one block: struct, topic array, id, topics. The data line is
 * always written, even for empty data, because a receiver dispatches no event without one.
 */
/* The conflation key: a hash of the whole topic list, in order, so that an event on
 * [A, B] never stands in for a newer one on [A] alone (B's newest update would be lost
 * to a subscriber of both). Never 0 (0 means untagged). */
static uint64_t topics_hash(const sh_str_t *topics, size_t n)
{
    uint64_t h = sh_map_hash(topics[0].ptr, topics[0].len);
    size_t i;

    for (i = 1; i < n; i++)
        h = (h * 0x9e3779b97f4a7c15ULL) ^ sh_map_hash(topics[i].ptr, topics[i].len);
    return h != 0 ? h : 1;
}

int sh_event_new(const sh_event_init_t *init, sh_event_t **out)
{
    ssehub_sse_event_t se;
    ssehub_rcbuf_t *wire = NULL;
    sh_event_t *ev;
    size_t size = sizeof(*ev), i;
    char *p;
    int rc;

    *out = NULL;
    if (init->topics == NULL || init->ntopics == 0 || init->id.ptr == NULL || init->id.len == 0)
        return SSEHUB_EINVAL;
    if (init->ntopics > (SIZE_MAX - size) / sizeof(sh_str_t))
        return SSEHUB_ENOMEM;
    size += init->ntopics * sizeof(sh_str_t);
    if (!add_size(&size, init->id.len) || !add_size(&size, 1))
        return SSEHUB_ENOMEM;
    for (i = 0; i < init->ntopics; i++) {
        if (init->topics[i].ptr == NULL && init->topics[i].len > 0)
            return SSEHUB_EINVAL;
        if (!add_size(&size, init->topics[i].len) || !add_size(&size, 1))
            return SSEHUB_ENOMEM;
    }

    memset(&se, 0, sizeof(se));
    se.id = init->id.ptr;
    se.id_len = init->id.len;
    if (init->type.len > 0) {
        se.type = init->type.ptr;
        se.type_len = init->type.len;
    }
    se.data = init->data.ptr != NULL ? init->data.ptr : "";
    se.data_len = init->data.ptr != NULL ? init->data.len : 0;
    se.retry = init->retry;
    se.has_retry = init->has_retry != 0;
    rc = ssehub_sse_encode_rcbuf(&se, &wire);
    if (rc == SSEHUB_E2BIG)
        rc = SSEHUB_ENOMEM; /* a frame larger than memory: not a malformed request */
    if (rc != 0)
        return rc;

    ev = sh_malloc(size);
    if (ev == NULL) {
        ssehub_rcbuf_unref(wire);
        return SSEHUB_ENOMEM;
    }
    atomic_init(&ev->refcount, 1);
    ev->seq = init->seq;
    ev->time_ms = init->time_ms;
    ev->wire = wire;
    ev->topics = (sh_str_t *)(ev + 1);
    ev->ntopics = init->ntopics;
    ev->is_private = init->is_private != 0;
    ev->topic_hash = topics_hash(init->topics, init->ntopics);
    ev->data_cr_hash = 0;
    if (se.data_len > 0 && memchr(se.data, '\r', se.data_len) != NULL) {
        ev->data_cr_hash = sh_map_hash(se.data, se.data_len);
        if (ev->data_cr_hash == 0)
            ev->data_cr_hash = 1;
    }
    p = (char *)(ev->topics + init->ntopics);
    p = put_str(p, &ev->id, init->id);
    for (i = 0; i < init->ntopics; i++)
        p = put_str(p, &ev->topics[i], init->topics[i]);
    *out = ev;
    return 0;
}

/* A frame's parts after its id line (see sh_event_new): the type line's value, the retry
 * line's value, and the data lines with the blank line. */
typedef struct frame_parts_s {
    sh_str_t type, retry, data;
} frame_parts_t;

/* Takes the line starting with |prefix| at |*p|, if there is one: its value to |*val|. */
static void take_line(const char **p, const char *end, const char *prefix, sh_str_t *val)
{
    size_t n = strlen(prefix);
    const char *nl;

    val->ptr = NULL;
    val->len = 0;
    if ((size_t)(end - *p) < n || memcmp(*p, prefix, n) != 0)
        return;
    nl = memchr(*p + n, '\n', (size_t)(end - *p - n));
    if (nl == NULL)
        return; /* not a frame sh_event_new() wrote */
    val->ptr = *p + n;
    val->len = (size_t)(nl - val->ptr);
    *p = nl + 1;
}

static void frame_split(const sh_event_t *ev, frame_parts_t *out)
{
    const char *p = ssehub_rcbuf_data(ev->wire), *end = p + ssehub_rcbuf_len(ev->wire);
    const char *nl = memchr(p, '\n', (size_t)(end - p)); /* the id line comes first */

    p = nl != NULL ? nl + 1 : end;
    take_line(&p, end, "event: ", &out->type);
    take_line(&p, end, "retry: ", &out->retry);
    out->data.ptr = p;
    out->data.len = (size_t)(end - p);
}

static int str_eq(sh_str_t a, sh_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/*
 * The frame holds the id, type, retry and data, and is the same for the same fields
 * (sh_event_new() encodes deterministically). Split into its parts, it also says which
 * field differs. Data lines are split at CR, LF and CRLF alike, so data with a CR is
 * told apart by data_cr_hash too.
 */
sh_event_diff_t sh_event_compare(const sh_event_t *a, const sh_event_t *b)
{
    frame_parts_t fa, fb;
    size_t i;

    if (!str_eq(a->id, b->id))
        return SH_EVENT_DIFF_ID;
    if (a->ntopics != b->ntopics)
        return SH_EVENT_DIFF_TOPICS;
    for (i = 0; i < a->ntopics; i++) {
        if (!str_eq(a->topics[i], b->topics[i]))
            return SH_EVENT_DIFF_TOPICS;
    }
    if (a->is_private != b->is_private)
        return SH_EVENT_DIFF_PRIVATE;
    if (a->wire == b->wire)
        return SH_EVENT_SAME;
    frame_split(a, &fa);
    frame_split(b, &fb);
    if (!str_eq(fa.type, fb.type))
        return SH_EVENT_DIFF_TYPE;
    if (!str_eq(fa.retry, fb.retry) || (fa.retry.ptr == NULL) != (fb.retry.ptr == NULL))
        return SH_EVENT_DIFF_RETRY;
    if (!str_eq(fa.data, fb.data) || a->data_cr_hash != b->data_cr_hash)
        return SH_EVENT_DIFF_DATA;
    return SH_EVENT_SAME;
}

sh_event_t *sh_event_ref(sh_event_t *ev)
{
    /* Relaxed suffices: whoever hands |ev| over already synchronises with the receiver. */
    atomic_fetch_add_explicit(&ev->refcount, 1, memory_order_relaxed);
    return ev;
}

void sh_event_unref(sh_event_t *ev)
{
    if (ev == NULL)
        return;
    /* Release our reads, and acquire everyone else's before the free (as rcbuf). */
    if (atomic_fetch_sub_explicit(&ev->refcount, 1, memory_order_acq_rel) == 1) {
        ssehub_rcbuf_unref(ev->wire);
        sh_free(ev);
    }
}
