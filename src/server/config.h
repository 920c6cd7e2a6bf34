/* SPDX-License-Identifier: MIT */
/*
 * The ssehub command line: every flag of PRODUCT.md §7 that this version implements,
 * each also read from SSEHUB_<NAME> (upper case, '-' as '_'; e.g. SSEHUB_HISTORY_AGE).
 * Flags given on the command line win over the environment.
 */
#ifndef SH_SERVER_CONFIG_H
#define SH_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SH_CONFIG_MAX_LISTEN    16
#define SH_CONFIG_MAX_ORIGINS   64
#define SH_CONFIG_MAX_ISSUERS   16
#define SH_CONFIG_STORE_DEFAULT "lmdb:./ssehub-data" /* --store */

typedef enum { SH_LOG_ERROR = 0, SH_LOG_WARN, SH_LOG_INFO, SH_LOG_DEBUG } sh_log_level_t;
typedef enum { SH_JWT_HS256 = 0, SH_JWT_RS256, SH_JWT_ES256 } sh_jwt_alg_t;

typedef struct sh_config_s {
    char *listen[SH_CONFIG_MAX_LISTEN]; /* "ADDR:PORT" ("[v6]:PORT" for IPv6) */
    size_t nlisten;                     /* default: one, "127.0.0.1:8080" */
    unsigned threads;                   /* default: number of online CPUs, at least 1 */
    char *store;                        /* "memory" or "lmdb:DIR[?...]" */
    uint64_t history;                   /* --history N: 1000 */
    int64_t history_age_ms;             /* --history-age: 24h; 0: no age limit */
    uint64_t history_memory;            /* --history-memory: 256 MiB, all topics together */
    int64_t heartbeat_ms;               /* --heartbeat: 15s; 0 disables */
    int64_t retry_ms;                   /* --retry MS; -1 when unset */
    /* --cors-origin, repeatable; default "*". Origins are kept as browsers send them:
     * scheme and host in lower case, no :80 on http nor :443 on https. */
    char *cors_origins[SH_CONFIG_MAX_ORIGINS];
    size_t ncors_origins;
    uint64_t max_connections;  /* 100000; lowered at start to what the file limit allows */
    int max_connections_set;   /* given on the command line or in the environment */
    char *metrics_listen;      /* --metrics-listen ADDR:PORT: /healthz and /metrics; NULL */
    uint64_t max_body;         /* 1 MiB */
    uint64_t max_topics;       /* 100 */
    uint64_t max_header;       /* --max-header BYTES: 16 KiB (request line + headers) */
    int64_t header_timeout_ms; /* 10s */
    int64_t write_timeout_ms;  /* 30s */
    int64_t max_lifetime_ms;   /* 0: off */
    uint64_t send_buffer;      /* 1 MiB */
    int slow_conflate;         /* --slow conflate (else disconnect) */
    int no_ui;                 /* --no-ui */
    sh_log_level_t log_level;  /* --log-level error|warn|info|debug: info */
    char *access_log;          /* --access-log FILE ("-" is stderr); NULL: off */
    /* Authorization (Mercure JWTs), see server/auth.h. */
    char *publisher_key;  /* --publisher-key: HS256 secret or PEM file path; NULL: unset */
    char *subscriber_key; /* --subscriber-key: likewise */
    sh_jwt_alg_t jwt_alg; /* --jwt-alg: HS256 */
    int anonymous;        /* --anonymous yes|no: 1 */
    /* Mercure 1.0 access tokens (RFC 9068): --jwt-issuer 'ISS[ ALG:KEY]', repeatable, kept as
     * given (checked: ISS non-empty, ALG HS256|RS256|ES256, KEY non-empty), and --resource
     * URL (NULL: SCHEME://HOST/.well-known/mercure from each request). */
    char *jwt_issuers[SH_CONFIG_MAX_ISSUERS];
    size_t njwt_issuers;
    char *resource;
    int subscriptions; /* --subscriptions: presence events and API; 0 */
} sh_config_t;

/**
 * Fills |c| with the defaults; the strings are sh_malloc'd copies. Whatever |c| held is
 * overwritten, not freed. Returns 0, or SSEHUB_ENOMEM with |c| left empty (disposed).
 */
int sh_config_defaults(sh_config_t *c);

/**
 * Sets |c| to the defaults (sh_config_defaults()), then reads the environment (|envp|, a
 * NULL-terminated array of "NAME=value" strings, may be NULL) and then |argv| into it.
 * An empty SSEHUB_* variable counts as unset, unknown SSEHUB_* names are ignored, and the
 * variable of a flag that the command line gives is not read at all. Both "--flag value"
 * and "--flag=value" work; a later flag wins over an earlier one; the values of a
 * repeatable flag (--listen, --cors-origin) accumulate, and each value may itself be a
 * comma-separated list (the only way to give several in the environment).
 * Returns 0; 1 when --help, -h or --version was given (the text is printed to |out|, and
 * the environment is not read); or 2 on a bad flag or value, or when out of memory, after
 * printing one line naming it to |err| ("ssehub: --history: 'x' is not a valid number").
 * |c| may hold allocations whatever the result: call sh_config_dispose() in every case.
 * No global state: calls may run concurrently on different configs.
 */
int sh_config_parse(sh_config_t *c, int argc, char **argv, char **envp, FILE *out, FILE *err);

/** Frees the strings of |c| and leaves its lists empty; calling it twice is fine. */
void sh_config_dispose(sh_config_t *c);

/** Prints the --help text (lines shorter than 80 columns) to |out|. */
void sh_config_usage(FILE *out);

#endif /* SH_SERVER_CONFIG_H */
