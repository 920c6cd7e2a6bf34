/* SPDX-License-Identifier: MIT */
/*
 * sh_url: the WHATWG URL Standard's basic URL parser, for what Mercure 1.0 needs of it:
 * topics as URLs (absolute, or relative to the hub's URL) split into the eight components
 * URL Pattern matches (protocol, username, password, hostname, port, pathname, search,
 * hash), canonical as the standard serializes them: scheme and host lower case, default
 * ports dropped, IPv4 hosts in dotted decimal, dot segments removed, the standard's
 * percent-encode sets. Not covered (the parse fails, so such a topic matches no URL
 * pattern): hosts with non-ASCII characters (IDNA), file: URLs. IPv6 hosts are kept as
 * written, in lower case. Pure: no I/O.
 */
#ifndef SH_HUB_URL_H
#define SH_HUB_URL_H

#include <stddef.h>

#include "hub/event.h" /* sh_str_t */

enum {
    SH_URL_PROTOCOL = 0,
    SH_URL_USERNAME,
    SH_URL_PASSWORD,
    SH_URL_HOSTNAME,
    SH_URL_PORT,
    SH_URL_PATHNAME,
    SH_URL_SEARCH,
    SH_URL_HASH,
    SH_URL_NCOMP
};

typedef struct sh_url_s {
    sh_str_t comp[SH_URL_NCOMP]; /* NUL-terminated, into |mem|; "" when absent */
    int special;                 /* http, https, ws, wss, ftp */
    int has_host;                /* the host is not null */
    int opaque_path;             /* a non-special URL whose path does not start with '/' */
    char *mem;
} sh_url_t;

/** The longest input accepted, in bytes. */
#define SH_URL_MAX 8192

/**
 * Parses |in| (|len| bytes, UTF-8), against |base| when it is relative (|base| may be
 * NULL). Returns 0 with |out| filled (dispose it), -1 when it is not a URL (as far as this
 * parser goes), or SSEHUB_ENOMEM.
 */
int sh_url_parse(const char *in, size_t len, const sh_url_t *base, sh_url_t *out);
void sh_url_dispose(sh_url_t *u);

/** The default port of a special scheme ("443" for https), or NULL. */
const char *sh_url_default_port(const char *scheme, size_t len);
/** Whether |scheme| is special (http, https, ws, wss, ftp, file). */
int sh_url_is_special(const char *scheme, size_t len);

/* The percent-encode sets of the standard. */
typedef enum {
    SH_PCT_C0 = 0,
    SH_PCT_FRAGMENT,
    SH_PCT_QUERY,
    SH_PCT_SPECIAL_QUERY,
    SH_PCT_PATH,
    SH_PCT_USERINFO
} sh_pct_set_t;

/** Appends |s| to |b| with every byte of |set| percent-encoded. 0 or SSEHUB_ENOMEM/E2BIG. */
struct sh_buf_s;
int sh_url_pct_append(struct sh_buf_s *b, const char *s, size_t len, sh_pct_set_t set);

/**
 * Appends the path |s| (|len| bytes, from its first byte) parsed as the standard's path
 * state does: segments split at '/' (and '\' when |special|), percent-encoded with the path
 * set, dot segments (also %2e) removed; serialized with a '/' before each segment.
 */
int sh_url_path_append(struct sh_buf_s *b, const char *s, size_t len, int special);

#endif /* SH_HUB_URL_H */
