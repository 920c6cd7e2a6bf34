/* SPDX-License-Identifier: MIT */
/*
 * publish_ack: acknowledged publishes per second. N keep-alive connections (64 by
 * default), the publishers, each keep --pipeline form POSTs to /.well-known/mercure in
 * flight (1 by default: send, wait for the complete answer, send the next; more: HTTP/1.1
 * pipelining, a new request for each answer). One thread multiplexes them with poll().
 * Counts the 200 answers over a fixed time after a warm-up; any other status is counted
 * apart and makes the run fail.
 *
 * Usage: publish_ack --port PORT [--conns N] [--pipeline D] [--seconds S] [--warmup S]
 *                    [--size BYTES] [--topics N] [--nchan]
 * --nchan: POST /pub/benchN with the data as the body (Nchan's publisher), and count its
 * 201 and 202 answers (delivered, or stored with no subscriber) as acknowledged.
 * Prints one line: "conns=64 pipeline=1 seconds=5.00 acked=... errors=0 rate=... /s".
 */
#define _GNU_SOURCE 1 /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/str.h"

#define MAX_CONNS 1024

#define MAX_PIPELINE 64

typedef struct {
    int fd;
    char req[4096];
    size_t req_len;
    char out[4096 * MAX_PIPELINE];
    size_t out_len, sent; /* requests queued, bytes of them written */
    char resp[65536];
    size_t resp_len;
    unsigned long inflight; /* requests sent or queued, not answered */
} conn_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long arg_num(const char *flag, const char *v)
{
    uint64_t n;

    if (v == NULL || sh_parse_u64(v, strlen(v), &n) != 0) {
        fprintf(stderr, "publish_ack: %s needs a number\n", flag);
        exit(2);
    }
    return (unsigned long)n;
}

static int nchan; /* --nchan */

static void make_request(conn_t *c, unsigned idx, unsigned topics, size_t size)
{
    char body[2048];
    size_t n, i;

    if (nchan) {
        for (n = 0; n < size && n < sizeof(body) - 1; n++)
            body[n] = 'a' + (char)(n % 26);
        body[n] = '\0';
        c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
                                      "POST /pub/bench%u HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Content-Type: text/plain\r\n"
                                      "Content-Length: %zu\r\n\r\n%s",
                                      idx % topics, n, body);
        return;
    }
    n = (size_t)snprintf(body, sizeof(body), "topic=bench%u&data=", idx % topics);
    for (i = 0; i < size && n < sizeof(body) - 1; i++)
        body[n++] = 'a' + (char)(i % 26);
    body[n] = '\0';
    c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
                                  "POST /.well-known/mercure HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Content-Type: application/x-www-form-urlencoded\r\n"
                                  "Content-Length: %zu\r\n\r\n%s",
                                  n, body);
}

