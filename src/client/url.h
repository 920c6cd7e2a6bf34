/* SPDX-License-Identifier: MIT */
/*
 * http:// and https:// URLs for the client: parsing what a user or a server's Location
 * header gives (untrusted), and resolving a redirect against the current URL. Pure: no
 * I/O, no allocation besides the result.
 */
#ifndef SH_CLIENT_URL_H
#define SH_CLIENT_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The longest URL accepted, in bytes: the input, the target and the href (after
 * percent-encoding and with the default port's ":80" or ":443" dropped) each fit. */
#define SH_URL_MAX 8192

/** A parsed URL. Every string is NUL-terminated and owned by the URL. */
typedef struct sh_url_s {
    bool tls;        /* https */
    char *host;      /* a name, an IPv4 address, or an IPv6 address without brackets */
    bool host_is_v6; /* |host| was given in brackets */
    uint16_t port;   /* explicit, or 80 / 443 */
    char *target;    /* the request target: path and query, starting with '/' */
    char *authority; /* the Host header: host (bracketed when IPv6) and ":port" when not default */
    char *href;      /* scheme://authority/target, without the fragment */
} sh_url_t;

/**
 * Parses the |len| bytes at |s| as an absolute http(s) URL into |u|: the scheme (any case),
 * a host (no user info), an optional port (1..65535), then the path and query; the
 * fragment is dropped. Bytes that cannot appear in a request line (controls, space,
 * non-ASCII) are percent-encoded. Returns 0, SSEHUB_EINVAL (not an http(s) URL, a bad host
 * or port, a NUL byte, longer than SH_URL_MAX) or SSEHUB_ENOMEM; on error |u| is zeroed.
 */
int sh_url_parse(const char *s, size_t len, sh_url_t *u);

/**
 * Resolves a reference (a Location header value: absolute, scheme-relative "//host/p",
 * absolute-path "/p", query "?q" or relative path "p") against |base| into |u|. Returns as
 * sh_url_parse().
 */
int sh_url_resolve(const sh_url_t *base, const char *ref, size_t len, sh_url_t *u);

/** Returns true when |a| and |b| have the same origin (scheme, host and port). */
bool sh_url_same_origin(const sh_url_t *a, const sh_url_t *b);

/** Frees the strings of |u| and zeroes it. Accepts a zeroed URL. */
void sh_url_dispose(sh_url_t *u);

#endif /* SH_CLIENT_URL_H */
