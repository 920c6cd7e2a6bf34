/* SPDX-License-Identifier: MIT */
/*
 * sh_urlpat_comp: a URL Pattern component: the standard's tokenizer (strict policy),
 * pattern parser and regular-expression generator, written from urlpattern.spec.whatwg.org
 * (sections "Tokenizing", "Parsing pattern strings", "generate a regular expression and
 * name list"), then PCRE2. The parser emits each part's regular expression as soon as the
 * part is complete (a part never depends on a later one), so no part list is kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "hub/url.h"
#include "hub/urlpattern.h"

struct sh_urlpat_comp_s {
    pcre2_code *code;
    pcre2_match_context *mctx;
    size_t ngroups;
    char *regex; /* NUL-terminated */
};

typedef enum {
    T_OPEN,      /* { */
    T_CLOSE,     /* } */
    T_REGEXP,    /* (...) : value is what is inside */
    T_NAME,      /* :name : value is the name */
    T_CHAR,      /* one code point */
    T_ESCAPED,   /* \x : value is x */
    T_OTHER_MOD, /* ? or + */
    T_ASTERISK,  /* * */
    T_END,
    T_INVALID /* lenient policy: what would have been an error */
} ttype_t;

typedef struct tok_s {
    ttype_t type;
    const char *v;     /* the value */
    size_t len;        /* its length */
    const char *start; /* where the token starts in the input */
} tok_t;

/* The length of the UTF-8 sequence at |p| (valid UTF-8). */
static size_t cp_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* A name code point: ASCII only here (the standard allows any ID_Start/ID_Continue code
 * point; a non-ASCII name is refused). */
static int name_cp(unsigned char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$')
        return 1;
    return !first && c >= '0' && c <= '9';
}

/* Whether |c| may follow a backslash in a JavaScript regular expression with the v flag
 * (identity escapes are only of syntax characters; the others are escape sequences). */
static int js_escape_ok(char c, int in_class)
{
    if (c != '\0' && strchr("^$\\.*+?()[]{}|/", c) != NULL)
        return 1;
    if (c != '\0' && strchr("dDwWsSbBfnrtvcxupPk0123456789", c) != NULL)
        return 1;
    return in_class && c == '-';
}

/* Whether the quantifier "{n}", "{n,}" or "{n,m}" starts at |p|; sets its length. */
static int js_quantifier(const char *p, const char *end, size_t *len)
{
    const char *q = p + 1;
    int digits = 0;

    while (q < end && *q >= '0' && *q <= '9') {
        q++;
        digits++;
    }
    if (digits == 0)
        return 0;
    if (q < end && *q == ',') {
        q++;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q >= end || *q != '}')
        return 0;
    *len = (size_t)(q + 1 - p);
    return 1;
}

/*
 * The standard compiles a part's regular expression as JavaScript does with the v flag,
 * which is stricter than PCRE2: a lone '{', '}' or ']', an identity escape of a letter,
 * and, in a character class, an unescaped ( ) [ { } / | or a '-' that is not a range, or a
 * doubled punctuator, are syntax errors there. This refuses them, so that what Chromium
 * refuses is refused here too. Nested classes and class set operations (valid with the v
 * flag) are refused as well: not supported. Returns NULL or the reason.
 */
static const char *js_regexp_check(const char *v, size_t len)
{
    const char *p = v, *end = v + len;
    size_t ql;

    while (p < end) {
        if (*p == '\\') {
            if (p + 1 >= end || !js_escape_ok(p[1], 0))
                return "URL pattern: an escape JavaScript's regular expressions do not have";
            p += 2;
        } else if (*p == '{') {
            if (!js_quantifier(p, end, &ql))
                return "URL pattern: a lone '{' in a regular expression (escape it)";
            p += ql;
        } else if (*p == '}' || *p == ']') {
            return "URL pattern: a lone '}' or ']' in a regular expression (escape it)";
        } else if (*p == '[') {
            int have = 0; /* a single class character precedes (a range may start) */

            p++;
            if (p < end && *p == '^')
                p++;
            while (p < end && *p != ']') {
                char c = *p;

                if (c == '\\') {
                    if (p + 1 >= end || !js_escape_ok(p[1], 1) || p[1] == 'q')
                        return "URL pattern: an escape a character class does not allow";
                    p += 2;
                    have = 1;
                    continue;
                }
                if (c == '-') {
                    if (!have || p + 1 >= end || p[1] == ']' || p[1] == '-')
                        return "URL pattern: a '-' that is not a range in a character class "
                               "(escape it)";
                    p++;
                    have = 0; /* the range's end follows */
                    if (*p == '\\')
                        continue;
                    if (strchr("()[{}/|", *p) != NULL)
                        return "URL pattern: an unescaped syntax character in a character class";
                    p++;
                    continue;
                }
                if (strchr("()[{}/|", c) != NULL)
                    return "URL pattern: an unescaped syntax character in a character class "
                           "(or a nested class: not supported)";
                if (p + 1 < end && p[1] == c && strchr("&!#$%*+,.:;<=>?@^`~", c) != NULL)
                    return "URL pattern: a doubled punctuator in a character class";
                have = 1;
                p++;
            }
            if (p >= end)
                return "URL pattern: an unterminated character class";
            p++;
        } else {
            p++;
        }
    }
    return NULL;
}

/* The standard's tokenizer. Strict policy (|lenient| 0): an error refuses the pattern.
 * Lenient (the constructor string parser's): an error becomes an invalid-char token of the
 * code point where it was found, and tokenizing goes on after it. Fills |toks| (room for
 * len + 1). Returns the count, or 0 with |*reason|. */
