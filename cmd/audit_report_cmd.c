/* tollgate audit report: the compliance officer's report over a period
 * (docs/audit.md, "The report"), from sites' data directories.
 *
 *   tollgate audit report --from DATE --to DATE --data DIR [--data DIR]...
 *                         [--config FILE] [--rules FILE]... [--site NAME]
 *                         [--format json|csv|html|pdf] [--out FILE]
 *   tollgate audit report --from DATE --to DATE --endpoint URL [--token T]
 *                         [--site NAME] [--format ...] [--out FILE]
 *
 * Each --data DIR is one site's data directory (site clearance: read
 * access to it): its log is verified offline first (as `audit verify
 * --data` does), then its leaves up to the newest checkpoint are counted.
 * The policy is the one --config names (its `rules:`), or --rules, or the
 * default; the Art. 30 fields the policy cannot know come from --config's
 * `audit:` section. With --endpoint the centre makes the report (GET
 * /api/v1/audit/report: it reads every site's log over the site API) and
 * this writes it out; the token is a compliance or admin user's. Exit: 0, 1 a log does
 * not verify (the report is still written, saying so), 2 bad usage, bad configuration or
 * unreadable input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_args.h"
#include "commands.h"
#include "query_http.h"
#include "tg_config.h"
#include "tg_costmodel.h"
#include "tg_err.h"
#include "tg_policy_archive.h"
#include "tg_outbox_audit.h"
#include "tg_outbox_report.h"
#include "tg_audit_report.h"
#include "tg_rules.h"

#define MAX_SITES 32

static void usage(FILE *f)
{
    fputs(
        "usage: tollgate audit report --from DATE --to DATE --data DIR [--data DIR]...\n"
        "                             [--config FILE] [--rules FILE]... [--site NAME]\n"
        "                             [--format json|csv|html|pdf] [--out FILE]\n"
        "       tollgate audit report --from DATE --to DATE --endpoint URL [--token T]\n"
        "                             [--site NAME] [--format ...] [--out FILE]\n"
        "\n"
        "  --data DIR     a site's data directory (repeatable: one per site)\n"
        "  --config FILE  the site's configuration: its rules files and the audit:\n"
        "                 section (Art. 30 fields); data_dir when --data is not given\n"
        "  --rules FILE   the policy (repeatable; default: --config's, else the "
        "default)\n"
        "  --site NAME    only this site\n"
        "  --format F     json (default), csv, html or pdf\n"
        "  --out FILE     write there instead of stdout\n"
        "  --endpoint URL the centre makes the report from every site's log\n"
        "  --token T      a compliance or admin user's token (default: $TOLLGATE_TOKEN)\n"
        "DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); --to is exclusive.\n"
        "exit status: 0, 1 a site's log does not verify, 2 bad usage or input\n",
        f);
}

static int fail2(const char *fmt, const char *a, const char *b)
{
    fputs("tollgate audit report: ", stderr);
    fprintf(stderr, fmt, a, b ? b : "");
    fputc('\n', stderr);
    return 2;
}

static int add_leaf(void *ctx, const uint8_t *leaf, size_t len)
{
    return tg_report_add_leaf(ctx, leaf, len);
}

static int add_text(void *ctx, const char *version, const char *text, size_t len)
{
    return tg_report_add_policy_text(ctx, version, text, len) ? TG_ENOMEM : 0;
}

/* The archived policy texts (rules/tg_policy_archive.h). */
static int add_policy_texts(tg_report *r, const char *data)
{
    return tg_policy_archive_each(data, add_text, r);
}

static int add_policy(tg_report *r, const tg_rules_policy *p)
{
    for (size_t i = 0; i < tg_rules_n_classes(p); i++) {
        tg_rules_class_info ci;
        tg_report_class c;
        if (tg_rules_class(p, i, &ci))
            continue;
        c = (tg_report_class){ci.name, ci.description, ci.regulation, ci.legal_basis,
                              ci.retention_sec};
        if (tg_report_add_class(r, &c))
            return TG_ENOMEM;
    }
    for (size_t i = 0; i < tg_rules_n_destinations(p); i++) {
        tg_rules_destination_info di;
        tg_report_destination d;
        if (tg_rules_destination(p, i, &di))
            continue;
        d = (tg_report_destination){di.name, di.country, di.region, di.purpose};
        if (tg_report_add_destination(r, &d))
            return TG_ENOMEM;
    }
    return 0;
}

/* One site: verify its log, then count its leaves. 0, 1 (does not
 * verify: counted all the same, marked unverified) or 2. */
