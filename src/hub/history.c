/* SPDX-License-Identifier: MIT */
/*
 * sh_history: per-topic rings of retained events, an id index, and one seq-ordered list of
 * the distinct retained events (for `*` replay and age expiry).
 *
 * Each retained event has one node, which holds the history's one reference to it. Rings
 * hold nodes; a node counts the rings holding it and is released (dropped from the list
 * and the index, its reference let go) when the last ring pops it. The history also keeps
 * a reference to the newest event appended, retained or not, for the Last-Event-ID header.
 *
 * The byte bound (max_bytes) counts every retained event's frame, strings and bookkeeping;
 * past it the oldest events go first, whatever their topic.
 *
 * Every ring is in seq order, and so is the list. A node's age is measured from its |t|,
 * the event's time raised to the previous node's: times then never decrease along the
 * list even if the caller's clock stepped back, so the expired events are always a
 * prefix of the list and of each ring.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/map.h"
#include "base/str.h"
#include "hub/history.h"

#define EARLIEST     "earliest"
#define EARLIEST_LEN (sizeof(EARLIEST) - 1)
#define RING_MIN     4

typedef struct hnode_s hnode_t;
typedef struct htopic_s htopic_t;

struct hnode_s {
    sh_event_t *ev;       /* the history's reference */
    int64_t t;            /* the time the age bound is measured from (see above) */
    size_t cost;          /* node_cost(): counted against the byte bound */
    size_t nrings;        /* rings holding this node */
    hnode_t *prev, *next; /* the list of retained events, oldest first */
};

struct htopic_s {
    hnode_t **ring;  /* oldest at |head|; wraps at |cap| (not a power of two when capped) */
    size_t cap;      /* slots in |ring|; grows by doubling up to max_per_topic */
    size_t head;     /* index of the oldest node */
    size_t n;        /* nodes held */
    htopic_t *tmp;   /* link of a list local to one append (created, or emptied, topics) */
    size_t name_len; /* bytes at |name| */
    char name[];     /* the topic; the key of this topic in the map */
};

struct sh_history_s {
    size_t max_per_topic;
    int64_t max_age_ms; /* 0: no age bound */
    sh_map_t topics;    /* name -> htopic_t; only topics with a non-empty ring */
    sh_map_t ids;       /* event id -> hnode_t */
    hnode_t *oldest;    /* the list of retained events */
    hnode_t *newest;
    size_t count;      /* nodes in the list */
    size_t max_bytes;  /* bound on |bytes|; 0: none */
    size_t bytes;      /* node_cost() of the retained events */
    uint64_t next_seq; /* seq of the next append */
    sh_event_t *last;  /* the newest event appended (referenced), or NULL */
    void (*on_release)(void *user, sh_event_t *ev); /* sh_history_config_t's hook */
    void *release_user;
};

/* ---- rings -------------------------------------------------------------------------- */

static hnode_t *ring_at(const htopic_t *t, size_t i)
{
    size_t k = t->head + i;

    if (k >= t->cap)
        k -= t->cap;
    return t->ring[k];
}

static hnode_t *ring_newest(const htopic_t *t)
{
    return t->n > 0 ? ring_at(t, t->n - 1) : NULL;
}

/* Appends |node|; the ring has room. */
static void ring_push(htopic_t *t, hnode_t *node)
{
    size_t k = t->head + t->n;

    assert(t->n < t->cap);
    if (k >= t->cap)
        k -= t->cap;
    t->ring[k] = node;
    t->n++;
}

static hnode_t *ring_pop(htopic_t *t)
{
    hnode_t *node = t->ring[t->head];

    assert(t->n > 0);
    if (++t->head == t->cap)
        t->head = 0;
    t->n--;
    return node;
}

/* Makes the ring room for one more node unless it is at |max| already. 0 or ENOMEM. */
static int ring_grow(htopic_t *t, size_t max)
{
    hnode_t **ring;
    size_t cap, i;

    if (t->n < t->cap || t->cap >= max)
        return 0;
    cap = t->cap == 0 ? RING_MIN : (t->cap > SIZE_MAX / 2 ? SIZE_MAX : t->cap * 2);
    if (cap > max)
        cap = max;
    if (cap > SIZE_MAX / sizeof(*ring))
        return SSEHUB_ENOMEM;
    ring = sh_malloc(cap * sizeof(*ring));
    if (ring == NULL)
        return SSEHUB_ENOMEM;
    for (i = 0; i < t->n; i++)
        ring[i] = ring_at(t, i);
    sh_free(t->ring);
    t->ring = ring;
    t->cap = cap;
    t->head = 0;
    return 0;
}

