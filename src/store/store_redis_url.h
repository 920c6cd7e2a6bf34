/* SPDX-License-Identifier: MIT */
/*
 * The --store URI of the Redis store, parsed (no I/O):
 *
 *   redis://[USER:PASSWORD@]HOST:PORT[/DB][?OPTIONS]
 *   redis-sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTERNAME[/DB][?OPTIONS]
 *
 * OPTIONS, joined with '&': maxlen=N (events the stream keeps, all topics together;
 * default 1000000), replicas=N (a publish is acknowledged once N replicas have it: WAIT),
 * wait=MS (how long WAIT may take; default 1000), durability=aof (the primary must run
 * with appendonly yes and appendfsync always, else publishes are refused), prefix=NAME
 * (the keys' prefix; default "ssehub"). USER and PASSWORD are the primary's (AUTH).
 */
#ifndef SH_STORE_STORE_REDIS_URL_H
#define SH_STORE_STORE_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

#define SH_REDIS_URL_MAX_ADDRS 8
#define SH_REDIS_URL_HOST_MAX  256

typedef struct sh_redis_addr_s {
    char host[SH_REDIS_URL_HOST_MAX];
    unsigned port;
} sh_redis_addr_t;

typedef struct sh_redis_url_s {
    int sentinel;                                  /* redis-sentinel:// */
    sh_redis_addr_t addrs[SH_REDIS_URL_MAX_ADDRS]; /* the server, or the sentinels */
    size_t naddrs;                                 /* 1 for redis:// */
    char master[128];                              /* sentinel: the master's name */
    char user[128];                                /* empty: AUTH with the password only */
    char password[256];                            /* empty: no AUTH */
    unsigned db;                                   /* SELECT; 0 by default */
    uint64_t maxlen;                               /* events the stream keeps */
    unsigned replicas;                             /* WAIT for this many; 0: no WAIT */
    uint64_t wait_ms;                              /* WAIT's timeout */
    int durability_aof;                            /* require appendfsync always */
    char prefix[64];                               /* the keys' prefix */
} sh_redis_url_t;

/**
 * Parses |uri| into |u|. Returns 0, or SSEHUB_EINVAL with a one-line reason in |err|
 * (|errlen| bytes) naming what is wrong.
 */
int sh_redis_url_parse(const char *uri, sh_redis_url_t *u, char *err, size_t errlen);

#endif /* SH_STORE_STORE_REDIS_URL_H */
