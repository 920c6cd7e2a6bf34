/* SPDX-License-Identifier: MIT */
/*
 * An EventSource client on libuv: what a browser's EventSource does, for C programs.
 * It connects to an http:// or https:// URL, follows redirects, checks the response
 * (200 and text/event-stream, or it fails for good), parses the stream with the
 * protocol core's parser, and reconnects after network errors and end of stream with
 * the Last-Event-ID it has seen, waiting the server's retry: time with exponential
 * backoff and jitter. One client lives on one loop; call its functions on that loop's
 * thread only. libuv writes to sockets with write(), so a program should ignore SIGPIPE
 * (signal(SIGPIPE, SIG_IGN)) or a peer that goes away can kill it.
 */
#ifndef SSEHUB_CLIENT_H
#define SSEHUB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "ssehub/export.h"
#include "ssehub/errno.h"
#include "ssehub/sse.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An EventSource client. Create with ssehub_client_new(), end with ssehub_client_close(). */
typedef struct ssehub_client_s ssehub_client_t;

/** The readyState of EventSource. */
typedef enum {
    SSEHUB_CLIENT_CONNECTING = 0, /* connecting, or waiting to reconnect */
    SSEHUB_CLIENT_OPEN = 1,       /* a 200 text/event-stream response is being read */
    SSEHUB_CLIENT_CLOSED = 2      /* failed for good, or closed: no more reconnection */
} ssehub_client_state_t;

/** Called once per response that opens the stream (state OPEN). */
typedef void (*ssehub_client_open_cb)(ssehub_client_t *c);

/**
 * Called for each dispatched event: |ev->type| ("message" when the stream gave none),
 * |ev->data| and |ev->id| (the last event ID) are valid UTF-8, valid during the call only.
 */
typedef void (*ssehub_client_event_cb)(ssehub_client_t *c, const ssehub_sse_event_t *ev);

/**
 * Called on each failure, after the state changed: when ssehub_client_state() is
 * CONNECTING the client reconnects after ssehub_client_reconnect_delay() ms; when it is
 * CLOSED it has given up. |err| is a negative code (SSEHUB_EHTTPSTATUS, SSEHUB_ECONTENTTYPE,
 * SSEHUB_ETLS, SSEHUB_EREDIRECT, SSEHUB_ETIMEDOUT, SSEHUB_EEOF, SSEHUB_EPROTO, SSEHUB_E2BIG,
 * SSEHUB_ENOMEM, or a libuv error such as UV_ECONNREFUSED), |message| one line in English
 * saying what happened (for a refused response, the status or the content type).
 */
typedef void (*ssehub_client_error_cb)(ssehub_client_t *c, int err, const char *message);

/** Called on each change of state, before the open or error callback that goes with it. */
typedef void (*ssehub_client_state_cb)(ssehub_client_t *c, ssehub_client_state_t state);

/** Options for ssehub_client_new(); copied. Zero-initialise, then set what you need. */
typedef struct ssehub_client_options_s {
    const char *const *headers;    /* extra request headers, each "Name: value"; may be NULL */
    size_t headers_count;          /* entries at |headers| */
    const char *last_event_id;     /* sent as Last-Event-ID on the first request; may be NULL */
    uint64_t retry_ms;             /* reconnection time until the server sends retry:; 0: 3000 */
    uint64_t max_backoff_ms;       /* cap of the exponential backoff; 0: 30000 */
    uint64_t connect_timeout_ms;   /* connect, TLS and response head; 0: 10000 */
    uint64_t idle_timeout_ms;      /* an open stream silent this long is reconnected; 0: off */
    size_t max_size;               /* the parser's limit (line, data, id, type); 0: 1 MiB */
    int max_redirects;             /* redirects followed per connection; 0: 10, <0: none */
    bool insecure;                 /* https: skip certificate and host verification */
    const char *ca_file;           /* https: trust these PEM certificates instead of the system's */
    ssehub_client_open_cb on_open; /* may be NULL */
    ssehub_client_event_cb on_event; /* may be NULL */
    ssehub_client_error_cb on_error; /* may be NULL */
    ssehub_client_state_cb on_state; /* may be NULL */
    void *data;                      /* the user's; read it with ssehub_client_data() */
} ssehub_client_options_t;

/**
 * Creates a client on |loop| for |url| (http:// or https://, IPv4, [IPv6] or a name) and
 * starts connecting at once; the first callback comes from the loop, never from this
 * call. |url| and |options| are copied. Stores the client in |*out|.
 *
 * Returns 0, SSEHUB_EINVAL (|url| is not an http(s) URL, a header is not "Name: value"
 * or contains CR, LF or NUL, the last event ID contains CR, LF or NUL), SSEHUB_ETLS
 * (the TLS context or |ca_file| could not be loaded) or SSEHUB_ENOMEM; on error |*out|
 * is NULL.
 */
SSEHUB_EXTERN int ssehub_client_new(uv_loop_t *loop, const char *url,
                                    const ssehub_client_options_t *options, ssehub_client_t **out);

/**
 * Closes |c|: nothing is called any more, and the memory is released once its libuv
 * handles have closed (run the loop); do not use |c| after this call. Safe from inside
 * any of |c|'s callbacks. A client that failed for good (CLOSED) must still be closed to
 * be freed. Accepts NULL; call it exactly once per client.
 */
SSEHUB_EXTERN void ssehub_client_close(ssehub_client_t *c);

/** Returns the state (readyState) of |c|. */
SSEHUB_EXTERN ssehub_client_state_t ssehub_client_state(const ssehub_client_t *c);

/**
 * Returns the last event ID (borrowed, not NUL-terminated, valid until the next event)
 * and its length in |*len|: what the next connection sends as Last-Event-ID.
 */
SSEHUB_EXTERN const char *ssehub_client_last_event_id(const ssehub_client_t *c, size_t *len);

/** Returns the reconnection time now in force: the server's retry:, or the option. */
SSEHUB_EXTERN uint64_t ssehub_client_retry_ms(const ssehub_client_t *c);

/** Returns the delay, in ms, of the reconnection scheduled now (0 when none is). */
SSEHUB_EXTERN uint64_t ssehub_client_reconnect_delay(const ssehub_client_t *c);

/** Returns the error that closed |c| for good, or 0 (open, connecting, or closed by you). */
SSEHUB_EXTERN int ssehub_client_error(const ssehub_client_t *c);

/** Returns |options->data| as given to ssehub_client_new(). */
SSEHUB_EXTERN void *ssehub_client_data(const ssehub_client_t *c);

/**
 * The blocking convenience: runs a client on a private loop until it is CLOSED, either
 * for good (the return value is the error, as ssehub_client_error()) or because a
 * callback called ssehub_client_close() (returns 0). Returns the codes of
 * ssehub_client_new() when it cannot start, or a libuv error when the loop cannot.
 */
SSEHUB_EXTERN int ssehub_client_run(const char *url, const ssehub_client_options_t *options);

#ifdef __cplusplus
}
#endif

#endif /* SSEHUB_CLIENT_H */
