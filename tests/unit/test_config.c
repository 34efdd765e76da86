/* tg_config: defaults, the YAML loader and its error messages, the
 * collector's flags, and the generated reference. The size and duration
 * grammar is tested in test_units.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_cfgtab.h"
#include "tg_config.h"
#include "config_internal.h"
#include "tg_central.h"
#include "tg_err.h"
#include "tg_fwd_config.h"

#define EXAMPLE TG_SOURCE_DIR "/tollgate.example.yaml"

static int load_str(const char *yaml, tg_collector_config *cfg, char *err, size_t errlen)
{
    return tg_config_load_buffer("t.yaml", yaml, strlen(yaml), cfg, NULL, err, errlen);
}

/* Loads `yaml` over the defaults and expects it to fail with exactly
 * `want` as the message. */
static void expect_error(const char *yaml, const char *want)
{
    tg_collector_config cfg, before;
    char err[512];

    tg_config_defaults(&cfg);
    before = cfg;
    assert_int_equal(load_str(yaml, &cfg, err, sizeof(err)), TG_ECONFIG);
    assert_string_equal(err, want);
    /* A failed load leaves the configuration as it was. */
    assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/tg_config_test_XXXXXX");
    int fd = mkstemp(path);
    size_t len = strlen(content);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_defaults(void **state)
{
    tg_collector_config c;

    (void)state;
    tg_config_defaults(&c);
    assert_string_equal(c.site, "local");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.otlp_grpc_listen, "0.0.0.0:4317");
    assert_int_equal(c.grpc_max_concurrent_streams, 100);
    assert_int_equal(c.grpc_max_message_bytes, 16u << 20);
    assert_int_equal(c.grpc_max_connections, 1024);
    assert_int_equal(c.grpc_idle_timeout_ms, 300000);
    assert_int_equal(c.grpc_request_timeout_ms, 30000);
    assert_string_equal(c.otlp_http_listen, "0.0.0.0:4318");
    assert_int_equal(c.http_max_body_bytes, 16u << 20);
    assert_int_equal(c.http_max_connections, 1024);
    assert_int_equal(c.http_header_timeout_ms, 10000);
    assert_int_equal(c.http_body_timeout_ms, 30000);
    assert_int_equal(c.http_idle_timeout_ms, 120000);
    assert_string_equal(c.api_listen, "127.0.0.1:9470");
    assert_int_equal(c.store_max_bytes, 10ull << 30);
    assert_int_equal(c.store_max_age_sec, 7 * 86400);
    assert_int_equal(c.store_initial_map_size, 1ull << 30);
    assert_int_equal(c.store_zstd_level, 1);
    assert_int_equal(c.store_sync, 1);
    assert_int_equal(c.max_decompressed_bytes, 64u << 20);
    assert_int_equal(c.max_pending_bytes, 32u << 20);
    assert_int_equal(c.retry_after_sec, 1);
    assert_int_equal(c.n_rules_files, 0);
    assert_string_equal(c.central_url, "");
    assert_string_equal(c.central_token_file, "");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The example file sets every key, each to its default. */
static void test_example_file_is_the_defaults(void **state)
{
    tg_collector_config defaults, loaded;
    char err[512];
    size_t len, n_set = 0;
    char *text = read_all(EXAMPLE, &len);

    (void)state;
    tg_config_defaults(&defaults);
    memset(&loaded, 0xa5, sizeof(loaded));
    tg_config_defaults(&loaded);
    assert_int_equal(
        tg_config_load_buffer(EXAMPLE, text, len, &loaded, &n_set, err, sizeof(err)), 0);
    assert_int_equal(n_set, tg_config_key_count());
    assert_memory_equal(&loaded, &defaults, sizeof(loaded));

    /* And through the file API. */
    memset(&loaded, 0, sizeof(loaded));
    tg_config_defaults(&loaded);
    assert_int_equal(tg_config_load(EXAMPLE, &loaded, err, sizeof(err)), 0);
    assert_memory_equal(&loaded, &defaults, sizeof(loaded));
    free(text);
}

/* receivers.loops: a number within bounds, or auto = online CPUs capped. */
static void test_loops(void **state)
{
    static const char *const bad[] = {"0", "-1", "65", "two", "3x", "", NULL};
    tg_collector_config c;
    char err[512], yaml[64];
    size_t n_set;

    (void)state;
    tg_config_defaults(&c);
    assert_string_equal(c.receivers_loops, "auto");
    assert_int_equal(tg_config_loops(&c, 2), 2);
    assert_int_equal(tg_config_loops(&c, 1), 1);
    assert_int_equal(tg_config_loops(&c, 0), 1);  /* sysconf failed */
    assert_int_equal(tg_config_loops(&c, -1), 1); /* sysconf failed */
    assert_int_equal(tg_config_loops(&c, 96), TG_CONFIG_AUTO_LOOPS);
    for (size_t i = 0; bad[i]; i++) {
        snprintf(yaml, sizeof(yaml), "receivers: {loops: \"%s\"}\n", bad[i]);
        tg_config_defaults(&c);
        assert_int_not_equal(tg_config_load_buffer("t.yaml", yaml, strlen(yaml), &c,
                                                   &n_set, err, sizeof(err)),
                             0);
        assert_non_null(strstr(err, "t.yaml:1:"));
    }
    tg_config_defaults(&c);
    snprintf(yaml, sizeof(yaml), "receivers: {loops: 64}\n");
    assert_int_equal(
        tg_config_load_buffer("t.yaml", yaml, strlen(yaml), &c, &n_set, err, sizeof(err)),
        0);
    assert_int_equal(tg_config_loops(&c, 2), 64);
}

static void test_every_key_set(void **state)
{
    const char *yaml = "site: fra-1\n"
                       "data_dir: /var/lib/tollgate\n"
                       "log: {level: debug}\n"
                       "receivers:\n"
                       "  loops: 3\n"
                       "  otlp_grpc:\n"
                       "    listen: \"[::]:14317\"\n"
                       "    max_concurrent_streams: 7\n"
                       "    max_message_bytes: 4MB\n"
                       "    max_connections: 9\n"
                       "    idle_timeout: 1m\n"
                       "    request_timeout: 1500ms\n"
                       "    preface_timeout: 2s\n"
                       "    max_connections_per_source: 3\n"
                       "    token_files: [g1.token, g2.token]\n"
                       "    tokens:\n"
                       "      - {name: shop, token_file: s.token,\n"
                       "         services: [cart, pay]}\n"
                       "      - {name: any, token_file: /etc/a.token}\n"
                       "    tls:\n"
                       "      cert_file: g.pem\n"
                       "      key_file: g.key\n"
                       "      client_ca_file: c.pem\n"
                       "      require_client_cert: true\n"
                       "  otlp_http:\n"
                       "    listen: collector.example.org:80\n"
                       "    max_body_bytes: 512\n"
                       "    max_buffered_body_bytes: 64MiB\n"
                       "    max_connections: 10\n"
                       "    header_timeout: 2s\n"
                       "    body_timeout: 1h30m\n"
                       "    idle_timeout: 5s\n"
                       "    max_connections_per_source: 4\n"
                       "    tls:\n"
                       "      cert_file: h.pem\n"
                       "      key_file: h.key\n"
                       "      client_ca_file: ca.pem\n"
                       "      require_client_cert: true\n"
                       "    token_files: [h.token]\n"
                       "    tokens: []\n"
                       "api:\n"
                       "  listen: 10.1.2.3:9000\n"
                       "  insecure: true\n"
                       "  tls:\n"
                       "    cert_file: a.pem\n"
                       "    key_file: a.key\n"
                       "    client_ca_file: ca2.pem\n"
                       "    require_client_cert: true\n"
                       "store:\n"
                       "  max_bytes: 0\n"
                       "  max_age: 36h\n"
                       "  initial_map_size: 2 GiB\n"
                       "  zstd_level: 19\n"
                       "  sync: false\n"
                       "  max_map_size: 3GiB\n"
                       "  on_full: evict-oldest\n"
                       "  evict_floor: 2h\n"
                       "limits:\n"
                       "  max_decompressed_bytes: 1TB\n"
                       "  max_decompression_ratio: 50\n"
                       "  max_read_bytes: 8MiB\n"
                       "  api_max_connections: 33\n"
                       "  api_max_connections_per_source: 5\n"
                       "  max_pending_bytes: 3KiB\n"
                       "  retry_after: 2m\n"
                       "rules:\n"
                       "  - a.yaml\n"
                       "  - 'b c.yaml'\n"
                       "central:\n"
                       "  url: https://central.example.org:9480\n"
                       "  token_file: /etc/tollgate/token\n";
    tg_collector_config c;
    char err[512];
    size_t n_set;

    (void)state;
    tg_config_defaults(&c);
    assert_int_equal(
        tg_config_load_buffer("t.yaml", yaml, strlen(yaml), &c, &n_set, err, sizeof(err)),
        0);
    assert_int_equal(n_set, tg_config_key_count());
    assert_string_equal(c.site, "fra-1");
    assert_string_equal(c.data_dir, "/var/lib/tollgate");
    assert_int_equal(tg_config_loops(&c, 2), 3);
    assert_int_equal(c.http_max_buffered_body_bytes, 64ull << 20);
    assert_int_equal(c.grpc_preface_timeout_ms, 2000);
    assert_int_equal(c.grpc_max_conns_per_source, 3);
    assert_int_equal(c.http_max_conns_per_source, 4);
    assert_int_equal(c.api_max_connections, 33);
    assert_int_equal(c.api_max_conns_per_source, 5);
    assert_int_equal(c.n_grpc_tokens, 2);
    assert_string_equal(c.grpc_tokens[0].name, "shop");
    assert_string_equal(c.grpc_tokens[0].token_file, "./s.token");
    assert_int_equal(c.grpc_tokens[0].n_services, 2);
    assert_string_equal(c.grpc_tokens[0].services[1], "pay");
    assert_string_equal(c.grpc_tokens[1].token_file, "/etc/a.token");
    assert_int_equal(c.grpc_tokens[1].n_services, 0);
    assert_int_equal(c.n_http_tokens, 0);
    assert_string_equal(c.grpc_tls_cert_file, "g.pem");
    assert_int_equal(c.grpc_tls_require_client_cert, 1);
    assert_int_equal(c.max_decompress_ratio, 50);
    assert_int_equal(c.api_max_read_bytes, 8u << 20);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.otlp_grpc_listen, "[::]:14317");
    assert_int_equal(c.grpc_max_concurrent_streams, 7);
    assert_int_equal(c.grpc_max_message_bytes, 4000000);
    assert_int_equal(c.grpc_max_connections, 9);
    assert_int_equal(c.grpc_idle_timeout_ms, 60000);
    assert_int_equal(c.grpc_request_timeout_ms, 1500);
    assert_string_equal(c.otlp_http_listen, "collector.example.org:80");
    assert_int_equal(c.http_max_body_bytes, 512);
    assert_int_equal(c.http_max_connections, 10);
    assert_int_equal(c.http_header_timeout_ms, 2000);
    assert_int_equal(c.http_body_timeout_ms, 5400000);
    assert_int_equal(c.http_idle_timeout_ms, 5000);
    assert_string_equal(c.api_listen, "10.1.2.3:9000");
    assert_int_equal(c.api_insecure, 1);
    assert_int_equal(c.n_grpc_token_files, 2);
    assert_string_equal(c.grpc_token_files[1], "g2.token");
    assert_int_equal(c.n_http_token_files, 1);
    assert_string_equal(c.http_token_files[0], "h.token");
    assert_string_equal(c.api_tls_cert_file, "a.pem");
    assert_string_equal(c.api_tls_key_file, "a.key");
    assert_string_equal(c.api_tls_client_ca_file, "ca2.pem");
    assert_int_equal(c.api_tls_require_client_cert, 1);
    assert_string_equal(c.http_tls_cert_file, "h.pem");
    assert_string_equal(c.http_tls_key_file, "h.key");
    assert_string_equal(c.http_tls_client_ca_file, "ca.pem");
    assert_int_equal(c.http_tls_require_client_cert, 1);
    assert_int_equal(c.store_max_bytes, 0);
    assert_int_equal(c.store_max_age_sec, 36 * 3600);
    assert_int_equal(c.store_initial_map_size, 2ull << 30);
    assert_int_equal(c.store_zstd_level, 19);
    assert_int_equal(c.store_sync, 0);
    assert_int_equal(c.store_max_map_size, 3ull << 30);
    assert_string_equal(c.store_on_full, "evict-oldest");
    assert_int_equal(c.store_evict_floor_sec, 7200);
    assert_int_equal(c.max_decompressed_bytes, 1000000000000ull);
    assert_int_equal(c.max_pending_bytes, 3072);
    assert_int_equal(c.retry_after_sec, 120);
    assert_int_equal(c.n_rules_files, 2);
    assert_string_equal(c.rules_files[0], "a.yaml");
    assert_string_equal(c.rules_files[1], "b c.yaml");
    assert_string_equal(c.central_url, "https://central.example.org:9480");
    assert_string_equal(c.central_token_file, "/etc/tollgate/token");
}

