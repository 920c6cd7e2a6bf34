/* SPDX-License-Identifier: MIT */
/*
 * Event streams: GET /.well-known/mercure?topic=... Registers the subscription on this
 * loop, sends the headers, a ':' comment, the optional retry and the replay at once,
 * then live events as they are handed over by the store (drain), heartbeats, and the
 * write-timeout and max-lifetime limits (tick).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/str.h"
#include "proto/form.h"
#include "proto/mercure.h"
#include "server/log.h"
#include "server/server.h"
#include "ssehub/errno.h"

static void stream_end(sh_conn_t *c, int reason);

/* Queues the response head, ':' comment and retry: one frame. */
static int queue_stream_head(sh_conn_t *c, const sh_replay_t *rp, int v07)
{
    const sh_config_t *cfg = c->w->srv->cfg;
    sh_buf_t b;
    int rc;

    sh_buf_init(&b, 64 * 1024);
    sh_buf_append_str(&b, "HTTP/1.1 200 OK\r\n"
                          "Content-Type: text/event-stream\r\n"
                          "Cache-Control: no-cache\r\n"
                          "X-Accel-Buffering: no\r\n" SH_LINK_HEADER "Connection: close\r\n"
                          "" SH_MERCURE_LAST_ID_HEADER ": ");
    sh_buf_append(&b, rp->last_event_id, rp->last_event_id_len);
    sh_buf_append_str(&b, "\r\n");
    if (v07) { /* draft-07 clients read this one */
        sh_buf_append_str(&b, "Last-Event-ID: ");
        sh_buf_append(&b, rp->last_event_id, rp->last_event_id_len);
        sh_buf_append_str(&b, "\r\n");
    }
    sh_cors_headers(c, &b);
    sh_buf_append_str(&b, "\r\n:\n");
    if (cfg->retry_ms >= 0) {
        char num[24];

        sh_buf_append_str(&b, "retry: ");
        sh_buf_append(&b, num, sh_fmt_u64(num, (uint64_t)cfg->retry_ms));
        sh_buf_append_str(&b, "\n");
    }
    rc = sh_buf_append_str(&b, "\n");
    if (rc == 0)
        rc = sh_conn_queue_copy(c, b.base, b.len, NULL, 0);
    sh_buf_dispose(&b);
    return rc;
}

/* A subscription's selectors and resumption point, read from its query. */
typedef struct subq_s {
    sh_str_t *sel;        /* decoded selectors (into |decoded|) */
    unsigned char *kinds; /* their kinds (sh_sel_kind_t) */
    size_t n;             /* how many */
    const char *last_id;  /* NULL: none */
    size_t last_id_len;
    int v07, v08; /* draft-07 / draft-08 parameters were used */
    char *decoded;
} subq_t;

/*
 * Reads the Mercure parameters of |query| (sh_mercure_query_param says which is which):
 * selectors of both drafts with their kinds, and the last event id (draft-08's
 * last_event_id, draft-07's lastEventID; the Last-Event-ID header wins over both).
 * Returns NULL, or the reason for a 400 (|status| set) or 500.
 */
