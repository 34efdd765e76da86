/* The collector's configuration: one table of keys drives the defaults,
 * the YAML loader, the command-line flags, --help and the Markdown
 * reference, so a key is declared exactly once.
 *
 * The loader walks common/tg_yaml's tree (positions on every node,
 * duplicate keys and aliases already refused): the file is small (capped
 * at TG_CONFIG_MAX_FILE), and the walk only descends into mappings the
 * table knows. */
#include "tg_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "tg_err.h"
#include "tg_yaml.h"

/* A configuration file larger than this is a mistake, not a config. */
#define TG_CONFIG_MAX_FILE (1u << 20)

enum tg_config_type {
    TG_CFG_STRING,
    TG_CFG_ADDRESS,     /* string, validated as HOST:PORT */
    TG_CFG_SIZE,        /* uint64_t bytes */
    TG_CFG_DURATION,    /* uint64_t, in units of `unit_ms` */
    TG_CFG_UINT,        /* uint32_t, uint64_t or int (by `size`), bounded */
    TG_CFG_BOOL,        /* int 0 / 1 */
    TG_CFG_ENUM,        /* string, one of `choices` */
    TG_CFG_STRING_LIST, /* char[N][M] plus a size_t count at `count_offset` */
};

typedef int (*tg_config_check_fn)(const char *value, char *why, size_t whylen);

struct tg_config_key {
    const char *path;
    enum tg_config_type type;
    const char *def; /* default, written as it would be in the file */
    size_t offset;
    size_t size; /* sizeof the member (a string's capacity) */
    size_t count_offset;
    uint64_t min, max; /* bounds for size, duration (ms) and uint */
    uint64_t unit_ms;  /* duration members: 1 stores ms, 1000 seconds */
    const char *const *choices;
    tg_config_check_fn check;
    const char *flag;    /* long option of `tollgate collector`, or NULL */
    const char *metavar; /* the flag's argument in --help */
    const char *help;
};

#define FIELD(m)                                                                         \
    .offset = offsetof(tg_collector_config, m),                                          \
    .size = sizeof(((tg_collector_config *)0)->m)

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

static int check_site(const char *v, char *why, size_t whylen);
static int check_nonempty(const char *v, char *why, size_t whylen);
static int check_url(const char *v, char *why, size_t whylen);

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static const struct tg_config_key config_keys[] = {
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
     .choices = log_levels,
     .help = "Least severe level of the collector's own logs."},

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

    {.path = "api.listen",
     .type = TG_CFG_ADDRESS,
     .def = "127.0.0.1:9470",
     FIELD(api_listen),
     .flag = "api",
     .metavar = "ADDR",
     .help = "Query API, /healthz, /readyz and /metrics (HOST:PORT)."},

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

    {.path = "limits.max_decompressed_bytes",
     .type = TG_CFG_SIZE,
     .def = "64MiB",
     FIELD(max_decompressed_bytes),
     .min = 1,
     .max = UINT64_MAX,
     .help = "Largest request after decompression (decompression bombs stop here)."},
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

size_t tg_config_key_count(void)
{
    return N_KEYS;
}

/* ---- value parsing ------------------------------------------------------ */

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return TG_EINVAL;
}

/* Text from the file shown in a message: at most 64 bytes, control
 * characters escaped, so a hostile file cannot garble the terminal. */
static void printable(char *out, size_t outlen, const unsigned char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        if (i == 64) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] < 0x20 || s[i] == 0x7f) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", s[i]);
        } else {
            out[o++] = (char)s[i];
        }
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

/* ---- validators --------------------------------------------------------- */

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return TG_EINVAL;
}

static int check_site(const char *v, char *why, size_t whylen)
{
    if (!*v)
        return why_fail(why, whylen, "must not be empty");
    if (!isalnum((unsigned char)v[0]))
        return why_fail(why, whylen, "must start with a letter or digit");
    for (const char *p = v; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return why_fail(why, whylen,
                            "may only contain letters, digits, '.', '_' and '-'");
    }
    return 0;
}

static int check_nonempty(const char *v, char *why, size_t whylen)
{
    return *v ? 0 : why_fail(why, whylen, "must not be empty");
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
        return why_fail(why, whylen, "must start with http:// or https://");
    if (!*rest || *rest == '/')
        return why_fail(why, whylen, "has no host");
    return 0;
}

static bool valid_hostname(const char *h, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && h[len - 1] != '-';
}

