/* SPDX-License-Identifier: MIT */
/*
 * The Redis store (`--store redis://...` or `redis-sentinel://...`): many ssehub nodes share
 * one Redis, which holds every event in one Stream, PREFIX:log, in cluster-wide seq order.
 *
 * Publishing. The loops queue publishes (bounded, QUEUE_MAX) to one publisher thread with
 * its own blocking hiredis connection, so no loop ever waits for Redis. It sends a batch
 * (up to BATCH_MAX) pipelined, each as one EVALSHA of PUBLISH_LUA, which atomically:
 *  - checks a chosen id against PREFIX:ids (id -> stream entry): an id held by an entry
 *    still in the stream returns that entry's record, and the thread applies the
 *    exactly-once rule of every store (sh_store_answer_held: the same update is a retry,
 *    another is 409);
 *  - takes the next seq (INCR PREFIX:seq, never below the node's floor: its first seq and
 *    the newest seq it has seen), and the id ("<seq>", or "<seq>-<k>" when taken);
 *  - XADDs the entry {s: seq, i: id, r: record (store_record.h; its id field is unused)};
 *  - trims the stream to ?maxlen= entries and the events older than --history-age (at
 *    most 64 per publish), deleting their ids from PREFIX:ids, so retention is Redis's.
 * With ?replicas=N a WAIT N follows in the same pipeline. A publish is answered 200 only
 * after Redis answered it (and WAIT counted N replicas); any failure (Redis unreachable,
 * timeout, error, too few replicas) is 503, which the server sends with Retry-After.
 *
 * Delivery. A reader thread, with its own connection, XREADs the stream (BLOCK 25 ms)
 * after the newest entry it has seen, decodes each entry into an event (encoded once) and,
 * with the lock that replay takes, appends it to a local sh_history (the node's mirror,
 * with the node's bounds) and hands it to the loops through the sink: every node delivers
 * every event in stream order, which is seq order (one script makes both). A node's own
 * publishes reach its subscribers the same way. When Redis is unreachable the reader
 * retries with backoff (100 ms doubling to 2 s) and then reads on from where it stopped,
 * so subscribers catch up, in order, on what other nodes published meanwhile.
 *
 * Resume. Replay reads the mirror. A Last-Event-ID the node has not seen yet (the client
 * was on a node that is ahead) waits, at most RESUME_WAIT_MS, for one read by the reader
 * that started after the request: then every entry Redis had is in the mirror. At open,
 * the whole stream is read into the mirror before the node serves anything.
 */
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/str.h"
#include "ssehub/errno.h"
#include "store/store.h"
#include "store/store_record.h"
#include "store/store_redis_url.h"

#define QUEUE_MAX  16384u /* publishes waiting for the publisher thread */
#define BATCH_MAX  64u    /* publishes per pipeline */
#define READ_COUNT 512    /* entries per XREAD */
/* XREAD BLOCK: short, so that a replay waiting for a reader round that started after it
 * (an id the node does not have) holds its loop briefly, even when many such come. */
#define READ_BLOCK_MS      25
#define RESUME_WAIT_MS     500 /* a replay after an id not seen yet waits this long at most */
#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 2000
#define RETRY_MIN_MS       100
#define RETRY_MAX_MS       2000

/* KEYS: log, seq, ids. ARGV: record, chosen id or "", seq floor, maxlen, age ms, now ms,
 * node id.
 * Returns {1, seq, id, stream id} (stored) or {0, seq, record} (the id is held). */
static const char PUBLISH_LUA[] =
    "local rec, id = ARGV[1], ARGV[2]\n"
    "local floor, maxlen = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local age, now = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "if id ~= '' then\n"
    "  local sid = redis.call('HGET', KEYS[3], id)\n"
    "  if sid then\n"
    "    local e = redis.call('XRANGE', KEYS[1], sid, sid)\n"
    "    if #e > 0 then return {0, e[1][2][2], e[1][2][6]} end\n"
    "    redis.call('HDEL', KEYS[3], id)\n"
    "  end\n"
    "end\n"
    "local seq = redis.call('INCR', KEYS[2])\n"
    "if seq <= floor then\n"
    "  seq = floor + 1\n"
    "  redis.call('SET', KEYS[2], string.format('%d', seq))\n"
    "end\n"
    "local seqs = string.format('%d', seq)\n"
    "if id == '' then\n"
    "  id = seqs\n"
    "  local k = 0\n"
    "  while redis.call('HEXISTS', KEYS[3], id) == 1 do\n"
    "    k = k + 1\n"
    "    id = seqs .. '-' .. k\n"
    "  end\n"
    "end\n"
    "local sid = redis.call('XADD', KEYS[1], '*', 's', seqs, 'i', id, 'r', rec, 'n', ARGV[7])\n"
    "redis.call('HSET', KEYS[3], id, sid)\n"
    "local n = redis.call('XLEN', KEYS[1]) - maxlen\n"
    "if n > 0 then\n"
    "  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', n)) do\n"
    "    redis.call('HDEL', KEYS[3], e[2][4])\n"
    "    redis.call('XDEL', KEYS[1], e[1])\n"
    "  end\n"
    "end\n"
    "if age > 0 and now > age then\n"
    "  local old = redis.call('XRANGE', KEYS[1], '-', string.format('%d', now - age - 1),\n"
    "                         'COUNT', 64)\n"
    "  for _, e in ipairs(old) do\n"
    "    redis.call('HDEL', KEYS[3], e[2][4])\n"
    "    redis.call('XDEL', KEYS[1], e[1])\n"
    "  end\n"
    "end\n"
    "return {1, seqs, id, sid}\n";

/* Node liveness. KEYS: nodes. ARGV: this node, ms its liveness lasts. Renews this node
 * and returns the nodes whose liveness ended, on Redis's clock. */
static const char HEARTBEAT_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)\n";

