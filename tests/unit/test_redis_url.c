/* SPDX-License-Identifier: MIT */
/* Unit tests for sh_redis_url_parse (src/store/store_redis_url.c): the Redis store's URIs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ssehub/errno.h"
#include "store/store_redis_url.h"

static void test_redis_url_plain(void **state)
{
    sh_redis_url_t u;
    char err[256];

    (void)state;
    assert_int_equal(sh_redis_url_parse("redis://127.0.0.1:6379", &u, err, sizeof(err)), 0);
    assert_false(u.sentinel);
    assert_int_equal(u.naddrs, 1);
    assert_string_equal(u.addrs[0].host, "127.0.0.1");
    assert_int_equal(u.addrs[0].port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_int_equal(u.maxlen, 1000000);
    assert_int_equal(u.replicas, 0);
    assert_int_equal(u.wait_ms, 1000);
    assert_false(u.durability_aof);
    assert_string_equal(u.prefix, "ssehub");
}

static void test_redis_url_full(void **state)
{
    sh_redis_url_t u;
    char err[256];

    (void)state;
    assert_int_equal(sh_redis_url_parse("redis://app:s3cr@t@[::1]:7000/3?maxlen=500&replicas=2&"
                                        "wait=250&durability=aof&prefix=hub:a",
                                        &u, err, sizeof(err)),
                     0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "s3cr@t");
    assert_string_equal(u.addrs[0].host, "::1");
    assert_int_equal(u.addrs[0].port, 7000);
    assert_int_equal(u.db, 3);
    assert_int_equal(u.maxlen, 500);
    assert_int_equal(u.replicas, 2);
    assert_int_equal(u.wait_ms, 250);
    assert_true(u.durability_aof);
    assert_string_equal(u.prefix, "hub:a");
    assert_int_equal(sh_redis_url_parse("redis://:pw@h:1", &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
}

static void test_redis_url_sentinel(void **state)
{
    sh_redis_url_t u;
    char err[256];

    (void)state;
    assert_int_equal(sh_redis_url_parse("redis-sentinel://a:26379,b:26380,c:26381/mymaster/2", &u,
                                        err, sizeof(err)),
                     0);
    assert_true(u.sentinel);
    assert_int_equal(u.naddrs, 3);
    assert_string_equal(u.addrs[1].host, "b");
    assert_int_equal(u.addrs[2].port, 26381);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 2);
    assert_int_equal(sh_redis_url_parse("redis-sentinel://a:1/m?replicas=1", &u, err, sizeof(err)),
                     0);
    assert_string_equal(u.master, "m");
    assert_int_equal(u.replicas, 1);
}

static void test_redis_url_bad(void **state)
{
    static const char *const bad[] = {
        "redis:/h:1",
        "redis://",
        "redis://h",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:x",
        "redis://:1",
        "redis://h:1,h:2",
        "redis://h:1/",
        "redis://h:1/db",
        "redis://h:1?maxlen=0",
        "redis://h:1?maxlen=",
        "redis://h:1?replicas=65",
        "redis://h:1?wait=0",
        "redis://h:1?durability=disk",
        "redis://h:1?prefix=a b",
        "redis://h:1?colour=red",
        "redis://h:1?maxlen",
        "redis://user@h:1",
        "redis-sentinel://h:1",
        "redis-sentinel://h:1/",
        "redis-sentinel://h:1,/m",
        "redis-sentinel://h:1/m/",
        "redis-sentinel://1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9/m",
    };
    sh_redis_url_t u;
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (sh_redis_url_parse(bad[i], &u, err, sizeof(err)) != SSEHUB_EINVAL)
            fail_msg("%s was accepted", bad[i]);
        if (err[0] == '\0')
            fail_msg("%s: no reason given", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_url_plain),
        cmocka_unit_test(test_redis_url_full),
        cmocka_unit_test(test_redis_url_sentinel),
        cmocka_unit_test(test_redis_url_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
