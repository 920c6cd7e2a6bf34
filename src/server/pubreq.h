/* SPDX-License-Identifier: MIT */
/*
 * A publish request's body, decoded: PRODUCT.md §3 ("Publish"). Form bodies
 * (application/x-www-form-urlencoded, Mercure's fields) and JSON bodies
 * (application/json). Untrusted input: every failure is a one-line reason for a 4xx.
 */
#ifndef SH_SERVER_PUBREQ_H
#define SH_SERVER_PUBREQ_H

#include <stddef.h>
#include <stdint.h>

#include "hub/event.h"

/* The longest id a publisher may set, in bytes. */
#define SH_PUBREQ_ID_MAX 256
/* The largest retry accepted, in ms: 2^53 - 1, the largest integer JSON carries exactly. */
#define SH_PUBREQ_RETRY_MAX ((UINT64_C(1) << 53) - 1)

typedef enum { SH_PUBREQ_FORM, SH_PUBREQ_JSON } sh_pubreq_kind_t;

/*
 * Every sh_str_t below points into |mem| (or at a static "" when empty), is never NULL and
 * is NUL-terminated; only |data| may hold NUL bytes of its own.
 */
typedef struct sh_pubreq_s {
    sh_str_t *topics; /* decoded, in body order; topics[0] is canonical */
    size_t ntopics;   /* 1..max_topics */
    sh_str_t data;    /* any UTF-8, line breaks included; len 0 when absent */
    sh_str_t id;      /* len 0: the hub assigns one */
    sh_str_t type;    /* len 0: none */
    uint64_t retry;   /* ms, <= SH_PUBREQ_RETRY_MAX; used when |has_retry| */
    int has_retry;
    int is_private;
    void *mem; /* private: one allocation holding |topics| and every string */
} sh_pubreq_t;

/**
 * Routes jansson's allocations through sh_malloc()/sh_free(), so that the allocator set
 * with ssehub_replace_allocator() counts JSON parsing too and its failures reach the OOM
 * paths (500 "out of memory"), and seeds jansson's hash function. jansson itself never sees
 * a refused allocation: it does not survive one (akheron/jansson#362), so a refused block
 * comes from libc and the parse answers 500. Call it once at start, before any thread
 * parses a body and while no jansson value exists anywhere in the process: it calls
 * json_set_alloc_funcs() and json_object_seed(), which are process-wide, and blocks made
 * before it cannot be freed after it. Without it, parsing works on libc's allocator and
 * jansson's own (unreliable) out-of-memory reports. Not thread-safe.
 */
void sh_pubreq_global_init(void);

/**
 * Decodes the |len| bytes at |body| (borrowed; NULL is allowed when |len| is 0) into |r|,
 * which needs no initialisation. Returns 0 with |r| filled and |*reason| set to NULL, or an
 * HTTP status with |*reason| set to a static one-line message and |r| left empty:
 *
 *  - 400 "missing topic" (none, or a JSON null or empty array), "empty topic", "too many
 *    topics" (more than |max_topics|), "topic contains a line break or NUL", "topic is not
 *    valid UTF-8", "data is not valid UTF-8", "id contains a line break or NUL", "id is not
 *    valid UTF-8", "id is too long" (over SH_PUBREQ_ID_MAX bytes), "id \"earliest\" is
 *    reserved", "type contains a line break or NUL", "type is not valid UTF-8", "invalid
 *    retry", "invalid private";
 *  - 400, JSON only: "invalid JSON body", "duplicate key in JSON body", "JSON body must be
 *    an object", "topic must be a string or an array of strings", "id must be a string",
 *    "type must be a string", "retry must be a non-negative integer", "private must be a
 *    boolean";
 *  - 500 "out of memory".
 *
 * Form fields (names and values %-decoded, '+' as space): "topic" (repeatable), "data",
 * "id", "type", "retry" (decimal digits; empty means absent), "private" ("", "on", "true"
 * or "1" set it; "off", "false" or "0" do not; anything else is refused). Of the others,
 * the first occurrence counts and later ones are ignored, as are unknown fields.
 *
 * JSON: an object with "topic" (a string or a non-empty array of strings), "data" (a
 * string used as is; any other value is copied as sent with the whitespace between tokens
 * removed, so numbers keep their spelling), "id" and "type" (strings), "retry" (an integer
 * 0..SH_PUBREQ_RETRY_MAX) and "private" (a boolean). A member set to null counts as absent;
 * unknown members are ignored. Duplicate keys are refused.
 *
 * |reason| may be NULL. A caller that needs no limit on topics passes SIZE_MAX.
 */
int sh_pubreq_parse(sh_pubreq_t *r, sh_pubreq_kind_t kind, const char *body, size_t len,
                    size_t max_topics, const char **reason);

/** Frees what |r| holds and leaves it empty. Safe after a failed parse, and twice. */
void sh_pubreq_dispose(sh_pubreq_t *r);

#endif /* SH_SERVER_PUBREQ_H */
