/* SPDX-License-Identifier: MIT */
/*
 * ssecat --publish URL --topic T: publishes each line of stdin as one event (a Mercure
 * form POST) over one keep-alive connection, pipelined. Replies come back in order, so
 * reply N answers line N; a reply that is not 2xx is reported with its status and reason.
 * At end of input ssecat waits for every reply. Memory is bounded: at most MAX_IN_FLIGHT
 * publishes (and MAX_UNACKED bytes of them) wait for replies, and stdin is not read while
 * they do. The requests stay in memory until answered: when the server closes the
 * connection after a reply that said "Connection: close" (nginx does every 1000 requests;
 * RFC 9112 says the requests after it were not processed), or while nothing waited for
 * a reply, ssecat reconnects and sends again what was not answered.
 *
 * With --id-prefix P, line n is published with the id "P-n", and a connection lost with
 * publishes unanswered (some of which the hub may have processed) is followed by a new
 * one on which they all go again: the hub answers a publish whose id it holds for the
 * same update with that id and publishes nothing twice (exactly once, while it retains
 * the event). Without ids that is unsafe (a line could be published twice), so ssecat
 * exits 1 instead. Attempts back off (RETRY_BASE_MS doubling up to RETRY_MAX_MS) and stop
 * after SSECAT_PUB_MAX_RETRIES in a row without a reply.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ssehub/ssehub.h"
#include "base/buf.h"
#include "base/str.h"
#include "client/conn.h"
#include "client/resp.h"
#include "client/url.h"
#include "ssecat.h"

#define MAX_IN_FLIGHT  1024      /* publishes sent and not yet answered */
#define MAX_UNACKED    (1 << 20) /* bytes of requests sent and not yet answered */
#define MAX_IDLE_RETRY 3         /* reconnections in a row without a reply in between */
#define RETRY_BASE_MS  100       /* --id-prefix: the wait before a second attempt, doubled */
#define RETRY_MAX_MS   5000      /* for each next one up to this */
#define READ_CHUNK     (64 * 1024)
#define REASON_MAX     300 /* bytes of a failed reply's body reported */

typedef struct pub_s {
    const ssecat_opts_t *o;
    uv_loop_t loop;
    sh_url_t url;
    SSL_CTX *tls;
    sh_cconn_t *conn;
    sh_resp_t resp;
    uv_fs_t read_req; /* stdin is a file: reads through the thread pool */
    union {
        uv_pipe_t pipe;
        uv_tty_t tty;
    } in_handle;       /* stdin is a pipe or a terminal: a libuv stream */
    bool in_is_stream; /* which of the two */
    char *in;          /* stdin read buffer */
    sh_buf_t partial;  /* a line not yet ended */
    sh_buf_t unacked;  /* the requests not yet answered, in order, from |head| */
    size_t head;       /* offset of the first unanswered request in |unacked| */
    size_t unwritten;  /* offset of the first byte not yet written on this connection */
    sh_buf_t sizes;    /* the size of each unanswered request (size_t), from |size_head| */
    size_t size_head;  /* index of the first of them */
    sh_buf_t body;     /* one request body */
    sh_buf_t reply;    /* the body of the reply being read, cut at REASON_MAX */
    int reply_status;  /* its status */
    char reply_reason[128];
    uint64_t sent;          /* publishes sent (line numbers 1..sent) */
    uint64_t acked;         /* replies received */
    uint64_t failed;        /* replies that were not 200 */
    uv_timer_t retry_timer; /* the wait before connecting again */
    bool timer_open;        /* |retry_timer| is initialised and not closed */
    bool ever_connected;    /* a connection was made (so the server exists) */
    bool idle;              /* no connection: it ended with nothing waiting (the next
                               publish opens one) */
    bool reading;           /* a read of stdin is under way (a stream: reading is started) */
    bool eof;               /* stdin ended */
    bool done;              /* finished: nothing more happens */
    bool connected;         /* the connection is up and takes requests */
    bool close_announced;   /* a reply said Connection: close: later requests go again */
    unsigned retries;       /* connections tried since the last reply */
    int status;             /* the exit status */
} pub_t;

static void read_more(pub_t *p);
static void connection_lost(pub_t *p, bool attempt_failed, const char *why);
static void reconnect(pub_t *p);

