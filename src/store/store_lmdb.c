/* SPDX-License-Identifier: MIT */
/*
 * The LMDB store (`--store lmdb:DIR`): every retained event is a record in an LMDB
 * environment under DIR, written before its publish is acknowledged, so an acknowledged
 * event survives a crash of the process (and of the machine: LMDB syncs the data and meta
 * pages on every commit).
 *
 * The environment holds two databases:
 *  - "meta": "format" -> "ssehub-lmdb 1" (a DIR without it is refused), and "last_seq" ->
 *    the newest seq ever committed (8 bytes, big-endian), so no seq is reused even when
 *    retention deleted every event;
 *  - "events": seq (8 bytes, big-endian, so key order is seq order) -> a record: the fields
 *    sh_event_new() needs (topics, id, type, data, retry, private, time), see store_record.h.
 *
 * In memory, an sh_history holds the same retained events (its per-topic rings, id index
 * and seq-ordered list are the indexes that replay and Last-Event-ID lookups use), each
 * encoded once and shared by reference. It is the history that decides retention
 * (--history, --history-age, --history-memory): every event it lets go (its on_release
 * hook) is queued for deletion from LMDB, in batches of at most DEL_BATCH per transaction.
 * On start, the records are read back in seq order into a new history, which applies the
 * bounds again; so the two agree after a crash too (a record whose deletion had not been
 * committed is simply let go again).
 *
 * Publishing: a publish is queued (bounded by QUEUE_MAX) to one committer thread, which
 * takes everything queued (up to BATCH_MAX events or BATCH_BYTES of data), assigns seqs and
 * ids, writes all of it in one write transaction and commits: one sync for many events
 * (group commit). Then, with the lock that replay takes, it appends the events to the
 * history and hands them to the loops' inboxes in seq order; then it completes each
 * publish (the server answers 200 on the publisher's loop). An event reaches no
 * subscriber and no replay before its commit, and a failed commit (disk full, I/O error,
 * a map that may not grow further) answers its publishes 503 and changes nothing.
 *
 * Only the committer thread writes, and after the start nothing reads LMDB, so the map
 * can be resized when it is full (MDB_MAP_FULL: the size doubles, up to maxsize).
 */
#define _DEFAULT_SOURCE 1 /* flock */
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/duration.h"
#include "base/map.h"
#include "base/str.h"
#include "store/store.h"
#include "store/store_record.h"
#include "ssehub/errno.h"

#define FORMAT          "ssehub-lmdb 1"
#define QUEUE_MAX       65536u              /* publishes waiting for the committer */
#define BATCH_MAX       1024u               /* events per transaction */
#define BATCH_BYTES     (32u * 1024 * 1024) /* data bytes per transaction (at least one) */
#define DEL_BATCH       512u                /* deletions per transaction */
#define MAPSIZE_DEFAULT (64ull * 1024 * 1024)
#define MAPSIZE_MIN     (256ull * 1024)
#define GATHER_STEP_US  50  /* gather(): wait for more publishes this long at a time */
#define GATHER_MAX_US   300 /* and this long in all */

typedef struct lm_store_s {
    sh_store_t base;
    MDB_env *env;
    MDB_dbi events;
    MDB_dbi meta;
    char *dir;
    uint64_t mapsize; /* the current map size */
    uint64_t maxsize; /* the map never grows past it; 0: no bound */

    /* The history and the sink: taken by replay, count and the committer's hand-over. */
    pthread_mutex_t lock;
    sh_history_t *history;
    sh_store_sink_t sink;
    sh_store_params_t prm;  /* as opened: the log callback */
    int max_per_topic_zero; /* --history 0: nothing is retained, no record is written */

    /* The queue to the committer. */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    sh_store_pub_t *qhead, *qtail;
    size_t qlen;
    int closing;    /* close() asked: finish the queue, then stop */
    int closed;     /* no more publishes are taken */
    int expire_req; /* expire() asked */
    int64_t expire_now;
    int del_backoff; /* a deletion-only commit failed: wait for other work first */
    pthread_t thread;
    int thread_started;

    /* The committer's own (and the opener's, before the thread starts). */
    uint64_t last_seq; /* the newest seq committed */
    uint64_t *dels;    /* seqs of records to delete, in the order the history let go */
    size_t ndels, capdels;
    sh_map_t batch_ids; /* ids taken within the batch being written */
    int last_error;     /* the last write error logged (so each is logged once) */
    uint64_t ncommits;  /* transactions committed, and events in them (logged at exit) */
    uint64_t ncommitted;
} lm_store_t;

