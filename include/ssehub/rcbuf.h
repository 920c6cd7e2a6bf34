/* SPDX-License-Identifier: MIT */
/* Reference-counted, immutable byte buffers: one encoded event shared by many readers. */
#ifndef SSEHUB_RCBUF_H
#define SSEHUB_RCBUF_H

#include <stddef.h>

#include "ssehub/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A byte buffer with a reference count, allocated in one piece with its bytes. Its
 * content is written once by its creator and is read-only from the moment it is shared.
 * The count is atomic: references may be taken and dropped on any thread.
 */
typedef struct ssehub_rcbuf_s ssehub_rcbuf_t;

/**
 * Allocates a buffer of |len| bytes (content undefined) with a reference count of 1 and
 * stores it in |*out|. Returns 0, or SSEHUB_ENOMEM (|*out| is set to NULL).
 */
SSEHUB_EXTERN int ssehub_rcbuf_new(size_t len, ssehub_rcbuf_t **out);

/** Takes one more reference to |b| and returns |b|. */
SSEHUB_EXTERN ssehub_rcbuf_t *ssehub_rcbuf_ref(ssehub_rcbuf_t *b);

/** Drops one reference to |b|; the last one frees it. Accepts NULL. */
SSEHUB_EXTERN void ssehub_rcbuf_unref(ssehub_rcbuf_t *b);

/** Returns the buffer's bytes. Writable only by the creator, before the buffer is shared. */
SSEHUB_EXTERN char *ssehub_rcbuf_data(const ssehub_rcbuf_t *b);

/** Returns the number of bytes in |b|. */
SSEHUB_EXTERN size_t ssehub_rcbuf_len(const ssehub_rcbuf_t *b);

/** Returns the current reference count of |b| (for tests and assertions). */
SSEHUB_EXTERN size_t ssehub_rcbuf_refcount(const ssehub_rcbuf_t *b);

#ifdef __cplusplus
}
#endif

#endif /* SSEHUB_RCBUF_H */
