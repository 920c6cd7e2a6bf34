/* SPDX-License-Identifier: MIT */
/* One client connection: resolving, TCP, TLS over memory BIOs (see conn.h). */
#include "client/conn.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/alloc.h"
#include "ssehub/errno.h"

#define READ_BUF (64 * 1024)

struct sh_cconn_s {
    uv_loop_t *loop;
    const sh_cconn_cbs_t *cbs;
    void *data;
    char *host;               /* the URL's host, for verification and SNI */
    bool host_is_ip;          /* verify an IP address SAN rather than a name */
    uv_getaddrinfo_t gai;     /* name resolution */
    struct addrinfo *ai_list; /* every address resolved */
    struct addrinfo *ai_next; /* the next one to try */
    uv_tcp_t tcp;             /* the socket */
    uv_connect_t creq;        /* the connect request */
    SSL_CTX *ctx;             /* a reference to the TLS context; NULL for plain http */
    SSL *ssl;                 /* the TLS session, once connected */
    char *rbuf;               /* the read buffer, READ_BUF bytes */
    size_t write_pending;     /* bytes written and not yet taken by the socket */
    int last_error;           /* the last connect error, reported when no address is left */
    unsigned pending;         /* libuv requests and handles in flight */
    bool gai_pending;         /* |gai| has not called back yet */
    bool tcp_live;            /* |tcp| is initialised and not closed */
    bool connected;           /* TCP (and TLS) established */
    bool closing;             /* sh_cconn_close() was called: no more callbacks */
};

typedef struct write_req_s {
    uv_write_t req;
    sh_cconn_t *conn;
    size_t len;
    char bytes[];
} write_req_t;

static void try_next(sh_cconn_t *c);

/* Frees |c| once closed and nothing of libuv's refers to it any more. */
static void maybe_free(sh_cconn_t *c)
{
    if (!c->closing || c->pending != 0)
        return;
    if (c->ai_list != NULL)
        uv_freeaddrinfo(c->ai_list);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    sh_free(c->rbuf);
    sh_free(c->host);
    sh_free(c);
}

static void on_tcp_closed(uv_handle_t *h)
{
    sh_cconn_t *c = h->data;

    c->pending--;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    try_next(c); /* closed after a failed attempt: the next address */
}

static void close_tcp(sh_cconn_t *c)
{
    if (c->tcp_live) {
        c->tcp_live = false;
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    }
}

/* Reports a connection that cannot go on, once; the owner then closes it. */
static void fail(sh_cconn_t *c, int status, const char *why)
{
    if (c->closing)
        return;
    if (c->connected)
        c->cbs->on_end(c, status, why);
    else
        c->cbs->on_connect(c, status, why);
}

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    sh_cconn_t *c = w->conn;

    c->write_pending -= w->len;
    sh_free(w);
    c->pending--;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    if (status < 0)
        fail(c, status, uv_strerror(status));
}

static int write_raw(sh_cconn_t *c, const char *data, size_t len)
{
    write_req_t *w;
    uv_buf_t b;
    int rc;

    if (len == 0)
        return 0;
    w = sh_malloc(sizeof(*w) + len);
    if (w == NULL)
        return SSEHUB_ENOMEM;
    memcpy(w->bytes, data, len);
    w->conn = c;
    w->len = len;
    b = uv_buf_init(w->bytes, (unsigned)len);
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        sh_free(w);
        return rc;
    }
    c->pending++;
    c->write_pending += len;
    return 0;
}

