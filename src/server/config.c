/* SPDX-License-Identifier: MIT */
/* The ssehub command line and its SSEHUB_* environment twins, parsed into an sh_config_t. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ssehub/errno.h"
#include "ssehub/version.h"
#include "base/alloc.h"
#include "base/duration.h"
#include "base/str.h"
#include "server/config.h"
#include "store/store_redis_url.h"

#define MAX_THREADS 256
#define ENV_PREFIX  "SSEHUB_"

/* What a flag is, which decides how its value is read and checked. */
typedef enum {
    K_LISTEN,     /* ADDR:PORT, repeatable, comma-separated lists accepted */
    K_ADDR,       /* one ADDR:PORT stored (a copy) at |off| (char *) */
    K_ORIGIN,     /* * or SCHEME://HOST[:PORT], repeatable, comma-separated lists accepted */
    K_THREADS,    /* 1 to MAX_THREADS */
    K_STORE,      /* "memory" or "lmdb:DIR[?options]" */
    K_U64,        /* a decimal in [min, max] stored at |off| */
    K_SIZE,       /* a byte size in [min, max] stored at |off| */
    K_DURATION,   /* a duration in [min, max] ms stored at |off| (int64_t) */
    K_RETRY,      /* a decimal of milliseconds */
    K_SLOW,       /* "disconnect" only in this version */
    K_BOOL,       /* takes no value on the command line; 1/0/true/false/yes/no otherwise */
    K_LOG_LEVEL,  /* error|warn|info|debug */
    K_ACCESS_LOG, /* a file name, "-" for stderr */
    K_HELP,       /* --help, -h */
    K_VERSION,    /* --version */
    K_STRING,     /* a non-empty string stored (a copy) at |off| (char *) */
    K_JWT_ALG,    /* HS256|RS256|ES256 */
    K_ISSUER,     /* 'ISS[ ALG:KEY]', repeatable (one per environment value) */
    K_URL,        /* an http(s) URL stored (a copy) at |off| (char *) */
    K_YESNO,      /* a boolean that takes a value on the command line too */
    K_LATER,      /* a flag of a later version that takes a value */
    K_LATER_BOOL  /* a flag of a later version that takes none */
} kind_t;

/* One flag of PRODUCT.md §7. */
typedef struct {
    const char *name;  /* the flag without "--"; the environment name derives from it */
    kind_t kind;       /* how the value is read */
    size_t off;        /* K_U64, K_SIZE, K_DURATION, K_BOOL: the field in sh_config_t */
    uint64_t min;      /* numeric kinds: smallest value accepted */
    uint64_t max;      /* numeric kinds: largest value accepted */
    const char *range; /* [min, max] in words for messages; NULL when only overflow limits */
} opt_t;

#define FIELD(f) offsetof(sh_config_t, f)

