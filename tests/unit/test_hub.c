/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the hub core: sh_map (against a reference and with forced collisions),
 * sh_event, sh_selectors, sh_history (with a fake clock), sh_subs and sh_sendq. Every
 * test runs on the counting allocator and ends with nothing alive; constructors and
 * appends are run out of memory at every allocation in turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ssehub/ssehub.h"
#include "base/alloc.h"
#include "base/map.h"
#include "hub/event.h"
#include "hub/history.h"
#include "hub/selector.h"
#include "hub/sendq.h"
#include "hub/subs.h"
#include "support/failalloc.h"
#include "support/testutil.h"

#define MAX_TOPICS 16

/* Splits a comma-separated list into |out| (pointing into |list|); returns the count. */
static size_t split(const char *list, sh_str_t *out, size_t max)
{
    size_t n = 0;
    const char *p = list;

    if (*list == '\0')
        return 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        assert_true(n < max);
        out[n].ptr = p;
        out[n].len = len;
        n++;
        if (comma == NULL)
            return n;
        p = comma + 1;
    }
}

static sh_str_t str_of(const char *s)
{
    sh_str_t v;

    v.ptr = s;
    v.len = strlen(s);
    return v;
}

/* An event on |topics| (comma-separated) with data "data of ID". */
static sh_event_t *mkev(const char *topics, const char *id, uint64_t seq, int64_t time_ms,
                        int is_private)
{
    sh_str_t ts[MAX_TOPICS];
    sh_event_init_t in;
    sh_event_t *ev = NULL;
    char data[64];

    memset(&in, 0, sizeof(in));
    in.topics = ts;
    in.ntopics = split(topics, ts, MAX_TOPICS);
    in.id = str_of(id);
    snprintf(data, sizeof(data), "data of %s", id);
    in.data = str_of(data);
    in.seq = seq;
    in.time_ms = time_ms;
    in.is_private = is_private;
    assert_int_equal(sh_event_new(&in, &ev), 0);
    return ev;
}

static size_t refs(const sh_event_t *ev)
{
    return atomic_load(&((sh_event_t *)ev)->refcount);
}

/* ---- sh_map ----------------------------------------------------------------------------- */

/* Every key is reachable from its home slot: no empty slot between home and position. */
static void map_check_invariant(const sh_map_t *m)
{
    size_t i, used = 0, mask = m->nslots - 1;

    if (m->nslots == 0) {
        assert_int_equal(m->count, 0);
        return;
    }
    assert_int_equal(m->nslots & mask, 0);
    for (i = 0; i < m->nslots; i++) {
        const sh_map_entry_t *e = &m->slots[i];
        size_t j;
        if (e->hash == 0)
            continue;
        used++;
        assert_int_equal(e->hash, sh_map_hash(e->key, e->key_len));
        for (j = (size_t)e->hash & mask; j != i; j = (j + 1) & mask)
            assert_int_not_equal(m->slots[j].hash, 0);
        assert_ptr_equal(sh_map_get(m, e->key, e->key_len), e->value);
    }
    assert_int_equal(used, m->count);
    assert_true(m->count * 4 <= m->nslots * 3);
}

