/* tollgate cost: finance's view, asked of the centre (docs/cost.md).
 *
 *   tollgate cost report --from DATE --to DATE [--by site|service|model|team|run]
 *                        [--compare SITE|REGION] [--format table|csv|json|html]
 *                        [--endpoint URL] [--token T]
 *   tollgate cost export --focus [--from DATE --to DATE] [--format csv|json]
 *                        [--endpoint URL] [--token T]
 *
 * The centre allocates and prices (GET /api/v1/cost/report and
 * /api/v1/cost/focus); this prints. Amounts are shown rounded to the
 * currency's minor unit by the centre (docs/cost.md, "Money"). Exit: 0,
 * 1 the centre failed or could not be reached, 2 bad usage. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_args.h"
#include "commands.h"
#include "query_http.h"
#include "tg_costmodel.h"
#include "tg_err.h"

#define DEFAULT_ENDPOINT "http://127.0.0.1:9480"
#define MAX_ANSWER (256u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tollgate cost report --from DATE --to DATE [--by "
            "site|service|model|team|run]\n"
            "                            [--compare SITE|REGION] [--format "
            "table|csv|json|html]\n"
            "       tollgate cost export --focus [--from DATE --to DATE] [--format "
            "csv|json]\n"
            "options for both:\n"
            "  --endpoint URL   the centre (default: $TOLLGATE_ENDPOINT, else %s)\n"
            "  --token T        a user's bearer token (default: $TOLLGATE_TOKEN)\n"
            "DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); --to is exclusive.\n"
            "export defaults to this month so far.\n",
            DEFAULT_ENDPOINT);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else if (*s == '&')
            fputs("&amp;", out);
        else if (*s == '"')
            fputs("&quot;", out);
        else
            fputc(*s, out);
    }
}

static void csv_text(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static const char *const cols[] = {"site",
                                   "key",
                                   "cost_model",
                                   "effective_cost",
                                   "billed_cost",
                                   "list_cost",
                                   "counterfactual_cost",
                                   "cost_per_gpu_hour",
                                   "cost_per_million_tokens",
                                   "cost_per_1000_inferences"};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* The report's groups as a table, CSV or an HTML page. */
static void render(FILE *out, const json_t *doc, const char *format, const char *by)
{
    const json_t *groups = json_object_get(doc, "groups"),
                 *tot = json_object_get(doc, "totals");
    const char *cur = str(doc, "currency");
    size_t i;
    json_t *g;

    if (strcmp(format, "csv") == 0) {
        for (size_t c = 0; c < NCOLS; c++)
            fprintf(out, "%s%s", c ? "," : "", c == 1 ? by : cols[c]);
        fputs("\r\n", out);
        json_array_foreach(groups, i, g)
        {
            for (size_t c = 0; c < NCOLS; c++) {
                if (c)
                    fputc(',', out);
                csv_text(out, json_is_string(json_object_get(g, cols[c]))
                                  ? str(g, cols[c])
                                  : "");
            }
            fputs("\r\n", out);
        }
        return;
    }
    if (strcmp(format, "html") == 0) {
        fputs("<!doctype html>\n<meta charset=\"utf-8\">\n<title>tollgate cost "
              "report</title>\n"
              "<table>\n<tr>",
              out);
        for (size_t c = 0; c < NCOLS; c++) {
            fputs("<th>", out);
            html_text(out, c == 1 ? by : cols[c]);
            fputs("</th>", out);
        }
        fputs("</tr>\n", out);
        json_array_foreach(groups, i, g)
        {
            fputs("<tr>", out);
            for (size_t c = 0; c < NCOLS; c++) {
                fputs("<td>", out);
                html_text(out, str(g, cols[c]));
                fputs("</td>", out);
            }
            fputs("</tr>\n", out);
        }
        fprintf(out, "</table>\n<p>total %s ", cur);
        html_text(out, str(tot, "effective_cost"));
        fputs(", idle ", out);
        html_text(out, str(tot, "idle_cost"));
        fputs("</p>\n", out);
        return;
    }
    fprintf(out, "%-10s %-32s %-9s %14s %14s %14s %14s %12s %12s %12s\n", "SITE", by,
            "MODEL", "EFFECTIVE", "BILLED", "LIST", "COUNTERFACT.", "PER GPU-H",
            "PER 1M TOK", "PER 1K INF");
    json_array_foreach(groups, i, g)
    {
        fprintf(out, "%-10s %-32s %-9s %14s %14s %14s %14s %12s %12s %12s\n",
                str(g, "site"), str(g, "key"), str(g, "cost_model"),
                str(g, "effective_cost"), str(g, "billed_cost"), str(g, "list_cost"),
                str(g, "counterfactual_cost"), str(g, "cost_per_gpu_hour"),
                str(g, "cost_per_million_tokens"), str(g, "cost_per_1000_inferences"));
    }
    fprintf(out, "total %s: effective %s, billed %s, idle %s\n", cur,
            str(tot, "effective_cost"), str(tot, "billed_cost"), str(tot, "idle_cost"));
}

