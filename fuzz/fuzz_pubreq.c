/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for publish request decoding (src/server/pubreq.c, src/proto/form.c). The
 * first byte picks the encoding (bit 0: form or JSON) and the topic limit (bits 1-3 index
 * max_topics_table); the rest is the body. For each input it checks that:
 *   1. the result is 0, or 400 with a reason; on error the request is empty, and on success
 *      it keeps every promise of pubreq.h: 1..max_topics topics, each non-empty, valid
 *      UTF-8 without CR, LF or NUL; valid UTF-8 data; an id of at most SH_PUBREQ_ID_MAX
 *      bytes, not "earliest", and an id and type without CR, LF or NUL; a retry within
 *      SH_PUBREQ_RETRY_MAX; every string NUL-terminated inside the one allocation;
 *   2. parsing again gives the same request;
 *   3. the request, encoded again as a form body (every byte %-escaped) and as a JSON body
 *      (data as a JSON string), decodes to the same request both ways;
 *   4. JSON: the verdict agrees with jansson's (a body jansson refuses is "invalid JSON
 *      body" or "duplicate key in JSON body"), and non-string data is JSON text that
 *      jansson reads back equal to the "data" member it parsed itself;
 *   5. with an allocator that fails after N allocations (N from the input hash, jansson's
 *      allocations included), the result is the same or 500 "out of memory" with the
 *      request empty; nothing is ever left allocated.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"
#include "base/utf8.h"
#include "server/pubreq.h"
#include "support/evlog.h"
#include "support/failalloc.h"
#include "support/testutil.h"
#include "fuzz.h"

/* The topic limits, indexed by bits 1-3 of the first byte. */
static const size_t max_topics_table[8] = {1, 2, 3, 4, 8, 16, 100, SIZE_MAX};

static bool has_byte(const sh_str_t *s, char c)
{
    return s->len != 0 && memchr(s->ptr, c, s->len) != NULL;
}

static bool is_utf8(const sh_str_t *s)
{
    return sh_utf8_valid_prefix(s->ptr, s->len) == s->len;
}

/* Checks that |s| is NUL-terminated and lies after the topic array in the one allocation. */
static void check_in_mem(const sh_pubreq_t *r, const sh_str_t *s)
{
    FUZZ_CHECK(s->ptr != NULL);
    FUZZ_CHECK(s->ptr >= (const char *)(r->topics + r->ntopics));
    FUZZ_CHECK(s->ptr[s->len] == '\0');
}

/* ---- 1: the header's promises ----------------------------------------------------------- */

static void check_empty(const sh_pubreq_t *r)
{
    FUZZ_CHECK(r->topics == NULL && r->ntopics == 0 && r->mem == NULL);
    FUZZ_CHECK(r->data.ptr != NULL && r->data.len == 0);
    FUZZ_CHECK(r->id.ptr != NULL && r->id.len == 0);
    FUZZ_CHECK(r->type.ptr != NULL && r->type.len == 0);
    FUZZ_CHECK(!r->has_retry && r->retry == 0 && !r->is_private);
}

static void check_result(const sh_pubreq_t *r, int rc, const char *reason, size_t max_topics)
{
    size_t i;

    if (rc != 0) {
        FUZZ_CHECK(rc == 400 || rc == 500);
        FUZZ_CHECK(reason != NULL && reason[0] != '\0' && strchr(reason, '\n') == NULL);
        FUZZ_CHECK((rc == 500) == (strcmp(reason, "out of memory") == 0));
        check_empty(r);
        return;
    }
    FUZZ_CHECK(reason == NULL);
    FUZZ_CHECK(r->ntopics >= 1 && r->ntopics <= max_topics);
    FUZZ_CHECK(r->mem != NULL && (void *)r->topics == r->mem);
    for (i = 0; i < r->ntopics; i++) {
        const sh_str_t *t = &r->topics[i];
        check_in_mem(r, t);
        FUZZ_CHECK(t->len != 0 && is_utf8(t));
        FUZZ_CHECK(!has_byte(t, '\r') && !has_byte(t, '\n') && !has_byte(t, '\0'));
    }
    check_in_mem(r, &r->data);
    check_in_mem(r, &r->id);
    check_in_mem(r, &r->type);
    FUZZ_CHECK(is_utf8(&r->data));
    FUZZ_CHECK(is_utf8(&r->id) && r->id.len <= SH_PUBREQ_ID_MAX);
    FUZZ_CHECK(!(r->id.len == 8 && memcmp(r->id.ptr, "earliest", 8) == 0));
    FUZZ_CHECK(!has_byte(&r->id, '\r') && !has_byte(&r->id, '\n') && !has_byte(&r->id, '\0'));
    FUZZ_CHECK(is_utf8(&r->type));
    FUZZ_CHECK(!has_byte(&r->type, '\r') && !has_byte(&r->type, '\n') && !has_byte(&r->type, '\0'));
    FUZZ_CHECK(r->has_retry == 0 || r->has_retry == 1);
    FUZZ_CHECK(r->is_private == 0 || r->is_private == 1);
    if (r->has_retry)
        FUZZ_CHECK(r->retry <= SH_PUBREQ_RETRY_MAX);
    else
        FUZZ_CHECK(r->retry == 0);
}

