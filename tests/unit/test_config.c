/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the server's command line (src/server/config.c) and the duration and size
 * parsers under it (src/base/duration.c): defaults, every flag in both forms and from the
 * environment, precedence, repeatable flags, every error message, --help and --version,
 * and the out-of-memory paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ssehub/ssehub.h"
#include "base/duration.h"
#include "server/config.h"
#include "support/failalloc.h"
#include "support/testutil.h"

/* ---- running sh_config_parse() ------------------------------------------------------------ */

/* One sh_config_parse() call: its result, its config and what it printed. */
typedef struct {
    int rc;
    sh_config_t c;
    char *out; /* everything printed to |out|, NUL-terminated */
    char *err; /* likewise |err| */
} run_t;

/*
 * Parses |argv| (NULL-terminated, without the program name) with the environment |env|
 * (NULL-terminated, may be NULL). Release with done().
 */
static void run(run_t *r, char **env, char **argv)
{
    char *full[256];
    size_t out_len, err_len;
    FILE *out, *err;
    int argc = 0;

    full[argc++] = "ssehub";
    while (argv != NULL && argv[argc - 1] != NULL) {
        assert_true(argc < 255);
        full[argc] = argv[argc - 1];
        argc++;
    }
    full[argc] = NULL;

    out = open_memstream(&r->out, &out_len);
    err = open_memstream(&r->err, &err_len);
    assert_non_null(out);
    assert_non_null(err);
    r->rc = sh_config_parse(&r->c, argc, full, env, out, err);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(fclose(err), 0);
}

static void done(run_t *r)
{
    sh_config_dispose(&r->c);
    free(r->out);
    free(r->err);
}

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ENV(...)  ((char *[]){__VA_ARGS__, NULL})

/* Asserts that |argv| with |env| succeeds quietly. */
static void run_ok(run_t *r, char **env, char **argv)
{
    run(r, env, argv);
    if (r->rc != 0)
        print_error("unexpected failure: %s", r->err);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out, "");
    assert_string_equal(r->err, "");
}

/* ---- defaults ----------------------------------------------------------------------------- */

static void assert_defaults(const sh_config_t *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    assert_int_equal(c->nlisten, 1);
    assert_string_equal(c->listen[0], "127.0.0.1:8080");
    assert_int_equal(c->threads, cores < 1 ? 1 : cores > 256 ? 256 : cores);
    assert_string_equal(c->store, "lmdb:./ssehub-data");
    assert_int_equal(c->history, 1000);
    assert_int_equal(c->history_age_ms, 24 * 3600 * 1000);
    assert_int_equal(c->history_memory, 256ull * 1024 * 1024);
    assert_int_equal(c->heartbeat_ms, 15000);
    assert_int_equal(c->retry_ms, -1);
    assert_int_equal(c->ncors_origins, 1);
    assert_string_equal(c->cors_origins[0], "*");
    assert_int_equal(c->max_connections, 100000);
    assert_int_equal(c->max_connections_set, 0);
    assert_null(c->metrics_listen);
    assert_int_equal(c->max_body, 1024 * 1024);
    assert_int_equal(c->max_topics, 100);
    assert_int_equal(c->max_header, 16 * 1024);
    assert_int_equal(c->header_timeout_ms, 10000);
    assert_int_equal(c->write_timeout_ms, 30000);
    assert_int_equal(c->max_lifetime_ms, 0);
    assert_int_equal(c->send_buffer, 1024 * 1024);
    assert_int_equal(c->no_ui, 0);
    assert_int_equal(c->log_level, SH_LOG_INFO);
    assert_null(c->access_log);
}

static void test_config_defaults(void **state)
{
    run_t r;
    sh_config_t c;

    (void)state;
    assert_int_equal(sh_config_defaults(&c), 0);
    assert_defaults(&c);
    sh_config_dispose(&c);
    assert_int_equal(c.nlisten, 0);
    assert_null(c.store);
    sh_config_dispose(&c);

    /* No flags, no environment (NULL or empty), or only variables that are not ours. */
    run_ok(&r, NULL, NULL);
    assert_defaults(&r.c);
    done(&r);
    run_ok(&r,
           ENV("PATH=/bin", "SSEHUB_NOPE=1", "SSEHUB_HELP=1", "SSEHUB_VERSION=1", "SSEHUB_=x",
               "SSEHUB_HISTORY", "ssehub_history=x", "SSEHUB_HISTORY="),
           NULL);
    assert_defaults(&r.c);
    done(&r);
    run_ok(&r, NULL, ARGV("--"));
    assert_defaults(&r.c);
    done(&r);
}

/* ---- every flag: --flag value, --flag=value, SSEHUB_FLAG=value ---------------------------- */

enum { T_NONE, T_U64, T_I64, T_UINT, T_INT, T_STR, T_LISTEN, T_ORIGIN };

typedef struct {
    const char *flag;  /* without "--" */
    const char *env;   /* its variable */
    const char *value; /* as given */
    int type;          /* T_*: the type of the field */
    size_t off;        /* the field */
    int64_t num;       /* the expected number */
    const char *str;   /* the expected string */
} flag_case_t;

#define F(f) offsetof(sh_config_t, f)

