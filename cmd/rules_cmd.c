/* tollgate rules: lint a policy, and show what each destination would
 * receive from an OTLP/JSON file and why.
 *
 *   tollgate rules check FILE...
 *   tollgate rules test --rules FILE... [--destination NAME] --input OTLP.json
 *                       [--json] [--key-dir DIR] [--summaries]
 *
 * Exit status: 0 success, 1 the operation failed, 2 bad usage or bad input
 * (a policy error is reported as FILE:LINE:COLUMN: message). The output of
 * `test` shows only what would leave, never the raw values it replaced. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "tg_arena.h"
#include "tg_err.h"
#include "tg_otlp.h"
#include "tg_otlp_json.h"
#include "tg_rules.h"
#include "tg_summary.h"

#define MAX_FILES 64
#define TG_RULES_MAX_INPUT (256u << 20)

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tollgate rules check FILE...\n"
        "       tollgate rules detectors [--markdown]\n"
        "       tollgate rules test --rules FILE... [--destination NAME] --input "
        "OTLP.json\n"
        "                           [--json] [--key-dir DIR] [--summaries]\n"
        "\n"
        "check   load FILEs as one policy (in merge order) and report problems as\n"
        "        FILE:LINE:COLUMN: message\n"
        "detectors list the built-in detectors a policy can name\n"
        "test    classify an OTLP/JSON file (TracesData, LogsData or MetricsData) and\n"
        "        print, per destination, exactly what would leave and, for every\n"
        "        changed field, the class, detector and rules that decided it\n"
        "\n"
        "options:\n"
        "  --rules FILE...      policy files in merge order (default: %s)\n"
        "  --destination NAME   only this destination\n"
        "  --input FILE         the OTLP/JSON document\n"
        "  --json               one JSON document on stdout\n"
        "  --summaries          also print what the centre receives: the forwarder's\n"
        "                       summaries of each view (span summaries, RED, log\n"
        "                       templates, metric points, cost records)\n"
        "  --key-dir DIR        where relative key files live (the collector's data "
        "dir);\n"
        "                       a missing key is replaced by an ephemeral one, with a "
        "warning\n"
        "  -h, --help           print this help\n"
        "\n"
        "exit status: 0 success, 1 failure, 2 bad usage, bad policy or bad input\n",
        tg_rules_default_path());
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("tollgate rules: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see tollgate rules --help)\n", stderr);
    return 2;
}

static void print_warning(void *ctx, const tg_rules_diag *d)
{
    char buf[1200];
    (void)ctx;
    tg_rules_diag_format(d, buf, sizeof(buf));
    fprintf(stderr, "warning: %s\n", buf);
}

static tg_rules_policy *load(const char *const *files, size_t n, const char *key_dir)
{
    tg_rules_options opt;
    tg_rules_diag d;
    tg_rules_policy *p;

    memset(&opt, 0, sizeof(opt));
    opt.key_dir = key_dir;
    opt.ephemeral_keys = 1; /* linting and dry runs never need the real key */
    opt.warn = print_warning;
    p = tg_rules_policy_load(files, n, &opt, &d);
    if (!p) {
        char buf[1200];
        tg_rules_diag_format(&d, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
    }
    return p;
}

/* ---- check
 * ------------------------------------------------------------------------------ */

static int cmd_check(int argc, char **argv)
{
    const char *files[MAX_FILES];
    size_t n = 0;
    tg_rules_policy *p;
    tg_rules_site_info site;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return usage_error("unknown option %s", argv[i]);
        if (n == MAX_FILES)
            return usage_error("too many files (limit %s)", "64");
        files[n++] = argv[i];
    }
    if (!n)
        return usage_error("check needs at least one FILE%s", "");
    p = load(files, n, NULL);
    if (!p)
        return 2;
    tg_rules_site(p, &site);
    printf("ok: %zu file%s, %zu classes, %zu destination%s", n, n == 1 ? "" : "s",
           tg_rules_n_classes(p) - 1, tg_rules_n_destinations(p),
           tg_rules_n_destinations(p) == 1 ? "" : "s");
    if (site.name[0])
        printf(", site %s", site.name);
    printf("\nversion %s\n", tg_rules_policy_version(p));
    tg_rules_policy_unref(p);
    return 0;
}