/* Sends what OpenSSL wrote into its output BIO. */
static int flush_tls(sh_cconn_t *c)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    char buf[16 * 1024];
    int n, rc;

    while ((n = BIO_read(wbio, buf, (int)sizeof(buf))) > 0) {
        rc = write_raw(c, buf, (size_t)n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Describes why the handshake failed: the certificate check, or OpenSSL's error queue. */
static void tls_reason(sh_cconn_t *c, char *why, size_t len)
{
    long v = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_get_error();

    if (v != X509_V_OK) {
        snprintf(why, len, "TLS: certificate verification failed for %s: %s", c->host,
                 X509_verify_cert_error_string(v));
    } else if (e != 0) {
        char text[256];
        ERR_error_string_n(e, text, sizeof(text));
        snprintf(why, len, "TLS handshake with %s failed: %s", c->host, text);
    } else {
        snprintf(why, len, "TLS handshake with %s failed", c->host);
    }
    ERR_clear_error();
}

/* Runs the TLS state machine after new bytes arrived: handshake, then plaintext out. */
static void tls_progress(sh_cconn_t *c)
{
    char why[512];
    int n, err;

    if (!c->connected) {
        n = SSL_do_handshake(c->ssl);
        if (flush_tls(c) != 0) {
            fail(c, SSEHUB_ETLS, "TLS: cannot send the handshake");
            return;
        }
        if (n != 1) {
            err = SSL_get_error(c->ssl, n);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                return;
            tls_reason(c, why, sizeof(why));
            fail(c, SSEHUB_ETLS, why);
            return;
        }
        c->connected = true;
        c->cbs->on_connect(c, 0, NULL);
        if (c->closing)
            return;
    }
    for (;;) {
        n = SSL_read(c->ssl, c->rbuf, READ_BUF);
        if (n > 0) {
            c->cbs->on_read(c, c->rbuf, (size_t)n);
            if (c->closing)
                return;
            continue;
        }
        err = SSL_get_error(c->ssl, n);
        if (flush_tls(c) != 0) { /* a read may write (key updates, alerts) */
            fail(c, SSEHUB_ETLS, "TLS: cannot send");
            return;
        }
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            return;
        if (err == SSL_ERROR_ZERO_RETURN) {
            fail(c, SSEHUB_EEOF, "the server closed the TLS session");
            return;
        }
        tls_reason(c, why, sizeof(why));
        fail(c, SSEHUB_ETLS, why);
        return;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    sh_cconn_t *c = h->data;

    (void)hint;
    /* With TLS the ciphertext is copied into the BIO before SSL_read() reuses the buffer. */
    *buf = uv_buf_init(c->rbuf, READ_BUF);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    sh_cconn_t *c = s->data;

    if (c->closing || n == 0)
        return;
    if (n < 0) {
        if (n == UV_EOF)
            fail(c, SSEHUB_EEOF, "the server closed the connection");
        else
            fail(c, (int)n, uv_strerror((int)n));
        return;
    }
    if (c->ssl == NULL) {
        c->cbs->on_read(c, buf->base, (size_t)n);
        return;
    }
    if (BIO_write(SSL_get_rbio(c->ssl), buf->base, (int)n) != (int)n) {
        fail(c, SSEHUB_ENOMEM, "TLS: out of memory");
        return;
    }
    tls_progress(c);
}

/* Sets up TLS on the new connection and sends the ClientHello. */
static int start_tls(sh_cconn_t *c, SSL_CTX *ctx)
{
    BIO *rbio, *wbio;

    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL)
        return SSEHUB_ENOMEM;
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        return SSEHUB_ENOMEM;
    }
    SSL_set_bio(c->ssl, rbio, wbio);
    SSL_set_connect_state(c->ssl);
    SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x08http/1.1", 9);
    if (c->host_is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host) != 1)
            return SSEHUB_ETLS;
    } else {
        if (SSL_set_tlsext_host_name(c->ssl, c->host) != 1 || SSL_set1_host(c->ssl, c->host) != 1)
            return SSEHUB_ETLS;
    }
    return 0;
}

static SSL_CTX *conn_ctx(sh_cconn_t *c);

static void on_connect(uv_connect_t *req, int status)
{
    sh_cconn_t *c = req->data;
    int rc;

    c->pending--;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    if (status < 0) {
        c->last_error = status;
        close_tcp(c); /* its close callback tries the next address */
        return;
    }
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        fail(c, rc, uv_strerror(rc));
        return;
    }
    if (conn_ctx(c) == NULL) {
        c->connected = true;
        c->cbs->on_connect(c, 0, NULL);
        return;
    }
    rc = start_tls(c, conn_ctx(c));
    if (rc != 0) {
        fail(c, rc, "TLS: cannot set up the session");
        return;
    }
    tls_progress(c);
}

