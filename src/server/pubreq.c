/* SPDX-License-Identifier: MIT */
/* Decoding publish request bodies: form fields (Mercure's) and JSON objects. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/alloc.h"
#include "base/str.h"
#include "base/utf8.h"
#include "proto/form.h"
#include "server/pubreq.h"

#define STATUS_BAD_REQUEST   400
#define STATUS_OUT_OF_MEMORY 500

/*
 * The longest retry or private value decoded on the stack. Both mean something only when
 * short ("9007199254740991" is 16 digits), so a longer one is refused without copying it.
 */
#define SCALAR_MAX 64

static const char out_of_memory[] = "out of memory";

/* A field's raw (still encoded) bytes, and whether the body had it at all. */
typedef struct raw_field_s {
    const char *p;
    size_t len;
    bool seen;
} raw_field_t;

/* What a body gave, before the strings are copied into the request's one allocation. */
typedef struct fields_s {
    size_t ntopics;
    size_t topic_bytes; /* the topics' lengths added up */
    sh_str_t data, id, type;
    uint64_t retry;
    bool has_retry;
    bool is_private;
} fields_t;

/* Leaves |r| empty: no allocation, every string "" (so that no pointer is ever NULL). */
static void pubreq_clear(sh_pubreq_t *r)
{
    memset(r, 0, sizeof(*r));
    r->data.ptr = "";
    r->id.ptr = "";
    r->type.ptr = "";
}

void sh_pubreq_dispose(sh_pubreq_t *r)
{
    sh_free(r->mem);
    pubreq_clear(r);
}

/*
 * jansson's memory. It goes through the ssehub allocator, so that it is counted and can be
 * refused like any other, but jansson must never see that refusal: up to 2.14 it does not
 * survive malloc() returning NULL while it saves a token (akheron/jansson#362: an assert,
 * or a read past its buffer in a string). So when sh_malloc() refuses, the block comes
 * from libc instead, tagged in a header, and the parse is marked failed: parse_json()
 * answers 500 whatever jansson makes of the body. Only libc failing as well reaches
 * jansson, as it would without this wrapper.
 */
typedef union jansson_header_u {
    unsigned char from_libc; /* 1: malloc() made the block, 0: sh_malloc() did */
    max_align_t align;       /* keeps the block after the header aligned as malloc's */
} jansson_header_t;

/* Set when sh_malloc() refused jansson a block; per thread, as each parse is. */
static _Thread_local bool jansson_alloc_failed;

static void *jansson_malloc(size_t size)
{
    jansson_header_t *h;

    if (size > SIZE_MAX - sizeof(*h))
        return NULL;
    h = sh_malloc(sizeof(*h) + size);
    if (h == NULL) {
        jansson_alloc_failed = true;
        h = malloc(sizeof(*h) + size);
        if (h == NULL)
            return NULL;
        h->from_libc = 1;
        return h + 1;
    }
    h->from_libc = 0;
    return h + 1;
}

static void jansson_free(void *ptr)
{
    jansson_header_t *h;

    if (ptr == NULL)
        return;
    h = (jansson_header_t *)ptr - 1;
    if (h->from_libc)
        free(h);
    else
        sh_free(h);
}

void sh_pubreq_global_init(void)
{
    json_set_alloc_funcs(jansson_malloc, jansson_free);
    json_object_seed(0);
}

static bool has_line_break_or_nul(const sh_str_t *s)
{
    return s->len != 0 &&
           (memchr(s->ptr, '\r', s->len) != NULL || memchr(s->ptr, '\n', s->len) != NULL ||
            memchr(s->ptr, '\0', s->len) != NULL);
}

/* Whether |s| holds another C0 control (tab included), DEL, or a C1 control (U+0080 to
 * U+009F, UTF-8 C2 80..C2 9F): Mercure forbids them in topics, and in ids and types they
 * would garble logs and event streams. */
