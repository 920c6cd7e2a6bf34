/* SPDX-License-Identifier: MIT */
/*
 * An event log for tests and fuzz targets: parser callbacks that record a copy of every
 * event and retry they receive, in order, and can cancel the parse at a chosen callback.
 * Everything lives on libc's allocator (so a test allocator installed in ssehub counts only
 * the library's memory). No cmocka here: fuzz targets link this file. Out of memory aborts.
 */
#ifndef SH_TEST_EVLOG_H
#define SH_TEST_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssehub/sse.h"

/** One callback: an event, or a retry value. The strings are owned by the record. */
typedef struct sh_test_rec_s {
    bool is_retry;   /* true: on_retry with |retry|; false: on_event with the strings */
    uint64_t retry;  /* the retry value in milliseconds, when |is_retry| */
    char *type;      /* libc copy, NUL-terminated; NULL in a retry record */
    size_t type_len; /* bytes at |type|, not counting the NUL */
    char *data;      /* libc copy, NUL-terminated; NULL in a retry record */
    size_t data_len; /* bytes at |data|, not counting the NUL */
    char *id;        /* libc copy, NUL-terminated; NULL in a retry record */
    size_t id_len;   /* bytes at |id|, not counting the NUL */
} sh_test_rec_t;

/**
 * Callbacks in order: those one parse made, or those a test expects. Initialise with
 * SH_TEST_LOG_INIT (not with zeroes: cancel_at 0 would cancel the first callback), free
 * with sh_test_log_free(). A log may be moved by assignment; the source must then be
 * set to SH_TEST_LOG_INIT again.
 */
typedef struct sh_test_log_s {
    sh_test_rec_t *v; /* the records, |n| of them; NULL while |cap| is 0 */
    size_t n;         /* records in |v| */
    size_t cap;       /* records allocated */
    size_t cancel_at; /* the callback (0-based) that returns non-zero; SIZE_MAX: none */
} sh_test_log_t;

/** An empty log that cancels at no callback, for initialising an sh_test_log_t. */
#define SH_TEST_LOG_INIT     \
    {                        \
        NULL, 0, 0, SIZE_MAX \
    }

/**
 * Appends a record with every field zero (an event with NULL strings) and returns it; the
 * pointer stays valid until the next sh_test_log_add() or sh_test_log_free() on |l|.
 */
sh_test_rec_t *sh_test_log_add(sh_test_log_t *l);

/** Frees every record and their strings, and leaves |l| as SH_TEST_LOG_INIT. */
void sh_test_log_free(sh_test_log_t *l);

/** Whether |a| and |b| are the same callback: same retry, or same type, data and id bytes. */
bool sh_test_rec_equal(const sh_test_rec_t *a, const sh_test_rec_t *b);

/** Whether |a| and |b| hold as many records and each pair is sh_test_rec_equal(). */
bool sh_test_log_equal(const sh_test_log_t *a, const sh_test_log_t *b);

/**
 * An ssehub_sse_event_cb: |user| is an sh_test_log_t. Appends a copy of |ev|'s type, data
 * and id (has_retry and retry are not recorded). Returns 1 when this is callback number
 * cancel_at of the log (counting events and retries from 0), else 0.
 */
int sh_test_log_on_event(void *user, const ssehub_sse_event_t *ev);

/**
 * An ssehub_sse_retry_cb: |user| is an sh_test_log_t. Appends a retry record of
 * |retry_ms|. Returns 1 when this is callback number cancel_at of the log, else 0.
 */
int sh_test_log_on_retry(void *user, uint64_t retry_ms);

/** malloc(len), or of 1 byte when |len| is 0: never NULL. Free with free(). */
void *sh_test_xmalloc(size_t len);

/** A libc copy of the |len| bytes at |s| plus a NUL: never NULL. Free with free(). */
char *sh_test_dup_bytes(const char *s, size_t len);

/** Whether byte |c| occurs in the |len| bytes at |s| (|s| may be NULL when |len| is 0). */
bool sh_test_has_byte(const char *s, size_t len, char c);

#endif /* SH_TEST_EVLOG_H */
