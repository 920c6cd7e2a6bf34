/* SPDX-License-Identifier: MIT */
/* Logging to stderr ("2026-11-21T10:00:00.123Z info listening on ...") and the access log. */
#ifndef SH_SERVER_LOG_H
#define SH_SERVER_LOG_H

#include <stdio.h>

#include "server/config.h"

void sh_log_set_level(sh_log_level_t level);
int sh_log_enabled(sh_log_level_t level);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sh_log(sh_log_level_t level, const char *fmt, ...);

#define sh_log_error(...) sh_log(SH_LOG_ERROR, __VA_ARGS__)
#define sh_log_warn(...)  sh_log(SH_LOG_WARN, __VA_ARGS__)
#define sh_log_info(...)  sh_log(SH_LOG_INFO, __VA_ARGS__)
#define sh_log_debug(...)                      \
    do {                                       \
        if (sh_log_enabled(SH_LOG_DEBUG))      \
            sh_log(SH_LOG_DEBUG, __VA_ARGS__); \
    } while (0)

/** Opens the access log (|path| "-" is stderr). Returns 0 or -errno. */
int sh_access_log_open(const char *path);
void sh_access_log_close(void);
int sh_access_log_enabled(void);
/** One line: time, peer, method, target, status, bytes. */
void sh_access_log(const char *peer, const char *method, const char *target, size_t target_len,
                   int status, unsigned long long bytes);

/**
 * Copies |n| bytes of |in| to |out| (|cap| bytes, NUL-terminated, cut to fit) with the value
 * of every name=value pair whose name is a credential's (the list in log.c: authorization,
 * access_token, mercureAuthorization; percent-decoded, any case) and whatever follows
 * "Bearer " replaced by REDACTED. sh_log() and sh_access_log() pass every line through it.
 * Returns the length written.
 */
size_t sh_log_redact(const char *in, size_t n, char *out, size_t cap);

/** Wall-clock milliseconds since the epoch (the server layer's clock). */
long long sh_wall_ms(void);

#endif /* SH_SERVER_LOG_H */
