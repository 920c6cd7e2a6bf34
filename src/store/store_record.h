/* SPDX-License-Identifier: MIT */
/*
 * A durable store's record of one event: the fields sh_event_new() needs, in a fixed
 * little-endian layout. No I/O: the LMDB store writes and reads the bytes, and a fuzz
 * target checks the decoder (a DIR on disk is input: it may be corrupt).
 *
 * Layout: u8 version (1), u8 flags (1: private, 2: has retry), u16 0, u32 ntopics, u32 id
 * length, u32 type length, u64 data length, u64 retry, i64 time (ms); a u32 length per
 * topic; then the id, the type, the topics and the data.
 */
#ifndef SH_SERVER_STORE_RECORD_H
#define SH_SERVER_STORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "hub/event.h"

#define SH_STORE_REC_HEAD 40u /* the fixed part */

/** The size of the record of |init| (its id, topics, type, data, retry, flags, time). */
size_t sh_store_rec_size(const sh_event_init_t *init);

/** Writes the record of |init| to |dst|, which has sh_store_rec_size() bytes. */
void sh_store_rec_encode(unsigned char *dst, const sh_event_init_t *init);

/**
 * Decodes the |len| bytes at |rec| into |init| (seq set to |seq|); its strings point into
 * |rec|, and its topic array is |*topics|, grown as needed (|*cap| entries; the caller
 * frees it with sh_free). Returns 0, SSEHUB_EINVAL (not a well-formed record: every length
 * must add up to |len| exactly, at least one topic, a non-empty id) or SSEHUB_ENOMEM.
 */
int sh_store_rec_decode(const void *rec, size_t len, uint64_t seq, sh_event_init_t *init,
                        sh_str_t **topics, size_t *cap);

#endif /* SH_SERVER_STORE_RECORD_H */
