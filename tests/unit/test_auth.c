/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for sh_auth: token extraction (header, cookie, query, in that order), and
 * verification: good tokens, bad signatures, `none`, HS/RS confusion, exp and nbf against
 * the time passed in, malformed base64 and JSON, malformed mercure claims. Tokens are made
 * here with libjwt (HS256) and by hand (base64url) for the malformed ones; the RS256 key
 * pair comes from the openssl command.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "ssehub/ssehub.h"
#include "base/alloc.h"
#include "server/auth.h"

#define NOW_MS 1700000000000LL
#define SECRET "!ChangeThisMercureHubJWTSecretKey!"

/* An HS256 (or |alg|) token with |claims_json| signed with |key|. */
static char *make_token(jwt_alg_t alg, const char *key, size_t key_len, const char *claims_json)
{
    jwt_t *jwt = NULL;
    char *tok;

    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grants_json(jwt, claims_json), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)key_len), 0);
    tok = jwt_encode_str(jwt);
    assert_non_null(tok);
    jwt_free(jwt);
    return tok;
}

static const char *b64url(const char *in, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), i, o = 0;

    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tab[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tab[v & 63];
    }
    out[o] = '\0';
    return out;
}

static sh_auth_key_t hs_key(void)
{
    sh_auth_key_t k;
    char err[200];

    assert_int_equal(sh_auth_key_load(&k, SH_JWT_HS256, SECRET, err, sizeof(err)), 0);
    return k;
}

static int verify(const sh_auth_key_t *k, sh_jwt_alg_t alg, const char *tok, sh_claims_t *cl,
                  const char **reason)
{
    return sh_auth_verify(k, alg, tok, NOW_MS, cl, reason);
}

static void test_auth_good_hs256(void **state)
{
    sh_auth_key_t k = hs_key();
    sh_claims_t cl;
    const char *reason = NULL;
    char *tok = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET),
                           "{\"exp\":1800000000,\"mercure\":{\"publish\":[\"*\"],\"subscribe\":"
                           "[\"https://example.com/books/{id}\"],\"payload\":{\"user\":7}}}");

    (void)state;
    assert_int_equal(verify(&k, SH_JWT_HS256, tok, &cl, &reason), 0);
    assert_true(cl.has_publish);
    assert_true(cl.publish.all);
    assert_true(cl.has_subscribe);
    assert_int_equal(cl.subscribe.ntemplates, 1);
    assert_true(sh_selectors_match_topic(&cl.subscribe, "https://example.com/books/1", 27));
    assert_string_equal(cl.payload, "{\"user\":7}");
    assert_int_equal(cl.exp_ms, 1800000000000LL);
    sh_claims_dispose(&cl);
    free(tok);
    /* No mercure claim: valid, no rights. */
    tok = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"sub\":\"x\"}");
    assert_int_equal(verify(&k, SH_JWT_HS256, tok, &cl, &reason), 0);
    assert_false(cl.has_publish);
    assert_false(cl.has_subscribe);
    assert_null(cl.payload);
    sh_claims_dispose(&cl);
    free(tok);
    sh_auth_key_dispose(&k);
}

static void expect_refused(const sh_auth_key_t *k, sh_jwt_alg_t alg, const char *tok,
                           const char *want)
{
    sh_claims_t cl;
    const char *reason = NULL;

    assert_int_equal(verify(k, alg, tok, &cl, &reason), -1);
    assert_non_null(reason);
    if (strstr(reason, want) == NULL)
        fail_msg("token %s: reason '%s', want '%s'", tok, reason, want);
    assert_false(cl.has_publish);
    assert_null(cl.payload);
}

