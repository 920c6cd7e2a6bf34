/* SPDX-License-Identifier: MIT */
/*
 * sh_store: where published events are ordered, retained and handed to the loops. One
 * interface, a table of operations (sh_store_ops_t), with two stores behind it:
 *
 *  - memory (`--store memory`): the hub core's sh_history behind one mutex. A publish is
 *    committed, retained and handed to the loops within the call.
 *  - lmdb (`--store lmdb:DIR`, store_lmdb.c): the same sh_history as the index that replay
 *    reads, mirrored to an LMDB environment on disk. Publishes are queued to a committer
 *    thread that writes many of them in one transaction, and complete after the commit.
 *
 * Every store hands committed events to the loops through the sink, in seq order, with the
 * lock that replay takes held, so a replay's snapshot_seq splits exactly what the replay
 * covers from what a loop will receive live. No event reaches a loop, or a replay, before
 * it is committed.
 */
#ifndef SH_STORE_STORE_H
#define SH_STORE_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/event.h"
#include "hub/history.h"
#include "hub/selector.h"

typedef struct sh_store_s sh_store_t;
typedef struct sh_store_pub_s sh_store_pub_t;

/* Called with the store's lock held, in seq order, by one thread at a time. |reserve|
 * says whether every loop's inbox has room for |n| more events; |hand| passes a
 * referenced event to each loop. */
typedef struct sh_store_sink_s {
    int (*reserve)(void *user, size_t n);
    void (*hand)(void *user, sh_event_t *ev);
    void *user;
} sh_store_sink_t;

/* How much a store's log line matters (the server maps it to its own levels). */
typedef enum sh_store_log_level_e {
    SH_STORE_LOG_ERROR = 0,
    SH_STORE_LOG_WARN,
    SH_STORE_LOG_INFO,
    SH_STORE_LOG_DEBUG,
} sh_store_log_level_t;

/* Where a store's log lines go: |msg| is one line, without a newline, valid during the
 * call. Called from any of the store's threads: it must be thread-safe. */
typedef void (*sh_store_log_cb)(void *user, sh_store_log_level_t level, const char *msg);

/* What a store is opened with. Everything is copied: the caller may reuse it. */
typedef struct sh_store_params_s {
    sh_history_config_t history; /* the retention bounds */
    uint64_t first_seq;          /* hub-assigned seqs start after it (see sh_store_open) */
    sh_store_sink_t sink;        /* where committed events go */
    sh_store_log_cb log;         /* may be NULL: nothing is logged */
    void *log_user;
    /* Shared stores (Redis) only; all may be NULL. This process's node id (kept by
     * reference: it must outlive the store), written with each event it publishes. */
    const char *node_id;
    /* Called, on the store's thread, for every event other processes or this one
     * committed, with the id of the node that published it, before it is handed to the
     * sink (and for each event read at open). |init|'s bytes are valid during the call. */
    void (*observe)(void *user, const char *node, size_t node_len, const sh_event_init_t *init);
    /* Called, on the store's thread, when node |node| stopped renewing its liveness (it
     * died, or lost Redis): see store_redis.c for when. */
    void (*node_gone)(void *user, const char *node);
    void *cluster_user;
} sh_store_params_t;

/** Formats one line and passes it to |prm|'s log callback (nothing when it is NULL). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void sh_store_log(const sh_store_params_t *prm, sh_store_log_level_t level, const char *fmt, ...);

/** Wall-clock milliseconds since the epoch (the stores' clock). */
int64_t sh_store_wall_ms(void);

/** Called once per publish when it is decided, on the publisher's thread (memory store,
 * from within sh_store_publish) or on the store's committer thread (lmdb). */
typedef void (*sh_store_done_cb)(sh_store_pub_t *p);

/* One publish. The caller fills the fields above the line and keeps |p| and every byte
 * |init| points to valid until |done| runs; the store fills the rest. */
