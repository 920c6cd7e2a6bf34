/* SPDX-License-Identifier: MIT */
/*
 * sh_uritpl: RFC 6570 templates compiled to a list of literal and expression parts, and
 * matched by a sweep over the set of topic positions each part can end at. Each part maps
 * the set of positions where it may start to the set where it may end, in one left-to-right
 * pass; so a match costs O(parts x topic) (literals: O(topic x literal) at worst).
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "hub/uritemplate.h"

#define STACK_TOPIC 4096 /* topics up to this long are matched without allocating */
#define PREFIX_MAX  9999 /* RFC 6570 §2.4.1: max-length is 1 to 4 digits */

typedef struct var_s {
    const char *name;
    size_t len;
    unsigned prefix; /* :N, 0 for none */
    int explode;     /* * */
} var_t;

typedef struct part_s {
    const char *lit; /* a literal when nvars == 0 */
    size_t lit_len;
    char op; /* 0 for a simple expression */
    var_t *vars;
    size_t nvars;
    int any_explode;
} part_t;

struct sh_uritpl_s {
    char *src;
    size_t len;
    part_t *parts;
    size_t nparts;
    var_t *vars;
};

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alpha_digit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* unreserved (RFC 3986) plus the bytes of non-ASCII characters (IRIs, RFC 3987). */
static int is_unreserved(unsigned char c)
{
    return is_alpha_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c >= 0x80;
}

static int is_reserved(unsigned char c)
{
    return c != '\0' && strchr(":/?#[]@!$&'()*+,;=", c) != NULL;
}

/* Whether s[i..] starts a %XX triplet. */
static int pct_at(const char *s, size_t n, size_t i)
{
    return i + 2 < n && s[i] == '%' && is_hex((unsigned char)s[i + 1]) &&
           is_hex((unsigned char)s[i + 2]);
}

int sh_uritpl_is_template(const char *s, size_t len)
{
    return memchr(s, '{', len) != NULL || memchr(s, '}', len) != NULL;
}

/* ---- Compiling. */

/* RFC 6570 §2.1: a literal character (pct-encoded triplets are checked by the caller). */
static int literal_ok(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f)
        return 0;
    return strchr("\"'<>\\^`{|}", c) == NULL;
}

/* Parses one varspec at s[*i]; advances |*i|. 0 or SSEHUB_EINVAL. */
static int parse_varspec(const char *s, size_t n, size_t *i, var_t *v)
{
    size_t p = *i, start = p;
    int need_char = 1;

    memset(v, 0, sizeof(*v));
    while (p < n) {
        unsigned char c = (unsigned char)s[p];
        if (is_alpha_digit(c) || c == '_') {
            p++;
            need_char = 0;
        } else if (c == '%' && pct_at(s, n, p)) {
            p += 3;
            need_char = 0;
        } else if (c == '.' && !need_char) {
            p++;
            need_char = 1;
        } else {
            break;
        }
    }
    if (p == start || need_char)
        return SSEHUB_EINVAL;
    v->name = s + start;
    v->len = p - start;
    if (p < n && s[p] == '*') {
        v->explode = 1;
        p++;
    } else if (p < n && s[p] == ':') {
        unsigned val = 0;
        size_t digits = 0;
        p++;
        if (p >= n || s[p] < '1' || s[p] > '9')
            return SSEHUB_EINVAL;
        while (p < n && s[p] >= '0' && s[p] <= '9' && digits < 5) {
            val = val * 10 + (unsigned)(s[p] - '0');
            p++;
            digits++;
        }
        if (val > PREFIX_MAX)
            return SSEHUB_EINVAL;
        v->prefix = val;
    }
    *i = p;
    return 0;
}

/* First pass: checks the syntax and counts parts and variables. */
static int scan(const char *s, size_t n, size_t *nparts, size_t *nvars, part_t *parts, var_t *vars)
{
    size_t i = 0, np = 0, nv = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '{') {
            part_t *pt = parts != NULL ? &parts[np] : NULL;
            char op = 0;
            size_t first = nv;
            i++;
            if (i < n && strchr("+#./;?&", s[i]) != NULL && s[i] != '\0')
                op = s[i++];
            else if (i < n && strchr("=,!@|", s[i]) != NULL && s[i] != '\0')
                return SSEHUB_EINVAL; /* reserved for future extensions (§2.2) */
            for (;;) {
                var_t v;
                if (parse_varspec(s, n, &i, &v) != 0)
                    return SSEHUB_EINVAL;
                if (vars != NULL)
                    vars[nv] = v;
                nv++;
                if (i < n && s[i] == ',') {
                    i++;
                    continue;
                }
                if (i < n && s[i] == '}') {
                    i++;
                    break;
                }
                return SSEHUB_EINVAL;
            }
            if (pt != NULL) {
                size_t k;
                memset(pt, 0, sizeof(*pt));
                pt->op = op;
                pt->vars = &vars[first];
                pt->nvars = nv - first;
                for (k = 0; k < pt->nvars; k++)
                    pt->any_explode |= pt->vars[k].explode;
            }
            np++;
        } else {
            size_t start = i;
            while (i < n && s[i] != '{') {
                c = (unsigned char)s[i];
                if (c == '%') {
                    if (!pct_at(s, n, i))
                        return SSEHUB_EINVAL;
                    i += 3;
                } else if (literal_ok(c)) {
                    i++;
                } else {
                    return SSEHUB_EINVAL;
                }
            }
            if (parts != NULL) {
                memset(&parts[np], 0, sizeof(parts[np]));
                parts[np].lit = s + start;
                parts[np].lit_len = i - start;
            }
            np++;
        }
    }
    *nparts = np;
    *nvars = nv;
    return 0;
}

