/* SPDX-License-Identifier: MIT */
/*
 * The EventSource client (include/ssehub/client.h): the WHATWG state machine over
 * sh_cconn (TCP, TLS), sh_resp (llhttp) and the protocol core's parser, with one timer for
 * the connect timeout, the idle timeout and the reconnection delay.
 */
#include "ssehub/client.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "client/conn.h"
#include "client/resp.h"
#include "client/url.h"
#include "ssehub/version.h"

#define DEFAULT_RETRY_MS   3000
#define DEFAULT_BACKOFF_MS 30000
#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_REDIRECTS  10
#define MAX_HEADER_LINE    8192 /* one custom header, "Name: value" */
#define MAX_REQUEST        (64 * 1024)

typedef enum {
    TIMER_NONE,
    TIMER_CONNECT,   /* the connect timeout of the attempt under way */
    TIMER_IDLE,      /* the idle timeout of an open stream */
    TIMER_RECONNECT, /* the delay before the next attempt */
} timer_mode_t;

/* What a response callback decided; done once llhttp has returned (never inside it). */
typedef enum {
    ACT_NONE,
    ACT_REDIRECT,  /* connect to |next_url| */
    ACT_FAIL,      /* give up for good */
    ACT_RECONNECT, /* the stream ended: reconnect later */
} action_t;

typedef struct run_ctx_s {
    bool closed_by_user; /* ssehub_client_close() was called from a callback */
    int error;           /* the error that closed the client for good */
} run_ctx_t;

typedef struct header_s {
    char *line;      /* "Name: value", NUL-terminated */
    bool credential; /* Authorization or Cookie: not sent to another origin */
} header_t;

struct ssehub_client_s {
    uv_loop_t *loop;
    ssehub_client_options_t opt; /* the options; pointers inside are not kept */
    header_t *headers;           /* copies of the custom headers */
    size_t headers_count;
    char *ca_file;               /* copied */
    sh_url_t origin_url;         /* the URL given: every reconnection starts here */
    sh_url_t redirect_url;       /* the last redirect's target, zeroed when none */
    sh_url_t *url;               /* the URL of the attempt: origin_url or redirect_url */
    sh_url_t next_url;           /* the redirect target, between decision and action */
    SSL_CTX *tls;                /* made when an https URL is first met */
    sh_cconn_t *conn;            /* the connection, NULL between attempts */
    sh_resp_t resp;              /* its response reader */
    bool resp_live;              /* |resp| is initialised */
    ssehub_sse_parser_t *parser; /* the stream parser, kept across connections */
    uv_timer_t timer;            /* see timer_mode_t */
    timer_mode_t timer_mode;
    ssehub_client_state_t state;
    action_t action;   /* set by response callbacks */
    int action_err;    /* its error code */
    char msg[512];     /* the message of the error being reported */
    int redirects;     /* redirects followed in this attempt */
    unsigned failures; /* attempts since the stream was last open */
    uint64_t retry_ms; /* the reconnection time */
    uint64_t delay_ms; /* the delay of the reconnection scheduled, 0 when none */
    uint64_t rng;      /* xorshift state for the jitter */
    int error;         /* the error that closed the client, 0 when none */
    bool closing;      /* ssehub_client_close() was called */
    run_ctx_t *run;    /* set by ssehub_client_run() */
};

static void start_attempt(ssehub_client_t *c);