static size_t tokenize_p(const char *in, size_t len, tok_t *toks, const char **reason, int lenient)
{
    size_t i = 0, n = 0;

#define TOKERR(at, why)                                  \
    do {                                                 \
        if (!lenient) {                                  \
            *reason = (why);                             \
            return 0;                                    \
        }                                                \
        toks[n].type = T_INVALID;                        \
        toks[n].v = toks[n].start = in + (at);           \
        toks[n++].len = cp_len((unsigned char)in[(at)]); \
        i = (at) + cp_len((unsigned char)in[(at)]);      \
        goto next;                                       \
    } while (0)

    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        size_t cl = cp_len(c);

        toks[n].start = in + i;
        if (c == '*' || c == '+' || c == '?' || c == '{' || c == '}') {
            toks[n].type = c == '*'   ? T_ASTERISK
                           : c == '{' ? T_OPEN
                           : c == '}' ? T_CLOSE
                                      : T_OTHER_MOD;
            toks[n].v = in + i;
            toks[n++].len = 1;
            i++;
        } else if (c == '\\') {
            if (i + 1 >= len)
                TOKERR(i, "URL pattern: a backslash at the end");
            toks[n].type = T_ESCAPED;
            toks[n].v = in + i + 1;
            toks[n++].len = cp_len((unsigned char)in[i + 1]);
            i += 1 + cp_len((unsigned char)in[i + 1]);
        } else if (c == ':') {
            size_t st = i + 1, p = st;

            while (p < len && name_cp((unsigned char)in[p], p == st))
                p++;
            if (p == st)
                TOKERR(i, "URL pattern: ':' without a valid name (ASCII letters, digits, _ and $)");
            toks[n].type = T_NAME;
            toks[n].v = in + st;
            toks[n++].len = p - st;
            i = p;
        } else if (c == '(') {
            size_t depth = 1, st = i + 1, p = st;
            const char *why = NULL;

            while (p < len) {
                unsigned char r = (unsigned char)in[p];

                if (r >= 0x80) {
                    why = "URL pattern: a non-ASCII character in a regular expression";
                    break;
                }
                if (p == st && r == '?') {
                    why = "URL pattern: a regular expression may not start with '?'";
                    break;
                }
                if (r == '\\') {
                    if (p + 1 >= len || (unsigned char)in[p + 1] >= 0x80) {
                        why = "URL pattern: a bad escape in a regular expression";
                        break;
                    }
                    p += 2;
                    continue;
                }
                if (r == ')') {
                    if (--depth == 0) {
                        p++;
                        break;
                    }
                } else if (r == '(') {
                    depth++;
                    if (p + 1 >= len || in[p + 1] != '?') {
                        why = "URL pattern: capturing groups are not allowed in a regular "
                              "expression (use (?:...))";
                        break;
                    }
                }
                p++;
            }
            if (why == NULL && depth != 0)
                why = "URL pattern: an unbalanced '('";
            if (why == NULL && p - st - 1 == 0)
                why = "URL pattern: an empty regular expression";
            if (why == NULL && !lenient)
                why = js_regexp_check(in + st, p - st - 1);
            if (why != NULL)
                TOKERR(i, why);
            toks[n].type = T_REGEXP;
            toks[n].v = in + st;
            toks[n++].len = p - st - 1;
            i = p;
        } else {
            toks[n].type = T_CHAR;
            toks[n].v = in + i;
            toks[n++].len = cl;
            i += cl;
        }
    next:;
    }
#undef TOKERR
    toks[n].type = T_END;
    toks[n].v = toks[n].start = in + len;
    toks[n++].len = 0;
    return n;
}

static size_t tokenize(const char *in, size_t len, tok_t *toks, const char **reason)
{
    return tokenize_p(in, len, toks, reason, 0);
}

typedef struct name_s {
    const char *p; /* NULL: a numbered group */
    size_t len;
    unsigned num;
} name_t;

typedef struct parser_s {
    const tok_t *toks;
    size_t i;
    sh_urlpat_opts_t opts;
    sh_buf_t pending; /* the pending fixed value */
    sh_buf_t re;      /* the regular expression so far */
    name_t *names;
    size_t nnames;
    unsigned next_num;
    const char *reason;
    int failed; /* -1: a syntax error (|reason|), SSEHUB_ENOMEM */
    /* The standard's encoding callback of the component, on fixed text (NULL: as is):
     * appends the canonical form, 0, -1 (not allowed) or SSEHUB_ENOMEM. */
    int (*encode)(sh_buf_t *out, const char *s, size_t len);
} parser_t;

static const tok_t *try_consume(parser_t *p, ttype_t t)
{
    if (p->toks[p->i].type != t)
        return NULL;
    return &p->toks[p->i++];
}

static const tok_t *try_modifier(parser_t *p)
{
    const tok_t *t = try_consume(p, T_OTHER_MOD);

    return t != NULL ? t : try_consume(p, T_ASTERISK);
}

static const tok_t *try_regexp_or_wildcard(parser_t *p, const tok_t *name)
{
    const tok_t *t = try_consume(p, T_REGEXP);

    if (t == NULL && name == NULL)
        t = try_consume(p, T_ASTERISK);
    return t;
}

static void fail_syntax(parser_t *p, const char *reason)
{
    if (p->failed == 0) {
        p->failed = -1;
        p->reason = reason;
    }
}

static void re_append(parser_t *p, const char *s, size_t len)
{
    if (sh_buf_append(&p->re, s, len) != 0 && p->failed == 0)
        p->failed = SSEHUB_ENOMEM;
}

