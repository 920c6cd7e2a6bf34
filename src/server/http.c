/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 connections: reading requests with llhttp (keep-alive and pipelining), the
 * limits (--max-header, --max-body, --header-timeout, --max-connections), routing, and
 * the write path shared by responses and event streams: a queue of shared frames
 * written with writev (uv_try_write first; uv_write only for what the socket would not
 * take at once).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "proto/mercure.h"
#include "server/log.h"
#include "server/server.h"
#include "server/ui.h"
#include "ssehub/errno.h"

#define SH_MAX_IOV      64
#define SH_PAUSE_OUTPUT (256 * 1024) /* stop reading requests past this much output */
#define SH_LINGER_MS    2000         /* after a final response: wait for the peer's FIN */
#define SH_HNAME_MAX    256

enum { H_NONE = 0, H_CTYPE, H_LAST_EVENT_ID, H_ORIGIN, H_EXPECT, H_HOST, H_TE, H_AUTHZ, H_COOKIE };

static int on_message_begin(llhttp_t *p);
static int on_url(llhttp_t *p, const char *at, size_t len);
static int on_header_field(llhttp_t *p, const char *at, size_t len);
static int on_header_field_complete(llhttp_t *p);
static int on_header_value(llhttp_t *p, const char *at, size_t len);
static int on_header_value_complete(llhttp_t *p);
static int on_headers_complete(llhttp_t *p);
static int on_body(llhttp_t *p, const char *at, size_t len);
static int on_chunk_header(llhttp_t *p);
static int on_chunk_complete(llhttp_t *p);
static int on_message_complete(llhttp_t *p);

static llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
    .on_message_complete = on_message_complete,
};

static const char *status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* ---- Connection life. */

static void req_init(sh_req_t *r, const sh_config_t *cfg)
{
    size_t mh = (size_t)cfg->max_header;

    sh_buf_init(&r->url, mh);
    sh_buf_init(&r->hname, SH_HNAME_MAX);
    sh_buf_init(&r->ctype, mh);
    sh_buf_init(&r->last_event_id, mh);
    sh_buf_init(&r->origin, mh);
    sh_buf_init(&r->authz, mh);
    sh_buf_init(&r->cookie, mh);
    sh_buf_init(&r->host, mh);
    sh_buf_init(&r->body, (size_t)cfg->max_body);
}

static void req_dispose(sh_req_t *r)
{
    sh_buf_dispose(&r->url);
    sh_buf_dispose(&r->hname);
    sh_buf_dispose(&r->ctype);
    sh_buf_dispose(&r->last_event_id);
    sh_buf_dispose(&r->origin);
    sh_buf_dispose(&r->authz);
    sh_buf_dispose(&r->cookie);
    sh_buf_dispose(&r->host);
    sh_buf_dispose(&r->body);
}

void sh_conn_drop_request(sh_conn_t *c)
{
    if (c->req == NULL)
        return;
    req_dispose(c->req);
    sh_buf_dispose(&c->req->pending);
    sh_free(c->req);
    c->req = NULL;
}

static void on_conn_closed(uv_handle_t *h)
{
    sh_conn_t *c = h->data;
    sh_worker_t *w = c->w;

    sh_authz_stream_closed(c); /* a subscription refused after its token was read */
    sh_sendq_dispose(&c->out);
    sh_conn_drop_request(c);
    atomic_fetch_sub_explicit(&w->metrics.connections, 1, memory_order_relaxed);
    sh_fd_release_slot(w->srv, c->slot);
    sh_free(c);
}

void sh_conn_close(sh_conn_t *c, int reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->reason = reason;
    if (c->pub_head != NULL)
        sh_publish_detach(c);
    if (c->state == SH_CONN_STREAM)
        sh_stream_closed(c);
    sh_list_remove(&c->all);
    sh_list_remove(&c->tq);
    sh_list_remove(&c->aq);
    sh_list_remove(&c->sq);
    sh_list_remove(&c->dq);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* Waits for the next request: the header timeout runs from now. */
static void begin_request(sh_conn_t *c)
{
    sh_worker_t *w = c->w;

    c->req->any_bytes = 0;
    c->deadline = sh_server_now(w) + (uint64_t)w->srv->cfg->header_timeout_ms;
    sh_list_push_back(&w->reading, &c->tq);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sh_conn_t *c = h->data;

    (void)suggested;
    /* One buffer per loop: a read is consumed in full before the next one starts. */
    buf->base = c->w->readbuf;
    buf->len = c->w->readbuf_size;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    sh_free(req);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* All output is written: a final response ends with a half-close, then we wait a little
 * for the peer to close (closing with unread input would reset the connection and
 * could destroy the response before the client read it). */
static void finish_closing(sh_conn_t *c)
{
    uv_shutdown_t *req = sh_malloc(sizeof(*req));

    if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        sh_free(req);
        sh_conn_close(c, c->reason);
        return;
    }
    c->deadline = sh_server_now(c->w) + SH_LINGER_MS;
    sh_list_push_back(&c->w->lingering, &c->tq);
    if (c->paused) {
        /* Reads stopped for output backpressure: read (and drop) again, or the peer's FIN
         * goes unseen until the deadline, and the close resets what input is left. */
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static void parser_init(llhttp_t *p);
static void feed(sh_conn_t *c, const char *data, size_t len);
static void stream_began(sh_conn_t *c);
static void resume_input(sh_conn_t *c);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sh_conn_t *c = s->data;

    if (nread < 0) {
        sh_conn_close(c, nread == UV_EOF ? SH_DISC_CLIENT : SH_DISC_ERROR);
        return;
    }
    if (nread == 0 || c->state != SH_CONN_READING)
        return; /* a stream's client has nothing to say; input while closing is dropped */
    feed(c, buf->base, (size_t)nread);
}

/* c->peer and c->is_loopback from the peer's address. */
static void format_peer(sh_conn_t *c, const struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", host, ntohs(in4->sin_port));
        c->is_loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, ntohs(in6->sin6_port));
        c->is_loopback =
            IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
            (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
    }
}

void sh_conn_accept(sh_worker_t *w, int fd, int slot)
{
    sh_server_t *srv = w->srv;
    sh_conn_t *c = sh_calloc(1, sizeof(*c));
    sh_req_t *req = sh_calloc(1, sizeof(*req));
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);

    if (c == NULL || req == NULL) {
        sh_free(c);
        sh_free(req);
        sh_log_error("accept: out of memory");
        sh_conn_refuse(w, fd, "out of memory, retry later");
        sh_fd_release_slot(srv, slot);
        return;
    }
    c->req = req;
    c->w = w;
    c->slot = (unsigned char)slot;
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    sh_list_init(&c->all);
    sh_list_init(&c->tq);
    sh_list_init(&c->aq);
    sh_list_init(&c->sq);
    sh_list_init(&c->dq);
    sh_list_init(&c->eq);
    req_init(c->req, srv->cfg);
    sh_buf_init(&c->req->pending, w->readbuf_size);
    sh_sendq_init(&c->out, (size_t)srv->cfg->send_buffer);
    atomic_fetch_add_explicit(&w->metrics.connections, 1, memory_order_relaxed);
    sh_list_push_back(&w->conns, &c->all);
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        uv_os_fd_t owned;

        if (uv_fileno((const uv_handle_t *)&c->tcp, &owned) != 0)
            close(fd); /* else uv_close closes it */
        sh_conn_close(c, SH_DISC_ERROR);
        return;
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0)
        format_peer(c, &ss);
    uv_tcp_nodelay(&c->tcp, 1);
    parser_init(&c->req->parser);
    c->req->parser.data = c;
    c->keep_alive = 1;
    begin_request(c);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void sh_conn_refuse(sh_worker_t *w, int fd, const char *reason)
{
    char resp[512];
    size_t blen = strlen(reason) + 1;
    int n, i;

    n = snprintf(resp, sizeof(resp),
                 "HTTP/1.1 503 Service Unavailable\r\nContent-Length: %zu\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n" SH_LINK_HEADER
                 "Retry-After: 1\r\nConnection: close\r\n\r\n%s\n",
                 blen, reason);
    if (n > 0 && (size_t)n < sizeof(resp))
        (void)send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL); /* an empty socket */
    /* Read what the client sent already: closing with unread input would send a reset,
     * which can destroy the answer before the client reads it. */
    for (i = 0; i < 4 && recv(fd, w->readbuf, w->readbuf_size, MSG_DONTWAIT) > 0; i++)
        ;
    shutdown(fd, SHUT_WR);
    close(fd);
    atomic_fetch_add_explicit(&w->metrics.rejected_total, 1, memory_order_relaxed);
    if (sh_access_log_enabled())
        sh_access_log("-", "-", "-", 1, 503, (unsigned long long)blen);
}

