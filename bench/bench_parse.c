/* SPDX-License-Identifier: MIT */
/*
 * bench_parse: the throughput of the incremental event-stream parser. It generates a
 * large synthetic stream in memory, feeds it to ssehub_sse_parse() in chunks the size of
 * socket reads, and reports MB/s and events/s per scenario. A benchmark, not a test: it
 * reports figures and never gates CI (docs/benchmarks.md). It does verify that the parser
 * dispatched exactly the events it was given, and exits 1 when it did not.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ssehub/ssehub.h"
#include "base/str.h"

#define DEFAULT_SIZE  ((size_t)256 << 20)
#define DEFAULT_CHUNK ((size_t)64 << 10)
#define DEFAULT_REPS  5
#define MAX_REPS      1000

#define EV_1K    1024 /* bytes on the wire of one event in the 1 KiB scenarios */
#define EV_64B   64   /* bytes on the wire of one event in the 64-byte scenario */
#define ML_LINES 16   /* data lines per event in the multi-line scenario */

/*
 * The stream opens with this comment line, which dispatches nothing. Its length is not a
 * multiple of any event size, so chunk boundaries fall inside lines, as socket reads do,
 * and the parser's path for a line split across chunks is measured too. Without it, a
 * 64 KiB chunk would hold exactly 64 or 1024 whole events.
 */
static const char stream_head[] = ": ssehub bench_parse synthetic stream\n";

#define HEAD_LEN (sizeof(stream_head) - 1)

/* Printable ASCII filler for the data fields, built once by init_text(). */
static char ascii_text[2 * EV_1K];

/*
 * Chinese prose in the manner of the users' seed tutorials, with the few ASCII words and
 * spaces such text carries: about 95% of its bytes are non-ASCII, so the parser's UTF-8
 * validation leaves its eight-bytes-at-a-time ASCII path on nearly every byte.
 */
static const char cjk_text[] =
    "服务端推送事件（SSE）是一种基于 HTTP 协议的轻量级单向通信方式。"
    "服务器声明接下来发送的是事件流，客户端就会保持连接打开，持续接收新的消息、"
    "状态更新和通知；断线以后，浏览器会带着最后一个事件编号自动重新连接，"
    "服务器从历史记录中补发错过的消息，用户不会丢失任何一条更新。";

/*
 * A generator writes event number |n| (from 1) of its scenario at |dst|, exactly
 * scenario_t.event_size bytes, and stores in |*data_len| the length of the data the
 * parser must report for it.
 */
typedef size_t (*gen_fn)(char *dst, uint64_t n, size_t *data_len);

typedef struct scenario_s {
    const char *name;  /* the --scenario NAME */
    const char *about; /* one line for --help */
    size_t event_size; /* bytes per event on the wire, the same for every event */
    gen_fn gen;
} scenario_t;

/* What the parser's callback counts: the minimal real work per event. */
typedef struct counts_s {
    uint64_t events;     /* events dispatched */
    uint64_t data_bytes; /* sum of their data lengths */
} counts_t;

/* Throughput of one measurement, derived from its duration. */
typedef struct rate_s {
    double seconds;
    double mb_s;     /* 10^6 bytes per second */
    double gb_s;     /* 10^9 bytes per second */
    double events_s; /* events per second */
} rate_t;

typedef struct options_s {
    size_t size;        /* stream bytes to generate, at most */
    size_t chunk;       /* bytes per ssehub_sse_parse() call */
    unsigned reps;      /* timed parses per scenario */
    unsigned scenarios; /* bit i selects scenarios[i] */
    bool json;          /* one JSON object per scenario instead of the table */
} options_t;

static char *put(char *p, const char *s, size_t len)
{
    memcpy(p, s, len);
    return p + len;
}

/* Fills ascii_text with a repeating run of the 95 printable ASCII characters. */
static void init_text(void)
{
    size_t i;

    for (i = 0; i < sizeof(ascii_text); i++)
        ascii_text[i] = (char)(0x20 + i % 95);
}

/*
 * Writes "id: N" + |fields| (the lines after the id, ending with "data: ") + ASCII data
 * padded so that the event, with its "\n\n", is exactly |size| bytes.
 */
