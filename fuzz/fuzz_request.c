/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the server's request path: the bytes of a few client connections go
 * through the real listener, accept, HTTP/1.1 connection code (llhttp, pipelining,
 * backpressure), routes, streams, publishing, presence and the memory store of one worker,
 * over loopback TCP. The worker's loop runs on this thread (sh_server_open_loops() and
 * sh_worker_run(), the same code sh_server_start() runs on a thread), so a run is a fixed
 * sequence of steps: nothing depends on a scheduler, and the timeouts are far longer than
 * any run.
 *
 * Each input gets a server of its own (loop, listening socket, store), torn down at the
 * end, so inputs are independent. Input layout:
 *
 *   byte 0  bits 0-1  configuration (the variants table below)
 *           bit 2     the clients read only once everything is sent (backpressure)
 *           bit 3     small socket buffers: the clients' receive buffers and the hub's send
 *                     buffers are 4 KiB
 *           bits 4-5  the ending: 0 read all, half-close, read until the hub closes;
 *                     1 close (unread answers make it a reset); 2 reset; 3 stop the hub
 *                     with the connections open
 *           bit 6     the first connection leaves once its bytes are in (when others remain):
 *                     it half-closes right after its last byte, and resets after a settle
 *   byte 1  bits 0-2  the largest chunk written at once: 1, 2, 3, 8, 32, 128, 1024 or all
 *           bit 3     every chunk is that size (else random sizes up to it, from the hash);
 *                     the size grows when a connection would need more than MAX_WRITES
 *   rest    the bytes the clients send, one connection per part separated by "\n@@\n" (at
 *           most MAX_CONNS; the rest stays in the last). Chunks of the connections are
 *           written in turn, and the loop runs until nothing moves after each one.
 *
 * Checks, besides ASan/UBSan and LeakSanitizer:
 *   1. What a client receives is a sequence of well-formed HTTP/1.1 responses (parsed by
 *      llhttp as a client would): every status has a reason phrase the hub knows, every
 *      response but an event stream has a Content-Length, and nothing follows a response
 *      with "Connection: close". (Skipped for a connection whose bytes hold "HEAD": its
 *      responses have no body whatever their Content-Length.)
 *   2. With ending 0, once the client half-closes after reading everything, the hub closes
 *      every connection, and no response is cut short.
 *   3. After the clients close (endings 0-2), the worker has no connection left (its list,
 *      its gauge and the server's count are 0): none is forgotten, whatever it was doing.
 *   4. The hub stops: its loop ends with every handle closed.
 *   5. Nothing allocated through sh_malloc is left once the server and its store are gone
 *      (tests/support/failalloc.c counts), in the plain replay build as well.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "server/log.h"
#include "server/pubreq.h"
#include "server/server.h"
#include "support/failalloc.h"
#include "fuzz.h"

#define MAX_CONNS    4
#define SEPARATOR    "\n@@\n"
#define MAX_ROUNDS   20000 /* loop turns one settle() may take */
#define SMALL_RCVBUF 4096
#define SMALL_SNDBUF 4096
#define MAX_WRITES   256 /* writes per connection: past it, the chunks grow (bounds the run) */
/* How long the target waits for the hub when it expects something (a publish's answer, a
 * close): the events are due within microseconds; this is the margin for a loaded machine,
 * and a hub that never does it fails the check after this long. Less than http.c's 2 s
 * linger, so that a connection closed only by that timer fails the check too. */
#define WAIT_NS UINT64_C(1000000000)

/* HS256 secrets of the "keys" and "mixed" configurations (fuzz/make_request_corpus.py signs
 * the seeds' tokens with them). */
#define PUB_SECRET "fuzz-request-publisher-secret-0123456789"
#define SUB_SECRET "fuzz-request-subscriber-secret-012345678"
#define ISS_SECRET "fuzz-request-issuer-secret-0123456789ab"

/* What every configuration has: one loop, the memory store, and timeouts no run reaches. */
static const char *const common_args[] = {
    "--listen",        "127.0.0.1:0", "--threads",   "1",     "--store",          "memory",
    "--history-age",   "0",           "--heartbeat", "0",     "--header-timeout", "1h",
    "--write-timeout", "1h",          "--log-level", "error",
};

/* The four configurations (byte 0, bits 0-1): small limits, so that limit paths are hit. */
static const char *const variant_args[4][24] = {
    /* open: loopback publishing, anonymous subscribers, presence, retry */
    {"--subscriptions", "--history", "4", "--history-memory", "64k", "--retry", "1500",
     "--max-body", "2k", "--max-topics", "4", "--max-header", "1k", "--send-buffer", "4k", NULL},
    /* keys: JWTs required on both sides, a listed origin, conflation, no UI */
    {"--publisher-key",
     PUB_SECRET,
     "--subscriber-key",
     SUB_SECRET,
     "--anonymous",
     "no",
     "--cors-origin",
     "https://example.com",
     "--slow",
     "conflate",
     "--no-ui",
     "--history",
     "8",
     "--max-header",
     "2k",
     "--send-buffer",
     "4k",
     "--max-topics",
     "8",
     NULL},
    /* limits: two connections at most, no history, one topic, 32-byte bodies */
    {"--max-connections", "2", "--history", "0", "--max-topics", "1", "--max-body", "32",
     "--max-header", "1k", "--cors-origin", "https://a.example,*", "--send-buffer", "4k", NULL},
    /* mixed: keys with anonymous subscribers allowed, presence, any origin, lifetime, and a
     * Mercure 1.0 issuer (access tokens, RFC 6750 answers, the metadata document) */
    {"--publisher-key", PUB_SECRET, "--subscriber-key", SUB_SECRET, "--subscriptions", "--history",
     "2", "--cors-origin", "*", "--max-lifetime", "1h", "--send-buffer", "8k", "--jwt-issuer",
     "https://issuer.example HS256:" ISS_SECRET, NULL},
};

typedef struct variant_s {
    sh_config_t cfg;
    sh_auth_key_t pub, sub;
    sh_auth_issuer_t issuers[SH_CONFIG_MAX_ISSUERS];
    size_t nissuers;
} variant_t;

/* [lmdb][configuration]: each configuration with the memory store, and with the LMDB
 * store in a directory of /dev/shm emptied after every run. */
static variant_t variants[2][4];
static char lmdb_dir[64], lmdb_uri[96];
static ssehub_rcbuf_t *heartbeat;

/* One client connection. */
typedef struct client_s {
    int fd;
    const uint8_t *data; /* its bytes */
    size_t len, sent;
    size_t writes; /* chunks written so far */
    uint64_t rng;
    int write_dead; /* a send failed: the hub is gone */
    int eof;        /* the hub closed (or reset) */
    int reset;
    int check; /* its responses are checked with llhttp */
    llhttp_t parser;
    int in_ctype;  /* the header being read is Content-Type */
    int is_stream; /* the response is text/event-stream */
    char hname[32];
    size_t hname_len;
    char ctype[32];
    size_t ctype_len;
    char status[64];
    size_t status_len;
} client_t;

typedef struct run_s {
    sh_server_t srv;
    sh_worker_t *w;
    client_t clients[MAX_CONNS];
    size_t nclients;
    int reading; /* the clients read what the hub writes */
    size_t max_chunk;
    int uniform;
} run_t;

static char rbuf[64 * 1024];
static int trace; /* FUZZ_REQUEST_TRACE set: what the clients receive goes to stderr */

/* ---- Responses: llhttp in response mode, as a client reads them. */

static client_t *client_of(llhttp_t *p)
{
    return p->data;
}

static int on_resp_begin(llhttp_t *p)
{
    client_t *cl = client_of(p);

    cl->status_len = 0;
    cl->ctype_len = 0;
    cl->is_stream = 0;
    return 0;
}

static int on_resp_status(llhttp_t *p, const char *at, size_t len)
{
    client_t *cl = client_of(p);
    size_t n =
        len < sizeof(cl->status) - cl->status_len ? len : sizeof(cl->status) - cl->status_len;

    memcpy(cl->status + cl->status_len, at, n);
    cl->status_len += n;
    return 0;
}

static int on_resp_field(llhttp_t *p, const char *at, size_t len)
{
    client_t *cl = client_of(p);
    size_t n = len < sizeof(cl->hname) - cl->hname_len ? len : sizeof(cl->hname) - cl->hname_len;

    memcpy(cl->hname + cl->hname_len, at, n);
    cl->hname_len += n;
    return 0;
}

static int on_resp_field_complete(llhttp_t *p)
{
    client_t *cl = client_of(p);

    cl->in_ctype = cl->hname_len == 12 && strncasecmp(cl->hname, "content-type", 12) == 0;
    cl->hname_len = 0;
    if (cl->in_ctype)
        cl->ctype_len = 0;
    return 0;
}

static int on_resp_value(llhttp_t *p, const char *at, size_t len)
{
    client_t *cl = client_of(p);
    size_t n;

    if (!cl->in_ctype)
        return 0;
    n = len < sizeof(cl->ctype) - cl->ctype_len ? len : sizeof(cl->ctype) - cl->ctype_len;
    memcpy(cl->ctype + cl->ctype_len, at, n);
    cl->ctype_len += n;
    return 0;
}

static int on_resp_headers_complete(llhttp_t *p)
{
    client_t *cl = client_of(p);
    int status = llhttp_get_status_code(p);

    FUZZ_CHECK(status >= 100 && status <= 599);
    FUZZ_CHECK(p->http_major == 1 && p->http_minor == 1);
    /* status_text() of http.c: a status it has no text for would read "Unknown" */
    FUZZ_CHECK(cl->status_len > 0 &&
               !(cl->status_len == 7 && memcmp(cl->status, "Unknown", 7) == 0));
    cl->is_stream = cl->ctype_len == 17 && memcmp(cl->ctype, "text/event-stream", 17) == 0;
    if (status >= 200)
        FUZZ_CHECK((p->flags & F_CONTENT_LENGTH) || (status == 200 && cl->is_stream));
    return 0;
}

static llhttp_settings_t resp_settings = {
    .on_message_begin = on_resp_begin,
    .on_status = on_resp_status,
    .on_header_field = on_resp_field,
    .on_header_field_complete = on_resp_field_complete,
    .on_header_value = on_resp_value,
    .on_headers_complete = on_resp_headers_complete,
};

static int contains(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s), i;

    for (i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            return 1;
    return 0;
}

/* ---- The clients. */

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*; the state is never 0 */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static uint16_t listen_port(sh_worker_t *w)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    FUZZ_CHECK(getsockname(w->listeners[0].fd, (struct sockaddr *)&a, &len) == 0);
    return ntohs(a.sin_port);
}