#define NODE_TTL_MS  5000 /* a node that has not renewed its liveness for this long is gone */
#define HEARTBEAT_MS 1000 /* how often each node renews it and looks for gone ones */

typedef struct rd_store_s {
    sh_store_t base;
    sh_store_params_t prm;
    sh_redis_url_t url;
    char k_log[96];   /* the stream */
    char k_seq[96];   /* the seq counter */
    char k_ids[96];   /* id -> stream id */
    char k_nodes[96]; /* node id -> when its liveness ends (ms, Redis's clock) */
    char sha[48];     /* PUBLISH_LUA's SHA1 (SCRIPT LOAD) */

    /* The mirror and the reader's progress; the sink is called with it held. */
    pthread_mutex_t lock;
    pthread_cond_t progress; /* gen_done moved, or reader_up changed */
    sh_history_t *history;
    uint64_t last_seq;    /* the newest seq handed to the loops */
    char last_sid[64];    /* the stream id of the newest entry read */
    uint64_t gen_started; /* XREADs started */
    uint64_t gen_done;    /* XREADs whose entries are all handed */
    int reader_up;        /* the reader's connection works */

    /* The publish queue. */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    sh_store_pub_t *qhead, *qtail;
    size_t qlen;
    int closing;
    atomic_int stopping; /* |closing|, readable without qlock (the reader holds |lock|) */
    pthread_t pub_thread, rd_thread;
    int pub_started, rd_started;

    /* Metrics. */
    atomic_int pub_up;         /* the publisher's last attempt reached Redis */
    atomic_ullong round_trips; /* commands answered (a pipeline counts each) */
    atomic_ullong reconnects;  /* connections made after the first */
    atomic_ullong errors;      /* failed connections and commands */
    atomic_ullong published;   /* events stored by this node */
    atomic_ullong unavailable; /* publishes answered 503 for Redis */
} rd_store_t;

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_ms(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* ---- Connections. */

/* One command on |c|, counted. NULL when the connection failed (|c->err| says why). */
static redisReply *command(rd_store_t *s, redisContext *c, int argc, const char **argv,
                           const size_t *lens)
{
    redisReply *r = redisCommandArgv(c, argc, argv, lens);

    if (r != NULL)
        atomic_fetch_add(&s->round_trips, 1);
    else
        atomic_fetch_add(&s->errors, 1);
    return r;
}

static redisReply *command0(rd_store_t *s, redisContext *c, const char *a0, const char *a1,
                            const char *a2, const char *a3)
{
    const char *argv[4] = {a0, a1, a2, a3};
    size_t lens[4];
    int n = 0;

    for (n = 0; n < 4 && argv[n] != NULL; n++)
        lens[n] = strlen(argv[n]);
    return command(s, c, n, argv, lens);
}

/* Asks the sentinels, in order, for the primary's address. 0 or -1 (|why| written). */
static int ask_sentinels(rd_store_t *s, char *host, size_t hostcap, unsigned *port, char *why,
                         size_t whylen)
{
    size_t i;

    snprintf(why, whylen, "no sentinel answered for master %s", s->url.master);
    for (i = 0; i < s->url.naddrs; i++) {
        redisContext *c = redisConnectWithTimeout(s->url.addrs[i].host, (int)s->url.addrs[i].port,
                                                  tv_ms(CONNECT_TIMEOUT_MS));
        redisReply *r;
        int ok = 0;

        if (c == NULL || c->err) {
            redisFree(c);
            continue;
        }
        redisSetTimeout(c, tv_ms(CONNECT_TIMEOUT_MS));
        r = command0(s, c, "SENTINEL", "get-master-addr-by-name", s->url.master, NULL);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            uint64_t p;

            if (r->element[0]->len < hostcap &&
                sh_parse_u64(r->element[1]->str, r->element[1]->len, &p) == 0 && p > 0 &&
                p < 65536) {
                memcpy(host, r->element[0]->str, r->element[0]->len);
                host[r->element[0]->len] = '\0';
                *port = (unsigned)p;
                ok = 1;
            }
        }
        freeReplyObject(r);
        redisFree(c);
        if (ok)
            return 0;
    }
    return -1;
}

/* Whether |r| is a status or string reply equal to |want|. */
static int reply_is(const redisReply *r, const char *want)
{
    return r != NULL && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) &&
           r->len == strlen(want) && memcmp(r->str, want, r->len) == 0;
}

/* The configured value of |name| (CONFIG GET) is |want|. */
static int config_is(rd_store_t *s, redisContext *c, const char *name, const char *want)
{
    redisReply *r = command0(s, c, "CONFIG", "GET", name, NULL);
    int ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             reply_is(r->element[1], want);

    freeReplyObject(r);
    return ok;
}

/* A new connection to the primary: resolved through the sentinels, authenticated, on the
 * database, checked to be a primary (sentinel) and durable (durability=aof), with the
 * script loaded. NULL with |why| written. */