static size_t gen_one_data_line(char *dst, uint64_t n, const char *fields, size_t size,
                                size_t *data_len)
{
    char *p = dst;
    size_t pad;

    p = put(p, "id: ", 4);
    p += sh_fmt_u64(p, n);
    p = put(p, fields, strlen(fields));
    pad = size - (size_t)(p - dst) - 2;
    p = put(p, ascii_text + n % 95, pad);
    p = put(p, "\n\n", 2);
    *data_len = pad;
    return (size_t)(p - dst);
}

/* Scenario 1k: "id: N\nevent: update\ndata: <ASCII>\n\n", 1024 bytes. */
static size_t gen_1k(char *dst, uint64_t n, size_t *data_len)
{
    return gen_one_data_line(dst, n, "\nevent: update\ndata: ", EV_1K, data_len);
}

/* Scenario 64b: "id: N\ndata: <ASCII>\n\n", 64 bytes. */
static size_t gen_64b(char *dst, uint64_t n, size_t *data_len)
{
    return gen_one_data_line(dst, n, "\ndata: ", EV_64B, data_len);
}

/*
 * Scenario 1k-multiline-crlf: "id: N", "event: update", 16 "data: <ASCII>" lines of
 * about 54 bytes each and a blank line, every line ended by CRLF, 1024 bytes. The parser
 * joins the data lines with LF, so the data is the line bytes plus 15.
 */
static size_t gen_1k_multiline_crlf(char *dst, uint64_t n, size_t *data_len)
{
    char *p = dst;
    size_t fixed, total, each, i;

    p = put(p, "id: ", 4);
    p += sh_fmt_u64(p, n);
    p = put(p, "\r\nevent: update\r\n", 17);
    fixed = (size_t)(p - dst) + ML_LINES * 8 + 2; /* "data: " + CRLF per line, blank line */
    total = EV_1K - fixed;
    each = total / ML_LINES;
    for (i = 0; i < ML_LINES; i++) {
        size_t len = i + 1 < ML_LINES ? each : total - each * (ML_LINES - 1);

        p = put(p, "data: ", 6);
        p = put(p, ascii_text + (n + i) % 95, len);
        p = put(p, "\r\n", 2);
    }
    p = put(p, "\r\n", 2);
    *data_len = total + ML_LINES - 1;
    return (size_t)(p - dst);
}

/*
 * Scenario 1k-utf8: as 1k, with the data taken from cjk_text (whole characters, starting
 * at a different one for each event) and ended by up to three ASCII '.' to make 1024.
 */
static size_t gen_1k_utf8(char *dst, uint64_t n, size_t *data_len)
{
    static const size_t text_len = sizeof(cjk_text) - 1;
    char *p = dst;
    size_t pad, left, at;

    p = put(p, "id: ", 4);
    p += sh_fmt_u64(p, n);
    p = put(p, "\nevent: update\ndata: ", 21);
    pad = EV_1K - (size_t)(p - dst) - 2;
    /* Start at a character boundary: step back over continuation bytes. */
    at = (size_t)(n * 7 % text_len);
    while (((unsigned char)cjk_text[at] & 0xC0) == 0x80)
        at--;
    left = pad;
    for (;;) {
        unsigned char c = (unsigned char)cjk_text[at];
        size_t clen = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

        if (clen > left)
            break;
        p = put(p, cjk_text + at, clen);
        left -= clen;
        at = at + clen == text_len ? 0 : at + clen;
    }
    memset(p, '.', left);
    p += left;
    p = put(p, "\n\n", 2);
    *data_len = pad;
    return (size_t)(p - dst);
}

