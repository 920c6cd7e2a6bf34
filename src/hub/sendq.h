/* SPDX-License-Identifier: MIT */
/*
 * sh_sendq: a connection's queue of wire frames waiting for the socket. Entries are
 * references to shared ssehub_rcbuf_t frames (an event's frame is the same buffer in
 * every queue and in the history: nothing is copied per subscriber). The queue counts
 * the unwritten bytes of "counted" entries (live events) against a cap — the hub's
 * --send-buffer; a push past it fails and the caller drops the subscriber. Replayed
 * frames are pushed uncounted: they are bounded by the history already.
 */
#ifndef SH_HUB_SENDQ_H
#define SH_HUB_SENDQ_H

#include <stddef.h>
#include <stdint.h>

#include "ssehub/rcbuf.h"

typedef struct sh_iov_s {
    const char *base;
    size_t len;
} sh_iov_t;

typedef struct sh_sendq_entry_s {
    ssehub_rcbuf_t *buf;
    uint32_t len; /* the frame's length (frames are under 4 GiB: --max-body) */
    uint32_t counted;
    uint64_t tag; /* conflation key (the event's canonical topic); 0: none */
} sh_sendq_entry_t;

/* Entries held inside the queue itself: an idle subscriber's queue allocates nothing. */
#define SH_SENDQ_INLINE 4

typedef struct sh_sendq_s {
    sh_sendq_entry_t *ring; /* inl, or a heap ring; capacity a power of two; doubles */
    size_t cap_entries;
    size_t head;     /* index of the first entry */
    size_t n;        /* entries queued */
    size_t head_off; /* bytes of the first entry already written */
    size_t bytes;    /* unwritten bytes, all entries */
    size_t counted;  /* unwritten bytes of counted entries */
    size_t limit;    /* cap on |counted| */
    sh_sendq_entry_t inl[SH_SENDQ_INLINE];
} sh_sendq_t;

/** A queue starts on its inline entries; it must not be copied or moved while in use. */
void sh_sendq_init(sh_sendq_t *q, size_t limit);
/** Releases every queued frame and the ring. */
void sh_sendq_dispose(sh_sendq_t *q);

/**
 * Queues a new reference to |buf|. When |counted| and the counted bytes would pass the
 * limit, returns SSEHUB_ENOBUFS and queues nothing; SSEHUB_ENOMEM likewise.
 */
int sh_sendq_push(sh_sendq_t *q, ssehub_rcbuf_t *buf, int counted);

enum {
    SH_SENDQ_COUNTED = 1, /* counted against the limit */
    SH_SENDQ_FORCE = 2    /* counted, but queued even past the limit */
};

/**
 * As sh_sendq_push(), with |flags| (SH_SENDQ_*) and a conflation |tag|: entries with the
 * same non-zero tag are interchangeable but for their age (events of one topic).
 */
int sh_sendq_push_tagged(sh_sendq_t *q, ssehub_rcbuf_t *buf, int flags, uint64_t tag);

/**
 * Conflation (--slow conflate): of the counted, tagged entries not being written, keeps
 * only the newest of each tag, in order; the others are released. The entries covering
 * the first |busy| unwritten bytes (a write in flight) and a partly written first entry
 * are being written. Returns how many were dropped. Allocates only a temporary index; on
 * ENOMEM it drops fewer.
 */
size_t sh_sendq_conflate(sh_sendq_t *q, size_t busy);

/** Fills up to |max| iovecs with the unwritten bytes, oldest first. Returns how many. */
size_t sh_sendq_iov(const sh_sendq_t *q, sh_iov_t *iov, size_t max);

/** Marks |nbytes| (at most q->bytes) written; releases the frames fully written. */
void sh_sendq_consume(sh_sendq_t *q, size_t nbytes);

static inline int sh_sendq_empty(const sh_sendq_t *q)
{
    return q->n == 0;
}

#endif /* SH_HUB_SENDQ_H */