/* Keys the file does not mention keep their values; an empty file is
 * fine. */
static void test_partial_and_empty(void **state)
{
    tg_collector_config c;
    char err[512];

    (void)state;
    tg_config_defaults(&c);
    assert_int_equal(load_str("store:\n  zstd_level: 3\n", &c, err, sizeof(err)), 0);
    assert_int_equal(c.store_zstd_level, 3);
    assert_int_equal(c.store_max_bytes, 10ull << 30);
    assert_int_equal(load_str("", &c, err, sizeof(err)), 0);
    assert_int_equal(load_str("# only a comment\n", &c, err, sizeof(err)), 0);
    assert_int_equal(load_str("central:\nrules:\n", &c, err, sizeof(err)), 0);
    assert_int_equal(c.store_zstd_level, 3);
    assert_int_equal(c.n_rules_files, 0);
}

static void test_error_unknown_key(void **state)
{
    (void)state;
    expect_error("site: x\nreceivers:\n  otlp_http:\n    max_body_byte: 1MiB\n",
                 "t.yaml:4:5: unknown key \"receivers.otlp_http.max_body_byte\" "
                 "(did you mean \"receivers.otlp_http.max_body_bytes\"?)");
    expect_error("stroe:\n  max_bytes: 1GiB\n",
                 "t.yaml:1:1: unknown key \"stroe\" (did you mean \"store\"?)");
    expect_error("receivers:\n  otlp_htp:\n    listen: x\n",
                 "t.yaml:2:3: unknown key \"receivers.otlp_htp\" "
                 "(did you mean \"receivers.otlp_http\"?)");
    /* Nothing close: list what is known at that level. */
    expect_error("api:\n  compression: zstd\n",
                 "t.yaml:2:3: unknown key \"api.compression\" "
                 "(known keys under api: listen, insecure, tls)");
    expect_error("frobnicate: 1\n",
                 "t.yaml:1:1: unknown key \"frobnicate\" (known keys at the top level: "
                 "site, data_dir, log, receivers, api, store, limits, rules, central)");
}