static const scenario_t scenarios[] = {
    {"1k", "1024-byte events: id, event and one ~1000-byte ASCII data line, LF", EV_1K, gen_1k},
    {"64b", "64-byte events: id and one short ASCII data line, LF", EV_64B, gen_64b},
    {"1k-multiline-crlf", "1024-byte events: id, event and 16 ASCII data lines, CRLF", EV_1K,
     gen_1k_multiline_crlf},
    {"1k-utf8", "1024-byte events: as 1k, data mostly Chinese (3-byte UTF-8)", EV_1K, gen_1k_utf8},
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void usage(FILE *f)
{
    size_t i;

    fprintf(f,
            "usage: bench_parse [--size BYTES] [--chunk BYTES] [--reps N] [--scenario NAME]...\n"
            "                   [--json]\n"
            "       bench_parse --help\n"
            "\n"
            "Generates an event stream of about --size bytes in memory for each scenario,\n"
            "parses it with ssehub_sse_parse() in --chunk-byte pieces --reps times, checks\n"
            "the events dispatched against those generated, and reports the best and the\n"
            "median repetition. Only the parse loop is timed (CLOCK_MONOTONIC). The stream\n"
            "opens with a comment line whose length puts chunk boundaries inside lines.\n"
            "1 MB = 10^6 bytes, 1 GB = 10^9 bytes.\n"
            "\n"
            "  --size BYTES      stream size per scenario, rounded down to whole events;\n"
            "                    K, M, G suffixes are KiB, MiB, GiB (default 256M)\n"
            "  --chunk BYTES     bytes per parse call, like a socket read (default 64K)\n"
            "  --reps N          timed repetitions per scenario, 1 to %d (default %d)\n"
            "  --scenario NAME   run only NAME; repeatable (default: all)\n"
            "  --json            print one JSON object per scenario and line, no table\n"
            "  --help            print this help\n"
            "\n"
            "Scenarios:\n",
            MAX_REPS, DEFAULT_REPS);
    for (i = 0; i < N_SCENARIOS; i++)
        fprintf(f, "  %-18s%s\n", scenarios[i].name, scenarios[i].about);
    fprintf(f, "\nExit status: 0 when every scenario verified, 1 when the parser failed or\n"
               "dispatched other events than generated (or memory ran out), 2 on a usage error.\n");
}

/* Parses "123", "64K", "256M" or "1G" (binary multiples). Returns 0 or -1. */
static int parse_size(const char *s, size_t *out)
{
    size_t len = strlen(s);
    unsigned shift = 0;
    uint64_t v;

    if (len > 1) {
        switch (s[len - 1]) {
        case 'K':
        case 'k':
            shift = 10;
            break;
        case 'M':
        case 'm':
            shift = 20;
            break;
        case 'G':
        case 'g':
            shift = 30;
            break;
        default:
            break;
        }
        if (shift != 0)
            len--;
    }
    if (sh_parse_u64(s, len, &v) != 0 || v > (SIZE_MAX >> shift))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

/* Parses the command line into |o|. Returns 0, 1 after --help, or -1 on a usage error. */
static int parse_args(int argc, char **argv, options_t *o)
{
    size_t n;
    int i;

    o->size = DEFAULT_SIZE;
    o->chunk = DEFAULT_CHUNK;
    o->reps = DEFAULT_REPS;
    o->scenarios = 0;
    o->json = false;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "bench_parse: unknown option or missing value: %s\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--size") == 0) {
            if (parse_size(v, &o->size) != 0 || o->size == 0) {
                fprintf(stderr, "bench_parse: bad --size: %s\n", v);
                return -1;
            }
        } else if (strcmp(a, "--chunk") == 0) {
            if (parse_size(v, &o->chunk) != 0 || o->chunk == 0) {
                fprintf(stderr, "bench_parse: bad --chunk: %s\n", v);
                return -1;
            }
        } else if (strcmp(a, "--reps") == 0) {
            if (parse_size(v, &n) != 0 || n == 0 || n > MAX_REPS) {
                fprintf(stderr, "bench_parse: bad --reps (1 to %d): %s\n", MAX_REPS, v);
                return -1;
            }
            o->reps = (unsigned)n;
        } else if (strcmp(a, "--scenario") == 0) {
            for (n = 0; n < N_SCENARIOS; n++) {
                if (strcmp(v, scenarios[n].name) == 0)
                    break;
            }
            if (n == N_SCENARIOS) {
                fprintf(stderr, "bench_parse: unknown --scenario: %s (see --help)\n", v);
                return -1;
            }
            o->scenarios |= 1u << n;
        } else {
            fprintf(stderr, "bench_parse: unknown option: %s\n", a);
            return -1;
        }
    }
    if (o->scenarios == 0)
        o->scenarios = (1u << N_SCENARIOS) - 1;
    for (n = 0; n < N_SCENARIOS; n++) {
        if ((o->scenarios & (1u << n)) && o->size < HEAD_LEN + scenarios[n].event_size) {
            fprintf(stderr, "bench_parse: --size %zu is too small for one %s event (%zu bytes)\n",
                    o->size, scenarios[n].name, HEAD_LEN + scenarios[n].event_size);
            return -1;
        }
    }
    return 0;
}

