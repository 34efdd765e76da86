/* `tollgate status [--endpoint URL] [--json]`: the estate as the central
 * view sees it, one row per site, then every warning (partitioned,
 * lagging, skewed, certificate expiring, version mismatch, shedding), and
 * the MODELS section: model versions per site, with their warnings.
 * Pointed at a site's API instead, it prints that site's own view of its
 * link (its forwarder status). */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd_args.h"
#include "commands.h"
#include "query_http.h"
#include "tg_err.h"
#include "tg_units.h"
#include "tg_wire.h"

#define MAX_BODY (16u << 20)

typedef struct tls_opts {
    const char *ca, *cert, *key, *token;
} tls_opts;

/* GETs url. Returns the HTTP status, or -1 with the reason in err. */
static long http_get(const char *url, const tls_opts *t, tg_query_http_answer *a,
                     char *err, size_t errlen)
{
    const tg_query_http_req r = {.url = url,
                                 .token = t->token,
                                 .ca_file = t->ca,
                                 .cert_file = t->cert,
                                 .key_file = t->cert ? (t->key ? t->key : t->cert) : NULL,
                                 .connect_timeout_ms = 10000,
                                 .timeout_ms = 10000,
                                 .max_body = MAX_BODY};
    int rc = tg_query_http_get(&r, a);

    if (rc != 0) {
        snprintf(err, errlen, "%s", a->err[0] ? a->err : tg_strerror(rc));
        return -1;
    }
    return a->status;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return v ? json_number_value(v) : 0;
}

