/* SPDX-License-Identifier: MIT */
/*
 * sh_subs: a map from each distinct selector string (an exact topic or a URI template) to a
 * doubly linked list of links (one link per subscription and selector, all of a
 * subscription's links in one array), a list of the template entries, and a list of the
 * `*` subscriptions. A template is compiled once per registry entry, however many
 * subscriptions share it, and matched once per dispatch. Dispatch allocates nothing (but
 * see sh_uritpl_match() for topics over 4 KiB).
 *
 * A dispatch keeps, in a cursor on its stack reachable from |dispatch_cursor|, the link
 * (or `*` subscription) it will visit next. Removing a subscription moves any cursor off
 * its links first, so a callback may remove subscriptions without the dispatch touching
 * freed memory; a topic whose list empties is freed at once, which is safe because the
 * dispatch only looks at a topic again through the map.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "ssehub/errno.h"
#include "base/alloc.h"
#include "base/map.h"
#include "hub/subs.h"

typedef struct stopic_s stopic_t;
struct stopic_s {
    sh_sub_link_t *head;           /* the links of the subscriptions to this selector */
    sh_uritpl_t *tpl;              /* a URI template entry: compiled; NULL for an exact topic */
    sh_urlpat_t *pat;              /* a URL pattern entry: compiled against |base| */
    sh_url_t base;                 /* the hub's URL of a URL pattern entry */
    size_t text_off;               /* where the selector's text starts in |name| */
    stopic_t *pat_prev, *pat_next; /* in the registry's template list (tpl != NULL) */
    size_t name_len;               /* bytes at |name| */
    char name[]; /* the key in the map: the selector, after a NUL for a template */
};

struct sh_sub_link_s {
    sh_sub_t *sub;
    stopic_t *topic;
    sh_sub_link_t *prev, *next; /* in topic->head's list */
};

/* What a dispatch in progress visits next; |outer| is the dispatch a callback is inside. */
typedef struct dcursor_s {
    struct dcursor_s *outer;
    sh_sub_link_t *next_link;
    sh_sub_t *next_all;
    stopic_t *next_pat;
} dcursor_t;

static sh_map_t *topic_map(const sh_subs_t *r)
{
    return r->topics;
}

int sh_subs_init(sh_subs_t *r)
{
    sh_map_t *m;

    memset(r, 0, sizeof(*r));
    m = sh_malloc(sizeof(*m));
    if (m == NULL)
        return SSEHUB_ENOMEM;
    sh_map_init(m);
    r->topics = m;
    return 0;
}

static void stopic_free(stopic_t *t)
{
    sh_uritpl_free(t->tpl);
    if (t->pat != NULL) {
        sh_urlpat_free(t->pat);
        sh_url_dispose(&t->base);
    }
    sh_free(t);
}

/* Frees the topics still listed (a caller that broke the contract leaks no memory). */
void sh_subs_dispose(sh_subs_t *r)
{
    sh_map_t *m = topic_map(r);
    sh_map_entry_t *e;
    size_t it = 0;

    if (m == NULL)
        return;
    assert(r->count == 0);
    while ((e = sh_map_next(m, &it)) != NULL) {
        stopic_free(e->value);
    }
    sh_map_dispose(m);
    sh_free(m);
    memset(r, 0, sizeof(*r));
}

/* Unlinks |l| from its topic, moving dispatch cursors past it; frees the topic if empty. */
static void link_remove(sh_subs_t *r, sh_sub_link_t *l)
{
    stopic_t *t = l->topic;
    dcursor_t *c;

    for (c = r->dispatch_cursor; c != NULL; c = c->outer) {
        if (c->next_link == l)
            c->next_link = l->next;
    }
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        t->head = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    if (t->head == NULL) {
        void *was = sh_map_del(topic_map(r), t->name, t->name_len);
        assert(was == t);
        (void)was;
        if (t->tpl != NULL || t->pat != NULL) {
            for (c = r->dispatch_cursor; c != NULL; c = c->outer) {
                if (c->next_pat == t)
                    c->next_pat = t->pat_next;
            }
            if (t->pat_prev != NULL)
                t->pat_prev->pat_next = t->pat_next;
            else
                r->pat_head = t->pat_next;
            if (t->pat_next != NULL)
                t->pat_next->pat_prev = t->pat_prev;
            r->npatterns--;
        } else {
            r->ntopics--;
        }
        stopic_free(t);
    }
}