/* ---- test
 * ----------------------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t r;
        if (n + 65536 + 1 > cap) {
            char *nb;
            cap = cap ? cap * 2 : 131072;
            if (cap > TG_RULES_MAX_INPUT + 1) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Which OTLP document is it? By its top-level key. */
static const ProtobufCMessageDescriptor *detect_signal(const char *text, size_t len,
                                                       const char **name)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    const ProtobufCMessageDescriptor *d = NULL;

    if (!root)
        return NULL;
    if (json_object_get(root, "resourceSpans") ||
        json_object_get(root, "resource_spans")) {
        d = tg_otlp_request_descriptor(TG_SIGNAL_TRACES);
        *name = "traces";
    } else if (json_object_get(root, "resourceLogs") ||
               json_object_get(root, "resource_logs")) {
        d = tg_otlp_request_descriptor(TG_SIGNAL_LOGS);
        *name = "logs";
    } else if (json_object_get(root, "resourceMetrics") ||
               json_object_get(root, "resource_metrics")) {
        d = tg_otlp_request_descriptor(TG_SIGNAL_METRICS);
        *name = "metrics";
    }
    json_decref(root);
    return d;
}

typedef struct explain_ctx {
    json_t *changes; /* --json */
    FILE *out;       /* text */
    size_t n;
} explain_ctx;

static void on_change(void *vctx, const tg_rules_change *ch)
{
    explain_ctx *x = vctx;

    x->n++;
    if (x->changes) {
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(ch->path));
        json_object_set_new(o, "action", json_string(tg_rules_action_name(ch->action)));
        json_object_set_new(o, "class", json_string(ch->class_name));
        json_object_set_new(o, "regulation", json_string(ch->regulation));
        json_object_set_new(o, "detector", json_string(ch->detector));
        json_object_set_new(o, "rule", json_string(ch->rule));
        json_object_set_new(o, "action_rule", json_string(ch->action_rule));
        json_object_set_new(o, "whole_record", json_boolean(ch->whole_record));
        json_object_set_new(o, "result",
                            ch->result ? json_stringn(ch->result, ch->result_len)
                                       : json_null());
        json_array_append_new(x->changes, o);
        return;
    }
    fprintf(x->out, "  %s\n", ch->path[0] ? ch->path : "(request)");
    if (ch->whole_record)
        fprintf(x->out, "      %s (whole record)", tg_rules_action_name(ch->action));
    else
        fprintf(x->out, "      %s", tg_rules_action_name(ch->action));
    fprintf(x->out, "  class %s", ch->class_name);
    if (ch->regulation[0])
        fprintf(x->out, " [%s]", ch->regulation);
    fprintf(x->out, "\n      detector %s, rule %s, action %s\n", ch->detector, ch->rule,
            ch->action_rule);
    if (ch->result)
        fprintf(x->out, "      leaves as: %.*s\n",
                (int)(ch->result_len > 200 ? 200 : ch->result_len), ch->result);
    else if (ch->whole_record)
        fprintf(x->out, "      leaves as: nothing (the record stays at the site)\n");
    else
        fprintf(x->out, "      leaves as: nothing (removed)\n");
}

/* What the centre receives from a view: the forwarder's summaries of it
 * (span summaries, RED, log templates, metric points, cost records), as
 * the batch's JSON. NULL if out of memory. */