static const opt_t opts[] = {
    {"listen", K_LISTEN, 0, 0, 0, NULL},
    {"threads", K_THREADS, 0, 1, MAX_THREADS, "1 to 256"},
    {"store", K_STORE, 0, 0, 0, NULL},
    {"history", K_U64, FIELD(history), 0, UINT64_MAX, NULL},
    {"history-age", K_DURATION, FIELD(history_age_ms), 0, INT64_MAX, NULL},
    {"history-memory", K_SIZE, FIELD(history_memory), 64 * 1024, UINT64_MAX, "at least 64k"},
    {"heartbeat", K_DURATION, FIELD(heartbeat_ms), 0, INT64_MAX, NULL},
    {"retry", K_RETRY, 0, 0, INT64_MAX, NULL},
    {"cors-origin", K_ORIGIN, 0, 0, 0, NULL},
    {"max-connections", K_U64, FIELD(max_connections), 1, UINT64_MAX, "at least 1"},
    {"metrics-listen", K_ADDR, FIELD(metrics_listen), 0, 0, NULL},
    {"max-body", K_SIZE, FIELD(max_body), 1, UINT64_MAX, "at least 1"},
    {"max-topics", K_U64, FIELD(max_topics), 1, UINT64_MAX, "at least 1"},
    {"max-header", K_SIZE, FIELD(max_header), 1024, 1024 * 1024, "1k to 1M"},
    {"header-timeout", K_DURATION, FIELD(header_timeout_ms), 1, INT64_MAX, "more than 0"},
    {"write-timeout", K_DURATION, FIELD(write_timeout_ms), 1, INT64_MAX, "more than 0"},
    {"max-lifetime", K_DURATION, FIELD(max_lifetime_ms), 0, INT64_MAX, NULL},
    {"send-buffer", K_SIZE, FIELD(send_buffer), 4096, UINT64_MAX, "at least 4k"},
    {"slow", K_SLOW, 0, 0, 0, NULL},
    {"no-ui", K_BOOL, FIELD(no_ui), 0, 0, NULL},
    {"log-level", K_LOG_LEVEL, 0, 0, 0, NULL},
    {"access-log", K_ACCESS_LOG, 0, 0, 0, NULL},
    {"help", K_HELP, 0, 0, 0, NULL},
    {"version", K_VERSION, 0, 0, 0, NULL},
    {"publisher-key", K_STRING, FIELD(publisher_key), 0, 0, NULL},
    {"subscriber-key", K_STRING, FIELD(subscriber_key), 0, 0, NULL},
    {"jwt-alg", K_JWT_ALG, 0, 0, 0, NULL},
    {"jwt-issuer", K_ISSUER, 0, 0, 0, NULL},
    {"resource", K_URL, FIELD(resource), 0, 0, NULL},
    {"anonymous", K_YESNO, FIELD(anonymous), 0, 0, NULL},
    {"subscriptions", K_BOOL, FIELD(subscriptions), 0, 0, NULL},
    {"tls-cert", K_LATER, 0, 0, 0, NULL},
    {"tls-key", K_LATER, 0, 0, 0, NULL},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The state of one sh_config_parse() call. */
typedef struct {
    sh_config_t *c;
    FILE *err;
    char who[64];                 /* "--history" or "SSEHUB_HISTORY", for messages */
    char shown[300];              /* a value made printable by show() */
    int listen_from_argv;         /* a --listen was applied: later ones add to its list */
    int origin_from_argv;         /* likewise --cors-origin */
    int issuer_from_argv;         /* likewise --jwt-issuer */
    unsigned char on_argv[NOPTS]; /* the flag is on the command line */
} parse_t;

/* The usage text, one line per entry; every line is shorter than 80 columns. */
static const char *const usage_lines[] = {
    "ssehub \xE2\x80\x94 a Server-Sent Events publish/subscribe hub",
    "",
    "Usage: ssehub [FLAG]...",
    "",
    "Endpoints:",
    "  GET  /.well-known/mercure?topic=T  subscribe (an event stream); Mercure 1.0:",
    "                                     ?match=T (exact), ?matchURLPattern=P,",
    "                                     last_event_id=ID",
    "  POST /.well-known/mercure          publish (form or JSON fields)",
    "  /events                            an alias of /.well-known/mercure",
    "  /.well-known/oauth-protected-resource/.well-known/mercure",
    "                                     RFC 9728 metadata (with --jwt-issuer)",
    "  /healthz                           health check",
    "  /metrics                           Prometheus metrics",
    "  /                                  demo page (unless --no-ui)",
    "",
    "Flags [default]:",
    "  --listen ADDR:PORT         IPv4:PORT or [IPv6]:PORT to serve; repeatable;",
    "                             port 0 picks a free port [127.0.0.1:8080]",
    "  --threads N                event loops, 1 to 256 [number of cores]",
    "  --store URI                event store: memory (lost on exit), lmdb:DIR",
    "                             (durable; DIR is created), or many nodes on one",
    "                             Redis: redis://[USER:PASS@]HOST:PORT[/DB][?O]",
    "                             or redis-sentinel://HOST:PORT[,...]/MASTER[?O];",
    "                             O: maxlen=N&replicas=N&wait=MS&durability=aof",
    "                             &prefix=NAME [lmdb:./ssehub-data]",
    "  --history N                events kept per topic; 0: none [1000]",
    "  --history-age DURATION     and none older than this; 0: no limit [24h]",
    "  --history-memory BYTES     and this much for all topics, oldest out [256M]",
    "  --heartbeat DURATION       comment line interval; 0: off [15s]",
    "  --retry MS                 the retry: field opening each stream [unset]",
    "  --cors-origin ORIGIN       * or SCHEME://HOST[:PORT]; repeatable [*]",
    "  --max-connections N        open connections; 503 beyond; lowered to what",
    "                             the open-file limit allows [100000]",
    "  --metrics-listen ADDR:PORT also serve /healthz and /metrics (only) here,",
    "                             outside --max-connections [unset]",
    "  --max-body BYTES           size of a publish request body [1M]",
    "  --max-topics N             topics per subscription [100]",
    "  --max-header BYTES         request line and headers, 1k to 1M [16k]",
    "  --header-timeout DURATION  time a client has to send its headers [10s]",
    "  --write-timeout DURATION   a stream that cannot take a write for this",
    "                             long is dropped [30s]",
    "  --max-lifetime DURATION    close each stream after this long; 0: off [0]",
    "  --send-buffer BYTES        per-subscriber queue cap, at least 4k [1M]",
    "  --slow disconnect|conflate past its cap a subscriber is dropped (and",
    "                             catches up from history) or skips to the",
    "                             newest event of each topic [disconnect]",
    "  --publisher-key KEY        JWT key of publishers: the HS256 secret, or a PEM",
    "                             public key file with --jwt-alg RS256|ES256;",
    "                             unset: publishing from loopback only [unset]",
    "  --subscriber-key KEY       JWT key of subscribers, likewise [unset]",
    "  --jwt-alg ALG              HS256, RS256 or ES256 [HS256]",
    "  --jwt-issuer ISSUER        Mercure 1.0: accept RFC 9068 access tokens",
    "                             (typ at+jwt) whose iss is ISSUER; with",
    "                             'ISSUER ALG:KEY' they are verified with that",
    "                             ALG and KEY (secret or PEM file), else with",
    "                             --publisher-key/--subscriber-key; repeatable",
    "                             [unset]",
    "  --resource URL             the audience access tokens must name",
    "                             [SCHEME://HOST/.well-known/mercure]",
    "  --anonymous yes|no         subscribers without a JWT receive public",
    "                             updates [yes]",
    "  --subscriptions            presence: subscription events and the",
    "                             /.well-known/mercure/subscriptions API [off]",
    "  --no-ui                    do not serve the demo page at /",
    "  --log-level LEVEL          error, warn, info or debug [info]",
    "  --access-log FILE          one line per request; - is stderr [off]",
    "  -h, --help                 print this help and exit",
    "  --version                  print the version and exit",
    "",
    "A flag's value may follow it or an '=' (--history 500, --history=500).",
    "DURATION is a number and a unit, ms, s, m or h (250ms, 15s, 24h), or 0.",
    "BYTES is a number of bytes, or of KiB, MiB, GiB with k, M, G (64k, 1M).",
    "",
    "Every flag is also read from the environment as SSEHUB_<NAME>, NAME being",
    "the flag without \"--\", upper case, with '_' for '-' (SSEHUB_HISTORY_AGE=1h;",
    "SSEHUB_NO_UI=1 for a flag without value). Repeatable flags take a comma-",
    "separated list (SSEHUB_LISTEN=127.0.0.1:80,[::1]:80). The command line",
    "wins over the environment.",
};

void sh_config_usage(FILE *out)
{
    size_t i;

    for (i = 0; i < sizeof(usage_lines) / sizeof(usage_lines[0]); i++) {
        fputs(usage_lines[i], out);
        fputc('\n', out);
    }
}

/* Frees the strings of a list and empties it. */
static void clear_list(char **list, size_t *n)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        sh_free(list[i]);
        list[i] = NULL;
    }
    *n = 0;
}

