/* `tollgate models [--endpoint URL] [--token T] [--json]`: which site
 * serves which model version, who is authoritative, and how far behind
 * each site is (GET /api/v1/models on the centre; docs/models.md). The
 * table renderer is shared with `tollgate status`'s MODELS section. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_args.h"
#include "commands.h"
#include "query_http.h"
#include "tg_units.h"

#define MAX_ANSWER (16u << 20)

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

void tg_cmd_models_print(FILE *f, json_t *report)
{
    json_t *models = json_object_get(report, "models"), *m, *w;
    double now = json_number_value(json_object_get(report, "now_unix_nano")) / 1e9;
    size_t i;

    if (json_array_size(models) == 0) {
        fprintf(f, "(no model versions seen in span summaries)\n");
    } else {
        fprintf(f, "%-20s %-20s %-14s %-12s %-14s %-8s %-6s %s\n", "MODEL", "AUTHORITY",
                "AUTHORITATIVE", "SITE", "SERVES", "SINCE", "SHARE", "LAG");
    }
    json_array_foreach(models, i, m)
    {
        json_t *sites = json_object_get(m, "sites"), *s;
        const char *av = str(m, "authoritative_version");
        const char *auth = str(m, "authority");
        /* a registry by its file name: the path is in --json */
        if (strncmp(auth, "registry:", 9) == 0 && strrchr(auth, '/'))
            auth = strrchr(auth, '/') + 1;
        size_t j;
        json_array_foreach(sites, j, s)
        {
            char since[32], lag[128], slo[32];
            double ts = json_number_value(json_object_get(s, "since_unix_nano")) / 1e9;
            json_t *delay = json_object_get(s, "propagation_delay_seconds");
            tg_format_duration_s(now - ts, since, sizeof(since));
            tg_format_duration_s(
                json_number_value(json_object_get(m, "max_propagation_seconds")), slo,
                sizeof(slo));
            if (json_is_true(json_object_get(s, "authority")) || !av[0])
                snprintf(lag, sizeof(lag), "-");
            else if (json_is_true(json_object_get(s, "stale"))) {
                char d[32];
                tg_format_duration_s(
                    json_number_value(json_object_get(s, "stale_seconds")), d, sizeof(d));
                snprintf(lag, sizeof(lag), "STALE %s (SLO %s)", d, slo);
            } else if (delay && !json_is_null(delay)) {
                char d[32];
                tg_format_duration_s(json_number_value(delay), d, sizeof(d));
                snprintf(lag, sizeof(lag), "caught up after %s", d);
            } else {
                snprintf(lag, sizeof(lag), "-");
            }
            fprintf(f, "%-20s %-20s %-14s %-12s %-14s %-8s %5.0f%% %s%s\n",
                    j ? "" : str(m, "model"), j ? "" : auth, j ? "" : (av[0] ? av : "-"),
                    str(s, "site"), str(s, "version"), since,
                    100 * json_number_value(json_object_get(s, "share")), lag,
                    json_is_true(json_object_get(s, "stuck")) ? ", STUCK ROLLOUT" : "");
        }
    }
    if (json_array_size(json_object_get(report, "warnings"))) {
        fprintf(f, "\nWARNINGS\n");
        json_array_foreach(json_object_get(report, "warnings"), i, w)
            fprintf(f, "  %s\n", json_string_value(w));
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tollgate models [--endpoint URL] [--token T] [--json] [--ca-file "
            "FILE]\n\n"
            "Which version of each model every site serves (from the span summaries the\n"
            "centre receives), the authoritative version and its source, and how far\n"
            "behind each site is: the version served, since when, its share of the "
            "site's\n"
            "requests, the lag or the propagation delay of the last promotion, then "
            "every\n"
            "warning (past the model's max_propagation, stuck rollouts).\n\n"
            "  --endpoint URL   the central view (default $TOLLGATE_ENDPOINT or\n"
            "                   http://127.0.0.1:9480)\n"
            "  --token T        a user's or a site's bearer token (default "
            "$TOLLGATE_TOKEN)\n"
            "  --json           print the centre's answer as one JSON document\n"
            "  --ca-file FILE   CA bundle for an https endpoint\n");
}

int tg_cmd_models(int argc, char **argv)
{
    const char *endpoint = getenv("TOLLGATE_ENDPOINT"), *token = getenv("TOLLGATE_TOKEN");
    const char *ca = NULL;
    int as_json = 0, rc = 1;
    char url[4200];
    size_t el;
    tg_query_http_answer a = {0};
    tg_query_http_req r = {0};

    {
        const tg_cmd_opt opts[] = {{"--json", NULL, &as_json},
                                   {"--endpoint", &endpoint, NULL},
                                   {"--token", &token, NULL},
                                   {"--ca-file", &ca, NULL},
                                   {NULL, NULL, NULL}};

        if ((rc = tg_cmd_args("models", argc, argv, opts, usage)) != 0)
            return rc == 1 ? 0 : rc;
    }
    if (!endpoint || !endpoint[0])
        endpoint = "http://127.0.0.1:9480";
    if (!(el = tg_cmd_endpoint("models", endpoint)))
        return 2;
    rc = 1;
    snprintf(url, sizeof(url), "%.*s/api/v1/models", (int)(el < 4000 ? el : 4000),
             endpoint);
    r.url = url;
    r.token = token;
    r.ca_file = ca;
    r.accept = "application/json";
    r.connect_timeout_ms = 10000;
    r.timeout_ms = 30000;
    r.max_body = MAX_ANSWER;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (tg_query_http_get(&r, &a) != 0) {
        fprintf(stderr, "tollgate models: cannot reach %s: %s\n", endpoint,
                a.err[0] ? a.err : "no answer");
    } else if (a.status != 200) {
        fprintf(stderr, "tollgate models: the centre answered %ld: %.*s", a.status,
                (int)(a.len < 400 ? a.len : 400), a.body ? a.body : "");
        if (a.status == 401)
            fprintf(stderr, "(give a user's token with --token or $TOLLGATE_TOKEN)\n");
    } else if (as_json) {
        fwrite(a.body ? a.body : "", 1, a.len, stdout);
        printf("\n");
        rc = 0;
    } else {
        json_t *doc = json_loadb(a.body ? a.body : "", a.len, 0, NULL);
        if (!doc) {
            fprintf(stderr, "tollgate models: the centre's answer is not JSON\n");
        } else {
            tg_cmd_models_print(stdout, doc);
            rc = 0;
        }
        json_decref(doc);
    }
    free(a.body);
    curl_global_cleanup();
    return rc;
}