/* Index of the first node with a seq greater than |after| (binary search). */
static size_t ring_first_after(const htopic_t *t, uint64_t after)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring_at(t, mid)->ev->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- topics and nodes --------------------------------------------------------------- */

static htopic_t *topic_get(const sh_history_t *h, const char *name, size_t len)
{
    return sh_map_get(&h->topics, name, len);
}

/* A new empty topic, not yet in the map; NULL when out of memory. */
static htopic_t *topic_new(const sh_str_t *name)
{
    htopic_t *t;

    if (name->len > SIZE_MAX - sizeof(*t) - 1)
        return NULL;
    t = sh_malloc(sizeof(*t) + name->len + 1);
    if (t == NULL)
        return NULL;
    memset(t, 0, sizeof(*t));
    if (name->len > 0)
        memcpy(t->name, name->ptr, name->len);
    t->name[name->len] = '\0';
    t->name_len = name->len;
    return t;
}

/* Removes |t| from the map and frees it. */
static void topic_free(sh_history_t *h, htopic_t *t)
{
    void *was = sh_map_del(&h->topics, t->name, t->name_len);

    assert(was == t);
    (void)was;
    sh_free(t->ring);
    sh_free(t);
}

/* Releases a node no ring holds any more: out of the list and the index, reference let go. */
static void node_release(sh_history_t *h, hnode_t *node)
{
    void *was;

    assert(node->nrings == 0);
    was = sh_map_del(&h->ids, node->ev->id.ptr, node->ev->id.len);
    assert(was == node);
    (void)was;
    if (node->prev != NULL)
        node->prev->next = node->next;
    else
        h->oldest = node->next;
    if (node->next != NULL)
        node->next->prev = node->prev;
    else
        h->newest = node->prev;
    h->count--;
    h->bytes -= node->cost;
    if (h->on_release != NULL)
        h->on_release(h->release_user, node->ev);
    sh_event_unref(node->ev);
    sh_free(node);
}

/* Whether |node| is older than the age bound as of |now_ms|: now - t > max_age. */
static int node_expired(const sh_history_t *h, const hnode_t *node, int64_t now_ms)
{
    if (h->max_age_ms <= 0 || now_ms <= node->t)
        return 0;
    return (uint64_t)now_ms - (uint64_t)node->t > (uint64_t)h->max_age_ms;
}

/*
 * Releases the oldest retained event. It sits at the head of every ring that holds it. A
 * topic whose ring empties is freed, or, when |emptied| is not NULL, put on that list for
 * the caller to free later (an append in progress may be about to refill it).
 */
static void release_oldest(sh_history_t *h, htopic_t **emptied)
{
    hnode_t *node = h->oldest;
    const sh_event_t *ev = node->ev;
    size_t i;

    for (i = 0; i < ev->ntopics && node->nrings > 0; i++) {
        htopic_t *t = topic_get(h, ev->topics[i].ptr, ev->topics[i].len);
        /* A topic listed twice was popped already, or the count bound evicted it. */
        if (t == NULL || t->n == 0 || ring_at(t, 0) != node)
            continue;
        (void)ring_pop(t);
        node->nrings--;
        if (t->n > 0)
            continue;
        if (emptied != NULL) {
            t->tmp = *emptied;
            *emptied = t;
        } else {
            topic_free(h, t);
        }
    }
    node_release(h, node);
}

/* Releases the expired prefix of the list. Returns how many were released. */
static size_t expire(sh_history_t *h, int64_t now_ms, size_t max, htopic_t **emptied)
{
    size_t released = 0;

    while (released < max && h->oldest != NULL && node_expired(h, h->oldest, now_ms)) {
        release_oldest(h, emptied);
        released++;
    }
    return released;
}

/* Releases the oldest events while the history holds more than its byte bound (never
 * |keep|, the event just appended). */
static void shrink(sh_history_t *h, const hnode_t *keep, htopic_t **emptied)
{
    while (h->max_bytes > 0 && h->bytes > h->max_bytes && h->oldest != NULL && h->oldest != keep)
        release_oldest(h, emptied);
}

/* What a retained event costs, for the byte bound: its frame, strings and bookkeeping. */
static size_t node_cost(const sh_event_t *ev)
{
    size_t cost = sizeof(hnode_t) + sizeof(sh_event_t) + ssehub_rcbuf_len(ev->wire) + ev->id.len;
    size_t i;

    for (i = 0; i < ev->ntopics; i++)
        cost += ev->topics[i].len + sizeof(sh_str_t) + sizeof(hnode_t *);
    return cost;
}