static int open_conn(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* A complete response at the start of c->resp: its length, or 0 when incomplete. Sets
 * |*status|. */
static size_t response_len(const conn_t *c, int *status)
{
    const char *end, *cl;
    size_t head, body = 0;

    if (c->resp_len < 12)
        return 0;
    end = memmem(c->resp, c->resp_len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    head = (size_t)(end - c->resp) + 4;
    cl = memmem(c->resp, head, "Content-Length: ", 16);
    if (cl != NULL)
        body = strtoul(cl + 16, NULL, 10);
    if (c->resp_len < head + body)
        return 0;
    *status = (c->resp[9] - '0') * 100 + (c->resp[10] - '0') * 10 + (c->resp[11] - '0');
    return head + body;
}

int main(int argc, char **argv)
{
    static conn_t conns[MAX_CONNS];
    static struct pollfd pfd[MAX_CONNS];
    unsigned long nconns = 64, port = 0, topics = 16, size = 64, depth = 1;
    double seconds = 5, warmup = 1, t0, t_start = 0, t_end;
    unsigned long acked = 0, errors = 0;
    int counting = 0, i;

    for (i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--port") == 0)
            port = arg_num("--port", v);
        else if (strcmp(argv[i], "--conns") == 0)
            nconns = arg_num("--conns", v);
        else if (strcmp(argv[i], "--pipeline") == 0)
            depth = arg_num("--pipeline", v);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = (double)arg_num("--seconds", v);
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = (double)arg_num("--warmup", v);
        else if (strcmp(argv[i], "--size") == 0)
            size = arg_num("--size", v);
        else if (strcmp(argv[i], "--topics") == 0)
            topics = arg_num("--topics", v);
        else if (strcmp(argv[i], "--nchan") == 0) {
            nchan = 1;
            continue;
        } else {
            fprintf(stderr, "usage: publish_ack --port PORT [--conns N] [--pipeline D] "
                            "[--seconds S] [--warmup S] [--size BYTES] [--topics N] [--nchan]\n");
            return 2;
        }
        i++;
    }
    if (port == 0 || nconns == 0 || nconns > MAX_CONNS || topics == 0 || size > 1500 ||
        depth == 0 || depth > MAX_PIPELINE) {
        fprintf(stderr,
                "publish_ack: --port is required; --conns 1..%d; --pipeline 1..%d; --size "
                "<= 1500\n",
                MAX_CONNS, MAX_PIPELINE);
        return 2;
    }
    for (i = 0; i < (int)nconns; i++) {
        conns[i].fd = open_conn((int)port);
        if (conns[i].fd < 0) {
            fprintf(stderr, "publish_ack: connect to 127.0.0.1:%lu: %s\n", port, strerror(errno));
            return 1;
        }
        make_request(&conns[i], (unsigned)i, (unsigned)topics, size);
        pfd[i].fd = conns[i].fd;
        pfd[i].events = POLLIN | POLLOUT;
    }
    t0 = now_s();
    t_end = t0 + warmup + seconds;
    for (;;) {
        double t = now_s();

        if (!counting && t >= t0 + warmup) {
            counting = 1;
            t_start = t;
        }
        if (t >= t_end)
            break;
        if (poll(pfd, nconns, 100) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        for (i = 0; i < (int)nconns; i++) {
            conn_t *c = &conns[i];
            ssize_t r;

            if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                fprintf(stderr, "publish_ack: connection %d closed by the hub\n", i);
                return 1;
            }
            if (pfd[i].revents & POLLIN) {
                size_t len;
                int status = 0;

                r = read(c->fd, c->resp + c->resp_len, sizeof(c->resp) - c->resp_len);
                if (r <= 0) {
                    fprintf(stderr, "publish_ack: connection %d: read failed\n", i);
                    return 1;
                }
                c->resp_len += (size_t)r;
                while ((len = response_len(c, &status)) > 0) {
                    if (counting)
                        (status == 200 || (nchan && (status == 201 || status == 202))) ? acked++
                                                                                       : errors++;
                    memmove(c->resp, c->resp + len, c->resp_len - len);
                    c->resp_len -= len;
                    c->inflight--;
                }
            }
            /* Top the pipeline up, then write what is queued. */
            if (c->sent == c->out_len) {
                c->sent = c->out_len = 0;
                while (c->inflight < depth) {
                    memcpy(c->out + c->out_len, c->req, c->req_len);
                    c->out_len += c->req_len;
                    c->inflight++;
                }
            }
            if (c->sent < c->out_len) {
                r = write(c->fd, c->out + c->sent, c->out_len - c->sent);
                if (r > 0)
                    c->sent += (size_t)r;
            }
            pfd[i].events = POLLIN | (c->sent < c->out_len ? POLLOUT : 0);
        }
    }
    t_end = now_s();
    printf("conns=%lu pipeline=%lu seconds=%.2f acked=%lu errors=%lu rate=%.0f /s\n", nconns, depth,
           t_end - t_start, acked, errors, (double)acked / (t_end - t_start));
    return errors == 0 ? 0 : 1;
}
