/* SPDX-License-Identifier: MIT */
/*
 * ssebench: a load generator for SSE hubs (ssehub, Nchan, the floor program in bench/).
 *
 * It opens N subscribers spread over topics (subscriber i reads topic i mod T), in one or
 * more worker processes (each under the per-process open-file limit), binding each
 * client socket to a source address in 127.0.0.2-127.0.0.254 so more than 28k
 * connections to one port fit. The parent then publishes over K keep-alive connections,
 * at a fixed rate or closed-loop, with a CLOCK_MONOTONIC timestamp at the start of every
 * event's data; subscribers parse the streams (chunked or not) and record the
 * publish-to-receive latency in a log-linear histogram. Counters live in shared memory,
 * so the parent prints a live progress line and the final report (text or --json),
 * with the server's memory and CPU time read from /proc given its pid.
 *
 * No allocation per event: one read buffer per process, a fixed per-connection state.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define READ_BUF    (256 * 1024)
#define HEAD_MAX    4096
#define LINE_KEEP   40
#define HIST_SUB    32 /* sub-buckets per power of two (about 3% resolution) */
#define HIST_N      (64 * (HIST_SUB / 2) + HIST_SUB)
#define MAX_PROCS   64
#define MAX_PUBS    256
#define PUB_OUT_MAX (64 * 1024 + 1024)

/* ---- Options. */

typedef struct opts_s {
    const char *host;
    int port;
    int pub_port; /* where the publishes go (another node of a cluster); 0: |port| */
    long subs;
    long topics;
    const char *topic_prefix;
    const char *sub_path; /* %s: the topic */
    const char *pub_path; /* %s: the topic */
    int pub_form;         /* body: topic=T&data=D (ssehub) or D (Nchan) */
    double rate;          /* publishes/s in all; 0: closed-loop */
    int pub_conns;
    double duration; /* seconds of publishing; 0: none (idle) */
    long window;     /* closed-loop: at most this many events in flight per subscriber */
    long payload;    /* bytes of event data */
    double settle;   /* seconds between the last connection and the measurements */
    double drain;    /* seconds to wait for the last deliveries */
    double connect_timeout;
    long connect_batch; /* connections being opened at once, per process */
    int procs;
    int spread;
    long server_pid;
    int json;
    int quiet;
    int expect_all;
    const char *label;
} opts_t;

/* ---- Shared memory: one block per subscriber process, written by it, read by the parent. */

enum fail_reason {
    F_SOCKET = 0, /* socket(), bind(): e.g. EMFILE, EADDRINUSE */
    F_CONNECT,    /* connect() failed */
    F_STATUS,     /* a response other than 200 */
    F_EOF_HEAD,   /* closed before the response head */
    F_TIMEOUT,    /* no response head in time */
    F_DROPPED,    /* the stream ended while the benchmark ran */
    F_COUNT
};
static const char *const fail_names[F_COUNT] = {"socket",          "connect", "status",
                                                "eof_before_head", "timeout", "dropped"};

typedef struct shard_s {
    _Atomic uint64_t connected;
    _Atomic uint64_t done_connecting; /* every connection opened or failed */
    _Atomic uint64_t deliveries;
    _Atomic uint64_t bytes;
    _Atomic uint64_t fails[F_COUNT];
    _Atomic int last_errno[F_COUNT];
    _Atomic int last_status;
    _Atomic int finished; /* hist[] is final */
    uint64_t hist[HIST_N];
    uint64_t max_us;
    char pad[64];
} shard_t;

typedef struct shm_s {
    _Atomic int stop;
    _Atomic uint64_t epoch_ns;
    shard_t shards[MAX_PROCS];
    /* followed by the per-topic connected counts */
} shm_t;

static shm_t *shm;
static _Atomic uint32_t *topic_subs; /* [topics]: connected subscribers of each topic */

/* ---- Helpers. */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "ssebench: %s\n", msg);
    exit(2);
}

static unsigned hist_index(uint64_t v)
{
    unsigned msb, shift;

    if (v < HIST_SUB)
        return (unsigned)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - 4; /* log2(HIST_SUB) - 1 */
    return shift * (HIST_SUB / 2) + (unsigned)(v >> shift);
}

/* The upper bound of bucket |i| (values in the bucket are at most this). */
static uint64_t hist_value(unsigned i)
{
    unsigned shift;

    if (i < HIST_SUB)
        return i;
    shift = (i - HIST_SUB / 2) / (HIST_SUB / 2);
    return (((uint64_t)(i - shift * (HIST_SUB / 2)) + 1) << shift) - 1;
}

/* |fmt| with its "%s" (if any) replaced by |topic|, into |dst|; returns the length. */
static int fill_path(char *dst, size_t cap, const char *fmt, const char *topic)
{
    const char *pc = strstr(fmt, "%s");

    if (pc == NULL)
        return snprintf(dst, cap, "%s", fmt);
    return snprintf(dst, cap, "%.*s%s%s", (int)(pc - fmt), fmt, topic, pc + 2);
}

/* "200" -> 200; 0 when not three digits. */
static int atoi_status(const char *p)
{
    int v = 0, i;

    for (i = 0; i < 3; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* ---- Subscribers (worker processes). */

enum sub_state { S_IDLE = 0, S_CONNECTING, S_HEAD, S_STREAM, S_DEAD };
enum chunk_state { C_SIZE = 0, C_EXT, C_DATA, C_DATA_CR, C_DATA_LF };

typedef struct sub_s {
    int fd;
    uint8_t state;
    uint8_t chunked;
    uint8_t cstate;
    uint8_t has_ts;
    uint32_t topic;
    uint32_t cleft; /* bytes left in the current chunk */
    uint16_t line_len;
    uint16_t head_len;
    char line[LINE_KEEP]; /* the first bytes of the line being read */
    uint64_t ts;          /* the timestamp in the current event's data */
    uint64_t deadline;    /* S_CONNECTING, S_HEAD */
    char *head;           /* S_HEAD: the response head so far */
} sub_t;

typedef struct worker_s {
    const opts_t *o;
    shard_t *sh;
    int epfd;
    size_t first; /* the global index of subs[0] */
    size_t count;
    sub_t *subs;
    char *buf;
    struct sockaddr_in dst;
    uint64_t deliveries, bytes;
    size_t opened, inflight;
} worker_t;

static void sub_fail(worker_t *w, sub_t *s, int reason, int err)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->state == S_STREAM)
        atomic_fetch_sub(&topic_subs[s->topic], 1);
    if (s->state == S_CONNECTING || s->state == S_HEAD)
        w->inflight--;
    free(s->head);
    s->head = NULL;
    s->state = S_DEAD;
    atomic_fetch_add(&w->sh->fails[reason], 1);
    if (err != 0)
        atomic_store(&w->sh->last_errno[reason], err);
}