static const flag_case_t flag_cases[] = {
    {"listen", "SSEHUB_LISTEN", "0.0.0.0:0", T_LISTEN, 0, 0, "0.0.0.0:0"},
    {"listen", "SSEHUB_LISTEN", "[::1]:65535", T_LISTEN, 0, 0, "[::1]:65535"},
    {"threads", "SSEHUB_THREADS", "3", T_UINT, F(threads), 3, NULL},
    {"threads", "SSEHUB_THREADS", "256", T_UINT, F(threads), 256, NULL},
    {"threads", "SSEHUB_THREADS", "1", T_UINT, F(threads), 1, NULL},
    {"store", "SSEHUB_STORE", "memory", T_STR, F(store), 0, "memory"},
    {"store", "SSEHUB_STORE", "redis://u:p@r:6379/2?maxlen=10", T_STR, F(store), 0,
     "redis://u:p@r:6379/2?maxlen=10"},
    {"store", "SSEHUB_STORE", "lmdb:/var/lib/ssehub?maxsize=1G", T_STR, F(store), 0,
     "lmdb:/var/lib/ssehub?maxsize=1G"},
    {"history", "SSEHUB_HISTORY", "0", T_U64, F(history), 0, NULL},
    {"history", "SSEHUB_HISTORY", "5000", T_U64, F(history), 5000, NULL},
    {"history-age", "SSEHUB_HISTORY_AGE", "1h", T_I64, F(history_age_ms), 3600000, NULL},
    {"history-age", "SSEHUB_HISTORY_AGE", "0", T_I64, F(history_age_ms), 0, NULL},
    {"history-memory", "SSEHUB_HISTORY_MEMORY", "64MiB", T_U64, F(history_memory), 64ull << 20,
     NULL},
    {"heartbeat", "SSEHUB_HEARTBEAT", "250ms", T_I64, F(heartbeat_ms), 250, NULL},
    {"heartbeat", "SSEHUB_HEARTBEAT", "0", T_I64, F(heartbeat_ms), 0, NULL},
    {"retry", "SSEHUB_RETRY", "3000", T_I64, F(retry_ms), 3000, NULL},
    {"retry", "SSEHUB_RETRY", "0", T_I64, F(retry_ms), 0, NULL},
    {"cors-origin", "SSEHUB_CORS_ORIGIN", "https://example.com", T_ORIGIN, 0, 0,
     "https://example.com"},
    {"cors-origin", "SSEHUB_CORS_ORIGIN", "http://127.0.0.1:8080", T_ORIGIN, 0, 0,
     "http://127.0.0.1:8080"},
    {"max-connections", "SSEHUB_MAX_CONNECTIONS", "1", T_U64, F(max_connections), 1, NULL},
    {"max-connections", "SSEHUB_MAX_CONNECTIONS", "500", T_INT, F(max_connections_set), 1, NULL},
    {"metrics-listen", "SSEHUB_METRICS_LISTEN", "127.0.0.1:9090", T_STR, F(metrics_listen), 0,
     "127.0.0.1:9090"},
    {"metrics-listen", "SSEHUB_METRICS_LISTEN", "[::1]:0", T_STR, F(metrics_listen), 0, "[::1]:0"},
    {"max-body", "SSEHUB_MAX_BODY", "64k", T_U64, F(max_body), 65536, NULL},
    {"max-body", "SSEHUB_MAX_BODY", "1", T_U64, F(max_body), 1, NULL},
    {"max-topics", "SSEHUB_MAX_TOPICS", "7", T_U64, F(max_topics), 7, NULL},
    {"max-header", "SSEHUB_MAX_HEADER", "1KiB", T_U64, F(max_header), 1024, NULL},
    {"max-header", "SSEHUB_MAX_HEADER", "1M", T_U64, F(max_header), 1048576, NULL},
    {"header-timeout", "SSEHUB_HEADER_TIMEOUT", "1ms", T_I64, F(header_timeout_ms), 1, NULL},
    {"write-timeout", "SSEHUB_WRITE_TIMEOUT", "2m", T_I64, F(write_timeout_ms), 120000, NULL},
    {"max-lifetime", "SSEHUB_MAX_LIFETIME", "30m", T_I64, F(max_lifetime_ms), 1800000, NULL},
    {"send-buffer", "SSEHUB_SEND_BUFFER", "4096", T_U64, F(send_buffer), 4096, NULL},
    {"send-buffer", "SSEHUB_SEND_BUFFER", "2MiB", T_U64, F(send_buffer), 2097152, NULL},
    {"slow", "SSEHUB_SLOW", "disconnect", T_INT, F(slow_conflate), 0, NULL},
    {"slow", "SSEHUB_SLOW", "conflate", T_INT, F(slow_conflate), 1, NULL},
    {"log-level", "SSEHUB_LOG_LEVEL", "error", T_INT, F(log_level), SH_LOG_ERROR, NULL},
    {"log-level", "SSEHUB_LOG_LEVEL", "warn", T_INT, F(log_level), SH_LOG_WARN, NULL},
    {"log-level", "SSEHUB_LOG_LEVEL", "info", T_INT, F(log_level), SH_LOG_INFO, NULL},
    {"log-level", "SSEHUB_LOG_LEVEL", "debug", T_INT, F(log_level), SH_LOG_DEBUG, NULL},
    {"access-log", "SSEHUB_ACCESS_LOG", "/var/log/ssehub.log", T_STR, F(access_log), 0,
     "/var/log/ssehub.log"},
    {"access-log", "SSEHUB_ACCESS_LOG", "-", T_STR, F(access_log), 0, "-"},
    {"publisher-key", "SSEHUB_PUBLISHER_KEY", "!ChangeMe!", T_STR, F(publisher_key), 0,
     "!ChangeMe!"},
    {"subscriber-key", "SSEHUB_SUBSCRIBER_KEY", "/etc/keys/sub.pem", T_STR, F(subscriber_key), 0,
     "/etc/keys/sub.pem"},
    {"jwt-alg", "SSEHUB_JWT_ALG", "HS256", T_INT, F(jwt_alg), SH_JWT_HS256, NULL},
    {"jwt-alg", "SSEHUB_JWT_ALG", "RS256", T_INT, F(jwt_alg), SH_JWT_RS256, NULL},
    {"jwt-alg", "SSEHUB_JWT_ALG", "ES256", T_INT, F(jwt_alg), SH_JWT_ES256, NULL},
    {"anonymous", "SSEHUB_ANONYMOUS", "no", T_INT, F(anonymous), 0, NULL},
    {"anonymous", "SSEHUB_ANONYMOUS", "yes", T_INT, F(anonymous), 1, NULL},
};

static void check_flag_case(const flag_case_t *fc, const sh_config_t *c)
{
    const char *base = (const char *)c;

    switch (fc->type) {
    case T_NONE:
        break;
    case T_U64:
        assert_int_equal(*(const uint64_t *)(const void *)(base + fc->off), fc->num);
        break;
    case T_I64:
        assert_int_equal(*(const int64_t *)(const void *)(base + fc->off), fc->num);
        break;
    case T_UINT:
        assert_int_equal(*(const unsigned *)(const void *)(base + fc->off), fc->num);
        break;
    case T_INT:
        if (fc->off == F(log_level))
            assert_int_equal(c->log_level, fc->num);
        else
            assert_int_equal(*(const int *)(const void *)(base + fc->off), fc->num);
        break;
    case T_STR:
        assert_string_equal(*(char *const *)(const void *)(base + fc->off), fc->str);
        break;
    case T_LISTEN:
        assert_int_equal(c->nlisten, 1);
        assert_string_equal(c->listen[0], fc->str);
        break;
    case T_ORIGIN:
        assert_int_equal(c->ncors_origins, 1);
        assert_string_equal(c->cors_origins[0], fc->str);
        break;
    }
}

