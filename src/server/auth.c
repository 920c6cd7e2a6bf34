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
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "proto/form.h"
#include "proto/mercure.h"
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

/* The public key of a PEM text for |alg|: RSA for RS256, an EC P-256 key for ES256. */
static EVP_PKEY *pem_public_key(const unsigned char *pem, size_t len, sh_jwt_alg_t alg)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    if (k == NULL)
        return NULL;
    if ((alg == SH_JWT_RS256 && EVP_PKEY_base_id(k) != EVP_PKEY_RSA) ||
        (alg == SH_JWT_ES256 && (EVP_PKEY_base_id(k) != EVP_PKEY_EC || EVP_PKEY_bits(k) != 256))) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
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
    /* Parsed once for access tokens (OpenSSL). Draft-07 tokens go through libjwt, which
     * reads the PEM text itself: a key it takes that OpenSSL does not read as a public key
     * of the algorithm stays usable for them. */
    key->pkey = pem_public_key(key->bytes, len, alg);
    return 0;
}

void sh_auth_key_dispose(sh_auth_key_t *key)
{
    sh_free(key->bytes);
    EVP_PKEY_free(key->pkey);
    memset(key, 0, sizeof(*key));
}

int sh_auth_issuer_load(sh_auth_issuer_t *is, const char *value, char *err, size_t errlen)
{
    const char *sp = strchr(value, ' ');
    size_t len = sp != NULL ? (size_t)(sp - value) : strlen(value);

    memset(is, 0, sizeof(*is));
    is->iss = sh_strndup(value, len);
    if (is->iss == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sp == NULL)
        return 0;
    if (strncmp(sp + 1, "RS256:", 6) == 0)
        is->alg = SH_JWT_RS256;
    else if (strncmp(sp + 1, "ES256:", 6) == 0)
        is->alg = SH_JWT_ES256;
    else if (strncmp(sp + 1, "HS256:", 6) == 0)
        is->alg = SH_JWT_HS256;
    else {
        snprintf(err, errlen, "--jwt-issuer: use 'ISS ALG:KEY' (ALG HS256, RS256 or ES256)");
        sh_auth_issuer_dispose(is);
        return -1;
    }
    if (sh_auth_key_load(&is->key, is->alg, sp + 7, err, errlen) != 0) {
        sh_auth_issuer_dispose(is);
        return -1;
    }
    if (is->alg != SH_JWT_HS256 && is->key.pkey == NULL) {
        snprintf(err, errlen, "'%s' is not a PEM %s public key", sp + 7,
                 is->alg == SH_JWT_RS256 ? "RSA" : "P-256 EC");
        sh_auth_issuer_dispose(is);
        return -1;
    }
    is->has_key = 1;
    return 0;
}

void sh_auth_issuer_dispose(sh_auth_issuer_t *is)
{
    sh_free(is->iss);
    sh_auth_key_dispose(&is->key);
    memset(is, 0, sizeof(*is));
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
    if (cookie != NULL &&
        (((v = cookie_value(cookie, cookie_len, SH_MERCURE_COOKIE_08, &vlen)) != NULL && vlen > 0 &&
          vlen <= TOKEN_MAX) ||
         ((v = cookie_value(cookie, cookie_len, SH_MERCURE_COOKIE_07, &vlen)) != NULL && vlen > 0 &&
          vlen <= TOKEN_MAX))) {
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
    out->version = SH_MERCURE_07;
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

/* ---- Mercure 1.0 access tokens (RFC 9068), verified with OpenSSL. libjwt 1.10 (Debian 12)
 * refuses a header whose typ is not "JWT", so these do not go through it. */

/* Decodes base64url without padding (RFC 7515 §2) into |out| (room for len * 3 / 4 + 3
 * bytes). Returns the length, or -1 for a character outside the alphabet or a bad length. */
static long b64url_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned long acc = 0;
    size_t i, o = 0;
    int bits = 0;

    if (len % 4 == 1)
        return -1;
    for (i = 0; i < len; i++) {
        char c = in[i];
        int v;

        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1ul << bits) - 1;
        }
    }
    if (acc != 0) /* non-zero leftover bits: not the canonical encoding */
        return -1;
    return (long)o;
}

/* A token split at its dots, with its header and claims decoded as JSON objects. */
typedef struct jws_s {
    const char *token;
    size_t input_len; /* header "." payload: what the signature covers */
    const char *sig;
    size_t sig_len;
    json_t *header;
    json_t *claims;
} jws_t;

