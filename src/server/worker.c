/* SPDX-License-Identifier: MIT */
/*
 * Workers: one thread and one libuv loop each, with its own listening sockets bound to
 * the same ports (SO_REUSEPORT: the kernel spreads connections over the loops), its own
 * connections, subscriptions, timers and inbox of published events.
 */
#define _GNU_SOURCE 1 /* SO_REUSEPORT, accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/str.h"
#include "server/log.h"
#include "server/server.h"
#include "ssehub/errno.h"

#define SH_READBUF_SIZE (64 * 1024)
#define SH_TICK_MS      100
#define SH_BACKLOG      4096
/* Stopping with --subscriptions: leaves announced per turn of a loop, and how long a loop
 * waits for the leaves of every loop to be committed once it has announced its own. */
#define SH_LEAVE_SLICE  8192
#define SH_DRAIN_MS     5000
#define SH_ACCEPT_BATCH 64  /* connections accepted per readiness, then other work */
#define SH_ACCEPT_PAUSE 100 /* ms without accepting after accept() failed */

uint64_t sh_server_now(sh_worker_t *w)
{
    return uv_now(&w->loop);
}

/* ---- The inbox: a single-producer ring (producers are serialised by the store lock). */

/* The worker whose loop runs on this thread (NULL on other threads). */
static _Thread_local sh_worker_t *tl_worker;

static int inbox_has_room(sh_worker_t *w, size_t n)
{
    size_t tail = atomic_load_explicit(&w->inbox.tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&w->inbox.head, memory_order_acquire);

    return n <= SH_INBOX_CAP && tail - head <= SH_INBOX_CAP - n;
}

static int sink_reserve(void *user, size_t n)
{
    sh_server_t *srv = user;
    unsigned i;

    for (i = 0; i < srv->nworkers; i++)
        if (!inbox_has_room(&srv->workers[i], n))
            return 0;
    return 1;
}

static void sink_hand(void *user, sh_event_t *ev)
{
    sh_server_t *srv = user;
    unsigned i;

    for (i = 0; i < srv->nworkers; i++) {
        sh_worker_t *w = &srv->workers[i];
        size_t tail = atomic_load_explicit(&w->inbox.tail, memory_order_relaxed);

        w->inbox.slots[tail & (SH_INBOX_CAP - 1)] = sh_event_ref(ev);
        atomic_store_explicit(&w->inbox.tail, tail + 1, memory_order_release);
        /* The publisher's own loop needs no wakeup (an eventfd write, then a read and a
         * poll wakeup): its check handle drains the inbox after this round of I/O. The
         * 200 answer is written before that, in the same round. The idle handle keeps
         * the loop from blocking in poll first (an event handed from a timer). */
        if (w != tl_worker)
            uv_async_send(&w->inbox_async);
        else if (!w->stopping && !uv_is_active((uv_handle_t *)&w->flush_idle))
            sh_worker_idle_start(w);
    }
}

const sh_store_sink_t *sh_server_sink(sh_server_t *srv, sh_store_sink_t *sink)
{
    sink->reserve = sink_reserve;
    sink->hand = sink_hand;
    sink->user = srv;
    return sink;
}

/* Pops every event in the inbox and dispatches it (stream.c). */
static void on_inbox(uv_async_t *a)
{
    sh_worker_drain_inbox(a->data);
}

int sh_worker_drain_own(sh_worker_t *w)
{
    if (atomic_load_explicit(&w->inbox.head, memory_order_relaxed) ==
        atomic_load_explicit(&w->inbox.tail, memory_order_acquire))
        return 0;
    sh_worker_drain_inbox(w);
    return 1;
}

/* After each poll's callbacks: the events this loop's own publishes handed. */
static void on_inbox_check(uv_check_t *h)
{
    sh_worker_drain_own(h->data);
}

/* ---- Stopping (see sh_server_stop). */

