/* SPDX-License-Identifier: MIT */
/*
 * sh_urlpat_comp: a URL Pattern component: the standard's tokenizer (strict policy),
 * pattern parser and regular-expression generator, written from urlpattern.spec.whatwg.org
 * (sections "Tokenizing", "Parsing pattern strings", "generate a regular expression and
 * name list"), then PCRE2. The parser emits each part's regular expression as soon as the
 * part is complete (a part never depends on a later one), so no part list is kept.
 */
#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
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
    T_END
} ttype_t;

typedef struct tok_s {
    ttype_t type;
    const char *v;
    size_t len;
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

/* The standard's tokenizer with the strict policy: an error refuses the pattern. Fills
 * |toks| (room for len + 1). Returns the count, or 0 with |*reason|. */
static size_t tokenize(const char *in, size_t len, tok_t *toks, const char **reason)
{
    size_t i = 0, n = 0;

    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        size_t cl = cp_len(c);

        if (c == '*' || c == '+' || c == '?' || c == '{' || c == '}') {
            toks[n].type = c == '*'   ? T_ASTERISK
                           : c == '{' ? T_OPEN
                           : c == '}' ? T_CLOSE
                                      : T_OTHER_MOD;
            toks[n].v = in + i;
            toks[n++].len = 1;
            i++;
        } else if (c == '\\') {
            if (i + 1 >= len) {
                *reason = "URL pattern: a backslash at the end";
                return 0;
            }
            toks[n].type = T_ESCAPED;
            toks[n].v = in + i + 1;
            toks[n++].len = cp_len((unsigned char)in[i + 1]);
            i += 1 + cp_len((unsigned char)in[i + 1]);
        } else if (c == ':') {
            size_t s = i + 1, p = s;

            while (p < len && name_cp((unsigned char)in[p], p == s))
                p++;
            if (p == s) {
                *reason = "URL pattern: ':' without a valid name (ASCII letters, digits, _ and $)";
                return 0;
            }
            toks[n].type = T_NAME;
            toks[n].v = in + s;
            toks[n++].len = p - s;
            i = p;
        } else if (c == '(') {
            size_t depth = 1, s = i + 1, p = s;

            while (p < len) {
                unsigned char r = (unsigned char)in[p];

                if (r >= 0x80) {
                    *reason = "URL pattern: a non-ASCII character in a regular expression";
                    return 0;
                }
                if (p == s && r == '?') {
                    *reason = "URL pattern: a regular expression may not start with '?'";
                    return 0;
                }
                if (r == '\\') {
                    if (p + 1 >= len || (unsigned char)in[p + 1] >= 0x80) {
                        *reason = "URL pattern: a bad escape in a regular expression";
                        return 0;
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
                        *reason = "URL pattern: capturing groups are not allowed in a regular "
                                  "expression (use (?:...))";
                        return 0;
                    }
                }
                p++;
            }
            if (depth != 0) {
                *reason = "URL pattern: an unbalanced '(' ";
                return 0;
            }
            if (p - s - 1 == 0) {
                *reason = "URL pattern: an empty regular expression";
                return 0;
            }
            if ((*reason = js_regexp_check(in + s, p - s - 1)) != NULL)
                return 0;
            toks[n].type = T_REGEXP;
            toks[n].v = in + s;
            toks[n++].len = p - s - 1;
            i = p;
        } else {
            toks[n].type = T_CHAR;
            toks[n].v = in + i;
            toks[n++].len = cl;
            i += cl;
        }
    }
    toks[n].type = T_END;
    toks[n].v = in + len;
    toks[n++].len = 0;
    return n;
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

/* "maybe add a part from the pending fixed value": fixed text, no modifier. */
static void flush_pending(parser_t *p)
{
    if (p->pending.len == 0)
        return;
    re_escaped(p, p->pending.base, p->pending.len);
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
        re_escaped(p, prefix, prefix_len);
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
        re_escaped(p, prefix, prefix_len);
        re_str(p, "(");
        RX();
        re_str(p, ")");
        re_escaped(p, suffix, suffix_len);
        re_str(p, ")");
        re_str(p, ms);
        return;
    }
    re_str(p, "(?:");
    re_escaped(p, prefix, prefix_len);
    re_str(p, "((?:");
    RX();
    re_str(p, ")(?:");
    re_escaped(p, suffix, suffix_len);
    re_escaped(p, prefix, prefix_len);
    re_str(p, "(?:");
    RX();
    re_str(p, "))*)");
    re_escaped(p, suffix, suffix_len);
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

int sh_urlpat_comp_compile(const char *pattern, size_t len, sh_urlpat_opts_t opts,
                           sh_urlpat_comp_t **out, const char **reason)
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
