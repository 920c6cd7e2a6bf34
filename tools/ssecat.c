/* SPDX-License-Identifier: MIT */
/*
 * ssecat: the command-line client. Three modes: ssecat URL subscribes (EventSource
 * semantics, ssecat_sub.c), ssecat --publish URL publishes stdin's lines (ssecat_pub.c),
 * and ssecat --parse reads a raw text/event-stream on stdin as it arrives and writes one
 * JSON object per line for each dispatched event and each valid retry field, in stream
 * order (this file, with the command line).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ssehub/ssehub.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/duration.h"
#include "base/json.h"
#include "base/str.h"
#include "ssecat.h"

#define READ_CHUNK (64 * 1024)

typedef struct out_s {
    sh_buf_t line; /* one JSON line, reused */
    int error;     /* first error while formatting, 0 when none */
} out_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ssecat URL [-H 'Name: value']... [--last-event-id ID] [--json]\n"
            "              [--max-events N] [--timeout D] [--insecure] [--cacert FILE]\n"
            "              [--idle-timeout D] [--connect-timeout D] [--retry D] [--max-backoff D]\n"
            "       ssecat --publish URL --topic T [--type X] [--id-prefix P]\n"
            "              [--jwt TOKEN | -H ...]\n"
            "       ssecat --parse [--max-size BYTES]\n"
            "       ssecat --help | --version\n"
            "\n"
            "ssecat URL subscribes to an event stream as a browser's EventSource does and\n"
            "prints each event on stdout, as \"[type] id: data\" (\"[type] data\" before any\n"
            "id), or with --json as one JSON line, the format of --parse. It reconnects after\n"
            "network errors and end of stream (saying so on stderr) with the last event id,\n"
            "after the server's retry: time (default 3s) with exponential backoff and jitter.\n"
            "  -H 'Name: value'     an extra request header (repeatable): Authorization, Cookie\n"
            "  --last-event-id ID   resume after ID (sent as Last-Event-ID)\n"
            "  --json               print events as {\"event\": T, \"data\": D, \"id\": I}\n"
            "  --max-events N       exit 0 after N events\n"
            "  --timeout D          stop after D (e.g. 10s); exit 1 if --max-events was not met\n"
            "  --insecure           https: do not verify the certificate or the host name\n"
            "  --cacert FILE        https: trust the PEM certificates in FILE\n"
            "  --idle-timeout D     reconnect when the stream is silent for D (default: off)\n"
            "  --connect-timeout D  give an attempt D to connect and answer (default 10s)\n"
            "  --retry D            the reconnection time until the server sends retry:\n"
            "  --max-backoff D      cap of the exponential backoff (default 30s)\n"
            "\n"
            "ssecat --publish URL reads lines from stdin and publishes each as one event\n"
            "(a Mercure form POST: topic, data, type, id) over one keep-alive connection,\n"
            "pipelined; at end of input it waits for every reply.\n"
            "  --topic T            the topic (required)\n"
            "  --type X             the event type\n"
            "  --id-prefix P        line n (from 1) gets the id P-n: when the connection is\n"
            "                       lost, the unanswered lines are sent again on a new one\n"
            "                       (up to %d attempts without a reply) and the hub publishes\n"
            "                       each once. Without it, a lost connection with lines\n"
            "                       unanswered exits 1 (they may or may not be published)\n"
            "  --jwt TOKEN          sends Authorization: Bearer TOKEN\n"
            "\n"
            "ssecat --parse reads a text/event-stream on stdin as it arrives and writes one\n"
            "JSON object per line to stdout, in stream order: {\"event\": TYPE, \"data\": DATA,\n"
            "\"id\": LAST_EVENT_ID} for each dispatched event, and {\"retry\": N} for each\n"
            "valid retry field. Parsing follows the WHATWG HTML \"parsing an event stream\"\n"
            "algorithm.\n"
            "  --max-size BYTES     longest line, and largest event data, type or id accepted\n"
            "                       (default %zu); beyond it --parse exits 1\n"
            "\n"
            "Durations D take ms, s, m or h. Exit status: 0 at end of input (--parse), after\n"
            "--max-events, or when every publish succeeded; 1 when the connection failed for\n"
            "good (the message names the status or content type), a publish failed, or\n"
            "input or output failed; 2 on a usage error; 130 on SIGINT.\n",
            SSECAT_PUB_MAX_RETRIES, SSEHUB_SSE_DEFAULT_MAX_SIZE);
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