/* Phase 2 of a stop, on every loop (see sh_server_stop). */
static void stop_phase2(sh_server_t *srv)
{
    unsigned one = 1, i;

    if (!atomic_compare_exchange_strong(&srv->stop_phase, &one, 2))
        return;
    for (i = 0; i < srv->nworkers; i++)
        uv_async_send(&srv->workers[i].stop_async);
}

void sh_server_stop_step_done(sh_server_t *srv)
{
    if (atomic_fetch_sub(&srv->stop_pending, 1) == 1)
        stop_phase2(srv);
}

/* Phase 1 of a stop (--subscriptions): the leave of every subscription of this loop's
 * streams goes to the store, SH_LEAVE_SLICE per turn (so that the inboxes drain between
 * slices); the streams stay open to receive the leaves of every loop. Called from on_stop,
 * then from each tick until done. */
static void drain_step(sh_worker_t *w)
{
    if (!w->draining) {
        w->draining = 1;
        w->leaving = 1;
        sh_log_info("stopping: announcing the leave of every subscription (loop %u)", w->index);
    }
    if (w->leaving && sh_presence_worker_leave(w, SH_LEAVE_SLICE) == 0) {
        w->leaving = 0;
        w->drain_deadline = uv_now(&w->loop) + SH_DRAIN_MS;
        sh_server_stop_step_done(w->srv); /* this loop's share of stop_pending */
    }
}

/* ---- Timers. */

static void on_tick(uv_timer_t *t)
{
    sh_worker_t *w = t->data;
    uint64_t now = uv_now(&w->loop);
    sh_list_t *n;

    /* Requests not complete in time: 408 (or a silent close when nothing was sent). */
    while ((n = sh_list_first(&w->reading)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, tq);

        if (c->deadline > now)
            break;
        sh_list_remove(n);
        if (c->req->any_bytes)
            sh_conn_error(c, 408, "request not received in time (--header-timeout)", 1);
        else
            sh_conn_close(c, SH_DISC_CLIENT);
    }
    /* Final responses sent, and the peer has not closed in time: close. */
    while ((n = sh_list_first(&w->lingering)) != NULL) {
        sh_conn_t *c = sh_container_of(n, sh_conn_t, tq);

        if (c->deadline > now)
            break;
        sh_conn_close(c, SH_DISC_CLIENT);
    }
    if (w->leaving)
        drain_step(w);
    else if (w->draining && now >= w->drain_deadline) {
        sh_log_warn("stopping: the leave announcements are not all committed after %d ms; "
                    "closing the streams anyway",
                    SH_DRAIN_MS);
        stop_phase2(w->srv);
    }
    sh_worker_tick_streams(w, now);
    if (!sh_list_empty(&w->streams_exp))
        sh_authz_expire_streams(w, sh_wall_ms()); /* streams whose token expired */
    if (w->index == 0 && now - w->last_expire >= 1000) {
        w->last_expire = now;
        sh_store_expire(w->srv->store, sh_wall_ms());
    }
    if (w->index == 0)
        sh_fd_log_refusals(w->srv, 0); /* counts that wait for their once-a-second line */
}

/* ---- Listening.
 *
 * The loop accepts with accept4() on a uv_poll handle rather than uv_listen(): libuv's
 * accept path, out of descriptors, closes every pending connection unanswered, or (when
 * its spare descriptor was taken by another thread) calls back with UV_EMFILE in a loop
 * that never returns. Here every accepted client gets an answer, and a failing accept()
 * pauses the listeners for SH_ACCEPT_PAUSE ms instead of spinning. */

