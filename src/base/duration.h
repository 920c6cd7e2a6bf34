/* SPDX-License-Identifier: MIT */
/* Durations on the command line: "250ms", "15s", "5m", "24h", and "0". */
#ifndef SH_BASE_DURATION_H
#define SH_BASE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/**
 * Parses |len| bytes as a non-negative duration: ASCII digits then one unit of ms, s, m or
 * h, lower case (a bare "0" is allowed). No sign, space or fraction. Returns 0 and sets
 * |*ms|, or SSEHUB_EINVAL (malformed, or a unit missing or unknown) or SSEHUB_E2BIG (more
 * than INT64_MAX ms); |*ms| is unchanged on error.
 */
int sh_parse_duration_ms(const char *s, size_t len, int64_t *ms);

/**
 * Parses a byte size: digits with an optional suffix k, K, KiB, M, MiB, G, GiB (powers of
 * 1024), or "B" (the same as none). Returns 0, SSEHUB_EINVAL or SSEHUB_E2BIG (more than
 * UINT64_MAX bytes) as sh_parse_duration_ms(); |*bytes| is unchanged on error.
 */
int sh_parse_size(const char *s, size_t len, uint64_t *bytes);

#endif /* SH_BASE_DURATION_H */