static void human_bytes(double b, char *out, size_t cap)
{
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;

    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void cert_left(double now_s, double na, char *out, size_t cap)
{
    if (na <= 0)
        snprintf(out, cap, "-");
    else if (na < now_s)
        snprintf(out, cap, "EXPIRED");
    else
        snprintf(out, cap, "%.0fd", (na - now_s) / 86400);
}

static void short_policy(const char *p, char *out, size_t cap)
{
    size_t n = strlen(p);

    if (n <= 18)
        snprintf(out, cap, "%s", p[0] ? p : "-");
    else
        snprintf(out, cap, "%.16s..", p);
}

/* The witness's view of each site's transparency log (docs/audit.md): its
 * size, the newest cosigned checkpoint and its age, and the alarms, in red
 * on a terminal. */
static void print_witness(json_t *central, json_t *sites)
{
    int tty = isatty(STDOUT_FILENO), any = 0;
    size_t i;
    json_t *s;

    json_array_foreach(sites, i, s) any |= json_is_object(json_object_get(s, "witness"));
    if (!any)
        return;
    printf("\nWITNESS %s\n", str(central, "witness_key"));
    printf("%-12s %-10s %-10s %-9s %-8s %s\n", "SITE", "LOG-SIZE", "COSIGNED", "AGE",
           "LEAVES", "STATE");
    json_array_foreach(sites, i, s)
    {
        json_t *w = json_object_get(s, "witness");
        char age[32], state[200] = "";
        size_t n = 0;
        int alarm = 0;
        if (!json_is_object(w))
            continue;
        tg_format_duration_s(num(w, "cosigned_age_seconds"), age, sizeof(age));
        if (json_is_true(json_object_get(w, "fork"))) {
            n += (size_t)snprintf(state + n, sizeof(state) - n, "FORK at size %.0f ",
                                  num(w, "fork_size"));
            alarm = 1;
        }
        if (json_is_true(json_object_get(w, "key_changed")) && n < sizeof(state)) {
            n += (size_t)snprintf(state + n, sizeof(state) - n, "KEY CHANGED ");
            alarm = 1;
        }
        if (num(w, "gap") > 0 && n < sizeof(state)) {
            n += (size_t)snprintf(state + n, sizeof(state) - n, "GAP %.0f ",
                                  num(w, "gap"));
            alarm = 1;
        }
        if (num(w, "batches_without_leaf") > 0 && n < sizeof(state)) {
            n += (size_t)snprintf(state + n, sizeof(state) - n,
                                  "%.0f batches without leaf ",
                                  num(w, "batches_without_leaf"));
            alarm = 1;
        }
        if (!alarm)
            snprintf(state, sizeof(state), "ok");
        printf("%-12s %-10.0f %-10.0f %-9s %-8.0f %s%s%s\n", str(s, "name"),
               num(w, "log_size"), num(w, "cosigned_size"), age, num(w, "leaves"),
               alarm && tty ? "\033[1;31m" : "", state, alarm && tty ? "\033[0m" : "");
    }
}

static int print_estate(json_t *root, const char *endpoint)
{
    json_t *central = json_object_get(root, "central"),
           *sites = json_object_get(root, "sites");
    double now_s = num(central, "now_unix_nano") / 1e9;
    size_t i, nwarn = 0;
    json_t *s;
    char bytes[32], cert[32];

    human_bytes(num(central, "bytes"), bytes, sizeof(bytes));
    cert_left(now_s, num(central, "server_cert_not_after"), cert, sizeof(cert));
    printf("central %s  tollgate %s  protocol %d-%d  TLS %s%s  cert %s  batches %.0f "
           "(%s)\n\n",
           endpoint, str(central, "version"), (int)num(central, "protocol_min"),
           (int)num(central, "protocol_max"),
           json_is_true(json_object_get(central, "tls")) ? "on" : "off",
           json_is_true(json_object_get(central, "mutual_tls")) ? " (mutual)" : "", cert,
           num(central, "batches"), bytes);
    printf("%-12s %-6s %-8s %-9s %-9s %-7s %-8s %-10s %-7s %-7s %-18s %-9s %-5s\n",
           "SITE", "STATE", "CONTACT", "SPANS", "BACKLOG", "OLDEST", "BUDGET", "CLOCK",
           "CERT-C", "CERT-S", "POLICY", "VERSION", "PROTO");
    json_array_foreach(sites, i, s)
    {
        char contact[32], backlog[32], oldest[32], budget[32], clock[32], cc[32], cs[32],
            pol[32];
        json_t *w = json_object_get(s, "warnings");
        const char *state = json_is_true(json_object_get(s, "partitioned")) ? "DOWN"
                            : json_array_size(w)                            ? "WARN"
                                                                            : "ok";
        double age = num(s, "last_contact_age_seconds");
        if (age < 0)
            snprintf(contact, sizeof(contact), "never");
        else {
            tg_format_duration_s(age, contact, sizeof(contact));
            strncat(contact, " ago", sizeof(contact) - strlen(contact) - 1);
        }
        human_bytes(num(s, "backlog_bytes"), backlog, sizeof(backlog));
        tg_format_duration_s(json_object_get(s, "backlog_oldest_age_seconds") &&
                                     num(s, "backlog_batches") > 0
                                 ? num(s, "backlog_oldest_age_seconds")
                                 : -1,
                             oldest, sizeof(oldest));
        tg_format_duration_s(json_object_get(s, "budget_seconds_left")
                                 ? num(s, "budget_seconds_left")
                                 : -1,
                             budget, sizeof(budget));
        if (json_is_true(json_object_get(s, "clock_valid")))
            snprintf(clock, sizeof(clock), "%+.3fs", num(s, "clock_offset_ms") / 1000);
        else
            snprintf(clock, sizeof(clock), "-");
        cert_left(now_s, num(s, "client_cert_not_after"), cc, sizeof(cc));
        cert_left(now_s, num(s, "server_cert_not_after"), cs, sizeof(cs));
        short_policy(str(s, "policy_version"), pol, sizeof(pol));
        printf(
            "%-12s %-6s %-8s %-9.0f %-9s %-7s %-8s %-10s %-7s %-7s %-18s %-9s %-5.0f\n",
            str(s, "name"), state, contact, num(s, "spans"), backlog, oldest, budget,
            clock, cc, cs, pol,
            str(s, "software_version")[0] ? str(s, "software_version") : "-",
            num(s, "protocol_version"));
        nwarn += json_array_size(w);
    }
    if (json_array_size(sites) == 0)
        printf("(no sites registered or seen)\n");
    print_witness(central, sites);
    {
        json_t *cw = json_object_get(central, "warnings");
        nwarn += json_array_size(cw);
        if (nwarn) {
            json_t *x;
            printf("\nWARNINGS\n");
            json_array_foreach(cw, i, x) printf("  central: %s\n", json_string_value(x));
            json_array_foreach(sites, i, s)
            {
                size_t j;
                json_array_foreach(json_object_get(s, "warnings"), j, x)
                    printf("  %s: %s\n", str(s, "name"), json_string_value(x));
            }
        } else {
            printf("\nno warnings\n");
        }
    }
    if (json_is_object(json_object_get(root, "models"))) {
        printf("\nMODELS\n");
        tg_cmd_models_print(stdout, json_object_get(root, "models"));
    }
    return 0;
}

static int print_site(json_t *root, const char *endpoint)
{
    json_t *f = json_object_get(root, "forwarder");
    char bytes[32], oldest[32];

    printf("site %s  (%s)\n", str(root, "site"), endpoint);
    if (!f || !json_is_object(f)) {
        printf("not forwarding to a central view\n");
        return 0;
    }
    human_bytes(num(f, "outbox_bytes"), bytes, sizeof(bytes));
    tg_format_duration_s(
        num(f, "outbox_batches") > 0 ? num(f, "outbox_oldest_age_seconds") : -1, oldest,
        sizeof(oldest));
    printf("central %s: %s, outbox %.0f batches (%s), oldest %s, clock %s%+.3fs, "
           "protocol %d\n",
           str(f, "central"),
           json_is_true(json_object_get(f, "partitioned")) ? "DOWN" : "ok",
           num(f, "outbox_batches"), bytes, oldest,
           json_is_true(json_object_get(f, "clock_valid")) ? "" : "(no sample) ",
           num(f, "clock_offset_ns") / 1e9, (int)num(f, "protocol_version"));
    if (str(f, "last_error")[0])
        printf("last error: %s\n", str(f, "last_error"));
    return 0;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: tollgate status [--endpoint URL] [--json] [--ca-file FILE]\n"
        "                       [--cert FILE --key FILE] [--token TOKEN | --token-file "
        "FILE]\n\n"
        "Prints the estate as the central view sees it: every site's last contact,\n"
        "outbox backlog and age, time before its outbox budget runs out, clock offset,\n"
        "certificate expiry, policy and software versions, then every warning,\n"
        "and MODELS: the model versions each site serves (tollgate models).\n\n"
        "  --endpoint URL   the central view (default http://127.0.0.1:9480), or a\n"
        "                   site's API for that site's own view of its link\n"
        "  --json           print the estate as one JSON document\n"
        "  --ca-file FILE   CA bundle for an https endpoint\n"
        "  --cert, --key    client certificate for a centre that requires one\n"
        "  --token TOKEN    a user's bearer token (the centre's estate needs one);\n"
        "                   default: $TOLLGATE_TOKEN\n"
        "  --token-file F   the same, read from a file (mode 600)\n");
}

