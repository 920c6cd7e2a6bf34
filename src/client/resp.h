/* SPDX-License-Identifier: MIT */
/*
 * Reading HTTP/1.1 responses (untrusted input) with llhttp in HTTP_RESPONSE mode, for the
 * client and the publisher: the status, the reason phrase, the headers a client acts on
 * (Content-Type, Location), and the body (identity, chunked, or until the end of the
 * connection), for one response or a pipelined series. Pure: no I/O, no clock. Bounded:
 * the head of a response may not pass SH_RESP_MAX_HEAD bytes.
 */
#ifndef SH_CLIENT_RESP_H
#define SH_CLIENT_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <llhttp.h>

#include "base/buf.h"

/** The cap on a response head (status line and headers), in bytes. */
#define SH_RESP_MAX_HEAD (64 * 1024)

/** A response head, as given to on_head; strings are NUL-terminated, valid during the call. */
typedef struct sh_resp_head_s {
    int status;               /* 100..999 */
    const char *reason;       /* the reason phrase ("" when none) */
    const char *content_type; /* the Content-Type value, or NULL when absent */
    const char *location;     /* the Location value, or NULL when absent */
    bool keep_alive;          /* the connection may carry another request */
} sh_resp_head_t;

/**
 * Callbacks; any may be NULL. A non-zero return stops sh_resp_feed(), which then returns
 * SSEHUB_ECANCELED. on_head may return 1 to say the response has no body (a reply to HEAD).
 */
typedef struct sh_resp_cbs_s {
    int (*on_head)(void *user, const sh_resp_head_t *head);
    int (*on_body)(void *user, const char *at, size_t len);
    int (*on_complete)(void *user); /* the response ended (with its body) */
} sh_resp_cbs_t;

/** One connection's response reader. Initialise with sh_resp_init(). */
typedef struct sh_resp_s {
    llhttp_t parser;            /* llhttp's state */
    llhttp_settings_t settings; /* llhttp's callbacks (ours) */
    const sh_resp_cbs_t *cbs;   /* the caller's callbacks, borrowed */
    void *user;                 /* passed to them */
    sh_buf_t reason;            /* the reason phrase being read */
    sh_buf_t field;             /* the header name being read */
    sh_buf_t value;             /* the header value being read */
    sh_buf_t content_type;      /* the Content-Type value */
    sh_buf_t location;          /* the Location value */
    bool has_content_type;      /* a Content-Type header came */
    bool has_location;          /* a Location header came */
    bool in_value;              /* the last header piece was a value */
    size_t head_bytes;          /* bytes of the current head so far */
    int error;                  /* the sticky error, 0 when none */
} sh_resp_t;

/** Initialises |r| for a new connection; |cbs| is borrowed. Cannot fail. */
void sh_resp_init(sh_resp_t *r, const sh_resp_cbs_t *cbs, void *user);

/** Frees the buffers of |r|. */
void sh_resp_dispose(sh_resp_t *r);

/**
 * Feeds |len| bytes received on the connection. Returns 0, or SSEHUB_EPROTO (not HTTP/1.x,
 * or malformed), SSEHUB_E2BIG (a head larger than SH_RESP_MAX_HEAD), SSEHUB_ENOMEM or
 * SSEHUB_ECANCELED (a callback stopped it). Errors are sticky.
 */
int sh_resp_feed(sh_resp_t *r, const char *data, size_t len);

/**
 * Tells |r| the connection ended. Returns 0 when that ended a response whose body runs to
 * the end of the connection (on_complete is called) or when no response was under way,
 * SSEHUB_EEOF when a response was cut short, or the sticky error.
 */
int sh_resp_finish(sh_resp_t *r);

/** Returns true while a response is being read (its head or its body). */
bool sh_resp_in_message(const sh_resp_t *r);

/** Returns llhttp's reason for the last SSEHUB_EPROTO ("" when none). */
const char *sh_resp_error_reason(const sh_resp_t *r);

/** Returns true when |ct| (|len| bytes) is text/event-stream, with or without parameters. */
bool sh_resp_is_event_stream(const char *ct, size_t len);

#endif /* SH_CLIENT_RESP_H */