/* ---- little helpers ------------------------------------------------------------------ */

static void put_be64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- retention: the history's hook ------------------------------------------------- */

/* Queues the record of an event the history let go for deletion. Out of memory, the record
 * stays: the next start lets it go again. */
static void on_release(void *user, sh_event_t *ev)
{
    lm_store_t *s = user;

    if (s->ndels == s->capdels) {
        size_t cap = s->capdels ? s->capdels * 2 : 1024;
        uint64_t *d = sh_realloc(s->dels, cap * sizeof(*d));

        if (d == NULL)
            return;
        s->dels = d;
        s->capdels = cap;
    }
    s->dels[s->ndels++] = ev->seq;
}

/* ---- the committer ------------------------------------------------------------------ */

/* The 503 reason for a failed write; static strings only (the publish answer points at it). */
static const char *write_reason(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL:
        return "store full: the LMDB map reached its maxsize; publish refused";
    case ENOSPC:
        return "store write failed: no space left on device; publish refused";
    case EDQUOT:
        return "store write failed: disk quota exceeded; publish refused";
    case EIO:
        return "store write failed: I/O error; publish refused";
    case EROFS:
        return "store write failed: read-only file system; publish refused";
    default:
        return "store write failed; publish refused";
    }
}

/* LMDB reports a short write (a file system that filled up) as EIO: tell them apart by
 * the space left where DIR is. */
