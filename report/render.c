/* The report's text renderers: JSON (the model itself), CSV (one table
 * per section) and HTML (one self-contained page that prints well). */
#include "tg_audit_report.h"

#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "tg_err.h"

/* Appends a string literal. */
#define LIT(o, s) tg_strbuf_put((o), (s), sizeof(s) - 1)

static const char *const egress_cols[] = {"site",
                                          "destination",
                                          "data_class",
                                          "action",
                                          "values",
                                          "regulation",
                                          "legal_basis",
                                          "checkpoint_origin",
                                          "checkpoint_size",
                                          "checkpoint_root",
                                          NULL};
static const char *const kept_cols[] = {"site",
                                        "data_class",
                                        "action",
                                        "values",
                                        "regulation",
                                        "legal_basis",
                                        "checkpoint_origin",
                                        "checkpoint_size",
                                        "checkpoint_root",
                                        NULL};
static const char *const version_cols[] = {"site",
                                           "version",
                                           "in_force_from",
                                           "first_seen",
                                           "last_seen",
                                           "leaves",
                                           "changed_from",
                                           "diff",
                                           "checkpoint_origin",
                                           "checkpoint_size",
                                           "checkpoint_root",
                                           NULL};
static const char *const retention_cols[] = {"site",
                                             "data_class",
                                             "action",
                                             "records_deleted",
                                             "deleted_from",
                                             "deleted_to",
                                             "leaves",
                                             "first_leaf",
                                             "last_leaf",
                                             "source",
                                             "checkpoint_origin",
                                             "checkpoint_size",
                                             "checkpoint_root",
                                             NULL};
static const char *const query_cols[] = {"site",
                                         "client",
                                         "user",
                                         "role",
                                         "view",
                                         "kind",
                                         "queries",
                                         "records",
                                         "bytes_sent",
                                         "values_changed",
                                         "checkpoint_origin",
                                         "checkpoint_size",
                                         "checkpoint_root",
                                         NULL};
static const char *const site_cols[] = {
    "site",     "verified",          "verify_result",   "witness",
    "leaves",   "leaves_in_period",  "batches",         "shed",
    "rejected", "checkpoint_origin", "checkpoint_size", "checkpoint_root",
    NULL};
static const char *const art30_cols[] = {"field", "value", "source", NULL};

static const tg_report_section sections[] = {
    {"egress", "Egress by site, destination, data class and action", egress_cols},
    {"kept_local", "Kept local: values that did not leave as they were, by class",
     kept_cols},
    {"policy_versions", "Policy versions in force and their changes", version_cols},
    {"retention",
     "Retention: records the site's store deleted (a class retention ended, or the "
     "store's limits)",
     retention_cols},
    {"queries", "Federated query accesses by user, role and view", query_cols},
    {"sites", "Sites: log verification and witness", site_cols},
    {"art30", "Record of processing activities (GDPR Art. 30)", art30_cols},
};

size_t tg_report_n_sections(void)
{
    return sizeof(sections) / sizeof(sections[0]);
}

const tg_report_section *tg_report_section_at(size_t i)
{
    return i < tg_report_n_sections() ? &sections[i] : NULL;
}

int tg_report_format_parse(const char *s, enum tg_report_format *f)
{
    static const char *const names[] = {"json", "csv", "html", "pdf"};

    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (enum tg_report_format)i;
            return 0;
        }
    return TG_EINVAL;
}

/* A cell's text: strings as they are, numbers in decimal, null empty. */
void tg_report__cell_text(const json_t *v, tg_strbuf *out)
{
    if (json_is_string(v))
        tg_strbuf_put(out, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v))
        tg_strbuf_printf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_true(v))
        LIT(out, "yes");
    else if (json_is_false(v))
        LIT(out, "no");
}

/* ---- CSV (RFC 4180) ---------------------------------------------------------- */

static void csv_field(tg_strbuf *out, const char *s, size_t n)
{
    int quote = 0;

    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        tg_strbuf_put(out, s, n);
        return;
    }
    tg_strbuf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            tg_strbuf_putc(out, '"');
        tg_strbuf_putc(out, s[i]);
    }
    tg_strbuf_putc(out, '"');
}

/* Each section: a line "# <key>: <title>", the header, the rows, a blank
 * line. */
static void render_csv(const json_t *m, tg_strbuf *out)
{
    for (size_t s = 0; s < tg_report_n_sections(); s++) {
        const tg_report_section *sec = &sections[s];
        const json_t *rows = json_object_get(m, sec->key), *row;
        size_t i;

        tg_strbuf_printf(out, "# %s: %s\r\n", sec->key, sec->title);
        for (size_t c = 0; sec->columns[c]; c++)
            tg_strbuf_printf(out, "%s%s", c ? "," : "", sec->columns[c]);
        LIT(out, "\r\n");
        json_array_foreach(rows, i, row)
        {
            for (size_t c = 0; sec->columns[c]; c++) {
                tg_strbuf t = {0};
                if (c)
                    tg_strbuf_putc(out, ',');
                tg_report__cell_text(json_object_get(row, sec->columns[c]), &t);
                csv_field(out, t.p ? t.p : "", t.len);
                free(t.p);
            }
            LIT(out, "\r\n");
        }
        LIT(out, "\r\n");
    }
}