static void test_config_every_flag_three_ways(void **state)
{
    char flag[64], joined[128], env[128];
    size_t i;
    run_t r;

    (void)state;
    for (i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
        const flag_case_t *fc = &flag_cases[i];

        snprintf(flag, sizeof(flag), "--%s", fc->flag);
        snprintf(joined, sizeof(joined), "--%s=%s", fc->flag, fc->value);
        snprintf(env, sizeof(env), "%s=%s", fc->env, fc->value);

        run_ok(&r, NULL, ARGV(flag, (char *)fc->value));
        check_flag_case(fc, &r.c);
        done(&r);
        run_ok(&r, NULL, ARGV(joined));
        check_flag_case(fc, &r.c);
        done(&r);
        run_ok(&r, ENV(env), NULL);
        check_flag_case(fc, &r.c);
        done(&r);
    }
}

static void test_config_no_ui(void **state)
{
    static const char *const yes[] = {"1", "true", "yes", "TRUE", "Yes"};
    static const char *const no[] = {"0", "false", "no", "FALSE", "No"};
    char buf[64];
    size_t i;
    run_t r;

    (void)state;
    run_ok(&r, NULL, ARGV("--no-ui"));
    assert_int_equal(r.c.no_ui, 1);
    /* A flag without value never takes the next argument. */
    done(&r);
    run(&r, NULL, ARGV("--no-ui", "yes"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "ssehub: unexpected argument 'yes' (see ssehub --help)\n");
    done(&r);

    for (i = 0; i < 5; i++) {
        snprintf(buf, sizeof(buf), "SSEHUB_NO_UI=%s", yes[i]);
        run_ok(&r, ENV(buf), NULL);
        assert_int_equal(r.c.no_ui, 1);
        done(&r);
        snprintf(buf, sizeof(buf), "--no-ui=%s", yes[i]);
        run_ok(&r, NULL, ARGV(buf));
        assert_int_equal(r.c.no_ui, 1);
        done(&r);
        snprintf(buf, sizeof(buf), "SSEHUB_NO_UI=%s", no[i]);
        run_ok(&r, ENV(buf), NULL);
        assert_int_equal(r.c.no_ui, 0);
        done(&r);
        snprintf(buf, sizeof(buf), "--no-ui=%s", no[i]);
        run_ok(&r, NULL, ARGV(buf));
        assert_int_equal(r.c.no_ui, 0);
        done(&r);
    }
    /* The command line wins: SSEHUB_NO_UI=1 then --no-ui=no. */
    run_ok(&r, ENV("SSEHUB_NO_UI=1"), ARGV("--no-ui=no"));
    assert_int_equal(r.c.no_ui, 0);
    done(&r);
}

/* ---- precedence and repeatable flags ------------------------------------------------------ */

static void test_config_precedence(void **state)
{
    run_t r;

    (void)state;
    /* The environment over the defaults, the command line over the environment. */
    run_ok(&r, ENV("SSEHUB_HISTORY=5", "SSEHUB_HEARTBEAT=1s"), ARGV("--history", "7"));
    assert_int_equal(r.c.history, 7);
    assert_int_equal(r.c.heartbeat_ms, 1000);
    done(&r);

    /* The last of several occurrences wins, on the command line and in the environment. */
    run_ok(&r, ENV("SSEHUB_HISTORY=5", "SSEHUB_HISTORY=6"), NULL);
    assert_int_equal(r.c.history, 6);
    done(&r);
    run_ok(&r, NULL, ARGV("--history=1", "--history", "2", "--store", "memory", "--store=memory"));
    assert_int_equal(r.c.history, 2);
    assert_string_equal(r.c.store, "memory");
    done(&r);
    run_ok(&r, NULL, ARGV("--access-log", "a", "--access-log=b"));
    assert_string_equal(r.c.access_log, "b");
    done(&r);

    /* A variable of a flag given on the command line is not read: it cannot fail. */
    run_ok(&r, ENV("SSEHUB_HISTORY=x", "SSEHUB_LISTEN=nope"),
           ARGV("--history=3", "--listen", "127.0.0.2:1"));
    assert_int_equal(r.c.history, 3);
    assert_int_equal(r.c.nlisten, 1);
    assert_string_equal(r.c.listen[0], "127.0.0.2:1");
    done(&r);

    /* An empty variable counts as unset. */
    run_ok(&r, ENV("SSEHUB_HISTORY=", "SSEHUB_LISTEN="), NULL);
    assert_defaults(&r.c);
    done(&r);

    /* "-" is a value (stderr), not a flag. */
    run_ok(&r, NULL, ARGV("--access-log", "-", "--no-ui"));
    assert_string_equal(r.c.access_log, "-");
    assert_int_equal(r.c.no_ui, 1);
    done(&r);
}

static void test_config_repeatable(void **state)
{
    char *many[SH_CONFIG_MAX_LISTEN + 1];
    char addr[SH_CONFIG_MAX_LISTEN][32];
    size_t i;
    run_t r;

    (void)state;
    /* Occurrences accumulate, and the first replaces the default. */
    run_ok(&r, NULL, ARGV("--listen", "127.0.0.1:1", "--listen=[::1]:2", "--listen", "10.0.0.1:3"));
    assert_int_equal(r.c.nlisten, 3);
    assert_string_equal(r.c.listen[0], "127.0.0.1:1");
    assert_string_equal(r.c.listen[1], "[::1]:2");
    assert_string_equal(r.c.listen[2], "10.0.0.1:3");
    done(&r);

    /* The environment holds comma-separated lists... */
    run_ok(&r, ENV("SSEHUB_LISTEN=127.0.0.1:80,[::]:81", "SSEHUB_CORS_ORIGIN=https://a.example,*"),
           NULL);
    assert_int_equal(r.c.nlisten, 2);
    assert_string_equal(r.c.listen[0], "127.0.0.1:80");
    assert_string_equal(r.c.listen[1], "[::]:81");
    assert_int_equal(r.c.ncors_origins, 2);
    assert_string_equal(r.c.cors_origins[0], "https://a.example");
    assert_string_equal(r.c.cors_origins[1], "*");
    done(&r);

    /* ...that the command line replaces entirely, not appends to. */
    run_ok(&r, ENV("SSEHUB_LISTEN=127.0.0.1:80,[::]:81", "SSEHUB_CORS_ORIGIN=https://a.example"),
           ARGV("--cors-origin", "https://b.example", "--listen", "127.0.0.1:9",
                "--cors-origin=https://c.example"));
    assert_int_equal(r.c.nlisten, 1);
    assert_string_equal(r.c.listen[0], "127.0.0.1:9");
    assert_int_equal(r.c.ncors_origins, 2);
    assert_string_equal(r.c.cors_origins[0], "https://b.example");
    assert_string_equal(r.c.cors_origins[1], "https://c.example");
    done(&r);

    /* A command-line value may be a list too, and the last variable of duplicates wins. */
    run_ok(&r, ENV("SSEHUB_LISTEN=127.0.0.1:1,127.0.0.1:2", "SSEHUB_LISTEN=127.0.0.1:3"),
           ARGV("--cors-origin=http://a.example,http://b.example", "--cors-origin", "*"));
    assert_int_equal(r.c.nlisten, 1);
    assert_string_equal(r.c.listen[0], "127.0.0.1:3");
    assert_int_equal(r.c.ncors_origins, 3);
    assert_string_equal(r.c.cors_origins[2], "*");
    done(&r);

    /* Exactly the maximum is fine. */
    for (i = 0; i < SH_CONFIG_MAX_LISTEN; i++) {
        snprintf(addr[i], sizeof(addr[i]), "--listen=127.0.0.%zu:%zu", i + 1, i);
        many[i] = addr[i];
    }
    many[SH_CONFIG_MAX_LISTEN] = NULL;
    run_ok(&r, NULL, many);
    assert_int_equal(r.c.nlisten, SH_CONFIG_MAX_LISTEN);
    assert_string_equal(r.c.listen[0], "127.0.0.1:0");
    assert_string_equal(r.c.listen[15], "127.0.0.16:15");
    done(&r);
}

static void test_config_origin_normalised(void **state)
{
    static const char *const cases[][2] = {
        {"HTTPS://Example.COM", "https://example.com"},
        {"https://example.com:443", "https://example.com"},
        {"http://example.com:80", "http://example.com"},
        {"http://example.com:443", "http://example.com:443"},
        {"https://example.com:8443", "https://example.com:8443"},
        {"http://[::1]:8080", "http://[::1]:8080"},
        {"HTTP://[FE80::1]", "http://[fe80::1]"},
        {"chrome-extension://abcdef", "chrome-extension://abcdef"},
        {"http://localhost:3000", "http://localhost:3000"},
        {"*", "*"},
    };
    char arg[128];
    size_t i;
    run_t r;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(arg, sizeof(arg), "--cors-origin=%s", cases[i][0]);
        run_ok(&r, NULL, ARGV(arg));
        assert_int_equal(r.c.ncors_origins, 1);
        assert_string_equal(r.c.cors_origins[0], cases[i][1]);
        done(&r);
    }
}

