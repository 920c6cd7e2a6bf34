/* SPDX-License-Identifier: MIT */
#include "server/log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static sh_log_level_t log_level = SH_LOG_INFO;
static FILE *access_fp;

/*
 * Names whose values are credentials and never reach a log: the query parameter Mercure
 * takes a subscriber's JWT in (authorization), OAuth's (access_token, RFC 6750 §2.3) and the
 * Mercure cookie (mercureAuthorization). The one list: README "Logs" refers to it.
 * Matched in every log line (access log and stderr) after percent-decoding the name,
 * ignoring case, wherever a name=value pair can start (after ?, &, ;, space, quote, comma).
 */
static const char *const secret_names[] = {"authorization", "access_token", "mercureAuthorization",
                                           "__Secure-mercure_access_token"};

#define SH_REDACTED "REDACTED"

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

/* Where a name=value pair, or an auth scheme's credentials, can start. */
static int is_pair_delim(char ch)
{
    return ch == '?' || ch == '&' || ch == ';' || ch == ' ' || ch == '\t' || ch == '"' ||
           ch == '\'' || ch == ',';
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Whether |name| (raw, as in a query: %XX and + decoded here) is one of secret_names. */
static int is_secret_name(const char *name, size_t len)
{
    char dec[32];
    size_t i, n = 0, k;

    for (i = 0; i < len; i++) {
        char ch = name[i];

        if (n == sizeof(dec))
            return 0; /* longer than any secret name */
        if (ch == '%' && i + 2 < len && hex_value(name[i + 1]) >= 0 &&
            hex_value(name[i + 2]) >= 0) {
            ch = (char)(hex_value(name[i + 1]) * 16 + hex_value(name[i + 2]));
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        dec[n++] = ch;
    }
    for (k = 0; k < sizeof(secret_names) / sizeof(secret_names[0]); k++)
        if (strlen(secret_names[k]) == n && strncasecmp(dec, secret_names[k], n) == 0)
            return 1;
    return 0;
}

/* Appends |len| bytes of |s| to out (cap bytes, o used), as much as fits. */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t len)
{
    size_t room = cap - 1 - *o;

    if (len > room)
        len = room;
    memcpy(out + *o, s, len);
    *o += len;
}

size_t sh_log_redact(const char *in, size_t n, char *out, size_t cap)
{
    size_t i = 0, o = 0;
    int at_start = 1;

    if (cap == 0)
        return 0;
    while (i < n && o + 1 < cap) {
        if (at_start) {
            size_t j = i;

            while (j < n && in[j] != '=' && !is_pair_delim(in[j]))
                j++;
            if (j < n && in[j] == '=' && is_secret_name(in + i, j - i)) {
                /* name=value: the name stays (it says what was there), the value goes. */
                put(out, cap, &o, in + i, j + 1 - i);
                put(out, cap, &o, SH_REDACTED, sizeof(SH_REDACTED) - 1);
                for (i = j + 1; i < n && !is_pair_delim(in[i]); i++)
                    ;
                at_start = 0;
                continue;
            }
            if (n - i > 7 && strncasecmp(in + i, "Bearer ", 7) == 0) {
                /* An Authorization header's credentials, should a line ever carry one. */
                put(out, cap, &o, in + i, 7);
                put(out, cap, &o, SH_REDACTED, sizeof(SH_REDACTED) - 1);
                for (i += 7; i < n && in[i] == ' '; i++)
                    ;
                for (; i < n && !is_pair_delim(in[i]); i++)
                    ;
                at_start = 0;
                continue;
            }
        }
        at_start = is_pair_delim(in[i]);
        out[o++] = in[i++];
    }
    out[o] = '\0';
    return o;
}

void sh_log(sh_log_level_t level, const char *fmt, ...)
{
    char line[1024];
    char safe[1024];
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
    /* Whatever a line says, no credential gets out (a request target, say). */
    sh_log_redact(line, strlen(line), safe, sizeof(safe));
    /* One fputs per line: stdio locks the stream, so lines from loops never interleave. */
    fprintf(stderr, "%s\n", safe);
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
    char safe[513]; /* the target, redacted, then cut at 512 bytes */

    if (access_fp == NULL)
        return;
    format_time(ts, sizeof(ts));
    sh_log_redact(target, target_len, safe, sizeof(safe));
    fprintf(access_fp, "%s %s \"%s %s\" %d %llu\n", ts, peer, method, safe, status, bytes);
}
