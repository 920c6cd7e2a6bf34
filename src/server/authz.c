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
#include "base/json.h"
#include "proto/mercure.h"
#include "server/log.h"
#include "server/server.h"
#include "ssehub/errno.h"

/* The room for a resource identifier or a metadata URL built from a request. */
#define URL_MAX 2048

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
    for (size_t i = 0; i < srv->nissuers; i++)
        sh_log_info("authorization: Mercure 1.0 access tokens (at+jwt) of issuer %s, %s%s, "
                    "audience %s",
                    srv->issuers[i].iss,
                    srv->issuers[i].has_key ? algs[srv->issuers[i].alg] : algs[cfg->jwt_alg],
                    srv->issuers[i].has_key ? " with its own key" : " with the role's key",
                    cfg->resource != NULL ? cfg->resource
                                          : "SCHEME://HOST/.well-known/mercure of each request");
}

int sh_authz_publishers_checked(const sh_server_t *srv)
{
    return srv->publisher_key.bytes != NULL || srv->nissuers > 0;
}

int sh_authz_subscribers_checked(const sh_server_t *srv)
{
    return srv->subscriber_key.bytes != NULL || srv->nissuers > 0;
}

/* The hub's resource identifier into |buf|: --resource, or http://HOST/.well-known/mercure
 * from the request's Host. Returns its length (0 when it does not fit). */
