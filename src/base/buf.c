/* SPDX-License-Identifier: MIT */
/* sh_buf: a growable byte buffer with a hard size cap. */
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/buf.h"

void sh_buf_init(sh_buf_t *b, size_t max)
{
    b->base = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sh_buf_dispose(sh_buf_t *b)
{
    sh_free(b->base);
    b->base = NULL;
    b->len = 0;
    b->cap = 0;
}

/*
 * Grows geometrically (x2, at least 64 bytes) so that appends are amortised O(1), but
 * never allocates past |max|: the cap is a memory bound, not just a length check.
 */
int sh_buf_reserve(sh_buf_t *b, size_t extra)
{
    size_t need, ncap;
    char *nbase;

    if (extra > b->max - b->len)
        return SSEHUB_E2BIG;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    ncap = b->cap < 64 ? 64 : b->cap;
    while (ncap < need)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    nbase = sh_realloc(b->base, ncap);
    if (nbase == NULL)
        return SSEHUB_ENOMEM;
    b->base = nbase;
    b->cap = ncap;
    return 0;
}

int sh_buf_append(sh_buf_t *b, const void *data, size_t len)
{
    int rc;

    if (len == 0)
        return 0;
    rc = sh_buf_reserve(b, len);
    if (rc != 0)
        return rc;
    memcpy(b->base + b->len, data, len);
    b->len += len;
    return 0;
}

int sh_buf_append_str(sh_buf_t *b, const char *s)
{
    return sh_buf_append(b, s, strlen(s));
}

char *sh_buf_take(sh_buf_t *b, size_t *len)
{
    char *p = b->base;

    if (len != NULL)
        *len = b->len;
    b->base = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