static void set_msg(ssehub_client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the message of the error about to be reported. */
static void set_msg(ssehub_client_t *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
}

static uint64_t next_random(ssehub_client_t *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static void set_state(ssehub_client_t *c, ssehub_client_state_t state)
{
    if (c->state == state)
        return;
    c->state = state;
    if (c->opt.on_state != NULL)
        c->opt.on_state(c, state);
}

static void timer_stop(ssehub_client_t *c)
{
    uv_timer_stop(&c->timer);
    c->timer_mode = TIMER_NONE;
}

static void on_timer(uv_timer_t *t);

static void timer_start(ssehub_client_t *c, timer_mode_t mode, uint64_t ms)
{
    c->timer_mode = mode;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Ends the connection of the attempt under way, if any. Never called inside llhttp. */
static void drop_conn(ssehub_client_t *c)
{
    sh_cconn_close(c->conn);
    c->conn = NULL;
    if (c->resp_live) {
        sh_resp_dispose(&c->resp);
        c->resp_live = false;
    }
}

/* Gives up for good: CLOSED, then the error callback with c->msg. */
static void fail_for_good(ssehub_client_t *c, int err)
{
    drop_conn(c);
    timer_stop(c);
    c->delay_ms = 0;
    c->error = err;
    if (c->run != NULL)
        c->run->error = err;
    set_state(c, SSEHUB_CLIENT_CLOSED);
    if (c->closing)
        return;
    if (c->opt.on_error != NULL)
        c->opt.on_error(c, err, c->msg);
}

/* The delay before the next attempt: the reconnection time, doubled per failed attempt
 * since the stream was last open, capped, less up to 25% of jitter after a failure (so that
 * clients dropped together do not come back together), and never under the reconnection
 * time itself (the cap gives way to a larger retry:). */
static uint64_t backoff(ssehub_client_t *c)
{
    uint64_t d = c->retry_ms, cap = c->opt.max_backoff_ms;
    unsigned i;

    if (cap < c->retry_ms)
        cap = c->retry_ms;
    for (i = 0; i < c->failures && d < cap; i++)
        d = d > cap / 2 ? cap : d * 2;
    if (d > cap)
        d = cap;
    if (c->failures > 0 && d >= 4)
        d -= next_random(c) % (d / 4 + 1);
    return d < c->retry_ms ? c->retry_ms : d; /* never sooner than the reconnection time */
}

/* A network error or the end of the stream: CONNECTING, reconnect later, tell the user. */
static void connection_lost(ssehub_client_t *c, int err)
{
    drop_conn(c);
    c->delay_ms = backoff(c);
    c->failures++;
    timer_start(c, TIMER_RECONNECT, c->delay_ms);
    set_state(c, SSEHUB_CLIENT_CONNECTING);
    if (c->closing)
        return;
    if (c->opt.on_error != NULL)
        c->opt.on_error(c, err, c->msg);
}

static void on_timer(uv_timer_t *t)
{
    ssehub_client_t *c = t->data;
    timer_mode_t mode = c->timer_mode;

    c->timer_mode = TIMER_NONE;
    switch (mode) {
    case TIMER_CONNECT:
        set_msg(c, "no response from %s within %llu ms (connect timeout)", c->url->authority,
                (unsigned long long)c->opt.connect_timeout_ms);
        connection_lost(c, SSEHUB_ETIMEDOUT);
        break;
    case TIMER_IDLE:
        set_msg(c, "no data from %s for %llu ms (idle timeout)", c->url->authority,
                (unsigned long long)c->opt.idle_timeout_ms);
        connection_lost(c, SSEHUB_ETIMEDOUT);
        break;
    case TIMER_RECONNECT:
        c->delay_ms = 0;
        c->url = &c->origin_url; /* every reconnection starts from the URL given */
        sh_url_dispose(&c->redirect_url);
        c->redirects = 0;
        start_attempt(c);
        break;
    case TIMER_NONE:
        break;
    }
}

/* ---- Parser callbacks ---------------------------------------------------------------- */

static int on_sse_event(void *user, const ssehub_sse_event_t *ev)
{
    ssehub_client_t *c = user;

    if (c->opt.on_event != NULL)
        c->opt.on_event(c, ev);
    return c->closing || c->state != SSEHUB_CLIENT_OPEN ? 1 : 0;
}

static int on_sse_retry(void *user, uint64_t retry_ms)
{
    ssehub_client_t *c = user;

    c->retry_ms = retry_ms;
    return 0;
}

/* ---- Response callbacks (inside llhttp: decide, do not act) ------------------------- */

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int on_head(void *user, const sh_resp_head_t *h)
{
    ssehub_client_t *c = user;
    int rc;

    if (is_redirect(h->status) && h->location != NULL) {
        if (c->redirects >= c->opt.max_redirects) {
            set_msg(c, "too many redirects (more than %d), the last to %s", c->opt.max_redirects,
                    h->location);
            c->action = ACT_FAIL;
            c->action_err = SSEHUB_EREDIRECT;
            return -1;
        }
        rc = sh_url_resolve(c->url, h->location, strlen(h->location), &c->next_url);
        if (rc == SSEHUB_ENOMEM) {
            set_msg(c, "out of memory following a redirect from %s", c->url->href);
            c->action = ACT_RECONNECT; /* memory may come back: try again later */
            c->action_err = rc;
            return -1;
        }
        if (rc != 0) {
            set_msg(c, "HTTP status %d redirects to a URL that is not http(s): '%.300s'", h->status,
                    h->location);
            c->action = ACT_FAIL;
            c->action_err = SSEHUB_EREDIRECT;
            return -1;
        }
        c->action = ACT_REDIRECT;
        return -1;
    }
    if (h->status != 200) {
        set_msg(c, "HTTP status %d%s%s from %s: not an event stream, not reconnecting", h->status,
                h->reason[0] != '\0' ? " " : "", h->reason, c->url->href);
        c->action = ACT_FAIL;
        c->action_err = SSEHUB_EHTTPSTATUS;
        return -1;
    }
    if (h->content_type == NULL ||
        !sh_resp_is_event_stream(h->content_type, strlen(h->content_type))) {
        if (h->content_type == NULL)
            set_msg(c, "the response from %s has no Content-Type, not text/event-stream",
                    c->url->href);
        else
            set_msg(c, "Content-Type '%.200s' from %s is not text/event-stream", h->content_type,
                    c->url->href);
        c->action = ACT_FAIL;
        c->action_err = SSEHUB_ECONTENTTYPE;
        return -1;
    }
    /* Announce the connection: OPEN. The parser starts a new stream, keeping the id. */
    ssehub_sse_parser_reset(c->parser);
    c->failures = 0;
    if (c->opt.idle_timeout_ms > 0)
        timer_start(c, TIMER_IDLE, c->opt.idle_timeout_ms);
    else
        timer_stop(c);
    set_state(c, SSEHUB_CLIENT_OPEN);
    if (!c->closing && c->opt.on_open != NULL)
        c->opt.on_open(c);
    return c->closing ? -1 : 0;
}

static int on_body(void *user, const char *at, size_t len)
{
    ssehub_client_t *c = user;
    ssize_t n;

    if (c->state != SSEHUB_CLIENT_OPEN)
        return 0;
    n = ssehub_sse_parse(c->parser, at, len);
    if (c->closing)
        return -1;
    if (n < 0) {
        if (n == SSEHUB_E2BIG)
            set_msg(c, "the stream from %s exceeds the parser limit of %zu bytes; reconnecting",
                    c->url->href, ssehub_sse_parser_max_size(c->parser));
        else
            set_msg(c, "cannot parse the stream from %s: %s", c->url->href,
                    ssehub_strerror((int)n));
        c->action = ACT_RECONNECT;
        c->action_err = (int)n;
        return -1;
    }
    return 0;
}

static int on_complete(void *user)
{
    ssehub_client_t *c = user;

    set_msg(c, "end of stream from %s", c->url->href);
    c->action = ACT_RECONNECT;
    c->action_err = SSEHUB_EEOF;
    return -1;
}

static const sh_resp_cbs_t resp_cbs = {on_head, on_body, on_complete};

/* Carries out what the response callbacks decided. */
static void do_action(ssehub_client_t *c)
{
    action_t a = c->action;

    c->action = ACT_NONE;
    switch (a) {
    case ACT_REDIRECT:
        drop_conn(c);
        sh_url_dispose(&c->redirect_url);
        c->redirect_url = c->next_url;
        c->url = &c->redirect_url;
        memset(&c->next_url, 0, sizeof(c->next_url));
        c->redirects++;
        start_attempt(c);
        break;
    case ACT_FAIL:
        fail_for_good(c, c->action_err);
        break;
    case ACT_RECONNECT:
        connection_lost(c, c->action_err);
        break;
    case ACT_NONE:
        break;
    }
}

/* ---- Connection callbacks ------------------------------------------------------------ */

static void on_conn_read(sh_cconn_t *conn, const char *data, size_t len)
{
    ssehub_client_t *c = sh_cconn_data(conn);
    int rc;

    rc = sh_resp_feed(&c->resp, data, len);
    if (c->closing)
        return;
    if (c->action != ACT_NONE) {
        do_action(c);
        return;
    }
    if (rc != 0) {
        if (rc == SSEHUB_E2BIG)
            set_msg(c, "the response head from %s is larger than %d bytes", c->url->authority,
                    SH_RESP_MAX_HEAD);
        else
            set_msg(c, "bad HTTP response from %s: %s", c->url->authority,
                    sh_resp_error_reason(&c->resp));
        connection_lost(c, rc);
        return;
    }
    if (c->state == SSEHUB_CLIENT_OPEN && c->opt.idle_timeout_ms > 0)
        timer_start(c, TIMER_IDLE, c->opt.idle_timeout_ms);
}

static void on_conn_end(sh_cconn_t *conn, int status, const char *why)
{
    ssehub_client_t *c = sh_cconn_data(conn);
    int rc = 0;

    if (status == SSEHUB_EEOF)
        rc = sh_resp_finish(&c->resp); /* may end a body that runs to the end */
    if (c->closing)
        return;
    if (c->action != ACT_NONE) {
        do_action(c);
        return;
    }
    (void)rc;
    if (status == SSEHUB_EEOF)
        set_msg(c, "%s %s",
                c->state == SSEHUB_CLIENT_OPEN ? "end of stream:" : "no response:", why);
    else
        set_msg(c, "connection to %s lost: %s", c->url->authority, why);
    if (status == SSEHUB_ETLS && c->state != SSEHUB_CLIENT_OPEN)
        fail_for_good(c, status);
    else
        connection_lost(c, status);
}

/* Builds and sends the GET request once connected. */
static int send_request(ssehub_client_t *c)
{
    bool same_origin = sh_url_same_origin(&c->origin_url, c->url);
    const char *id;
    size_t id_len, i;
    sh_buf_t b;
    int rc;

    sh_buf_init(&b, MAX_REQUEST + ssehub_sse_parser_max_size(c->parser));
    rc = sh_buf_append_str(&b, "GET ");
    if (rc == 0)
        rc = sh_buf_append_str(&b, c->url->target);
    if (rc == 0)
        rc = sh_buf_append_str(&b, " HTTP/1.1\r\nHost: ");
    if (rc == 0)
        rc = sh_buf_append_str(&b, c->url->authority);
    if (rc == 0)
        rc = sh_buf_append_str(&b, "\r\nAccept: text/event-stream\r\n"
                                   "Cache-Control: no-cache\r\n"
                                   "User-Agent: ssehub/" SSEHUB_VERSION_STRING "\r\n");
    id = ssehub_sse_parser_last_event_id(c->parser, &id_len);
    if (rc == 0 && id_len > 0) {
        rc = sh_buf_append_str(&b, "Last-Event-ID: ");
        if (rc == 0)
            rc = sh_buf_append(&b, id, id_len);
        if (rc == 0)
            rc = sh_buf_append_str(&b, "\r\n");
    }
    for (i = 0; rc == 0 && i < c->headers_count; i++) {
        if (c->headers[i].credential && !same_origin)
            continue; /* as curl and fetch: credentials stay with the origin given */
        rc = sh_buf_append_str(&b, c->headers[i].line);
        if (rc == 0)
            rc = sh_buf_append_str(&b, "\r\n");
    }
    if (rc == 0)
        rc = sh_buf_append_str(&b, "\r\n");
    if (rc == 0)
        rc = sh_cconn_write(c->conn, b.base, b.len);
    sh_buf_dispose(&b);
    return rc;
}

static void on_conn_connect(sh_cconn_t *conn, int status, const char *why)
{
    ssehub_client_t *c = sh_cconn_data(conn);
    int rc;

    if (status == 0) {
        rc = send_request(c);
        if (rc == 0)
            return;
        status = rc;
        why = ssehub_strerror(rc);
    }
    set_msg(c, "%s", why != NULL ? why : ssehub_strerror(status));
    if (status == SSEHUB_ETLS)
        fail_for_good(c, status); /* a certificate that failed will fail again */
    else
        connection_lost(c, status);
}

static const sh_cconn_cbs_t conn_cbs = {on_conn_connect, on_conn_read, on_conn_end};

/* Starts connecting to c->url: a new connection and response reader, the connect timer. */
static void start_attempt(ssehub_client_t *c)
{
    int rc;

    if (c->url->tls && c->tls == NULL) {
        c->tls = sh_tls_ctx_new(c->opt.insecure, c->ca_file, c->msg, sizeof(c->msg));
        if (c->tls == NULL) {
            fail_for_good(c, SSEHUB_ETLS);
            return;
        }
    }
    sh_resp_init(&c->resp, &resp_cbs, c);
    c->resp_live = true;
    rc = sh_cconn_new(c->loop, c->url, c->url->tls ? c->tls : NULL, &conn_cbs, c, &c->conn);
    if (rc != 0) {
        set_msg(c, "cannot connect to %s: %s", c->url->authority,
                rc == SSEHUB_ENOMEM ? ssehub_strerror(rc) : uv_strerror(rc));
        connection_lost(c, rc);
        return;
    }
    timer_start(c, TIMER_CONNECT, c->opt.connect_timeout_ms);
}

/* ---- Public API ---------------------------------------------------------------------- */

static bool is_token_char(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", ch) == NULL;
}

static bool name_is(const char *s, size_t len, const char *want)
{
    size_t i;

    if (len != strlen(want))
        return false;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch | 0x20);
        if (ch != (unsigned char)want[i])
            return false;
    }
    return true;
}

/* Checks "Name: value" and copies it into |h|. */
static int copy_header(const char *line, header_t *h)
{
    size_t len = strlen(line), name_len = 0, i;

    while (name_len < len && is_token_char((unsigned char)line[name_len]))
        name_len++;
    if (name_len == 0 || name_len == len || line[name_len] != ':' || len > MAX_HEADER_LINE)
        return SSEHUB_EINVAL;
    for (i = name_len; i < len; i++)
        if (line[i] == '\r' || line[i] == '\n')
            return SSEHUB_EINVAL;
    h->line = sh_malloc(len + 1);
    if (h->line == NULL)
        return SSEHUB_ENOMEM;
    memcpy(h->line, line, len + 1);
    h->credential = name_is(line, name_len, "authorization") || name_is(line, name_len, "cookie");
    return 0;
}

static void free_client(ssehub_client_t *c)
{
    size_t i;

    for (i = 0; i < c->headers_count; i++)
        sh_free(c->headers[i].line);
    sh_free(c->headers);
    sh_free(c->ca_file);
    sh_url_dispose(&c->origin_url);
    sh_url_dispose(&c->redirect_url);
    sh_url_dispose(&c->next_url);
    if (c->resp_live)
        sh_resp_dispose(&c->resp);
    ssehub_sse_parser_free(c->parser);
    SSL_CTX_free(c->tls);
    sh_free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    free_client(h->data);
}

int ssehub_client_new(uv_loop_t *loop, const char *url, const ssehub_client_options_t *options,
                      ssehub_client_t **out)
{
    static const ssehub_client_options_t defaults;
    ssehub_sse_parser_settings_t ps = {0};
    ssehub_client_t *c;
    size_t i;
    int rc;

    if (out == NULL)
        return SSEHUB_EINVAL;
    *out = NULL;
    if (loop == NULL || url == NULL)
        return SSEHUB_EINVAL;
    if (options == NULL)
        options = &defaults;
    if (options->headers_count > 0 && options->headers == NULL)
        return SSEHUB_EINVAL;
    c = sh_calloc(1, sizeof(*c));
    if (c == NULL)
        return SSEHUB_ENOMEM;
    c->loop = loop;
    c->opt = *options;
    c->opt.headers = NULL;
    c->opt.last_event_id = NULL;
    c->opt.ca_file = NULL;
    if (c->opt.retry_ms == 0)
        c->opt.retry_ms = DEFAULT_RETRY_MS;
    if (c->opt.max_backoff_ms == 0)
        c->opt.max_backoff_ms = DEFAULT_BACKOFF_MS;
    if (c->opt.connect_timeout_ms == 0)
        c->opt.connect_timeout_ms = DEFAULT_CONNECT_MS;
    if (c->opt.max_redirects == 0)
        c->opt.max_redirects = DEFAULT_REDIRECTS;
    else if (c->opt.max_redirects < 0)
        c->opt.max_redirects = 0;
    c->retry_ms = c->opt.retry_ms;
    c->rng = (uint64_t)uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ull;
    c->state = SSEHUB_CLIENT_CONNECTING;

    rc = sh_url_parse(url, strlen(url), &c->origin_url);
    if (rc != 0)
        goto out_free;
    c->url = &c->origin_url;
    if (options->headers_count > 0) {
        c->headers = sh_calloc(options->headers_count, sizeof(*c->headers));
        if (c->headers == NULL) {
            rc = SSEHUB_ENOMEM;
            goto out_free;
        }
    }
    for (i = 0; i < options->headers_count; i++) {
        if (options->headers[i] == NULL) {
            rc = SSEHUB_EINVAL;
            goto out_free;
        }
        rc = copy_header(options->headers[i], &c->headers[i]);
        if (rc != 0)
            goto out_free;
        c->headers_count++;
    }
    if (options->ca_file != NULL) {
        size_t n = strlen(options->ca_file);
        c->ca_file = sh_malloc(n + 1);
        if (c->ca_file == NULL) {
            rc = SSEHUB_ENOMEM;
            goto out_free;
        }
        memcpy(c->ca_file, options->ca_file, n + 1);
    }
    ps.max_size = options->max_size;
    ps.on_event = on_sse_event;
    ps.on_retry = on_sse_retry;
    ps.user = c;
    rc = ssehub_sse_parser_new(&ps, &c->parser);
    if (rc != 0)
        goto out_free;
    if (options->last_event_id != NULL) {
        rc = ssehub_sse_parser_set_last_event_id(c->parser, options->last_event_id,
                                                 strlen(options->last_event_id));
        if (rc != 0)
            goto out_free;
    }
    if (c->url->tls) {
        c->tls = sh_tls_ctx_new(c->opt.insecure, c->ca_file, c->msg, sizeof(c->msg));
        if (c->tls == NULL) {
            rc = SSEHUB_ETLS;
            goto out_free;
        }
    }
    rc = uv_timer_init(loop, &c->timer);
    if (rc < 0)
        goto out_free;
    c->timer.data = c;
    /* The first attempt starts from the loop, so no callback runs inside this call. */
    timer_start(c, TIMER_RECONNECT, 0);
    *out = c;
    return 0;

out_free:
    free_client(c);
    return rc;
}

void ssehub_client_close(ssehub_client_t *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = true;
    c->state = SSEHUB_CLIENT_CLOSED;
    if (c->run != NULL)
        c->run->closed_by_user = true;
    sh_cconn_close(c->conn);
    c->conn = NULL;
    /* The response reader may be in use up the stack: it goes with the client. */
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

ssehub_client_state_t ssehub_client_state(const ssehub_client_t *c)
{
    return c->state;
}

const char *ssehub_client_last_event_id(const ssehub_client_t *c, size_t *len)
{
    return ssehub_sse_parser_last_event_id(c->parser, len);
}

uint64_t ssehub_client_retry_ms(const ssehub_client_t *c)
{
    return c->retry_ms;
}

uint64_t ssehub_client_reconnect_delay(const ssehub_client_t *c)
{
    return c->timer_mode == TIMER_RECONNECT ? c->delay_ms : 0;
}

int ssehub_client_error(const ssehub_client_t *c)
{
    return c->error;
}

void *ssehub_client_data(const ssehub_client_t *c)
{
    return c->opt.data;
}

int ssehub_client_run(const char *url, const ssehub_client_options_t *options)
{
    run_ctx_t ctx = {false, 0};
    ssehub_client_t *c;
    uv_loop_t loop;
    int rc;

    rc = uv_loop_init(&loop);
    if (rc < 0)
        return rc;
    rc = ssehub_client_new(&loop, url, options, &c);
    if (rc == 0) {
        c->run = &ctx;
        uv_run(&loop, UV_RUN_DEFAULT); /* returns once the client is CLOSED */
        if (!ctx.closed_by_user) {
            ssehub_client_close(c);
            c->run = NULL;
        }
        uv_run(&loop, UV_RUN_DEFAULT); /* lets the handles close */
        rc = ctx.error;
    }
    uv_loop_close(&loop);
    return rc;
}