static void test_error_wrong_type(void **state)
{
    (void)state;
    expect_error(
        "api:\n  listen:\n    host: x\n",
        "t.yaml:3:5: api.listen: expected an address HOST:PORT, found a mapping");
    expect_error("store: 5\n",
                 "t.yaml:1:8: store: expected a mapping of keys, found a scalar");
    expect_error("site: [a, b]\n", "t.yaml:1:7: site: expected a string, found a list");
    expect_error("rules: a.yaml\n",
                 "t.yaml:1:8: rules: expected a list of file names, found a scalar");
    expect_error("rules:\n  - a\n  - {b: c}\n",
                 "t.yaml:3:5: rules: expected a file name, found a mapping");
    expect_error("- a\n- b\n", "t.yaml:1:1: expected a mapping of keys at the top level, "
                               "found a list");
    expect_error(
        "log:\n  level:\n",
        "t.yaml:2:9: log.level: missing value (expected one of debug, info, warn, "
        "error)");
    expect_error("? [a]\n: b\n", "t.yaml:1:3: keys must be plain names, found a list");
}

static void test_error_bad_values(void **state)
{
    (void)state;
    expect_error(
        "store:\n  max_bytes: 10 GigaBytes\n",
        "t.yaml:2:14: store.max_bytes: invalid size \"10 GigaBytes\" (expected a "
        "whole number with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, "
        "TiB)");
    expect_error("store:\n  max_bytes: 99999999999TiB\n",
                 "t.yaml:2:14: store.max_bytes: size \"99999999999TiB\" is too large");
    expect_error(
        "store:\n  max_age: 7 days\n",
        "t.yaml:2:12: store.max_age: invalid duration \"7 days\" (expected whole "
        "numbers with units ms, s, m, h, d, e.g. 30s or 1h30m)");
    expect_error(
        "store:\n  max_age: 1500ms\n",
        "t.yaml:2:12: store.max_age: duration \"1500ms\" is not a whole number of "
        "seconds");
    expect_error(
        "receivers:\n  otlp_grpc:\n    max_connections: -1\n",
        "t.yaml:3:22: receivers.otlp_grpc.max_connections: invalid number \"-1\" "
        "(expected a non-negative integer)");
    expect_error("receivers:\n  otlp_grpc:\n    max_concurrent_streams: 4294967296\n",
                 "t.yaml:3:29: receivers.otlp_grpc.max_concurrent_streams: "
                 "\"4294967296\" is above the maximum (4294967295)");
    expect_error(
        "receivers:\n  otlp_grpc:\n    max_concurrent_streams: 0\n",
        "t.yaml:3:29: receivers.otlp_grpc.max_concurrent_streams: \"0\" is below "
        "the minimum (1)");
    expect_error("store:\n  zstd_level: 23\n",
                 "t.yaml:2:15: store.zstd_level: \"23\" is above the maximum (22)");
    expect_error("store:\n  initial_map_size: 1KiB\n",
                 "t.yaml:2:21: store.initial_map_size: \"1KiB\" is below the minimum "
                 "(1048576 bytes)");
    expect_error("store:\n  sync: maybe\n",
                 "t.yaml:2:9: store.sync: invalid boolean \"maybe\" (expected true or "
                 "false)");
    expect_error("log:\n  level: verbose\n",
                 "t.yaml:2:10: log.level: invalid value \"verbose\" (expected one of "
                 "debug, info, warn, error)");
    expect_error("api:\n  listen: localhost\n",
                 "t.yaml:2:11: api.listen: address \"localhost\" has no port; expected "
                 "HOST:PORT");
    expect_error("site: \"fra 1\"\n",
                 "t.yaml:1:7: site: \"fra 1\" may only contain letters, digits, '.', '_' "
                 "and '-'");
    /* Control characters from the file are escaped in messages. */
    expect_error("site: \"a\\nb\"\n",
                 "t.yaml:1:7: site: \"a\\x0ab\" may only contain letters, digits, '.', "
                 "'_' and '-'");
    expect_error("site: \"a\\0b\"\n", "t.yaml:1:7: site: value contains a NUL byte");
    expect_error("central:\n  url: central:9480\n",
                 "t.yaml:2:8: central.url: \"central:9480\" must start with http:// or "
                 "https://");
}