static int open_reserve(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_listener(uv_poll_t *p, int status, int events);

static void on_accept_timer(uv_timer_t *t)
{
    sh_worker_t *w = t->data;
    size_t i;

    if (w->stopping)
        return;
    w->accept_paused = 0;
    if (w->reserve_fd < 0)
        w->reserve_fd = open_reserve();
    for (i = 0; i < w->nlisteners; i++)
        uv_poll_start(&w->listeners[i].poll, UV_READABLE, on_listener);
}

static void pause_accepting(sh_worker_t *w)
{
    size_t i;

    if (w->accept_paused || w->stopping)
        return;
    w->accept_paused = 1;
    for (i = 0; i < w->nlisteners; i++)
        uv_poll_stop(&w->listeners[i].poll);
    uv_timer_start(&w->accept_timer, on_accept_timer, SH_ACCEPT_PAUSE, 0);
    sh_fd_note_pause(w->srv);
}

/* accept() failed for lack of descriptors: the reserve descriptor makes room for one
 * connection, which is answered 503 and closed. 0 when one was, else the errno. */
static int accept_with_reserve(sh_worker_t *w, sh_listener_t *l)
{
    int fd, err;

    if (w->reserve_fd < 0)
        return EMFILE;
    close(w->reserve_fd);
    fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    err = fd < 0 ? errno : 0;
    if (fd >= 0)
        sh_conn_refuse(w, fd, "out of file descriptors, retry later");
    w->reserve_fd = open_reserve(); /* may fail if another thread took the number: retried */
    return err;
}

static void on_listener(uv_poll_t *p, int status, int events)
{
    sh_listener_t *l = p->data;
    sh_worker_t *w = l->w;
    sh_server_t *srv = w->srv;
    int i;

    (void)events;
    if (status < 0) {
        pause_accepting(w);
        return;
    }
    for (i = 0; i < SH_ACCEPT_BATCH && !w->accept_paused; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            int err = errno;

            if (err == EAGAIN || err == EWOULDBLOCK)
                return;
            if (err == EMFILE || err == ENFILE) {
                atomic_fetch_add_explicit(&w->metrics.accept_emfile_total, 1, memory_order_relaxed);
                err = accept_with_reserve(w, l);
                if (err == 0) {
                    sh_fd_note_refused(srv, 1);
                    continue;
                }
                if (err == EAGAIN || err == EWOULDBLOCK)
                    return;
                pause_accepting(w); /* no reserve, or another thread took its place */
                return;
            }
            if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN ||
                err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH ||
                err == EOPNOTSUPP || err == ENETUNREACH || err == EPERM)
                continue;       /* that connection's own problem (accept(2), Linux) */
            pause_accepting(w); /* ENOBUFS, ENOMEM...: wait a moment */
            return;
        }
        if (sh_fd_take_slot(srv, l->slot)) {
            sh_conn_accept(w, fd, l->slot);
        } else if (l->slot == SH_SLOT_NORMAL && sh_fd_take_slot(srv, SH_SLOT_HEALTH)) {
            sh_conn_accept(w, fd, SH_SLOT_HEALTH); /* /healthz and /metrics, or a 503 */
        } else {
            sh_conn_refuse(w, fd,
                           l->slot == SH_SLOT_NORMAL
                               ? "too many connections (--max-connections), retry later"
                               : "too many connections to --metrics-listen, retry later");
            sh_fd_note_refused(srv, 0);
        }
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    sh_listener_t *l = h->data;

    close(l->fd);
    l->fd = -1;
}

static void on_closed_free_nothing(uv_handle_t *h)
{
    (void)h;
}

static void on_stop(uv_async_t *a)
{
    sh_worker_t *w = a->data;
    size_t i;

    if (w->stopping)
        return;
    if (!w->draining && w->srv->cfg->subscriptions)
        drain_step(w);
    if (atomic_load(&w->srv->stop_phase) < 2)
        return;       /* the last presence update decided starts phase 2 */
    if (w->leaving) { /* phase 2 came first (another loop's deadline): all leaves now */
        (void)sh_presence_worker_leave(w, SIZE_MAX);
        w->leaving = 0;
    }
    w->stopping = 1;
    /* Events handed so far (the leaves among them) reach the streams before they close. */
    sh_worker_drain_inbox(w);
    for (i = 0; i < w->nlisteners; i++)
        uv_close((uv_handle_t *)&w->listeners[i].poll, on_listener_closed);
    uv_close((uv_handle_t *)&w->accept_timer, on_closed_free_nothing);
    sh_worker_close_streams(w);
    uv_timer_stop(&w->tick);
    uv_close((uv_handle_t *)&w->tick, on_closed_free_nothing);
    uv_close((uv_handle_t *)&w->flush_idle, on_closed_free_nothing);
    uv_close((uv_handle_t *)&w->inbox_check, on_closed_free_nothing);
    uv_close((uv_handle_t *)&w->inbox_async, on_closed_free_nothing);
    uv_close((uv_handle_t *)&w->stop_async, on_closed_free_nothing);
    sh_publish_worker_stop(w, on_closed_free_nothing);
}