static void test_auth_refused(void **state)
{
    sh_auth_key_t k = hs_key();
    char h[256], p[512], tok[1024];
    char *t;

    (void)state;
    /* Wrong secret. */
    t = make_token(JWT_ALG_HS256, "another secret", 14, "{\"mercure\":{\"publish\":[\"*\"]}}");
    expect_refused(&k, SH_JWT_HS256, t, "bad signature");
    free(t);
    /* Expired, and not yet valid (the clock is the one passed in). */
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"exp\":1600000000}");
    expect_refused(&k, SH_JWT_HS256, t, "expired");
    free(t);
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"exp\":1700000000}");
    expect_refused(&k, SH_JWT_HS256, t, "expired"); /* exp == now */
    free(t);
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"nbf\":1800000000}");
    expect_refused(&k, SH_JWT_HS256, t, "not valid yet");
    free(t);
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"exp\":\"tomorrow\"}");
    expect_refused(&k, SH_JWT_HS256, t, "exp is not a number");
    free(t);
    /* Malformed mercure claims. */
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"mercure\":{\"publish\":\"*\"}}");
    expect_refused(&k, SH_JWT_HS256, t, "arrays of topic selectors");
    free(t);
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"mercure\":{\"subscribe\":[1]}}");
    expect_refused(&k, SH_JWT_HS256, t, "arrays of topic selectors");
    free(t);
    t = make_token(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"mercure\":[]}");
    expect_refused(&k, SH_JWT_HS256, t, "not an object");
    free(t);
    /* alg none, unsigned. */
    snprintf(tok, sizeof(tok), "%s.%s.", b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", h),
             b64url("{\"mercure\":{\"publish\":[\"*\"]}}", p));
    expect_refused(&k, SH_JWT_HS256, tok, "invalid token");
    /* Malformed: not three parts, bad base64, header or claims not JSON. */
    expect_refused(&k, SH_JWT_HS256, "abc", "invalid token");
    expect_refused(&k, SH_JWT_HS256, "a.b", "invalid token");
    expect_refused(&k, SH_JWT_HS256, "!!!.@@@.###", "invalid token");
    snprintf(tok, sizeof(tok), "%s.%s.sig", b64url("not json", h), b64url("{}", p));
    expect_refused(&k, SH_JWT_HS256, tok, "invalid token");
    snprintf(tok, sizeof(tok), "%s.%s.sig", b64url("{\"alg\":\"HS256\"}", h),
             b64url("{\"mercure\":", p));
    expect_refused(&k, SH_JWT_HS256, tok, "invalid token");
    expect_refused(&k, SH_JWT_HS256, "", "invalid token");
    sh_auth_key_dispose(&k);
}

