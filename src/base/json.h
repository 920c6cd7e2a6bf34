/* SPDX-License-Identifier: MIT */
/* Writing JSON string literals (RFC 8259). */
#ifndef SH_BASE_JSON_H
#define SH_BASE_JSON_H

#include <stddef.h>

#include "base/buf.h"

/**
 * Appends |s| to |b| as a JSON string literal, quotes included: '"' and '\\' are escaped,
 * control characters U+0000..U+001F become \b \f \n \r \t or \u00XX, everything else
 * (UTF-8 included) passes through byte for byte; |s| should be valid UTF-8. Returns 0,
 * SSEHUB_E2BIG or SSEHUB_ENOMEM; on error |b| is unchanged.
 */
int sh_json_append_string(sh_buf_t *b, const char *s, size_t len);

#endif /* SH_BASE_JSON_H */
