/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the log redaction (src/server/log.c, sh_log_redact): credentials in query
 * strings, cookies and Bearer headers become REDACTED whatever their spelling (case,
 * percent-encoded names), and nothing else changes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/log.h"

static void assert_redacts(const char *in, const char *want)
{
    char out[256];
    size_t n = sh_log_redact(in, strlen(in), out, sizeof(out));

    assert_int_equal(n, strlen(out));
    if (strcmp(out, want) != 0)
        fail_msg("redact(%s) = %s, want %s", in, out, want);
}

static void test_query(void **state)
{
    (void)state;
    assert_redacts("/.well-known/mercure?topic=a&authorization=eyJh.eyJz.c2ln",
                   "/.well-known/mercure?topic=a&authorization=REDACTED");
    assert_redacts("/.well-known/mercure?authorization=eyJh.eyJz.c2ln&topic=a",
                   "/.well-known/mercure?authorization=REDACTED&topic=a");
    assert_redacts("/x?authoriz%61tion=tok", "/x?authoriz%61tion=REDACTED");
    assert_redacts("/x?%61%75thorization=tok&a=b", "/x?%61%75thorization=REDACTED&a=b");
    assert_redacts("/x?AUTHORIZATION=tok", "/x?AUTHORIZATION=REDACTED");
    assert_redacts("/x?access_token=tok;y=1", "/x?access_token=REDACTED;y=1");
    assert_redacts("/x?authorization=", "/x?authorization=REDACTED");
    assert_redacts("/x?a=1&authorization=t1&authorization=t2",
                   "/x?a=1&authorization=REDACTED&authorization=REDACTED");
    /* Not credentials: other names, values, paths. */
    assert_redacts("/x?myauthorization=v&authorizationx=w",
                   "/x?myauthorization=v&authorizationx=w");
    assert_redacts("/x?topic=authorization=v", "/x?topic=authorization=v");
    assert_redacts("/authorization=v", "/authorization=v");
    assert_redacts("listening on 127.0.0.1:8080", "listening on 127.0.0.1:8080");
    assert_redacts("authorization: no --publisher-key", "authorization: no --publisher-key");
}

static void test_headers_and_cookies(void **state)
{
    (void)state;
    assert_redacts("Cookie: a=1; mercureAuthorization=eyJh.eyJz.c2ln; b=2",
                   "Cookie: a=1; mercureAuthorization=REDACTED; b=2");
    assert_redacts("Authorization: Bearer eyJh.eyJz.c2ln", "Authorization: Bearer REDACTED");
    assert_redacts("Authorization: bearer   eyJh.eyJz.c2ln x", "Authorization: bearer REDACTED x");
    assert_redacts("GET \"/x?authorization=t\" 401", "GET \"/x?authorization=REDACTED\" 401");
}

static void test_truncation(void **state)
{
    char out[24];
    const char *in = "/x?authorization=eyJh.eyJz.c2ln&topic=a";

    (void)state;
    assert_int_equal(sh_log_redact(in, strlen(in), out, sizeof(out)), sizeof(out) - 1);
    assert_string_equal(out, "/x?authorization=REDACT");
    assert_int_equal(sh_log_redact(in, strlen(in), out, 1), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_headers_and_cookies),
        cmocka_unit_test(test_truncation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