static redisContext *connect_primary(rd_store_t *s, char *why, size_t whylen)
{
    char host[SH_REDIS_URL_HOST_MAX];
    unsigned port = s->url.addrs[0].port;
    redisContext *c;
    redisReply *r;
    char db[16];

    memcpy(host, s->url.addrs[0].host, sizeof(host));
    if (s->url.sentinel && ask_sentinels(s, host, sizeof(host), &port, why, whylen) != 0)
        goto err;
    c = redisConnectWithTimeout(host, (int)port, tv_ms(CONNECT_TIMEOUT_MS));
    if (c == NULL || c->err) {
        snprintf(why, whylen, "cannot connect to %s:%u: %s", host, port,
                 c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        goto err;
    }
    /* A WAIT may take up to ?wait=: the socket must not time out first. */
    redisSetTimeout(c, tv_ms(COMMAND_TIMEOUT_MS + (s->url.replicas > 0 ? (int)s->url.wait_ms : 0)));
    if (s->url.password[0] != '\0') {
        r = s->url.user[0] != '\0' ? command0(s, c, "AUTH", s->url.user, s->url.password, NULL)
                                   : command0(s, c, "AUTH", s->url.password, NULL, NULL);
        if (!reply_is(r, "OK")) {
            snprintf(why, whylen, "%s:%u: AUTH failed: %s", host, port,
                     r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            freeReplyObject(r);
            goto err_free;
        }
        freeReplyObject(r);
    }
    if (s->url.db != 0) {
        snprintf(db, sizeof(db), "%u", s->url.db);
        r = command0(s, c, "SELECT", db, NULL, NULL);
        if (!reply_is(r, "OK")) {
            snprintf(why, whylen, "%s:%u: SELECT %s failed", host, port, db);
            freeReplyObject(r);
            goto err_free;
        }
        freeReplyObject(r);
    }
    if (s->url.sentinel) {
        r = command0(s, c, "ROLE", NULL, NULL, NULL);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            !reply_is(r->element[0], "master")) {
            snprintf(why, whylen, "%s:%u is not a primary (yet): the sentinels are behind", host,
                     port);
            freeReplyObject(r);
            goto err_free;
        }
        freeReplyObject(r);
    }
    if (s->url.durability_aof &&
        (!config_is(s, c, "appendonly", "yes") || !config_is(s, c, "appendfsync", "always"))) {
        snprintf(why, whylen,
                 "%s:%u does not run with appendonly yes and appendfsync always "
                 "(durability=aof)",
                 host, port);
        goto err_free;
    }
    r = command0(s, c, "SCRIPT", "LOAD", PUBLISH_LUA, NULL);
    if (r == NULL || r->type != REDIS_REPLY_STRING || r->len >= sizeof(s->sha)) {
        snprintf(why, whylen, "%s:%u: SCRIPT LOAD failed: %s", host, port,
                 r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        freeReplyObject(r);
        goto err_free;
    }
    pthread_mutex_lock(&s->qlock);
    memcpy(s->sha, r->str, r->len);
    s->sha[r->len] = '\0';
    pthread_mutex_unlock(&s->qlock);
    freeReplyObject(r);
    return c;

err_free:
    redisFree(c);
err:
    atomic_fetch_add(&s->errors, 1);
    return NULL;
}

/* ---- Entries: the stream's fields to an event. */

/* The event of one XRANGE/XREAD entry ([id, [s, seq, i, id, r, record]]). 0 with |*out|
 * and |*seq|, or a negative code. */
static int entry_event(rd_store_t *s, const redisReply *e, sh_event_t **out, uint64_t *seq)
{
    const redisReply *f;
    sh_event_init_t init;
    sh_str_t *topics = NULL;
    size_t cap = 0, k;
    int rc;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[1]->type != REDIS_REPLY_ARRAY ||
        (e->element[1]->elements != 6 && e->element[1]->elements != 8))
        return SSEHUB_EINVAL;
    f = e->element[1];
    for (k = 0; k < f->elements; k++)
        if (f->element[k]->type != REDIS_REPLY_STRING)
            return SSEHUB_EINVAL;
    if (sh_parse_u64(f->element[1]->str, f->element[1]->len, seq) != 0)
        return SSEHUB_EINVAL;
    rc = sh_store_rec_decode(f->element[5]->str, f->element[5]->len, *seq, &init, &topics, &cap);
    if (rc == 0) {
        init.id.ptr = f->element[3]->str;
        init.id.len = f->element[3]->len;
        if (s->prm.observe != NULL)
            s->prm.observe(s->prm.cluster_user, f->elements == 8 ? f->element[7]->str : "",
                           f->elements == 8 ? f->element[7]->len : 0, &init);
        rc = sh_event_new(&init, out);
    }
    sh_free(topics);
    return rc;
}

/* Appends |ev| (seq |seq|) to the mirror and hands it to the loops, with the lock held
 * (taken and released here while the loops have no room). Takes the caller's reference. */
static void deliver(rd_store_t *s, sh_event_t *ev, uint64_t seq)
{
    int rc;

    if (seq <= s->last_seq) {
        sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                     "redis: entry with seq %llu after seq %llu (the counter went back: a "
                     "Redis that lost data?); not delivered",
                     (unsigned long long)seq, (unsigned long long)s->last_seq);
        sh_event_unref(ev);
        return;
    }
    /* Committed already: it must be delivered, so wait for the loops' room (unless the
     * hub is stopping: its loops may have ended). */
    while (!s->prm.sink.reserve(s->prm.sink.user, 1)) {
        struct timespec ts = {0, 1000000};

        if (atomic_load(&s->stopping)) {
            sh_event_unref(ev);
            return;
        }
        pthread_mutex_unlock(&s->lock);
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->lock);
    }
    if (seq > sh_history_next_seq(s->history))
        (void)sh_history_skip(s->history, seq);
    rc = sh_history_append(s->history, ev, sh_store_wall_ms());
    if (rc != 0)
        sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                     "redis: event %s (seq %llu) delivered but not kept for replay: %s", ev->id.ptr,
                     (unsigned long long)seq, ssehub_strerror(rc));
    s->prm.sink.hand(s->prm.sink.user, ev);
    s->last_seq = seq;
    sh_event_unref(ev);
}

/* Reads the whole stream into the mirror (at open; nothing is handed to the loops). 0 or
 * -1 with |err| written. */
