/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the URL parser of topics (src/hub/url.c). The input is a URL, parsed
 * alone and against the hub's URL. It checks that:
 *   1. parsing returns 0, -1 or SSEHUB_ENOMEM, and twice the same;
 *   2. a parsed URL's components are NUL-terminated, hold no tab, newline or space (but an
 *      opaque path may hold spaces), and its protocol is lower case;
 *   3. serializing the components back into a URL and parsing that gives the same
 *      components (the parser's output is a fixed point, as the URL Standard requires).
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/buf.h"
#include "hub/url.h"
#include "fuzz.h"

#define HUB "https://hub.example/.well-known/mercure"

static void serialize(const sh_url_t *u, sh_buf_t *b)
{
    const sh_str_t *c = u->comp;

    sh_buf_append(b, c[SH_URL_PROTOCOL].ptr, c[SH_URL_PROTOCOL].len);
    sh_buf_append_str(b, ":");
    if (u->has_host) {
        sh_buf_append_str(b, "//");
        if (c[SH_URL_USERNAME].len > 0 || c[SH_URL_PASSWORD].len > 0) {
            sh_buf_append(b, c[SH_URL_USERNAME].ptr, c[SH_URL_USERNAME].len);
            if (c[SH_URL_PASSWORD].len > 0) {
                sh_buf_append_str(b, ":");
                sh_buf_append(b, c[SH_URL_PASSWORD].ptr, c[SH_URL_PASSWORD].len);
            }
            sh_buf_append_str(b, "@");
        }
        sh_buf_append(b, c[SH_URL_HOSTNAME].ptr, c[SH_URL_HOSTNAME].len);
        if (c[SH_URL_PORT].len > 0) {
            sh_buf_append_str(b, ":");
            sh_buf_append(b, c[SH_URL_PORT].ptr, c[SH_URL_PORT].len);
        }
    }
    sh_buf_append(b, c[SH_URL_PATHNAME].ptr, c[SH_URL_PATHNAME].len);
    if (c[SH_URL_SEARCH].len > 0) {
        sh_buf_append_str(b, "?");
        sh_buf_append(b, c[SH_URL_SEARCH].ptr, c[SH_URL_SEARCH].len);
    }
    if (c[SH_URL_HASH].len > 0) {
        sh_buf_append_str(b, "#");
        sh_buf_append(b, c[SH_URL_HASH].ptr, c[SH_URL_HASH].len);
    }
}

static void check(const char *in, size_t len, const sh_url_t *base)
{
    sh_url_t u, u2, u3;
    sh_buf_t b;
    int rc = sh_url_parse(in, len, base, &u), rc2, k;

    FUZZ_CHECK(rc == 0 || rc == -1 || rc == SSEHUB_ENOMEM);
    rc2 = sh_url_parse(in, len, base, &u2);
    FUZZ_CHECK(rc == rc2);
    if (rc != 0)
        return;
    for (k = 0; k < SH_URL_NCOMP; k++) {
        FUZZ_CHECK(u.comp[k].ptr[u.comp[k].len] == '\0');
        FUZZ_CHECK(u.comp[k].len == u2.comp[k].len &&
                   memcmp(u.comp[k].ptr, u2.comp[k].ptr, u.comp[k].len) == 0);
        FUZZ_CHECK(memchr(u.comp[k].ptr, '\t', u.comp[k].len) == NULL);
        FUZZ_CHECK(memchr(u.comp[k].ptr, '\n', u.comp[k].len) == NULL);
        /* An opaque path keeps its spaces (C0 control percent-encode set); the rest not. */
        FUZZ_CHECK(memchr(u.comp[k].ptr, ' ', u.comp[k].len) == NULL ||
                   (k == SH_URL_PATHNAME && u.opaque_path));
    }
    for (k = 0; k < (int)u.comp[SH_URL_PROTOCOL].len; k++)
        FUZZ_CHECK(
            !(u.comp[SH_URL_PROTOCOL].ptr[k] >= 'A' && u.comp[SH_URL_PROTOCOL].ptr[k] <= 'Z'));
    /* A fixed point: the serialization parses to the same components. Opaque paths and
     * non-special URLs without a host are left out: their serialization can read as
     * another shape ("x:/" + "/a" is "x://a"). */
    if (u.special && u.has_host) {
        sh_buf_init(&b, 1 << 20);
        serialize(&u, &b);
        rc = sh_url_parse(b.base, b.len, NULL, &u3);
        FUZZ_CHECK(rc == 0 || rc == SSEHUB_ENOMEM);
        if (rc == 0) {
            for (k = 0; k < SH_URL_NCOMP; k++)
                FUZZ_CHECK(u.comp[k].len == u3.comp[k].len &&
                           memcmp(u.comp[k].ptr, u3.comp[k].ptr, u.comp[k].len) == 0);
            sh_url_dispose(&u3);
        }
        sh_buf_dispose(&b);
    }
    sh_url_dispose(&u);
    sh_url_dispose(&u2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sh_url_t hub;
    static int ready;

    if (!ready) {
        FUZZ_CHECK(sh_url_parse(HUB, strlen(HUB), NULL, &hub) == 0);
        ready = 1;
    }
    check((const char *)data, size, NULL);
    check((const char *)data, size, &hub);
    return 0;
}