int tg_config_check_address(const char *addr, char *why, size_t whylen)
{
    const char *port, *host = addr;
    size_t hostlen;
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    unsigned long p = 0;

    if (!*addr)
        return why_fail(why, whylen, "is empty; expected HOST:PORT");
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb)
            return why_fail(why, whylen, "has no closing ']'; expected [IPv6]:PORT");
        host = addr + 1;
        hostlen = (size_t)(rb - host);
        if (hostlen == 0 || hostlen >= sizeof(buf))
            return why_fail(why, whylen, "has an invalid IPv6 address in brackets");
        memcpy(buf, host, hostlen);
        buf[hostlen] = '\0';
        if (inet_pton(AF_INET6, buf, bin) != 1)
            return why_fail(why, whylen, "has an invalid IPv6 address in brackets");
        if (rb[1] != ':')
            return why_fail(why, whylen, "has no :PORT after the IPv6 address");
        port = rb + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon)
            return why_fail(why, whylen, "has no port; expected HOST:PORT");
        hostlen = (size_t)(colon - addr);
        if (memchr(addr, ':', hostlen))
            return why_fail(why, whylen,
                            "looks like an IPv6 address: write it in brackets, "
                            "e.g. [::1]:4317");
        if (hostlen == 0)
            return why_fail(why, whylen,
                            "has no host (0.0.0.0:PORT listens on every interface)");
        if (strspn(addr, "0123456789.") >= hostlen) {
            if (hostlen >= sizeof(buf))
                return why_fail(why, whylen, "has an invalid IPv4 address");
            memcpy(buf, addr, hostlen);
            buf[hostlen] = '\0';
            if (inet_pton(AF_INET, buf, bin) != 1)
                return why_fail(why, whylen, "has an invalid IPv4 address");
        } else if (!valid_hostname(addr, hostlen)) {
            return why_fail(why, whylen, "has an invalid host name");
        }
        port = colon + 1;
    }
    if (!*port)
        return why_fail(why, whylen, "has no port; expected HOST:PORT");
    if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
        return why_fail(why, whylen, "has an invalid port (expected 0-65535)");
    for (const char *c = port; *c; c++)
        p = p * 10 + (unsigned long)(*c - '0');
    if (p > 65535)
        return why_fail(why, whylen, "has an invalid port (expected 0-65535)");
    return 0;
}

/* ---- setting values ------------------------------------------------------ */

static void *member(tg_collector_config *cfg, const struct tg_config_key *k)
{
    return (char *)cfg + k->offset;
}

static const char *type_name(const struct tg_config_key *k)
{
    switch (k->type) {
    case TG_CFG_STRING:
        return "string";
    case TG_CFG_ADDRESS:
        return "address";
    case TG_CFG_SIZE:
        return "size";
    case TG_CFG_DURATION:
        return "duration";
    case TG_CFG_UINT:
        return "integer";
    case TG_CFG_BOOL:
        return "bool";
    case TG_CFG_ENUM:
        return "enum";
    case TG_CFG_STRING_LIST:
        return "list of strings";
    }
    return "?";
}

/* What a key expects, for messages: "expected <phrase>". */
static void expect_phrase(const struct tg_config_key *k, char *out, size_t outlen)
{
    size_t n;

    switch (k->type) {
    case TG_CFG_STRING:
        snprintf(out, outlen, "a string");
        return;
    case TG_CFG_ADDRESS:
        snprintf(out, outlen, "an address HOST:PORT");
        return;
    case TG_CFG_SIZE:
        snprintf(out, outlen, "a size such as 64MiB");
        return;
    case TG_CFG_DURATION:
        snprintf(out, outlen, "a duration such as 30s");
        return;
    case TG_CFG_UINT:
        snprintf(out, outlen, "a whole number");
        return;
    case TG_CFG_BOOL:
        snprintf(out, outlen, "true or false");
        return;
    case TG_CFG_ENUM:
        n = (size_t)snprintf(out, outlen, "one of");
        for (const char *const *c = k->choices; *c && n < outlen; c++)
            n += (size_t)snprintf(out + n, outlen - n, "%s %s",
                                  c == k->choices ? "" : ",", *c);
        return;
    case TG_CFG_STRING_LIST:
        snprintf(out, outlen, "a list of file names");
        return;
    }
    snprintf(out, outlen, "a value");
}

