/* SPDX-License-Identifier: MIT */
/* sh_selectors: a subscription's exact topics (deduplicated copies in one block) and `*`. */
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

/* Whether raw[i] is an exact topic seen for the first time (pairwise search). */
static int first_pairwise(const sh_str_t *raw, size_t i)
{
    size_t j;

    if (is_all(raw[i]))
        return 0;
    for (j = 0; j < i; j++) {
        if (str_eq(raw[i], raw[j]))
            return 0;
    }
    return 1;
}

/* Whether raw[i] is an exact topic seen first at i (|seen| maps each to its first index). */
static int first_mapped(const sh_map_t *seen, const sh_str_t *raw, size_t i)
{
    return !is_all(raw[i]) && sh_map_get(seen, raw[i].ptr, raw[i].len) == &raw[i];
}

/*
 * Two passes over |raw|: the first counts the distinct topics and their bytes, the second
 * copies them (each NUL-terminated) after the array in the same block.
 */
int sh_selectors_init(sh_selectors_t *s, const sh_str_t *raw, size_t n)
{
    sh_map_t seen;
    size_t i, k = 0, bytes = 0, size;
    int all = 0, rc = 0;
    char *p;

    memset(s, 0, sizeof(*s));
    sh_map_init(&seen);
    if (raw == NULL || n == 0)
        return SSEHUB_EINVAL;
    for (i = 0; i < n; i++) {
        if (raw[i].ptr == NULL || raw[i].len == 0)
            return SSEHUB_EINVAL;
    }
    if (n > PAIRWISE_MAX) {
        rc = sh_map_reserve(&seen, n);
        if (rc != 0)
            goto out;
        for (i = 0; i < n; i++) {
            if (!is_all(raw[i]) && sh_map_get(&seen, raw[i].ptr, raw[i].len) == NULL)
                (void)sh_map_put(&seen, raw[i].ptr, raw[i].len, (void *)&raw[i]);
        }
    }
    for (i = 0; i < n; i++) {
        if (is_all(raw[i]))
            all = 1;
        else if (n > PAIRWISE_MAX ? first_mapped(&seen, raw, i) : first_pairwise(raw, i)) {
            k++;
            bytes += raw[i].len + 1; /* cannot overflow: each string is in memory */
        }
    }
    if (k > 0) {
        if (k > (SIZE_MAX - bytes) / sizeof(sh_str_t)) {
            rc = SSEHUB_ENOMEM;
            goto out;
        }
        size = k * sizeof(sh_str_t) + bytes;
        s->topics = sh_malloc(size);
        if (s->topics == NULL) {
            rc = SSEHUB_ENOMEM;
            goto out;
        }
        p = (char *)(s->topics + k);
        for (i = 0; i < n; i++) {
            if (n > PAIRWISE_MAX ? !first_mapped(&seen, raw, i) : !first_pairwise(raw, i))
                continue;
            memcpy(p, raw[i].ptr, raw[i].len);
            p[raw[i].len] = '\0';
            s->topics[s->ntopics].ptr = p;
            s->topics[s->ntopics].len = raw[i].len;
            s->ntopics++;
            p += raw[i].len + 1;
        }
    }
    s->all = all;
out:
    sh_map_dispose(&seen);
    return rc;
}

void sh_selectors_dispose(sh_selectors_t *s)
{
    sh_free(s->topics);
    memset(s, 0, sizeof(*s));
}

int sh_selectors_match(const sh_selectors_t *s, const sh_event_t *ev)
{
    size_t i, j;

    if (ev->is_private && !s->may_private)
        return 0;
    if (s->all)
        return 1;
    for (i = 0; i < ev->ntopics; i++) {
        for (j = 0; j < s->ntopics; j++) {
            if (str_eq(ev->topics[i], s->topics[j]))
                return 1;
        }
    }
    return 0;
}
