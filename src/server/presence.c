/* SPDX-License-Identifier: MIT */
/*
 * Presence (--subscriptions), as Mercure's "active subscriptions": every stream gets a
 * subscriber id (urn:uuid:, random v4); each of its selectors is a subscription, recorded
 * in a server-wide list (one mutex; touched at subscribe, unsubscribe and API reads only)
 * and announced as a private update on
 * /.well-known/mercure/subscriptions/{topic}/{subscriber} with Mercure's JSON-LD body, through
 * the store like any publish (draft-08's shape, .../subscriptions/{matchType}/{match}/
 * {subscriber}, for a match*= selector). GET /.well-known/mercure/subscriptions[/{topic}[/
 * {subscriber}]] lists the active ones, and so do draft-08's .../{matchType}/{match}[/
 * {subscriber}] (answered with a quoted ETag: proto/mercure.c tells the versions apart).
 *
 * With a shared store (Redis), the nodes see each other's subscriptions through the
 * updates themselves: every node observes every committed event (sh_presence_observe, on
 * the store's thread), and keeps the active subscriptions of the other nodes, by record
 * id, for the API. When the store reports a node gone (it stopped renewing its liveness:
 * killed, or cut off from Redis), each surviving node announces the leave of that node's
 * subscriptions, with an id made from the record's ("<record>#gone"), so that the
 * store's exactly-once rule makes one update of the announcements of several nodes.
 */
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/map.h"
#include "proto/form.h"
#include "proto/mercure.h"
#include "server/log.h"
#include "server/server.h"
#include "ssehub/errno.h"

#define PREFIX "/.well-known/mercure/subscriptions"

struct sh_presence_rec_s {
    sh_list_t link;    /* in the server's list */
    const char *topic; /* the selector (points into the conn's selectors) */
    size_t topic_len;
    char *id;               /* PREFIX/{topic}/{subscriber}, percent-encoded (sh_malloc'd) */
    const char *sub;        /* the subscriber id (the conn's sub_id) */
    const char *payload;    /* the token's mercure.payload (the conn's claims), or NULL */
    int v08;                /* made with match*= (Mercure 1.0): its updates in draft-08's shape */
    const char *match_type; /* draft-08: "Exact" or "URLPattern" */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sh_list_t records = {&records, &records};

/* Another node's active subscription, as its update said (shared stores). */
typedef struct remote_rec_s {
    char *id;   /* the record id, PREFIX/{topic}/{subscriber}: the key in |remote| */
    char *json; /* the update's Subscription object (active) */
    char node[64];
} remote_rec_t;

static sh_map_t remote; /* record id -> remote_rec_t, under |lock| */

/* Appends |s| percent-encoded: everything but RFC 3986 unreserved characters. */
static void append_escaped(sh_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            sh_buf_append(b, &s[i], 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            sh_buf_append(b, e, 3);
        }
    }
}

/* Mercure's Subscription object for |r|: draft-07's JSON-LD, or draft-08's plain JSON (match
 * and matchType instead of topic) for a subscription made with match=. */
static void append_subscription(sh_buf_t *b, const sh_presence_rec_t *r, const char *sub_id,
                                const char *payload, int active)
{
    sh_buf_append_str(b, r->v08 ? "{\"id\":" : "{\"@context\":\"https://mercure.rocks/\",\"id\":");
    sh_json_append_string(b, r->id, strlen(r->id));
    sh_buf_append_str(b, r->v08 ? ",\"type\":\"Subscription\",\"match\":"
                                : ",\"type\":\"Subscription\",\"topic\":");
    sh_json_append_string(b, r->topic, r->topic_len);
    if (r->v08) {
        sh_buf_append_str(b, ",\"matchType\":\"");
        sh_buf_append_str(b, r->match_type);
        sh_buf_append_str(b, "\"");
    }
    sh_buf_append_str(b, ",\"subscriber\":");
    sh_json_append_string(b, sub_id, strlen(sub_id));
    sh_buf_append_str(b, active ? ",\"active\":true" : ",\"active\":false");
    if (payload != NULL) {
        sh_buf_append_str(b, ",\"payload\":");
        sh_buf_append_str(b, payload);
    }
    sh_buf_append_str(b, "}");
}

/* One subscription update on its way through the store: it owns every byte its |init|
 * points to until the store decides it (on this thread or the store's committer). */