static void re_str(parser_t *p, const char *s)
{
    re_append(p, s, strlen(s));
}

/* The standard's "escape a regexp string". */
static void re_escaped(parser_t *p, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (strchr(".+*?^${}()[]|/\\", s[i]) != NULL && s[i] != '\0')
            re_append(p, "\\", 1);
        re_append(p, &s[i], 1);
    }
}

static const char *modifier_str(const tok_t *m)
{
    return m == NULL ? "" : m->v[0] == '?' ? "?" : m->v[0] == '*' ? "*" : "+";
}

/* The segment wildcard of the options: [^delimiter]+? (any character when the delimiter
 * is empty: JavaScript's [^]+?, spelled with DOTALL). User regular expressions are
 * compiled with PCRE2_ALLOW_EMPTY_CLASS and PCRE2_ALT_BSUX, JavaScript's meanings of [^],
 * [] and \uHHHH. */
static void re_segment_wildcard(parser_t *p)
{
    if (p->opts == SH_URLPAT_PATHNAME)
        re_str(p, "[^\\/]+?");
    else if (p->opts == SH_URLPAT_HOSTNAME)
        re_str(p, "[^\\.]+?");
    else
        re_str(p, "(?s:.+?)");
}

static char prefix_cp(const parser_t *p)
{
    return p->opts == SH_URLPAT_PATHNAME ? '/' : '\0';
}

/* Fixed text: through the encoding callback, then escaped. */
static void re_fixed(parser_t *p, const char *s, size_t len)
{
    sh_buf_t enc;
    int rc;

    if (p->encode == NULL || len == 0) {
        re_escaped(p, s, len);
        return;
    }
    sh_buf_init(&enc, SH_URLPAT_MAX * 4);
    rc = p->encode(&enc, s, len);
    if (rc == SSEHUB_ENOMEM && p->failed == 0)
        p->failed = rc;
    else if (rc != 0)
        fail_syntax(p, "URL pattern: text the component does not allow");
    else
        re_escaped(p, enc.base != NULL ? enc.base : "", enc.len);
    sh_buf_dispose(&enc);
}

/* "maybe add a part from the pending fixed value": fixed text, no modifier. */
static void flush_pending(parser_t *p)
{
    if (p->pending.len == 0)
        return;
    re_fixed(p, p->pending.base, p->pending.len);
    sh_buf_reset(&p->pending);
}

static void pending_append(parser_t *p, const char *s, size_t len)
{
    if (sh_buf_append(&p->pending, s, len) != 0 && p->failed == 0)
        p->failed = SSEHUB_ENOMEM;
}

/* "add a part", with the regular expression generated at once. */
static void add_part(parser_t *p, const char *prefix, size_t prefix_len, const tok_t *name,
                     const tok_t *rx, const char *suffix, size_t suffix_len, const tok_t *mod)
{
    const char *ms = modifier_str(mod);
    int none_or_opt = mod == NULL || ms[0] == '?';
    int kind; /* 0 regexp, 1 segment wildcard, 2 full wildcard */
    size_t i;

    if (name == NULL && rx == NULL && mod == NULL) {
        pending_append(p, prefix, prefix_len);
        return;
    }
    flush_pending(p);
    if (name == NULL && rx == NULL) { /* fixed text with a modifier: {abc}? */
        if (prefix_len == 0)
            return;
        re_str(p, "(?:");
        re_fixed(p, prefix, prefix_len);
        re_str(p, ")");
        re_str(p, ms);
        return;
    }
    kind = rx == NULL ? 1 : rx->type == T_ASTERISK ? 2 : 0;
    if (kind == 0) {
        /* A regexp equal to the segment or full wildcard's is that wildcard. */
        if ((p->opts == SH_URLPAT_PATHNAME && rx->len == 7 && memcmp(rx->v, "[^\\/]+?", 7) == 0) ||
            (p->opts == SH_URLPAT_HOSTNAME && rx->len == 7 && memcmp(rx->v, "[^\\.]+?", 7) == 0))
            kind = 1;
        else if (p->opts == SH_URLPAT_DEFAULT && rx->len == 5 && memcmp(rx->v, "[^]+?", 5) == 0)
            kind = 1;
        else if (rx->len == 2 && memcmp(rx->v, ".*", 2) == 0)
            kind = 2;
    }
    /* The group's name: a duplicate is an error. */
    if (p->failed == 0) {
        name_t nm;

        nm.p = name != NULL ? name->v : NULL;
        nm.len = name != NULL ? name->len : 0;
        nm.num = name != NULL ? 0 : p->next_num++;
        for (i = 0; i < p->nnames; i++) {
            const name_t *o = &p->names[i];
            if ((nm.p == NULL) == (o->p == NULL) &&
                (nm.p != NULL ? nm.len == o->len && memcmp(nm.p, o->p, nm.len) == 0
                              : nm.num == o->num)) {
                fail_syntax(p, "URL pattern: a duplicate group name");
                return;
            }
        }
        p->names[p->nnames++] = nm;
    }
#define RX()                              \
    do {                                  \
        if (kind == 1)                    \
            re_segment_wildcard(p);       \
        else if (kind == 2)               \
            re_str(p, "(?s:.*)");         \
        else                              \
            re_append(p, rx->v, rx->len); \
    } while (0)
    if (prefix_len == 0 && suffix_len == 0) {
        if (none_or_opt) {
            re_str(p, "(");
            RX();
            re_str(p, ")");
            re_str(p, ms);
        } else {
            re_str(p, "((?:");
            RX();
            re_str(p, ")");
            re_str(p, ms);
            re_str(p, ")");
        }
        return;
    }
    if (none_or_opt) {
        re_str(p, "(?:");
        re_fixed(p, prefix, prefix_len);
        re_str(p, "(");
        RX();
        re_str(p, ")");
        re_fixed(p, suffix, suffix_len);
        re_str(p, ")");
        re_str(p, ms);
        return;
    }
    re_str(p, "(?:");
    re_fixed(p, prefix, prefix_len);
    re_str(p, "((?:");
    RX();
    re_str(p, ")(?:");
    re_fixed(p, suffix, suffix_len);
    re_fixed(p, prefix, prefix_len);
    re_str(p, "(?:");
    RX();
    re_str(p, "))*)");
    re_fixed(p, suffix, suffix_len);
    re_str(p, ")");
    if (ms[0] == '*')
        re_str(p, "?");
#undef RX
}

