/* SPDX-License-Identifier: MIT */
/* The memory store (`--store memory`): sh_history behind one mutex; lost on exit. */
#include <pthread.h>

#include "base/alloc.h"
#include "base/str.h"
#include "store/store.h"
#include "ssehub/errno.h"

typedef struct mem_store_s {
    sh_store_t base;
    pthread_mutex_t lock;
    sh_history_t *history;
    sh_store_sink_t sink;
} mem_store_t;

static int id_taken(void *u, const char *id, size_t len)
{
    return sh_history_find(u, id, len) != NULL;
}

/* Commits |p| under the lock: seq, id, encode, retain, hand to the loops. 0 or a status.
 * A chosen id held by a retained event is a retry (answered with that event, nothing
 * appended) or a conflict (409): sh_store_answer_held(). */
static int commit(mem_store_t *s, sh_store_pub_t *p)
{
    sh_event_init_t *init = &p->init;
    char idbuf[48];
    sh_event_t *ev;
    int rc, chosen = init->id.len > 0;

    init->seq = sh_history_next_seq(s->history);
    init->time_ms = p->now_ms;
    if (!chosen) {
        init->id.ptr = idbuf;
        init->id.len = sh_store_assign_id(idbuf, init->seq, id_taken, s->history);
    }
    rc = sh_event_new(init, &ev);
    if (!chosen)
        init->id.len = 0; /* |idbuf| goes out of scope: the event holds the copy */
    if (rc != 0) {
        p->reason = rc == SSEHUB_ENOMEM ? "out of memory" : "invalid id, type or topic";
        return rc == SSEHUB_ENOMEM ? 500 : 400;
    }
    if (chosen) {
        sh_event_t *held;
        sh_event_diff_t diff;

        (void)sh_history_check_id(s->history, ev, p->now_ms, &held, &diff);
        if (sh_store_answer_held(p, held, diff)) {
            sh_event_unref(ev);
            return p->status;
        }
    }
    if (!s->sink.reserve(s->sink.user, 1)) {
        sh_event_unref(ev);
        p->reason = "hub overloaded: subscriber loops are behind, retry later";
        return 503;
    }
    /* The seq is the one the history expects and no retained event holds the id, so
     * only ENOMEM is left. */
    rc = sh_history_append(s->history, ev, p->now_ms);
    if (rc != 0) {
        sh_event_unref(ev);
        p->reason = rc == SSEHUB_ENOMEM ? "out of memory" : "id already used by a retained event";
        return rc == SSEHUB_ENOMEM ? 500 : 409;
    }
    s->sink.hand(s->sink.user, ev);
    p->ev = ev;
    return 0;
}

static void mem_publish(sh_store_t *base, sh_store_pub_t *p)
{
    mem_store_t *s = (mem_store_t *)base;

    p->ev = NULL;
    p->reason = NULL;
    p->duplicate = 0;
    pthread_mutex_lock(&s->lock);
    p->status = commit(s, p);
    pthread_mutex_unlock(&s->lock);
    p->done(p);
}

static int mem_replay(sh_store_t *base, const sh_selectors_t *sel, const char *last_id,
                      size_t last_id_len, int64_t now_ms, sh_replay_t *out)
{
    mem_store_t *s = (mem_store_t *)base;

    return sh_store_replay_history(&s->lock, s->history, sel, last_id, last_id_len, now_ms, out);
}

static void mem_expire(sh_store_t *base, int64_t now_ms)
{
    mem_store_t *s = (mem_store_t *)base;

    sh_store_expire_history(&s->lock, s->history, now_ms);
}

static size_t mem_count(sh_store_t *base)
{
    mem_store_t *s = (mem_store_t *)base;

    return sh_store_count_history(&s->lock, s->history);
}

static void mem_close(sh_store_t *base)
{
    (void)base; /* publishes complete within the call: nothing is in flight */
}

static void mem_free(sh_store_t *base)
{
    mem_store_t *s = (mem_store_t *)base;

    sh_history_free(s->history);
    pthread_mutex_destroy(&s->lock);
    sh_free(s);
}

static const sh_store_ops_t mem_ops = {
    "memory", mem_publish, mem_replay, mem_expire, mem_count, mem_close, mem_free, NULL, NULL, NULL,
};

int sh_store_new_memory(const sh_store_params_t *prm, sh_store_t **out)
{
    mem_store_t *s = sh_calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return SSEHUB_ENOMEM;
    rc = sh_history_new(&prm->history, prm->first_seq, &s->history);
    if (rc != 0) {
        sh_free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->base.ops = &mem_ops;
    s->sink = prm->sink;
    *out = &s->base;
    return 0;
}