struct sh_store_pub_s {
    sh_event_init_t init;  /* what to publish; |seq|, |time_ms| (and an empty id) are set */
    int64_t now_ms;        /* the publisher's wall clock */
    sh_store_done_cb done; /* how the publisher learns the outcome */
    void *data;            /* the caller's */
    /* ---- */
    int status;           /* 0 (committed) or an HTTP status */
    const char *reason;   /* with a status: a static one-line reason */
    sh_event_t *ev;       /* with 0: the event, a reference for the caller */
    int duplicate;        /* with 0: |ev| was committed before (a retry; see below) */
    sh_store_pub_t *next; /* the store's queue */
};

/* What every store implements. |s| is the store made by its open function. */
typedef struct sh_store_ops_s {
    const char *name; /* "memory", "lmdb" */
    /* Assigns a seq (and an id when |init->id| is empty), commits, retains and hands the
     * event to the loops, then calls p->done with p->status: 0 and p->ev, or 409 (the id
     * is held by a retained event with other content), 503 (loops overloaded, store full,
     * write error, shutting down), 400 (invalid id, type or topic) or 500 (out of
     * memory). A publish whose id is held by the same update, retained or committed ahead
     * of it, is a retry: sh_store_answer_held() decides it (status 0, p->duplicate, p->ev
     * the held event), and it is answered only once that event is committed. */
    void (*publish)(sh_store_t *s, sh_store_pub_t *p);
    /* sh_history_replay() over what is committed (see history.h for |last_id|). 0 or
     * SSEHUB_ENOMEM. */
    int (*replay)(sh_store_t *s, const sh_selectors_t *sel, const char *last_id, size_t last_id_len,
                  int64_t now_ms, sh_replay_t *out);
    /* Lets go of events past the age bound as of |now_ms| (may return before it is done). */
    void (*expire)(sh_store_t *s, int64_t now_ms);
    /* Distinct events retained. */
    size_t (*count)(sh_store_t *s);
    /* Finishes the publishes in flight (each done is called) and stops the store's
     * threads; publishes after it fail with 503. Idempotent. */
    void (*close)(sh_store_t *s);
    /* Closes if needed and frees. NULL-safe through sh_store_free(). */
    void (*free)(sh_store_t *s);
    /* Optional (NULL: always healthy). Whether the store can take publishes now: 1, or 0
     * with a one-line reason in |why| (|len| bytes). Any thread; does not block. */
    int (*healthy)(sh_store_t *s, char *why, size_t len);
    /* Optional (NULL: nothing to do). Starts handing events that other processes
     * committed to the sink: called once, when the loops behind the sink exist. Before
     * it, the store hands the sink only what its own publishes commit. 0 or an error. */
    int (*start)(sh_store_t *s);
    /* Optional (NULL: none). Appends the store's own metrics, in the Prometheus text
     * format, to |buf| (|cap| bytes); returns the length written. Any thread. */
    size_t (*metrics)(sh_store_t *s, char *buf, size_t cap);
} sh_store_ops_t;

/* Every store's struct starts with this. */
struct sh_store_s {
    const sh_store_ops_t *ops;
};

/**
 * Opens the store named by |uri| ("memory" or "lmdb:DIR[?mapsize=BYTES&maxsize=BYTES]")
 * with |prm| (the history bounds, the sink, the log); hub-assigned seqs start after
 * prm->first_seq (and after every seq a durable store already used). Returns 0 with |*out|, or a
 * negative code with a one-line message in |err| (|errlen| bytes): SSEHUB_EINVAL (bad URI, or a DIR
 * that is not an ssehub store: corrupt, foreign or in use; nothing in it is changed),
 * SSEHUB_ENOMEM, or a system error.
 */
int sh_store_open(const char *uri, const sh_store_params_t *prm, sh_store_t **out, char *err,
                  size_t errlen);

/** The memory store (store_memory.c). 0 or SSEHUB_ENOMEM. */
int sh_store_new_memory(const sh_store_params_t *prm, sh_store_t **out);

/** The Redis store (store_redis.c): |uri| is the whole redis:// or redis-sentinel:// URI
 * (store_redis_url.h). As sh_store_open(); also fails when Redis cannot be reached. */