static void sub_start(worker_t *w, sub_t *s, size_t gi)
{
    struct epoll_event ev;
    int one = 1, fd;

    s->topic = (uint32_t)(gi % (size_t)w->o->topics);
    s->fd = -1;
    s->state = S_CONNECTING;
    w->inflight++;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sub_fail(w, s, F_SOCKET, errno);
        return;
    }
    s->fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (w->o->spread) {
        struct sockaddr_in src;

        memset(&src, 0, sizeof(src));
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(gi % 253));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            sub_fail(w, s, F_SOCKET, errno);
            return;
        }
    }
    if (connect(fd, (struct sockaddr *)&w->dst, sizeof(w->dst)) != 0 && errno != EINPROGRESS) {
        sub_fail(w, s, F_CONNECT, errno);
        return;
    }
    s->deadline = now_ns() + (uint64_t)(w->o->connect_timeout * 1e9);
    ev.events = EPOLLOUT;
    ev.data.ptr = s;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        sub_fail(w, s, F_SOCKET, errno);
}

static void sub_send_request(worker_t *w, sub_t *s)
{
    char req[1024], path[512];
    struct epoll_event ev;
    int err = 0, n, plen;
    socklen_t elen = sizeof(err);
    char topic[128];

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
        sub_fail(w, s, F_CONNECT, err);
        return;
    }
    snprintf(topic, sizeof(topic), "%s%u", w->o->topic_prefix, s->topic);
    plen = fill_path(path, sizeof(path), w->o->sub_path, topic);
    n = snprintf(req, sizeof(req),
                 "GET %.*s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n\r\n", plen,
                 path, w->o->host, w->o->port);
    if (write(s->fd, req, (size_t)n) != n) {
        sub_fail(w, s, F_CONNECT, errno);
        return;
    }
    s->head = malloc(HEAD_MAX);
    if (s->head == NULL)
        die("out of memory");
    s->head_len = 0;
    s->state = S_HEAD;
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = s;
    epoll_ctl(w->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void record(worker_t *w, uint64_t ts)
{
    uint64_t now = now_ns(), us = now > ts ? (now - ts) / 1000 : 0;

    w->sh->hist[hist_index(us)]++;
    if (us > w->sh->max_us)
        w->sh->max_us = us;
    w->deliveries++;
}

/* A complete line (its first bytes in s->line, |len| in all). */
static void sub_line(worker_t *w, sub_t *s, size_t len)
{
    const char *p = s->line, *end;
    uint64_t ts = 0;

    if (len > 0 && len <= LINE_KEEP && p[len - 1] == '\r')
        len--;
    if (len == 0) {
        if (s->has_ts)
            record(w, s->ts);
        s->has_ts = 0;
        return;
    }
    if (s->has_ts || len < 6 || memcmp(p, "data:", 5) != 0)
        return;
    end = p + (len < LINE_KEEP ? len : LINE_KEEP);
    p += 5;
    if (p < end && *p == ' ')
        p++;
    if (p == end || *p < '0' || *p > '9')
        return;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        ts = ts * 10 + (uint64_t)(*p - '0');
    s->ts = ts;
    s->has_ts = 1;
}

/* Event-stream bytes (after any chunked framing). */
static void sub_sse(worker_t *w, sub_t *s, const char *p, size_t n)
{
    const char *end = p + n;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t seg = (size_t)((nl != NULL ? nl : end) - p);

        if (s->line_len < LINE_KEEP) {
            size_t room = LINE_KEEP - s->line_len, k = seg < room ? seg : room;

            memcpy(s->line + s->line_len, p, k);
        }
        s->line_len = (uint16_t)(s->line_len + seg > 60000 ? 60000 : s->line_len + seg);
        if (nl == NULL)
            return;
        sub_line(w, s, s->line_len);
        s->line_len = 0;
        p = nl + 1;
    }
}

/* Chunked transfer coding: strips the framing. Returns -1 at the last chunk. */
static int sub_chunked(worker_t *w, sub_t *s, const char *p, size_t n)
{
    const char *end = p + n;

    while (p < end) {
        switch (s->cstate) {
        case C_SIZE: {
            char c = *p++;
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;

            if (d >= 0) {
                s->cleft = s->cleft * 16 + (uint32_t)d;
            } else if (c == '\n') {
                if (s->cleft == 0)
                    return -1;
                s->cstate = C_DATA;
            } else {
                s->cstate = C_EXT;
            }
            break;
        }
        case C_EXT:
            if (*p++ == '\n') {
                if (s->cleft == 0)
                    return -1;
                s->cstate = C_DATA;
            }
            break;
        case C_DATA: {
            size_t k = (size_t)(end - p) < s->cleft ? (size_t)(end - p) : s->cleft;

            sub_sse(w, s, p, k);
            p += k;
            s->cleft -= (uint32_t)k;
            if (s->cleft == 0)
                s->cstate = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
        case C_DATA_LF:
            if (*p++ == '\n')
                s->cstate = C_SIZE;
            break;
        }
    }
    return 0;
}

static int sub_body(worker_t *w, sub_t *s, const char *p, size_t n)
{
    if (s->chunked)
        return sub_chunked(w, s, p, n);
    sub_sse(w, s, p, n);
    return 0;
}

/* Response head bytes; returns how many of |n| belong to the head (all if incomplete). */
static size_t sub_head(worker_t *w, sub_t *s, const char *p, size_t n)
{
    size_t k = n < (size_t)(HEAD_MAX - 1 - s->head_len) ? n : (size_t)(HEAD_MAX - 1 - s->head_len);
    char *h = s->head, *eoh, *line;
    size_t used;
    int status;

    memcpy(h + s->head_len, p, k);
    s->head_len = (uint16_t)(s->head_len + k);
    h[s->head_len] = '\0';
    eoh = strstr(h, "\r\n\r\n");
    if (eoh == NULL) {
        if (s->head_len >= HEAD_MAX - 1)
            sub_fail(w, s, F_STATUS, 0);
        return n;
    }
    used = (size_t)(eoh + 4 - h) - (s->head_len - k);
    status = strncmp(h, "HTTP/1.", 7) == 0 && strlen(h) > 12 ? atoi_status(h + 9) : 0;
    if (status != 200) {
        atomic_store(&w->sh->last_status, status);
        sub_fail(w, s, F_STATUS, 0);
        return n;
    }
    for (line = strstr(h, "\r\n"); line != NULL && line < eoh; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "transfer-encoding:", 18) == 0) {
            char *v = line + 20, *le = strstr(v, "\r\n");

            for (; v + 7 <= le; v++)
                if (strncasecmp(v, "chunked", 7) == 0)
                    s->chunked = 1;
        }
    }
    free(s->head);
    s->head = NULL;
    s->state = S_STREAM;
    w->inflight--;
    atomic_fetch_add(&topic_subs[s->topic], 1);
    atomic_fetch_add(&w->sh->connected, 1);
    return used;
}