/* ---- the API ------------------------------------------------------------------------ */

int sh_history_new(const sh_history_config_t *cfg, uint64_t first_seq, sh_history_t **out)
{
    sh_history_t *h;

    *out = NULL;
    h = sh_calloc(1, sizeof(*h));
    if (h == NULL)
        return SSEHUB_ENOMEM;
    h->max_per_topic = cfg->max_per_topic;
    h->max_age_ms = cfg->max_age_ms > 0 ? cfg->max_age_ms : 0;
    h->max_bytes = cfg->max_bytes;
    h->on_release = cfg->on_release;
    h->release_user = cfg->release_user;
    sh_map_init(&h->topics);
    sh_map_init(&h->ids);
    h->next_seq = first_seq + 1;
    *out = h;
    return 0;
}

void sh_history_free(sh_history_t *h)
{
    hnode_t *node, *next;
    sh_map_entry_t *e;
    size_t it = 0;

    if (h == NULL)
        return;
    for (node = h->oldest; node != NULL; node = next) {
        next = node->next;
        sh_event_unref(node->ev);
        sh_free(node);
    }
    while ((e = sh_map_next(&h->topics, &it)) != NULL) {
        htopic_t *t = e->value;
        sh_free(t->ring);
        sh_free(t);
    }
    sh_map_dispose(&h->topics);
    sh_map_dispose(&h->ids);
    sh_event_unref(h->last);
    sh_free(h);
}

uint64_t sh_history_next_seq(const sh_history_t *h)
{
    return h->next_seq;
}

int sh_history_skip(sh_history_t *h, uint64_t next_seq)
{
    if (next_seq < h->next_seq)
        return SSEHUB_EINVAL;
    h->next_seq = next_seq;
    return 0;
}

size_t sh_history_count(const sh_history_t *h)
{
    return h->count;
}

sh_event_t *sh_history_find(const sh_history_t *h, const char *id, size_t len)
{
    const hnode_t *node = sh_map_get(&h->ids, id, len);

    return node != NULL ? node->ev : NULL;
}

sh_event_t *sh_history_holder(const sh_history_t *h, const char *id, size_t len, int64_t now_ms)
{
    const hnode_t *node = sh_map_get(&h->ids, id, len);

    return node != NULL && !node_expired(h, node, now_ms) ? node->ev : NULL;
}

sh_history_idcheck_t sh_history_check_id(const sh_history_t *h, const sh_event_t *ev,
                                         int64_t now_ms, sh_event_t **held, sh_event_diff_t *diff)
{
    sh_event_diff_t d = SH_EVENT_SAME;

    *held = sh_history_holder(h, ev->id.ptr, ev->id.len, now_ms);
    if (*held != NULL)
        d = sh_event_compare(ev, *held);
    if (diff != NULL)
        *diff = d;
    if (*held == NULL)
        return SH_HISTORY_ID_NEW;
    return d == SH_EVENT_SAME ? SH_HISTORY_ID_DUPLICATE : SH_HISTORY_ID_CONFLICT;
}

size_t sh_history_expire(sh_history_t *h, int64_t now_ms)
{
    return expire(h, now_ms, SIZE_MAX, NULL);
}

size_t sh_history_expire_some(sh_history_t *h, int64_t now_ms, size_t max)
{
    return expire(h, now_ms, max, NULL);
}

/* Sets the newest event appended. */
static void set_last(sh_history_t *h, sh_event_t *ev)
{
    sh_event_t *old = h->last;

    h->last = sh_event_ref(ev);
    sh_event_unref(old);
}

/*
 * Appends in two phases so that ENOMEM changes nothing: first everything that allocates
 * (the node, room in the id index, new topics in the topic map, room in the rings), undone
 * on failure; then, unable to fail, the age expiry, the count evictions and the pushes.
 * Topics the expiry empties are freed only at the end, unless this event refilled them.
 */
