/* tollgate query: arguments, the HTTP GET (query_http.c) and what to print.
 *
 *   tollgate query [--endpoint URL] [--token TOKEN] trace TRACE_ID [--json]
 *   tollgate query ... traces 'TRACEQL' [--since DUR | --from T --to T] [--json]
 *   tollgate query ... logs 'LOGQL' [--since DUR | --from T --to T] [--json]
 *   tollgate query ... metrics 'SELECTOR' [--since DUR] [--json]
 *
 * Exit status: 0 success, 1 the query failed (not found, unreachable,
 * server error), 2 bad usage. Redirects are not followed: the bearer
 * token is meant for the endpoint named, nowhere else. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "query_cli.h"
#include "query_http.h"
#include "tg_plan.h"
#include "tg_strbuf.h"
#include "tg_codec.h"
#include "tg_time.h"
#include "tg_units.h"
#include "tg_err.h"

#define DEFAULT_ENDPOINT "http://127.0.0.1:9470"
#define DEFAULT_SINCE "1h"
#define DEFAULT_LIMIT 100
/* An answer larger than this is not something to print on a terminal. */
#define MAX_ANSWER (256u << 20)
#define MAX_ENDPOINT 2048
#define MAX_SERVICE 256

struct query_opts {
    const char *endpoint, *token, *since, *limit, *from, *to;
    bool json, help, require_complete, explain;
    const char *pos[2];
    size_t npos;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tollgate query [--endpoint URL] [--token TOKEN] <what> [options]\n"
        "\n"
        "  trace TRACE_ID        one trace as a span tree (TRACE_ID: 32 hex digits)\n"
        "  traces 'TRACEQL'      search traces across every site, newest first\n"
        "  logs 'LOGQL'          log records (oldest first) or, for a metric query,\n"
        "                        series, across every site\n"
        "  metrics 'SELECTOR'    data points as name{labels} value lines\n"
        "\n"
        "options:\n"
        "  --endpoint URL        query API of a site or of central\n"
        "                        (default: $TOLLGATE_ENDPOINT, else %s)\n"
        "  --token TOKEN         bearer token (default: $TOLLGATE_TOKEN)\n"
        "  --since DUR           logs, metrics, traces: how far back, e.g. 15m, 2h\n"
        "                        (default: %s)\n"
        "  --limit N             logs: at most N records (default: %d)\n"
        "  --json                print the answer as one JSON document\n"
        "  --require-complete    fail (exit 1) unless every site answered\n"
        "  --explain             traces, logs: parse the query here and print its plan\n"
        "                        (what each site evaluates, what the centre does);\n"
        "                        a bad query exits 2 naming the column\n"
        "  -h, --help            print this help\n"
        "\n"
        "exit status: 0 success, 1 not found, unreachable or failed, 2 bad usage\n",
        DEFAULT_ENDPOINT, DEFAULT_SINCE, DEFAULT_LIMIT);
}

static int usage_error(FILE *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(FILE *err, const char *fmt, ...)
{
    va_list ap;

    fputs("tollgate query: ", err);
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fputs(" (see tollgate query --help)\n", err);
    return 2;
}

/* Options may come before or after the subcommand; "--" ends them. */
static int parse_args(int argc, char **argv, struct query_opts *o, FILE *err)
{
    static const char *const valued[] = {"endpoint", "token", "since",
                                         "limit",    "from",  "to"};
    bool options_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool matched = false;

        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (o->npos == 2)
                return usage_error(err, "unexpected argument \"%s\"", a);
            o->pos[o->npos++] = a;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = true;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--require-complete") == 0) {
            o->require_complete = true;
            continue;
        }
        if (strcmp(a, "--explain") == 0) {
            o->explain = true;
            continue;
        }
        for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]) && !matched; k++) {
            size_t n = strlen(valued[k]);
            const char **dst = k == 0   ? &o->endpoint
                               : k == 1 ? &o->token
                               : k == 2 ? &o->since
                               : k == 3 ? &o->limit
                               : k == 4 ? &o->from
                                        : &o->to;
            if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, valued[k], n) != 0)
                continue;
            if (a[2 + n] == '=') {
                *dst = a + 3 + n;
                matched = true;
            } else if (a[2 + n] == '\0') {
                if (i + 1 >= argc)
                    return usage_error(err, "option %s needs a value", a);
                *dst = argv[++i];
                matched = true;
            }
        }
        if (!matched)
            return usage_error(err, "unknown option %s", a);
    }
    return 0;
}