/* ---- errors ------------------------------------------------------------------------------- */

typedef struct {
    const char *env[3];  /* NULL-terminated */
    const char *argv[5]; /* NULL-terminated */
    const char *msg;     /* the one line printed, without its LF */
} err_case_t;

#define BADNUM(flag, v)   "ssehub: " flag ": '" v "' is not a valid number"
#define BADDUR(flag, v)   "ssehub: " flag ": '" v "' is not a valid duration (use ms, s, m or h)"
#define BADSIZE(flag, v)  "ssehub: " flag ": '" v "' is not a valid size (bytes, or with k, M or G)"
#define RANGE(flag, v, r) "ssehub: " flag ": '" v "' is out of range (" r ")"
#define TOOBIG(flag, v)   "ssehub: " flag ": '" v "' is too large"
#define BADADDR(flag, v) \
    "ssehub: " flag ": '" v "' is not a valid ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)"
#define BADORIGIN(flag, v) \
    "ssehub: " flag ": '" v "' is not a valid origin (use * or SCHEME://HOST[:PORT])"
#define LATER(flag)     "ssehub: " flag ": not available in this version"
#define LMDB(who)       "ssehub: " who ": lmdb:DIR needs a directory (e.g. lmdb:./ssehub-data)"
#define REDIS(who, why) "ssehub: " who ": " why

