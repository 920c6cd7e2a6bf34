/* SPDX-License-Identifier: MIT */
/*
 * The open-file limit and the connection slots. Each connection is one descriptor, so the
 * connection limit is what RLIMIT_NOFILE leaves once everything else is open, less a
 * reserve: at start the soft limit is raised to the hard one, the descriptors open once the
 * store, logs, loops and listeners exist are counted, and --max-connections is lowered to
 * what remains. Past it, a few more connections may ask for /healthz or /metrics
 * (SH_HEALTH_SLOTS), --metrics-listen has slots of its own, and every other client gets a
 * 503 at once (worker.c, http.c). Refusals are logged at most once a second, with counts.
 */
#define _DEFAULT_SOURCE 1
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server/log.h"
#include "server/server.h"

/*
 * Descriptors kept free besides those counted at start: for what opens one later that we
 * do not count (libraries, the sanitizers' reports), and per loop, libuv's own spare
 * descriptor (opened with the loop's first TCP handle) and the socket of a connection
 * being refused (accepted, answered and closed at once).
 */
#define SH_FD_SPARE       16
#define SH_FD_PER_WORKER  2
#define SH_REFUSAL_LOG_MS 1000

static long long mono_ms(void)
{
    return (long long)(uv_hrtime() / 1000000u);
}

/* The largest value the kernel accepts for RLIMIT_NOFILE (fs.nr_open), or 0. */
static uint64_t nr_open(void)
{
    char buf[32];
    uint64_t v = 0;
    ssize_t n;
    int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(buf[i] - '0');
    return v;
}

void sh_fd_raise_limit(sh_server_t *srv)
{
    struct rlimit rl;
    rlim_t want;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        srv->nofile = srv->nofile_before = srv->nofile_hard = 1024;
        return;
    }
    srv->nofile_before = (uint64_t)rl.rlim_cur;
    srv->nofile_hard = (uint64_t)rl.rlim_max;
    want = rl.rlim_max;
    if (want == RLIM_INFINITY) { /* Linux refuses more than fs.nr_open */
        uint64_t cap = nr_open();

        want = cap != 0 ? (rlim_t)cap : (rlim_t)1 << 20;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
        struct rlimit r2 = {want, rl.rlim_max};

        if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
            rl.rlim_cur = want;
    }
    srv->nofile = (uint64_t)rl.rlim_cur;
}

/* The descriptors open now: /proc/self/fd, else a probe of every number below the limit. */
static uint64_t count_open_fds(uint64_t limit)
{
    DIR *d = opendir("/proc/self/fd");
    uint64_t n = 0;

    if (d != NULL) {
        struct dirent *e;

        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        return n > 0 ? n - 1 : 0; /* the directory's own descriptor */
    }
    if (limit > (1u << 20))
        limit = 1u << 20;
    for (uint64_t fd = 0; fd < limit; fd++)
        if (fcntl((int)fd, F_GETFD) != -1)
            n++;
    return n;
}

int sh_fd_plan(sh_server_t *srv)
{
    const sh_config_t *cfg = srv->cfg;
    uint64_t open_now = count_open_fds(srv->nofile);
    uint64_t extra = SH_HEALTH_SLOTS + (cfg->metrics_listen != NULL ? SH_METRICS_SLOTS : 0);
    uint64_t reserve = SH_FD_SPARE + (uint64_t)SH_FD_PER_WORKER * srv->nworkers + extra;
    uint64_t room = srv->nofile > open_now + reserve ? srv->nofile - open_now - reserve : 0;
    char raised[96] = "";

    if (srv->nofile != srv->nofile_before)
        snprintf(raised, sizeof(raised), " (raised from %" PRIu64 ")", srv->nofile_before);
    if (room == 0) {
        sh_log_error("open-file limit %" PRIu64 "%s: %" PRIu64 " descriptors are open at start "
                     "and %" PRIu64 " are kept in reserve: no room for connections (raise the "
                     "limit: ulimit -n, or LimitNOFILE= in a systemd unit)",
                     srv->nofile, raised, open_now, reserve);
        return -1;
    }
    srv->max_connections = cfg->max_connections;
    if (cfg->max_connections > room) {
        srv->max_connections = room;
        if (cfg->max_connections_set)
            sh_log_warn("--max-connections %" PRIu64 " is more than the open-file limit "
                        "allows: lowered to %" PRIu64 " (raise the limit: ulimit -n, or "
                        "LimitNOFILE= in a systemd unit)",
                        cfg->max_connections, room);
    }
    sh_log_info("open-file limit %" PRIu64 "%s, hard limit %" PRIu64 ": %" PRIu64
                " descriptors open at start, %" PRIu64 " in reserve; connections limited to "
                "%" PRIu64 "%s, and %u more for /healthz and /metrics",
                srv->nofile, raised, srv->nofile_hard, open_now, reserve - extra,
                srv->max_connections,
                srv->max_connections < cfg->max_connections ? " by the open-file limit"
                                                            : " (--max-connections)",
                (unsigned)extra);
    return 0;
}