/* Releases the events handed over after the loop's last drain. */
static void drop_inbox(sh_worker_t *w)
{
    size_t head = atomic_load(&w->inbox.head), tail = atomic_load(&w->inbox.tail);

    for (; head != tail; head++)
        sh_event_unref(w->inbox.slots[head & (SH_INBOX_CAP - 1)]);
    atomic_store(&w->inbox.head, head);
}

int sh_worker_run(sh_worker_t *w, uv_run_mode mode)
{
    int rc;

    tl_worker = w;
    rc = uv_run(&w->loop, mode);
    tl_worker = NULL;
    return rc;
}

static void *worker_main(void *arg)
{
    sh_worker_t *w = arg;

    sh_worker_run(w, UV_RUN_DEFAULT);
    drop_inbox(w);
    return NULL;
}

typedef struct sh_addr_s {
    struct sockaddr_storage ss;
    socklen_t len;
} sh_addr_t;

/* "1.2.3.4:80" or "[::1]:80" (validated by the config already). */
static int parse_listen(const char *s, sh_addr_t *a)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    uint64_t port;
    size_t hl;

    if (colon == NULL || sh_parse_u64(colon + 1, strlen(colon + 1), &port) != 0 || port > 65535)
        return -1;
    hl = (size_t)(colon - s);
    memset(a, 0, sizeof(*a));
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

        if (hl - 2 >= sizeof(host))
            return -1;
        memcpy(host, s + 1, hl - 2);
        host[hl - 2] = '\0';
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return -1;
        a->len = sizeof(*in6);
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;

        if (hl >= sizeof(host))
            return -1;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (strcmp(host, "localhost") == 0)
            memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
            return -1;
        a->len = sizeof(*in4);
    }
    return 0;
}

static void set_port(sh_addr_t *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
}

static uint16_t get_port(const sh_addr_t *a)
{
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

/* A listening socket on |a|, non-blocking; |reuseport| for the loops sharing a port. */
static int bind_socket(const sh_addr_t *a, int reuseport, int *out)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        (a->ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, SH_BACKLOG) != 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

static void format_addr(const sh_addr_t *a, char *dst, size_t cap)
{
    char host[INET6_ADDRSTRLEN];

    if (a->ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, host, sizeof(host));
        snprintf(dst, cap, "[%s]:%u", host, get_port(a));
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, host, sizeof(host));
        snprintf(dst, cap, "%s:%u", host, get_port(a));
    }
}

