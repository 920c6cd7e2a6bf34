/* SPDX-License-Identifier: MIT */
/* The counting, failing test allocator. Each block carries its size in a header. The
 * counters are atomic: fuzz_request's LMDB store allocates on its committer thread too. */
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ssehub/alloc.h"
#include "support/failalloc.h"

typedef union header_u {
    size_t size;
    max_align_t align;
} header_t;

static atomic_long budget = -1;
static atomic_size_t live, live_bytes, peak_bytes;

static int may_allocate(void)
{
    long b = atomic_load(&budget);

    do {
        if (b == 0)
            return 0;
        if (b < 0)
            return 1;
    } while (!atomic_compare_exchange_weak(&budget, &b, b - 1));
    return 1;
}

static void account(size_t added, size_t removed)
{
    size_t now = atomic_fetch_add(&live_bytes, added - removed) + added - removed;
    size_t peak = atomic_load(&peak_bytes);

    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
        ;
}

static void *fa_malloc(size_t size)
{
    header_t *h;

    if (!may_allocate())
        return NULL;
    h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    atomic_fetch_add(&live, 1);
    account(size, 0);
    return h + 1;
}

static void fa_free(void *ptr)
{
    header_t *h;

    if (ptr == NULL)
        return;
    h = (header_t *)ptr - 1;
    atomic_fetch_sub(&live, 1);
    account(0, h->size);
    free(h);
}

static void *fa_realloc(void *ptr, size_t size)
{
    header_t *h, *nh;
    size_t old;

    if (ptr == NULL)
        return fa_malloc(size);
    if (!may_allocate())
        return NULL;
    h = (header_t *)ptr - 1;
    old = h->size;
    nh = realloc(h, sizeof(*nh) + size);
    if (nh == NULL)
        return NULL;
    nh->size = size;
    account(size, old);
    return nh + 1;
}

/* calloc() underneath, not malloc() and memset(): a large block comes zeroed from the
 * system, untouched (fuzz_request's server allocates a 512 KiB inbox per input). */
static void *fa_calloc(size_t count, size_t size)
{
    header_t *h;

    if (size != 0 && count > ((size_t)-1 - sizeof(*h)) / size)
        return NULL;
    if (!may_allocate())
        return NULL;
    h = calloc(1, sizeof(*h) + count * size);
    if (h == NULL)
        return NULL;
    h->size = count * size;
    atomic_fetch_add(&live, 1);
    account(count * size, 0);
    return h + 1;
}

void sh_failalloc_install(void)
{
    atomic_store(&budget, -1);
    atomic_store(&live, 0);
    atomic_store(&live_bytes, 0);
    atomic_store(&peak_bytes, 0);
    ssehub_replace_allocator(fa_malloc, fa_realloc, fa_calloc, fa_free);
}

void sh_failalloc_fail_after(long n)
{
    atomic_store(&budget, n);
}

size_t sh_failalloc_live(void)
{
    return atomic_load(&live);
}

size_t sh_failalloc_live_bytes(void)
{
    return atomic_load(&live_bytes);
}

size_t sh_failalloc_peak_bytes(void)
{
    return atomic_load(&peak_bytes);
}

void sh_failalloc_reset_peak(void)
{
    atomic_store(&peak_bytes, atomic_load(&live_bytes));
}