typedef struct announce_s {
    sh_store_pub_t sp;
    sh_server_t *stopping; /* counted in its stop_pending (published while stopping) */
    sh_str_t topic;
    sh_buf_t body;
    char sub_id[SH_SUB_ID_MAX];
} announce_t;

static void announce_done(sh_store_pub_t *sp)
{
    announce_t *a = sp->data;

    if (sp->status == 0)
        sh_event_unref(sp->ev);
    else
        sh_log_warn("presence: subscription update for %s not published: %s", a->sub_id,
                    sp->reason);
    if (a->stopping != NULL)
        sh_server_stop_step_done(a->stopping);
    sh_free((char *)a->topic.ptr);
    sh_buf_dispose(&a->body);
    sh_free(a);
}

/* Publishes the update announcing |r| (private, through the store). */
static void announce(sh_conn_t *c, const sh_presence_rec_t *r, int active)
{
    announce_t *a = sh_calloc(1, sizeof(*a));
    size_t tlen = strlen(r->id);
    char *topic = a != NULL ? sh_malloc(tlen + 1) : NULL;

    if (topic == NULL) {
        sh_free(a);
        sh_log_warn("presence: subscription update for %s not published: out of memory", c->sub_id);
        return;
    }
    memcpy(topic, r->id, tlen + 1);
    snprintf(a->sub_id, sizeof(a->sub_id), "%s", c->sub_id);
    sh_buf_init(&a->body, 1024 * 1024);
    append_subscription(&a->body, r, r->sub, r->payload, active);
    a->topic.ptr = topic;
    a->topic.len = tlen;
    a->sp.init.topics = &a->topic;
    a->sp.init.ntopics = 1;
    a->sp.init.data.ptr = a->body.base != NULL ? a->body.base : "";
    a->sp.init.data.len = a->body.len;
    a->sp.init.id.ptr = "";
    if (r->v08) { /* draft-08: the hub's own events are of type "mercure" */
        a->sp.init.type.ptr = SH_MERCURE_SUB_EVENT_TYPE;
        a->sp.init.type.len = strlen(SH_MERCURE_SUB_EVENT_TYPE);
    }
    a->sp.init.is_private = 1;
    a->sp.now_ms = sh_wall_ms();
    a->sp.done = announce_done;
    a->sp.data = a;
    if (atomic_load(&c->w->srv->stop_phase) != 0) { /* the stop waits for it (worker.c) */
        a->stopping = c->w->srv;
        atomic_fetch_add(&a->stopping->stop_pending, 1);
    }
    sh_store_publish(c->w->srv->store, &a->sp); /* announce_done frees |a| */
}

static int id_v08(const char *id);

/* Publishes a subscription update on |topic| with |body| and the chosen |id| (NULL: the
 * hub's), from any thread. */
static void announce_raw(sh_server_t *srv, const char *topic, const char *body, size_t body_len,
                         const char *id)
{
    announce_t *a = sh_calloc(1, sizeof(*a));
    size_t tlen = strlen(topic), ilen = id != NULL ? strlen(id) : 0;
    char *t = a != NULL ? sh_malloc(tlen + 1 + ilen + 1) : NULL;

    if (t == NULL) {
        sh_free(a);
        sh_log_warn("presence: subscription update on %s not published: out of memory", topic);
        return;
    }
    memcpy(t, topic, tlen + 1);
    if (id != NULL)
        memcpy(t + tlen + 1, id, ilen + 1);
    snprintf(a->sub_id, sizeof(a->sub_id), "%s", "(another node's)");
    sh_buf_init(&a->body, 1024 * 1024);
    sh_buf_append(&a->body, body, body_len);
    a->topic.ptr = t;
    a->topic.len = tlen;
    a->sp.init.topics = &a->topic;
    a->sp.init.ntopics = 1;
    a->sp.init.data.ptr = a->body.base != NULL ? a->body.base : "";
    a->sp.init.data.len = a->body.len;
    a->sp.init.id.ptr = id != NULL ? t + tlen + 1 : "";
    a->sp.init.id.len = ilen;
    if (id_v08(topic)) { /* draft-08: the hub's own events are of type "mercure" */
        a->sp.init.type.ptr = SH_MERCURE_SUB_EVENT_TYPE;
        a->sp.init.type.len = strlen(SH_MERCURE_SUB_EVENT_TYPE);
    }
    a->sp.init.is_private = 1;
    a->sp.now_ms = sh_wall_ms();
    a->sp.done = announce_done;
    a->sp.data = a;
    sh_store_publish(srv->store, &a->sp); /* announce_done frees |a| */
}