static int classify_error(const lm_store_t *s, int rc)
{
    struct statvfs vfs;

    if (rc == EIO && statvfs(s->dir, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * vfs.f_frsize < 1024 * 1024)
        return ENOSPC;
    return rc;
}

/* Doubles the map (up to maxsize). 0, or MDB_MAP_FULL when it may not grow. */
static int grow_map(lm_store_t *s)
{
    uint64_t want = s->mapsize * 2;
    int rc;

    if (s->maxsize > 0 && want > s->maxsize)
        want = s->maxsize;
    if (want <= s->mapsize)
        return MDB_MAP_FULL;
    rc = mdb_env_set_mapsize(s->env, (size_t)want);
    if (rc != 0) {
        sh_store_log(&s->prm, SH_STORE_LOG_WARN, "lmdb %s: cannot grow the map to %llu bytes: %s",
                     s->dir, (unsigned long long)want, mdb_strerror(rc));
        return MDB_MAP_FULL;
    }
    sh_store_log(&s->prm, SH_STORE_LOG_INFO, "lmdb %s: map grown from %llu to %llu bytes", s->dir,
                 (unsigned long long)s->mapsize, (unsigned long long)want);
    s->mapsize = want;
    return 0;
}

/* What a record holds: the event's id, topics, time and flags, the publish's type, data
 * and retry. */
static void rec_init(sh_event_init_t *ri, const sh_event_t *ev, const sh_event_init_t *init)
{
    *ri = *init;
    ri->id = ev->id;
    ri->topics = ev->topics;
    ri->ntopics = ev->ntopics;
    ri->is_private = ev->is_private;
    ri->time_ms = ev->time_ms;
}

/*
 * One write transaction: the records of |evs| (with their publishes' fields), up to
 * DEL_BATCH of the queued deletions, and last_seq. Retries after growing a full map.
 * Returns 0 (committed; the deletions written are taken off the queue) or an LMDB or
 * system error (nothing changed).
 */
static int write_txn(lm_store_t *s, sh_event_t **evs, sh_store_pub_t **pubs, size_t n)
{
    size_t ndel = s->ndels < DEL_BATCH ? s->ndels : DEL_BATCH, i;
    sh_event_init_t ri;
    unsigned char kb[8];
    MDB_txn *txn;
    MDB_val k, v;
    int rc;

    for (;;) {
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc != 0)
            return rc;
        for (i = 0; rc == 0 && i < n && !s->max_per_topic_zero; i++) {
            put_be64(kb, evs[i]->seq);
            k.mv_data = kb;
            k.mv_size = 8;
            rec_init(&ri, evs[i], &pubs[i]->init);
            v.mv_size = sh_store_rec_size(&ri);
            v.mv_data = NULL;
            rc = mdb_put(txn, s->events, &k, &v, MDB_RESERVE | MDB_APPEND);
            if (rc == 0)
                sh_store_rec_encode(v.mv_data, &ri);
        }
        for (i = 0; rc == 0 && i < ndel; i++) {
            put_be64(kb, s->dels[i]);
            k.mv_data = kb;
            k.mv_size = 8;
            rc = mdb_del(txn, s->events, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        if (rc == 0 && n > 0) {
            put_be64(kb, evs[n - 1]->seq);
            k.mv_data = "last_seq";
            k.mv_size = 8;
            v.mv_data = kb;
            v.mv_size = 8;
            rc = mdb_put(txn, s->meta, &k, &v, 0);
        }
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL && grow_map(s) == 0)
            continue;
        break;
    }
    if (rc == 0 && ndel > 0) {
        memmove(s->dels, s->dels + ndel, (s->ndels - ndel) * sizeof(*s->dels));
        s->ndels -= ndel;
    }
    return classify_error(s, rc);
}

static int id_taken(void *u, const char *id, size_t len)
{
    lm_store_t *s = u;

    return sh_history_find(s->history, id, len) != NULL ||
           sh_map_get(&s->batch_ids, id, len) != NULL;
}

/*
 * Gives |p| its seq, id and event. 0 (p->ev set, the id in batch_ids) or a status. A chosen
 * id already held, by a retained event or by one earlier in this batch, is decided by
 * sh_store_answer_held(): a retry (status 0 and p->duplicate, p->ev the held event; it is
 * completed with the batch, so after the held event's commit) or a conflict (409).
 */
static int prepare(lm_store_t *s, sh_store_pub_t *p, uint64_t seq)
{
    sh_event_init_t *init = &p->init;
    char idbuf[48];
    int rc, chosen = init->id.len > 0;

    init->seq = seq;
    init->time_ms = p->now_ms;
    if (!chosen) {
        init->id.ptr = idbuf;
        init->id.len = sh_store_assign_id(idbuf, seq, id_taken, s);
    }
    rc = sh_event_new(init, &p->ev);
    if (rc == 0 && chosen) {
        sh_event_t *ev = p->ev, *held = sh_map_get(&s->batch_ids, ev->id.ptr, ev->id.len);
        sh_event_diff_t diff = SH_EVENT_SAME;

        if (held != NULL)
            diff = sh_event_compare(ev, held);
        else
            (void)sh_history_check_id(s->history, ev, p->now_ms, &held, &diff);
        if (held != NULL) {
            p->ev = NULL;
            (void)sh_store_answer_held(p, held, diff);
            sh_event_unref(ev);
            return p->status;
        }
    }
    if (rc == 0)
        rc = sh_map_put(&s->batch_ids, p->ev->id.ptr, p->ev->id.len, p->ev);
    if (!chosen)
        init->id.len = 0; /* |idbuf| goes out of scope: the event holds the copy */
    if (rc == 0)
        return 0;
    sh_event_unref(p->ev);
    p->ev = NULL;
    p->reason = rc == SSEHUB_ENOMEM ? "out of memory" : "invalid id, type or topic";
    return rc == SSEHUB_ENOMEM ? 500 : 400;
}

/* Writes, retains, hands over and completes the publishes of |batch| (and deletions). */
static void commit_batch(lm_store_t *s, sh_store_pub_t *batch)
{
    sh_event_t *evs[BATCH_MAX];
    sh_store_pub_t *pubs[BATCH_MAX];
    sh_store_pub_t *p, *next;
    int64_t now = 0;
    size_t n = 0, i;
    int rc;

    for (p = batch; p != NULL; p = p->next)
        if (p->now_ms > now)
            now = p->now_ms;
    if (batch != NULL) {
        /* Ids held by events past the age bound are free again (as the history's append
         * frees them), so the checks below see what the appends will see. */
        sh_store_expire_history(&s->lock, s->history, now);
    }
    for (p = batch; p != NULL; p = p->next) {
        p->status = prepare(s, p, s->last_seq + 1 + n);
        if (p->status == 0 && !p->duplicate) {
            evs[n] = p->ev;
            pubs[n] = p;
            n++;
        }
    }
    sh_map_dispose(&s->batch_ids);
    sh_map_init(&s->batch_ids);
    rc = 0;
    if (n > 0 && !s->sink.reserve(s->sink.user, n))
        rc = -1;
    if (rc == 0 && (n > 0 || s->ndels > 0))
        rc = write_txn(s, evs, pubs, n);
    if (rc == 0) {
        if (s->last_error != 0)
            sh_store_log(&s->prm, SH_STORE_LOG_INFO, "lmdb %s: writes succeed again", s->dir);
        s->last_error = 0;
        s->del_backoff = 0;
        pthread_mutex_lock(&s->lock);
        for (i = 0; i < n; i++) {
            int arc = sh_history_append(s->history, evs[i], pubs[i]->now_ms);

            if (arc != 0) /* out of memory: durable and delivered, but not replayable */
                sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                             "lmdb %s: event %s committed but not indexed for replay: %s", s->dir,
                             evs[i]->id.ptr, ssehub_strerror(arc));
            s->sink.hand(s->sink.user, evs[i]);
        }
        pthread_mutex_unlock(&s->lock);
        if (n > 0)
            s->last_seq = evs[n - 1]->seq;
        s->ncommits++;
        s->ncommitted += n;
    } else {
        const char *reason = rc == -1 ? "hub overloaded: subscriber loops are behind, retry later"
                                      : write_reason(rc);

        if (rc != -1 && rc != s->last_error) {
            sh_store_log(&s->prm, SH_STORE_LOG_ERROR,
                         "lmdb %s: commit failed: %s; publishes answer 503 until a write "
                         "succeeds",
                         s->dir, rc == ENOSPC ? "no space left on device" : mdb_strerror(rc));
            s->last_error = rc;
        }
        if (n == 0)
            s->del_backoff = 1;
        /* The batch's events and the retries of them (a seq past last_seq: not
         * committed); a retry of an event committed before keeps its answer. */
        for (p = batch; p != NULL; p = p->next) {
            if (p->status != 0 || p->ev->seq <= s->last_seq)
                continue;
            sh_event_unref(p->ev);
            p->ev = NULL;
            p->duplicate = 0;
            p->status = 503;
            p->reason = reason;
        }
    }
    for (p = batch; p != NULL; p = next) {
        next = p->next;
        p->next = NULL;
        p->done(p);
    }
}

