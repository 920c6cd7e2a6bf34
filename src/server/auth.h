/* SPDX-License-Identifier: MIT */
/*
 * sh_auth: Mercure authorization tokens (JWS, RFC 7515/7519) verified with libjwt, without
 * I/O or clock reads (the caller passes the time): finding the token of a request, checking
 * its signature and algorithm, its exp and nbf, and reading its `mercure` claim into
 * selectors. The HTTP glue (which key, which status) is authz.c.
 */
#ifndef SH_SERVER_AUTH_H
#define SH_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "hub/selector.h"
#include "server/config.h"

/* A verification key: an HS256 secret or a PEM public key (bytes, NUL-terminated). */
typedef struct sh_auth_key_s {
    unsigned char *bytes; /* NULL: no key configured */
    size_t len;
} sh_auth_key_t;

/* The claims ssehub acts on. */
typedef struct sh_claims_s {
    sh_selectors_t publish;   /* mercure.publish (empty: may not publish) */
    sh_selectors_t subscribe; /* mercure.subscribe (empty: no private update) */
    int has_publish, has_subscribe;
    char *payload;  /* mercure.payload as JSON text (sh_malloc'd), NULL when absent */
    int64_t exp_ms; /* exp in ms since the epoch, 0 when absent */
} sh_claims_t;

/* Where a request's token was found. */
typedef enum {
    SH_TOKEN_NONE = 0,
    SH_TOKEN_HEADER, /* Authorization: Bearer */
    SH_TOKEN_COOKIE, /* mercureAuthorization */
    SH_TOKEN_QUERY   /* ?authorization= */
} sh_token_src_t;

/**
 * Loads a key given on the command line: |value| itself for HS256, the contents of the PEM
 * file it names for RS256 and ES256 (at most 64 KiB). Returns 0, or -1 with a one-line
 * message in |err| (the file cannot be read, is not PEM).
 */
int sh_auth_key_load(sh_auth_key_t *key, sh_jwt_alg_t alg, const char *value, char *err,
                     size_t errlen);
void sh_auth_key_dispose(sh_auth_key_t *key);

/**
 * Finds a request's token, in Mercure's order: the Authorization header (which must then
 * be "Bearer TOKEN"), the mercureAuthorization cookie, the authorization query parameter.
 * |authz| is NULL when there is no Authorization header; |cookie| NULL when no Cookie
 * header. On success returns the source (SH_TOKEN_NONE: no token) and, for a token, a
 * sh_malloc'd NUL-terminated copy in |*token| (percent-decoded when from the query).
 * Returns -1 with |*reason| for a malformed Authorization header, SSEHUB_ENOMEM when out of
 * memory.
 */
int sh_auth_extract(const char *authz, size_t authz_len, const char *cookie, size_t cookie_len,
                    const char *query, size_t query_len, char **token, const char **reason);

/**
 * Verifies |token| (NUL-terminated) with |key| and |alg|: the signature, that the token's
 * algorithm is exactly |alg| (so `none` and HS256-signed-with-a-public-key are refused),
 * exp (expired when |now_ms| >= exp) and nbf (refused when |now_ms| < nbf), and reads the
 * mercure claim (publish and subscribe must be arrays of strings when present). Returns 0
 * with |out| filled (dispose with sh_claims_dispose()), -1 with a one-line |*reason|, or
 * SSEHUB_ENOMEM. |out| is left empty on failure.
 */
int sh_auth_verify(const sh_auth_key_t *key, sh_jwt_alg_t alg, const char *token, int64_t now_ms,
                   sh_claims_t *out, const char **reason);

void sh_claims_dispose(sh_claims_t *c);

#endif /* SH_SERVER_AUTH_H */
