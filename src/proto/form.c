/* SPDX-License-Identifier: MIT */
/* application/x-www-form-urlencoded parsing (the WHATWG URL Standard's urlencoded parser). */
#include <string.h>

#include "base/str.h"
#include "proto/form.h"

void sh_form_iter_init(sh_form_iter_t *it, const char *s, size_t len)
{
    it->p = s;
    it->end = s != NULL ? s + len : s;
}

/*
 * Splits off the next '&'-separated piece, skipping empty ones as the standard does, and
 * cuts it at its first '='. Nothing is decoded here: the caller decodes only the pairs it
 * keeps, so unknown fields cost one scan.
 */
int sh_form_next(sh_form_iter_t *it, const char **name, size_t *name_len, const char **value,
                 size_t *value_len)
{
    const char *start, *amp, *eq;
    size_t n;

    for (;;) {
        if (it->p == NULL || it->p >= it->end)
            return 0;
        start = it->p;
        n = (size_t)(it->end - start);
        amp = memchr(start, '&', n);
        if (amp == NULL)
            amp = it->end;
        it->p = amp < it->end ? amp + 1 : amp;
        if (amp != start)
            break;
    }
    eq = memchr(start, '=', (size_t)(amp - start));
    *name = start;
    if (eq == NULL) {
        *name_len = (size_t)(amp - start);
        *value = amp;
        *value_len = 0;
    } else {
        *name_len = (size_t)(eq - start);
        *value = eq + 1;
        *value_len = (size_t)(amp - (eq + 1));
    }
    return 1;
}

/*
 * Decodes the byte at |src[*i]| and advances |*i| past what it consumed: '+' is a space,
 * "%XX" one byte, and a '%' not followed by two hex digits stands for itself. One pass, so
 * "%2B" gives '+' and not a space (the standard replaces '+' before percent-decoding, which
 * comes to the same).
 */
static unsigned char decode_one(const char *src, size_t len, size_t *i)
{
    unsigned char c = (unsigned char)src[*i];
    int hi, lo;

    (*i)++;
    if (c == '+')
        return ' ';
    if (c != '%' || len - *i < 2)
        return c;
    hi = sh_hex_digit((unsigned char)src[*i]);
    lo = sh_hex_digit((unsigned char)src[*i + 1]);
    if (hi < 0 || lo < 0)
        return c;
    *i += 2;
    return (unsigned char)(hi * 16 + lo);
}

size_t sh_form_decode(const char *src, size_t len, char *dst)
{
    size_t i = 0, n = 0;

    while (i < len)
        dst[n++] = (char)decode_one(src, len, &i);
    return n;
}

int sh_form_name_is(const char *name, size_t len, const char *want)
{
    size_t i = 0, n = 0;

    while (i < len) {
        if (want[n] == '\0' || (unsigned char)want[n] != decode_one(name, len, &i))
            return 0;
        n++;
    }
    return want[n] == '\0';
}