static void stop(pub_t *p, int status)
{
    if (p->done)
        return;
    p->done = true;
    if (status > p->status)
        p->status = status;
    sh_cconn_close(p->conn);
    p->conn = NULL;
    if (p->timer_open) {
        p->timer_open = false;
        uv_close((uv_handle_t *)&p->retry_timer, NULL);
    }
    if (p->in_is_stream) {
        p->reading = false;
        uv_close((uv_handle_t *)&p->in_handle, NULL);
    }
}

static void maybe_done(pub_t *p)
{
    if (p->eof && !p->reading && p->acked == p->sent) {
        if (p->failed > 0)
            fprintf(stderr, "ssecat: %llu of %llu publishes failed\n",
                    (unsigned long long)p->failed, (unsigned long long)p->sent);
        stop(p, p->failed > 0 ? 1 : 0);
    }
}

/* Appends |len| bytes form-urlencoded: unreserved characters as they are, others %XX. */
static int append_form(sh_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int rc = 0;

    for (i = 0; i < len && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            rc = sh_buf_append(b, s + i, 1);
        } else {
            char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = sh_buf_append(b, esc, 3);
        }
    }
    return rc;
}

/* Appends one POST for the line |data| to the requests to send. */
static int add_publish(pub_t *p, const char *data, size_t len)
{
    size_t before = p->unacked.len, i, size;
    char digits[24];
    int rc;

    if (len > 0 && data[len - 1] == '\r')
        len--; /* CRLF input */
    sh_buf_reset(&p->body);
    rc = sh_buf_append_str(&p->body, "topic=");
    if (rc == 0)
        rc = append_form(&p->body, p->o->topic, strlen(p->o->topic));
    if (rc == 0 && p->o->type != NULL) {
        rc = sh_buf_append_str(&p->body, "&type=");
        if (rc == 0)
            rc = append_form(&p->body, p->o->type, strlen(p->o->type));
    }
    if (rc == 0 && p->o->id_prefix != NULL) {
        rc = sh_buf_append_str(&p->body, "&id=");
        if (rc == 0)
            rc = append_form(&p->body, p->o->id_prefix, strlen(p->o->id_prefix));
        if (rc == 0)
            rc = sh_buf_append_str(&p->body, "-");
        if (rc == 0)
            rc = sh_buf_append(&p->body, digits, sh_fmt_u64(digits, p->sent + 1));
    }
    if (rc == 0)
        rc = sh_buf_append_str(&p->body, "&data=");
    if (rc == 0)
        rc = append_form(&p->body, data, len);
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, "POST ");
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, p->url.target);
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, " HTTP/1.1\r\nHost: ");
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, p->url.authority);
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, "\r\nUser-Agent: ssecat/" SSEHUB_VERSION_STRING
                                            "\r\nContent-Type: application/x-www-form-urlencoded"
                                            "\r\nContent-Length: ");
    if (rc == 0)
        rc = sh_buf_append(&p->unacked, digits, sh_fmt_u64(digits, p->body.len));
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, "\r\n");
    for (i = 0; rc == 0 && i < p->o->headers_count; i++) {
        rc = sh_buf_append_str(&p->unacked, p->o->headers[i]);
        if (rc == 0)
            rc = sh_buf_append_str(&p->unacked, "\r\n");
    }
    if (rc == 0)
        rc = sh_buf_append_str(&p->unacked, "\r\n");
    if (rc == 0)
        rc = sh_buf_append(&p->unacked, p->body.base, p->body.len);
    size = p->unacked.len - before;
    if (rc == 0)
        rc = sh_buf_append(&p->sizes, &size, sizeof(size));
    if (rc != 0) {
        p->unacked.len = before;
        return rc;
    }
    p->sent++;
    return 0;
}

/* Writes the requests not yet written on this connection, unless it is not up yet or the
 * server announced that it closes it (they go on the next one). Without a connection
 * (the last one ended idle), opens one. */