static void sub_readable(worker_t *w, sub_t *s)
{
    ssize_t n = read(s->fd, w->buf, READ_BUF);
    size_t off = 0;

    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        sub_fail(w, s, s->state == S_HEAD ? F_EOF_HEAD : F_DROPPED, n < 0 ? errno : 0);
        return;
    }
    w->bytes += (uint64_t)n;
    if (s->state == S_HEAD) {
        off = sub_head(w, s, w->buf, (size_t)n);
        if (s->state != S_STREAM)
            return;
    }
    if (off < (size_t)n && sub_body(w, s, w->buf + off, (size_t)n - off) < 0)
        sub_fail(w, s, F_DROPPED, 0);
}

static void sub_worker(const opts_t *o, int index, size_t first, size_t count)
{
    worker_t w;
    struct epoll_event evs[512];
    uint64_t last_scan = now_ns();
    size_t i;

    memset(&w, 0, sizeof(w));
    w.o = o;
    w.sh = &shm->shards[index];
    w.first = first;
    w.count = count;
    w.subs = calloc(count ? count : 1, sizeof(*w.subs));
    w.buf = malloc(READ_BUF);
    w.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w.subs == NULL || w.buf == NULL || w.epfd < 0)
        die("out of memory");
    w.dst.sin_family = AF_INET;
    w.dst.sin_port = htons((uint16_t)o->port);
    inet_pton(AF_INET, o->host, &w.dst.sin_addr);

    while (!atomic_load(&shm->stop)) {
        int n, k;

        while (w.opened < count && w.inflight < (size_t)o->connect_batch) {
            sub_start(&w, &w.subs[w.opened], first + w.opened);
            w.opened++;
        }
        n = epoll_wait(w.epfd, evs, 512, 20);
        for (k = 0; k < n; k++) {
            sub_t *s = evs[k].data.ptr;

            if (s->state == S_CONNECTING)
                sub_send_request(&w, s);
            else if (s->state == S_HEAD || s->state == S_STREAM)
                sub_readable(&w, s);
        }
        atomic_store_explicit(&w.sh->deliveries, w.deliveries, memory_order_relaxed);
        atomic_store_explicit(&w.sh->bytes, w.bytes, memory_order_relaxed);
        if (w.inflight > 0 && now_ns() - last_scan > 250000000u) {
            uint64_t now = now_ns();

            last_scan = now;
            for (i = 0; i < w.opened; i++) {
                sub_t *s = &w.subs[i];

                if ((s->state == S_CONNECTING || s->state == S_HEAD) && s->deadline < now)
                    sub_fail(&w, s, F_TIMEOUT, 0);
            }
        }
        if (w.opened == count && w.inflight == 0)
            atomic_store(&w.sh->done_connecting, 1);
    }
    /* Final counts, then close: closes are not drops. */
    atomic_store(&w.sh->deliveries, w.deliveries);
    atomic_store(&w.sh->finished, 1);
    for (i = 0; i < w.opened; i++)
        if (w.subs[i].fd >= 0)
            close(w.subs[i].fd);
    _exit(0);
}

/* ---- Publishers (the parent). */

typedef struct pub_s {
    int fd;
    int busy;       /* a request is out, waiting for its response */
    uint32_t topic; /* of the request out */
    size_t out_len; /* bytes of out[] to send */
    size_t out_off; /* of them sent */
    size_t in_len;  /* response bytes so far */
    char in[8192];  /* the response being read */
    char out[PUB_OUT_MAX];
} pub_t;

typedef struct pubstate_s {
    const opts_t *o;
    int epfd;
    pub_t *pubs;
    struct sockaddr_in dst;
    uint64_t seq;           /* publishes sent */
    uint64_t accepted;      /* 2xx responses */
    uint64_t rejected;      /* other responses */
    uint64_t expected;      /* deliveries the accepted publishes owe */
    uint64_t pub_errors;    /* connection errors */
    int last_reject_status; /* of the last rejected publish */
    char padding[65536];
} pubstate_t;

static int pub_connect(pubstate_t *ps, pub_t *p)
{
    struct epoll_event ev;
    int one = 1;

    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return -1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(p->fd, (struct sockaddr *)&ps->dst, sizeof(ps->dst)) != 0) {
        close(p->fd);
        p->fd = -1;
        return -1;
    }
    fcntl(p->fd, F_SETFL, O_NONBLOCK);
    ev.events = EPOLLIN;
    ev.data.ptr = p;
    epoll_ctl(ps->epfd, EPOLL_CTL_ADD, p->fd, &ev);
    p->busy = 0;
    p->in_len = 0;
    return 0;
}

