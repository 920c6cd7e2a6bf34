/* SPDX-License-Identifier: MIT */
/* The record of an event in a durable store (see store_record.h for the layout). */
#include <string.h>

#include "base/alloc.h"
#include "store/store_record.h"
#include "ssehub/errno.h"

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_le64(const unsigned char *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_bytes(unsigned char **p, const char *s, size_t len)
{
    if (len > 0)
        memcpy(*p, s, len);
    *p += len;
}

size_t sh_store_rec_size(const sh_event_init_t *init)
{
    size_t n = SH_STORE_REC_HEAD + 4 * init->ntopics + init->id.len + init->type.len +
               init->data.len,
           i;

    for (i = 0; i < init->ntopics; i++)
        n += init->topics[i].len;
    return n;
}

void sh_store_rec_encode(unsigned char *p, const sh_event_init_t *init)
{
    size_t i;

    p[0] = 1;
    p[1] = (unsigned char)((init->is_private ? 1 : 0) | (init->has_retry ? 2 : 0));
    p[2] = p[3] = 0;
    put_le32(p + 4, (uint32_t)init->ntopics);
    put_le32(p + 8, (uint32_t)init->id.len);
    put_le32(p + 12, (uint32_t)init->type.len);
    put_le64(p + 16, init->data.len);
    put_le64(p + 24, init->has_retry ? init->retry : 0);
    put_le64(p + 32, (uint64_t)init->time_ms);
    p += SH_STORE_REC_HEAD;
    for (i = 0; i < init->ntopics; i++, p += 4)
        put_le32(p, (uint32_t)init->topics[i].len);
    put_bytes(&p, init->id.ptr, init->id.len);
    put_bytes(&p, init->type.ptr, init->type.len);
    for (i = 0; i < init->ntopics; i++)
        put_bytes(&p, init->topics[i].ptr, init->topics[i].len);
    put_bytes(&p, init->data.ptr, init->data.len);
}

/* Lengths are added in uint64_t and checked against |len| at each step, so no sum can
 * overflow (every term is at most 2^32, or |len| for the data). */
int sh_store_rec_decode(const void *rec, size_t len, uint64_t seq, sh_event_init_t *init,
                        sh_str_t **topics, size_t *cap)
{
    const unsigned char *p = rec;
    uint64_t nt, idl, tyl, dl, need;
    size_t i;

    if (len < SH_STORE_REC_HEAD || p[0] != 1 || (p[1] & ~3u) != 0 || p[2] != 0 || p[3] != 0)
        return SSEHUB_EINVAL;
    nt = get_le32(p + 4);
    idl = get_le32(p + 8);
    tyl = get_le32(p + 12);
    dl = get_le64(p + 16);
    if (nt == 0 || nt > (len - SH_STORE_REC_HEAD) / 4 || idl == 0 || dl > len)
        return SSEHUB_EINVAL;
    need = SH_STORE_REC_HEAD + 4 * nt + idl + tyl + dl;
    if (need > len)
        return SSEHUB_EINVAL;
    if ((p[1] & 2) == 0 && get_le64(p + 24) != 0)
        return SSEHUB_EINVAL; /* the encoder writes 0 when there is no retry */
    for (i = 0; i < nt; i++) {
        need += get_le32(p + SH_STORE_REC_HEAD + 4 * i);
        if (need > len)
            return SSEHUB_EINVAL;
    }
    if (need != len)
        return SSEHUB_EINVAL;
    if (nt > *cap) {
        sh_str_t *t = sh_realloc(*topics, nt * sizeof(*t));

        if (t == NULL)
            return SSEHUB_ENOMEM;
        *topics = t;
        *cap = nt;
    }
    memset(init, 0, sizeof(*init));
    init->is_private = p[1] & 1;
    init->has_retry = (p[1] & 2) != 0;
    init->retry = get_le64(p + 24);
    init->time_ms = (int64_t)get_le64(p + 32);
    init->seq = seq;
    p += SH_STORE_REC_HEAD;
    for (i = 0; i < nt; i++, p += 4)
        (*topics)[i].len = get_le32(p);
    init->id.ptr = (const char *)p;
    init->id.len = idl;
    p += idl;
    init->type.ptr = (const char *)p;
    init->type.len = tyl;
    p += tyl;
    for (i = 0; i < nt; i++) {
        (*topics)[i].ptr = (const char *)p;
        p += (*topics)[i].len;
    }
    init->data.ptr = (const char *)p;
    init->data.len = dl;
    init->topics = *topics;
    init->ntopics = nt;
    return 0;
}
