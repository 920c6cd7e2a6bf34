/* SPDX-License-Identifier: MIT */
/*
 * The incremental text/event-stream parser: the WHATWG HTML "parsing an event stream"
 * and "interpreting an event stream" algorithms, fed in chunks of any size.
 *
 * Complete lines are interpreted where they lie in the caller's chunk; only a line split
 * across chunks is copied, into |line|. UTF-8 decoding with replacement is applied per
 * field value, which is equivalent to decoding the whole stream first: CR, LF and ':'
 * are ASCII, so they end any multi-byte sequence exactly as the stream decoder would.
 */
#include <stdint.h>
#include <string.h>

#include "ssehub/sse.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/utf8.h"
#include "proto/sse_lines.h"

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

struct ssehub_sse_parser_s {
    ssehub_sse_parser_settings_t settings; /* max_size resolved to its default when 0 */
    sh_buf_t line;                         /* a line split across chunks, raw bytes */
    sh_buf_t data;                         /* the data buffer, decoded */
    sh_buf_t type;                         /* the event type buffer, decoded */
    sh_buf_t id;                           /* the last event ID string: set at dispatch */
    sh_buf_t id_pending;                   /* the last event ID buffer, when |id_dirty| */
    bool id_dirty;                         /* an id field arrived since the last blank line */
    unsigned char bom[3];                  /* bytes held while they may still be a BOM */
    unsigned char bom_len;                 /* bytes in |bom| */
    bool bom_done;                         /* past the point where a BOM may appear */
    bool skip_lf;                          /* the last chunk ended with a CR */
    int error;                             /* sticky error, 0 when none */
};

int ssehub_sse_parser_new(const ssehub_sse_parser_settings_t *settings, ssehub_sse_parser_t **out)
{
    ssehub_sse_parser_t *p;
    size_t max;

    if (out == NULL)
        return SSEHUB_EINVAL;
    *out = NULL;
    if (settings == NULL)
        return SSEHUB_EINVAL;
    p = sh_calloc(1, sizeof(*p));
    if (p == NULL)
        return SSEHUB_ENOMEM;
    p->settings = *settings;
    max = settings->max_size != 0 ? settings->max_size : SSEHUB_SSE_DEFAULT_MAX_SIZE;
    p->settings.max_size = max;
    sh_buf_init(&p->line, max);
    sh_buf_init(&p->data, max);
    sh_buf_init(&p->type, max);
    sh_buf_init(&p->id, max);
    sh_buf_init(&p->id_pending, max);
    *out = p;
    return 0;
}

void ssehub_sse_parser_free(ssehub_sse_parser_t *p)
{
    if (p == NULL)
        return;
    sh_buf_dispose(&p->line);
    sh_buf_dispose(&p->data);
    sh_buf_dispose(&p->type);
    sh_buf_dispose(&p->id);
    sh_buf_dispose(&p->id_pending);
    sh_free(p);
}

void ssehub_sse_parser_reset(ssehub_sse_parser_t *p)
{
    sh_buf_reset(&p->line);
    sh_buf_reset(&p->data);
    sh_buf_reset(&p->type);
    p->id_dirty = false; /* an id not yet confirmed by a blank line is dropped */
    p->bom_len = 0;
    p->bom_done = false;
    p->skip_lf = false;
    p->error = 0;
}

const char *ssehub_sse_parser_last_event_id(const ssehub_sse_parser_t *p, size_t *len)
{
    *len = p->id.len;
    return p->id.len != 0 ? p->id.base : "";
}

int ssehub_sse_parser_set_last_event_id(ssehub_sse_parser_t *p, const char *id, size_t len)
{
    sh_buf_t fresh;
    int rc;

    if (sh_sse__has_line_breaker(id, len))
        return SSEHUB_EINVAL;
    /* Decoded as stream ids are, so that every id handed out is valid UTF-8. */
    sh_buf_init(&fresh, p->settings.max_size);
    rc = sh_utf8_append_sanitized(&fresh, id, len);
    if (rc != 0) {
        sh_buf_dispose(&fresh);
        return rc;
    }
    sh_buf_dispose(&p->id);
    p->id = fresh;
    p->id_dirty = false;
    return 0;
}

int ssehub_sse_parser_error(const ssehub_sse_parser_t *p)
{
    return p->error;
}

size_t ssehub_sse_parser_max_size(const ssehub_sse_parser_t *p)
{
    return p->settings.max_size;
}

/*
 * Dispatches the pending event on a blank line. Per the spec: the last event ID string
 * takes the value of the last event ID buffer (also when nothing fires); with an empty
 * data buffer, only the buffers are reset; otherwise one trailing LF is removed from the
 * data and the event fires with type "message" unless an event field named another one.
 * The two id buffers are swapped rather than copied: no allocation on the hot path.
 */
