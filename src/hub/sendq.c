/* SPDX-License-Identifier: MIT */
/* sh_sendq: a ring of references to shared wire frames, with byte accounting. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/map.h"
#include "hub/sendq.h"

/* An empty queue whose heap ring has more entries than this gives the ring back. */
#define RING_KEEP 256

void sh_sendq_init(sh_sendq_t *q, size_t limit)
{
    memset(q, 0, sizeof(*q));
    q->limit = limit;
    q->ring = q->inl;
    q->cap_entries = SH_SENDQ_INLINE;
}

/* Releases the frames, frees the ring, and leaves |q| empty with the same limit. */
void sh_sendq_dispose(sh_sendq_t *q)
{
    size_t mask = q->cap_entries - 1, i;

    for (i = 0; i < q->n; i++)
        ssehub_rcbuf_unref(q->ring[(q->head + i) & mask].buf);
    if (q->ring != q->inl)
        sh_free(q->ring);
    sh_sendq_init(q, q->limit);
}

/* Doubles the ring, moving the entries to the front of the new one. 0 or ENOMEM. */
static int grow(sh_sendq_t *q)
{
    size_t cap = q->cap_entries * 2, mask, i;
    sh_sendq_entry_t *ring;

    if (q->cap_entries > SIZE_MAX / 2 / sizeof(*ring))
        return SSEHUB_ENOMEM;
    ring = sh_malloc(cap * sizeof(*ring));
    if (ring == NULL)
        return SSEHUB_ENOMEM;
    mask = q->cap_entries - 1;
    for (i = 0; i < q->n; i++)
        ring[i] = q->ring[(q->head + i) & mask];
    if (q->ring != q->inl)
        sh_free(q->ring);
    q->ring = ring;
    q->cap_entries = cap;
    q->head = 0;
    return 0;
}

/* An empty frame has nothing to send: it is accepted and not queued. */
int sh_sendq_push(sh_sendq_t *q, ssehub_rcbuf_t *buf, int counted)
{
    return sh_sendq_push_tagged(q, buf, counted ? SH_SENDQ_COUNTED : 0, 0);
}

int sh_sendq_push_tagged(sh_sendq_t *q, ssehub_rcbuf_t *buf, int flags, uint64_t tag)
{
    size_t len = ssehub_rcbuf_len(buf);
    int counted = (flags & SH_SENDQ_COUNTED) != 0;
    sh_sendq_entry_t *e;
    int rc;

    if (counted && !(flags & SH_SENDQ_FORCE) &&
        (q->counted > q->limit || len > q->limit - q->counted))
        return SSEHUB_ENOBUFS;
    if (len == 0)
        return 0;
    if (len > UINT32_MAX)
        return SSEHUB_ENOMEM;
    if (q->n == q->cap_entries) {
        rc = grow(q);
        if (rc != 0)
            return rc;
    }
    e = &q->ring[(q->head + q->n) & (q->cap_entries - 1)];
    e->buf = ssehub_rcbuf_ref(buf);
    e->len = (uint32_t)len;
    e->counted = (uint32_t)counted;
    e->tag = tag;
    q->n++;
    q->bytes += len;
    if (counted)
        q->counted += len;
    return 0;
}

/*
 * Two passes. From the newest entry back, the first counted entry of each tag is kept and
 * every older one with that tag is released (its slot's buf set to NULL); the entries
 * being written are never touched. Then the kept entries slide down in order. The
 * map's keys are the tags in the ring slots, which do not move during the first pass.
 */
size_t sh_sendq_conflate(sh_sendq_t *q, size_t busy)
{
    size_t mask = q->cap_entries - 1, first = 0, dropped = 0, off = q->head_off, i, w;
    sh_map_t seen;

    /* The entries holding the first |busy| unwritten bytes (or partly written) stay. */
    while (first < q->n && (busy > 0 || (first == 0 && off > 0))) {
        size_t left = q->ring[(q->head + first) & mask].len - off;

        busy = busy > left ? busy - left : 0;
        off = 0;
        first++;
    }
    if (q->n < first + 2)
        return 0;
    sh_map_init(&seen);
    for (i = q->n; i-- > first;) {
        sh_sendq_entry_t *e = &q->ring[(q->head + i) & mask];
        size_t len;

        if (!e->counted || e->tag == 0)
            continue;
        if (sh_map_get(&seen, (const char *)&e->tag, sizeof(e->tag)) == NULL) {
            if (sh_map_put(&seen, (const char *)&e->tag, sizeof(e->tag), e) != 0)
                break; /* out of memory: conflate what was done so far */
            continue;
        }
        len = e->len;
        q->bytes -= len;
        q->counted -= len;
        ssehub_rcbuf_unref(e->buf);
        e->buf = NULL;
        dropped++;
    }
    sh_map_dispose(&seen);
    if (dropped == 0)
        return 0;
    for (i = w = 0; i < q->n; i++) {
        sh_sendq_entry_t *e = &q->ring[(q->head + i) & mask];

        if (e->buf != NULL)
            q->ring[(q->head + w++) & mask] = *e;
    }
    q->n = w;
    return dropped;
}

size_t sh_sendq_iov(const sh_sendq_t *q, sh_iov_t *iov, size_t max)
{
    size_t mask = q->cap_entries - 1, off = q->head_off, i;

    for (i = 0; i < q->n && i < max; i++) {
        const sh_sendq_entry_t *e = &q->ring[(q->head + i) & mask];
        iov[i].base = ssehub_rcbuf_data(e->buf) + off;
        iov[i].len = e->len - off;
        off = 0;
    }
    return i;
}

/* Walks from the head: whole frames are released, a partly written one keeps its offset. */
void sh_sendq_consume(sh_sendq_t *q, size_t nbytes)
{
    size_t mask = q->cap_entries - 1;

    assert(nbytes <= q->bytes);
    if (nbytes > q->bytes)
        nbytes = q->bytes;
    while (nbytes > 0) {
        sh_sendq_entry_t *e = &q->ring[q->head];
        size_t left = e->len - q->head_off;
        size_t done = nbytes < left ? nbytes : left;

        q->bytes -= done;
        if (e->counted)
            q->counted -= done;
        nbytes -= done;
        if (done < left) {
            q->head_off += done;
            break;
        }
        ssehub_rcbuf_unref(e->buf);
        e->buf = NULL;
        q->head = (q->head + 1) & mask;
        q->n--;
        q->head_off = 0;
    }
    if (q->n == 0) {
        q->head = 0;
        if (q->ring != q->inl && q->cap_entries > RING_KEEP) {
            sh_free(q->ring);
            q->ring = q->inl;
            q->cap_entries = SH_SENDQ_INLINE;
        }
    }
}
