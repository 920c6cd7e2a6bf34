/* SPDX-License-Identifier: MIT */
/*
 * The EventSource client (src/client/client.c) against an in-process HTTP server on
 * 127.0.0.1 (port 0) in the same libuv loop, or in a thread for ssehub_client_run(): the
 * request headers (Accept, Cache-Control, Last-Event-ID, custom ones), reconnection after
 * end of stream with the server's retry:, 204 and wrong content types closing for good,
 * redirects (and credentials kept from other origins), the idle timeout, closing from
 * every callback and state, allocation failures. Every test ends with uv_loop_close() == 0
 * and no allocation alive, and runs under ASan/LSan in `make test`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <uv.h>

#include "ssehub/client.h"
#include "ssehub/ssehub.h"
#include "support/failalloc.h"

#define MAX_REQS 64

/* What the server answers to the Nth request (0-based), given its target. */
typedef const char *(*script_fn)(int n, const char *target);

typedef struct server_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    script_fn script;
    char *reqs[MAX_REQS]; /* the request heads received */
    int nreqs;
    int live_conns;
    bool hold_open;         /* keep connections open after the response */
    uint64_t last_write_ns; /* uv_hrtime() just before the last response was written */
} server_t;

typedef struct sconn_s {
    uv_tcp_t tcp;
    server_t *srv;
    char buf[8192];
    size_t len;
    bool answered;
} sconn_t;

typedef struct swrite_s {
    uv_write_t req;
    sconn_t *conn;
    bool close_after;
    char data[];
} swrite_t;

static void sconn_closed(uv_handle_t *h)
{
    sconn_t *c = h->data;

    c->srv->live_conns--;
    free(c);
}

static void sconn_close(sconn_t *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, sconn_closed);
}

static void swrite_done(uv_write_t *req, int status)
{
    swrite_t *w = (swrite_t *)req;

    (void)status;
    if (w->close_after)
        sconn_close(w->conn);
    free(w);
}

static void salloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    sconn_t *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len - 1));
}

static void sread(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    sconn_t *c = s->data;
    server_t *srv = c->srv;
    const char *resp;
    char target[1024] = "";
    swrite_t *w;
    uv_buf_t b;
    size_t len;

    (void)buf;
    if (n < 0) {
        sconn_close(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (c->answered || strstr(c->buf, "\r\n\r\n") == NULL)
        return;
    c->answered = true;
    sscanf(c->buf, "GET %1023s", target);
    if (srv->nreqs < MAX_REQS)
        srv->reqs[srv->nreqs] = strdup(c->buf);
    resp = srv->script(srv->nreqs++, target);
    if (resp == NULL)
        return; /* no answer: the connection stays open and silent */
    len = strlen(resp);
    w = malloc(sizeof(*w) + len);
    memcpy(w->data, resp, len);
    w->conn = c;
    w->close_after = !srv->hold_open;
    b = uv_buf_init(w->data, (unsigned)len);
    srv->last_write_ns = uv_hrtime();
    uv_write(&w->req, s, &b, 1, swrite_done);
}

static void saccept(uv_stream_t *l, int status)
{
    server_t *srv = l->data;
    sconn_t *c;

    if (status < 0)
        return;
    c = calloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    srv->live_conns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, salloc, sread);
    else
        sconn_close(c);
}

static void server_start(server_t *srv, uv_loop_t *loop, script_fn script)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got);

    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->script = script;
    assert_int_equal(uv_tcp_init(loop, &srv->listener), 0);
    srv->listener.data = srv;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&srv->listener, 64, saccept), 0);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&got, &len);
    srv->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* A port on 127.0.0.1 where nobody listens, held for the test: the socket is bound but
 * not listening (a connection is refused) and bound without SO_REUSEADDR, so no other
 * process on the machine (other tests listening on port 0) can take the port meanwhile.
 * Returns the socket, to close() at the end; *port gets the port. */
static int hold_refusing_port(int *port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_TCP && h->data != NULL && ((sconn_t *)h->data)->tcp.data == h->data &&
        (void *)h != (void *)&((server_t *)NULL)->listener) {
        /* handled below */
    }
}

