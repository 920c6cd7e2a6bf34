/* SPDX-License-Identifier: MIT */
/*
 * The server: N workers, each a thread with its own libuv loop, its own listening
 * sockets on the shared ports (SO_REUSEPORT), its own connections and its own hub
 * registry (sh_subs). Published events reach every worker through a per-worker inbox;
 * the store's lock serialises the producers, so each inbox is a single-producer,
 * single-consumer ring (no lock on the delivery path).
 */
#ifndef SH_SERVER_SERVER_H
#define SH_SERVER_SERVER_H

#include <llhttp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "base/buf.h"
#include "base/list.h"
#include "hub/event.h"
#include "hub/sendq.h"
#include "hub/subs.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/store.h"

typedef struct sh_server_s sh_server_t;
typedef struct sh_worker_s sh_worker_t;
typedef struct sh_conn_s sh_conn_t;
typedef struct sh_presence_rec_s sh_presence_rec_t;

#define SH_SUB_ID_MAX 48 /* "urn:uuid:" and 36 characters, NUL */

enum sh_disconnect_reason {
    SH_DISC_CLIENT = 0, /* the client closed the stream */
    SH_DISC_SLOW,       /* the send buffer filled up */
    SH_DISC_WRITE_TIMEOUT,
    SH_DISC_LIFETIME, /* --max-lifetime */
    SH_DISC_SHUTDOWN,
    SH_DISC_ERROR,
    SH_DISC_COUNT
};

/* Counters of one worker; summed by /metrics. Written by the worker, read by any. */
typedef struct sh_metrics_s {
    atomic_ullong connections;         /* open TCP connections (gauge) */
    atomic_ullong subscribers;         /* open event streams (gauge) */
    atomic_ullong subscriptions_total; /* streams ever opened */
    atomic_ullong publishes_total;
    atomic_ullong deliveries_total; /* events queued to a subscriber (live and replayed) */
    atomic_ullong conflated_total;  /* queued events dropped by --slow conflate */
    atomic_ullong bytes_sent_total;
    atomic_ullong requests_total;
    atomic_ullong rejected_total; /* 503 at accept: too many connections */
    atomic_ullong disconnects[SH_DISC_COUNT];
} sh_metrics_t;

#define SH_INBOX_CAP 65536u

typedef struct sh_inbox_s {
    sh_event_t **slots;  /* SH_INBOX_CAP */
    _Atomic size_t head; /* consumer */
    _Atomic size_t tail; /* producer (the store's lock holder) */
} sh_inbox_t;

/* Publishes the store decided off the loop, waiting to be answered on it (publish.c). */
typedef struct sh_pub_queue_s {
    uv_async_t async;     /* wakes the loop */
    pthread_mutex_t lock; /* covers the fields below */
    void *head, *tail;    /* publish.c's requests, oldest first */
    int closed;           /* the loop is stopping: no more wake-ups */
} sh_pub_queue_t;

typedef struct sh_listener_s {
    uv_tcp_t tcp;
    sh_worker_t *w;
} sh_listener_t;

struct sh_worker_s {
    sh_server_t *srv;
    unsigned index;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t inbox_async; /* events arrived */
    uv_async_t stop_async;  /* shut down */
    uv_timer_t tick;        /* timeouts and heartbeats */
    uv_idle_t flush_idle;   /* active while dirty connections wait for the next slice */
    uv_check_t inbox_check; /* after each poll: events this loop's own publishes handed */
    sh_listener_t *listeners;
    size_t nlisteners;
    sh_inbox_t inbox;
    sh_pub_queue_t pubq; /* publishes decided by the store, to answer */
    sh_subs_t subs;
    char *readbuf; /* the loop-wide read buffer handed to every read */
    size_t readbuf_size;
    int readbuf_busy;
    sh_list_t conns;       /* every connection */
    sh_list_t reading;     /* waiting for a complete request: ordered by deadline */
    sh_list_t lingering;   /* final response sent, waiting for the peer's FIN: by deadline */
    sh_list_t streams_hb;  /* streams, ordered by last write (heartbeats) */
    sh_list_t streams_age; /* streams, ordered by start (max lifetime) */
    sh_list_t stalled;     /* connections with a write in flight: ordered by its start */
    sh_list_t dirty;       /* connections with frames queued since the last flush */
    sh_list_t streams_exp; /* streams with a token exp: ordered by it (authz.c) */
    int stopping;
    uint64_t last_expire; /* loop ms of the last history expiry (worker 0) */
    sh_metrics_t metrics;
};

struct sh_server_s {
    sh_config_t *cfg;
    sh_store_t *store;
    sh_worker_t *workers;
    unsigned nworkers;
    atomic_ullong connections;    /* all workers */
    ssehub_rcbuf_t *heartbeat;    /* ":\n\n", shared by every stream */
    sh_auth_key_t publisher_key;  /* --publisher-key (bytes NULL: loopback publishing only) */
    sh_auth_key_t subscriber_key; /* --subscriber-key (bytes NULL: anonymous subscribers) */
    int64_t started_ms;
};

