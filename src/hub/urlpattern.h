/* SPDX-License-Identifier: MIT */
/*
 * sh_urlpat_comp: one component of a WHATWG URL Pattern (urlpattern.spec.whatwg.org) —
 * the pattern string of a protocol, hostname, pathname... — compiled the standard's way:
 * tokenized (strict policy), parsed into parts (fixed text, named and numbered groups,
 * segment and full wildcards, custom regular expressions, `{...}` groups with the `?`,
 * `*` and `+` modifiers), turned into the standard's regular expression and compiled
 * with PCRE2. Matching is cut off by a cost limit (PCRE2's match and depth limits): a
 * hostile regular expression costs at most that much per match and then does not match,
 * as the Mercure 1.0 draft allows.
 *
 * This is the building block of Mercure 1.0's matchURLPattern selectors; the constructor
 * string parser and the component canonicalization (the standard's encoding callbacks:
 * fixed text is used as given here) are not written yet, so nothing in the hub uses it so
 * far (topics are parsed by url.c). Pure: no I/O, no clock.
 */
#ifndef SH_HUB_URLPATTERN_H
#define SH_HUB_URLPATTERN_H

#include <stddef.h>

/* The standard's options of a component: its segment delimiter and its prefix. */
typedef enum {
    SH_URLPAT_DEFAULT = 0, /* delimiter "", prefix "": protocol, port, search, hash... */
    SH_URLPAT_HOSTNAME,    /* delimiter ".", prefix "" */
    SH_URLPAT_PATHNAME     /* delimiter "/", prefix "/" */
} sh_urlpat_opts_t;

/* The longest pattern accepted, in bytes, and the cost limit of one match. */
#define SH_URLPAT_MAX         4096
#define SH_URLPAT_MATCH_LIMIT 100000
#define SH_URLPAT_DEPTH_LIMIT 1000

typedef struct sh_urlpat_comp_s sh_urlpat_comp_t;

/**
 * Compiles the component pattern |pattern| (|len| bytes of UTF-8). Returns 0 with |*out|
 * set, -1 with a static one-line |*reason| (a tokenizing or parsing error of the
 * standard, a duplicate group name, a regular expression PCRE2 refuses, too long), or
 * SSEHUB_ENOMEM.
 */
int sh_urlpat_comp_compile(const char *pattern, size_t len, sh_urlpat_opts_t opts,
                           sh_urlpat_comp_t **out, const char **reason);

/**
 * Whether |input| (|len| bytes, already canonical) matches. A match that passes the cost
 * limit does not match. Thread-safe (the compiled code is read only; match data is per
 * call).
 */
int sh_urlpat_comp_match(const sh_urlpat_comp_t *c, const char *input, size_t len);

/** The generated regular expression (NUL-terminated), for tests and logs. */
const char *sh_urlpat_comp_regex(const sh_urlpat_comp_t *c);

/** The number of named or numbered groups. */
size_t sh_urlpat_comp_ngroups(const sh_urlpat_comp_t *c);

void sh_urlpat_comp_free(sh_urlpat_comp_t *c);

#endif /* SH_HUB_URLPATTERN_H */