static const char *read_query(sh_conn_t *c, const char *query, size_t query_len, size_t max,
                              subq_t *q, int *status, char *buf, size_t buflen)
{
    sh_form_iter_t it;
    const char *name, *value, *why;
    size_t name_len, value_len, n;
    char *dp;

    *status = 400;
    q->decoded = sh_malloc(query_len + 1);
    q->sel = sh_calloc(max + 1, sizeof(*q->sel));
    q->kinds = sh_calloc(max + 1, 1);
    if (q->decoded == NULL || q->sel == NULL || q->kinds == NULL) {
        *status = 500;
        return "out of memory";
    }
    dp = q->decoded;
    sh_form_iter_init(&it, query, query_len);
    while (sh_form_next(&it, &name, &name_len, &value, &value_len)) {
        /* The name is decoded where the value goes next (both fit: decoding never grows). */
        sh_mercure_qparam_t kind = sh_mercure_query_param(dp, sh_form_decode(name, name_len, dp));

        switch (kind) {
        case SH_MQ_MATCH_UNKNOWN:
            snprintf(buf, buflen,
                     "unknown selector parameter '%.*s': use match, matchExact or "
                     "matchURLPattern (or topic)",
                     (int)(name_len > 40 ? 40 : name_len), name);
            return buf;
        case SH_MQ_TOPIC:
        case SH_MQ_MATCH_EXACT:
        case SH_MQ_MATCH_URLPATTERN:
            n = sh_form_decode(value, value_len, dp);
            why = sh_mercure_check_selector(dp, n);
            if (why != NULL)
                return why;
            if (q->n == max) {
                snprintf(buf, buflen, "too many topics (limit %zu, --max-topics)", max);
                return buf;
            }
            q->sel[q->n].ptr = dp;
            q->sel[q->n].len = n;
            q->kinds[q->n] = kind == SH_MQ_TOPIC         ? SH_SEL_TOPIC
                             : kind == SH_MQ_MATCH_EXACT ? SH_SEL_EXACT
                                                         : SH_SEL_URLPATTERN;
            q->n++;
            if (kind == SH_MQ_TOPIC)
                q->v07 = 1;
            else
                q->v08 = 1;
            dp += n;
            break;
        case SH_MQ_LAST_ID_07:
        case SH_MQ_LAST_ID_08:
            n = sh_form_decode(value, value_len, dp);
            /* Both given: draft-08's wins (a client sending both knows both). */
            if (q->last_id == NULL || kind == SH_MQ_LAST_ID_08) {
                q->last_id = dp;
                q->last_id_len = n;
            }
            if (kind == SH_MQ_LAST_ID_07)
                q->v07 = 1;
            else
                q->v08 = 1;
            dp += n;
            break;
        default:
            break;
        }
    }
    if (c->req->has_last_event_id && c->req->last_event_id.len > 0) {
        /* The header wins: on reconnection the browser sends it with the original URL. */
        q->last_id = c->req->last_event_id.base;
        q->last_id_len = c->req->last_event_id.len;
    }
    if (q->last_id != NULL && q->last_id_len == 0)
        q->last_id = NULL;
    if (q->last_id != NULL && (why = sh_mercure_check_last_id(q->last_id, q->last_id_len)))
        return why;
    if (q->n == 0)
        return "missing selector: subscribe with ?match=TOPIC (Mercure 1.0) or ?topic=TOPIC "
               "(or * for all)";
    return NULL;
}

void sh_stream_subscribe(sh_conn_t *c, const char *query, size_t query_len)
{
    sh_worker_t *w = c->w;
    const sh_config_t *cfg = w->srv->cfg;
    subq_t q;
    sh_replay_t rp;
    const char *why;
    char reason[160];
    size_t i;
    int rc, status;

    memset(&rp, 0, sizeof(rp));
    memset(&q, 0, sizeof(q));
    why = read_query(c, query, query_len, (size_t)cfg->max_topics, &q, &status, reason,
                     sizeof(reason));
    if (why != NULL) {
        sh_conn_error(c, status, why, 0);
        goto out;
    }
    if (sh_authz_subscribe(c, query, query_len) != 0)
        goto out; /* authz.c sent the 401 */
    {
        char base[2048];
        size_t blen = sh_authz_resource(c, base, sizeof(base));

        rc = sh_selectors_init_base(&c->sub.sel, q.sel, q.kinds, q.n, base, blen, &why);
    }
    if (rc != 0) {
        sh_conn_error(c, rc == SSEHUB_ENOMEM ? 500 : 400,
                      rc == SSEHUB_ENOMEM ? "out of memory"
                      : why != NULL       ? why
                                          : "empty topic",
                      0);
        goto out;
    }
    if (c->claims != NULL && c->claims->has_subscribe)
        c->sub.sel.allow = &c->claims->subscribe; /* private updates: replayed and live */
    rc = sh_store_replay(w->srv->store, &c->sub.sel, q.last_id, q.last_id_len, sh_wall_ms(), &rp);
    if (rc == 0)
        rc = queue_stream_head(c, &rp, q.v07 || !q.v08);
    for (i = 0; rc == 0 && i < rp.n; i++)
        rc = sh_conn_queue(c, rp.events[i]->wire, 0);
    if (rc == 0) {
        c->sub.last_seq = rp.snapshot_seq;
        c->sub.data = c;
        rc = sh_subs_add(&w->subs, &c->sub);
    }
    if (rc != 0) {
        sh_selectors_dispose(&c->sub.sel);
        sh_conn_close(c, SH_DISC_ERROR);
        goto out;
    }
    c->state = SH_CONN_STREAM;
    sh_authz_stream_started(c);
    sh_presence_stream_started(c);
    c->stream_start = sh_server_now(w);
    c->last_write = c->stream_start;
    sh_list_push_back(&w->streams_age, &c->aq);
    sh_list_push_back(&w->streams_hb, &c->tq);
    atomic_fetch_add_explicit(&w->metrics.subscribers, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->metrics.subscriptions_total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->metrics.deliveries_total, rp.n, memory_order_relaxed);
    if (sh_access_log_enabled())
        sh_access_log(c->peer, "GET", c->req->url.base, c->req->url.len, 200, 0);
    /* The request state goes back once the parser returns (http.c, feed). */
    sh_conn_flush(c);
out:
    if (c->state != SH_CONN_STREAM)
        sh_authz_stream_closed(c); /* refused: the token's claims go */
    sh_replay_dispose(&rp);
    sh_free(q.sel);
    sh_free(q.kinds);
    sh_free(q.decoded);
}