/* Replaces the string |*slot| with a copy of |s|. Returns 0 or SSEHUB_ENOMEM. */
static int set_str(char **slot, const char *s)
{
    char *p = sh_strndup(s, strlen(s));

    if (p == NULL)
        return SSEHUB_ENOMEM;
    sh_free(*slot);
    *slot = p;
    return 0;
}

/* Sets the defaults of PRODUCT.md §7. */
int sh_config_defaults(sh_config_t *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    memset(c, 0, sizeof(*c));
    c->threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (unsigned)cores;
    c->history = 1000;
    c->history_age_ms = 24 * 60 * 60 * 1000;
    c->history_memory = 256ull * 1024 * 1024;
    c->heartbeat_ms = 15 * 1000;
    c->retry_ms = -1;
    c->max_connections = 100000;
    c->max_body = 1024 * 1024;
    c->max_topics = 100;
    c->max_header = 16 * 1024;
    c->header_timeout_ms = 10 * 1000;
    c->write_timeout_ms = 30 * 1000;
    c->max_lifetime_ms = 0;
    c->send_buffer = 1024 * 1024;
    c->no_ui = 0;
    c->log_level = SH_LOG_INFO;
    c->access_log = NULL;
    c->anonymous = 1;
    c->jwt_alg = SH_JWT_HS256;

    c->listen[0] = sh_strndup("127.0.0.1:8080", strlen("127.0.0.1:8080"));
    c->nlisten = c->listen[0] != NULL;
    c->cors_origins[0] = sh_strndup("*", 1);
    c->ncors_origins = c->cors_origins[0] != NULL;
    c->store = sh_strndup(SH_CONFIG_STORE_DEFAULT, strlen(SH_CONFIG_STORE_DEFAULT));
    if (c->nlisten == 0 || c->ncors_origins == 0 || c->store == NULL) {
        sh_config_dispose(c);
        return SSEHUB_ENOMEM;
    }
    return 0;
}