static void test_error_duplicate_key(void **state)
{
    (void)state;
    expect_error("site: a\ndata_dir: /d\nsite: b\n",
                 "t.yaml:3:1: duplicate key \"site\" (first set at line 1)");
    expect_error("store:\n  sync: true\n  zstd_level: 2\n  sync: false\n",
                 "t.yaml:4:3: duplicate key \"store.sync\" (first set at line 2)");
}

static void test_error_yaml_syntax(void **state)
{
    (void)state;
    expect_error("site: [a\n",
                 "t.yaml:2:1: invalid YAML: did not find expected ',' or ']' "
                 "(while parsing a flow sequence at line 1)");
    expect_error(
        "site: a\n  b: c\n",
        "t.yaml:2:4: invalid YAML: mapping values are not allowed in this context");
    expect_error("site: *nope\n", "t.yaml:1:7: invalid YAML: found undefined alias");
    expect_error("site: x\n---\nsite: y\n",
                 "t.yaml:3:1: only one YAML document is allowed");
    expect_error("site: \xff\xfe\n",
                 "t.yaml:1:7: invalid YAML: invalid leading UTF-8 octet");
}

static void test_error_files(void **state)
{
    tg_collector_config c;
    char err[512];
    char *path;
    char want[600];

    (void)state;
    tg_config_defaults(&c);
    assert_int_equal(tg_config_load("/nonexistent/tollgate.yaml", &c, err, sizeof(err)),
                     TG_EIO);
    assert_string_equal(
        err, "/nonexistent/tollgate.yaml: cannot open: No such file or directory");

    /* Errors from a real file name the file. */
    path = write_temp("site: ok\nstore:\n  zstd_level: high\n");
    assert_int_equal(tg_config_load(path, &c, err, sizeof(err)), TG_ECONFIG);
    snprintf(want, sizeof(want),
             "%s:3:15: store.zstd_level: invalid number \"high\" (expected a "
             "non-negative integer)",
             path);
    assert_string_equal(err, want);
    assert_string_equal(c.site, "local");
    unlink(path);
    free(path);
}