static void pub_try_send(pubstate_t *ps, pub_t *p)
{
    while (p->out_off < p->out_len) {
        ssize_t n = write(p->fd, p->out + p->out_off, p->out_len - p->out_off);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = p};

                epoll_ctl(ps->epfd, EPOLL_CTL_MOD, p->fd, &ev);
                return;
            }
            return; /* the read side reports the error */
        }
        p->out_off += (size_t)n;
    }
}

/* Builds and sends one publish on |p| (idle). */
static void pub_send(pubstate_t *ps, pub_t *p)
{
    const opts_t *o = ps->o;
    char topic[128], path[512], body[128];
    uint32_t t = (uint32_t)(ps->seq % (uint64_t)o->topics);
    int blen, plen, hlen;
    size_t datalen;

    snprintf(topic, sizeof(topic), "%s%u", o->topic_prefix, t);
    plen = fill_path(path, sizeof(path), o->pub_path, topic);
    /* data: the timestamp, '_', padding to --payload bytes */
    blen = o->pub_form ? snprintf(body, sizeof(body), "topic=%s&data=", topic) : 0;
    {
        char ts[32];
        int tl = snprintf(ts, sizeof(ts), "%" PRIu64 "_", now_ns());
        size_t pad = (size_t)o->payload > (size_t)tl ? (size_t)o->payload - (size_t)tl : 0;

        datalen = (size_t)tl + pad;
        hlen = snprintf(p->out, sizeof(p->out),
                        "POST %.*s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: "
                        "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%.*s%s",
                        plen, path, o->host, o->pub_port, (size_t)blen + datalen, blen, body, ts);
        memcpy(p->out + hlen, ps->padding, pad);
        p->out_len = (size_t)hlen + pad;
    }
    p->out_off = 0;
    p->topic = t;
    p->busy = 1;
    ps->seq++;
    pub_try_send(ps, p);
}

/* Reads a response; returns 1 when one completed, 0 when more is needed, -1 on error. */
static int pub_read(pubstate_t *ps, pub_t *p)
{
    ssize_t n = read(p->fd, p->in + p->in_len, sizeof(p->in) - 1 - p->in_len);
    char *eoh, *cl;
    size_t need;
    int status;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0)
        return -1;
    p->in_len += (size_t)n;
    p->in[p->in_len] = '\0';
    eoh = strstr(p->in, "\r\n\r\n");
    if (eoh == NULL)
        return p->in_len >= sizeof(p->in) - 1 ? -1 : 0;
    status = p->in_len > 12 ? atoi_status(p->in + 9) : 0;
    need = (size_t)(eoh + 4 - p->in);
    cl = strcasestr(p->in, "\r\ncontent-length:");
    if (cl != NULL && cl < eoh) {
        need += strtoul(cl + 17, NULL, 10);
    } else if (strcasestr(p->in, "\r\ntransfer-encoding: chunked") != NULL) {
        char *z = strstr(eoh + 4, "0\r\n\r\n");

        if (z == NULL)
            return p->in_len >= sizeof(p->in) - 1 ? -1 : 0;
        need = (size_t)(z + 5 - p->in);
    }
    if (p->in_len < need)
        return p->in_len >= sizeof(p->in) - 1 ? -1 : 0;
    if (status >= 200 && status < 300) {
        ps->accepted++;
        ps->expected += atomic_load_explicit(&topic_subs[p->topic], memory_order_relaxed);
    } else {
        ps->rejected++;
        ps->last_reject_status = status;
    }
    memmove(p->in, p->in + need, p->in_len - need);
    p->in_len -= need;
    p->busy = 0;
    return 1;
}

/* ---- Server figures from /proc. */

typedef struct proc_fig_s {
    double cpu_s;  /* user + system time, the process and its children */
    double mem_kb; /* PSS (RSS when unavailable), summed */
    double rss_kb; /* RSS, summed */
} proc_fig_t;

static void proc_one(long pid, proc_fig_t *f)
{
    char path[64], line[512];
    FILE *fp;
    double pss = -1, rss = 0;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    fp = fopen(path, "r");
    if (fp != NULL) {
        if (fgets(line, sizeof(line), fp) != NULL) {
            char *p = strrchr(line, ')');
            unsigned long ut = 0, st = 0;

            if (p != NULL &&
                sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
                f->cpu_s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        }
        fclose(fp);
    }
    snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
    fp = fopen(path, "r");
    if (fp != NULL) {
        while (fgets(line, sizeof(line), fp) != NULL) {
            if (strncmp(line, "Pss:", 4) == 0)
                pss = strtod(line + 4, NULL);
            else if (strncmp(line, "Rss:", 4) == 0)
                rss = strtod(line + 4, NULL);
        }
        fclose(fp);
    }
    f->mem_kb += pss >= 0 ? pss : rss;
    f->rss_kb += rss;
}

/* The server process and its children (nginx: the master and its workers). */
static int proc_figures(long pid, proc_fig_t *f)
{
    DIR *d;
    struct dirent *de;

    memset(f, 0, sizeof(*f));
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        return -1;
    proc_one(pid, f);
    d = opendir("/proc");
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char path[64], line[512];
        FILE *fp;
        long child = strtol(de->d_name, NULL, 10), ppid = 0;

        if (child <= 0 || child == pid)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/stat", child);
        fp = fopen(path, "r");
        if (fp == NULL)
            continue;
        if (fgets(line, sizeof(line), fp) != NULL) {
            char *p = strrchr(line, ')');

            if (p != NULL)
                sscanf(p + 2, "%*c %ld", &ppid);
        }
        fclose(fp);
        if (ppid == pid)
            proc_one(child, f);
    }
    closedir(d);
    return 0;
}

/* ---- The run. */

typedef struct totals_s {
    uint64_t connected, deliveries, fails[F_COUNT];
    int done;
} totals_t;

static void sum_shards(int procs, totals_t *t)
{
    int i, r;

    memset(t, 0, sizeof(*t));
    t->done = 1;
    for (i = 0; i < procs; i++) {
        shard_t *s = &shm->shards[i];

        t->connected += atomic_load(&s->connected);
        t->deliveries += atomic_load(&s->deliveries);
        for (r = 0; r < F_COUNT; r++)
            t->fails[r] += atomic_load(&s->fails[r]);
        if (!atomic_load(&s->done_connecting))
            t->done = 0;
    }
}

