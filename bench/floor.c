/* SPDX-License-Identifier: MIT */
/*
 * sse_floor: the cost of an SSE fan-out with no features at all, the floor the hub is
 * measured against (docs/benchmarks.md). One thread, one epoll loop. It speaks just
 * enough of ssehub's protocol for ssebench:
 *   GET  ...?topic=T          an event stream of topic T (one topic per subscriber)
 *   POST ... topic=T&data=D   publishes "id: N\ndata: D\n\n" to T; answers N
 * Frames published during a loop round are appended to their topic's round buffer; at
 * the end of the round each subscriber of a touched topic gets that buffer with one
 * write(). A subscriber whose socket is full keeps the rest in its own buffer (EPOLLOUT).
 * No history, no heartbeats, no limits, no authorisation: not a server to deploy.
 *
 * Usage: sse_floor [--listen ADDR:PORT]   (prints "listening on ADDR:PORT" on stderr)
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX     (1024 * 1024 + 16384)
#define TOPIC_SLOTS 65536

typedef struct topic_s topic_t;

typedef struct conn_s {
    int fd;
    int is_sub;
    char *in; /* request bytes (not held by a subscriber) */
    size_t in_len, in_cap;
    topic_t *topic; /* subscribers */
    struct conn_s *prev, *next;
    char *pend; /* bytes the socket did not take */
    size_t pend_len, pend_cap;
} conn_t;

struct topic_s {
    char *name;
    size_t name_len;
    topic_t *chain;
    conn_t *subs;
    char *round; /* frames published this round */
    size_t round_len, round_cap;
    topic_t *next_touched;
    int touched;
};

static topic_t *topics[TOPIC_SLOTS];
static topic_t *touched;
static uint64_t next_id = 1;
static int epfd;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fputs("sse_floor: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static void append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2 + 256;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

static topic_t *topic_get(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    topic_t *t;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    for (t = topics[h % TOPIC_SLOTS]; t != NULL; t = t->chain)
        if (t->name_len == len && memcmp(t->name, name, len) == 0)
            return t;
    t = xrealloc(NULL, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->name = xrealloc(NULL, len + 1);
    memcpy(t->name, name, len);
    t->name_len = len;
    t->chain = topics[h % TOPIC_SLOTS];
    topics[h % TOPIC_SLOTS] = t;
    return t;
}

static void conn_close(conn_t *c)
{
    if (c->is_sub && c->topic != NULL) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            c->topic->subs = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
    }
    close(c->fd);
    free(c->in);
    free(c->pend);
    free(c);
}

/* Writes |p| to |c|, or queues what the socket does not take. */
static void send_or_queue(conn_t *c, const char *p, size_t n)
{
    ssize_t w = 0;

    if (c->pend_len == 0) {
        w = write(c->fd, p, n);
        if (w < 0) {
            if (errno != EAGAIN)
                return; /* the read side closes it */
            w = 0;
        }
        if ((size_t)w == n)
            return;
        {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};

            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }
    append(&c->pend, &c->pend_len, &c->pend_cap, p + w, n - (size_t)w);
}

static void flush_pending(conn_t *c)
{
    ssize_t w = write(c->fd, c->pend, c->pend_len);

    if (w <= 0)
        return;
    memmove(c->pend, c->pend + w, c->pend_len - (size_t)w);
    c->pend_len -= (size_t)w;
    if (c->pend_len == 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes form value |p|..|end| in place; returns the new length. */
static size_t form_decode(char *p, const char *end)
{
    char *w = p;
    const char *r = p;

    while (r < end) {
        if (*r == '+') {
            *w++ = ' ';
            r++;
        } else if (*r == '%' && end - r >= 3 && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    return (size_t)(w - p);
}

/* Finds field |name| in form |p|..|end|; decodes it in place. */
static int form_field(char *p, char *end, const char *name, char **val, size_t *len)
{
    size_t nl = strlen(name);

    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p));
        char *fe = amp != NULL ? amp : end;

        if ((size_t)(fe - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            *val = p + nl + 1;
            *len = form_decode(*val, fe);
            return 1;
        }
        p = fe + 1;
    }
    return 0;
}

static void respond(conn_t *c, int status, const char *body)
{
    char out[256];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                     status, status == 200 ? "OK" : "Error", strlen(body), body);

    send_or_queue(c, out, (size_t)n);
}

static void subscribe(conn_t *c, char *query, char *qend)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\nConnection: close\r\n\r\n:\n\n";
    char *name;
    size_t len;

    if (query == NULL || !form_field(query, qend, "topic", &name, &len)) {
        respond(c, 400, "missing topic\n");
        return;
    }
    c->topic = topic_get(name, len);
    c->is_sub = 1;
    c->next = c->topic->subs;
    c->prev = NULL;
    if (c->next != NULL)
        c->next->prev = c;
    c->topic->subs = c;
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    send_or_queue(c, head, sizeof(head) - 1);
}

static void publish(conn_t *c, char *body, size_t len)
{
    char *name, *data, num[32], frame_head[48];
    size_t nlen, dlen;
    topic_t *t;
    int n, h;

    if (!form_field(body, body + len, "topic", &name, &nlen) ||
        !form_field(body, body + len, "data", &data, &dlen) || memchr(data, '\n', dlen) != NULL) {
        respond(c, 400, "need topic and one line of data\n");
        return;
    }
    t = topic_get(name, nlen);
    h = snprintf(frame_head, sizeof(frame_head), "id: %" PRIu64 "\ndata: ", next_id);
    append(&t->round, &t->round_len, &t->round_cap, frame_head, (size_t)h);
    append(&t->round, &t->round_len, &t->round_cap, data, dlen);
    append(&t->round, &t->round_len, &t->round_cap, "\n\n", 2);
    if (!t->touched) {
        t->touched = 1;
        t->next_touched = touched;
        touched = t;
    }
    n = snprintf(num, sizeof(num), "%" PRIu64, next_id++);
    (void)n;
    respond(c, 200, num);
}

/* Handles the complete requests in c->in. Returns -1 to close. */
static int handle_requests(conn_t *c)
{
    while (!c->is_sub && c->in_len > 0) {
        char *eoh, *sp1, *sp2, *cl, *q;
        size_t head_len, body_len = 0;

        c->in[c->in_len] = '\0';
        eoh = strstr(c->in, "\r\n\r\n");
        if (eoh == NULL)
            return c->in_len >= REQ_MAX - 1 ? -1 : 0;
        head_len = (size_t)(eoh + 4 - c->in);
        cl = strcasestr(c->in, "\r\ncontent-length:");
        if (cl != NULL && cl < eoh)
            body_len = strtoul(cl + 17, NULL, 10);
        if (body_len > REQ_MAX - 1 - head_len)
            return -1;
        if (c->in_len < head_len + body_len)
            return 0;
        sp1 = memchr(c->in, ' ', head_len);
        sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eoh - sp1 - 1)) : NULL;
        if (sp2 == NULL)
            return -1;
        if (strncmp(c->in, "GET ", 4) == 0) {
            q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
            subscribe(c, q != NULL ? q + 1 : NULL, sp2);
            return 0;
        }
        if (strncmp(c->in, "POST ", 5) == 0)
            publish(c, c->in + head_len, body_len);
        else
            respond(c, 405, "GET or POST\n");
        memmove(c->in, c->in + head_len + body_len, c->in_len - head_len - body_len);
        c->in_len -= head_len + body_len;
    }
    return 0;
}

