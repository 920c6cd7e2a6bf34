/* SPDX-License-Identifier: MIT */
/*
 * The RFC 9112 / RFC 9110 request checks llhttp 8.1.0 in strict mode leaves to us: line
 * framing, request-target forms, Host values, transfer codings (reqsyntax.h).
 */
#include "server/reqsyntax.h"

#include <string.h>
#include <strings.h>

/* tchar of RFC 9110 §5.6.2: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int is_hex(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* unreserved / sub-delims of RFC 3986 §2. */
static int is_unreserved_or_sub_delim(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch != 0 && strchr("-._~!$&'()*+,;=", ch) != NULL;
}

void sh_frame_set(sh_frame_t *f, int state)
{
    f->state = (unsigned char)state;
    f->bol = 1;
    f->cr = 0;
}

/* A line ended (CRLF): 0, or -1 with |*reason|. */
static int end_line(sh_frame_t *f, const char **reason)
{
    switch (f->state) {
    case SH_FRAME_METHOD:
    case SH_FRAME_RLINE:
        /* RFC 9112 §3: method SP request-target SP HTTP-version. llhttp skips runs of
         * spaces and takes "GET /" as HTTP/0.9. */
        if (f->nsp == 2 && f->vlen != 8)
            f->version_bad = 1;
        if (f->nsp != 2) {
            *reason = "request line: method, target and version must be separated by single "
                      "spaces";
            return -1;
        }
        sh_frame_set(f, SH_FRAME_HEAD);
        return 0;
    case SH_FRAME_HEAD:
        f->state = f->bol ? SH_FRAME_HEAD_END : SH_FRAME_HEAD;
        f->bol = 1;
        return 0;
    case SH_FRAME_TRAILERS:
        f->state = f->bol ? SH_FRAME_TRAILERS_END : SH_FRAME_TRAILERS;
        f->bol = 1;
        return 0;
    case SH_FRAME_CHUNK_LINE:
        f->state = SH_FRAME_CHUNK_LINE_END;
        f->bol = 1;
        return 0;
    case SH_FRAME_CHUNK_DATA:
        sh_frame_set(f, SH_FRAME_CHUNK_LINE);
        return 0;
    default: /* SH_FRAME_IDLE: an empty line before a request (RFC 9112 §2.2 allows it) */
        f->bol = 1;
        return 0;
    }
}

const char *sh_frame_scan(sh_frame_t *f, const char *p, const char *end, int stop,
                          const char **reason)
{
    for (; p < end && f->state != stop; p++) {
        unsigned char ch = (unsigned char)*p;

        switch (f->state) {
        case SH_FRAME_HEAD_END:
        case SH_FRAME_BODY:
        case SH_FRAME_CHUNK_LINE_END:
        case SH_FRAME_TRAILERS_END:
            /* llhttp went past a point where it tells us what comes next, without telling:
             * the two parsers disagree, and the request is refused rather than guessed. */
            *reason = "malformed message framing";
            return NULL;
        default:
            break;
        }
        if (f->cr) {
            if (ch != '\n') { /* RFC 9112 §2.2: a bare CR is invalid */
                *reason = "bare CR in the request";
                return NULL;
            }
            f->cr = 0;
            if (end_line(f, reason) != 0)
                return NULL;
            continue;
        }
        if (ch == '\r') {
            f->cr = 1;
            continue;
        }
        if (ch == '\n') {
            /* RFC 9112 §2.2 lets a recipient take a bare LF as a line end; llhttp takes it
             * in some places only (after the request line, the empty lines ending the
             * header and trailer sections), so we refuse it everywhere, as llhttp 9 does
             * (CVE-2023-30589). */
            *reason = "line ended by a bare LF (CRLF required)";
            return NULL;
        }
        switch (f->state) {
        case SH_FRAME_IDLE:
            if (ch == ' ' || ch == '\t') {
                *reason = "whitespace before the request line";
                return NULL;
            }
            f->state = SH_FRAME_METHOD;
            f->nsp = 0;
            f->method_bad = 0;
            f->vlen = 0;
            f->version_bad = 0;
            /* fall through */
        case SH_FRAME_METHOD:
            if (ch == ' ') {
                f->state = SH_FRAME_RLINE;
                f->nsp = 1;
            } else if (!is_tchar(ch)) {
                f->method_bad = 1; /* llhttp refuses it: this tells 400 from 501 */
            }
            break;
        case SH_FRAME_RLINE:
            if (ch == ' ') {
                if (f->nsp < 255)
                    f->nsp++;
            } else if (f->nsp == 2) { /* the version: "HTTP/" DIGIT "." DIGIT */
                static const char pattern[] = "HTTP/9.9";

                if (f->vlen >= 8 ||
                    (pattern[f->vlen] == '9' ? !(ch >= '0' && ch <= '9') : ch != pattern[f->vlen]))
                    f->version_bad = 1;
                if (f->vlen < 255)
                    f->vlen++;
            }
            break;
        case SH_FRAME_HEAD:
        case SH_FRAME_TRAILERS:
            if (f->bol && (ch == ' ' || ch == '\t')) {
                /* RFC 9112 §5.2: obs-fold is rejected (or replaced), §2.2: whitespace
                 * before the first field line too. llhttp joins folded lines. */
                *reason = "obsolete line folding (a field line starts with whitespace)";
                return NULL;
            }
            if (f->bol && ch == ':') { /* field-name = token: never empty (llhttp allows) */
                *reason = "empty header field name";
                return NULL;
            }
            f->bol = 0;
            break;
        case SH_FRAME_CHUNK_DATA:
            *reason = "chunk data not followed by CRLF";
            return NULL;
        default: /* SH_FRAME_CHUNK_LINE: llhttp checks the size and extensions */
            f->bol = 0;
            break;
        }
    }
    return p;
}

