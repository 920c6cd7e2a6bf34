/* SPDX-License-Identifier: MIT */
/*
 * sh_map: a hash map from byte-string keys to pointers (open addressing, linear
 * probing, tombstone-free backward-shift deletion). The map does not copy keys: the
 * caller keeps each key's bytes alive and unchanged while the entry exists (the hub keys
 * its maps with bytes owned by the value, e.g. a topic's name inside the topic).
 */
#ifndef SH_BASE_MAP_H
#define SH_BASE_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sh_map_entry_s {
    const char *key;
    size_t key_len;
    uint64_t hash; /* 0 marks an empty slot */
    void *value;
} sh_map_entry_t;

typedef struct sh_map_s {
    sh_map_entry_t *slots;
    size_t nslots; /* a power of two, or 0 before the first insert */
    size_t count;
} sh_map_t;

void sh_map_init(sh_map_t *m);
/** Frees the slot array; the keys and values are the caller's. */
void sh_map_dispose(sh_map_t *m);

/** The value stored under the key, or NULL. */
void *sh_map_get(const sh_map_t *m, const char *key, size_t key_len);

/**
 * Stores |value| under the key (replacing any value already there). Returns 0 or
 * SSEHUB_ENOMEM (the map is unchanged).
 */
int sh_map_put(sh_map_t *m, const char *key, size_t key_len, void *value);

/**
 * Makes room for |extra| more keys: the next |extra| sh_map_put() calls that add a new key
 * cannot fail. Returns 0 or SSEHUB_ENOMEM (the map is unchanged).
 */
int sh_map_reserve(sh_map_t *m, size_t extra);

/** Removes the key; returns its value or NULL when absent. Never allocates. */
void *sh_map_del(sh_map_t *m, const char *key, size_t key_len);

/** 64-bit hash of a byte string (never 0). */
uint64_t sh_map_hash(const char *key, size_t key_len);

/** Iteration: for (i = 0; (e = sh_map_next(m, &i)) != NULL;) ... — no changes meanwhile. */
sh_map_entry_t *sh_map_next(const sh_map_t *m, size_t *iter);

#endif /* SH_BASE_MAP_H */