static bool has_control(const sh_str_t *s)
{
    size_t i;

    for (i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        if (c < 0x20 || c == 0x7f)
            return true;
        if (c == 0xc2 && i + 1 < s->len && (unsigned char)s->ptr[i + 1] >= 0x80 &&
            (unsigned char)s->ptr[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

static bool is_utf8(const sh_str_t *s)
{
    return sh_utf8_valid_prefix(s->ptr, s->len) == s->len;
}

/*
 * Checks the decoded strings, the same way for both encodings. Returns NULL, or the reason
 * for a 400. Topics may not hold CR, LF or NUL: they are NUL-terminated copies in the event
 * and end up in logs and subscription updates.
 */
static const char *check_strings(const sh_pubreq_t *r)
{
    size_t i;

    for (i = 0; i < r->ntopics; i++) {
        if (r->topics[i].len == 0)
            return "empty topic";
        if (has_line_break_or_nul(&r->topics[i]))
            return "topic contains a line break or NUL";
        if (!is_utf8(&r->topics[i]))
            return "topic is not valid UTF-8";
        if (has_control(&r->topics[i]))
            return "topic contains a control character";
    }
    if (!is_utf8(&r->data))
        return "data is not valid UTF-8";
    if (has_line_break_or_nul(&r->id))
        return "id contains a line break or NUL";
    if (!is_utf8(&r->id))
        return "id is not valid UTF-8";
    if (has_control(&r->id))
        return "id contains a control character";
    if (r->id.len > SH_PUBREQ_ID_MAX)
        return "id is too long";
    if (r->id.len == 8 && memcmp(r->id.ptr, "earliest", 8) == 0)
        return "id \"earliest\" is reserved";
    if (has_line_break_or_nul(&r->type))
        return "type contains a line break or NUL";
    if (!is_utf8(&r->type))
        return "type is not valid UTF-8";
    if (has_control(&r->type))
        return "type contains a control character";
    return NULL;
}

/*
 * Allocates |r|'s one block for |f|: the topic array, then room for the topics, id, type
 * and |data_room| bytes of data, each with its NUL. Sets r->topics and r->ntopics. Returns
 * the first byte after the array, or NULL when out of memory. The sizes are bounded by the
 * body's length and max_topics, but are checked anyway: they come from untrusted input.
 */
static char *pubreq_alloc(sh_pubreq_t *r, const fields_t *f, size_t data_room)
{
    size_t array, size;

    if (f->ntopics > SIZE_MAX / sizeof(sh_str_t))
        return NULL;
    array = f->ntopics * sizeof(sh_str_t);
    size = array;
    if (f->topic_bytes > SIZE_MAX - size || f->ntopics > SIZE_MAX - size - f->topic_bytes)
        return NULL;
    size += f->topic_bytes + f->ntopics;
    if (f->id.len > SIZE_MAX - size - 1 || f->type.len > SIZE_MAX - size - 2 - f->id.len ||
        data_room > SIZE_MAX - size - 3 - f->id.len - f->type.len)
        return NULL;
    size += f->id.len + f->type.len + data_room + 3;
    r->mem = sh_malloc(size);
    if (r->mem == NULL)
        return NULL;
    r->topics = r->mem;
    r->ntopics = f->ntopics;
    return (char *)r->mem + array;
}

/* Copies |len| bytes to |*dst| with a NUL, points |s| at the copy, and advances |*dst|. */
static void put_copy(char **dst, sh_str_t *s, const char *src, size_t len)
{
    if (len != 0)
        memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    s->ptr = *dst;
    s->len = len;
    *dst += len + 1;
}

/* Decodes |len| form bytes to |*dst| with a NUL, points |s| at them, and advances |*dst|. */
static void put_decoded(char **dst, sh_str_t *s, const char *src, size_t len)
{
    s->ptr = *dst;
    s->len = sh_form_decode(src, len, *dst);
    (*dst)[s->len] = '\0';
    *dst += s->len + 1;
}

/* ---- Form bodies ------------------------------------------------------------------------ */

/* Decodes a short form value onto the stack. Returns false when it is over SCALAR_MAX. */
static bool decode_scalar(const raw_field_t *raw, char *buf, size_t *len)
{
    if (raw->len > SCALAR_MAX)
        return false;
    *len = sh_form_decode(raw->p, raw->len, buf);
    return true;
}

/* Whether the decoded |s| of |len| bytes is the NUL-terminated |word|. */
static bool is_word(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Parses the retry field: decimal digits up to SH_PUBREQ_RETRY_MAX; empty means absent. */
static const char *form_retry(const raw_field_t *raw, fields_t *f)
{
    char buf[SCALAR_MAX];
    size_t len;
    uint64_t v;

    if (!raw->seen)
        return NULL;
    if (!decode_scalar(raw, buf, &len))
        return "invalid retry";
    if (len == 0)
        return NULL;
    if (sh_parse_u64(buf, len, &v) != 0 || v > SH_PUBREQ_RETRY_MAX)
        return "invalid retry";
    f->retry = v;
    f->has_retry = true;
    return NULL;
}

/*
 * Parses the private field. Mercure makes any "private" field mean private; the words
 * that say "no" are accepted too, so that a form can send the field either way.
 */
static const char *form_private(const raw_field_t *raw, fields_t *f)
{
    char buf[SCALAR_MAX];
    size_t len;

    if (!raw->seen)
        return NULL;
    if (!decode_scalar(raw, buf, &len))
        return "invalid private";
    if (len == 0 || is_word(buf, len, "on") || is_word(buf, len, "true") ||
        is_word(buf, len, "1")) {
        f->is_private = true;
        return NULL;
    }
    if (is_word(buf, len, "off") || is_word(buf, len, "false") || is_word(buf, len, "0"))
        return NULL;
    return "invalid private";
}

/* Keeps the first occurrence of a field. */
static void keep_first(raw_field_t *raw, const char *value, size_t len)
{
    if (raw->seen)
        return;
    raw->p = value;
    raw->len = len;
    raw->seen = true;
}

/*
 * Two passes over the pairs: the first counts the topics and finds the other fields (a
 * raw length bounds a decoded one, so this sizes the allocation and catches the errors
 * that need no copy), the second decodes into the one allocation.
 */
static int parse_form(sh_pubreq_t *r, const char *body, size_t len, size_t max_topics,
                      const char **reason)
{
    sh_form_iter_t it;
    const char *name, *value;
    size_t name_len, value_len, i = 0;
    raw_field_t data = {0}, id = {0}, type = {0}, retry = {0}, priv = {0};
    fields_t f = {0};
    char *dst;

    sh_form_iter_init(&it, body, len);
    while (sh_form_next(&it, &name, &name_len, &value, &value_len)) {
        if (sh_form_name_is(name, name_len, "topic")) {
            /* Decoding turns a non-empty value into a non-empty one: check it raw. */
            if (value_len == 0) {
                *reason = "empty topic";
                return STATUS_BAD_REQUEST;
            }
            if (++f.ntopics > max_topics) {
                *reason = "too many topics";
                return STATUS_BAD_REQUEST;
            }
            f.topic_bytes += value_len;
        } else if (sh_form_name_is(name, name_len, "data")) {
            keep_first(&data, value, value_len);
        } else if (sh_form_name_is(name, name_len, "id")) {
            keep_first(&id, value, value_len);
        } else if (sh_form_name_is(name, name_len, "type")) {
            keep_first(&type, value, value_len);
        } else if (sh_form_name_is(name, name_len, "retry")) {
            keep_first(&retry, value, value_len);
        } else if (sh_form_name_is(name, name_len, "private")) {
            keep_first(&priv, value, value_len);
        }
    }
    if (f.ntopics == 0) {
        *reason = "missing topic";
        return STATUS_BAD_REQUEST;
    }
    *reason = form_retry(&retry, &f);
    if (*reason == NULL)
        *reason = form_private(&priv, &f);
    if (*reason != NULL)
        return STATUS_BAD_REQUEST;

    f.id.len = id.len;
    f.type.len = type.len;
    dst = pubreq_alloc(r, &f, data.len);
    if (dst == NULL) {
        *reason = out_of_memory;
        return STATUS_OUT_OF_MEMORY;
    }
    sh_form_iter_init(&it, body, len);
    while (sh_form_next(&it, &name, &name_len, &value, &value_len)) {
        if (sh_form_name_is(name, name_len, "topic"))
            put_decoded(&dst, &r->topics[i++], value, value_len);
    }
    put_decoded(&dst, &r->id, id.p, id.len);
    put_decoded(&dst, &r->type, type.p, type.len);
    put_decoded(&dst, &r->data, data.p, data.len);
    r->retry = f.retry;
    r->has_retry = f.has_retry;
    r->is_private = f.is_private;
    return 0;
}

/* ---- JSON bodies ------------------------------------------------------------------------ */

/*
 * A tiny scanner over a body jansson has already accepted, to find the text of the
 * top-level "data" member: a non-string value is passed on as the publisher spelled it
 * (jansson would print 0.1 as 0.10000000000000001), less the whitespace between tokens.
 * Valid input is assumed, but every step stays inside [p, end) whatever the bytes.
 */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* |p| is at a string's opening quote; returns the byte after its closing quote. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++) {
        if (*p == '\\' && end - p > 1)
            p++;
    }
    return p < end ? p + 1 : end;
}

/*
 * |p| is at a value; returns the byte after it. A scalar runs to the next delimiter, a
 * container to the bracket that closes it (strings skipped whole, nesting counted).
 */
static const char *skip_value(const char *p, const char *end)
{
    size_t depth = 0;

    if (p < end && *p == '"')
        return skip_string(p, end);
    if (p < end && *p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_ws(*p))
            p++;
        return p;
    }
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (--depth == 0)
                return p + 1;
        }
        p++;
    }
    return p;
}

