/* The site collector's configuration: defaults, a YAML file, then
 * command-line flags, each overriding the one before.
 *
 * Every key is declared once in a table (name, type, default, offset,
 * help) that drives parsing, the defaults and docs/configuration.md.
 * Unknown keys, wrong types and bad values are errors reported as
 * "FILE:LINE:COLUMN: message". */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stddef.h>

#include "tg_units.h"
#include <stdint.h>
#include <stdio.h>

#define TG_CONFIG_MAX_RULES 16
#define TG_CONFIG_MAX_TOKEN_FILES 16
#define TG_CONFIG_MAX_TOKENS 16
#define TG_CONFIG_MAX_TOKEN_SERVICES 16

/* One entry of receivers.otlp_{grpc,http}.tokens: a bearer token and the
 * services (resource service.name) it may send for; none listed: any. */
typedef struct tg_config_token {
    char name[64];
    char token_file[1024]; /* resolved against the config file's directory */
    char services[TG_CONFIG_MAX_TOKEN_SERVICES][128];
    size_t n_services;
} tg_config_token;

/* receivers.loops: at most this many; `auto` takes one per online CPU up
 * to TG_CONFIG_AUTO_LOOPS: every loop holds its own decode arena (a few
 * MiB), and all of them feed one LMDB writer thread. */
#define TG_CONFIG_MAX_LOOPS 64
#define TG_CONFIG_MAX_LOOPS_STR "64"
#define TG_CONFIG_AUTO_LOOPS 16
#define TG_CONFIG_AUTO_LOOPS_STR "16"

typedef struct tg_collector_config {
    char site[64];       /* site: */
    char data_dir[1024]; /* data_dir: */
    char log_level[16];  /* log.level: debug|info|warn|error */

    char receivers_loops[16];   /* receivers.loops: "auto" or 1..TG_CONFIG_MAX_LOOPS */
    char otlp_grpc_listen[128]; /* receivers.otlp_grpc.listen */
    uint32_t grpc_max_concurrent_streams;
    uint64_t grpc_max_message_bytes;
    uint64_t grpc_max_connections;
    uint64_t grpc_idle_timeout_ms;
    uint64_t grpc_request_timeout_ms;
    uint64_t grpc_preface_timeout_ms;
    uint64_t grpc_max_conns_per_source;

    char otlp_http_listen[128]; /* receivers.otlp_http.listen */
    uint64_t http_max_body_bytes;
    uint64_t http_max_buffered_body_bytes;
    uint64_t http_max_connections;
    uint64_t http_header_timeout_ms;
    uint64_t http_body_timeout_ms;
    uint64_t http_idle_timeout_ms;
    uint64_t http_max_conns_per_source;

    /* receivers.otlp_{grpc,http}.token_files: when any, a bearer token from
     * one of them is required (Authorization header / gRPC metadata) */
    char grpc_token_files[TG_CONFIG_MAX_TOKEN_FILES][1024];
    size_t n_grpc_token_files;
    char http_token_files[TG_CONFIG_MAX_TOKEN_FILES][1024];
    size_t n_http_token_files;
    /* receivers.otlp_{grpc,http}.tokens: named tokens, each limited to
     * the services it lists */
    tg_config_token grpc_tokens[TG_CONFIG_MAX_TOKENS];
    size_t n_grpc_tokens;
    tg_config_token http_tokens[TG_CONFIG_MAX_TOKENS];
    size_t n_http_tokens;
    /* receivers.otlp_grpc.tls.*: "" = h2c */
    char grpc_tls_cert_file[1024], grpc_tls_key_file[1024], grpc_tls_client_ca_file[1024];
    int grpc_tls_require_client_cert;

    char api_listen[128];              /* api.listen */
    uint64_t api_max_read_bytes;       /* limits.max_read_bytes */
    uint64_t api_max_connections;      /* limits.api_max_connections */
    uint64_t api_max_conns_per_source; /* limits.api_max_connections_per_source */
    int api_insecure;                  /* api.insecure / --insecure-api */
    /* api.tls.* and receivers.otlp_http.tls.*: "" = plain HTTP */
    char api_tls_cert_file[1024], api_tls_key_file[1024], api_tls_client_ca_file[1024];
    int api_tls_require_client_cert;
    char http_tls_cert_file[1024], http_tls_key_file[1024], http_tls_client_ca_file[1024];
    int http_tls_require_client_cert;

    uint64_t store_max_bytes;        /* store.max_bytes (0 = unlimited) */
    uint64_t store_max_age_sec;      /* store.max_age (0 = keep) */
    uint64_t store_initial_map_size; /* store.initial_map_size */
    int store_zstd_level;            /* store.zstd_level */
    int store_sync;                  /* store.sync: false only for benchmarks */
    uint64_t store_max_map_size;     /* store.max_map_size (0 = unlimited) */
    char store_on_full[16];          /* store.on_full: refuse|evict-oldest */
    uint64_t store_evict_floor_sec;  /* store.evict_floor */

    uint64_t max_decompressed_bytes; /* limits.max_decompressed_bytes */
    uint64_t max_decompress_ratio;   /* limits.max_decompression_ratio */
    uint64_t max_pending_bytes;      /* limits.max_pending_bytes */
    uint64_t retry_after_sec;        /* limits.retry_after */

    char rules_files[TG_CONFIG_MAX_RULES][1024]; /* rules: [FILE, ...] */
    size_t n_rules_files;
    char central_url[1024];        /* central.url */
    char central_token_file[1024]; /* central.token_file */
} tg_collector_config;

void tg_config_defaults(tg_collector_config *cfg);

/* How many ingest loops to run: receivers.loops, or for `auto` one per
 * online CPU (online_cpus, from sysconf) capped at TG_CONFIG_AUTO_LOOPS. */
unsigned tg_config_loops(const tg_collector_config *cfg, long online_cpus);

/* Loads `path` over cfg. Returns 0, or TG_ECONFIG / TG_EIO with
 * "path:line:column: message" in err. */
int tg_config_load(const char *path, tg_collector_config *cfg, char *err, size_t errlen);

/* The collector's command line: defaults, then --config FILE, then the
 * flags of PRODUCT.md (--site --data --otlp-grpc --otlp-http --api --rules
 * (repeatable) --central --central-token-file). Returns 0, 1 when --help
 * was printed (to stdout), or TG_ECONFIG / TG_EINVAL with a message in
 * err. */
int tg_config_from_args(int argc, char **argv, tg_collector_config *cfg, char *err,
                        size_t errlen);

/* Writes the table of keys as Markdown (docs/configuration.md is
 * generated from it by `tollgate collector --print-config-reference`). */
void tg_config_write_reference(FILE *f);

#endif
