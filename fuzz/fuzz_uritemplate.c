/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the URI template selectors (src/hub/uritemplate.c). The input is a
 * template, a newline, and a topic. For each input it checks that:
 *   1. compiling returns 0 or SSEHUB_EINVAL, and a compiled template keeps its source;
 *   2. matching the topic gives the same answer twice;
 *   3. the template's expansion with every variable undefined (its literals) matches, and
 *      so does its expansion with every variable set to "x" (RFC 6570 §3.2, built here
 *      from the template text independently of the matcher);
 *   4. no expansion followed by a space matches (a space is in no literal and no value);
 *   5. a template without expressions matches exactly the topic equal to it.
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/buf.h"
#include "hub/uritemplate.h"
#include "fuzz.h"

/* Expands |tpl| (known valid) with every variable undefined (|set| 0) or "x" (|set| 1). */
static void expand(const char *tpl, size_t n, int set, sh_buf_t *out)
{
    size_t i = 0;

    while (i < n) {
        char op = 0;
        const char *first = "", *sep = ",";
        int named = 0, ifemp_eq = 0, any = 0;
        if (tpl[i] != '{') {
            (void)sh_buf_append(out, &tpl[i], 1);
            i++;
            continue;
        }
        i++;
        if (strchr("+#./;?&", tpl[i]) != NULL)
            op = tpl[i++];
        switch (op) {
        case '#':
            first = "#";
            break;
        case '.':
            first = sep = ".";
            break;
        case '/':
            first = sep = "/";
            break;
        case ';':
            first = sep = ";";
            named = 1;
            break;
        case '?':
            first = "?";
            sep = "&";
            named = ifemp_eq = 1;
            break;
        case '&':
            first = sep = "&";
            named = ifemp_eq = 1;
            break;
        default:
            break;
        }
        for (;;) {
            size_t s = i;
            while (tpl[i] != ',' && tpl[i] != '}' && tpl[i] != ':' && tpl[i] != '*')
                i++;
            if (set) {
                (void)sh_buf_append_str(out, any ? sep : first);
                if (named) {
                    (void)sh_buf_append(out, tpl + s, i - s);
                    (void)sh_buf_append_str(out, "=");
                }
                (void)sh_buf_append_str(out, "x");
                any = 1;
            }
            while (tpl[i] != ',' && tpl[i] != '}')
                i++;
            if (tpl[i++] == '}')
                break;
        }
        (void)ifemp_eq;
    }
}

static int match_buf(const sh_uritpl_t *t, const sh_buf_t *b)
{
    return sh_uritpl_match(t, b->len ? b->base : "", b->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t tlen = nl != NULL ? (size_t)(nl - in) : size;
    const char *topic = nl != NULL ? nl + 1 : "";
    size_t topic_len = nl != NULL ? size - tlen - 1 : 0;
    sh_uritpl_t *t = NULL;
    sh_buf_t b;
    int rc, m1, m2, set;

    rc = sh_uritpl_compile(in, tlen, &t);
    FUZZ_CHECK(rc == 0 || rc == SSEHUB_EINVAL);
    if (rc != 0) {
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    FUZZ_CHECK(strlen(sh_uritpl_source(t)) == tlen);
    FUZZ_CHECK(memcmp(sh_uritpl_source(t), in, tlen) == 0);
    m1 = sh_uritpl_match(t, topic, topic_len);
    m2 = sh_uritpl_match(t, topic, topic_len);
    FUZZ_CHECK(m1 == m2);
    if (!sh_uritpl_is_template(in, tlen))
        FUZZ_CHECK(m1 == (topic_len == tlen && memcmp(topic, in, tlen) == 0));
    for (set = 0; set < 2; set++) {
        sh_buf_init(&b, 4 * SH_URITPL_MAX_LEN + 16);
        expand(sh_uritpl_source(t), tlen, set, &b);
        FUZZ_CHECK(match_buf(t, &b));
        (void)sh_buf_append_str(&b, " ");
        FUZZ_CHECK(!match_buf(t, &b));
        sh_buf_dispose(&b);
    }
    sh_uritpl_free(t);
    return 0;
}