static const err_case_t err_cases[] = {
    /* The command line itself. */
    {{NULL}, {"--foo"}, "ssehub: unknown flag '--foo' (see ssehub --help)"},
    {{NULL}, {"--foo=secret"}, "ssehub: unknown flag '--foo' (see ssehub --help)"},
    {{NULL}, {"--Listen", "127.0.0.1:1"}, "ssehub: unknown flag '--Listen' (see ssehub --help)"},
    {{NULL}, {"-x"}, "ssehub: unknown flag '-x' (see ssehub --help)"},
    {{NULL}, {"--=1"}, "ssehub: unknown flag '--' (see ssehub --help)"},
    {{NULL}, {"serve"}, "ssehub: unexpected argument 'serve' (see ssehub --help)"},
    {{NULL}, {"-"}, "ssehub: unexpected argument '-' (see ssehub --help)"},
    {{NULL}, {"--", "--history"}, "ssehub: unexpected argument '--history' (see ssehub --help)"},
    {{NULL}, {"--history"}, "ssehub: --history needs a value"},
    {{NULL}, {"--history="}, "ssehub: --history needs a value"},
    {{NULL}, {"--history", ""}, "ssehub: --history needs a value"},
    {{NULL}, {"--listen", "--threads", "2"}, "ssehub: --listen needs a value"},
    {{NULL}, {"--access-log", "--"}, "ssehub: --access-log needs a value"},
    {{NULL}, {"--store"}, "ssehub: --store needs a value"},
    {{NULL}, {"--help=1"}, "ssehub: --help takes no value"},
    {{NULL}, {"--version=1"}, "ssehub: --version takes no value"},
    /* Numbers. */
    {{NULL}, {"--history", "abc"}, BADNUM("--history", "abc")},
    {{NULL}, {"--history=-1"}, BADNUM("--history", "-1")},
    {{NULL}, {"--history", "+1"}, BADNUM("--history", "+1")},
    {{NULL}, {"--history", " 1"}, BADNUM("--history", " 1")},
    {{NULL}, {"--history", "1k"}, BADNUM("--history", "1k")},
    {{NULL}, {"--history", "18446744073709551616"}, TOOBIG("--history", "18446744073709551616")},
    {{NULL}, {"--threads", "0"}, RANGE("--threads", "0", "1 to 256")},
    {{NULL}, {"--threads=257"}, RANGE("--threads", "257", "1 to 256")},
    {{NULL}, {"--threads", "99999999999999999999"}, TOOBIG("--threads", "99999999999999999999")},
    {{NULL}, {"--retry", "1s"}, BADNUM("--retry", "1s")},
    {{NULL}, {"--retry", "9223372036854775808"}, TOOBIG("--retry", "9223372036854775808")},
    {{NULL}, {"--max-connections", "0"}, RANGE("--max-connections", "0", "at least 1")},
    {{NULL},
     {"--metrics-listen", "localhost:9090"},
     "ssehub: --metrics-listen: 'localhost:9090' is not a valid ADDR:PORT (e.g. 127.0.0.1:9090 "
     "or [::1]:9090)"},
    {{"SSEHUB_METRICS_LISTEN=1.2.3.4"},
     {NULL},
     "ssehub: SSEHUB_METRICS_LISTEN: '1.2.3.4' is not a valid ADDR:PORT (e.g. 127.0.0.1:9090 "
     "or [::1]:9090)"},
    {{NULL}, {"--max-topics", "0"}, RANGE("--max-topics", "0", "at least 1")},
    /* Durations. */
    {{NULL}, {"--heartbeat", "5x"}, BADDUR("--heartbeat", "5x")},
    {{NULL}, {"--heartbeat", "10"}, BADDUR("--heartbeat", "10")},
    {{NULL}, {"--heartbeat", "-1s"}, BADDUR("--heartbeat", "-1s")},
    {{NULL}, {"--history-age", "1.5h"}, BADDUR("--history-age", "1.5h")},
    {{NULL}, {"--history-age", "1 h"}, BADDUR("--history-age", "1 h")},
    {{NULL}, {"--history-age", "1H"}, BADDUR("--history-age", "1H")},
    {{NULL}, {"--history-age", "9999999999999999h"}, TOOBIG("--history-age", "9999999999999999h")},
    {{NULL}, {"--header-timeout", "0"}, RANGE("--header-timeout", "0", "more than 0")},
    {{NULL}, {"--write-timeout=0s"}, RANGE("--write-timeout", "0s", "more than 0")},
    {{NULL}, {"--max-lifetime", "forever"}, BADDUR("--max-lifetime", "forever")},
    /* Sizes. */
    {{NULL}, {"--max-body", "1X"}, BADSIZE("--max-body", "1X")},
    {{NULL}, {"--max-body", "1MB"}, BADSIZE("--max-body", "1MB")},
    {{NULL}, {"--max-body", "0"}, RANGE("--max-body", "0", "at least 1")},
    {{NULL}, {"--max-header", "1023"}, RANGE("--max-header", "1023", "1k to 1M")},
    {{NULL}, {"--max-header=1025k"}, RANGE("--max-header", "1025k", "1k to 1M")},
    {{NULL}, {"--send-buffer", "4095"}, RANGE("--send-buffer", "4095", "at least 4k")},
    {{NULL}, {"--send-buffer", "99999999999G"}, TOOBIG("--send-buffer", "99999999999G")},
    /* Words. */
    {{NULL}, {"--store", "lmdb:"}, LMDB("--store")},
    {{NULL}, {"--store", "lmdb:?maxsize=1M"}, LMDB("--store")},
    {{NULL},
     {"--store=redis://127.0.0.1"},
     REDIS("--store", "'127.0.0.1' is not HOST:PORT (port 1 to 65535)")},
    {{NULL},
     {"--store", "mysql"},
     "ssehub: --store: 'mysql' is not a valid store (this version has: memory, lmdb:DIR, "
     "redis://HOST:PORT, redis-sentinel://HOST:PORT/MASTER)"},
    {{NULL},
     {"--slow", "drop"},
     "ssehub: --slow: 'drop' is not a valid mode (use disconnect or conflate)"},
    {{NULL},
     {"--no-ui=maybe"},
     "ssehub: --no-ui: 'maybe' is not a valid boolean (use 1, 0, true, false, yes or no)"},
    {{NULL},
     {"--log-level", "trace"},
     "ssehub: --log-level: 'trace' is not a valid log level (use error, warn, info or debug)"},
    {{NULL},
     {"--log-level", "INFO"},
     "ssehub: --log-level: 'INFO' is not a valid log level (use error, warn, info or debug)"},
    /* Addresses. */
    {{NULL}, {"--listen", "localhost:8080"}, BADADDR("--listen", "localhost:8080")},
    {{NULL}, {"--listen", "127.0.0.1"}, BADADDR("--listen", "127.0.0.1")},
    {{NULL}, {"--listen", "127.0.0.1:"}, BADADDR("--listen", "127.0.0.1:")},
    {{NULL}, {"--listen", ":8080"}, BADADDR("--listen", ":8080")},
    {{NULL}, {"--listen", "127.0.0.1:65536"}, BADADDR("--listen", "127.0.0.1:65536")},
    {{NULL}, {"--listen", "127.0.0.1:-1"}, BADADDR("--listen", "127.0.0.1:-1")},
    {{NULL}, {"--listen", "127.0.0.1:080800"}, BADADDR("--listen", "127.0.0.1:080800")},
    {{NULL}, {"--listen", "1.2.3:80"}, BADADDR("--listen", "1.2.3:80")},
    {{NULL}, {"--listen", "::1:8080"}, BADADDR("--listen", "::1:8080")},
    {{NULL}, {"--listen", "[::1]"}, BADADDR("--listen", "[::1]")},
    {{NULL}, {"--listen", "[::1]8080"}, BADADDR("--listen", "[::1]8080")},
    {{NULL}, {"--listen", "[127.0.0.1]:80"}, BADADDR("--listen", "[127.0.0.1]:80")},
    {{NULL}, {"--listen", "[]:80"}, BADADDR("--listen", "[]:80")},
    {{NULL}, {"--listen", "[::1:80"}, BADADDR("--listen", "[::1:80")},
    {{NULL}, {"--listen", "127.0.0.1:80,"}, BADADDR("--listen", "")},
    {{NULL}, {"--listen", "127.0.0.1:80,x"}, BADADDR("--listen", "x")},
    /* Origins. */
    {{NULL},
     {"--cors-origin", "https://example.com/"},
     BADORIGIN("--cors-origin", "https://example.com/")},
    {{NULL}, {"--cors-origin", "example.com"}, BADORIGIN("--cors-origin", "example.com")},
    {{NULL}, {"--cors-origin", "https://"}, BADORIGIN("--cors-origin", "https://")},
    {{NULL}, {"--cors-origin", "https://a:"}, BADORIGIN("--cors-origin", "https://a:")},
    {{NULL}, {"--cors-origin", "https://a:99999"}, BADORIGIN("--cors-origin", "https://a:99999")},
    {{NULL}, {"--cors-origin", "https://u@a"}, BADORIGIN("--cors-origin", "https://u@a")},
    {{NULL}, {"--cors-origin", "https://a?b"}, BADORIGIN("--cors-origin", "https://a?b")},
    {{NULL}, {"--cors-origin", "https://[zz]"}, BADORIGIN("--cors-origin", "https://[zz]")},
    {{NULL}, {"--cors-origin", "1http://a"}, BADORIGIN("--cors-origin", "1http://a")},
    {{NULL}, {"--cors-origin", "null"}, BADORIGIN("--cors-origin", "null")},
    {{NULL}, {"--cors-origin", "**"}, BADORIGIN("--cors-origin", "**")},
    /* Flags of later versions, whatever their form. */
    {{NULL}, {"--publisher-key"}, "ssehub: --publisher-key needs a value"},
    {{NULL},
     {"--jwt-alg", "none"},
     "ssehub: --jwt-alg: 'none' is not a supported algorithm (use HS256, RS256 or ES256)"},
    {{NULL},
     {"--jwt-alg", "HS512"},
     "ssehub: --jwt-alg: 'HS512' is not a supported algorithm (use HS256, RS256 or ES256)"},
    {{NULL},
     {"--anonymous", "maybe"},
     "ssehub: --anonymous: 'maybe' is not a valid boolean (use yes or no)"},
    {{NULL}, {"--tls-cert", "cert.pem"}, LATER("--tls-cert")},
    {{NULL}, {"--tls-key"}, LATER("--tls-key")},
    /* The environment, named by variable. */
    {{"SSEHUB_HISTORY=x"}, {NULL}, BADNUM("SSEHUB_HISTORY", "x")},
    {{"SSEHUB_HISTORY_AGE=1d"}, {NULL}, BADDUR("SSEHUB_HISTORY_AGE", "1d")},
    {{"SSEHUB_MAX_BODY=lots"}, {NULL}, BADSIZE("SSEHUB_MAX_BODY", "lots")},
    {{"SSEHUB_THREADS=0"}, {NULL}, RANGE("SSEHUB_THREADS", "0", "1 to 256")},
    {{"SSEHUB_STORE=lmdb:"}, {NULL}, LMDB("SSEHUB_STORE")},
    {{"SSEHUB_STORE=redis://r:6379/x"},
     {NULL},
     REDIS("SSEHUB_STORE", "'/x' is not a database number")},
    {{"SSEHUB_NO_UI=on"},
     {NULL},
     "ssehub: SSEHUB_NO_UI: 'on' is not a valid boolean (use 1, 0, true, false, yes or no)"},
    {{"SSEHUB_LISTEN=127.0.0.1:80,,[::1]:80"}, {NULL}, BADADDR("SSEHUB_LISTEN", "")},
    {{"SSEHUB_CORS_ORIGIN=https://a.example, https://b.example"},
     {NULL},
     BADORIGIN("SSEHUB_CORS_ORIGIN", " https://b.example")},
    {{"SSEHUB_TLS_CERT=/etc/cert.pem"}, {NULL}, LATER("SSEHUB_TLS_CERT")},
    {{"SSEHUB_SUBSCRIPTIONS=sometimes"},
     {NULL},
     "ssehub: SSEHUB_SUBSCRIPTIONS: 'sometimes' is not a valid boolean (use 1, 0, true, false, yes "
     "or no)"},
    /* The environment is read first: its error wins over a later one on the command line. */
    {{"SSEHUB_HISTORY=x"}, {"--threads", "0"}, BADNUM("SSEHUB_HISTORY", "x")},
    /* Flags are read in order; the first error stops. */
    {{NULL}, {"--threads", "0", "--foo"}, RANGE("--threads", "0", "1 to 256")},
    /* Values are printed on one line, control bytes escaped, long ones cut. */
    {{NULL}, {"--history", "a\nb\x7f"}, BADNUM("--history", "a\\x0ab\\x7f")},
    {{NULL}, {"--fo\ro"}, "ssehub: unknown flag '--fo\\x0do' (see ssehub --help)"},
    {{NULL},
     {"--history", "x123456789012345678901234567890123456789012345678901234567890123456789"},
     BADNUM("--history", "x123456789012345678901234567890123456789012345678901234567890123...")},
};

