/* SPDX-License-Identifier: MIT */
/*
 * sh_auth: tokens with libjwt (signature) and jansson (claims). libjwt 1.x checks the
 * signature with the algorithm the token names, so the algorithm is compared with the
 * configured one after decoding: that refuses `none` and the HS/RS confusion (an HS256
 * token "signed" with the RSA public key as its secret).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "proto/form.h"
#include "server/auth.h"

#define PEM_MAX   (64 * 1024)
#define TOKEN_MAX (16 * 1024)

/* Frees a string that jansson allocated (json_dumps, also inside libjwt's
 * jwt_get_grants_json): with jansson's own allocator, which the server replaces. */
static void json_free_str(char *p)
{
    json_malloc_t m;
    json_free_t f;

    if (p == NULL)
        return;
    json_get_alloc_funcs(&m, &f);
    f(p);
}

static jwt_alg_t jwt_alg_of(sh_jwt_alg_t a)
{
    switch (a) {
    case SH_JWT_RS256:
        return JWT_ALG_RS256;
    case SH_JWT_ES256:
        return JWT_ALG_ES256;
    case SH_JWT_HS256:
    default:
        return JWT_ALG_HS256;
    }
}

int sh_auth_key_load(sh_auth_key_t *key, sh_jwt_alg_t alg, const char *value, char *err,
                     size_t errlen)
{
    size_t len = 0;
    ssize_t n;
    int fd;

    memset(key, 0, sizeof(*key));
    if (alg == SH_JWT_HS256) {
        len = strlen(value);
        key->bytes = sh_malloc(len + 1);
        if (key->bytes == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(key->bytes, value, len + 1);
        key->len = len;
        return 0;
    }
    fd = open(value, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the PEM key file '%s': %s", value, strerror(errno));
        return -1;
    }
    key->bytes = sh_malloc(PEM_MAX + 1);
    if (key->bytes == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while (len < PEM_MAX && (n = read(fd, key->bytes + len, PEM_MAX - len)) > 0)
        len += (size_t)n;
    close(fd);
    key->bytes[len] = '\0';
    key->len = len;
    if (strstr((char *)key->bytes, "-----BEGIN ") == NULL) {
        snprintf(err, errlen, "'%s' is not a PEM key file", value);
        sh_auth_key_dispose(key);
        return -1;
    }
    return 0;
}

void sh_auth_key_dispose(sh_auth_key_t *key)
{
    sh_free(key->bytes);
    memset(key, 0, sizeof(*key));
}

/* The value of cookie |name| in a Cookie header ("a=1; b=2"), or NULL. */
static const char *cookie_value(const char *h, size_t len, const char *name, size_t *vlen)
{
    size_t i = 0, nlen = strlen(name);

    while (i < len) {
        size_t start, end;
        while (i < len && (h[i] == ' ' || h[i] == ';' || h[i] == '\t'))
            i++;
        start = i;
        while (i < len && h[i] != ';')
            i++;
        end = i;
        if (end - start > nlen && memcmp(h + start, name, nlen) == 0 && h[start + nlen] == '=') {
            const char *v = h + start + nlen + 1;
            size_t vl = end - (start + nlen + 1);
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            *vlen = vl;
            return v;
        }
    }
    return NULL;
}

int sh_auth_extract(const char *authz, size_t authz_len, const char *cookie, size_t cookie_len,
                    const char *query, size_t query_len, char **token, const char **reason)
{
    sh_form_iter_t it;
    const char *name, *value, *v;
    size_t name_len, value_len, vlen;

    *token = NULL;
    if (authz != NULL) {
        if (authz_len <= 7 || strncasecmp(authz, "Bearer ", 7) != 0) {
            *reason = "invalid Authorization header: use \"Bearer TOKEN\"";
            return -1;
        }
        v = authz + 7;
        vlen = authz_len - 7;
        while (vlen > 0 && *v == ' ') {
            v++;
            vlen--;
        }
        if (vlen == 0 || vlen > TOKEN_MAX) {
            *reason = "invalid Authorization header: use \"Bearer TOKEN\"";
            return -1;
        }
        *token = sh_strndup(v, vlen);
        return *token != NULL ? SH_TOKEN_HEADER : SSEHUB_ENOMEM;
    }
    if (cookie != NULL && (v = cookie_value(cookie, cookie_len, "mercureAuthorization", &vlen)) &&
        vlen > 0 && vlen <= TOKEN_MAX) {
        *token = sh_strndup(v, vlen);
        return *token != NULL ? SH_TOKEN_COOKIE : SSEHUB_ENOMEM;
    }
    sh_form_iter_init(&it, query, query_len);
    while (sh_form_next(&it, &name, &name_len, &value, &value_len)) {
        if (!sh_form_name_is(name, name_len, "authorization") || value_len == 0 ||
            value_len > TOKEN_MAX)
            continue;
        *token = sh_malloc(value_len + 1);
        if (*token == NULL)
            return SSEHUB_ENOMEM;
        (*token)[sh_form_decode(value, value_len, *token)] = '\0';
        return SH_TOKEN_QUERY;
    }
    return SH_TOKEN_NONE;
}

/* Reads a JSON array of strings into selectors; 0, -1 (not such an array) or ENOMEM. */
static int read_selectors(json_t *arr, sh_selectors_t *out, int *has)
{
    size_t n = json_array_size(arr), i;
    sh_str_t *raw;
    int rc;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return -1;
    for (i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(arr, i)) ||
            json_string_length(json_array_get(arr, i)) == 0)
            return -1;
    }
    if (n == 0)
        return 0;
    raw = sh_calloc(n, sizeof(*raw));
    if (raw == NULL)
        return SSEHUB_ENOMEM;
    for (i = 0; i < n; i++) {
        raw[i].ptr = json_string_value(json_array_get(arr, i));
        raw[i].len = json_string_length(json_array_get(arr, i));
    }
    rc = sh_selectors_init(out, raw, n);
    sh_free(raw);
    if (rc == 0)
        *has = 1;
    return rc == SSEHUB_EINVAL ? -1 : rc;
}

