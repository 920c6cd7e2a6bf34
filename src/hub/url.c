/* SPDX-License-Identifier: MIT */
/*
 * sh_url: the WHATWG basic URL parser (url.spec.whatwg.org), for special schemes other than
 * file:, non-special URLs with an authority, a path or an opaque path, and relative
 * references against a base. The components are built into one buffer as the standard
 * serializes them.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "hub/url.h"

static const char *const special_schemes[][2] = {
    {"ftp", "21"}, {"file", NULL}, {"http", "80"}, {"https", "443"}, {"ws", "80"}, {"wss", "443"},
};

int sh_url_is_special(const char *scheme, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(special_schemes) / sizeof(special_schemes[0]); i++) {
        if (strlen(special_schemes[i][0]) == len && memcmp(special_schemes[i][0], scheme, len) == 0)
            return 1;
    }
    return 0;
}

const char *sh_url_default_port(const char *scheme, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(special_schemes) / sizeof(special_schemes[0]); i++) {
        if (strlen(special_schemes[i][0]) == len && memcmp(special_schemes[i][0], scheme, len) == 0)
            return special_schemes[i][1];
    }
    return NULL;
}

static int in_set(unsigned char c, sh_pct_set_t set)
{
    if (c < 0x20 || c > 0x7E)
        return 1;
    if (set == SH_PCT_C0)
        return 0;
    if (set == SH_PCT_FRAGMENT)
        return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    if (c == ' ' || c == '"' || c == '#' || c == '<' || c == '>')
        return 1;
    if (set == SH_PCT_QUERY)
        return 0;
    if (set == SH_PCT_SPECIAL_QUERY)
        return c == '\'';
    if (c == '?' || c == '^' || c == '`' || c == '{' || c == '}')
        return 1;
    if (set == SH_PCT_PATH)
        return 0;
    return c == '/' || c == ':' || c == ';' || c == '=' || c == '@' || c == '[' || c == '\\' ||
           c == ']' || c == '|';
}

int sh_url_pct_append(sh_buf_t *b, const char *s, size_t len, sh_pct_set_t set)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (in_set(c, set)) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = sh_buf_append(b, e, 3);
        } else {
            rc = sh_buf_append(b, &s[i], 1);
        }
    }
    return rc;
}

static int ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t i;

    if (alen != strlen(b))
        return 0;
    for (i = 0; i < alen; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != b[i])
            return 0;
    }
    return 1;
}

static int single_dot(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || ascii_ieq(s, n, "%2e");
}

static int double_dot(const char *s, size_t n)
{
    return ascii_ieq(s, n, "..") || ascii_ieq(s, n, ".%2e") || ascii_ieq(s, n, "%2e.") ||
           ascii_ieq(s, n, "%2e%2e");
}

/*
 * The path state over |s|: segments kept as (offset, length) into a scratch buffer of
 * encoded segments, popped by "..", then serialized. |s| starts at the path's first byte
 * (a leading separator is not a segment).
 */
int sh_url_path_append(sh_buf_t *b, const char *s, size_t len, int special)
{
    sh_buf_t seg;
    size_t *offs = NULL, nsegs = 0, i = 0, start;
    int rc = 0;

    sh_buf_init(&seg, SH_URL_MAX * 3);
    offs = sh_calloc(len + 2, sizeof(*offs) * 2);
    if (offs == NULL)
        return SSEHUB_ENOMEM;
    if (i < len && (s[i] == '/' || (special && s[i] == '\\')))
        i++;
    for (;;) {
        size_t j = i, n;
        int last;

        while (j < len && s[j] != '/' && !(special && s[j] == '\\'))
            j++;
        last = j >= len;
        n = j - i;
        if (double_dot(s + i, n)) {
            if (nsegs > 0)
                nsegs--;
            if (last) {
                offs[2 * nsegs] = seg.len;
                offs[2 * nsegs + 1] = 0;
                nsegs++;
            }
        } else if (single_dot(s + i, n)) {
            if (last) {
                offs[2 * nsegs] = seg.len;
                offs[2 * nsegs + 1] = 0;
                nsegs++;
            }
        } else {
            start = seg.len;
            rc = sh_url_pct_append(&seg, s + i, n, SH_PCT_PATH);
            if (rc != 0)
                break;
            offs[2 * nsegs] = start;
            offs[2 * nsegs + 1] = seg.len - start;
            nsegs++;
        }
        if (last)
            break;
        i = j + 1;
    }
    for (i = 0; rc == 0 && i < nsegs; i++) {
        rc = sh_buf_append(b, "/", 1);
        if (rc == 0 && offs[2 * i + 1] > 0)
            rc = sh_buf_append(b, seg.base + offs[2 * i], offs[2 * i + 1]);
    }
    sh_free(offs);
    sh_buf_dispose(&seg);
    return rc;
}