static void test_check_address(void **state)
{
    static const char *const good[] = {
        "0.0.0.0:4317",
        "127.0.0.1:0",
        "[::]:4318",
        "[::1]:9470",
        "[fe80::1:2]:1",
        "localhost:65535",
        "collector.example.org:443",
        "a-b.c:80",
        "xn--bcher-kva.de:1",
    };
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "is empty; expected HOST:PORT"},
        {"localhost", "has no port; expected HOST:PORT"},
        {"localhost:", "has no port; expected HOST:PORT"},
        {":4317", "has no host (0.0.0.0:PORT listens on every interface)"},
        {"::1:4317", "looks like an IPv6 address: write it in brackets, e.g. [::1]:4317"},
        {"[::1]4317", "has no :PORT after the IPv6 address"},
        {"[::1:4317", "has no closing ']'; expected [IPv6]:PORT"},
        {"[zz::1]:80", "has an invalid IPv6 address in brackets"},
        {"[]:80", "has an invalid IPv6 address in brackets"},
        {"999.1.1.1:80", "has an invalid IPv4 address"},
        {"1.2.3:80", "has an invalid IPv4 address"},
        {"host_name:80", "has an invalid host name"},
        {"-host:80", "has an invalid host name"},
        {"host-:80", "has an invalid host name"},
        {"a..b:80", "has an invalid host name"},
        {"localhost:65536", "has an invalid port (expected 0-65535)"},
        {"localhost:http", "has an invalid port (expected 0-65535)"},
        {"localhost:123456", "has an invalid port (expected 0-65535)"},
        {"localhost:-1", "has an invalid port (expected 0-65535)"},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (tg_cfgtab_check_address(good[i], why, sizeof(why)) != 0)
            fail_msg("\"%s\" rejected: %s", good[i], why);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        if (tg_cfgtab_check_address(bad[i].in, why, sizeof(why)) != TG_EINVAL)
            fail_msg("\"%s\" accepted", bad[i].in);
        assert_string_equal(why, bad[i].why);
    }
}

#define ARGV(...) ((char *[]){"collector", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"collector", __VA_ARGS__}) / sizeof(char *)))

/* Flags win over the file whatever their position on the command line. */
static void test_flags_override_file(void **state)
{
    char *path =
        write_temp("site: ber\ndata_dir: /from/file\napi:\n  listen: 10.0.0.1:1\n"
                   "rules: [file1.yaml, file2.yaml]\n");
    tg_collector_config c;
    char err[512];

    (void)state;
    assert_int_equal(tg_config_from_args(ARGC("--site", "fra", "--config", path),
                                         ARGV("--site", "fra", "--config", path), &c, err,
                                         sizeof(err)),
                     0);
    assert_string_equal(c.site, "fra");
    assert_string_equal(c.data_dir, "/from/file");
    assert_string_equal(c.api_listen, "10.0.0.1:1");
    assert_int_equal(c.n_rules_files, 2);
    assert_string_equal(c.rules_files[1], "file2.yaml");

    assert_int_equal(tg_config_from_args(ARGC("--config", path, "--site=fra", "--api",
                                              "[::1]:9471", "--data", "/flag"),
                                         ARGV("--config", path, "--site=fra", "--api",
                                              "[::1]:9471", "--data", "/flag"),
                                         &c, err, sizeof(err)),
                     0);
    assert_string_equal(c.site, "fra");
    assert_string_equal(c.data_dir, "/flag");
    assert_string_equal(c.api_listen, "[::1]:9471");
    /* Untouched by flags: the file's value, else the default. */
    assert_int_equal(c.n_rules_files, 2);
    assert_string_equal(c.otlp_grpc_listen, "0.0.0.0:4317");

    assert_int_equal(
        tg_config_from_args(
            ARGC("--otlp-grpc", "127.0.0.1:14317", "--otlp-http", "localhost:14318",
                 "--central", "http://c:9480", "--central-token-file", "t"),
            ARGV("--otlp-grpc", "127.0.0.1:14317", "--otlp-http", "localhost:14318",
                 "--central", "http://c:9480", "--central-token-file", "t"),
            &c, err, sizeof(err)),
        0);
    assert_string_equal(c.otlp_grpc_listen, "127.0.0.1:14317");
    assert_string_equal(c.otlp_http_listen, "localhost:14318");
    assert_string_equal(c.central_url, "http://c:9480");
    assert_string_equal(c.central_token_file, "t");
    assert_string_equal(c.site, "local"); /* no --config: defaults */
    unlink(path);
    free(path);
}