static int dispatch(ssehub_sse_parser_t *p)
{
    ssehub_sse_event_t ev;
    int rc = 0;

    if (p->id_dirty) {
        sh_buf_t tmp = p->id;
        p->id = p->id_pending;
        p->id_pending = tmp;
        p->id_dirty = false;
    }
    if (p->data.len == 0) {
        sh_buf_reset(&p->type);
        return 0;
    }
    if (p->settings.on_event != NULL) {
        ev.id = p->id.len != 0 ? p->id.base : "";
        ev.id_len = p->id.len;
        if (p->type.len != 0) {
            ev.type = p->type.base;
            ev.type_len = p->type.len;
        } else {
            ev.type = "message";
            ev.type_len = 7;
        }
        ev.data = p->data.base;
        /* Every data field appended an LF, so there is always one to remove. */
        ev.data_len = p->data.len - 1;
        ev.retry = 0;
        ev.has_retry = false;
        rc = p->settings.on_event(p->settings.user, &ev);
    }
    sh_buf_reset(&p->data);
    sh_buf_reset(&p->type);
    return rc != 0 ? SSEHUB_ECANCELED : 0;
}

/* Replaces the content of |b| with the decoded |value|. */
static int set_buf(sh_buf_t *b, const char *value, size_t len)
{
    sh_buf_reset(b);
    return sh_utf8_append_sanitized(b, value, len);
}

/* Interprets one complete line (terminator excluded): a blank line, a comment or a field. */
static int process_line(ssehub_sse_parser_t *p, const char *line, size_t len)
{
    const char *colon, *value;
    size_t name_len, value_len;
    uint64_t retry;
    int rc;

    if (len == 0)
        return dispatch(p);
    if (line[0] == ':')
        return 0;
    colon = memchr(line, ':', len);
    if (colon != NULL) {
        name_len = (size_t)(colon - line);
        value = colon + 1;
        value_len = len - name_len - 1;
        if (value_len != 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    } else {
        /* A field without a colon: the whole line is the name, the value is empty. */
        name_len = len;
        value = line + len;
        value_len = 0;
    }

    switch (name_len) {
    case 4:
        if (memcmp(line, "data", 4) != 0)
            break;
        rc = sh_utf8_append_sanitized(&p->data, value, value_len);
        if (rc == 0)
            rc = sh_buf_append(&p->data, "\n", 1);
        return rc;
    case 5:
        if (memcmp(line, "event", 5) == 0)
            return set_buf(&p->type, value, value_len);
        if (memcmp(line, "retry", 5) != 0)
            break;
        /* Only ASCII digits; a value past UINT64_MAX cannot be a time and is ignored. */
        if (sh_parse_u64(value, value_len, &retry) != 0)
            return 0;
        if (p->settings.on_retry != NULL && p->settings.on_retry(p->settings.user, retry) != 0)
            return SSEHUB_ECANCELED;
        return 0;
    case 2:
        if (memcmp(line, "id", 2) != 0)
            break;
        if (value_len != 0 && memchr(value, '\0', value_len) != NULL)
            return 0;
        p->id_dirty = true;
        return set_buf(&p->id_pending, value, value_len);
    default:
        break;
    }
    return 0; /* an unknown field is ignored */
}

/* Splits |len| bytes at |in| into lines and interprets each complete one. */
static int feed(ssehub_sse_parser_t *p, const char *in, size_t len)
{
    sh_sse__lines_t it;
    int rc;

    sh_sse__lines_init(&it, in, len);
    if (p->skip_lf && len != 0) {
        p->skip_lf = false;
        if (in[0] == '\n')
            it.p++;
    }
    while (it.p < it.end) {
        const char *eol = sh_sse__lines_eol(&it);
        size_t n = (size_t)(eol - it.p);

        if (eol == it.end) {
            /* No terminator in this chunk: keep the partial line for the next one. */
            return sh_buf_append(&p->line, it.p, n);
        }
        if (p->line.len != 0) {
            rc = sh_buf_append(&p->line, it.p, n);
            if (rc == 0)
                rc = process_line(p, p->line.base, p->line.len);
            sh_buf_reset(&p->line);
        } else if (n > p->settings.max_size) {
            rc = SSEHUB_E2BIG;
        } else {
            rc = process_line(p, it.p, n);
        }
        if (rc != 0)
            return rc;
        p->skip_lf = sh_sse__lines_skip(&it, eol);
    }
    return 0;
}

/*
 * Holds the first bytes of the stream until they are known to be, or not to be, a UTF-8
 * BOM. Returns the number of bytes of |in| it consumed; sets |*rc| when feeding held
 * bytes failed.
 */
static size_t strip_bom(ssehub_sse_parser_t *p, const char *in, size_t len, int *rc)
{
    size_t i = 0;

    *rc = 0;
    while (i < len && p->bom_len < 3 && (unsigned char)in[i] == utf8_bom[p->bom_len])
        p->bom[p->bom_len++] = (unsigned char)in[i++];
    if (p->bom_len == 3) {
        p->bom_done = true;
    } else if (i < len) {
        /* Not a BOM: the held bytes are the start of the first line after all. */
        p->bom_done = true;
        *rc = feed(p, (const char *)p->bom, p->bom_len);
    }
    return i;
}

ssize_t ssehub_sse_parse(ssehub_sse_parser_t *p, const char *in, size_t len)
{
    size_t off = 0;
    int rc = 0;

    if (p->error != 0)
        return SSEHUB_EBADSTATE;
    if (len == 0)
        return 0;
    if (!p->bom_done)
        off = strip_bom(p, in, len, &rc);
    if (rc == 0 && off < len)
        rc = feed(p, in + off, len - off);
    if (rc != 0) {
        p->error = rc;
        return rc;
    }
    return (ssize_t)len;
}