/* A NumericDate (RFC 7519 §2) in ms; -1 when |v| is not a number. */
static int64_t date_ms(json_t *v)
{
    double d;

    if (!json_is_number(v))
        return -1;
    d = json_number_value(v);
    if (d < 0)
        return 0;
    if (d > 9.0e12) /* far beyond any real date: saturate */
        return INT64_MAX / 2;
    return (int64_t)(d * 1000.0);
}

static int read_claims(const char *json, int64_t now_ms, sh_claims_t *out, const char **reason)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr), *m, *v;
    int rc = -1;

    if (root == NULL || !json_is_object(root)) {
        *reason = "invalid token: the claims are not a JSON object";
        goto out;
    }
    v = json_object_get(root, "exp");
    if (v != NULL) {
        int64_t exp = date_ms(v);
        if (exp < 0) {
            *reason = "invalid token: exp is not a number";
            goto out;
        }
        if (now_ms >= exp) {
            *reason = "token expired";
            goto out;
        }
        out->exp_ms = exp;
    }
    v = json_object_get(root, "nbf");
    if (v != NULL) {
        int64_t nbf = date_ms(v);
        if (nbf < 0) {
            *reason = "invalid token: nbf is not a number";
            goto out;
        }
        if (now_ms < nbf) {
            *reason = "token not valid yet (nbf)";
            goto out;
        }
    }
    m = json_object_get(root, "mercure");
    if (m != NULL && !json_is_object(m)) {
        *reason = "invalid token: the mercure claim is not an object";
        goto out;
    }
    if (m != NULL) {
        rc = read_selectors(json_object_get(m, "publish"), &out->publish, &out->has_publish);
        if (rc == 0)
            rc = read_selectors(json_object_get(m, "subscribe"), &out->subscribe,
                                &out->has_subscribe);
        if (rc == -1)
            *reason = "invalid token: mercure.publish and mercure.subscribe must be arrays of "
                      "topic selectors";
        if (rc != 0)
            goto out;
        rc = -1;
        v = json_object_get(m, "payload");
        if (v != NULL) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text == NULL) {
                rc = SSEHUB_ENOMEM;
                goto out;
            }
            out->payload = sh_strndup(text, strlen(text));
            json_free_str(text);
            if (out->payload == NULL) {
                rc = SSEHUB_ENOMEM;
                goto out;
            }
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int sh_auth_verify(const sh_auth_key_t *key, sh_jwt_alg_t alg, const char *token, int64_t now_ms,
                   sh_claims_t *out, const char **reason)
{
    jwt_t *jwt = NULL;
    char *grants = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (key->bytes == NULL) {
        *reason = "no key configured";
        return -1;
    }
    if (strlen(token) > TOKEN_MAX) {
        *reason = "invalid token: too long";
        return -1;
    }
    rc = jwt_decode(&jwt, token, key->bytes, (int)key->len);
    if (rc != 0 || jwt == NULL) {
        *reason = rc == ENOMEM ? "out of memory" : "invalid token: malformed or bad signature";
        rc = rc == ENOMEM ? SSEHUB_ENOMEM : -1;
        goto out;
    }
    if (jwt_get_alg(jwt) != jwt_alg_of(alg)) {
        *reason = "invalid token: wrong algorithm";
        rc = -1;
        goto out;
    }
    grants = jwt_get_grants_json(jwt, NULL);
    if (grants == NULL) {
        *reason = "invalid token: no claims";
        rc = -1;
        goto out;
    }
    rc = read_claims(grants, now_ms, out, reason);
out:
    json_free_str(grants);
    jwt_free(jwt);
    if (rc != 0)
        sh_claims_dispose(out);
    return rc;
}

void sh_claims_dispose(sh_claims_t *c)
{
    if (c->has_publish)
        sh_selectors_dispose(&c->publish);
    if (c->has_subscribe)
        sh_selectors_dispose(&c->subscribe);
    sh_free(c->payload);
    memset(c, 0, sizeof(*c));
}