/* The IPv4 parser: 1 with |out| (dotted decimal) when |h| ends in a number and parses,
 * 0 when it does not end in a number (a domain), -1 when it is not a valid IPv4 address. */
static int ipv4(const char *h, size_t len, char out[16])
{
    uint64_t parts[5], v;
    size_t n = 0, i = 0, last_start;
    int k;

    /* "ends in a number": the last label (a trailing empty one ignored) is digits, or
     * 0x followed by hex digits. */
    if (len > 0 && h[len - 1] == '.')
        len--;
    last_start = len;
    while (last_start > 0 && h[last_start - 1] != '.')
        last_start--;
    {
        const char *l = h + last_start;
        size_t ll = len - last_start, j;
        int digits = ll > 0;

        for (j = 0; j < ll; j++)
            if (l[j] < '0' || l[j] > '9')
                digits = 0;
        if (!digits && !(ll >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X'))) {
            return 0;
        }
        if (!digits) {
            for (j = 2; j < ll; j++)
                if (!((l[j] >= '0' && l[j] <= '9') ||
                      ((l[j] | 0x20) >= 'a' && (l[j] | 0x20) <= 'f')))
                    return 0;
        }
    }
    while (i <= len) {
        size_t j = i;
        int base = 10;

        while (j < len && h[j] != '.')
            j++;
        if (j == i || n == 4)
            return -1;
        if (j - i >= 2 && h[i] == '0' && (h[i + 1] == 'x' || h[i + 1] == 'X')) {
            base = 16;
            i += 2;
        } else if (j - i >= 2 && h[i] == '0') {
            base = 8;
            i++;
        }
        v = 0;
        for (; i < j; i++) {
            int d;
            char c = h[i];
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                d = (c | 0x20) - 'a' + 10;
            else
                return -1;
            if (d >= base)
                return -1;
            v = v * (uint64_t)base + (uint64_t)d;
            if (v > 0xFFFFFFFFull)
                v = 0x100000000ull; /* too large, whatever follows */
        }
        parts[n++] = v;
        i = j + 1;
    }
    for (k = 0; k < (int)n - 1; k++)
        if (parts[k] > 255)
            return -1;
    if (parts[n - 1] >= (1ull << (8 * (5 - n))))
        return -1;
    v = parts[n - 1];
    for (k = 0; k < (int)n - 1; k++)
        v += parts[k] << (8 * (3 - k));
    snprintf(out, 16, "%u.%u.%u.%u", (unsigned)(v >> 24) & 255, (unsigned)(v >> 16) & 255,
             (unsigned)(v >> 8) & 255, (unsigned)v & 255);
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The host parser for a special URL: percent-decoded, ASCII only (no IDNA), lower case,
 * no forbidden domain code point, IPv4 canonical. Appends it; -1 when not a host. */
static int special_host(sh_buf_t *b, const char *h, size_t len)
{
    char dec[SH_URL_MAX], v4[16];
    size_t i, n = 0;
    int r;

    if (len == 0)
        return -1;
    if (h[0] == '[') { /* IPv6: kept as written, lower case (not canonicalized) */
        if (h[len - 1] != ']')
            return -1;
        for (i = 0; i < len; i++) {
            char c = h[i];
            if (!(c == '[' || c == ']' || c == ':' || c == '.' || (c >= '0' && c <= '9') ||
                  ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')))
                return -1;
            c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            if (sh_buf_append(b, &c, 1) != 0)
                return SSEHUB_ENOMEM;
        }
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = h[i];
        if (c == '%' && i + 2 < len + 0 && hexval(h[i + 1]) >= 0 && hexval(h[i + 2]) >= 0) {
            c = (char)(hexval(h[i + 1]) * 16 + hexval(h[i + 2]));
            i += 2;
        }
        if ((unsigned char)c >= 0x80)
            return -1; /* IDNA: not supported */
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if ((unsigned char)c <= 0x20 || c == 0x7f || strchr("#%/:<>?@[\\]^|", c) != NULL)
            return -1;
        dec[n++] = c;
    }
    r = ipv4(dec, n, v4);
    if (r < 0)
        return -1;
    if (r == 1)
        return sh_buf_append_str(b, v4);
    return sh_buf_append(b, dec, n);
}

/* An opaque host (non-special URL): C0-encoded; -1 for a forbidden host code point. */
static int opaque_host(sh_buf_t *b, const char *h, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char c = h[i];
        if (c == 0 || c == '\t' || c == '\n' || c == '\r' || c == ' ' ||
            strchr("#/:<>?@[\\]^|", c) != NULL)
            return -1;
    }
    return sh_url_pct_append(b, h, len, SH_PCT_C0);
}

typedef struct parts_s {
    size_t off[SH_URL_NCOMP];
    size_t len[SH_URL_NCOMP];
} parts_t;

static void mark(parts_t *p, int comp, size_t start, const sh_buf_t *b)
{
    p->off[comp] = start;
    p->len[comp] = b->len - start;
}

/* Appends |comp| of |base| as the new URL's. */
static int copy_comp(sh_buf_t *b, parts_t *p, const sh_url_t *base, int comp)
{
    size_t start = b->len;
    int rc = sh_buf_append(b, base->comp[comp].ptr, base->comp[comp].len);

    mark(p, comp, start, b);
    return rc;
}

static int is_sep(char c, int special)
{
    return c == '/' || (special && c == '\\');
}

/* Parses the authority [userinfo@]host[:port] of |s|; appends username, password,
 * hostname and port. */
static int authority(sh_buf_t *b, parts_t *p, const char *s, size_t len, const char *scheme,
                     size_t scheme_len, int special, int *has_host)
{
    const char *at = NULL, *hp, *colon = NULL, *dp;
    size_t i, start;
    int rc, bracket = 0;

    for (i = 0; i < len; i++)
        if (s[i] == '@')
            at = s + i;
    start = b->len;
    hp = s;
    if (at != NULL) {
        const char *c = memchr(s, ':', (size_t)(at - s));
        rc = sh_url_pct_append(b, s, c != NULL ? (size_t)(c - s) : (size_t)(at - s),
                               SH_PCT_USERINFO);
        mark(p, SH_URL_USERNAME, start, b);
        sh_buf_append(b, "", 1);
        start = b->len;
        if (rc == 0 && c != NULL)
            rc = sh_url_pct_append(b, c + 1, (size_t)(at - c - 1), SH_PCT_USERINFO);
        mark(p, SH_URL_PASSWORD, start, b);
        sh_buf_append(b, "", 1);
        if (rc != 0)
            return rc;
        hp = at + 1;
    } else {
        mark(p, SH_URL_USERNAME, start, b);
        mark(p, SH_URL_PASSWORD, start, b);
        sh_buf_append(b, "", 1);
    }
    for (dp = hp; dp < s + len; dp++) {
        if (*dp == '[')
            bracket = 1;
        else if (*dp == ']')
            bracket = 0;
        else if (*dp == ':' && !bracket)
            colon = dp;
    }
    if (colon != NULL) { /* the first ':' outside brackets starts the port */
        for (dp = hp, bracket = 0; dp < s + len; dp++) {
            if (*dp == '[')
                bracket = 1;
            else if (*dp == ']')
                bracket = 0;
            else if (*dp == ':' && !bracket) {
                colon = dp;
                break;
            }
        }
    }
    start = b->len;
    {
        size_t hl = colon != NULL ? (size_t)(colon - hp) : (size_t)(s + len - hp);

        if (hl == 0 && (at != NULL || colon != NULL))
            return -1; /* credentials or a port, and no host */
        if (special)
            rc = special_host(b, hp, hl);
        else
            rc = opaque_host(b, hp, hl);
        if (rc != 0)
            return rc;
        *has_host = 1;
    }
    mark(p, SH_URL_HOSTNAME, start, b);
    sh_buf_append(b, "", 1);
    start = b->len;
    if (colon != NULL && colon + 1 < s + len) {
        const char *q = colon + 1, *e = s + len;
        uint32_t port = 0;
        char num[8];
        const char *def = sh_url_default_port(scheme, scheme_len);

        for (; q < e; q++) {
            if (*q < '0' || *q > '9')
                return -1;
            port = port * 10 + (uint32_t)(*q - '0');
            if (port > 65535)
                return -1;
        }
        snprintf(num, sizeof(num), "%u", port);
        if (def == NULL || strcmp(def, num) != 0)
            sh_buf_append_str(b, num);
    }
    mark(p, SH_URL_PORT, start, b);
    return sh_buf_append(b, "", 1);
}

int sh_url_parse(const char *in, size_t len, const sh_url_t *base, sh_url_t *out)
{
    char clean[SH_URL_MAX];
    size_t n = 0, i, sl = 0, start;
    const char *s, *e, *q, *h;
    sh_buf_t b;
    parts_t p;
    int special, rc = -1, has_host = 0, opaque = 0, relative = 0;
    char scheme[32];

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    /* Leading and trailing C0 controls and spaces go, and every tab and newline. */
    while (len > 0 && (unsigned char)in[0] <= 0x20) {
        in++;
        len--;
    }
    while (len > 0 && (unsigned char)in[len - 1] <= 0x20)
        len--;
    if (len > SH_URL_MAX)
        return -1;
    for (i = 0; i < len; i++)
        if (in[i] != '\t' && in[i] != '\n' && in[i] != '\r')
            clean[n++] = in[i];
    s = clean;
    e = clean + n;
    /* The scheme. */
    if (n > 0 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
        for (i = 1; i < n; i++) {
            char c = s[i];
            if (c == ':') {
                sl = i;
                break;
            }
            if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '-' || c == '.'))
                break;
        }
    }
    if (sl >= sizeof(scheme))
        return -1;
    if (sl == 0) {
        if (base == NULL || base->opaque_path)
            return -1;
        relative = 1;
        memcpy(scheme, base->comp[SH_URL_PROTOCOL].ptr, base->comp[SH_URL_PROTOCOL].len);
        sl = base->comp[SH_URL_PROTOCOL].len;
    } else {
        for (i = 0; i < sl; i++)
            scheme[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
        s += sl + 1;
    }
    scheme[sl] = '\0';
    if (strcmp(scheme, "file") == 0)
        return -1; /* file: URLs are not covered */
    special = sh_url_is_special(scheme, sl);
    /* "https:foo" against an https base is relative to it. */
    if (!relative && special && base != NULL && base->comp[SH_URL_PROTOCOL].len == sl &&
        memcmp(base->comp[SH_URL_PROTOCOL].ptr, scheme, sl) == 0 &&
        !(e - s >= 2 && is_sep(s[0], 1) && is_sep(s[1], 1)))
        relative = 1;
    sh_buf_init(&b, SH_URL_MAX * 4);
    start = b.len;
    sh_buf_append(&b, scheme, sl);
    mark(&p, SH_URL_PROTOCOL, start, &b);
    sh_buf_append(&b, "", 1);
    if (relative && !(s + 1 < e && is_sep(s[0], special) && is_sep(s[1], special))) {
        /* A relative reference: the authority of the base, then path/query/fragment. */
        int c;
        for (c = SH_URL_USERNAME; c <= SH_URL_PORT; c++) {
            copy_comp(&b, &p, base, c);
            sh_buf_append(&b, "", 1);
        }
        has_host = base->has_host;
        q = s;
        while (q < e && *q != '?' && *q != '#')
            q++;
        start = b.len;
        if (s < e && is_sep(*s, special)) {
            rc = sh_url_path_append(&b, s, (size_t)(q - s), special);
        } else if (s == q) { /* "", "?x", "#x": the base's path */
            rc =
                sh_buf_append(&b, base->comp[SH_URL_PATHNAME].ptr, base->comp[SH_URL_PATHNAME].len);
        } else { /* the base's path without its last segment, then this one */
            const char *bp = base->comp[SH_URL_PATHNAME].ptr;
            size_t bl = base->comp[SH_URL_PATHNAME].len;
            sh_buf_t joined;

            while (bl > 0 && bp[bl - 1] != '/')
                bl--;
            sh_buf_init(&joined, SH_URL_MAX * 4);
            rc = sh_buf_append(&joined, bp, bl);
            if (rc == 0)
                rc = sh_buf_append(&joined, s, (size_t)(q - s));
            if (rc == 0)
                rc = sh_url_path_append(&b, joined.base, joined.len, special);
            sh_buf_dispose(&joined);
        }
        mark(&p, SH_URL_PATHNAME, start, &b);
        sh_buf_append(&b, "", 1);
        if (rc != 0)
            goto out;
        if (q == e || *q == '#') { /* no query given: the base's when the path is */
            start = b.len;
            if (s == q)
                sh_buf_append(&b, base->comp[SH_URL_SEARCH].ptr, base->comp[SH_URL_SEARCH].len);
            mark(&p, SH_URL_SEARCH, start, &b);
            sh_buf_append(&b, "", 1);
        }
        s = q;
    } else {
        if (relative && !special)
            s += 2; /* "//host...": a network-path reference */
        else if (special)
            while (s < e && is_sep(*s, 1))
                s++;
        else if (e - s >= 2 && s[0] == '/' && s[1] == '/')
            s += 2;
        else
            h = NULL;
        if (special || relative || (s > clean + sl + 1 && s[-1] == '/' && s[-2] == '/')) {
            h = s;
            while (s < e && !is_sep(*s, special) && *s != '?' && *s != '#')
                s++;
            rc = authority(&b, &p, h, (size_t)(s - h), scheme, sl, special, &has_host);
            if (rc != 0)
                goto out;
        } else {
            int c;
            for (c = SH_URL_USERNAME; c <= SH_URL_PORT; c++) {
                mark(&p, c, b.len, &b);
                sh_buf_append(&b, "", 1);
            }
        }
        q = s;
        while (q < e && *q != '?' && *q != '#')
            q++;
        start = b.len;
        if (special || has_host || (s < e && *s == '/'))
            rc = sh_url_path_append(&b, s, (size_t)(q - s), special);
        else {
            opaque = 1;
            rc = sh_url_pct_append(&b, s, (size_t)(q - s), SH_PCT_C0);
        }
        if (rc == 0 && !special && has_host && q == s)
            b.len = start; /* a non-special URL with a host and no path: the path is empty */
        mark(&p, SH_URL_PATHNAME, start, &b);
        sh_buf_append(&b, "", 1);
        if (rc != 0)
            goto out;
        if (q == e || *q == '#') {
            mark(&p, SH_URL_SEARCH, b.len, &b);
            sh_buf_append(&b, "", 1);
        }
        s = q;
    }
    if (s < e && *s == '?') {
        q = s + 1;
        while (q < e && *q != '#')
            q++;
        start = b.len;
        rc = sh_url_pct_append(&b, s + 1, (size_t)(q - s - 1),
                               special ? SH_PCT_SPECIAL_QUERY : SH_PCT_QUERY);
        mark(&p, SH_URL_SEARCH, start, &b);
        sh_buf_append(&b, "", 1);
        s = q;
    }
    start = b.len;
    if (rc == 0 && s < e && *s == '#')
        rc = sh_url_pct_append(&b, s + 1, (size_t)(e - s - 1), SH_PCT_FRAGMENT);
    mark(&p, SH_URL_HASH, start, &b);
    if (rc == 0)
        rc = sh_buf_append(&b, "", 1);
    if (rc != 0)
        goto out;
    out->mem = sh_buf_take(&b, NULL);
    for (i = 0; i < SH_URL_NCOMP; i++) {
        out->comp[i].ptr = out->mem + p.off[i];
        out->comp[i].len = p.len[i];
    }
    out->special = special;
    out->has_host = has_host;
    out->opaque_path = opaque;
    return 0;
out:
    sh_buf_dispose(&b);
    return rc == SSEHUB_ENOMEM ? rc : -1;
}

void sh_url_dispose(sh_url_t *u)
{
    sh_free(u->mem);
    memset(u, 0, sizeof(*u));
}