/* Stops the server; its open connections are closed. */
static void server_stop(server_t *srv)
{
    int i;

    (void)close_walk;
    uv_close((uv_handle_t *)&srv->listener, NULL);
    for (i = 0; i < srv->nreqs && i < MAX_REQS; i++)
        free(srv->reqs[i]);
    srv->nreqs = 0;
}

static void close_server_conns(uv_handle_t *h, void *arg)
{
    server_t *srv = arg;

    if (h->type == UV_TCP && h != (uv_handle_t *)&srv->listener && h->data != NULL &&
        ((sconn_t *)h->data)->srv == srv && !uv_is_closing(h))
        sconn_close(h->data);
}

/* Ends a test: stops the server, runs the loop dry and checks nothing is left. */
static void finish_loop(uv_loop_t *loop, server_t *srv)
{
    uv_walk(loop, close_server_conns, srv);
    server_stop(srv);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(loop), 0);
    assert_int_equal(sh_failalloc_live(), 0);
}

/* ---- What the client saw -------------------------------------------------------------- */

typedef struct seen_s {
    server_t *srv;
    ssehub_client_t *client;
    char events[4096];
    size_t events_len;
    int nevents;
    int opens;
    int errors;
    int last_error;
    uint64_t last_delay;         /* the reconnection delay reported with the last error */
    uint64_t delays[16];         /* the first 16 of them */
    int codes[16];               /* the error codes of the first 16 errors */
    uint64_t since_write_ns[16]; /* each of the first 16: time since the server's last
                                  * response was written (srv->last_write_ns) */
    uint64_t first_error_ns;     /* uv_hrtime() at the first error */
    char last_message[512];
    char states[64];
    int close_after_events; /* close from on_event after this many; 0: never */
    int close_after_errors; /* close from on_error after this many; 0: never */
    int close_min_reqs;     /* ... and only once the server has read this many requests */
    int max_errors;         /* close from on_error after this many anyway; 0: no limit */
    int close_after_opens;  /* close from on_open after this many; 0: never */
    bool stop_server_on_closed;
} seen_t;

/* Closes the client from one of its callbacks and ends the test's uv_run(). */
static void close_and_stop(seen_t *s, ssehub_client_t *c)
{
    ssehub_client_close(c);
    if (s->srv != NULL)
        uv_stop(s->srv->loop);
}

static void on_open(ssehub_client_t *c)
{
    seen_t *s = ssehub_client_data(c);

    s->opens++;
    if (s->close_after_opens > 0 && s->opens >= s->close_after_opens)
        close_and_stop(s, c);
}

static void on_event(ssehub_client_t *c, const ssehub_sse_event_t *ev)
{
    seen_t *s = ssehub_client_data(c);

    s->events_len += (size_t)snprintf(s->events + s->events_len, sizeof(s->events) - s->events_len,
                                      "[%.*s|%.*s|%.*s]", (int)ev->type_len, ev->type,
                                      (int)ev->id_len, ev->id, (int)ev->data_len, ev->data);
    s->nevents++;
    if (s->close_after_events > 0 && s->nevents >= s->close_after_events)
        close_and_stop(s, c);
}

static void on_error(ssehub_client_t *c, int err, const char *message)
{
    seen_t *s = ssehub_client_data(c);

    s->errors++;
    s->last_error = err;
    s->last_delay = ssehub_client_reconnect_delay(c);
    if (s->errors == 1)
        s->first_error_ns = uv_hrtime();
    if (s->errors <= 16) {
        s->delays[s->errors - 1] = s->last_delay;
        s->codes[s->errors - 1] = err;
        if (s->srv != NULL && s->srv->last_write_ns != 0)
            s->since_write_ns[s->errors - 1] = uv_hrtime() - s->srv->last_write_ns;
    }
    snprintf(s->last_message, sizeof(s->last_message), "%s", message);
    if (ssehub_client_state(c) == SSEHUB_CLIENT_CLOSED) {
        if (s->stop_server_on_closed)
            uv_stop(s->srv->loop);
        return;
    }
    if ((s->close_after_errors > 0 && s->errors >= s->close_after_errors &&
         (s->srv == NULL || s->srv->nreqs >= s->close_min_reqs)) ||
        (s->max_errors > 0 && s->errors >= s->max_errors))
        close_and_stop(s, c);
}

