/* SPDX-License-Identifier: MIT */
/*
 * Mercure authorization for the HTTP handlers: which key applies, what a missing or bad
 * token means (401), what a token without the right means (403), the loopback-only
 * default for publishing, the Origin rule for cookie-authenticated publishes, the reserved
 * topic namespace, and closing streams whose token expired.
 */
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "server/log.h"
#include "server/server.h"
#include "ssehub/errno.h"

#define RESERVED "/.well-known/mercure"

void sh_authz_log_policy(const sh_server_t *srv)
{
    const sh_config_t *cfg = srv->cfg;
    static const char *const algs[] = {"HS256", "RS256", "ES256"};

    if (srv->publisher_key.bytes == NULL)
        sh_log_info("authorization: no --publisher-key: publishing is accepted from loopback "
                    "clients only");
    else
        sh_log_info("authorization: publishers need a %s JWT with mercure.publish",
                    algs[cfg->jwt_alg]);
    if (srv->subscriber_key.bytes == NULL)
        sh_log_info("authorization: no --subscriber-key: subscribers are anonymous%s",
                    cfg->anonymous ? "" : " (and --anonymous no refuses them all)");
    else
        sh_log_info("authorization: subscribers %s a %s JWT; private updates need "
                    "mercure.subscribe",
                    cfg->anonymous ? "may present" : "must present", algs[cfg->jwt_alg]);
}

/* Whether |topic| is in the hub's reserved namespace: its path is /.well-known/mercure or
 * below, for a relative topic or an absolute URI ("scheme://authority/path"). */
static int reserved_topic(const char *t, size_t len)
{
    const char *p = t, *end = t + len, *colon, *slash;
    size_t rl = strlen(RESERVED);

    colon = memchr(t, ':', len);
    if (colon != NULL && colon + 2 < end && colon[1] == '/' && colon[2] == '/') {
        slash = memchr(colon + 3, '/', (size_t)(end - colon - 3));
        if (slash == NULL)
            return 0;
        p = slash;
    }
    if ((size_t)(end - p) < rl || memcmp(p, RESERVED, rl) != 0)
        return 0;
    p += rl;
    return p == end || *p == '/' || *p == '?' || *p == '#';
}

/* Whether the request's Origin is one of the --cors-origin values given by name. */
static int origin_listed(const sh_conn_t *c)
{
    const sh_config_t *cfg = c->w->srv->cfg;
    const sh_buf_t *o = &c->req->origin;
    size_t i;

    for (i = 0; o->len > 0 && i < cfg->ncors_origins; i++) {
        const char *allowed = cfg->cors_origins[i];
        if (strlen(allowed) == o->len && memcmp(allowed, o->base, o->len) == 0)
            return 1;
    }
    return 0;
}

/* Finds and verifies the request's token with |key|. Returns the source (SH_TOKEN_NONE
 * with |*claims| NULL when there is none), or -1 after sending a 401 (or 500). */
static int request_claims(sh_conn_t *c, const sh_auth_key_t *key, const char *query,
                          size_t query_len, sh_claims_t **claims)
{
    const sh_config_t *cfg = c->w->srv->cfg;
    const sh_req_t *r = c->req;
    const char *reason = NULL;
    char *token = NULL;
    sh_claims_t *cl;
    int src, rc;

    *claims = NULL;
    src = sh_auth_extract(r->has_authz ? (r->authz.base ? r->authz.base : "") : NULL, r->authz.len,
                          r->has_cookie ? (r->cookie.base ? r->cookie.base : "") : NULL,
                          r->cookie.len, query, query_len, &token, &reason);
    if (src == SSEHUB_ENOMEM) {
        sh_conn_error(c, 500, "out of memory", 0);
        return -1;
    }
    if (src < 0) {
        sh_conn_error(c, 401, reason, 0);
        return -1;
    }
    if (src == SH_TOKEN_NONE)
        return SH_TOKEN_NONE;
    cl = sh_malloc(sizeof(*cl));
    if (cl == NULL) {
        sh_free(token);
        sh_conn_error(c, 500, "out of memory", 0);
        return -1;
    }
    rc = sh_auth_verify(key, cfg->jwt_alg, token, sh_wall_ms(), cl, &reason);
    sh_free(token);
    if (rc != 0) {
        sh_free(cl);
        if (rc == SSEHUB_ENOMEM)
            sh_conn_error(c, 500, "out of memory", 0);
        else
            sh_conn_error(c, 401, reason, 0);
        return -1;
    }
    *claims = cl;
    return src;
}