/* RS256 with a key pair from openssl; and the HS/RS confusion attack. */
static void test_auth_rs256_and_confusion(void **state)
{
    char dir[] = "/tmp/ssehub-test-auth-XXXXXX", cmd[1024], priv[128], pub[128], err[300];
    sh_auth_key_t k, kbad;
    sh_claims_t cl;
    const char *reason = NULL;
    char *privpem, *t;
    FILE *f;
    long n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(priv, sizeof(priv), "%s/priv.pem", dir);
    snprintf(pub, sizeof(pub), "%s/pub.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null "
             "&& openssl pkey -in %s -pubout -out %s 2>/dev/null",
             priv, priv, pub);
    if (system(cmd) != 0)
        fail_msg("openssl could not make a key pair");
    f = fopen(priv, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    privpem = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(privpem, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_int_equal(sh_auth_key_load(&k, SH_JWT_RS256, pub, err, sizeof(err)), 0);
    assert_int_equal(
        sh_auth_key_load(&kbad, SH_JWT_RS256, "/nonexistent/key.pem", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(sh_auth_key_load(&kbad, SH_JWT_RS256, "/etc/hostname", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a PEM"));

    t = make_token(JWT_ALG_RS256, privpem, strlen(privpem), "{\"mercure\":{\"publish\":[\"a\"]}}");
    assert_int_equal(verify(&k, SH_JWT_RS256, t, &cl, &reason), 0);
    assert_true(sh_selectors_match_topic(&cl.publish, "a", 1));
    sh_claims_dispose(&cl);
    /* The same token where HS256 is configured: wrong algorithm. */
    expect_refused(&k, SH_JWT_HS256, t, "invalid token");
    free(t);
    /* HS256 "signed" with the public key as the secret, against the RS256 configuration. */
    t = make_token(JWT_ALG_HS256, (const char *)k.bytes, k.len,
                   "{\"mercure\":{\"publish\":[\"*\"]}}");
    expect_refused(&k, SH_JWT_RS256, t, "wrong algorithm");
    free(t);
    sh_auth_key_dispose(&k);
    free(privpem);
    unlink(priv);
    unlink(pub);
    rmdir(dir);
}

static void test_auth_extract(void **state)
{
    const char *reason = NULL;
    char *tok = NULL;

    (void)state;
    /* Header first, then cookie, then query. */
    assert_int_equal(sh_auth_extract("Bearer h.h.h", 12, "mercureAuthorization=c.c.c", 26,
                                     "authorization=q.q.q", 19, &tok, &reason),
                     SH_TOKEN_HEADER);
    assert_string_equal(tok, "h.h.h");
    sh_free(tok);
    assert_int_equal(sh_auth_extract(NULL, 0, "a=1; mercureAuthorization=c.c.c; b=2", 36,
                                     "authorization=q.q.q", 19, &tok, &reason),
                     SH_TOKEN_COOKIE);
    assert_string_equal(tok, "c.c.c");
    sh_free(tok);
    assert_int_equal(
        sh_auth_extract(NULL, 0, "other=1", 7, "topic=x&authorization=q%2Eq.q", 29, &tok, &reason),
        SH_TOKEN_QUERY);
    assert_string_equal(tok, "q.q.q");
    sh_free(tok);
    assert_int_equal(sh_auth_extract(NULL, 0, NULL, 0, "topic=x", 7, &tok, &reason), SH_TOKEN_NONE);
    assert_null(tok);
    /* A cookie whose name only ends like ours is not ours. */
    assert_int_equal(sh_auth_extract(NULL, 0, "xmercureAuthorization=c", 23, "", 0, &tok, &reason),
                     SH_TOKEN_NONE);
    /* A bad Authorization header is an error, not "no token". */
    assert_int_equal(sh_auth_extract("Basic dXNlcjpwYXNz", 18, NULL, 0, "", 0, &tok, &reason), -1);
    assert_non_null(strstr(reason, "Bearer"));
    assert_int_equal(sh_auth_extract("Bearer ", 7, NULL, 0, "", 0, &tok, &reason), -1);
    assert_int_equal(sh_auth_extract("", 0, NULL, 0, "", 0, &tok, &reason), -1);
    assert_null(tok);
}

/* ---- Mercure 1.0 access tokens (sh_auth_verify_at), signed here with OpenSSL. */

#define RESOURCE "http://hub.example/.well-known/mercure"
#define ISS      "https://issuer.example"

static void b64url_bin(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tab[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tab[v & 63];
    }
    out[o] = '\0';
}

/* A token with |header| and |claims| (JSON texts) signed with |alg|: an HS256 secret, or a
 * private key (EVP_PKEY) for RS256/ES256 (ES256 as r || s, or as DER when |der|). */
static char *sign_token(const char *header, const char *claims, const char *alg, const char *secret,
                        EVP_PKEY *priv, int der)
{
    static char buf[16384];
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig), n;
    char *out;

    b64url(header, buf);
    n = strlen(buf);
    buf[n++] = '.';
    b64url(claims, buf + n);
    n = strlen(buf);
    if (strcmp(alg, "HS256") == 0) {
        unsigned int l = 0;
        assert_non_null(
            HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)buf, n, sig, &l));
        sig_len = l;
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, priv), 1);
        assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)buf, n), 1);
        EVP_MD_CTX_free(ctx);
        if (strcmp(alg, "ES256") == 0 && !der) {
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
            assert_non_null(es);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
            assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
            ECDSA_SIG_free(es);
            sig_len = 64;
        }
    }
    buf[n++] = '.';
    b64url_bin(sig, sig_len, buf + n);
    out = strdup(buf);
    assert_non_null(out);
    return out;
}

static char *at_token(const char *alg, const char *secret, EVP_PKEY *priv, const char *claims)
{
    char header[128];

    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"at+jwt\"}", alg);
    return sign_token(header, claims, alg, secret, priv, 0);
}

