/* SPDX-License-Identifier: MIT */
/* sh_store_open(): the --store URI to a store; the id rules (hub-assigned ids, and a
 * chosen id already held: a retry or a conflict), and the locked history operations
 * (replay, count, batched expiry) every store shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "store/store.h"
#include "ssehub/errno.h"

void sh_store_log(const sh_store_params_t *prm, sh_store_log_level_t level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (prm->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    prm->log(prm->log_user, level, line);
}

int64_t sh_store_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sh_store_open(const char *uri, const sh_store_params_t *prm, sh_store_t **out, char *err,
                  size_t errlen)
{
    int rc;

    *out = NULL;
    if (strcmp(uri, "memory") == 0) {
        rc = sh_store_new_memory(prm, out);
        if (rc != 0)
            snprintf(err, errlen, "memory store: %s", ssehub_strerror(rc));
        return rc;
    }
    if (strncmp(uri, "lmdb:", 5) == 0)
        return sh_store_new_lmdb(uri + 5, prm, out, err, errlen);
    if (strncmp(uri, "redis://", 8) == 0 || strncmp(uri, "redis-sentinel://", 17) == 0)
        return sh_store_new_redis(uri, prm, out, err, errlen);
    snprintf(err, errlen,
             "'%s' is not a store this version has (memory, lmdb:DIR, redis://, "
             "redis-sentinel://)",
             uri);
    return SSEHUB_EINVAL;
}

size_t sh_store_assign_id(char buf[48], uint64_t seq,
                          int (*taken)(void *u, const char *id, size_t len), void *u)
{
    size_t n = sh_fmt_u64(buf, seq), len = n;
    uint64_t k;

    /* A publisher may have chosen the decimal id the hub would assign next: then the
     * hub's id gets a suffix, "<seq>-<k>", so it stays unique. */
    for (k = 1; taken(u, buf, len); k++) {
        buf[n] = '-';
        len = n + 1 + sh_fmt_u64(buf + n + 1, k);
    }
    return len;
}

int sh_store_answer_held(sh_store_pub_t *p, sh_event_t *held, sh_event_diff_t diff)
{
    if (held == NULL)
        return 0;
    switch (diff) {
    case SH_EVENT_SAME:
        p->status = 0;
        p->duplicate = 1;
        p->ev = sh_event_ref(held);
        return 1;
    case SH_EVENT_DIFF_TOPICS:
        p->reason = "id already used by a retained event with other topics";
        break;
    case SH_EVENT_DIFF_PRIVATE:
        p->reason = "id already used by a retained event with another private flag";
        break;
    case SH_EVENT_DIFF_TYPE:
        p->reason = "id already used by a retained event with another type";
        break;
    case SH_EVENT_DIFF_RETRY:
        p->reason = "id already used by a retained event with another retry";
        break;
    case SH_EVENT_DIFF_DATA:
    default: /* SH_EVENT_DIFF_ID cannot be: |held| holds |ev|'s id */
        p->reason = "id already used by a retained event with other data";
        break;
    }
    p->status = 409;
    return 1;
}

void sh_store_expire_history(pthread_mutex_t *lock, sh_history_t *h, int64_t now_ms)
{
    size_t n;

    do {
        pthread_mutex_lock(lock);
        n = sh_history_expire_some(h, now_ms, SH_STORE_EXPIRE_BATCH);
        pthread_mutex_unlock(lock);
    } while (n == SH_STORE_EXPIRE_BATCH);
}

int sh_store_replay_history(pthread_mutex_t *lock, sh_history_t *h, const sh_selectors_t *sel,
                            const char *last_id, size_t last_id_len, int64_t now_ms,
                            sh_replay_t *out)
{
    int rc;

    pthread_mutex_lock(lock);
    rc = sh_history_replay(h, sel, last_id, last_id_len, now_ms, out);
    pthread_mutex_unlock(lock);
    return rc;
}

size_t sh_store_count_history(pthread_mutex_t *lock, sh_history_t *h)
{
    size_t n;

    pthread_mutex_lock(lock);
    n = sh_history_count(h);
    pthread_mutex_unlock(lock);
    return n;
}
