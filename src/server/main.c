/* SPDX-License-Identifier: MIT */
/*
 * The ssehub program: reads the configuration, opens the store, starts one loop per
 * --threads, and waits for SIGTERM or SIGINT to stop them.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "server/log.h"
#include "server/pubreq.h"
#include "server/server.h"
#include "ssehub/ssehub.h"

extern char **environ;

static sh_server_t server;
static char node_id[40]; /* "node-" and 16 random hex digits: this process in a cluster */

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* The stores' log lines, at the server's levels (the store enum has the same order). */
static void store_log(void *user, sh_store_log_level_t level, const char *msg)
{
    (void)user;
    sh_log((sh_log_level_t)level, "%s", msg);
}

static void on_signal_any(uv_signal_t *s, int signum)
{
    sh_log_info("%s: stopping; streams are closed so clients reconnect",
                signum == SIGTERM ? "SIGTERM" : "SIGINT");
    sh_server_stop(&server);
    uv_walk(s->loop, walk_close, NULL);
}

int main(int argc, char **argv)
{
    sh_config_t cfg;
    sh_store_params_t prm;
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    char err[512];
    int rc;

    rc = sh_config_parse(&cfg, argc, argv, environ, stdout, stderr);
    if (rc != 0) {
        sh_config_dispose(&cfg);
        return rc == 1 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sh_pubreq_global_init(); /* jansson's allocations, before any thread starts */
    sh_log_set_level(cfg.log_level);
    sh_fd_raise_limit(&server); /* before the store and logs take descriptors */
    if (cfg.access_log != NULL && (rc = sh_access_log_open(cfg.access_log)) != 0) {
        fprintf(stderr, "ssehub: --access-log: cannot open '%s': %s\n", cfg.access_log,
                strerror(-rc));
        sh_config_dispose(&cfg);
        return 2;
    }

    {
        if ((cfg.publisher_key != NULL &&
             sh_auth_key_load(&server.publisher_key, cfg.jwt_alg, cfg.publisher_key, err,
                              sizeof(err)) != 0) ||
            (cfg.subscriber_key != NULL &&
             sh_auth_key_load(&server.subscriber_key, cfg.jwt_alg, cfg.subscriber_key, err,
                              sizeof(err)) != 0)) {
            fprintf(stderr, "ssehub: %s: %s\n",
                    server.publisher_key.bytes == NULL && cfg.publisher_key != NULL
                        ? "--publisher-key"
                        : "--subscriber-key",
                    err);
            sh_config_dispose(&cfg);
            return 2;
        }
        for (size_t i = 0; i < cfg.njwt_issuers; i++) {
            if (sh_auth_issuer_load(&server.issuers[i], cfg.jwt_issuers[i], err, sizeof(err)) !=
                0) {
                fprintf(stderr, "ssehub: --jwt-issuer: %s\n", err);
                sh_config_dispose(&cfg);
                return 2;
            }
            server.nissuers++;
        }
    }
    server.cfg = &cfg;
    server.nworkers = cfg.threads;
    server.started_ms = sh_wall_ms();
    if (ssehub_rcbuf_new(3, &server.heartbeat) != 0) {
        fprintf(stderr, "ssehub: out of memory\n");
        return 1;
    }
    memcpy(ssehub_rcbuf_data(server.heartbeat), ":\n\n", 3);
    memset(&prm, 0, sizeof(prm));
    prm.history.max_per_topic = (size_t)cfg.history;
    prm.history.max_age_ms = cfg.history_age_ms;
    prm.history.max_bytes = (size_t)cfg.history_memory;
    prm.log = store_log;
    {
        unsigned char r[8] = {0};
        size_t got = 0;
        ssize_t k;

        while (got < sizeof(r) && (k = getrandom(r + got, sizeof(r) - got, 0)) > 0)
            got += (size_t)k;
        snprintf(node_id, sizeof(node_id), "node-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
                 r[2], r[3], r[4], r[5], r[6], r[7]);
    }
    server.node_id = node_id;
    prm.node_id = node_id;
    if (cfg.subscriptions) { /* presence across the nodes of a shared store */
        prm.observe = sh_presence_observe;
        prm.node_gone = sh_presence_node_gone;
        prm.cluster_user = &server;
    }
    /* Hub-assigned ids are decimal sequence numbers. Seeded from the clock in
     * microseconds, so ids stay unique and increasing across restarts of a memory hub (a
     * durable store also continues after the newest seq it ever committed). */
    prm.first_seq = (uint64_t)sh_wall_ms() * 1000;
    sh_server_sink(&server, &prm.sink);
    rc = sh_store_open(cfg.store, &prm, &server.store, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "ssehub: --store: %s\n", err);
        ssehub_rcbuf_unref(server.heartbeat);
        sh_access_log_close();
        sh_config_dispose(&cfg);
        return rc == SSEHUB_ENOMEM ? 1 : 2;
    }
    sh_log_info("ssehub %s: %u loop%s, store %s (%s), history %llu events per topic",
                ssehub_version_string(), cfg.threads, cfg.threads == 1 ? "" : "s", cfg.store,
                strcmp(server.store->ops->name, "memory") == 0 ? "history in RAM, lost on restart"
                : strcmp(server.store->ops->name, "redis") == 0
                    ? "shared: a publish is acknowledged once Redis has it"
                    : "durable: a publish is acknowledged once committed to disk",
                (unsigned long long)cfg.history);

    sh_authz_log_policy(&server);
    uv_loop_init(&loop);
    uv_signal_init(&loop, &sigterm);
    uv_signal_init(&loop, &sigint);
    uv_signal_start(&sigterm, on_signal_any, SIGTERM);
    uv_signal_start(&sigint, on_signal_any, SIGINT);

    rc = sh_server_start(&server);
    if (rc == 0)
        rc = sh_store_start(server.store); /* the loops' inboxes exist now */
    if (rc != 0) {
        sh_log_error("cannot start: %s", ssehub_strerror(rc));
        _exit(1);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    sh_server_join(&server);
    uv_loop_close(&loop);
    sh_store_free(server.store);
    sh_presence_dispose();
    ssehub_rcbuf_unref(server.heartbeat);
    sh_log_info("stopped");
    sh_access_log_close();
    sh_auth_key_dispose(&server.publisher_key);
    sh_auth_key_dispose(&server.subscriber_key);
    for (size_t i = 0; i < server.nissuers; i++)
        sh_auth_issuer_dispose(&server.issuers[i]);
    sh_config_dispose(&cfg);
    return 0;
}