/* Decodes one base64url part holding a JSON object; NULL when it is not one. */
static json_t *part_json(const char *p, size_t len)
{
    unsigned char *buf = sh_malloc(len * 3 / 4 + 3);
    json_error_t jerr;
    json_t *j = NULL;
    long n;

    if (buf == NULL)
        return NULL;
    n = b64url_decode(p, len, buf);
    if (n >= 0)
        j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    sh_free(buf);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* Splits and decodes |token|; 0, or -1 when it is not a JWS compact serialization. */
static int jws_split(jws_t *j, const char *token, int want_claims)
{
    const char *d1, *d2;
    size_t len = strlen(token);

    memset(j, 0, sizeof(*j));
    if (len > TOKEN_MAX)
        return -1;
    d1 = memchr(token, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
        return -1;
    j->token = token;
    j->input_len = (size_t)(d2 - token);
    j->sig = d2 + 1;
    j->sig_len = len - j->input_len - 1;
    j->header = part_json(token, (size_t)(d1 - token));
    if (j->header == NULL)
        return -1;
    if (want_claims) {
        j->claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
        if (j->claims == NULL) {
            json_decref(j->header);
            j->header = NULL;
            return -1;
        }
    }
    return 0;
}

static void jws_dispose(jws_t *j)
{
    json_decref(j->header);
    json_decref(j->claims);
    memset(j, 0, sizeof(*j));
}

static int typ_is_at(json_t *header)
{
    const char *typ = json_string_value(json_object_get(header, "typ"));

    return typ != NULL && (strcasecmp(typ, SH_MERCURE_AT_TYP) == 0 ||
                           strcasecmp(typ, "application/" SH_MERCURE_AT_TYP) == 0);
}

int sh_auth_is_access_token(const char *token)
{
    jws_t j;
    int is;

    if (jws_split(&j, token, 0) != 0)
        return 0;
    is = typ_is_at(j.header);
    jws_dispose(&j);
    return is;
}

/* ECDSA P-256: the JWS signature is r || s (32 bytes each, RFC 7518 §3.4); OpenSSL wants
 * DER. Returns 1 when it verifies. */
static int verify_es256(EVP_PKEY *k, const unsigned char *in, size_t in_len,
                        const unsigned char *sig, size_t sig_len)
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r, *s;
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = NULL;
    int der_len, ok = 0;

    if (sig_len != 64)
        return 0;
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    der_len = i2d_ECDSA_SIG(es, &der);
    ctx = EVP_MD_CTX_new();
    if (der_len > 0 && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1)
        ok = EVP_DigestVerify(ctx, der, (size_t)der_len, in, in_len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

/* Whether |sig| is |alg|'s signature of |in| with |key|. */
static int verify_signature(sh_jwt_alg_t alg, const sh_auth_key_t *key, const unsigned char *in,
                            size_t in_len, const unsigned char *sig, size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    EVP_MD_CTX *ctx;
    int ok = 0;

    if (alg == SH_JWT_HS256) {
        if (key->bytes == NULL ||
            HMAC(EVP_sha256(), key->bytes, (int)key->len, in, in_len, mac, &mac_len) == NULL)
            return 0;
        return sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
    }
    if (key->pkey == NULL)
        return 0;
    if (alg == SH_JWT_ES256)
        return verify_es256(key->pkey, in, in_len, sig, sig_len);
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1)
        ok = EVP_DigestVerify(ctx, sig, sig_len, in, in_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static const char *alg_name(sh_jwt_alg_t a)
{
    return a == SH_JWT_RS256 ? "RS256" : a == SH_JWT_ES256 ? "ES256" : "HS256";
}

/* Whether `aud` (a string or an array of strings) names |res|. */
static int aud_has(json_t *aud, const char *res, size_t res_len)
{
    size_t i;

    if (json_is_string(aud))
        return json_string_length(aud) == res_len &&
               memcmp(json_string_value(aud), res, res_len) == 0;
    for (i = 0; json_is_array(aud) && i < json_array_size(aud); i++) {
        json_t *v = json_array_get(aud, i);
        if (json_is_string(v) && json_string_length(v) == res_len &&
            memcmp(json_string_value(v), res, res_len) == 0)
            return 1;
    }
    return 0;
}

/* The selectors granted for one action, collected from every Mercure entry. */
typedef struct grants_s {
    sh_str_t *raw;
    unsigned char *kinds;
    size_t n, cap;
} grants_t;

static int grants_add(grants_t *g, const char *s, size_t len, unsigned char kind)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        sh_str_t *r = sh_realloc(g->raw, cap * sizeof(*r));
        unsigned char *k;

        if (r == NULL)
            return SSEHUB_ENOMEM;
        g->raw = r;
        k = sh_realloc(g->kinds, cap);
        if (k == NULL)
            return SSEHUB_ENOMEM;
        g->kinds = k;
        g->cap = cap;
    }
    g->raw[g->n].ptr = s;
    g->raw[g->n].len = len;
    g->kinds[g->n] = kind;
    g->n++;
    return 0;
}

static void grants_dispose(grants_t *g)
{
    sh_free(g->raw);
    sh_free(g->kinds);
    memset(g, 0, sizeof(*g));
}

/* Reads one Mercure authorization detail into the grants. 0, -1 (malformed) or ENOMEM. */
static int read_detail(json_t *d, grants_t *pub, grants_t *sub, json_t **payload,
                       const char **reason)
{
    json_t *actions = json_object_get(d, "actions"), *topics = json_object_get(d, "topics");
    int do_pub = 0, do_sub = 0, rc;
    size_t i;

    *reason = "invalid token: a Mercure authorization_details entry is malformed";
    if (!json_is_array(actions) || json_array_size(actions) == 0 || !json_is_array(topics) ||
        json_array_size(topics) > SH_MERCURE_AUTHZ_TOPICS_MAX)
        return -1;
    for (i = 0; i < json_array_size(actions); i++) {
        const char *a = json_string_value(json_array_get(actions, i));
        if (a != NULL && strcmp(a, SH_MERCURE_ACTION_PUBLISH) == 0)
            do_pub = 1;
        else if (a != NULL && strcmp(a, SH_MERCURE_ACTION_SUBSCRIBE) == 0)
            do_sub = 1;
        else
            return -1;
    }
    for (i = 0; i < json_array_size(topics); i++) {
        json_t *t = json_array_get(topics, i), *m, *mt, *mt2;
        const char *type;
        unsigned char kind;

        if (!json_is_object(t))
            return -1;
        m = json_object_get(t, "match");
        mt = json_object_get(t, "matchType");
        mt2 = json_object_get(t, "match_type");
        if (!json_is_string(m) || (mt != NULL && mt2 != NULL) ||
            sh_mercure_check_selector(json_string_value(m), json_string_length(m)) != NULL)
            return -1;
        if (mt2 != NULL)
            mt = mt2;
        type = mt != NULL ? json_string_value(mt) : SH_MERCURE_MATCH_EXACT;
        if (type == NULL)
            return -1;
        if (strcmp(type, SH_MERCURE_MATCH_URLPATTERN) == 0 || strcmp(type, "URL Pattern") == 0)
            kind = SH_SEL_URLPATTERN;
        else if (strcmp(type, SH_MERCURE_MATCH_EXACT) == 0)
            kind = SH_SEL_EXACT;
        else
            return -1;
        rc = 0;
        if (do_pub)
            rc = grants_add(pub, json_string_value(m), json_string_length(m), kind);
        if (rc == 0 && do_sub)
            rc = grants_add(sub, json_string_value(m), json_string_length(m), kind);
        if (rc != 0)
            return rc;
    }
    if (do_sub && *payload == NULL)
        *payload = json_object_get(d, "payload");
    return 0;
}

/* The grants of the token's authorization_details into |out|. */
static int read_details(json_t *claims, const sh_auth_at_t *at, sh_claims_t *out,
                        const char **reason)
{
    const char *why = NULL;
    json_t *details = json_object_get(claims, "authorization_details"), *payload = NULL;
    grants_t pub, sub;
    size_t i;
    int rc = 0;

    memset(&pub, 0, sizeof(pub));
    memset(&sub, 0, sizeof(sub));
    if (details == NULL)
        return 0; /* a valid token that grants nothing */
    if (!json_is_array(details) || json_array_size(details) > SH_MERCURE_AUTHZ_DETAILS_MAX) {
        *reason = json_is_array(details) ? "invalid token: too many authorization_details"
                                         : "invalid token: authorization_details is not an array";
        return -1;
    }
    for (i = 0; rc == 0 && i < json_array_size(details); i++) {
        json_t *d = json_array_get(details, i);
        const char *type = json_string_value(json_object_get(d, "type"));

        if (!json_is_object(d) || type == NULL) {
            *reason = "invalid token: an authorization_details entry has no type (RFC 9396)";
            rc = -1;
        } else if (strcmp(type, SH_MERCURE_AUTHZ_TYPE) == 0) {
            rc = read_detail(d, &pub, &sub, &payload, reason);
        }
    }
    if (rc == 0 && pub.n > 0) {
        rc = sh_selectors_init_base(&out->publish, pub.raw, pub.kinds, pub.n, at->resource,
                                    at->resource_len, &why);
        out->has_publish = rc == 0;
    }
    if (rc == 0 && sub.n > 0) {
        rc = sh_selectors_init_base(&out->subscribe, sub.raw, sub.kinds, sub.n, at->resource,
                                    at->resource_len, &why);
        out->has_subscribe = rc == 0;
    }
    if (rc == 0 && payload != NULL) {
        char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
        out->payload = text != NULL ? sh_strndup(text, strlen(text)) : NULL;
        json_free_str(text);
        if (out->payload == NULL)
            rc = SSEHUB_ENOMEM;
    }
    grants_dispose(&pub);
    grants_dispose(&sub);
    if (rc == SSEHUB_EINVAL) {
        *reason = why != NULL ? "invalid token: a URL pattern grant the hub cannot compile"
                              : "invalid token: a Mercure authorization_details entry is malformed";
        rc = -1;
    }
    return rc;
}

int sh_auth_verify_at(const sh_auth_at_t *at, const char *token, int64_t now_ms, sh_claims_t *out,
                      const char **reason)
{
    const sh_auth_issuer_t *is = NULL;
    const sh_auth_key_t *key;
    sh_jwt_alg_t alg;
    const char *iss, *talg;
    unsigned char *sig = NULL;
    long sig_len;
    int64_t exp, nbf;
    jws_t j;
    size_t i;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (jws_split(&j, token, 1) != 0) {
        *reason = "invalid token: malformed";
        return -1;
    }
    if (!typ_is_at(j.header)) {
        *reason = "invalid token: typ is not at+jwt";
        goto out;
    }
    iss = json_string_value(json_object_get(j.claims, "iss"));
    for (i = 0; iss != NULL && i < at->nissuers; i++) {
        if (strcmp(at->issuers[i].iss, iss) == 0)
            is = &at->issuers[i];
    }
    if (is == NULL) {
        *reason = "invalid token: unknown issuer (iss)";
        goto out;
    }
    key = is->has_key ? &is->key : at->role_key;
    alg = is->has_key ? is->alg : at->role_alg;
    talg = json_string_value(json_object_get(j.header, "alg"));
    if (key == NULL || key->bytes == NULL) {
        *reason = "invalid token: no key configured for this issuer";
        goto out;
    }
    if (talg == NULL || strcmp(talg, alg_name(alg)) != 0) {
        *reason = "invalid token: wrong algorithm";
        goto out;
    }
    sig = sh_malloc(j.sig_len * 3 / 4 + 3);
    if (sig == NULL) {
        rc = SSEHUB_ENOMEM;
        *reason = "out of memory";
        goto out;
    }
    sig_len = b64url_decode(j.sig, j.sig_len, sig);
    if (sig_len <= 0 || !verify_signature(alg, key, (const unsigned char *)token, j.input_len, sig,
                                          (size_t)sig_len)) {
        *reason = "invalid token: bad signature";
        goto out;
    }
    if (!aud_has(json_object_get(j.claims, "aud"), at->resource, at->resource_len)) {
        *reason = "invalid token: aud does not name this hub's resource";
        goto out;
    }
    exp = date_ms(json_object_get(j.claims, "exp"));
    if (exp < 0) {
        *reason = "invalid token: exp is required (RFC 9068)";
        goto out;
    }
    if (now_ms >= exp) {
        *reason = "token expired";
        goto out;
    }
    if (json_object_get(j.claims, "nbf") != NULL) {
        nbf = date_ms(json_object_get(j.claims, "nbf"));
        if (nbf < 0 || now_ms < nbf) {
            *reason = nbf < 0 ? "invalid token: nbf is not a number" : "token not valid yet (nbf)";
            goto out;
        }
    }
    out->exp_ms = exp;
    out->version = SH_MERCURE_08;
    rc = read_details(j.claims, at, out, reason);
out:
    sh_free(sig);
    jws_dispose(&j);
    if (rc != 0)
        sh_claims_dispose(out);
    return rc;
}