static int add_site(tg_report *r, const char *data, const char *only,
                    const tg_rules_site_info *si)
{
    char outbox[4200], vkey[4200], err[512], witness[400];
    tg_outbox_audit_result vr;
    tg_outbox_report_checkpoint cp;
    tg_report_site s;
    const char *slash;
    int vrc, rc;

    snprintf(outbox, sizeof(outbox), "%s/outbox", data);
    snprintf(vkey, sizeof(vkey), "%s/audit.key.vkey", data);
    memset(&vr, 0, sizeof(vr));
    vrc = tg_outbox_audit_verify(outbox, vkey, &vr);
    if (vrc && vrc != TG_EVERIFY)
        return fail2("%s: %s", data, vr.what);
    memset(&s, 0, sizeof(s));
    s.verified = vrc == 0;
    s.verify_result = vrc == 0 ? "intact" : vr.what;
    s.witness = "";
    s.region = si->region;
    s.country = si->country;
    /* A first read for the checkpoint alone: its origin names the site
     * (tollgate.site/<name>). */
    rc = tg_outbox_report_read(outbox, NULL, NULL, &cp, err, sizeof(err));
    if (rc)
        return fail2("%s: %s", data, err);
    slash = strrchr(cp.origin, '/');
    /* a log without a checkpoint yet: the policy's site name, else the directory */
    s.name = slash ? slash + 1 : cp.origin[0] ? cp.origin : si->name[0] ? si->name : data;
    if (only && strcmp(only, s.name) != 0)
        return 0;
    s.origin = cp.origin;
    s.tree_size = cp.size;
    s.root = cp.root;
    if (cp.witness_size)
        snprintf(
            witness, sizeof(witness),
            "cosigned up to size %llu by %s (the cosignature the site stored; "
            "`audit verify --data DIR --central CDIR` checks it against the witness)",
            (unsigned long long)cp.witness_size,
            cp.witness_key[0] ? cp.witness_key : "the witness");
    else
        snprintf(witness, sizeof(witness), "%s",
                 "not cosigned (no witness cosignature stored)");
    s.witness = witness;
    if (tg_report_add_site(r, &s))
        return fail2("%s%s", "out of memory", NULL);
    if ((rc = tg_outbox_report_read(outbox, add_leaf, r, &cp, err, sizeof(err))))
        return fail2("%s: %s", data, err);
    if (add_policy_texts(r, data))
        return fail2("%s%s", "out of memory", NULL);
    return vrc ? 1 : 0;
}

static int write_out(const char *out, const char *p, size_t len)
{
    FILE *o = out ? fopen(out, "wb") : stdout;

    if (!o)
        return fail2("cannot write %s%s", out, NULL);
    if (fwrite(p, 1, len, o) != len || (out && fclose(o) != 0))
        return fail2("cannot write %s%s", out ? out : "stdout", NULL);
    return 0;
}

static int from_centre(const char *endpoint, const char *token, const char *from,
                       const char *to, const char *site, const char *fmt, const char *out)
{
    char url[2048];
    tg_query_http_req q = {0};
    tg_query_http_answer a;
    int rc;

    if (!tg_cmd_url_plain(from) || !tg_cmd_url_plain(to) ||
        (site && !tg_cmd_url_plain(site)) || !tg_cmd_url_plain(fmt))
        return fail2("%s%s",
                     "--from, --to, --site and --format take letters, digits and ._:-",
                     NULL);
    snprintf(url, sizeof(url), "%s/api/v1/audit/report?from=%s&to=%s&format=%s%s%s",
             endpoint, from, to, fmt, site ? "&site=" : "", site ? site : "");
    q.url = url;
    q.accept = "*/*";
    q.token = token;
    q.timeout_ms = 300000;
    q.max_body = 256u << 20;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = tg_query_http_get(&q, &a);
    if (rc || a.status != 200) {
        json_t *doc = NULL;
        const char *w = a.body ? tg_query_http_error_words(a.body, a.len, &doc) : NULL;
        fprintf(stderr, "tollgate audit report: %s: %s\n", endpoint,
                rc  ? a.err
                : w ? w
                    : "the centre refused");
        json_decref(doc);
        free(a.body);
        return a.status == 400 ? 2 : 1;
    }
    rc = write_out(out, a.body ? a.body : "", a.len);
    free(a.body);
    return rc;
}