static void test_config_errors(void **state)
{
    char expected[512];
    size_t i;
    run_t r;

    (void)state;
    for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const err_case_t *ec = &err_cases[i];

        run(&r, (char **)ec->env, (char **)ec->argv);
        snprintf(expected, sizeof(expected), "%s\n", ec->msg);
        if (r.rc != 2 || strcmp(r.err, expected) != 0)
            print_error("case %zu (%s%s)\n", i, ec->argv[0] ? ec->argv[0] : "",
                        ec->env[0] ? ec->env[0] : "");
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.err, expected);
        assert_string_equal(r.out, "");
        done(&r);
    }
}

static void test_config_too_many_items(void **state)
{
    char env[1024], *argv[2 * SH_CONFIG_MAX_ORIGINS + 3];
    char origins[SH_CONFIG_MAX_ORIGINS + 1][32];
    size_t i, n = 0;
    run_t r;

    (void)state;
    n = (size_t)snprintf(env, sizeof(env), "SSEHUB_LISTEN=");
    for (i = 0; i <= SH_CONFIG_MAX_LISTEN; i++)
        n += (size_t)snprintf(env + n, sizeof(env) - n, "%s127.0.0.1:%zu", i ? "," : "", i);
    run(&r, ENV(env), NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "ssehub: SSEHUB_LISTEN: more than 16 addresses\n");
    done(&r);

    for (i = 0; i <= SH_CONFIG_MAX_ORIGINS; i++) {
        snprintf(origins[i], sizeof(origins[i]), "https://h%zu.example", i);
        argv[2 * i] = "--cors-origin";
        argv[2 * i + 1] = origins[i];
    }
    argv[2 * i] = NULL;
    run(&r, NULL, argv);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "ssehub: --cors-origin: more than 64 origins\n");
    done(&r);

    /* The maximum itself is fine. */
    argv[2 * SH_CONFIG_MAX_ORIGINS] = NULL;
    run_ok(&r, NULL, argv);
    assert_int_equal(r.c.ncors_origins, SH_CONFIG_MAX_ORIGINS);
    done(&r);
}

