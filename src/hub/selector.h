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

/* How a selector was given, which says how it matches. */
typedef enum {
    SH_SEL_TOPIC = 0, /* draft-07 `topic=` or `mercure.*` claim: exact, or a URI template */
    SH_SEL_EXACT = 1  /* draft-08 `match=`/`matchExact=` or an Exact grant: byte for byte */
} sh_sel_kind_t;

struct sh_selectors_s {
    sh_str_t *topics;   /* selectors other than `*`, deduplicated; own copies (one allocation) */
    sh_uritpl_t **tpls; /* NULL, or tpls[i]: topics[i] compiled as a URI template (or NULL) */
    size_t ntopics;
    size_t ntemplates; /* how many tpls[i] are not NULL */
    /* NULL when every selector is SH_SEL_TOPIC, else kinds[i]: how topics[i] was given
     * (in the same block as |topics|). */
    const unsigned char *kinds;
    /* One byte each: a subscription is in every idle stream's connection. */
    unsigned char v08;         /* a selector (or `*`) was given as SH_SEL_EXACT: draft-08 */
    unsigned char all;         /* `*` was among the selectors */
    unsigned char all_kind;    /* the sh_sel_kind_t of the first `*` */
    unsigned char may_private; /* receives every private update it selects (set by authz) */
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

/**
 * As sh_selectors_init(), with the kind of each raw selector (|kinds| may be NULL: every
 * one is SH_SEL_TOPIC). Only SH_SEL_TOPIC selectors are compiled as URI templates; the same
 * string given as two kinds is two selectors. `*` of any kind sets |all|.
 */
int sh_selectors_init_kinds(sh_selectors_t *s, const sh_str_t *raw, const unsigned char *kinds,
                            size_t n);

/** The kind of selector |i| (SH_SEL_TOPIC when no kinds were given). */
static inline sh_sel_kind_t sh_selectors_kind(const sh_selectors_t *s, size_t i)
{
    return s->kinds != NULL ? (sh_sel_kind_t)s->kinds[i] : SH_SEL_TOPIC;
}
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
