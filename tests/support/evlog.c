/* SPDX-License-Identifier: MIT */
/* The event log: parser callbacks that record copies, for tests and fuzz targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/evlog.h"

/*
 * Prints what ran out of memory and aborts. Not assert(): NDEBUG would remove it, and an
 * abort is what libFuzzer reports.
 */
static void out_of_memory(const char *where)
{
    fprintf(stderr, "%s: out of memory\n", where);
    abort();
}

void *sh_test_xmalloc(size_t len)
{
    void *p = malloc(len != 0 ? len : 1);

    if (p == NULL)
        out_of_memory("sh_test_xmalloc");
    return p;
}

char *sh_test_dup_bytes(const char *s, size_t len)
{
    char *p = sh_test_xmalloc(len + 1);

    if (len != 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

bool sh_test_has_byte(const char *s, size_t len, char c)
{
    return len != 0 && memchr(s, c, len) != NULL;
}

sh_test_rec_t *sh_test_log_add(sh_test_log_t *l)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap != 0 ? l->cap * 2 : 16;
        sh_test_rec_t *nv = realloc(l->v, ncap * sizeof(*nv));
        if (nv == NULL)
            out_of_memory("sh_test_log_add");
        l->v = nv;
        l->cap = ncap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    return &l->v[l->n++];
}

void sh_test_log_free(sh_test_log_t *l)
{
    static const sh_test_log_t empty = SH_TEST_LOG_INIT;
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i].type);
        free(l->v[i].data);
        free(l->v[i].id);
    }
    free(l->v);
    *l = empty;
}

bool sh_test_rec_equal(const sh_test_rec_t *a, const sh_test_rec_t *b)
{
    if (a->is_retry != b->is_retry)
        return false;
    if (a->is_retry)
        return a->retry == b->retry;
    return a->type_len == b->type_len && memcmp(a->type, b->type, a->type_len) == 0 &&
           a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0 &&
           a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

bool sh_test_log_equal(const sh_test_log_t *a, const sh_test_log_t *b)
{
    size_t i;

    if (a->n != b->n)
        return false;
    for (i = 0; i < a->n; i++) {
        if (!sh_test_rec_equal(&a->v[i], &b->v[i]))
            return false;
    }
    return true;
}

/* Records a copy of |ev|; cancels when it is callback number cancel_at. */
int sh_test_log_on_event(void *user, const ssehub_sse_event_t *ev)
{
    sh_test_log_t *l = user;
    sh_test_rec_t *r = sh_test_log_add(l);

    r->type = sh_test_dup_bytes(ev->type, ev->type_len);
    r->type_len = ev->type_len;
    r->data = sh_test_dup_bytes(ev->data, ev->data_len);
    r->data_len = ev->data_len;
    r->id = sh_test_dup_bytes(ev->id, ev->id_len);
    r->id_len = ev->id_len;
    return l->n - 1 == l->cancel_at;
}

/* Records |retry_ms|; cancels when it is callback number cancel_at. */
int sh_test_log_on_retry(void *user, uint64_t retry_ms)
{
    sh_test_log_t *l = user;
    sh_test_rec_t *r = sh_test_log_add(l);

    r->is_retry = true;
    r->retry = retry_ms;
    return l->n - 1 == l->cancel_at;
}