int sh_history_append(sh_history_t *h, sh_event_t *ev, int64_t now_ms)
{
    htopic_t *created = NULL, *emptied = NULL, *t;
    hnode_t *node;
    size_t i;
    int rc;

    if (ev->seq != h->next_seq)
        return SSEHUB_EINVAL;
    if (sh_history_holder(h, ev->id.ptr, ev->id.len, now_ms) != NULL)
        return SSEHUB_EINVAL;
    if (h->max_per_topic == 0)
        goto out_appended; /* nothing is retained, so nothing can expire */

    /* Phase 1: allocate. */
    node = sh_malloc(sizeof(*node));
    if (node == NULL)
        return SSEHUB_ENOMEM;
    rc = sh_map_reserve(&h->ids, 1);
    if (rc != 0)
        goto err_undo;
    for (i = 0; i < ev->ntopics; i++) {
        t = topic_get(h, ev->topics[i].ptr, ev->topics[i].len);
        if (t == NULL) {
            t = topic_new(&ev->topics[i]);
            if (t == NULL) {
                rc = SSEHUB_ENOMEM;
                goto err_undo;
            }
            rc = sh_map_put(&h->topics, t->name, t->name_len, t);
            if (rc != 0) {
                sh_free(t);
                goto err_undo;
            }
            t->tmp = created;
            created = t;
        }
        rc = ring_grow(t, h->max_per_topic);
        if (rc != 0)
            goto err_undo;
    }

    /* Phase 2: commit; nothing below allocates. */
    (void)expire(h, now_ms, SIZE_MAX, &emptied);
    node->ev = sh_event_ref(ev);
    node->t = ev->time_ms;
    if (h->newest != NULL && h->newest->t > node->t)
        node->t = h->newest->t;
    node->nrings = 0;
    node->cost = node_cost(ev);
    h->bytes += node->cost;
    node->next = NULL;
    node->prev = h->newest;
    if (h->newest != NULL)
        h->newest->next = node;
    else
        h->oldest = node;
    h->newest = node;
    h->count++;
    rc = sh_map_put(&h->ids, ev->id.ptr, ev->id.len, node);
    assert(rc == 0); /* room was reserved */
    for (i = 0; i < ev->ntopics; i++) {
        t = topic_get(h, ev->topics[i].ptr, ev->topics[i].len);
        assert(t != NULL);
        if (ring_newest(t) == node)
            continue; /* the topic is listed twice */
        if (t->n == h->max_per_topic) {
            hnode_t *old = ring_pop(t);
            if (--old->nrings == 0)
                node_release(h, old);
        }
        ring_push(t, node);
        node->nrings++;
    }
    shrink(h, node, &emptied);
    while (emptied != NULL) {
        t = emptied;
        emptied = t->tmp;
        if (t->n == 0)
            topic_free(h, t);
    }

out_appended:
    set_last(h, ev);
    h->next_seq++;
    return 0;

err_undo:
    while (created != NULL) {
        t = created;
        created = t->tmp;
        topic_free(h, t);
    }
    sh_free(node);
    return rc;
}

/* ---- replay ------------------------------------------------------------------------- */

/* A position in one topic's ring, for the k-way merge. */
typedef struct cursor_s {
    const htopic_t *t;
    size_t i;
} cursor_t;

static uint64_t cursor_seq(const cursor_t *c)
{
    return ring_at(c->t, c->i)->ev->seq;
}

/* Restores the min-heap order (by the seq under each cursor) below index |i|. */
static void heap_down(cursor_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        cursor_t tmp;
        if (l < n && cursor_seq(&heap[l]) < cursor_seq(&heap[m]))
            m = l;
        if (r < n && cursor_seq(&heap[r]) < cursor_seq(&heap[m]))
            m = r;
        if (m == i)
            return;
        tmp = heap[i];
        heap[i] = heap[m];
        heap[m] = tmp;
        i = m;
    }
}

/* Whether a replay may send |node| to |sel| (the topic is known to match). */
static int may_send(const sh_history_t *h, const sh_selectors_t *sel, const hnode_t *node,
                    int64_t now_ms)
{
    return sh_selectors_can_see(sel, node->ev) && !node_expired(h, node, now_ms);
}

/*
 * Exact selectors: merges the rings of the selected topics by seq from the first node
 * after |after|; a node in several of them comes out of the heap once per ring, in a row,
 * and is kept once. The array is sized for the worst case before the merge.
 */