static int load(rd_store_t *s, redisContext *c, char *err, size_t errlen)
{
    char start[72];
    size_t loaded = 0;
    int64_t now = sh_store_wall_ms();

    memcpy(start, "-", 2);
    for (;;) {
        const char *argv[6] = {"XRANGE", s->k_log, start, "+", "COUNT", "1000"};
        size_t lens[6], i;
        redisReply *r;

        for (i = 0; i < 6; i++)
            lens[i] = strlen(argv[i]);
        r = command(s, c, 6, argv, lens);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "reading %s: %s", s->k_log,
                     r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            freeReplyObject(r);
            return -1;
        }
        for (i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            sh_event_t *ev;
            uint64_t seq;

            if (entry_event(s, e, &ev, &seq) != 0) {
                sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                             "redis: %s: entry %s is not an event; skipped", s->k_log,
                             e->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
                                     e->element[0]->type == REDIS_REPLY_STRING
                                 ? e->element[0]->str
                                 : "?");
                continue;
            }
            if (seq > s->last_seq) {
                if (seq > sh_history_next_seq(s->history))
                    (void)sh_history_skip(s->history, seq);
                (void)sh_history_append(s->history, ev, now);
                s->last_seq = seq;
                loaded++;
            }
            sh_event_unref(ev);
            if (e->element[0]->len < sizeof(s->last_sid) - 1) {
                memcpy(s->last_sid, e->element[0]->str, e->element[0]->len);
                s->last_sid[e->element[0]->len] = '\0';
            }
        }
        i = r->elements;
        freeReplyObject(r);
        if (i < 1000)
            break;
        snprintf(start, sizeof(start), "(%s", s->last_sid);
    }
    sh_store_log(&s->prm, SH_STORE_LOG_INFO,
                 "redis: %zu events read from %s, %zu retained, last seq %llu", loaded, s->k_log,
                 sh_history_count(s->history), (unsigned long long)s->last_seq);
    return 0;
}

/* ---- The reader thread. */

/* Renews this node's liveness and reports the nodes whose liveness ended (node_gone),
 * then forgets them. Returns -1 when the connection failed. */
static int heartbeat(rd_store_t *s, redisContext *c)
{
    char ttl[16];
    const char *argv[6] = {"EVAL", HEARTBEAT_LUA, "1", s->k_nodes, s->prm.node_id, ttl};
    size_t lens[6], i;
    redisReply *r;

    snprintf(ttl, sizeof(ttl), "%d", NODE_TTL_MS);
    for (i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    r = command(s, c, 6, argv, lens);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++) {
            const redisReply *n = r->element[i];
            redisReply *z;

            if (n->type != REDIS_REPLY_STRING || strcmp(n->str, s->prm.node_id) == 0)
                continue;
            sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                         "redis: node %s has not renewed its liveness for %d ms: gone", n->str,
                         NODE_TTL_MS);
            if (s->prm.node_gone != NULL)
                s->prm.node_gone(s->prm.cluster_user, n->str);
            z = command0(s, c, "ZREM", s->k_nodes, n->str, NULL);
            freeReplyObject(z);
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        atomic_fetch_add(&s->errors, 1);
    }
    freeReplyObject(r);
    return 0;
}

static void set_reader_up(rd_store_t *s, int up)
{
    pthread_mutex_lock(&s->lock);
    s->reader_up = up;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->lock);
}

/* Sleeps |ms| or until close (a publish's wakeup of |qcond| does not cut it short).
 * Returns whether the store is closing. */
static int nap(rd_store_t *s, int ms)
{
    struct timespec ts;
    int closing;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->qlock);
    while (!s->closing && pthread_cond_timedwait(&s->qcond, &s->qlock, &ts) != ETIMEDOUT)
        ;
    closing = s->closing;
    pthread_mutex_unlock(&s->qlock);
    return closing;
}

static int is_closing(rd_store_t *s)
{
    int c;

    pthread_mutex_lock(&s->qlock);
    c = s->closing;
    pthread_mutex_unlock(&s->qlock);
    return c;
}

static void *reader_main(void *arg)
{
    rd_store_t *s = arg;
    redisContext *c = NULL;
    int backoff = RETRY_MIN_MS, first = 1, lost = 0;
    int64_t next_beat = 0;
    char why[256], block[16], count[16];

    snprintf(block, sizeof(block), "%d", READ_BLOCK_MS);
    snprintf(count, sizeof(count), "%d", READ_COUNT);
    while (!is_closing(s)) {
        const char *argv[8];
        size_t lens[8], i;
        redisReply *r;
        uint64_t gen;

        if (c == NULL) {
            c = connect_primary(s, why, sizeof(why));
            if (c == NULL) {
                if (!lost)
                    sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                                 "redis: reader: %s; retrying (streams stay open)", why);
                lost = 1;
                set_reader_up(s, 0);
                if (nap(s, backoff))
                    break;
                backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
                continue;
            }
            if (!first)
                atomic_fetch_add(&s->reconnects, 1);
            if (lost)
                sh_store_log(&s->prm, SH_STORE_LOG_INFO,
                             "redis: reader connected again; reading on after seq %llu",
                             (unsigned long long)s->last_seq);
            first = 0;
            lost = 0;
            backoff = RETRY_MIN_MS;
            set_reader_up(s, 1);
        }
        if (s->prm.node_gone != NULL && s->prm.node_id != NULL && mono_ms() >= next_beat) {
            next_beat = mono_ms() + HEARTBEAT_MS;
            if (heartbeat(s, c) != 0) {
                sh_store_log(&s->prm, SH_STORE_LOG_WARN, "redis: reader: %s; reconnecting",
                             c->errstr);
                redisFree(c);
                c = NULL;
                lost = 1;
                set_reader_up(s, 0);
                continue;
            }
        }
        pthread_mutex_lock(&s->lock);
        gen = ++s->gen_started;
        pthread_mutex_unlock(&s->lock);
        argv[0] = "XREAD";
        argv[1] = "COUNT";
        argv[2] = count;
        argv[3] = "BLOCK";
        argv[4] = block;
        argv[5] = "STREAMS";
        argv[6] = s->k_log;
        argv[7] = s->last_sid; /* only this thread changes it */
        for (i = 0; i < 8; i++)
            lens[i] = strlen(argv[i]);
        r = command(s, c, 8, argv, lens);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            sh_store_log(&s->prm, SH_STORE_LOG_WARN, "redis: reader: %s; reconnecting",
                         r != NULL ? r->str : c->errstr);
            if (r != NULL)
                atomic_fetch_add(&s->errors, 1);
            freeReplyObject(r);
            redisFree(c);
            c = NULL;
            lost = 1;
            set_reader_up(s, 0);
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
            r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *entries = r->element[0]->element[1];

            for (i = 0; i < entries->elements; i++) {
                const redisReply *e = entries->element[i];
                sh_event_t *ev;
                uint64_t seq;
                int rc = entry_event(s, e, &ev, &seq);

                pthread_mutex_lock(&s->lock);
                if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
                    e->element[0]->type == REDIS_REPLY_STRING &&
                    e->element[0]->len < sizeof(s->last_sid)) {
                    memcpy(s->last_sid, e->element[0]->str, e->element[0]->len);
                    s->last_sid[e->element[0]->len] = '\0';
                }
                if (rc == 0)
                    deliver(s, ev, seq);
                else
                    sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                                 "redis: entry %s is not an event (%s); skipped", s->last_sid,
                                 ssehub_strerror(rc));
                pthread_mutex_unlock(&s->lock);
            }
        }
        freeReplyObject(r);
        pthread_mutex_lock(&s->lock);
        s->gen_done = gen;
        pthread_cond_broadcast(&s->progress);
        pthread_mutex_unlock(&s->lock);
    }
    if (c != NULL && s->prm.node_gone != NULL && s->prm.node_id != NULL) {
        /* A node that stops has announced its leaves itself: the others need not. */
        redisReply *z = command0(s, c, "ZREM", s->k_nodes, s->prm.node_id, NULL);

        freeReplyObject(z);
    }
    redisFree(c);
    set_reader_up(s, 0);
    return NULL;
}

