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
#include "server/reqsyntax.h"
#include "store/store.h"

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
    atomic_ullong rejected_total;      /* 503 at accept: too many connections, or no descriptor */
    atomic_ullong accept_emfile_total; /* accept() failed: EMFILE or ENFILE */
    atomic_ullong disconnects[SH_DISC_COUNT];

    /* publishes answered with the id of the same update committed before (retries) */
    atomic_ullong publish_duplicates_total;
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

/* What a connection may do: the kind of slot it holds (fdlimit.c counts them). */
enum sh_conn_slot {
    SH_SLOT_NORMAL = 0, /* within --max-connections */
    SH_SLOT_HEALTH,     /* one of the few past it: /healthz and /metrics only, then close */
    SH_SLOT_METRICS     /* accepted on --metrics-listen: /healthz and /metrics only */
};

/* A listening socket, watched with uv_poll: worker.c accepts itself (accept4), so that it
 * decides what happens when descriptors run out (libuv's uv_listen would spin). */
typedef struct sh_listener_s {
    uv_poll_t poll;
    int fd;
    int slot; /* SH_SLOT_NORMAL, or SH_SLOT_METRICS on --metrics-listen */
    sh_worker_t *w;
} sh_listener_t;

struct sh_worker_s {
    sh_server_t *srv;
    unsigned index;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t inbox_async;   /* events arrived */
    uv_async_t stop_async;    /* shut down */
    uv_timer_t tick;          /* timeouts and heartbeats */
    uv_idle_t flush_idle;     /* active while dirty connections wait for the next slice */
    uv_check_t inbox_check;   /* after each poll: events this loop's own publishes handed */
    sh_listener_t *listeners; /* --listen addresses, then --metrics-listen (worker 0) */
    size_t nlisteners;
    int reserve_fd;          /* /dev/null, closed to accept when out of descriptors */
    uv_tcp_t emfile_probe;   /* closed at once: makes libuv open its spare descriptor */
    int accept_paused;       /* listeners stopped for a moment (accept failed) */
    uv_timer_t accept_timer; /* restarts them */
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

    /* Stopping with --subscriptions, phase 1 (see sh_server_stop; |stopping| is phase 2). */
    int draining;            /* the leaves of this loop's streams are being announced */
    int leaving;             /* more of them to announce at the next tick */
    uint64_t drain_deadline; /* loop ms when phase 2 starts anyway */
};