static void test_rules_flag_repeatable(void **state)
{
    char *path = write_temp("rules:\n  - file1.yaml\n");
    tg_collector_config c;
    char err[512];

    (void)state;
    assert_int_equal(tg_config_from_args(ARGC("--rules", "a.yaml", "--config", path,
                                              "--rules", "b.yaml", "--rules=c.yaml"),
                                         ARGV("--rules", "a.yaml", "--config", path,
                                              "--rules", "b.yaml", "--rules=c.yaml"),
                                         &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.n_rules_files, 3);
    assert_string_equal(c.rules_files[0], "a.yaml");
    assert_string_equal(c.rules_files[1], "b.yaml");
    assert_string_equal(c.rules_files[2], "c.yaml");

    assert_int_equal(tg_config_from_args(ARGC("--config", path), ARGV("--config", path),
                                         &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.n_rules_files, 1);
    assert_string_equal(c.rules_files[0], "file1.yaml");
    unlink(path);
    free(path);
}

static void expect_args_error(int argc, char **argv, int rc, const char *want)
{
    tg_collector_config c;
    char err[512];

    assert_int_equal(tg_config_from_args(argc, argv, &c, err, sizeof(err)), rc);
    assert_string_equal(err, want);
}

static void test_flag_errors(void **state)
{
    (void)state;
    expect_args_error(
        ARGC("--otlp-grpc", "localhost"), ARGV("--otlp-grpc", "localhost"), TG_EINVAL,
        "--otlp-grpc: address \"localhost\" has no port; expected HOST:PORT");
    expect_args_error(
        ARGC("--api", "::1:9470"), ARGV("--api", "::1:9470"), TG_EINVAL,
        "--api: address \"::1:9470\" looks like an IPv6 address: write it in "
        "brackets, e.g. [::1]:4317");
    expect_args_error(
        ARGC("--otlp-http=300.0.0.1:4318"), ARGV("--otlp-http=300.0.0.1:4318"), TG_EINVAL,
        "--otlp-http: address \"300.0.0.1:4318\" has an invalid IPv4 address");
    expect_args_error(
        ARGC("--site", "a b"), ARGV("--site", "a b"), TG_EINVAL,
        "--site: \"a b\" may only contain letters, digits, '.', '_' and '-'");
    expect_args_error(ARGC("--frobnicate"), ARGV("--frobnicate"), TG_EINVAL,
                      "unknown option --frobnicate (see tollgate collector --help)");
    expect_args_error(ARGC("--cent", "x"), ARGV("--cent", "x"), TG_EINVAL,
                      "ambiguous option --cent (see tollgate collector --help)");
    expect_args_error(ARGC("-x"), ARGV("-x"), TG_EINVAL,
                      "unknown option -x (see tollgate collector --help)");
    expect_args_error(ARGC("--site"), ARGV("--site"), TG_EINVAL,
                      "option --site needs a value (see tollgate collector --help)");
    expect_args_error(ARGC("serve"), ARGV("serve"), TG_EINVAL,
                      "unexpected argument \"serve\" (see tollgate collector --help)");
    expect_args_error(ARGC("--config", "a.yaml", "--config", "b.yaml"),
                      ARGV("--config", "a.yaml", "--config", "b.yaml"), TG_EINVAL,
                      "--config given more than once");
    expect_args_error(ARGC("--config", "/nonexistent/t.yaml"),
                      ARGV("--config", "/nonexistent/t.yaml"), TG_EIO,
                      "/nonexistent/t.yaml: cannot open: No such file or directory");
}

static void test_too_many_rules(void **state)
{
    char *argv[2 * TG_CONFIG_MAX_RULES + 4];
    int argc = 0;
    tg_collector_config c;
    char err[512];

    (void)state;
    argv[argc++] = "collector";
    for (int i = 0; i <= TG_CONFIG_MAX_RULES; i++) {
        argv[argc++] = "--rules";
        argv[argc++] = "r.yaml";
    }
    argv[argc] = NULL;
    assert_int_equal(tg_config_from_args(argc, argv, &c, err, sizeof(err)), TG_EINVAL);
    assert_string_equal(err, "--rules: too many entries (at most 16)");
}

/* --help prints to stdout and returns 1, even beside other flags. */
static void test_help(void **state)
{
    tg_collector_config c;
    char err[512];
    char out[8192];
    size_t n;
    FILE *tmp = tmpfile();
    int fd, rc;

    (void)state;
    assert_non_null(tmp);
    fflush(stdout);
    fd = dup(fileno(stdout));
    dup2(fileno(tmp), fileno(stdout));
    rc = tg_config_from_args(ARGC("--site", "x", "--help"), ARGV("--site", "x", "--help"),
                             &c, err, sizeof(err));
    fflush(stdout);
    dup2(fd, fileno(stdout));
    close(fd);
    assert_int_equal(rc, 1);
    rewind(tmp);
    n = fread(out, 1, sizeof(out) - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    assert_non_null(strstr(out, "usage: tollgate collector [options]"));
    assert_non_null(strstr(out, "--config FILE"));
    assert_non_null(strstr(out, "--site NAME"));
    assert_non_null(strstr(out, "default: local; file key: site\n"));
    assert_non_null(strstr(out, "--otlp-grpc ADDR"));
    assert_non_null(strstr(out, "default: 0.0.0.0:4317;"));
    assert_non_null(strstr(out, "--otlp-http ADDR"));
    assert_non_null(strstr(out, "default: 0.0.0.0:4318;"));
    assert_non_null(strstr(out, "--api ADDR"));
    assert_non_null(strstr(out, "default: 127.0.0.1:9470;"));
    assert_non_null(strstr(out, "--data DIR"));
    assert_non_null(strstr(out, "default: ./data;"));
    assert_non_null(strstr(out, "--rules FILE"));
    assert_non_null(strstr(out, "--central URL"));
    assert_non_null(strstr(out, "--central-token-file FILE"));
    assert_non_null(strstr(out, "--help"));
}

/* docs/configuration.md holds the reference exactly as the table writes
 * it, and the reference names every key. */
static void test_reference_matches_docs(void **state)
{
    char *ref = NULL, *docs;
    size_t reflen = 0, docslen;
    FILE *f = open_memstream(&ref, &reflen);
    size_t lines = 0;

    (void)state;
    assert_non_null(f);
    tg_config_write_reference(f);
    fclose(f);
    for (size_t i = 0; i < reflen; i++)
        lines += ref[i] == '\n';
    assert_int_equal(lines, tg_config_key_count() + 2);
    assert_non_null(
        strstr(ref, "| `receivers.otlp_http.max_body_bytes` | size | `16MiB` |"));
    assert_non_null(strstr(ref, "| `store.max_age` | duration | `7d` |"));
    assert_non_null(strstr(ref, "| `rules` | list of strings | `[]` | `--rules FILE` |"));
    docs = read_all(TG_SOURCE_DIR "/docs/configuration.md", &docslen);
    if (!strstr(docs, ref))
        fail_msg("docs/configuration.md is stale: regenerate it with "
                 "`tollgate collector --print-config-reference`");
    free(docs);
    free(ref);
}

/* The forwarder's table gives the defaults it always had. */
static void test_forward_defaults(void **state)
{
    tg_forward_config f;

    (void)state;
    memset(&f, 0xa5, sizeof(f));
    tg_forward_config_defaults(&f);
    assert_int_equal(f.outbox_max_bytes, 256ull << 20);
    assert_int_equal(f.flush_interval_ms, 1000);
    assert_int_equal(f.max_batch_spans, 5000);
    assert_int_equal(f.heartbeat_interval_ms, 5000);
    assert_int_equal(f.retry_initial_ms, 250);
    assert_int_equal(f.retry_max_ms, 30000);
    assert_int_equal(f.request_timeout_ms, 30000);
    assert_int_equal(f.connect_timeout_ms, 5000);
    assert_int_equal(f.zstd_level, 3);
    assert_true(f.send_spans && f.send_logs && f.send_metrics);
    assert_int_equal(f.view_builtin, 0);
    assert_int_equal(f.metrics_preset, 1);
    assert_int_equal(f.n_allow_keys + f.n_renames + f.n_labels, 0);
    assert_string_equal(f.tls_ca_file, "");
    assert_int_equal(f.cost.kind, TG_COST_METERED);
    assert_string_equal(f.cost.currency, "USD");
    assert_string_equal(f.cost.provider, "unspecified");
    assert_string_equal(f.cost.region, "");
    assert_string_equal(f.cost.service_category, "AI and Machine Learning");
    assert_true(f.cost.cpu_hour == 0.031611);
    assert_true(f.cost.gpu_hour == 0.95);
    assert_true(f.cost.gb_ingested == 0.0);
    assert_true(f.cost.gb_stored == 0.04);
    assert_true(f.cost.gb_forwarded == 0.09);
    assert_true(f.cost.lifetime_years == 4);
    assert_true(f.cost.gpu_share == 0.8);
    assert_true(f.cost.capex == 0 && f.cost.gpus == 0 && f.cost.input_tokens_1k == 0);
}

static int fwd_load(const char *yaml, tg_forward_config *f, char *err, size_t errlen)
{
    return tg_forward_config_load_buffer("f.yaml", yaml, strlen(yaml), "forward", f, err,
                                         errlen);
}

static void expect_fwd_error(const char *yaml, const char *want)
{
    tg_forward_config f, before;
    char err[512];

    tg_forward_config_defaults(&f);
    before = f;
    assert_int_equal(fwd_load(yaml, &f, err, sizeof(err)), TG_ECONFIG);
    assert_string_equal(err, want);
    assert_memory_equal(&f, &before, sizeof(f));
}

static void test_forward_keys(void **state)
{
    tg_forward_config f;
    char err[512];

    (void)state;
    tg_forward_config_defaults(&f);
    assert_int_equal(fwd_load("forward:\n"
                              "  outbox: {max_bytes: 1.5MiB, flush_interval: 0.5}\n"
                              "  heartbeat_interval: 2\n"
                              "  view: builtin\n"
                              "  allow_keys: [a, b]\n"
                              "  send: {logs: false}\n"
                              "  metrics:\n"
                              "    preset: none\n"
                              "    rename: [{from: 'x_*', to: y., scale: 0.001}]\n"
                              "    labels: {job: service.name}\n"
                              "  cost:\n"
                              "    model: amortized\n"
                              "    currency: EUR\n"
                              "    amortised: {capex: 1e6, gpu_share: 1}\n",
                              &f, err, sizeof(err)),
                     0);
    assert_int_equal(f.outbox_max_bytes, 3ull << 19);
    assert_int_equal(f.flush_interval_ms, 500);
    assert_int_equal(f.heartbeat_interval_ms, 2000);
    assert_int_equal(f.view_builtin, 1);
    assert_int_equal(f.n_allow_keys, 2);
    assert_string_equal(f.allow_keys[1], "b");
    assert_int_equal(f.send_logs, 0);
    assert_int_equal(f.send_spans, 1);
    assert_int_equal(f.metrics_preset, 0);
    assert_int_equal(f.n_renames, 1);
    assert_string_equal(f.renames[0].from, "x_");
    assert_int_equal(f.renames[0].prefix, 1);
    assert_int_equal(f.n_labels, 1);
    assert_string_equal(f.labels[0].to, "service.name");
    assert_int_equal(f.cost.kind, TG_COST_AMORTISED);
    assert_string_equal(f.cost.currency, "EUR");
    assert_true(f.cost.capex == 1e6);
    assert_true(f.cost.gpu_share == 1);

    expect_fwd_error("forward:\n  outbx: {}\n",
                     "f.yaml:2:3: unknown key \"outbx\" (did you mean \"outbox\"?)");
    expect_fwd_error("forward:\n  outbox:\n    max_bytes: 1KiB\n",
                     "f.yaml:3:16: outbox.max_bytes: \"1KiB\" is below the minimum "
                     "(65536 bytes)");
    expect_fwd_error("forward:\n  cost:\n    model: leased\n",
                     "f.yaml:3:12: cost.model must be metered or amortised");
    expect_fwd_error("forward:\n  cost: {amortised: {gpu_share: 1.5}}\n",
                     "f.yaml:2:33: cost.amortised.gpu_share: \"1.5\" is above the "
                     "maximum (1)");
    expect_fwd_error(
        "forward:\n  cost: {metered: {cpu_hour: -1}}\n",
        "f.yaml:2:30: cost.metered.cpu_hour: \"-1\" is below the minimum (0)");
    expect_fwd_error("forward:\n  retry: {initial: 2s, max: 1s}\n",
                     "f.yaml:2:10: retry.initial must be > 0 and retry.max >= "
                     "retry.initial");
    expect_fwd_error("forward:\n  tls: {cert_file: c.pem}\n",
                     "f.yaml:2:8: tls.cert_file and tls.key_file go together");
}

static void test_central_defaults_and_keys(void **state)
{
    tg_central_config c;
    char *path = write_temp("retention: {max_age: 1.5d, max_bytes: 1.5G}\n"
                            "status: {lag_warn: 1500ms, skew_warn: 0.25}\n"
                            "store: {sync: false}\n"
                            "log: {level: warn}\n");
    char err[512];

    (void)state;
    memset(&c, 0xa5, sizeof(c));
    tg_central_config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:9480");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.sites_file, "");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.tls_require_client_cert, 0);
    assert_int_equal(c.max_age_sec, 30ull * 86400);
    assert_int_equal(c.max_bytes, 10ull << 30);
    assert_int_equal(c.max_body_bytes, 64ull << 20);
    assert_int_equal(c.max_connections, 256);
    assert_int_equal(c.cert_warn_sec, 14ull * 86400);
    assert_int_equal(c.skew_warn_ms, 1000);
    assert_int_equal(c.lag_warn_sec, 60);
    assert_int_equal(c.no_sync, 0);

    assert_int_equal(tg_central_config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c.max_age_sec, 129600);
    assert_int_equal(c.max_bytes, 1500000000ull);
    assert_int_equal(c.lag_warn_sec, 1); /* whole seconds, rounded down as before */
    assert_int_equal(c.skew_warn_ms, 250);
    assert_int_equal(c.no_sync, 1);
    assert_string_equal(c.log_level, "warn");
    unlink(path);
    free(path);

    path = write_temp("log: {level: loud}\n");
    assert_int_equal(tg_central_config_load(path, &c, err, sizeof(err)), TG_ECONFIG);
    assert_non_null(strstr(err, ":1:14: log.level is debug, info, warn or error"));
    unlink(path);
    free(path);
}

static char *reference_of(void (*write)(FILE *), size_t n_keys)
{
    char *ref = NULL;
    size_t reflen = 0, lines = 0;
    FILE *f = open_memstream(&ref, &reflen);

    assert_non_null(f);
    write(f);
    fclose(f);
    for (size_t i = 0; i < reflen; i++)
        lines += ref[i] == '\n';
    if (n_keys)
        assert_int_equal(lines, n_keys + 2);
    return ref;
}

/* docs/central.md holds the forwarder's and the centre's references
 * exactly as their tables write them. */
static void test_central_docs_match_tables(void **state)
{
    char *fwd =
        reference_of(tg_forward_config_write_reference, tg_forward_config_key_count());
    char *cen = reference_of(tg_central_config_write_reference, 0);
    size_t docslen;
    char *docs = read_all(TG_SOURCE_DIR "/docs/central.md", &docslen);

    (void)state;
    assert_non_null(strstr(fwd, "| `outbox.max_bytes` | size | `256MiB` |"));
    assert_non_null(strstr(fwd,
                           "| `cost.model` | enum: `metered` `amortised` `amortized` "
                           "| `metered` |"));
    assert_non_null(
        strstr(cen, "| `listen` | string | `127.0.0.1:9480` | `--listen ADDR` |"));
    assert_non_null(strstr(cen, "| `retention.max_age` | duration | `30d` |"));
    if (!strstr(docs, fwd))
        fail_msg("docs/central.md's forward: table is stale: regenerate it with "
                 "`tollgate collector --print-config-reference`");
    if (!strstr(docs, cen))
        fail_msg("docs/central.md's centre table is stale: regenerate it with "
                 "`tollgate central --print-config-reference`");
    free(docs);
    free(fwd);
    free(cen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_example_file_is_the_defaults),
        cmocka_unit_test(test_every_key_set),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_partial_and_empty),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_wrong_type),
        cmocka_unit_test(test_error_bad_values),
        cmocka_unit_test(test_error_duplicate_key),
        cmocka_unit_test(test_error_yaml_syntax),
        cmocka_unit_test(test_error_files),
        cmocka_unit_test(test_check_address),
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_rules_flag_repeatable),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_too_many_rules),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_reference_matches_docs),
        cmocka_unit_test(test_forward_defaults),
        cmocka_unit_test(test_forward_keys),
        cmocka_unit_test(test_central_defaults_and_keys),
        cmocka_unit_test(test_central_docs_match_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