static int set_string(tg_collector_config *cfg, const struct tg_config_key *k, char *dst,
                      const char *v, char *why, size_t whylen)
{
    size_t len = strlen(v);
    char reason[160], shown[300];

    (void)cfg;
    printable(shown, sizeof(shown), (const unsigned char *)v, len);
    if (len >= k->size)
        return why_fail(why, whylen, "is too long (at most %zu bytes)", k->size - 1);
    if (k->type == TG_CFG_ADDRESS &&
        tg_config_check_address(v, reason, sizeof(reason)) != 0)
        return why_fail(why, whylen, "address \"%s\" %s", shown, reason);
    if (k->check && k->check(v, reason, sizeof(reason)) != 0)
        return why_fail(why, whylen, "\"%s\" %s", shown, reason);
    memcpy(dst, v, len + 1);
    return 0;
}

static void store_uint(tg_collector_config *cfg, const struct tg_config_key *k,
                       uint64_t v)
{
    void *m = member(cfg, k);

    /* The table's bounds guarantee v fits the member; the 4-byte members
     * whose bound fits an int are the int ones (store.zstd_level). */
    if (k->size == sizeof(uint64_t)) {
        uint64_t x = v;
        memcpy(m, &x, sizeof(x));
    } else if (k->size == sizeof(uint32_t) && k->max <= INT_MAX) {
        int x = (int)v;
        memcpy(m, &x, sizeof(x));
    } else {
        uint32_t x = (uint32_t)v;
        memcpy(m, &x, sizeof(x));
    }
}

static int check_bounds(const struct tg_config_key *k, uint64_t v, const char *text,
                        char *why, size_t whylen)
{
    if (v < k->min)
        return why_fail(why, whylen, "\"%s\" is below the minimum (%llu%s)", text,
                        (unsigned long long)k->min,
                        k->type == TG_CFG_SIZE       ? " bytes"
                        : k->type == TG_CFG_DURATION ? " ms"
                                                     : "");
    if (v > k->max)
        return why_fail(why, whylen, "\"%s\" is above the maximum (%llu)", text,
                        (unsigned long long)k->max);
    return 0;
}

/* Sets scalar key k from its text form; the list key appends one item. */
static int set_value(tg_collector_config *cfg, const struct tg_config_key *k,
                     const char *v, char *why, size_t whylen)
{
    uint64_t u;
    const char *reason;
    char shown[300];

    printable(shown, sizeof(shown), (const unsigned char *)v, strlen(v));
    switch (k->type) {
    case TG_CFG_STRING:
    case TG_CFG_ADDRESS:
        return set_string(cfg, k, member(cfg, k), v, why, whylen);
    case TG_CFG_ENUM:
        for (const char *const *c = k->choices; *c; c++) {
            if (strcmp(*c, v) == 0)
                return set_string(cfg, k, member(cfg, k), v, why, whylen);
        }
        {
            char list[128] = "";
            size_t n = 0;
            for (const char *const *c = k->choices; *c && n < sizeof(list); c++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                                      c == k->choices ? "" : ", ", *c);
            return why_fail(why, whylen, "invalid value \"%s\" (expected one of %s)",
                            shown, list);
        }
    case TG_CFG_SIZE:
        if (tg_parse_size_why(v, &u, &reason) != 0) {
            if (strcmp(reason, "too large") == 0)
                return why_fail(why, whylen, "size \"%s\" is too large", shown);
            return why_fail(why, whylen,
                            "invalid size \"%s\" (expected a whole number with an "
                            "optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
                            shown);
        }
        if (check_bounds(k, u, shown, why, whylen) != 0)
            return TG_EINVAL;
        store_uint(cfg, k, u);
        return 0;
    case TG_CFG_DURATION:
        if (tg_parse_duration_why(v, &u, &reason) != 0) {
            if (strcmp(reason, "too large") == 0)
                return why_fail(why, whylen, "duration \"%s\" is too large", shown);
            return why_fail(why, whylen,
                            "invalid duration \"%s\" (expected whole numbers with "
                            "units ms, s, m, h, d, e.g. 30s or 1h30m)",
                            shown);
        }
        if (check_bounds(k, u, shown, why, whylen) != 0)
            return TG_EINVAL;
        if (u % k->unit_ms != 0)
            return why_fail(why, whylen,
                            "duration \"%s\" is not a whole number of seconds", shown);
        store_uint(cfg, k, u / k->unit_ms);
        return 0;
    case TG_CFG_UINT: {
        const char *s = v;
        bool overflow = false;
        if (tg_parse_u64_digits(&s, &u, &overflow) != 0 || *s)
            return why_fail(why, whylen,
                            "invalid number \"%s\" (expected a non-negative integer)",
                            shown);
        if (overflow)
            return why_fail(why, whylen, "number \"%s\" is too large", shown);
        if (check_bounds(k, u, shown, why, whylen) != 0)
            return TG_EINVAL;
        store_uint(cfg, k, u);
        return 0;
    }
    case TG_CFG_BOOL: {
        int b;
        if (parse_bool(v, &b) != 0)
            return why_fail(why, whylen,
                            "invalid boolean \"%s\" (expected true or false)", shown);
        memcpy(member(cfg, k), &b, sizeof(b));
        return 0;
    }
    case TG_CFG_STRING_LIST: {
        size_t *count = (size_t *)((char *)cfg + k->count_offset);
        char(*items)[sizeof(cfg->rules_files[0])] = member(cfg, k);
        size_t cap = k->size / sizeof(cfg->rules_files[0]);
        size_t len = strlen(v);
        if (*count >= cap)
            return why_fail(why, whylen, "too many entries (at most %zu)", cap);
        if (len == 0)
            return why_fail(why, whylen, "entries must not be empty");
        if (len >= sizeof(items[0]))
            return why_fail(why, whylen, "entry is too long (at most %zu bytes)",
                            sizeof(items[0]) - 1);
        memcpy(items[*count], v, len + 1);
        (*count)++;
        return 0;
    }
    }
    return TG_EINVAL;
}