int tg_cmd_cost(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"by", required_argument, NULL, 'b'},
        {"compare", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'F'},
        {"endpoint", required_argument, NULL, 'e'},
        {"token", required_argument, NULL, 'k'},
        {"focus", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL, *by = "service", *cmp = NULL, *format = NULL;
    const char *endpoint = getenv("TOLLGATE_ENDPOINT"), *token = getenv("TOLLGATE_TOKEN");
    char url[4096], fbuf[32], tbuf[32];
    int focus = 0, report, opt, rc = 1;
    int64_t t0, t1;
    tg_query_http_answer a;
    tg_query_http_req r = {0};

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    report = strcmp(argv[1], "report") == 0;
    if (!report && strcmp(argv[1], "export") != 0) {
        fprintf(stderr, "tollgate cost: unknown command \"%s\" (report, export)\n",
                argv[1]);
        return 2;
    }
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        case 'c':
            cmp = optarg;
            break;
        case 'F':
            format = optarg;
            break;
        case 'e':
            endpoint = optarg;
            break;
        case 'k':
            token = optarg;
            break;
        case 'x':
            focus = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "tollgate cost: bad option \"%s\"\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tollgate cost: unexpected \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!endpoint || !endpoint[0])
        endpoint = DEFAULT_ENDPOINT;
    if (!report && !focus) {
        fprintf(stderr,
                "tollgate cost export: --focus is required (the one export format)\n");
        return 2;
    }
    if (!report && (!from || !to)) {
        /* this month so far, to the end of the current hour */
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        if (!from) {
            strftime(fbuf, sizeof fbuf, "%Y-%m-01", &tm);
            from = fbuf;
        }
        if (!to) {
            time_t end = (now / 3600 + 1) * 3600;
            gmtime_r(&end, &tm);
            strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            to = tbuf;
        }
    }
    if (!from || !to || tg_cost_parse_date(from, &t0) || tg_cost_parse_date(to, &t1) ||
        t1 <= t0) {
        fprintf(stderr, "tollgate cost: --from and --to are dates (YYYY-MM-DD or "
                        "YYYY-MM-DDTHH:MM:SSZ), --from before --to\n");
        return 2;
    }
    if (!format)
        format = report ? "table" : "csv";
    if ((report && strcmp(format, "table") && strcmp(format, "csv") &&
         strcmp(format, "json") && strcmp(format, "html")) ||
        (!report && strcmp(format, "csv") && strcmp(format, "json"))) {
        fprintf(stderr, "tollgate cost: --format %s is not one of %s\n", format,
                report ? "table, csv, json, html" : "csv, json");
        return 2;
    }
    if (report && strcmp(by, "site") && strcmp(by, "service") && strcmp(by, "model") &&
        strcmp(by, "team") && strcmp(by, "run")) {
        fprintf(stderr, "tollgate cost: --by is site, service, model, team or run\n");
        return 2;
    }
    if (cmp && (!cmp[0] || !tg_cmd_url_plain(cmp))) {
        fprintf(stderr, "tollgate cost: --compare names a site or a region\n");
        return 2;
    }
    if (report)
        snprintf(url, sizeof url, "%s/api/v1/cost/report?from=%s&to=%s&by=%s%s%s",
                 endpoint, from, to, by, cmp ? "&compare=" : "", cmp ? cmp : "");
    else
        snprintf(url, sizeof url, "%s/api/v1/cost/focus?from=%s&to=%s&format=%s",
                 endpoint, from, to, format);
    r.url = url;
    r.token = token;
    r.accept = !report && strcmp(format, "csv") == 0 ? "text/csv" : "application/json";
    r.timeout_ms = 120000;
    r.max_body = MAX_ANSWER;
    if (tg_query_http_get(&r, &a) != 0) {
        fprintf(stderr, "tollgate cost: cannot reach %s: %s\n", endpoint,
                a.err[0] ? a.err : "no answer");
    } else if (a.status != 200) {
        json_t *doc = NULL;
        const char *words = tg_query_http_error_words(a.body, a.len, &doc);
        fprintf(stderr, "tollgate cost: the centre answered %ld: %s\n", a.status,
                words    ? words
                : a.body ? a.body
                         : "");
        json_decref(doc);
    } else if (!report || strcmp(format, "json") == 0) {
        fwrite(a.body ? a.body : "", 1, a.len, stdout);
        rc = 0;
    } else {
        json_t *doc = json_loadb(a.body ? a.body : "", a.len, 0, NULL);
        if (!doc) {
            fprintf(stderr, "tollgate cost: the centre's answer is not JSON\n");
        } else {
            render(stdout, doc, format, by);
            rc = 0;
        }
        json_decref(doc);
    }
    free(a.body);
    return rc;
}
