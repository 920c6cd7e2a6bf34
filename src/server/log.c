/* SPDX-License-Identifier: MIT */
#include "server/log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static sh_log_level_t log_level = SH_LOG_INFO;
static FILE *access_fp;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sh_log_set_level(sh_log_level_t level)
{
    log_level = level;
}

int sh_log_enabled(sh_log_level_t level)
{
    return level <= log_level;
}

long long sh_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-21T10:00:00.123Z" into |dst| (at least 32 bytes). */
static void format_time(char *dst, size_t cap)
{
    long long ms = sh_wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(dst, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(dst + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

void sh_log(sh_log_level_t level, const char *fmt, ...)
{
    char line[1024];
    char ts[40];
    va_list ap;
    int n;

    if (!sh_log_enabled(level))
        return;
    format_time(ts, sizeof(ts));
    n = snprintf(line, sizeof(line), "%s %s ", ts, level_names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line: stdio locks the stream, so lines from loops never interleave. */
    fprintf(stderr, "%s\n", line);
}

int sh_access_log_open(const char *path)
{
    if (strcmp(path, "-") == 0) {
        access_fp = stderr;
        return 0;
    }
    access_fp = fopen(path, "a");
    if (access_fp == NULL)
        return -errno;
    setvbuf(access_fp, NULL, _IOLBF, 0);
    return 0;
}

void sh_access_log_close(void)
{
    if (access_fp != NULL && access_fp != stderr)
        fclose(access_fp);
    access_fp = NULL;
}

int sh_access_log_enabled(void)
{
    return access_fp != NULL;
}

void sh_access_log(const char *peer, const char *method, const char *target, size_t target_len,
                   int status, unsigned long long bytes)
{
    char ts[40];
    int tl = target_len > 512 ? 512 : (int)target_len;

    if (access_fp == NULL)
        return;
    format_time(ts, sizeof(ts));
    fprintf(access_fp, "%s %s \"%s %.*s\" %d %llu\n", ts, peer, method, tl, target, status, bytes);
}