/* Adds one to |*n| unless it is at |max|: 1, or 0 when full. Exact across threads. */
static int take(atomic_ullong *n, unsigned long long max)
{
    unsigned long long v = atomic_load_explicit(n, memory_order_relaxed);

    do {
        if (v >= max)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(n, &v, v + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

int sh_fd_take_slot(sh_server_t *srv, int slot)
{
    switch (slot) {
    case SH_SLOT_NORMAL:
        return take(&srv->connections, srv->max_connections);
    case SH_SLOT_HEALTH:
        return take(&srv->health_conns, SH_HEALTH_SLOTS);
    default:
        return take(&srv->metrics_conns, SH_METRICS_SLOTS);
    }
}

void sh_fd_release_slot(sh_server_t *srv, int slot)
{
    switch (slot) {
    case SH_SLOT_NORMAL:
        atomic_fetch_sub_explicit(&srv->connections, 1, memory_order_relaxed);
        break;
    case SH_SLOT_HEALTH:
        atomic_fetch_sub_explicit(&srv->health_conns, 1, memory_order_relaxed);
        break;
    default:
        atomic_fetch_sub_explicit(&srv->metrics_conns, 1, memory_order_relaxed);
        break;
    }
}

void sh_fd_note_refused(sh_server_t *srv, int emfile)
{
    atomic_fetch_add_explicit(emfile ? &srv->refused_emfile : &srv->refused_limit, 1,
                              memory_order_relaxed);
    sh_fd_log_refusals(srv, 0);
}

void sh_fd_note_pause(sh_server_t *srv)
{
    atomic_fetch_add_explicit(&srv->accept_pauses, 1, memory_order_relaxed);
    sh_fd_log_refusals(srv, 0);
}

void sh_fd_log_refusals(sh_server_t *srv, int force)
{
    long long now = mono_ms();
    long long last = atomic_load_explicit(&srv->refused_logged_ms, memory_order_relaxed);
    unsigned long long lim, emf, pau;
    char parts[3][160];
    int np = 0;

    if (atomic_load_explicit(&srv->refused_limit, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&srv->refused_emfile, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&srv->accept_pauses, memory_order_relaxed) == 0)
        return;
    if (!force && last != 0 && now - last < SH_REFUSAL_LOG_MS)
        return;
    if (!atomic_compare_exchange_strong(&srv->refused_logged_ms, &last, now))
        return; /* another loop writes this line */
    lim = atomic_exchange(&srv->refused_limit, 0);
    emf = atomic_exchange(&srv->refused_emfile, 0);
    pau = atomic_exchange(&srv->accept_pauses, 0);
    if (lim > 0)
        snprintf(parts[np++], sizeof(parts[0]), "%llu at the connection limit (%" PRIu64 ")", lim,
                 srv->max_connections);
    if (emf > 0)
        snprintf(parts[np++], sizeof(parts[0]),
                 "%llu out of file descriptors (EMFILE/ENFILE on accept)", emf);
    if (pau > 0)
        snprintf(parts[np++], sizeof(parts[0]),
                 "accepting paused %llu time%s for 100 ms (accept failed)", pau,
                 pau == 1 ? "" : "s");
    sh_log_warn("connections refused with 503 since the last such line: %s%s%s%s%s", parts[0],
                np > 1 ? "; " : "", np > 1 ? parts[1] : "", np > 2 ? "; " : "",
                np > 2 ? parts[2] : "");
}