/*
 * Publishers answered by one commit send their next publishes over the following tens of
 * microseconds: while the queue keeps growing, wait a little (GATHER_STEP_US at a time,
 * GATHER_MAX_US in all) so that the next commit takes them together. A commit costs about
 * the same for one event as for hundreds (two syncs), so this raises the events per
 * commit; it adds at most GATHER_MAX_US to a publish's answer. Called with qlock held.
 */
static void gather(lm_store_t *s)
{
    struct timespec now, until, end;
    size_t before;

    if (s->qhead == NULL || s->qlen >= BATCH_MAX || s->closing)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    end = now;
    end.tv_nsec += GATHER_MAX_US * 1000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    do {
        before = s->qlen;
        until = now;
        until.tv_nsec += GATHER_STEP_US * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        if (until.tv_sec > end.tv_sec ||
            (until.tv_sec == end.tv_sec && until.tv_nsec > end.tv_nsec))
            until = end;
        while (s->qlen == before && !s->closing &&
               pthread_cond_timedwait(&s->qcond, &s->qlock, &until) == 0)
            ;
        clock_gettime(CLOCK_REALTIME, &now);
    } while (s->qlen > before && s->qlen < BATCH_MAX && !s->closing &&
             (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec)));
}

static void *committer_main(void *arg)
{
    lm_store_t *s = arg;

    for (;;) {
        sh_store_pub_t *batch = NULL, **tail = &batch;
        size_t n = 0, bytes = 0;
        int expire, stop;
        int64_t expire_now;

        pthread_mutex_lock(&s->qlock);
        while (s->qhead == NULL && !s->closing && !s->expire_req &&
               (s->ndels == 0 || s->del_backoff))
            pthread_cond_wait(&s->qcond, &s->qlock);
        gather(s);
        while (s->qhead != NULL && n < BATCH_MAX &&
               (n == 0 || bytes + s->qhead->init.data.len <= BATCH_BYTES)) {
            sh_store_pub_t *p = s->qhead;

            s->qhead = p->next;
            p->next = NULL;
            *tail = p;
            tail = &p->next;
            bytes += p->init.data.len;
            n++;
        }
        if (s->qhead == NULL)
            s->qtail = NULL;
        s->qlen -= n;
        expire = s->expire_req;
        expire_now = s->expire_now;
        s->expire_req = 0;
        if (n > 0 || expire)
            s->del_backoff = 0;
        stop = s->closing && s->qhead == NULL && n == 0;
        pthread_mutex_unlock(&s->qlock);

        if (expire) {
            sh_store_expire_history(&s->lock, s->history, expire_now);
        }
        if (stop)
            break;
        if (batch != NULL || (s->ndels > 0 && !s->del_backoff))
            commit_batch(s, batch);
    }
    return NULL;
}

