/* The collector's configuration: one table of keys drives the defaults,
 * the YAML loader, the command-line flags, --help and the Markdown
 * reference, so a key is declared exactly once.
 *
 * The loader walks common/tg_yaml's tree (positions on every node,
 * duplicate keys and aliases already refused): the file is small (capped
 * at TG_CONFIG_MAX_FILE), and the walk only descends into mappings the
 * table knows. */
#include "tg_config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "tg_err.h"
#include "tg_fwd_config.h"
#include "tg_log.h"
#include "tg_cfgtab.h"
#include "tg_yaml.h"

/* A configuration file larger than this is a mistake, not a config. */
#define TG_CONFIG_MAX_FILE (1u << 20)

#define FIELD(m) TG_CFG_FIELD(tg_collector_config, m)

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

static int check_site(const char *v, char *why, size_t whylen);
static int check_nonempty(const char *v, char *why, size_t whylen);
static int check_url(const char *v, char *why, size_t whylen);
static int check_loops(const char *v, char *why, size_t whylen);

static const char *const on_full_names[] = {"refuse", "evict-oldest", NULL};

static int load_grpc_tokens(void *base, const tg_ynode *v, const char *file, char *err,
                            size_t errlen);
static int load_http_tokens(void *base, const tg_ynode *v, const char *file, char *err,
                            size_t errlen);