static uint64_t fails_total(const totals_t *t)
{
    uint64_t n = 0;
    int r;

    for (r = 0; r < F_COUNT; r++)
        n += t->fails[r];
    return n;
}

static void human(double v, char *dst, size_t cap)
{
    if (v >= 1e6)
        snprintf(dst, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(dst, cap, "%.1fk", v / 1e3);
    else
        snprintf(dst, cap, "%.0f", v);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ssebench [FLAG]...\n"
            "\n"
            "Opens N SSE subscribers, publishes events carrying a timestamp, and reports\n"
            "deliveries/s, delivered/expected, latency percentiles and the server's memory\n"
            "and CPU time (given --pid).\n"
            "\n"
            "  --target ssehub|nchan  path and body presets [ssehub]:\n"
            "                         ssehub: --sub-path '/.well-known/mercure?topic=%%s'\n"
            "                                 --pub-path /.well-known/mercure, form body\n"
            "                         nchan:  --sub-path /sub/%%s --pub-path /pub/%%s, raw body\n"
            "  --host ADDR            server IPv4 address [127.0.0.1]\n"
            "  --port N               server port (required)\n"
            "  --pub-port N           publish to this port instead (another node of a\n"
            "                         cluster sharing one store) [--port]\n"
            "  --subs N               subscribers [100]\n"
            "  --topics N             topics; subscriber i reads topic i mod N [1]\n"
            "  --topic-prefix S       topic names are S0, S1, ... [t]\n"
            "  --sub-path FMT         subscribe path, %%s is the topic\n"
            "  --pub-path FMT         publish path, %%s is the topic\n"
            "  --pub-body form|raw    topic=T&data=D, or the data alone\n"
            "  --rate R               publishes per second in all; 0: closed-loop [0]\n"
            "  --pub-conns K          keep-alive publisher connections [4]\n"
            "  --window W             closed-loop: at most W events in flight per\n"
            "                         subscriber (published, not yet received) [64]\n"
            "  --duration S           seconds of publishing; 0: connect, measure, stop [5]\n"
            "  --payload BYTES        event data size (timestamp + padding) [64]\n"
            "  --settle S             seconds after connecting before measuring [1]\n"
            "  --drain S              at most this long for the last deliveries [10]\n"
            "  --connect-timeout S    for each connection's response head [20]\n"
            "  --connect-batch N      connections opened at once per process [256]\n"
            "  --procs N              subscriber processes [one per 15000 subscribers,\n"
            "                         at least one per CPU]\n"
            "  --no-spread            do not bind sources to 127.0.0.2-127.0.0.254\n"
            "  --pid PID              the server's pid: its memory and CPU time (and its\n"
            "                         children's, e.g. nginx workers) are reported\n"
            "  --label S              a name in the report\n"
            "  --json                 one JSON object on stdout\n"
            "  --quiet                no progress line\n"
            "  --expect-all           exit 1 unless every subscriber connected and every\n"
            "                         expected event arrived\n"
            "  --help                 this help\n");
}

static double num_arg(const char *flag, const char *v, double min, double max)
{
    char *end;
    double d;

    if (v == NULL) {
        fprintf(stderr, "ssebench: %s needs a value\n", flag);
        exit(2);
    }
    errno = 0;
    d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || d < min || d > max) {
        fprintf(stderr, "ssebench: %s: '%s' is not a number from %g to %g\n", flag, v, min, max);
        exit(2);
    }
    return d;
}