/* ---- Writing. */

static void on_write(uv_write_t *req, int status);

static size_t fill_bufs(sh_conn_t *c, uv_buf_t *bufs, size_t *total)
{
    sh_iov_t iov[SH_MAX_IOV];
    size_t n = sh_sendq_iov(&c->out, iov, SH_MAX_IOV), i;

    *total = 0;
    for (i = 0; i < n; i++) {
        bufs[i] = uv_buf_init((char *)iov[i].base, (unsigned)iov[i].len);
        *total += iov[i].len;
    }
    return n;
}

static void wrote(sh_conn_t *c, size_t n)
{
    sh_worker_t *w = c->w;

    sh_sendq_consume(&c->out, n);
    atomic_fetch_add_explicit(&w->metrics.bytes_sent_total, n, memory_order_relaxed);
    c->last_write = sh_server_now(w);
    if (c->state == SH_CONN_STREAM)
        sh_list_push_back(&w->streams_hb, &c->tq);
}

/*
 * uv_try_write() without the VFS: sendmsg() (send() for one buffer) on the socket, which
 * skips writev()'s file-position and fsnotify work on every delivery. Only called with
 * no libuv write in flight, as uv_try_write() would. Bytes written, or a UV_E* code.
 */
static ssize_t try_send(sh_conn_t *c, uv_buf_t *bufs, size_t n)
{
    uv_os_fd_t fd;
    ssize_t r;

    if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0)
        return UV_EBADF;
    do {
        if (n == 1) {
            r = send(fd, bufs[0].base, bufs[0].len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
            struct msghdr m;

            memset(&m, 0, sizeof(m));
            m.msg_iov = (struct iovec *)bufs; /* uv_buf_t is struct iovec's layout on Unix */
            m.msg_iovlen = n;
            r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : -errno;
    return r;
}

/* Whether publishes waiting for the store keep the next request from being parsed: one
 * waits unrouted, the connection is at its pipeline limit, or it is not keep-alive. */
static int publishes_block(const sh_conn_t *c)
{
    return c->route_deferred || (c->npub > 0 && (c->npub >= SH_PUB_PIPELINE || !c->keep_alive));
}

void sh_conn_flush(sh_conn_t *c)
{
    uv_buf_t bufs[SH_MAX_IOV];
    size_t n, total;
    ssize_t r;

    sh_list_remove(&c->dq);
    if (c->closing || c->writing)
        return;
    while (!sh_sendq_empty(&c->out)) {
        n = fill_bufs(c, bufs, &total);
        r = try_send(c, bufs, n);
        if (r == UV_EAGAIN || r == UV_ENOSYS)
            break;
        if (r < 0) {
            sh_conn_close(c, SH_DISC_ERROR);
            return;
        }
        wrote(c, (size_t)r);
        if ((size_t)r < total)
            break; /* the socket is full */
    }
    if (!sh_sendq_empty(&c->out)) {
        /* The socket is full: a write request, allocated now (an idle connection does
         * not hold one), frees itself in on_write. */
        uv_write_t *req = sh_malloc(sizeof(*req));

        n = fill_bufs(c, bufs, &c->wbytes);
        if (req == NULL) {
            sh_conn_close(c, SH_DISC_ERROR);
            return;
        }
        req->data = c;
        if (uv_write(req, (uv_stream_t *)&c->tcp, bufs, (unsigned)n, on_write) != 0) {
            sh_free(req);
            sh_conn_close(c, SH_DISC_ERROR);
            return;
        }
        c->writing = 1;
        c->stall_start = sh_server_now(c->w);
        sh_list_push_back(&c->w->stalled, &c->sq);
        return;
    }
    if (c->input_paused && c->state == SH_CONN_READING) {
        if (!publishes_block(c)) /* else answers to publishes come first */
            resume_input(c);
        return;
    }
    if (c->paused && c->state == SH_CONN_READING) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (c->state == SH_CONN_CLOSING && !sh_list_linked(&c->tq) && c->npub == 0)
        finish_closing(c); /* (answers to publishes first: sh_conn_publish_done) */
}

static void on_write(uv_write_t *req, int status)
{
    sh_conn_t *c = req->data;

    sh_free(req);
    c->writing = 0;
    if (c->closing)
        return;
    sh_list_remove(&c->sq);
    if (status < 0) {
        sh_conn_close(c, SH_DISC_ERROR);
        return;
    }
    wrote(c, c->wbytes);
    sh_conn_flush(c);
}

int sh_conn_queue(sh_conn_t *c, ssehub_rcbuf_t *buf, int counted)
{
    return sh_conn_queue_tagged(c, buf, counted ? SH_SENDQ_COUNTED : 0, 0);
}

int sh_conn_queue_tagged(sh_conn_t *c, ssehub_rcbuf_t *buf, int flags, uint64_t tag)
{
    int rc = sh_sendq_push_tagged(&c->out, buf, flags, tag);

    if (rc == 0 && !sh_list_linked(&c->dq))
        sh_list_push_back(&c->w->dirty, &c->dq);
    return rc;
}

/* A new frame holding |head| then |body|: 0 with |*out|, or SSEHUB_ENOMEM. */
static int copy_frame(const char *head, size_t head_len, const char *body, size_t body_len,
                      ssehub_rcbuf_t **out)
{
    int rc = ssehub_rcbuf_new(head_len + body_len, out);

    if (rc != 0)
        return rc;
    memcpy(ssehub_rcbuf_data(*out), head, head_len);
    if (body_len > 0)
        memcpy(ssehub_rcbuf_data(*out) + head_len, body, body_len);
    return 0;
}

int sh_conn_queue_copy(sh_conn_t *c, const char *head, size_t head_len, const char *body,
                       size_t body_len)
{
    ssehub_rcbuf_t *rb;
    int rc = copy_frame(head, head_len, body, body_len, &rb);

    if (rc != 0)
        return rc;
    rc = sh_conn_queue(c, rb, 0);
    ssehub_rcbuf_unref(rb);
    return rc;
}

/* As sh_conn_queue_copy(), behind the publishes waiting for the store. */
static int hold_copy(sh_conn_t *c, const char *head, size_t head_len, const char *body,
                     size_t body_len)
{
    ssehub_rcbuf_t *rb;
    int rc = copy_frame(head, head_len, body, body_len, &rb);

    if (rc != 0)
        return rc;
    rc = sh_publish_hold(c, rb);
    ssehub_rcbuf_unref(rb);
    return rc;
}

/* ---- Responses. */

void sh_cors_headers(sh_conn_t *c, sh_buf_t *b)
{
    const sh_config_t *cfg = c->w->srv->cfg;
    const sh_buf_t *o = c->req != NULL ? &c->req->origin : NULL;
    int any = 0;
    size_t i;

    if (o == NULL || o->len == 0)
        return;
    for (i = 0; i < cfg->ncors_origins; i++) {
        const char *allowed = cfg->cors_origins[i];

        if (strcmp(allowed, "*") == 0) {
            any = 1;
        } else if (strlen(allowed) == o->len && memcmp(allowed, o->base, o->len) == 0) {
            sh_buf_append_str(b, "Access-Control-Allow-Origin: ");
            sh_buf_append(b, o->base, o->len);
            sh_buf_append_str(
                b, "\r\nAccess-Control-Allow-Credentials: true\r\n"
                   "Access-Control-Expose-Headers: Last-Event-ID, Mercure-Last-Event-ID, Link\r\n"
                   "Vary: Origin\r\n");
            return;
        }
    }
    if (any)
        sh_buf_append_str(
            b, "Access-Control-Allow-Origin: *\r\n"
               "Access-Control-Expose-Headers: Last-Event-ID, Mercure-Last-Event-ID, Link\r\n");
}

static const char *method_name(sh_conn_t *c)
{
    return llhttp_method_name((llhttp_method_t)llhttp_get_method(&c->req->parser));
}

void sh_conn_respond(sh_conn_t *c, int status, const char *content_type, const char *extra_headers,
                     const char *body, size_t body_len)
{
    sh_buf_t b;
    char line[160];
    int n, rc;

    sh_buf_init(&b, 64 * 1024);
    n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n", status,
                 status_text(status), body_len);
    sh_buf_append(&b, line, (size_t)n);
    if (content_type != NULL) {
        sh_buf_append_str(&b, "Content-Type: ");
        sh_buf_append_str(&b, content_type);
        sh_buf_append_str(&b, "\r\n");
    }
    sh_cors_headers(c, &b);
    sh_buf_append_str(&b, SH_LINK_HEADER);
    if (extra_headers != NULL)
        sh_buf_append_str(&b, extra_headers);
    if (!c->keep_alive)
        sh_buf_append_str(&b, "Connection: close\r\n");
    else if (c->req != NULL && c->req->parser.http_major == 1 && c->req->parser.http_minor == 0)
        sh_buf_append_str(&b, "Connection: keep-alive\r\n");
    rc = sh_buf_append_str(&b, "\r\n");
    if (c->req != NULL && llhttp_get_method(&c->req->parser) == HTTP_HEAD && !c->pub_answer)
        body_len = 0; /* a HEAD response has the length of the GET one, and no body */
    if (rc == 0 && c->npub > 0 && !c->pub_answer)
        rc = hold_copy(c, b.base, b.len, body, body_len); /* answers go in request order */
    else if (rc == 0)
        rc = sh_conn_queue_copy(c, b.base, b.len, body, body_len);
    sh_buf_dispose(&b);
    if (rc != 0) {
        sh_conn_close(c, SH_DISC_ERROR);
        return;
    }
    if (sh_access_log_enabled() && !c->pub_answer) { /* publish.c logs its answers */
        if (c->req != NULL && c->req->url.len > 0)
            sh_access_log(c->peer, method_name(c), c->req->url.base, c->req->url.len, status,
                          (unsigned long long)body_len);
        else /* answered before a request line was read (--max-connections, malformed) */
            sh_access_log(c->peer, "-", "-", 1, status, (unsigned long long)body_len);
    }
    if (!c->keep_alive && c->state == SH_CONN_READING) {
        c->state = SH_CONN_CLOSING;
        sh_list_remove(&c->tq);
    }
}

void sh_conn_error(sh_conn_t *c, int status, const char *reason, int close)
{
    sh_conn_error_h(c, status, reason, NULL, close);
}

void sh_conn_error_h(sh_conn_t *c, int status, const char *reason, const char *extra_headers,
                     int close)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "%s\n", reason);

    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    if (close)
        c->keep_alive = 0;
    c->req->rejected = 1;
    if (c->req->url.len > 0) /* the target goes through the log's redaction (log.c) */
        sh_log_debug("%s: %d %s: %s %.*s", c->peer, status, reason, method_name(c),
                     (int)(c->req->url.len > 512 ? 512 : c->req->url.len), c->req->url.base);
    else
        sh_log_debug("%s: %d %s", c->peer, status, reason);
    sh_conn_respond(c, status, "text/plain; charset=utf-8", extra_headers, body, (size_t)n);
    sh_conn_flush(c);
}