void sh_stream_closed(sh_conn_t *c)
{
    sh_worker_t *w = c->w;

    sh_subs_remove(&w->subs, &c->sub);
    sh_presence_stream_closed(c); /* before the selectors and claims it points into go */
    sh_selectors_dispose(&c->sub.sel);
    sh_authz_stream_closed(c);
    atomic_fetch_sub_explicit(&w->metrics.subscribers, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->metrics.disconnects[c->reason], 1, memory_order_relaxed);
    sh_log_debug("%s: stream closed (reason %d)", c->peer, c->reason);
}

/* Ends a stream after what is queued has been written (the client then reconnects). */
static void stream_end(sh_conn_t *c, int reason)
{
    c->reason = reason;
    sh_stream_closed(c);
    c->state = SH_CONN_CLOSING;
    sh_list_remove(&c->tq);
    sh_list_remove(&c->aq);
    sh_conn_flush(c);
}

typedef struct delivery_s {
    size_t delivered;
    size_t conflated;
    int conflate; /* --slow conflate */
} delivery_t;

/* Past the send-buffer cap: --slow conflate keeps the newest queued event of each topic;
 * disconnect (the default) drops the subscriber, who reconnects and catches up. */
static int over_cap(sh_conn_t *c, sh_event_t *ev, delivery_t *d)
{
    int rc;

    if (d->conflate) {
        size_t busy = c->writing ? c->wbytes : 0;

        rc = sh_conn_queue_tagged(c, ev->wire, SH_SENDQ_COUNTED | SH_SENDQ_FORCE, ev->topic_hash);
        if (rc != 0)
            return rc;
        d->conflated += sh_sendq_conflate(&c->out, busy);
        /* Still over: the newest event of each topic alone is more than the cap. The write
         * in flight is not counted: conflation cannot drop it, and it was queued under the
         * cap already (it may hold a whole cap's worth when a flush found the socket full). */
        return c->out.counted > c->out.limit + busy && c->out.n > 1 ? SSEHUB_ENOBUFS : 0;
    }
    /* A frame larger than the whole cap is let through when nothing at all is waiting;
     * it counts, so nothing more is queued until the subscriber has taken it. */
    if (c->out.n == 0)
        return sh_conn_queue_tagged(c, ev->wire, SH_SENDQ_COUNTED | SH_SENDQ_FORCE, ev->topic_hash);
    return SSEHUB_ENOBUFS;
}

static void deliver(sh_sub_t *sub, sh_event_t *ev, void *user)
{
    sh_conn_t *c = sub->data;
    delivery_t *d = user;
    int rc = sh_conn_queue_tagged(c, ev->wire, SH_SENDQ_COUNTED, ev->topic_hash);

    if (rc == SSEHUB_ENOBUFS) {
        /* The cap is for what the subscriber cannot take, not for what arrived at once:
         * write what is queued, then try again. */
        sh_conn_flush(c);
        if (c->closing)
            return;
        rc = sh_conn_queue_tagged(c, ev->wire, SH_SENDQ_COUNTED, ev->topic_hash);
        if (rc == SSEHUB_ENOBUFS)
            rc = over_cap(c, ev, d);
    }
    if (rc == 0) {
        d->delivered++;
        return;
    }
    sh_log_debug("%s: send buffer full, dropping the subscriber", c->peer);
    sh_conn_close(c, rc == SSEHUB_ENOBUFS ? SH_DISC_SLOW : SH_DISC_ERROR);
}

