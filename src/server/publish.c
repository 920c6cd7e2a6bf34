/* SPDX-License-Identifier: MIT */
/*
 * POST /.well-known/mercure: decode, commit to the store, answer with the event's id.
 * The store decides each publish asynchronously (the LMDB store answers after its group
 * commit, from its committer thread): the outcome comes back to the publisher's loop
 * through the worker's queue of completed publishes and its uv_async, and the connection
 * reads no further request until the answer is queued (responses stay in order).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "proto/mercure.h"
#include "server/log.h"
#include "server/pubreq.h"
#include "server/server.h"
#include "ssehub/errno.h"

enum { PUB_CALLING = 0, PUB_RETURNED, PUB_DONE };

/* One publish in flight: the store's request, the decoded body it points into, and the
 * connection to answer (NULL once that closed; only the worker's loop touches it). */
typedef struct pub_s {
    sh_store_pub_t sp;
    sh_pubreq_t r;
    sh_conn_t *conn; /* NULL once detached */
    sh_worker_t *w;
    atomic_int state;     /* PUB_*: who finishes it, the caller or the worker's queue */
    int decided;          /* the outcome is known on the loop (loop thread only) */
    struct pub_s *qnext;  /* the worker's queue of completed publishes */
    struct pub_s *cnext;  /* the connection's FIFO of publishes to answer */
    ssehub_rcbuf_t *held; /* not a publish: another answer, held to keep the order */
    char *target;         /* the request target, for the access log (when it is on) */
    size_t target_len;
} pub_t;

static void pub_free(pub_t *p)
{
    if (p->sp.status == 0 && p->sp.ev != NULL)
        atomic_fetch_add_explicit(p->sp.duplicate ? &p->w->metrics.publish_duplicates_total
                                                  : &p->w->metrics.publishes_total,
                                  1, memory_order_relaxed);
    sh_event_unref(p->sp.ev);
    sh_pubreq_dispose(&p->r);
    if (p->held != NULL)
        ssehub_rcbuf_unref(p->held);
    sh_free(p->target);
    sh_free(p);
}

/* A publish's error answer. Not sh_conn_error(): that one flushes, and a flush may resume
 * the input and parse more requests while this answer is being made (with pub_answer
 * set, their answers would skip the queue), and it marks the request being read (a later
 * one) as answered. The caller flushes (on_pub_async through sh_conn_publish_done, or
 * the parser's feed). */
static size_t answer_error(sh_conn_t *c, int status, const char *reason)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "%s\n", reason != NULL ? reason : "error");

    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    sh_log_debug("%s: %d %s", c->peer, status, reason != NULL ? reason : "error");
    /* 503 is a store that cannot take it now (Redis unreachable, overloaded): say when to
     * try again. */
    sh_conn_respond(c, status, "text/plain; charset=utf-8",
                    status == 503 ? "Retry-After: 1\r\n" : NULL, body, (size_t)n);
    return (size_t)n;
}

/* Answers, in order, the decided publishes at the head of the connection's FIFO. Answers
 * can re-enter (a flush resumes the input, which may publish and answer): the head is
 * read afresh each time. */
static void answer_ready(sh_conn_t *c)
{
    pub_t *p;
    int ka;

    while (!c->closing && (p = c->pub_head) != NULL && p->decided) {
        c->pub_head = p->cnext;
        if (c->pub_head == NULL)
            c->pub_tail = NULL;
        c->npub--;
        c->pub_answer = 1;
        /* An answer with another behind it (a publish, or a refusal held behind this
         * one) does not say Connection: close: the connection is closed after the last. */
        ka = c->keep_alive;
        if (c->pub_head != NULL)
            c->keep_alive = 1;
        if (p->held != NULL) {
            if (sh_conn_queue(c, p->held, 0) != 0)
                sh_conn_close(c, SH_DISC_ERROR);
        } else {
            size_t bytes = p->sp.ev != NULL ? p->sp.ev->id.len : 0;

            if (p->sp.status == 0 && p->sp.duplicate)
                sh_log_debug("%s: publish of id %s is a retry of a committed one: answered "
                             "with its id, nothing published again",
                             c->peer, p->sp.ev->id.ptr);
            if (p->sp.status == 0)
                sh_conn_respond(c, 200, "text/plain; charset=utf-8", NULL, p->sp.ev->id.ptr,
                                p->sp.ev->id.len);
            else
                bytes = answer_error(c, p->sp.status, p->sp.reason);
            /* Logged here, not by sh_conn_respond: the parser may be on a later request. */
            if (p->target != NULL)
                sh_access_log(c->peer, "POST", p->target, p->target_len,
                              p->sp.status == 0 ? 200 : p->sp.status, (unsigned long long)bytes);
        }
        c->keep_alive = ka;
        c->pub_answer = 0;
        pub_free(p);
    }
}