/* "consume text": chars and escaped chars, into |b|. */
static void consume_text(parser_t *p, sh_buf_t *b)
{
    const tok_t *t;

    for (;;) {
        t = try_consume(p, T_CHAR);
        if (t == NULL)
            t = try_consume(p, T_ESCAPED);
        if (t == NULL)
            return;
        if (sh_buf_append(b, t->v, t->len) != 0 && p->failed == 0)
            p->failed = SSEHUB_ENOMEM;
    }
}

/* The standard's "parse a pattern string", generating the regular expression. */
static void parse(parser_t *p)
{
    char pc = prefix_cp(p);

    while (p->failed == 0) {
        const tok_t *ch = try_consume(p, T_CHAR);
        const tok_t *name = try_consume(p, T_NAME);
        const tok_t *rx = try_regexp_or_wildcard(p, name);
        const tok_t *fixed, *mod;

        if (name != NULL || rx != NULL) {
            const char *prefix = "";
            size_t prefix_len = 0;

            if (ch != NULL) {
                prefix = ch->v;
                prefix_len = ch->len;
            }
            if (prefix_len != 0 && !(prefix_len == 1 && pc != '\0' && prefix[0] == pc)) {
                pending_append(p, prefix, prefix_len);
                prefix_len = 0;
            }
            flush_pending(p);
            mod = try_modifier(p);
            add_part(p, prefix, prefix_len, name, rx, "", 0, mod);
            continue;
        }
        fixed = ch != NULL ? ch : try_consume(p, T_ESCAPED);
        if (fixed != NULL) {
            pending_append(p, fixed->v, fixed->len);
            continue;
        }
        if (try_consume(p, T_OPEN) != NULL) {
            sh_buf_t pre, suf;

            sh_buf_init(&pre, SH_URLPAT_MAX);
            sh_buf_init(&suf, SH_URLPAT_MAX);
            consume_text(p, &pre);
            name = try_consume(p, T_NAME);
            rx = try_regexp_or_wildcard(p, name);
            consume_text(p, &suf);
            if (try_consume(p, T_CLOSE) == NULL) {
                fail_syntax(p, "URL pattern: '{' without its '}' (or a group nested in it)");
            } else {
                mod = try_modifier(p);
                add_part(p, pre.base != NULL ? pre.base : "", pre.len, name, rx,
                         suf.base != NULL ? suf.base : "", suf.len, mod);
            }
            sh_buf_dispose(&pre);
            sh_buf_dispose(&suf);
            continue;
        }
        flush_pending(p);
        if (try_consume(p, T_END) == NULL)
            fail_syntax(p, "URL pattern: a misplaced '}', '?', '+' or '*'");
        return;
    }
}

static int comp_compile(const char *pattern, size_t len, sh_urlpat_opts_t opts,
                        int (*encode)(sh_buf_t *, const char *, size_t), sh_urlpat_comp_t **out,
                        const char **reason)
{
    sh_urlpat_comp_t *c = NULL;
    tok_t *toks = NULL;
    parser_t p;
    size_t ntoks;
    int errcode, rc = -1;
    PCRE2_SIZE erroff;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    sh_buf_init(&p.pending, SH_URLPAT_MAX * 4);
    sh_buf_init(&p.re, SH_URLPAT_MAX * 32);
    if (len > SH_URLPAT_MAX) {
        *reason = "URL pattern: too long (limit 4096 bytes)";
        goto out;
    }
    if (sh_utf8_valid_prefix(pattern, len) != len) {
        *reason = "URL pattern: not valid UTF-8";
        goto out;
    }
    toks = sh_calloc(len + 1, sizeof(*toks));
    p.names = sh_calloc(len + 1, sizeof(*p.names));
    if (toks == NULL || p.names == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out;
    }
    ntoks = tokenize(pattern, len, toks, reason);
    if (ntoks == 0)
        goto out;
    p.toks = toks;
    p.opts = opts;
    p.encode = encode;
    re_str(&p, "^");
    parse(&p);
    re_str(&p, "$");
    re_append(&p, "", 1);
    if (p.failed != 0) {
        rc = p.failed;
        *reason = p.failed == -1 ? p.reason : "out of memory";
        goto out;
    }
    c = sh_calloc(1, sizeof(*c));
    if (c == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out;
    }
    c->ngroups = p.nnames;
    c->regex = sh_buf_take(&p.re, NULL);
    c->code =
        pcre2_compile((PCRE2_SPTR)c->regex, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_ALT_BSUX,
                      &errcode, &erroff, NULL);
    if (c->code == NULL) {
        *reason = "URL pattern: a regular expression the hub cannot compile";
        goto out_free;
    }
    c->mctx = pcre2_match_context_create(NULL);
    if (c->mctx == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out_free;
    }
    pcre2_set_match_limit(c->mctx, SH_URLPAT_MATCH_LIMIT);
    pcre2_set_depth_limit(c->mctx, SH_URLPAT_DEPTH_LIMIT);
    *out = c;
    rc = 0;
    goto out;
out_free:
    sh_urlpat_comp_free(c);
out:
    sh_free(toks);
    sh_free(p.names);
    sh_buf_dispose(&p.pending);
    sh_buf_dispose(&p.re);
    return rc;
}