static int flush_out(pub_t *p)
{
    int rc = 0;

    if (p->idle && p->unwritten != p->unacked.len) {
        p->idle = false;
        reconnect(p);
        return 0;
    }
    if (!p->connected || p->close_announced || p->unwritten == p->unacked.len)
        return 0;
    rc = sh_cconn_write(p->conn, p->unacked.base + p->unwritten, p->unacked.len - p->unwritten);
    p->unwritten = p->unacked.len;
    if (rc == SSEHUB_ENOMEM) {
        fprintf(stderr, "ssecat: cannot send to %s: %s\n", p->url.authority, ssehub_strerror(rc));
        stop(p, 1);
    } else if (rc != 0) {
        connection_lost(p, false, rc < -4000 ? ssehub_strerror(rc) : uv_strerror(rc));
    }
    return rc;
}

/* Splits the bytes read into lines; each complete line becomes a publish. */
static void take_input(pub_t *p, const char *in, size_t len)
{
    const char *end = in + len, *nl;
    int rc = 0;

    while (rc == 0 && in < end && (nl = memchr(in, '\n', (size_t)(end - in))) != NULL) {
        if (p->partial.len > 0) {
            rc = sh_buf_append(&p->partial, in, (size_t)(nl - in));
            if (rc == 0)
                rc = add_publish(p, p->partial.base, p->partial.len);
            sh_buf_reset(&p->partial);
        } else {
            rc = add_publish(p, in, (size_t)(nl - in));
        }
        in = nl + 1;
    }
    if (rc == 0 && in < end)
        rc = sh_buf_append(&p->partial, in, (size_t)(end - in));
    if (rc != 0) {
        fprintf(stderr, "ssecat: line %llu is longer than %zu bytes (--max-size)\n",
                (unsigned long long)p->sent + 1, p->o->max_size);
        stop(p, 1);
        return;
    }
    flush_out(p);
}

/* Input ended: publishes a last line without its newline, then waits for the replies. */
static void input_ended(pub_t *p)
{
    int rc;

    p->eof = true;
    if (p->in_is_stream && p->reading) {
        uv_read_stop((uv_stream_t *)&p->in_handle);
        p->reading = false;
    }
    if (p->partial.len > 0) {
        rc = add_publish(p, p->partial.base, p->partial.len);
        sh_buf_reset(&p->partial);
        if (rc != 0) {
            fprintf(stderr, "ssecat: cannot build a publish: %s\n", ssehub_strerror(rc));
            stop(p, 1);
            return;
        }
        if (flush_out(p) != 0)
            return;
    }
    maybe_done(p);
}

static void on_read(uv_fs_t *req)
{
    pub_t *p = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    p->reading = false;
    if (p->done)
        return;
    if (n < 0) {
        fprintf(stderr, "ssecat: cannot read stdin: %s\n", uv_strerror((int)n));
        stop(p, 1);
        return;
    }
    if (n == 0) {
        input_ended(p);
        return;
    }
    take_input(p, p->in, (size_t)n);
    read_more(p);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    pub_t *p = h->data;

    (void)hint;
    *buf = uv_buf_init(p->in, READ_CHUNK);
}

static void on_stream_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    pub_t *p = st->data;

    if (p->done || n == 0)
        return;
    if (n == UV_EOF) {
        input_ended(p);
        return;
    }
    if (n < 0) {
        fprintf(stderr, "ssecat: cannot read stdin: %s\n", uv_strerror((int)n));
        stop(p, 1);
        return;
    }
    take_input(p, buf->base, (size_t)n);
    read_more(p);
}

/* Reads stdin while few enough publishes wait for replies, and stops reading when too
 * many do: the replies' arrival calls this again. */
static void read_more(pub_t *p)
{
    bool want;
    uv_buf_t b;
    int rc;

    want = !p->eof && !p->done && p->sent - p->acked < MAX_IN_FLIGHT &&
           p->unacked.len - p->head <= MAX_UNACKED;
    if (p->in_is_stream) {
        if (want && !p->reading) {
            rc = uv_read_start((uv_stream_t *)&p->in_handle, on_alloc, on_stream_read);
            if (rc < 0) {
                fprintf(stderr, "ssecat: cannot read stdin: %s\n", uv_strerror(rc));
                stop(p, 1);
                return;
            }
            p->reading = true;
        } else if (!want && p->reading && !p->done) {
            uv_read_stop((uv_stream_t *)&p->in_handle);
            p->reading = false;
        }
        return;
    }
    if (!want || p->reading)
        return;
    b = uv_buf_init(p->in, READ_CHUNK);
    p->read_req.data = p;
    rc = uv_fs_read(&p->loop, &p->read_req, 0, &b, 1, -1, on_read);
    if (rc < 0) {
        fprintf(stderr, "ssecat: cannot read stdin: %s\n", uv_strerror(rc));
        stop(p, 1);
        return;
    }
    p->reading = true;
}