/* ---- 2, 3: the same request --------------------------------------------------------------- */

static bool str_equal(const sh_str_t *a, const sh_str_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static bool same_request(const sh_pubreq_t *a, const sh_pubreq_t *b)
{
    size_t i;

    if (a->ntopics != b->ntopics || !str_equal(&a->data, &b->data) || !str_equal(&a->id, &b->id) ||
        !str_equal(&a->type, &b->type) || a->has_retry != b->has_retry || a->retry != b->retry ||
        a->is_private != b->is_private)
        return false;
    for (i = 0; i < a->ntopics; i++) {
        if (!str_equal(&a->topics[i], &b->topics[i]))
            return false;
    }
    return true;
}

/* Parses |body| (copied to an exact-size heap buffer, so ASan sees any overread). */
static int parse_copy(sh_pubreq_t *r, sh_pubreq_kind_t kind, const char *body, size_t len,
                      size_t max_topics, const char **reason)
{
    char *copy = sh_test_xmalloc(len);
    int rc;

    if (len != 0)
        memcpy(copy, body, len);
    rc = sh_pubreq_parse(r, kind, copy, len, max_topics, reason);
    free(copy);
    return rc;
}

/* Appends |s| %-escaped byte by byte ("%XX", or '+' for a space when |seed| says so). */
static void form_put(sh_test_text_t *t, const sh_str_t *s, uint64_t seed)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

        if (c == ' ' && (seed & 1))
            sh_test_text_put(t, "+", 1);
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            sh_test_text_put(t, s->ptr + i, 1);
        else
            sh_test_text_put(t, esc, 3);
    }
}

static void form_field(sh_test_text_t *t, const char *name, const sh_str_t *value, uint64_t seed)
{
    sh_test_text_str(t, "&");
    sh_test_text_str(t, name);
    sh_test_text_str(t, "=");
    form_put(t, value, seed);
}

static void json_field(sh_buf_t *b, const char *name, const sh_str_t *value)
{
    FUZZ_CHECK(sh_buf_append_str(b, name) == 0);
    FUZZ_CHECK(sh_json_append_string(b, value->ptr, value->len) == 0);
}

/* Encodes |r| as a form body and as a JSON body; both must decode to |r|. */
static void check_reencoded(const sh_pubreq_t *r, size_t max_topics, uint64_t seed)
{
    sh_test_text_t form = {0};
    sh_buf_t json;
    sh_pubreq_t back;
    const char *reason;
    char num[24];
    sh_str_t retry = {num, 0};
    size_t i;
    int rc;

    for (i = 0; i < r->ntopics; i++)
        form_field(&form, "topic", &r->topics[i], seed);
    form_field(&form, "data", &r->data, seed >> 1);
    form_field(&form, "id", &r->id, seed >> 2);
    form_field(&form, "type", &r->type, seed >> 3);
    if (r->has_retry) {
        retry.len = sh_fmt_u64(num, r->retry);
        form_field(&form, "retry", &retry, 0);
    }
    sh_test_text_str(&form, r->is_private ? "&private" : "&private=0");
    rc = parse_copy(&back, SH_PUBREQ_FORM, form.s, form.len, max_topics, &reason);
    FUZZ_CHECK(rc == 0 && same_request(r, &back));
    sh_pubreq_dispose(&back);
    sh_test_text_free(&form);

    sh_buf_init(&json, SIZE_MAX);
    FUZZ_CHECK(sh_buf_append_str(&json, "{\"topic\":[") == 0);
    for (i = 0; i < r->ntopics; i++)
        json_field(&json, i == 0 ? "" : ",", &r->topics[i]);
    FUZZ_CHECK(sh_buf_append_str(&json, "]") == 0);
    json_field(&json, ",\"data\":", &r->data);
    json_field(&json, ",\"id\":", &r->id);
    json_field(&json, ",\"type\":", &r->type);
    if (r->has_retry) {
        FUZZ_CHECK(sh_buf_append_str(&json, ",\"retry\":") == 0);
        FUZZ_CHECK(sh_buf_append(&json, num, sh_fmt_u64(num, r->retry)) == 0);
    }
    FUZZ_CHECK(sh_buf_append_str(&json, r->is_private ? ",\"private\":true}" : "}") == 0);
    rc = parse_copy(&back, SH_PUBREQ_JSON, json.base, json.len, max_topics, &reason);
    FUZZ_CHECK(rc == 0 && same_request(r, &back));
    sh_pubreq_dispose(&back);
    sh_buf_dispose(&json);
}