/* Reads what the hub wrote to every client, checking it. Returns the bytes read. */
static size_t read_clients(run_t *r)
{
    size_t i, total = 0;

    for (i = 0; i < r->nclients; i++) {
        client_t *cl = &r->clients[i];

        while (cl->fd >= 0 && !cl->eof) {
            ssize_t n = recv(cl->fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);

            if (n > 0) {
                total += (size_t)n;
                if (trace)
                    fprintf(stderr, "<< client %zu: %.*s\n", i, (int)n, rbuf);
                if (cl->check) {
                    llhttp_errno_t err = llhttp_execute(&cl->parser, rbuf, (size_t)n);

                    if (err != HPE_OK)
                        fprintf(stderr, "client %zu: bad response: %s (%s)\n", i,
                                llhttp_errno_name(err), llhttp_get_error_reason(&cl->parser));
                    FUZZ_CHECK(err == HPE_OK);
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n < 0 && errno == EINTR)
                continue;
            cl->eof = 1;
            cl->reset = n < 0;
            if (trace)
                fprintf(stderr, "<< client %zu: %s\n", i, n < 0 ? "reset" : "closed");
            total++; /* counts as progress */
        }
    }
    return total;
}

/* What the hub has not yet read, and how many connections it holds: settle() runs the loop
 * until this and what the clients read stop changing. */
static uint64_t hub_signature(sh_worker_t *w)
{
    uint64_t sig = 0;
    sh_list_t *n;

    for (n = w->conns.next; n != &w->conns; n = n->next) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, all);
        uv_os_fd_t fd;
        int avail = 0;

        sig += 1;
        if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, FIONREAD, &avail) == 0)
            sig += (uint64_t)avail << 16;
    }
    return sig;
}

