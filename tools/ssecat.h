/* SPDX-License-Identifier: MIT */
/* ssecat's modes, each in its own file: subscribing, publishing (ssecat.c parses flags). */
#ifndef SSECAT_H
#define SSECAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Everything the command line says. */
typedef struct ssecat_opts_s {
    const char *url;      /* subscribe to, or publish to */
    const char **headers; /* -H values, "Name: value" */
    size_t headers_count;
    const char *last_event_id;  /* --last-event-id */
    bool json;                  /* --json */
    uint64_t max_events;        /* --max-events, 0: no limit */
    int64_t timeout_ms;         /* --timeout, 0: none */
    int64_t idle_timeout_ms;    /* --idle-timeout, 0: off */
    int64_t connect_timeout_ms; /* --connect-timeout, 0: the library's */
    int64_t retry_ms;           /* --retry, 0: the library's */
    int64_t max_backoff_ms;     /* --max-backoff, 0: the library's */
    bool insecure;              /* --insecure */
    const char *ca_file;        /* --cacert */
    size_t max_size;            /* --max-size */
    const char *topic;          /* --publish: --topic */
    const char *type;           /* --publish: --type */
    const char *id_prefix;      /* --publish: --id-prefix (line n gets id "P-n"), or NULL */
} ssecat_opts_t;

/** ssecat URL: subscribes; returns the exit status (0, 1, 130). */
int ssecat_subscribe(const ssecat_opts_t *o);

/* ssecat --publish --id-prefix: connections tried in a row, without a reply, to send the
 * unanswered publishes again before giving up. */
#define SSECAT_PUB_MAX_RETRIES 8

/** ssecat --publish URL: publishes stdin's lines; returns the exit status (0 or 1). */
int ssecat_publish(const ssecat_opts_t *o);

#endif /* SSECAT_H */
