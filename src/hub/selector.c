/* SPDX-License-Identifier: MIT */
/*
 * sh_selectors: a subscription's selectors (deduplicated copies in one block), `*`, and the
 * URI templates among them compiled once.
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/map.h"
#include "hub/selector.h"

/* Above this many raw selectors, duplicates are found with a map instead of pairwise. */
#define PAIRWISE_MAX 16

static int is_all(sh_str_t s)
{
    return s.len == 1 && s.ptr[0] == '*';
}

static int str_eq(sh_str_t a, sh_str_t b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static unsigned char kind_of(const unsigned char *kinds, size_t i)
{
    return kinds != NULL ? kinds[i] : SH_SEL_TOPIC;
}

/* Whether raw[i] is a selector (not `*`) seen for the first time with its kind (pairwise). */
static int first_pairwise(const sh_str_t *raw, const unsigned char *kinds, size_t i)
{
    size_t j;

    if (is_all(raw[i]))
        return 0;
    for (j = 0; j < i; j++) {
        if (str_eq(raw[i], raw[j]) && kind_of(kinds, i) == kind_of(kinds, j))
            return 0;
    }
    return 1;
}

/* Whether raw[i] is a selector seen first at i with its kind (|seen| maps each string to its
 * first index, one map per kind). */
static int first_mapped(const sh_map_t *seen, const sh_str_t *raw, const unsigned char *kinds,
                        size_t i)
{
    return !is_all(raw[i]) &&
           sh_map_get(&seen[kind_of(kinds, i)], raw[i].ptr, raw[i].len) == &raw[i];
}

/* Compiles the selectors that are URI templates; the array exists only when one is. */
static int compile_templates(sh_selectors_t *s)
{
    size_t i;
    int rc;

    for (i = 0; i < s->ntopics; i++) {
        sh_uritpl_t *t = NULL;
        if (sh_selectors_kind(s, i) != SH_SEL_TOPIC)
            continue;
        if (!sh_uritpl_is_template(s->topics[i].ptr, s->topics[i].len))
            continue;
        rc = sh_uritpl_compile(s->topics[i].ptr, s->topics[i].len, &t);
        if (rc == SSEHUB_ENOMEM)
            return rc;
        if (rc != 0)
            continue; /* not a valid template: an exact topic only */
        if (s->tpls == NULL) {
            s->tpls = sh_calloc(s->ntopics, sizeof(*s->tpls));
            if (s->tpls == NULL) {
                sh_uritpl_free(t);
                return SSEHUB_ENOMEM;
            }
        }
        s->tpls[i] = t;
        s->ntemplates++;
    }
    return 0;
}

/*
 * Two passes over |raw|: the first counts the distinct selectors and their bytes, the second
 * copies them (each NUL-terminated) after the array in the same block, then their kinds.
 */
int sh_selectors_init_kinds(sh_selectors_t *s, const sh_str_t *raw, const unsigned char *kinds,
                            size_t n)
{
    sh_map_t seen[2];
    size_t i, k = 0, bytes = 0, size;
    int all = 0, rc = 0, any08 = 0;
    unsigned char *kp = NULL;
    char *p;

    memset(s, 0, sizeof(*s));
    sh_map_init(&seen[0]);
    sh_map_init(&seen[1]);
    if (raw == NULL || n == 0)
        return SSEHUB_EINVAL;
    for (i = 0; i < n; i++) {
        if (raw[i].ptr == NULL || raw[i].len == 0 || kind_of(kinds, i) > SH_SEL_EXACT)
            return SSEHUB_EINVAL;
        if (kind_of(kinds, i) != SH_SEL_TOPIC)
            any08 = 1;
    }
    if (!any08)
        kinds = NULL;
    if (n > PAIRWISE_MAX) {
        rc = sh_map_reserve(&seen[0], n);
        if (rc == 0 && kinds != NULL)
            rc = sh_map_reserve(&seen[1], n);
        if (rc != 0)
            goto out;
        for (i = 0; i < n; i++) {
            sh_map_t *m = &seen[kind_of(kinds, i)];
            if (!is_all(raw[i]) && sh_map_get(m, raw[i].ptr, raw[i].len) == NULL)
                (void)sh_map_put(m, raw[i].ptr, raw[i].len, (void *)&raw[i]);
        }
    }
    for (i = 0; i < n; i++) {
        if (is_all(raw[i])) {
            if (!all)
                s->all_kind = kind_of(kinds, i);
            all = 1;
        } else if (n > PAIRWISE_MAX ? first_mapped(seen, raw, kinds, i)
                                    : first_pairwise(raw, kinds, i)) {
            k++;
            bytes += raw[i].len + 1; /* cannot overflow: each string is in memory */
        }
    }
    if (k > 0) {
        if (k > (SIZE_MAX - bytes - k) / sizeof(sh_str_t)) {
            rc = SSEHUB_ENOMEM;
            goto out;
        }
        size = k * sizeof(sh_str_t) + bytes + (kinds != NULL ? k : 0);
        s->topics = sh_malloc(size);
        if (s->topics == NULL) {
            rc = SSEHUB_ENOMEM;
            goto out;
        }
        p = (char *)(s->topics + k);
        if (kinds != NULL) {
            kp = (unsigned char *)p + bytes;
            s->kinds = kp;
        }
        for (i = 0; i < n; i++) {
            if (n > PAIRWISE_MAX ? !first_mapped(seen, raw, kinds, i)
                                 : !first_pairwise(raw, kinds, i))
                continue;
            memcpy(p, raw[i].ptr, raw[i].len);
            p[raw[i].len] = '\0';
            s->topics[s->ntopics].ptr = p;
            s->topics[s->ntopics].len = raw[i].len;
            if (kp != NULL)
                kp[s->ntopics] = kinds[i];
            s->ntopics++;
            p += raw[i].len + 1;
        }
    }
    s->all = all;
    s->v08 = any08;
    rc = compile_templates(s);
    if (rc != 0)
        sh_selectors_dispose(s);
out:
    sh_map_dispose(&seen[0]);
    sh_map_dispose(&seen[1]);
    return rc;
}

int sh_selectors_init(sh_selectors_t *s, const sh_str_t *raw, size_t n)
{
    return sh_selectors_init_kinds(s, raw, NULL, n);
}

void sh_selectors_dispose(sh_selectors_t *s)
{
    size_t i;

    if (s->tpls != NULL) {
        for (i = 0; i < s->ntopics; i++)
            sh_uritpl_free(s->tpls[i]);
    }
    sh_free(s->tpls);
    sh_free(s->topics);
    memset(s, 0, sizeof(*s));
}

int sh_selectors_match_topic(const sh_selectors_t *s, const char *topic, size_t len)
{
    sh_str_t t;
    size_t j;

    if (s->all)
        return 1;
    t.ptr = topic;
    t.len = len;
    for (j = 0; j < s->ntopics; j++) {
        if (str_eq(t, s->topics[j]))
            return 1;
        if (s->tpls != NULL && s->tpls[j] != NULL && sh_uritpl_match(s->tpls[j], topic, len))
            return 1;
    }
    return 0;
}

int sh_selectors_match_topics(const sh_selectors_t *s, const sh_event_t *ev)
{
    size_t i;

    for (i = 0; i < ev->ntopics; i++) {
        if (sh_selectors_match_topic(s, ev->topics[i].ptr, ev->topics[i].len))
            return 1;
    }
    return 0;
}

int sh_selectors_can_see(const sh_selectors_t *s, const sh_event_t *ev)
{
    if (!ev->is_private || s->may_private)
        return 1;
    return s->allow != NULL && sh_selectors_match_topics(s->allow, ev);
}

int sh_selectors_match(const sh_selectors_t *s, const sh_event_t *ev)
{
    return sh_selectors_can_see(s, ev) && sh_selectors_match_topics(s, ev);
}