/* Prints the connections the worker still holds (when a check about them fails). */
static void dump_conns(sh_worker_t *w)
{
    sh_list_t *n;

    for (n = w->conns.next; n != &w->conns; n = n->next) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, all);

        fprintf(stderr,
                "conn %s: state %d writing %d closing %d keep_alive %d paused %d input_paused %d "
                "queued %zu bytes, npub %u, route_deferred %d, timer list %d, pending %zu\n",
                c->peer, c->state, c->writing, c->closing, c->keep_alive, c->paused,
                c->input_paused, c->out.bytes, c->npub, c->route_deferred, sh_list_linked(&c->tq),
                c->req != NULL ? c->req->pending.len : 0);
    }
}

/* Whether a connection waits for the store to decide a publish (the LMDB store decides on
 * its committer thread; the answer comes back through the worker's queue). */
static int publishes_pending(sh_worker_t *w)
{
    sh_list_t *n;

    for (n = w->conns.next; n != &w->conns; n = n->next)
        if (sh_container_of(n, sh_conn_t, all)->npub > 0)
            return 1;
    return 0;
}

/* Runs the loop without blocking until nothing moves for two turns and no publish waits
 * for the store (for those, a turn blocks until the store's answer wakes the loop). */
static void settle(run_t *r)
{
    uint64_t sig = UINT64_MAX, wait_start = 0;
    int quiet = 0, rounds, block = 0;

    for (rounds = 0; rounds < MAX_ROUNDS && quiet < 2; rounds++) {
        uint64_t s;
        size_t moved;

        sh_worker_run(r->w, block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
        moved = r->reading ? read_clients(r) : 0;
        s = hub_signature(r->w);
        block = 0;
        if (moved > 0 || s != sig || uv_is_active((uv_handle_t *)&r->w->flush_idle)) {
            quiet = 0;
            wait_start = 0;
        } else if (publishes_pending(r->w)) {
            /* The store has not answered yet: the next turn waits for its wake-up (or the
             * 100 ms tick), for WAIT_NS at most while nothing else moves. */
            quiet = 0;
            block = 1;
            if (wait_start == 0)
                wait_start = uv_hrtime();
            if (uv_hrtime() - wait_start > WAIT_NS)
                dump_conns(r->w);
            FUZZ_CHECK(uv_hrtime() - wait_start <= WAIT_NS); /* a publish is never answered */
        } else {
            quiet++;
        }
        sig = s;
    }
}

/* Gives the hub's side of every connection a small send buffer, as a slow link would: the
 * loopback's autotuned one takes over a megabyte before a send comes up short, and the
 * hub's uv_write path, its write stalls and slow subscribers are reached only past it. */
static void small_hub_sndbufs(sh_worker_t *w)
{
    sh_list_t *n;

    for (n = w->conns.next; n != &w->conns; n = n->next) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, all);
        uv_os_fd_t fd;
        int sz = SMALL_SNDBUF;

        if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0)
            (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    }
}