int sh_uritpl_compile(const char *s, size_t len, sh_uritpl_t **out)
{
    sh_uritpl_t *t;
    size_t np = 0, nv = 0;
    int rc;

    *out = NULL;
    if (s == NULL || len == 0 || len > SH_URITPL_MAX_LEN)
        return SSEHUB_EINVAL;
    rc = scan(s, len, &np, &nv, NULL, NULL);
    if (rc != 0)
        return rc;
    t = sh_calloc(1, sizeof(*t));
    if (t == NULL)
        return SSEHUB_ENOMEM;
    t->src = sh_malloc(len + 1);
    t->parts = sh_calloc(np, sizeof(*t->parts));
    t->vars = nv > 0 ? sh_calloc(nv, sizeof(*t->vars)) : NULL;
    if (t->src == NULL || t->parts == NULL || (nv > 0 && t->vars == NULL)) {
        sh_uritpl_free(t);
        return SSEHUB_ENOMEM;
    }
    memcpy(t->src, s, len);
    t->src[len] = '\0';
    t->len = len;
    /* Parts and variables point into the copy. */
    (void)scan(t->src, len, &t->nparts, &nv, t->parts, t->vars);
    *out = t;
    return 0;
}

void sh_uritpl_free(sh_uritpl_t *t)
{
    if (t == NULL)
        return;
    sh_free(t->src);
    sh_free(t->parts);
    sh_free(t->vars);
    sh_free(t);
}

const char *sh_uritpl_source(const sh_uritpl_t *t)
{
    return t->src;
}

/* ---- Matching. |in| and |out| are sets of positions 0..n (one byte each). */

typedef struct mctx_s {
    const char *s;
    size_t n;
    unsigned char *in, *out, *tmp;
} mctx_t;

static void match_literal(const mctx_t *m, const part_t *pt)
{
    size_t i;

    memset(m->out, 0, m->n + 1);
    if (pt->lit_len > m->n)
        return;
    for (i = 0; i + pt->lit_len <= m->n; i++) {
        if (m->in[i] && memcmp(m->s + i, pt->lit, pt->lit_len) == 0)
            m->out[i + pt->lit_len] = 1;
    }
}

/* Whether byte c may be inside the expansion of a class operator ("", +, #, ., /). */
static int class_char(const part_t *pt, unsigned char c)
{
    if (is_unreserved(c) || c == ',')
        return 1;
    if (pt->op == '+' || pt->op == '#')
        return is_reserved(c);
    if (pt->op == '/')
        return c == '/' && (pt->nvars > 1 || pt->any_explode);
    return 0;
}

/*
 * "", +, #, ., /: optionally the operator's character, then a run of value characters
 * (%XX counting as one). Each start opens a run; every position of an open run is an end,
 * up to |limit| characters after the latest start when a prefix modifier applies.
 */
static void match_class(const mctx_t *m, const part_t *pt)
{
    const char *s = m->s;
    size_t n = m->n, i;
    unsigned char *start = m->tmp;
    char lead = (pt->op == '#' || pt->op == '.' || pt->op == '/') ? pt->op : 0;
    unsigned limit = (pt->nvars == 1 && !pt->any_explode) ? pt->vars[0].prefix : 0;
    size_t since = 0; /* characters since the latest start of the open run */
    int active = 0;

    memset(m->out, 0, n + 1);
    memset(start, 0, n + 1);
    for (i = 0; i <= n; i++) {
        if (!m->in[i])
            continue;
        m->out[i] = 1; /* every variable undefined: the expression expands to nothing */
        if (lead == 0)
            start[i] = 1;
        else if (i < n && s[i] == lead)
            start[i + 1] = 1;
    }
    i = 0;
    for (;;) {
        if (start[i]) {
            active = 1;
            since = 0;
        }
        if (active && (limit == 0 || since <= limit))
            m->out[i] = 1;
        if (i == n)
            break;
        if (pct_at(s, n, i)) {
            /* Runs that start inside the triplet see two plain hex digits. */
            if (start[i + 1])
                m->out[i + 1] = 1;
            if (start[i + 1] || start[i + 2])
                m->out[i + 2] = 1;
            if (start[i + 2]) {
                active = 1;
                since = 1;
            } else if (start[i + 1]) {
                active = 1;
                since = 2;
            } else {
                since++;
            }
            i += 3;
        } else if (class_char(pt, (unsigned char)s[i])) {
            /* A UTF-8 continuation byte is part of the character before it. */
            if (((unsigned char)s[i] & 0xc0) != 0x80)
                since++;
            i++;
        } else {
            active = 0;
            i++;
        }
    }
}