void sh_config_dispose(sh_config_t *c)
{
    clear_list(c->listen, &c->nlisten);
    clear_list(c->cors_origins, &c->ncors_origins);
    sh_free(c->store);
    c->store = NULL;
    sh_free(c->access_log);
    c->access_log = NULL;
    sh_free(c->metrics_listen);
    c->metrics_listen = NULL;
    sh_free(c->publisher_key);
    c->publisher_key = NULL;
    sh_free(c->subscriber_key);
    c->subscriber_key = NULL;
    clear_list(c->jwt_issuers, &c->njwt_issuers);
    sh_free(c->resource);
    c->resource = NULL;
}

/* ---- messages ------------------------------------------------------------------------------ */

/* Prints "ssehub: " and the message as one line to the error stream; returns 2 (exit code). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
fail(parse_t *p, const char *fmt, ...)
{
    va_list ap;

    fputs("ssehub: ", p->err);
    va_start(ap, fmt);
    vfprintf(p->err, fmt, ap);
    va_end(ap);
    fputc('\n', p->err);
    return 2;
}

/*
 * Returns |len| bytes of |s| made safe to quote in a one-line message: control bytes and
 * DEL as \xNN, the rest as is, cut after 64 bytes with "...". The text lives in |p|.
 */
static const char *show(parse_t *p, const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len && i < 64; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f)
            n += (size_t)snprintf(p->shown + n, sizeof(p->shown) - n, "\\x%02x", ch);
        else
            p->shown[n++] = (char)ch;
    }
    if (i < len) {
        memcpy(p->shown + n, "...", 3);
        n += 3;
    }
    p->shown[n] = '\0';
    return p->shown;
}

/*
 * The message for the value |v| of a numeric flag: |rc| is SSEHUB_EINVAL (malformed),
 * SSEHUB_E2BIG (past the parser's own limit) or OUT_OF_RANGE (outside the flag's bounds).
 */
#define OUT_OF_RANGE 1
static int bad_number(parse_t *p, const opt_t *o, const char *v, int rc, const char *what)
{
    const char *shown = show(p, v, strlen(v));

    if (rc == SSEHUB_EINVAL)
        return fail(p, "%s: '%s' is not a valid %s", p->who, shown, what);
    if (rc == OUT_OF_RANGE && o->range != NULL)
        return fail(p, "%s: '%s' is out of range (%s)", p->who, shown, o->range);
    return fail(p, "%s: '%s' is too large", p->who, shown);
}

/* ---- values -------------------------------------------------------------------------------- */

/* Compares |len| bytes of |s| with the NUL-terminated lower-case |lit|, ignoring ASCII case. */
static int equals_nocase(const char *s, size_t len, const char *lit)
{
    size_t i;

    if (len != strlen(lit))
        return 0;
    for (i = 0; i < len; i++) {
        char ch = s[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != lit[i])
            return 0;
    }
    return 1;
}

