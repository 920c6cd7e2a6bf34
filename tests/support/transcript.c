/* SPDX-License-Identifier: MIT */
/* Parser transcripts for tests and fuzz targets. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/sse.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"
#include "support/transcript.h"

/*
 * The transcript is built with libc's allocator, not ssehub's, so that a test allocator
 * installed with ssehub_replace_allocator() counts the parser's memory only.
 */
typedef struct text_s {
    char *s;
    size_t len, cap;
    int oom;
} text_t;

static void text_put(text_t *t, const char *s, size_t len)
{
    if (t->oom)
        return;
    if (t->len + len + 1 > t->cap) {
        size_t ncap = (t->len + len + 1) * 2;
        char *ns = realloc(t->s, ncap);
        if (ns == NULL) {
            t->oom = 1;
            return;
        }
        t->s = ns;
        t->cap = ncap;
    }
    memcpy(t->s + t->len, s, len);
    t->len += len;
    t->s[t->len] = '\0';
}

static void text_json(text_t *t, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    text_put(t, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            text_put(t, esc, 2);
        } else if (c == '\n') {
            text_put(t, "\\n", 2);
        } else if (c == '\r') {
            text_put(t, "\\r", 2);
        } else if (c == '\t') {
            text_put(t, "\\t", 2);
        } else if (c == '\b') {
            text_put(t, "\\b", 2);
        } else if (c == '\f') {
            text_put(t, "\\f", 2);
        } else if (c < 0x20) {
            text_put(t, esc, 6);
        } else {
            text_put(t, (const char *)&s[i], 1);
        }
    }
    text_put(t, "\"", 1);
}

static int on_event(void *user, const ssehub_sse_event_t *ev)
{
    text_t *t = user;

    text_put(t, "{\"event\": ", 10);
    text_json(t, ev->type, ev->type_len);
    text_put(t, ", \"data\": ", 10);
    text_json(t, ev->data, ev->data_len);
    text_put(t, ", \"id\": ", 8);
    text_json(t, ev->id, ev->id_len);
    text_put(t, "}\n", 2);
    return 0;
}

static int on_retry(void *user, uint64_t retry_ms)
{
    text_t *t = user;
    char digits[20];

    text_put(t, "{\"retry\": ", 10);
    text_put(t, digits, sh_fmt_u64(digits, retry_ms));
    text_put(t, "}\n", 2);
    return 0;
}

char *sh_test_transcript(const char *in, size_t len, size_t max_size, const size_t *cuts,
                         size_t ncuts)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p;
    text_t t = {0};
    size_t i, from = 0;
    int rc;

    settings.max_size = max_size;
    settings.on_event = on_event;
    settings.on_retry = on_retry;
    settings.user = &t;
    text_put(&t, "", 0);
    rc = ssehub_sse_parser_new(&settings, &p);
    if (rc != 0) {
        free(t.s);
        return NULL;
    }
    for (i = 0; i <= ncuts && rc >= 0; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        ssize_t n = ssehub_sse_parse(p, in + from, to - from);
        if (n < 0) {
            text_put(&t, "error ", 6);
            text_put(&t, ssehub_err_name((int)n), strlen(ssehub_err_name((int)n)));
            text_put(&t, "\n", 1);
            rc = (int)n;
        } else if ((size_t)n != to - from) {
            text_put(&t, "short\n", 6);
            rc = -1;
        }
        from = to;
    }
    ssehub_sse_parser_free(p);
    if (t.oom) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

char *sh_test_transcript_bytewise(const char *in, size_t len, size_t max_size)
{
    size_t *cuts = NULL, i;
    char *out;

    if (len > 1) {
        cuts = malloc((len - 1) * sizeof(*cuts));
        if (cuts == NULL)
            return NULL;
        for (i = 1; i < len; i++)
            cuts[i - 1] = i;
    }
    out = sh_test_transcript(in, len, max_size, cuts, len > 1 ? len - 1 : 0);
    free(cuts);
    return out;
}