static void test_hub_map_basic(void **state)
{
    sh_map_t m;
    int a, b, c;
    static const char nul_key[] = {'x', '\0', 'y'};

    (void)state;
    sh_failalloc_install();
    sh_map_init(&m);
    assert_null(sh_map_get(&m, "a", 1));
    assert_null(sh_map_del(&m, "a", 1));
    assert_int_equal(sh_map_put(&m, "alpha", 5, &a), 0);
    assert_int_equal(sh_map_put(&m, "beta", 4, &b), 0);
    assert_int_equal(sh_map_put(&m, "", 0, &c), 0);
    assert_int_equal(sh_map_put(&m, nul_key, 3, &c), 0);
    assert_int_equal(m.count, 4);
    assert_ptr_equal(sh_map_get(&m, "alpha", 5), &a);
    assert_ptr_equal(sh_map_get(&m, "beta", 4), &b);
    assert_ptr_equal(sh_map_get(&m, "", 0), &c);
    assert_ptr_equal(sh_map_get(&m, nul_key, 3), &c);
    assert_null(sh_map_get(&m, "x", 1));    /* a prefix of "x\0y" */
    assert_null(sh_map_get(&m, "alph", 4)); /* a prefix of "alpha" */
    assert_null(sh_map_get(&m, "alphab", 6));

    /* Replacing keeps the count and needs no memory. */
    sh_failalloc_fail_after(0);
    assert_int_equal(sh_map_put(&m, "alpha", 5, &b), 0);
    sh_failalloc_fail_after(-1);
    assert_ptr_equal(sh_map_get(&m, "alpha", 5), &b);
    assert_int_equal(m.count, 4);

    assert_ptr_equal(sh_map_del(&m, "alpha", 5), &b);
    assert_null(sh_map_del(&m, "alpha", 5));
    assert_null(sh_map_get(&m, "alpha", 5));
    assert_int_equal(m.count, 3);
    map_check_invariant(&m);
    sh_map_dispose(&m);
    assert_null(m.slots);
    assert_int_equal(m.count, 0);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_map_grow_and_iterate(void **state)
{
    enum { N = 5000 };
    static char keys[N][16];
    static int seen[N];
    sh_map_t m;
    sh_map_entry_t *e;
    size_t i, it = 0, visited = 0;

    (void)state;
    sh_failalloc_install();
    sh_map_init(&m);
    for (i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "topic/%zu", i);
        assert_int_equal(sh_map_put(&m, keys[i], strlen(keys[i]), &seen[i]), 0);
        assert_int_equal(m.count, i + 1);
    }
    map_check_invariant(&m);
    assert_int_equal(sh_failalloc_live(), 1); /* one slot array */
    memset(seen, 0, sizeof(seen));
    while ((e = sh_map_next(&m, &it)) != NULL) {
        int *v = e->value;
        (*v)++;
        visited++;
    }
    assert_int_equal(visited, N);
    for (i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* Delete every other key, then check both halves. */
    for (i = 0; i < N; i += 2)
        assert_ptr_equal(sh_map_del(&m, keys[i], strlen(keys[i])), &seen[i]);
    map_check_invariant(&m);
    for (i = 0; i < N; i++) {
        void *want = i % 2 != 0 ? &seen[i] : NULL;
        assert_ptr_equal(sh_map_get(&m, keys[i], strlen(keys[i])), want);
    }
    sh_map_dispose(&m);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* Keys "cN" whose home slot in an 8-slot table is |home|, into |keys|. */
static void keys_with_home(char keys[][8], size_t n, size_t home)
{
    unsigned u = 0;
    size_t k = 0;

    while (k < n) {
        char key[8];
        snprintf(key, sizeof(key), "c%u", u++);
        if ((sh_map_hash(key, strlen(key)) & 7) == home)
            memcpy(keys[k++], key, sizeof(key));
    }
}

static size_t slot_of(const sh_map_t *m, const char *key)
{
    size_t i;

    for (i = 0; i < m->nslots; i++) {
        if (m->slots[i].hash != 0 && m->slots[i].key_len == strlen(key) &&
            memcmp(m->slots[i].key, key, strlen(key)) == 0)
            return i;
    }
    fail_msg("key %s not in any slot", key);
    return SIZE_MAX;
}

static void test_hub_map_backward_shift(void **state)
{
    char h3[4][8], h4[2][8], h7[2][8], h0[1][8];
    sh_map_t m;
    size_t i;

    (void)state;
    sh_failalloc_install();
    keys_with_home(h3, 4, 3);
    keys_with_home(h4, 2, 4);
    keys_with_home(h7, 2, 7);
    keys_with_home(h0, 1, 0);

    /* A run: four keys at home 3 fill 3..6, a key at home 4 lands in 7. */
    sh_map_init(&m);
    for (i = 0; i < 4; i++)
        assert_int_equal(sh_map_put(&m, h3[i], strlen(h3[i]), h3[i]), 0);
    assert_int_equal(sh_map_put(&m, h4[0], strlen(h4[0]), h4[0]), 0);
    assert_int_equal(m.nslots, 8);
    assert_int_equal(slot_of(&m, h3[0]), 3);
    assert_int_equal(slot_of(&m, h4[0]), 7);
    /* Deleting the head of the run shifts every later key back by one. */
    assert_ptr_equal(sh_map_del(&m, h3[0], strlen(h3[0])), h3[0]);
    assert_int_equal(slot_of(&m, h3[1]), 3);
    assert_int_equal(slot_of(&m, h3[2]), 4);
    assert_int_equal(slot_of(&m, h3[3]), 5);
    assert_int_equal(slot_of(&m, h4[0]), 6);
    assert_int_equal(m.slots[7].hash, 0);
    map_check_invariant(&m);
    sh_map_dispose(&m);

    /* A key sitting at its home slot does not move into a gap before its home. */
    sh_map_init(&m);
    assert_int_equal(sh_map_put(&m, h3[0], strlen(h3[0]), h3[0]), 0);
    assert_int_equal(sh_map_put(&m, h4[0], strlen(h4[0]), h4[0]), 0);
    assert_int_equal(sh_map_put(&m, h4[1], strlen(h4[1]), h4[1]), 0);
    assert_int_equal(slot_of(&m, h4[1]), 5);
    assert_ptr_equal(sh_map_del(&m, h3[0], strlen(h3[0])), h3[0]);
    assert_int_equal(m.slots[3].hash, 0);
    assert_int_equal(slot_of(&m, h4[0]), 4);
    assert_int_equal(slot_of(&m, h4[1]), 5);
    map_check_invariant(&m);
    sh_map_dispose(&m);

    /* Around the end: home 7 twice (7, 0), then home 0 (1); deleting at 7 pulls both back. */
    sh_map_init(&m);
    assert_int_equal(sh_map_put(&m, h7[0], strlen(h7[0]), h7[0]), 0);
    assert_int_equal(sh_map_put(&m, h7[1], strlen(h7[1]), h7[1]), 0);
    assert_int_equal(sh_map_put(&m, h0[0], strlen(h0[0]), h0[0]), 0);
    assert_int_equal(slot_of(&m, h7[1]), 0);
    assert_int_equal(slot_of(&m, h0[0]), 1);
    assert_ptr_equal(sh_map_del(&m, h7[0], strlen(h7[0])), h7[0]);
    assert_int_equal(slot_of(&m, h7[1]), 7);
    assert_int_equal(slot_of(&m, h0[0]), 0);
    assert_int_equal(m.slots[1].hash, 0);
    /* Deleting the wrapped key's predecessor in the middle of a run keeps it findable. */
    assert_int_equal(sh_map_put(&m, h7[0], strlen(h7[0]), h7[0]), 0);
    assert_ptr_equal(sh_map_del(&m, h0[0], strlen(h0[0])), h0[0]);
    assert_ptr_equal(sh_map_get(&m, h7[0], strlen(h7[0])), h7[0]);
    assert_ptr_equal(sh_map_get(&m, h7[1], strlen(h7[1])), h7[1]);
    map_check_invariant(&m);
    sh_map_dispose(&m);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_map_random_against_reference(void **state)
{
    enum { POOL = 300, OPS = 200000 };
    static char keys[POOL][16];
    static void *ref[POOL];
    sh_map_t m;
    size_t i, op, nref = 0;

    (void)state;
    sh_failalloc_install();
    sh_test_rng_seed(42);
    memset(ref, 0, sizeof(ref));
    for (i = 0; i < POOL; i++)
        snprintf(keys[i], sizeof(keys[i]), "%zu/%zu", i % 7, i);
    sh_map_init(&m);
    for (op = 0; op < OPS; op++) {
        size_t k = sh_test_rng_below(POOL);
        size_t len = strlen(keys[k]);
        switch (sh_test_rng_below(4)) {
        case 0:
        case 1: {
            void *v = (void *)(uintptr_t)((sh_test_rng_next() | 1) & 0xffffff);
            assert_int_equal(sh_map_put(&m, keys[k], len, v), 0);
            if (ref[k] == NULL)
                nref++;
            ref[k] = v;
            break;
        }
        case 2:
            assert_ptr_equal(sh_map_del(&m, keys[k], len), ref[k]);
            if (ref[k] != NULL)
                nref--;
            ref[k] = NULL;
            break;
        default:
            assert_ptr_equal(sh_map_get(&m, keys[k], len), ref[k]);
            break;
        }
        assert_int_equal(m.count, nref);
        if (op % 5000 == 0) {
            map_check_invariant(&m);
            for (i = 0; i < POOL; i++)
                assert_ptr_equal(sh_map_get(&m, keys[i], strlen(keys[i])), ref[i]);
        }
    }
    map_check_invariant(&m);
    sh_map_dispose(&m);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_map_oom_and_reserve(void **state)
{
    static char keys[64][8];
    sh_map_t m;
    size_t i, nslots;

    (void)state;
    sh_failalloc_install();
    for (i = 0; i < 64; i++)
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
    sh_map_init(&m);
    sh_failalloc_fail_after(0);
    assert_int_equal(sh_map_put(&m, "a", 1, keys), SSEHUB_ENOMEM);
    assert_int_equal(m.count, 0);
    assert_null(m.slots);
    assert_null(sh_map_get(&m, "a", 1));
    sh_failalloc_fail_after(-1);

    /* Fill to the load bound; the next new key needs a bigger array, which fails. */
    for (i = 0; i < 6; i++)
        assert_int_equal(sh_map_put(&m, keys[i], strlen(keys[i]), keys[i]), 0);
    assert_int_equal(m.nslots, 8);
    sh_failalloc_fail_after(0);
    assert_int_equal(sh_map_put(&m, keys[6], strlen(keys[6]), keys[6]), SSEHUB_ENOMEM);
    assert_int_equal(sh_map_reserve(&m, 1), SSEHUB_ENOMEM);
    assert_int_equal(sh_map_reserve(&m, 0), 0);
    assert_int_equal(m.count, 6);
    assert_int_equal(m.nslots, 8);
    assert_null(sh_map_get(&m, keys[6], strlen(keys[6])));
    for (i = 0; i < 6; i++)
        assert_ptr_equal(sh_map_get(&m, keys[i], strlen(keys[i])), keys[i]);
    sh_failalloc_fail_after(-1);

    /* After a reserve of 40, the next 40 new keys need no memory. */
    assert_int_equal(sh_map_reserve(&m, 40), 0);
    nslots = m.nslots;
    sh_failalloc_fail_after(0);
    for (i = 6; i < 46; i++)
        assert_int_equal(sh_map_put(&m, keys[i], strlen(keys[i]), keys[i]), 0);
    assert_int_equal(m.nslots, nslots);
    assert_int_equal(sh_map_reserve(&m, 0), 0);
    sh_failalloc_fail_after(-1);
    assert_int_equal(sh_map_reserve(&m, SIZE_MAX), SSEHUB_ENOMEM);
    map_check_invariant(&m);
    sh_map_dispose(&m);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The low bits pick the slot: similar keys must spread evenly and never hash to 0. */
static void test_hub_map_hash_spread(void **state)
{
    enum { N = 8192, BUCKETS = 1024 };
    static uint64_t hashes[N];
    static unsigned buckets[BUCKETS];
    unsigned most = 0;
    size_t i;
    char key[32];

    (void)state;
    memset(buckets, 0, sizeof(buckets));
    for (i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "https://example.com/books/%zu", i);
        hashes[i] = sh_map_hash(key, strlen(key));
        assert_int_not_equal(hashes[i], 0);
        buckets[hashes[i] % BUCKETS]++;
    }
    for (i = 0; i < BUCKETS; i++)
        most = buckets[i] > most ? buckets[i] : most;
    assert_true(most <= 30); /* 8 expected per bucket */
    qsort(hashes, N, sizeof(hashes[0]), cmp_u64);
    for (i = 1; i < N; i++)
        assert_int_not_equal(hashes[i], hashes[i - 1]);
    assert_int_not_equal(sh_map_hash("", 0), 0);
    assert_int_not_equal(sh_map_hash("a", 1), sh_map_hash("a\0", 2));
    assert_int_not_equal(sh_map_hash("abcdefgh", 8), sh_map_hash("abcdefgh\0", 9));
}

/* ---- sh_event --------------------------------------------------------------------------- */

static void check_wire(const sh_event_t *ev, const char *want)
{
    size_t len = ssehub_rcbuf_len(ev->wire);

    if (len != strlen(want) || memcmp(ssehub_rcbuf_data(ev->wire), want, len) != 0)
        fail_msg("wire is \"%.*s\", want \"%s\"", (int)len, ssehub_rcbuf_data(ev->wire), want);
}

static void test_hub_event_wire_and_fields(void **state)
{
    sh_str_t topics[2] = {{"a/b", 3}, {"c", 1}};
    char id[] = "42";
    sh_event_init_t in;
    sh_event_t *ev;

    (void)state;
    sh_failalloc_install();
    memset(&in, 0, sizeof(in));
    in.topics = topics;
    in.ntopics = 2;
    in.id = str_of(id);
    in.data = str_of("hello\nworld");
    in.seq = 7;
    in.time_ms = -5;
    in.is_private = 2;
    assert_int_equal(sh_event_new(&in, &ev), 0);
    check_wire(ev, "id: 42\ndata: hello\ndata: world\n\n");
    assert_int_equal(ev->seq, 7);
    assert_int_equal(ev->time_ms, -5);
    assert_int_equal(ev->is_private, 1);
    assert_int_equal(ev->id.len, 2);
    assert_string_equal(ev->id.ptr, "42");
    assert_ptr_not_equal(ev->id.ptr, id); /* a copy */
    assert_int_equal(ev->ntopics, 2);
    assert_string_equal(ev->topics[0].ptr, "a/b");
    assert_int_equal(ev->topics[0].len, 3);
    assert_string_equal(ev->topics[1].ptr, "c");
    assert_int_equal(refs(ev), 1);
    assert_int_equal(ssehub_rcbuf_refcount(ev->wire), 1);
    /* One block for the event, one for the frame. */
    assert_int_equal(sh_failalloc_live(), 2);
    id[0] = 'X';
    assert_string_equal(ev->id.ptr, "42");

    assert_ptr_equal(sh_event_ref(ev), ev);
    assert_int_equal(refs(ev), 2);
    sh_event_unref(ev);
    assert_int_equal(sh_failalloc_live(), 2);
    sh_event_unref(ev);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_event_unref(NULL);

    /* Type, retry, CRLF in the data. */
    in.ntopics = 1;
    in.id = str_of("x");
    in.type = str_of("note");
    in.has_retry = 1;
    in.retry = 5000;
    in.data = str_of("a\r\nb");
    in.is_private = 0;
    assert_int_equal(sh_event_new(&in, &ev), 0);
    check_wire(ev, "id: x\nevent: note\nretry: 5000\ndata: a\ndata: b\n\n");
    assert_int_equal(ev->is_private, 0);
    sh_event_unref(ev);

    /* Empty data still writes a data line (receivers dispatch nothing without one). */
    in.type.len = 0;
    in.has_retry = 0;
    in.data.ptr = NULL;
    in.data.len = 0;
    assert_int_equal(sh_event_new(&in, &ev), 0);
    check_wire(ev, "id: x\ndata: \n\n");
    sh_event_unref(ev);
    in.data = str_of("");
    assert_int_equal(sh_event_new(&in, &ev), 0);
    check_wire(ev, "id: x\ndata: \n\n");
    sh_event_unref(ev);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_event_einval(void **state)
{
    sh_str_t topic = {"t", 1};
    sh_event_init_t in;
    sh_event_t *ev;
    static const struct {
        const char *id;
        size_t id_len;
        const char *type;
        size_t type_len;
    } bad[] = {
        {"", 0, "", 0},   {"a\nb", 3, "", 0},  {"a\rb", 3, "", 0},  {"a\0b", 3, "", 0},
        {"\n", 1, "", 0}, {"ok", 2, "t\n", 2}, {"ok", 2, "t\r", 2}, {"ok", 2, "t\0", 2},
    };
    size_t i;

    (void)state;
    sh_failalloc_install();
    memset(&in, 0, sizeof(in));
    in.topics = &topic;
    in.ntopics = 1;
    in.data = str_of("d");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        in.id.ptr = bad[i].id;
        in.id.len = bad[i].id_len;
        in.type.ptr = bad[i].type;
        in.type.len = bad[i].type_len;
        ev = (sh_event_t *)&ev;
        assert_int_equal(sh_event_new(&in, &ev), SSEHUB_EINVAL);
        assert_null(ev);
    }
    in.id = str_of("ok");
    in.type.len = 0;
    in.ntopics = 0;
    assert_int_equal(sh_event_new(&in, &ev), SSEHUB_EINVAL);
    in.ntopics = 1;
    in.topics = NULL;
    assert_int_equal(sh_event_new(&in, &ev), SSEHUB_EINVAL);
    in.topics = &topic;
    in.id.ptr = NULL;
    assert_int_equal(sh_event_new(&in, &ev), SSEHUB_EINVAL);
    assert_null(ev);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_event_oom(void **state)
{
    sh_str_t topics[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
    sh_event_init_t in;
    sh_event_t *ev;
    long n;
    int rc;

    (void)state;
    sh_failalloc_install();
    memset(&in, 0, sizeof(in));
    in.topics = topics;
    in.ntopics = 3;
    in.id = str_of("id");
    in.data = str_of("data");
    for (n = 0;; n++) {
        sh_failalloc_fail_after(n);
        rc = sh_event_new(&in, &ev);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_null(ev);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    assert_int_equal(n, 2);
    sh_event_unref(ev);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- sh_selectors ----------------------------------------------------------------------- */

static int sel_init(sh_selectors_t *s, const char *list)
{
    sh_str_t raw[64];

    return sh_selectors_init(s, raw, split(list, raw, 64));
}

static void check_sel(const sh_selectors_t *s, int all, const char *want)
{
    char got[512];
    size_t i, n = 0;

    got[0] = '\0';
    for (i = 0; i < s->ntopics; i++) {
        assert_int_equal(s->topics[i].ptr[s->topics[i].len], '\0');
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%.*s", i > 0 ? "," : "",
                              (int)s->topics[i].len, s->topics[i].ptr);
    }
    assert_string_equal(got, want);
    assert_int_equal(s->all, all);
    assert_int_equal(s->may_private, 0);
}

static void test_hub_selectors_init(void **state)
{
    sh_selectors_t s;
    sh_str_t raw[40];
    char names[40][8];
    char want[512];
    size_t i, n = 0;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(sel_init(&s, "a"), 0);
    check_sel(&s, 0, "a");
    sh_selectors_dispose(&s);
    assert_int_equal(sel_init(&s, "b,a,b,c,a"), 0);
    check_sel(&s, 0, "b,a,c");
    sh_selectors_dispose(&s);
    assert_int_equal(sel_init(&s, "*"), 0);
    check_sel(&s, 1, "");
    assert_null(s.topics);
    sh_selectors_dispose(&s);
    assert_int_equal(sel_init(&s, "x,*,y,*,x"), 0);
    check_sel(&s, 1, "x,y");
    sh_selectors_dispose(&s);
    assert_int_equal(sel_init(&s, "**,*a"), 0); /* only a lone star is `*` */
    check_sel(&s, 0, "**,*a");
    sh_selectors_dispose(&s);

    /* Nothing, or an empty selector anywhere: EINVAL, nothing allocated. */
    assert_int_equal(sh_selectors_init(&s, raw, 0), SSEHUB_EINVAL);
    assert_int_equal(sel_init(&s, ""), SSEHUB_EINVAL);
    assert_int_equal(sel_init(&s, "a,,b"), SSEHUB_EINVAL);
    assert_int_equal(sel_init(&s, "a,"), SSEHUB_EINVAL);
    assert_int_equal(s.ntopics, 0);
    assert_null(s.topics);

    /* Many selectors (the map path): the same first-seen order and deduplication. */
    for (i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "t%zu", i % 25);
        raw[i] = str_of(names[i]);
    }
    raw[30] = str_of("*");
    assert_int_equal(sh_selectors_init(&s, raw, 40), 0);
    want[0] = '\0';
    for (i = 0; i < 25; i++)
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%st%zu", i > 0 ? "," : "", i);
    check_sel(&s, 1, want);
    sh_selectors_dispose(&s);
    sh_selectors_dispose(&s); /* disposing twice is harmless */
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_selectors_oom(void **state)
{
    sh_selectors_t s;
    sh_str_t raw[20];
    char names[20][8];
    size_t i, count;
    long n;
    int rc;

    (void)state;
    sh_failalloc_install();
    for (count = 3; count <= 20; count += 17) {
        for (i = 0; i < count; i++) {
            snprintf(names[i], sizeof(names[i]), "t%zu", i % 10);
            raw[i] = str_of(names[i]);
        }
        for (n = 0;; n++) {
            sh_failalloc_fail_after(n);
            rc = sh_selectors_init(&s, raw, count);
            sh_failalloc_fail_after(-1);
            if (rc == 0)
                break;
            assert_int_equal(rc, SSEHUB_ENOMEM);
            assert_null(s.topics);
            assert_int_equal(sh_failalloc_live(), 0);
        }
        assert_int_equal(n, count > 16 ? 2 : 1);
        assert_int_equal(s.ntopics, count < 10 ? count : 10);
        sh_selectors_dispose(&s);
    }
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_selectors_match(void **state)
{
    sh_selectors_t ab, all;
    sh_event_t *ea = mkev("a", "1", 1, 0, 0);
    sh_event_t *ec = mkev("c", "2", 2, 0, 0);
    sh_event_t *ecb = mkev("c,b", "3", 3, 0, 0);
    sh_event_t *pa = mkev("a", "4", 4, 0, 1);

    (void)state;
    assert_int_equal(sel_init(&ab, "a,b"), 0);
    assert_int_equal(sel_init(&all, "*"), 0);
    assert_true(sh_selectors_match(&ab, ea));
    assert_false(sh_selectors_match(&ab, ec));
    assert_true(sh_selectors_match(&ab, ecb)); /* the second topic matches */
    assert_true(sh_selectors_match(&all, ec));
    assert_false(sh_selectors_match(&ab, pa));
    assert_false(sh_selectors_match(&all, pa));
    ab.may_private = 1;
    all.may_private = 1;
    assert_true(sh_selectors_match(&ab, pa));
    assert_true(sh_selectors_match(&all, pa));
    assert_false(sh_selectors_match(&ab, ec));
    sh_selectors_dispose(&ab);
    sh_selectors_dispose(&all);
    sh_event_unref(ea);
    sh_event_unref(ec);
    sh_event_unref(ecb);
    sh_event_unref(pa);
}

/* ---- sh_history ------------------------------------------------------------------------- */

static int64_t fake_now; /* the test's clock */

static sh_history_t *hist_new(size_t max_per_topic, int64_t max_age_ms, uint64_t first_seq)
{
    sh_history_config_t cfg;
    sh_history_t *h = NULL;

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_per_topic = max_per_topic;
    cfg.max_age_ms = max_age_ms;
    assert_int_equal(sh_history_new(&cfg, first_seq, &h), 0);
    assert_int_equal(sh_history_next_seq(h), first_seq + 1);
    return h;
}

/* Appends an event with the next seq, published now, and drops the test's reference. */
static void hist_add(sh_history_t *h, const char *topics, const char *id)
{
    sh_event_t *ev = mkev(topics, id, sh_history_next_seq(h), fake_now, 0);

    assert_int_equal(sh_history_append(h, ev, fake_now), 0);
    sh_event_unref(ev);
}

static void hist_add_private(sh_history_t *h, const char *topics, const char *id)
{
    sh_event_t *ev = mkev(topics, id, sh_history_next_seq(h), fake_now, 1);

    assert_int_equal(sh_history_append(h, ev, fake_now), 0);
    sh_event_unref(ev);
}

/* The ids of |r|, space-separated. */
static const char *replay_ids(const sh_replay_t *r)
{
    static char got[1024];
    size_t i, n = 0;

    got[0] = '\0';
    for (i = 0; i < r->n; i++) {
        if (i > 0)
            assert_true(r->events[i]->seq > r->events[i - 1]->seq);
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", i > 0 ? " " : "",
                              r->events[i]->id.ptr);
    }
    return got;
}

/*
 * Replays |selectors| from |last_id| (NULL: none) and checks the events replayed and the
 * header value.
 */
static void check_replay(sh_history_t *h, const char *selectors, int may_private,
                         const char *last_id, const char *want_ids, const char *want_header)
{
    sh_selectors_t sel;
    sh_replay_t r;

    assert_int_equal(sel_init(&sel, selectors), 0);
    sel.may_private = may_private;
    assert_int_equal(
        sh_history_replay(h, &sel, last_id, last_id != NULL ? strlen(last_id) : 0, fake_now, &r),
        0);
    if (strcmp(replay_ids(&r), want_ids) != 0)
        fail_msg("replay of %s from %s: got \"%s\", want \"%s\"", selectors,
                 last_id != NULL ? last_id : "(none)", replay_ids(&r), want_ids);
    assert_non_null(r.last_event_id);
    assert_int_equal(r.last_event_id_len, strlen(want_header));
    assert_string_equal(r.last_event_id, want_header);
    assert_int_equal(r.snapshot_seq, sh_history_next_seq(h) - 1);
    sh_replay_dispose(&r);
    assert_null(r.events);
    assert_null(r.last_event_id);
    sh_selectors_dispose(&sel);
}

static void test_hub_history_bound_by_count(void **state)
{
    sh_history_t *h;
    sh_event_t *evs[6];
    char id[8];
    size_t i;

    (void)state;
    sh_failalloc_install();
    fake_now = 1000;
    h = hist_new(3, 0, 0);
    for (i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "e%zu", i + 1);
        evs[i] = mkev("a", id, i + 1, fake_now, 0);
        assert_int_equal(sh_history_append(h, evs[i], fake_now), 0);
        assert_int_equal(sh_history_next_seq(h), i + 2);
        /* The caller's, the history's, and the newest-appended reference. */
        assert_int_equal(refs(evs[i]), 3);
        if (i > 0 && i < 3)
            assert_int_equal(refs(evs[i - 1]), 2);
        if (i >= 3)
            assert_int_equal(refs(evs[i - 3]), 1); /* evicted: only the caller's */
        assert_int_equal(sh_history_count(h), i < 3 ? i + 1 : 3);
    }
    assert_null(sh_history_find(h, "e3", 2));
    assert_ptr_equal(sh_history_find(h, "e4", 2), evs[3]);
    assert_ptr_equal(sh_history_find(h, "e6", 2), evs[5]);
    check_replay(h, "a", 0, "earliest", "e4 e5 e6", "earliest");
    sh_history_free(h);
    for (i = 0; i < 6; i++) {
        assert_int_equal(refs(evs[i]), 1);
        sh_event_unref(evs[i]);
    }
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* The byte bound over all topics: the oldest events go first, whatever their topic; an
 * event larger than the whole bound is still kept as the newest. */
static void test_hub_history_bound_by_bytes(void **state)
{
    sh_history_config_t cfg;
    sh_history_t *h = NULL;
    sh_event_t *probe;
    size_t one;

    (void)state;
    sh_failalloc_install();
    probe = mkev("a", "p", 1, 0, 0);
    /* What one event of this test costs: every test event has the same sizes. */
    one = sizeof(sh_event_t) + ssehub_rcbuf_len(probe->wire) + 1;
    sh_event_unref(probe);
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_per_topic = 100;
    cfg.max_bytes = 3 * one + 3 * 100; /* room for three events, not four */
    assert_int_equal(sh_history_new(&cfg, 0, &h), 0);
    fake_now = 0;
    hist_add(h, "a", "1");
    hist_add(h, "b", "2");
    hist_add(h, "c", "3");
    assert_int_equal(sh_history_count(h), 3);
    check_replay(h, "*", 0, "earliest", "1 2 3", "earliest");
    hist_add(h, "d", "4"); /* the oldest (topic a) goes, though a's ring has room */
    assert_int_equal(sh_history_count(h), 3);
    check_replay(h, "*", 0, "earliest", "2 3 4", "earliest");
    check_replay(h, "a", 0, "earliest", "", "earliest");
    assert_null(sh_history_find(h, "1", 1));
    hist_add(h, "b,c", "5"); /* a two-topic event: 2 makes room for it */
    check_replay(h, "c", 0, "earliest", "3 5", "earliest");
    check_replay(h, "b", 0, "earliest", "5", "earliest");
    check_replay(h, "b,c", 0, "earliest", "3 5", "earliest");
    check_replay(h, "*", 0, "2", "3 4 5", "2"); /* "2" is evicted but decimal: seq 2 */
    sh_history_free(h);

    /* One event larger than the whole bound stays, alone. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_per_topic = 100;
    cfg.max_bytes = 1;
    assert_int_equal(sh_history_new(&cfg, 0, &h), 0);
    hist_add(h, "a", "1");
    hist_add(h, "a", "2");
    assert_int_equal(sh_history_count(h), 1);
    check_replay(h, "a", 0, "earliest", "2", "earliest");
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
}

static void test_hub_history_bound_by_age(void **state)
{
    sh_history_t *h;
    size_t live_one_topic;

    (void)state;
    sh_failalloc_install();
    h = hist_new(100, 1000, 0);
    fake_now = 0;
    hist_add(h, "a", "t0");
    fake_now = 500;
    hist_add(h, "b", "t500");
    fake_now = 1000;
    hist_add(h, "a", "t1000");
    /* Exactly max_age old is kept; one ms more is not. */
    assert_int_equal(sh_history_expire(h, 1000), 0);
    assert_int_equal(sh_history_count(h), 3);
    /* A replay skips what is too old even before anything is expired. */
    fake_now = 1501;
    check_replay(h, "a,b", 0, "earliest", "t1000", "earliest");
    check_replay(h, "*", 0, "earliest", "t1000", "earliest");
    assert_int_equal(sh_history_count(h), 3);
    /* A bounded expiry releases at most |max|, oldest first; 0 releases nothing. */
    assert_int_equal(sh_history_expire_some(h, 1501, 0), 0);
    assert_int_equal(sh_history_count(h), 3);
    assert_int_equal(sh_history_expire_some(h, 1501, 1), 1);
    assert_null(sh_history_find(h, "t0", 2));
    assert_non_null(sh_history_find(h, "t500", 4));
    assert_int_equal(sh_history_count(h), 2);
    assert_int_equal(sh_history_expire(h, 1001), 0);
    assert_int_equal(sh_history_expire(h, 1501), 1);
    assert_int_equal(sh_history_count(h), 1);
    /* Appending expires too: at 2001 "t1000" is too old. */
    fake_now = 2001;
    hist_add(h, "c", "t2001");
    assert_int_equal(sh_history_count(h), 1);
    assert_null(sh_history_find(h, "t1000", 5));
    check_replay(h, "a,b,c", 0, "earliest", "t2001", "earliest");
    live_one_topic = sh_failalloc_live();

    /* Topics whose ring empties are freed: 50 topics come and go, memory returns. */
    fake_now = 2500;
    for (int i = 0; i < 50; i++) {
        char topic[16], id[16];
        snprintf(topic, sizeof(topic), "topic%d", i);
        snprintf(id, sizeof(id), "x%d", i);
        hist_add(h, topic, id);
    }
    assert_int_equal(sh_history_count(h), 51);
    /* The append at 4000 expires all 51, empties topic "c" and refills it. */
    fake_now = 4000;
    hist_add(h, "c", "t4000");
    assert_int_equal(sh_history_count(h), 1);
    check_replay(h, "c", 0, "earliest", "t4000", "earliest");
    /* As before: the history, its two slot arrays, topic "c" and its ring, one node, one
     * event held twice (retained and newest). */
    assert_int_equal(sh_failalloc_live(), live_one_topic);
    check_replay(h, "*", 0, "t2001", "", "t4000"); /* released, not decimal: as none */
    assert_int_equal(sh_history_expire(h, 5001), 1);
    assert_int_equal(sh_history_count(h), 0);
    check_replay(h, "*", 0, "earliest", "", "earliest");
    check_replay(h, "*", 0, NULL, "", "t4000");
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* A clock that steps back does not hide older events behind newer ones from expiry. */
static void test_hub_history_clock_steps_back(void **state)
{
    sh_history_t *h;
    sh_event_t *ev;

    (void)state;
    sh_failalloc_install();
    h = hist_new(10, 1000, 0);
    fake_now = 5000;
    hist_add(h, "a", "first");
    ev = mkev("a", "second", 2, 4000, 0); /* published "before" the first */
    assert_int_equal(sh_history_append(h, ev, 5000), 0);
    sh_event_unref(ev);
    /* The second counts from 5000, not 4000: at 5500 both are visible, and its id taken. */
    fake_now = 5500;
    check_replay(h, "*", 0, "earliest", "first second", "earliest");
    check_replay(h, "a", 0, "first", "second", "first");
    ev = mkev("b", "second", 3, 5500, 0);
    assert_int_equal(sh_history_append(h, ev, 5500), SSEHUB_EINVAL);
    sh_event_unref(ev);
    /* At 6001 the first is too old, and the second goes with it. */
    assert_int_equal(sh_history_expire(h, 6000), 0);
    assert_int_equal(sh_history_expire(h, 6001), 2);
    assert_int_equal(sh_history_count(h), 0);
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_history_multi_topic_eviction(void **state)
{
    sh_history_t *h;
    sh_event_t *both;

    (void)state;
    sh_failalloc_install();
    fake_now = 0;
    h = hist_new(2, 0, 0);
    both = mkev("a,b", "both", 1, 0, 0);
    assert_int_equal(sh_history_append(h, both, 0), 0);
    assert_int_equal(sh_history_count(h), 1);
    hist_add(h, "a", "a2");
    hist_add(h, "a", "a3"); /* pushes "both" out of a, not out of b */
    assert_int_equal(sh_history_count(h), 3);
    assert_ptr_equal(sh_history_find(h, "both", 4), both);
    assert_int_equal(refs(both), 2);
    check_replay(h, "a", 0, "earliest", "a2 a3", "earliest");
    check_replay(h, "b", 0, "earliest", "both", "earliest");
    check_replay(h, "a,b", 0, "earliest", "both a2 a3", "earliest");
    check_replay(h, "*", 0, "earliest", "both a2 a3", "earliest");
    check_replay(h, "a", 0, "both", "a2 a3", "both");
    hist_add(h, "b", "b4");
    assert_int_equal(refs(both), 2);
    hist_add(h, "b", "b5"); /* and now out of b: released */
    assert_int_equal(refs(both), 1);
    assert_null(sh_history_find(h, "both", 4));
    assert_int_equal(sh_history_count(h), 4);
    check_replay(h, "*", 0, "earliest", "a2 a3 b4 b5", "earliest");
    /* An event listing a topic twice sits in that ring once. */
    hist_add(h, "c,c", "c6");
    check_replay(h, "c", 0, "earliest", "c6", "earliest");
    hist_add(h, "c", "c7");
    check_replay(h, "c", 0, "earliest", "c6 c7", "earliest");
    sh_history_free(h);

    /* With one slot per topic, the second listing must not evict the event itself. */
    h = hist_new(1, 0, 0);
    hist_add(h, "d,d", "d1");
    assert_int_equal(sh_history_count(h), 1);
    check_replay(h, "d", 0, "earliest", "d1", "earliest");
    hist_add(h, "d,e,d", "d2");
    assert_int_equal(sh_history_count(h), 1);
    check_replay(h, "d", 0, "earliest", "d2", "earliest");
    check_replay(h, "e", 0, "earliest", "d2", "earliest");
    hist_add(h, "d", "d3");
    check_replay(h, "*", 0, "earliest", "d2 d3", "earliest");
    hist_add(h, "e", "e4");
    check_replay(h, "*", 0, "earliest", "d3 e4", "earliest");
    sh_history_free(h);
    sh_event_unref(both);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* The release hook sees every event the bounds let go (count, age), in order, and no
 * other; sh_history_skip() leaves a gap in the seqs, never goes back. */
typedef struct released_s {
    uint64_t seqs[16];
    size_t n;
} released_t;

static void record_release(void *user, sh_event_t *ev)
{
    released_t *r = user;

    assert_true(r->n < 16);
    r->seqs[r->n++] = ev->seq;
}

static void test_hub_history_release_hook_and_skip(void **state)
{
    sh_history_config_t cfg;
    released_t rel;
    sh_history_t *h = NULL;
    sh_event_t *ev;

    (void)state;
    memset(&rel, 0, sizeof(rel));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_per_topic = 2;
    cfg.max_age_ms = 1000;
    cfg.on_release = record_release;
    cfg.release_user = &rel;
    fake_now = 0;
    assert_int_equal(sh_history_new(&cfg, 0, &h), 0);
    assert_int_equal(sh_history_skip(h, 10), 0);
    assert_int_equal(sh_history_next_seq(h), 10);
    assert_int_equal(sh_history_skip(h, 9), SSEHUB_EINVAL);
    assert_int_equal(sh_history_next_seq(h), 10);
    hist_add(h, "a", "x10");
    assert_int_equal(sh_history_skip(h, 20), 0);
    hist_add(h, "a", "x20");
    hist_add(h, "b", "x21");
    assert_int_equal(rel.n, 0);
    hist_add(h, "a", "x22"); /* a holds 2: x10 goes */
    assert_int_equal(rel.n, 1);
    assert_int_equal(rel.seqs[0], 10);
    check_replay(h, "*", 0, "earliest", "x20 x21 x22", "earliest");
    fake_now = 5000; /* every one past the age bound */
    assert_int_equal(sh_history_expire(h, fake_now), 3);
    assert_int_equal(rel.n, 4);
    assert_int_equal(rel.seqs[1], 20);
    assert_int_equal(rel.seqs[2], 21);
    assert_int_equal(rel.seqs[3], 22);
    ev = mkev("a", "y", sh_history_next_seq(h), fake_now, 0);
    assert_int_equal(ev->seq, 23);
    assert_int_equal(sh_history_append(h, ev, fake_now), 0);
    sh_event_unref(ev);
    sh_history_free(h); /* free is not a release */
    assert_int_equal(rel.n, 4);
}

static void test_hub_history_unique_ids_and_seq(void **state)
{
    sh_history_t *h;
    sh_event_t *ev;

    (void)state;
    sh_failalloc_install();
    fake_now = 0;
    h = hist_new(2, 1000, 41);
    assert_int_equal(sh_history_next_seq(h), 42);
    /* The seq must be the next one. */
    ev = mkev("a", "x", 41, 0, 0);
    assert_int_equal(sh_history_append(h, ev, 0), SSEHUB_EINVAL);
    sh_event_unref(ev);
    ev = mkev("a", "x", 43, 0, 0);
    assert_int_equal(sh_history_append(h, ev, 0), SSEHUB_EINVAL);
    sh_event_unref(ev);
    assert_int_equal(sh_history_count(h), 0);
    hist_add(h, "a", "x");
    assert_int_equal(sh_history_next_seq(h), 43);

    /* A retained id cannot come again, not even on another topic; nothing changes. */
    ev = mkev("b", "x", 43, 0, 0);
    assert_int_equal(sh_history_append(h, ev, 0), SSEHUB_EINVAL);
    assert_int_equal(refs(ev), 1);
    assert_int_equal(sh_history_next_seq(h), 43);
    assert_int_equal(sh_history_count(h), 1);
    check_replay(h, "*", 0, NULL, "", "x");

    /* Once "x" is evicted by count, the id is free again. */
    hist_add(h, "a", "y");
    hist_add(h, "a", "z");
    assert_null(sh_history_find(h, "x", 1));
    ev->seq = sh_history_next_seq(h);
    assert_int_equal(sh_history_append(h, ev, 0), 0);
    assert_ptr_equal(sh_history_find(h, "x", 1), ev);
    sh_event_unref(ev);

    /* Or once it is too old: "y" at 0 is expired at 1001 and its id may be reused. */
    fake_now = 1001;
    ev = mkev("c", "y", sh_history_next_seq(h), fake_now, 0);
    assert_int_equal(sh_history_append(h, ev, 1000), SSEHUB_EINVAL);
    assert_int_equal(sh_history_append(h, ev, 1001), 0);
    assert_ptr_equal(sh_history_find(h, "y", 1), ev);
    sh_event_unref(ev);
    /* Only "y" (the new one) is left: "z" and "x" were appended at 0 too. */
    assert_int_equal(sh_history_count(h), 1);
    check_replay(h, "*", 0, "earliest", "y", "earliest");
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- exactly-once publishing: comparing updates, the history's id check ---------------- */

/* The fields of a publish, as a publisher gives them. |type| and |data| NULL: absent. */
typedef struct pubspec_s {
    const char *topics; /* comma-separated */
    const char *id;
    const char *type;
    const char *data;
    size_t data_len; /* with |data|: its length (it may hold NUL) */
    int has_retry;
    uint64_t retry;
    int is_private;
} pubspec_t;

static sh_event_t *mkpub(const pubspec_t *ps, uint64_t seq, int64_t time_ms)
{
    sh_str_t ts[MAX_TOPICS];
    sh_event_init_t in;
    sh_event_t *ev = NULL;

    memset(&in, 0, sizeof(in));
    in.topics = ts;
    in.ntopics = split(ps->topics, ts, MAX_TOPICS);
    in.id = str_of(ps->id);
    if (ps->type != NULL)
        in.type = str_of(ps->type);
    if (ps->data != NULL) {
        in.data.ptr = ps->data;
        in.data.len = ps->data_len;
    }
    in.has_retry = ps->has_retry;
    in.retry = ps->retry;
    in.is_private = ps->is_private;
    in.seq = seq;
    in.time_ms = time_ms;
    assert_int_equal(sh_event_new(&in, &ev), 0);
    return ev;
}

#define DATA(s) (s), sizeof(s) - 1

/* The base update every case of test_hub_event_compare changes one field of. */
static const pubspec_t base_pub = {"a,b", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0};

static const struct {
    const char *what;
    pubspec_t other;
    sh_event_diff_t want;
} compare_cases[] = {
    {"the same fields", {"a,b", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0}, SH_EVENT_SAME},
    {"another id", {"a,b", "k2", "t", DATA("line 1\nline 2"), 1, 500, 0}, SH_EVENT_DIFF_ID},
    {"an id that extends it",
     {"a,b", "k11", "t", DATA("line 1\nline 2"), 1, 500, 0},
     SH_EVENT_DIFF_ID},
    {"topics in another order",
     {"b,a", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0},
     SH_EVENT_DIFF_TOPICS},
    {"one topic fewer", {"a", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0}, SH_EVENT_DIFF_TOPICS},
    {"one topic more",
     {"a,b,c", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0},
     SH_EVENT_DIFF_TOPICS},
    {"a topic renamed",
     {"a,bb", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0},
     SH_EVENT_DIFF_TOPICS},
    {"a topic listed twice",
     {"a,b,b", "k1", "t", DATA("line 1\nline 2"), 1, 500, 0},
     SH_EVENT_DIFF_TOPICS},
    {"private", {"a,b", "k1", "t", DATA("line 1\nline 2"), 1, 500, 1}, SH_EVENT_DIFF_PRIVATE},
    {"no type", {"a,b", "k1", NULL, DATA("line 1\nline 2"), 1, 500, 0}, SH_EVENT_DIFF_TYPE},
    {"another type", {"a,b", "k1", "u", DATA("line 1\nline 2"), 1, 500, 0}, SH_EVENT_DIFF_TYPE},
    {"a longer type", {"a,b", "k1", "tt", DATA("line 1\nline 2"), 1, 500, 0}, SH_EVENT_DIFF_TYPE},
    {"no retry", {"a,b", "k1", "t", DATA("line 1\nline 2"), 0, 0, 0}, SH_EVENT_DIFF_RETRY},
    {"another retry", {"a,b", "k1", "t", DATA("line 1\nline 2"), 1, 5000, 0}, SH_EVENT_DIFF_RETRY},
    {"retry 0", {"a,b", "k1", "t", DATA("line 1\nline 2"), 1, 0, 0}, SH_EVENT_DIFF_RETRY},
    {"other data", {"a,b", "k1", "t", DATA("line 1\nline 3"), 1, 500, 0}, SH_EVENT_DIFF_DATA},
    {"one data line", {"a,b", "k1", "t", DATA("line 1"), 1, 500, 0}, SH_EVENT_DIFF_DATA},
    {"a trailing LF", {"a,b", "k1", "t", DATA("line 1\nline 2\n"), 1, 500, 0}, SH_EVENT_DIFF_DATA},
    {"CRLF for LF", {"a,b", "k1", "t", DATA("line 1\r\nline 2"), 1, 500, 0}, SH_EVENT_DIFF_DATA},
    {"CR for LF", {"a,b", "k1", "t", DATA("line 1\rline 2"), 1, 500, 0}, SH_EVENT_DIFF_DATA},
    {"no data", {"a,b", "k1", "t", NULL, 0, 1, 500, 0}, SH_EVENT_DIFF_DATA},
    {"data that looks like a retry line",
     {"a,b", "k1", "t", DATA("retry: 500\nline 1\nline 2"), 0, 0, 0},
     SH_EVENT_DIFF_RETRY},
};

static void test_hub_event_compare(void **state)
{
    sh_event_t *base, *other, *again;
    size_t i;

    (void)state;
    sh_failalloc_install();
    base = mkpub(&base_pub, 1, 0);
    assert_int_equal(sh_event_compare(base, base), SH_EVENT_SAME);
    for (i = 0; i < sizeof(compare_cases) / sizeof(compare_cases[0]); i++) {
        /* Seq and time are the store's, not the publisher's: never compared. */
        other = mkpub(&compare_cases[i].other, 99, 12345);
        if (sh_event_compare(other, base) != compare_cases[i].want ||
            sh_event_compare(base, other) != compare_cases[i].want)
            fail_msg("%s: compare gave %d and %d, want %d", compare_cases[i].what,
                     (int)sh_event_compare(other, base), (int)sh_event_compare(base, other),
                     (int)compare_cases[i].want);
        sh_event_unref(other);
    }
    sh_event_unref(base);

    /* Line breaks: the frames of CRLF, CR and LF data are the same, the updates are not;
     * the same data with CRs is the same update. */
    {
        static const pubspec_t crlf = {"a", "k", NULL, DATA("x\r\ny"), 0, 0, 0};
        static const pubspec_t cr_lf = {"a", "k", NULL, DATA("x\r\n\ry"), 0, 0, 0};
        static const pubspec_t lf_cr = {"a", "k", NULL, DATA("x\n\r\ny"), 0, 0, 0};

        base = mkpub(&crlf, 1, 0);
        again = mkpub(&crlf, 2, 0);
        assert_int_equal(sh_event_compare(base, again), SH_EVENT_SAME);
        sh_event_unref(again);
        other = mkpub(&cr_lf, 2, 0);
        again = mkpub(&lf_cr, 3, 0);
        assert_int_equal(ssehub_rcbuf_len(other->wire), ssehub_rcbuf_len(again->wire));
        assert_memory_equal(ssehub_rcbuf_data(other->wire), ssehub_rcbuf_data(again->wire),
                            ssehub_rcbuf_len(again->wire));
        assert_int_equal(sh_event_compare(other, again), SH_EVENT_DIFF_DATA);
        assert_int_equal(sh_event_compare(base, other), SH_EVENT_DIFF_DATA);
        sh_event_unref(again);
        sh_event_unref(other);
        sh_event_unref(base);
    }

    /* An absent type or data is the same update as an empty one (the same on the wire). */
    {
        static const pubspec_t absent = {"a", "k", NULL, NULL, 0, 0, 0, 0};
        static const pubspec_t empty = {"a", "k", "", DATA(""), 0, 0, 0};

        base = mkpub(&absent, 1, 0);
        other = mkpub(&empty, 2, 0);
        assert_int_equal(sh_event_compare(base, other), SH_EVENT_SAME);
        sh_event_unref(other);
        sh_event_unref(base);
    }
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* Checks what an append of |ps| now would meet: |want|, with |want_diff| and the held
 * event |want_held| (NULL for none); nothing in the history changes. */
static void check_id(sh_history_t *h, const pubspec_t *ps, sh_history_idcheck_t want,
                     sh_event_diff_t want_diff, const sh_event_t *want_held)
{
    uint64_t next = sh_history_next_seq(h);
    size_t count = sh_history_count(h);
    sh_event_t *ev = mkpub(ps, next, fake_now), *held = (sh_event_t *)1;
    sh_event_diff_t diff = (sh_event_diff_t)-1;

    assert_int_equal(sh_history_check_id(h, ev, fake_now, &held, &diff), want);
    assert_ptr_equal(held, want_held);
    assert_int_equal(diff, want_diff);
    assert_int_equal(sh_history_check_id(h, ev, fake_now, &held, NULL), want);
    assert_ptr_equal(sh_history_holder(h, ps->id, strlen(ps->id), fake_now), want_held);
    assert_int_equal(sh_history_next_seq(h), next);
    assert_int_equal(sh_history_count(h), count);
    /* What the check says is what the append does: a held id is refused. */
    assert_int_equal(sh_history_append(h, ev, fake_now),
                     want == SH_HISTORY_ID_NEW ? 0 : SSEHUB_EINVAL);
    if (want == SH_HISTORY_ID_NEW && sh_history_count(h) > 0) /* not with --history 0 */
        assert_ptr_equal(sh_history_holder(h, ps->id, strlen(ps->id), fake_now), ev);
    sh_event_unref(ev);
}

static void test_hub_history_check_id(void **state)
{
    static const pubspec_t k1 = {"a,b", "k1", "t", DATA("one"), 1, 500, 0};
    static const pubspec_t k1_data = {"a,b", "k1", "t", DATA("two"), 1, 500, 0};
    static const pubspec_t k1_topics = {"b,a", "k1", "t", DATA("one"), 1, 500, 0};
    static const pubspec_t k1_type = {"a,b", "k1", NULL, DATA("one"), 1, 500, 0};
    static const pubspec_t k1_retry = {"a,b", "k1", "t", DATA("one"), 0, 0, 0};
    static const pubspec_t k1_private = {"a,b", "k1", "t", DATA("one"), 1, 500, 1};
    static const pubspec_t k2 = {"a", "k2", NULL, DATA("x"), 0, 0, 0};
    static const pubspec_t k3 = {"a", "k3", NULL, DATA("x"), 0, 0, 0};
    static const pubspec_t k4 = {"b", "k4", NULL, DATA("x"), 0, 0, 0};
    static const pubspec_t k5 = {"b", "k5", NULL, DATA("x"), 0, 0, 0};
    sh_history_t *h;
    sh_event_t *held;

    (void)state;
    sh_failalloc_install();
    fake_now = 0;
    h = hist_new(2, 1000, 0);
    check_id(h, &k1, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    held = sh_history_find(h, "k1", 2);
    assert_non_null(held);
    /* The same update again (a retry): a duplicate of the retained event, whatever the
     * clock says within the age bound. */
    fake_now = 1000;
    check_id(h, &k1, SH_HISTORY_ID_DUPLICATE, SH_EVENT_SAME, held);
    /* Any field different: a conflict, saying which. */
    check_id(h, &k1_data, SH_HISTORY_ID_CONFLICT, SH_EVENT_DIFF_DATA, held);
    check_id(h, &k1_topics, SH_HISTORY_ID_CONFLICT, SH_EVENT_DIFF_TOPICS, held);
    check_id(h, &k1_type, SH_HISTORY_ID_CONFLICT, SH_EVENT_DIFF_TYPE, held);
    check_id(h, &k1_retry, SH_HISTORY_ID_CONFLICT, SH_EVENT_DIFF_RETRY, held);
    check_id(h, &k1_private, SH_HISTORY_ID_CONFLICT, SH_EVENT_DIFF_PRIVATE, held);
    check_replay(h, "*", 1, "earliest", "k1", "earliest");

    /* Evicted by count from "a" but still in "b": still held. */
    check_id(h, &k2, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    check_id(h, &k3, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    check_id(h, &k1, SH_HISTORY_ID_DUPLICATE, SH_EVENT_SAME, held);
    /* Evicted from "b" too: the id is free, the same update is a new event. */
    check_id(h, &k4, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    check_id(h, &k1, SH_HISTORY_ID_DUPLICATE, SH_EVENT_SAME, held);
    check_id(h, &k5, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    assert_null(sh_history_find(h, "k1", 2));
    check_id(h, &k4, SH_HISTORY_ID_DUPLICATE, SH_EVENT_SAME, sh_history_find(h, "k4", 2));
    check_id(h, &k1, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    held = sh_history_find(h, "k1", 2);
    check_id(h, &k1, SH_HISTORY_ID_DUPLICATE, SH_EVENT_SAME, held);

    /* Past the age bound (not yet let go): it holds nothing, as for the append. */
    fake_now = 2001;
    assert_ptr_equal(sh_history_find(h, "k1", 2), held);
    check_id(h, &k1_data, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    check_replay(h, "*", 1, "earliest", "k1", "earliest");
    sh_history_free(h);

    /* --history 0: nothing is retained, so no id is ever held. */
    h = hist_new(0, 0, 0);
    check_id(h, &k1, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    check_id(h, &k1, SH_HISTORY_ID_NEW, SH_EVENT_SAME, NULL);
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_history_replay_edges(void **state)
{
    sh_history_t *h;

    (void)state;
    sh_failalloc_install();
    fake_now = 0;
    h = hist_new(3, 0, 0);
    /* Nothing appended yet. */
    check_replay(h, "a", 0, NULL, "", "earliest");
    check_replay(h, "a", 0, "earliest", "", "earliest");
    check_replay(h, "a", 0, "nope", "", "earliest");
    check_replay(h, "*", 0, "5", "", "5");
    hist_add(h, "a", "a1");
    hist_add(h, "a", "a2");
    hist_add(h, "a", "a3");
    hist_add(h, "a", "a4");
    hist_add(h, "a", "a5"); /* a3 a4 a5 retained */
    check_replay(h, "a", 0, NULL, "", "a5");
    check_replay(h, "a", 0, "earliest", "a3 a4 a5", "earliest");
    check_replay(h, "a", 0, "a3", "a4 a5", "a3"); /* the oldest retained */
    check_replay(h, "a", 0, "a4", "a5", "a4");
    check_replay(h, "a", 0, "a5", "", "a5"); /* the newest */
    check_replay(h, "a", 0, "a1", "", "a5"); /* evicted, not decimal: as none */
    check_replay(h, "a", 0, "", "", "a5");
    check_replay(h, "*", 0, "a3", "a4 a5", "a3");
    check_replay(h, "*", 0, "a1", "", "a5");
    check_replay(h, "b", 0, "earliest", "", "earliest");
    check_replay(h, "b", 0, "a3", "", "a3");
    check_replay(h, "b", 0, NULL, "", "a5");
    /* "earliest" is matched exactly. */
    check_replay(h, "a", 0, "Earliest", "", "a5");
    check_replay(h, "a", 0, "earliest2", "", "a5");
    sh_history_free(h);

    /* Hub-assigned decimal ids (the id is the seq). */
    h = hist_new(3, 0, 0);
    hist_add(h, "a", "1");
    hist_add(h, "a", "2");
    hist_add(h, "a", "3");
    hist_add(h, "a", "4");
    hist_add(h, "a", "5");
    check_replay(h, "a", 0, "1", "3 4 5", "1"); /* evicted: by seq */
    check_replay(h, "a", 0, "2", "3 4 5", "2");
    check_replay(h, "a", 0, "0", "3 4 5", "0");
    check_replay(h, "a", 0, "3", "4 5", "3"); /* retained */
    check_replay(h, "a", 0, "5", "", "5");
    check_replay(h, "a", 0, "99", "", "99"); /* from the future */
    check_replay(h, "a", 0, "99999999999999999999999", "", "99999999999999999999999");
    check_replay(h, "*", 0, "2", "3 4 5", "2");
    check_replay(h, "a", 0, "-1", "", "5");
    check_replay(h, "a", 0, "1a", "", "5");
    sh_history_free(h);

    /* Nothing retained (max_per_topic 0): the header still knows the newest id. */
    h = hist_new(0, 0, 10);
    hist_add(h, "a", "p");
    hist_add(h, "a", "p"); /* not retained, so not a duplicate */
    assert_int_equal(sh_history_count(h), 0);
    assert_null(sh_history_find(h, "p", 1));
    assert_int_equal(sh_history_next_seq(h), 13);
    check_replay(h, "a", 0, NULL, "", "p");
    check_replay(h, "a", 0, "earliest", "", "earliest");
    check_replay(h, "*", 0, "11", "", "11");
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_history_replay_merge(void **state)
{
    sh_history_t *h;
    sh_selectors_t sel;
    sh_replay_t r;

    (void)state;
    sh_failalloc_install();
    fake_now = 0;
    h = hist_new(10, 0, 0);
    hist_add(h, "a", "e1");
    hist_add(h, "b", "e2");
    hist_add(h, "a,b", "e3");
    hist_add(h, "a", "e4");
    hist_add(h, "b", "e5");
    hist_add(h, "b,a", "e6");
    hist_add(h, "c", "e7");
    hist_add_private(h, "a", "p8");
    hist_add(h, "b,c,a", "e9");
    check_replay(h, "a,b", 0, "earliest", "e1 e2 e3 e4 e5 e6 e9", "earliest");
    check_replay(h, "b,a", 0, "earliest", "e1 e2 e3 e4 e5 e6 e9", "earliest");
    check_replay(h, "a,b", 1, "earliest", "e1 e2 e3 e4 e5 e6 p8 e9", "earliest");
    check_replay(h, "a,b", 0, "e3", "e4 e5 e6 e9", "e3");
    check_replay(h, "b", 0, "earliest", "e2 e3 e5 e6 e9", "earliest");
    check_replay(h, "c,nothing,a", 0, "e4", "e6 e7 e9", "e4");
    check_replay(h, "nothing", 0, "earliest", "", "earliest");
    check_replay(h, "*", 0, "earliest", "e1 e2 e3 e4 e5 e6 e7 e9", "earliest");
    check_replay(h, "*", 1, "e6", "e7 p8 e9", "e6");
    check_replay(h, "a,*", 0, "e6", "e7 e9", "e6");
    check_replay(h, "a", 1, "p8", "e9", "p8");

    /* The replayed events are referenced until the replay is disposed. */
    assert_int_equal(sel_init(&sel, "c"), 0);
    assert_int_equal(sh_history_replay(h, &sel, NULL, 0, 0, &r), 0);
    assert_int_equal(r.n, 0);
    assert_null(r.events);
    sh_replay_dispose(&r);
    assert_int_equal(sh_history_replay(h, &sel, "e1", 2, 0, &r), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(refs(r.events[0]), 2); /* the history's and the replay's */
    assert_int_equal(refs(r.events[1]), 3); /* e9 is also the newest */
    assert_int_equal(r.snapshot_seq, 9);
    sh_replay_dispose(&r);
    sh_replay_dispose(&r);
    sh_selectors_dispose(&sel);
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* Everything a history shows, as one string, to compare before and after a failed call. */
static void history_state(sh_history_t *h, char *out, size_t cap)
{
    static const char *const sels[] = {"*", "a", "b", "full", "n0,n3,n7"};
    sh_selectors_t sel;
    sh_replay_t r;
    size_t i, n;

    n = (size_t)snprintf(out, cap, "count=%zu next=%llu", sh_history_count(h),
                         (unsigned long long)sh_history_next_seq(h));
    for (i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        assert_int_equal(sel_init(&sel, sels[i]), 0);
        assert_int_equal(sh_history_replay(h, &sel, "earliest", 8, fake_now, &r), 0);
        n += (size_t)snprintf(out + n, cap - n, " [%s: %s]", sels[i], replay_ids(&r));
        sh_replay_dispose(&r);
        sh_selectors_dispose(&sel);
    }
    assert_true(n < cap);
}

static void test_hub_history_append_oom(void **state)
{
    sh_history_t *h;
    sh_history_config_t cfg = {5, 0, 0, NULL, NULL};
    char before[1024], after[1024];
    sh_event_t *ev;
    size_t live;
    long n, i;
    int rc;

    (void)state;
    sh_failalloc_install();
    fake_now = 0;
    for (n = 0;; n++) {
        sh_failalloc_fail_after(n);
        rc = sh_history_new(&cfg, 0, &h);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_null(h);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    /* Twelve ids (the id index is at its load bound), a ring at its capacity but under the
     * bound ("a": 4 of 5), one at the bound ("full"): the next event needs every kind of
     * allocation, eight new topics included (the topic map grows). */
    hist_add(h, "a", "1");
    hist_add(h, "a", "2");
    hist_add(h, "full", "f0");
    hist_add(h, "full", "f1");
    hist_add(h, "full", "f2");
    hist_add(h, "full", "f3");
    hist_add(h, "full", "f4");
    hist_add(h, "a,b", "3");
    hist_add(h, "b", "g1");
    hist_add(h, "b", "g2");
    hist_add(h, "b", "g3");
    hist_add(h, "a", "4");
    ev = mkev("n0,a,n1,n2,full,n3,n4,n5,n6,n7,n3", "new", sh_history_next_seq(h), 0, 0);
    history_state(h, before, sizeof(before));
    for (n = 0;; n++) {
        live = sh_failalloc_live();
        sh_failalloc_fail_after(n);
        rc = sh_history_append(h, ev, 0);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(refs(ev), 1);
        history_state(h, after, sizeof(after));
        assert_string_equal(after, before);
        /* A ring may have grown and a map may have room reserved, in place of the old. */
        assert_int_equal(sh_failalloc_live(), live);
    }
    assert_true(n >= 4);
    history_state(h, after, sizeof(after));
    assert_string_equal(after, "count=12 next=14 [*: 1 2 f1 f2 f3 f4 3 g1 g2 g3 4 new] "
                               "[a: 1 2 3 4 new] [b: 3 g1 g2 g3] [full: f1 f2 f3 f4 new] "
                               "[n0,n3,n7: new]");
    sh_event_unref(ev);

    /* Replay out of memory: ENOMEM, nothing referenced or allocated. */
    {
        sh_selectors_t sel;
        sh_replay_t r;
        const char *sels[] = {"a,full", "*"};
        for (i = 0; i < 2; i++) {
            assert_int_equal(sel_init(&sel, sels[i]), 0);
            live = sh_failalloc_live();
            for (n = 0;; n++) {
                sh_failalloc_fail_after(n);
                rc = sh_history_replay(h, &sel, "earliest", 8, 0, &r);
                sh_failalloc_fail_after(-1);
                if (rc == 0)
                    break;
                assert_int_equal(rc, SSEHUB_ENOMEM);
                assert_null(r.events);
                assert_null(r.last_event_id);
                assert_int_equal(r.n, 0);
                assert_int_equal(sh_failalloc_live(), live);
            }
            assert_int_equal(n, i == 0 ? 3 : 2);
            sh_replay_dispose(&r);
            sh_selectors_dispose(&sel);
        }
    }
    sh_history_free(h);
    sh_history_free(NULL);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* Random appends and expiries against a model of what must be retained. */
static void test_hub_history_random_against_model(void **state)
{
    enum { EVENTS = 3000, TOPICS = 6, MAX = 7, AGE = 40 };
    static struct {
        unsigned topics; /* bit set */
        int64_t t;
    } model[EVENTS + 1];
    sh_history_t *h;
    uint64_t seq;

    (void)state;
    sh_failalloc_install();
    sh_test_rng_seed(7);
    fake_now = 0;
    h = hist_new(MAX, AGE, 0);
    for (seq = 1; seq <= EVENTS; seq++) {
        char topics[64], id[16];
        size_t n = 0, k;
        unsigned bits = 0;
        sh_event_t *ev;
        fake_now += (int64_t)sh_test_rng_below(4);
        while (bits == 0)
            bits = (unsigned)sh_test_rng_below(1u << TOPICS) & (unsigned)sh_test_rng_next();
        for (k = 0; k < TOPICS; k++) {
            if (bits & (1u << k))
                n += (size_t)snprintf(topics + n, sizeof(topics) - n, "%st%zu", n ? "," : "", k);
        }
        snprintf(id, sizeof(id), "%llu", (unsigned long long)seq);
        ev = mkev(topics, id, seq, fake_now, 0);
        assert_int_equal(sh_history_append(h, ev, fake_now), 0);
        sh_event_unref(ev);
        model[seq].topics = bits;
        model[seq].t = fake_now;
        if (sh_test_rng_below(10) == 0)
            (void)sh_history_expire(h, fake_now);

        if (seq % 97 == 0 || seq == EVENTS) {
            /* Per topic: the newest MAX events, minus those older than AGE. */
            for (k = 0; k < TOPICS; k++) {
                char want[1024], sel[8];
                size_t wn = 0, kept = 0;
                uint64_t s;
                uint64_t start = seq;
                want[0] = '\0';
                for (s = seq; s >= 1 && kept < MAX; s--) {
                    if (model[s].topics & (1u << k)) {
                        kept++;
                        start = s;
                    }
                }
                for (s = start; s <= seq; s++) {
                    if ((model[s].topics & (1u << k)) && fake_now - model[s].t <= AGE)
                        wn += (size_t)snprintf(want + wn, sizeof(want) - wn, "%s%llu",
                                               wn ? " " : "", (unsigned long long)s);
                }
                snprintf(sel, sizeof(sel), "t%zu", k);
                check_replay(h, sel, 0, "earliest", want, "earliest");
            }
        }
    }
    sh_history_free(h);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- sh_subs ---------------------------------------------------------------------------- */

typedef struct tsub_s {
    sh_sub_t sub;
    int hits;
    int remove_self;            /* removes itself when delivered */
    struct tsub_s *remove_also; /* and this one too */
} tsub_t;

typedef struct dctx_s {
    sh_subs_t *r;
    sh_event_t *ev;
} dctx_t;

static void on_deliver(sh_sub_t *sub, sh_event_t *ev, void *user)
{
    dctx_t *ctx = user;
    tsub_t *t = sub->data;

    assert_ptr_equal(ev, ctx->ev);
    assert_int_equal(sub->last_seq, ev->seq);
    t->hits++;
    if (t->remove_self)
        sh_subs_remove(ctx->r, sub);
    if (t->remove_also != NULL)
        sh_subs_remove(ctx->r, &t->remove_also->sub);
}

static void tsub_init(tsub_t *t, const char *selectors)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(sel_init(&t->sub.sel, selectors), 0);
    t->sub.data = t;
}

/* Dispatches an event and checks the hits of each of |subs| ("1 0 1 ..."), then resets. */
static void dispatch_check(sh_subs_t *r, tsub_t *subs, size_t n, sh_event_t *ev, const char *want)
{
    dctx_t ctx = {r, ev};
    char got[256];
    size_t i, len = 0, calls, total = 0;

    calls = sh_subs_dispatch(r, ev, on_deliver, &ctx);
    got[0] = '\0';
    for (i = 0; i < n; i++) {
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%d", i ? " " : "", subs[i].hits);
        total += (size_t)subs[i].hits;
        subs[i].hits = 0;
    }
    if (strcmp(got, want) != 0)
        fail_msg("event %s: hits \"%s\", want \"%s\"", ev->id.ptr, got, want);
    assert_int_equal(calls, total);
}

static void test_hub_subs_matching(void **state)
{
    sh_subs_t r;
    tsub_t s[6];
    sh_event_t *ev;
    size_t i;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(sh_subs_init(&r), 0);
    tsub_init(&s[0], "a");
    tsub_init(&s[1], "b");
    tsub_init(&s[2], "*");
    tsub_init(&s[3], "a,b");
    tsub_init(&s[4], "a,*");
    tsub_init(&s[5], "c");
    s[5].sub.last_seq = 5; /* a replay covered up to seq 5 */
    for (i = 0; i < 6; i++) {
        assert_int_equal(sh_subs_add(&r, &s[i].sub), 0);
        assert_int_equal(r.count, i + 1);
    }
    assert_int_equal(sh_subs_add(&r, &s[0].sub), 0); /* already registered: no-op */
    assert_int_equal(r.count, 6);
    assert_int_equal(r.ntopics, 3);

    ev = mkev("a", "1", 1, 0, 0);
    dispatch_check(&r, s, 6, ev, "1 0 1 1 1 0");
    dispatch_check(&r, s, 6, ev, "0 0 0 0 0 0"); /* seq not greater: skipped */
    sh_event_unref(ev);
    ev = mkev("a,b,a", "2", 2, 0, 0); /* once each, whatever the overlap */
    dispatch_check(&r, s, 6, ev, "1 1 1 1 1 0");
    sh_event_unref(ev);
    ev = mkev("c,zzz", "3", 3, 0, 0);
    dispatch_check(&r, s, 6, ev, "0 0 1 0 1 0"); /* below s5's last_seq */
    sh_event_unref(ev);
    ev = mkev("c", "6", 6, 0, 0);
    dispatch_check(&r, s, 6, ev, "0 0 1 0 1 1");
    assert_int_equal(s[5].sub.last_seq, 6);
    assert_int_equal(s[0].sub.last_seq, 2);
    sh_event_unref(ev);
    ev = mkev("nobody", "7", 7, 0, 0);
    dispatch_check(&r, s, 6, ev, "0 0 1 0 1 0");
    sh_event_unref(ev);

    /* Private events reach only the subscriptions allowed them. */
    s[3].sub.sel.may_private = 1;
    s[2].sub.sel.may_private = 1;
    ev = mkev("a", "8", 8, 0, 1);
    dispatch_check(&r, s, 6, ev, "0 0 1 1 0 0");
    sh_event_unref(ev);

    for (i = 0; i < 6; i++) {
        sh_subs_remove(&r, &s[i].sub);
        sh_subs_remove(&r, &s[i].sub); /* twice: no-op */
        assert_int_equal(r.count, 5 - i);
        assert_false(s[i].sub.registered);
    }
    assert_int_equal(r.ntopics, 0);
    assert_null(r.all_head);
    ev = mkev("a", "9", 9, 0, 0);
    dispatch_check(&r, s, 6, ev, "0 0 0 0 0 0");
    sh_event_unref(ev);
    for (i = 0; i < 6; i++)
        sh_selectors_dispose(&s[i].sub.sel);
    sh_subs_dispose(&r);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/*
 * Draft-08 exact selectors (match=) beside draft-07 ones (topic=) on the same strings: the
 * exact one never matches as a URI template, the template one still does (and still matches
 * its own text), `*` given as match= is everything, and the same string of both kinds in one
 * subscription is two selectors. Out of memory at every allocation of the kinds' init.
 */
static void test_hub_subs_selector_kinds(void **state)
{
    static const char tpl[] = "https://e.x/b/{id}";
    sh_str_t raw[4];
    unsigned char kinds[4] = {SH_SEL_EXACT, SH_SEL_TOPIC, SH_SEL_EXACT, SH_SEL_EXACT};
    sh_subs_t r;
    tsub_t s[3];
    sh_event_t *ev;
    long k;
    size_t i;
    int rc;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(sh_subs_init(&r), 0);
    memset(s, 0, sizeof(s));
    raw[0] = str_of(tpl);
    assert_int_equal(sh_selectors_init_kinds(&s[0].sub.sel, raw, kinds, 1), 0); /* exact */
    assert_true(s[0].sub.sel.v08);
    assert_null(s[0].sub.sel.tpls);
    assert_int_equal(sh_selectors_kind(&s[0].sub.sel, 0), SH_SEL_EXACT);
    assert_int_equal(sh_selectors_init_kinds(&s[1].sub.sel, raw, &kinds[1], 1), 0); /* tpl */
    assert_false(s[1].sub.sel.v08);
    assert_null(s[1].sub.sel.kinds);
    raw[1] = str_of("*");
    assert_int_equal(sh_selectors_init_kinds(&s[2].sub.sel, &raw[1], &kinds[2], 1), 0);
    assert_true(s[2].sub.sel.all);
    for (i = 0; i < 3; i++) {
        s[i].sub.data = &s[i];
        assert_int_equal(sh_subs_add(&r, &s[i].sub), 0);
    }
    assert_int_equal(r.ntopics, 1);
    assert_int_equal(r.npatterns, 1);
    ev = mkev("https://e.x/b/1", "1", 1, 0, 0);
    dispatch_check(&r, s, 3, ev, "0 1 1");
    assert_false(sh_selectors_match_topic(&s[0].sub.sel, ev->topics[0].ptr, ev->topics[0].len));
    sh_event_unref(ev);
    ev = mkev(tpl, "2", 2, 0, 0); /* the template's own text: both */
    dispatch_check(&r, s, 3, ev, "1 1 1");
    sh_event_unref(ev);
    sh_subs_remove(&r, &s[1].sub);
    ev = mkev("https://e.x/b/3", "3", 3, 0, 0);
    dispatch_check(&r, s, 3, ev, "0 0 1");
    sh_event_unref(ev);
    sh_subs_remove(&r, &s[0].sub);
    sh_subs_remove(&r, &s[2].sub);
    assert_int_equal(r.ntopics + r.npatterns, 0);
    for (i = 0; i < 3; i++)
        sh_selectors_dispose(&s[i].sub.sel);
    sh_subs_dispose(&r);

    /* One subscription, the same string as both kinds, twice each: two selectors. */
    raw[0] = str_of(tpl);
    raw[1] = str_of(tpl);
    raw[2] = str_of(tpl);
    raw[3] = str_of(tpl);
    kinds[0] = SH_SEL_EXACT;
    kinds[1] = SH_SEL_TOPIC;
    kinds[2] = SH_SEL_EXACT;
    kinds[3] = SH_SEL_TOPIC;
    for (k = 0;; k++) {
        sh_failalloc_fail_after(k);
        rc = sh_selectors_init_kinds(&s[0].sub.sel, raw, kinds, 4);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    assert_int_equal(s[0].sub.sel.ntopics, 2);
    assert_int_equal(sh_selectors_kind(&s[0].sub.sel, 0), SH_SEL_EXACT);
    assert_int_equal(sh_selectors_kind(&s[0].sub.sel, 1), SH_SEL_TOPIC);
    assert_null(s[0].sub.sel.tpls[0]);
    assert_non_null(s[0].sub.sel.tpls[1]);
    assert_true(sh_selectors_match_topic(&s[0].sub.sel, "https://e.x/b/9", 15));
    sh_selectors_dispose(&s[0].sub.sel);
    kinds[1] = 7; /* not a kind */
    assert_int_equal(sh_selectors_init_kinds(&s[0].sub.sel, raw, kinds, 2), SSEHUB_EINVAL);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/*
 * URL pattern selectors in the registry: one entry per (hub URL, pattern), shared by the
 * subscriptions that give it and compiled once; the same pattern with another hub URL is
 * another entry (relative patterns and topics resolve against it).
 */
static void test_hub_subs_url_patterns(void **state)
{
    static const char h1[] = "https://hub.example/.well-known/mercure";
    static const char h2[] = "https://other.example/.well-known/mercure";
    unsigned char k[2] = {SH_SEL_URLPATTERN, SH_SEL_EXACT};
    sh_str_t raw[2];
    const char *reason = NULL;
    sh_subs_t r;
    tsub_t s[3];
    sh_event_t *ev;
    size_t i;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(sh_subs_init(&r), 0);
    memset(s, 0, sizeof(s));
    raw[0] = str_of("/books/:id");
    raw[1] = str_of("end");
    assert_int_equal(sh_selectors_init_base(&s[0].sub.sel, raw, k, 2, h1, strlen(h1), &reason), 0);
    assert_int_equal(sh_selectors_init_base(&s[1].sub.sel, raw, k, 1, h1, strlen(h1), &reason), 0);
    assert_int_equal(sh_selectors_init_base(&s[2].sub.sel, raw, k, 1, h2, strlen(h2), &reason), 0);
    for (i = 0; i < 3; i++) {
        s[i].sub.data = &s[i];
        assert_int_equal(sh_subs_add(&r, &s[i].sub), 0);
    }
    assert_int_equal(r.npatterns, 2); /* h1 once, h2 once */
    ev = mkev("https://hub.example/books/1", "1", 1, 0, 0);
    dispatch_check(&r, s, 3, ev, "1 1 0");
    sh_event_unref(ev);
    ev = mkev("/books/2", "2", 2, 0, 0); /* relative: each against its own hub URL */
    dispatch_check(&r, s, 3, ev, "1 1 1");
    sh_event_unref(ev);
    ev = mkev("https://other.example/books/3,not a url {x}", "3", 3, 0, 0);
    dispatch_check(&r, s, 3, ev, "0 0 1");
    sh_event_unref(ev);
    ev = mkev("end", "4", 4, 0, 0);
    dispatch_check(&r, s, 3, ev, "1 0 0");
    sh_event_unref(ev);
    assert_true(sh_selectors_match_topic(&s[0].sub.sel, "/books/9", 8));
    assert_false(sh_selectors_match_topic(&s[0].sub.sel, "/books/9/x", 10));
    for (i = 0; i < 3; i++) {
        sh_subs_remove(&r, &s[i].sub);
        sh_selectors_dispose(&s[i].sub.sel);
    }
    raw[0] = str_of("/books/:id(a"); /* refused, with the reason, nothing left */
    assert_int_equal(sh_selectors_init_base(&s[0].sub.sel, raw, k, 1, h1, strlen(h1), &reason),
                     SSEHUB_EINVAL);
    assert_non_null(reason);
    assert_int_equal(r.npatterns + r.ntopics, 0);
    sh_subs_dispose(&r);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_subs_remove_in_callback(void **state)
{
    sh_subs_t r;
    tsub_t s[6];
    sh_event_t *ev;
    size_t i;

    (void)state;
    sh_failalloc_install();
    assert_int_equal(sh_subs_init(&r), 0);

    /* The only subscription of a topic removes itself: the topic goes with it. */
    tsub_init(&s[0], "solo");
    s[0].remove_self = 1;
    assert_int_equal(sh_subs_add(&r, &s[0].sub), 0);
    assert_int_equal(r.ntopics, 1);
    ev = mkev("solo,solo", "1", 1, 0, 0);
    dispatch_check(&r, s, 1, ev, "1");
    sh_event_unref(ev);
    assert_int_equal(r.ntopics, 0);
    assert_int_equal(r.count, 0);
    assert_false(s[0].sub.registered);
    sh_selectors_dispose(&s[0].sub.sel);

    /* In a list of several: first, middle and last remove themselves. */
    tsub_init(&s[0], "a");
    tsub_init(&s[1], "a");
    tsub_init(&s[2], "a,b");
    tsub_init(&s[3], "a,*");
    tsub_init(&s[4], "*");
    tsub_init(&s[5], "*,b");
    for (i = 0; i < 6; i++)
        assert_int_equal(sh_subs_add(&r, &s[i].sub), 0);
    s[0].remove_self = 1;
    s[2].remove_self = 1; /* also listed under b, which comes next */
    s[3].remove_self = 1; /* also in the `*` list */
    s[5].remove_self = 1;
    ev = mkev("a,b", "2", 2, 0, 0);
    dispatch_check(&r, s, 6, ev, "1 1 1 1 1 1");
    sh_event_unref(ev);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.ntopics, 1); /* b emptied */
    ev = mkev("a,b", "3", 3, 0, 0);
    dispatch_check(&r, s, 6, ev, "0 1 0 0 1 0");
    sh_event_unref(ev);

    /* Beyond the contract: a callback removing the subscription visited next. */
    s[1].remove_self = 0;
    s[1].remove_also = &s[4];
    for (i = 0; i < 6; i++) {
        if (!s[i].sub.registered)
            assert_int_equal(sh_subs_add(&r, &s[i].sub), 0);
        s[i].remove_self = 0;
    }
    s[0].remove_also = &s[1]; /* whichever of 0 and 1 runs first removes the other */
    s[1].remove_also = &s[0];
    s[5].remove_also = &s[3]; /* the `*` subscription after it, already given the event */
    ev = mkev("a", "4", 4, 0, 0);
    {
        dctx_t ctx = {&r, ev};
        size_t calls = sh_subs_dispatch(&r, ev, on_deliver, &ctx);
        assert_int_equal(s[0].hits + s[1].hits, 1);
        assert_int_equal(s[2].hits, 1);
        assert_int_equal(s[3].hits, 1);
        assert_int_equal(s[4].hits, 1); /* reached past the removed s3 */
        assert_int_equal(s[5].hits, 1);
        assert_int_equal(calls, 5);
        assert_false(s[3].sub.registered);
        assert_false(s[0].sub.registered && s[1].sub.registered);
    }
    sh_event_unref(ev);
    for (i = 0; i < 6; i++) {
        sh_subs_remove(&r, &s[i].sub);
        sh_selectors_dispose(&s[i].sub.sel);
    }
    assert_int_equal(r.count, 0);
    assert_int_equal(r.ntopics, 0);
    sh_subs_dispose(&r);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_subs_oom(void **state)
{
    sh_subs_t r;
    tsub_t s[2]; /* an old subscription, and the one added out of memory */
    sh_event_t *ev;
    size_t live;
    long n;
    int rc;

    (void)state;
    sh_failalloc_install();
    for (n = 0;; n++) {
        sh_failalloc_fail_after(n);
        rc = sh_subs_init(&r);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    tsub_init(&s[0], "a,b,c");
    assert_int_equal(sh_subs_add(&r, &s[0].sub), 0);
    tsub_init(&s[1], "n1,a,n2,n3,b,n4,n5,*,n6,n7");
    for (n = 0;; n++) {
        live = sh_failalloc_live();
        sh_failalloc_fail_after(n);
        rc = sh_subs_add(&r, &s[1].sub);
        sh_failalloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SSEHUB_ENOMEM);
        assert_false(s[1].sub.registered);
        assert_int_equal(r.count, 1);
        assert_int_equal(r.ntopics, 3);
        assert_null(r.all_head);
        /* The topic map may keep a bigger slot array, in place of the old one. */
        assert_int_equal(sh_failalloc_live(), live);
        ev = mkev("a,n1,n7", "x", (uint64_t)n + 1, 0, 0);
        dispatch_check(&r, s, 2, ev, "1 0");
        sh_event_unref(ev);
    }
    assert_true(n >= 3);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.ntopics, 10);
    ev = mkev("n7", "y", 1000, 0, 0);
    dispatch_check(&r, s, 2, ev, "0 1");
    sh_event_unref(ev);
    ev = mkev("zzz", "z", 1001, 0, 0); /* through `*` */
    dispatch_check(&r, s, 2, ev, "0 1");
    sh_event_unref(ev);
    sh_subs_remove(&r, &s[1].sub);
    sh_subs_remove(&r, &s[0].sub);
    assert_int_equal(r.ntopics, 0);
    sh_selectors_dispose(&s[1].sub.sel);
    sh_selectors_dispose(&s[0].sub.sel);
    sh_subs_dispose(&r);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* ---- sh_sendq --------------------------------------------------------------------------- */

static ssehub_rcbuf_t *frame(const char *s)
{
    ssehub_rcbuf_t *b;

    assert_int_equal(ssehub_rcbuf_new(strlen(s), &b), 0);
    memcpy(ssehub_rcbuf_data(b), s, strlen(s));
    return b;
}

/* The unwritten bytes, through sh_sendq_iov() with at most |max| iovecs. */
static const char *pending(const sh_sendq_t *q, size_t max)
{
    static char out[4096];
    sh_iov_t iov[64];
    size_t n, i, len = 0;

    n = sh_sendq_iov(q, iov, max);
    assert_true(n <= max);
    for (i = 0; i < n; i++) {
        assert_true(iov[i].len > 0);
        memcpy(out + len, iov[i].base, iov[i].len);
        len += iov[i].len;
    }
    out[len] = '\0';
    return out;
}

/* The queue's frames, concatenated from the unwritten bytes. */
static const char *sendq_text(const sh_sendq_t *q)
{
    static char out[512];
    sh_iov_t iov[64];
    size_t n = sh_sendq_iov(q, iov, 64), i, len = 0;

    for (i = 0; i < n; i++) {
        memcpy(out + len, iov[i].base, iov[i].len);
        len += iov[i].len;
    }
    out[len] = '\0';
    return out;
}

/* The conflation key covers the whole topic list: an event on [a, b] and a newer one on
 * [a] have different keys (conflating them would lose b's newest update), the same list
 * has the same key whatever the id, and the order of the list counts as given. */
static void test_hub_event_conflation_key(void **state)
{
    sh_event_t *ab = mkev("a,b", "1", 1, 0, 0);
    sh_event_t *ab2 = mkev("a,b", "2", 2, 0, 0);
    sh_event_t *a = mkev("a", "3", 3, 0, 0);
    sh_event_t *b = mkev("b", "4", 4, 0, 0);
    sh_event_t *ba = mkev("b,a", "5", 5, 0, 0);

    (void)state;
    assert_int_equal(ab->topic_hash, ab2->topic_hash);
    assert_int_not_equal(ab->topic_hash, a->topic_hash);
    assert_int_not_equal(ab->topic_hash, b->topic_hash);
    assert_int_not_equal(ab->topic_hash, ba->topic_hash);
    assert_int_not_equal(a->topic_hash, b->topic_hash);
    assert_int_not_equal(a->topic_hash, 0);
    sh_event_unref(ab);
    sh_event_unref(ab2);
    sh_event_unref(a);
    sh_event_unref(b);
    sh_event_unref(ba);
}

/* --slow conflate: the newest counted frame of each tag stays, in order; untagged and
 * uncounted frames, and a frame being written, are never dropped. */
static void test_hub_sendq_conflate(void **state)
{
    sh_sendq_t q;
    ssehub_rcbuf_t *a1, *a2, *a3, *b1, *b2, *c1, *hb;

    (void)state;
    sh_failalloc_install();
    a1 = frame("a1;");
    a2 = frame("a2;");
    a3 = frame("a3;");
    b1 = frame("b1;");
    b2 = frame("b2;");
    c1 = frame("c1;");
    hb = frame(":;");
    sh_sendq_init(&q, 1000);
    assert_int_equal(sh_sendq_conflate(&q, 0), 0); /* empty */
    assert_int_equal(sh_sendq_push_tagged(&q, a1, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, b1, SH_SENDQ_COUNTED, 'b'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, hb, 0, 0), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, a2, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, c1, SH_SENDQ_COUNTED, 0), 0); /* untagged */
    assert_int_equal(sh_sendq_push_tagged(&q, b2, SH_SENDQ_COUNTED, 'b'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, a3, SH_SENDQ_COUNTED, 'a'), 0);
    sh_sendq_consume(&q, 1); /* a1 is being written: it stays */
    assert_string_equal(sendq_text(&q), "1;b1;:;a2;c1;b2;a3;");
    assert_int_equal(sh_sendq_conflate(&q, 0), 2); /* b1 and a2 */
    assert_string_equal(sendq_text(&q), "1;:;c1;b2;a3;");
    assert_int_equal(q.n, 5);
    assert_int_equal(q.bytes, 2 + 2 + 3 * 3);
    assert_int_equal(q.counted, 2 + 3 * 3);
    assert_int_equal(ssehub_rcbuf_refcount(a2), 1);
    assert_int_equal(ssehub_rcbuf_refcount(b1), 1);
    assert_int_equal(sh_sendq_conflate(&q, 0), 0); /* nothing left to drop */
    /* A write in flight: the entries it covers stay, even when older than others. */
    sh_sendq_dispose(&q);
    sh_sendq_init(&q, 1000);
    assert_int_equal(sh_sendq_push_tagged(&q, a1, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, a2, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, b1, SH_SENDQ_COUNTED, 'b'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, a3, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, b2, SH_SENDQ_COUNTED, 'b'), 0);
    assert_int_equal(sh_sendq_conflate(&q, 4), 1); /* a1, a2 in flight; b1 goes */
    assert_string_equal(sendq_text(&q), "a1;a2;a3;b2;");
    assert_int_equal(sh_sendq_conflate(&q, 100), 0); /* all of it in flight */
    assert_int_equal(sh_sendq_conflate(&q, 0), 2);   /* a1, a2 */
    assert_string_equal(sendq_text(&q), "a3;b2;");
    /* FORCE queues past the limit; then conflation brings it back. */
    sh_sendq_dispose(&q);
    sh_sendq_init(&q, 6);
    assert_int_equal(sh_sendq_push_tagged(&q, a1, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, a2, SH_SENDQ_COUNTED, 'a'), 0);
    assert_int_equal(sh_sendq_push_tagged(&q, a3, SH_SENDQ_COUNTED, 'a'), SSEHUB_ENOBUFS);
    assert_int_equal(sh_sendq_push_tagged(&q, a3, SH_SENDQ_COUNTED | SH_SENDQ_FORCE, 'a'), 0);
    assert_int_equal(q.counted, 9);
    assert_int_equal(sh_sendq_conflate(&q, 0), 2);
    assert_string_equal(sendq_text(&q), "a3;");
    assert_int_equal(q.counted, 3);
    sh_sendq_dispose(&q);
    ssehub_rcbuf_unref(a1);
    ssehub_rcbuf_unref(a2);
    ssehub_rcbuf_unref(a3);
    ssehub_rcbuf_unref(b1);
    ssehub_rcbuf_unref(b2);
    ssehub_rcbuf_unref(c1);
    ssehub_rcbuf_unref(hb);
    assert_int_equal(sh_failalloc_live(), 0);
}

static void test_hub_sendq_accounting(void **state)
{
    sh_sendq_t q;
    ssehub_rcbuf_t *a, *b, *c, *big, *empty;

    (void)state;
    sh_failalloc_install();
    a = frame("0123456789");                                          /* 10 */
    b = frame("abcdefghij");                                          /* 10 */
    c = frame("xyz");                                                 /* 3 */
    big = frame("................................................."); /* 49 */
    empty = frame("");
    sh_sendq_init(&q, 23);
    assert_true(sh_sendq_empty(&q));
    assert_int_equal(sh_sendq_push(&q, a, 1), 0);
    assert_int_equal(sh_sendq_push(&q, big, 0), 0); /* uncounted: past the limit is fine */
    assert_int_equal(sh_sendq_push(&q, b, 1), 0);
    assert_int_equal(sh_sendq_push(&q, c, 1), 0); /* exactly at the limit */
    assert_int_equal(q.counted, 23);
    assert_int_equal(q.bytes, 72);
    assert_int_equal(sh_sendq_push(&q, c, 1), SSEHUB_ENOBUFS);
    assert_int_equal(sh_sendq_push(&q, empty, 1), 0); /* nothing to send: not queued */
    assert_int_equal(q.n, 4);
    assert_int_equal(ssehub_rcbuf_refcount(c), 2);
    assert_int_equal(ssehub_rcbuf_refcount(empty), 1);
    assert_int_equal(sh_sendq_push(&q, big, 0), 0);
    assert_int_equal(q.n, 5);
    assert_int_equal(ssehub_rcbuf_refcount(big), 3);

    /* Partial writes of counted frames lower the counted bytes; uncounted ones do not. */
    sh_sendq_consume(&q, 4);
    assert_int_equal(q.counted, 19);
    assert_int_equal(q.bytes, 117);
    assert_int_equal(sh_sendq_push(&q, a, 1), SSEHUB_ENOBUFS);
    sh_sendq_consume(&q, 6 + 20); /* the rest of a, and 20 bytes of big */
    assert_int_equal(q.counted, 13);
    assert_int_equal(q.bytes, 91);
    assert_int_equal(ssehub_rcbuf_refcount(a), 1);
    assert_int_equal(sh_sendq_push(&q, a, 1), 0);
    assert_int_equal(q.counted, 23);
    sh_sendq_consume(&q, 29); /* the rest of big */
    assert_int_equal(q.counted, 23);
    assert_int_equal(ssehub_rcbuf_refcount(big), 2);
    sh_sendq_consume(&q, 0);
    assert_int_equal(q.bytes, 72);

    sh_sendq_dispose(&q);
    assert_true(sh_sendq_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(q.counted, 0);
    assert_int_equal(q.limit, 23);
    assert_int_equal(ssehub_rcbuf_refcount(a), 1);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1);
    assert_int_equal(ssehub_rcbuf_refcount(c), 1);
    assert_int_equal(ssehub_rcbuf_refcount(big), 1);
    ssehub_rcbuf_unref(a);
    ssehub_rcbuf_unref(b);
    ssehub_rcbuf_unref(c);
    ssehub_rcbuf_unref(big);
    ssehub_rcbuf_unref(empty);

    /* A limit of 0 takes no counted frame, any uncounted one. */
    a = frame("a");
    sh_sendq_init(&q, 0);
    assert_int_equal(sh_sendq_push(&q, a, 1), SSEHUB_ENOBUFS);
    assert_int_equal(sh_sendq_push(&q, a, 0), 0);
    sh_sendq_dispose(&q);
    ssehub_rcbuf_unref(a);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_sendq_iov_partial(void **state)
{
    sh_sendq_t q;
    ssehub_rcbuf_t *f[3];
    sh_iov_t iov[4];
    size_t i;

    (void)state;
    sh_failalloc_install();
    f[0] = frame("hello");
    f[1] = frame("world!");
    f[2] = frame("xyz");
    sh_sendq_init(&q, 1000);
    assert_int_equal(sh_sendq_iov(&q, iov, 4), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(sh_sendq_push(&q, f[i], 1), 0);
    assert_string_equal(pending(&q, 64), "helloworld!xyz");
    assert_string_equal(pending(&q, 2), "helloworld!");
    assert_int_equal(sh_sendq_iov(&q, iov, 0), 0);
    assert_int_equal(sh_sendq_iov(&q, iov, 4), 3);
    assert_ptr_equal(iov[1].base, ssehub_rcbuf_data(f[1])); /* no copy */
    sh_sendq_consume(&q, 3);
    assert_string_equal(pending(&q, 1), "lo");
    assert_int_equal(ssehub_rcbuf_refcount(f[0]), 2);
    sh_sendq_consume(&q, 2 + 3); /* across the boundary, into "world!" */
    assert_int_equal(ssehub_rcbuf_refcount(f[0]), 1);
    assert_string_equal(pending(&q, 64), "ld!xyz");
    assert_int_equal(sh_sendq_iov(&q, iov, 4), 2);
    assert_ptr_equal(iov[0].base, ssehub_rcbuf_data(f[1]) + 3);
    assert_int_equal(iov[0].len, 3);
    sh_sendq_consume(&q, 3); /* exactly to the end of a frame */
    assert_int_equal(q.head_off, 0);
    assert_int_equal(ssehub_rcbuf_refcount(f[1]), 1);
    assert_string_equal(pending(&q, 64), "xyz");
    sh_sendq_consume(&q, 3);
    assert_true(sh_sendq_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(q.counted, 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(ssehub_rcbuf_refcount(f[i]), 1);
    sh_sendq_dispose(&q);
    for (i = 0; i < 3; i++)
        ssehub_rcbuf_unref(f[i]);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

/* Random pushes and writes (the ring wraps and grows) against a plain byte string. */
static void test_hub_sendq_random_against_model(void **state)
{
    enum { FRAMES = 40 };
    ssehub_rcbuf_t *f[FRAMES];
    sh_sendq_t q;
    sh_test_text_t model = {0};
    size_t i, op, counted_model = 0;
    static int counted_q[4096];
    static size_t len_q[4096];
    size_t qh = 0, qt = 0, off = 0;

    (void)state;
    sh_failalloc_install();
    sh_test_rng_seed(99);
    for (i = 0; i < FRAMES; i++) {
        char s[64];
        size_t len = 1 + sh_test_rng_below(40);
        memset(s, 'a' + (int)(i % 26), len);
        s[len] = '\0';
        f[i] = frame(s);
    }
    sh_sendq_init(&q, 200);
    for (op = 0; op < 20000; op++) {
        if (sh_test_rng_below(2) == 0 && qt - qh < 4000) {
            size_t k = sh_test_rng_below(FRAMES), len = ssehub_rcbuf_len(f[k]);
            int counted = (int)sh_test_rng_below(2);
            int rc = sh_sendq_push(&q, f[k], counted);
            if (counted && counted_model + len > 200) {
                assert_int_equal(rc, SSEHUB_ENOBUFS);
                continue;
            }
            assert_int_equal(rc, 0);
            sh_test_text_put(&model, ssehub_rcbuf_data(f[k]), len);
            counted_q[qt % 4096] = counted;
            len_q[qt % 4096] = len;
            qt++;
            if (counted)
                counted_model += len;
        } else {
            size_t n = sh_test_rng_below(model.len + 1);
            sh_sendq_consume(&q, n);
            /* Walk the model's frames the same way. */
            while (n > 0) {
                size_t left = len_q[qh % 4096] - off, done = n < left ? n : left;
                if (counted_q[qh % 4096])
                    counted_model -= done;
                n -= done;
                off += done;
                if (off == len_q[qh % 4096]) {
                    qh++;
                    off = 0;
                }
            }
            if (model.s != NULL) {
                memmove(model.s, model.s + (model.len - q.bytes), q.bytes);
                model.len = q.bytes;
                model.s[model.len] = '\0';
            }
        }
        assert_int_equal(q.bytes, model.len);
        assert_int_equal(q.counted, counted_model);
        assert_int_equal(q.n, qt - qh);
        if (op % 7 == 0) {
            const char *got = pending(&q, 64);
            assert_int_equal(strncmp(got, sh_test_text_cstr(&model), strlen(got)), 0);
            if (q.n <= 64)
                assert_string_equal(got, sh_test_text_cstr(&model));
        }
    }
    sh_sendq_dispose(&q);
    for (i = 0; i < FRAMES; i++) {
        assert_int_equal(ssehub_rcbuf_refcount(f[i]), 1);
        ssehub_rcbuf_unref(f[i]);
    }
    sh_test_text_free(&model);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

static void test_hub_sendq_oom(void **state)
{
    sh_sendq_t q;
    ssehub_rcbuf_t *b;
    size_t i;

    (void)state;
    sh_failalloc_install();
    b = frame("frame");
    sh_sendq_init(&q, 1000);
    sh_failalloc_fail_after(0);
    /* The first SH_SENDQ_INLINE entries live in the queue: no allocation. */
    for (i = 0; i < SH_SENDQ_INLINE; i++)
        assert_int_equal(sh_sendq_push(&q, b, 1), 0);
    assert_int_equal(sh_failalloc_live(), 1);                 /* the frame alone */
    assert_int_equal(sh_sendq_push(&q, b, 1), SSEHUB_ENOMEM); /* the heap ring fails */
    assert_int_equal(q.n, SH_SENDQ_INLINE);
    assert_int_equal(q.counted, 5 * SH_SENDQ_INLINE);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1 + SH_SENDQ_INLINE);
    sh_sendq_consume(&q, q.bytes);
    assert_true(sh_sendq_empty(&q));
    assert_int_equal(q.counted, 0);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1);
    sh_failalloc_fail_after(-1);
    for (i = 0; i < 8; i++)
        assert_int_equal(sh_sendq_push(&q, b, 1), 0);
    sh_failalloc_fail_after(0); /* the ring is full: the ninth needs a bigger one */
    assert_int_equal(sh_sendq_push(&q, b, 1), SSEHUB_ENOMEM);
    sh_failalloc_fail_after(-1);
    assert_int_equal(q.n, 8);
    assert_int_equal(q.bytes, 40);
    assert_int_equal(q.counted, 40);
    assert_int_equal(ssehub_rcbuf_refcount(b), 9);
    sh_sendq_dispose(&q);
    assert_int_equal(ssehub_rcbuf_refcount(b), 1);
    ssehub_rcbuf_unref(b);
    assert_int_equal(sh_failalloc_live(), 0);
    sh_test_restore_allocator();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub_map_basic),
        cmocka_unit_test(test_hub_map_grow_and_iterate),
        cmocka_unit_test(test_hub_map_backward_shift),
        cmocka_unit_test(test_hub_map_random_against_reference),
        cmocka_unit_test(test_hub_map_oom_and_reserve),
        cmocka_unit_test(test_hub_map_hash_spread),
        cmocka_unit_test(test_hub_event_wire_and_fields),
        cmocka_unit_test(test_hub_event_einval),
        cmocka_unit_test(test_hub_event_oom),
        cmocka_unit_test(test_hub_selectors_init),
        cmocka_unit_test(test_hub_selectors_oom),
        cmocka_unit_test(test_hub_selectors_match),
        cmocka_unit_test(test_hub_history_bound_by_count),
        cmocka_unit_test(test_hub_history_bound_by_age),
        cmocka_unit_test(test_hub_history_bound_by_bytes),
        cmocka_unit_test(test_hub_history_clock_steps_back),
        cmocka_unit_test(test_hub_history_multi_topic_eviction),
        cmocka_unit_test(test_hub_history_unique_ids_and_seq),
        cmocka_unit_test(test_hub_history_release_hook_and_skip),
        cmocka_unit_test(test_hub_event_compare),
        cmocka_unit_test(test_hub_history_check_id),
        cmocka_unit_test(test_hub_history_replay_edges),
        cmocka_unit_test(test_hub_history_replay_merge),
        cmocka_unit_test(test_hub_history_append_oom),
        cmocka_unit_test(test_hub_history_random_against_model),
        cmocka_unit_test(test_hub_subs_matching),
        cmocka_unit_test(test_hub_subs_selector_kinds),
        cmocka_unit_test(test_hub_subs_url_patterns),
        cmocka_unit_test(test_hub_subs_remove_in_callback),
        cmocka_unit_test(test_hub_subs_oom),
        cmocka_unit_test(test_hub_sendq_accounting),
        cmocka_unit_test(test_hub_event_conflation_key),
        cmocka_unit_test(test_hub_sendq_conflate),
        cmocka_unit_test(test_hub_sendq_iov_partial),
        cmocka_unit_test(test_hub_sendq_random_against_model),
        cmocka_unit_test(test_hub_sendq_oom),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
