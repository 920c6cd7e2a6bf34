/* SPDX-License-Identifier: MIT */
/* Parsing http(s) URLs and resolving redirects (see url.h). */
#include "client/url.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "ssehub/errno.h"

static bool is_alpha(unsigned char ch)
{
    return (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z';
}

static bool is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Characters of a registered name or IPv4 address we accept (RFC 3986 unreserved). */
static bool is_host_char(unsigned char ch)
{
    return is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static bool prefix_nocase(const char *s, size_t len, const char *want)
{
    size_t n = strlen(want), i;

    if (len < n)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)want[i];
        if (a != b && (!is_alpha(a) || (a | 0x20) != b))
            return false;
    }
    return true;
}

/* Appends |len| bytes of path and query, percent-encoding what a request line cannot hold. */
static int append_target(sh_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int rc = 0;

    for (i = 0; i < len && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0)
            return SSEHUB_EINVAL;
        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '<' || ch == '>' || ch == '\\' ||
            ch == '^' || ch == '`' || ch == '{' || ch == '|' || ch == '}') {
            char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = sh_buf_append(b, esc, 3);
        } else {
            rc = sh_buf_append(b, s + i, 1);
        }
    }
    return rc;
}

int sh_url_parse(const char *s, size_t len, sh_url_t *u)
{
    const char *p, *end, *auth, *auth_end, *host, *host_end, *frag;
    sh_buf_t target, text;
    uint64_t port;
    int rc = SSEHUB_EINVAL;

    memset(u, 0, sizeof(*u));
    sh_buf_init(&target, SH_URL_MAX);
    sh_buf_init(&text, SH_URL_MAX + 1); /* the href, NUL included, fits the cap too */
    if (s == NULL || len > SH_URL_MAX || memchr(s, '\0', len) != NULL)
        goto out_fail;
    end = s + len;
    if (prefix_nocase(s, len, "https://")) {
        u->tls = true;
        p = s + 8;
    } else if (prefix_nocase(s, len, "http://")) {
        p = s + 7;
    } else {
        goto out_fail;
    }
    auth = p;
    while (p < end && *p != '/' && *p != '?' && *p != '#')
        p++;
    auth_end = p;
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
        goto out_fail; /* user info: credentials in URLs are not supported */
    host = auth;
    if (host < auth_end && *host == '[') {
        const char *q = host + 1;
        while (q < auth_end && *q != ']') {
            unsigned char ch = (unsigned char)*q;
            if (!(is_digit(ch) || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') || ch == ':' ||
                  ch == '.'))
                goto out_fail;
            q++;
        }
        if (q == auth_end || q == host + 1)
            goto out_fail;
        u->host_is_v6 = true;
        u->host = sh_strndup(host + 1, (size_t)(q - host - 1));
        host_end = q + 1;
    } else {
        host_end = host;
        while (host_end < auth_end && *host_end != ':') {
            if (!is_host_char((unsigned char)*host_end))
                goto out_fail;
            host_end++;
        }
        if (host_end == host)
            goto out_fail;
        u->host = sh_strndup(host, (size_t)(host_end - host));
    }
    if (u->host == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out_fail;
    }
    port = u->tls ? 443 : 80;
    if (host_end < auth_end) {
        if (*host_end != ':')
            goto out_fail;
        if (host_end + 1 < auth_end) { /* "host:" alone keeps the default port */
            if (sh_parse_u64(host_end + 1, (size_t)(auth_end - host_end - 1), &port) != 0 ||
                port == 0 || port > 65535)
                goto out_fail;
        }
    }
    u->port = (uint16_t)port;

    frag = memchr(auth_end, '#', (size_t)(end - auth_end));
    if (frag == NULL)
        frag = end;
    if (auth_end == frag || *auth_end != '/')
        rc = sh_buf_append(&target, "/", 1);
    else
        rc = 0;
    if (rc == 0)
        rc = append_target(&target, auth_end, (size_t)(frag - auth_end));
    if (rc == 0)
        rc = sh_buf_append(&target, "", 1);
    if (rc != 0)
        goto out_fail_rc;

    /* The Host header: brackets for IPv6, the port only when it is not the default. */
    if (u->host_is_v6)
        rc = sh_buf_append_str(&text, "[");
    if (rc == 0)
        rc = sh_buf_append_str(&text, u->host);
    if (rc == 0 && u->host_is_v6)
        rc = sh_buf_append_str(&text, "]");
    if (rc == 0 && port != (u->tls ? 443u : 80u)) {
        char digits[24];
        digits[0] = ':';
        rc = sh_buf_append(&text, digits, 1 + sh_fmt_u64(digits + 1, port));
    }
    if (rc == 0)
        rc = sh_buf_append(&text, "", 1);
    if (rc != 0)
        goto out_fail_rc;
    u->authority = sh_buf_take(&text, NULL);
    rc = sh_buf_append_str(&text, u->tls ? "https://" : "http://");
    if (rc == 0)
        rc = sh_buf_append_str(&text, u->authority);
    if (rc == 0)
        rc = sh_buf_append(&text, target.base, target.len); /* with its NUL */
    if (rc != 0)
        goto out_fail_rc;
    u->href = sh_buf_take(&text, NULL);
    u->target = sh_buf_take(&target, NULL);
    if (u->href == NULL || u->target == NULL || u->authority == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out_fail;
    }
    return 0;

out_fail_rc:
    if (rc == SSEHUB_E2BIG)
        rc = SSEHUB_EINVAL;
out_fail:
    sh_buf_dispose(&target);
    sh_buf_dispose(&text);
    sh_url_dispose(u);
    return rc;
}

