/* SPDX-License-Identifier: MIT */
/*
 * sh_subs: one event loop's subscriptions, indexed by exact topic (a hash map), with one
 * shared entry per distinct URI template (compiled once, matched once per event however
 * many subscriptions use it) and a list for `*`; and the dispatch of an event to the
 * subscriptions it matches. Each loop has its own
 * registry and touches it from its own thread only, so there is no lock.
 *
 * A subscription remembers the newest seq it was given (|last_seq|): an event whose seq
 * is not greater is skipped. That one rule drops the second copy of an event published
 * to two topics a subscription both listens to, and the live events a replay already
 * covered (the registrar sets |last_seq| to the replay's snapshot_seq).
 */
#ifndef SH_HUB_SUBS_H
#define SH_HUB_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "hub/event.h"
#include "hub/selector.h"

typedef struct sh_sub_s sh_sub_t;
typedef struct sh_sub_link_s sh_sub_link_t;

struct sh_sub_s {
    sh_selectors_t sel; /* set by the caller before sh_subs_add(); owned by the caller */
    uint64_t last_seq;  /* set by the caller before sh_subs_add(); then kept by dispatch */
    void *data;         /* the caller's (the connection) */
    /* Private to the registry. */
    sh_sub_link_t *links; /* one per exact topic */
    sh_sub_t *all_prev, *all_next;
    int registered;
};

typedef struct sh_subs_s {
    void *topics;       /* private: selector string -> entry with its list of links */
    void *pat_head;     /* private: the URI template entries */
    sh_sub_t *all_head; /* `*` subscriptions */
    size_t count;       /* subscriptions registered */
    size_t ntopics;     /* distinct exact topics with at least one subscription */
    size_t npatterns;   /* distinct URI templates with at least one subscription */
    /* Private: the dispatch in progress (so a callback may remove its subscription). */
    void *dispatch_cursor;
} sh_subs_t;

/** Returns 0 or SSEHUB_ENOMEM. */
int sh_subs_init(sh_subs_t *r);
/** All subscriptions must have been removed. */
void sh_subs_dispose(sh_subs_t *r);

/** Registers |sub|. Returns 0 or SSEHUB_ENOMEM (|sub| is not registered). */
int sh_subs_add(sh_subs_t *r, sh_sub_t *sub);
/** Unregisters |sub| (a no-op when it is not registered). */
void sh_subs_remove(sh_subs_t *r, sh_sub_t *sub);

/**
 * Calls |cb| once for each registered subscription that |ev| is for (selectors match,
 * seq greater than its last_seq), after setting its last_seq to ev->seq. The callback
 * may remove the subscription it was given (and only that one). Returns the number of
 * calls.
 */
typedef void (*sh_deliver_cb)(sh_sub_t *sub, sh_event_t *ev, void *user);
size_t sh_subs_dispatch(sh_subs_t *r, sh_event_t *ev, sh_deliver_cb cb, void *user);

#endif /* SH_HUB_SUBS_H */