static int worker_init(sh_server_t *srv, sh_worker_t *w, unsigned index)
{
    int rc;

    memset(w, 0, sizeof(*w));
    w->srv = srv;
    w->index = index;
    sh_list_init(&w->conns);
    sh_list_init(&w->reading);
    sh_list_init(&w->lingering);
    sh_list_init(&w->streams_hb);
    sh_list_init(&w->streams_age);
    sh_list_init(&w->stalled);
    sh_list_init(&w->dirty);
    sh_list_init(&w->streams_exp);
    w->inbox.slots = sh_calloc(SH_INBOX_CAP, sizeof(*w->inbox.slots));
    w->readbuf_size = SH_READBUF_SIZE;
    w->readbuf = sh_malloc(w->readbuf_size);
    w->listeners = sh_calloc(srv->cfg->nlisten + 1, sizeof(*w->listeners)); /* +metrics */
    w->reserve_fd = open_reserve();
    if (w->inbox.slots == NULL || w->readbuf == NULL || w->listeners == NULL)
        return SSEHUB_ENOMEM;
    if ((rc = sh_subs_init(&w->subs)) != 0)
        return rc;
    if ((rc = uv_loop_init(&w->loop)) != 0)
        return rc;
    /* libuv opens its own spare descriptor (loop->emfile_fd) when the loop's first stream
     * is made: make it now, so that the descriptors counted at start (fdlimit.c) and the
     * baseline an operator sees do not grow by one per loop at the first connection. */
    uv_tcp_init(&w->loop, &w->emfile_probe);
    uv_close((uv_handle_t *)&w->emfile_probe, NULL);
    uv_async_init(&w->loop, &w->inbox_async, on_inbox);
    w->inbox_async.data = w;
    uv_async_init(&w->loop, &w->stop_async, on_stop);
    w->stop_async.data = w;
    uv_idle_init(&w->loop, &w->flush_idle);
    w->flush_idle.data = w;
    if ((rc = sh_publish_worker_init(w)) != 0)
        return rc;
    uv_check_init(&w->loop, &w->inbox_check);
    w->inbox_check.data = w;
    uv_check_start(&w->inbox_check, on_inbox_check);
    uv_unref((uv_handle_t *)&w->inbox_check); /* keeps no loop alive */
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, SH_TICK_MS, SH_TICK_MS);
    uv_timer_init(&w->loop, &w->accept_timer);
    w->accept_timer.data = w;
    return 0;
}

static void worker_dispose(sh_worker_t *w)
{
    if (uv_loop_close(&w->loop) != 0)
        sh_log_warn("loop %u: handles still open at exit", w->index);
    sh_subs_dispose(&w->subs);
    sh_free(w->inbox.slots);
    sh_free(w->readbuf);
    sh_free(w->listeners);
    if (w->reserve_fd >= 0)
        close(w->reserve_fd);
}

/* Binds a listening socket on |a| for |w| (a port 0 becomes the port bound) and starts
 * watching it. 0, or an error after logging it. */
static int add_listener(sh_worker_t *w, const char *flag, sh_addr_t *a, int slot, int reuseport)
{
    sh_listener_t *l = &w->listeners[w->nlisteners];
    char name[96];
    int fd = -1, rc;

    if ((rc = bind_socket(a, reuseport, &fd)) != 0) {
        format_addr(a, name, sizeof(name));
        sh_log_error("%s: cannot listen on %s: %s", flag, name, strerror(-rc));
        return rc;
    }
    if (get_port(a) == 0) { /* port 0: every loop binds the port the first got */
        sh_addr_t bound;

        bound.len = sizeof(bound.ss);
        getsockname(fd, (struct sockaddr *)&bound.ss, &bound.len);
        set_port(a, get_port(&bound));
    }
    l->fd = fd;
    l->slot = slot;
    l->w = w;
    if ((rc = uv_poll_init_socket(&w->loop, &l->poll, fd)) != 0) {
        close(fd);
        sh_log_error("%s: cannot listen: %s", flag, uv_strerror(rc));
        return rc;
    }
    l->poll.data = l;
    w->nlisteners++;
    uv_poll_start(&l->poll, UV_READABLE, on_listener);
    return 0;
}