int sh_urlpat_comp_compile(const char *pattern, size_t len, sh_urlpat_opts_t opts,
                           sh_urlpat_comp_t **out, const char **reason)
{
    return comp_compile(pattern, len, opts, NULL, out, reason);
}

int sh_urlpat_comp_match(const sh_urlpat_comp_t *c, const char *input, size_t len)
{
    pcre2_match_data *md;
    int rc;

    if (sh_utf8_valid_prefix(input, len) != len)
        return 0;
    md = pcre2_match_data_create_from_pattern(c->code, NULL);
    if (md == NULL)
        return 0;
    rc = pcre2_match(c->code, (PCRE2_SPTR)input, len, 0, PCRE2_NO_UTF_CHECK, md, c->mctx);
    pcre2_match_data_free(md);
    return rc >= 0; /* PCRE2_ERROR_MATCHLIMIT, DEPTHLIMIT: over the cost limit, no match */
}

const char *sh_urlpat_comp_regex(const sh_urlpat_comp_t *c)
{
    return c->regex;
}

size_t sh_urlpat_comp_ngroups(const sh_urlpat_comp_t *c)
{
    return c->ngroups;
}

void sh_urlpat_comp_free(sh_urlpat_comp_t *c)
{
    if (c == NULL)
        return;
    pcre2_match_context_free(c->mctx);
    pcre2_code_free(c->code);
    sh_free(c->regex);
    sh_free(c);
}

/* ---- Whole patterns: the constructor string parser and the components. */

struct sh_urlpat_s {
    sh_urlpat_comp_t *comp[SH_URL_NCOMP];
};

/* The encoding callbacks (the standard's "canonicalize a ..."), on fixed text. */
static int enc_protocol(sh_buf_t *out, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char c = s[i];
        int alpha = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
        if (!(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
            return -1;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (sh_buf_append(out, &c, 1) != 0)
            return SSEHUB_ENOMEM;
    }
    return 0;
}

static int enc_userinfo(sh_buf_t *out, const char *s, size_t len)
{
    return sh_url_pct_append(out, s, len, SH_PCT_USERINFO);
}

static int enc_hostname(sh_buf_t *out, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char c = s[i];
        if ((unsigned char)c >= 0x80)
            return -1; /* IDNA: not supported */
        if ((unsigned char)c <= 0x20 || c == 0x7f || strchr("#%/:<>?@[\\]^|", c) != NULL)
            return -1;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (sh_buf_append(out, &c, 1) != 0)
            return SSEHUB_ENOMEM;
    }
    return 0;
}

static int enc_port(sh_buf_t *out, const char *s, size_t len)
{
    size_t i;
    unsigned long v = 0;
    char num[16];

    /* The port state with a state override: digits, up to the first other character,
     * which ends it (the rest is ignored); fixed text not starting with a digit is refused
     * (as Chromium does: "Invalid port"). */
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > 65535)
            return -1;
    }
    if (i == 0)
        return len == 0 ? 0 : -1;
    snprintf(num, sizeof(num), "%lu", v);
    return sh_buf_append_str(out, num) != 0 ? SSEHUB_ENOMEM : 0;
}

/* A pathname piece: parsed as a path ("/-" in front of a relative piece, then taken off). */
static int enc_pathname(sh_buf_t *out, const char *s, size_t len)
{
    sh_buf_t tmp;
    int lead = len > 0 && s[0] == '/', rc;

    sh_buf_init(&tmp, SH_URLPAT_MAX * 4);
    if (!lead) {
        rc = sh_buf_append(&tmp, "/-", 2);
        if (rc == 0)
            rc = sh_buf_append(&tmp, s, len);
    } else {
        rc = sh_buf_append(&tmp, s, len);
    }
    if (rc == 0) {
        size_t start = out->len;
        rc = sh_url_path_append(out, tmp.base, tmp.len, 1);
        if (rc == 0 && !lead) { /* drop the "/-" (all of it when ".." took the "-") */
            size_t got = out->len - start;
            if (got <= 2) {
                out->len = start;
            } else {
                memmove(out->base + start, out->base + start + 2, got - 2);
                out->len -= 2;
            }
        }
    }
    sh_buf_dispose(&tmp);
    return rc != 0 ? SSEHUB_ENOMEM : 0;
}

static int enc_opaque(sh_buf_t *out, const char *s, size_t len)
{
    return sh_url_pct_append(out, s, len, SH_PCT_C0);
}

static int enc_search(sh_buf_t *out, const char *s, size_t len)
{
    return sh_url_pct_append(out, s, len, SH_PCT_QUERY);
}

static int enc_hash(sh_buf_t *out, const char *s, size_t len)
{
    return sh_url_pct_append(out, s, len, SH_PCT_FRAGMENT);
}

/* The constructor string parser's states; the component ones are SH_URL_* + 1. */
enum { S_INIT = 100, S_AUTHORITY, S_DONE };

typedef struct cparser_s {
    const char *in;
    size_t len;
    tok_t *toks;
    size_t ntoks;
    const char *res[SH_URL_NCOMP]; /* the component strings (into |in| or static "") */
    size_t res_len[SH_URL_NCOMP];
    int has[SH_URL_NCOMP];
    size_t comp_start, ti, inc;
    int depth, ipv6, special, state;
} cparser_t;