/* ---- The publisher thread. */

/* A publish being sent: its record and what it was checked against. */
typedef struct pending_s {
    sh_store_pub_t *p;
    sh_event_t *probe; /* the event as published (seq 0): validates, and compares */
    unsigned char *rec;
    size_t reclen;
    int sent;
} pending_t;

static void finish(sh_store_pub_t *p, int status, const char *reason)
{
    p->status = status;
    p->reason = reason;
    p->done(p);
}

/* Prepares |q|: checks the publish (400, 500) and encodes its record. 0, or decided. */
static int prepare(pending_t *q)
{
    sh_store_pub_t *p = q->p;
    sh_event_init_t init = p->init;
    int rc;

    init.seq = 0;
    init.time_ms = p->now_ms;
    if (init.id.len == 0) {
        init.id.ptr = "-"; /* the record's id is unused: the entry's i field is the id */
        init.id.len = 1;
    }
    rc = sh_event_new(&init, &q->probe);
    if (rc != 0) {
        finish(p, rc == SSEHUB_ENOMEM ? 500 : 400,
               rc == SSEHUB_ENOMEM ? "out of memory" : "invalid id, type or topic");
        return -1;
    }
    q->reclen = sh_store_rec_size(&init);
    q->rec = sh_malloc(q->reclen);
    if (q->rec == NULL) {
        sh_event_unref(q->probe);
        q->probe = NULL;
        finish(p, 500, "out of memory");
        return -1;
    }
    sh_store_rec_encode(q->rec, &init);
    return 0;
}

/* Decides |q| from the script's reply |r|. Returns 1 when the connection is to be
 * dropped (READONLY: a failover happened), else 0. */
static int decide(rd_store_t *s, pending_t *q, const redisReply *r, int *stored)
{
    sh_store_pub_t *p = q->p;

    *stored = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        int readonly = strncmp(r->str, "READONLY", 8) == 0;

        atomic_fetch_add(&s->errors, 1);
        sh_store_log(&s->prm, SH_STORE_LOG_WARN, "redis: publish: %s", r->str);
        p->status = 503;
        p->reason = readonly ? "store unavailable: Redis is failing over; retry later"
                             : "store unavailable: Redis refused the publish; retry later";
        return readonly;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING) {
        p->status = 503;
        p->reason = "store unavailable: unexpected answer from Redis";
        return 1;
    }
    if (r->element[0]->integer == 1) {
        sh_event_init_t init = p->init;
        uint64_t seq;
        int rc;

        if (r->elements != 4 || r->element[3]->type != REDIS_REPLY_STRING ||
            sh_parse_u64(r->element[1]->str, r->element[1]->len, &seq) != 0) {
            p->status = 503;
            p->reason = "store unavailable: unexpected answer from Redis";
            return 1;
        }
        init.seq = seq;
        init.time_ms = p->now_ms;
        init.id.ptr = r->element[2]->str;
        init.id.len = r->element[2]->len;
        rc = sh_event_new(&init, &p->ev);
        if (rc != 0) {
            /* Stored, but this node has no memory to say so: the reader delivers it. */
            p->status = 500;
            p->reason = "out of memory";
            return 0;
        }
        p->status = 0;
        *stored = 1;
        return 0;
    }
    {
        /* The id is held by an entry still in the stream: {0, seq, record}. */
        sh_event_init_t init;
        sh_str_t *topics = NULL;
        size_t cap = 0;
        uint64_t seq;
        sh_event_t *held = NULL;
        int rc = sh_parse_u64(r->element[1]->str, r->element[1]->len, &seq);

        if (rc == 0)
            rc = sh_store_rec_decode(r->element[2]->str, r->element[2]->len, seq, &init, &topics,
                                     &cap);
        if (rc == 0) {
            init.id = p->init.id;
            rc = sh_event_new(&init, &held);
        }
        sh_free(topics);
        if (rc != 0) {
            p->status = rc == SSEHUB_ENOMEM ? 500 : 503;
            p->reason = rc == SSEHUB_ENOMEM ? "out of memory"
                                            : "store unavailable: unreadable entry in Redis";
            return 0;
        }
        (void)sh_store_answer_held(p, held, sh_event_compare(q->probe, held));
        sh_event_unref(held);
        return 0;
    }
}

