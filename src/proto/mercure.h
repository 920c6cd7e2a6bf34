/* SPDX-License-Identifier: MIT */
/*
 * sh_mercure: every rule that differs between Mercure draft-07 and Mercure 1.0
 * (draft-dunglas-mercure-08), in one place, so that the next draft is a change here: the
 * query parameter names and spellings of a subscription, what a selector or a
 * Last-Event-ID value may hold, the names a draft-08 access token uses (RFC 9068 `typ`, the
 * RFC 9396 authorization detail type, actions, match types), the cookie names, the
 * reserved names of a draft-08 publish and the topic of a draft-08 subscription event.
 * Pure: no I/O, no clock, no allocation.
 */
#ifndef SH_PROTO_MERCURE_H
#define SH_PROTO_MERCURE_H

#include <stddef.h>

/* The protocol a request speaks. */
typedef enum {
    SH_MERCURE_07 = 7, /* draft-dunglas-mercure-07 (Mercure 0.x) */
    SH_MERCURE_08 = 8  /* draft-dunglas-mercure-08 (Mercure 1.0) */
} sh_mercure_version_t;

/* What a subscription's query parameter is (sh_mercure_query_param). */
typedef enum {
    SH_MQ_OTHER = 0,        /* not a Mercure parameter: ignored */
    SH_MQ_TOPIC,            /* draft-07 `topic`: exact topic, `*` or URI template */
    SH_MQ_MATCH_EXACT,      /* draft-08 `match`, `matchExact`: exact, byte for byte, or `*` */
    SH_MQ_MATCH_URLPATTERN, /* draft-08 `matchURLPattern`, `match_urlpattern` */
    SH_MQ_MATCH_UNKNOWN,    /* another name starting with "match" (any case): 400 */
    SH_MQ_LAST_ID_07,       /* draft-07 `lastEventID` (and `Last-Event-ID`, as before) */
    SH_MQ_LAST_ID_08,       /* draft-08 `last_event_id` */
    SH_MQ_AUTHORIZATION     /* `authorization`: a draft-07 token only */
} sh_mercure_qparam_t;

/* Limits on a subscription's selectors (beside --max-topics on their number). */
#define SH_MERCURE_SELECTOR_MAX 4096 /* bytes in one selector value */
#define SH_MERCURE_LAST_ID_MAX  1024 /* bytes in a Last-Event-ID value */

/* The draft-08 response header naming the last event id (draft-07 sends Last-Event-ID). */
#define SH_MERCURE_LAST_ID_HEADER "Mercure-Last-Event-ID"

/* Draft-08 access tokens (RFC 9068, RFC 9396). */
#define SH_MERCURE_AT_TYP           "at+jwt"
#define SH_MERCURE_AUTHZ_TYPE       "https://mercure.rocks/authorization-detail"
#define SH_MERCURE_ACTION_PUBLISH   "publish"
#define SH_MERCURE_ACTION_SUBSCRIBE "subscribe"
#define SH_MERCURE_MATCH_EXACT      "Exact"
#define SH_MERCURE_MATCH_URLPATTERN "URLPattern"
/* At most this many authorization_details entries, and topics per entry. */
#define SH_MERCURE_AUTHZ_DETAILS_MAX 64
#define SH_MERCURE_AUTHZ_TOPICS_MAX  256

/* Cookies carrying a token: draft-07's, and draft-08's (a __Secure- prefixed name). */
#define SH_MERCURE_COOKIE_07 "mercureAuthorization"
#define SH_MERCURE_COOKIE_08 "__Secure-mercure_access_token"

/* The hub's path, its reserved namespace, and the RFC 9728 metadata document's path. */
#define SH_MERCURE_PATH          "/.well-known/mercure"
#define SH_MERCURE_METADATA_PATH "/.well-known/oauth-protected-resource/.well-known/mercure"

/* The draft-08 subscription events: their SSE event type and topic prefix. */
#define SH_MERCURE_SUB_EVENT_TYPE "mercure"
#define SH_MERCURE_SUBS_PREFIX    "/.well-known/mercure/subscriptions"

/* The subscriptions API: the JSON-LD context of its documents, and draft-08's cache rule for
 * its answers (they carry a quoted ETag: a client revalidates before reusing one). */
#define SH_MERCURE_JSONLD_CONTEXT "https://mercure.rocks/"
#define SH_MERCURE_SUBS_CACHE_08  "private, no-cache"

/**
 * Which version a subscriptions API request speaks, from |rest| (|len| bytes), the path after
 * SH_MERCURE_SUBS_PREFIX, and |token_version| (7 or 8: the version of the request's token, 0
 * without one). Draft-08 addresses "/{matchType}/{match}[/{subscriber}]" with a matchType
 * of Exact or URLPattern (and a non-empty match); the collection itself (an empty rest) is
 * draft-08 when asked with a draft-08 access token. Everything else is draft-07:
 * "/{topic}[/{subscriber}]". *|mt_len| gets the bytes of "/{matchType}" before
 * "/{match}" for draft-08's form, 0 otherwise.
 */
sh_mercure_version_t sh_mercure_subs_api_version(const char *rest, size_t len, int token_version,
                                                 size_t *mt_len);

/**
 * Classifies a subscription's query parameter by its decoded |name| (|len| bytes).
 * Comparisons are exact except for the `match` prefix rule (ASCII case-insensitive).
 */
sh_mercure_qparam_t sh_mercure_query_param(const char *name, size_t len);

/**
 * Checks a decoded selector value: non-empty, at most SH_MERCURE_SELECTOR_MAX bytes, UTF-8,
 * and no C0 control, DEL, C1 control or Unicode format character (general category Cf, such
 * as U+200B or U+FEFF), which would make two selectors look alike. Returns NULL, or a
 * static one-line reason for a 400.
 */
const char *sh_mercure_check_selector(const char *v, size_t len);

/**
 * Checks a Last-Event-ID value (header or query): at most SH_MERCURE_LAST_ID_MAX bytes,
 * no control characters (tab aside, as before). Returns NULL or a static reason.
 */
const char *sh_mercure_check_last_id(const char *v, size_t len);

/**
 * The draft-08 rules on an update's id and type, beyond those both versions share: an id
 * starting with '#' or equal to "earliest", a type equal to "mercure" (the hub's own
 * subscription events). Returns NULL or a static reason for a 400.
 */
const char *sh_mercure_check_publish_08(const char *id, size_t id_len, const char *type,
                                        size_t type_len);

/**
 * Whether |topic| is in the hub's own namespace, /.well-known/mercure and below.
 * SH_MERCURE_07: its path (the topic itself, or what follows "scheme://authority") starts
 * with that path, as ssehub has always checked. SH_MERCURE_08: the topic resolved as a URL
 * against the hub's URL (…/.well-known/mercure), so "mercure/x", "?q", "//h/.well-known/
 * mercure" and "/a/../.well-known/mercure" are in it too: dot segments (also spelled %2e)
 * are removed and a backslash is a slash, as the WHATWG URL parser does for http(s).
 */
int sh_mercure_topic_reserved(sh_mercure_version_t v, const char *topic, size_t len);

#endif /* SH_PROTO_MERCURE_H */