/* ---- Requests. */

/*
 * How strict the parsing is (RFC 9112 §2-§7, RFC 9110 field syntax), and who checks what:
 * - llhttp, compiled with LLHTTP_STRICT_MODE=1 (CMakeLists.txt) and with every leniency
 *   flag off, refuses: invalid token characters in methods and field names, whitespace
 *   before the colon, CTLs (but HTAB) in field values, a bare CR, malformed, signed,
 *   overflowing or repeated Content-Length, Content-Length with Transfer-Encoding, a
 *   Transfer-Encoding whose final coding is not chunked or that repeats chunked, bad chunk
 *   sizes, extensions and terminators, control and non-ASCII bytes in the target, tabs
 *   and trailing spaces in the request line, malformed versions, NUL anywhere.
 * - reqsyntax.c adds what llhttp 8.1.0 accepts although the RFCs forbid it: obs-fold and
 *   whitespace at the start of a field line, an empty field name, runs of spaces and a
 *   missing version in the request line, bare LF line ends (sh_frame_scan, which runs over
 *   the same bytes as llhttp, skipping body data); request-target forms and fragments
 *   (sh_target_check); Host values (sh_host_valid); transfer codings (sh_te_add).
 * - on_headers_complete refuses versions other than HTTP/1.x (505), CONNECT (501), a
 *   missing or repeated Host (400), Transfer-Encoding in HTTP/1.0 (400) and transfer
 *   codings other than chunked (501).
 * Every refusal answers with a one-line reason and closes the connection (sh_conn_error).
 */