enum sh_conn_state {
    SH_CONN_READING = 0, /* request line, headers, body */
    SH_CONN_STREAM,      /* an event stream: reads are ignored until EOF */
    SH_CONN_CLOSING      /* flushing, then closing; reads ignored */
};

/* The request state of a connection that reads requests: the parser, the headers
 * ssehub acts on, pipelined input. A stream gives it back (an idle subscriber holds
 * only its socket, its queue and its subscription). */
typedef struct sh_req_s {
    llhttp_t parser;
    sh_buf_t pending; /* unparsed pipelined input (at most one read) */
    sh_buf_t url;
    sh_buf_t hname; /* the header name being read */
    sh_buf_t ctype;
    sh_buf_t last_event_id;
    sh_buf_t origin;
    sh_buf_t authz;  /* Authorization */
    sh_buf_t cookie; /* Cookie (several headers joined with "; ") */
    sh_buf_t body;
    size_t header_bytes;
    int has_last_event_id;
    int has_authz;  /* an Authorization header was sent */
    int has_cookie; /* a Cookie header was sent */
    int has_host;   /* Host headers seen */
    int expect_continue;
    int in_value;  /* the last header callback was a value */
    int too_large; /* the headers passed --max-header */
    int rejected;  /* a response was already queued (e.g. 413) */
    int any_bytes; /* something of this request was read */
} sh_req_t;

struct sh_conn_s {
    uv_tcp_t tcp;
    sh_worker_t *w;
    /* One byte each (an idle stream is mostly this struct: see docs/benchmarks.md). */
    unsigned char state;
    unsigned char writing;     /* a uv_write is in flight */
    unsigned char closing;     /* uv_close called */
    unsigned char keep_alive;  /* after the current response */
    unsigned char is_loopback; /* the peer is on a loopback address */
    unsigned char paused;      /* reads stopped: too much output queued */
    unsigned char
        input_paused; /* the parser waits for the output to drain; the rest is in pending */
    unsigned char in_resume, resume_again;
    unsigned char reason; /* why it was closed (sh_disconnect_reason), for streams */
    char peer[56];        /* "addr:port", "[v6addr]:port": at most 54 bytes and NUL */
    sh_req_t *req;        /* reading requests; NULL once a stream */
    sh_sendq_t out;
    size_t wbytes;     /* bytes in the write in flight */
    uint64_t deadline; /* reading: header/body deadline (loop ms) */
    uint64_t last_write;
    uint64_t stream_start;
    uint64_t stall_start;
    sh_sub_t sub;
    sh_claims_t *claims;        /* a stream's verified token (authz.c), or NULL */
    int64_t token_exp;          /* its exp (wall ms), 0 for none */
    sh_list_t eq;               /* worker->streams_exp, when token_exp != 0 */
    char sub_id[SH_SUB_ID_MAX]; /* --subscriptions: the subscriber's urn:uuid: id */
    sh_presence_rec_t *precs;   /* --subscriptions: one record per selector (presence.c) */
    size_t nprecs;
    void *pub_head; /* publish.c: publishes to answer, in request order */
    void *pub_tail;
    unsigned npub;      /* how many */
    int pub_answer;     /* a publish's answer is being written */
    int route_deferred; /* a request waits, unrouted, for the publishes before it */
    int deferred_keep_alive;
    sh_list_t all; /* worker->conns */
    sh_list_t tq;  /* reading, lingering or streams_hb */
    sh_list_t aq;  /* streams_age */
    sh_list_t sq;  /* stalled */
    sh_list_t dq;  /* dirty */
};

/* worker.c */
/* The store's sink: hands committed events to every worker's inbox. */
const sh_store_sink_t *sh_server_sink(sh_server_t *srv, sh_store_sink_t *sink);
int sh_server_start(sh_server_t *srv);
void sh_server_stop(sh_server_t *srv); /* thread-safe: asks every worker to stop */
void sh_server_join(sh_server_t *srv);
uint64_t sh_server_now(sh_worker_t *w);
/* sh_server_start() and sh_server_join() without the threads, for a test driver that runs
 * the loops on its own thread (fuzz/fuzz_request.c): open_loops makes the loops and their
 * listening sockets; sh_worker_run() runs one loop (as uv_run(), with the worker's thread
 * identity, which the store's sink reads); close_loops, once every loop has ended after
 * sh_server_stop(), closes the store (without freeing it) and frees the loops. */
int sh_server_open_loops(sh_server_t *srv);
int sh_worker_run(sh_worker_t *w, uv_run_mode mode);
void sh_server_close_loops(sh_server_t *srv);

/* Mercure discovery (RFC 8288), on every response of the hub. */
#define SH_LINK_HEADER "Link: </.well-known/mercure>; rel=\"mercure\"\r\n"