struct sh_server_s {
    sh_config_t *cfg;
    sh_store_t *store;
    const char *node_id; /* this process's id in a shared store (Redis), or NULL */
    sh_worker_t *workers;
    unsigned nworkers;
    /* Connections by slot, all workers (fdlimit.c): the limits are global and exact. */
    atomic_ullong connections;   /* SH_SLOT_NORMAL: at most max_connections */
    atomic_ullong health_conns;  /* SH_SLOT_HEALTH: at most SH_HEALTH_SLOTS */
    atomic_ullong metrics_conns; /* SH_SLOT_METRICS: at most SH_METRICS_SLOTS */
    uint64_t max_connections;    /* the effective limit: --max-connections, lowered to fit */
    uint64_t nofile;             /* the open-file limit (soft, after raising it) */
    uint64_t nofile_before;      /* the soft limit the process was started with */
    uint64_t nofile_hard;        /* the hard limit */
    /* Refused connections not yet logged (fdlimit.c: a line per second at most). */
    atomic_ullong refused_limit;  /* 503: the connection limit */
    atomic_ullong refused_emfile; /* 503 through the reserve descriptor, or closed */
    atomic_ullong accept_pauses;  /* accept failed even so: listeners paused */
    atomic_llong refused_logged_ms;
    ssehub_rcbuf_t *heartbeat;    /* ":\n\n", shared by every stream */
    sh_auth_key_t publisher_key;  /* --publisher-key (bytes NULL: loopback publishing only) */
    sh_auth_key_t subscriber_key; /* --subscriber-key (bytes NULL: anonymous subscribers) */
    sh_auth_issuer_t issuers[SH_CONFIG_MAX_ISSUERS]; /* --jwt-issuer: Mercure 1.0 tokens */
    size_t nissuers;
    int64_t started_ms;
    /* Stopping (sh_server_stop): 0 running, 1 the loops announce every stream's leave
     * (--subscriptions), 2 the loops close their streams and end. */
    atomic_uint stop_phase;
    /* In phase 1: loops that have not announced their leaves yet, plus presence updates
     * not yet decided by the store. Phase 2 starts when it reaches 0. */
    atomic_ullong stop_pending;
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
    sh_buf_t host;   /* Host, when valid (the resource of access tokens, authz.c) */
    sh_buf_t body;
    size_t header_bytes;
    int has_last_event_id;
    int has_authz;  /* an Authorization header was sent */
    int has_cookie; /* a Cookie header was sent */
    int has_host;   /* Host headers seen */
    int bad_host;   /* a Host value is not uri-host [":" port] */
    int has_te;     /* a Transfer-Encoding header was sent */
    sh_te_t te;     /* its codings */
    int expect_continue;
    int in_value;           /* the last header callback was a value */
    int too_large;          /* the headers passed --max-header */
    int rejected;           /* a response was already queued (e.g. 413) */
    int any_bytes;          /* something of this request was read */
    int method_wait;        /* llhttp refused the method: reading the line to tell 400/501 */
    int err_status;         /* a check refused the request: the status, */
    const char *err_reason; /* and the reason (static) */
    sh_frame_t frame;       /* RFC 9112 line framing, beside llhttp (reqsyntax.c) */
    const char *sc_pos;     /* where the framing scanner is in the bytes being parsed */
    const char *sc_end;     /* and their end */
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
    unsigned char slot;   /* enum sh_conn_slot */
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
/* Thread-safe: asks every worker to stop (idempotent). With --subscriptions the loops first
 * announce the leave of every active subscription through the store, deliver those updates
 * to their own streams, then close them. */
void sh_server_stop(sh_server_t *srv);
/* Phase 1 of a stop: one loop's leaves, or one presence update, is done. Thread-safe. */
void sh_server_stop_step_done(sh_server_t *srv);
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
/* A new connection on the accepted socket |fd| (owned from now on), holding |slot|. */
void sh_conn_accept(sh_worker_t *w, int fd, int slot);
/* Answers 503 (|reason|, one line) on the accepted socket |fd| at once and closes it,
 * without a connection object (what a past-the-limit client gets). */
void sh_conn_refuse(sh_worker_t *w, int fd, const char *reason);

/* fdlimit.c: the open-file limit and the connection slots. */
#define SH_HEALTH_SLOTS  4 /* connections past the limit that may ask for /healthz, /metrics */
#define SH_METRICS_SLOTS 8 /* connections on --metrics-listen */
/* Raises the soft open-file limit to the hard one (main, before the store opens). */
void sh_fd_raise_limit(sh_server_t *srv);
/* Once every descriptor but connections is open: counts them and sets max_connections
 * (logged). 0, or SSEHUB_EMFILE when the limit leaves no room. */
int sh_fd_plan(sh_server_t *srv);
/* Takes a slot of kind |slot| for a new connection: 1, or 0 when there is none. */
int sh_fd_take_slot(sh_server_t *srv, int slot);
void sh_fd_release_slot(sh_server_t *srv, int slot);
/* Counts a refused connection (|emfile|: for lack of a descriptor) for the log. */
void sh_fd_note_refused(sh_server_t *srv, int emfile);
void sh_fd_note_pause(sh_server_t *srv);
/* Logs the refusals since the last line, if any and a second has passed (or |force|:
 * at exit, what is left). */
void sh_fd_log_refusals(sh_server_t *srv, int force);
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
/* As sh_conn_error(), with more response headers (each ending in CRLF), or NULL. */
void sh_conn_error_h(sh_conn_t *c, int status, const char *reason, const char *extra_headers,
                     int close);
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
int sh_authz_publish(sh_conn_t *c, const sh_str_t *topics, size_t ntopics, int *version);
/* Whether tokens are checked at all for publishers / subscribers (a key or --jwt-issuer). */
int sh_authz_publishers_checked(const sh_server_t *srv);
int sh_authz_subscribers_checked(const sh_server_t *srv);
/* The hub's URL (the resource of access tokens, the base of URL patterns) into |buf|:
 * --resource, or http://HOST/.well-known/mercure. Its length, 0 when it does not fit. */
size_t sh_authz_resource(const sh_conn_t *c, char *buf, size_t size);
/* Answers GET /.well-known/oauth-protected-resource/.well-known/mercure (RFC 9728). */
void sh_authz_metadata(sh_conn_t *c);
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
/* Stopping: announces the leave of every subscription of |w|'s streams (once each), about
 * |max| at most; 1 if some are left for another call, else 0. */
int sh_presence_worker_leave(sh_worker_t *w, size_t max);
/* GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]] */
void sh_presence_handle(sh_conn_t *c, const char *path, size_t path_len);
/* Shared stores (sh_store_params_t): every committed event, to keep the other nodes'
 * active subscriptions; and a node gone, whose subscriptions' leaves it announces. Any
 * thread; |user| is the sh_server_t. */
void sh_presence_observe(void *user, const char *node, size_t node_len,
                         const sh_event_init_t *init);
void sh_presence_node_gone(void *user, const char *node);
/* Frees the other nodes' subscriptions (at exit). */
void sh_presence_dispose(void);

/* metrics.c */
void sh_metrics_handle(sh_conn_t *c);

#endif /* SH_SERVER_SERVER_H */