static sh_conn_t *conn_of(llhttp_t *p)
{
    return p->data;
}

static void parser_init(llhttp_t *p)
{
    llhttp_init(p, HTTP_REQUEST, &settings);
    /* Off by default; said here so that no one turns one on by accident: each of them
     * opens a request smuggling hole behind a proxy that parses differently. */
    llhttp_set_lenient_headers(p, 0);
    llhttp_set_lenient_chunked_length(p, 0);
    llhttp_set_lenient_keep_alive(p, 0);
    llhttp_set_lenient_transfer_encoding(p, 0);
}

/* A check refuses the request: records the answer, and stops the parser (-1), after which
 * parse() answers it and closes. The first reason wins. */
static int reject(sh_conn_t *c, int status, const char *reason)
{
    if (c->req->err_status == 0) {
        c->req->err_status = status;
        c->req->err_reason = reason;
    }
    return -1;
}

/* Runs the framing scanner over the bytes llhttp consumed since it last ran: up to |upto|,
 * or (|upto| NULL) until it reaches state |stop| within the bytes being parsed. */
static int frame_to(sh_conn_t *c, const char *upto, int stop)
{
    sh_req_t *r = c->req;
    const char *reason = "malformed message framing";
    const char *pos =
        sh_frame_scan(&r->frame, r->sc_pos, upto != NULL ? upto : r->sc_end, stop, &reason);

    if (pos == NULL)
        return reject(c, 400, reason);
    r->sc_pos = pos;
    if (stop >= 0 && r->frame.state != stop)
        return reject(c, 400, "malformed message framing");
    return 0;
}

static int count_header_bytes(sh_conn_t *c, size_t len)
{
    c->req->header_bytes += len;
    if (c->req->header_bytes > c->w->srv->cfg->max_header) {
        c->req->too_large = 1;
        return -1;
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);
    sh_req_t *r = c->req;

    sh_buf_reset(&r->url);
    sh_buf_reset(&r->hname);
    sh_buf_reset(&r->ctype);
    sh_buf_reset(&r->last_event_id);
    sh_buf_reset(&r->origin);
    sh_buf_reset(&r->authz);
    sh_buf_reset(&r->cookie);
    sh_buf_reset(&r->host);
    sh_buf_reset(&r->body);
    r->header_bytes = 0;
    r->has_last_event_id = 0;
    r->has_authz = 0;
    r->has_cookie = 0;
    r->has_host = 0;
    r->bad_host = 0;
    r->has_te = 0;
    memset(&r->te, 0, sizeof(r->te));
    r->err_status = 0;
    r->err_reason = NULL;
    r->expect_continue = 0;
    r->in_value = H_NONE;
    r->too_large = 0;
    r->rejected = 0;
    r->any_bytes = 1;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    sh_conn_t *c = conn_of(p);

    if (frame_to(c, at + len, -1) != 0)
        return -1;
    if (count_header_bytes(c, len) != 0 || sh_buf_append(&c->req->url, at, len) != 0) {
        c->req->too_large = 2;
        return -1;
    }
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    sh_conn_t *c = conn_of(p);

    if (frame_to(c, at + len, -1) != 0 || count_header_bytes(c, len) != 0)
        return -1;
    (void)sh_buf_append(&c->req->hname, at, len); /* a longer name is one we ignore */
    return 0;
}