static void clear_list(tg_collector_config *cfg, const struct tg_config_key *k)
{
    size_t *count = (size_t *)((char *)cfg + k->count_offset);
    memset(member(cfg, k), 0, k->size);
    *count = 0;
}

void tg_config_defaults(tg_collector_config *cfg)
{
    char why[256];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct tg_config_key *k = &config_keys[i];
        if (k->type == TG_CFG_STRING_LIST)
            continue; /* every list defaults to empty */
        /* The table's defaults are covered by tests; a failure here would
         * be a typo in the table, and leaves the member zeroed. */
        (void)set_value(cfg, k, k->def, why, sizeof(why));
    }
}

/* ---- the YAML loader ----------------------------------------------------- */

struct loader {
    const char *name;
    tg_collector_config *cfg;
    size_t n_set;
    char *err;
    size_t errlen;
};

static int fail_at(struct loader *l, const tg_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *l, const tg_ynode *n, const char *fmt, ...)
{
    va_list ap;
    int off;

    if (!l->err || !l->errlen)
        return TG_ECONFIG;
    off = snprintf(l->err, l->errlen, "%s:%u:%u: ", l->name, n->line, n->col);
    if (off >= 0 && (size_t)off < l->errlen) {
        va_start(ap, fmt);
        vsnprintf(l->err + off, l->errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return TG_ECONFIG;
}

static const struct tg_config_key *find_key(const char *path, size_t len)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strlen(config_keys[i].path) == len &&
            memcmp(config_keys[i].path, path, len) == 0)
            return &config_keys[i];
    }
    return NULL;
}

static bool is_section(const char *path, size_t len)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *p = config_keys[i].path;
        if (strlen(p) > len && memcmp(p, path, len) == 0 && p[len] == '.')
            return true;
    }
    return false;
}

static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[129];

    /* Callers cap both lengths at 128. */
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The known key or section closest to `path`, for "did you mean"; false
 * when nothing is close enough for the hint to help. */
static bool closest_key(const char *path, size_t len, char *out, size_t outlen)
{
    size_t best = SIZE_MAX;
    const char *leaf = memrchr(path, '.', len);
    size_t leaflen = leaf ? len - (size_t)(leaf + 1 - path) : len;

    out[0] = '\0';
    if (len > 128)
        len = 128;
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *p = config_keys[i].path;
        /* Every prefix ending before a '.' is a section name. */
        for (size_t end = 1; end <= strlen(p); end++) {
            if (p[end] != '.' && p[end] != '\0')
                continue;
            size_t d = edit_distance(path, len, p, end);
            if (d < best) {
                best = d;
                snprintf(out, outlen, "%.*s", (int)end, p);
            }
        }
    }
    /* Typos and transpositions in the last component, not different words. */
    return best <= 1 || best <= leaflen / 3 + 1;
}

