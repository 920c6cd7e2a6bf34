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
    void *pkey; /* RS256/ES256: the PEM parsed once (an OpenSSL EVP_PKEY), else NULL */
} sh_auth_key_t;

/* A --jwt-issuer: the issuer whose Mercure 1.0 access tokens are accepted, and its key. */
typedef struct sh_auth_issuer_s {
    char *iss;         /* the `iss` value, exactly (sh_malloc'd) */
    int has_key;       /* its own ALG:KEY was given */
    sh_jwt_alg_t alg;  /* when |has_key| */
    sh_auth_key_t key; /* when |has_key| */
} sh_auth_issuer_t;

/* What a Mercure 1.0 access token is checked against (borrowed). */
typedef struct sh_auth_at_s {
    const sh_auth_issuer_t *issuers;
    size_t nissuers;
    const sh_auth_key_t *role_key; /* an issuer without its own key: this one (or NULL), */
    sh_jwt_alg_t role_alg;         /* with this algorithm */
    const char *resource;          /* the audience the token must name */
    size_t resource_len;
} sh_auth_at_t;

/* The claims ssehub acts on. */
typedef struct sh_claims_s {
    sh_selectors_t publish;   /* mercure.publish (empty: may not publish) */
    sh_selectors_t subscribe; /* mercure.subscribe (empty: no private update) */
    int has_publish, has_subscribe;
    char *payload;  /* mercure.payload as JSON text (sh_malloc'd), NULL when absent */
    int64_t exp_ms; /* exp in ms since the epoch, 0 when absent */
    int version;    /* 7: a draft-07 token (the mercure claim); 8: an RFC 9068 access token */
} sh_claims_t;

/* Where a request's token was found. */
typedef enum {
    SH_TOKEN_NONE = 0,
    SH_TOKEN_HEADER, /* Authorization: Bearer */
    SH_TOKEN_COOKIE, /* mercureAuthorization or __Secure-mercure_access_token */
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
 * Reads one --jwt-issuer value, "ISS" or "ISS ALG:KEY" (KEY loaded as sh_auth_key_load()
 * does). Returns 0, or -1 with a one-line message in |err|.
 */
int sh_auth_issuer_load(sh_auth_issuer_t *is, const char *value, char *err, size_t errlen);
void sh_auth_issuer_dispose(sh_auth_issuer_t *is);

/**
 * Finds a request's token, in Mercure's order: the Authorization header (which must then
 * be "Bearer TOKEN"), the __Secure-mercure_access_token cookie (Mercure 1.0), the
 * mercureAuthorization cookie (draft-07), the authorization query parameter.
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

/**
 * Whether |token| declares itself a Mercure 1.0 access token: its JOSE header's `typ` is
 * "at+jwt" or "application/at+jwt" (RFC 9068 §2.1, any case). A token whose header cannot
 * be read is not one (it then fails as a draft-07 token).
 */
int sh_auth_is_access_token(const char *token);

/**
 * Verifies a Mercure 1.0 access token (RFC 9068) against |at|: `typ` at+jwt; `iss` one of
 * the issuers; the signature with that issuer's key, the algorithm pinned to the issuer's
 * (or the role's) so that `none` and HS/RS confusion are refused (OpenSSL: HMAC-SHA256,
 * RSASSA-PKCS1-v1_5 SHA-256, ECDSA P-256 with the JWS r||s signature); `aud` (a string or
 * an array) containing the resource; `exp` required and `nbf` checked against |now_ms|.
 * Grants come from the `authorization_details` entries of type SH_MERCURE_AUTHZ_TYPE (at
 * most SH_MERCURE_AUTHZ_DETAILS_MAX entries, SH_MERCURE_AUTHZ_TOPICS_MAX topics each):
 * `actions` (publish, subscribe), `topics` ({match, matchType or match_type: Exact}) and
 * `payload` (kept for the subscription events; the first subscribe entry's); entries of other
 * types are ignored, and a malformed Mercure entry refuses the token. URL Pattern grants are
 * compiled with the resource as their base (a pattern that does not compile refuses the
 * token). Returns 0 with |out| filled (version 8), -1 with a
 * one-line |*reason|, or SSEHUB_ENOMEM; |out| is left empty on failure.
 */
int sh_auth_verify_at(const sh_auth_at_t *at, const char *token, int64_t now_ms, sh_claims_t *out,
                      const char **reason);

void sh_claims_dispose(sh_claims_t *c);

#endif /* SH_SERVER_AUTH_H */
