/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and the WHATWG Encoding Standard's decode-with-replacement. */
#ifndef SH_BASE_UTF8_H
#define SH_BASE_UTF8_H

#include <stddef.h>

#include "base/buf.h"

/** Returns the length of the longest prefix of |s| made of complete, valid UTF-8 sequences. */
size_t sh_utf8_valid_prefix(const char *s, size_t len);

/**
 * Appends |s| to |b| as the WHATWG UTF-8 decoder (with replacement) followed by a UTF-8
 * encoder would: each maximal invalid subpart, and a sequence truncated by the end of |s|,
 * becomes one U+FFFD (EF BF BD). Valid input is copied unchanged. Returns 0, SSEHUB_E2BIG
 * or SSEHUB_ENOMEM; on error |b| is unchanged.
 */
int sh_utf8_append_sanitized(sh_buf_t *b, const char *s, size_t len);

#endif /* SH_BASE_UTF8_H */