/*
 * Whether the JSON string literal between [p, end) (quotes excluded) decodes to the ASCII
 * |want|. Escapes are decoded; a \u escape beyond ASCII cannot match.
 */
static bool key_is(const char *p, const char *end, const char *want)
{
    size_t n = 0;
    int c, i, h;

    while (p < end) {
        c = (unsigned char)*p++;
        if (c == '\\') {
            if (p >= end)
                return false;
            c = (unsigned char)*p++;
            switch (c) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                if (end - p < 4)
                    return false;
                c = 0;
                for (i = 0; i < 4; i++) {
                    h = sh_hex_digit((unsigned char)*p++);
                    if (h < 0)
                        return false;
                    c = c * 16 + h;
                }
                if (c >= 0x80)
                    return false;
                break;
            default: /* '"', '\\' and '/' stand for themselves */
                break;
            }
        }
        if (want[n] == '\0' || (unsigned char)want[n] != c)
            return false;
        n++;
    }
    return want[n] == '\0';
}

/*
 * Finds the top-level "data" member of the object |body|. Returns true and its value's
 * text in [*vp, *vend), or false when there is none.
 */
static bool find_data_text(const char *body, size_t len, const char **vp, const char **vend)
{
    const char *p = body, *end = body + len, *key, *key_end;
    bool is_data;

    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return false;
        key = p;
        p = skip_string(p, end);
        key_end = p;
        is_data = key_end - key >= 2 && key_is(key + 1, key_end - 1, "data");
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return false;
        p = skip_ws(p + 1, end);
        *vp = p;
        p = skip_value(p, end);
        if (is_data) {
            *vend = p;
            return true;
        }
        p = skip_ws(p, end);
        if (p >= end || *p != ',')
            return false;
        p++;
    }
}

