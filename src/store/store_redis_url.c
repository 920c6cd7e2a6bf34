/* SPDX-License-Identifier: MIT */
/* The Redis store's --store URI (store_redis_url.h): a strict parser, no I/O. */
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "ssehub/errno.h"
#include "store/store_redis_url.h"

/* Copies |n| bytes of |s| into |dst| (|cap| bytes, NUL-terminated). 0, or -1 when too long. */
static int copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* Parses "HOST:PORT" (|n| bytes; HOST may be "[v6]"). 0 or -1. */
static int parse_addr(const char *s, size_t n, sh_redis_addr_t *a)
{
    const char *colon = NULL, *host = s;
    uint64_t port;
    size_t i, hl;

    for (i = n; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (colon == NULL)
        return -1;
    hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        host = s + 1;
        hl -= 2;
    }
    if (hl == 0 || memchr(host, '@', hl) != NULL || copy(a->host, sizeof(a->host), host, hl) != 0)
        return -1;
    if (sh_parse_u64(colon + 1, (size_t)(s + n - colon - 1), &port) != 0 || port == 0 ||
        port > 65535)
        return -1;
    a->port = (unsigned)port;
    return 0;
}

/* One name=value option. 0 or -1 (with |err| written). */
static int parse_option(sh_redis_url_t *u, const char *s, size_t n, char *err, size_t errlen)
{
    const char *eq = memchr(s, '=', n);
    size_t kl, vl;
    const char *v;
    uint64_t x;

    if (eq == NULL) {
        snprintf(err, errlen, "option '%.*s' needs a value (NAME=VALUE)", (int)(n > 64 ? 64 : n),
                 s);
        return -1;
    }
    kl = (size_t)(eq - s);
    v = eq + 1;
    vl = n - kl - 1;
#define IS(name) (kl == sizeof(name) - 1 && memcmp(s, name, kl) == 0)
    if (IS("maxlen") || IS("replicas") || IS("wait")) {
        if (sh_parse_u64(v, vl, &x) != 0 || (IS("replicas") && x > 64) ||
            (IS("wait") && (x == 0 || x > 60000)) || (IS("maxlen") && x == 0)) {
            snprintf(err, errlen, "option %.*s: '%.*s' is not valid (%s)", (int)kl, s,
                     (int)(vl > 32 ? 32 : vl), v,
                     IS("replicas") ? "0 to 64"
                     : IS("wait")   ? "1 to 60000 ms"
                                    : "1 or more");
            return -1;
        }
        if (IS("maxlen"))
            u->maxlen = x;
        else if (IS("replicas"))
            u->replicas = (unsigned)x;
        else
            u->wait_ms = x;
        return 0;
    }
    if (IS("durability")) {
        if (vl == 3 && memcmp(v, "aof", 3) == 0) {
            u->durability_aof = 1;
            return 0;
        }
        if (vl == 6 && memcmp(v, "memory", 6) == 0) {
            u->durability_aof = 0;
            return 0;
        }
        snprintf(err, errlen, "option durability: '%.*s' is not aof or memory",
                 (int)(vl > 32 ? 32 : vl), v);
        return -1;
    }
    if (IS("prefix")) {
        size_t i;

        for (i = 0; i < vl; i++)
            if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
                  (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' || v[i] == ':'))
                break;
        if (vl == 0 || i < vl || copy(u->prefix, sizeof(u->prefix), v, vl) != 0) {
            snprintf(err, errlen, "option prefix: letters, digits, '_', '-', ':' (1 to 63)");
            return -1;
        }
        return 0;
    }
#undef IS
    snprintf(err, errlen, "unknown option '%.*s' (maxlen, replicas, wait, durability, prefix)",
             (int)(kl > 32 ? 32 : kl), s);
    return -1;
}

int sh_redis_url_parse(const char *uri, sh_redis_url_t *u, char *err, size_t errlen)
{
    const char *p, *end, *q, *at, *slash;
    size_t n;
    uint64_t db;

    memset(u, 0, sizeof(*u));
    u->maxlen = 1000000;
    u->wait_ms = 1000;
    memcpy(u->prefix, "ssehub", 7);
    if (strncmp(uri, "redis://", 8) == 0) {
        p = uri + 8;
    } else if (strncmp(uri, "redis-sentinel://", 17) == 0) {
        u->sentinel = 1;
        p = uri + 17;
    } else {
        snprintf(err, errlen, "not a redis:// or redis-sentinel:// URI");
        return SSEHUB_EINVAL;
    }
    q = strchr(p, '?');
    end = q != NULL ? q : p + strlen(p);
    /* USER:PASSWORD@, up to the last '@' before the path (a password may hold '@'). */
    slash = memchr(p, '/', (size_t)(end - p));
    at = NULL;
    for (const char *c = p; c < (slash != NULL ? slash : end); c++)
        if (*c == '@')
            at = c;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));

        if (colon == NULL) {
            snprintf(err, errlen, "credentials must be USER:PASSWORD@ (USER may be empty)");
            return SSEHUB_EINVAL;
        }
        if (copy(u->user, sizeof(u->user), p, (size_t)(colon - p)) != 0 ||
            copy(u->password, sizeof(u->password), colon + 1, (size_t)(at - colon - 1)) != 0) {
            snprintf(err, errlen, "user or password too long");
            return SSEHUB_EINVAL;
        }
        p = at + 1;
    }
    /* HOST:PORT[,HOST:PORT...] */
    slash = memchr(p, '/', (size_t)(end - p));
    {
        const char *hend = slash != NULL ? slash : end, *c = p;

        while (c < hend) {
            const char *comma = memchr(c, ',', (size_t)(hend - c));
            const char *e = comma != NULL ? comma : hend;

            if (u->naddrs == SH_REDIS_URL_MAX_ADDRS || (!u->sentinel && u->naddrs == 1)) {
                snprintf(err, errlen,
                         u->sentinel ? "at most 8 sentinels"
                                     : "one HOST:PORT (redis-sentinel:// takes several)");
                return SSEHUB_EINVAL;
            }
            if (parse_addr(c, (size_t)(e - c), &u->addrs[u->naddrs]) != 0) {
                snprintf(err, errlen, "'%.*s' is not HOST:PORT (port 1 to 65535)",
                         (int)(e - c > 64 ? 64 : e - c), c);
                return SSEHUB_EINVAL;
            }
            u->naddrs++;
            c = comma != NULL ? comma + 1 : hend;
            if (comma != NULL && c == hend) {
                snprintf(err, errlen, "an empty HOST:PORT after ','");
                return SSEHUB_EINVAL;
            }
        }
    }
    if (u->naddrs == 0) {
        snprintf(err, errlen, "HOST:PORT is missing");
        return SSEHUB_EINVAL;
    }
    /* [/MASTERNAME][/DB] */
    p = slash != NULL ? slash + 1 : end;
    if (u->sentinel) {
        const char *e;

        if (slash == NULL || p == end) {
            snprintf(err, errlen, "redis-sentinel:// needs /MASTERNAME after the sentinels");
            return SSEHUB_EINVAL;
        }
        e = memchr(p, '/', (size_t)(end - p));
        if (e == NULL)
            e = end;
        if (copy(u->master, sizeof(u->master), p, (size_t)(e - p)) != 0) {
            snprintf(err, errlen, "master name too long");
            return SSEHUB_EINVAL;
        }
        p = e < end ? e + 1 : end;
        if (e < end && p == end) {
            snprintf(err, errlen, "an empty DB after the master name");
            return SSEHUB_EINVAL;
        }
    }
    if (p < end) {
        n = (size_t)(end - p);
        if (sh_parse_u64(p, n, &db) != 0 || db > 65535) {
            snprintf(err, errlen, "'/%.*s' is not a database number", (int)(n > 32 ? 32 : n), p);
            return SSEHUB_EINVAL;
        }
        u->db = (unsigned)db;
    } else if (!u->sentinel && slash != NULL) {
        snprintf(err, errlen, "an empty DB after '/'");
        return SSEHUB_EINVAL;
    }
    /* ?OPTIONS */
    if (q != NULL) {
        p = q + 1;
        while (*p != '\0') {
            const char *amp = strchr(p, '&');

            n = amp != NULL ? (size_t)(amp - p) : strlen(p);
            if (parse_option(u, p, n, err, errlen) != 0)
                return SSEHUB_EINVAL;
            p += n;
            if (*p == '&')
                p++;
        }
    }
    return 0;
}