static void remote_free(remote_rec_t *r)
{
    if (r != NULL) {
        sh_free(r->id);
        sh_free(r->json);
        sh_free(r);
    }
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = sh_malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void sh_presence_observe(void *user, const char *node, size_t node_len, const sh_event_init_t *init)
{
    sh_server_t *srv = user;
    size_t plen = strlen(PREFIX "/");
    json_t *root;
    json_error_t jerr;
    const char *id;
    int active;
    remote_rec_t *r, *old;

    if (init->ntopics != 1 || !init->is_private || init->topics[0].len <= plen ||
        memcmp(init->topics[0].ptr, PREFIX "/", plen) != 0 || node_len == 0 ||
        node_len >= sizeof(r->node) ||
        (srv->node_id != NULL && strlen(srv->node_id) == node_len &&
         memcmp(srv->node_id, node, node_len) == 0))
        return; /* not a subscription update of another node */
    root = json_loadb(init->data.ptr, init->data.len, 0, &jerr);
    if (root == NULL)
        return;
    id = json_string_value(json_object_get(root, "id"));
    active = json_is_true(json_object_get(root, "active"));
    if (id == NULL || strlen(id) != init->topics[0].len ||
        memcmp(id, init->topics[0].ptr, init->topics[0].len) != 0) {
        json_decref(root);
        return;
    }
    r = NULL;
    if (active) {
        r = sh_calloc(1, sizeof(*r));
        if (r != NULL) {
            r->id = dup_bytes(id, strlen(id));
            r->json = dup_bytes(init->data.ptr, init->data.len);
            memcpy(r->node, node, node_len);
        }
        if (r == NULL || r->id == NULL || r->json == NULL) {
            remote_free(r);
            json_decref(root);
            sh_log_warn("presence: out of memory: another node's subscription not listed");
            return;
        }
    }
    pthread_mutex_lock(&lock);
    old = sh_map_del(&remote, id, strlen(id));
    if (r != NULL && sh_map_put(&remote, r->id, strlen(r->id), r) != 0) {
        remote_free(r);
        sh_log_warn("presence: out of memory: another node's subscription not listed");
    }
    pthread_mutex_unlock(&lock);
    remote_free(old);
    json_decref(root);
}

void sh_presence_node_gone(void *user, const char *node)
{
    sh_server_t *srv = user;
    remote_rec_t **gone = NULL;
    size_t n = 0, cap = 0, i;
    sh_map_entry_t *e;

    pthread_mutex_lock(&lock);
    for (i = 0; (e = sh_map_next(&remote, &i)) != NULL;) {
        remote_rec_t *r = e->value;

        if (strcmp(r->node, node) != 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            remote_rec_t **g = sh_realloc(gone, ncap * sizeof(*g));

            if (g == NULL)
                break;
            gone = g;
            cap = ncap;
        }
        gone[n++] = r;
    }
    for (i = 0; i < n; i++)
        (void)sh_map_del(&remote, gone[i]->id, strlen(gone[i]->id));
    pthread_mutex_unlock(&lock);
    if (n > 0)
        sh_log_info("presence: node %s is gone: announcing the leave of its %zu subscription%s",
                    node, n, n == 1 ? "" : "s");
    for (i = 0; i < n; i++) {
        remote_rec_t *r = gone[i];
        char *at = strstr(r->json, ",\"active\":true");
        sh_buf_t body, id;

        sh_buf_init(&body, 1024 * 1024);
        sh_buf_init(&id, 64 * 1024);
        if (at != NULL) {
            sh_buf_append(&body, r->json, (size_t)(at - r->json));
            sh_buf_append_str(&body, ",\"active\":false");
            sh_buf_append_str(&body, at + strlen(",\"active\":true"));
        }
        sh_buf_append_str(&id, r->id);
        sh_buf_append_str(&id, "#gone");
        sh_buf_append(&id, "", 1);
        if (at != NULL && body.base != NULL && id.base != NULL)
            announce_raw(srv, r->id, body.base, body.len, id.base);
        sh_buf_dispose(&body);
        sh_buf_dispose(&id);
        remote_free(r);
    }
    sh_free(gone);
}

void sh_presence_dispose(void)
{
    size_t i;
    sh_map_entry_t *e;

    pthread_mutex_lock(&lock);
    for (i = 0; (e = sh_map_next(&remote, &i)) != NULL;)
        remote_free(e->value);
    sh_map_dispose(&remote);
    sh_map_init(&remote);
    pthread_mutex_unlock(&lock);
}

/* A random (v4) urn:uuid: id. */
static void new_subscriber_id(char out[SH_SUB_ID_MAX])
{
    unsigned char u[16];
    size_t got = 0;
    ssize_t n;

    while (got < sizeof(u) && (n = getrandom(u + got, sizeof(u) - got, 0)) > 0)
        got += (size_t)n;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    snprintf(out, SH_SUB_ID_MAX,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

void sh_presence_stream_started(sh_conn_t *c)
{
    const sh_selectors_t *sel = &c->sub.sel;
    size_t n = sel->ntopics + (sel->all ? 1 : 0), i, idlen;
    sh_buf_t b;

    /* A loop that is stopping has announced its leaves: a stream opened since is not
     * announced at all (it is closed in a moment). */
    if (!c->w->srv->cfg->subscriptions || c->w->draining)
        return;
    new_subscriber_id(c->sub_id);
    c->precs = sh_calloc(n, sizeof(*c->precs));
    if (c->precs == NULL)
        return;
    for (i = 0; i < n; i++) {
        sh_presence_rec_t *r = &c->precs[i];
        r->topic = i < sel->ntopics ? sel->topics[i].ptr : "*";
        r->topic_len = i < sel->ntopics ? sel->topics[i].len : 1;
        {
            int kind = i < sel->ntopics ? (int)sh_selectors_kind(sel, i) : sel->all_kind;
            r->v08 = kind != SH_SEL_TOPIC;
            r->match_type =
                kind == SH_SEL_URLPATTERN ? SH_MERCURE_MATCH_URLPATTERN : SH_MERCURE_MATCH_EXACT;
        }
        sh_buf_init(&b, 64 * 1024);
        sh_buf_append_str(&b, PREFIX "/");
        if (r->v08) { /* draft-08: .../subscriptions/{matchType}/{match}/{subscriber} */
            sh_buf_append_str(&b, r->match_type);
            sh_buf_append_str(&b, "/");
        }
        append_escaped(&b, r->topic, r->topic_len);
        sh_buf_append_str(&b, "/");
        append_escaped(&b, c->sub_id, strlen(c->sub_id));
        sh_buf_append(&b, "", 1);
        r->id = sh_buf_take(&b, &idlen);
        r->sub = c->sub_id;
        r->payload = c->claims != NULL ? c->claims->payload : NULL;
        sh_list_init(&r->link);
        if (r->id == NULL)
            continue;
        pthread_mutex_lock(&lock);
        sh_list_push_back(&records, &r->link);
        pthread_mutex_unlock(&lock);
        announce(c, r, 1);
    }
    c->nprecs = n;
}

/* Removes |c|'s subscriptions from the active list, announcing each leave if |announce_it|.
 * Returns how many it removed. */
static size_t leave(sh_conn_t *c, int announce_it)
{
    size_t i, n = 0;

    for (i = 0; i < c->nprecs; i++) {
        sh_presence_rec_t *r = &c->precs[i];
        if (r->id == NULL)
            continue;
        pthread_mutex_lock(&lock);
        sh_list_remove(&r->link);
        pthread_mutex_unlock(&lock);
        if (announce_it)
            announce(c, r, 0);
        sh_free(r->id);
        r->id = NULL; /* left: announced once */
        n++;
    }
    return n;
}

/* Removes |c|'s subscriptions (see leave()) and frees its records. Returns how many. */
static size_t leave_all(sh_conn_t *c, int announce_it)
{
    size_t n = leave(c, announce_it);

    sh_free(c->precs);
    c->precs = NULL;
    c->nprecs = 0;
    return n;
}

void sh_presence_stream_closed(sh_conn_t *c)
{
    if (c->precs != NULL)
        (void)leave_all(c, !c->w->stopping);
}

int sh_presence_worker_leave(sh_worker_t *w, size_t max)
{
    size_t n = 0;
    sh_list_t *it;

    for (it = w->conns.next; it != &w->conns; it = it->next) {
        sh_conn_t *c = sh_container_of(it, sh_conn_t, all);

        if (c->precs == NULL)
            continue;
        if (n >= max)
            return 1;
        n += leave_all(c, 1);
    }
    return 0;
}

/* The escaped subscriber id that a record id ends with. */
static const char *id_subscriber(const char *id)
{
    const char *slash = strrchr(id, '/');

    return slash != NULL ? slash + 1 : "";
}

/* Where the escaped topic (or match) of the record |id| starts: after PREFIX "/", and for a
 * draft-08 record (".../subscriptions/{Exact|URLPattern}/{match}/{subscriber}") after the
 * match type. A
 * draft-07 topic segment is escaped, so it holds no '/': only a draft-08 id has two slashes
 * after the prefix. NULL when |id| is not a record id. */
static const char *id_topic(const char *id)
{
    size_t plen = strlen(PREFIX "/"), elen = strlen(SH_MERCURE_MATCH_EXACT "/"),
           ulen = strlen(SH_MERCURE_MATCH_URLPATTERN "/");
    const char *start, *sub;

    if (strlen(id) <= plen || memcmp(id, PREFIX "/", plen) != 0)
        return NULL;
    start = id + plen;
    sub = id_subscriber(id);
    if (strncmp(start, SH_MERCURE_MATCH_EXACT "/", elen) == 0 && sub > start + elen)
        start += elen;
    else if (strncmp(start, SH_MERCURE_MATCH_URLPATTERN "/", ulen) == 0 && sub > start + ulen)
        start += ulen;
    return sub > start ? start : NULL;
}

/* Whether the record |id| is in draft-08's shape (its updates are of type "mercure"). */
static int id_v08(const char *id)
{
    const char *start = id_topic(id);

    return start != NULL && start != id + strlen(PREFIX "/");
}

/* Whether the record |id| is selected by the request path's escaped segments (NULL: any), and
 * for a draft-08 request with a match type ("/Exact", |mt_len| bytes), made with that type. */
static int id_selected(const char *id, const char *mt, size_t mt_len, const char *topic_seg,
                       size_t topic_len, const char *sub_seg, size_t sub_len)
{
    const char *start = id_topic(id);
    const char *sub = id_subscriber(id);
    size_t plen = strlen(PREFIX), tl;

    if (start == NULL)
        return 0;
    if (mt_len > 0 && (start != id + plen + mt_len + 1 || memcmp(id + plen, mt, mt_len) != 0))
        return 0;
    tl = (size_t)(sub - 1 - start);
    if (topic_seg != NULL && (tl != topic_len || memcmp(start, topic_seg, tl) != 0))
        return 0;
    if (sub_seg != NULL && (strlen(sub) != sub_len || memcmp(sub, sub_seg, sub_len) != 0))
        return 0;
    return 1;
}

static int hex_val(int ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Percent-decodes a path segment (RFC 3986: '+' is itself; a '%' not followed by two hex
 * digits is itself) into |dst|. Returns the decoded length. */
static size_t path_decode(const char *src, size_t len, char *dst)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        int hi = -1, lo = -1;

        if (src[i] == '%' && i + 2 < len) {
            hi = hex_val((unsigned char)src[i + 1]);
            lo = hex_val((unsigned char)src[i + 2]);
        }
        if (hi >= 0 && lo >= 0) {
            dst[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dst[n++] = src[i];
        }
    }
    return n;
}

/* Re-escapes one path segment as ids are escaped (a client may have escaped differently):
 * decoded as a form value (a '+' is a space) for draft-07, as ssehub always has, and as a
 * path segment for draft-08 (|as_path|: a '+' is a '+', as in a URL pattern's "(\\d+)"). */
static void canonical_segment(sh_buf_t *out, const char *seg, size_t len, int as_path)
{
    char *tmp = sh_malloc(len + 1);
    size_t n;

    if (tmp == NULL)
        return;
    n = as_path ? path_decode(seg, len, tmp) : sh_form_decode(seg, len, tmp);
    append_escaped(out, tmp, n);
    sh_free(tmp);
}

/* The id of the newest event: the lastEventID of the answer. */
static char *last_event_id(sh_server_t *srv)
{
    sh_selectors_t none;
    sh_replay_t rp;
    char *id = NULL;

    memset(&none, 0, sizeof(none));
    if (sh_store_replay(srv->store, &none, NULL, 0, sh_wall_ms(), &rp) == 0) {
        id = rp.last_event_id;
        rp.last_event_id = NULL;
        sh_replay_dispose(&rp);
    }
    return id;
}

/* Whether the request may read the API: see README (Mercure authorization). */
static int may_read(sh_conn_t *c, const char *path, size_t path_len, int *token_version)
{
    sh_server_t *srv = c->w->srv;

    *token_version = 0;
    if (!sh_authz_subscribers_checked(srv)) {
        if (srv->cfg->anonymous)
            return 1;
        sh_conn_error(c, 401, "missing token: anonymous subscribers are refused (--anonymous no)",
                      0);
        return 0;
    }
    if (sh_authz_subscribe(c, "", 0) != 0)
        return 0; /* 401 sent */
    if (c->claims == NULL) {
        sh_conn_error(c, 401, "missing token: the subscriptions API needs mercure.subscribe", 0);
        return 0;
    }
    if (!c->claims->has_subscribe ||
        !sh_selectors_match_topic(&c->claims->subscribe, path, path_len)) {
        sh_authz_stream_closed(c);
        sh_conn_error(c, 403, "the token's mercure.subscribe does not cover this resource", 0);
        return 0;
    }
    *token_version = c->claims->version;
    sh_authz_stream_closed(c); /* frees the claims: a plain request keeps nothing */
    return 1;
}

/* Appends the quoted entity tag of |id| (RFC 9110: etagc is 0x21, 0x23-0x7E or above 0x7F):
 * an id byte that may not appear in one, and '%', is percent-encoded, so that two ids never
 * share a tag and no byte of an id can end the tag or the header line. Returns as
 * sh_buf_append(). */
static int append_etag(sh_buf_t *b, const char *id, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int rc = sh_buf_append_str(b, "ETag: \"");

    for (i = 0; i < len && rc == 0; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (ch > 0x20 && ch < 0x7F && ch != '"' && ch != '%') {
            rc = sh_buf_append(b, &id[i], 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = sh_buf_append(b, e, 3);
        }
    }
    return rc != 0 ? rc : sh_buf_append_str(b, "\"\r\n");
}

/* The extra headers of a draft-08 answer: the quoted ETag (the lastEventID |last|) and the
 * cache rule (every answer links the hub already: sh_conn_respond). NUL-terminated in |h|;
 * 0, or -1 out of memory. */
static int headers_08(sh_buf_t *h, const char *last)
{
    int rc = append_etag(h, last, strlen(last));

    rc |= sh_buf_append_str(h, "Cache-Control: " SH_MERCURE_SUBS_CACHE_08 "\r\n");
    rc |= sh_buf_append(h, "", 1);
    return rc == 0 && h->base != NULL ? 0 : -1;
}

void sh_presence_handle(sh_conn_t *c, const char *path, size_t path_len)
{
    sh_server_t *srv = c->w->srv;
    size_t plen = strlen(PREFIX);
    const char *rest = path + plen, *end = path + path_len, *slash, *mt = NULL, *last_s;
    sh_buf_t topic_c, sub_c, b, h;
    const char *tseg = NULL, *sseg = NULL;
    size_t tlen = 0, slen = 0, count = 0, mt_len = 0, last_len;
    char *last;
    sh_list_t *n;
    int single, token_version, v08;

    if (!srv->cfg->subscriptions) {
        sh_conn_error(c, 404, "not found: the subscriptions API needs --subscriptions", 0);
        return;
    }
    if (llhttp_get_method(&c->req->parser) != HTTP_GET) {
        sh_conn_respond(c, 405, "text/plain; charset=utf-8", "Allow: GET\r\n",
                        "method not allowed: use GET\n", 28);
        return;
    }
    if (!may_read(c, path, path_len, &token_version))
        return;
    /* Draft-08: "/{matchType}/{match}[/{subscriber}]", or the collection asked with a
     * draft-08 access token; draft-07: "/{topic}[/{subscriber}]" (proto/mercure.c). */
    v08 = sh_mercure_subs_api_version(rest, (size_t)(end - rest), token_version, &mt_len) ==
          SH_MERCURE_08;
    if (mt_len > 0) {
        mt = rest;
        rest += mt_len;
    }
    sh_buf_init(&topic_c, 64 * 1024);
    sh_buf_init(&sub_c, 1024);
    if (rest < end) {
        rest++;
        slash = memchr(rest, '/', (size_t)(end - rest));
        canonical_segment(&topic_c, rest,
                          slash != NULL ? (size_t)(slash - rest) : (size_t)(end - rest), v08);
        tseg = topic_c.base != NULL ? topic_c.base : "";
        tlen = topic_c.len;
        if (slash != NULL) {
            canonical_segment(&sub_c, slash + 1, (size_t)(end - slash - 1), v08);
            sseg = sub_c.base != NULL ? sub_c.base : "";
            slen = sub_c.len;
        }
    }
    single = sseg != NULL;
    last = last_event_id(srv);
    last_s = last != NULL ? last : "earliest";
    last_len = strlen(last_s);
    sh_buf_init(&b, 64 * 1024 * 1024);
    sh_buf_init(&h, 16 * 1024);
    if (!single) {
        sh_buf_append_str(&b, "{\"@context\":\"" SH_MERCURE_JSONLD_CONTEXT "\",\"id\":");
        sh_json_append_string(&b, path, path_len);
        sh_buf_append_str(&b, ",\"type\":\"Subscriptions\",\"lastEventID\":");
        sh_json_append_string(&b, last_s, last_len);
        sh_buf_append_str(&b, ",\"subscriptions\":[");
    }
    pthread_mutex_lock(&lock);
    for (n = records.next; n != &records; n = n->next) {
        const sh_presence_rec_t *r = sh_container_of(n, sh_presence_rec_t, link);
        if (!id_selected(r->id, mt, mt_len, tseg, tlen, sseg, slen))
            continue;
        if (count++ > 0)
            sh_buf_append_str(&b, ",");
        append_subscription(&b, r, r->sub, r->payload, 1);
        if (single)
            break;
    }
    if (!single || count == 0) { /* the other nodes' (shared stores) */
        size_t i;
        sh_map_entry_t *e;

        for (i = 0; (e = sh_map_next(&remote, &i)) != NULL;) {
            const remote_rec_t *r = e->value;

            if (!id_selected(r->id, mt, mt_len, tseg, tlen, sseg, slen))
                continue;
            if (count++ > 0)
                sh_buf_append_str(&b, ",");
            sh_buf_append_str(&b, r->json);
            if (single)
                break;
        }
    }
    pthread_mutex_unlock(&lock);
    if (!single)
        sh_buf_append_str(&b, "]}");
    if (single && count == 0) {
        sh_conn_error(c, 404, "no such active subscription", 0);
    } else if (b.len == 0 || b.base == NULL || (v08 && headers_08(&h, last_s) != 0)) {
        sh_conn_error(c, 500, "out of memory", 0);
    } else {
        if (single) { /* the object itself, with lastEventID added */
            b.len--;  /* drop the closing brace */
            sh_buf_append_str(&b, ",\"lastEventID\":");
            sh_json_append_string(&b, last_s, last_len);
            sh_buf_append_str(&b, "}");
        }
        if (single && v08 && b.base != NULL && strncmp(b.base, "{\"@context\"", 11) != 0) {
            /* draft-08's record is the subscription event's plain JSON: a document of its
             * own names its context, as the spec's example does */
            static const char ctx[] = "{\"@context\":\"" SH_MERCURE_JSONLD_CONTEXT "\",";
            sh_buf_t d;

            sh_buf_init(&d, 64 * 1024 * 1024);
            if (sh_buf_append_str(&d, ctx) != 0 || sh_buf_append(&d, b.base + 1, b.len - 1) != 0)
                sh_buf_dispose(&d); /* out of memory: answered below */
            sh_buf_dispose(&b);
            b = d;
        }
        if (b.base == NULL)
            sh_conn_error(c, 500, "out of memory", 0);
        else
            sh_conn_respond(c, 200, "application/ld+json",
                            v08 ? h.base : "Cache-Control: no-store\r\n", b.base, b.len);
    }
    sh_free(last);
    sh_buf_dispose(&b);
    sh_buf_dispose(&h);
    sh_buf_dispose(&topic_c);
    sh_buf_dispose(&sub_c);
}