static const tok_t *safe_tok(const cparser_t *c, size_t i)
{
    return i < c->ntoks ? &c->toks[i] : &c->toks[c->ntoks - 1];
}

static int nonspecial_char(const cparser_t *c, size_t i, char v)
{
    const tok_t *t = safe_tok(c, i);

    return t->len == 1 && t->v[0] == v &&
           (t->type == T_CHAR || t->type == T_ESCAPED || t->type == T_INVALID);
}

static int is_search_prefix(const cparser_t *c)
{
    const tok_t *t, *prev;

    if (nonspecial_char(c, c->ti, '?'))
        return 1;
    t = safe_tok(c, c->ti);
    if (t->len != 1 || t->v[0] != '?')
        return 0;
    if (c->ti == 0)
        return 1;
    prev = safe_tok(c, c->ti - 1);
    return !(prev->type == T_NAME || prev->type == T_REGEXP || prev->type == T_CLOSE ||
             prev->type == T_ASTERISK);
}

static void set_res(cparser_t *c, int comp, const char *s, size_t len)
{
    c->res[comp] = s;
    c->res_len[comp] = len;
    c->has[comp] = 1;
}

/* "make a component string": from the component start's token to the current one. */
static void make_component(cparser_t *c, int comp)
{
    const char *a = safe_tok(c, c->comp_start)->start, *b = safe_tok(c, c->ti)->start;

    set_res(c, comp, a, b > a ? (size_t)(b - a) : 0);
}

static void change_state(cparser_t *c, int st, size_t skip)
{
    int s = c->state;

    if (s != S_INIT && s != S_AUTHORITY && s != S_DONE)
        make_component(c, s - 1);
    if (s != S_INIT && st != S_DONE) {
        int early = s == SH_URL_PROTOCOL + 1 || s == S_AUTHORITY || s == SH_URL_USERNAME + 1 ||
                    s == SH_URL_PASSWORD + 1;
        if (early &&
            (st == SH_URL_PORT + 1 || st == SH_URL_PATHNAME + 1 || st == SH_URL_SEARCH + 1 ||
             st == SH_URL_HASH + 1) &&
            !c->has[SH_URL_HOSTNAME])
            set_res(c, SH_URL_HOSTNAME, "", 0);
        if ((early || s == SH_URL_HOSTNAME + 1 || s == SH_URL_PORT + 1) &&
            (st == SH_URL_SEARCH + 1 || st == SH_URL_HASH + 1) && !c->has[SH_URL_PATHNAME])
            set_res(c, SH_URL_PATHNAME, c->special ? "/" : "", c->special ? 1 : 0);
        if ((early || s == SH_URL_HOSTNAME + 1 || s == SH_URL_PORT + 1 ||
             s == SH_URL_PATHNAME + 1) &&
            st == SH_URL_HASH + 1 && !c->has[SH_URL_SEARCH])
            set_res(c, SH_URL_SEARCH, "", 0);
    }
    c->state = st;
    c->ti += skip;
    c->comp_start = c->ti;
    c->inc = 0;
}

static void rewind_to(cparser_t *c, int st)
{
    c->ti = c->comp_start;
    c->inc = 0;
    c->state = st;
}

/* Whether the protocol component string matches a special scheme. */
static int protocol_special(cparser_t *c, const char **reason)
{
    static const char *const schemes[] = {"ftp", "file", "http", "https", "ws", "wss"};
    sh_urlpat_comp_t *pc = NULL;
    size_t i;
    int rc, any = 0;

    make_component(c, SH_URL_PROTOCOL);
    c->has[SH_URL_PROTOCOL] = 0; /* computed, not yet the result */
    rc = comp_compile(c->res[SH_URL_PROTOCOL], c->res_len[SH_URL_PROTOCOL], SH_URLPAT_DEFAULT,
                      enc_protocol, &pc, reason);
    if (rc != 0)
        return rc;
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        any |= sh_urlpat_comp_match(pc, schemes[i], strlen(schemes[i]));
    sh_urlpat_comp_free(pc);
    return any;
}

/* The standard's "parse a constructor string". Returns 0, or an error code of
 * protocol_special(). */
