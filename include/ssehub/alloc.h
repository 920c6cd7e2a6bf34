/* SPDX-License-Identifier: MIT */
/* Allocator hooks: every allocation ssehub makes goes through these functions. */
#ifndef SSEHUB_ALLOC_H
#define SSEHUB_ALLOC_H

#include <stddef.h>

#include "ssehub/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void *(*ssehub_malloc_func)(size_t size);
typedef void *(*ssehub_realloc_func)(void *ptr, size_t size);
typedef void *(*ssehub_calloc_func)(size_t count, size_t size);
typedef void (*ssehub_free_func)(void *ptr);

/**
 * Replaces the allocator that ssehub uses. Call it before any other ssehub function, or
 * with no ssehub object alive: memory must be freed by the allocator that made it.
 * The functions must behave as their C library namesakes. Not thread-safe.
 *
 * Returns 0, or SSEHUB_EINVAL when any pointer is NULL (the allocator is left unchanged).
 */
SSEHUB_EXTERN int ssehub_replace_allocator(ssehub_malloc_func malloc_func,
                                           ssehub_realloc_func realloc_func,
                                           ssehub_calloc_func calloc_func,
                                           ssehub_free_func free_func);

#ifdef __cplusplus
}
#endif

#endif /* SSEHUB_ALLOC_H */