static int name_is(const sh_buf_t *b, const char *want)
{
    size_t n = strlen(want);

    return b->len == n && strncasecmp(b->base, want, n) == 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);
    sh_req_t *r = c->req;

    r->in_value = H_NONE;
    if (r->frame.state == SH_FRAME_TRAILERS) {
        /* A trailer field is not a header (RFC 9110 §6.5.1: never merged unless its
         * definition allows it): a trailing Authorization or Content-Type that a proxy
         * never looked at must not change what the request does. */
        sh_buf_reset(&r->hname);
        return 0;
    }
    if (name_is(&r->hname, "content-type")) {
        r->in_value = H_CTYPE;
        sh_buf_reset(&r->ctype);
    } else if (name_is(&r->hname, "last-event-id")) {
        r->in_value = H_LAST_EVENT_ID;
        r->has_last_event_id = 1;
        sh_buf_reset(&r->last_event_id);
    } else if (name_is(&r->hname, "origin")) {
        r->in_value = H_ORIGIN;
        sh_buf_reset(&r->origin);
    } else if (name_is(&r->hname, "authorization")) {
        r->in_value = H_AUTHZ;
        r->has_authz = 1;
        sh_buf_reset(&r->authz);
    } else if (name_is(&r->hname, "cookie")) {
        r->in_value = H_COOKIE;
        if (r->has_cookie) /* RFC 6265 §5.4: one header, but join any more with "; " */
            (void)sh_buf_append_str(&r->cookie, "; ");
        r->has_cookie = 1;
    } else if (name_is(&r->hname, "expect")) {
        r->in_value = H_EXPECT;
    } else if (name_is(&r->hname, "host")) {
        r->in_value = H_HOST;
        r->has_host++;
    } else if (name_is(&r->hname, "transfer-encoding")) {
        r->in_value = H_TE;
        r->has_te = 1;
    }
    sh_buf_reset(&r->hname);
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    sh_conn_t *c = conn_of(p);
    sh_req_t *r = c->req;
    sh_buf_t *dst = NULL;

    if (frame_to(c, at + len, -1) != 0 || count_header_bytes(c, len) != 0)
        return -1;
    switch (r->in_value) {
    case H_CTYPE:
        dst = &r->ctype;
        break;
    case H_LAST_EVENT_ID:
        dst = &r->last_event_id;
        break;
    case H_ORIGIN:
        dst = &r->origin;
        break;
    case H_EXPECT:
    case H_HOST:
    case H_TE:
        dst = &r->hname; /* free while a value is read: checked when it is complete */
        break;
    case H_AUTHZ:
        dst = &r->authz;
        break;
    case H_COOKIE:
        dst = &r->cookie;
        break;
    default:
        return 0;
    }
    if (sh_buf_append(dst, at, len) != 0) {
        c->req->too_large = 1;
        return -1;
    }
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);
    sh_req_t *r = c->req;

    if (r->in_value == H_EXPECT) {
        if (name_is(&r->hname, "100-continue"))
            r->expect_continue = 1;
    } else if (r->in_value == H_HOST) {
        if (!sh_host_valid(r->hname.base, r->hname.len))
            r->bad_host = 1;
        else if (sh_buf_append(&r->host, r->hname.base, r->hname.len) != 0)
            r->bad_host = 1; /* cannot happen: the host fits in --max-header */
    } else if (r->in_value == H_TE) {
        sh_te_add(&r->te, r->hname.base, r->hname.len);
    }
    sh_buf_reset(&r->hname);
    r->in_value = H_NONE;
    return 0;
}

/* What llhttp accepts in a complete header section and RFC 9112 (or ssehub) does not:
 * 0, or the refusal (reject()). */
static int check_head(sh_conn_t *c, llhttp_t *p)
{
    sh_req_t *r = c->req;
    const char *why;

    /* llhttp takes HTTP/0.9 and HTTP/2.0 in a request line; we speak HTTP/1.x only. */
    if (p->http_major != 1)
        return reject(c, 505, "HTTP version not supported (use HTTP/1.1)");
    /* authority-form targets belong to CONNECT (RFC 9112 §3.2.3): a proxy's method. */
    if (p->method == HTTP_CONNECT)
        return reject(c, 501, "CONNECT is not supported");
    why = sh_target_check(r->url.base, r->url.len, p->method == HTTP_OPTIONS);
    if (why != NULL)
        return reject(c, 400, why);
    /* RFC 9112 §3.2: a 400 to an HTTP/1.1 request without Host, and to any request with
     * several Host lines or an invalid Host value. */
    if (r->has_host == 0 && p->http_minor >= 1)
        return reject(c, 400, "missing Host header");
    if (r->has_host > 1)
        return reject(c, 400, "repeated Host header");
    if (r->bad_host)
        return reject(c, 400, "invalid Host header");
    if (r->has_te) {
        /* RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; §6.3: if chunked
         * is not the final coding the length cannot be known (llhttp refuses that too,
         * after this callback); §7: chunked at most once. An empty field has no coding. */
        if (p->http_minor == 0)
            return reject(c, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (r->te.codings == 0 || !r->te.last_chunked)
            return reject(c, 400, "Transfer-Encoding must end with chunked");
        if (r->te.chunked > 1)
            return reject(c, 400, "chunked transfer coding applied more than once");
        /* RFC 9112 §6.1: a transfer coding the server does not understand is a 501. */
        if (r->te.other)
            return reject(c, 501, "unsupported transfer coding (only chunked is)");
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);
    const sh_config_t *cfg = c->w->srv->cfg;

    if (frame_to(c, NULL, SH_FRAME_HEAD_END) != 0 || check_head(c, p) != 0)
        return -1;
    if (p->flags & F_CHUNKED)
        sh_frame_set(&c->req->frame, SH_FRAME_CHUNK_LINE);
    else if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0)
        sh_frame_set(&c->req->frame, SH_FRAME_BODY);
    else
        sh_frame_set(&c->req->frame, SH_FRAME_IDLE);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > cfg->max_body) {
        char reason[96];

        snprintf(reason, sizeof(reason), "request body too large (limit %llu bytes)",
                 (unsigned long long)cfg->max_body);
        c->keep_alive = 0;
        sh_conn_error(c, 413, reason, 1);
        return HPE_PAUSED;
    }
    if (c->req->expect_continue && p->method == HTTP_POST) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

        if (c->npub > 0) /* an interim answer too goes after those before it */
            (void)hold_copy(c, cont, sizeof(cont) - 1, NULL, 0);
        else
            (void)sh_conn_queue_copy(c, cont, sizeof(cont) - 1, NULL, 0);
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    sh_conn_t *c = conn_of(p);

    if (frame_to(c, at, -1) != 0)
        return -1;
    c->req->sc_pos = at + len; /* body data is not framing */
    if (sh_buf_append(&c->req->body, at, len) != 0) {
        char reason[96];

        snprintf(reason, sizeof(reason), "request body too large (limit %llu bytes)",
                 (unsigned long long)c->w->srv->cfg->max_body);
        sh_conn_error(c, 413, reason, 1);
        return -1;
    }
    return 0;
}