/* Sends |n| prepared publishes in one pipeline (then WAIT with ?replicas=) and decides
 * each. Returns 0, or -1 when the connection broke (undecided ones are answered 503). */
static int send_batch(rd_store_t *s, redisContext *c, pending_t *qs, size_t n, int retries)
{
    char floor[24], maxlen[24], age[24], now[24], sha[48], nrep[16], wms[24];
    int stored[BATCH_MAX];
    size_t i, nstored = 0;
    int broken = 0, retry_noscript = 0;
    uint64_t fl;

    pthread_mutex_lock(&s->lock);
    fl = s->last_seq > s->prm.first_seq ? s->last_seq : s->prm.first_seq;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&s->qlock);
    memcpy(sha, s->sha, sizeof(sha));
    pthread_mutex_unlock(&s->qlock);
    snprintf(floor, sizeof(floor), "%llu", (unsigned long long)fl);
    snprintf(maxlen, sizeof(maxlen), "%llu", (unsigned long long)s->url.maxlen);
    snprintf(age, sizeof(age), "%lld", (long long)s->prm.history.max_age_ms);
    for (i = 0; i < n; i++) {
        const char *argv[11] = {"EVALSHA", sha,  "3",   s->k_log, s->k_seq, s->k_ids,
                                NULL,      NULL, floor, maxlen,   age};
        const char *full[13];
        size_t lens[13], k;

        snprintf(now, sizeof(now), "%lld", (long long)qs[i].p->now_ms);
        memcpy(full, argv, sizeof(argv));
        full[6] = (const char *)qs[i].rec;
        full[7] = qs[i].p->init.id.ptr != NULL ? qs[i].p->init.id.ptr : "";
        full[11] = now;
        full[12] = s->prm.node_id != NULL ? s->prm.node_id : "";
        for (k = 0; k < 13; k++)
            lens[k] = strlen(full[k]);
        lens[6] = qs[i].reclen;
        lens[7] = qs[i].p->init.id.len;
        redisAppendCommandArgv(c, 13, full, lens);
    }
    if (s->url.replicas > 0) {
        snprintf(nrep, sizeof(nrep), "%u", s->url.replicas);
        snprintf(wms, sizeof(wms), "%llu", (unsigned long long)s->url.wait_ms);
        redisAppendCommand(c, "WAIT %s %s", nrep, wms);
    }
    for (i = 0; i < n; i++) {
        redisReply *r = NULL;

        stored[i] = 0;
        if (!broken && redisGetReply(c, (void **)&r) != REDIS_OK)
            broken = 1;
        if (broken) {
            freeReplyObject(r);
            qs[i].p->status = 503;
            qs[i].p->reason = "store unavailable: Redis unreachable; retry later";
            continue;
        }
        atomic_fetch_add(&s->round_trips, 1);
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            qs[i].sent = 0; /* decided below, after the script is loaded again */
            retry_noscript = 1;
            freeReplyObject(r);
            continue;
        }
        qs[i].sent = 1;
        if (decide(s, &qs[i], r, &stored[i]))
            broken = 1;
        nstored += stored[i] ? 1 : 0;
        freeReplyObject(r);
    }
    if (s->url.replicas > 0 && !broken) {
        redisReply *r = NULL;

        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            broken = 1;
        } else {
            atomic_fetch_add(&s->round_trips, 1);
            if (r->type != REDIS_REPLY_INTEGER || r->integer < (long long)s->url.replicas) {
                for (i = 0; i < n; i++)
                    if (stored[i]) {
                        sh_event_unref(qs[i].p->ev);
                        qs[i].p->ev = NULL;
                        stored[i] = 0;
                        qs[i].p->status = 503;
                        qs[i].p->reason = "store unavailable: not replicated in time (?replicas=); "
                                          "retry with the same id";
                    }
                if (nstored > 0)
                    sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                                 "redis: WAIT %u: %lld replicas acknowledged", s->url.replicas,
                                 r->type == REDIS_REPLY_INTEGER ? r->integer : -1LL);
            }
            freeReplyObject(r);
        }
    }
    if (broken) {
        for (i = 0; i < n; i++)
            if (stored[i] && s->url.replicas > 0) {
                /* Not known to be replicated. */
                sh_event_unref(qs[i].p->ev);
                qs[i].p->ev = NULL;
                stored[i] = 0;
                qs[i].p->status = 503;
                qs[i].p->reason = "store unavailable: Redis unreachable; retry later";
            }
        for (i = 0; i < n; i++)
            if (!qs[i].sent) {
                qs[i].p->status = 503;
                qs[i].p->reason = "store unavailable: Redis unreachable; retry later";
                qs[i].sent = 1;
            }
    }
    if (retry_noscript && !broken) {
        /* Redis lost its scripts (SCRIPT FLUSH, or a restart the connection survived): load
         * it again and send those publishes once more (Redis did not run them); if that
         * fails too, they are answered 503 and their publishers retry. */
        redisReply *r = command0(s, c, "SCRIPT", "LOAD", PUBLISH_LUA, NULL);
        int loaded = r != NULL && r->type == REDIS_REPLY_STRING && r->len < sizeof(s->sha);

        if (loaded) {
            pthread_mutex_lock(&s->qlock);
            memcpy(s->sha, r->str, r->len);
            s->sha[r->len] = '\0';
            pthread_mutex_unlock(&s->qlock);
        }
        freeReplyObject(r);
        if (loaded && retries > 0) {
            pending_t again[BATCH_MAX];
            size_t m = 0;

            for (i = 0; i < n; i++)
                if (!qs[i].sent) {
                    again[m++] = qs[i];
                    qs[i].sent = 2; /* decided and answered by the call below */
                }
            if (send_batch(s, c, again, m, retries - 1) != 0)
                broken = 1;
        } else {
            for (i = 0; i < n; i++)
                if (!qs[i].sent) {
                    qs[i].p->status = 503;
                    qs[i].p->reason = "store unavailable: Redis lost the publish script; retry";
                }
        }
    }
    for (i = 0; i < n; i++) {
        if (qs[i].sent == 2)
            continue;
        if (stored[i])
            atomic_fetch_add(&s->published, 1);
        if (qs[i].p->status == 503)
            atomic_fetch_add(&s->unavailable, 1);
        qs[i].p->done(qs[i].p);
    }
    return broken ? -1 : 0;
}