/* The names directly under section `prefix` ("" is the top level). */
static void known_keys(const char *prefix, char *out, size_t outlen)
{
    size_t plen = strlen(prefix), n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *p = config_keys[i].path, *name, *dot;
        size_t nlen;
        bool dup = false;

        if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
            continue;
        name = plen ? p + plen + 1 : p;
        dot = strchr(name, '.');
        nlen = dot ? (size_t)(dot - name) : strlen(name);
        for (size_t j = 0; j < i && !dup; j++) {
            const char *q = config_keys[j].path;
            dup = strncmp(q, p, (size_t)(name - p) + nlen) == 0 &&
                  (q[(name - p) + (ptrdiff_t)nlen] == '.' ||
                   q[(name - p) + (ptrdiff_t)nlen] == '\0');
        }
        if (dup || n >= outlen)
            continue;
        n += (size_t)snprintf(out + n, outlen - n, "%s%.*s", n ? ", " : "", (int)nlen,
                              name);
    }
}

static int load_mapping(struct loader *l, const tg_ynode *map, const char *prefix);

static int load_value(struct loader *l, const struct tg_config_key *k, const tg_ynode *v)
{
    char why[1024 + 300], expected[128];

    expect_phrase(k, expected, sizeof(expected));

    if (k->type == TG_CFG_STRING_LIST) {
        clear_list(l->cfg, k);
        if (tg_yaml_is_null(v)) {
            l->n_set++;
            return 0;
        }
        if (v->kind != TG_YNODE_SEQ)
            return fail_at(l, v, "%s: expected %s, found %s", k->path, expected,
                           tg_yaml_kind_name(v));
        for (size_t i = 0; i < v->n; i++) {
            const tg_ynode *item = v->items[i];
            if (item->kind != TG_YNODE_SCALAR)
                return fail_at(l, item, "%s: expected a file name, found %s", k->path,
                               tg_yaml_kind_name(item));
            if (strlen(item->str) != item->len)
                return fail_at(l, item, "%s: value contains a NUL byte", k->path);
            if (set_value(l->cfg, k, item->str, why, sizeof(why)) != 0)
                return fail_at(l, item, "%s: %s", k->path, why);
        }
        l->n_set++;
        return 0;
    }
    if (v->kind != TG_YNODE_SCALAR)
        return fail_at(l, v, "%s: expected %s, found %s", k->path, expected,
                       tg_yaml_kind_name(v));
    if (tg_yaml_is_null(v) && k->type != TG_CFG_STRING)
        return fail_at(l, v, "%s: missing value (expected %s)", k->path, expected);
    if (strlen(v->str) != v->len)
        return fail_at(l, v, "%s: value contains a NUL byte", k->path);
    if (set_value(l->cfg, k, tg_yaml_is_null(v) ? "" : v->str, why, sizeof(why)) != 0)
        return fail_at(l, v, "%s: %s", k->path, why);
    l->n_set++;
    return 0;
}

static int load_mapping(struct loader *l, const tg_ynode *map, const char *prefix)
{
    for (size_t i = 0; i < map->n; i++) {
        const tg_ynode *key = map->keys[i], *val = map->items[i];
        char path[256], shown[400], hint[128], known[512];
        size_t klen = key->len, plen;
        const struct tg_config_key *k;

        plen =
            (size_t)snprintf(path, sizeof(path), "%s%s%.*s", prefix, *prefix ? "." : "",
                             (int)(klen < 200 ? klen : 200), key->str);
        if (plen >= sizeof(path))
            plen = sizeof(path) - 1;
        k = klen < 200 && memchr(key->str, '\0', klen) == NULL ? find_key(path, plen)
                                                               : NULL;
        if (k) {
            int rc = load_value(l, k, val);
            if (rc != 0)
                return rc;
            continue;
        }
        /* The site's forwarding settings (cost model, outbox budget, TLS,
         * metric mapping) are a section of their own, read and checked,
         * unknown keys included, by the forwarder's loader
         * (exporters/fwd_config.c) from the same file. */
        if (!*prefix && plen == 7 && memcmp(path, "forward", 7) == 0)
            continue;
        if (klen < 200 && memchr(key->str, '\0', klen) == NULL &&
            is_section(path, plen)) {
            if (tg_yaml_is_null(val))
                continue;
            if (val->kind != TG_YNODE_MAP)
                return fail_at(l, val, "%s: expected a mapping of keys, found %s", path,
                               tg_yaml_kind_name(val));
            int rc = load_mapping(l, val, path);
            if (rc != 0)
                return rc;
            continue;
        }
        printable(shown, sizeof(shown), (const unsigned char *)path, plen);
        if (closest_key(path, plen, hint, sizeof(hint)))
            return fail_at(l, key, "unknown key \"%s\" (did you mean \"%s\"?)", shown,
                           hint);
        known_keys(prefix, known, sizeof(known));
        return fail_at(l, key, "unknown key \"%s\" (known keys%s%s: %s)", shown,
                       *prefix ? " under " : " at the top level", prefix, known);
    }
    return 0;
}