/* The store decided (any thread): within sh_store_publish() the caller finishes it;
 * later, it goes to the worker's queue. */
static void on_store_done(sh_store_pub_t *sp)
{
    pub_t *p = sp->data;
    sh_pub_queue_t *q = &p->w->pubq;
    int expected = PUB_CALLING;

    if (atomic_compare_exchange_strong(&p->state, &expected, PUB_DONE))
        return;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL)
        ((pub_t *)q->tail)->qnext = p;
    else
        q->head = p;
    q->tail = p;
    if (!q->closed)
        uv_async_send(&q->async);
    pthread_mutex_unlock(&q->lock);
}

/* Takes the queue. */
static pub_t *take_done(sh_pub_queue_t *q)
{
    pub_t *list;

    pthread_mutex_lock(&q->lock);
    list = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    return list;
}

static void on_pub_async(uv_async_t *a)
{
    sh_worker_t *w = a->data;
    pub_t *p = take_done(&w->pubq), *next;

    for (; p != NULL; p = next) {
        sh_conn_t *c = p->conn;

        next = p->qnext;
        p->decided = 1;
        if (c == NULL) {
            pub_free(p);
            continue;
        }
        answer_ready(c);
        sh_conn_publish_done(c);
    }
}

int sh_publish_worker_init(sh_worker_t *w)
{
    sh_pub_queue_t *q = &w->pubq;
    int rc;

    q->head = q->tail = NULL;
    q->closed = 0;
    rc = pthread_mutex_init(&q->lock, NULL);
    if (rc != 0)
        return -rc;
    rc = uv_async_init(&w->loop, &q->async, on_pub_async);
    if (rc != 0) {
        pthread_mutex_destroy(&q->lock);
        return rc;
    }
    q->async.data = w;
    return 0;
}

void sh_publish_worker_stop(sh_worker_t *w, uv_close_cb cb)
{
    sh_pub_queue_t *q = &w->pubq;

    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_mutex_unlock(&q->lock);
    uv_close((uv_handle_t *)&q->async, cb);
}

void sh_publish_worker_dispose(sh_worker_t *w)
{
    pub_t *p = take_done(&w->pubq), *next;

    for (; p != NULL; p = next) {
        next = p->qnext;
        pub_free(p); /* every connection is gone: detached */
    }
    pthread_mutex_destroy(&w->pubq.lock);
}

int sh_publish_hold(sh_conn_t *c, ssehub_rcbuf_t *frame)
{
    pub_t *p = sh_calloc(1, sizeof(*p));

    if (p == NULL)
        return SSEHUB_ENOMEM;
    p->held = ssehub_rcbuf_ref(frame);
    p->conn = c;
    p->w = c->w;
    p->decided = 1;
    atomic_init(&p->state, PUB_DONE);
    ((pub_t *)c->pub_tail)->cnext = p; /* there is a publish before it */
    c->pub_tail = p;
    c->npub++;
    return 0;
}

void sh_publish_detach(sh_conn_t *c)
{
    pub_t *p = c->pub_head, *next;

    for (; p != NULL; p = next) {
        next = p->cnext;
        p->conn = NULL;
        if (p->decided) /* else the store still has it: on_pub_async frees it */
            pub_free(p);
    }
    c->pub_head = c->pub_tail = NULL;
    c->npub = 0;
}

/* The media type of a Content-Type value: up to ';', spaces trimmed. */
static int media_type_is(const sh_buf_t *ct, const char *want)
{
    const char *p = ct->base, *end, *semi;
    size_t n = strlen(want);

    if (ct->len == 0)
        return 0; /* and ct->base may be NULL: no pointer arithmetic on it */
    end = p + ct->len;
    semi = memchr(p, ';', ct->len);
    if (semi != NULL)
        end = semi;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return (size_t)(end - p) == n && strncasecmp(p, want, n) == 0;
}