static int collect_exact(const sh_history_t *h, const sh_selectors_t *sel, uint64_t after,
                         int64_t now_ms, sh_replay_t *out)
{
    cursor_t *heap = NULL;
    size_t k = 0, bound = 0, i;
    const hnode_t *prev = NULL;
    int rc = 0;

    if (sel->ntopics == 0)
        return 0;
    heap = sh_malloc(sel->ntopics * sizeof(*heap));
    if (heap == NULL)
        return SSEHUB_ENOMEM;
    for (i = 0; i < sel->ntopics; i++) {
        const htopic_t *t = topic_get(h, sel->topics[i].ptr, sel->topics[i].len);
        size_t first;
        if (t == NULL)
            continue;
        first = ring_first_after(t, after);
        if (first == t->n)
            continue;
        heap[k].t = t;
        heap[k].i = first;
        k++;
        bound += t->n - first;
    }
    if (bound == 0)
        goto out;
    out->events = sh_malloc(bound * sizeof(*out->events));
    if (out->events == NULL) {
        rc = SSEHUB_ENOMEM;
        goto out;
    }
    for (i = k; i-- > 0;)
        heap_down(heap, k, i);
    while (k > 0) {
        const hnode_t *node = ring_at(heap[0].t, heap[0].i);
        if (node != prev && may_send(h, sel, node, now_ms))
            out->events[out->n++] = sh_event_ref(node->ev);
        prev = node;
        if (++heap[0].i == heap[0].t->n)
            heap[0] = heap[--k];
        heap_down(heap, k, 0);
    }
out:
    sh_free(heap);
    return rc;
}

/* `*` or URI templates: the list from the first node after |after|, found by walking back from the
 * end. */
static int collect_all(const sh_history_t *h, const sh_selectors_t *sel, uint64_t after,
                       int64_t now_ms, sh_replay_t *out)
{
    const hnode_t *first = NULL, *node;
    size_t n = 0;

    for (node = h->newest; node != NULL && node->ev->seq > after; node = node->prev)
        first = node;
    for (node = first; node != NULL; node = node->next) {
        if (!node_expired(h, node, now_ms) && sh_selectors_match(sel, node->ev))
            n++;
    }
    if (n == 0)
        return 0;
    out->events = sh_malloc(n * sizeof(*out->events));
    if (out->events == NULL)
        return SSEHUB_ENOMEM;
    for (node = first; node != NULL; node = node->next) {
        if (!node_expired(h, node, now_ms) && sh_selectors_match(sel, node->ev))
            out->events[out->n++] = sh_event_ref(node->ev);
    }
    return 0;
}

/*
 * Resolves |last_id| to "replay the events after seq |after|" (or nothing) and to the
 * header value, then collects: from the list for `*`, else by merging the topics' rings.
 */
int sh_history_replay(sh_history_t *h, const sh_selectors_t *sel, const char *last_id,
                      size_t last_id_len, int64_t now_ms, sh_replay_t *out)
{
    const char *hdr;
    size_t hdr_len;
    uint64_t after = 0;
    int replay = 1, rc;

    memset(out, 0, sizeof(*out));
    out->snapshot_seq = h->next_seq - 1;
    if (last_id != NULL && last_id_len == EARLIEST_LEN &&
        memcmp(last_id, EARLIEST, EARLIEST_LEN) == 0) {
        after = 0; /* seqs start at first_seq + 1 >= 1 */
    } else if (last_id != NULL) {
        const hnode_t *node = sh_map_get(&h->ids, last_id, last_id_len);
        if (node != NULL) {
            after = node->ev->seq;
        } else {
            rc = sh_parse_u64(last_id, last_id_len, &after);
            if (rc == SSEHUB_E2BIG)
                after = UINT64_MAX; /* past every seq: nothing to replay */
            else if (rc != 0)
                replay = 0;
        }
    } else {
        replay = 0;
    }

    if (replay) {
        hdr = last_id;
        hdr_len = last_id_len;
    } else if (h->last != NULL) {
        hdr = h->last->id.ptr;
        hdr_len = h->last->id.len;
    } else {
        hdr = EARLIEST;
        hdr_len = EARLIEST_LEN;
    }
    out->last_event_id = sh_malloc(hdr_len + 1);
    if (out->last_event_id == NULL)
        return SSEHUB_ENOMEM;
    memcpy(out->last_event_id, hdr, hdr_len);
    out->last_event_id[hdr_len] = '\0';
    out->last_event_id_len = hdr_len;

    if (replay) {
        rc = sel->all || sel->ntemplates > 0 || sel->npatterns > 0
                 ? collect_all(h, sel, after, now_ms, out)
                 : collect_exact(h, sel, after, now_ms, out);
        if (rc != 0) {
            sh_replay_dispose(out);
            return rc;
        }
    }
    return 0;
}

void sh_replay_dispose(sh_replay_t *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        sh_event_unref(r->events[i]);
    sh_free(r->events);
    sh_free(r->last_event_id);
    memset(r, 0, sizeof(*r));
}