/* The parser's event callback: counts, so that the events cannot be optimised away. */
static int on_event(void *user, const ssehub_sse_event_t *ev)
{
    counts_t *c = user;

    c->events++;
    c->data_bytes += ev->data_len;
    return 0;
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

/*
 * Parses |len| bytes at |buf| with a fresh parser in |chunk|-byte calls, timing the parse
 * loop only. Stores the counts in |*c|, the duration in |*secs| and the parser's last
 * event ID in |last_id| (at least 21 bytes, NUL-terminated). Returns 0 or a negative
 * SSEHUB_E* code.
 */
static int parse_once(const char *buf, size_t len, size_t chunk, counts_t *c, double *secs,
                      char *last_id)
{
    ssehub_sse_parser_settings_t settings;
    ssehub_sse_parser_t *p;
    struct timespec t0, t1;
    const char *id;
    size_t off, n, id_len;
    ssize_t r = 0;
    int rc;

    memset(&settings, 0, sizeof(settings));
    settings.on_event = on_event;
    settings.user = c;
    c->events = 0;
    c->data_bytes = 0;
    rc = ssehub_sse_parser_new(&settings, &p);
    if (rc != 0)
        return rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (off = 0; off < len; off += n) {
        n = len - off < chunk ? len - off : chunk;
        r = ssehub_sse_parse(p, buf + off, n);
        if (r != (ssize_t)n)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    *secs = elapsed(&t0, &t1);
    id = ssehub_sse_parser_last_event_id(p, &id_len);
    if (id_len > 20)
        id_len = 20;
    memcpy(last_id, id, id_len);
    last_id[id_len] = '\0';
    ssehub_sse_parser_free(p);
    if (off < len)
        return r < 0 ? (int)r : SSEHUB_EPROTO;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static rate_t rate(double seconds, size_t bytes, uint64_t events)
{
    rate_t r;

    r.seconds = seconds;
    r.mb_s = (double)bytes / seconds / 1e6;
    r.gb_s = (double)bytes / seconds / 1e9;
    r.events_s = (double)events / seconds;
    return r;
}

static void print_header(const options_t *o)
{
    printf("bench_parse: libssehub %s, %zu-byte stream per scenario (at most), %zu-byte chunks, "
           "%u reps; 1 MB = 10^6 B\n\n",
           ssehub_version_string(), o->size, o->chunk, o->reps);
    printf("%-18s %6s %10s | %9s %6s %8s | %9s %6s %8s | %s\n", "scenario", "event", "events",
           "best MB/s", "GB/s", "Mev/s", "med. MB/s", "GB/s", "Mev/s", "check");
}

static void print_row(const scenario_t *s, uint64_t events, const rate_t *best, const rate_t *med,
                      const char *check)
{
    printf("%-18s %5zuB %10llu | %9.1f %6.3f %8.3f | %9.1f %6.3f %8.3f | %s\n", s->name,
           s->event_size, (unsigned long long)events, best->mb_s, best->gb_s, best->events_s / 1e6,
           med->mb_s, med->gb_s, med->events_s / 1e6, check);
}

static void print_json(const options_t *o, const scenario_t *s, size_t bytes, uint64_t events,
                       const rate_t *best, const rate_t *med, const rate_t *worst, bool ok)
{
    printf("{\"scenario\":\"%s\",\"event_size\":%zu,\"bytes\":%zu,\"events\":%llu,"
           "\"chunk\":%zu,\"reps\":%u,"
           "\"best_seconds\":%.6f,\"best_mb_s\":%.1f,\"best_gb_s\":%.4f,"
           "\"best_events_s\":%.0f,"
           "\"median_seconds\":%.6f,\"median_mb_s\":%.1f,\"median_gb_s\":%.4f,"
           "\"median_events_s\":%.0f,"
           "\"worst_seconds\":%.6f,\"worst_mb_s\":%.1f,\"ok\":%s}\n",
           s->name, s->event_size, bytes, (unsigned long long)events, o->chunk, o->reps,
           best->seconds, best->mb_s, best->gb_s, best->events_s, med->seconds, med->mb_s,
           med->gb_s, med->events_s, worst->seconds, worst->mb_s, ok ? "true" : "false");
}

/*
 * Generates scenario |s| into |buf| (at least o->size bytes), parses it o->reps times and
 * prints its figures. Returns 0 when every repetition dispatched exactly the generated
 * events, 1 otherwise.
 */
static int run_scenario(const options_t *o, const scenario_t *s, char *buf, double *secs)
{
    uint64_t events = (o->size - HEAD_LEN) / s->event_size, n, want_data = 0;
    size_t bytes = HEAD_LEN;
    char want_id[21], got_id[21];
    rate_t best, med, worst;
    counts_t c;
    unsigned i;
    bool ok = true;

    memcpy(buf, stream_head, HEAD_LEN);
    for (n = 1; n <= events; n++) {
        size_t data_len;

        bytes += s->gen(buf + bytes, n, &data_len);
        want_data += data_len;
    }
    want_id[sh_fmt_u64(want_id, events)] = '\0';
    if (bytes != HEAD_LEN + events * s->event_size) {
        fprintf(stderr, "bench_parse: %s: generated %zu bytes, expected %llu\n", s->name, bytes,
                (unsigned long long)(HEAD_LEN + events * s->event_size));
        return 1;
    }

    for (i = 0; i < o->reps; i++) {
        int rc = parse_once(buf, bytes, o->chunk, &c, &secs[i], got_id);

        if (rc != 0) {
            fprintf(stderr, "bench_parse: %s: rep %u: parse failed: %s\n", s->name, i + 1,
                    ssehub_strerror(rc));
            ok = false;
        } else if (c.events != events || c.data_bytes != want_data ||
                   strcmp(got_id, want_id) != 0) {
            fprintf(stderr,
                    "bench_parse: %s: rep %u: got %llu events, %llu data bytes, last id "
                    "\"%s\"; generated %llu, %llu, \"%s\"\n",
                    s->name, i + 1, (unsigned long long)c.events, (unsigned long long)c.data_bytes,
                    got_id, (unsigned long long)events, (unsigned long long)want_data, want_id);
            ok = false;
        }
    }

    qsort(secs, o->reps, sizeof(secs[0]), cmp_double);
    best = rate(secs[0], bytes, events);
    worst = rate(secs[o->reps - 1], bytes, events);
    med =
        rate(o->reps % 2 != 0 ? secs[o->reps / 2] : (secs[o->reps / 2 - 1] + secs[o->reps / 2]) / 2,
             bytes, events);
    if (o->json)
        print_json(o, s, bytes, events, &best, &med, &worst, ok);
    else
        print_row(s, events, &best, &med, ok ? "ok" : "FAILED");
    fflush(stdout);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    options_t o;
    char *buf;
    double *secs;
    size_t i;
    int rc, status = 0;

    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    init_text();
    buf = malloc(o.size);
    secs = malloc(o.reps * sizeof(*secs));
    if (buf == NULL || secs == NULL) {
        fprintf(stderr, "bench_parse: cannot allocate %zu bytes for the stream\n", o.size);
        status = 1;
        goto out_free;
    }
    if (!o.json)
        print_header(&o);
    for (i = 0; i < N_SCENARIOS; i++) {
        if (o.scenarios & (1u << i))
            status |= run_scenario(&o, &scenarios[i], buf, secs);
    }

out_free:
    free(secs);
    free(buf);
    return status;
}