/*
 * The stricter rules of a Mercure 1.0 publish (one authorized by an access token), beyond
 * those pubreq.c applies to both versions: no topic `*` or topic resolving into the hub's
 * namespace, no id starting with '#' or "earliest", no type "mercure". NULL or a reason.
 */
static const char *check_08(const sh_pubreq_t *r)
{
    size_t i;

    for (i = 0; i < r->ntopics; i++) {
        if (r->topics[i].len == 1 && r->topics[i].ptr[0] == '*')
            return "topic \"*\" is not a topic (it selects every topic)";
        if (sh_mercure_topic_reserved(SH_MERCURE_08, r->topics[i].ptr, r->topics[i].len))
            return "topic resolves into /.well-known/mercure, the hub's own namespace";
    }
    return sh_mercure_check_publish_08(r->id.ptr, r->id.len, r->type.ptr, r->type.len);
}

void sh_publish_handle(sh_conn_t *c)
{
    sh_worker_t *w = c->w;
    sh_pubreq_kind_t kind;
    sh_pubreq_t r;
    sh_event_init_t *init;
    pub_t *p;
    const char *reason = NULL;
    int status, expected, version;

    if (media_type_is(&c->req->ctype, "application/x-www-form-urlencoded")) {
        kind = SH_PUBREQ_FORM;
    } else if (media_type_is(&c->req->ctype, "application/json")) {
        kind = SH_PUBREQ_JSON;
    } else {
        sh_conn_error(c, 415,
                      c->req->ctype.len == 0
                          ? "missing Content-Type: use application/x-www-form-urlencoded or "
                            "application/json"
                          : "unsupported media type: use application/x-www-form-urlencoded or "
                            "application/json",
                      0);
        return;
    }
    memset(&r, 0, sizeof(r));
    status = sh_pubreq_parse(&r, kind, c->req->body.base ? c->req->body.base : "", c->req->body.len,
                             (size_t)w->srv->cfg->max_topics, &reason);
    if (status != 0) {
        sh_conn_error(c, status, reason, 0);
        sh_pubreq_dispose(&r);
        return;
    }
    if (!sh_authz_publish(c, r.topics, r.ntopics, &version)) { /* authz.c sent the 401/403 */
        sh_pubreq_dispose(&r);
        return;
    }
    if (version == SH_MERCURE_08 && (reason = check_08(&r)) != NULL) {
        sh_conn_error(c, 400, reason, 0);
        sh_pubreq_dispose(&r);
        return;
    }
    p = sh_calloc(1, sizeof(*p));
    if (p == NULL) {
        sh_pubreq_dispose(&r);
        sh_conn_error(c, 500, "out of memory", 0);
        return;
    }
    if (sh_access_log_enabled() && c->req->url.len > 0) {
        p->target = sh_malloc(c->req->url.len);
        if (p->target != NULL) {
            memcpy(p->target, c->req->url.base, c->req->url.len);
            p->target_len = c->req->url.len;
        }
    }
    p->r = r; /* the request now owns the decoded body */
    p->conn = c;
    p->w = w;
    atomic_init(&p->state, PUB_CALLING);
    init = &p->sp.init;
    init->topics = p->r.topics;
    init->ntopics = p->r.ntopics;
    init->id = p->r.id;
    init->type = p->r.type;
    init->data = p->r.data;
    init->retry = p->r.retry;
    init->has_retry = p->r.has_retry;
    init->is_private = p->r.is_private;
    p->sp.now_ms = sh_wall_ms();
    p->sp.done = on_store_done;
    p->sp.data = p;
    if (c->pub_tail != NULL)
        ((pub_t *)c->pub_tail)->cnext = p;
    else
        c->pub_head = p;
    c->pub_tail = p;
    c->npub++;
    sh_store_publish(w->srv->store, &p->sp);
    expected = PUB_CALLING;
    if (atomic_compare_exchange_strong(&p->state, &expected, PUB_RETURNED))
        return; /* decided later: on_pub_async answers it */
    p->decided = 1;
    answer_ready(c);
}