int tg_cmd_audit_report(int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *site = NULL, *fmt = "json", *out = NULL;
    const char *config = NULL, *data[MAX_SITES], *rules[TG_CONFIG_MAX_RULES];
    const char *endpoint = NULL, *token = getenv("TOLLGATE_TOKEN");
    size_t n_data = 0, n_rules = 0;
    tg_collector_config *cc = NULL;
    tg_report_config rc_cfg;
    enum tg_report_format f;
    tg_rules_policy *p = NULL;
    tg_report *r = NULL;
    json_t *model = NULL;
    tg_strbuf buf = {0};
    int64_t t0, t1;
    char err[1200];
    int status = 0, rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--print-config-reference")) {
            tg_report_config_write_reference(stdout); /* docs/audit.md's table */
            return 0;
        }
        if (!v)
            return fail2("missing value for %s%s", a, NULL);
        i++;
        if (!strcmp(a, "--from"))
            from = v;
        else if (!strcmp(a, "--to"))
            to = v;
        else if (!strcmp(a, "--site"))
            site = v;
        else if (!strcmp(a, "--format"))
            fmt = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--config"))
            config = v;
        else if (!strcmp(a, "--endpoint"))
            endpoint = v;
        else if (!strcmp(a, "--token"))
            token = v;
        else if (!strcmp(a, "--data") && n_data < MAX_SITES)
            data[n_data++] = v;
        else if (!strcmp(a, "--rules") && n_rules < TG_CONFIG_MAX_RULES)
            rules[n_rules++] = v;
        else
            return fail2("unknown option %s%s (see tollgate audit report --help)", a,
                         NULL);
    }
    if (!from || !to || tg_cost_parse_date(from, &t0) || tg_cost_parse_date(to, &t1) ||
        t1 <= t0 || t0 < 0)
        return fail2("%s%s",
                     "--from DATE and --to DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, "
                     "--to after --from) are required",
                     NULL);
    if (tg_report_format_parse(fmt, &f))
        return fail2("--format: %s is not json, csv, html or pdf%s", fmt, NULL);
    if (endpoint) {
        if (n_data || config || n_rules)
            return fail2(
                "%s%s",
                "--endpoint asks the centre: not with --data, --config or --rules", NULL);
        return from_centre(endpoint, token, from, to, site, fmt, out);
    }
    tg_report_config_defaults(&rc_cfg);
    if (config) {
        if (!(cc = malloc(sizeof(*cc))))
            return fail2("%s%s", "out of memory", NULL);
        tg_config_defaults(cc);
        if (tg_config_load(config, cc, err, sizeof(err)) ||
            tg_report_config_load(config, &rc_cfg, err, sizeof(err))) {
            free(cc);
            return fail2("%s%s", err, NULL);
        }
        if (!n_rules)
            for (size_t i = 0; i < cc->n_rules_files; i++)
                rules[n_rules++] = cc->rules_files[i];
        if (!n_data)
            data[n_data++] = cc->data_dir;
    }
    if (!n_data) {
        free(cc);
        return fail2("%s%s", "--data DIR (or --config FILE naming data_dir) is required",
                     NULL);
    }
    if (!n_rules)
        rules[n_rules++] = tg_rules_default_path();
    {
        tg_rules_options ro;
        tg_rules_diag d;
        memset(&ro, 0, sizeof(ro));
        ro.key_dir = data[0];
        ro.ephemeral_keys = 1; /* the report reads classes, never hashes */
        if (!(p = tg_rules_policy_load(rules, n_rules, &ro, &d))) {
            tg_rules_diag_format(&d, err, sizeof(err));
            free(cc);
            return fail2("%s%s", err, NULL);
        }
    }
    if (!(r = tg_report_new((uint64_t)t0 * 1000000000u, (uint64_t)t1 * 1000000000u)) ||
        add_policy(r, p)) {
        status = fail2("%s%s", "out of memory", NULL);
        goto done;
    }
    tg_report_set_config(r, &rc_cfg);
    for (size_t i = 0; i < n_data; i++) {
        tg_rules_site_info si;
        tg_rules_site(p, &si);
        rc = add_site(r, data[i], site, &si);
        if (rc == 2) {
            status = 2;
            goto done;
        }
        if (rc)
            status = 1;
    }
    if (!(model = tg_report_build(r))) {
        status = fail2("%s%s", "out of memory", NULL);
        goto done;
    }
    err[0] = '\0';
    if ((rc = tg_report_render(model, f, &buf, err, sizeof(err)))) {
        status = fail2("rendering: %s%s", err[0] ? err : tg_strerror(rc), NULL);
        goto done;
    }
    if (write_out(out, buf.p, buf.len)) {
        status = 2;
        goto done;
    }
    if (status == 1)
        fprintf(stderr, "tollgate audit report: a site's log does not verify (see the "
                        "sites section)\n");
done:
    free(buf.p);
    json_decref(model);
    tg_report_free(r);
    tg_rules_policy_unref(p);
    free(cc);
    return status;
}
