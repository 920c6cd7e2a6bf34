/* SPDX-License-Identifier: MIT */
/*
 * sh_cconn: one client connection on libuv: name resolution (every address in turn),
 * TCP, and TLS through OpenSSL memory BIOs (certificate and host verification unless the
 * context says otherwise). Bytes in and out are plaintext. Used by the EventSource client
 * and by ssecat --publish.
 */
#ifndef SH_CLIENT_CONN_H
#define SH_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "client/url.h"

typedef struct sh_cconn_s sh_cconn_t;

/** The callbacks of a connection; none is called after sh_cconn_close(). */
typedef struct sh_cconn_cbs_s {
    /* Connected (and TLS done) when |status| is 0; else failed: SSEHUB_ETLS (|why| says
       what; not worth retrying), or a libuv error of resolving or connecting. */
    void (*on_connect)(sh_cconn_t *conn, int status, const char *why);
    /* Plaintext received; valid during the call. */
    void (*on_read)(sh_cconn_t *conn, const char *data, size_t len);
    /* The peer ended the connection (SSEHUB_EEOF) or it failed (a libuv error, or
       SSEHUB_ETLS). No callback follows; close the connection. */
    void (*on_end)(sh_cconn_t *conn, int status, const char *why);
} sh_cconn_cbs_t;

/**
 * Makes a TLS client context: TLS 1.2 or later, peer verification on unless |insecure|,
 * trusting the PEM certificates in |ca_file| (when not NULL) or the system's. Returns the
 * context or NULL, with a reason in |why| (|why_len| bytes).
 */
SSL_CTX *sh_tls_ctx_new(bool insecure, const char *ca_file, char *why, size_t why_len);

/**
 * Starts connecting to |url|'s host and port: resolves it, then tries each address in
 * turn; with |tls| (referenced, not NULL for https), runs the TLS handshake, checking the
 * certificate against the URL's host (a name or an IP address). |url| is copied where
 * needed; |cbs| is borrowed. Returns 0 and the connection in |*out|, or SSEHUB_ENOMEM or a
 * libuv error; the callbacks are called from the loop only.
 */
int sh_cconn_new(uv_loop_t *loop, const sh_url_t *url, SSL_CTX *tls, const sh_cconn_cbs_t *cbs,
                 void *data, sh_cconn_t **out);

/** Returns the |data| given to sh_cconn_new(). */
void *sh_cconn_data(const sh_cconn_t *conn);

/**
 * Sends |len| bytes (copied) once connected. Returns 0, SSEHUB_ENOMEM, SSEHUB_ETLS, or a
 * libuv error (the connection is then broken: close it).
 */
int sh_cconn_write(sh_cconn_t *conn, const char *data, size_t len);

/** Returns the bytes handed to sh_cconn_write() that the socket has not taken yet. */
size_t sh_cconn_write_pending(const sh_cconn_t *conn);

/** Closes |conn|: no callback follows; its memory goes once libuv is done. Accepts NULL. */
void sh_cconn_close(sh_cconn_t *conn);

#endif /* SH_CLIENT_CONN_H */
