/* SPDX-License-Identifier: MIT */
/*
 * sh_store: where published events are ordered, retained and handed to the loops. This
 * version has the memory store (`--store memory`): the hub core's sh_history behind one
 * mutex. The mutex covers the commit (seq, id, encode, retain) and the hand-over to each
 * loop's inbox, so every loop sees events in seq order; delivery to subscribers happens
 * afterwards on each loop without any shared lock.
 */
#ifndef SH_SERVER_STORE_H
#define SH_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hub/event.h"
#include "hub/history.h"
#include "hub/selector.h"

typedef struct sh_store_s sh_store_t;

/* Called with the store's lock held, in seq order. |reserve| says whether every loop's
 * inbox has room for one more event; |hand| passes a referenced event to each loop. */
typedef struct sh_store_sink_s {
    int (*reserve)(void *user);
    void (*hand)(void *user, sh_event_t *ev);
    void *user;
} sh_store_sink_t;

/** |first_seq|: hub-assigned ids start after it (the server seeds it from the clock). */
int sh_store_new_memory(const sh_history_config_t *cfg, uint64_t first_seq,
                        const sh_store_sink_t *sink, sh_store_t **out);
void sh_store_free(sh_store_t *s);

/**
 * Commits one event: assigns its seq (and its id when |init->id| is empty), encodes it,
 * retains it and hands it to the loops. |init->seq| is ignored. Returns 0 with |*out| a
 * reference for the caller, or an HTTP status with a one-line |*reason|: 409 (the id is
 * already used by a retained event), 503 (the loops are overloaded), 500 (out of memory).
 */
int sh_store_publish(sh_store_t *s, sh_event_init_t *init, int64_t now_ms, sh_event_t **out,
                     const char **reason);

/** sh_history_replay() under the lock. */
int sh_store_replay(sh_store_t *s, const sh_selectors_t *sel, const char *last_id,
                    size_t last_id_len, int64_t now_ms, sh_replay_t *out);

/** Drops events past the age bound. */
void sh_store_expire(sh_store_t *s, int64_t now_ms);

/** Distinct events held. */
size_t sh_store_count(sh_store_t *s);

#endif /* SH_SERVER_STORE_H */
