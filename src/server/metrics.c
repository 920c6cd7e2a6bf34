/* SPDX-License-Identifier: MIT */
/* GET /metrics: Prometheus text exposition format, the workers' counters summed. */
#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"
#include "server/server.h"

static const char *const reason_names[SH_DISC_COUNT] = {
    "client", "slow", "write_timeout", "lifetime", "shutdown", "error",
};

/* The counters of sh_metrics_t, as exposed. */
static const struct {
    const char *name, *type, *help;
    size_t offset;
} counters[] = {
#define M(field, name, type, help)                      \
    {                                                   \
        name, type, help, offsetof(sh_metrics_t, field) \
    }
    M(subscribers, "ssehub_subscribers_connected", "gauge",
      "Subscribers with an open event stream."),
    M(subscriptions_total, "ssehub_subscriptions_total", "counter", "Event streams opened."),
    M(publishes_total, "ssehub_publishes_total", "counter", "Events published."),
    M(publish_duplicates_total, "ssehub_publish_duplicates_total", "counter",
      "Publishes answered with the id of the same update published before (retries)."),
    M(deliveries_total, "ssehub_deliveries_total", "counter",
      "Events queued to subscribers (live and replayed)."),
    M(conflated_total, "ssehub_conflated_total", "counter",
      "Queued events a slow subscriber skipped (--slow conflate)."),
    M(bytes_sent_total, "ssehub_bytes_sent_total", "counter", "Bytes written to clients."),
    M(connections, "ssehub_connections", "gauge", "Open client connections."),
    M(requests_total, "ssehub_requests_total", "counter", "HTTP requests read."),
    M(rejected_total, "ssehub_connections_rejected_total", "counter",
      "Connections refused with 503 (--max-connections, or out of file descriptors)."),
    M(accept_emfile_total, "ssehub_accept_emfile_total", "counter",
      "accept() failures for lack of file descriptors (EMFILE, ENFILE)."),
#undef M
};

/* One counter summed over the workers. */
static unsigned long long sum(const sh_server_t *srv, size_t offset)
{
    unsigned long long v = 0;
    unsigned i;

    for (i = 0; i < srv->nworkers; i++)
        v += atomic_load_explicit(
            (const atomic_ullong *)(const void *)((const char *)&srv->workers[i].metrics + offset),
            memory_order_relaxed);
    return v;
}

static void metric(sh_buf_t *b, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name,
                     type, name, v);

    sh_buf_append(b, line, (size_t)n);
}

void sh_metrics_handle(sh_conn_t *c)
{
    sh_server_t *srv = c->w->srv;
    size_t i;
    unsigned r;
    sh_buf_t b;
    char line[256];
    int n;

    sh_buf_init(&b, 64 * 1024);
    for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        metric(&b, counters[i].name, counters[i].type, counters[i].help,
               sum(srv, counters[i].offset));
    sh_buf_append_str(&b, "# HELP ssehub_disconnects_total Event streams closed, by reason.\n"
                          "# TYPE ssehub_disconnects_total counter\n");
    for (r = 0; r < SH_DISC_COUNT; r++) {
        n = snprintf(line, sizeof(line), "ssehub_disconnects_total{reason=\"%s\"} %llu\n",
                     reason_names[r],
                     sum(srv, offsetof(sh_metrics_t, disconnects) + r * sizeof(atomic_ullong)));
        sh_buf_append(&b, line, (size_t)n);
    }
    metric(&b, "ssehub_connections_max", "gauge",
           "The connection limit: --max-connections, lowered to what the open-file limit allows.",
           (unsigned long long)srv->max_connections);
    metric(&b, "ssehub_history_events", "gauge", "Events held in the history.",
           (unsigned long long)sh_store_count(srv->store));
    {
        char more[4096];
        size_t m = sh_store_metrics(srv->store, more, sizeof(more));

        sh_buf_append(&b, more, m);
    }
    sh_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                    "Cache-Control: no-store\r\n", b.base, b.len);
    sh_buf_dispose(&b);
}