/* Every client the hub has closed (the client read EOF, or a reset). */
static int clients_closed(run_t *r)
{
    size_t i;

    for (i = 0; i < r->nclients; i++)
        if (r->clients[i].fd >= 0 && !r->clients[i].eof)
            return 0;
    return 1;
}

/* The worker holds no connection. */
static int hub_empty(run_t *r)
{
    return sh_list_empty(&r->w->conns);
}

/* settle(), then, while |done| does not hold, lets the loop block for its next event (I/O,
 * or the 100 ms tick) for WAIT_NS at most: on a loaded machine a FIN may come a little
 * later than the two quiet turns of settle(). */
static void settle_until(run_t *r, int (*done)(run_t *r))
{
    uint64_t start = uv_hrtime();

    settle(r);
    while (!done(r) && uv_hrtime() - start < WAIT_NS) {
        sh_worker_run(r->w, UV_RUN_ONCE);
        if (r->reading)
            (void)read_clients(r);
    }
}

/* After a connect() that failed: whether it was only interrupted by a signal (libFuzzer's
 * SIGALRM timer, seen once in make test) and the connection then completed, as POSIX says
 * it goes on asynchronously. Leaves errno set when it did not. */
static int connect_finished(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int err = 0, n;
    socklen_t len = sizeof(err);

    if (errno != EINTR)
        return 0;
    do
        n = poll(&pfd, 1, -1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return 0;
    errno = err;
    return err == 0;
}

static void client_connect(run_t *r, client_t *cl, int small_rcvbuf, uint16_t port)
{
    static uint32_t next_source;
    struct sockaddr_in a, src;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    FUZZ_CHECK(fd >= 0);
    /* A source address of its own in 127.1.0.0/16 (still loopback to the hub): a hundred
     * runs a second leave tens of thousands of connections in TIME_WAIT, and all from
     * 127.0.0.1 they ran the ephemeral ports out (connect failed after an hour). */
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(UINT32_C(0x7F010000) | (next_source++ & 0xFFFF));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
        fprintf(stderr, "bind 127.1.x.y: %s\n", strerror(errno));
    /* Each chunk leaves at once (no Nagle delay), so the hub reads the chunks as written. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (small_rcvbuf) {
        int sz = SMALL_RCVBUF;

        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && !connect_finished(fd)) {
        fprintf(stderr, "connect to 127.0.0.1:%u: %s\n", port, strerror(errno));
        FUZZ_CHECK(!"the client could connect");
    }
    cl->fd = fd;
    llhttp_init(&cl->parser, HTTP_RESPONSE, &resp_settings);
    cl->parser.data = cl;
    settle(r); /* the hub accepts it */
    if (small_rcvbuf)
        small_hub_sndbufs(r->w);
}

static void client_reset(client_t *cl)
{
    struct linger lg = {1, 0};

    if (cl->fd < 0)
        return;
    (void)setsockopt(cl->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(cl->fd);
    cl->fd = -1;
}

static void client_close(client_t *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
}

/* Writes the clients' bytes a chunk at a time, in turn, settling after each. */
static void feed(run_t *r, int leave_first)
{
    for (;;) {
        int pending = 0, progress = 0;
        size_t i;

        for (i = 0; i < r->nclients; i++) {
            client_t *cl = &r->clients[i];
            size_t n = cl->len - cl->sent, max = r->max_chunk, left;
            ssize_t k;

            if (cl->fd < 0 || cl->write_dead || n == 0)
                continue;
            pending = 1;
            left = cl->writes < MAX_WRITES - 1 ? MAX_WRITES - 1 - cl->writes : 1;
            if (max < (n + left - 1) / left)
                max = (n + left - 1) / left; /* at most MAX_WRITES writes in all */
            if (max < n)
                n = r->uniform ? max : 1 + (size_t)(next_rand(&cl->rng) % max);
            cl->writes++;
            k = send(cl->fd, cl->data + cl->sent, n, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (k > 0) {
                cl->sent += (size_t)k;
                progress = 1;
            } else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                cl->write_dead = 1;
            }
            if (i == 0 && leave_first && r->nclients > 1 && cl->sent == cl->len) {
                /* Its last bytes and its FIN reach the hub together: publishes of its
                 * may still wait for the store when the hub sees it leave. */
                (void)shutdown(cl->fd, SHUT_WR);
                settle(r);
                client_reset(cl);
            }
            settle(r);
        }
        if (!pending)
            break;
        if (!progress) {
            /* Nothing could be sent: the hub waits for its answers to be read. */
            if (r->reading)
                break;
            r->reading = 1;
            settle(r);
        }
    }
}

/* ---- A run. */

static void start_server(run_t *r, variant_t *v)
{
    sh_store_params_t prm;
    char err[256];

    memset(&r->srv, 0, sizeof(r->srv));
    r->srv.cfg = &v->cfg;
    r->srv.nworkers = 1;
    r->srv.heartbeat = heartbeat;
    r->srv.publisher_key = v->pub;
    r->srv.subscriber_key = v->sub;
    memcpy(r->srv.issuers, v->issuers, sizeof(v->issuers)); /* shared, like the keys */
    r->srv.nissuers = v->nissuers;
    r->srv.started_ms = 1700000000000LL;
    sh_fd_raise_limit(&r->srv); /* as main.c: the connection slots follow the file limit */
    memset(&prm, 0, sizeof(prm));
    prm.history.max_per_topic = (size_t)v->cfg.history;
    prm.history.max_age_ms = v->cfg.history_age_ms;
    prm.history.max_bytes = (size_t)v->cfg.history_memory;
    /* A fixed first seq: the hub's ids are the same in every run. */
    prm.first_seq = 1000;
    sh_server_sink(&r->srv, &prm.sink);
    FUZZ_CHECK(sh_store_open(v->cfg.store, &prm, &r->srv.store, err, sizeof(err)) == 0);
    FUZZ_CHECK(sh_server_open_loops(&r->srv) == 0);
    r->w = &r->srv.workers[0];
}

/* Removes the LMDB store's files, so that the next run starts from an empty store. */
static void empty_lmdb_dir(void)
{
    DIR *d = opendir(lmdb_dir);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char path[sizeof(lmdb_dir) + 256];

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", lmdb_dir, de->d_name);
        (void)unlink(path);
    }
    closedir(d);
}

static void remove_lmdb_dir(void)
{
    empty_lmdb_dir();
    (void)rmdir(lmdb_dir);
}

static void count_handle(uv_handle_t *h, void *arg)
{
    (void)h;
    ++*(int *)arg;
}

static void stop_server(run_t *r)
{
    int open_handles = 0;

    sh_server_stop(&r->srv);
    FUZZ_CHECK(sh_worker_run(r->w, UV_RUN_DEFAULT) == 0);
    uv_walk(&r->w->loop, count_handle, &open_handles);
    FUZZ_CHECK(open_handles == 0);
    sh_server_close_loops(&r->srv);
    sh_store_free(r->srv.store);
    r->srv.store = NULL;
    empty_lmdb_dir();
}

static void init_once(void)
{
    static int done;
    char err[256];
    size_t v;

    if (done)
        return;
    done = 1;
    trace = getenv("FUZZ_REQUEST_TRACE") != NULL;
    sh_failalloc_install();
    signal(SIGPIPE, SIG_IGN); /* as main.c: uv_write may write to a closed socket */
    sh_pubreq_global_init();
    snprintf(lmdb_dir, sizeof(lmdb_dir), "/dev/shm/fuzz_request-%ld", (long)getpid());
    snprintf(lmdb_uri, sizeof(lmdb_uri), "lmdb:%s?mapsize=1M", lmdb_dir);
    atexit(remove_lmdb_dir);
    for (v = 0; v < 8; v++) {
        variant_t *var = &variants[v / 4][v % 4];
        char *argv[64];
        int argc = 0;
        size_t i;

        argv[argc++] = (char *)"ssehub";
        for (i = 0; i < sizeof(common_args) / sizeof(common_args[0]); i++)
            argv[argc++] = (char *)common_args[i];
        for (i = 0; variant_args[v % 4][i] != NULL; i++)
            argv[argc++] = (char *)variant_args[v % 4][i];
        if (v >= 4) {
            argv[argc++] = (char *)"--store";
            argv[argc++] = lmdb_uri;
        }
        argv[argc] = NULL;
        FUZZ_CHECK(sh_config_parse(&var->cfg, argc, argv, NULL, stdout, stderr) == 0);
        if (var->cfg.publisher_key != NULL)
            FUZZ_CHECK(sh_auth_key_load(&var->pub, var->cfg.jwt_alg, var->cfg.publisher_key, err,
                                        sizeof(err)) == 0);
        if (var->cfg.subscriber_key != NULL)
            FUZZ_CHECK(sh_auth_key_load(&var->sub, var->cfg.jwt_alg, var->cfg.subscriber_key, err,
                                        sizeof(err)) == 0);
        for (i = 0; i < var->cfg.njwt_issuers; i++)
            FUZZ_CHECK(sh_auth_issuer_load(&var->issuers[var->nissuers++], var->cfg.jwt_issuers[i],
                                           err, sizeof(err)) == 0);
    }
    sh_log_set_level(SH_LOG_ERROR);
    /* The access log's formatting runs on every request; its lines go nowhere. */
    FUZZ_CHECK(sh_access_log_open("/dev/null") == 0);
    FUZZ_CHECK(ssehub_rcbuf_new(3, &heartbeat) == 0);
    memcpy(ssehub_rcbuf_data(heartbeat), ":\n\n", 3);
}

/* Splits |data| into the clients' parts at SEPARATOR. */
static void split(run_t *r, const uint8_t *data, size_t size, uint64_t seed)
{
    size_t sl = strlen(SEPARATOR), start = 0, i;

    r->nclients = 0;
    for (i = 0; r->nclients < MAX_CONNS - 1 && i + sl <= size; i++) {
        if (memcmp(data + i, SEPARATOR, sl) != 0)
            continue;
        r->clients[r->nclients].data = data + start;
        r->clients[r->nclients].len = i - start;
        r->nclients++;
        start = i + sl;
        i += sl - 1;
    }
    r->clients[r->nclients].data = data + start;
    r->clients[r->nclients].len = size - start;
    r->nclients++;
    for (i = 0; i < r->nclients; i++) {
        client_t *cl = &r->clients[i];

        cl->fd = -1;
        cl->rng = (seed ^ (UINT64_C(0x9E3779B97F4A7C15) * (i + 1))) | 1;
        cl->check = !contains(cl->data, cl->len, "HEAD");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunk_sizes[8] = {1, 2, 3, 8, 32, 128, 1024, SIZE_MAX};
    static run_t run;
    run_t *r = &run;
    size_t live_before, i;
    int flags, ending, small_rcvbuf, stopped = 0;

    init_once();
    if (size < 2)
        return 0;
    live_before = sh_failalloc_live();
    memset(r, 0, sizeof(*r));
    flags = data[0];
    ending = (flags >> 4) & 3;
    small_rcvbuf = (flags >> 3) & 1;
    r->reading = !(flags & 4);
    r->max_chunk = chunk_sizes[data[1] & 7];
    r->uniform = (data[1] >> 3) & 1;
    split(r, data + 2, size - 2, fuzz_hash_bytes(data, size));

    start_server(r, &variants[(flags >> 7) & 1][flags & 3]);
    for (i = 0; i < r->nclients; i++)
        client_connect(r, &r->clients[i], small_rcvbuf, listen_port(r->w));
    feed(r, (flags >> 6) & 1);

    switch (ending) {
    case 0: /* read everything, half-close, and the hub closes every connection */
        r->reading = 1;
        settle(r);
        for (i = 0; i < r->nclients; i++)
            if (r->clients[i].fd >= 0 && !r->clients[i].eof)
                (void)shutdown(r->clients[i].fd, SHUT_WR);
        settle_until(r, clients_closed);
        for (i = 0; i < r->nclients; i++) {
            client_t *cl = &r->clients[i];

            if (cl->fd < 0)
                continue;
            FUZZ_CHECK(cl->eof);
            if (cl->check && !cl->reset)
                FUZZ_CHECK(llhttp_finish(&cl->parser) == HPE_OK); /* nothing cut short */
        }
        break;
    case 1:
        for (i = 0; i < r->nclients; i++)
            client_close(&r->clients[i]);
        break;
    case 2:
        for (i = 0; i < r->nclients; i++)
            client_reset(&r->clients[i]);
        break;
    default: /* stop the hub with its connections open */
        stop_server(r);
        stopped = 1;
        r->reading = 1;
        (void)read_clients(r);
        break;
    }
    if (!stopped) {
        for (i = 0; i < r->nclients; i++)
            client_close(&r->clients[i]);
        settle_until(r, hub_empty);
        /* Every connection is gone once its client is. */
        if (!sh_list_empty(&r->w->conns))
            dump_conns(r->w);
        FUZZ_CHECK(sh_list_empty(&r->w->conns));
        FUZZ_CHECK(atomic_load(&r->w->metrics.connections) == 0);
        FUZZ_CHECK(atomic_load(&r->srv.connections) == 0);
        stop_server(r);
    }
    for (i = 0; i < r->nclients; i++)
        client_close(&r->clients[i]);
    FUZZ_CHECK(sh_failalloc_live() == live_before);
    return 0;
}