static int verify_at(const sh_auth_issuer_t *is, size_t n, const sh_auth_key_t *role,
                     const char *tok, sh_claims_t *cl, const char **reason)
{
    sh_auth_at_t at;

    memset(&at, 0, sizeof(at));
    at.issuers = is;
    at.nissuers = n;
    at.role_key = role;
    at.role_alg = SH_JWT_HS256;
    at.resource = RESOURCE;
    at.resource_len = strlen(RESOURCE);
    return sh_auth_verify_at(&at, tok, NOW_MS, cl, reason);
}

/* A claims set around |details| (the authorization_details JSON) with the given iss, aud and
 * exp (NOW + 1 h). */
static const char *claims_with(const char *iss, const char *aud, const char *details)
{
    static char c[16384];

    snprintf(c, sizeof(c),
             "{\"iss\":\"%s\",\"aud\":%s,\"exp\":1700003600,\"sub\":\"u1\","
             "\"authorization_details\":%s}",
             iss, aud, details);
    return c;
}

#define DETAIL_PUB_SUB                                                                      \
    "[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"  \
    "\"topics\":[{\"match\":\"https://e.x/books/{id}\"},{\"match\":\"a\",\"matchType\":"    \
    "\"Exact\"}]},{\"type\":\"https://other.example/x\",\"whatever\":1},"                   \
    "{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"subscribe\"]," \
    "\"topics\":[{\"match\":\"*\",\"match_type\":\"Exact\"}],\"payload\":{\"user\":\"u1\"}}]"

static void expect_at_refused(const sh_auth_issuer_t *is, const char *tok, const char *want)
{
    sh_claims_t cl;
    const char *reason = NULL;

    assert_int_equal(verify_at(is, 1, NULL, tok, &cl, &reason), -1);
    assert_non_null(reason);
    if (strstr(reason, want) == NULL)
        fail_msg("reason \"%s\", want \"%s\"", reason, want);
    assert_false(cl.has_publish || cl.has_subscribe || cl.payload != NULL);
}

