/* SPDX-License-Identifier: MIT */
/*
 * sh_selectors: what one subscription listens to — exact topics, `*` (every topic) and
 * RFC 6570 URI templates (sh_uritpl) — and which private updates it may receive.
 */
#ifndef SH_HUB_SELECTOR_H
#define SH_HUB_SELECTOR_H

#include <stddef.h>

#include "hub/event.h"
#include "hub/uritemplate.h"

typedef struct sh_selectors_s sh_selectors_t;

struct sh_selectors_s {
    sh_str_t *topics;   /* selectors other than `*`, deduplicated; own copies (one allocation) */
    sh_uritpl_t **tpls; /* NULL, or tpls[i]: topics[i] compiled as a URI template (or NULL) */
    size_t ntopics;
    size_t ntemplates; /* how many tpls[i] are not NULL */
    int all;           /* `*` was among the selectors */
    int may_private;   /* receives every private update it selects (set by authorization) */
    /* Private updates whose topics one of these selectors matches are received too; set
     * by authorization (a JWT's mercure.subscribe), borrowed, NULL for none. */
    const sh_selectors_t *allow;
};

/**
 * Builds a selector set from the raw `topic` values of a request (borrowed). `*` sets
 * |all|; duplicates are dropped. A selector containing '{' or '}' that is a valid URI
 * template is compiled (it also matches the topic equal to its text, as in Mercure); an
 * invalid one is an exact topic only. Returns 0, SSEHUB_EINVAL (no selector, or an empty
 * one) or SSEHUB_ENOMEM.
 */
int sh_selectors_init(sh_selectors_t *s, const sh_str_t *raw, size_t n);
void sh_selectors_dispose(sh_selectors_t *s);

/** Whether |ev| is for this subscription (a topic matches, and private rules allow). */
int sh_selectors_match(const sh_selectors_t *s, const sh_event_t *ev);

/** Whether one of the selectors matches one of |ev|'s topics (private rules ignored). */
int sh_selectors_match_topics(const sh_selectors_t *s, const sh_event_t *ev);

/** Whether the selectors match |topic| (private rules ignored). */
int sh_selectors_match_topic(const sh_selectors_t *s, const char *topic, size_t len);

/** Whether the private rules let |ev| through (it is public, or allowed by authorization). */
int sh_selectors_can_see(const sh_selectors_t *s, const sh_event_t *ev);

#endif /* SH_HUB_SELECTOR_H */
