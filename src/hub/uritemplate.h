/* SPDX-License-Identifier: MIT */
/*
 * sh_uritpl: RFC 6570 URI templates used as topic selectors (Mercure), compiled once and
 * matched against topics. Matching answers "could this template expand to this topic for
 * some values of its variables"; it does not extract the values. No I/O, no clock.
 *
 * Supported: literals, and expressions of every operator ("", +, #, ., /, ;, ?, &) with one
 * or more variables, the explode modifier (*) and the prefix modifier (:N, enforced when the
 * expression has one variable). A value is a string of unreserved characters,
 * percent-encoded triplets (%XX), commas (list values) and, for IRIs, bytes >= 0x80; with
 * `+` and `#` the reserved characters too. Any variable may be undefined, so an expression
 * may expand to nothing.
 *
 * Matching runs in time linear in the topic length (a sweep over sets of positions), so a
 * pathological template or topic cannot make it backtrack.
 */
#ifndef SH_HUB_URITEMPLATE_H
#define SH_HUB_URITEMPLATE_H

#include <stddef.h>

/* Longest template accepted (bytes). */
#define SH_URITPL_MAX_LEN 4096

typedef struct sh_uritpl_s sh_uritpl_t;

/**
 * Whether |s| (|len| bytes) contains an expression at all ('{'); a selector without one is
 * an exact topic.
 */
int sh_uritpl_is_template(const char *s, size_t len);

/**
 * Compiles a template (|s| is copied). Returns 0 with |*out| owned by the caller (free with
 * sh_uritpl_free()), SSEHUB_EINVAL (not a valid RFC 6570 template: unbalanced braces, an
 * empty or bad variable name, a reserved operator, a bad modifier, a control character or
 * a character RFC 6570 forbids in literals, or longer than SH_URITPL_MAX_LEN) or
 * SSEHUB_ENOMEM.
 */
int sh_uritpl_compile(const char *s, size_t len, sh_uritpl_t **out);

/** Frees |t| (NULL is fine). */
void sh_uritpl_free(sh_uritpl_t *t);

/**
 * Whether |t| can expand to |topic| exactly. Allocates nothing for topics up to 4 KiB;
 * longer topics take one temporary allocation (and do not match when it fails).
 */
int sh_uritpl_match(const sh_uritpl_t *t, const char *topic, size_t len);

/** The template's source text (NUL-terminated). */
const char *sh_uritpl_source(const sh_uritpl_t *t);

#endif /* SH_HUB_URITEMPLATE_H */
