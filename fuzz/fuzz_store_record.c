/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the durable store's event record (src/store/store_record.c): the bytes
 * the LMDB store reads back from DIR, which may be corrupt. For each input it checks that:
 *   1. decoding never reads outside the input, and refuses (EINVAL) anything whose lengths
 *      do not add up exactly;
 *   2. a record that decodes encodes back to exactly the same bytes, and
 *      sh_store_rec_size() agrees with its length;
 *   3. sh_event_new() on the decoded fields either refuses them (EINVAL: an id or type with
 *      CR, LF or NUL) or makes an event with the same id, topics and flags;
 *   4. with an allocator that fails after N allocations, decoding and making the event
 *      give ENOMEM or the same result; nothing is ever left allocated.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "hub/event.h"
#include "store/store_record.h"
#include "ssehub/errno.h"
#include "support/failalloc.h"
#include "fuzz.h"

/* Decodes |data| and, when it is a record, checks 2 and 3. Returns the decode result. */
static int check_one(const uint8_t *data, size_t size, bool failing)
{
    sh_event_init_t init;
    sh_str_t *topics = NULL;
    size_t cap = 0, i;
    sh_event_t *ev = NULL;
    unsigned char *again;
    int rc, erc;

    rc = sh_store_rec_decode(data, size, 7, &init, &topics, &cap);
    if (rc != 0) {
        FUZZ_CHECK(rc == SSEHUB_EINVAL || (failing && rc == SSEHUB_ENOMEM));
        sh_free(topics);
        return rc;
    }
    FUZZ_CHECK(init.ntopics >= 1 && init.id.len >= 1 && init.seq == 7);
    FUZZ_CHECK(sh_store_rec_size(&init) == size);
    again = sh_malloc(size);
    if (again != NULL) {
        sh_store_rec_encode(again, &init);
        FUZZ_CHECK(memcmp(again, data, size) == 0);
        sh_free(again);
    } else {
        FUZZ_CHECK(failing);
    }
    erc = sh_event_new(&init, &ev);
    FUZZ_CHECK(erc == 0 || erc == SSEHUB_EINVAL || (failing && erc == SSEHUB_ENOMEM));
    if (erc == 0) {
        FUZZ_CHECK(ev->id.len == init.id.len && memcmp(ev->id.ptr, init.id.ptr, init.id.len) == 0);
        FUZZ_CHECK(ev->ntopics == init.ntopics && ev->seq == 7);
        FUZZ_CHECK(ev->is_private == (init.is_private != 0));
        for (i = 0; i < init.ntopics; i++)
            FUZZ_CHECK(ev->topics[i].len == init.topics[i].len &&
                       (init.topics[i].len == 0 ||
                        memcmp(ev->topics[i].ptr, init.topics[i].ptr, init.topics[i].len) == 0));
        sh_event_unref(ev);
    }
    sh_free(topics);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    int want;
    long n;

    if (!installed) {
        sh_failalloc_install();
        installed = true;
    }
    FUZZ_CHECK(sh_failalloc_live() == 0);
    want = check_one(data, size, false);
    FUZZ_CHECK(sh_failalloc_live() == 0);
    for (n = 0; n < 4; n++) {
        int rc;

        sh_failalloc_fail_after(n);
        rc = check_one(data, size, true);
        sh_failalloc_fail_after(-1);
        FUZZ_CHECK(rc == want || rc == SSEHUB_ENOMEM);
        FUZZ_CHECK(sh_failalloc_live() == 0);
    }
    return 0;
}
