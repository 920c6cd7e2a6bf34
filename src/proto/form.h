/* SPDX-License-Identifier: MIT */
/*
 * application/x-www-form-urlencoded and query strings (WHATWG URL "urlencoded parser"):
 * '&'-separated name=value pairs, '+' as space, %XX decoding. Untrusted input: bounded,
 * never fails on malformed escapes (a bad %XX is kept literally, as browsers do).
 */
#ifndef SH_PROTO_FORM_H
#define SH_PROTO_FORM_H

#include <stddef.h>

typedef struct sh_form_iter_s {
    const char *p;   /* the next piece to split off */
    const char *end; /* the end of the input */
} sh_form_iter_t;

/** Starts iterating over the |len| bytes at |s| (borrowed; NULL when |len| is 0). */
void sh_form_iter_init(sh_form_iter_t *it, const char *s, size_t len);

/**
 * Yields the next pair, raw (still encoded): |name|/|value| point into the input. Empty
 * pieces ("a&&b") are skipped. The first '=' splits a piece; a piece without '=' has an
 * empty value ("=" alone is a pair with an empty name and value). Returns 1, or 0 at the
 * end.
 */
int sh_form_next(sh_form_iter_t *it, const char **name, size_t *name_len, const char **value,
                 size_t *value_len);

/**
 * Decodes |len| raw bytes into |dst| (room for |len| bytes: decoding never grows; |dst| may
 * be |src|): '+' becomes a space, %XX (hex digits of either case) one byte, and a '%' not
 * followed by two hex digits is kept as is. Returns the decoded length, which is 0 only
 * when |len| is. The result is bytes, not necessarily UTF-8.
 */
size_t sh_form_decode(const char *src, size_t len, char *dst);

/** Returns 1 when raw |name| decodes to the NUL-terminated |want|, else 0 (no allocation). */
int sh_form_name_is(const char *name, size_t len, const char *want);

#endif /* SH_PROTO_FORM_H */