int tg_config_load_buffer(const char *name, const char *buf, size_t len,
                          tg_collector_config *cfg, size_t *n_set, char *err,
                          size_t errlen)
{
    tg_collector_config *work;
    tg_ynode *root;
    struct loader l = {.name = name, .err = err, .errlen = errlen};
    int rc = 0;

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
    l.cfg = work;
    if (root->kind != TG_YNODE_MAP)
        rc = fail_at(&l, root, "expected a mapping of keys at the top level, found %s",
                     tg_yaml_kind_name(root));
    else
        rc = load_mapping(&l, root, "");
    tg_yaml_free(root);
    if (rc == 0) {
        memcpy(cfg, work, sizeof(*cfg));
        if (n_set)
            *n_set = l.n_set;
    }
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

enum { OPT_HELP = 'h', OPT_CONFIG = 1000, OPT_REFERENCE, OPT_KEY0 = 2000 };

#define MAX_OPTS (N_KEYS + 4)

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
        const struct tg_config_key *k = &config_keys[i];
        if (!k->flag)
            continue;
        snprintf(left, sizeof(left), "--%s %s", k->flag, k->metavar);
        snprintf(note, sizeof(note), "default: %s; file key: %s",
                 k->def[0] ? k->def : "none", k->path);
        usage_entry(f, left, k->help, note);
    }
    usage_entry(f, "--print-config-reference",
                "print every configuration key as a Markdown table", NULL);
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

static int arg_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int arg_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
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
        return 1;
    }
    if (first_err[0])
        return arg_fail(err, errlen, TG_EINVAL, "%s", first_err);
    if (optind < argc)
        return arg_fail(err, errlen, TG_EINVAL,
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
        const struct tg_config_key *k;
        if (c < OPT_KEY0)
            continue;
        k = &config_keys[c - OPT_KEY0];
        if (k->type == TG_CFG_STRING_LIST && !listed) {
            clear_list(cfg, k);
            listed = true;
        }
        if (set_value(cfg, k, optarg, why, sizeof(why)) != 0)
            return arg_fail(err, errlen, TG_EINVAL, "--%s: %s", k->flag, why);
    }
    return 0;
}

/* ---- reference ------------------------------------------------------------ */

void tg_config_write_reference(FILE *f)
{
    fprintf(f, "| key | type | default | flag | description |\n");
    fprintf(f, "|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct tg_config_key *k = &config_keys[i];
        char type[128];

        if (k->type == TG_CFG_ENUM) {
            size_t n = (size_t)snprintf(type, sizeof(type), "enum:");
            for (const char *const *c = k->choices; *c && n < sizeof(type); c++)
                n += (size_t)snprintf(type + n, sizeof(type) - n, " `%s`", *c);
        } else if (k->type == TG_CFG_UINT && k->max == UINT64_MAX) {
            snprintf(type, sizeof(type), "integer, at least %llu",
                     (unsigned long long)k->min);
        } else if (k->type == TG_CFG_UINT) {
            snprintf(type, sizeof(type), "integer, %llu to %llu",
                     (unsigned long long)k->min, (unsigned long long)k->max);
        } else if (k->type == TG_CFG_ADDRESS) {
            snprintf(type, sizeof(type), "address `HOST:PORT`");
        } else {
            snprintf(type, sizeof(type), "%s", type_name(k));
        }
        fprintf(f, "| `%s` | %s | ", k->path, type);
        if (k->type == TG_CFG_STRING_LIST)
            fprintf(f, "`[]`");
        else if (k->def[0])
            fprintf(f, "`%s`", k->def);
        else
            fprintf(f, "`\"\"`");
        if (k->flag)
            fprintf(f, " | `--%s %s`", k->flag, k->metavar);
        else
            fprintf(f, " | ");
        fprintf(f, " | %s |\n", k->help);
    }
}
