/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and replacement decoding, per the WHATWG Encoding Standard. */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/utf8.h"

/*
 * For lead byte |c|, sets how many continuation bytes follow and the range allowed for
 * the first of them (the later ones are always 80..BF). Returns 0 for a byte that cannot
 * start a sequence (80..C1, F5..FF). These are the Encoding Standard's UTF-8 decoder
 * bounds, which exclude overlong forms, surrogates and code points above U+10FFFF.
 */
static int lead_info(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 1;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 2;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 3;
    }
    return 0;
}

size_t sh_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char lo, hi;
        int need;
        size_t j;

        /* ASCII runs dominate event streams: test eight bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        while (i < len && p[i] < 0x80)
            i++;
        if (i == len)
            break;
        need = lead_info(p[i], &lo, &hi);
        if (need == 0 || (size_t)need >= len - i)
            return i;
        for (j = 1; j <= (size_t)need; j++) {
            if (p[i + j] < lo || p[i + j] > hi)
                return i;
            lo = 0x80;
            hi = 0xBF;
        }
        i += j;
    }
    return i;
}

int sh_utf8_append_sanitized(sh_buf_t *b, const char *s, size_t len)
{
    static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};
    const unsigned char *p = (const unsigned char *)s;
    size_t old_len = b->len, i = 0;
    int rc;

    while (i < len) {
        size_t valid = sh_utf8_valid_prefix(s + i, len - i);
        unsigned char lo, hi;
        int need;

        rc = sh_buf_append(b, s + i, valid);
        if (rc != 0)
            goto err_restore;
        i += valid;
        if (i == len)
            break;
        /*
         * An invalid or truncated sequence starts at |i|: skip its maximal subpart (the
         * lead and the continuation bytes that were in range) and emit one U+FFFD; the
         * byte that broke the sequence is decoded afresh, as the decoder "prepends" it.
         */
        need = lead_info(p[i], &lo, &hi);
        i++;
        while (need > 0 && i < len && p[i] >= lo && p[i] <= hi) {
            i++;
            need--;
            lo = 0x80;
            hi = 0xBF;
        }
        rc = sh_buf_append(b, replacement, sizeof(replacement));
        if (rc != 0)
            goto err_restore;
    }
    return 0;

err_restore:
    b->len = old_len;
    return rc;
}
