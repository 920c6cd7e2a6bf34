/* SPDX-License-Identifier: MIT */
/* Internal allocation entry points; they call the hooks set by ssehub_replace_allocator(). */
#ifndef SH_BASE_ALLOC_H
#define SH_BASE_ALLOC_H

#include <stddef.h>

#include "ssehub/alloc.h"

/** As malloc(); NULL on failure. */
void *sh_malloc(size_t size);
/** As realloc(); NULL on failure, |ptr| left intact. */
void *sh_realloc(void *ptr, size_t size);
/** As calloc(); NULL on failure or when |count| x |size| overflows. */
void *sh_calloc(size_t count, size_t size);
/** As free(); accepts NULL. */
void sh_free(void *ptr);
/** A NUL-terminated copy of the |len| bytes at |s| (sh_free it), or NULL. */
char *sh_strndup(const char *s, size_t len);

#endif /* SH_BASE_ALLOC_H */
