/* SPDX-License-Identifier: MIT */
/* The PRNG and growable strings shared by tests and fuzz targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/alloc.h"
#include "base/str.h"
#include "support/testutil.h"

static uint64_t rng_state;

void sh_test_rng_seed(uint64_t seed)
{
    rng_state = seed;
}

uint64_t sh_test_rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

size_t sh_test_rng_below(size_t n)
{
    return (size_t)(sh_test_rng_next() % n);
}

void sh_test_text_put(sh_test_text_t *t, const void *s, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        size_t ncap = (t->len + len + 1) * 2;
        char *ns = realloc(t->s, ncap);
        if (ns == NULL) {
            fprintf(stderr, "sh_test_text_put: out of memory\n");
            abort();
        }
        t->s = ns;
        t->cap = ncap;
    }
    if (len != 0)
        memcpy(t->s + t->len, s, len);
    t->len += len;
    t->s[t->len] = '\0';
}

void sh_test_text_str(sh_test_text_t *t, const char *s)
{
    sh_test_text_put(t, s, strlen(s));
}

void sh_test_text_fill(sh_test_text_t *t, char c, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        sh_test_text_put(t, &c, 1);
}

void sh_test_text_json(sh_test_text_t *t, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    sh_test_text_put(t, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        const char *short_esc = NULL;

        switch (c) {
        case '"':
            short_esc = "\\\"";
            break;
        case '\\':
            short_esc = "\\\\";
            break;
        case '\b':
            short_esc = "\\b";
            break;
        case '\f':
            short_esc = "\\f";
            break;
        case '\n':
            short_esc = "\\n";
            break;
        case '\r':
            short_esc = "\\r";
            break;
        case '\t':
            short_esc = "\\t";
            break;
        default:
            break;
        }
        if (short_esc != NULL)
            sh_test_text_put(t, short_esc, 2);
        else if (c < 0x20)
            sh_test_text_put(t, esc, 6);
        else
            sh_test_text_put(t, s + i, 1);
    }
    sh_test_text_put(t, "\"", 1);
}

void sh_test_text_event(sh_test_text_t *t, const char *type, size_t type_len, const char *data,
                        size_t data_len, const char *id, size_t id_len)
{
    sh_test_text_str(t, "{\"event\": ");
    sh_test_text_json(t, type, type_len);
    sh_test_text_str(t, ", \"data\": ");
    sh_test_text_json(t, data, data_len);
    sh_test_text_str(t, ", \"id\": ");
    sh_test_text_json(t, id, id_len);
    sh_test_text_str(t, "}\n");
}

void sh_test_text_retry(sh_test_text_t *t, uint64_t retry_ms)
{
    char digits[20];

    sh_test_text_str(t, "{\"retry\": ");
    sh_test_text_put(t, digits, sh_fmt_u64(digits, retry_ms));
    sh_test_text_str(t, "}\n");
}

const char *sh_test_text_cstr(const sh_test_text_t *t)
{
    return t->s != NULL ? t->s : "";
}

void sh_test_text_free(sh_test_text_t *t)
{
    free(t->s);
    t->s = NULL;
    t->len = 0;
    t->cap = 0;
}

void sh_test_restore_allocator(void)
{
    if (ssehub_replace_allocator(malloc, realloc, calloc, free) != 0)
        abort();
}