/* Opens stdin as a libuv stream when it is a pipe, a socket or a terminal. */
static int open_stdin(pub_t *p)
{
    uv_handle_type t = uv_guess_handle(0);
    int rc = 0;

    if (t == UV_NAMED_PIPE) {
        rc = uv_pipe_init(&p->loop, &p->in_handle.pipe, 0);
        if (rc == 0) {
            rc = uv_pipe_open(&p->in_handle.pipe, 0);
            p->in_is_stream = true;
        }
    } else if (t == UV_TTY) {
        rc = uv_tty_init(&p->loop, &p->in_handle.tty, 0, 0);
        p->in_is_stream = rc == 0;
    } else if (t == UV_UNKNOWN_HANDLE) {
        return UV_EBADF;
    }
    if (p->in_is_stream)
        p->in_handle.pipe.data = p;
    return rc;
}

/* Drops the request just answered; compacts the buffers once half of them is answered. */
static void forget_answered(pub_t *p)
{
    size_t *sizes = (size_t *)(void *)p->sizes.base;
    size_t count = p->sizes.len / sizeof(size_t);

    p->head += sizes[p->size_head++];
    if (p->size_head == count) {
        p->unwritten -= p->head;
        sh_buf_reset(&p->unacked);
        sh_buf_reset(&p->sizes);
        p->head = 0;
        p->size_head = 0;
    } else if (p->head > 64 * 1024 && p->head > p->unacked.len / 2) {
        memmove(p->unacked.base, p->unacked.base + p->head, p->unacked.len - p->head);
        p->unacked.len -= p->head;
        p->unwritten -= p->head;
        p->head = 0;
        memmove(sizes, sizes + p->size_head, (count - p->size_head) * sizeof(size_t));
        p->sizes.len = (count - p->size_head) * sizeof(size_t);
        p->size_head = 0;
    }
}

static int on_head(void *user, const sh_resp_head_t *h)
{
    pub_t *p = user;

    p->reply_status = h->status;
    snprintf(p->reply_reason, sizeof(p->reply_reason), "%s", h->reason);
    sh_buf_reset(&p->reply);
    if (!h->keep_alive)
        p->close_announced = true;
    return 0;
}

static int on_body(void *user, const char *at, size_t len)
{
    pub_t *p = user;

    if (p->reply.len + len > REASON_MAX)
        len = REASON_MAX - p->reply.len;
    (void)sh_buf_append(&p->reply, at, len);
    return 0;
}

static int on_complete(void *user)
{
    pub_t *p = user;

    if (p->acked == p->sent) {
        fprintf(stderr, "ssecat: a reply from %s answers no publish\n", p->url.authority);
        stop(p, 1);
        return -1;
    }
    p->acked++;
    p->retries = 0;
    forget_answered(p);
    if (p->reply_status < 200 || p->reply_status > 299) { /* Nchan answers 201 or 202 */
        const char *eol = p->reply.len > 0 ? memchr(p->reply.base, '\n', p->reply.len) : NULL;
        size_t n = eol != NULL ? (size_t)(eol - p->reply.base) : p->reply.len;
        if (n > 0 && p->reply.base[n - 1] == '\r')
            n--;
        p->failed++;
        fprintf(stderr, "ssecat: publish of line %llu failed: %d %s: %.*s\n",
                (unsigned long long)p->acked, p->reply_status, p->reply_reason, (int)n,
                p->reply.base != NULL ? p->reply.base : "");
    }
    return 0;
}

static const sh_resp_cbs_t resp_cbs = {on_head, on_body, on_complete};

static void on_conn_read(sh_cconn_t *conn, const char *data, size_t len)
{
    pub_t *p = sh_cconn_data(conn);
    int rc;

    rc = sh_resp_feed(&p->resp, data, len);
    if (p->done)
        return;
    if (rc != 0) {
        fprintf(stderr, "ssecat: bad HTTP reply from %s: %s\n", p->url.authority,
                rc == SSEHUB_EPROTO ? sh_resp_error_reason(&p->resp) : ssehub_strerror(rc));
        stop(p, 1);
        return;
    }
    maybe_done(p);
    read_more(p);
}

