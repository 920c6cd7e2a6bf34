/* SPDX-License-Identifier: MIT */
/* sh_mercure: the rules that differ between Mercure draft-07 and draft-08, in one place. */
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"
#include "proto/mercure.h"

static int name_eq(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

sh_mercure_qparam_t sh_mercure_query_param(const char *name, size_t len)
{
    size_t i;

    if (name_eq(name, len, "topic"))
        return SH_MQ_TOPIC;
    if (name_eq(name, len, "match") || name_eq(name, len, "matchExact"))
        return SH_MQ_MATCH_EXACT;
    /* alpha.3 spelled it match_urlpattern, later text of the draft matchURLPattern. */
    if (name_eq(name, len, "matchURLPattern") || name_eq(name, len, "match_urlpattern"))
        return SH_MQ_MATCH_URLPATTERN;
    if (name_eq(name, len, "lastEventID") || name_eq(name, len, "Last-Event-ID"))
        return SH_MQ_LAST_ID_07;
    if (name_eq(name, len, "last_event_id"))
        return SH_MQ_LAST_ID_08;
    if (name_eq(name, len, "authorization"))
        return SH_MQ_AUTHORIZATION;
    /* Any other match* name is refused, so that a misspelt selector is an error rather
     * than a subscription to less than was meant. */
    if (len >= 5) {
        for (i = 0; i < 5 && ascii_lower((unsigned char)name[i]) == "match"[i]; i++)
            ;
        if (i == 5)
            return SH_MQ_MATCH_UNKNOWN;
    }
    return SH_MQ_OTHER;
}

/* Decodes the code point at |p| (valid UTF-8, checked by the caller); sets its length. */
static uint32_t decode_cp(const unsigned char *p, size_t *n)
{
    if (p[0] < 0x80) {
        *n = 1;
        return p[0];
    }
    if (p[0] < 0xE0) {
        *n = 2;
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if (p[0] < 0xF0) {
        *n = 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    *n = 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
           ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

/* Unicode 15's general category Cf (format characters), as ranges. */
static const uint32_t format_ranges[][2] = {
    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
    {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},
    {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F},
};

static int is_format(uint32_t cp)
{
    size_t i;

    for (i = 0; i < sizeof(format_ranges) / sizeof(format_ranges[0]); i++) {
        if (cp >= format_ranges[i][0] && cp <= format_ranges[i][1])
            return 1;
    }
    return 0;
}

const char *sh_mercure_check_selector(const char *v, size_t len)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t i, n;

    if (len == 0)
        return "empty topic";
    if (len > SH_MERCURE_SELECTOR_MAX)
        return "selector too long (limit 4096 bytes)";
    if (sh_utf8_valid_prefix(v, len) != len)
        return "selector is not valid UTF-8";
    for (i = 0; i < len; i += n) {
        uint32_t cp = decode_cp(p + i, &n);

        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
            return "selector contains a control character";
        if (is_format(cp))
            return "selector contains a Unicode format character";
    }
    return NULL;
}

const char *sh_mercure_check_last_id(const char *v, size_t len)
{
    size_t i;

    if (len > SH_MERCURE_LAST_ID_MAX)
        return "invalid Last-Event-ID: too long (limit 1024 bytes)";
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];

        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return "invalid Last-Event-ID: control characters";
    }
    return NULL;
}

const char *sh_mercure_check_publish_08(const char *id, size_t id_len, const char *type,
                                        size_t type_len)
{
    if (id_len > 0 && id[0] == '#')
        return "id may not start with '#' (reserved by Mercure 1.0)";
    if (name_eq(id, id_len, "earliest"))
        return "id \"earliest\" is reserved";
    if (name_eq(type, type_len, SH_MERCURE_SUB_EVENT_TYPE))
        return "type \"mercure\" is reserved for the hub's own events";
    return NULL;
}

/* Draft-07's rule, unchanged: the path of a relative topic or of "scheme://auth/path". */
static int reserved_07(const char *t, size_t len)
{
    const char *p = t, *end = t + len, *colon, *slash;
    size_t rl = strlen(SH_MERCURE_PATH);

    colon = memchr(t, ':', len);
    if (colon != NULL && colon + 2 < end && colon[1] == '/' && colon[2] == '/') {
        slash = memchr(colon + 3, '/', (size_t)(end - colon - 3));
        if (slash == NULL)
            return 0;
        p = slash;
    }
    if ((size_t)(end - p) < rl || memcmp(p, SH_MERCURE_PATH, rl) != 0)
        return 0;
    p += rl;
    return p == end || *p == '/' || *p == '?' || *p == '#';
}

/* The length of a URL scheme followed by ':' at the start of |t|, or 0 (RFC 3986 §3.1). */
static size_t scheme_len(const char *t, size_t len)
{
    size_t i;

    if (len == 0 || !((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z'))
        return 0;
    for (i = 1; i < len; i++) {
        char c = t[i];

        if (c == ':')
            return i;
        if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '-' || c == '.'))
            return 0;
    }
    return 0;
}

static int is_slash(char c)
{
    return c == '/' || c == '\\';
}

/* Whether |s| is a single or double dot segment (".", "%2e", "..", ".%2E", ...): 1 or 2. */
static int dot_segment(const char *s, size_t len)
{
    int dots = 0;
    size_t i = 0;

    while (i < len) {
        if (s[i] == '.') {
            i++;
        } else if (len - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e') {
            i += 3;
        } else {
            return 0;
        }
        if (++dots > 2)
            return 0;
    }
    return dots;
}

/*
 * The path segments after dot-segment removal: only the first two matter (".well-known"
 * and "mercure"), so only they are kept, with the depth; a ".." above depth 2 pops a
 * segment whose name never matters.
 */
typedef struct segs_s {
    const char *seg[2];
    size_t seg_len[2];
    size_t depth;
} segs_t;

static void segs_walk(segs_t *s, const char *p, const char *end)
{
    while (p < end) {
        const char *q = p;
        int dots;

        while (q < end && !is_slash(*q))
            q++;
        dots = dot_segment(p, (size_t)(q - p));
        if (dots == 2) {
            if (s->depth > 0)
                s->depth--;
        } else if (dots == 0) {
            if (s->depth < 2) {
                s->seg[s->depth] = p;
                s->seg_len[s->depth] = (size_t)(q - p);
            }
            s->depth++;
        }
        p = q < end ? q + 1 : q;
    }
}

static int segs_reserved(const segs_t *s)
{
    return s->depth >= 2 && name_eq(s->seg[0], s->seg_len[0], ".well-known") &&
           name_eq(s->seg[1], s->seg_len[1], "mercure");
}

/* Draft-08's rule: the topic resolved against the hub's URL, then its path. */
static int reserved_08(const char *t, size_t len)
{
    const char *end = t + len, *p = t, *path_end;
    size_t sl = scheme_len(t, len);
    segs_t s;

    memset(&s, 0, sizeof(s));
    if (sl > 0) {
        p = t + sl + 1;
        if (end - p < 1 || !is_slash(*p))
            return 0; /* "urn:x": an opaque path, never the hub's */
    }
    if (end - p >= 2 && is_slash(p[0]) && is_slash(p[1])) { /* an authority */
        p += 2;
        while (p < end && !is_slash(*p) && *p != '?' && *p != '#')
            p++;
    } else if (sl == 0 && (p == end || *p == '?' || *p == '#')) {
        return 1; /* the hub's own URL, with another query or fragment */
    } else if (sl == 0 && !is_slash(*p)) {
        /* A relative path: resolved against /.well-known/mercure, under /.well-known/. */
        s.seg[0] = ".well-known";
        s.seg_len[0] = strlen(".well-known");
        s.depth = 1;
    }
    path_end = p;
    while (path_end < end && *path_end != '?' && *path_end != '#')
        path_end++;
    if (p < path_end && is_slash(*p))
        p++;
    segs_walk(&s, p, path_end);
    return segs_reserved(&s);
}

int sh_mercure_topic_reserved(sh_mercure_version_t v, const char *topic, size_t len)
{
    return v == SH_MERCURE_08 ? reserved_08(topic, len) : reserved_07(topic, len);
}

sh_mercure_version_t sh_mercure_subs_api_version(const char *rest, size_t len, int token_version,
                                                 size_t *mt_len)
{
    static const char *const types[] = {"/" SH_MERCURE_MATCH_EXACT "/",
                                        "/" SH_MERCURE_MATCH_URLPATTERN "/"};
    size_t i;

    *mt_len = 0;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t tl = strlen(types[i]);

        if (len > tl && memcmp(rest, types[i], tl) == 0) {
            *mt_len = tl - 1;
            return SH_MERCURE_08;
        }
    }
    if (len == 0 && token_version == SH_MERCURE_08)
        return SH_MERCURE_08;
    return SH_MERCURE_07;
}