static void on_state(ssehub_client_t *c, ssehub_client_state_t state)
{
    seen_t *s = ssehub_client_data(c);
    size_t n = strlen(s->states);

    if (n + 2 < sizeof(s->states)) {
        s->states[n] = "COX"[state];
        s->states[n + 1] = '\0';
    }
}

static ssehub_client_options_t options_for(seen_t *s)
{
    ssehub_client_options_t o = {0};

    o.on_open = on_open;
    o.on_event = on_event;
    o.on_error = on_error;
    o.on_state = on_state;
    o.data = s;
    o.retry_ms = 5;
    o.max_backoff_ms = 20;
    return o;
}

static char *url_of(server_t *srv, const char *path)
{
    static char url[256];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv->port, path);
    return url;
}

/* ---- Scripts ------------------------------------------------------------------------- */

static char resp_buf[4096];

/* Each response: one event whose id is the request's number, then the end (chunked). */
static const char *script_stream_then_end(int n, const char *target)
{
    char body[256];
    int len;

    (void)target;
    len = snprintf(body, sizeof(body), "retry: 7\nid: %d\nevent: tick\ndata: event %d\n\n", n + 1,
                   n + 1);
    snprintf(resp_buf, sizeof(resp_buf),
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
             "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
             len, body);
    return resp_buf;
}

static const char *script_204(int n, const char *target)
{
    (void)n;
    (void)target;
    return "HTTP/1.1 204 No Content\r\n\r\n";
}

static const char *script_html(int n, const char *target)
{
    (void)n;
    (void)target;
    return "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi";
}

/* /r/N redirects N times (codes in turn), then a stream that stays open. */
static const char *script_redirects(int n, const char *target)
{
    static const int codes[] = {301, 302, 303, 307, 308};
    int left;

    if (sscanf(target, "/r/%d", &left) == 1 && left > 0) {
        snprintf(resp_buf, sizeof(resp_buf),
                 "HTTP/1.1 %d Moved\r\nLocation: /r/%d\r\nContent-Length: 0\r\n\r\n", codes[n % 5],
                 left - 1);
        return resp_buf;
    }
    if (strncmp(target, "/other", 6) == 0)
        return "HTTP/1.1 302 Found\r\nLocation: http://localhost:1/x\r\n\r\n";
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: arrived\n\n";
}

/* A stream that sends one event and then nothing. */
static const char *script_silent(int n, const char *target)
{
    (void)target;
    snprintf(resp_buf, sizeof(resp_buf),
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: s%d\ndata: x\n\n", n);
    return resp_buf;
}

/* Never answers. */
static const char *script_mute(int n, const char *target)
{
    (void)n;
    (void)target;
    return NULL;
}

/* ---- Tests ---------------------------------------------------------------------------- */

static void test_client_reconnect_cycles(void **state)
{
    static const char *headers[] = {"Authorization: Bearer abc", "X-Custom: 1"};
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;
    char want[64];
    int i;

    (void)state;
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_stream_then_end);
    s.srv = &srv;
    s.close_after_events = 6;
    o.headers = headers;
    o.headers_count = 2;
    o.retry_ms = 3000; /* the server's retry: 7 replaces it */
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/events"), &o, &c), 0);
    assert_int_equal(ssehub_client_state(c), SSEHUB_CLIENT_CONNECTING);
    assert_int_equal(ssehub_client_retry_ms(c), 3000);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.last_delay, 7); /* each stream was open: no backoff */
    assert_int_equal(s.nevents, 6);
    assert_int_equal(s.opens, 6);
    assert_int_equal(s.errors, 5); /* one end of stream after each of the first five */
    assert_int_equal(s.last_error, SSEHUB_EEOF);
    assert_string_equal(s.states, "OCOCOCOCOCO");
    assert_string_equal(s.events, "[tick|1|event 1][tick|2|event 2][tick|3|event 3]"
                                  "[tick|4|event 4][tick|5|event 5][tick|6|event 6]");
    assert_int_equal(srv.nreqs, 6);
    for (i = 0; i < srv.nreqs; i++) {
        assert_non_null(strstr(srv.reqs[i], "GET /events HTTP/1.1\r\n"));
        assert_non_null(strstr(srv.reqs[i], "\r\nAccept: text/event-stream\r\n"));
        assert_non_null(strstr(srv.reqs[i], "\r\nCache-Control: no-cache\r\n"));
        assert_non_null(strstr(srv.reqs[i], "\r\nAuthorization: Bearer abc\r\n"));
        assert_non_null(strstr(srv.reqs[i], "\r\nX-Custom: 1\r\n"));
        snprintf(want, sizeof(want), "\r\nLast-Event-ID: %d\r\n", i);
        if (i == 0)
            assert_null(strstr(srv.reqs[i], "Last-Event-ID"));
        else
            assert_non_null(strstr(srv.reqs[i], want));
    }
    finish_loop(&loop, &srv);
}