static json_t *summaries_of(const ProtobufCMessageDescriptor *desc,
                            const ProtobufCMessage *raw, const ProtobufCMessage *view,
                            size_t raw_len, tg_summary_counts *cnt)
{
    static const enum tg_signal sigs[] = {TG_SIGNAL_TRACES, TG_SIGNAL_LOGS,
                                          TG_SIGNAL_METRICS};
    enum tg_signal sig = TG_SIGNAL_TRACES;
    tg_forward_config cfg;
    tg_summarizer *s;
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    json_t *j = NULL;
    struct timespec ts;
    uint64_t now;

    for (size_t i = 0; i < 3; i++)
        if (desc == tg_otlp_request_descriptor(sigs[i]))
            sig = sigs[i];
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    tg_forward_config_defaults(&cfg);
    memset(cnt, 0, sizeof(*cnt));
    if (!(s = tg_summarizer_create(&cfg)))
        return NULL;
    if (tg_summarizer_add(s, sig, raw, view, raw_len, raw_len, now) == 0) {
        tg_summarizer_counts(s, cnt);
        b.site = (char *)"(this site)";
        b.policy_version = (char *)"";
        if (tg_summarizer_build(s, &b, now) == 0)
            j = tg_otlp_json_from_message(&b.base);
    }
    tg_summarizer_destroy(s);
    return j;
}