/* A chunk-size line was read: data follows, or (size 0) the trailer section. */
static int on_chunk_header(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);

    if (frame_to(c, NULL, SH_FRAME_CHUNK_LINE_END) != 0)
        return -1;
    if (p->content_length > c->w->srv->cfg->max_body - c->req->body.len) {
        /* Refused now rather than once --max-body bytes of it have come. */
        char reason[96];

        snprintf(reason, sizeof(reason), "request body too large (limit %llu bytes)",
                 (unsigned long long)c->w->srv->cfg->max_body);
        sh_conn_error(c, 413, reason, 1);
        return -1;
    }
    sh_frame_set(&c->req->frame, p->content_length > 0 ? SH_FRAME_CHUNK_DATA : SH_FRAME_TRAILERS);
    return 0;
}

/* After a chunk's data and CRLF, or after the trailer section (the last chunk). */
static int on_chunk_complete(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);
    int trailers =
        c->req->frame.state == SH_FRAME_TRAILERS || c->req->frame.state == SH_FRAME_TRAILERS_END;

    return frame_to(c, NULL, trailers ? SH_FRAME_TRAILERS_END : SH_FRAME_CHUNK_LINE);
}

static void handle_preflight(sh_conn_t *c)
{
    sh_conn_respond(c, 204, NULL,
                    "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                    "Access-Control-Allow-Headers: Last-Event-ID, Authorization, Cache-Control, "
                    "Content-Type\r\n"
                    "Access-Control-Max-Age: 600\r\n",
                    "", 0);
}

static void respond_text(sh_conn_t *c, int status, const char *extra, const char *text)
{
    sh_conn_respond(c, status, "text/plain; charset=utf-8", extra, text, strlen(text));
}

static int path_is(const char *path, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(path, want, len) == 0;
}

/* A request on a connection that may only ask for /healthz or /metrics. */
static void refuse_request(sh_conn_t *c)
{
    c->keep_alive = 0;
    if (c->slot == SH_SLOT_METRICS) {
        respond_text(c, 404, NULL,
                     "not found: --metrics-listen serves /healthz and /metrics only\n");
        return;
    }
    atomic_fetch_add_explicit(&c->w->metrics.rejected_total, 1, memory_order_relaxed);
    sh_fd_note_refused(c->w->srv, 0);
    respond_text(c, 503, "Retry-After: 1\r\n",
                 "too many connections (--max-connections), retry later\n");
}

static void route(sh_conn_t *c)
{
    const sh_config_t *cfg = c->w->srv->cfg;
    const char *url = c->req->url.base;
    size_t url_len = c->req->url.len;

    if (c->slot == SH_SLOT_HEALTH)
        c->keep_alive = 0; /* one answer, and the slot is free for the next prober */
    /* The target is in origin form, asterisk form (OPTIONS) or absolute form
     * (http://host/path), which servers must accept: check_head() let nothing else in,
     * and the Host rules of RFC 9112 §3.2 were checked there too. */
    if (url_len > 0 && url[0] != '/' && url[0] != '*') {
        const char *host = (const char *)memchr(url, ':', url_len) + 3;
        const char *end = url + url_len, *path = host;

        while (path < end && *path != '/' && *path != '?')
            path++;
        url_len = (size_t)(end - path);
        url = path;
    }
    const char *q = url_len ? memchr(url, '?', url_len) : NULL;
    size_t path_len = q ? (size_t)(q - url) : url_len;
    const char *query = q ? q + 1 : "";
    size_t query_len = q ? url_len - path_len - 1 : 0;
    int method = llhttp_get_method(&c->req->parser);

    if (path_len == 0) { /* "http://host" and "http://host?q": RFC 9112 §3.2.1, path "/" */
        url = "/";
        path_len = 1;
    }

    if (c->slot != SH_SLOT_NORMAL && !path_is(url, path_len, "/healthz") &&
        !path_is(url, path_len, "/metrics")) {
        refuse_request(c); /* a slot past --max-connections, or --metrics-listen */
        return;
    }
    if (path_len >= 34 && memcmp(url, "/.well-known/mercure/subscriptions", 34) == 0 &&
        (path_len == 34 || url[34] == '/')) {
        sh_presence_handle(c, url, path_len); /* presence.c: --subscriptions */
    } else if (path_is(url, path_len, "/.well-known/mercure") ||
               path_is(url, path_len, "/events")) {
        if (method == HTTP_GET)
            sh_stream_subscribe(c, query, query_len);
        else if (method == HTTP_POST)
            sh_publish_handle(c);
        else if (method == HTTP_OPTIONS)
            handle_preflight(c);
        else
            respond_text(c, 405, "Allow: GET, POST, OPTIONS\r\n",
                         "method not allowed: use GET to subscribe, POST to publish\n");
    } else if (path_is(url, path_len, SH_MERCURE_METADATA_PATH)) {
        if (method == HTTP_GET || method == HTTP_HEAD)
            sh_authz_metadata(c); /* RFC 9728, with --jwt-issuer */
        else
            respond_text(c, 405, "Allow: GET\r\n", "method not allowed: use GET\n");
    } else if (path_is(url, path_len, "/healthz")) {
        if (method == HTTP_GET || method == HTTP_HEAD) {
            char why[128];

            if (sh_store_healthy(c->w->srv->store, why, sizeof(why) - 1)) { /* 503 if not */
                respond_text(c, 200, "Cache-Control: no-store\r\n", "ok\n");
            } else {
                size_t n = strlen(why);

                why[n] = '\n'; /* room was kept for it */
                why[n + 1] = '\0';
                respond_text(c, 503, "Cache-Control: no-store\r\nRetry-After: 1\r\n", why);
            }
        } else
            respond_text(c, 405, "Allow: GET\r\n", "method not allowed: use GET\n");
    } else if (path_is(url, path_len, "/metrics")) {
        if (method == HTTP_GET)
            sh_metrics_handle(c);
        else
            respond_text(c, 405, "Allow: GET\r\n", "method not allowed: use GET\n");
    } else if ((path_is(url, path_len, "/") || path_is(url, path_len, "/index.html")) &&
               !cfg->no_ui) {
        if (method == HTTP_GET)
            sh_conn_respond(c, 200, "text/html; charset=utf-8",
                            "Cache-Control: no-cache\r\n"
                            "X-Content-Type-Options: nosniff\r\n"
                            "Content-Security-Policy: default-src 'self'; style-src 'self' "
                            "'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'\r\n",
                            (const char *)sh_ui_index_html, sh_ui_index_html_len);
        else
            respond_text(c, 405, "Allow: GET\r\n", "method not allowed: use GET\n");
    } else if (path_is(url, path_len, "*")) { /* OPTIONS * (check_head allows no other) */
        respond_text(c, 200, "Allow: GET, POST, OPTIONS\r\n", "GET, POST, OPTIONS\n");
    } else if (path_is(url, path_len, "/favicon.ico") && !cfg->no_ui) {
        sh_conn_respond(c, 204, NULL, "Cache-Control: max-age=86400\r\n", "", 0);
    } else {
        respond_text(c, 404, NULL, "not found\n");
    }
}