static void test_auth_access_token_hs256(void **state)
{
    sh_auth_issuer_t is;
    sh_claims_t cl;
    const char *reason = NULL;
    char err[300], many[8192], *t;
    size_t i, n;

    (void)state;
    assert_int_equal(sh_auth_issuer_load(&is, ISS " HS256:" SECRET, err, sizeof(err)), 0);
    assert_true(is.has_key);
    assert_string_equal(is.iss, ISS);

    t = at_token("HS256", SECRET, NULL,
                 claims_with(ISS, "[\"x\",\"" RESOURCE "\"]", DETAIL_PUB_SUB));
    assert_true(sh_auth_is_access_token(t));
    assert_int_equal(verify_at(&is, 1, NULL, t, &cl, &reason), 0);
    assert_int_equal(cl.version, 8);
    assert_int_equal(cl.exp_ms, 1700003600000LL);
    assert_true(cl.has_publish && cl.has_subscribe);
    /* Exact grants: a URI template is a topic like another. */
    assert_true(sh_selectors_match_topic(&cl.publish, "https://e.x/books/{id}", 22));
    assert_false(sh_selectors_match_topic(&cl.publish, "https://e.x/books/1", 19));
    assert_true(sh_selectors_match_topic(&cl.publish, "a", 1));
    assert_true(cl.subscribe.all);
    assert_string_equal(cl.payload, "{\"user\":\"u1\"}");
    sh_claims_dispose(&cl);
    /* The same token is not a draft-07 token: libjwt refuses typ at+jwt anyway. */
    {
        sh_auth_key_t k = hs_key();
        assert_int_not_equal(verify(&k, SH_JWT_HS256, t, &cl, &reason), 0);
        sh_auth_key_dispose(&k);
    }
    free(t);

    /* A string aud; no authorization_details: valid, grants nothing. */
    t = at_token("HS256", SECRET, NULL,
                 "{\"iss\":\"" ISS "\",\"aud\":\"" RESOURCE "\",\"exp\":1700003600}");
    assert_int_equal(verify_at(&is, 1, NULL, t, &cl, &reason), 0);
    assert_false(cl.has_publish || cl.has_subscribe);
    sh_claims_dispose(&cl);
    free(t);

    /* A URL Pattern grant, its base the resource: relative patterns resolve against it. */
    t = at_token("HS256", SECRET, NULL,
                 claims_with(ISS, "\"" RESOURCE "\"",
                             "[{\"type\":\"https://mercure.rocks/authorization-detail\","
                             "\"actions\":[\"publish\"],\"topics\":[{\"match\":\"/books/:id\","
                             "\"match_type\":\"URLPattern\"}]}]"));
    assert_int_equal(verify_at(&is, 1, NULL, t, &cl, &reason), 0);
    assert_true(sh_selectors_match_topic(&cl.publish, "http://hub.example/books/1", 26));
    assert_true(sh_selectors_match_topic(&cl.publish, "/books/2", 8));
    assert_false(sh_selectors_match_topic(&cl.publish, "http://other/books/1", 20));
    assert_false(sh_selectors_match_topic(&cl.publish, "/books/1/2", 10));
    assert_false(sh_selectors_match_topic(&cl.publish, "/books/:id", 10) &&
                 !sh_selectors_match_topic(&cl.publish, "/books/%3Aid", 12));
    sh_claims_dispose(&cl);
    free(t);

    /* Refusals, each for its own reason. */
    t = sign_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                   claims_with(ISS, "\"" RESOURCE "\"", "[]"), "HS256", SECRET, NULL, 0);
    assert_false(sh_auth_is_access_token(t));
    expect_at_refused(&is, t, "typ");
    free(t);
    t = sign_token("{\"alg\":\"HS256\",\"typ\":\"application/AT+JWT\"}",
                   claims_with(ISS, "\"" RESOURCE "\"", "[]"), "HS256", SECRET, NULL, 0);
    assert_true(sh_auth_is_access_token(t));
    assert_int_equal(verify_at(&is, 1, NULL, t, &cl, &reason), 0);
    sh_claims_dispose(&cl);
    free(t);
    t = at_token("HS256", SECRET, NULL, claims_with("https://evil", "\"" RESOURCE "\"", "[]"));
    expect_at_refused(&is, t, "unknown issuer");
    free(t);
    t = at_token("HS256", "another secret", NULL, claims_with(ISS, "\"" RESOURCE "\"", "[]"));
    expect_at_refused(&is, t, "bad signature");
    free(t);
    t = sign_token("{\"alg\":\"none\",\"typ\":\"at+jwt\"}",
                   claims_with(ISS, "\"" RESOURCE "\"", "[]"), "HS256", SECRET, NULL, 0);
    expect_at_refused(&is, t, "wrong algorithm");
    free(t);
    t = at_token("HS256", SECRET, NULL,
                 claims_with(ISS, "\"http://other/.well-known/mercure\"", "[]"));
    expect_at_refused(&is, t, "aud");
    free(t);
    t = at_token("HS256", SECRET, NULL, "{\"iss\":\"" ISS "\",\"aud\":\"" RESOURCE "\"}");
    expect_at_refused(&is, t, "exp is required");
    free(t);
    t = at_token("HS256", SECRET, NULL,
                 "{\"iss\":\"" ISS "\",\"aud\":\"" RESOURCE "\",\"exp\":1699999999}");
    expect_at_refused(&is, t, "expired");
    free(t);
    t = at_token("HS256", SECRET, NULL,
                 "{\"iss\":\"" ISS "\",\"aud\":\"" RESOURCE "\",\"exp\":1700003600,"
                 "\"nbf\":1700000100}");
    expect_at_refused(&is, t, "nbf");
    free(t);
    {
        static const char *const bad_details[][2] = {
            {"{}", "not an array"},
            {"[{\"actions\":[\"publish\"]}]", "no type"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"delete\"],"
             "\"topics\":[{\"match\":\"a\"}]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[],"
             "\"topics\":[{\"match\":\"a\"}]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":\"a\"}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":[\"a\"]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":[{\"match\":\"\"}]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":[{\"match\":\"a\\u200b\"}]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":[{\"match\":\"a\",\"matchType\":\"Regex\"}]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":[{\"match\":\"a\",\"matchType\":\"Exact\",\"match_type\":\"Exact\"}]}]",
             "malformed"},
            {"[{\"type\":\"https://mercure.rocks/authorization-detail\",\"actions\":[\"publish\"],"
             "\"topics\":[{\"match\":\"https://e.x/(a\",\"matchType\":\"URLPattern\"}]}]",
             "cannot compile"},
        };
        for (i = 0; i < sizeof(bad_details) / sizeof(bad_details[0]); i++) {
            t = at_token("HS256", SECRET, NULL,
                         claims_with(ISS, "\"" RESOURCE "\"", bad_details[i][0]));
            expect_at_refused(&is, t, bad_details[i][1]);
            free(t);
        }
    }
    /* Limits: 64 entries pass, 65 do not. */
    for (int lim = 64; lim <= 65; lim++) {
        n = (size_t)snprintf(many, sizeof(many), "[");
        for (i = 0; i < (size_t)lim; i++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, "%s{\"type\":\"t%zu\"}", i ? "," : "",
                                  i);
        snprintf(many + n, sizeof(many) - n, "]");
        t = at_token("HS256", SECRET, NULL, claims_with(ISS, "\"" RESOURCE "\"", many));
        if (lim == 64) {
            assert_int_equal(verify_at(&is, 1, NULL, t, &cl, &reason), 0);
            sh_claims_dispose(&cl);
        } else {
            expect_at_refused(&is, t, "too many");
        }
        free(t);
    }
    sh_auth_issuer_dispose(&is);

    /* An issuer without its own key: the role's key (and algorithm) verify its tokens. */
    {
        sh_auth_key_t role = hs_key();
        assert_int_equal(sh_auth_issuer_load(&is, ISS, err, sizeof(err)), 0);
        assert_false(is.has_key);
        t = at_token("HS256", SECRET, NULL, claims_with(ISS, "\"" RESOURCE "\"", DETAIL_PUB_SUB));
        assert_int_equal(verify_at(&is, 1, &role, t, &cl, &reason), 0);
        sh_claims_dispose(&cl);
        assert_int_equal(verify_at(&is, 1, NULL, t, &cl, &reason), -1);
        assert_non_null(strstr(reason, "no key"));
        free(t);
        sh_auth_key_dispose(&role);
        sh_auth_issuer_dispose(&is);
    }
    assert_int_equal(sh_auth_issuer_load(&is, ISS " HS512:x", err, sizeof(err)), -1);
}

/* Writes a new key pair (openssl genpkey |algopts|) to |dir|; returns the private key and
 * sets |pub_path|. */
static EVP_PKEY *key_pair(const char *dir, const char *name, const char *algopts, char *pub_path,
                          size_t len)
{
    char cmd[1024], priv[256];
    EVP_PKEY *k;
    FILE *f;

    snprintf(priv, sizeof(priv), "%s/%s.pem", dir, name);
    snprintf(pub_path, len, "%s/%s.pub.pem", dir, name);
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey %s -out %s 2>/dev/null && openssl pkey -in %s -pubout -out %s "
             "2>/dev/null",
             algopts, priv, priv, pub_path);
    if (system(cmd) != 0)
        fail_msg("openssl could not make a key pair");
    f = fopen(priv, "rb");
    assert_non_null(f);
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    unlink(priv);
    return k;
}

static void test_auth_access_token_rs256_es256(void **state)
{
    char dir[] = "/tmp/ssehub-test-at-XXXXXX", rpub[256], epub[256], v[600], err[300];
    sh_auth_issuer_t is[2];
    sh_claims_t cl;
    const char *reason = NULL;
    EVP_PKEY *rk, *ek;
    char *t;

    (void)state;
    assert_non_null(mkdtemp(dir));
    rk = key_pair(dir, "rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", rpub, sizeof(rpub));
    ek = key_pair(dir, "ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256", epub, sizeof(epub));
    snprintf(v, sizeof(v), "https://rs RS256:%s", rpub);
    assert_int_equal(sh_auth_issuer_load(&is[0], v, err, sizeof(err)), 0);
    snprintf(v, sizeof(v), "https://es ES256:%s", epub);
    assert_int_equal(sh_auth_issuer_load(&is[1], v, err, sizeof(err)), 0);
    /* An RSA key where ES256 is said: refused at load. */
    snprintf(v, sizeof(v), "https://es ES256:%s", rpub);
    {
        sh_auth_issuer_t bad;
        assert_int_equal(sh_auth_issuer_load(&bad, v, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "P-256"));
    }

    t = at_token("RS256", NULL, rk, claims_with("https://rs", "\"" RESOURCE "\"", DETAIL_PUB_SUB));
    assert_int_equal(verify_at(is, 2, NULL, t, &cl, &reason), 0);
    assert_true(cl.has_publish);
    sh_claims_dispose(&cl);
    free(t);
    t = at_token("ES256", NULL, ek, claims_with("https://es", "\"" RESOURCE "\"", DETAIL_PUB_SUB));
    assert_int_equal(verify_at(is, 2, NULL, t, &cl, &reason), 0);
    assert_true(cl.has_subscribe);
    sh_claims_dispose(&cl);
    free(t);
    /* ES256 with the DER signature OpenSSL writes, not JWS's r || s: refused. */
    t = sign_token("{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}",
                   claims_with("https://es", "\"" RESOURCE "\"", "[]"), "ES256", NULL, ek, 1);
    assert_int_equal(verify_at(is, 2, NULL, t, &cl, &reason), -1);
    assert_non_null(strstr(reason, "bad signature"));
    free(t);
    /* The algorithm is the issuer's: an RS256 token of the ES256 issuer, and HS256 "signed"
     * with the RSA public key PEM as the secret, are refused. */
    t = at_token("RS256", NULL, rk, claims_with("https://es", "\"" RESOURCE "\"", "[]"));
    assert_int_equal(verify_at(is, 2, NULL, t, &cl, &reason), -1);
    assert_non_null(strstr(reason, "wrong algorithm"));
    free(t);
    t = at_token("HS256", (const char *)is[0].key.bytes, NULL,
                 claims_with("https://rs", "\"" RESOURCE "\"", DETAIL_PUB_SUB));
    assert_int_equal(verify_at(is, 2, NULL, t, &cl, &reason), -1);
    assert_non_null(strstr(reason, "wrong algorithm"));
    free(t);
    /* A token of one issuer signed with the other's key. */
    t = at_token("ES256", NULL, ek, claims_with("https://rs", "\"" RESOURCE "\"", "[]"));
    assert_int_equal(verify_at(is, 2, NULL, t, &cl, &reason), -1);
    free(t);

    sh_auth_issuer_dispose(&is[0]);
    sh_auth_issuer_dispose(&is[1]);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ek);
    unlink(rpub);
    unlink(epub);
    rmdir(dir);
}

static void test_auth_extract_cookies(void **state)
{
    const char *reason = NULL;
    const char *both = "mercureAuthorization=old; __Secure-mercure_access_token=new";
    char *tok = NULL;

    (void)state;
    assert_int_equal(sh_auth_extract(NULL, 0, both, strlen(both), "", 0, &tok, &reason),
                     SH_TOKEN_COOKIE);
    assert_string_equal(tok, "new");
    sh_free(tok);
    tok = NULL;
    assert_int_equal(sh_auth_extract(NULL, 0, "mercureAuthorization=old", 24, "", 0, &tok, &reason),
                     SH_TOKEN_COOKIE);
    assert_string_equal(tok, "old");
    sh_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_good_hs256),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_auth_rs256_and_confusion),
        cmocka_unit_test(test_auth_extract),
        cmocka_unit_test(test_auth_access_token_hs256),
        cmocka_unit_test(test_auth_access_token_rs256_es256),
        cmocka_unit_test(test_auth_extract_cookies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