/* Tries the next resolved address, or reports the last error when none is left. */
static void try_next(sh_cconn_t *c)
{
    struct addrinfo *ai = c->ai_next;
    char why[256];
    int rc;

    if (ai == NULL) {
        snprintf(why, sizeof(why), "cannot connect to %s: %s", c->host, uv_strerror(c->last_error));
        fail(c, c->last_error, why);
        return;
    }
    c->ai_next = ai->ai_next;
    rc = uv_tcp_init(c->loop, &c->tcp);
    if (rc < 0) {
        fail(c, rc, uv_strerror(rc));
        return;
    }
    c->tcp.data = c;
    c->tcp_live = true;
    c->pending++; /* the handle, until its close callback */
    uv_tcp_nodelay(&c->tcp, 1);
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, ai->ai_addr, on_connect);
    if (rc < 0) {
        c->last_error = rc;
        close_tcp(c);
        return;
    }
    c->pending++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    sh_cconn_t *c = req->data;
    char why[300];

    c->pending--;
    c->gai_pending = false;
    c->ai_list = res;
    c->ai_next = res;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    if (status < 0) {
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, uv_strerror(status));
        fail(c, status, why);
        return;
    }
    c->last_error = UV_EADDRNOTAVAIL;
    try_next(c);
}

static SSL_CTX *conn_ctx(sh_cconn_t *c)
{
    return c->ctx;
}

SSL_CTX *sh_tls_ctx_new(bool insecure, const char *ca_file, char *why, size_t why_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        snprintf(why, why_len, "TLS: cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            snprintf(why, why_len, "TLS: cannot load CA certificates from %s", ca_file);
            SSL_CTX_free(ctx);
            ERR_clear_error();
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(why, why_len, "TLS: cannot load the system's CA certificates");
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

int sh_cconn_new(uv_loop_t *loop, const sh_url_t *url, SSL_CTX *tls, const sh_cconn_cbs_t *cbs,
                 void *data, sh_cconn_t **out)
{
    struct addrinfo hints;
    char port[8];
    sh_cconn_t *c;
    size_t host_len = strlen(url->host);
    int rc;

    *out = NULL;
    c = sh_calloc(1, sizeof(*c));
    if (c == NULL)
        return SSEHUB_ENOMEM;
    c->loop = loop;
    c->cbs = cbs;
    c->data = data;
    c->rbuf = sh_malloc(READ_BUF);
    c->host = sh_malloc(host_len + 1);
    if (c->rbuf == NULL || c->host == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out_free;
    }
    memcpy(c->host, url->host, host_len + 1);
    if (url->host_is_v6) {
        c->host_is_ip = true;
    } else {
        unsigned char v4[4];
        c->host_is_ip = uv_inet_pton(AF_INET, c->host, v4) == 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    if (c->host_is_ip)
        hints.ai_flags = AI_NUMERICHOST;
    snprintf(port, sizeof(port), "%u", (unsigned)url->port);
    c->gai.data = c;
    rc = uv_getaddrinfo(loop, &c->gai, on_resolved, c->host, port, &hints);
    if (rc < 0)
        goto out_free;
    c->pending++;
    c->gai_pending = true;
    if (tls != NULL) {
        SSL_CTX_up_ref(tls);
        c->ctx = tls;
    }
    *out = c;
    return 0;

out_free:
    sh_free(c->rbuf);
    sh_free(c->host);
    sh_free(c);
    return rc;
}

void *sh_cconn_data(const sh_cconn_t *conn)
{
    return conn->data;
}

int sh_cconn_write(sh_cconn_t *c, const char *data, size_t len)
{
    if (c->closing || !c->connected)
        return SSEHUB_EBADSTATE;
    if (c->ssl == NULL)
        return write_raw(c, data, len);
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        int n = SSL_write(c->ssl, data, chunk);
        if (n <= 0) {
            ERR_clear_error();
            return SSEHUB_ETLS;
        }
        data += n;
        len -= (size_t)n;
    }
    return flush_tls(c);
}

size_t sh_cconn_write_pending(const sh_cconn_t *c)
{
    return c->write_pending;
}

void sh_cconn_close(sh_cconn_t *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = true;
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai); /* fails harmlessly when already done or running */
    close_tcp(c);
    maybe_free(c);
}
