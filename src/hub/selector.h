/* SPDX-License-Identifier: MIT */
/*
 * sh_selectors: what one subscription listens to — exact topics and/or `*` (every
 * topic). URI-template selectors come with their own issue and plug in here.
 */
#ifndef SH_HUB_SELECTOR_H
#define SH_HUB_SELECTOR_H

#include <stddef.h>

#include "hub/event.h"

typedef struct sh_selectors_s {
    sh_str_t *topics; /* exact topics, deduplicated; own copies (one allocation) */
    size_t ntopics;
    int all;         /* `*` was among the selectors */
    int may_private; /* receives private updates (set by authorization; 0 for now) */
} sh_selectors_t;

/**
 * Builds a selector set from the raw `topic` values of a request (borrowed). `*` sets
 * |all|; duplicates are dropped. Returns 0, SSEHUB_EINVAL (no selector, or an empty one)
 * or SSEHUB_ENOMEM.
 */
int sh_selectors_init(sh_selectors_t *s, const sh_str_t *raw, size_t n);
void sh_selectors_dispose(sh_selectors_t *s);

/** Whether |ev| is for this subscription (a topic matches, and private rules allow). */
int sh_selectors_match(const sh_selectors_t *s, const sh_event_t *ev);

#endif /* SH_HUB_SELECTOR_H */
