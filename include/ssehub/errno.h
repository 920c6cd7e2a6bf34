/* SPDX-License-Identifier: MIT */
/* Error codes shared by every ssehub API: 0 is success, a negative SSEHUB_E* is an error. */
#ifndef SSEHUB_ERRNO_H
#define SSEHUB_ERRNO_H

#include <errno.h>

#include "ssehub/export.h"

/*
 * The one table of error codes. System errors keep their negated errno value so that
 * a code from a system call (SH_ERR(errno)) and one of ours never collide; the codes
 * that only ssehub defines live at -4000 and below.
 */
#define SSEHUB_ERRNO_MAP(XX)                                            \
    XX(ENOMEM, -ENOMEM, "out of memory")                                \
    XX(EINVAL, -EINVAL, "invalid argument")                             \
    XX(E2BIG, -E2BIG, "input exceeds the configured size limit")        \
    XX(ENOBUFS, -ENOBUFS, "output buffer too small")                    \
    XX(EPROTO, -EPROTO, "protocol error")                               \
    XX(ECANCELED, -ECANCELED, "operation canceled by a callback")       \
    XX(EIO, -EIO, "input/output error")                                 \
    XX(EBADSTATE, -4000, "object is in an error state; reset it first") \
    XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                              \
    XX(EHTTPSTATUS, -4101, "unexpected HTTP status")                    \
    XX(ECONTENTTYPE, -4102, "response is not text/event-stream")        \
    XX(ETLS, -4103, "TLS handshake or certificate error")               \
    XX(EREDIRECT, -4104, "too many redirects or a bad redirect")        \
    XX(EEOF, -4105, "end of stream")

#ifdef __cplusplus
extern "C" {
#endif

/** The error codes; each value is negative. */
typedef enum {
#define SSEHUB__ERR_ENUM(name, value, text) SSEHUB_##name = (value),
    SSEHUB_ERRNO_MAP(SSEHUB__ERR_ENUM)
#undef SSEHUB__ERR_ENUM
} ssehub_errno_t;

/**
 * Returns a one-line English description of |err| ("out of memory"). For a code that is not
 * in SSEHUB_ERRNO_MAP, returns "unknown error". Static storage; thread-safe.
 */
SSEHUB_EXTERN const char *ssehub_strerror(int err);

/**
 * Returns the symbolic name of |err| ("ENOMEM"), or "UNKNOWN" for a code that is not in
 * SSEHUB_ERRNO_MAP. Static storage; thread-safe.
 */
SSEHUB_EXTERN const char *ssehub_err_name(int err);

#ifdef __cplusplus
}
#endif

#endif /* SSEHUB_ERRNO_H */