/* ---- the operations ----------------------------------------------------------------- */

static void lm_publish(sh_store_t *base, sh_store_pub_t *p)
{
    lm_store_t *s = (lm_store_t *)base;

    p->ev = NULL;
    p->reason = NULL;
    p->status = 0;
    p->duplicate = 0;
    p->next = NULL;
    pthread_mutex_lock(&s->qlock);
    if (s->closing || s->qlen >= QUEUE_MAX) {
        int closed = s->closing;

        pthread_mutex_unlock(&s->qlock);
        p->status = 503;
        p->reason = closed ? "shutting down"
                           : "store overloaded: too many publishes waiting for the disk, "
                             "retry later";
        p->done(p);
        return;
    }
    if (s->qtail != NULL)
        s->qtail->next = p;
    else
        s->qhead = p;
    s->qtail = p;
    s->qlen++;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

static int lm_replay(sh_store_t *base, const sh_selectors_t *sel, const char *last_id,
                     size_t last_id_len, int64_t now_ms, sh_replay_t *out)
{
    lm_store_t *s = (lm_store_t *)base;

    return sh_store_replay_history(&s->lock, s->history, sel, last_id, last_id_len, now_ms, out);
}

/* Asks the committer to expire (it owns every change to the history and to LMDB). */
static void lm_expire(sh_store_t *base, int64_t now_ms)
{
    lm_store_t *s = (lm_store_t *)base;

    pthread_mutex_lock(&s->qlock);
    s->expire_req = 1;
    s->expire_now = now_ms;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

static size_t lm_count(sh_store_t *base)
{
    lm_store_t *s = (lm_store_t *)base;

    return sh_store_count_history(&s->lock, s->history);
}

static void lm_close(sh_store_t *base)
{
    lm_store_t *s = (lm_store_t *)base;
    int join;

    pthread_mutex_lock(&s->qlock);
    s->closing = 1;
    join = s->thread_started;
    s->thread_started = 0;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    if (join) {
        pthread_join(s->thread, NULL);
        sh_store_log(&s->prm, SH_STORE_LOG_INFO,
                     "lmdb %s: closed after %llu commits of %llu events", s->dir,
                     (unsigned long long)s->ncommits, (unsigned long long)s->ncommitted);
    }
    pthread_mutex_lock(&s->qlock);
    s->closed = 1;
    pthread_mutex_unlock(&s->qlock);
}

static void lm_free(sh_store_t *base)
{
    lm_store_t *s = (lm_store_t *)base;

    lm_close(base);
    sh_history_free(s->history);
    if (s->env != NULL)
        mdb_env_close(s->env); /* also releases the flock on data.mdb */
    sh_map_dispose(&s->batch_ids);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    sh_free(s->dels);
    sh_free(s->dir);
    sh_free(s);
}

static const sh_store_ops_t lm_ops = {
    "lmdb", lm_publish, lm_replay, lm_expire, lm_count, lm_close, lm_free, NULL, NULL, NULL,
};

/* ---- opening ------------------------------------------------------------------------ */

/* "DIR[?mapsize=BYTES&maxsize=BYTES]" -> s->dir, s->mapsize, s->maxsize. */
static int parse_spec(lm_store_t *s, const char *spec, char *err, size_t errlen)
{
    const char *q = strchr(spec, '?');
    size_t dl = q != NULL ? (size_t)(q - spec) : strlen(spec);

    if (dl == 0) {
        snprintf(err, errlen, "lmdb:DIR needs a directory (lmdb:./ssehub-data)");
        return SSEHUB_EINVAL;
    }
    s->dir = sh_malloc(dl + 1);
    if (s->dir == NULL)
        return SSEHUB_ENOMEM;
    memcpy(s->dir, spec, dl);
    s->dir[dl] = '\0';
    s->mapsize = 0;
    while (q != NULL) {
        const char *name = q + 1, *eq = strchr(name, '='), *amp = strchr(name, '&');
        const char *val = eq != NULL ? eq + 1 : NULL;
        size_t vl;
        uint64_t bytes;

        if (eq == NULL || (amp != NULL && amp < eq)) {
            snprintf(err, errlen, "lmdb:%s: options are NAME=VALUE (mapsize, maxsize)", spec);
            return SSEHUB_EINVAL;
        }
        vl = amp != NULL ? (size_t)(amp - val) : strlen(val);
        if (sh_parse_size(val, vl, &bytes) != 0 || bytes < MAPSIZE_MIN) {
            snprintf(err, errlen, "lmdb:%s: '%.*s' is not a size of at least 256k", spec, (int)vl,
                     val);
            return SSEHUB_EINVAL;
        }
        if ((size_t)(eq - name) == 7 && memcmp(name, "mapsize", 7) == 0) {
            s->mapsize = bytes;
        } else if ((size_t)(eq - name) == 7 && memcmp(name, "maxsize", 7) == 0) {
            s->maxsize = bytes;
        } else {
            snprintf(err, errlen, "lmdb:%s: unknown option '%.*s' (mapsize, maxsize)", spec,
                     (int)(eq - name), name);
            return SSEHUB_EINVAL;
        }
        q = amp;
    }
    if (s->mapsize == 0)
        s->mapsize = MAPSIZE_DEFAULT;
    if (s->maxsize > 0 && s->mapsize > s->maxsize)
        s->mapsize = s->maxsize;
    return 0;
}

/* Creates |dir| and its missing parents (0755). 0 or -errno. */
static int make_dirs(char *dir)
{
    char *p;

    for (p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            int err = -errno;

            *p = '/';
            return err;
        }
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/*
 * DIR must be a directory; it is created when missing. One that exists must hold
 * data.mdb, or nothing but LMDB's lock file: any other content means it is not ours.
 */
static int check_dir(lm_store_t *s, char *err, size_t errlen)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int has_data = 0, other = 0, rc;

    if (stat(s->dir, &st) != 0) {
        if (errno != ENOENT) {
            rc = -errno;
            snprintf(err, errlen, "lmdb:%s: %s", s->dir, strerror(errno));
            return rc;
        }
        rc = make_dirs(s->dir);
        if (rc != 0)
            snprintf(err, errlen, "lmdb:%s: cannot create the directory: %s", s->dir,
                     strerror(-rc));
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "lmdb:%s: not a directory", s->dir);
        return SSEHUB_EINVAL;
    }
    d = opendir(s->dir);
    if (d == NULL) {
        rc = -errno;
        snprintf(err, errlen, "lmdb:%s: %s", s->dir, strerror(errno));
        return rc;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "lock.mdb") == 0)
            continue;
        if (strcmp(e->d_name, "data.mdb") == 0)
            has_data = 1;
        else
            other = 1;
    }
    closedir(d);
    if (other && !has_data) {
        snprintf(err, errlen,
                 "lmdb:%s: the directory is not empty and holds no ssehub store (no data.mdb); "
                 "refusing to use it (nothing was changed)",
                 s->dir);
        return SSEHUB_EINVAL;
    }
    return 0;
}