int sh_url_resolve(const sh_url_t *base, const char *ref, size_t len, sh_url_t *u)
{
    sh_buf_t b;
    size_t i, dir_len;
    int rc;

    memset(u, 0, sizeof(*u));
    if (ref == NULL || len > SH_URL_MAX)
        return SSEHUB_EINVAL;
    /* A scheme ("http:", "HTTPS:", or any other, which parse refuses). */
    for (i = 0; i < len && (is_alpha((unsigned char)ref[i]) ||
                            (i > 0 && (is_digit((unsigned char)ref[i]) || ref[i] == '+' ||
                                       ref[i] == '-' || ref[i] == '.')));
         i++)
        ;
    if (i > 0 && i < len && ref[i] == ':')
        return sh_url_parse(ref, len, u);

    sh_buf_init(&b, SH_URL_MAX);
    if (len >= 2 && ref[0] == '/' && ref[1] == '/') {
        rc = sh_buf_append_str(&b, base->tls ? "https:" : "http:");
    } else {
        rc = sh_buf_append_str(&b, base->tls ? "https://" : "http://");
        if (rc == 0)
            rc = sh_buf_append_str(&b, base->authority);
        if (rc == 0 && (len == 0 || ref[0] != '/')) {
            /* "?q" keeps the base path; "p" replaces its last segment. */
            const char *t = base->target;
            size_t path_len = strcspn(t, "?");
            if (len > 0 && ref[0] == '?') {
                dir_len = path_len;
            } else {
                dir_len = path_len;
                while (dir_len > 0 && t[dir_len - 1] != '/')
                    dir_len--;
            }
            rc = sh_buf_append(&b, t, dir_len);
        }
    }
    if (rc == 0)
        rc = sh_buf_append(&b, ref, len);
    if (rc != 0) {
        sh_buf_dispose(&b);
        return rc == SSEHUB_E2BIG ? SSEHUB_EINVAL : rc;
    }
    rc = sh_url_parse(b.base, b.len, u);
    sh_buf_dispose(&b);
    return rc;
}

bool sh_url_same_origin(const sh_url_t *a, const sh_url_t *b)
{
    return a->tls == b->tls && a->port == b->port && a->host != NULL && b->host != NULL &&
           strcmp(a->host, b->host) == 0;
}

void sh_url_dispose(sh_url_t *u)
{
    sh_free(u->host);
    sh_free(u->target);
    sh_free(u->authority);
    sh_free(u->href);
    memset(u, 0, sizeof(*u));
}