/* http.c */
void sh_conn_accept(sh_worker_t *w, uv_stream_t *server);
void sh_conn_close(sh_conn_t *c, int reason);
/* Queues |buf| (a new reference); |counted| against --send-buffer. Returns 0 or an error. */
int sh_conn_queue(sh_conn_t *c, ssehub_rcbuf_t *buf, int counted);
/* As sh_conn_queue() with sh_sendq_push_tagged()'s flags and conflation tag. */
int sh_conn_queue_tagged(sh_conn_t *c, ssehub_rcbuf_t *buf, int flags, uint64_t tag);
/* Queues one new frame made of |head| then |body| (copied), uncounted. 0 or an error. */
int sh_conn_queue_copy(sh_conn_t *c, const char *head, size_t head_len, const char *body,
                       size_t body_len);
/* Writes what is queued (at once if the socket takes it). */
void sh_conn_flush(sh_conn_t *c);
/* Frees the request state (the connection became a stream and reads no more). */
void sh_conn_drop_request(sh_conn_t *c);
/* A one-line plain-text response; |close| ends the connection after it. */
void sh_conn_respond(sh_conn_t *c, int status, const char *content_type, const char *extra_headers,
                     const char *body, size_t body_len);
void sh_conn_error(sh_conn_t *c, int status, const char *reason, int close);
/* CORS response headers for the request's Origin into |b| (nothing when not allowed). */
void sh_cors_headers(sh_conn_t *c, sh_buf_t *b);

/* stream.c */
void sh_stream_subscribe(sh_conn_t *c, const char *query, size_t query_len);
void sh_stream_closed(sh_conn_t *c);
void sh_worker_drain_inbox(sh_worker_t *w);
/* Starts the idle handle: the loop polls without blocking, and the idle callback drains
 * this loop's inbox, then flushes the next slice of dirty connections. */
void sh_worker_idle_start(sh_worker_t *w);
/* Flushes the next slice of dirty connections; the rest wait for the loop's next turn. */
void sh_worker_flush_dirty(sh_worker_t *w);
void sh_worker_tick_streams(sh_worker_t *w, uint64_t now);
void sh_worker_close_streams(sh_worker_t *w);

/* Publishes a keep-alive connection may have waiting for the store. */
#define SH_PUB_PIPELINE 32
/* Some publishes of |c| were answered asynchronously: go on with its input (a request
 * that waited for them is routed now). publish.c calls it. */
void sh_conn_publish_done(sh_conn_t *c);
/* worker.c: drains the inbox if it holds events (those this loop's own publishes handed
 * need no wakeup: the check and idle handles call this). 1 if it did. */
int sh_worker_drain_own(sh_worker_t *w);

/* publish.c */
void sh_publish_handle(sh_conn_t *c);
/* The worker's queue of decided publishes: init with the loop; stop closes its handle
 * (with |cb|); dispose, after the store is closed, frees what is left. */
int sh_publish_worker_init(sh_worker_t *w);
void sh_publish_worker_stop(sh_worker_t *w, uv_close_cb cb);
void sh_publish_worker_dispose(sh_worker_t *w);
/* Queues |frame| (a new reference), an answer written while publishes of |c| wait
 * (c->npub > 0), behind them. Returns 0 or SSEHUB_ENOMEM. */
int sh_publish_hold(sh_conn_t *c, ssehub_rcbuf_t *frame);
/* The connection closes: its publish in flight, if any, will answer no one. */
void sh_publish_detach(sh_conn_t *c);

/* authz.c: Mercure authorization for the HTTP handlers. */
/* Logs at start what publishing and subscribing require. */
void sh_authz_log_policy(const sh_server_t *srv);
/* Whether |c| may publish an update to |topics|; if not, the error is sent (returns 0). */
int sh_authz_publish(sh_conn_t *c, const sh_str_t *topics, size_t ntopics);
/* Authorizes a subscription: sets c->claims / c->sub.sel.allow; 0, or -1 after an error. */
int sh_authz_subscribe(sh_conn_t *c, const char *query, size_t query_len);
/* The stream is registered: private-update rights and the exp order. */
void sh_authz_stream_started(sh_conn_t *c);
/* Closes the streams whose token expired (wall clock |now_ms|). */
void sh_authz_expire_streams(sh_worker_t *w, int64_t now_ms);
/* Frees a stream's claims and unlinks it from streams_exp. */
void sh_authz_stream_closed(sh_conn_t *c);

/* presence.c (--subscriptions): records and announces a stream's subscriptions. */
void sh_presence_stream_started(sh_conn_t *c);
void sh_presence_stream_closed(sh_conn_t *c);
/* GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]] */
void sh_presence_handle(sh_conn_t *c, const char *path, size_t path_len);

/* metrics.c */
void sh_metrics_handle(sh_conn_t *c);

#endif /* SH_SERVER_SERVER_H */