/* Opens the two databases, creating them (and the format record) in a new environment;
 * refuses an environment that is not an ssehub store. Reads last_seq. */
static int open_dbs(lm_store_t *s, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_dbi main_db;
    MDB_stat st;
    MDB_val k, v;
    int rc, fresh;

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        goto err_lmdb;
    rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (rc == 0)
        rc = mdb_stat(txn, main_db, &st);
    if (rc != 0)
        goto err_abort;
    fresh = st.ms_entries == 0;
    rc = mdb_dbi_open(txn, "meta", fresh ? MDB_CREATE : 0, &s->meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        mdb_txn_abort(txn);
        snprintf(err, errlen,
                 "lmdb:%s: data.mdb is an LMDB database but not an ssehub store; refusing to "
                 "start (nothing was changed)",
                 s->dir);
        return SSEHUB_EINVAL;
    }
    if (rc != 0)
        goto err_abort;
    k.mv_data = "format";
    k.mv_size = 6;
    if (fresh) {
        v.mv_data = FORMAT;
        v.mv_size = strlen(FORMAT);
        rc = mdb_put(txn, s->meta, &k, &v, 0);
    } else {
        rc = mdb_get(txn, s->meta, &k, &v);
        if (rc == MDB_NOTFOUND || (rc == 0 && (v.mv_size != strlen(FORMAT) ||
                                               memcmp(v.mv_data, FORMAT, v.mv_size) != 0))) {
            mdb_txn_abort(txn);
            snprintf(err, errlen,
                     "lmdb:%s: data.mdb is not an ssehub store of a format this version knows "
                     "(want \"%s\"); refusing to start (nothing was changed)",
                     s->dir, FORMAT);
            return SSEHUB_EINVAL;
        }
    }
    if (rc != 0)
        goto err_abort;
    rc = mdb_dbi_open(txn, "events", fresh ? MDB_CREATE : 0, &s->events);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        snprintf(err, errlen, "lmdb:%s: the store has no events database; refusing to start",
                 s->dir);
        return SSEHUB_EINVAL;
    }
    if (rc != 0)
        goto err_abort;
    k.mv_data = "last_seq";
    k.mv_size = 8;
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == 0 && v.mv_size == 8)
        s->last_seq = get_be64(v.mv_data);
    else if (rc != MDB_NOTFOUND && rc != 0)
        goto err_abort;
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        goto err_lmdb;
    return 0;

