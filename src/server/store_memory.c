/* SPDX-License-Identifier: MIT */
#include <pthread.h>

#include "base/alloc.h"
#include "base/str.h"
#include "server/store.h"
#include "ssehub/errno.h"

struct sh_store_s {
    pthread_mutex_t lock;
    sh_history_t *history;
    sh_store_sink_t sink;
};

int sh_store_new_memory(const sh_history_config_t *cfg, uint64_t first_seq,
                        const sh_store_sink_t *sink, sh_store_t **out)
{
    sh_store_t *s = sh_calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return SSEHUB_ENOMEM;
    rc = sh_history_new(cfg, first_seq, &s->history);
    if (rc != 0) {
        sh_free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->sink = *sink;
    *out = s;
    return 0;
}

void sh_store_free(sh_store_t *s)
{
    if (s == NULL)
        return;
    sh_history_free(s->history);
    pthread_mutex_destroy(&s->lock);
    sh_free(s);
}

int sh_store_publish(sh_store_t *s, sh_event_init_t *init, int64_t now_ms, sh_event_t **out,
                     const char **reason)
{
    char idbuf[48];
    sh_event_t *ev;
    int rc;

    pthread_mutex_lock(&s->lock);
    if (!s->sink.reserve(s->sink.user)) {
        pthread_mutex_unlock(&s->lock);
        *reason = "hub overloaded: subscriber loops are behind, retry later";
        return 503;
    }
    init->seq = sh_history_next_seq(s->history);
    init->time_ms = now_ms;
    if (init->id.len == 0) {
        size_t n = sh_fmt_u64(idbuf, init->seq);
        uint64_t k;

        /* A publisher may have chosen the decimal id the hub would assign next: then the
         * hub's id gets a suffix, "<seq>-<k>", so it stays unique. */
        init->id.ptr = idbuf;
        init->id.len = n;
        for (k = 1; sh_history_find(s->history, idbuf, init->id.len) != NULL; k++) {
            idbuf[n] = '-';
            init->id.len = n + 1 + sh_fmt_u64(idbuf + n + 1, k);
        }
    }
    rc = sh_event_new(init, &ev);
    if (rc != 0) {
        pthread_mutex_unlock(&s->lock);
        *reason = rc == SSEHUB_ENOMEM ? "out of memory" : "invalid id, type or topic";
        return rc == SSEHUB_ENOMEM ? 500 : 400;
    }
    /* The seq is the one the history expects, so EINVAL can only mean that a retained
     * event holds this id (the append itself frees the ids of expired events). */
    rc = sh_history_append(s->history, ev, now_ms);
    if (rc != 0) {
        pthread_mutex_unlock(&s->lock);
        sh_event_unref(ev);
        *reason = rc == SSEHUB_ENOMEM ? "out of memory" : "id already used by a retained event";
        return rc == SSEHUB_ENOMEM ? 500 : 409;
    }
    s->sink.hand(s->sink.user, ev);
    pthread_mutex_unlock(&s->lock);
    *out = ev;
    return 0;
}

int sh_store_replay(sh_store_t *s, const sh_selectors_t *sel, const char *last_id,
                    size_t last_id_len, int64_t now_ms, sh_replay_t *out)
{
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = sh_history_replay(s->history, sel, last_id, last_id_len, now_ms, out);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void sh_store_expire(sh_store_t *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->lock);
    sh_history_expire(s->history, now_ms);
    pthread_mutex_unlock(&s->lock);
}

size_t sh_store_count(sh_store_t *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = sh_history_count(s->history);
    pthread_mutex_unlock(&s->lock);
    return n;
}