/* Parses 1/0/true/false/yes/no (any case) into |*out|. Returns 0 or -1. */
static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes"};
    static const char *const no[] = {"0", "false", "no"};
    size_t i, len = strlen(v);

    for (i = 0; i < 3; i++) {
        if (equals_nocase(v, len, yes[i])) {
            *out = 1;
            return 0;
        }
        if (equals_nocase(v, len, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Parses a port: 1 to 5 digits, 0 to 65535. Returns 0 or -1. */
static int parse_port(const char *s, size_t len)
{
    uint64_t port;

    if (len == 0 || len > 5 || sh_parse_u64(s, len, &port) < 0 || port > 65535)
        return -1;
    return 0;
}

/* Returns true when |len| bytes of |s| are a literal address of |family| (inet_pton). */
static int is_ip(int family, const char *s, size_t len)
{
    char host[64];
    unsigned char addr[sizeof(struct in6_addr)];

    if (len == 0 || len >= sizeof(host))
        return 0;
    memcpy(host, s, len);
    host[len] = '\0';
    return inet_pton(family, host, addr) == 1;
}

/* Checks "IPv4:PORT" or "[IPv6]:PORT": literal addresses, names are not resolved here. */
static int is_listen_addr(const char *s, size_t len)
{
    const char *colon;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        if (close == NULL || close + 1 == s + len || close[1] != ':' ||
            !is_ip(AF_INET6, s + 1, (size_t)(close - s) - 1))
            return 0;
        colon = close + 1;
    } else {
        colon = memchr(s, ':', len);
        if (colon == NULL || !is_ip(AF_INET, s, (size_t)(colon - s)))
            return 0;
    }
    return parse_port(colon + 1, len - (size_t)(colon + 1 - s)) == 0;
}

static int is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/*
 * Checks the origin "SCHEME://HOST[:PORT]" (RFC 6454 serialisation: no path, no user) and
 * returns a sh_malloc'd copy in the form browsers send it, so that the server can compare
 * bytes: scheme and host in lower case, and no :80 on http nor :443 on https. Sets |*bad|
 * and returns NULL when |s| is not an origin; returns NULL alone when out of memory.
 */
static char *normalise_origin(const char *s, size_t len, int *bad)
{
    size_t i = 0, scheme_len, host_end, keep = len;
    char *out;

    *bad = 1;
    if (len == 1 && s[0] == '*') {
        *bad = 0;
        return sh_strndup(s, len);
    }
    if (len == 0 || !is_alpha(s[0]))
        return NULL;
    while (i < len &&
           (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    scheme_len = i;
    if (len - i < 3 || memcmp(s + i, "://", 3) != 0)
        return NULL;
    i += 3;
    if (i < len && s[i] == '[') {
        const char *close = memchr(s + i, ']', len - i);

        if (close == NULL || !is_ip(AF_INET6, s + i + 1, (size_t)(close - (s + i)) - 1))
            return NULL;
        i = (size_t)(close - s) + 1;
    } else {
        size_t start = i;

        while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-' || s[i] == '.'))
            i++;
        if (i == start)
            return NULL;
    }
    host_end = i;
    if (i < len && s[i] == ':') {
        uint64_t port;

        if (parse_port(s + i + 1, len - i - 1) < 0)
            return NULL;
        (void)sh_parse_u64(s + i + 1, len - i - 1, &port);
        if ((port == 80 && equals_nocase(s, scheme_len, "http")) ||
            (port == 443 && equals_nocase(s, scheme_len, "https")))
            keep = host_end;
    } else if (i != len) {
        return NULL; /* a path, a query, user info... */
    }
    *bad = 0;
    out = sh_strndup(s, keep);
    if (out != NULL) {
        for (i = 0; i < host_end; i++) {
            if (out[i] >= 'A' && out[i] <= 'Z')
                out[i] = (char)(out[i] - 'A' + 'a');
        }
    }
    return out;
}

/*
 * Adds the comma-separated items of |v| to a list of at most |max|: listen addresses when
 * |origins| is 0, CORS origins otherwise. The first item from the command line, and every
 * environment value, replace what the list held (the default, or the environment's list).
 */
static int add_items(parse_t *p, const char *v, int from_argv, int origins)
{
    sh_config_t *c = p->c;
    char **list = origins ? c->cors_origins : c->listen;
    size_t *n = origins ? &c->ncors_origins : &c->nlisten;
    size_t max = origins ? SH_CONFIG_MAX_ORIGINS : SH_CONFIG_MAX_LISTEN;
    int *seen = origins ? &p->origin_from_argv : &p->listen_from_argv;
    const char *item = v;

    if (!from_argv || !*seen)
        clear_list(list, n);
    if (from_argv)
        *seen = 1;
    for (;;) {
        const char *comma = strchr(item, ',');
        size_t len = comma != NULL ? (size_t)(comma - item) : strlen(item);
        char *copy;
        int bad = 0;

        if (origins) {
            copy = normalise_origin(item, len, &bad);
            if (bad)
                return fail(p, "%s: '%s' is not a valid origin (use * or SCHEME://HOST[:PORT])",
                            p->who, show(p, item, len));
        } else {
            if (!is_listen_addr(item, len))
                return fail(p,
                            "%s: '%s' is not a valid ADDR:PORT (e.g. 127.0.0.1:8080 or "
                            "[::1]:8080)",
                            p->who, show(p, item, len));
            copy = sh_strndup(item, len);
        }
        if (copy == NULL)
            return fail(p, "out of memory");
        if (*n == max) {
            sh_free(copy);
            return fail(p, "%s: more than %zu %s", p->who, max, origins ? "origins" : "addresses");
        }
        list[(*n)++] = copy;
        if (comma == NULL)
            return 0;
        item = comma + 1;
    }
}

/* Checks and stores the value |v| of the flag |o|. Returns 0 or 2 after one message. */
/*
 * Adds one --jwt-issuer value, 'ISS' or 'ISS ALG:KEY' (the issuer ends at the first space).
 * The first from the command line, and an environment value, replace the list.
 */
static int add_issuer(parse_t *p, const char *v, int from_argv)
{
    sh_config_t *c = p->c;
    const char *sp = strchr(v, ' '), *colon;
    char *copy;

    if (!from_argv || !p->issuer_from_argv)
        clear_list(c->jwt_issuers, &c->njwt_issuers);
    if (from_argv)
        p->issuer_from_argv = 1;
    if (*v == '\0' || sp == v)
        return fail(p, "%s: the issuer is empty (use 'ISS' or 'ISS ALG:KEY')", p->who);
    if (sp != NULL) {
        colon = strchr(sp + 1, ':');
        if (colon == NULL || colon[1] == '\0' ||
            !((colon - sp - 1 == 5) &&
              (strncmp(sp + 1, "HS256", 5) == 0 || strncmp(sp + 1, "RS256", 5) == 0 ||
               strncmp(sp + 1, "ES256", 5) == 0)))
            return fail(p, "%s: '%s' is not 'ISS ALG:KEY' (ALG HS256, RS256 or ES256)", p->who,
                        show(p, v, strlen(v)));
    }
    if (c->njwt_issuers == SH_CONFIG_MAX_ISSUERS)
        return fail(p, "%s: more than %d issuers", p->who, SH_CONFIG_MAX_ISSUERS);
    copy = sh_strndup(v, strlen(v));
    if (copy == NULL)
        return fail(p, "out of memory");
    c->jwt_issuers[c->njwt_issuers++] = copy;
    return 0;
}

static int apply(parse_t *p, const opt_t *o, const char *v, int from_argv)
{
    sh_config_t *c = p->c;
    uint64_t u;
    int64_t ms;
    int rc, b;

    switch (o->kind) {
    case K_LISTEN:
        return add_items(p, v, from_argv, 0);
    case K_ORIGIN:
        return add_items(p, v, from_argv, 1);
    case K_ADDR:
        if (!is_listen_addr(v, strlen(v)))
            return fail(p, "%s: '%s' is not a valid ADDR:PORT (e.g. 127.0.0.1:9090 or [::1]:9090)",
                        p->who, show(p, v, strlen(v)));
        return set_str((char **)(void *)((char *)c + o->off), v) < 0 ? fail(p, "out of memory") : 0;
    case K_THREADS:
    case K_U64:
    case K_RETRY:
        rc = sh_parse_u64(v, strlen(v), &u);
        if (rc == 0 && (u < o->min || u > o->max))
            rc = OUT_OF_RANGE;
        if (rc != 0)
            return bad_number(p, o, v, rc, "number");
        if (o->kind == K_THREADS)
            c->threads = (unsigned)u;
        else if (o->kind == K_RETRY)
            c->retry_ms = (int64_t)u;
        else
            *(uint64_t *)(void *)((char *)c + o->off) = u;
        if (o->off == FIELD(max_connections))
            c->max_connections_set = 1;
        return 0;
    case K_SIZE:
        rc = sh_parse_size(v, strlen(v), &u);
        if (rc == 0 && (u < o->min || u > o->max))
            rc = OUT_OF_RANGE;
        if (rc != 0)
            return bad_number(p, o, v, rc, "size (bytes, or with k, M or G)");
        *(uint64_t *)(void *)((char *)c + o->off) = u;
        return 0;
    case K_DURATION:
        rc = sh_parse_duration_ms(v, strlen(v), &ms);
        if (rc == 0 && ((uint64_t)ms < o->min || (uint64_t)ms > o->max))
            rc = OUT_OF_RANGE;
        if (rc != 0)
            return bad_number(p, o, v, rc, "duration (use ms, s, m or h)");
        *(int64_t *)(void *)((char *)c + o->off) = ms;
        return 0;
    case K_STORE:
        if (strcmp(v, "memory") == 0)
            return set_str(&c->store, v) < 0 ? fail(p, "out of memory") : 0;
        if (strncmp(v, "lmdb:", 5) == 0) {
            if (v[5] == '\0' || v[5] == '?')
                return fail(p, "%s: lmdb:DIR needs a directory (e.g. lmdb:./ssehub-data)", p->who);
            return set_str(&c->store, v) < 0 ? fail(p, "out of memory") : 0;
        }
        if (strncmp(v, "redis://", 8) == 0 || strncmp(v, "redis-sentinel://", 17) == 0) {
            sh_redis_url_t ru;
            char why[256];

            if (sh_redis_url_parse(v, &ru, why, sizeof(why)) != 0)
                return fail(p, "%s: %s", p->who, why);
            return set_str(&c->store, v) < 0 ? fail(p, "out of memory") : 0;
        }
        return fail(p,
                    "%s: '%s' is not a valid store (this version has: memory, lmdb:DIR, "
                    "redis://HOST:PORT, redis-sentinel://HOST:PORT/MASTER)",
                    p->who, show(p, v, strlen(v)));
    case K_SLOW:
        if (strcmp(v, "disconnect") == 0 || strcmp(v, "conflate") == 0) {
            p->c->slow_conflate = v[0] == 'c';
            return 0;
        }
        return fail(p, "%s: '%s' is not a valid mode (use disconnect or conflate)", p->who,
                    show(p, v, strlen(v)));
    case K_BOOL:
        b = 1;
        if (v != NULL && parse_bool(v, &b) < 0)
            return fail(p, "%s: '%s' is not a valid boolean (use 1, 0, true, false, yes or no)",
                        p->who, show(p, v, strlen(v)));
        *(int *)(void *)((char *)c + o->off) = b;
        return 0;
    case K_LOG_LEVEL: {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        size_t i;

        for (i = 0; i < 4; i++) {
            if (strcmp(v, names[i]) == 0) {
                c->log_level = (sh_log_level_t)i;
                return 0;
            }
        }
        return fail(p, "%s: '%s' is not a valid log level (use error, warn, info or debug)", p->who,
                    show(p, v, strlen(v)));
    }
    case K_ACCESS_LOG:
        return set_str(&c->access_log, v) < 0 ? fail(p, "out of memory") : 0;
    case K_STRING:
        return set_str((char **)(void *)((char *)c + o->off), v) < 0 ? fail(p, "out of memory") : 0;
    case K_JWT_ALG:
        if (strcmp(v, "HS256") == 0)
            c->jwt_alg = SH_JWT_HS256;
        else if (strcmp(v, "RS256") == 0)
            c->jwt_alg = SH_JWT_RS256;
        else if (strcmp(v, "ES256") == 0)
            c->jwt_alg = SH_JWT_ES256;
        else
            return fail(p, "%s: '%s' is not a supported algorithm (use HS256, RS256 or ES256)",
                        p->who, show(p, v, strlen(v)));
        return 0;
    case K_ISSUER:
        return add_issuer(p, v, from_argv);
    case K_URL:
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return fail(p, "%s: '%s' is not an http(s) URL", p->who, show(p, v, strlen(v)));
        return set_str((char **)(void *)((char *)c + o->off), v) < 0 ? fail(p, "out of memory") : 0;
    case K_YESNO:
        if (parse_bool(v, &b) < 0)
            return fail(p, "%s: '%s' is not a valid boolean (use yes or no)", p->who,
                        show(p, v, strlen(v)));
        *(int *)(void *)((char *)c + o->off) = b;
        return 0;
    case K_LATER:
    case K_LATER_BOOL:
        return fail(p, "%s: not available in this version", p->who);
    case K_HELP:
    case K_VERSION:
        break;
    }
    /* --help=x or --version=x: the plain forms return before this point. */
    return fail(p, "%s takes no value", p->who);
}

/* ---- flags and the environment ------------------------------------------------------------- */

/* The flag named by |len| bytes of |name| (without "--"), or NULL. */
static const opt_t *find_flag(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < NOPTS; i++) {
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
            return &opts[i];
    }
    return NULL;
}

/* The flag whose environment name, after "SSEHUB_", is |len| bytes of |key|, or NULL. */
static const opt_t *find_env(const char *key, size_t len)
{
    size_t i, j;

    for (i = 0; i < NOPTS; i++) {
        const char *name = opts[i].name;

        if (strlen(name) != len)
            continue;
        for (j = 0; j < len; j++) {
            char want = name[j];

            if (want == '-')
                want = '_';
            else if (want >= 'a' && want <= 'z')
                want = (char)(want - 'a' + 'A');

            if (key[j] != want)
                break;
        }
        if (j == len)
            return &opts[i];
    }
    return NULL;
}

static int takes_value(const opt_t *o)
{
    return o->kind != K_BOOL && o->kind != K_HELP && o->kind != K_VERSION &&
           o->kind != K_LATER_BOOL;
}

/*
 * True when |arg| cannot be the value of the flag before it: a missing value reads better as
 * "--listen needs a value" than as an address named "--threads". A lone "-" is a value.
 */
static int looks_like_flag(const char *arg)
{
    return (arg[0] == '-' && arg[1] == '-') || strcmp(arg, "-h") == 0;
}

/* Applies every SSEHUB_<NAME> of |envp|; empty values count as unset, unknown names are not ours.
 */
static int parse_env(parse_t *p, char **envp)
{
    size_t plen = strlen(ENV_PREFIX);
    char **e;

    for (e = envp; e != NULL && *e != NULL; e++) {
        const char *key, *eq, *v;
        const opt_t *o;
        int rc;

        if (strncmp(*e, ENV_PREFIX, plen) != 0)
            continue;
        key = *e + plen;
        eq = strchr(key, '=');
        if (eq == NULL)
            continue;
        o = find_env(key, (size_t)(eq - key));
        v = eq + 1;
        if (o == NULL || o->kind == K_HELP || o->kind == K_VERSION || *v == '\0' ||
            p->on_argv[o - opts])
            continue;
        snprintf(p->who, sizeof(p->who), "%.*s", (int)(eq - *e), *e);
        rc = apply(p, o, v, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * Looks through |argv| before anything else is read: for --help, -h or --version, so that
 * they work whatever the environment or the other flags hold (returns 1 after printing),
 * and for the flags it sets, whose environment variables are then not read at all (a bad
 * SSEHUB_HISTORY does not stop "--history 5"). Reads flag values as parse_argv() does.
 */
static int prescan(parse_t *p, int argc, char **argv, FILE *out)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        const opt_t *o;

        if (strcmp(a, "--") == 0)
            return 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            sh_config_usage(out);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            fprintf(out, "ssehub %s\n", ssehub_version_string());
            return 1;
        }
        if (a[0] != '-' || a[1] != '-')
            continue;
        eq = strchr(a, '=');
        o = find_flag(a + 2, eq != NULL ? (size_t)(eq - a) - 2 : strlen(a + 2));
        if (o == NULL)
            continue;
        p->on_argv[o - opts] = 1;
        if (eq == NULL && takes_value(o) && i + 1 < argc && !looks_like_flag(argv[i + 1]))
            i++;
    }
    return 0;
}

/* Applies the flags of |argv|, in order; a later occurrence of a flag wins. */
static int parse_argv(parse_t *p, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *v;
        const opt_t *o;
        size_t len;
        int rc;

        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc)
                return fail(p, "unexpected argument '%s' (see ssehub --help)",
                            show(p, argv[i + 1], strlen(argv[i + 1])));
            return 0;
        }
        if (a[0] != '-' || a[1] == '\0')
            return fail(p, "unexpected argument '%s' (see ssehub --help)", show(p, a, strlen(a)));
        name = a + 2;
        eq = strchr(a, '=');
        len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        o = a[1] == '-' ? find_flag(name, len - 2) : NULL;
        if (o == NULL)
            return fail(p, "unknown flag '%s' (see ssehub --help)", show(p, a, len));
        snprintf(p->who, sizeof(p->who), "--%s", o->name);
        if (o->kind == K_LATER || o->kind == K_LATER_BOOL)
            return fail(p, "%s: not available in this version", p->who);
        if (takes_value(o)) {
            if (eq != NULL)
                v = eq + 1;
            else if (i + 1 < argc && !looks_like_flag(argv[i + 1]))
                v = argv[++i];
            else
                v = "";
            if (*v == '\0')
                return fail(p, "%s needs a value", p->who);
        } else {
            v = eq != NULL ? eq + 1 : NULL;
        }
        rc = apply(p, o, v, 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sh_config_parse(sh_config_t *c, int argc, char **argv, char **envp, FILE *out, FILE *err)
{
    parse_t p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.c = c;
    p.err = err;
    if (sh_config_defaults(c) < 0)
        return fail(&p, "out of memory");
    if (prescan(&p, argc, argv, out))
        return 1;
    rc = parse_env(&p, envp);
    if (rc == 0)
        rc = parse_argv(&p, argc, argv);
    return rc;
}
