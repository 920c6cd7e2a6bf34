/* SPDX-License-Identifier: MIT */
/*
 * ssecat: the command-line client. This version implements --parse: it reads a raw
 * text/event-stream on stdin as it arrives and writes one JSON object per line for each
 * dispatched event and each valid retry field, in stream order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ssehub/ssehub.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"

#define READ_CHUNK (64 * 1024)

typedef struct out_s {
    sh_buf_t line; /* one JSON line, reused */
    int error;     /* first error while formatting, 0 when none */
} out_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ssecat --parse [--max-size BYTES]\n"
            "       ssecat --help | --version\n"
            "\n"
            "  --parse            read a text/event-stream on stdin as it arrives and write\n"
            "                     one JSON object per line to stdout, in stream order:\n"
            "                       {\"event\": TYPE, \"data\": DATA, \"id\": LAST_EVENT_ID}\n"
            "                     for each dispatched event, and {\"retry\": N} for each\n"
            "                     valid retry field. Parsing follows the WHATWG HTML\n"
            "                     \"parsing an event stream\" algorithm.\n"
            "  --max-size BYTES   longest line, and largest event data, type or id accepted\n"
            "                     (default %zu); beyond it ssecat exits 1\n"
            "  --help             print this help\n"
            "  --version          print the version\n"
            "\n"
            "Exit status: 0 at end of input, 1 when the stream exceeds the limit or cannot\n"
            "be read or written, 2 on a usage error.\n"
            "Subscribing to a URL (ssecat URL) and publishing (--publish) are not built yet.\n",
            SSEHUB_SSE_DEFAULT_MAX_SIZE);
}

/* Writes the JSON line in |o->line| to stdout. */
static int flush_line(out_t *o)
{
    int rc = sh_buf_append(&o->line, "\n", 1);

    if (rc == 0 && fwrite(o->line.base, 1, o->line.len, stdout) != o->line.len)
        rc = SSEHUB_EIO;
    sh_buf_reset(&o->line);
    return rc;
}

static int on_event(void *user, const ssehub_sse_event_t *ev)
{
    out_t *o = user;
    int rc;

    rc = sh_buf_append_str(&o->line, "{\"event\": ");
    if (rc == 0)
        rc = sh_json_append_string(&o->line, ev->type, ev->type_len);
    if (rc == 0)
        rc = sh_buf_append_str(&o->line, ", \"data\": ");
    if (rc == 0)
        rc = sh_json_append_string(&o->line, ev->data, ev->data_len);
    if (rc == 0)
        rc = sh_buf_append_str(&o->line, ", \"id\": ");
    if (rc == 0)
        rc = sh_json_append_string(&o->line, ev->id, ev->id_len);
    if (rc == 0)
        rc = sh_buf_append_str(&o->line, "}");
    if (rc == 0)
        rc = flush_line(o);
    o->error = rc;
    return rc;
}

static int on_retry(void *user, uint64_t retry_ms)
{
    out_t *o = user;
    char digits[20];
    int rc;

    rc = sh_buf_append_str(&o->line, "{\"retry\": ");
    if (rc == 0)
        rc = sh_buf_append(&o->line, digits, sh_fmt_u64(digits, retry_ms));
    if (rc == 0)
        rc = sh_buf_append_str(&o->line, "}");
    if (rc == 0)
        rc = flush_line(o);
    o->error = rc;
    return rc;
}

/* Reads stdin to its end through the parser. Returns the exit status. */
static int parse_stdin(size_t max_size)
{
    static char in[READ_CHUNK];
    ssehub_sse_parser_settings_t settings = {0};
    ssehub_sse_parser_t *parser = NULL;
    out_t out;
    int status = 1, rc;

    /* A JSON-escaped value is at most 6 bytes per input byte, three values per line. */
    sh_buf_init(&out.line, max_size > SIZE_MAX / 20 ? SIZE_MAX : max_size * 20 + 64);
    out.error = 0;
    settings.max_size = max_size;
    settings.on_event = on_event;
    settings.on_retry = on_retry;
    settings.user = &out;
    rc = ssehub_sse_parser_new(&settings, &parser);
    if (rc != 0) {
        fprintf(stderr, "ssecat: cannot create the parser: %s\n", ssehub_strerror(rc));
        goto out_dispose;
    }
    for (;;) {
        ssize_t n = read(STDIN_FILENO, in, sizeof(in));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "ssecat: cannot read stdin: %s\n", strerror(errno));
            goto out_free;
        }
        if (n == 0)
            break;
        n = ssehub_sse_parse(parser, in, (size_t)n);
        if (n < 0) {
            if (n == SSEHUB_E2BIG)
                fprintf(stderr,
                        "ssecat: the stream exceeds the parser limit of %zu bytes per line "
                        "or per event field (--max-size)\n",
                        max_size);
            else if (n == SSEHUB_ECANCELED && out.error == SSEHUB_EIO)
                fprintf(stderr, "ssecat: cannot write stdout: %s\n", strerror(errno));
            else
                fprintf(stderr, "ssecat: cannot parse the stream: %s\n",
                        ssehub_strerror(out.error != 0 ? out.error : (int)n));
            goto out_free;
        }
        /* Events leave as soon as their chunk is parsed: ssecat sits in pipelines. */
        if (fflush(stdout) != 0) {
            fprintf(stderr, "ssecat: cannot write stdout: %s\n", strerror(errno));
            goto out_free;
        }
    }
    status = 0;

out_free:
    ssehub_sse_parser_free(parser);
out_dispose:
    sh_buf_dispose(&out.line);
    return status;
}

int main(int argc, char **argv)
{
    size_t max_size = SSEHUB_SSE_DEFAULT_MAX_SIZE;
    int parse = 0, i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("ssecat %s\n", ssehub_version_string());
            return 0;
        } else if (strcmp(a, "--parse") == 0) {
            parse = 1;
        } else if (strcmp(a, "--max-size") == 0) {
            uint64_t v;
            if (i + 1 == argc) {
                fprintf(stderr, "ssecat: --max-size needs a value (a number of bytes)\n");
                return 2;
            }
            a = argv[++i];
            if (sh_parse_u64(a, strlen(a), &v) != 0 || v == 0 || v > SIZE_MAX / 32) {
                fprintf(stderr,
                        "ssecat: --max-size: expected a positive number of bytes, "
                        "got '%s'\n",
                        a);
                return 2;
            }
            max_size = (size_t)v;
        } else {
            fprintf(stderr, "ssecat: unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (!parse) {
        fprintf(stderr, "ssecat: subscribing to a URL is not built yet; use --parse to read "
                        "a stream from stdin (try --help)\n");
        return 2;
    }
    return parse_stdin(max_size);
}