static void test_client_retry_from_server(void **state)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;

    (void)state;
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_stream_then_end);
    s.srv = &srv;
    s.close_after_errors = 1;
    o.retry_ms = 3000;
    o.last_event_id = "resume-here";
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/"), &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* Closed from on_error: the delay it reported was the server's retry: 7. */
    assert_int_equal(s.last_delay, 7);
    assert_int_equal(s.nevents, 1);
    assert_int_equal(srv.nreqs, 1);
    assert_non_null(strstr(srv.reqs[0], "\r\nLast-Event-ID: resume-here\r\n"));
    assert_non_null(strstr(s.last_message, "end of stream"));
    finish_loop(&loop, &srv);
}

static void check_closes_for_good(script_fn script, int want_err, const char *want_text)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;

    uv_loop_init(&loop);
    server_start(&srv, &loop, script);
    s.srv = &srv;
    s.stop_server_on_closed = true;
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/"), &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(ssehub_client_state(c), SSEHUB_CLIENT_CLOSED);
    assert_int_equal(ssehub_client_error(c), want_err);
    assert_int_equal(s.last_error, want_err);
    assert_int_equal(s.errors, 1);
    assert_string_equal(s.states, "X");
    assert_int_equal(s.opens, 0);
    if (strstr(s.last_message, want_text) == NULL)
        print_error("message '%s' lacks '%s'\n", s.last_message, want_text);
    assert_non_null(strstr(s.last_message, want_text));
    /* Nothing more happens: no reconnection. */
    assert_int_equal(ssehub_client_reconnect_delay(c), 0);
    ssehub_client_close(c);
    assert_int_equal(srv.nreqs, 1);
    finish_loop(&loop, &srv);
}

static void test_client_204_and_content_type(void **state)
{
    (void)state;
    check_closes_for_good(script_204, SSEHUB_EHTTPSTATUS, "HTTP status 204 No Content");
    check_closes_for_good(script_html, SSEHUB_ECONTENTTYPE, "Content-Type 'text/html'");
}

static void test_client_redirects(void **state)
{
    static const char *headers[] = {"Cookie: a=1"};
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;
    int i;

    (void)state;
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_redirects);
    srv.hold_open = true;
    s.srv = &srv;
    s.close_after_events = 1;
    o.headers = headers;
    o.headers_count = 1;
    /* Ten redirects (each code in turn, twice) are followed. */
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/r/10"), &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(s.events, "[message||arrived]");
    assert_int_equal(srv.nreqs, 11);
    for (i = 0; i < 11; i++)
        assert_non_null(strstr(srv.reqs[i], "\r\nCookie: a=1\r\n")); /* same origin */
    assert_non_null(strstr(srv.reqs[10], "GET /r/0 HTTP/1.1"));
    finish_loop(&loop, &srv);

    /* Eleven are too many. */
    memset(&s, 0, sizeof(s));
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_redirects);
    s.srv = &srv;
    s.stop_server_on_closed = true;
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/r/11"), &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(ssehub_client_error(c), SSEHUB_EREDIRECT);
    assert_non_null(strstr(s.last_message, "too many redirects"));
    ssehub_client_close(c);
    finish_loop(&loop, &srv);
}

/* How early a timer of the client may fire, measured with uv_hrtime() from a moment
 * known to come before the loop time it was armed with: libuv's loop time is in whole
 * milliseconds and may come from CLOCK_MONOTONIC_COARSE (up to 1 ms behind). */
#define TIMER_SLACK_NS (2 * 1000000ull)

