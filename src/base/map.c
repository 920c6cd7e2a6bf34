/* SPDX-License-Identifier: MIT */
/*
 * sh_map: open addressing with linear probing over a power-of-two slot array, at most 3/4
 * full, and deletion by backward shift (Knuth's Algorithm R), so no tombstones pile up.
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/map.h"

#define MIN_SLOTS 8

/* Reads 8 bytes, unaligned, in host order (the hash only has to agree with itself). */
static inline uint64_t read64(const char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/*
 * Eight bytes per round (an xxhash64-like round), the tail zero-padded, the length mixed in
 * first so that padding cannot collide, and murmur3's finaliser: the low bits, which pick
 * the slot, depend on every input bit.
 */
uint64_t sh_map_hash(const char *key, size_t key_len)
{
    const uint64_t k1 = 0x9e3779b97f4a7c15ULL;
    const uint64_t k2 = 0xc2b2ae3d27d4eb4fULL;
    uint64_t h = 0x27d4eb2f165667c5ULL ^ ((uint64_t)key_len * k1);
    size_t len = key_len;

    while (len >= 8) {
        h ^= rotl64(read64(key) * k2, 31) * k1;
        h = rotl64(h, 27) * k1 + 0x85ebca77c2b2ae63ULL;
        key += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t tail = 0;
        memcpy(&tail, key, len);
        h ^= rotl64(tail * k2, 31) * k1;
        h = rotl64(h, 27) * k1 + 0x85ebca77c2b2ae63ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h != 0 ? h : 1; /* 0 marks an empty slot */
}

void sh_map_init(sh_map_t *m)
{
    m->slots = NULL;
    m->nslots = 0;
    m->count = 0;
}

void sh_map_dispose(sh_map_t *m)
{
    sh_free(m->slots);
    sh_map_init(m);
}

/* The slot holding the key, or NULL. */
static sh_map_entry_t *find(const sh_map_t *m, const char *key, size_t key_len, uint64_t hash)
{
    size_t mask, i;

    if (m->count == 0)
        return NULL;
    mask = m->nslots - 1;
    for (i = (size_t)hash & mask;; i = (i + 1) & mask) {
        sh_map_entry_t *e = &m->slots[i];
        if (e->hash == 0)
            return NULL;
        if (e->hash == hash && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
            return e;
    }
}

/* Whether |count| keys fit in |nslots| slots under the 3/4 load bound. */
static int fits(size_t count, size_t nslots)
{
    return count <= nslots / 4 * 3;
}

/* Moves every entry into a new array of |nslots| slots. Returns 0 or SSEHUB_ENOMEM. */
static int rehash(sh_map_t *m, size_t nslots)
{
    sh_map_entry_t *slots;
    size_t mask = nslots - 1, i;

    slots = sh_calloc(nslots, sizeof(*slots));
    if (slots == NULL)
        return SSEHUB_ENOMEM;
    for (i = 0; i < m->nslots; i++) {
        const sh_map_entry_t *e = &m->slots[i];
        size_t j;
        if (e->hash == 0)
            continue;
        for (j = (size_t)e->hash & mask; slots[j].hash != 0; j = (j + 1) & mask)
            ;
        slots[j] = *e;
    }
    sh_free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
    return 0;
}

int sh_map_reserve(sh_map_t *m, size_t extra)
{
    size_t want = m->count + extra, nslots = m->nslots != 0 ? m->nslots : MIN_SLOTS;

    if (want < m->count)
        return SSEHUB_ENOMEM;
    while (!fits(want, nslots)) {
        if (nslots > SIZE_MAX / 2 / sizeof(sh_map_entry_t))
            return SSEHUB_ENOMEM;
        nslots *= 2;
    }
    if (nslots == m->nslots)
        return 0;
    return rehash(m, nslots);
}

void *sh_map_get(const sh_map_t *m, const char *key, size_t key_len)
{
    const sh_map_entry_t *e = find(m, key, key_len, sh_map_hash(key, key_len));

    return e != NULL ? e->value : NULL;
}

int sh_map_put(sh_map_t *m, const char *key, size_t key_len, void *value)
{
    uint64_t hash = sh_map_hash(key, key_len);
    sh_map_entry_t *e = find(m, key, key_len, hash);
    size_t mask, i;
    int rc;

    if (e != NULL) {
        e->value = value;
        return 0;
    }
    if (m->nslots == 0 || !fits(m->count + 1, m->nslots)) {
        rc = sh_map_reserve(m, 1);
        if (rc != 0)
            return rc;
    }
    mask = m->nslots - 1;
    for (i = (size_t)hash & mask; m->slots[i].hash != 0; i = (i + 1) & mask)
        ;
    m->slots[i].key = key;
    m->slots[i].key_len = key_len;
    m->slots[i].hash = hash;
    m->slots[i].value = value;
    m->count++;
    return 0;
}

/*
 * Empties the slot of the key and closes the gap: each later entry of the probe run whose
 * home slot is not cyclically within (gap, its slot] moves back into the gap, so every
 * key stays reachable from its home slot without tombstones.
 */
void *sh_map_del(sh_map_t *m, const char *key, size_t key_len)
{
    sh_map_entry_t *e = find(m, key, key_len, sh_map_hash(key, key_len));
    size_t mask, gap, j;
    void *value;

    if (e == NULL)
        return NULL;
    value = e->value;
    mask = m->nslots - 1;
    gap = (size_t)(e - m->slots);
    for (j = (gap + 1) & mask; m->slots[j].hash != 0; j = (j + 1) & mask) {
        size_t home = (size_t)m->slots[j].hash & mask;
        /* Distances from the entry's home: it may move back when the gap is no farther. */
        if (((j - home) & mask) >= ((j - gap) & mask)) {
            m->slots[gap] = m->slots[j];
            gap = j;
        }
    }
    memset(&m->slots[gap], 0, sizeof(m->slots[gap]));
    m->count--;
    return value;
}

sh_map_entry_t *sh_map_next(const sh_map_t *m, size_t *iter)
{
    while (*iter < m->nslots) {
        sh_map_entry_t *e = &m->slots[(*iter)++];
        if (e->hash != 0)
            return e;
    }
    return NULL;
}
