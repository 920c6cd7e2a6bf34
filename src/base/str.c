/* SPDX-License-Identifier: MIT */
/* Decimal parsing and formatting without locale or errno. */
#include "ssehub/errno.h"
#include "base/str.h"

int sh_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0)
        return SSEHUB_EINVAL;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return SSEHUB_EINVAL;
    }
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (v > (UINT64_MAX - d) / 10)
            return SSEHUB_E2BIG;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

size_t sh_fmt_u64(char *dst, uint64_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

int sh_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