static const struct tg_cfg_key config_keys[] = {
    {.path = "site",
     .type = TG_CFG_STRING,
     .def = "local",
     FIELD(site),
     .check = check_site,
     .flag = "site",
     .metavar = "NAME",
     .help = "Name of this site (jurisdiction); letters, digits, '.', '_', '-'."},
    {.path = "data_dir",
     .type = TG_CFG_STRING,
     .def = "./data",
     FIELD(data_dir),
     .check = check_nonempty,
     .flag = "data",
     .metavar = "DIR",
     .help = "Directory of the local LMDB store."},
    {.path = "log.level",
     .type = TG_CFG_ENUM,
     .def = "info",
     FIELD(log_level),
     .choices = tg_log_level_names,
     .help = "Least severe level of the collector's own logs."},

    {.path = "receivers.loops",
     .type = TG_CFG_STRING,
     .def = "auto",
     FIELD(receivers_loops),
     .check = check_loops,
     .flag = "loops",
     .metavar = "N",
     .help = "Ingest event loops, each a thread with its own OTLP/gRPC and OTLP/HTTP "
             "listening sockets (SO_REUSEPORT), decoding and classifying its own "
             "connections: 1 to " TG_CONFIG_MAX_LOOPS_STR ", or `auto` (one per online "
             "CPU, at most " TG_CONFIG_AUTO_LOOPS_STR ")."},
    {.path = "receivers.otlp_grpc.listen",
     .type = TG_CFG_ADDRESS,
     .def = "0.0.0.0:4317",
     FIELD(otlp_grpc_listen),
     .flag = "otlp-grpc",
     .metavar = "ADDR",
     .help = "OTLP/gRPC listen address (HOST:PORT)."},
    {.path = "receivers.otlp_grpc.max_concurrent_streams",
     .type = TG_CFG_UINT,
     .def = "100",
     FIELD(grpc_max_concurrent_streams),
     .min = 1,
     .max = UINT32_MAX,
     .help = "HTTP/2 streams a client may have open at once."},
    {.path = "receivers.otlp_grpc.max_message_bytes",
     .type = TG_CFG_SIZE,
     .def = "16MiB",
     FIELD(grpc_max_message_bytes),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Largest gRPC message accepted (RESOURCE_EXHAUSTED beyond)."},
    {.path = "receivers.otlp_grpc.max_connections",
     .type = TG_CFG_UINT,
     .def = "1024",
     FIELD(grpc_max_connections),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Concurrent gRPC connections; more are refused."},
    {.path = "receivers.otlp_grpc.idle_timeout",
     .type = TG_CFG_DURATION,
     .def = "300s",
     FIELD(grpc_idle_timeout_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "A connection with no open stream for this long is closed."},
    {.path = "receivers.otlp_grpc.request_timeout",
     .type = TG_CFG_DURATION,
     .def = "30s",
     FIELD(grpc_request_timeout_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "Longest a single export call may take."},
    {.path = "receivers.otlp_grpc.preface_timeout",
     .type = TG_CFG_DURATION,
     .def = "10s",
     FIELD(grpc_preface_timeout_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "A new connection must send the HTTP/2 preface within this; one that "
             "does not is closed (bare sockets do not hold slots)."},
    {.path = "receivers.otlp_grpc.max_connections_per_source",
     .type = TG_CFG_UINT,
     .def = "256",
     FIELD(grpc_max_conns_per_source),
     .max = UINT64_MAX,
     .help = "gRPC connections one client address may hold (0: no cap of its own)."},

    {.path = "receivers.otlp_grpc.token_files",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     FIELD(grpc_token_files),
     .count_offset = offsetof(tg_collector_config, n_grpc_token_files),
     .item_size = sizeof(((tg_collector_config *)0)->grpc_token_files[0]),
     .help = "Files of one bearer token each (mode 600); when any, every OTLP/gRPC "
             "request must present one of them (401 / UNAUTHENTICATED otherwise)."},
    {.path = "receivers.otlp_grpc.tokens",
     .type = TG_CFG_CUSTOM,
     .def = "[]",
     .load = load_grpc_tokens,
     .type_text = "list",
     .help = "Named bearer tokens, each `{name, token_file, services: [...]}`: like "
             "token_files, and a token that lists services may send only for them "
             "(resource service.name; PERMISSION_DENIED otherwise)."},
    {.path = "receivers.otlp_grpc.tls.cert_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(grpc_tls_cert_file),
     .help = "Serve OTLP/gRPC (ALPN h2) over TLS with this certificate chain (PEM, with "
             "tls.key_file)."},
    {.path = "receivers.otlp_grpc.tls.key_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(grpc_tls_key_file),
     .help = "Private key of tls.cert_file (PEM)."},
    {.path = "receivers.otlp_grpc.tls.client_ca_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(grpc_tls_client_ca_file),
     .help = "Verify client certificates against this CA (PEM); one that does not verify "
             "fails the handshake."},
    {.path = "receivers.otlp_grpc.tls.require_client_cert",
     .type = TG_CFG_BOOL,
     .def = "false",
     FIELD(grpc_tls_require_client_cert),
     .help =
         "Refuse clients without a certificate (mutual TLS; needs tls.client_ca_file)."},
    {.path = "receivers.otlp_http.listen",
     .type = TG_CFG_ADDRESS,
     .def = "0.0.0.0:4318",
     FIELD(otlp_http_listen),
     .flag = "otlp-http",
     .metavar = "ADDR",
     .help = "OTLP/HTTP listen address (HOST:PORT)."},
    {.path = "receivers.otlp_http.max_body_bytes",
     .type = TG_CFG_SIZE,
     .def = "16MiB",
     FIELD(http_max_body_bytes),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Largest request body accepted, as sent (413 beyond)."},
    {.path = "receivers.otlp_http.max_buffered_body_bytes",
     .type = TG_CFG_SIZE,
     .def = "256MiB",
     FIELD(http_max_buffered_body_bytes),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Request bodies held in memory across all connections; a body "
             "beyond it gets 503 with Retry-After."},
    {.path = "receivers.otlp_http.max_connections",
     .type = TG_CFG_UINT,
     .def = "1024",
     FIELD(http_max_connections),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Concurrent HTTP connections; more get 503."},
    {.path = "receivers.otlp_http.header_timeout",
     .type = TG_CFG_DURATION,
     .def = "10s",
     FIELD(http_header_timeout_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "Time allowed for a request's whole header section (408 beyond)."},
    {.path = "receivers.otlp_http.body_timeout",
     .type = TG_CFG_DURATION,
     .def = "30s",
     FIELD(http_body_timeout_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "Time allowed for a request's whole body (408 beyond)."},
    {.path = "receivers.otlp_http.idle_timeout",
     .type = TG_CFG_DURATION,
     .def = "120s",
     FIELD(http_idle_timeout_ms),
     .unit_ms = 1,
     .min = 1,
     .max = UINT64_MAX,
     .help = "An idle keep-alive connection is closed after this long."},
    {.path = "receivers.otlp_http.max_connections_per_source",
     .type = TG_CFG_UINT,
     .def = "256",
     FIELD(http_max_conns_per_source),
     .max = UINT64_MAX,
     .help = "HTTP connections one client address may hold; more get 503 (0: no cap of "
             "its own)."},
    {.path = "receivers.otlp_http.tls.cert_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(http_tls_cert_file),
     .help = "Serve OTLP/HTTP over TLS with this certificate chain (PEM, with "
             "tls.key_file)."},
    {.path = "receivers.otlp_http.tls.key_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(http_tls_key_file),
     .help = "Private key of tls.cert_file (PEM)."},
    {.path = "receivers.otlp_http.tls.client_ca_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(http_tls_client_ca_file),
     .help = "Verify client certificates against this CA (PEM); one that does not verify "
             "fails the handshake."},
    {.path = "receivers.otlp_http.tls.require_client_cert",
     .type = TG_CFG_BOOL,
     .def = "false",
     FIELD(http_tls_require_client_cert),
     .help =
         "Refuse clients without a certificate (mutual TLS; needs tls.client_ca_file)."},

    {.path = "receivers.otlp_http.token_files",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     FIELD(http_token_files),
     .count_offset = offsetof(tg_collector_config, n_http_token_files),
     .item_size = sizeof(((tg_collector_config *)0)->http_token_files[0]),
     .help = "Files of one bearer token each (mode 600); when any, every OTLP/HTTP "
             "request must present one of them (401 / UNAUTHENTICATED otherwise)."},
    {.path = "receivers.otlp_http.tokens",
     .type = TG_CFG_CUSTOM,
     .def = "[]",
     .load = load_http_tokens,
     .type_text = "list",
     .help = "Named bearer tokens, each `{name, token_file, services: [...]}`: like "
             "token_files, and a token that lists services may send only for them "
             "(resource service.name; 403 otherwise)."},

    {.path = "api.listen",
     .type = TG_CFG_ADDRESS,
     .def = "127.0.0.1:9470",
     FIELD(api_listen),
     .flag = "api",
     .metavar = "ADDR",
     .help = "Query API, /healthz, /readyz and /metrics (HOST:PORT)."},
    {.path = "api.insecure",
     .type = TG_CFG_BOOL,
     .def = "false",
     FIELD(api_insecure),
     .help = "Serve the API on a non-loopback address without TLS or without query "
             "clients, on purpose (flag: --insecure-api); otherwise the collector "
             "refuses to start."},
    {.path = "api.tls.cert_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(api_tls_cert_file),
     .help = "Serve the site API over TLS with this certificate chain (PEM, with "
             "tls.key_file)."},
    {.path = "api.tls.key_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(api_tls_key_file),
     .help = "Private key of tls.cert_file (PEM)."},
    {.path = "api.tls.client_ca_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(api_tls_client_ca_file),
     .help = "Verify client certificates against this CA (PEM); one that does not verify "
             "fails the handshake."},
    {.path = "api.tls.require_client_cert",
     .type = TG_CFG_BOOL,
     .def = "false",
     FIELD(api_tls_require_client_cert),
     .help =
         "Refuse clients without a certificate (mutual TLS; needs tls.client_ca_file)."},

    {.path = "store.max_bytes",
     .type = TG_CFG_SIZE,
     .def = "10GiB",
     FIELD(store_max_bytes),
     .min = 0,
     .max = UINT64_MAX,
     .help = "Oldest data is evicted beyond this size; 0 means unlimited."},
    {.path = "store.max_age",
     .type = TG_CFG_DURATION,
     .def = "7d",
     FIELD(store_max_age_sec),
     .unit_ms = 1000,
     .min = 0,
     .max = UINT64_MAX,
     .help = "Data older than this is evicted (whole seconds); 0 keeps everything."},
    {.path = "store.initial_map_size",
     .type = TG_CFG_SIZE,
     .def = "1GiB",
     FIELD(store_initial_map_size),
     .min = MIB,
     .max = UINT64_MAX,
     .help = "Initial LMDB map size; it grows as needed (at least 1MiB)."},
    {.path = "store.zstd_level",
     .type = TG_CFG_UINT,
     .def = "1",
     FIELD(store_zstd_level),
     .min = 1,
     .max = 22,
     .help = "zstd compression level of stored records (1-22)."},
    {.path = "store.sync",
     .type = TG_CFG_BOOL,
     .def = "true",
     FIELD(store_sync),
     .help = "fsync each commit before acknowledging; false only for benchmarks."},
    {.path = "store.max_map_size",
     .type = TG_CFG_SIZE,
     .def = "0",
     FIELD(store_max_map_size),
     .min = 0,
     .max = UINT64_MAX,
     .help = "The LMDB map never grows past this (the store is then full); 0 means "
             "unlimited."},
    {.path = "store.on_full",
     .type = TG_CFG_ENUM,
     .def = "refuse",
     FIELD(store_on_full),
     .choices = on_full_names,
     .help =
         "When the store is full (max_map_size or disk): refuse writes (503 / "
         "UNAVAILABLE), or evict the oldest records, never younger than evict_floor."},
    {.path = "store.evict_floor",
     .type = TG_CFG_DURATION,
     .def = "1h",
     FIELD(store_evict_floor_sec),
     .unit_ms = 1000,
     .min = 0,
     .max = UINT64_MAX,
     .help = "evict-oldest never removes data ingested less than this long ago."},

    {.path = "limits.max_decompressed_bytes",
     .type = TG_CFG_SIZE,
     .def = "64MiB",
     FIELD(max_decompressed_bytes),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Largest request after decompression (decompression bombs stop here)."},
    {.path = "limits.max_decompression_ratio",
     .type = TG_CFG_UINT,
     .def = "200",
     FIELD(max_decompress_ratio),
     .max = 1000000,
     .help =
         "A request may decompress to at most this many times its size as sent "
         "(never less than 4MiB; max_decompressed_bytes still caps it); beyond: 413 / "
         "RESOURCE_EXHAUSTED (0: size cap only)."},
    {.path = "limits.api_max_connections",
     .type = TG_CFG_UINT,
     .def = "1024",
     FIELD(api_max_connections),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Concurrent connections to the site API; more get 503."},
    {.path = "limits.api_max_connections_per_source",
     .type = TG_CFG_UINT,
     .def = "64",
     FIELD(api_max_conns_per_source),
     .max = UINT64_MAX,
     .help = "Site API connections one client address may hold, so one client cannot "
             "take every slot; more get 503 (0: no cap of its own)."},
    {.path = "limits.max_read_bytes",
     .type = TG_CFG_SIZE,
     .def = "64MiB",
     FIELD(api_max_read_bytes),
     .min = 1 << 20,
     .max = UINT64_MAX,
     .help = "Memory one read may take, its decoded records and its JSON together; a "
             "larger answer is refused with 413 (at least 1MiB)."},
    {.path = "limits.max_pending_bytes",
     .type = TG_CFG_SIZE,
     .def = "32MiB",
     FIELD(max_pending_bytes),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Received but not yet committed data; beyond it clients get 429."},
    {.path = "limits.retry_after",
     .type = TG_CFG_DURATION,
     .def = "1s",
     FIELD(retry_after_sec),
     .unit_ms = 1000,
     .min = 0,
     .max = UINT64_MAX,
     .help = "Retry-After sent with 429 / RESOURCE_EXHAUSTED (whole seconds)."},

    {.path = "rules",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     FIELD(rules_files),
     .count_offset = offsetof(tg_collector_config, n_rules_files),
     .item_size = sizeof(((tg_collector_config *)0)->rules_files[0]),
     .flag = "rules",
     .metavar = "FILE",
     .help = "Residency rules files; empty means the default policy. "
             "The flag is repeatable and replaces the file's list."},
    {.path = "central.url",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(central_url),
     .check = check_url,
     .flag = "central",
     .metavar = "URL",
     .help = "Central view to forward summaries to; empty means none."},
    {.path = "central.token_file",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(central_token_file),
     .flag = "central-token-file",
     .metavar = "FILE",
     .help = "File holding the token this site presents to central."},
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const tg_cfgtab table = {config_keys, N_KEYS};

size_t tg_config_key_count(void)
{
    return N_KEYS;
}

/* ---- validators --------------------------------------------------------- */

static int check_site(const char *v, char *why, size_t whylen)
{
    if (!*v)
        return tg_errf(why, whylen, TG_EINVAL, "must not be empty");
    if (!isalnum((unsigned char)v[0]))
        return tg_errf(why, whylen, TG_EINVAL, "must start with a letter or digit");
    for (const char *p = v; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return tg_errf(why, whylen, TG_EINVAL,
                           "may only contain letters, digits, '.', '_' and '-'");
    }
    return 0;
}

static int check_nonempty(const char *v, char *why, size_t whylen)
{
    return *v ? 0 : tg_errf(why, whylen, TG_EINVAL, "must not be empty");
}

static int check_loops(const char *v, char *why, size_t whylen)
{
    char *end;
    unsigned long n;

    if (strcmp(v, "auto") == 0)
        return 0;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n < 1 || n > TG_CONFIG_MAX_LOOPS)
        return tg_errf(why, whylen, TG_EINVAL, "must be `auto` or a number from 1 to %d",
                       TG_CONFIG_MAX_LOOPS);
    return 0;
}

unsigned tg_config_loops(const tg_collector_config *cfg, long online_cpus)
{
    unsigned long n;

    if (strcmp(cfg->receivers_loops, "auto") != 0) {
        n = strtoul(cfg->receivers_loops, NULL, 10);
        return n >= 1 && n <= TG_CONFIG_MAX_LOOPS ? (unsigned)n : 1;
    }
    if (online_cpus < 1)
        return 1;
    return online_cpus > TG_CONFIG_AUTO_LOOPS ? TG_CONFIG_AUTO_LOOPS
                                              : (unsigned)online_cpus;
}

static int check_url(const char *v, char *why, size_t whylen)
{
    const char *rest;

    if (!*v)
        return 0;
    if (strncmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        rest = v + 8;
    else
        return tg_errf(why, whylen, TG_EINVAL, "must start with http:// or https://");
    if (!*rest || *rest == '/')
        return tg_errf(why, whylen, TG_EINVAL, "has no host");
    return 0;
}

/* receivers.otlp_*.tokens: [{name, token_file, services: [...]}]. Token
 * files resolve against the directory of the file that names them, as the
 * query clients' do; the tokens themselves are read by collector/secure.c
 * when the receivers start. */
static int load_tokens(tg_config_token *v, size_t *n, const tg_ynode *list,
                       const char *file, char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "token_file", "services", NULL};
    char dir[1024], tf[1024];
    const char *slash = strrchr(file, '/');
    int rc;

    *n = 0;
    if (tg_yaml_is_null(list))
        return 0;
    if (list->kind != TG_YNODE_SEQ)
        return tg_yaml_error(err, errlen, file, list,
                             "expected a list of {name, token_file, services}");
    if (list->n > TG_CONFIG_MAX_TOKENS)
        return tg_yaml_error(err, errlen, file, list, "at most %d tokens",
                             TG_CONFIG_MAX_TOKENS);
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file) : 1,
             slash ? file : ".");
    for (size_t i = 0; i < list->n; i++) {
        const tg_ynode *it = list->items[i], *x;
        tg_config_token *t = &v[i];

        memset(t, 0, sizeof(*t));
        if (it->kind != TG_YNODE_MAP)
            return tg_yaml_error(err, errlen, file, it,
                                 "expected a mapping {name, token_file, services}");
        if ((rc = tg_yaml_check_keys(file, it, keys, err, errlen)))
            return rc;
        if (!(x = tg_yaml_get(it, "name")))
            return tg_yaml_error(err, errlen, file, it, "a token needs a name");
        if ((rc = tg_yaml_str(file, x, t->name, sizeof(t->name), err, errlen)))
            return rc;
        if (check_site(t->name, tf, sizeof(tf)) != 0)
            return tg_yaml_error(err, errlen, file, x,
                                 "a token's name is letters, digits, '.', '_', '-'");
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j].name, t->name) == 0)
                return tg_yaml_error(err, errlen, file, x, "\"%s\" is listed twice",
                                     t->name);
        if (!(x = tg_yaml_get(it, "token_file")))
            return tg_yaml_error(err, errlen, file, it, "\"%s\" needs a token_file",
                                 t->name);
        if ((rc = tg_yaml_str(file, x, tf, sizeof(tf), err, errlen)))
            return rc;
        if (!tf[0])
            return tg_yaml_error(err, errlen, file, x, "token_file must not be empty");
        if ((size_t)snprintf(t->token_file, sizeof(t->token_file), "%s%s%s",
                             tf[0] == '/' ? "" : dir, tf[0] == '/' ? "" : "/",
                             tf) >= sizeof(t->token_file))
            return tg_yaml_error(err, errlen, file, x, "token_file path too long");
        if (!(x = tg_yaml_get(it, "services")) || tg_yaml_is_null(x))
            continue;
        if (x->kind != TG_YNODE_SEQ || x->n == 0)
            return tg_yaml_error(err, errlen, file, x,
                                 "services: expected a list of service names (leave "
                                 "it out for any service)");
        if (x->n > TG_CONFIG_MAX_TOKEN_SERVICES)
            return tg_yaml_error(err, errlen, file, x, "at most %d services per token",
                                 TG_CONFIG_MAX_TOKEN_SERVICES);
        for (size_t j = 0; j < x->n; j++) {
            char *svc = t->services[j];
            if ((rc = tg_yaml_str(file, x->items[j], svc, sizeof(t->services[j]), err,
                                  errlen)))
                return rc;
            if (!svc[0])
                return tg_yaml_error(err, errlen, file, x->items[j],
                                     "a service name must not be empty");
            t->n_services++;
        }
    }
    *n = list->n;
    return 0;
}

static int load_grpc_tokens(void *base, const tg_ynode *v, const char *file, char *err,
                            size_t errlen)
{
    tg_collector_config *c = base;

    return load_tokens(c->grpc_tokens, &c->n_grpc_tokens, v, file, err, errlen);
}

static int load_http_tokens(void *base, const tg_ynode *v, const char *file, char *err,
                            size_t errlen)
{
    tg_collector_config *c = base;

    return load_tokens(c->http_tokens, &c->n_http_tokens, v, file, err, errlen);
}

void tg_config_defaults(tg_collector_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    tg_cfgtab_defaults(&table, cfg);
}

/* ---- the YAML loader ----------------------------------------------------- */

int tg_config_load_buffer(const char *name, const char *buf, size_t len,
                          tg_collector_config *cfg, size_t *n_set, char *err,
                          size_t errlen)
{
    /* The site's forwarding settings (cost model, outbox budget, TLS,
     * metric mapping) are a section of their own, read and checked,
     * unknown keys included, by the forwarder's loader
     * (exporters/fwd_config.c) from the same file; so are the query
     * clients (collector.c, load_query_clients) and the cost model
     * (cost/model_config.c, read by the forward link). */
    static const char *const skip[] = {"forward", "query", "cost_model", "audit", NULL};
    tg_collector_config *work;
    tg_ynode *root;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    root = tg_yaml_load_buffer(name, buf, len, err, errlen);
    if (!root)
        return TG_ECONFIG;
    /* Work on a copy so a failed load leaves cfg as it was. */
    work = malloc(sizeof(*work));
    if (!work) {
        tg_yaml_free(root);
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", name);
        return TG_ENOMEM;
    }
    memcpy(work, cfg, sizeof(*work));
    rc = tg_cfgtab_load(&table, work, root, name, skip, n_set, err, errlen);
    tg_yaml_free(root);
    if (rc == 0)
        memcpy(cfg, work, sizeof(*cfg));
    free(work);
    return rc;
}

int tg_config_load(const char *path, tg_collector_config *cfg, char *err, size_t errlen)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return TG_EIO;
    }
    buf = malloc(TG_CONFIG_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", path);
        return TG_ENOMEM;
    }
    n = fread(buf, 1, TG_CONFIG_MAX_FILE + 1, f);
    if (ferror(f)) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        rc = TG_EIO;
    } else if (n > TG_CONFIG_MAX_FILE) {
        if (err && errlen)
            snprintf(err, errlen, "%s: larger than %u bytes; not a configuration file?",
                     path, TG_CONFIG_MAX_FILE);
        rc = TG_ECONFIG;
    } else {
        rc = tg_config_load_buffer(path, buf, n, cfg, NULL, err, errlen);
    }
    free(buf);
    fclose(f);
    return rc;
}

/* ---- command line -------------------------------------------------------- */

enum {
    OPT_HELP = 'h',
    OPT_CONFIG = 1000,
    OPT_REFERENCE,
    OPT_INSECURE_API,
    OPT_KEY0 = 2000
};

#define MAX_OPTS (N_KEYS + 5)

static size_t build_options(struct option *opts)
{
    size_t n = 0;

    opts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    for (size_t i = 0; i < N_KEYS; i++) {
        if (config_keys[i].flag)
            opts[n++] = (struct option){config_keys[i].flag, required_argument, NULL,
                                        OPT_KEY0 + (int)i};
    }
    opts[n++] =
        (struct option){"print-config-reference", no_argument, NULL, OPT_REFERENCE};
    opts[n++] = (struct option){"insecure-api", no_argument, NULL, OPT_INSECURE_API};
    opts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[n] = (struct option){NULL, 0, NULL, 0};
    return n;
}

#define USAGE_INDENT 30
#define USAGE_WIDTH 79

/* Prints `left` in the first column, `text` word-wrapped beside it, and
 * `note` (if any) on a line of its own below. */
static void usage_entry(FILE *f, const char *left, const char *text, const char *note)
{
    int col = fprintf(f, "  %s", left);
    const char *w = text;

    if (col >= USAGE_INDENT) {
        fputc('\n', f);
        col = 0;
    }
    col += fprintf(f, "%*s", USAGE_INDENT - col, "");
    while (*w) {
        size_t len = strcspn(w, " ");
        if (col > USAGE_INDENT && col + 1 + (int)len > USAGE_WIDTH)
            col = fprintf(f, "\n%*s", USAGE_INDENT, "") - 1;
        else if (col > USAGE_INDENT)
            col += fprintf(f, " ");
        col += fprintf(f, "%.*s", (int)len, w);
        w += len;
        while (*w == ' ')
            w++;
    }
    fputc('\n', f);
    if (note)
        fprintf(f, "%*s%s\n", USAGE_INDENT, "", note);
}

static void print_usage(FILE *f)
{
    char left[64], note[256];

    fprintf(f, "usage: tollgate collector [options]\n\n"
               "Runs a site collector. Settings come from the defaults, then the\n"
               "--config file, then these flags: a flag always wins over the file.\n\n"
               "options:\n");
    usage_entry(f, "--config FILE",
                "YAML configuration file; every key is in docs/configuration.md",
                "default: none");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct tg_cfg_key *k = &config_keys[i];
        if (!k->flag)
            continue;
        snprintf(left, sizeof(left), "--%s %s", k->flag, k->metavar);
        snprintf(note, sizeof(note), "default: %s; file key: %s",
                 k->def[0] ? k->def : "none", k->path);
        usage_entry(f, left, k->help, note);
    }
    usage_entry(f, "--print-config-reference",
                "print every configuration key, the forward: section's too, as "
                "Markdown tables",
                NULL);
    usage_entry(f, "--insecure-api",
                "serve the API on a non-loopback address without TLS or without query "
                "clients, on purpose",
                "file key: api.insecure");
    usage_entry(f, "-h, --help", "print this help", NULL);
}

/* Whether `arg` ("--name" or "--name=value") abbreviates several long
 * options, which getopt_long reports just like an unknown one. */
static bool ambiguous(const struct option *opts, const char *arg)
{
    size_t len, n = 0;

    if (strncmp(arg, "--", 2) != 0)
        return false;
    arg += 2;
    len = strcspn(arg, "=");
    for (; opts->name; opts++)
        n += strncmp(opts->name, arg, len) == 0;
    return n > 1;
}

int tg_config_from_args(int argc, char **argv, tg_collector_config *cfg, char *err,
                        size_t errlen)
{
    struct option opts[MAX_OPTS];
    const char *config_path = NULL;
    bool help = false, reference = false, listed = false;
    char first_err[512] = "";
    char why[1024 + 300];
    int c, rc;

    if (err && errlen)
        err[0] = '\0';
    build_options(opts);
    tg_config_defaults(cfg);

    /* Pass 1: find --config and --help, and check the flags' syntax, so the
     * file is loaded before any flag applies whatever their order. */
    opterr = 0;
    optind = 0; /* GNU: fully reinitialise (tests call this repeatedly). */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == OPT_HELP) {
            help = true;
        } else if (c == OPT_REFERENCE) {
            reference = true;
        } else if (c == OPT_CONFIG) {
            if (config_path && !first_err[0])
                snprintf(first_err, sizeof(first_err), "--config given more than once");
            config_path = optarg;
        } else if (c == ':' && !first_err[0]) {
            snprintf(first_err, sizeof(first_err),
                     "option %s needs a value (see tollgate collector --help)",
                     argv[optind - 1]);
        } else if (c == '?' && !first_err[0]) {
            if (optopt)
                snprintf(first_err, sizeof(first_err),
                         "unknown option -%c (see tollgate collector --help)", optopt);
            else
                snprintf(first_err, sizeof(first_err),
                         "%s option %s (see tollgate collector --help)",
                         ambiguous(opts, argv[optind - 1]) ? "ambiguous" : "unknown",
                         argv[optind - 1]);
        }
    }
    if (help) {
        print_usage(stdout);
        return 1;
    }
    if (reference) {
        tg_config_write_reference(stdout);
        printf("\nThe `forward:` section (docs/central.md):\n\n");
        tg_forward_config_write_reference(stdout);
        return 1;
    }
    if (first_err[0])
        return tg_errf(err, errlen, TG_EINVAL, "%s", first_err);
    if (optind < argc)
        return tg_errf(err, errlen, TG_EINVAL,
                       "unexpected argument \"%s\" (see tollgate collector --help)",
                       argv[optind]);

    if (config_path) {
        rc = tg_config_load(config_path, cfg, err, errlen);
        if (rc != 0)
            return rc;
    }

    /* Pass 2: apply the flags. A repeatable flag replaces the file's list
     * on its first use, then appends. */
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const struct tg_cfg_key *k;
        if (c == OPT_INSECURE_API)
            cfg->api_insecure = 1;
        if (c < OPT_KEY0)
            continue;
        k = &config_keys[c - OPT_KEY0];
        if (k->type == TG_CFG_STRING_LIST && !listed) {
            tg_cfgtab_clear(k, cfg);
            listed = true;
        }
        if (tg_cfgtab_set(k, cfg, optarg, why, sizeof(why)) != 0)
            return tg_errf(err, errlen, TG_EINVAL, "--%s: %s", k->flag, why);
    }
    return 0;
}

/* ---- reference ------------------------------------------------------------ */

void tg_config_write_reference(FILE *f)
{
    tg_cfgtab_write_reference(&table, f);
}