/*
 * Links |l| (its sub set) at the head of selector |i| of |sel|'s list. A URI template (kind
 * SH_SEL_TOPIC, compiled) is keyed by its text after a NUL byte, which no topic holds, so
 * the same string given as an exact selector (draft-08 `match=`) is another entry found
 * by the event's topics; a URL pattern by NUL, 0x01, the hub's URL, NUL and its text. An
 * entry compiles its own copy. 0 or ENOMEM.
 */
static int link_add(sh_subs_t *r, sh_sub_link_t *l, const sh_selectors_t *sel, size_t i)
{
    sh_map_t *m = topic_map(r);
    const sh_str_t *name = &sel->topics[i];
    int is_tpl = sel->tpls != NULL && sel->tpls[i] != NULL;
    int is_pat = sel->pats != NULL && sel->pats[i] != NULL;
    size_t blen = is_pat ? strlen(sel->base_text) : 0;
    size_t off = is_tpl ? 1 : is_pat ? 3 + blen : 0, klen;
    stopic_t *t;
    char *key = NULL;
    const char *reason;

    if (name->len > SIZE_MAX - sizeof(*t) - off - 1)
        return SSEHUB_ENOMEM;
    klen = name->len + off;
    if (off > 0) {
        key = sh_malloc(klen);
        if (key == NULL)
            return SSEHUB_ENOMEM;
        key[0] = '\0';
        if (is_pat) {
            key[1] = '\1';
            memcpy(key + 2, sel->base_text, blen);
            key[2 + blen] = '\0';
        }
        memcpy(key + off, name->ptr, name->len);
        t = sh_map_get(m, key, klen);
    } else {
        t = sh_map_get(m, name->ptr, name->len);
    }
    if (t == NULL) {
        t = sh_calloc(1, sizeof(*t) + klen + 1);
        if (t == NULL) {
            sh_free(key);
            return SSEHUB_ENOMEM;
        }
        t->name_len = klen;
        t->text_off = off;
        if (key != NULL)
            memcpy(t->name, key, klen);
        else
            memcpy(t->name, name->ptr, name->len);
        t->name[klen] = '\0';
        if (is_tpl && sh_uritpl_compile(t->name + 1, name->len, &t->tpl) != 0) {
            sh_free(t);
            sh_free(key);
            return SSEHUB_ENOMEM; /* it compiled for the subscription: only memory can fail */
        }
        if (is_pat &&
            (sh_url_parse(sel->base_text, blen, NULL, &t->base) != 0 ||
             sh_urlpat_compile(t->name + off, name->len, &t->base, &t->pat, &reason) != 0)) {
            if (t->base.mem != NULL)
                sh_url_dispose(&t->base);
            sh_free(t);
            sh_free(key);
            return SSEHUB_ENOMEM;
        }
        if (sh_map_put(m, t->name, t->name_len, t) != 0) {
            stopic_free(t);
            sh_free(key);
            return SSEHUB_ENOMEM;
        }
        if (t->tpl != NULL || t->pat != NULL) {
            t->pat_next = r->pat_head;
            if (r->pat_head != NULL)
                ((stopic_t *)r->pat_head)->pat_prev = t;
            r->pat_head = t;
            r->npatterns++;
        } else {
            r->ntopics++;
        }
    }
    sh_free(key);
    l->topic = t;
    l->prev = NULL;
    l->next = t->head;
    if (t->head != NULL)
        t->head->prev = l;
    t->head = l;
    return 0;
}

int sh_subs_add(sh_subs_t *r, sh_sub_t *sub)
{
    size_t n = sub->sel.ntopics, i;
    int rc;

    if (sub->registered)
        return 0;
    sub->links = NULL;
    if (n > 0) {
        sub->links = sh_calloc(n, sizeof(*sub->links));
        if (sub->links == NULL)
            return SSEHUB_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        sub->links[i].sub = sub;
        rc = link_add(r, &sub->links[i], &sub->sel, i);
        if (rc != 0)
            goto err_unlink;
    }
    sub->all_prev = NULL;
    sub->all_next = NULL;
    if (sub->sel.all) {
        sub->all_next = r->all_head;
        if (r->all_head != NULL)
            r->all_head->all_prev = sub;
        r->all_head = sub;
    }
    sub->registered = 1;
    r->count++;
    return 0;

err_unlink:
    while (i-- > 0)
        link_remove(r, &sub->links[i]);
    sh_free(sub->links);
    sub->links = NULL;
    return rc;
}

