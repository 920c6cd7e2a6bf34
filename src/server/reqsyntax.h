/* SPDX-License-Identifier: MIT */
/*
 * The request checks of RFC 9112 and RFC 9110 that llhttp 8.1.0 (Debian 12's node-llhttp),
 * even compiled in strict mode, does not make: line framing (every line ends with CRLF, no
 * obs-fold, single spaces in the request line, no empty field name), the request-target
 * forms, the Host value and the transfer codings. Pure functions over bytes: no I/O, no
 * allocation, no clock. http.c runs them beside llhttp (docs/ARCHITECTURE.md).
 */
#ifndef SH_SERVER_REQSYNTAX_H
#define SH_SERVER_REQSYNTAX_H

#include <stddef.h>

/** Where the framing scanner is in a connection's byte stream. */
enum sh_frame_state {
    SH_FRAME_IDLE = 0,       /* between requests: empty lines (CRLF) may come first */
    SH_FRAME_METHOD,         /* the method */
    SH_FRAME_RLINE,          /* the rest of the request line */
    SH_FRAME_HEAD,           /* header lines */
    SH_FRAME_HEAD_END,       /* the empty line ending the header section was read */
    SH_FRAME_BODY,           /* a Content-Length body: llhttp reports it, never scanned */
    SH_FRAME_CHUNK_LINE,     /* a chunk-size line (size and extensions) */
    SH_FRAME_CHUNK_LINE_END, /* its CRLF was read */
    SH_FRAME_CHUNK_DATA,     /* the CRLF after chunk data (the data itself is not scanned) */
    SH_FRAME_TRAILERS,       /* trailer lines */
    SH_FRAME_TRAILERS_END,   /* the empty line ending them was read */
};

/** The framing scanner: zeroed is a connection before its first request. */
typedef struct sh_frame_s {
    unsigned char state;       /* enum sh_frame_state */
    unsigned char cr;          /* the last byte scanned was a CR */
    unsigned char bol;         /* at the beginning of a line */
    unsigned char nsp;         /* spaces in the request line (saturates at 255) */
    unsigned char method_bad;  /* a byte of the method is not a tchar */
    unsigned char vlen;        /* bytes of the version read (saturates at 255) */
    unsigned char version_bad; /* the version is not HTTP/DIGIT.DIGIT */
} sh_frame_t;

/**
 * Scans the framing bytes [p, end) (never body data: the caller skips what llhttp reports
 * as body) and stops after the byte that puts |f| in state |stop| (-1: scan them all).
 * Returns the position after the last byte scanned, or NULL with |*reason| (a static
 * one-line text) when the bytes break RFC 9112 framing: a bare CR or bare LF, whitespace
 * before the request line, a request line whose parts are not separated by single spaces,
 * a header or trailer line starting with whitespace (obs-fold, or whitespace before the
 * first field), an empty field name, or anything but CRLF after chunk data.
 */
const char *sh_frame_scan(sh_frame_t *f, const char *p, const char *end, int stop,
                          const char **reason);

/** Puts |f| in |state| at the beginning of a line (after llhttp decided what comes next). */
void sh_frame_set(sh_frame_t *f, int state);

/**
 * Whether |v| (|n| bytes, optional whitespace around it allowed) is a valid Host field
 * value (RFC 9110 §7.2): uri-host [ ":" port ] of RFC 3986, with no userinfo. An empty
 * value is valid (RFC 9112 §3.2).
 */
int sh_host_valid(const char *v, size_t n);

/**
 * Checks the form of a request-target (RFC 9112 §3.2): origin-form ("/path?query"),
 * absolute-form with an http or https URI (non-empty host, no userinfo: RFC 9110 §4.2),
 * or asterisk-form ("*", OPTIONS only). Authority-form is CONNECT's, which the caller
 * refuses before. A fragment is never part of a request-target. The characters
 * themselves are llhttp's to check. Returns NULL, or a static one-line reason.
 */
const char *sh_target_check(const char *url, size_t n, int is_options);

/** The transfer codings of a request's Transfer-Encoding fields, in order. */
typedef struct sh_te_s {
    unsigned char codings;      /* codings seen (saturates at 255) */
    unsigned char chunked;      /* how many of them were "chunked" (saturates) */
    unsigned char other;        /* a coding other than chunked was seen */
    unsigned char last_chunked; /* the last coding seen is chunked */
} sh_te_t;

/** Adds the codings of one Transfer-Encoding field value (a list: RFC 9110 §5.6.1). */
void sh_te_add(sh_te_t *te, const char *v, size_t n);

#endif /* SH_SERVER_REQSYNTAX_H */