static int cmd_test(int argc, char **argv)
{
    const char *files[MAX_FILES];
    size_t nfiles = 0;
    const char *dest = NULL, *input = NULL, *key_dir = NULL, *sig = NULL;
    int as_json = 0, rc = 1, summaries = 0;
    char *text = NULL;
    size_t len = 0;
    const ProtobufCMessageDescriptor *desc;
    tg_rules_policy *p = NULL;
    tg_arena arena;
    ProtobufCMessage *msg;
    tg_rules_classification *cls;
    char err[512];
    json_t *doc = NULL, *dests = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            as_json = 1;
        } else if (!strcmp(a, "--summaries")) {
            summaries = 1;
        } else if (!strcmp(a, "--rules")) {
            if (i + 1 >= argc || argv[i + 1][0] == '-')
                return usage_error("%s needs at least one FILE", a);
            while (i + 1 < argc && argv[i + 1][0] != '-') {
                if (nfiles == MAX_FILES)
                    return usage_error("too many rules files (limit %s)", "64");
                files[nfiles++] = argv[++i];
            }
        } else if (!strcmp(a, "--destination") || !strcmp(a, "--input") ||
                   !strcmp(a, "--key-dir")) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            if (!strcmp(a, "--destination"))
                dest = argv[++i];
            else if (!strcmp(a, "--input"))
                input = argv[++i];
            else
                key_dir = argv[++i];
        } else {
            return usage_error("unexpected argument %s", a);
        }
    }
    if (!input)
        return usage_error("test needs --input OTLP.json%s", "");
    if (!nfiles)
        files[nfiles++] = tg_rules_default_path();
    p = load(files, nfiles, key_dir);
    if (!p)
        return 2;
    if (dest && tg_rules_destination_index(p, dest) < 0) {
        fprintf(stderr,
                "tollgate rules: unknown destination \"%s\"; the policy has:", dest);
        for (size_t d = 0; d < tg_rules_n_destinations(p); d++) {
            tg_rules_destination_info di;
            tg_rules_destination(p, d, &di);
            fprintf(stderr, " %s", di.name);
        }
        fputc('\n', stderr);
        tg_rules_policy_unref(p);
        return 2;
    }
    text = read_all(input, &len);
    if (!text) {
        fprintf(stderr, "%s: cannot read: %s\n", input, strerror(errno));
        tg_rules_policy_unref(p);
        return 2;
    }
    desc = detect_signal(text, len, &sig);
    tg_arena_init(&arena, 256 * 1024, 0);
    if (!desc) {
        /* let the codec name the position of the problem */
        msg = tg_otlp_json_decode(tg_otlp_request_descriptor(TG_SIGNAL_TRACES), text, len,
                                  &arena, err, sizeof(err));
        if (msg)
            snprintf(err, sizeof(err),
                     "not an OTLP document: expected resourceSpans, resourceLogs or "
                     "resourceMetrics at the top level");
        fprintf(stderr, "%s: %s\n", input, err);
        rc = 2;
        goto out;
    }
    msg = tg_otlp_json_decode(desc, text, len, &arena, err, sizeof(err));
    if (!msg) {
        fprintf(stderr, "%s: %s\n", input, err);
        rc = 2;
        goto out;
    }
    if ((rc = tg_rules_classify(p, msg, &arena, &cls)) != 0) {
        fprintf(stderr,
                "tollgate rules: classification failed: %s (nothing would leave)\n",
                tg_strerror(rc));
        rc = 1;
        goto out;
    }
    if (as_json) {
        doc = json_object();
        dests = json_array();
        json_object_set_new(doc, "policy_version",
                            json_string(tg_rules_policy_version(p)));
        json_object_set_new(doc, "signal", json_string(sig));
        json_object_set_new(doc, "destinations", dests);
    } else {
        tg_rules_classify_stats cs;
        tg_rules_classification_stats(cls, &cs);
        printf("policy %s\n", tg_rules_policy_version(p));
        printf("input %s: %s, %llu records, %llu values looked at, %llu findings\n",
               input, sig, (unsigned long long)cs.records, (unsigned long long)cs.places,
               (unsigned long long)cs.findings);
    }
    for (size_t d = 0; d < tg_rules_n_destinations(p); d++) {
        tg_rules_destination_info di;
        tg_rules_view_opts vo;
        tg_rules_view_stats vs;
        explain_ctx x;
        ProtobufCMessage *view;
        json_t *data;
        int vr;

        tg_rules_destination(p, d, &di);
        if (dest && strcmp(dest, di.name))
            continue;
        memset(&x, 0, sizeof(x));
        x.out = stdout;
        if (as_json)
            x.changes = json_array();
        else
            printf("\n== destination %s%s%s%s%s%s ==\n", di.name,
                   di.country[0] || di.region[0] ? " (" : "", di.country,
                   di.country[0] && di.region[0] ? "/" : "", di.region,
                   di.country[0] || di.region[0] ? ")" : "");
        if (!as_json && di.purpose[0])
            printf("purpose: %s\n", di.purpose);
        if (!as_json)
            printf("changes:\n");
        memset(&vo, 0, sizeof(vo));
        vo.explain = on_change;
        vo.explain_ctx = &x;
        vr = tg_rules_view(cls, d, &arena, &vo, &view, &vs);
        if (vr) {
            fprintf(stderr,
                    "tollgate rules: view for %s failed: %s (nothing would leave)\n",
                    di.name, tg_strerror(vr));
            json_decref(x.changes);
            rc = 1;
            goto out;
        }
        data = tg_otlp_json_from_message(view);
        if (!data) {
            fprintf(stderr, "tollgate rules: out of memory\n");
            json_decref(x.changes);
            rc = 1;
            goto out;
        }
        if (as_json) {
            json_t *o = json_object(), *j = json_object(), *s = json_object();
            json_object_set_new(o, "name", json_string(di.name));
            json_object_set_new(j, "country", json_string(di.country));
            json_object_set_new(j, "region", json_string(di.region));
            json_object_set_new(o, "jurisdiction", j);
            json_object_set_new(o, "purpose", json_string(di.purpose));
            json_object_set_new(s, "changed", json_integer((json_int_t)vs.changed));
            json_object_set_new(s, "withheld_records",
                                json_integer((json_int_t)vs.withheld));
            json_object_set_new(s, "dropped_unclassified",
                                json_integer((json_int_t)vs.dropped_unclassified));
            json_object_set_new(o, "stats", s);
            json_object_set_new(o, "changes", x.changes);
            json_object_set_new(o, "data", data);
            if (summaries) {
                tg_summary_counts sc;
                json_t *sj = summaries_of(desc, msg, view, len, &sc);
                if (!sj) {
                    fprintf(stderr, "tollgate rules: out of memory\n");
                    json_decref(o);
                    rc = 1;
                    goto out;
                }
                json_object_set_new(o, "summaries", sj);
                json_object_set_new(s, "names_templated",
                                    json_integer((json_int_t)vs.names_templated));
                json_object_set_new(s, "span_names_stored",
                                    json_integer((json_int_t)sc.names_raw));
                json_object_set_new(s, "span_names_sent",
                                    json_integer((json_int_t)sc.names_sent));
            }
            json_array_append_new(dests, o);
        } else {
            char *pretty = json_dumps(data, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            if (!x.n)
                printf("  (none: everything leaves as it is)\n");
            printf("summary: %llu value%s changed, %llu record%s kept local, %llu "
                   "unclassified "
                   "attribute%s dropped\n",
                   (unsigned long long)vs.changed, vs.changed == 1 ? "" : "s",
                   (unsigned long long)vs.withheld, vs.withheld == 1 ? "" : "s",
                   (unsigned long long)vs.dropped_unclassified,
                   vs.dropped_unclassified == 1 ? "" : "s");
            printf("what leaves:\n%s\n", pretty ? pretty : "{}");
            free(pretty);
            json_decref(data);
            if (summaries) {
                tg_summary_counts sc;
                json_t *sj = summaries_of(desc, msg, view, len, &sc);
                char *sp =
                    sj ? json_dumps(sj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
                printf("what the centre receives (summaries of this view): %llu span "
                       "summar%s, %llu RED series, %llu log template%s, %llu metric "
                       "point%s, %llu cost record%s; %llu name%s templated, distinct "
                       "span names %llu stored, %llu sent\n%s\n",
                       (unsigned long long)sc.spans, sc.spans == 1 ? "y" : "ies",
                       (unsigned long long)sc.red, (unsigned long long)sc.logs,
                       sc.logs == 1 ? "" : "s", (unsigned long long)sc.metrics,
                       sc.metrics == 1 ? "" : "s", (unsigned long long)sc.costs,
                       sc.costs == 1 ? "" : "s", (unsigned long long)vs.names_templated,
                       vs.names_templated == 1 ? "" : "s",
                       (unsigned long long)sc.names_raw,
                       (unsigned long long)sc.names_sent, sp ? sp : "{}");
                free(sp);
                json_decref(sj);
                if (!sj) {
                    rc = 1;
                    goto out;
                }
            }
        }
    }
    if (as_json) {
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s) {
            rc = 1;
            goto out;
        }
        printf("%s\n", s);
        free(s);
    }
    rc = 0;
out:
    json_decref(doc);
    tg_arena_destroy(&arena);
    free(text);
    tg_rules_policy_unref(p);
    return rc;
}