/* Reads the value of flag argv[*i]; NULL (after a message) when it is missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *what)
{
    if (*i + 1 == argc) {
        fprintf(stderr, "ssecat: %s needs a value (%s)\n", argv[*i], what);
        return NULL;
    }
    return argv[++*i];
}

static int parse_duration_flag(const char *flag, const char *v, int64_t *ms)
{
    if (sh_parse_duration_ms(v, strlen(v), ms) != 0) {
        fprintf(stderr, "ssecat: %s: expected a duration such as 500ms, 10s or 5m, got '%s'\n",
                flag, v);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    ssecat_opts_t o;
    const char **headers;
    char *jwt_header = NULL;
    int parse = 0, publish = 0, i, status = 2;

    memset(&o, 0, sizeof(o));
    o.max_size = SSEHUB_SSE_DEFAULT_MAX_SIZE;
    headers = sh_calloc((size_t)argc + 1, sizeof(*headers));
    if (headers == NULL) {
        fprintf(stderr, "ssecat: out of memory\n");
        return 1;
    }
    o.headers = headers;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            status = 0;
            goto out;
        } else if (strcmp(a, "--version") == 0) {
            printf("ssecat %s\n", ssehub_version_string());
            status = 0;
            goto out;
        } else if (strcmp(a, "--parse") == 0) {
            parse = 1;
        } else if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--insecure") == 0 || strcmp(a, "-k") == 0) {
            o.insecure = true;
        } else if (strcmp(a, "--max-size") == 0) {
            uint64_t n;
            if ((v = flag_value(argc, argv, &i, "a number of bytes")) == NULL)
                goto out;
            if (sh_parse_u64(v, strlen(v), &n) != 0 || n == 0 || n > SIZE_MAX / 32) {
                fprintf(stderr,
                        "ssecat: --max-size: expected a positive number of bytes, got '%s'\n", v);
                goto out;
            }
            o.max_size = (size_t)n;
        } else if (strcmp(a, "--max-events") == 0) {
            if ((v = flag_value(argc, argv, &i, "a number of events")) == NULL)
                goto out;
            if (sh_parse_u64(v, strlen(v), &o.max_events) != 0 || o.max_events == 0) {
                fprintf(stderr, "ssecat: --max-events: expected a positive number, got '%s'\n", v);
                goto out;
            }
        } else if (strcmp(a, "-H") == 0 || strcmp(a, "--header") == 0) {
            if ((v = flag_value(argc, argv, &i, "'Name: value'")) == NULL)
                goto out;
            if (strchr(v, ':') == NULL || v[0] == ':' || strpbrk(v, "\r\n") != NULL) {
                fprintf(stderr, "ssecat: %s: expected 'Name: value', got '%s'\n", a, v);
                goto out;
            }
            headers[o.headers_count++] = v;
        } else if (strcmp(a, "--jwt") == 0) {
            size_t n;
            if ((v = flag_value(argc, argv, &i, "a token")) == NULL)
                goto out;
            if (jwt_header != NULL || v[0] == '\0' || strpbrk(v, "\r\n ") != NULL) {
                fprintf(stderr, "ssecat: --jwt: expected one token, got '%s'\n", v);
                goto out;
            }
            n = strlen("Authorization: Bearer ") + strlen(v) + 1;
            jwt_header = sh_malloc(n);
            if (jwt_header == NULL) {
                fprintf(stderr, "ssecat: out of memory\n");
                status = 1;
                goto out;
            }
            snprintf(jwt_header, n, "Authorization: Bearer %s", v);
            headers[o.headers_count++] = jwt_header;
        } else if (strcmp(a, "--last-event-id") == 0) {
            if ((v = flag_value(argc, argv, &i, "an event id")) == NULL)
                goto out;
            if (strpbrk(v, "\r\n") != NULL) {
                fprintf(stderr, "ssecat: --last-event-id: an id cannot contain CR or LF\n");
                goto out;
            }
            o.last_event_id = v;
        } else if (strcmp(a, "--timeout") == 0 || strcmp(a, "--idle-timeout") == 0 ||
                   strcmp(a, "--connect-timeout") == 0 || strcmp(a, "--retry") == 0 ||
                   strcmp(a, "--max-backoff") == 0) {
            int64_t ms;
            if ((v = flag_value(argc, argv, &i, "a duration such as 10s")) == NULL ||
                parse_duration_flag(a, v, &ms) != 0)
                goto out;
            if (strcmp(a, "--timeout") == 0)
                o.timeout_ms = ms;
            else if (strcmp(a, "--idle-timeout") == 0)
                o.idle_timeout_ms = ms;
            else if (strcmp(a, "--connect-timeout") == 0)
                o.connect_timeout_ms = ms;
            else if (strcmp(a, "--retry") == 0)
                o.retry_ms = ms;
            else
                o.max_backoff_ms = ms;
        } else if (strcmp(a, "--cacert") == 0) {
            if ((v = flag_value(argc, argv, &i, "a PEM file")) == NULL)
                goto out;
            o.ca_file = v;
        } else if (strcmp(a, "--publish") == 0) {
            if ((v = flag_value(argc, argv, &i, "the hub's URL")) == NULL)
                goto out;
            publish = 1;
            o.url = v;
        } else if (strcmp(a, "--topic") == 0) {
            if ((v = flag_value(argc, argv, &i, "a topic")) == NULL)
                goto out;
            o.topic = v;
        } else if (strcmp(a, "--type") == 0) {
            if ((v = flag_value(argc, argv, &i, "an event type")) == NULL)
                goto out;
            o.type = v;
        } else if (strcmp(a, "--id-prefix") == 0) {
            if ((v = flag_value(argc, argv, &i, "a prefix for the event ids")) == NULL)
                goto out;
            if (v[0] == '\0' || strpbrk(v, "\r\n") != NULL) {
                fprintf(stderr,
                        "ssecat: --id-prefix: expected a non-empty prefix without CR "
                        "or LF, got '%s'\n",
                        v);
                goto out;
            }
            o.id_prefix = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ssecat: unknown option '%s' (try --help)\n", a);
            goto out;
        } else if (o.url == NULL) {
            o.url = a;
        } else {
            fprintf(stderr, "ssecat: one URL only: '%s' after '%s'\n", a, o.url);
            goto out;
        }
    }
    if (parse + publish + (o.url != NULL && !publish) > 1) {
        fprintf(stderr, "ssecat: use one of URL, --publish URL and --parse\n");
        goto out;
    }
    if (o.id_prefix != NULL && !publish) {
        fprintf(stderr, "ssecat: --id-prefix is for --publish\n");
        goto out;
    }
    /* libuv writes to sockets with write(): a peer that went away must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (parse) {
        status = parse_stdin(o.max_size);
    } else if (publish) {
        if (o.topic == NULL) {
            fprintf(stderr, "ssecat: --publish needs --topic T\n");
            goto out;
        }
        status = ssecat_publish(&o);
    } else if (o.url != NULL) {
        status = ssecat_subscribe(&o);
    } else {
        fprintf(stderr, "ssecat: give a URL to subscribe to, --publish URL or --parse "
                        "(try --help)\n");
    }
out:
    sh_free(jwt_header);
    sh_free(headers);
    return status;
}
