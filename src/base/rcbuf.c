/* SPDX-License-Identifier: MIT */
/* ssehub_rcbuf: an immutable byte buffer shared by atomic reference count. */
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ssehub/errno.h"
#include "ssehub/rcbuf.h"
#include "base/alloc.h"

struct ssehub_rcbuf_s {
    atomic_size_t refs; /* references alive; the last unref frees */
    size_t len;         /* bytes in |data| */
    alignas(max_align_t) char data[];
};

int ssehub_rcbuf_new(size_t len, ssehub_rcbuf_t **out)
{
    ssehub_rcbuf_t *b;

    *out = NULL;
    if (len > SIZE_MAX - sizeof(*b))
        return SSEHUB_ENOMEM;
    b = sh_malloc(sizeof(*b) + len);
    if (b == NULL)
        return SSEHUB_ENOMEM;
    atomic_init(&b->refs, 1);
    b->len = len;
    *out = b;
    return 0;
}

ssehub_rcbuf_t *ssehub_rcbuf_ref(ssehub_rcbuf_t *b)
{
    /* Relaxed suffices: whoever hands |b| over already synchronises with the receiver. */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void ssehub_rcbuf_unref(ssehub_rcbuf_t *b)
{
    if (b == NULL)
        return;
    /* Release our writes, and acquire everyone else's before the free (as shared_ptr). */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        sh_free(b);
}

char *ssehub_rcbuf_data(const ssehub_rcbuf_t *b)
{
    return (char *)b->data;
}

size_t ssehub_rcbuf_len(const ssehub_rcbuf_t *b)
{
    return b->len;
}

size_t ssehub_rcbuf_refcount(const ssehub_rcbuf_t *b)
{
    return atomic_load_explicit(&((ssehub_rcbuf_t *)b)->refs, memory_order_relaxed);
}