/* Copies the JSON text [p, end) to |*dst| without the whitespace between tokens. */
static void put_minified(char **dst, sh_str_t *s, const char *p, const char *end)
{
    char *out = *dst;
    const char *str_end;

    while (p < end) {
        if (*p == '"') {
            str_end = skip_string(p, end);
            memcpy(out, p, (size_t)(str_end - p));
            out += str_end - p;
            p = str_end;
        } else if (is_ws(*p)) {
            p++;
        } else {
            *out++ = *p++;
        }
    }
    *out = '\0';
    s->ptr = *dst;
    s->len = (size_t)(out - *dst);
    *dst = out + 1;
}

/* Reads an optional string member into |out|. Returns NULL or |wrong_type|. */
static const char *json_opt_string(json_t *root, const char *key, sh_str_t *out,
                                   const char *wrong_type)
{
    json_t *v = json_object_get(root, key);

    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v))
        return wrong_type;
    out->ptr = json_string_value(v);
    out->len = json_string_length(v);
    return NULL;
}

/* Reads the members other than "topic" and "data" into |f|. Returns NULL or a reason. */
static const char *json_scalars(json_t *root, fields_t *f)
{
    const char *reason;
    json_t *v;

    reason = json_opt_string(root, "id", &f->id, "id must be a string");
    if (reason == NULL)
        reason = json_opt_string(root, "type", &f->type, "type must be a string");
    if (reason != NULL)
        return reason;

    v = json_object_get(root, "retry");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return "retry must be a non-negative integer";
        if ((uint64_t)json_integer_value(v) > SH_PUBREQ_RETRY_MAX)
            return "invalid retry";
        f->retry = (uint64_t)json_integer_value(v);
        f->has_retry = true;
    }
    v = json_object_get(root, "private");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return "private must be a boolean";
        f->is_private = json_is_true(v);
    }
    return NULL;
}

/* Checks "topic" and counts its strings into |f|. Returns NULL or a reason. */
static const char *json_topics(json_t *topic, size_t max_topics, fields_t *f)
{
    const char *wrong_type = "topic must be a string or an array of strings";
    size_t i;

    if (topic == NULL || json_is_null(topic))
        return "missing topic";
    if (json_is_string(topic)) {
        f->ntopics = 1;
        f->topic_bytes = json_string_length(topic);
    } else if (json_is_array(topic)) {
        f->ntopics = json_array_size(topic);
        if (f->ntopics == 0)
            return "missing topic";
        for (i = 0; i < f->ntopics; i++) {
            if (!json_is_string(json_array_get(topic, i)))
                return wrong_type;
            f->topic_bytes += json_string_length(json_array_get(topic, i));
        }
    } else {
        return wrong_type;
    }
    if (f->ntopics > max_topics)
        return "too many topics";
    return NULL;
}

