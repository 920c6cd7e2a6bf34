/* SPDX-License-Identifier: MIT */
/*
 * A test allocator installed with ssehub_replace_allocator(): counts live allocations and
 * bytes (to prove no leak and bounded memory) and fails on demand (OOM path tests).
 */
#ifndef SH_TEST_FAILALLOC_H
#define SH_TEST_FAILALLOC_H

#include <stddef.h>

/** Installs the allocator and resets its counters. Call before creating any ssehub object. */
void sh_failalloc_install(void);

/** Lets |n| more allocations succeed, then fails every one; -1 never fails. */
void sh_failalloc_fail_after(long n);

/** Number of allocations alive (allocated, not yet freed). */
size_t sh_failalloc_live(void);

/** Bytes alive now, and the most bytes alive at once since the last reset. */
size_t sh_failalloc_live_bytes(void);
size_t sh_failalloc_peak_bytes(void);
void sh_failalloc_reset_peak(void);

#endif /* SH_TEST_FAILALLOC_H */