static void *publisher_main(void *arg)
{
    rd_store_t *s = arg;
    redisContext *c = NULL;
    pending_t qs[BATCH_MAX];
    int64_t next_try = 0;
    char why[256];
    int logged = 0;

    for (;;) {
        size_t n = 0, i, k;

        pthread_mutex_lock(&s->qlock);
        while (s->qhead == NULL && !s->closing)
            pthread_cond_wait(&s->qcond, &s->qlock);
        if (s->qhead == NULL) {
            pthread_mutex_unlock(&s->qlock);
            break;
        }
        while (s->qhead != NULL && n < BATCH_MAX) {
            memset(&qs[n], 0, sizeof(qs[n]));
            qs[n].p = s->qhead;
            s->qhead = s->qhead->next;
            n++;
        }
        if (s->qhead == NULL)
            s->qtail = NULL;
        s->qlen -= n;
        pthread_mutex_unlock(&s->qlock);

        for (i = 0, k = 0; i < n; i++)
            if (prepare(&qs[i]) == 0)
                qs[k++] = qs[i];
        n = k;
        if (n == 0)
            continue;
        if (c == NULL && mono_ms() >= next_try) {
            c = connect_primary(s, why, sizeof(why));
            if (c == NULL) {
                next_try = mono_ms() + RETRY_MIN_MS;
                if (!logged)
                    sh_store_log(&s->prm, SH_STORE_LOG_WARN,
                                 "redis: publisher: %s; publishes get 503 until it is back", why);
                logged = 1;
            } else if (logged) {
                atomic_fetch_add(&s->reconnects, 1);
                sh_store_log(&s->prm, SH_STORE_LOG_INFO, "redis: publisher connected again");
                logged = 0;
            }
        }
        atomic_store(&s->pub_up, c != NULL);
        if (c == NULL) {
            for (i = 0; i < n; i++) {
                atomic_fetch_add(&s->unavailable, 1);
                finish(qs[i].p, 503, "store unavailable: Redis unreachable; retry later");
            }
        } else if (send_batch(s, c, qs, n, 1) != 0) {
            sh_store_log(&s->prm, SH_STORE_LOG_WARN, "redis: publisher: %s; reconnecting",
                         c->err ? c->errstr : "connection dropped");
            redisFree(c);
            c = NULL;
            atomic_store(&s->pub_up, 0);
            logged = 1;
        }
        for (i = 0; i < n; i++) {
            sh_event_unref(qs[i].probe);
            sh_free(qs[i].rec);
        }
    }
    redisFree(c);
    return NULL;
}

/* ---- The operations. */