static int parse_constructor(cparser_t *c, const char **reason)
{
    while (c->ti < c->ntoks) {
        const tok_t *t = &c->toks[c->ti];

        c->inc = 1;
        if (t->type == T_END) {
            if (c->state == S_INIT) {
                c->ti = c->comp_start;
                c->inc = 0;
                if (nonspecial_char(c, c->ti, '#'))
                    change_state(c, SH_URL_HASH + 1, 1);
                else if (is_search_prefix(c))
                    change_state(c, SH_URL_SEARCH + 1, 1);
                else
                    change_state(c, SH_URL_PATHNAME + 1, 0);
                c->ti += c->inc;
                continue;
            }
            if (c->state == S_AUTHORITY) {
                rewind_to(c, SH_URL_HOSTNAME + 1);
                c->ti += c->inc;
                continue;
            }
            change_state(c, S_DONE, 0);
            break;
        }
        if (c->depth > 0) {
            if (t->type == T_CLOSE)
                c->depth--;
            else {
                c->ti += c->inc;
                continue;
            }
        }
        if (t->type == T_OPEN) {
            c->depth++;
            c->ti += c->inc;
            continue;
        }
        switch (c->state) {
        case S_INIT:
            if (nonspecial_char(c, c->ti, ':'))
                rewind_to(c, SH_URL_PROTOCOL + 1);
            break;
        case SH_URL_PROTOCOL + 1:
            if (nonspecial_char(c, c->ti, ':')) {
                int next = SH_URL_PATHNAME + 1, sp;
                size_t skip = 1;

                sp = protocol_special(c, reason);
                if (sp < 0)
                    return sp;
                c->special = sp;
                if (nonspecial_char(c, c->ti + 1, '/') && nonspecial_char(c, c->ti + 2, '/')) {
                    next = S_AUTHORITY;
                    skip = 3;
                } else if (c->special) {
                    next = S_AUTHORITY;
                }
                change_state(c, next, skip);
            }
            break;
        case S_AUTHORITY:
            if (nonspecial_char(c, c->ti, '@'))
                rewind_to(c, SH_URL_USERNAME + 1);
            else if (nonspecial_char(c, c->ti, '/') || is_search_prefix(c) ||
                     nonspecial_char(c, c->ti, '#'))
                rewind_to(c, SH_URL_HOSTNAME + 1);
            break;
        case SH_URL_USERNAME + 1:
            if (nonspecial_char(c, c->ti, ':'))
                change_state(c, SH_URL_PASSWORD + 1, 1);
            else if (nonspecial_char(c, c->ti, '@'))
                change_state(c, SH_URL_HOSTNAME + 1, 1);
            break;
        case SH_URL_PASSWORD + 1:
            if (nonspecial_char(c, c->ti, '@'))
                change_state(c, SH_URL_HOSTNAME + 1, 1);
            break;
        case SH_URL_HOSTNAME + 1:
            if (nonspecial_char(c, c->ti, '['))
                c->ipv6++;
            else if (nonspecial_char(c, c->ti, ']'))
                c->ipv6--;
            else if (nonspecial_char(c, c->ti, ':') && c->ipv6 == 0)
                change_state(c, SH_URL_PORT + 1, 1);
            else if (nonspecial_char(c, c->ti, '/'))
                change_state(c, SH_URL_PATHNAME + 1, 0);
            else if (is_search_prefix(c))
                change_state(c, SH_URL_SEARCH + 1, 1);
            else if (nonspecial_char(c, c->ti, '#'))
                change_state(c, SH_URL_HASH + 1, 1);
            break;
        case SH_URL_PORT + 1:
            if (nonspecial_char(c, c->ti, '/'))
                change_state(c, SH_URL_PATHNAME + 1, 0);
            else if (is_search_prefix(c))
                change_state(c, SH_URL_SEARCH + 1, 1);
            else if (nonspecial_char(c, c->ti, '#'))
                change_state(c, SH_URL_HASH + 1, 1);
            break;
        case SH_URL_PATHNAME + 1:
            if (is_search_prefix(c))
                change_state(c, SH_URL_SEARCH + 1, 1);
            else if (nonspecial_char(c, c->ti, '#'))
                change_state(c, SH_URL_HASH + 1, 1);
            break;
        case SH_URL_SEARCH + 1:
            if (nonspecial_char(c, c->ti, '#'))
                change_state(c, SH_URL_HASH + 1, 1);
            break;
        default:
            break;
        }
        c->ti += c->inc;
    }
    if (c->has[SH_URL_HOSTNAME] && !c->has[SH_URL_PORT])
        set_res(c, SH_URL_PORT, "", 0);
    return 0;
}

/* "escape a pattern string": a base URL's component used as a pattern. */
static int escape_pattern(sh_buf_t *b, const char *s, size_t len)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < len; i++) {
        if (strchr("+*?:{}()\\", s[i]) != NULL && s[i] != '\0')
            rc = sh_buf_append(b, "\\", 1);
        if (rc == 0)
            rc = sh_buf_append(b, &s[i], 1);
    }
    return rc;
}