/* Whether the item name s[a..b) is allowed by the expression. */
static int name_ok(const part_t *pt, const char *name, size_t len)
{
    size_t k;

    if (len == 0)
        return 0;
    if (pt->any_explode)
        return 1; /* an exploded associative array names its own keys */
    for (k = 0; k < pt->nvars; k++) {
        if (pt->vars[k].len == len && memcmp(pt->vars[k].name, name, len) == 0)
            return 1;
    }
    return 0;
}

/* The prefix limit of the variable named s[a..b), or 0. */
static unsigned name_limit(const part_t *pt, const char *name, size_t len)
{
    size_t k;

    for (k = 0; k < pt->nvars; k++) {
        if (pt->vars[k].len == len && memcmp(pt->vars[k].name, name, len) == 0)
            return pt->vars[k].explode ? 0 : pt->vars[k].prefix;
    }
    return 0;
}

/*
 * ;, ?, &: the operator's character, then items "name=value" (";name" alone when the
 * value is empty) separated by ';' or '&'. An item start is scanned once: items never
 * overlap because the separators cannot occur in names or values.
 */
static void match_named(const mctx_t *m, const part_t *pt)
{
    const char *s = m->s;
    size_t n = m->n, i;
    unsigned char *item = m->tmp;
    char sep = pt->op == ';' ? ';' : '&';

    memset(m->out, 0, n + 1);
    memset(item, 0, n + 1);
    for (i = 0; i <= n; i++) {
        if (!m->in[i])
            continue;
        m->out[i] = 1;
        if (i < n && s[i] == pt->op)
            item[i + 1] = 1;
    }
    for (i = 0; i <= n; i++) {
        size_t j = i, chars = 0;
        unsigned limit;
        if (!item[i])
            continue;
        while (j < n) {
            if (pct_at(s, n, j))
                j += 3;
            else if (is_unreserved((unsigned char)s[j]))
                j++;
            else
                break;
        }
        if (!name_ok(pt, s + i, j - i))
            continue;
        limit = name_limit(pt, s + i, j - i);
        if (j == n || s[j] != '=') {
            if (pt->op == ';') {
                m->out[j] = 1;
                if (j < n && s[j] == sep)
                    item[j + 1] = 1;
            }
            continue;
        }
        j++;
        for (;;) {
            if (limit == 0 || chars <= limit)
                m->out[j] = 1;
            if (j == n)
                break;
            if (pct_at(s, n, j)) {
                j += 3;
                chars++;
            } else if (is_unreserved((unsigned char)s[j]) || s[j] == ',') {
                /* A UTF-8 continuation byte is part of the character before it. */
                if (((unsigned char)s[j] & 0xc0) != 0x80)
                    chars++;
                j++;
            } else {
                break;
            }
        }
        if (j < n && s[j] == sep)
            item[j + 1] = 1;
    }
}

int sh_uritpl_match(const sh_uritpl_t *t, const char *topic, size_t len)
{
    unsigned char stack[3 * (STACK_TOPIC + 1)];
    unsigned char *mem = stack, *swap;
    mctx_t m;
    size_t k, i;
    int any, matched;

    if (len > STACK_TOPIC) {
        if (len > (SIZE_MAX - 3) / 3)
            return 0;
        mem = sh_malloc(3 * (len + 1));
        if (mem == NULL)
            return 0;
    }
    m.s = topic;
    m.n = len;
    m.in = mem;
    m.out = mem + (len + 1);
    m.tmp = mem + 2 * (len + 1);
    memset(m.in, 0, len + 1);
    m.in[0] = 1;
    for (k = 0; k < t->nparts; k++) {
        const part_t *pt = &t->parts[k];
        if (pt->nvars == 0)
            match_literal(&m, pt);
        else if (pt->op == ';' || pt->op == '?' || pt->op == '&')
            match_named(&m, pt);
        else
            match_class(&m, pt);
        swap = m.in;
        m.in = m.out;
        m.out = swap;
        any = 0;
        for (i = 0; i <= len && !any; i++)
            any = m.in[i];
        if (!any)
            break;
    }
    matched = m.in[len] != 0;
    if (mem != stack)
        sh_free(mem);
    return matched;
}