void sh_subs_remove(sh_subs_t *r, sh_sub_t *sub)
{
    dcursor_t *c;
    size_t i;

    if (!sub->registered)
        return;
    for (i = 0; i < sub->sel.ntopics; i++)
        link_remove(r, &sub->links[i]);
    sh_free(sub->links);
    sub->links = NULL;
    if (sub->sel.all) {
        for (c = r->dispatch_cursor; c != NULL; c = c->outer) {
            if (c->next_all == sub)
                c->next_all = sub->all_next;
        }
        if (sub->all_prev != NULL)
            sub->all_prev->all_next = sub->all_next;
        else
            r->all_head = sub->all_next;
        if (sub->all_next != NULL)
            sub->all_next->all_prev = sub->all_prev;
        sub->all_prev = NULL;
        sub->all_next = NULL;
    }
    sub->registered = 0;
    r->count--;
}

/* Delivers |ev| to |sub| if it is new to it and allowed; returns 1 when delivered. */
static size_t deliver(sh_sub_t *sub, sh_event_t *ev, sh_deliver_cb cb, void *user)
{
    if (ev->seq <= sub->last_seq || !sh_selectors_can_see(&sub->sel, ev))
        return 0;
    sub->last_seq = ev->seq;
    cb(sub, ev, user);
    return 1;
}

/* Whether the template entry |t| matches one of |ev|'s topics (a template also matches the
 * topic equal to its text, as in Mercure); or the URL pattern entry, a topic parsed as a URL
 * against the entry's hub URL (a topic that is not a URL matches no URL pattern). */
static int pattern_matches(const stopic_t *t, const sh_event_t *ev)
{
    size_t i;

    if (t->pat != NULL) {
        for (i = 0; i < ev->ntopics; i++) {
            sh_url_t u;
            int hit;

            if (sh_url_parse(ev->topics[i].ptr, ev->topics[i].len, &t->base, &u) != 0)
                continue;
            hit = sh_urlpat_match(t->pat, &u);
            sh_url_dispose(&u);
            if (hit)
                return 1;
        }
        return 0;
    }
    for (i = 0; i < ev->ntopics; i++) {
        if ((ev->topics[i].len == t->name_len - 1 &&
             memcmp(ev->topics[i].ptr, t->name + 1, t->name_len - 1) == 0) ||
            sh_uritpl_match(t->tpl, ev->topics[i].ptr, ev->topics[i].len))
            return 1;
    }
    return 0;
}

/*
 * The subscriptions of each of the event's topics, then those of each template that matches
 * (each template is matched once, whatever the number of its subscriptions), then the `*`
 * ones. The selector is known to match, so only the seq and private rules are checked; the
 * seq rule also drops the second visit of a subscription matched several ways.
 */
size_t sh_subs_dispatch(sh_subs_t *r, sh_event_t *ev, sh_deliver_cb cb, void *user)
{
    sh_map_t *m = topic_map(r);
    dcursor_t cur;
    size_t calls = 0, i;

    cur.outer = r->dispatch_cursor;
    cur.next_link = NULL;
    cur.next_all = NULL;
    cur.next_pat = NULL;
    r->dispatch_cursor = &cur;
    for (i = 0; i < ev->ntopics; i++) {
        const stopic_t *t;
        sh_sub_link_t *l;
        if (m->count == 0)
            break;
        t = sh_map_get(m, ev->topics[i].ptr, ev->topics[i].len);
        if (t == NULL)
            continue;
        for (l = t->head; l != NULL; l = cur.next_link) {
            cur.next_link = l->next;
            calls += deliver(l->sub, ev, cb, user);
        }
    }
    for (stopic_t *t = r->pat_head; t != NULL; t = cur.next_pat) {
        sh_sub_link_t *l;
        cur.next_pat = t->pat_next;
        if (!pattern_matches(t, ev))
            continue;
        for (l = t->head; l != NULL; l = cur.next_link) {
            cur.next_link = l->next;
            calls += deliver(l->sub, ev, cb, user);
        }
    }
    for (sh_sub_t *s = r->all_head; s != NULL; s = cur.next_all) {
        cur.next_all = s->all_next;
        calls += deliver(s, ev, cb, user);
    }
    r->dispatch_cursor = cur.outer;
    return calls;
}
