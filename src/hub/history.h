/* SPDX-License-Identifier: MIT */
/*
 * sh_history: the retained events, per topic, for replay after a Last-Event-ID. Each
 * topic has a ring bounded by |max_per_topic| events; events older than |max_age_ms| are
 * dropped. An event published to several topics sits in each of their rings and is
 * released when the last ring lets it go. An index by id finds a client's Last-Event-ID.
 * A byte bound over all topics (frames, strings and bookkeeping) evicts the oldest events
 * first, so many topics cannot make the history grow without limit.
 *
 * Not thread-safe: the memory store wraps it in a mutex. No I/O and no clock: every call
 * that needs the time takes |now_ms| from the caller.
 */
#ifndef SH_HUB_HISTORY_H
#define SH_HUB_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "hub/event.h"
#include "hub/selector.h"

typedef struct sh_history_s sh_history_t;

typedef struct sh_history_config_s {
    size_t max_per_topic; /* events kept per topic; 0 keeps none */
    int64_t max_age_ms;   /* and none older than this; 0: no age limit */
    size_t max_bytes;     /* and about this many bytes in all (oldest first); 0: no limit */
    /* Called (when not NULL) for each retained event the bounds let go, with |release_user|,
     * before the history drops its reference; not called by sh_history_free(). A durable
     * store mirrors the history with it: what the history lets go, the store deletes. */
    void (*on_release)(void *user, sh_event_t *ev);
    void *release_user;
} sh_history_config_t;

/** Returns 0 or SSEHUB_ENOMEM. The first sequence number handed out is |first_seq| + 1. */
int sh_history_new(const sh_history_config_t *cfg, uint64_t first_seq, sh_history_t **out);
void sh_history_free(sh_history_t *h);

/** The sequence number the next appended event must carry (last appended + 1). */
uint64_t sh_history_next_seq(const sh_history_t *h);

/**
 * Raises the sequence number the next appended event must carry to |next_seq|, leaving a
 * gap (a store reloading its retained events, whose seqs are not contiguous). Returns 0,
 * or SSEHUB_EINVAL when |next_seq| is lower than sh_history_next_seq() (nothing changes).
 */
int sh_history_skip(sh_history_t *h, uint64_t next_seq);

/**
 * Appends |ev| (its seq must equal sh_history_next_seq()) to the ring of each of its
 * topics, taking references; evicts what the bounds push out (by count, and by age as of
 * |now_ms|). Returns 0, SSEHUB_EINVAL (wrong seq, or an id already held by a retained
 * event: ids are unique) or SSEHUB_ENOMEM (nothing changed).
 */
int sh_history_append(sh_history_t *h, sh_event_t *ev, int64_t now_ms);

/** Drops events older than the age bound as of |now_ms|. Returns how many were released. */
size_t sh_history_expire(sh_history_t *h, int64_t now_ms);
/**
 * As sh_history_expire(), releasing at most |max| events (oldest first), so a caller that
 * holds a lock around the history can let others in between batches. Returns how many
 * were released: |max| when more may be left.
 */
size_t sh_history_expire_some(sh_history_t *h, int64_t now_ms, size_t max);

/** Distinct events held. */
size_t sh_history_count(const sh_history_t *h);

/** The retained event with this id, or NULL (not referenced for the caller). */
sh_event_t *sh_history_find(const sh_history_t *h, const char *id, size_t len);

/**
 * The retained event that holds this id for an append at |now_ms|, or NULL: as
 * sh_history_find(), but an event past the age bound as of |now_ms| holds nothing (the
 * append would let it go first). Not referenced for the caller.
 */
sh_event_t *sh_history_holder(const sh_history_t *h, const char *id, size_t len, int64_t now_ms);

/* What a publish with a chosen id meets in the history (sh_history_check_id). */
typedef enum sh_history_idcheck_e {
    SH_HISTORY_ID_NEW = 0,   /* no retained event holds the id: append it */
    SH_HISTORY_ID_DUPLICATE, /* the retained event holding it is the same update */
    SH_HISTORY_ID_CONFLICT,  /* the retained event holding it is another update */
} sh_history_idcheck_t;

/**
 * Exactly-once publishing: what an append of |ev| at |now_ms| would meet. |*held| is set to
 * the retained event holding |ev|'s id (not referenced; NULL with SH_HISTORY_ID_NEW) and
 * |*diff| (when not NULL) to sh_event_compare(ev, held). A duplicate is a publisher's
 * retry: it gets the held event's answer, and nothing is appended or delivered again.
 */
sh_history_idcheck_t sh_history_check_id(const sh_history_t *h, const sh_event_t *ev,
                                         int64_t now_ms, sh_event_t **held, sh_event_diff_t *diff);

typedef struct sh_replay_s {
    sh_event_t **events; /* referenced, in seq order; sh_replay_dispose() releases them */
    size_t n;
    /* The newest seq appended when the replay was taken: a live event with a seq at or
     * below it is already covered (replayed, or older than the resume point). */
    uint64_t snapshot_seq;
    /* The Last-Event-ID response header, as Mercure sends it: the id of the event just
     * before the first one this subscriber receives ("earliest" when that is the start). */
    char *last_event_id;
    size_t last_event_id_len;
} sh_replay_t;

/**
 * Collects what a new subscription must be sent before live events. |last_id| is the
 * client's Last-Event-ID (header or query), or NULL when it sent none:
 *  - NULL: nothing to replay; the header is the newest id appended (or "earliest").
 *  - "earliest": every retained event the selectors match.
 *  - a retained id: the matching events appended after it.
 *  - an unknown id made of decimal digits (a hub-assigned id since evicted): the
 *    matching events with a greater seq.
 *  - any other unknown id: as NULL.
 * Events older than the age bound as of |now_ms| are skipped. Returns 0 or SSEHUB_ENOMEM.
 */
int sh_history_replay(sh_history_t *h, const sh_selectors_t *sel, const char *last_id,
                      size_t last_id_len, int64_t now_ms, sh_replay_t *out);
void sh_replay_dispose(sh_replay_t *r);

#endif /* SH_HUB_HISTORY_H */