static void parse_opts(int argc, char **argv, opts_t *o)
{
    const char *sub_path = NULL, *pub_path = NULL, *body = NULL;
    int nchan = 0, i;

    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->subs = 100;
    o->topics = 1;
    o->topic_prefix = "t";
    o->pub_conns = 4;
    o->window = 64;
    o->duration = 5;
    o->payload = 64;
    o->settle = 1;
    o->drain = 10;
    o->connect_timeout = 20;
    o->connect_batch = 256;
    o->spread = 1;
    o->label = "";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--expect-all") == 0) {
            o->expect_all = 1;
        } else if (strcmp(a, "--no-spread") == 0) {
            o->spread = 0;
        } else {
            if (v == NULL) {
                fprintf(stderr, "ssebench: %s: unknown flag or missing value (see --help)\n", a);
                exit(2);
            }
            i++;
            if (strcmp(a, "--target") == 0) {
                if (strcmp(v, "nchan") == 0)
                    nchan = 1;
                else if (strcmp(v, "ssehub") != 0) {
                    fprintf(stderr, "ssebench: --target: '%s' is not ssehub or nchan\n", v);
                    exit(2);
                }
            } else if (strcmp(a, "--host") == 0) {
                struct in_addr ia;

                if (inet_pton(AF_INET, v, &ia) != 1) {
                    fprintf(stderr, "ssebench: --host: '%s' is not an IPv4 address\n", v);
                    exit(2);
                }
                o->host = v;
            } else if (strcmp(a, "--port") == 0) {
                o->port = (int)num_arg(a, v, 1, 65535);
            } else if (strcmp(a, "--pub-port") == 0) {
                o->pub_port = (int)num_arg(a, v, 1, 65535);
            } else if (strcmp(a, "--subs") == 0) {
                o->subs = (long)num_arg(a, v, 0, 10000000);
            } else if (strcmp(a, "--topics") == 0) {
                o->topics = (long)num_arg(a, v, 1, 10000000);
            } else if (strcmp(a, "--topic-prefix") == 0) {
                o->topic_prefix = v;
            } else if (strcmp(a, "--sub-path") == 0) {
                sub_path = v;
            } else if (strcmp(a, "--pub-path") == 0) {
                pub_path = v;
            } else if (strcmp(a, "--pub-body") == 0) {
                if (strcmp(v, "form") != 0 && strcmp(v, "raw") != 0) {
                    fprintf(stderr, "ssebench: --pub-body: '%s' is not form or raw\n", v);
                    exit(2);
                }
                body = v;
            } else if (strcmp(a, "--rate") == 0) {
                o->rate = num_arg(a, v, 0, 10000000);
            } else if (strcmp(a, "--pub-conns") == 0) {
                o->pub_conns = (int)num_arg(a, v, 1, MAX_PUBS);
            } else if (strcmp(a, "--window") == 0) {
                o->window = (long)num_arg(a, v, 1, 1000000);
            } else if (strcmp(a, "--duration") == 0) {
                o->duration = num_arg(a, v, 0, 86400);
            } else if (strcmp(a, "--payload") == 0) {
                o->payload = (long)num_arg(a, v, 0, 65536);
            } else if (strcmp(a, "--settle") == 0) {
                o->settle = num_arg(a, v, 0, 3600);
            } else if (strcmp(a, "--drain") == 0) {
                o->drain = num_arg(a, v, 0, 3600);
            } else if (strcmp(a, "--connect-timeout") == 0) {
                o->connect_timeout = num_arg(a, v, 0.1, 3600);
            } else if (strcmp(a, "--connect-batch") == 0) {
                o->connect_batch = (long)num_arg(a, v, 1, 100000);
            } else if (strcmp(a, "--procs") == 0) {
                o->procs = (int)num_arg(a, v, 1, MAX_PROCS);
            } else if (strcmp(a, "--pid") == 0) {
                o->server_pid = (long)num_arg(a, v, 1, 1e9);
            } else if (strcmp(a, "--label") == 0) {
                o->label = v;
            } else {
                fprintf(stderr, "ssebench: %s: unknown flag (see --help)\n", a);
                exit(2);
            }
        }
    }
    if (o->pub_port == 0)
        o->pub_port = o->port;
    if (o->port == 0) {
        fprintf(stderr, "ssebench: --port is required (see --help)\n");
        exit(2);
    }
    o->sub_path = sub_path ? sub_path : nchan ? "/sub/%s" : "/.well-known/mercure?topic=%s";
    o->pub_path = pub_path ? pub_path : nchan ? "/pub/%s" : "/.well-known/mercure";
    o->pub_form = body ? strcmp(body, "form") == 0 : !nchan;
    if (strstr(o->sub_path, "%s") == NULL || strstr(o->pub_path, "%") != strstr(o->pub_path, "%s"))
        die("--sub-path needs one %s; --pub-path may have one %s and no other %");
    if (o->procs == 0) {
        /* One per 15,000 subscribers (open files), and at least one per CPU: a single
         * receiving process would bound the latency of a server that sends from several
         * threads at once (measured: docs/benchmarks.md, 10 msg/s). */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        o->procs = (int)((o->subs + 14999) / 15000);
        if (cpus > o->procs && (long)o->subs >= cpus)
            o->procs = (int)(cpus < MAX_PROCS ? cpus : MAX_PROCS);
    }
    if (o->procs < 1)
        o->procs = 1;
}

static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

typedef struct result_s {
    proc_fig_t before, idle, pub_start, pub_end;
    int have_pid;
    double connect_s, pub_s, deliver_s;
    totals_t tot;
    uint64_t hist[HIST_N];
    uint64_t max_us, samples;
    uint64_t scheduled; /* fixed rate: the publishes the rate asked for */
} result_t;

static double percentile(const result_t *r, double q)
{
    uint64_t want, seen = 0;
    unsigned i;

    if (r->samples == 0)
        return 0;
    want = (uint64_t)(q * (double)r->samples + 0.5);
    if (want == 0)
        want = 1;
    for (i = 0; i < HIST_N; i++) {
        seen += r->hist[i];
        if (seen >= want) {
            uint64_t v = hist_value(i);

            return (double)(v < r->max_us ? v : r->max_us) / 1000.0;
        }
    }
    return (double)r->max_us / 1000.0;
}

static void progress(const opts_t *o, uint64_t t0, pubstate_t *ps, const char *phase)
{
    totals_t t;
    char a[32], b[32];
    double el = (double)(now_ns() - t0) / 1e9;

    if (o->quiet)
        return;
    sum_shards(o->procs, &t);
    human((double)t.deliveries, a, sizeof(a));
    human(ps ? (double)ps->expected : 0, b, sizeof(b));
    fprintf(stderr,
            "%s[%6.1fs] %-8s subs %" PRIu64 "/%ld (failed %" PRIu64 ") | published %" PRIu64
            " (accepted %" PRIu64 ") | delivered %s/%s   %s",
            isatty(2) ? "\r" : "", el, phase, t.connected, o->subs, fails_total(&t),
            ps ? ps->seq : 0, ps ? ps->accepted : 0, a, b, isatty(2) ? "" : "\n");
}