int sh_authz_publish(sh_conn_t *c, const sh_str_t *topics, size_t ntopics)
{
    sh_server_t *srv = c->w->srv;
    sh_claims_t *cl = NULL;
    size_t i;
    int src, ok = 1;

    for (i = 0; i < ntopics; i++) {
        if (reserved_topic(topics[i].ptr, topics[i].len)) {
            sh_conn_error(
                c, 403, "topic in the reserved namespace /.well-known/mercure (the hub's own)", 0);
            return 0;
        }
    }
    if (srv->publisher_key.bytes == NULL) {
        if (c->is_loopback)
            return 1;
        sh_conn_error(c, 403,
                      "publishing is allowed from loopback addresses only (no publisher key "
                      "configured)",
                      0);
        return 0;
    }
    src = request_claims(c, &srv->publisher_key, NULL, 0, &cl);
    if (src < 0)
        return 0;
    if (src == SH_TOKEN_NONE) {
        sh_conn_error(c, 401, "missing token: publish with Authorization: Bearer JWT", 0);
        return 0;
    }
    if (src == SH_TOKEN_COOKIE && !origin_listed(c)) {
        sh_conn_error(c, 403,
                      "a cookie-authorised publish needs an Origin listed with --cors-origin", 0);
        ok = 0;
    } else if (!cl->has_publish) {
        sh_conn_error(c, 403, "the token has no mercure.publish selector", 0);
        ok = 0;
    }
    for (i = 0; ok && i < ntopics; i++) {
        if (!sh_selectors_match_topic(&cl->publish, topics[i].ptr, topics[i].len)) {
            sh_conn_error(c, 403, "the token's mercure.publish does not cover every topic", 0);
            ok = 0;
        }
    }
    sh_claims_dispose(cl);
    sh_free(cl);
    return ok;
}

int sh_authz_subscribe(sh_conn_t *c, const char *query, size_t query_len)
{
    sh_server_t *srv = c->w->srv;
    sh_claims_t *cl = NULL;
    int src = SH_TOKEN_NONE;

    if (srv->subscriber_key.bytes != NULL) {
        src = request_claims(c, &srv->subscriber_key, query, query_len, &cl);
        if (src < 0)
            return -1;
    }
    if (src == SH_TOKEN_NONE && !srv->cfg->anonymous) {
        sh_conn_error(c, 401, "missing token: anonymous subscribers are refused (--anonymous no)",
                      0);
        return -1;
    }
    c->claims = cl;
    c->token_exp = cl != NULL ? cl->exp_ms : 0;
    return 0;
}

/* Called once the stream is registered: orders it by token exp (from the back: tokens
 * mostly have similar lifetimes, so this is usually one step). */
static void link_exp(sh_conn_t *c)
{
    sh_list_t *head = &c->w->streams_exp, *n = head->prev;

    while (n != head && sh_container_of(n, sh_conn_t, eq)->token_exp > c->token_exp)
        n = n->prev;
    sh_list_push_back(n->next, &c->eq);
}

void sh_authz_stream_started(sh_conn_t *c)
{
    if (c->claims != NULL && c->claims->has_subscribe)
        c->sub.sel.allow = &c->claims->subscribe;
    if (c->token_exp != 0)
        link_exp(c);
}

void sh_authz_stream_closed(sh_conn_t *c)
{
    sh_list_remove(&c->eq);
    c->sub.sel.allow = NULL;
    if (c->claims != NULL) {
        sh_claims_dispose(c->claims);
        sh_free(c->claims);
        c->claims = NULL;
    }
    c->token_exp = 0;
}

void sh_authz_expire_streams(sh_worker_t *w, int64_t now_ms)
{
    sh_list_t *n;

    while ((n = sh_list_first(&w->streams_exp)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, eq);

        if (c->token_exp > now_ms)
            break;
        sh_list_remove(n);
        sh_log_debug("%s: token expired, closing the stream", c->peer);
        sh_conn_close(c, SH_DISC_LIFETIME);
    }
}
