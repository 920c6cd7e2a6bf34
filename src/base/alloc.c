/* SPDX-License-Identifier: MIT */
/* The replaceable allocator behind sh_malloc() and friends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"

static ssehub_malloc_func malloc_hook = malloc;
static ssehub_realloc_func realloc_hook = realloc;
static ssehub_calloc_func calloc_hook = calloc;
static ssehub_free_func free_hook = free;

int ssehub_replace_allocator(ssehub_malloc_func malloc_func, ssehub_realloc_func realloc_func,
                             ssehub_calloc_func calloc_func, ssehub_free_func free_func)
{
    if (malloc_func == NULL || realloc_func == NULL || calloc_func == NULL || free_func == NULL)
        return SSEHUB_EINVAL;
    malloc_hook = malloc_func;
    realloc_hook = realloc_func;
    calloc_hook = calloc_func;
    free_hook = free_func;
    return 0;
}

void *sh_malloc(size_t size)
{
    return malloc_hook(size);
}

void *sh_realloc(void *ptr, size_t size)
{
    return realloc_hook(ptr, size);
}

void *sh_calloc(size_t count, size_t size)
{
    return calloc_hook(count, size);
}

void sh_free(void *ptr)
{
    /* Some hooks (counting test allocators) are not NULL-safe; keep the promise here. */
    if (ptr != NULL)
        free_hook(ptr);
}

char *sh_strndup(const char *s, size_t len)
{
    char *p = len < SIZE_MAX ? sh_malloc(len + 1) : NULL;

    if (p != NULL) {
        if (len > 0)
            memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}
