/* SPDX-License-Identifier: MIT */
/* GET /metrics: Prometheus text exposition format, the workers' counters summed. */
#include <stdio.h>

#include "base/buf.h"
#include "server/server.h"

static const char *const reason_names[SH_DISC_COUNT] = {
    "client", "slow", "write_timeout", "lifetime", "shutdown", "error",
};

#define SUM(field)                                                                           \
    do {                                                                                     \
        v = 0;                                                                               \
        for (i = 0; i < srv->nworkers; i++)                                                  \
            v += atomic_load_explicit(&srv->workers[i].metrics.field, memory_order_relaxed); \
    } while (0)

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
    unsigned long long v;
    unsigned i, r;
    sh_buf_t b;
    char line[256];
    int n;

    sh_buf_init(&b, 64 * 1024);
    SUM(subscribers);
    metric(&b, "ssehub_subscribers_connected", "gauge", "Subscribers with an open event stream.",
           v);
    SUM(subscriptions_total);
    metric(&b, "ssehub_subscriptions_total", "counter", "Event streams opened.", v);
    SUM(publishes_total);
    metric(&b, "ssehub_publishes_total", "counter", "Events published.", v);
    SUM(deliveries_total);
    metric(&b, "ssehub_deliveries_total", "counter",
           "Events queued to subscribers (live and replayed).", v);
    SUM(conflated_total);
    metric(&b, "ssehub_conflated_total", "counter",
           "Queued events a slow subscriber skipped (--slow conflate).", v);
    SUM(bytes_sent_total);
    metric(&b, "ssehub_bytes_sent_total", "counter", "Bytes written to clients.", v);
    SUM(connections);
    metric(&b, "ssehub_connections", "gauge", "Open client connections.", v);
    SUM(requests_total);
    metric(&b, "ssehub_requests_total", "counter", "HTTP requests read.", v);
    SUM(rejected_total);
    metric(&b, "ssehub_connections_rejected_total", "counter",
           "Connections refused with 503 (--max-connections).", v);
    sh_buf_append_str(&b, "# HELP ssehub_disconnects_total Event streams closed, by reason.\n"
                          "# TYPE ssehub_disconnects_total counter\n");
    for (r = 0; r < SH_DISC_COUNT; r++) {
        SUM(disconnects[r]);
        n = snprintf(line, sizeof(line), "ssehub_disconnects_total{reason=\"%s\"} %llu\n",
                     reason_names[r], v);
        sh_buf_append(&b, line, (size_t)n);
    }
    metric(&b, "ssehub_history_events", "gauge", "Events held in the history.",
           (unsigned long long)sh_store_count(srv->store));
    sh_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                    "Cache-Control: no-store\r\n", b.base, b.len);
    sh_buf_dispose(&b);
}