static const sh_cconn_cbs_t conn_cbs;

/* Opens a new connection, on which every unanswered request goes again. */
static void reconnect(pub_t *p)
{
    int rc;

    sh_cconn_close(p->conn);
    p->conn = NULL;
    sh_resp_dispose(&p->resp);
    sh_resp_init(&p->resp, &resp_cbs, p);
    p->connected = false;
    p->close_announced = false;
    p->unwritten = p->head;
    p->retries++;
    rc = sh_cconn_new(&p->loop, &p->url, p->tls, &conn_cbs, p, &p->conn);
    if (rc != 0) {
        fprintf(stderr, "ssecat: cannot reconnect to %s: %s\n", p->url.authority,
                rc == SSEHUB_ENOMEM ? ssehub_strerror(rc) : uv_strerror(rc));
        stop(p, 1);
    }
}

static void on_retry_timer(uv_timer_t *t)
{
    reconnect(t->data);
}

/* The wait before attempt |retries| + 1: none for the first reconnection, then
 * RETRY_BASE_MS doubling up to RETRY_MAX_MS. */
static uint64_t retry_delay_ms(unsigned retries)
{
    uint64_t ms = RETRY_BASE_MS;

    if (retries == 0)
        return 0;
    while (--retries > 0 && ms < RETRY_MAX_MS)
        ms *= 2;
    return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

/*
 * The connection ended (|attempt_failed| false) or a reconnection could not be made
 * (true: nothing was sent on it). With nothing waiting (a server closing an idle
 * keep-alive connection), the next publish opens a new one. Otherwise connects again when
 * sending the unanswered publishes again is safe: the server announced the close (it
 * processed none of them), they carry ids (--id-prefix: the hub publishes each once), or
 * the failed attempt was itself such a reconnection. Otherwise, or after too many
 * attempts without a reply, exits 1 naming what is unacknowledged.
 */
static void connection_lost(pub_t *p, bool attempt_failed, const char *why)
{
    uint64_t waiting = p->sent - p->acked, delay;
    bool ids = p->o->id_prefix != NULL;
    unsigned max = ids ? SSECAT_PUB_MAX_RETRIES : MAX_IDLE_RETRY;
    int rc;

    if (!attempt_failed && waiting == 0) {
        sh_cconn_close(p->conn);
        p->conn = NULL;
        p->connected = false;
        p->idle = true; /* every publish added was answered: nothing to write */
        p->retries = 0;
        return;
    }
    if (!attempt_failed && !p->close_announced && !ids) {
        fprintf(stderr,
                "ssecat: connection to %s lost (%s) with %llu of %llu publishes "
                "unacknowledged (they may or may not have been published; with --id-prefix "
                "ssecat sends them again safely)\n",
                p->url.authority, why, (unsigned long long)waiting, (unsigned long long)p->sent);
        stop(p, 1);
        return;
    }
    if (p->retries >= max) {
        fprintf(stderr,
                "ssecat: giving up on %s after %u attempts in a row without a reply (%s): "
                "%llu of %llu publishes unacknowledged",
                p->url.authority, p->retries, why, (unsigned long long)waiting,
                (unsigned long long)p->sent);
        if (waiting > 0)
            fprintf(stderr, " (lines %llu to %llu)", (unsigned long long)p->acked + 1,
                    (unsigned long long)p->sent);
        fprintf(stderr, "\n");
        stop(p, 1);
        return;
    }
    delay = retry_delay_ms(p->retries);
    if (attempt_failed)
        fprintf(stderr, "ssecat: cannot reconnect to %s (%s); trying again in %llu ms\n",
                p->url.authority, why, (unsigned long long)delay);
    else if (waiting > 0 && p->close_announced)
        fprintf(stderr,
                "ssecat: %s closed the connection as announced; reconnecting to "
                "send %llu publishes again\n",
                p->url.authority, (unsigned long long)waiting);
    else if (waiting > 0)
        fprintf(stderr,
                "ssecat: connection to %s lost (%s) with %llu publishes unanswered; "
                "reconnecting to send them again (their ids make that safe)\n",
                p->url.authority, why, (unsigned long long)waiting);
    sh_cconn_close(p->conn);
    p->conn = NULL;
    p->connected = false;
    if (delay == 0) {
        reconnect(p);
        return;
    }
    rc = uv_timer_start(&p->retry_timer, on_retry_timer, delay, 0);
    if (rc != 0) {
        fprintf(stderr, "ssecat: cannot wait to reconnect: %s\n", uv_strerror(rc));
        stop(p, 1);
    }
}

static void on_conn_end(sh_cconn_t *conn, int status, const char *why)
{
    pub_t *p = sh_cconn_data(conn);

    (void)status;
    if (sh_resp_finish(&p->resp) == 0 && p->acked == p->sent && p->eof && !p->reading) {
        maybe_done(p);
        return;
    }
    if (p->done)
        return;
    connection_lost(p, false, why);
}

static void on_conn_connect(sh_cconn_t *conn, int status, const char *why)
{
    pub_t *p = sh_cconn_data(conn);

    if (status != 0) {
        /* A server that answered before and is gone for a moment (a restart) is tried
           again; the first connection's failure, or a TLS failure, is final. */
        if (p->ever_connected && status != SSEHUB_ETLS) {
            connection_lost(p, true, why);
            return;
        }
        fprintf(stderr, "ssecat: cannot publish to %s: %s\n", p->url.href, why);
        stop(p, 1);
        return;
    }
    p->connected = true;
    p->ever_connected = true;
    if (flush_out(p) != 0)
        return;
    read_more(p);
}

static const sh_cconn_cbs_t conn_cbs = {on_conn_connect, on_conn_read, on_conn_end};

int ssecat_publish(const ssecat_opts_t *o)
{
    static char in[READ_CHUNK];
    char why[512];
    pub_t p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.o = o;
    p.in = in;
    sh_buf_init(&p.partial, o->max_size);
    sh_buf_init(&p.unacked, SIZE_MAX); /* bounded by MAX_UNACKED, plus one line */
    sh_buf_init(&p.sizes, SIZE_MAX);   /* bounded by MAX_IN_FLIGHT, plus one read */
    sh_buf_init(&p.body, SIZE_MAX);
    sh_buf_init(&p.reply, REASON_MAX + 1);
    sh_resp_init(&p.resp, &resp_cbs, &p);
    rc = sh_url_parse(o->url, strlen(o->url), &p.url);
    if (rc != 0) {
        fprintf(stderr, "ssecat: --publish: '%s' is not an http:// or https:// URL\n", o->url);
        p.status = 2;
        goto out;
    }
    if (p.url.tls) {
        p.tls = sh_tls_ctx_new(o->insecure, o->ca_file, why, sizeof(why));
        if (p.tls == NULL) {
            fprintf(stderr, "ssecat: %s\n", why);
            p.status = 1;
            goto out;
        }
    }
    rc = uv_loop_init(&p.loop);
    if (rc < 0) {
        fprintf(stderr, "ssecat: cannot start the event loop: %s\n", uv_strerror(rc));
        p.status = 1;
        goto out;
    }
    rc = open_stdin(&p);
    if (rc != 0) {
        fprintf(stderr, "ssecat: cannot read stdin: %s\n", uv_strerror(rc));
        p.status = 1;
        if (p.in_is_stream)
            uv_close((uv_handle_t *)&p.in_handle, NULL);
        uv_run(&p.loop, UV_RUN_DEFAULT);
        uv_loop_close(&p.loop);
        goto out;
    }
    rc = uv_timer_init(&p.loop, &p.retry_timer);
    if (rc == 0) {
        p.retry_timer.data = &p;
        p.timer_open = true;
        rc = sh_cconn_new(&p.loop, &p.url, p.tls, &conn_cbs, &p, &p.conn);
    }
    if (rc != 0) {
        fprintf(stderr, "ssecat: cannot connect to %s: %s\n", p.url.authority,
                rc == SSEHUB_ENOMEM ? ssehub_strerror(rc) : uv_strerror(rc));
        stop(&p, 1);
    }
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
out:
    SSL_CTX_free(p.tls);
    sh_resp_dispose(&p.resp);
    sh_url_dispose(&p.url);
    sh_buf_dispose(&p.partial);
    sh_buf_dispose(&p.unacked);
    sh_buf_dispose(&p.sizes);
    sh_buf_dispose(&p.body);
    sh_buf_dispose(&p.reply);
    return p.status;
}
