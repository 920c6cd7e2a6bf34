/* SPDX-License-Identifier: MIT */
/*
 * sh_buf: a growable byte buffer with a hard size cap (curl's dynbuf). Appends either
 * fit under the cap or fail leaving the buffer unchanged, so a buffer fed by the network
 * can never grow without bound.
 */
#ifndef SH_BASE_BUF_H
#define SH_BASE_BUF_H

#include <stddef.h>

typedef struct sh_buf_s {
    char *base; /* the bytes; NULL until the first append */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* the cap on |len|; appends past it fail with SSEHUB_E2BIG */
} sh_buf_t;

/** Initialises |b| empty with a cap of |max| bytes. Cannot fail; allocates nothing. */
void sh_buf_init(sh_buf_t *b, size_t max);

/** Frees the bytes of |b| and leaves it empty and initialised. */
void sh_buf_dispose(sh_buf_t *b);

/** Empties |b| and keeps its allocation for reuse. */
static inline void sh_buf_reset(sh_buf_t *b)
{
    b->len = 0;
}

/**
 * Makes room for |extra| more bytes. Returns 0, SSEHUB_E2BIG (|len| + |extra| would exceed
 * |max|) or SSEHUB_ENOMEM; on error |b| is unchanged.
 */
int sh_buf_reserve(sh_buf_t *b, size_t extra);

/**
 * Appends a copy of |len| bytes at |data|. Returns as sh_buf_reserve(); on error |b| is
 * unchanged.
 */
int sh_buf_append(sh_buf_t *b, const void *data, size_t len);

/** Appends a NUL-terminated string. Returns as sh_buf_append(). */
int sh_buf_append_str(sh_buf_t *b, const char *s);

/**
 * Hands the bytes over to the caller, who frees them with sh_free(); |*len| receives the
 * length. |b| is left empty. Returns NULL when |b| holds no allocation.
 */
char *sh_buf_take(sh_buf_t *b, size_t *len);

#endif /* SH_BASE_BUF_H */