static void rd_publish(sh_store_t *base, sh_store_pub_t *p)
{
    rd_store_t *s = (rd_store_t *)base;

    p->ev = NULL;
    p->reason = NULL;
    p->duplicate = 0;
    p->next = NULL;
    pthread_mutex_lock(&s->qlock);
    if (s->closing || s->qlen >= QUEUE_MAX) {
        const char *why = s->closing ? "shutting down"
                                     : "store overloaded: too many publishes "
                                       "waiting for Redis; retry later";

        pthread_mutex_unlock(&s->qlock);
        finish(p, 503, why);
        return;
    }
    if (s->qtail != NULL)
        s->qtail->next = p;
    else
        s->qhead = p;
    s->qtail = p;
    s->qlen++;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

/* Whether a replay after |id| must wait for the reader: the mirror has no such event, and
 * it is not an old hub-assigned id (a seq at or below the newest one seen). */
static int must_wait(rd_store_t *s, const char *id, size_t len)
{
    uint64_t seq;

    if (id == NULL || (len == 8 && memcmp(id, "earliest", 8) == 0) ||
        sh_history_find(s->history, id, len) != NULL)
        return 0;
    if (sh_parse_u64(id, len, &seq) == 0 && seq <= s->last_seq)
        return 0;
    return 1;
}

static int rd_replay(sh_store_t *base, const sh_selectors_t *sel, const char *last_id,
                     size_t last_id_len, int64_t now_ms, sh_replay_t *out)
{
    rd_store_t *s = (rd_store_t *)base;
    int rc;

    pthread_mutex_lock(&s->lock);
    if (s->reader_up && must_wait(s, last_id, last_id_len)) {
        uint64_t target = s->gen_started + 1;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)RESUME_WAIT_MS * 1000000;
        while (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (s->reader_up && s->gen_done < target && must_wait(s, last_id, last_id_len))
            if (pthread_cond_timedwait(&s->progress, &s->lock, &ts) == ETIMEDOUT)
                break;
    }
    rc = sh_history_replay(s->history, sel, last_id, last_id_len, now_ms, out);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void rd_expire(sh_store_t *base, int64_t now_ms)
{
    rd_store_t *s = (rd_store_t *)base;

    sh_store_expire_history(&s->lock, s->history, now_ms);
}

static size_t rd_count(sh_store_t *base)
{
    rd_store_t *s = (rd_store_t *)base;

    return sh_store_count_history(&s->lock, s->history);
}

static void rd_close(sh_store_t *base)
{
    rd_store_t *s = (rd_store_t *)base;

    atomic_store(&s->stopping, 1);
    pthread_mutex_lock(&s->qlock);
    s->closing = 1;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    if (s->pub_started)
        pthread_join(s->pub_thread, NULL);
    if (s->rd_started)
        pthread_join(s->rd_thread, NULL);
    s->pub_started = s->rd_started = 0;
}

static void rd_free(sh_store_t *base)
{
    rd_store_t *s = (rd_store_t *)base;

    rd_close(base);
    sh_history_free(s->history);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->progress);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    sh_free(s);
}

static int rd_healthy(sh_store_t *base, char *why, size_t len)
{
    rd_store_t *s = (rd_store_t *)base;
    int up;

    pthread_mutex_lock(&s->lock);
    up = s->reader_up;
    pthread_mutex_unlock(&s->lock);
    if (!up)
        snprintf(why, len, "store: Redis unreachable");
    return up;
}

static size_t rd_metrics(sh_store_t *base, char *buf, size_t cap)
{
    rd_store_t *s = (rd_store_t *)base;
    unsigned long long last;
    int up, n;

    pthread_mutex_lock(&s->lock);
    up = s->reader_up;
    last = s->last_seq;
    pthread_mutex_unlock(&s->lock);
    n = snprintf(
        buf, cap,
        "# HELP ssehub_redis_link_up Whether this node's reader reaches Redis (1) or not (0).\n"
        "# TYPE ssehub_redis_link_up gauge\nssehub_redis_link_up %d\n"
        "# HELP ssehub_redis_round_trips_total Commands answered by Redis.\n"
        "# TYPE ssehub_redis_round_trips_total counter\nssehub_redis_round_trips_total %llu\n"
        "# HELP ssehub_redis_reconnections_total Connections to Redis made again after a loss.\n"
        "# TYPE ssehub_redis_reconnections_total counter\n"
        "ssehub_redis_reconnections_total %llu\n"
        "# HELP ssehub_redis_errors_total Failed connections and commands.\n"
        "# TYPE ssehub_redis_errors_total counter\nssehub_redis_errors_total %llu\n"
        "# HELP ssehub_redis_published_total Events this node stored in Redis.\n"
        "# TYPE ssehub_redis_published_total counter\nssehub_redis_published_total %llu\n"
        "# HELP ssehub_redis_unavailable_total Publishes answered 503 because of Redis.\n"
        "# TYPE ssehub_redis_unavailable_total counter\nssehub_redis_unavailable_total %llu\n"
        "# HELP ssehub_redis_last_seq The newest seq this node has read from Redis.\n"
        "# TYPE ssehub_redis_last_seq gauge\nssehub_redis_last_seq %llu\n",
        up, (unsigned long long)atomic_load(&s->round_trips),
        (unsigned long long)atomic_load(&s->reconnects),
        (unsigned long long)atomic_load(&s->errors), (unsigned long long)atomic_load(&s->published),
        (unsigned long long)atomic_load(&s->unavailable), last);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* The reader hands events to the sink: it starts once the loops exist. */
static int rd_start(sh_store_t *base)
{
    rd_store_t *s = (rd_store_t *)base;
    int rc;

    if (s->rd_started)
        return 0;
    rc = pthread_create(&s->rd_thread, NULL, reader_main, s);
    if (rc != 0) {
        sh_store_log(&s->prm, SH_STORE_LOG_ERROR, "redis: cannot start the reader thread: %s",
                     strerror(rc));
        return -rc;
    }
    s->rd_started = 1;
    return 0;
}

static const sh_store_ops_t rd_ops = {
    "redis",  rd_publish, rd_replay,  rd_expire, rd_count,
    rd_close, rd_free,    rd_healthy, rd_start,  rd_metrics,
};

int sh_store_new_redis(const char *uri, const sh_store_params_t *prm, sh_store_t **out, char *err,
                       size_t errlen)
{
    rd_store_t *s;
    redisContext *c;
    char why[256];
    int rc;

    *out = NULL;
    s = sh_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return SSEHUB_ENOMEM;
    }
    s->base.ops = &rd_ops;
    s->prm = *prm;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->progress, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    memcpy(s->last_sid, "0-0", 4);
    rc = sh_redis_url_parse(uri, &s->url, why, sizeof(why));
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", uri, why);
        goto err_free;
    }
    snprintf(s->k_log, sizeof(s->k_log), "%s:log", s->url.prefix);
    snprintf(s->k_seq, sizeof(s->k_seq), "%s:seq", s->url.prefix);
    snprintf(s->k_ids, sizeof(s->k_ids), "%s:ids", s->url.prefix);
    snprintf(s->k_nodes, sizeof(s->k_nodes), "%s:nodes", s->url.prefix);
    rc = sh_history_new(&prm->history, 0, &s->history);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        goto err_free;
    }
    c = connect_primary(s, why, sizeof(why));
    if (c == NULL) {
        snprintf(err, errlen, "redis: %s", why);
        rc = SSEHUB_EINVAL;
        goto err_free;
    }
    rc = load(s, c, why, sizeof(why));
    redisFree(c);
    if (rc != 0) {
        snprintf(err, errlen, "redis: %s", why);
        rc = SSEHUB_EINVAL;
        goto err_free;
    }
    s->reader_up = 1; /* it was just read; the reader starts with sh_store_start() */
    rc = pthread_create(&s->pub_thread, NULL, publisher_main, s);
    if (rc == 0)
        s->pub_started = 1;
    if (rc != 0) {
        snprintf(err, errlen, "redis: cannot start a thread: %s", strerror(rc));
        rc = -rc;
        goto err_free;
    }
    sh_store_log(&s->prm, SH_STORE_LOG_INFO, "redis: %s%s, stream %s (maxlen %llu)%s%s",
                 s->url.sentinel ? "sentinel master " : "",
                 s->url.sentinel ? s->url.master : s->url.addrs[0].host, s->k_log,
                 (unsigned long long)s->url.maxlen,
                 s->url.replicas > 0 ? ", WAIT for replicas" : "",
                 s->url.durability_aof ? ", durability=aof" : "");
    *out = &s->base;
    return 0;

err_free:
    rd_free(&s->base);
    return rc;
}
