/* SPDX-License-Identifier: MIT */
/* Reading HTTP/1.1 responses with llhttp (see resp.h). */
#include "client/resp.h"

#include <string.h>

#include "ssehub/errno.h"

#define FIELD_MAX  256        /* a header name we keep; longer ones are not ours */
#define VALUE_MAX  (8 * 1024) /* a header value we keep (Location, Content-Type) */
#define REASON_MAX 256        /* the reason phrase, cut beyond this */

static sh_resp_t *from(llhttp_t *p)
{
    return p->data;
}

static bool name_is(const sh_buf_t *b, const char *want)
{
    size_t i, n = strlen(want);

    if (b->len != n)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b->base[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch | 0x20);
        if (ch != (unsigned char)want[i])
            return false;
    }
    return true;
}

/* Counts head bytes against the cap; returns -1 (llhttp's error) past it. */
static int count_head(sh_resp_t *r, size_t len)
{
    r->head_bytes += len;
    if (r->head_bytes > SH_RESP_MAX_HEAD) {
        r->error = SSEHUB_E2BIG;
        return -1;
    }
    return 0;
}

/* Keeps the header just read when it is one we act on; the first of each wins. */
static int end_header(sh_resp_t *r)
{
    sh_buf_t *dst = NULL;
    bool *seen = NULL;

    if (name_is(&r->field, "content-type")) {
        dst = &r->content_type;
        seen = &r->has_content_type;
    } else if (name_is(&r->field, "location")) {
        dst = &r->location;
        seen = &r->has_location;
    }
    if (dst != NULL && !*seen) {
        /* Trailing spaces and tabs are not part of the value (llhttp strips leading ones). */
        size_t len = r->value.len;
        while (len > 0 && (r->value.base[len - 1] == ' ' || r->value.base[len - 1] == '\t'))
            len--;
        sh_buf_reset(dst);
        if (sh_buf_append(dst, r->value.base, len) != 0) {
            r->error = SSEHUB_E2BIG;
            return -1;
        }
        *seen = true;
    }
    sh_buf_reset(&r->field);
    sh_buf_reset(&r->value);
    r->in_value = false;
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    sh_resp_t *r = from(p);

    sh_buf_reset(&r->reason);
    sh_buf_reset(&r->field);
    sh_buf_reset(&r->value);
    sh_buf_reset(&r->content_type);
    sh_buf_reset(&r->location);
    r->has_content_type = false;
    r->has_location = false;
    r->in_value = false;
    r->head_bytes = 0;
    return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
    sh_resp_t *r = from(p);

    if (count_head(r, len) != 0)
        return -1;
    if (r->reason.len + len > REASON_MAX)
        len = REASON_MAX - r->reason.len;
    (void)sh_buf_append(&r->reason, at, len); /* cut, never an error */
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    sh_resp_t *r = from(p);

    if (count_head(r, len + 4) != 0)
        return -1;
    if (r->in_value && end_header(r) != 0)
        return -1;
    if (r->field.len + len > FIELD_MAX) {
        /* A name this long is not one we act on; keep a marker that matches nothing. */
        sh_buf_reset(&r->field);
        return sh_buf_append(&r->field, "\x01", 1) == 0 ? 0 : -1;
    }
    if (sh_buf_append(&r->field, at, len) != 0) {
        r->error = SSEHUB_ENOMEM;
        return -1;
    }
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    sh_resp_t *r = from(p);

    if (count_head(r, len) != 0)
        return -1;
    r->in_value = true;
    if (r->value.len + len > VALUE_MAX) {
        /* Only values we keep need to fit; others are dropped when too long. */
        if (name_is(&r->field, "content-type") || name_is(&r->field, "location")) {
            r->error = SSEHUB_E2BIG;
            return -1;
        }
        return 0;
    }
    if (sh_buf_append(&r->value, at, len) != 0) {
        r->error = SSEHUB_ENOMEM;
        return -1;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    sh_resp_t *r = from(p);
    sh_resp_head_t head;
    int rc;

    if (r->in_value && end_header(r) != 0)
        return -1;
    if (p->status_code < 100) {
        r->error = SSEHUB_EPROTO; /* llhttp takes "050"; HTTP says 100..999 (RFC 9110) */
        return -1;
    }
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101)
        return 0; /* informational: the real response follows */
    if (sh_buf_append(&r->reason, "", 1) != 0 ||
        (r->has_content_type && sh_buf_append(&r->content_type, "", 1) != 0) ||
        (r->has_location && sh_buf_append(&r->location, "", 1) != 0)) {
        r->error = SSEHUB_ENOMEM;
        return -1;
    }
    head.status = p->status_code;
    head.reason = r->reason.base;
    head.content_type = r->has_content_type ? r->content_type.base : NULL;
    head.location = r->has_location ? r->location.base : NULL;
    head.keep_alive = llhttp_should_keep_alive(p) != 0;
    rc = r->cbs->on_head != NULL ? r->cbs->on_head(r->user, &head) : 0;
    if (rc == 1)
        return 1;
    if (rc != 0) {
        r->error = SSEHUB_ECANCELED;
        return -1;
    }
    /* A 101 would switch protocols: stop here, the caller does not upgrade. */
    return p->status_code == 101 ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    sh_resp_t *r = from(p);

    if (r->cbs->on_body != NULL && r->cbs->on_body(r->user, at, len) != 0) {
        r->error = SSEHUB_ECANCELED;
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    sh_resp_t *r = from(p);

    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101)
        return 0;
    if (r->cbs->on_complete != NULL && r->cbs->on_complete(r->user) != 0) {
        r->error = SSEHUB_ECANCELED;
        return -1;
    }
    return 0;
}