static void on_readable(conn_t *c)
{
    char scratch[4096];
    ssize_t n;

    if (c->is_sub) {
        n = read(c->fd, scratch, sizeof(scratch));
    } else {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap == 0 ? 32768 : c->in_cap * 2;
            if (c->in_cap > REQ_MAX)
                c->in_cap = REQ_MAX;
            c->in = xrealloc(c->in, c->in_cap);
        }
        n = read(c->fd, c->in + c->in_len, c->in_cap - 1 - c->in_len);
    }
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    if (!c->is_sub) {
        c->in_len += (size_t)n;
        if (handle_requests(c) != 0)
            conn_close(c);
    }
}

/* The end of a round: each touched topic's frames, one write per subscriber. */
static void flush_round(void)
{
    while (touched != NULL) {
        topic_t *t = touched;
        conn_t *c, *next;

        touched = t->next_touched;
        t->touched = 0;
        for (c = t->subs; c != NULL; c = next) {
            next = c->next;
            send_or_queue(c, t->round, t->round_len);
        }
        t->round_len = 0;
    }
}

int main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:0";
    struct sockaddr_in sa;
    struct rlimit rl;
    char host[64];
    const char *colon;
    int lfd, one = 1;
    socklen_t slen = sizeof(sa);
    static struct epoll_event evs[1024];
    static int listener_tag;

    if (argc == 3 && strcmp(argv[1], "--listen") == 0) {
        listen_at = argv[2];
    } else if (argc != 1) {
        fputs("usage: sse_floor [--listen ADDR:PORT]\n", stderr);
        return 2;
    }
    colon = strrchr(listen_at, ':');
    if (colon == NULL || (size_t)(colon - listen_at) >= sizeof(host)) {
        fputs("sse_floor: --listen ADDR:PORT\n", stderr);
        return 2;
    }
    memcpy(host, listen_at, (size_t)(colon - listen_at));
    host[colon - listen_at] = '\0';
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fputs("sse_floor: --listen: not an IPv4 address\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4096) != 0) {
        perror("sse_floor: listen");
        return 1;
    }
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof(host));
    fprintf(stderr, "sse_floor: listening on %s:%u (open files: %llu)\n", host, ntohs(sa.sin_port),
            (unsigned long long)rl.rlim_cur);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};

        epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    }
    for (;;) {
        int n = epoll_wait(epfd, evs, 1024, -1), i;

        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == &listener_tag) {
                int fd;

                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    conn_t *c = xrealloc(NULL, sizeof(*c));
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

                    memset(c, 0, sizeof(*c));
                    c->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT)
                flush_pending(evs[i].data.ptr);
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(evs[i].data.ptr);
        }
        flush_round();
    }
}