/* ---- detectors
 * --------------------------------------------------------------------------- */

static int cmd_detectors(int argc, char **argv)
{
    int md = argc > 1 && !strcmp(argv[1], "--markdown");

    if (argc > 2 || (argc == 2 && !md))
        return usage_error("detectors takes only --markdown%s", "");
    if (md)
        printf("| detector | what | validation | keywords (weak forms only) "
               "|\n|---|---|---|---|\n");
    for (size_t i = 0; i < tg_rules_n_detectors(); i++) {
        tg_rules_detector_info d;
        char kw[256] = "";
        size_t off = 0;
        tg_rules_detector(i, &d);
        for (size_t k = 0; d.keywords && d.keywords[k] && off + 40 < sizeof(kw); k++)
            off += (size_t)snprintf(kw + off, sizeof(kw) - off, "%s%s", k ? ", " : "",
                                    d.keywords[k]);
        if (md)
            printf("| `%s` | %s | %s | %s |\n", d.name, d.summary,
                   d.validator[0] ? d.validator : "format", kw[0] ? kw : "no");
        else
            printf("%-20s %s\n%-20s   validation: %s%s%s\n", d.name, d.summary, "",
                   d.validator[0] ? d.validator : "format",
                   kw[0] ? "; weak forms need: " : "", kw);
    }
    return 0;
}

int tg_cmd_rules(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "test"))
        return cmd_test(argc - 1, argv + 1);
    if (!strcmp(argv[1], "detectors"))
        return cmd_detectors(argc - 1, argv + 1);
    return usage_error("unknown subcommand \"%s\"", argv[1]);
}