err_abort:
    mdb_txn_abort(txn);
err_lmdb:
    snprintf(err, errlen, "lmdb:%s: %s", s->dir, mdb_strerror(rc));
    return rc == ENOMEM ? SSEHUB_ENOMEM : SSEHUB_EINVAL;
}

/* Reads every record, in seq order, into the history (which lets go of what is past the
 * bounds now: those records are queued for deletion). */
static int load(lm_store_t *s, int64_t now_ms, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    sh_str_t *topics = NULL;
    size_t cap = 0, loaded = 0;
    int rc, told = 0;

    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        goto err_lmdb;
    rc = mdb_cursor_open(txn, s->events, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto err_lmdb;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        sh_event_init_t init;
        sh_event_t *ev;
        uint64_t seq;
        int drc;

        if (k.mv_size != 8) {
            snprintf(err, errlen, "lmdb:%s: an event key is corrupt; refusing to start", s->dir);
            rc = SSEHUB_EINVAL;
            told = 1;
            break;
        }
        seq = get_be64(k.mv_data);
        drc = sh_store_rec_decode(v.mv_data, v.mv_size, seq, &init, &topics, &cap);
        if (drc == 0)
            drc = sh_event_new(&init, &ev);
        if (drc != 0) {
            rc = drc;
            snprintf(err, errlen,
                     "lmdb:%s: the record of event %llu is %s; refusing to start (nothing was "
                     "changed; restore a backup made with mdb_copy)",
                     s->dir, (unsigned long long)seq,
                     drc == SSEHUB_ENOMEM ? "too large for memory" : "corrupt");
            told = 1;
            break;
        }
        if (seq > s->last_seq)
            s->last_seq = seq;
        if (s->max_per_topic_zero || sh_history_skip(s->history, seq) != 0) {
            on_release(s, ev); /* nothing is retained (--history 0) */
        } else {
            drc = sh_history_append(s->history, ev, now_ms);
            if (drc == SSEHUB_EINVAL) {
                /* An id held twice: a deletion that did not reach the disk before a crash.
                 * The older event was let go before the newer was accepted: so here too. */
                sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                             "lmdb %s: event %llu reuses id %s of a retained event; dropped",
                             s->dir, (unsigned long long)seq, ev->id.ptr);
                on_release(s, ev);
            } else if (drc != 0) {
                sh_event_unref(ev);
                rc = drc;
                snprintf(err, errlen, "lmdb:%s: out of memory loading the history", s->dir);
                told = 1;
                break;
            }
        }
        sh_event_unref(ev);
        loaded++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    sh_free(topics);
    if (rc == MDB_NOTFOUND) {
        sh_store_log(&s->prm, SH_STORE_LOG_INFO,
                     "lmdb %s: %zu events read back, %zu retained, last seq %llu", s->dir, loaded,
                     sh_history_count(s->history), (unsigned long long)s->last_seq);
        return 0;
    }
    if (told)
        return rc == SSEHUB_ENOMEM ? rc : SSEHUB_EINVAL;
err_lmdb:
    snprintf(err, errlen, "lmdb:%s: reading the events: %s", s->dir, mdb_strerror(rc));
    return SSEHUB_EINVAL;
}