/* Prints an answer's JSON as it came (--json) or through `print`, and
 * frees the body. 0, or 1 when it is not JSON. */
static int print_answer(tg_query_http_answer *b, const char *who, int as_json,
                        int (*print)(json_t *, const char *), const char *endpoint)
{
    json_error_t jerr;
    json_t *root = json_loadb(b->body ? b->body : "", b->len, 0, &jerr);

    free(b->body);
    b->body = NULL;
    if (!root) {
        fprintf(stderr, "tollgate status: the %s answered something that is not JSON\n",
                who);
        return 1;
    }
    if (as_json) {
        char *s = json_dumps(root, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
    } else {
        print(root, endpoint);
    }
    json_decref(root);
    return 0;
}

int tg_cmd_status(int argc, char **argv)
{
    const char *endpoint = "http://127.0.0.1:9480", *token_file = NULL;
    char token_buf[512];
    tls_opts t = {0};
    int as_json = 0;
    char url[1200], err[256];
    tg_query_http_answer b = {0};
    long status;
    size_t el;

    {
        const tg_cmd_opt opts[] = {{"--json", NULL, &as_json},
                                   {"--endpoint", &endpoint, NULL},
                                   {"--ca-file", &t.ca, NULL},
                                   {"--cert", &t.cert, NULL},
                                   {"--key", &t.key, NULL},
                                   {"--token", &t.token, NULL},
                                   {"--token-file", &token_file, NULL},
                                   {NULL, NULL, NULL}};
        int rc = tg_cmd_args("status", argc, argv, opts, usage);

        if (rc)
            return rc == 1 ? 0 : rc;
    }
    if (!(el = tg_cmd_endpoint("status", endpoint)))
        return 2;
    if (token_file) {
        int rc = tg_wire_read_token(token_file, token_buf, sizeof(token_buf));
        if (rc) {
            fprintf(stderr, "tollgate status: cannot read a token from %s (%s)\n",
                    token_file, tg_wire_token_why(rc));
            return 2;
        }
        t.token = token_buf;
    }
    if (!t.token || !t.token[0])
        t.token = getenv("TOLLGATE_TOKEN");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(url, sizeof(url), "%.*s/api/v1/estate", (int)el, endpoint);
    status = http_get(url, &t, &b, err, sizeof(err));
    if (status == 404) {
        /* A site's API: its own view of its link. */
        free(b.body);
        snprintf(url, sizeof(url), "%.*s/api/v1/status", (int)el, endpoint);
        status = http_get(url, &t, &b, err, sizeof(err));
        if (status == 200) {
            curl_global_cleanup();
            return print_answer(&b, "site", as_json, print_site, endpoint);
        }
    }
    if (status < 0) {
        fprintf(stderr, "tollgate status: cannot reach %s: %s\n", endpoint, err);
        free(b.body);
        curl_global_cleanup();
        return 1;
    }
    if (status == 401) {
        fprintf(stderr,
                "tollgate status: %s answered 401: the estate needs a user's token "
                "(--token, --token-file or $TOLLGATE_TOKEN)\n",
                url);
        free(b.body);
        curl_global_cleanup();
        return 1;
    }
    if (status != 200) {
        fprintf(stderr, "tollgate status: %s answered HTTP %ld\n", url, status);
        free(b.body);
        curl_global_cleanup();
        return 1;
    }
    curl_global_cleanup();
    return print_answer(&b, "centre", as_json, print_estate, endpoint);
}