int main(int argc, char **argv)
{
    opts_t o;
    result_t r;
    pubstate_t *ps;
    pid_t pids[MAX_PROCS];
    size_t shm_size;
    uint64_t t_start, t_last_progress = 0, deadline;
    int i, status = 0, pubs_ok = 1;
    char a[32];

    parse_opts(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    memset(&r, 0, sizeof(r));
    shm_size = sizeof(shm_t) + (size_t)o.topics * sizeof(uint32_t);
    shm = mmap(NULL, shm_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        die("mmap failed");
    topic_subs = (_Atomic uint32_t *)(shm + 1);
    r.have_pid = proc_figures(o.server_pid, &r.before) == 0;
    if (o.server_pid > 0 && !r.have_pid) {
        fprintf(stderr, "ssebench: --pid %ld: no such process\n", o.server_pid);
        return 2;
    }

    t_start = now_ns();
    fflush(NULL);
    for (i = 0; i < o.procs; i++) {
        size_t first = (size_t)o.subs * (size_t)i / (size_t)o.procs;
        size_t last = (size_t)o.subs * (size_t)(i + 1) / (size_t)o.procs;

        pids[i] = fork();
        if (pids[i] < 0)
            die("fork failed");
        if (pids[i] == 0)
            sub_worker(&o, i, first, last - first);
    }

    /* Phase 1: connect. */
    for (;;) {
        totals_t t;

        sum_shards(o.procs, &t);
        if (t.done)
            break;
        if (now_ns() - t_last_progress > 1000000000u) {
            t_last_progress = now_ns();
            progress(&o, t_start, NULL, "connect");
        }
        usleep(20000);
    }
    r.connect_s = (double)(now_ns() - t_start) / 1e9;
    usleep((useconds_t)(o.settle * 1e6));
    if (r.have_pid)
        proc_figures(o.server_pid, &r.idle);

    /* Phase 2: publish. */
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        die("out of memory");
    ps->o = &o;
    memset(ps->padding, 'x', sizeof(ps->padding));
    if (o.duration > 0) {
        struct epoll_event evs[64];
        uint64_t t0, t_end, next_send, interval;
        size_t rr = 0;

        ps->epfd = epoll_create1(EPOLL_CLOEXEC);
        ps->pubs = calloc((size_t)o.pub_conns, sizeof(*ps->pubs));
        if (ps->pubs == NULL)
            die("out of memory");
        ps->dst.sin_family = AF_INET;
        ps->dst.sin_port = htons((uint16_t)o.pub_port);
        inet_pton(AF_INET, o.host, &ps->dst.sin_addr);
        for (i = 0; i < o.pub_conns; i++) {
            if (pub_connect(ps, &ps->pubs[i]) != 0) {
                fprintf(stderr, "ssebench: publisher: cannot connect: %s\n", strerror(errno));
                pubs_ok = 0;
            }
        }
        if (r.have_pid)
            proc_figures(o.server_pid, &r.pub_start);
        t0 = now_ns();
        t_end = t0 + (uint64_t)(o.duration * 1e9);
        interval = o.rate > 0 ? (uint64_t)(1e9 / o.rate) : 0;
        next_send = t0;
        while (pubs_ok) {
            uint64_t now = now_ns();
            int n, k, timeout = 10;

            if (now >= t_end)
                break;
            if (o.rate > 0) {
                /* Fixed rate: one publish per interval, on the next idle connection. */
                while (next_send <= now) {
                    int tries;

                    for (tries = 0; tries < o.pub_conns; tries++) {
                        pub_t *p = &ps->pubs[rr++ % (size_t)o.pub_conns];

                        if (!p->busy && p->fd >= 0) {
                            pub_send(ps, p);
                            break;
                        }
                    }
                    if (tries == o.pub_conns)
                        break; /* all busy: send when one is free */
                    next_send += interval;
                }
                /* Behind (every connection waits for a response): epoll wakes us when
                 * one arrives; no spinning on the CPUs the server needs. */
                timeout = next_send > now ? (int)((next_send - now) / 1000000u) : 10;
            } else {
                totals_t t;
                uint64_t cap = (uint64_t)o.window * (uint64_t)o.subs, got;

                sum_shards(o.procs, &t);
                got = t.deliveries < ps->expected ? t.deliveries : ps->expected;
                for (i = 0; i < o.pub_conns; i++) {
                    pub_t *p = &ps->pubs[i];

                    /* Closed loop: the next publish once the last is answered and the
                     * events in flight (published, not yet received) are under the window. */
                    if (!p->busy && p->fd >= 0 && ps->expected - got < cap)
                        pub_send(ps, p);
                }
                timeout = 1;
            }
            n = epoll_wait(ps->epfd, evs, 64, timeout);
            for (k = 0; k < n; k++) {
                pub_t *p = evs[k].data.ptr;

                if (evs[k].events & EPOLLOUT) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};

                    epoll_ctl(ps->epfd, EPOLL_CTL_MOD, p->fd, &ev);
                    pub_try_send(ps, p);
                }
                if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    int rc;

                    while ((rc = pub_read(ps, p)) == 1)
                        ;
                    if (rc < 0) {
                        ps->pub_errors++;
                        close(p->fd);
                        p->fd = -1;
                        if (pub_connect(ps, p) != 0)
                            pubs_ok = 0;
                    }
                }
            }
            if (now_ns() - t_last_progress > 1000000000u) {
                t_last_progress = now_ns();
                progress(&o, t_start, ps, "publish");
            }
        }
        /* Responses still out: wait for them (they count if accepted). */
        deadline = now_ns() + 5000000000u;
        for (;;) {
            int busy = 0, n, k;

            for (i = 0; i < o.pub_conns; i++)
                busy += ps->pubs[i].busy && ps->pubs[i].fd >= 0;
            if (busy == 0 || now_ns() > deadline)
                break;
            n = epoll_wait(ps->epfd, evs, 64, 10);
            for (k = 0; k < n; k++) {
                pub_t *p = evs[k].data.ptr;

                if (evs[k].events & EPOLLOUT)
                    pub_try_send(ps, p);
                if (pub_read(ps, p) < 0) {
                    close(p->fd);
                    p->fd = -1;
                }
            }
        }
        if (o.rate > 0)
            r.scheduled = (uint64_t)(o.rate * o.duration + 0.5);
        r.pub_s = (double)(now_ns() - t0) / 1e9;
        /* Phase 3: drain. */
        deadline = now_ns() + (uint64_t)(o.drain * 1e9);
        for (;;) {
            totals_t t;

            sum_shards(o.procs, &t);
            if (t.deliveries >= ps->expected || now_ns() > deadline)
                break;
            if (now_ns() - t_last_progress > 1000000000u) {
                t_last_progress = now_ns();
                progress(&o, t_start, ps, "drain");
            }
            usleep(1000);
        }
        r.deliver_s = (double)(now_ns() - t0) / 1e9;
        if (r.have_pid)
            proc_figures(o.server_pid, &r.pub_end);
        for (i = 0; i < o.pub_conns; i++)
            if (ps->pubs[i].fd >= 0)
                close(ps->pubs[i].fd);
        progress(&o, t_start, ps, "done");
    }
    if (!o.quiet && isatty(2))
        fputc('\n', stderr);

    /* Phase 4: stop the subscribers, gather the histograms. */
    sum_shards(o.procs, &r.tot); /* the drops counted before the subscribers close */
    atomic_store(&shm->stop, 1);
    for (i = 0; i < o.procs; i++) {
        int st;

        waitpid(pids[i], &st, 0);
    }
    {
        uint64_t deliveries = 0;
        unsigned b;

        for (i = 0; i < o.procs; i++) {
            shard_t *s = &shm->shards[i];

            deliveries += s->deliveries;
            for (b = 0; b < HIST_N; b++) {
                r.hist[b] += s->hist[b];
                r.samples += s->hist[b];
            }
            if (s->max_us > r.max_us)
                r.max_us = s->max_us;
        }
        r.tot.deliveries = deliveries;
    }

    /* Report. */
    {
        uint64_t failed = fails_total(&r.tot);
        double cpu = r.pub_end.cpu_s - r.pub_start.cpu_s;
        double mem_per_sub = r.tot.connected > 0 ? (r.idle.mem_kb - r.before.mem_kb) * 1024.0 /
                                                       (double)r.tot.connected
                                                 : 0;
        double ratio = ps->expected > 0 ? (double)r.tot.deliveries / (double)ps->expected : 1;
        int ok = failed == 0 && r.tot.connected == (uint64_t)o.subs &&
                 r.tot.deliveries == ps->expected && ps->rejected == 0 && pubs_ok;

        if (o.json) {
            printf("{\"label\":\"%s\",\"subs\":%ld,\"topics\":%ld,\"rate\":%g,\"pub_conns\":%d,"
                   "\"duration_s\":%.3f,\"payload\":%ld,\"procs\":%d,"
                   "\"connected\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"fail_reasons\":{",
                   o.label, o.subs, o.topics, o.rate, o.pub_conns, r.pub_s, o.payload, o.procs,
                   r.tot.connected, failed);
            for (i = 0; i < F_COUNT; i++)
                printf("%s\"%s\":%" PRIu64, i ? "," : "", fail_names[i], r.tot.fails[i]);
            printf("},\"connect_s\":%.3f,\"published\":%" PRIu64 ",\"accepted\":%" PRIu64
                   ",\"rejected\":%" PRIu64 ",\"scheduled\":%" PRIu64
                   ",\"publishes_per_s\":%.1f,\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
                   ",\"delivered_ratio\":%.6f,\"deliveries_per_s\":%.1f,"
                   "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
                   r.connect_s, ps->seq, ps->accepted, ps->rejected, r.scheduled,
                   r.pub_s > 0 ? (double)ps->accepted / r.pub_s : 0, ps->expected, r.tot.deliveries,
                   ratio, r.deliver_s > 0 ? (double)r.tot.deliveries / r.deliver_s : 0,
                   percentile(&r, 0.5), percentile(&r, 0.9), percentile(&r, 0.99),
                   (double)r.max_us / 1000.0);
            if (r.have_pid)
                printf(",\"server\":{\"pid\":%ld,\"mem_kb_before\":%.0f,\"mem_kb_idle\":%.0f,"
                       "\"rss_kb_idle\":%.0f,\"mem_bytes_per_sub\":%.1f,\"cpu_s\":%.3f,"
                       "\"deliveries_per_cpu_s\":%.1f,\"publishes_per_cpu_s\":%.1f}",
                       o.server_pid, r.before.mem_kb, r.idle.mem_kb, r.idle.rss_kb, mem_per_sub,
                       cpu, cpu > 0 ? (double)r.tot.deliveries / cpu : 0,
                       cpu > 0 ? (double)ps->accepted / cpu : 0);
            printf(",\"ok\":%s}\n", ok ? "true" : "false");
        } else {
            printf("ssebench %s\n", o.label);
            printf("  subscribers   %" PRIu64 "/%ld connected in %.2fs, %" PRIu64 " failed",
                   r.tot.connected, o.subs, r.connect_s, failed);
            for (i = 0; i < F_COUNT; i++) {
                if (r.tot.fails[i] == 0)
                    continue;
                printf(" [%s: %" PRIu64, fail_names[i], r.tot.fails[i]);
                {
                    int e = 0, k;

                    for (k = 0; k < o.procs; k++)
                        if (shm->shards[k].last_errno[i] != 0)
                            e = shm->shards[k].last_errno[i];
                    if (e != 0)
                        printf(", %s", strerror(e));
                    if (i == F_STATUS)
                        for (k = 0; k < o.procs; k++)
                            if (shm->shards[k].last_status != 0)
                                printf(", HTTP %d", shm->shards[k].last_status);
                }
                printf("]");
            }
            printf("\n");
            if (o.duration > 0) {
                printf("  published     %" PRIu64 " in %.2fs: %" PRIu64
                       " accepted (%.1f/s), %" PRIu64 " rejected",
                       ps->seq, r.pub_s, ps->accepted,
                       r.pub_s > 0 ? (double)ps->accepted / r.pub_s : 0, ps->rejected);
                if (ps->rejected)
                    printf(" (last HTTP %d)", ps->last_reject_status);
                if (r.scheduled > ps->seq)
                    printf("; %" PRIu64 " of the %" PRIu64 " the rate asked for were not sent "
                           "(every publisher waited for a response)",
                           r.scheduled - ps->seq, r.scheduled);
                printf("\n");
                human(r.deliver_s > 0 ? (double)r.tot.deliveries / r.deliver_s : 0, a, sizeof(a));
                printf("  delivered     %" PRIu64 "/%" PRIu64 " (%.6f) in %.2fs: %s/s\n",
                       r.tot.deliveries, ps->expected, ratio, r.deliver_s, a);
                printf("  latency ms    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
                       percentile(&r, 0.5), percentile(&r, 0.9), percentile(&r, 0.99),
                       (double)r.max_us / 1000.0);
            }
            if (r.have_pid) {
                printf("  server        pid %ld: memory %.0f kB idle (%.0f before): %.0f "
                       "bytes/subscriber\n",
                       o.server_pid, r.idle.mem_kb, r.before.mem_kb, mem_per_sub);
                if (o.duration > 0) {
                    human(cpu > 0 ? (double)r.tot.deliveries / cpu : 0, a, sizeof(a));
                    printf("  server CPU    %.2fs: %s deliveries per CPU-second\n", cpu, a);
                }
            }
        }
        if (o.expect_all && !ok) {
            fprintf(stderr, "ssebench: not every subscriber connected or not every event "
                            "arrived\n");
            status = 1;
        }
    }
    if (ps->epfd > 0)
        close(ps->epfd);
    free(ps->pubs);
    free(ps);
    munmap(shm, shm_size);
    return status;
}