/* The idle timeout: a stream silent after its one event is dropped and reconnected with
 * its Last-Event-ID, and never before the timeout has passed since the data came. */
static void test_client_idle_timeout(void **state)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;
    int i;

    (void)state;
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_silent);
    srv.hold_open = true;
    s.srv = &srv;
    s.close_after_opens = 3;
    o.idle_timeout_ms = 30;
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/"), &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.opens, 3);
    assert_int_equal(s.errors, 2);
    assert_int_equal(s.last_error, SSEHUB_ETIMEDOUT);
    assert_non_null(strstr(s.last_message, "idle timeout"));
    assert_non_null(strstr(srv.reqs[1], "\r\nLast-Event-ID: s0\r\n"));
    assert_non_null(strstr(srv.reqs[2], "\r\nLast-Event-ID: s1\r\n"));
    /* The response (head and event, one write) was the last data of each stream: the
     * timeout counts from when the client read it, which is after it was written. */
    for (i = 0; i < 2; i++) {
        assert_int_equal(s.codes[i], SSEHUB_ETIMEDOUT);
        if (s.since_write_ns[i] + TIMER_SLACK_NS < 30 * 1000000ull)
            print_error("idle timeout %d fired %llu us after the data\n", i,
                        (unsigned long long)(s.since_write_ns[i] / 1000));
        assert_true(s.since_write_ns[i] + TIMER_SLACK_NS >= 30 * 1000000ull);
    }
    finish_loop(&loop, &srv);
}

/* The connect timeout covers the response head: a server that accepts and reads the
 * request but never answers times out each attempt, and never sooner than the timeout.
 * Under load an attempt may time out before its request is written (name resolution runs
 * in libuv's thread pool), so the client runs until the server has read a request. */
static void test_client_connect_timeout(void **state)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;
    uint64_t t0;
    int i;

    (void)state;
    t0 = uv_hrtime(); /* before the loop's time is first read: see TIMER_SLACK_NS */
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_mute);
    s.srv = &srv;
    s.close_after_errors = 2;
    s.close_min_reqs = 1;
    s.max_errors = 200;
    o.connect_timeout_ms = 30;
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/"), &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (srv.nreqs < 1)
        print_error("%d attempts timed out, none had sent its request\n", s.errors);
    assert_true(srv.nreqs >= 1); /* requests were sent; no response came */
    assert_true(s.errors >= 2);
    assert_int_equal(s.opens, 0);
    assert_int_equal(s.last_error, SSEHUB_ETIMEDOUT);
    for (i = 0; i < s.errors && i < 16; i++)
        assert_int_equal(s.codes[i], SSEHUB_ETIMEDOUT);
    assert_non_null(strstr(s.last_message, "within 30 ms (connect timeout)"));
    assert_true(s.first_error_ns - t0 + TIMER_SLACK_NS >= 30 * 1000000ull);
    finish_loop(&loop, &srv);
}

/* Closing in every state: at once, while connecting, while waiting to reconnect. */
static void test_client_close_anywhere(void **state)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;
    int port, held, i;

    (void)state;
    held = hold_refusing_port(&port);
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_stream_then_end);
    s.srv = &srv;
    /* Right after creation: no callback at all. */
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/"), &o, &c), 0);
    ssehub_client_close(c);
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 1); /* the listener is still there */
    for (i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(s.errors + s.opens + s.nevents, 0);
    /* While the connection is being made. */
    assert_int_equal(ssehub_client_new(&loop, url_of(&srv, "/"), &o, &c), 0);
    uv_run(&loop, UV_RUN_ONCE);
    ssehub_client_close(c);
    /* While waiting to reconnect after a refused connection: a port nobody listens on. */
    finish_loop(&loop, &srv);
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_stream_then_end);
    s.srv = &srv;
    s.close_after_errors = 3;
    {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
        assert_int_equal(ssehub_client_new(&loop, url, &o, &c), 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.errors, 3);
    assert_int_equal(s.last_error, UV_ECONNREFUSED);
    /* Backoff: 5 ms doubled twice after two failures (the cap, 20), less up to 25%. */
    assert_in_range(s.last_delay, 15, 20);
    assert_string_equal(s.states, "");
    finish_loop(&loop, &srv);
    close(held);
}