int tg_query_parse_trace_id(const char *s, char out[33])
{
    static const unsigned char zero[16];
    unsigned char id[16];

    if (strlen(s) != 32 || tg_hex_decode(s, 32, id, sizeof(id)) != 16 ||
        memcmp(id, zero, sizeof(id)) == 0)
        return TG_EINVAL;
    tg_hex_encode(id, sizeof(id), out);
    return 0;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int tg_query_parse_selector(const char *s, char *service, size_t service_len, char *why,
                            size_t whylen)
{
    const char *p = skip_space(s), *name;
    size_t n = 0;
    char quote;

    service[0] = '\0';
    if (*p != '{')
        goto bad;
    p = skip_space(p + 1);
    if (*p == '}')
        goto end;
    name = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (p == name)
        goto bad;
    if ((size_t)(p - name) != strlen("service_name") ||
        strncmp(name, "service_name", (size_t)(p - name)) != 0) {
        snprintf(why, whylen,
                 "only the service_name label is supported for now, not \"%.*s\"",
                 (int)(p - name), name);
        return TG_EINVAL;
    }
    p = skip_space(p);
    if (p[0] != '=' || p[1] == '~') {
        if (p[0] == '!' || p[0] == '=')
            snprintf(why, whylen, "only the = matcher is supported for now");
        else
            goto bad;
        return TG_EINVAL;
    }
    p = skip_space(p + 1);
    if (*p != '"' && *p != '`')
        goto bad;
    quote = *p++;
    for (; *p && *p != quote; p++) {
        char c = *p;
        /* Double-quoted strings take Go-style escapes; \" and \\ are the
         * ones a service name might need. */
        if (quote == '"' && c == '\\') {
            if (p[1] != '"' && p[1] != '\\')
                goto bad;
            c = *++p;
        }
        if (n + 1 >= service_len) {
            snprintf(why, whylen, "the service name is longer than %zu bytes",
                     service_len - 1);
            return TG_EINVAL;
        }
        service[n++] = c;
    }
    if (*p != quote)
        goto bad;
    service[n] = '\0';
    if (n == 0)
        goto bad;
    p = skip_space(p + 1);
    if (*p == ',') {
        snprintf(why, whylen, "only one matcher, on service_name, is supported for now");
        return TG_EINVAL;
    }
    if (*p != '}')
        goto bad;
end:
    p = skip_space(p + 1);
    if (*p) {
        snprintf(why, whylen, "log pipelines after the selector are not supported yet");
        return TG_EINVAL;
    }
    return 0;
bad:
    service[0] = '\0';
    snprintf(why, whylen, "expected {service_name=\"NAME\"} or {}");
    return TG_EINVAL;
}

/* ---- HTTP ------------------------------------------------------------------ */

/* GETs url. Returns 0 when an HTTP answer arrived (any status), else 1
 * with the reason printed. */
static int http_get(const char *url, const char *token, tg_query_http_answer *a,
                    FILE *err)
{
    const tg_query_http_req r = {
        .url = url, .token = token, .timeout_ms = 120000, .max_body = MAX_ANSWER};
    int rc = tg_query_http_get(&r, a);

    if (rc == TG_ETOO_BIG) {
        fprintf(err, "tollgate query: %s: the answer is larger than %u MiB\n", url,
                MAX_ANSWER >> 20);
        return 1;
    }
    if (rc != 0) {
        fprintf(err, "tollgate query: cannot reach %s: %s\n", url,
                a->err[0] ? a->err : tg_strerror(rc));
        return 1;
    }
    return 0;
}

/* The server's own words about a failure: {"error": "..."} or
 * {"message": "..."}, else the start of the body. */
static void put_server_message(FILE *err, const tg_query_http_answer *a)
{
    json_t *doc;
    const char *words = tg_query_http_error_words(a->body, a->len, &doc);

    if (words) {
        fputs(": ", err);
        tg_query_put_text(err, words);
    } else if (a->len) {
        char head[201];
        size_t n = a->len < 200 ? a->len : 200;
        memcpy(head, a->body, n);
        head[n] = '\0';
        for (size_t i = 0; i < n; i++) {
            if (head[i] == '\n' || head[i] == '\r' || head[i] == '\0') {
                head[i] = '\0';
                break;
            }
        }
        if (head[0]) {
            fputs(": ", err);
            tg_query_put_text(err, head);
        }
    }
    json_decref(doc);
}

/* GETs url and parses a JSON object. `not_found` names what a 404 means
 * ("trace …"), or is NULL when a 404 is just an error. Returns the exit
 * status; on 0, *doc is the document. */
static int fetch_json(const char *url, const char *token, const char *not_found,
                      json_t **doc, FILE *err)
{
    tg_query_http_answer a;
    json_error_t jerr;
    int rc;

    *doc = NULL;
    rc = http_get(url, token, &a, err);
    if (rc != 0) {
        free(a.body);
        return rc;
    }
    if (a.status == 404 && not_found) {
        fprintf(err, "tollgate query: %s not found (%s answered 404)\n", not_found, url);
        free(a.body);
        return 1;
    }
    if (a.status != 200) {
        fprintf(err, "tollgate query: %s: HTTP %ld", url, a.status);
        put_server_message(err, &a);
        if (a.status == 401 || a.status == 403)
            fputs(" (check --token)", err);
        fputc('\n', err);
        free(a.body);
        /* 400: the server judged our query bad input. */
        return a.status == 400 ? 2 : 1;
    }
    *doc = json_loadb(a.body ? a.body : "", a.len, 0, &jerr);
    if (!*doc && json_error_code(&jerr) == json_error_numeric_overflow)
        *doc = json_loadb(a.body, a.len, JSON_DECODE_INT_AS_REAL, &jerr);
    free(a.body);
    if (!*doc) {
        fprintf(err,
                "tollgate query: %s: the answer is not valid JSON (line %d, column %d: ",
                url, jerr.line, jerr.column);
        tg_query_put_text(err, jerr.text);
        fputs(")\n", err);
        return 1;
    }
    if (!json_is_object(*doc)) {
        fprintf(err, "tollgate query: %s: the answer is not a JSON object\n", url);
        json_decref(*doc);
        *doc = NULL;
        return 1;
    }
    return 0;
}

static void print_json(const json_t *doc, FILE *out)
{
    json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
static void url_escape(char *dst, size_t dstlen, const char *s)
{
    size_t n = strlen(dst);

    for (const unsigned char *p = (const unsigned char *)s; *p && n + 4 < dstlen; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            dst[n++] = (char)*p;
        else
            n += (size_t)snprintf(dst + n, dstlen - n, "%%%02X", *p);
    }
    dst[n] = '\0';
}

static uint64_t since_start_ns(uint64_t since_ms)
{
    uint64_t now_ns = tg_wall_ns();

    if (since_ms >= now_ns / 1000000u)
        return 0;
    return now_ns - since_ms * 1000000u;
}

/* ---- subcommands ------------------------------------------------------------ */

/* A time as the CLI takes it: unix seconds, or RFC 3339 UTC
 * ("2026-12-03T10:00:00Z"). Unix nanoseconds, or 0 when unreadable. */
static uint64_t parse_when(const char *s)
{
    struct tm tm;
    const char *rest;
    char *end;
    unsigned long long v;

    if (isdigit((unsigned char)s[0]) && !strchr(s, '-')) {
        v = strtoull(s, &end, 10);
        return *end || v == 0 ? 0 : (uint64_t)v * 1000000000ull;
    }
    memset(&tm, 0, sizeof(tm));
    rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest || (strcmp(rest, "Z") != 0 && strcmp(rest, "") != 0))
        return 0;
    return (uint64_t)timegm(&tm) * 1000000000ull;
}

/* The window of traces and logs: --since DUR (up to now), or --from T
 * --to T. 0 and *start, *end (0: open), or the usage error's status. */
static int window(const struct query_opts *o, uint64_t *start, uint64_t *end, FILE *err)
{
    uint64_t since_ms;
    const char *since = o->since ? o->since : DEFAULT_SINCE;

    *end = 0;
    if (o->from || o->to) {
        if (o->since)
            return usage_error(err, "--since and --from/--to exclude each other");
        if (!o->from || !o->to)
            return usage_error(err, "--from and --to go together");
        *start = parse_when(o->from);
        *end = parse_when(o->to);
        if (!*start || !*end)
            return usage_error(err,
                               "invalid --%s \"%.64s\": expected unix seconds or "
                               "2026-12-03T10:00:00Z",
                               !*start ? "from" : "to", !*start ? o->from : o->to);
        if (*end < *start)
            return usage_error(err, "--to is before --from");
        return 0;
    }
    if (tg_parse_duration_ms(since, &since_ms) != 0 || since_ms == 0)
        return usage_error(err,
                           "invalid --since \"%.64s\": expected a duration such as 15m "
                           "or 2h",
                           since);
    *start = since_start_ns(since_ms);
    return 0;
}

/* A progress line while the sites answer, on a terminal only: the
 * fan-out may wait for a slow site up to the centre's deadline. */
static void progress_start(FILE *err)
{
    if (isatty(fileno(err)))
        fputs("tollgate query: asking the sites...\r", err);
}

static void progress_end(FILE *err)
{
    if (isatty(fileno(err)))
        fputs("\033[2K\r", err);
}

/* Prints each warning of a federated answer on stderr ("site X: ..."). */
static void put_warnings(const json_t *doc, FILE *err)
{
    size_t i;
    const json_t *w;

    json_array_foreach(json_object_get(doc, "warnings"), i, w)
    {
        if (!json_is_string(w))
            continue;
        fputs("tollgate query: warning: ", err);
        tg_query_put_text(err, json_string_value(w));
        fputc('\n', err);
    }
}

/* GETs a federated answer ({..., is_partial, _sites, warnings}, from the
 * centre, or from one site in the same shape). 0 and *doc for 200; 404
 * (what is named `what`), 502 (no site answered), 503 (completeness
 * demanded and missing) are reported with the sites' reasons and give 1;
 * 400 gives 2. */
static int fetch_federated(const char *url, const char *token, const char *what,
                           json_t **doc, FILE *err)
{
    tg_query_http_answer a;
    json_t *d;
    int rc;

    *doc = NULL;
    if ((rc = http_get(url, token, &a, err)) != 0) {
        free(a.body);
        return rc;
    }
    {
        json_error_t jerr;
        d = json_loadb(a.body ? a.body : "", a.len, 0, &jerr);
        if (a.status == 200 && !json_is_object(d)) {
            fprintf(
                err,
                "tollgate query: %s: the answer is not valid JSON (line %d, column %d: ",
                url, jerr.line, jerr.column);
            tg_query_put_text(err, d ? "not an object" : jerr.text);
            fputs(")\n", err);
            json_decref(d);
            free(a.body);
            return 1;
        }
    }
    if (a.status == 200) {
        free(a.body);
        *doc = d;
        return 0;
    }
    if (a.status == 404 && what && json_is_object(d)) {
        fprintf(err, "tollgate query: %s not found\n", what);
        put_warnings(d, err);
    } else {
        fprintf(err, "tollgate query: %s: HTTP %ld", url, a.status);
        put_server_message(err, &a);
        if (a.status == 401 || a.status == 403)
            fputs(" (check --token)", err);
        fputc('\n', err);
        put_warnings(d, err);
    }
    json_decref(d);
    free(a.body);
    return a.status == 400 ? 2 : 1;
}

/* Fetches a federated answer from url with progress shown and prints its
 * warnings. With --json the answer is printed whole and *doc is NULL. */
static int ask(const struct query_opts *o, const char *url, const char *what,
               json_t **doc, FILE *out, FILE *err)
{
    int rc;

    progress_start(err);
    rc = fetch_federated(url, o->token, what, doc, err);
    progress_end(err);
    if (rc != 0)
        return rc;
    put_warnings(*doc, err);
    if (o->json) {
        print_json(*doc, out);
        json_decref(*doc);
        *doc = NULL;
    }
    return 0;
}

/* "ENDPOINT/PATH?q=QUERY", escaped, in a new buffer of *cap bytes with room
 * for 200 more, or NULL. */
static char *query_url(const char *endpoint, const char *path, const char *q, size_t *cap)
{
    char *url;

    *cap = MAX_ENDPOINT + 3 * strlen(q) + 200;
    if (!(url = malloc(*cap)))
        return NULL;
    snprintf(url, *cap, "%s%s?q=", endpoint, path);
    url_escape(url, *cap, q);
    return url;
}

/* --limit, when given, into *limit: a whole number from 1 to max. */
static int parse_limit(const struct query_opts *o, unsigned long long max,
                       uint64_t *limit, FILE *err)
{
    unsigned long long v;
    char *end;

    if (!o->limit)
        return 0;
    v = strtoull(o->limit, &end, 10);
    if (!isdigit((unsigned char)o->limit[0]) || *end || v == 0 || v > max)
        return usage_error(err, "invalid --limit \"%.64s\": expected 1 to %llu", o->limit,
                           max);
    *limit = v;
    return 0;
}

static int run_trace(const struct query_opts *o, const char *endpoint, FILE *out,
                     FILE *err)
{
    char id[33], url[MAX_ENDPOINT + 96], what[64];
    json_t *doc;
    size_t n;
    int rc;

    if (o->npos < 2)
        return usage_error(err, "trace needs a TRACE_ID");
    if (o->since || o->limit)
        return usage_error(err, "%s does not apply to trace",
                           o->since ? "--since" : "--limit");
    if (tg_query_parse_trace_id(o->pos[1], id) != 0)
        return usage_error(err,
                           "invalid trace id \"%.64s\": must be 32 hex characters, "
                           "not all zero",
                           o->pos[1]);
    snprintf(url, sizeof(url), "%s/api/v1/query/trace/%s%s", endpoint, id,
             o->require_complete ? "?require_complete=true" : "");
    snprintf(what, sizeof(what), "trace %s", id);
    if ((rc = ask(o, url, what, &doc, out, err)) != 0 || !doc)
        return rc;
    n = tg_query_render_trace(json_object_get(doc, "trace"), out);
    json_decref(doc);
    if (n == 0) {
        fprintf(err, "tollgate query: trace %s not found (%s returned no spans)\n", id,
                url);
        return 1;
    }
    return 0;
}

/* --explain: the plan of a TraceQL or LogQL query, parsed here, no
 * server asked. 0 and the plan as JSON, or 2 with the column. */
static int explain(const char *q, int logql, FILE *out, FILE *err)
{
    tg_plan *p = NULL;
    char why[256];
    tg_strbuf b = {0};
    int rc = logql ? tg_logql_parse(q, strlen(q), &p, why, sizeof(why))
                   : tg_traceql_parse(q, strlen(q), &p, why, sizeof(why));

    if (rc != 0) {
        fprintf(err, "tollgate query: invalid %s query: ", logql ? "LogQL" : "TraceQL");
        tg_query_put_text(err, why);
        fputc('\n', err);
        return 2;
    }
    tg_plan_explain(p, &b);
    if (b.p)
        fprintf(out, "%s\n", b.p);
    free(b.p);
    tg_plan_free(p);
    return 0;
}

/* traces 'TRACEQL': one line per hit, newest first. */
static int run_traces(const struct query_opts *o, const char *endpoint, FILE *out,
                      FILE *err)
{
    const char *since = o->since ? o->since : DEFAULT_SINCE;
    char *url;
    uint64_t start, end_ns, limit = 20;
    json_t *doc;
    size_t i, urlcap;
    const json_t *h;
    int rc;

    if (o->npos < 2)
        return usage_error(err,
                           "traces needs a TraceQL query such as '{ status = error }'");
    if (o->explain)
        return explain(o->pos[1], 0, out, err);
    if ((rc = window(o, &start, &end_ns, err)) != 0)
        return rc;
    if ((rc = parse_limit(o, 2000, &limit, err)) != 0)
        return rc;
    if (!(url = query_url(endpoint, "/api/v1/query/traces", o->pos[1], &urlcap)))
        return 1;
    snprintf(url + strlen(url), urlcap - strlen(url),
             "&start=%" PRIu64 "&end=%" PRIu64 "&limit=%" PRIu64 "%s", start, end_ns,
             limit, o->require_complete ? "&require_complete=true" : "");
    rc = ask(o, url, NULL, &doc, out, err);
    free(url);
    if (rc != 0 || !doc)
        return rc;
    fprintf(out, "%-32s  %-24s  %-10s  %-20s  %s\n", "TRACE", "START", "DURATION",
            "SITES", "ROOT");
    json_array_foreach(json_object_get(doc, "traces"), i, h)
    {
        uint64_t st = 0;
        char when[40], sites[128] = "";
        size_t j;
        const json_t *s;

        tg_query_uint64(json_object_get(h, "startTimeUnixNano"), &st);
        tg_query_format_time(st, when, sizeof(when));
        json_array_foreach(json_object_get(h, "sites"), j, s)
        {
            snprintf(sites + strlen(sites), sizeof(sites) - strlen(sites), "%s%s",
                     j ? "," : "", json_string_value(s) ? json_string_value(s) : "");
        }
        tg_query_put_text(out, json_string_value(json_object_get(h, "traceID")));
        fprintf(out, "  %-24s  %7lld ms  %-20s  ", when,
                (long long)json_integer_value(json_object_get(h, "durationMs")), sites);
        tg_query_put_text(out, json_string_value(json_object_get(h, "rootServiceName")));
        fputs(": ", out);
        tg_query_put_text(out, json_string_value(json_object_get(h, "rootTraceName")));
        fputc('\n', out);
    }
    if (!json_array_size(json_object_get(doc, "traces")))
        fprintf(err, "tollgate query: no traces match in the last %s\n", since);
    json_decref(doc);
    return 0;
}

/* logs 'LOGQL': parsed here first (exit 2 naming the column), then asked
 * of the endpoint (/api/v1/query/logs: the centre fans it out; a site
 * answers alone). A log query prints one line per record, oldest first:
 * "TIME SITE SERVICE LINE"; a metric query one line per series and step. */
static int run_logs(const struct query_opts *o, const char *endpoint, FILE *out,
                    FILE *err)
{
    const char *since = o->since ? o->since : DEFAULT_SINCE;
    uint64_t start, end_ns, limit = DEFAULT_LIMIT;
    tg_plan *plan = NULL;
    char why[256], *url;
    size_t urlcap, i;
    json_t *doc, *data;
    const json_t *st;
    int rc;

    if (tg_logql_parse(o->pos[1], strlen(o->pos[1]), &plan, why, sizeof(why)) != 0) {
        fprintf(err, "tollgate query: invalid LogQL query: ");
        tg_query_put_text(err, why);
        fputc('\n', err);
        return 2;
    }
    tg_plan_free(plan);
    if ((rc = window(o, &start, &end_ns, err)) != 0)
        return rc;
    if ((rc = parse_limit(o, 5000, &limit, err)) != 0)
        return rc;
    if (!(url = query_url(endpoint, "/api/v1/query/logs", o->pos[1], &urlcap)))
        return 1;
    snprintf(url + strlen(url), urlcap - strlen(url),
             "&start=%" PRIu64 "%s%.0" PRIu64 "&limit=%" PRIu64 "&direction=forward%s",
             start, end_ns ? "&end=" : "", end_ns, limit,
             o->require_complete ? "&require_complete=true" : "");
    rc = ask(o, url, NULL, &doc, out, err);
    free(url);
    if (rc != 0 || !doc)
        return rc;
    data = json_object_get(doc, "data") ? json_object_get(doc, "data") : doc;
    json_array_foreach(json_object_get(data, "result"), i, st)
    {
        const json_t *labels = json_object_get(st, "stream")
                                   ? json_object_get(st, "stream")
                                   : json_object_get(st, "metric");
        size_t j;
        const json_t *v;

        if (json_object_get(st, "values") && json_object_get(st, "stream")) {
            json_array_foreach(json_object_get(st, "values"), j, v)
            {
                uint64_t t = 0;
                char when[40];
                tg_query_uint64(json_array_get(v, 0), &t);
                tg_query_format_time(t, when, sizeof(when));
                fprintf(out, "%s ", when);
                tg_query_put_text(out,
                                  json_string_value(json_object_get(labels, "site")));
                fputc(' ', out);
                tg_query_put_text(
                    out, json_string_value(json_object_get(labels, "service_name")));
                fputc(' ', out);
                tg_query_put_text(out, json_string_value(json_array_get(v, 1)));
                fputc('\n', out);
            }
            continue;
        }
        {
            char *l = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
            const json_t *vals = json_object_get(st, "values");
            if (!vals) {
                fputs(l ? l : "{}", out);
                fprintf(
                    out, " %s\n",
                    json_string_value(json_array_get(json_object_get(st, "value"), 1)));
            }
            json_array_foreach(vals, j, v)
            {
                tg_query_put_text(out, l ? l : "{}");
                fprintf(out, " %s @%.0f\n", json_string_value(json_array_get(v, 1)),
                        json_number_value(json_array_get(v, 0)));
            }
            free(l);
        }
    }
    if (!json_array_size(json_object_get(data, "result")))
        fprintf(err, "tollgate query: nothing matches in the last %s\n", since);
    json_decref(doc);
    return 0;
}

/* metrics '{service_name="NAME"}' (or '{}'): the site's data points as
 * name{labels} value lines, over --since. */
static int run_metrics(const struct query_opts *o, const char *endpoint, FILE *out,
                       FILE *err)
{
    const char *since = o->since ? o->since : DEFAULT_SINCE;
    char service[MAX_SERVICE + 1], why[160], url[MAX_ENDPOINT + 4 * MAX_SERVICE + 128];
    uint64_t since_ms;
    json_t *doc;
    int rc;

    if (o->npos < 2)
        return usage_error(
            err, "%s needs a selector such as '{service_name=\"checkout\"}'", o->pos[0]);
    if (o->limit)
        return usage_error(err, "--limit applies to logs only");
    if (tg_query_parse_selector(o->pos[1], service, sizeof(service), why, sizeof(why)) !=
        0)
        return usage_error(err, "invalid selector \"%.200s\": %s", o->pos[1], why);
    if (tg_parse_duration_ms(since, &since_ms) != 0 || since_ms == 0)
        return usage_error(err,
                           "invalid --since \"%.64s\": expected a duration such as 15m "
                           "or 2h",
                           since);
    snprintf(url, sizeof(url), "%s/api/v1/metrics?", endpoint);
    if (service[0]) {
        snprintf(url + strlen(url), sizeof(url) - strlen(url), "service=");
        url_escape(url, sizeof(url), service);
        snprintf(url + strlen(url), sizeof(url) - strlen(url), "&");
    }
    snprintf(url + strlen(url), sizeof(url) - strlen(url), "start=%" PRIu64,
             since_start_ns(since_ms));
    rc = fetch_json(url, o->token, NULL, &doc, err);
    if (rc != 0)
        return rc;
    if (o->json)
        print_json(doc, out);
    else if (tg_query_render_metrics(doc, out) == 0)
        fprintf(err, "tollgate query: no data points in the last %s\n", since);
    json_decref(doc);
    return 0;
}

int tg_query_run(int argc, char **argv, FILE *out, FILE *err)
{
    struct query_opts o = {0};
    char endpoint[MAX_ENDPOINT + 1];
    const char *ep;
    size_t len;
    int rc = parse_args(argc, argv, &o, err);

    if (rc != 0)
        return rc;
    if (o.help) {
        usage(out);
        return 0;
    }
    if (o.npos == 0) {
        usage(err);
        return 2;
    }
    ep = o.endpoint ? o.endpoint : getenv("TOLLGATE_ENDPOINT");
    if (!ep || !*ep)
        ep = DEFAULT_ENDPOINT;
    if (!o.token)
        o.token = getenv("TOLLGATE_TOKEN");
    len = strlen(ep);
    if ((strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) ||
        len > MAX_ENDPOINT || strpbrk(ep, " \t\r\n?#"))
        return usage_error(err,
                           "invalid --endpoint \"%.64s\": expected http://HOST:PORT "
                           "or https://HOST:PORT",
                           ep);
    while (len > 0 && ep[len - 1] == '/')
        len--;
    memcpy(endpoint, ep, len);
    endpoint[len] = '\0';
    if (o.token) {
        for (const char *p = o.token; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return usage_error(err, "the token contains a control character");
        }
        if (strlen(o.token) > 2048)
            return usage_error(err, "the token is longer than 2048 bytes");
    }

    if (strcmp(o.pos[0], "trace") == 0)
        return run_trace(&o, endpoint, out, err);
    if (strcmp(o.pos[0], "logs") == 0) {
        if (o.npos < 2)
            return usage_error(
                err, "logs needs a LogQL query such as '{service_name=\"checkout\"}'");
        if (o.explain)
            return explain(o.pos[1], 1, out, err);
        return run_logs(&o, endpoint, out, err);
    }
    if (strcmp(o.pos[0], "metrics") == 0)
        return run_metrics(&o, endpoint, out, err);
    if (strcmp(o.pos[0], "traces") == 0)
        return run_traces(&o, endpoint, out, err);
    return usage_error(err,
                       "unknown query \"%.64s\" (expected trace, traces, logs or "
                       "metrics)",
                       o.pos[0]);
}