#define SH_FLUSH_SLICE 256

static void on_flush_idle(uv_idle_t *h)
{
    if (!sh_worker_drain_own(h->data)) /* a drain flushes the next slice itself */
        sh_worker_flush_dirty(h->data);
}

void sh_worker_idle_start(sh_worker_t *w)
{
    uv_idle_start(&w->flush_idle, on_flush_idle);
}

void sh_worker_drain_inbox(sh_worker_t *w)
{
    size_t head = atomic_load_explicit(&w->inbox.head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&w->inbox.tail, memory_order_acquire);
    delivery_t d = {0, 0, w->srv->cfg->slow_conflate};

    while (head != tail) {
        for (; head != tail; head++) {
            sh_event_t *ev = w->inbox.slots[head & (SH_INBOX_CAP - 1)];

            sh_subs_dispatch(&w->subs, ev, deliver, &d);
            sh_event_unref(ev);
        }
        atomic_store_explicit(&w->inbox.head, head, memory_order_release);
        tail = atomic_load_explicit(&w->inbox.tail, memory_order_acquire);
    }
    atomic_fetch_add_explicit(&w->metrics.deliveries_total, d.delivered, memory_order_relaxed);
    if (d.conflated > 0)
        atomic_fetch_add_explicit(&w->metrics.conflated_total, d.conflated, memory_order_relaxed);
    sh_worker_flush_dirty(w);
}

/*
 * Writes the dirty connections in slices of SH_FLUSH_SLICE, oldest first, with one turn
 * of the loop (a poll for I/O) between slices: publishes keep being read and answered
 * while a large fan-out is written, and the events they bring join the frames of the
 * connections not yet written, so each writev carries every frame queued since that
 * connection's last one. The idle handle makes the loop poll without blocking while
 * connections are waiting.
 */
void sh_worker_flush_dirty(sh_worker_t *w)
{
    size_t k;
    sh_list_t *n;

    for (k = 0; k < SH_FLUSH_SLICE && (n = sh_list_first(&w->dirty)) != NULL; k++)
        sh_conn_flush(sh_container_of(n, sh_conn_t, dq));
    if (sh_list_first(&w->dirty) == NULL || w->stopping)
        uv_idle_stop(&w->flush_idle);
    else if (!uv_is_active((uv_handle_t *)&w->flush_idle))
        uv_idle_start(&w->flush_idle, on_flush_idle);
}

void sh_worker_tick_streams(sh_worker_t *w, uint64_t now)
{
    const sh_config_t *cfg = w->srv->cfg;
    uint64_t write_timeout = (uint64_t)cfg->write_timeout_ms;
    uint64_t lifetime = (uint64_t)cfg->max_lifetime_ms;
    uint64_t hb = (uint64_t)cfg->heartbeat_ms;
    sh_list_t *n;

    while ((n = sh_list_first(&w->stalled)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, sq);

        if (c->stall_start + write_timeout > now)
            break;
        sh_log_debug("%s: write timeout", c->peer);
        sh_conn_close(c, SH_DISC_WRITE_TIMEOUT);
    }
    while (lifetime > 0 && (n = sh_list_first(&w->streams_age)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, aq);

        if (c->stream_start + lifetime > now)
            break;
        stream_end(c, SH_DISC_LIFETIME);
    }
    while (hb > 0 && (n = sh_list_first(&w->streams_hb)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, tq);

        if (c->last_write + hb > now)
            break;
        c->last_write = now;
        sh_list_push_back(&w->streams_hb, &c->tq);
        if (!c->writing && sh_sendq_empty(&c->out) && sh_conn_queue(c, w->srv->heartbeat, 0) == 0)
            sh_conn_flush(c);
    }
}

void sh_worker_close_streams(sh_worker_t *w)
{
    sh_list_t *n;

    while ((n = sh_list_first(&w->conns)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, all);

        if (!c->writing && !c->closing)
            sh_conn_flush(c); /* one last try for what is queued */
        sh_conn_close(c, SH_DISC_SHUTDOWN);
    }
}