/* ---- --help and --version ----------------------------------------------------------------- */

/* The flags this version implements: --help must mention each one. */
static const char *const implemented[] = {
    "--listen",        "--threads",
    "--store",         "--history",
    "--history-age",   "--history-memory",
    "--heartbeat",     "--retry",
    "--cors-origin",   "--max-connections",
    "--max-body",      "--max-topics",
    "--max-header",    "--header-timeout",
    "--write-timeout", "--max-lifetime",
    "--send-buffer",   "--slow",
    "--no-ui",         "--log-level",
    "--access-log",    "--help",
    "--version",       "-h,",
    "--publisher-key", "--subscriber-key",
    "--jwt-alg",       "--anonymous",
    "--subscriptions", "--metrics-listen",
};

/* Asserts |text| is lines shorter than 80 columns (UTF-8 code points), each ending in LF. */
static void assert_narrow_lines(const char *text)
{
    size_t cols = 0;
    const char *s;

    assert_true(*text != '\0');
    for (s = text; *s != '\0'; s++) {
        if (*s == '\n') {
            cols = 0;
            continue;
        }
        if (((unsigned char)*s & 0xC0) != 0x80)
            cols++;
        if (cols >= 80)
            print_error("line too wide at: %.40s\n", s - 79);
        assert_true(cols < 80);
        assert_true(*s != '\t');
    }
    assert_int_equal(s[-1], '\n');
}

static void test_config_help(void **state)
{
    static const char *const forms[] = {"--help", "-h"};
    char *text;
    size_t i, len;
    FILE *f;
    run_t r;

    (void)state;
    f = open_memstream(&text, &len);
    assert_non_null(f);
    sh_config_usage(f);
    assert_int_equal(fclose(f), 0);
    assert_narrow_lines(text);
    for (i = 0; i < sizeof(implemented) / sizeof(implemented[0]); i++) {
        if (strstr(text, implemented[i]) == NULL)
            print_error("--help does not mention %s\n", implemented[i]);
        assert_non_null(strstr(text, implemented[i]));
    }
    assert_non_null(strstr(text, "ssehub \xE2\x80\x94 a Server-Sent Events publish/subscribe hub"));
    assert_non_null(strstr(text, "SSEHUB_<NAME>"));
    assert_non_null(strstr(text, "/.well-known/mercure"));
    assert_non_null(strstr(text, "/events"));
    assert_non_null(strstr(text, "/healthz"));
    assert_non_null(strstr(text, "/metrics"));
    assert_non_null(strstr(text, "demo page"));
    /* Later versions' flags are not offered. */
    assert_null(strstr(text, "--tls-cert"));

    for (i = 0; i < 2; i++) {
        /* Help wins over anything else: bad variables, unknown flags before it. */
        run(&r, ENV("SSEHUB_HISTORY=x"), ARGV("--foo", "--history", "1", (char *)forms[i]));
        assert_int_equal(r.rc, 1);
        assert_string_equal(r.out, text);
        assert_string_equal(r.err, "");
        done(&r);
    }
    /* A flag's value that looks like a flag is not taken as one... */
    run(&r, NULL, ARGV("--access-log", "--help"));
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, text);
    done(&r);
    /* ...but --help after "--" or inside a value is not help. */
    run(&r, NULL, ARGV("--access-log=--help"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.c.access_log, "--help");
    done(&r);
    run(&r, NULL, ARGV("--", "--help"));
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.out, "");
    done(&r);
    free(text);
}

static void test_config_version(void **state)
{
    char expected[64];
    run_t r;

    (void)state;
    snprintf(expected, sizeof(expected), "ssehub %s\n", ssehub_version_string());
    run(&r, NULL, ARGV("--version"));
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, expected);
    assert_string_equal(r.err, "");
    done(&r);
    run(&r, ENV("SSEHUB_THREADS=0"), ARGV("--threads", "2", "--version", "--bogus"));
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, expected);
    done(&r);
}

/* ---- out of memory ------------------------------------------------------------------------ */

