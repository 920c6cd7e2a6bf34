/* SPDX-License-Identifier: MIT */
/* Small string helpers that replace the banned libc ones (atoi, strtok, ...). */
#ifndef SH_BASE_STR_H
#define SH_BASE_STR_H

#include <stddef.h>
#include <stdint.h>

/**
 * Parses |len| bytes as an unsigned decimal: ASCII digits only, at least one, no sign,
 * no spaces. Returns 0 and sets |*out|, SSEHUB_EINVAL (not all digits, or empty) or
 * SSEHUB_E2BIG (greater than UINT64_MAX); on error |*out| is unchanged.
 */
int sh_parse_u64(const char *s, size_t len, uint64_t *out);

/** Writes |v| in decimal into |dst| (at least 20 bytes), no NUL. Returns the digit count. */
size_t sh_fmt_u64(char *dst, uint64_t v);

/** The value of the hex digit |c| (either case), or -1. */
int sh_hex_digit(unsigned char c);

#endif /* SH_BASE_STR_H */
