/* SPDX-License-Identifier: MIT */
/* Durations ("250ms", "15s", "24h") and byte sizes ("64k", "1MiB") as given on a command line. */
#include <string.h>

#include "ssehub/errno.h"
#include "base/duration.h"
#include "base/str.h"

/* Returns the length of the run of ASCII digits at the start of |s|. */
static size_t digits_len(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* Returns true when the |len| bytes at |s| are exactly the NUL-terminated |lit|. */
static int is_unit(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

typedef struct unit_s {
    const char *name;
    uint64_t factor;
} unit_t;

/*
 * Parses the digits (the first |n| bytes) times the factor of the unit that follows them,
 * which must be one of |units|. The result must not exceed |max|.
 */
static int parse_scaled(const char *s, size_t len, size_t n, const unit_t *units, size_t nunits,
                        uint64_t max, uint64_t *out)
{
    uint64_t v, factor = 0;
    size_t i;
    int rc;

    for (i = 0; i < nunits; i++) {
        if (is_unit(s + n, len - n, units[i].name))
            factor = units[i].factor;
    }
    /* A bad unit is reported as such even when the digits would also overflow. */
    if (factor == 0)
        return SSEHUB_EINVAL;
    rc = sh_parse_u64(s, n, &v);
    if (rc < 0)
        return rc;
    if (v > max / factor)
        return SSEHUB_E2BIG;
    *out = v * factor;
    return 0;
}

/*
 * Splits |s| into digits and a unit, parses the digits and multiplies by the unit's factor.
 * Units are case-sensitive: "m" is minutes, and "M" is not a duration unit at all.
 */
int sh_parse_duration_ms(const char *s, size_t len, int64_t *ms)
{
    static const unit_t units[] = {{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};
    size_t n = digits_len(s, len);
    uint64_t v;
    size_t i;
    int rc;

    if (n == 0)
        return SSEHUB_EINVAL;
    if (n == len) {
        /* A bare number is ambiguous, except zero (in any number of digits). */
        for (i = 0; i < n; i++) {
            if (s[i] != '0')
                return SSEHUB_EINVAL;
        }
        *ms = 0;
        return 0;
    }
    rc = parse_scaled(s, len, n, units, sizeof(units) / sizeof(units[0]), (uint64_t)INT64_MAX, &v);
    if (rc == 0)
        *ms = (int64_t)v;
    return rc;
}

/* As sh_parse_duration_ms(), with powers of 1024 and no unit meaning bytes. */
int sh_parse_size(const char *s, size_t len, uint64_t *bytes)
{
    static const unit_t units[] = {
        {"", 1},
        {"B", 1},
        {"k", 1024},
        {"K", 1024},
        {"KiB", 1024},
        {"M", 1024 * 1024},
        {"MiB", 1024 * 1024},
        {"G", 1024 * 1024 * 1024},
        {"GiB", 1024 * 1024 * 1024},
    };
    size_t n = digits_len(s, len);

    if (n == 0)
        return SSEHUB_EINVAL;
    return parse_scaled(s, len, n, units, sizeof(units) / sizeof(units[0]), UINT64_MAX, bytes);
}