/* ---- 4: JSON against jansson -------------------------------------------------------------- */

static void check_against_jansson(const sh_pubreq_t *r, int rc, const char *reason,
                                  const char *body, size_t len)
{
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_error_t err;
    json_t *root, *data, *back;

    root = json_loadb(body, len, flags, &err);
    if (root == NULL) {
        FUZZ_CHECK(rc == 400);
        FUZZ_CHECK(strcmp(reason, "invalid JSON body") == 0 ||
                   strcmp(reason, "duplicate key in JSON body") == 0);
        return;
    }
    FUZZ_CHECK(strcmp(reason != NULL ? reason : "", "invalid JSON body") != 0);
    if (rc == 0) {
        data = json_object_get(root, "data");
        if (data != NULL && !json_is_null(data) && !json_is_string(data)) {
            /* Minified: no whitespace outside strings, so no leading or trailing space. */
            FUZZ_CHECK(r->data.len != 0);
            back = json_loadb(r->data.ptr, r->data.len, flags, &err);
            FUZZ_CHECK(back != NULL && json_equal(back, data));
            json_decref(back);
        }
    }
    json_decref(root);
}

/* ---- 5: allocation failures --------------------------------------------------------------- */

static void check_oom(const sh_pubreq_t *full, int full_rc, const char *full_reason,
                      sh_pubreq_kind_t kind, const char *body, size_t len, size_t max_topics,
                      long budget)
{
    sh_pubreq_t r;
    const char *reason;
    size_t live = sh_failalloc_live();
    int rc;

    sh_failalloc_fail_after(budget);
    rc = sh_pubreq_parse(&r, kind, body, len, max_topics, &reason);
    sh_failalloc_fail_after(-1);
    check_result(&r, rc, reason, max_topics);
    if (rc == 500) {
        FUZZ_CHECK(sh_failalloc_live() == live);
        return;
    }
    FUZZ_CHECK(rc == full_rc);
    if (rc == 0)
        FUZZ_CHECK(same_request(&r, full));
    else
        FUZZ_CHECK(strcmp(reason, full_reason) == 0);
    sh_pubreq_dispose(&r);
}

/* ---- Entry point -------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    sh_pubreq_kind_t kind;
    size_t max_topics, len;
    const char *body, *reason = "unset", *reason2 = "unset";
    uint64_t seed = fuzz_hash_bytes(data, size);
    sh_pubreq_t r, again;
    int rc, rc2;

    if (!installed) {
        /* Once: every allocation, jansson's included, is counted and can fail. */
        sh_failalloc_install();
        sh_pubreq_global_init();
        installed = true;
    }
    if (size == 0)
        return 0;
    kind = (data[0] & 1) ? SH_PUBREQ_JSON : SH_PUBREQ_FORM;
    max_topics = max_topics_table[(data[0] >> 1) & 7];
    body = (const char *)data + 1;
    len = size - 1;

    rc = sh_pubreq_parse(&r, kind, body, len, max_topics, &reason);
    FUZZ_CHECK(rc == 0 || rc == 400);
    check_result(&r, rc, reason, max_topics);

    rc2 = parse_copy(&again, kind, body, len, max_topics, &reason2);
    FUZZ_CHECK(rc2 == rc);
    if (rc == 0)
        FUZZ_CHECK(same_request(&r, &again));
    else
        FUZZ_CHECK(strcmp(reason, reason2) == 0);
    sh_pubreq_dispose(&again);

    if (rc == 0)
        check_reencoded(&r, max_topics, seed);
    if (kind == SH_PUBREQ_JSON)
        check_against_jansson(&r, rc, reason, body, len);
    check_oom(&r, rc, reason, kind, body, len, max_topics, (long)(seed % 24));

    sh_pubreq_dispose(&r);
    sh_pubreq_dispose(&r);
    check_empty(&r);
    FUZZ_CHECK(sh_failalloc_live() == 0);
    return 0;
}
