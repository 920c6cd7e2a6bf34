/* SPDX-License-Identifier: MIT */
/*
 * The text/event-stream protocol core: an encoder from events to wire bytes and an
 * incremental parser that follows the WHATWG HTML "parsing an event stream" algorithm.
 * Neither does I/O or reads a clock; both are safe to use from any thread, one object
 * per thread at a time.
 */
#ifndef SSEHUB_SSE_H
#define SSEHUB_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ssehub/export.h"
#include "ssehub/errno.h"
#include "ssehub/rcbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The parser's default cap on a line and on each of its buffers: 1 MiB. */
#define SSEHUB_SSE_DEFAULT_MAX_SIZE ((size_t)1 << 20)

/**
 * One event, as given to the encoder or as dispatched by the parser. Strings are byte
 * ranges, not NUL-terminated, and are borrowed: the encoder copies them, the parser's
 * are valid only during its callback.
 */
typedef struct ssehub_sse_event_s {
    const char *id;   /* encoder: NULL writes no id line; parser: the last event ID */
    size_t id_len;    /* bytes at |id| */
    const char *type; /* encoder: NULL writes no event line; parser: "message" by default */
    size_t type_len;  /* bytes at |type| */
    const char *data; /* encoder: NULL writes no data line; parser: never NULL */
    size_t data_len;  /* bytes at |data| */
    uint64_t retry;   /* reconnection time in milliseconds, when |has_retry| */
    bool has_retry;   /* encoder: write a retry line; parser: always false (see on_retry) */
} ssehub_sse_event_t;

/* ---- Encoder ------------------------------------------------------------------------ */

/**
 * Computes the exact number of bytes ssehub_sse_encode() writes for |ev| into |*len|.
 * The wire form is, in this order: "id: ID", "event: TYPE", "retry: N", one "data: LINE"
 * per line of data (data is split on CRLF, LF and lone CR; every data line keeps the
 * space after the colon so leading spaces survive), each line ended by LF, then one
 * empty line. An event with none of the four fields encodes to the empty line only.
 *
 * Returns 0, or SSEHUB_EINVAL when the id or the type contains CR, LF or NUL (such a
 * field would end the line early or be ignored by receivers), or SSEHUB_E2BIG when the
 * size does not fit in a size_t.
 */
SSEHUB_EXTERN int ssehub_sse_encoded_len(const ssehub_sse_event_t *ev, size_t *len);

/**
 * Encodes |ev| into the caller's |buf| of |cap| bytes. Returns the number of bytes
 * written, SSEHUB_EINVAL or SSEHUB_E2BIG as ssehub_sse_encoded_len(), or SSEHUB_ENOBUFS
 * when |cap| is too small (the content of |buf| is then unspecified).
 */
SSEHUB_EXTERN ssize_t ssehub_sse_encode(const ssehub_sse_event_t *ev, char *buf, size_t cap);

/**
 * Encodes |ev| into a new reference-counted buffer of exactly the encoded size, with one
 * reference owned by the caller, stored in |*out|: the form in which one event is shared
 * by every subscriber and by the history. Returns 0, SSEHUB_EINVAL, SSEHUB_E2BIG, or
 * SSEHUB_ENOMEM; on error |*out| is NULL.
 */
SSEHUB_EXTERN int ssehub_sse_encode_rcbuf(const ssehub_sse_event_t *ev, ssehub_rcbuf_t **out);

/**
 * Encodes a comment: one ":" line per line of |text| (split as data is), a space after
 * the colon when the line is not empty; an empty |text| gives ":\n". Comments dispatch
 * nothing; servers send them as heartbeats. Returns the bytes written into |buf|, or
 * SSEHUB_ENOBUFS when |cap| is too small.
 */
SSEHUB_EXTERN ssize_t ssehub_sse_encode_comment(const char *text, size_t len, char *buf,
                                                size_t cap);

/* ---- Parser ------------------------------------------------------------------------- */

/** An incremental event-stream parser. Create with ssehub_sse_parser_new(). */
typedef struct ssehub_sse_parser_s ssehub_sse_parser_t;

/**
 * Called for each dispatched event, in stream order. |ev->type| is "message" when the
 * stream gave no event type, |ev->id| is the last event ID (empty while never set) and
 * |ev->data| has its one trailing LF removed. All strings are valid UTF-8 (invalid input
 * was replaced by U+FFFD) and valid only during the call. Return 0 to go on; any other
 * value stops the parse call, which then returns SSEHUB_ECANCELED.
 */