/* Routes the complete request; then reads on, or pauses the input. */
static int dispatch(sh_conn_t *c)
{
    route(c);
    if (c->closing || c->state != SH_CONN_READING)
        return HPE_PAUSED;
    if (publishes_block(c)) {
        /* Publishes wait for the store: the next request waits, unparsed, for their
         * answers (sh_conn_publish_done). */
        c->input_paused = 1;
        return HPE_PAUSED;
    }
    begin_request(c);
    if (c->out.bytes > SH_PAUSE_OUTPUT) {
        /* Pipelined requests wait, unparsed, until the answers so far are written: the
         * output a connection can make is bounded, whatever it sends at once. */
        c->input_paused = 1;
        return HPE_PAUSED;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    sh_conn_t *c = conn_of(p);
    sh_worker_t *w = c->w;
    sh_frame_t *f = &c->req->frame;
    int keep_alive;

    /* The framing of the whole message is checked before anything acts on it. */
    if (f->state == SH_FRAME_TRAILERS && frame_to(c, NULL, SH_FRAME_TRAILERS_END) != 0)
        return -1;
    if (f->state != SH_FRAME_IDLE && f->state != SH_FRAME_BODY && f->state != SH_FRAME_TRAILERS_END)
        return reject(c, 400, "malformed message framing");
    sh_frame_set(f, SH_FRAME_IDLE);
    sh_list_remove(&c->tq);
    atomic_fetch_add_explicit(&w->metrics.requests_total, 1, memory_order_relaxed);
    keep_alive = llhttp_should_keep_alive(p) && !w->stopping;
    if (c->npub > 0 && (llhttp_get_method(p) != HTTP_POST || !keep_alive)) {
        /* Answers go in request order: anything but a keep-alive POST waits, unrouted,
         * until the publishes before it are answered (and keeps them keep-alive). */
        c->route_deferred = 1;
        c->deferred_keep_alive = keep_alive;
        c->input_paused = 1;
        return HPE_PAUSED;
    }
    c->keep_alive = keep_alive;
    return dispatch(c);
}

void sh_conn_publish_done(sh_conn_t *c)
{
    if (c->closing)
        return;
    if (c->route_deferred && c->npub == 0) {
        int in_resume = c->in_resume;

        c->route_deferred = 0;
        c->keep_alive = c->deferred_keep_alive;
        /* The request is routed outside the parser: an answer that flushes (an error)
         * must not parse the requests after it from within the handler, which goes on
         * with the state of this one; the flush below resumes them. */
        c->in_resume = 1;
        (void)dispatch(c); /* pauses again, or leaves input_paused for the flush to resume */
        c->in_resume = in_resume;
        if (!in_resume)
            c->resume_again = 0;
        if (c->closing)
            return;
        if (c->state == SH_CONN_STREAM)
            stream_began(c);
    } else if (c->input_paused && c->state == SH_CONN_READING && !c->route_deferred &&
               !sh_list_linked(&c->tq) && !publishes_block(c)) {
        begin_request(c); /* the pipeline limit paused it before the next request began */
    }
    sh_conn_flush(c); /* once written, resumes the input (or finishes closing) */
}

/* llhttp_execute() with the framing scanner run over the same bytes: the scanner's checks
 * in callbacks cover the bytes up to each one; this covers those after the last one (a
 * request cut in the middle of its head is refused before it is complete). */
static llhttp_errno_t execute(sh_conn_t *c, const char *data, size_t len)
{
    sh_req_t *r = c->req;
    llhttp_errno_t err;
    const char *end = data + len;

    r->sc_pos = data;
    r->sc_end = end;
    err = llhttp_execute(&r->parser, data, len);
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE)
        end = llhttp_get_error_pos(&r->parser);
    else if (err != HPE_OK)
        return err;
    if (c->closing || c->state != SH_CONN_READING || end == NULL)
        return err;
    return frame_to(c, end, -1) == 0 ? err : HPE_USER;
}

/*
 * llhttp knows a fixed list of methods and stops at the first byte that matches none. A
 * method it does not know in a well-formed request line (a token, single spaces, HTTP/d.d,
 * CRLF) is one we do not implement (RFC 9110 §9.1: 501); anything else is malformed (400).
 * The framing scanner reads the line on, over the next reads if it is not all there yet:
 * 0 until it is (at most --max-header bytes), then the status.
 */
