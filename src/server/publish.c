/* SPDX-License-Identifier: MIT */
/* POST /.well-known/mercure: decode, commit to the store, answer with the event's id. */
#include <string.h>
#include <strings.h>

#include "server/log.h"
#include "server/pubreq.h"
#include "server/server.h"

/* The media type of a Content-Type value: up to ';', spaces trimmed. */
static int media_type_is(const sh_buf_t *ct, const char *want)
{
    const char *p = ct->base, *end = ct->base + ct->len, *semi;
    size_t n = strlen(want);

    if (ct->len == 0)
        return 0;
    semi = memchr(p, ';', ct->len);
    if (semi != NULL)
        end = semi;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return (size_t)(end - p) == n && strncasecmp(p, want, n) == 0;
}

void sh_publish_handle(sh_conn_t *c)
{
    sh_worker_t *w = c->w;
    sh_pubreq_kind_t kind;
    sh_pubreq_t r;
    sh_event_init_t init;
    sh_event_t *ev = NULL;
    const char *reason = NULL;
    int status;

    if (media_type_is(&c->req->ctype, "application/x-www-form-urlencoded")) {
        kind = SH_PUBREQ_FORM;
    } else if (media_type_is(&c->req->ctype, "application/json")) {
        kind = SH_PUBREQ_JSON;
    } else {
        sh_conn_error(c, 415,
                      c->req->ctype.len == 0
                          ? "missing Content-Type: use application/x-www-form-urlencoded or "
                            "application/json"
                          : "unsupported media type: use application/x-www-form-urlencoded or "
                            "application/json",
                      0);
        return;
    }
    memset(&r, 0, sizeof(r));
    status = sh_pubreq_parse(&r, kind, c->req->body.base ? c->req->body.base : "", c->req->body.len,
                             (size_t)w->srv->cfg->max_topics, &reason);
    if (status != 0) {
        sh_conn_error(c, status, reason, 0);
        sh_pubreq_dispose(&r);
        return;
    }
    if (!sh_authz_publish(c, r.topics, r.ntopics)) { /* authz.c sent the 401/403 */
        sh_pubreq_dispose(&r);
        return;
    }
    memset(&init, 0, sizeof(init));
    init.topics = r.topics;
    init.ntopics = r.ntopics;
    init.id = r.id;
    init.type = r.type;
    init.data = r.data;
    init.retry = r.retry;
    init.has_retry = r.has_retry;
    init.is_private = r.is_private;
    status = sh_store_publish(w->srv->store, &init, sh_wall_ms(), &ev, &reason);
    sh_pubreq_dispose(&r);
    if (status != 0) {
        sh_conn_error(c, status, reason, 0);
        return;
    }
    atomic_fetch_add_explicit(&w->metrics.publishes_total, 1, memory_order_relaxed);
    sh_conn_respond(c, 200, "text/plain; charset=utf-8", NULL, ev->id.ptr, ev->id.len);
    sh_event_unref(ev);
}
