/* collector/secure.c: which API addresses are loopback, and when the
 * collector refuses to start because its API would be exposed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "secure.h"
#include "tg_config.h"
#include "tg_err.h"

static void test_loopback(void **state)
{
    (void)state;
    assert_true(tg_secure_is_loopback("127.0.0.1:9470"));
    assert_true(tg_secure_is_loopback("127.9.8.7:1"));
    assert_true(tg_secure_is_loopback("[::1]:9470"));
    assert_true(tg_secure_is_loopback("localhost:9470"));
    assert_false(tg_secure_is_loopback("0.0.0.0:9470"));
    assert_false(tg_secure_is_loopback("[::]:9470"));
    assert_false(tg_secure_is_loopback("10.0.0.5:9470"));
    assert_false(tg_secure_is_loopback("127example.org:9470"));
    assert_false(tg_secure_is_loopback("localhost.example.org:9470"));
}

static void test_exposed_api(void **state)
{
    tg_collector_config c;
    char err[512];
    (void)state;

    tg_config_defaults(&c);
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), 0); /* loopback */
    snprintf(c.api_listen, sizeof(c.api_listen), "0.0.0.0:9470");
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "without TLS and without query clients"));
    assert_non_null(strstr(err, "--insecure-api"));
    assert_int_equal(tg_secure_check(&c, 2, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "without TLS;"));
    snprintf(c.api_tls_cert_file, sizeof(c.api_tls_cert_file), "s.pem");
    snprintf(c.api_tls_key_file, sizeof(c.api_tls_key_file), "s.key");
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, "without query clients (tokens)"));
    assert_int_equal(tg_secure_check(&c, 1, err, sizeof(err)), 0);
    /* on purpose */
    tg_config_defaults(&c);
    snprintf(c.api_listen, sizeof(c.api_listen), "0.0.0.0:9470");
    c.api_insecure = 1;
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), 0);
}

static void test_tls_keys_go_together(void **state)
{
    tg_collector_config c;
    char err[512];
    (void)state;

    tg_config_defaults(&c);
    snprintf(c.api_tls_cert_file, sizeof(c.api_tls_cert_file), "s.pem");
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), TG_ECONFIG);
    assert_string_equal(err, "api.tls.cert_file and api.tls.key_file go together");
    tg_config_defaults(&c);
    c.http_tls_require_client_cert = 1;
    snprintf(c.http_tls_cert_file, sizeof(c.http_tls_cert_file), "s.pem");
    snprintf(c.http_tls_key_file, sizeof(c.http_tls_key_file), "s.key");
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), TG_ECONFIG);
    assert_string_equal(
        err, "receivers.otlp_http.tls.require_client_cert needs tls.client_ca_file");
}

static void test_grpc_tls_keys(void **state)
{
    tg_collector_config c;
    char err[512];
    (void)state;

    tg_config_defaults(&c);
    snprintf(c.grpc_tls_key_file, sizeof(c.grpc_tls_key_file), "g.key");
    assert_int_equal(tg_secure_check(&c, 0, err, sizeof(err)), TG_ECONFIG);
    assert_string_equal(err, "receivers.otlp_grpc.tls.cert_file and "
                             "receivers.otlp_grpc.tls.key_file go together");
}

/* A scope limits a request to the services it lists, all of them; one
 * without services (or none at all) allows any. */
static void test_scope_check(void **state)
{
    static const char svcs[2][128] = {"cart", "pay"};
    tg_secure_scope shop = {"shop", svcs, 2}, any = {"ops", NULL, 0};
    tg_slice names[3] = {{"cart", 4}, {"pay", 3}, {"inventory", 9}};
    tg_otlp_index ix;
    char msg[256];
    (void)state;

    memset(&ix, 0, sizeof(ix));
    ix.services = names;
    ix.n_services = 2;
    assert_int_equal(tg_secure_scope_check(&shop, &ix, msg, sizeof(msg)), 0);
    ix.n_services = 3;
    assert_int_equal(tg_secure_scope_check(&shop, &ix, msg, sizeof(msg)), TG_EFORBIDDEN);
    assert_string_equal(msg, "the token \"shop\" may not send for service \"inventory\" "
                             "(it may send for 2 listed services)");
    assert_int_equal(tg_secure_scope_check(&any, &ix, msg, sizeof(msg)), 0);
    assert_int_equal(tg_secure_scope_check(NULL, &ix, msg, sizeof(msg)), 0);
    /* A prefix of an allowed name is another name. */
    names[0].len = 3; /* "car" */
    ix.n_services = 1;
    assert_int_equal(tg_secure_scope_check(&shop, &ix, msg, sizeof(msg)), TG_EFORBIDDEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_exposed_api),
        cmocka_unit_test(test_tls_keys_go_together),
        cmocka_unit_test(test_grpc_tls_keys),
        cmocka_unit_test(test_scope_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