static size_t resource_of(const sh_conn_t *c, char *buf, size_t size)
{
    const sh_config_t *cfg = c->w->srv->cfg;
    const sh_buf_t *h = &c->req->host;
    int n;

    if (cfg->resource != NULL)
        n = snprintf(buf, size, "%s", cfg->resource);
    else
        n = snprintf(buf, size, "http://%.*s%s", (int)h->len, h->len ? h->base : "",
                     SH_MERCURE_PATH);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t sh_authz_resource(const sh_conn_t *c, char *buf, size_t size)
{
    return resource_of(c, buf, size);
}

/* The RFC 9728 metadata URL of the resource into |buf|: "/.well-known/oauth-protected-
 * resource" inserted between its authority and its path. Returns its length, or 0. */
static size_t metadata_url(const sh_conn_t *c, char *buf, size_t size)
{
    char res[URL_MAX];
    size_t len = resource_of(c, res, sizeof(res));
    const char *auth = len ? strstr(res, "://") : NULL, *path;
    int n;

    if (auth == NULL)
        return 0;
    path = strchr(auth + 3, '/');
    if (path == NULL)
        path = res + len;
    n = snprintf(buf, size, "%.*s/.well-known/oauth-protected-resource%s", (int)(path - res), res,
                 path);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/*
 * An authorization error. With --jwt-issuer (the hub is an OAuth protected resource) it
 * carries RFC 6750's WWW-Authenticate: Bearer, with |error| (NULL: none, for a request
 * without a token) and resource_metadata (RFC 9728); without, it is answered as before.
 */
static void auth_error(sh_conn_t *c, int status, const char *error, const char *reason)
{
    char url[URL_MAX], hdr[URL_MAX + 128];
    size_t n;

    if (c->w->srv->nissuers == 0) {
        sh_conn_error(c, status, reason, 0);
        return;
    }
    n = metadata_url(c, url, sizeof(url));
    snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer%s%s%s%s%s%s\r\n",
             n ? " resource_metadata=\"" : "", n ? url : "", n ? "\"" : "",
             error ? (n ? ", error=\"" : " error=\"") : "", error ? error : "", error ? "\"" : "");
    sh_conn_error_h(c, status, reason, hdr, 0);
}

void sh_authz_metadata(sh_conn_t *c)
{
    sh_server_t *srv = c->w->srv;
    char res[URL_MAX];
    size_t len, i;
    sh_buf_t b;

    if (srv->nissuers == 0) {
        sh_conn_error(c, 404, "not found: no --jwt-issuer, the hub takes no access tokens", 0);
        return;
    }
    len = resource_of(c, res, sizeof(res));
    sh_buf_init(&b, 256 * 1024);
    sh_buf_append_str(&b, "{\"resource\":");
    sh_json_append_string(&b, res, len);
    sh_buf_append_str(&b, ",\"authorization_servers\":[");
    for (i = 0; i < srv->nissuers; i++) {
        if (i > 0)
            sh_buf_append_str(&b, ",");
        sh_json_append_string(&b, srv->issuers[i].iss, strlen(srv->issuers[i].iss));
    }
    sh_buf_append_str(&b,
                      "],\"bearer_methods_supported\":[\"header\",\"cookie\"],"
                      "\"authorization_details_types_supported\":[\"" SH_MERCURE_AUTHZ_TYPE "\"]}");
    if (b.base == NULL)
        sh_conn_error(c, 500, "out of memory", 0);
    else
        sh_conn_respond(c, 200, "application/json", "Cache-Control: max-age=300\r\n", b.base,
                        b.len);
    sh_buf_dispose(&b);
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

/* Finds and verifies the request's token: a Mercure 1.0 access token against the
 * --jwt-issuer list (|key| for an issuer without its own), any other as a draft-07 token
 * with |key|. Returns the source (SH_TOKEN_NONE with |*claims| NULL when there is none), or
 * -1 after sending the error. */
static int request_claims(sh_conn_t *c, const sh_auth_key_t *key, const char *query,
                          size_t query_len, sh_claims_t **claims)
{
    sh_server_t *srv = c->w->srv;
    const sh_config_t *cfg = srv->cfg;
    const sh_req_t *r = c->req;
    const char *reason = NULL;
    char *token = NULL, res[URL_MAX];
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
        /* RFC 6750 §3.1: a malformed request is 400 invalid_request; as before (401)
         * on a hub that takes no access tokens. */
        auth_error(c, srv->nissuers > 0 ? 400 : 401, "invalid_request", reason);
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
    if (sh_auth_is_access_token(token)) {
        sh_auth_at_t at;

        memset(&at, 0, sizeof(at));
        at.issuers = srv->issuers;
        at.nissuers = srv->nissuers;
        at.role_key = key;
        at.role_alg = cfg->jwt_alg;
        at.resource = res;
        at.resource_len = resource_of(c, res, sizeof(res));
        if (src == SH_TOKEN_QUERY) {
            rc = -2;
            reason = "a Mercure 1.0 access token may not be sent in the query: use the "
                     "Authorization header or the " SH_MERCURE_COOKIE_08 " cookie";
        } else if (srv->nissuers == 0) {
            rc = -1;
            reason = "invalid token: Mercure 1.0 access tokens (at+jwt) are not accepted here "
                     "(no --jwt-issuer)";
        } else {
            rc = sh_auth_verify_at(&at, token, sh_wall_ms(), cl, &reason);
        }
    } else if (key->bytes == NULL) {
        rc = -1;
        reason = "invalid token: draft-07 tokens need --publisher-key/--subscriber-key";
    } else {
        rc = sh_auth_verify(key, cfg->jwt_alg, token, sh_wall_ms(), cl, &reason);
    }
    sh_free(token);
    if (rc != 0) {
        sh_free(cl);
        if (rc == SSEHUB_ENOMEM)
            sh_conn_error(c, 500, "out of memory", 0);
        else if (rc == -2)
            auth_error(c, 400, "invalid_request", reason);
        else
            auth_error(c, 401, "invalid_token", reason);
        return -1;
    }
    *claims = cl;
    return src;
}

int sh_authz_publish(sh_conn_t *c, const sh_str_t *topics, size_t ntopics, int *version)
{
    sh_server_t *srv = c->w->srv;
    sh_claims_t *cl = NULL;
    size_t i;
    int src, ok = 1;

    *version = SH_MERCURE_07;
    for (i = 0; i < ntopics; i++) {
        if (sh_mercure_topic_reserved(SH_MERCURE_07, topics[i].ptr, topics[i].len)) {
            sh_conn_error(
                c, 403, "topic in the reserved namespace /.well-known/mercure (the hub's own)", 0);
            return 0;
        }
    }
    if (!sh_authz_publishers_checked(srv)) {
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
        auth_error(c, 401, NULL, "missing token: publish with Authorization: Bearer JWT");
        return 0;
    }
    *version = cl->version;
    if (src == SH_TOKEN_COOKIE && !origin_listed(c)) {
        sh_conn_error(c, 403,
                      "a cookie-authorised publish needs an Origin listed with --cors-origin", 0);
        ok = 0;
    } else if (!cl->has_publish) {
        if (cl->version == SH_MERCURE_08)
            auth_error(c, 403, "insufficient_scope", "the access token grants no publish action");
        else
            sh_conn_error(c, 403, "the token has no mercure.publish selector", 0);
        ok = 0;
    }
    for (i = 0; ok && i < ntopics; i++) {
        if (sh_selectors_match_topic(&cl->publish, topics[i].ptr, topics[i].len))
            continue;
        if (cl->version == SH_MERCURE_08)
            auth_error(c, 403, "insufficient_scope",
                       "the access token's publish grants do not cover every topic");
        else
            sh_conn_error(c, 403, "the token's mercure.publish does not cover every topic", 0);
        ok = 0;
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

    if (sh_authz_subscribers_checked(srv)) {
        src = request_claims(c, &srv->subscriber_key, query, query_len, &cl);
        if (src < 0)
            return -1;
    }
    if (src == SH_TOKEN_NONE && !srv->cfg->anonymous) {
        auth_error(c, 401, NULL,
                   "missing token: anonymous subscribers are refused (--anonymous no)");
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