/* Fails each allocation in turn: every failure says so, and nothing leaks. */
static void test_config_oom(void **state)
{
    char *env[] = {"SSEHUB_CORS_ORIGIN=https://a.example,https://b.example", "SSEHUB_STORE=memory",
                   NULL};
    char *argv[] = {"--listen", "127.0.0.1:1,[::1]:2", "--access-log", "x.log", NULL};
    long n;
    run_t r;

    (void)state;
    sh_failalloc_install();
    for (n = 0;; n++) {
        sh_failalloc_fail_after(n);
        run(&r, env, argv);
        if (r.rc == 0) {
            assert_string_equal(r.err, "");
            assert_int_equal(r.c.nlisten, 2);
            assert_int_equal(r.c.ncors_origins, 2);
            assert_string_equal(r.c.access_log, "x.log");
            done(&r);
            break;
        }
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.err, "ssehub: out of memory\n");
        done(&r);
        assert_int_equal(sh_failalloc_live(), 0);
    }
    assert_true(n >= 6);
    assert_int_equal(sh_failalloc_live(), 0);

    /* sh_config_defaults() alone leaves nothing behind when it fails. */
    for (n = 0; n < 3; n++) {
        sh_config_t c;

        sh_failalloc_fail_after(n);
        assert_int_equal(sh_config_defaults(&c), SSEHUB_ENOMEM);
        assert_int_equal(sh_failalloc_live(), 0);
        assert_int_equal(c.nlisten, 0);
        sh_config_dispose(&c);
    }
    sh_failalloc_fail_after(-1);
    sh_test_restore_allocator();
}

/* ---- durations and sizes ------------------------------------------------------------------ */

#define DUR(lit, out)  sh_parse_duration_ms(lit, sizeof(lit) - 1, out)
#define SIZE(lit, out) sh_parse_size(lit, sizeof(lit) - 1, out)

static void test_config_duration(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {
        {"0", 0},
        {"00", 0},
        {"0ms", 0},
        {"0h", 0},
        {"1ms", 1},
        {"250ms", 250},
        {"1s", 1000},
        {"15s", 15000},
        {"5m", 300000},
        {"24h", 86400000},
        {"0010s", 10000},
        {"9223372036854775807ms", INT64_MAX},
        {"9223372036854775s", 9223372036854775000},
        {"2562047788015h", 2562047788015 * 3600000LL},
    };
    static const char *const bad[] = {
        "",
        "10",
        "1",
        "5x",
        "ms",
        "s",
        "-1s",
        "+1s",
        " 1s",
        "1s ",
        "1 s",
        "1.5s",
        "1e3ms",
        "1S",
        "1H",
        "1M",
        "1sec",
        "1min",
        "1hr",
        "1us",
        "1ns",
        "1d",
        "1ms1",
        "1s1s",
        "0x10s",
        "99999999999999999999999" /* no unit wins over overflow */,
        "99999999999999999999999x",
    };
    static const char *const big[] = {
        "9223372036854775808ms",    "9223372036854776s",      "153722867280913m",
        "2562047788016h",           "18446744073709551615ms", "18446744073709551616ms",
        "99999999999999999999999h",
    };
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ms = -7;
        assert_int_equal(sh_parse_duration_ms(ok[i].in, strlen(ok[i].in), &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = -7;
        if (sh_parse_duration_ms(bad[i], strlen(bad[i]), &ms) != SSEHUB_EINVAL)
            print_error("accepted '%s'\n", bad[i]);
        assert_int_equal(sh_parse_duration_ms(bad[i], strlen(bad[i]), &ms), SSEHUB_EINVAL);
        assert_int_equal(ms, -7);
    }
    for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        ms = -7;
        assert_int_equal(sh_parse_duration_ms(big[i], strlen(big[i]), &ms), SSEHUB_E2BIG);
        assert_int_equal(ms, -7);
    }
    /* The length counts, not a NUL: "15s" cut to "15" has no unit; "1s\0" has a NUL. */
    assert_int_equal(sh_parse_duration_ms("15s", 2, &ms), SSEHUB_EINVAL);
    assert_int_equal(sh_parse_duration_ms("1hx", 2, &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(DUR("1s\0", &ms), SSEHUB_EINVAL);
    assert_int_equal(sh_parse_duration_ms(NULL, 0, &ms), SSEHUB_EINVAL);
}

static void test_config_size(void **state)
{
    static const struct {
        const char *in;
        uint64_t bytes;
    } ok[] = {
        {"0", 0},
        {"10", 10},
        {"10B", 10},
        {"1k", 1024},
        {"1K", 1024},
        {"1KiB", 1024},
        {"64k", 65536},
        {"1M", 1048576},
        {"1MiB", 1048576},
        {"1G", 1073741824},
        {"3GiB", 3ULL << 30},
        {"0G", 0},
        {"18446744073709551615", UINT64_MAX},
        {"18446744073709551615B", UINT64_MAX},
        {"17179869183G", 17179869183ULL << 30},
    };
    static const char *const bad[] = {
        "",      "k",
        "B",     "5x",
        "-1",    "+1",
        " 1",    "1 ",
        "1 k",   "1.5M",
        "1kb",   "1KB",
        "1MB",   "1m",
        "1g",    "1Kib",
        "1KiBB", "1T",
        "1TiB",  "1e3",
        "0x10",  "99999999999999999999999x",
    };
    static const char *const big[] = {
        "18446744073709551616", "18014398509481984k",         "17592186044416M",
        "17179869184G",         "99999999999999999999999GiB",
    };
    uint64_t v;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = 7;
        assert_int_equal(sh_parse_size(ok[i].in, strlen(ok[i].in), &v), 0);
        assert_int_equal(v, ok[i].bytes);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        if (sh_parse_size(bad[i], strlen(bad[i]), &v) != SSEHUB_EINVAL)
            print_error("accepted '%s'\n", bad[i]);
        assert_int_equal(sh_parse_size(bad[i], strlen(bad[i]), &v), SSEHUB_EINVAL);
        assert_int_equal(v, 7);
    }
    for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        v = 7;
        assert_int_equal(sh_parse_size(big[i], strlen(big[i]), &v), SSEHUB_E2BIG);
        assert_int_equal(v, 7);
    }
    assert_int_equal(sh_parse_size("64k", 2, &v), 0);
    assert_int_equal(v, 64);
    assert_int_equal(SIZE("1k\0", &v), SSEHUB_EINVAL);
    assert_int_equal(sh_parse_size(NULL, 0, &v), SSEHUB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_every_flag_three_ways),
        cmocka_unit_test(test_config_no_ui),
        cmocka_unit_test(test_config_precedence),
        cmocka_unit_test(test_config_repeatable),
        cmocka_unit_test(test_config_origin_normalised),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_too_many_items),
        cmocka_unit_test(test_config_help),
        cmocka_unit_test(test_config_version),
        cmocka_unit_test(test_config_oom),
        cmocka_unit_test(test_config_duration),
        cmocka_unit_test(test_config_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