static int unknown_method_status(sh_conn_t *c)
{
    sh_req_t *r = c->req;
    const char *ignored;
    const char *pos = sh_frame_scan(&r->frame, r->sc_pos, r->sc_end, SH_FRAME_HEAD, &ignored);

    if (pos == NULL)
        return 400;
    r->header_bytes += (size_t)(pos - r->sc_pos);
    r->sc_pos = pos;
    if (r->frame.method_bad || r->frame.version_bad)
        return 400;
    if (r->frame.state == SH_FRAME_HEAD)
        return 501;
    return r->header_bytes > c->w->srv->cfg->max_header ? 400 : 0;
}

/* The status and reason of a request llhttp or a check refused with |err| (status 0: not
 * known yet, see unknown_method_status). */
static int refusal(sh_conn_t *c, llhttp_errno_t err, char *reason, size_t cap)
{
    sh_req_t *r = c->req;
    const char *why = llhttp_get_error_reason(&r->parser);

    if (r->err_status != 0) {
        snprintf(reason, cap, "%s", r->err_reason);
        return r->err_status;
    }
    if (r->too_large == 2) {
        snprintf(reason, cap, "request target too long (--max-header)");
        return 414;
    }
    if (r->too_large) {
        snprintf(reason, cap, "request headers too large (--max-header)");
        return 431;
    }
    switch (err) {
    case HPE_INVALID_METHOD:
        switch (unknown_method_status(c)) {
        case 0:
            return 0;
        case 501:
            snprintf(reason, cap, "method not implemented");
            return 501;
        default:
            break;
        }
        break;
    case HPE_INVALID_VERSION:
        /* "HTTP/d.d" that llhttp does not support (it says so with this reason; other
         * version errors are syntax): RFC 9110 §15.6.6. */
        if (why != NULL && strcmp(why, "Invalid HTTP version") == 0) {
            snprintf(reason, cap, "HTTP version not supported (use HTTP/1.1)");
            return 505;
        }
        break;
    case HPE_PAUSED_H2_UPGRADE: /* "PRI * HTTP/2.0": the HTTP/2 connection preface */
        snprintf(reason, cap, "HTTP/2 is not supported (use HTTP/1.1)");
        return 505;
    default:
        break;
    }
    snprintf(reason, cap, "malformed request: %s", why != NULL ? why : llhttp_errno_name(err));
    return 400;
}

/* Runs the parser over |data|. A pause for output backpressure keeps the unparsed rest in
 * c->pending (at most one read's worth). */
static void parse(sh_conn_t *c, const char *data, size_t len)
{
    llhttp_errno_t err;

    c->req->any_bytes = 1;
    if (c->req->method_wait) { /* llhttp refused the method: the request line decides */
        int status;

        c->req->sc_pos = data;
        c->req->sc_end = data + len;
        status = unknown_method_status(c);
        if (status == 501)
            sh_conn_error(c, 501, "method not implemented", 1);
        else if (status != 0)
            sh_conn_error(c, status, "malformed request: Invalid method encountered", 1);
        return;
    }
    err = execute(c, data, len);
    /* A request with Upgrade was answered as plain HTTP/1.1 (RFC 9110 §7.8 lets a server
     * ignore Upgrade): go on with whatever follows it. A loop, not recursion: one read can
     * carry hundreds of such requests. */
    while (err == HPE_PAUSED_UPGRADE && !c->closing) {
        const char *pos = llhttp_get_error_pos(&c->req->parser);

        llhttp_resume_after_upgrade(&c->req->parser);
        if (c->state != SH_CONN_READING || pos == NULL || pos >= data + len)
            return;
        len -= (size_t)(pos - data);
        data = pos;
        err = execute(c, data, len);
    }
    if (c->closing)
        return;
    if (err == HPE_PAUSED && c->input_paused) {
        const char *pos = llhttp_get_error_pos(&c->req->parser);
        size_t used = pos != NULL ? (size_t)(pos - data) : len;

        if (used < len && sh_buf_append(&c->req->pending, data + used, len - used) != 0) {
            sh_conn_close(c, SH_DISC_ERROR);
            return;
        }
        if (!c->paused) {
            c->paused = 1;
            uv_read_stop((uv_stream_t *)&c->tcp);
        }
        return;
    }
    if (err != HPE_OK && err != HPE_PAUSED && !c->req->rejected) {
        char reason[160];
        int status = refusal(c, err, reason, sizeof(reason));

        if (status == 0)
            c->req->method_wait = 1; /* the rest of the request line is still to come */
        else
            sh_conn_error(c, status, reason, 1);
        return;
    }
    if (err != HPE_OK && c->state == SH_CONN_READING) /* e.g. 413 from headers_complete */
        c->state = SH_CONN_CLOSING;
}

/* The connection became a stream (routed by the parser, or behind publishes by
 * sh_conn_publish_done), and the parser is not running: it reads no more requests, so the
 * parser and the request buffers go back (an idle stream holds only its socket, queue and
 * subscription), and reads resume if requests had paused them: a stream still reads, to
 * see its client leave. */
static void stream_began(sh_conn_t *c)
{
    sh_conn_drop_request(c);
    c->input_paused = 0;
    if (c->paused && !c->closing) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static void feed(sh_conn_t *c, const char *data, size_t len)
{
    parse(c, data, len);
    if (c->state == SH_CONN_STREAM)
        stream_began(c);
    if (!c->closing && sh_list_linked(&c->dq))
        sh_conn_flush(c);
}

/*
 * The output of a paused connection is written: parse the requests that waited, then
 * read again. A loop rather than recursion: answering them can fill the queue and pause
 * again, and the flush inside can find it drained at once and come back here.
 */
static void resume_input(sh_conn_t *c)
{
    if (c->in_resume) {
        c->resume_again = 1;
        return;
    }
    c->in_resume = 1;
    do {
        size_t n = 0;
        char *bytes;

        c->resume_again = 0;
        c->input_paused = 0;
        llhttp_resume(&c->req->parser);
        bytes = sh_buf_take(&c->req->pending, &n);
        if (n > 0)
            feed(c, bytes, n);
        sh_free(bytes);
    } while (c->resume_again && !c->closing && c->req != NULL);
    c->in_resume = 0;
    if (!c->closing && !c->input_paused && c->paused && c->state == SH_CONN_READING) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}