/* ---- HTML --------------------------------------------------------------------- */

static void html_text(tg_strbuf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<':
            LIT(out, "&lt;");
            break;
        case '>':
            LIT(out, "&gt;");
            break;
        case '&':
            LIT(out, "&amp;");
            break;
        case '"':
            LIT(out, "&quot;");
            break;
        default:
            tg_strbuf_putc(out, s[i]);
        }
    }
}

static void html_str(tg_strbuf *out, const char *s)
{
    html_text(out, s ? s : "", s ? strlen(s) : 0);
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>tollgate audit report</title>\n<style>\n"
    "body{font:13px/1.4 sans-serif;margin:2em;color:#111}\n"
    "h1{font-size:20px}h2{font-size:15px;margin-top:2em;border-bottom:1px solid #999}\n"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}\n"
    "th,td{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top}\n"
    "th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.h{font-family:monospace;font-size:11px;word-break:break-all}\n"
    "pre{margin:0;font-size:11px;white-space:pre-wrap}\n"
    "p.meta{color:#444}p.empty{color:#666;font-style:italic}\n"
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{margin:0;font-size:10px}h2{break-after:avoid}"
    "tr{break-inside:avoid}thead{display:table-header-group}}\n"
    "</style></head><body>\n";

static int is_hash_col(const char *c)
{
    return strcmp(c, "checkpoint_root") == 0 || strcmp(c, "version") == 0 ||
           strcmp(c, "changed_from") == 0 || strcmp(c, "checkpoint_origin") == 0;
}

static void render_html(const json_t *m, tg_strbuf *out)
{
    const json_t *meta = json_object_get(m, "report");

    tg_strbuf_put(out, html_head, sizeof(html_head) - 1);
    LIT(out, "<h1>tollgate audit report</h1>\n<p class=\"meta\">Period ");
    html_str(out, json_string_value(json_object_get(meta, "from")));
    LIT(out, " to ");
    html_str(out, json_string_value(json_object_get(meta, "to")));
    LIT(out, " (end exclusive, UTC). Generated ");
    html_str(out, json_string_value(json_object_get(meta, "generated")));
    LIT(out, ". Every figure names the signed checkpoint (origin, tree size, root "
             "hash) of the transparency log it was counted from.</p>\n");
    for (size_t s = 0; s < tg_report_n_sections(); s++) {
        const tg_report_section *sec = &sections[s];
        const json_t *rows = json_object_get(m, sec->key), *row;
        size_t i;

        tg_strbuf_printf(out, "<h2 id=\"%s\">", sec->key);
        html_str(out, sec->title);
        LIT(out, "</h2>\n");
        if (json_array_size(rows) == 0) {
            LIT(out, "<p class=\"empty\">None in this period.</p>\n");
            continue;
        }
        LIT(out, "<table><thead><tr>");
        for (size_t c = 0; sec->columns[c]; c++) {
            LIT(out, "<th>");
            html_str(out, sec->columns[c]);
            LIT(out, "</th>");
        }
        LIT(out, "</tr></thead><tbody>\n");
        json_array_foreach(rows, i, row)
        {
            LIT(out, "<tr>");
            for (size_t c = 0; sec->columns[c]; c++) {
                const json_t *v = json_object_get(row, sec->columns[c]);
                tg_strbuf t = {0};
                tg_report__cell_text(v, &t);
                if (json_is_integer(v))
                    LIT(out, "<td class=\"n\">");
                else if (is_hash_col(sec->columns[c]))
                    LIT(out, "<td class=\"h\">");
                else
                    LIT(out, "<td>");
                if (strcmp(sec->columns[c], "diff") == 0 && t.len) {
                    LIT(out, "<pre>");
                    html_text(out, t.p, t.len);
                    LIT(out, "</pre>");
                } else {
                    html_text(out, t.p ? t.p : "", t.len);
                }
                free(t.p);
                LIT(out, "</td>");
            }
            LIT(out, "</tr>\n");
        }
        LIT(out, "</tbody></table>\n");
    }
    LIT(out, "</body></html>\n");
}

int tg_report_render(const json_t *m, enum tg_report_format f, tg_strbuf *out, char *err,
                     size_t errlen)
{
    char *s;

    switch (f) {
    case TG_REPORT_JSON:
        if (!(s = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
            return TG_ENOMEM;
        tg_strbuf_put(out, s, strlen(s));
        tg_strbuf_putc(out, '\n');
        free(s);
        break;
    case TG_REPORT_CSV:
        render_csv(m, out);
        break;
    case TG_REPORT_HTML:
        render_html(m, out);
        break;
    case TG_REPORT_PDF:
        return tg_report__render_pdf(m, out, err, errlen);
    }
    return out->oom ? TG_ENOMEM : 0;
}