int sh_urlpat_compile(const char *pattern, size_t len, const sh_url_t *base, sh_urlpat_t **out,
                      const char **reason)
{
    static int (*const encs[SH_URL_NCOMP])(sh_buf_t *, const char *, size_t) = {
        enc_protocol, enc_userinfo, enc_userinfo, enc_hostname,
        enc_port,     enc_pathname, enc_search,   enc_hash};
    cparser_t c;
    sh_buf_t comp[SH_URL_NCOMP];
    sh_urlpat_t *p = NULL;
    int k, rc = -1, special = 0;
    const char *proto_def;

    *out = NULL;
    memset(&c, 0, sizeof(c));
    for (k = 0; k < SH_URL_NCOMP; k++)
        sh_buf_init(&comp[k], SH_URLPAT_MAX * 4);
    if (len > SH_URLPAT_MAX || sh_utf8_valid_prefix(pattern, len) != len) {
        *reason = len > SH_URLPAT_MAX ? "URL pattern: too long (limit 4096 bytes)"
                                      : "URL pattern: not valid UTF-8";
        goto out;
    }
    c.in = pattern;
    c.len = len;
    c.toks = sh_calloc(len + 1, sizeof(*c.toks));
    if (c.toks == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out;
    }
    c.ntoks = tokenize_p(pattern, len, c.toks, reason, 1);
    c.state = S_INIT;
    rc = parse_constructor(&c, reason);
    if (rc != 0)
        goto out;
    rc = -1;
    if (!c.has[SH_URL_PROTOCOL] && base == NULL) {
        *reason = "URL pattern: a relative pattern without a base URL";
        goto out;
    }
    /* "process a URLPatternInit" (type pattern) with the base URL. */
    for (k = 0; k < SH_URL_NCOMP; k++) {
        int take_base = 0;

        if (base != NULL && !c.has[k]) {
            /* Which components a pattern takes from its base URL: never the credentials,
             * the others unless a component before them was given. */
            int before = c.has[SH_URL_PROTOCOL];

            switch (k) {
            case SH_URL_PROTOCOL:
                take_base = 1;
                break;
            case SH_URL_USERNAME:
            case SH_URL_PASSWORD:
                take_base = 0;
                break;
            default:
                if (k > SH_URL_HOSTNAME)
                    before |= c.has[SH_URL_HOSTNAME];
                if (k > SH_URL_PORT)
                    before |= c.has[SH_URL_PORT];
                if (k > SH_URL_PATHNAME)
                    before |= c.has[SH_URL_PATHNAME];
                if (k > SH_URL_SEARCH)
                    before |= c.has[SH_URL_SEARCH];
                take_base = !before;
            }
        }
        if (take_base) {
            rc = escape_pattern(&comp[k], base->comp[k].ptr, base->comp[k].len);
        } else if (c.has[k]) {
            rc = sh_buf_append(&comp[k], c.res[k], c.res_len[k]);
            /* A relative pathname joins the base's directory. */
            if (rc == 0 && k == SH_URL_PATHNAME && base != NULL && !base->opaque_path &&
                !(c.res_len[k] > 0 &&
                  (c.res[k][0] == '/' ||
                   (c.res_len[k] > 1 && c.res[k][0] == '\\' && c.res[k][1] == '/'))) &&
                !(c.res_len[k] > 1 && c.res[k][0] == '{' && c.res[k][1] == '/')) {
                sh_buf_t joined;
                const char *bp = base->comp[SH_URL_PATHNAME].ptr;
                size_t bl = base->comp[SH_URL_PATHNAME].len;

                while (bl > 0 && bp[bl - 1] != '/')
                    bl--;
                sh_buf_init(&joined, SH_URLPAT_MAX * 4);
                rc = bl > 0 ? escape_pattern(&joined, bp, bl) : 0;
                if (rc == 0)
                    rc = sh_buf_append(&joined, c.res[k], c.res_len[k]);
                sh_buf_dispose(&comp[k]);
                comp[k] = joined;
            }
        } else {
            rc = sh_buf_append(&comp[k], "*", 1);
        }
        if (rc != 0) {
            rc = SSEHUB_ENOMEM;
            goto out;
        }
        rc = sh_buf_append(&comp[k], "", 1); /* NUL, not counted below */
        if (rc != 0) {
            rc = SSEHUB_ENOMEM;
            goto out;
        }
        comp[k].len--;
    }
    /* The default port of a special protocol is no port. */
    proto_def = sh_url_default_port(comp[SH_URL_PROTOCOL].base, comp[SH_URL_PROTOCOL].len);
    if (proto_def != NULL && comp[SH_URL_PORT].len > 0 &&
        strspn(comp[SH_URL_PORT].base, "0123456789") == comp[SH_URL_PORT].len) {
        /* A port of digits only is compared canonical, as Chromium does ("080" is 80). */
        sh_buf_t canon;
        sh_buf_init(&canon, 16);
        if (enc_port(&canon, comp[SH_URL_PORT].base, comp[SH_URL_PORT].len) == 0 &&
            canon.len == strlen(proto_def) && memcmp(canon.base, proto_def, canon.len) == 0)
            comp[SH_URL_PORT].len = 0;
        sh_buf_dispose(&canon);
    }
    p = sh_calloc(1, sizeof(*p));
    if (p == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out;
    }
    for (k = 0; k < SH_URL_NCOMP; k++) {
        sh_urlpat_opts_t o = k == SH_URL_HOSTNAME ? SH_URLPAT_HOSTNAME : SH_URLPAT_DEFAULT;
        int (*enc)(sh_buf_t *, const char *, size_t) = encs[k];

        if (k == SH_URL_HOSTNAME && comp[k].len > 0 && comp[k].base[0] == '[') {
            *reason = "URL pattern: IPv6 hostnames are not supported";
            rc = -1;
            goto out_free;
        }
        if (k == SH_URL_PATHNAME) {
            if (special) {
                o = SH_URLPAT_PATHNAME;
            } else {
                enc = enc_opaque;
            }
        }
        rc = comp_compile(comp[k].base != NULL ? comp[k].base : "", comp[k].len, o, enc,
                          &p->comp[k], reason);
        if (rc != 0)
            goto out_free;
        if (k == SH_URL_PROTOCOL) { /* the protocol component matches a special scheme */
            static const char *const schemes[] = {"ftp", "file", "http", "https", "ws", "wss"};
            size_t i;
            for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
                special |= sh_urlpat_comp_match(p->comp[k], schemes[i], strlen(schemes[i]));
        }
    }
    *out = p;
    rc = 0;
    goto out;
out_free:
    sh_urlpat_free(p);
out:
    sh_free(c.toks);
    for (k = 0; k < SH_URL_NCOMP; k++)
        sh_buf_dispose(&comp[k]);
    return rc;
}

int sh_urlpat_match(const sh_urlpat_t *p, const sh_url_t *url)
{
    int k;

    for (k = 0; k < SH_URL_NCOMP; k++) {
        if (!sh_urlpat_comp_match(p->comp[k], url->comp[k].ptr, url->comp[k].len))
            return 0;
    }
    return 1;
}

void sh_urlpat_free(sh_urlpat_t *p)
{
    int k;

    if (p == NULL)
        return;
    for (k = 0; k < SH_URL_NCOMP; k++)
        sh_urlpat_comp_free(p->comp[k]);
    sh_free(p);
}
