/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the client's parsers of untrusted input: URLs and redirect targets
 * (src/client/url.c) and HTTP responses (src/client/resp.c over llhttp). The input up to
 * its first LF is a URL (also tried as a Location against a fixed base); the rest is a
 * response stream. For each input it checks that:
 *   1. a parsed URL keeps the promises of url.h: an http(s) href, a non-empty host, a
 *      target that starts with '/', and no byte a request line cannot carry (controls,
 *      space, non-ASCII) in the target or href; parsing its href again gives the same URL;
 *   2. a resolved Location keeps the same promises;
 *   3. the response reader reports the same heads, bodies and ends, and the same result,
 *      whether the bytes come whole, split at a hash-derived point, or one by one (up to
 *      2 KiB); statuses are 100..999, kept header values at most 8 KiB;
 *   4. nothing is left allocated after dispose.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/resp.h"
#include "client/url.h"
#include "ssehub/ssehub.h"
#include "support/failalloc.h"
#include "fuzz.h"

static void check_url(const sh_url_t *u)
{
    const char *p;
    sh_url_t again;

    FUZZ_CHECK(u->host != NULL && u->host[0] != '\0');
    FUZZ_CHECK(u->target != NULL && u->target[0] == '/');
    FUZZ_CHECK(u->port != 0);
    FUZZ_CHECK(strncmp(u->href, u->tls ? "https://" : "http://", u->tls ? 8 : 7) == 0);
    for (p = u->target; *p != '\0'; p++)
        FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
    for (p = u->href; *p != '\0'; p++)
        FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
    FUZZ_CHECK(sh_url_parse(u->href, strlen(u->href), &again) == 0);
    FUZZ_CHECK(strcmp(again.href, u->href) == 0 && strcmp(again.host, u->host) == 0 &&
               strcmp(again.target, u->target) == 0 && again.port == u->port &&
               again.tls == u->tls);
    sh_url_dispose(&again);
}

/* What the reader reported, as text. */
typedef struct log_s {
    char *text;
    size_t len;
    size_t cap;
} log_t;

static void log_add(log_t *l, const void *p, size_t len)
{
    if (l->len + len > l->cap) {
        size_t cap = (l->len + len) * 2 + 64;
        char *t = realloc(l->text, cap);
        FUZZ_CHECK(t != NULL);
        l->text = t;
        l->cap = cap;
    }
    memcpy(l->text + l->len, p, len);
    l->len += len;
}

static int on_head(void *user, const sh_resp_head_t *h)
{
    char line[64];
    int n;

    FUZZ_CHECK(h->status >= 100 && h->status <= 999);
    FUZZ_CHECK(h->reason != NULL && strlen(h->reason) <= 256);
    n = snprintf(line, sizeof(line), "<head %d %d ", h->status, h->keep_alive);
    log_add(user, line, (size_t)n);
    log_add(user, h->reason, strlen(h->reason));
    if (h->content_type != NULL) {
        FUZZ_CHECK(strlen(h->content_type) <= 8192);
        log_add(user, "|ct:", 4);
        log_add(user, h->content_type, strlen(h->content_type));
    }
    if (h->location != NULL) {
        FUZZ_CHECK(strlen(h->location) <= 8192);
        log_add(user, "|loc:", 5);
        log_add(user, h->location, strlen(h->location));
    }
    log_add(user, ">", 1);
    return 0;
}

static int on_body(void *user, const char *at, size_t len)
{
    log_add(user, at, len);
    return 0;
}

static int on_complete(void *user)
{
    log_add(user, "<end>", 5);
    return 0;
}

static const sh_resp_cbs_t cbs = {on_head, on_body, on_complete};

/* Feeds |len| bytes in pieces of |step| (the first piece |first| bytes); logs the result. */
static void run_resp(const char *in, size_t len, size_t first, size_t step, log_t *l)
{
    sh_resp_t r;
    size_t off = 0, n;
    int rc = 0;
    char line[32];

    l->len = 0;
    sh_resp_init(&r, &cbs, l);
    while (off < len && rc == 0) {
        n = off == 0 ? first : step;
        if (n == 0 || n > len - off)
            n = len - off;
        rc = sh_resp_feed(&r, in + off, n);
        off += n;
    }
    if (rc == 0)
        rc = sh_resp_finish(&r);
    /* llhttp may report a malformed message at a different byte when split; the verdict
       and everything reported before it must agree, so log only the code. */
    snprintf(line, sizeof(line), "<rc %d>", rc);
    log_add(l, line, strlen(line));
    sh_resp_dispose(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t url_len = nl != NULL ? (size_t)(nl - in) : size;
    sh_url_t u, base, r;
    log_t whole = {0}, split = {0}, bytes = {0};

    if (!installed) {
        sh_failalloc_install();
        installed = true;
    }
    if (sh_url_parse(in, url_len, &u) == 0) {
        check_url(&u);
        sh_url_dispose(&u);
    }
    FUZZ_CHECK(sh_url_parse("http://[::1]:8080/a/b?c", 23, &base) == 0);
    if (sh_url_resolve(&base, in, url_len, &r) == 0) {
        check_url(&r);
        sh_url_dispose(&r);
    }
    sh_url_dispose(&base);

    if (nl != NULL) {
        const char *body = nl + 1;
        size_t len = size - url_len - 1;
        size_t cut = len > 0 ? (size_t)(fuzz_hash_bytes(data, size) % len) : 0;

        run_resp(body, len, len, len, &whole);
        run_resp(body, len, cut, len, &split);
        FUZZ_CHECK(whole.len == split.len && memcmp(whole.text, split.text, whole.len) == 0);
        if (len <= 2048) {
            run_resp(body, len, 1, 1, &bytes);
            FUZZ_CHECK(whole.len == bytes.len && memcmp(whole.text, bytes.text, whole.len) == 0);
        }
    }
    free(whole.text);
    free(split.text);
    free(bytes.text);
    FUZZ_CHECK(sh_failalloc_live() == 0);
    return 0;
}