/* Optional whitespace (SP, HTAB) off both ends. */
static void trim_ows(const char **v, size_t *n)
{
    while (*n > 0 && (**v == ' ' || **v == '\t')) {
        (*v)++;
        (*n)--;
    }
    while (*n > 0 && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
        (*n)--;
}

/* host [ ":" port ] of RFC 3986 §3.2.2-3.2.3 (IP-literal, IPv4address or reg-name). */
static int authority_valid(const char *v, size_t n, int need_host)
{
    size_t i = 0;

    if (n > 0 && v[0] == '[') {
        /* IP-literal: IPv6address or IPvFuture; their own grammar is not checked, only that
         * the brackets hold what those may hold. */
        for (i = 1; i < n && v[i] != ']'; i++)
            if (!is_unreserved_or_sub_delim((unsigned char)v[i]) && v[i] != ':')
                return 0;
        if (i == n || i == 1)
            return 0;
        i++;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            if (v[i] == '%') {
                if (i + 2 >= n || !is_hex((unsigned char)v[i + 1]) ||
                    !is_hex((unsigned char)v[i + 2]))
                    return 0;
                i += 2;
            } else if (!is_unreserved_or_sub_delim((unsigned char)v[i])) {
                return 0;
            }
        }
        if (need_host && i == 0)
            return 0;
    }
    if (i == n)
        return 1;
    if (v[i] != ':')
        return 0;
    for (i++; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

int sh_host_valid(const char *v, size_t n)
{
    trim_ows(&v, &n);
    return n == 0 || authority_valid(v, n, 1);
}

const char *sh_target_check(const char *url, size_t n, int is_options)
{
    size_t i, scheme_len;
    const char *auth;
    size_t auth_len;

    if (n == 0)
        return "empty request target";
    if (memchr(url, '#', n) != NULL)
        return "a request target has no fragment (#)";
    if (url[0] == '/')
        return NULL; /* origin-form */
    if (url[0] == '*') {
        if (n != 1)
            return "invalid request target";
        return is_options ? NULL : "asterisk-form (*) is for OPTIONS only";
    }
    /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
    for (i = 0; i < n && url[i] != ':'; i++)
        ;
    scheme_len = i;
    if (i + 3 > n || memcmp(url + i, "://", 3) != 0)
        return "invalid request target (not origin-form, absolute-form or *)";
    if (!((scheme_len == 4 && strncasecmp(url, "http", 4) == 0) ||
          (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)))
        return "absolute-form target must be an http or https URI";
    auth = url + i + 3;
    for (auth_len = 0; auth + auth_len < url + n; auth_len++)
        if (auth[auth_len] == '/' || auth[auth_len] == '?')
            break;
    if (memchr(auth, '@', auth_len) != NULL) /* RFC 9110 §4.2.4 */
        return "userinfo (user@) in the request target";
    if (!authority_valid(auth, auth_len, 1)) /* RFC 9110 §4.2.1: no empty host */
        return "invalid host in the request target";
    return NULL;
}

void sh_te_add(sh_te_t *te, const char *v, size_t n)
{
    while (n > 0) {
        const char *comma = memchr(v, ',', n);
        size_t len = comma != NULL ? (size_t)(comma - v) : n;
        const char *elem = v;
        size_t elen = len;

        trim_ows(&elem, &elen);
        if (elen > 0) { /* RFC 9110 §5.6.1: empty list elements are ignored */
            int chunked = elen == 7 && strncasecmp(elem, "chunked", 7) == 0;

            if (te->codings < 255)
                te->codings++;
            if (chunked && te->chunked < 255)
                te->chunked++;
            if (!chunked)
                te->other = 1;
            te->last_chunked = (unsigned char)chunked;
        }
        if (comma == NULL)
            break;
        n -= len + 1;
        v = comma + 1;
    }
}
