/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for token handling (src/server/auth.c). The input is used three ways: as the
 * Authorization header value, the Cookie header and the query string given to
 * sh_auth_extract(), and as a token given to sh_auth_verify() with an HS256 secret. It
 * checks that:
 *   1. extraction returns a source or -1 with a reason, and a token only with a source;
 *   2. verification returns 0 or -1 with a one-line reason, and leaves the claims empty on
 *      failure; a verified token has claims only as the header promises (selectors built,
 *      payload JSON text);
 *   3. a token is verified the same way twice (no hidden state);
 *   4. as a Mercure 1.0 access token (sh_auth_verify_at, HS256 issuer): 0 only for a token
 *      sh_auth_is_access_token() accepts, with version 8 and an exp; -1 with a one-line
 *      reason and empty claims otherwise; the same twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "server/auth.h"
#include "fuzz.h"

static void check_verify(const char *tok)
{
    static char secret[] = "fuzz-secret";
    sh_auth_key_t k;
    sh_claims_t cl, cl2;
    const char *reason = NULL, *reason2 = NULL;
    int rc, rc2;

    memset(&k, 0, sizeof(k));
    k.bytes = (unsigned char *)secret;
    k.len = strlen(secret);
    rc = sh_auth_verify(&k, SH_JWT_HS256, tok, 1700000000000LL, &cl, &reason);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == SSEHUB_ENOMEM);
    if (rc == -1) {
        FUZZ_CHECK(reason != NULL && reason[0] != '\0' && strchr(reason, '\n') == NULL);
        FUZZ_CHECK(!cl.has_publish && !cl.has_subscribe && cl.payload == NULL);
    }
    rc2 = sh_auth_verify(&k, SH_JWT_HS256, tok, 1700000000000LL, &cl2, &reason2);
    FUZZ_CHECK(rc == rc2);
    if (rc == 0) {
        FUZZ_CHECK(cl.has_publish == cl2.has_publish && cl.exp_ms == cl2.exp_ms);
        FUZZ_CHECK(cl.has_publish == 0 || cl.publish.ntopics > 0 || cl.publish.all);
        sh_claims_dispose(&cl);
        sh_claims_dispose(&cl2);
    }
    FUZZ_CHECK(sh_auth_verify(&k, SH_JWT_RS256, tok, 0, &cl, &reason) != 0);
}

static void check_verify_at(const char *tok)
{
    static char iss[] = "https://issuer.example", secret[] = "fuzz-secret";
    static const char res[] = "http://127.0.0.1/.well-known/mercure";
    sh_auth_issuer_t is;
    sh_auth_at_t at;
    sh_claims_t cl, cl2;
    const char *reason = NULL, *reason2 = NULL;
    int rc, rc2;

    memset(&is, 0, sizeof(is));
    is.iss = iss;
    is.has_key = 1;
    is.alg = SH_JWT_HS256;
    is.key.bytes = (unsigned char *)secret;
    is.key.len = strlen(secret);
    memset(&at, 0, sizeof(at));
    at.issuers = &is;
    at.nissuers = 1;
    at.resource = res;
    at.resource_len = strlen(res);
    rc = sh_auth_verify_at(&at, tok, 1700000000000LL, &cl, &reason);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == SSEHUB_ENOMEM);
    if (rc == 0) {
        FUZZ_CHECK(sh_auth_is_access_token(tok));
        FUZZ_CHECK(cl.version == 8 && cl.exp_ms > 1700000000000LL);
        FUZZ_CHECK(cl.has_publish == 0 || cl.publish.ntopics > 0 || cl.publish.all);
    }
    if (rc == -1) {
        FUZZ_CHECK(reason != NULL && reason[0] != '\0' && strchr(reason, '\n') == NULL);
        FUZZ_CHECK(!cl.has_publish && !cl.has_subscribe && cl.payload == NULL);
    }
    rc2 = sh_auth_verify_at(&at, tok, 1700000000000LL, &cl2, &reason2);
    FUZZ_CHECK(rc == rc2);
    if (rc == 0) {
        FUZZ_CHECK(cl.has_publish == cl2.has_publish && cl.has_subscribe == cl2.has_subscribe);
        sh_claims_dispose(&cl);
        sh_claims_dispose(&cl2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *reason = NULL;
    char *tok = NULL, *copy;
    int src;

    src = sh_auth_extract(in, size, NULL, 0, "", 0, &tok, &reason);
    FUZZ_CHECK(src == SH_TOKEN_HEADER || src == -1 || src == SSEHUB_ENOMEM);
    FUZZ_CHECK((src == SH_TOKEN_HEADER) == (tok != NULL));
    if (src == -1)
        FUZZ_CHECK(reason != NULL);
    sh_free(tok);
    tok = NULL;
    src = sh_auth_extract(NULL, 0, in, size, in, size, &tok, &reason);
    FUZZ_CHECK(src >= SH_TOKEN_NONE || src == SSEHUB_ENOMEM);
    FUZZ_CHECK((src > SH_TOKEN_NONE) == (tok != NULL));
    if (tok != NULL)
        check_verify(tok);
    sh_free(tok);
    copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, in, size);
    copy[size] = '\0';
    check_verify(copy);
    check_verify_at(copy);
    free(copy);
    return 0;
}
