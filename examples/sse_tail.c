/* SPDX-License-Identifier: MIT */
/*
 * sse_tail: the smallest useful EventSource client, built on ssehub_client_run(). It
 * prints the events of URL, one per line, and exits after COUNT of them (default: never),
 * or with status 1 when the server refuses the stream for good. Reconnection, Last-Event-ID
 * and backoff are the library's.
 *
 *   cc sse_tail.c $(pkg-config --cflags --libs ssehub) -o sse_tail
 *   ./sse_tail 'http://127.0.0.1:8080/.well-known/mercure?topic=orders' 10
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <ssehub/client.h>
#include <ssehub/ssehub.h>

typedef struct tail_s {
    long left; /* events still to print; negative: no limit */
} tail_t;

static void on_event(ssehub_client_t *c, const ssehub_sse_event_t *ev)
{
    tail_t *t = ssehub_client_data(c);

    printf("%.*s\t%.*s\t%.*s\n", (int)ev->id_len, ev->id, (int)ev->type_len, ev->type,
           (int)ev->data_len, ev->data);
    fflush(stdout);
    if (t->left > 0 && --t->left == 0)
        ssehub_client_close(c); /* ssehub_client_run() then returns 0 */
}

static void on_error(ssehub_client_t *c, int err, const char *message)
{
    (void)err;
    if (ssehub_client_state(c) == SSEHUB_CLIENT_CONNECTING)
        fprintf(stderr, "sse_tail: %s; reconnecting\n", message);
    else
        fprintf(stderr, "sse_tail: %s\n", message);
}

int main(int argc, char **argv)
{
    ssehub_client_options_t options = {0};
    tail_t t = {-1};
    int rc;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: sse_tail URL [COUNT]\n");
        return 2;
    }
    if (argc == 3)
        t.left = strtol(argv[2], NULL, 10);
    signal(SIGPIPE, SIG_IGN); /* libuv writes to sockets with write() */
    options.on_event = on_event;
    options.on_error = on_error;
    options.data = &t;
    rc = ssehub_client_run(argv[1], &options);
    if (rc != 0 && rc != SSEHUB_EHTTPSTATUS && rc != SSEHUB_ECONTENTTYPE && rc != SSEHUB_ETLS &&
        rc != SSEHUB_EREDIRECT)
        fprintf(stderr, "sse_tail: %s\n", ssehub_strerror(rc));
    return rc == 0 ? 0 : 1;
}
