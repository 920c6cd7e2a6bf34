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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_good_hs256),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_auth_rs256_and_confusion),
        cmocka_unit_test(test_auth_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
