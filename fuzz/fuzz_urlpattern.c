/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for URL patterns (src/hub/urlpattern.c). The input is a pattern, a newline,
 * and a topic. It checks that:
 *   1. a component pattern (pathname options) and a whole pattern (constructor string, the
 *      hub's URL as base) compile to 0, -1 with a one-line reason, or SSEHUB_ENOMEM;
 *   2. matching gives the same answer twice (the cost limit is deterministic);
 *   3. a component pattern of escaped fixed text only matches exactly that text.
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/buf.h"
#include "hub/url.h"
#include "hub/urlpattern.h"
#include "fuzz.h"

#define HUB "https://hub.example/.well-known/mercure"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sh_url_t hub;
    static int ready;
    const char *in = (const char *)data, *nl = memchr(in, '\n', size), *reason = NULL;
    size_t plen = nl != NULL ? (size_t)(nl - in) : size;
    const char *topic = nl != NULL ? nl + 1 : "";
    size_t tlen = nl != NULL ? size - plen - 1 : 0, i;
    sh_urlpat_comp_t *c = NULL;
    sh_urlpat_t *p = NULL;
    sh_url_t u;
    sh_buf_t esc;
    int rc;

    if (!ready) {
        FUZZ_CHECK(sh_url_parse(HUB, strlen(HUB), NULL, &hub) == 0);
        ready = 1;
    }
    rc = sh_urlpat_comp_compile(in, plen, SH_URLPAT_PATHNAME, &c, &reason);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == SSEHUB_ENOMEM);
    if (rc == -1)
        FUZZ_CHECK(reason != NULL && strchr(reason, '\n') == NULL);
    if (rc == 0) {
        int m = sh_urlpat_comp_match(c, topic, tlen);
        FUZZ_CHECK(m == sh_urlpat_comp_match(c, topic, tlen));
        sh_urlpat_comp_free(c);
    }
    rc = sh_urlpat_compile(in, plen, &hub, &p, &reason);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == SSEHUB_ENOMEM);
    if (rc == 0) {
        if (sh_url_parse(topic, tlen, &hub, &u) == 0) {
            int m = sh_urlpat_match(p, &u);
            FUZZ_CHECK(m == sh_urlpat_match(p, &u));
            sh_url_dispose(&u);
        }
        sh_urlpat_free(p);
    }
    /* The topic escaped as fixed text: matches itself, and not itself plus a byte. */
    if (tlen > 0 && tlen < 512 && memchr(topic, '\0', tlen) == NULL) {
        sh_buf_init(&esc, 4096);
        for (i = 0; i < tlen; i++) {
            sh_buf_append(&esc, "\\", 1);
            sh_buf_append(&esc, topic + i, 1);
        }
        if (sh_urlpat_comp_compile(esc.base, esc.len, SH_URLPAT_DEFAULT, &c, &reason) == 0) {
            char more[513];
            FUZZ_CHECK(sh_urlpat_comp_match(c, topic, tlen));
            memcpy(more, topic, tlen);
            more[tlen] = 'x';
            FUZZ_CHECK(!sh_urlpat_comp_match(c, more, tlen + 1));
            sh_urlpat_comp_free(c);
        }
        sh_buf_dispose(&esc);
    }
    return 0;
}
