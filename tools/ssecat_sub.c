/* SPDX-License-Identifier: MIT */
/*
 * ssecat URL: an EventSource client on the command line. Prints each event (human:
 * "[type] id: data", or one JSON line as --parse writes), says on stderr when it
 * reconnects, and exits 0 after --max-events, 1 when the connection fails for good, 130
 * on SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ssehub/client.h"
#include "ssehub/ssehub.h"
#include "base/buf.h"
#include "base/json.h"
#include "ssecat.h"

typedef struct sub_s {
    const ssecat_opts_t *o;
    uv_loop_t loop;
    ssehub_client_t *client;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    uv_timer_t timeout;
    sh_buf_t line;   /* one output record, reused */
    uint64_t events; /* events printed */
    unsigned opens;  /* responses that opened the stream */
    int status;      /* the exit status once finished */
    bool finished;
} sub_t;

static void finish(sub_t *s, int status)
{
    if (s->finished)
        return;
    s->finished = true;
    s->status = status;
    ssehub_client_close(s->client);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->timeout, NULL);
}

static int format_event(sub_t *s, const ssehub_sse_event_t *ev)
{
    sh_buf_t *b = &s->line;
    int rc;

    sh_buf_reset(b);
    if (s->o->json) {
        rc = sh_buf_append_str(b, "{\"event\": ");
        if (rc == 0)
            rc = sh_json_append_string(b, ev->type, ev->type_len);
        if (rc == 0)
            rc = sh_buf_append_str(b, ", \"data\": ");
        if (rc == 0)
            rc = sh_json_append_string(b, ev->data, ev->data_len);
        if (rc == 0)
            rc = sh_buf_append_str(b, ", \"id\": ");
        if (rc == 0)
            rc = sh_json_append_string(b, ev->id, ev->id_len);
        if (rc == 0)
            rc = sh_buf_append_str(b, "}\n");
        return rc;
    }
    rc = sh_buf_append_str(b, "[");
    if (rc == 0)
        rc = sh_buf_append(b, ev->type, ev->type_len);
    if (rc == 0)
        rc = sh_buf_append_str(b, "] ");
    if (rc == 0 && ev->id_len > 0) {
        rc = sh_buf_append(b, ev->id, ev->id_len);
        if (rc == 0)
            rc = sh_buf_append_str(b, ": ");
    }
    if (rc == 0)
        rc = sh_buf_append(b, ev->data, ev->data_len);
    if (rc == 0)
        rc = sh_buf_append_str(b, "\n");
    return rc;
}

static void on_event(ssehub_client_t *c, const ssehub_sse_event_t *ev)
{
    sub_t *s = ssehub_client_data(c);
    int rc;

    if (s->finished)
        return;
    rc = format_event(s, ev);
    if (rc != 0) {
        fprintf(stderr, "ssecat: cannot format an event: %s\n", ssehub_strerror(rc));
        finish(s, 1);
        return;
    }
    if (fwrite(s->line.base, 1, s->line.len, stdout) != s->line.len || fflush(stdout) != 0) {
        fprintf(stderr, "ssecat: cannot write stdout: %s\n", strerror(errno));
        finish(s, 1);
        return;
    }
    s->events++;
    if (s->o->max_events > 0 && s->events >= s->o->max_events)
        finish(s, 0);
}

static void on_open(ssehub_client_t *c)
{
    sub_t *s = ssehub_client_data(c);

    if (s->opens++ > 0)
        fprintf(stderr, "ssecat: reconnected to %s\n", s->o->url);
}

static void on_error(ssehub_client_t *c, int err, const char *message)
{
    sub_t *s = ssehub_client_data(c);
    const char *id;
    size_t id_len;

    (void)err;
    if (ssehub_client_state(c) == SSEHUB_CLIENT_CLOSED) {
        fprintf(stderr, "ssecat: %s\n", message);
        finish(s, 1);
        return;
    }
    id = ssehub_client_last_event_id(c, &id_len);
    if (id_len > 0)
        fprintf(stderr, "ssecat: %s; reconnecting in %llu ms with Last-Event-ID %.*s\n", message,
                (unsigned long long)ssehub_client_reconnect_delay(c), (int)id_len, id);
    else
        fprintf(stderr, "ssecat: %s; reconnecting in %llu ms\n", message,
                (unsigned long long)ssehub_client_reconnect_delay(c));
}

static void on_signal(uv_signal_t *h, int signum)
{
    sub_t *s = h->data;

    finish(s, 128 + signum);
}

static void on_timeout(uv_timer_t *t)
{
    sub_t *s = t->data;

    if (s->o->max_events > 0) {
        fprintf(stderr, "ssecat: --timeout: %llu of %llu events in %lld ms\n",
                (unsigned long long)s->events, (unsigned long long)s->o->max_events,
                (long long)s->o->timeout_ms);
        finish(s, 1);
    } else {
        finish(s, 0);
    }
}

int ssecat_subscribe(const ssecat_opts_t *o)
{
    ssehub_client_options_t co = {0};
    sub_t s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.o = o;
    sh_buf_init(&s.line, (o->max_size > SIZE_MAX / 20 ? SIZE_MAX : o->max_size * 20) + 64);
    rc = uv_loop_init(&s.loop);
    if (rc < 0) {
        fprintf(stderr, "ssecat: cannot start the event loop: %s\n", uv_strerror(rc));
        return 1;
    }
    co.headers = o->headers;
    co.headers_count = o->headers_count;
    co.last_event_id = o->last_event_id;
    co.retry_ms = (uint64_t)o->retry_ms;
    co.max_backoff_ms = (uint64_t)o->max_backoff_ms;
    co.connect_timeout_ms = (uint64_t)o->connect_timeout_ms;
    co.idle_timeout_ms = (uint64_t)o->idle_timeout_ms;
    co.max_size = o->max_size;
    co.insecure = o->insecure;
    co.ca_file = o->ca_file;
    co.on_open = on_open;
    co.on_event = on_event;
    co.on_error = on_error;
    co.data = &s;
    rc = ssehub_client_new(&s.loop, o->url, &co, &s.client);
    if (rc != 0) {
        if (rc == SSEHUB_EINVAL)
            fprintf(stderr,
                    "ssecat: cannot subscribe to '%s': not an http:// or https:// URL, or a "
                    "bad -H header or --last-event-id\n",
                    o->url);
        else if (rc == SSEHUB_ETLS && o->ca_file != NULL)
            fprintf(stderr, "ssecat: --cacert: cannot load CA certificates from '%s'\n",
                    o->ca_file);
        else
            fprintf(stderr, "ssecat: cannot subscribe to '%s': %s\n", o->url, ssehub_strerror(rc));
        uv_loop_close(&s.loop);
        sh_buf_dispose(&s.line);
        return rc == SSEHUB_EINVAL ? 2 : 1;
    }
    uv_signal_init(&s.loop, &s.sigint);
    uv_signal_init(&s.loop, &s.sigterm);
    uv_timer_init(&s.loop, &s.timeout);
    s.sigint.data = s.sigterm.data = s.timeout.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    if (o->timeout_ms > 0)
        uv_timer_start(&s.timeout, on_timeout, (uint64_t)o->timeout_ms, 0);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    if (!s.finished) /* cannot happen: the signal handles keep the loop alive */
        finish(&s, 1);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    uv_loop_close(&s.loop);
    sh_buf_dispose(&s.line);
    return s.status;
}
