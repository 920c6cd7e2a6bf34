/* SPDX-License-Identifier: MIT */
/* The counting, failing test allocator. Each block carries its size in a header. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/alloc.h"
#include "support/failalloc.h"

typedef union header_u {
    size_t size;
    max_align_t align;
} header_t;

static long budget = -1;
static size_t live, live_bytes, peak_bytes;

static int may_allocate(void)
{
    if (budget == 0)
        return 0;
    if (budget > 0)
        budget--;
    return 1;
}

static void account(size_t added, size_t removed)
{
    live_bytes = live_bytes + added - removed;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
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
    live++;
    account(size, 0);
    return h + 1;
}

static void fa_free(void *ptr)
{
    header_t *h;

    if (ptr == NULL)
        return;
    h = (header_t *)ptr - 1;
    live--;
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

static void *fa_calloc(size_t count, size_t size)
{
    void *p;

    if (size != 0 && count > (size_t)-1 / size)
        return NULL;
    p = fa_malloc(count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void sh_failalloc_install(void)
{
    budget = -1;
    live = 0;
    live_bytes = 0;
    peak_bytes = 0;
    ssehub_replace_allocator(fa_malloc, fa_realloc, fa_calloc, fa_free);
}

void sh_failalloc_fail_after(long n)
{
    budget = n;
}

size_t sh_failalloc_live(void)
{
    return live;
}

size_t sh_failalloc_live_bytes(void)
{
    return live_bytes;
}

size_t sh_failalloc_peak_bytes(void)
{
    return peak_bytes;
}

void sh_failalloc_reset_peak(void)
{
    peak_bytes = live_bytes;
}
