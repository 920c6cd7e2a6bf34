/* SPDX-License-Identifier: MIT */
/* Parser transcripts for tests and fuzz targets. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssehub/sse.h"
#include "support/testutil.h"
#include "support/transcript.h"

/*
 * The transcript is built with libc's allocator, not ssehub's, so that a test allocator
 * installed with ssehub_replace_allocator() counts the parser's memory only.
 */
static int on_event(void *user, const ssehub_sse_event_t *ev)
{
    sh_test_text_event(user, ev->type, ev->type_len, ev->data, ev->data_len, ev->id, ev->id_len);
    return 0;
}

static int on_retry(void *user, uint64_t retry_ms)
{
    sh_test_text_retry(user, retry_ms);
    return 0;
}

char *sh_test_transcript(const char *in, size_t len, size_t max_size, const size_t *cuts,
                         size_t ncuts)
{
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *p;
    sh_test_text_t t = {0};
    size_t i, from = 0;
    int rc;

    settings.max_size = max_size;
    settings.on_event = on_event;
    settings.on_retry = on_retry;
    settings.user = &t;
    sh_test_text_put(&t, "", 0);
    rc = ssehub_sse_parser_new(&settings, &p);
    if (rc != 0) {
        sh_test_text_free(&t);
        return NULL;
    }
    for (i = 0; i <= ncuts && rc >= 0; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        ssize_t n = ssehub_sse_parse(p, in + from, to - from);
        if (n < 0) {
            sh_test_text_str(&t, "error ");
            sh_test_text_str(&t, ssehub_err_name((int)n));
            sh_test_text_str(&t, "\n");
            rc = (int)n;
        } else if ((size_t)n != to - from) {
            sh_test_text_str(&t, "short\n");
            rc = -1;
        }
        from = to;
    }
    ssehub_sse_parser_free(p);
    return t.s;
}

char *sh_test_transcript_bytewise(const char *in, size_t len, size_t max_size)
{
    size_t *cuts = NULL, i;
    char *out;

    if (len > 1) {
        cuts = malloc((len - 1) * sizeof(*cuts));
        if (cuts == NULL)
            return NULL;
        for (i = 1; i < len; i++)
            cuts[i - 1] = i;
    }
    out = sh_test_transcript(in, len, max_size, cuts, len > 1 ? len - 1 : 0);
    free(cuts);
    return out;
}