int sh_store_new_redis(const char *uri, const sh_store_params_t *prm, sh_store_t **out, char *err,
                       size_t errlen);

/** The LMDB store (store_lmdb.c): |spec| is what follows "lmdb:". As sh_store_open(). */
int sh_store_new_lmdb(const char *spec, const sh_store_params_t *prm, sh_store_t **out, char *err,
                      size_t errlen);

static inline void sh_store_publish(sh_store_t *s, sh_store_pub_t *p)
{
    s->ops->publish(s, p);
}

static inline int sh_store_replay(sh_store_t *s, const sh_selectors_t *sel, const char *last_id,
                                  size_t last_id_len, int64_t now_ms, sh_replay_t *out)
{
    return s->ops->replay(s, sel, last_id, last_id_len, now_ms, out);
}

static inline void sh_store_expire(sh_store_t *s, int64_t now_ms)
{
    s->ops->expire(s, now_ms);
}

static inline size_t sh_store_count(sh_store_t *s)
{
    return s->ops->count(s);
}

static inline int sh_store_healthy(sh_store_t *s, char *why, size_t len)
{
    return s->ops->healthy == NULL ? 1 : s->ops->healthy(s, why, len);
}

static inline size_t sh_store_metrics(sh_store_t *s, char *buf, size_t cap)
{
    return s->ops->metrics == NULL ? 0 : s->ops->metrics(s, buf, cap);
}

static inline int sh_store_start(sh_store_t *s)
{
    return s->ops->start == NULL ? 0 : s->ops->start(s);
}

static inline void sh_store_close(sh_store_t *s)
{
    if (s != NULL)
        s->ops->close(s);
}

static inline void sh_store_free(sh_store_t *s)
{
    if (s != NULL)
        s->ops->free(s);
}

/**
 * The id a store assigns to the event with seq |seq|: its decimal digits, or, when a
 * retained event already holds those (a publisher chose them), "<seq>-<k>" with the
 * smallest k free. |taken| says whether an id is held. Writes |buf| (48 bytes) and returns
 * the length.
 */
size_t sh_store_assign_id(char buf[48], uint64_t seq,
                          int (*taken)(void *u, const char *id, size_t len), void *u);

/**
 * Exactly-once publishing, the rule every store applies to a publish whose chosen id may
 * be held already: |held| is the event holding it (retained in the history, found with
 * sh_history_check_id(), or committed ahead of it in the same batch), or NULL, and |diff|
 * what sh_event_compare() says of the publish's event and |held|. The same update (topics
 * in order, private flag, type, retry, data) is a retry: |p| is decided as a duplicate,
 * status 0, p->duplicate 1 and p->ev a new reference to |held|, and nothing is to be
 * appended or handed to the loops. Another update is 409, with a reason naming what
 * differs. Returns 1 when |p| was decided (the caller drops its event), 0 when |held| is
 * NULL (commit it).
 */
int sh_store_answer_held(sh_store_pub_t *p, sh_event_t *held, sh_event_diff_t diff);

/* Events released per hold of a store's lock by sh_store_expire_history(). */
#define SH_STORE_EXPIRE_BATCH 4096u

/**
 * Drops |h|'s events past the age bound as of |now_ms|, SH_STORE_EXPIRE_BATCH at a time,
 * taking |lock| around each batch so that replays and publishes get in between.
 */
void sh_store_expire_history(pthread_mutex_t *lock, sh_history_t *h, int64_t now_ms);

/** sh_history_replay() of |h| with |lock| held: the replay operation of both stores. */
int sh_store_replay_history(pthread_mutex_t *lock, sh_history_t *h, const sh_selectors_t *sel,
                            const char *last_id, size_t last_id_len, int64_t now_ms,
                            sh_replay_t *out);

/** sh_history_count() of |h| with |lock| held. */
size_t sh_store_count_history(pthread_mutex_t *lock, sh_history_t *h);

#endif /* SH_STORE_STORE_H */