int sh_store_new_lmdb(const char *spec, const sh_store_params_t *prm, sh_store_t **out, char *err,
                      size_t errlen)
{
    lm_store_t *s;
    sh_history_config_t hcfg = prm->history;
    uint64_t first_seq = prm->first_seq;
    MDB_envinfo info;
    int rc, fd;

    *out = NULL;
    s = sh_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return SSEHUB_ENOMEM;
    }
    s->base.ops = &lm_ops;
    s->prm = *prm;
    s->sink = prm->sink;
    s->max_per_topic_zero = prm->history.max_per_topic == 0;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    sh_map_init(&s->batch_ids);
    rc = parse_spec(s, spec, err, errlen);
    if (rc != 0)
        goto err_free;
    hcfg.on_release = on_release;
    hcfg.release_user = s;
    rc = sh_history_new(&hcfg, 0, &s->history);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        goto err_free;
    }
    rc = check_dir(s, err, errlen);
    if (rc != 0)
        goto err_free;
    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)s->mapsize);
    if (rc != 0) {
        snprintf(err, errlen, "lmdb:%s: %s", s->dir, mdb_strerror(rc));
        rc = SSEHUB_ENOMEM;
        goto err_free;
    }
    rc = mdb_env_open(s->env, s->dir, 0, 0644);
    if (rc != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            snprintf(err, errlen,
                     "lmdb:%s: data.mdb is not an LMDB database of this version (corrupt, or "
                     "not ssehub's): %s; refusing to start (nothing was changed)",
                     s->dir, mdb_strerror(rc));
        else
            snprintf(err, errlen, "lmdb:%s: cannot open: %s", s->dir, mdb_strerror(rc));
        rc = rc > 0 ? -rc : SSEHUB_EINVAL;
        goto err_free;
    }
    /* One hub per DIR: the committer is the only writer, and it keeps the seqs in memory. */
    if (mdb_env_get_fd(s->env, &fd) != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "lmdb:%s: in use by another ssehub process; refusing to start",
                 s->dir);
        rc = SSEHUB_EINVAL;
        goto err_free;
    }
    if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->mapsize)
        s->mapsize = info.me_mapsize; /* the file was grown by an earlier run */
    {
        int dead = 0;

        mdb_reader_check(s->env, &dead); /* reader slots of a killed process */
    }
    rc = open_dbs(s, err, errlen);
    if (rc != 0)
        goto err_free;
    rc = load(s, sh_store_wall_ms(), err, errlen);
    if (rc != 0)
        goto err_free;
    if (first_seq > s->last_seq)
        s->last_seq = first_seq;
    rc = sh_history_skip(s->history, s->last_seq + 1);
    if (rc != 0) {
        snprintf(err, errlen, "lmdb:%s: inconsistent sequence numbers", s->dir);
        goto err_free;
    }
    rc = pthread_create(&s->thread, NULL, committer_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "lmdb:%s: cannot start the committer thread: %s", s->dir,
                 strerror(rc));
        rc = -rc;
        goto err_free;
    }
    s->thread_started = 1;
    *out = &s->base;
    return 0;

err_free:
    lm_free(&s->base);
    return rc;
}
