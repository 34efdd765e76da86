/* Listening sockets shared by several loops (SO_REUSEPORT) and the caps
 * their servers share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>

#include "tg_err.h"
#include "tg_listen.h"

static void test_parse_addr(void **state)
{
    struct sockaddr_storage ss;

    (void)state;
    assert_int_equal(tg_listen_parse_addr("127.0.0.1:4318", &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 4318);
    assert_int_equal(tg_listen_parse_addr("[::1]:0", &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(tg_listen_parse_addr(":4317", &ss), 0);
    assert_int_equal(tg_listen_parse_addr("::1:4317", &ss), TG_EINVAL);
    assert_int_equal(tg_listen_parse_addr("127.0.0.1", &ss), TG_EINVAL);
    assert_int_equal(tg_listen_parse_addr("127.0.0.1:65536", &ss), TG_EINVAL);
    assert_int_equal(tg_listen_parse_addr("127.0.0.1:x", &ss), TG_EINVAL);
    assert_int_equal(tg_listen_parse_addr(NULL, &ss), TG_EINVAL);
}

static int bound_port(uv_tcp_t *h)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    assert_int_equal(uv_tcp_getsockname(h, (struct sockaddr *)&ss, &len), 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Two loops may listen on one port only when both ask for SO_REUSEPORT. */
static void test_reuseport_bind(void **state)
{
    uv_loop_t loop;
    uv_tcp_t a, b, c;
    struct sockaddr_storage ss;
    char addr[64];
    int port;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(tg_listen_parse_addr("127.0.0.1:0", &ss), 0);
    uv_tcp_init(&loop, &a);
    assert_int_equal(tg_listen_bind(&a, (struct sockaddr *)&ss, 1), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&a, 16, NULL), 0);
    port = bound_port(&a);
    assert_true(port > 0);

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_int_equal(tg_listen_parse_addr(addr, &ss), 0);
    uv_tcp_init(&loop, &b);
    assert_int_equal(tg_listen_bind(&b, (struct sockaddr *)&ss, 1), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&b, 16, NULL), 0);
    assert_int_equal(bound_port(&b), port);

    /* Without the option the address is taken (libuv reports the bind
     * error at bind or at listen). */
    uv_tcp_init(&loop, &c);
    {
        int rc = tg_listen_bind(&c, (struct sockaddr *)&ss, 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&c, 16, NULL);
        assert_int_equal(rc, UV_EADDRINUSE);
    }
    uv_close((uv_handle_t *)&a, NULL);
    uv_close((uv_handle_t *)&b, NULL);
    uv_close((uv_handle_t *)&c, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_caps_connections(void **state)
{
    tg_listen_caps *c = tg_listen_caps_new(4, 2, 0);
    const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2}, v6[16] = {0xfe, 0x80};

    (void)state;
    assert_non_null(c);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_SOURCE_FULL);
    assert_int_equal(tg_listen_caps_take(c, b, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, v6, 16), TG_LISTEN_OK);
    /* Four held: the total refuses before the source is looked at. */
    assert_int_equal(tg_listen_caps_take(c, NULL, 0), TG_LISTEN_FULL);
    tg_listen_caps_give(c, a, 4);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, b, 4), TG_LISTEN_FULL);
    tg_listen_caps_give(c, b, 4);
    tg_listen_caps_give(c, v6, 16);
    /* An unknown address counts against the total only. */
    assert_int_equal(tg_listen_caps_take(c, NULL, 0), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, b, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, b, 4), TG_LISTEN_FULL);
    tg_listen_caps_free(c);

    /* A per-source cap at or above the total is no cap of its own. */
    c = tg_listen_caps_new(2, 2, 0);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, a, 4), TG_LISTEN_FULL);
    tg_listen_caps_free(c);
}

static void test_caps_budget(void **state)
{
    tg_listen_caps *c = tg_listen_caps_new(8, 0, 1000);

    (void)state;
    assert_false(tg_listen_caps_over_budget(c, 1000));
    tg_listen_caps_buffered(c, 600, 0);
    assert_false(tg_listen_caps_over_budget(c, 400));
    assert_true(tg_listen_caps_over_budget(c, 401));
    tg_listen_caps_buffered(c, 100, 300); /* grew one, freed another */
    assert_false(tg_listen_caps_over_budget(c, 600));
    assert_true(tg_listen_caps_over_budget(c, 601));
    tg_listen_caps_free(c);
}

/* Loops take and give slots concurrently: the count never passes the cap
 * and ends at zero. */
typedef struct racer {
    tg_listen_caps *c;
    int over;
} racer;

static _Atomic int held;

static void *race(void *arg)
{
    racer *r = arg;
    const uint8_t src[4] = {127, 0, 0, 1};

    for (int i = 0; i < 20000; i++) {
        if (tg_listen_caps_take(r->c, src, 4) != TG_LISTEN_OK)
            continue;
        if (atomic_fetch_add(&held, 1) + 1 > 3)
            r->over++;
        atomic_fetch_sub(&held, 1);
        tg_listen_caps_give(r->c, src, 4);
    }
    return NULL;
}

static void test_caps_threads(void **state)
{
    racer r[4];
    pthread_t t[4];
    tg_listen_caps *c = tg_listen_caps_new(3, 0, 0);

    (void)state;
    for (int i = 0; i < 4; i++) {
        r[i].c = c;
        r[i].over = 0;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].over, 0);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(tg_listen_caps_take(c, NULL, 0), TG_LISTEN_OK);
    assert_int_equal(tg_listen_caps_take(c, NULL, 0), TG_LISTEN_FULL);
    tg_listen_caps_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addr),       cmocka_unit_test(test_reuseport_bind),
        cmocka_unit_test(test_caps_connections), cmocka_unit_test(test_caps_budget),
        cmocka_unit_test(test_caps_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