void sh_resp_init(sh_resp_t *r, const sh_resp_cbs_t *cbs, void *user)
{
    memset(r, 0, sizeof(*r));
    llhttp_settings_init(&r->settings);
    r->settings.on_message_begin = on_message_begin;
    r->settings.on_status = on_status;
    r->settings.on_header_field = on_header_field;
    r->settings.on_header_value = on_header_value;
    r->settings.on_headers_complete = on_headers_complete;
    r->settings.on_body = on_body;
    r->settings.on_message_complete = on_message_complete;
    llhttp_init(&r->parser, HTTP_RESPONSE, &r->settings);
    r->parser.data = r;
    r->cbs = cbs;
    r->user = user;
    sh_buf_init(&r->reason, REASON_MAX + 1);
    sh_buf_init(&r->field, FIELD_MAX + 1);
    sh_buf_init(&r->value, VALUE_MAX);
    sh_buf_init(&r->content_type, VALUE_MAX + 1);
    sh_buf_init(&r->location, VALUE_MAX + 1);
}

void sh_resp_dispose(sh_resp_t *r)
{
    sh_buf_dispose(&r->reason);
    sh_buf_dispose(&r->field);
    sh_buf_dispose(&r->value);
    sh_buf_dispose(&r->content_type);
    sh_buf_dispose(&r->location);
}

int sh_resp_feed(sh_resp_t *r, const char *data, size_t len)
{
    llhttp_errno_t e;

    if (r->error != 0)
        return r->error;
    e = llhttp_execute(&r->parser, data, len);
    if (e == HPE_OK)
        return 0;
    if (e == HPE_PAUSED_UPGRADE) {
        r->error = SSEHUB_EPROTO; /* a 101: nothing may follow that we could read */
        return r->error;
    }
    if (r->error == 0)
        r->error = SSEHUB_EPROTO;
    return r->error;
}

int sh_resp_finish(sh_resp_t *r)
{
    if (r->error != 0)
        return r->error;
    if (r->parser.finish == HTTP_FINISH_SAFE)
        return 0;
    if (llhttp_finish(&r->parser) == HPE_OK)
        return r->error;
    return r->error != 0 ? r->error : SSEHUB_EEOF;
}

bool sh_resp_in_message(const sh_resp_t *r)
{
    /* llhttp's finish state: 0 safe, 1 safe with callback, 2 unsafe (mid-message). */
    return r->parser.finish != HTTP_FINISH_SAFE;
}

const char *sh_resp_error_reason(const sh_resp_t *r)
{
    const char *s = r->parser.reason;
    return s != NULL ? s : "";
}

bool sh_resp_is_event_stream(const char *ct, size_t len)
{
    static const char want[] = "text/event-stream";
    size_t n = sizeof(want) - 1, i;

    if (ct == NULL || len < n)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)ct[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch | 0x20);
        if (ch != (unsigned char)want[i])
            return false;
    }
    /* The essence ends at ';' (parameters) or optional whitespace before it. */
    while (i < len && (ct[i] == ' ' || ct[i] == '\t'))
        i++;
    return i == len || ct[i] == ';';
}