int sh_server_open_loops(sh_server_t *srv)
{
    const sh_config_t *cfg = srv->cfg;
    char names[SH_CONFIG_MAX_LISTEN][96], metrics_name[96];
    unsigned i;
    size_t li;
    int rc;

    srv->workers = sh_calloc(srv->nworkers, sizeof(*srv->workers));
    if (srv->workers == NULL)
        return SSEHUB_ENOMEM;
    for (i = 0; i < srv->nworkers; i++) {
        if ((rc = worker_init(srv, &srv->workers[i], i)) != 0) {
            sh_log_error("starting loop %u: %s", i, ssehub_strerror(rc));
            return rc;
        }
    }
    for (li = 0; li < cfg->nlisten; li++) {
        sh_addr_t a;

        if (parse_listen(cfg->listen[li], &a) != 0) {
            sh_log_error("--listen: '%s' is not ADDR:PORT", cfg->listen[li]);
            return SSEHUB_EINVAL;
        }
        for (i = 0; i < srv->nworkers; i++) {
            if ((rc = add_listener(&srv->workers[i], "--listen", &a, SH_SLOT_NORMAL, 1)) != 0)
                return rc;
        }
        format_addr(&a, names[li], sizeof(names[li]));
    }
    if (cfg->metrics_listen != NULL) { /* one socket, on the first loop */
        sh_addr_t a;

        if (parse_listen(cfg->metrics_listen, &a) != 0) {
            sh_log_error("--metrics-listen: '%s' is not ADDR:PORT", cfg->metrics_listen);
            return SSEHUB_EINVAL;
        }
        if ((rc = add_listener(&srv->workers[0], "--metrics-listen", &a, SH_SLOT_METRICS, 0)) != 0)
            return rc;
        format_addr(&a, metrics_name, sizeof(metrics_name));
    }
    /* Every descriptor but the connections' is open: the connection limit follows. */
    if (sh_fd_plan(srv) != 0)
        return SSEHUB_EINVAL;
    for (li = 0; li < cfg->nlisten; li++)
        sh_log_info("listening on %s", names[li]);
    if (cfg->metrics_listen != NULL)
        sh_log_info("/healthz and /metrics also on %s (--metrics-listen)", metrics_name);
    return 0;
}

int sh_server_start(sh_server_t *srv)
{
    unsigned i;
    int rc;

    if ((rc = sh_server_open_loops(srv)) != 0)
        return rc;
    for (i = 0; i < srv->nworkers; i++) {
        if ((rc = pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i])) !=
            0) {
            sh_log_error("starting loop %u: %s", i, strerror(rc));
            return -rc;
        }
    }
    return 0;
}

/*
 * Stopping. Without --subscriptions, every loop closes its streams at once (phase 2).
 * With it, phase 1 first: every loop announces the leave of each subscription of its
 * streams through the store (durable with LMDB, and in the history), and the streams stay
 * open. Once every loop has and the store has decided every one of those updates (the
 * store hands an event to every inbox before its publisher learns the outcome), phase 2:
 * each loop delivers its inbox, the leaves with it, then closes its streams. A loop starts
 * phase 2 on its own after SH_DRAIN_MS.
 */
void sh_server_stop(sh_server_t *srv)
{
    unsigned i;

    if (atomic_load(&srv->stop_phase) != 0)
        return; /* already stopping (the one caller is the main thread's signal handler) */
    if (srv->cfg->subscriptions)
        atomic_store(&srv->stop_pending, srv->nworkers); /* each loop's share */
    atomic_store(&srv->stop_phase, srv->cfg->subscriptions ? 1u : 2u);
    for (i = 0; i < srv->nworkers; i++)
        uv_async_send(&srv->workers[i].stop_async);
}

void sh_server_join(sh_server_t *srv)
{
    unsigned i;

    for (i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i].thread, NULL);
    sh_fd_log_refusals(srv, 1); /* the counts not logged yet */
    sh_server_close_loops(srv);
}

void sh_server_close_loops(sh_server_t *srv)
{
    unsigned i;

    /* The store finishes the publishes in flight (their answers go nowhere now) before
     * the inboxes and queues they reach are released. */
    sh_store_close(srv->store);
    for (i = 0; i < srv->nworkers; i++) {
        drop_inbox(&srv->workers[i]); /* events another loop published after this one ended */
        sh_publish_worker_dispose(&srv->workers[i]);
        worker_dispose(&srv->workers[i]);
    }
    sh_free(srv->workers);
    srv->workers = NULL;
}