/*
 * Lets jansson validate the body (UTF-8, nesting depth, duplicate keys, NUL as \u0000),
 * checks the members' types, then copies the strings into the one allocation.
 */
static int parse_json(sh_pubreq_t *r, const char *body, size_t len, size_t max_topics,
                      const char **reason)
{
    json_error_t err;
    json_t *root, *topic, *data;
    fields_t f = {0};
    const char *data_p = NULL, *data_end = NULL;
    size_t data_room = 0, i;
    char *dst;
    int status = STATUS_BAD_REQUEST;

    jansson_alloc_failed = false;
    root = json_loadb(body != NULL ? body : "", len,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (jansson_alloc_failed) {
        json_decref(root);
        *reason = out_of_memory;
        return STATUS_OUT_OF_MEMORY;
    }
    if (root == NULL) {
        /*
         * jansson's error code: without sh_pubreq_global_init() it is the only sign of an
         * allocation failure, and not a reliable one (some surface as syntax errors).
         */
        switch (json_error_code(&err)) {
        case json_error_out_of_memory:
            *reason = out_of_memory;
            return STATUS_OUT_OF_MEMORY;
        case json_error_duplicate_key:
            *reason = "duplicate key in JSON body";
            return STATUS_BAD_REQUEST;
        default:
            *reason = "invalid JSON body";
            return STATUS_BAD_REQUEST;
        }
    }
    if (!json_is_object(root)) {
        *reason = "JSON body must be an object";
        goto out_decref;
    }
    topic = json_object_get(root, "topic");
    *reason = json_topics(topic, max_topics, &f);
    if (*reason == NULL)
        *reason = json_scalars(root, &f);
    if (*reason != NULL)
        goto out_decref;

    data = json_object_get(root, "data");
    if (json_is_string(data)) {
        f.data.ptr = json_string_value(data);
        f.data.len = json_string_length(data);
        data_room = f.data.len;
    } else if (data != NULL && !json_is_null(data)) {
        if (!find_data_text(body, len, &data_p, &data_end)) {
            /* jansson saw a "data" member the scanner missed: a bug, not bad input. */
            *reason = "invalid JSON body";
            goto out_decref;
        }
        data_room = (size_t)(data_end - data_p);
    }

    dst = pubreq_alloc(r, &f, data_room);
    if (dst == NULL) {
        *reason = out_of_memory;
        status = STATUS_OUT_OF_MEMORY;
        goto out_decref;
    }
    if (json_is_string(topic)) {
        put_copy(&dst, &r->topics[0], json_string_value(topic), json_string_length(topic));
    } else {
        for (i = 0; i < f.ntopics; i++) {
            json_t *t = json_array_get(topic, i);
            put_copy(&dst, &r->topics[i], json_string_value(t), json_string_length(t));
        }
    }
    put_copy(&dst, &r->id, f.id.ptr, f.id.len);
    put_copy(&dst, &r->type, f.type.ptr, f.type.len);
    if (data_p != NULL)
        put_minified(&dst, &r->data, data_p, data_end);
    else
        put_copy(&dst, &r->data, f.data.ptr, f.data.len);
    r->retry = f.retry;
    r->has_retry = f.has_retry;
    r->is_private = f.is_private;
    status = 0;

out_decref:
    json_decref(root);
    return status;
}

/* ---- Entry point ------------------------------------------------------------------------ */

int sh_pubreq_parse(sh_pubreq_t *r, sh_pubreq_kind_t kind, const char *body, size_t len,
                    size_t max_topics, const char **reason)
{
    const char *why = NULL;
    int status;

    pubreq_clear(r);
    if (kind == SH_PUBREQ_JSON)
        status = parse_json(r, body, len, max_topics, &why);
    else
        status = parse_form(r, body, len, max_topics, &why);
    if (status == 0) {
        why = check_strings(r);
        if (why != NULL)
            status = STATUS_BAD_REQUEST;
    }
    if (status != 0)
        sh_pubreq_dispose(r);
    if (reason != NULL)
        *reason = status != 0 ? why : NULL;
    return status;
}
