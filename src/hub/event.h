/* SPDX-License-Identifier: MIT */
/*
 * sh_event: one published update, immutable once made and shared by reference count
 * between the history, the store and every loop's subscribers (any thread). It owns its
 * wire bytes (encoded once by the protocol core into an ssehub_rcbuf_t, which subscriber
 * send queues reference directly) and copies of its id and topics.
 */
#ifndef SH_HUB_EVENT_H
#define SH_HUB_EVENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ssehub/rcbuf.h"

typedef struct sh_str_s {
    const char *ptr;
    size_t len;
} sh_str_t;

/* What a publisher asked for. All bytes are borrowed for the duration of sh_event_new. */
typedef struct sh_event_init_s {
    const sh_str_t *topics; /* at least one; topics[0] is canonical */
    size_t ntopics;
    sh_str_t id;   /* the event's id, never empty (the caller assigns one if needed) */
    sh_str_t type; /* SSE event name; len 0 for none */
    sh_str_t data;
    uint64_t retry; /* used when has_retry */
    int has_retry;
    int is_private;
    uint64_t seq;    /* the store's order number: unique, increasing in publish order */
    int64_t time_ms; /* when it was published, from the caller's clock */
} sh_event_init_t;

typedef struct sh_event_s {
    atomic_size_t refcount;
    uint64_t seq;
    int64_t time_ms;
    ssehub_rcbuf_t *wire; /* "id: ...\n[event: ...\n][retry: ...\n]data: ...\n\n" */
    sh_str_t id;          /* points into this allocation, NUL-terminated */
    sh_str_t *topics;     /* points into this allocation; each NUL-terminated */
    size_t ntopics;
    uint64_t topic_hash; /* a hash of the topic list: the conflation key, never 0 */
    /* 0 when the data holds no CR, else a hash of the data (never 0): the frame cannot
     * tell "a\r\nb" from "a\nb" (both are two data lines), so sh_event_compare() looks
     * at this too. */
    uint64_t data_cr_hash;
    unsigned is_private : 1;
} sh_event_t;

/* What sh_event_compare() found: the first field in which two events differ. */
typedef enum sh_event_diff_e {
    SH_EVENT_SAME = 0,
    SH_EVENT_DIFF_ID,
    SH_EVENT_DIFF_TOPICS, /* the topic lists, in order */
    SH_EVENT_DIFF_PRIVATE,
    SH_EVENT_DIFF_TYPE,
    SH_EVENT_DIFF_RETRY,
    SH_EVENT_DIFF_DATA,
} sh_event_diff_t;

/**
 * Makes an event with refcount 1. Returns 0, SSEHUB_EINVAL (no topic, empty id, or an id
 * or type containing CR, LF or NUL) or SSEHUB_ENOMEM.
 */
int sh_event_new(const sh_event_init_t *init, sh_event_t **out);
sh_event_t *sh_event_ref(sh_event_t *ev);

/**
 * Whether |a| and |b| are the same update: id, topics (all, in order), private flag,
 * type, retry and data (byte for byte; an absent type or data is the same as an empty
 * one, as on the wire). Seq and time are not compared. No allocation.
 */
sh_event_diff_t sh_event_compare(const sh_event_t *a, const sh_event_t *b);
void sh_event_unref(sh_event_t *ev);

#endif /* SH_HUB_EVENT_H */