typedef int (*ssehub_sse_event_cb)(void *user, const ssehub_sse_event_t *ev);

/**
 * Called for each valid retry field (ASCII digits only, at most UINT64_MAX), in stream
 * order with the events. Return values as ssehub_sse_event_cb.
 */
typedef int (*ssehub_sse_retry_cb)(void *user, uint64_t retry_ms);

/** Parser settings; copied by ssehub_sse_parser_new(). Zero-initialise, then set. */
typedef struct ssehub_sse_parser_settings_s {
    size_t max_size;              /* cap on one line and on each buffer; 0: the default */
    ssehub_sse_event_cb on_event; /* may be NULL */
    ssehub_sse_retry_cb on_retry; /* may be NULL */
    void *user;                   /* passed to the callbacks */
} ssehub_sse_parser_settings_t;

/**
 * Creates a parser for one stream and stores it in |*out|. Memory is bounded: a line
 * longer than max_size bytes, or an event whose data, type or id grows past max_size
 * bytes, is an error (SSEHUB_E2BIG), so a parser holds at most about 5 x max_size bytes
 * whatever it is fed (the partial line, data, type, and the id before and after
 * dispatch). Returns 0, SSEHUB_EINVAL (|settings| or |out| is NULL) or SSEHUB_ENOMEM; on
 * error |*out| is NULL.
 */
SSEHUB_EXTERN int ssehub_sse_parser_new(const ssehub_sse_parser_settings_t *settings,
                                        ssehub_sse_parser_t **out);

/** Frees |p| and its buffers. Accepts NULL. Never call it from |p|'s own callbacks. */
SSEHUB_EXTERN void ssehub_sse_parser_free(ssehub_sse_parser_t *p);

/**
 * Feeds the next |len| bytes of the stream. Chunks may split the stream anywhere (inside
 * a CRLF, a UTF-8 sequence or the BOM): the callbacks see the same events whatever the
 * split. An event is dispatched only when its blank line arrives, so nothing pending is
 * dispatched at end of stream; just stop calling.
 *
 * Returns |len| when all bytes were consumed, or a negative code: SSEHUB_E2BIG (a line
 * or buffer exceeded max_size), SSEHUB_ENOMEM, SSEHUB_ECANCELED (a callback returned
 * non-zero). Errors are sticky: later calls return SSEHUB_EBADSTATE until
 * ssehub_sse_parser_reset().
 */
SSEHUB_EXTERN ssize_t ssehub_sse_parse(ssehub_sse_parser_t *p, const char *in, size_t len);

/**
 * Prepares |p| for a new stream (a reconnection): the data and event type buffers, the
 * partial line, the BOM state, an id field not yet confirmed by a blank line, and any
 * sticky error are cleared. The last event ID is kept, as browsers keep it across
 * reconnections; set it with ssehub_sse_parser_set_last_event_id().
 */
SSEHUB_EXTERN void ssehub_sse_parser_reset(ssehub_sse_parser_t *p);

/**
 * Returns the last event ID string (not NUL-terminated; borrowed until the next call on
 * |p|) and its length in |*len|: the id in force at the last blank line, as the spec
 * defines it. An id field whose event has not ended yet does not count, so a client that
 * reconnects with this id never skips an event it did not receive.
 */
SSEHUB_EXTERN const char *ssehub_sse_parser_last_event_id(const ssehub_sse_parser_t *p,
                                                          size_t *len);

/**
 * Sets the last event ID, for example to the id a client resumes from. Copies |id|,
 * replacing invalid UTF-8 by U+FFFD as the stream's own ids are. Returns 0, SSEHUB_EINVAL
 * (|id| contains NUL, CR or LF), SSEHUB_E2BIG (longer than max_size once decoded) or
 * SSEHUB_ENOMEM; on error the id is unchanged.
 */
SSEHUB_EXTERN int ssehub_sse_parser_set_last_event_id(ssehub_sse_parser_t *p, const char *id,
                                                      size_t len);

/** Returns the parser's sticky error (0 when none). */
SSEHUB_EXTERN int ssehub_sse_parser_error(const ssehub_sse_parser_t *p);

/** Returns the max_size the parser enforces. */
SSEHUB_EXTERN size_t ssehub_sse_parser_max_size(const ssehub_sse_parser_t *p);

#ifdef __cplusplus
}
#endif

#endif /* SSEHUB_SSE_H */