/* Backoff against a port nobody listens on: doubling up to the cap with jitter below
 * it, and never sooner than the reconnection time, even when that is above the cap. */
static void test_client_backoff(void **state)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);
    ssehub_client_t *c;
    char url[64];
    int port, held, i;

    (void)state;
    held = hold_refusing_port(&port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);

    uv_loop_init(&loop);
    server_start(&srv, &loop, script_204);
    s.srv = &srv;
    s.close_after_errors = 6;
    o.retry_ms = 2;
    o.max_backoff_ms = 16;
    assert_int_equal(ssehub_client_new(&loop, url, &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.delays[0], 2); /* the first: the reconnection time, no jitter */
    assert_in_range(s.delays[1], 3, 4);
    assert_in_range(s.delays[2], 6, 8);
    assert_in_range(s.delays[3], 12, 16);
    assert_in_range(s.delays[4], 12, 16); /* the cap */
    assert_in_range(s.delays[5], 12, 16);
    finish_loop(&loop, &srv);

    memset(&s, 0, sizeof(s));
    uv_loop_init(&loop);
    server_start(&srv, &loop, script_204);
    s.srv = &srv;
    s.close_after_errors = 4;
    o = options_for(&s);
    o.retry_ms = 30;
    o.max_backoff_ms = 20;
    assert_int_equal(ssehub_client_new(&loop, url, &o, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (i = 0; i < 4; i++)
        assert_int_equal(s.delays[i], 30);
    finish_loop(&loop, &srv);
    close(held);
}

static void test_client_bad_arguments(void **state)
{
    static const char *bad_headers[][1] = {{"NoColon"}, {": v"}, {"A: b\r\nC: d"}, {"A B: c"}};
    ssehub_client_options_t o = {0};
    ssehub_client_t *c = (ssehub_client_t *)1;
    uv_loop_t loop;
    size_t i;

    (void)state;
    uv_loop_init(&loop);
    assert_int_equal(ssehub_client_new(&loop, "ftp://x/", NULL, &c), SSEHUB_EINVAL);
    assert_null(c);
    assert_int_equal(ssehub_client_new(&loop, NULL, NULL, &c), SSEHUB_EINVAL);
    assert_int_equal(ssehub_client_new(NULL, "http://x/", NULL, &c), SSEHUB_EINVAL);
    for (i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        o.headers = bad_headers[i];
        o.headers_count = 1;
        assert_int_equal(ssehub_client_new(&loop, "http://x/", &o, &c), SSEHUB_EINVAL);
    }
    o.headers_count = 0;
    o.last_event_id = "a\nb";
    assert_int_equal(ssehub_client_new(&loop, "http://x/", &o, &c), SSEHUB_EINVAL);
    o.last_event_id = NULL;
    o.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(ssehub_client_new(&loop, "https://x/", &o, &c), SSEHUB_ETLS);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(sh_failalloc_live(), 0);
}

/* Every allocation failure in ssehub_client_new() is reported, with nothing leaked. */
static void test_client_new_oom(void **state)
{
    static const char *headers[] = {"A: 1", "B: 2"};
    ssehub_client_options_t o = {0};
    ssehub_client_t *c;
    uv_loop_t loop;
    long n;
    int rc;

    (void)state;
    o.headers = headers;
    o.headers_count = 2;
    o.last_event_id = "x";
    uv_loop_init(&loop);
    for (n = 0;; n++) {
        sh_failalloc_fail_after(n);
        rc = ssehub_client_new(&loop, "http://127.0.0.1:1/", &o, &c);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    ssehub_client_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(sh_failalloc_live(), 0);
}

/* Allocation failures while connected (connections, requests, the response reader, the
 * parser): each is reported as an error and retried or closed, and nothing leaks. */
static void check_running_oom(script_fn script, const char *path)
{
    uv_loop_t loop;
    server_t srv;
    seen_t s;
    ssehub_client_options_t o;
    ssehub_client_t *c;
    long n;
    int nomem = 0;

    for (n = 0;; n++) {
        memset(&s, 0, sizeof(s));
        o = options_for(&s);
        uv_loop_init(&loop);
        server_start(&srv, &loop, script);
        s.srv = &srv;
        s.close_after_events = 3;
        s.close_after_errors = 6;
        s.stop_server_on_closed = true; /* a failure for good would be a bug: see below */
        o.retry_ms = 1;
        o.max_backoff_ms = 2;
        assert_int_equal(ssehub_client_new(&loop, url_of(&srv, path), &o, &c), 0);
        sh_failalloc_fail_after(n);
        if (getenv("SH_TEST_TRACE") != NULL)
            fprintf(stderr, "running_oom: n=%ld\n", n);
        uv_run(&loop, UV_RUN_DEFAULT);
        sh_failalloc_fail_after(-1);
        if (s.last_error == SSEHUB_ENOMEM)
            nomem++;
        assert_true(strchr(s.states, 'X') == NULL); /* out of memory is never for good */
        finish_loop(&loop, &srv);
        if (s.nevents == 3 && s.errors == 2)
            break; /* enough allocations for three streams without a failure */
        assert_true(n < 500);
    }
    assert_true(nomem > 0);
}

static void test_client_running_oom(void **state)
{
    (void)state;
    check_running_oom(script_stream_then_end, "/");
    check_running_oom(script_redirects, "/r/2"); /* resolving redirects too */
}

/* ---- ssehub_client_run(), with the server on its own loop in a thread ----------------- */

typedef struct threaded_s {
    uv_loop_t loop;
    server_t srv;
    uv_async_t stop;
    uv_thread_t thread;
    uv_sem_t ready;
    script_fn script;
} threaded_t;

static void on_stop(uv_async_t *a)
{
    threaded_t *t = a->data;

    uv_walk(&t->loop, close_server_conns, &t->srv);
    uv_close((uv_handle_t *)&t->srv.listener, NULL);
    uv_close((uv_handle_t *)&t->stop, NULL);
}

static void server_thread(void *arg)
{
    threaded_t *t = arg;

    uv_loop_init(&t->loop);
    server_start(&t->srv, &t->loop, t->script);
    uv_async_init(&t->loop, &t->stop, on_stop);
    t->stop.data = t;
    uv_sem_post(&t->ready);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
}

static void threaded_start(threaded_t *t, script_fn script)
{
    memset(t, 0, sizeof(*t));
    t->script = script;
    uv_sem_init(&t->ready, 0);
    uv_thread_create(&t->thread, server_thread, t);
    uv_sem_wait(&t->ready);
}

static void threaded_stop(threaded_t *t)
{
    int i;

    uv_async_send(&t->stop);
    uv_thread_join(&t->thread);
    uv_sem_destroy(&t->ready);
    for (i = 0; i < t->srv.nreqs && i < MAX_REQS; i++)
        free(t->srv.reqs[i]);
}

static void test_client_run(void **state)
{
    threaded_t t;
    seen_t s = {0};
    ssehub_client_options_t o = options_for(&s);

    (void)state;
    threaded_start(&t, script_stream_then_end);
    s.close_after_events = 3;
    assert_int_equal(ssehub_client_run(url_of(&t.srv, "/"), &o), 0);
    assert_int_equal(s.nevents, 3);
    threaded_stop(&t);

    memset(&s, 0, sizeof(s));
    threaded_start(&t, script_204);
    assert_int_equal(ssehub_client_run(url_of(&t.srv, "/"), &o), SSEHUB_EHTTPSTATUS);
    assert_int_equal(s.errors, 1);
    threaded_stop(&t);
    assert_int_equal(ssehub_client_run("nope", &o), SSEHUB_EINVAL);
    assert_int_equal(sh_failalloc_live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_reconnect_cycles),
        cmocka_unit_test(test_client_retry_from_server),
        cmocka_unit_test(test_client_204_and_content_type),
        cmocka_unit_test(test_client_redirects),
        cmocka_unit_test(test_client_idle_timeout),
        cmocka_unit_test(test_client_connect_timeout),
        cmocka_unit_test(test_client_close_anywhere),
        cmocka_unit_test(test_client_backoff),
        cmocka_unit_test(test_client_bad_arguments),
        cmocka_unit_test(test_client_new_oom),
        cmocka_unit_test(test_client_running_oom),
        cmocka_unit_test(test_client_run),
    };

    sh_failalloc_install();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
