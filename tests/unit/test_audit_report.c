/* The audit report (report/): the model's counts from leaves built here
 * (egress, kept local, queries by user and role, the period's edges,
 * policy versions and their diff, the Art. 30 transfers), the line diff,
 * the audit: config section, and each renderer's output (JSON and CSV
 * parse back, the PDF is a PDF cairo wrote without error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_audit_report.h"
#include "tg_err.h"
#include "tollgate/v1/forward.pb-c.h"

#define SEC 1000000000ull
#define T0 (1800000000ull * SEC) /* the period's start */

typedef struct cnt {
    const char *cls, *action;
    uint64_t n;
} cnt;

/* Adds one EgressRecord leaf to the report's current site. */
static void leaf(tg_report *r, const char *event, const char *dest, uint64_t t_ns,
                 const char *version, const cnt *c, size_t n, const char *requester,
                 const char *view)
{
    Tollgate__V1__EgressRecord e = TOLLGATE__V1__EGRESS_RECORD__INIT;
    Tollgate__V1__ClassActionCount cv[8], *cp[8];
    uint8_t buf[4096];
    size_t len;

    for (size_t i = 0; i < n; i++) {
        tollgate__v1__class_action_count__init(&cv[i]);
        cv[i].data_class = (char *)c[i].cls;
        cv[i].action = (char *)c[i].action;
        cv[i].count = c[i].n;
        cp[i] = &cv[i];
    }
    e.event = (char *)event;
    e.destination = (char *)dest;
    e.time_unix_nano = t_ns;
    e.policy_version = (char *)version;
    e.counts = cp;
    e.n_counts = n;
    e.requester = (char *)(requester ? requester : "");
    e.view = (char *)(view ? view : "");
    e.query_kind = (char *)(requester ? "trace" : "");
    e.records = requester ? 3 : 10;
    len = tollgate__v1__egress_record__pack(&e, buf);
    assert_int_equal(tg_report_add_leaf(r, buf, len), 0);
}

static const json_t *row_where(const json_t *arr, const char *k1, const char *v1,
                               const char *k2, const char *v2)
{
    size_t i;
    const json_t *row;

    json_array_foreach(arr, i, row)
    {
        const char *a = json_string_value(json_object_get(row, k1));
        const char *b = k2 ? json_string_value(json_object_get(row, k2)) : NULL;
        if (a && !strcmp(a, v1) && (!k2 || (b && !strcmp(b, v2))))
            return row;
    }
    return NULL;
}

static long long ival(const json_t *row, const char *k)
{
    assert_non_null(row);
    assert_true(json_is_integer(json_object_get(row, k)));
    return (long long)json_integer_value(json_object_get(row, k));
}

static const char *V1 = "sha256:aaaa", *V2 = "sha256:bbbb";

/* A report with one EU site, two destinations (one in the US), two policy
 * versions with texts, and leaves before, in and after the period. */
static json_t *build_fixture(void)
{
    tg_report *r = tg_report_new(T0, T0 + 86400 * SEC);
    tg_report_site s = {.name = "fra",
                        .origin = "tollgate.site/fra",
                        .tree_size = 7,
                        .root = "ROOT=",
                        .verified = 1,
                        .verify_result = "intact",
                        .witness = "",
                        .region = "EU",
                        .country = "DE"};
    tg_report_class email = {"pii.email", "e-mail address", "GDPR Art. 4(1)",
                             "GDPR Art. 6(1)(f)", 90 * 86400};
    tg_report_class mrn = {"phi.mrn", "medical record number", "HIPAA 164.514",
                           "HIPAA 164.506(c)", 0};
    tg_report_destination central = {"central", "DE", "EU", "operations"};
    tg_report_destination us = {"cloud-us", "US", "US", "inference monitoring"};
    tg_report_config cfg;
    const cnt b1[] = {{"pii.email", "hash", 5},
                      {"phi.mrn", "keep-local", 2},
                      {"unclassified", "pass", 9}};
    const cnt b2[] = {{"pii.email", "hash", 3}, {"pii.email", "pass", 1}};
    const cnt q1[] = {{"pii.email", "hash", 4}};
    static const char t1[] = "version: 1\nclasses:\n  pii.email:\n    retention: 90d\n";
    static const char t2[] = "version: 1\nclasses:\n  pii.email:\n    retention: 30d\n";
    json_t *m;

    assert_non_null(r);
    tg_report_set_generated(r, T0 + 2 * 86400 * SEC);
    tg_report_config_defaults(&cfg);
    snprintf(cfg.controller, sizeof(cfg.controller), "ACME GmbH, Berlin");
    snprintf(cfg.transfers[0], sizeof(cfg.transfers[0]),
             "cloud-us: SCC 2021/914 module 1");
    cfg.n_transfers = 1;
    tg_report_set_config(r, &cfg);
    assert_int_equal(tg_report_add_class(r, &email), 0);
    assert_int_equal(tg_report_add_class(r, &mrn), 0);
    assert_int_equal(tg_report_add_destination(r, &central), 0);
    assert_int_equal(tg_report_add_destination(r, &us), 0);
    assert_int_equal(tg_report_add_policy_text(r, V1, t1, sizeof(t1) - 1), 0);
    assert_int_equal(tg_report_add_policy_text(r, V2, t2, sizeof(t2) - 1), 0);
    assert_int_equal(tg_report_add_leaf(r, (const uint8_t *)"x", 1) == 0,
                     0); /* no site */
    assert_int_equal(tg_report_add_site(r, &s), 0);
    /* before the period: only sets the version in force at its start */
    leaf(r, "egress", "central", T0 - SEC, V1, b1, 3, NULL, NULL);
    leaf(r, "egress", "central", T0 + SEC, V1, b1, 3, NULL, NULL);
    leaf(r, "egress", "central", T0 + 2 * SEC, V2, b2, 2, NULL, NULL);
    leaf(r, "query", "central (user alice, role sre)", T0 + 3 * SEC, V2, q1, 1,
         "central (user alice, role sre)", "central");
    leaf(r, "query", "central (user alice, role sre)", T0 + 4 * SEC, V2, q1, 1,
         "central (user alice, role sre)", "central");
    leaf(r, "shed", "central", T0 + 5 * SEC, V2, NULL, 0, NULL, NULL);
    /* at the period's (exclusive) end: not counted */
    leaf(r, "egress", "central", T0 + 86400 * SEC, V2, b1, 3, NULL, NULL);
    assert_int_equal(tg_report_add_leaf(r, (const uint8_t *)"\xff\xff\xff", 3),
                     TG_EPARSE);
    m = tg_report_build(r);
    tg_report_free(r);
    assert_non_null(m);
    return m;
}

static void test_counts(void **state)
{
    json_t *m = build_fixture();
    const json_t *eg = json_object_get(m, "egress"),
                 *kl = json_object_get(m, "kept_local");
    const json_t *row;

    (void)state;
    /* 5 + 3 hashed e-mails in the period; the leaf before and the one at
     * the end are not counted */
    row = row_where(eg, "data_class", "pii.email", "action", "hash");
    assert_int_equal(ival(row, "values"), 8);
    assert_string_equal(json_string_value(json_object_get(row, "legal_basis")),
                        "GDPR Art. 6(1)(f)");
    assert_string_equal(json_string_value(json_object_get(row, "regulation")),
                        "GDPR Art. 4(1)");
    assert_string_equal(json_string_value(json_object_get(row, "checkpoint_origin")),
                        "tollgate.site/fra");
    assert_int_equal(ival(row, "checkpoint_size"), 7);
    assert_int_equal(
        ival(row_where(eg, "data_class", "pii.email", "action", "pass"), "values"), 1);
    assert_int_equal(
        ival(row_where(eg, "data_class", "phi.mrn", "action", "keep-local"), "values"),
        2);
    /* kept local: every action but pass */
    assert_int_equal(ival(row_where(kl, "data_class", "pii.email", NULL, NULL), "values"),
                     8);
    assert_int_equal(ival(row_where(kl, "data_class", "phi.mrn", NULL, NULL), "values"),
                     2);
    assert_null(row_where(kl, "data_class", "unclassified", NULL, NULL));
    /* queries by user and role */
    row = row_where(json_object_get(m, "queries"), "user", "alice", "role", "sre");
    assert_int_equal(ival(row, "queries"), 2);
    assert_int_equal(ival(row, "records"), 6);
    assert_int_equal(ival(row, "values_changed"), 8);
    assert_string_equal(json_string_value(json_object_get(row, "client")), "central");
    /* the site row */
    row = row_where(json_object_get(m, "sites"), "site", "fra", NULL, NULL);
    assert_int_equal(ival(row, "leaves"), 7);
    assert_int_equal(ival(row, "leaves_in_period"), 5);
    assert_int_equal(ival(row, "batches"), 2);
    assert_int_equal(ival(row, "shed"), 1);
    /* retention: no "retention" leaf, so nothing deleted, said in one row
     * that names the checkpoint (the store's own counters, which no
     * checkpoint covers, are not read) */
    row = json_object_get(m, "retention");
    assert_int_equal(json_array_size(row), 1);
    row = json_array_get(row, 0);
    assert_string_equal(json_string_value(json_object_get(row, "data_class")),
                        "(all classes)");
    assert_int_equal(ival(row, "records_deleted"), 0);
    assert_int_equal(ival(row, "leaves"), 0);
    assert_int_equal(ival(row, "checkpoint_size"), 7);
    assert_non_null(strstr(json_string_value(json_object_get(row, "source")),
                           "checkpoint of size 7 records no deletion"));
    json_decref(m);
}

static void retention_leaf(tg_report *r, uint64_t from_ns, uint64_t t_ns, const cnt *c,
                           size_t n)
{
    Tollgate__V1__EgressRecord e = TOLLGATE__V1__EGRESS_RECORD__INIT;
    Tollgate__V1__ClassActionCount cv[8], *cp[8];
    uint8_t buf[4096];

    for (size_t i = 0; i < n; i++) {
        tollgate__v1__class_action_count__init(&cv[i]);
        cv[i].data_class = (char *)c[i].cls;
        cv[i].action = (char *)c[i].action;
        cv[i].count = c[i].n;
        cp[i] = &cv[i];
        e.records += c[i].n;
    }
    e.event = "retention";
    e.destination = "local store";
    e.window_start_unix_nano = from_ns;
    e.window_end_unix_nano = t_ns;
    e.time_unix_nano = t_ns;
    e.counts = cp;
    e.n_counts = n;
    assert_int_equal(
        tg_report_add_leaf(r, buf, tollgate__v1__egress_record__pack(&e, buf)), 0);
}

/* Retention figures come from the log's "retention" leaves in the period,
 * each row naming its leaves and the checkpoint that covers them. */
static void test_retention_from_leaves(void **state)
{
    tg_report *r = tg_report_new(T0, T0 + 86400 * SEC);
    tg_report_site s = {.name = "fra",
                        .origin = "tollgate.site/fra",
                        .tree_size = 5,
                        .root = "ROOT=",
                        .verified = 1,
                        .verify_result = "intact",
                        .witness = "",
                        .region = "EU",
                        .country = "DE"};
    const cnt b1[] = {{"pii.email", "hash", 5}};
    const cnt r0[] = {{"pii.email", "expire", 100}};
    const cnt r1[] = {{"pii.email", "expire", 12}, {"(store limits)", "evict", 5}};
    const cnt r2[] = {{"pii.email", "expire", 3}, {"pii.ip", "expire", 30}};
    const cnt r3[] = {{"pii.ip", "expire", 7}};
    const json_t *ret, *row;
    json_t *m;

    (void)state;
    assert_int_equal(tg_report_add_site(r, &s), 0);
    retention_leaf(r, T0 - 20 * SEC, T0 - 10 * SEC, r0, 1); /* leaf 0: before */
    leaf(r, "egress", "central", T0 + SEC, V1, b1, 1, NULL, NULL);
    retention_leaf(r, T0 - 10 * SEC, T0 + 10 * SEC, r1, 2);    /* leaf 2 */
    retention_leaf(r, T0 + 10 * SEC, T0 + 20 * SEC, r2, 2);    /* leaf 3 */
    retention_leaf(r, T0 + 20 * SEC, T0 + 86400 * SEC, r3, 1); /* leaf 4: at the end */
    m = tg_report_build(r);
    tg_report_free(r);
    assert_non_null(m);
    ret = json_object_get(m, "retention");
    assert_int_equal(json_array_size(ret), 4);
    row = row_where(ret, "data_class", "pii.email", "action", "expire");
    assert_int_equal(ival(row, "records_deleted"), 15);
    assert_int_equal(ival(row, "leaves"), 2);
    assert_int_equal(ival(row, "first_leaf"), 2);
    assert_int_equal(ival(row, "last_leaf"), 3);
    assert_string_equal(json_string_value(json_object_get(row, "deleted_from")),
                        "2027-01-15T07:59:50Z");
    assert_string_equal(json_string_value(json_object_get(row, "deleted_to")),
                        "2027-01-15T08:00:20Z");
    assert_int_equal(ival(row, "checkpoint_size"), 5);
    assert_string_equal(json_string_value(json_object_get(row, "checkpoint_root")),
                        "ROOT=");
    assert_string_equal(json_string_value(json_object_get(row, "source")),
                        "retention leaves 2-3 of the site's log, covered by its signed "
                        "checkpoint of size 5");
    row = row_where(ret, "data_class", "pii.ip", NULL, NULL);
    assert_int_equal(ival(row, "records_deleted"), 30);
    assert_int_equal(ival(row, "first_leaf"), 3);
    row = row_where(ret, "data_class", "(store limits)", "action", "evict");
    assert_int_equal(ival(row, "records_deleted"), 5);
    row = row_where(ret, "data_class", "(all classes)", NULL, NULL);
    assert_int_equal(ival(row, "records_deleted"), 50);
    assert_int_equal(ival(row, "leaves"), 2);
    assert_int_equal(ival(row, "checkpoint_size"), 5);
    assert_non_null(
        strstr(json_string_value(json_object_get(row, "source")), "leaves 2-3"));
    json_decref(m);
}

static void test_versions_and_art30(void **state)
{
    json_t *m = build_fixture();
    const json_t *pv = json_object_get(m, "policy_versions");
    const json_t *a30 = json_object_get(m, "art30"), *row;
    const char *d, *v;

    (void)state;
    assert_int_equal(json_array_size(pv), 2);
    row = row_where(pv, "version", V1, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(row, "in_force_from")),
                        "2027-01-15T08:00:00Z");
    assert_string_equal(json_string_value(json_object_get(row, "diff")), "");
    row = row_where(pv, "version", V2, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(row, "changed_from")), V1);
    assert_string_equal(json_string_value(json_object_get(row, "in_force_from")),
                        "2027-01-15T08:00:02Z");
    d = json_string_value(json_object_get(row, "diff"));
    assert_non_null(strstr(d, "-     retention: 90d\n+     retention: 30d\n"));
    /* the transfer to the US destination names its safeguard; the EU one is no transfer
     */
    v = json_string_value(
        json_object_get(row_where(a30, "field",
                                  "Transfers to third countries and safeguards "
                                  "(Art. 30(1)(e), Art. 46)",
                                  NULL, NULL),
                        "value"));
    assert_string_equal(v, "cloud-us (US): SCC 2021/914 module 1");
    v = json_string_value(json_object_get(
        row_where(a30, "field", "Time limits for erasure (Art. 30(1)(f))", NULL, NULL),
        "value"));
    assert_non_null(strstr(v, "pii.email: 90 days"));
    assert_non_null(strstr(v, "phi.mrn: the store's limits"));
    json_decref(m);
}

static void test_diff(void **state)
{
    static const char a[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\n",
                      b[] = "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\n";
    tg_strbuf out = {0};

    (void)state;
    assert_int_equal(tg_report_diff(a, sizeof(a) - 1, a, sizeof(a) - 1, 1, &out), 0);
    assert_null(out.p);
    assert_int_equal(tg_report_diff(a, sizeof(a) - 1, b, sizeof(b) - 1, 1, &out), 0);
    assert_string_equal(out.p, "  ... (3 unchanged lines)\n"
                               "  d\n"
                               "- e\n"
                               "+ E\n"
                               "  f\n"
                               "  ... (2 unchanged lines)\n"
                               "  i\n"
                               "+ j\n");
    free(out.p);
}

static void test_config(void **state)
{
    static const char good[] =
        "site: fra\naudit:\n  controller: ACME GmbH\n"
        "  transfers: [\"cloud-us: SCC\"]\n  purposes: [support]\n";
    static const char bad[] = "site: fra\naudit:\n  controler: ACME\n";
    static const char bad_type[] = "audit:\n  purposes: {a: b}\n";
    tg_report_config c;
    char err[512];

    (void)state;
    tg_report_config_defaults(&c);
    assert_int_equal(tg_report_config_load_buffer("t.yaml", good, sizeof(good) - 1, &c,
                                                  err, sizeof(err)),
                     0);
    assert_string_equal(c.controller, "ACME GmbH");
    assert_int_equal(c.n_transfers, 1);
    assert_string_equal(c.transfers[0], "cloud-us: SCC");
    assert_int_equal(c.n_purposes, 1);
    assert_int_equal(tg_report_config_load_buffer("t.yaml", bad, sizeof(bad) - 1, &c, err,
                                                  sizeof(err)),
                     TG_ECONFIG);
    assert_non_null(strstr(err, "t.yaml:3:3:"));
    assert_non_null(strstr(err, "controller")); /* the closest key is named */
    assert_int_equal(tg_report_config_load_buffer(
                         "t.yaml", bad_type, sizeof(bad_type) - 1, &c, err, sizeof(err)),
                     TG_ECONFIG);
    assert_non_null(strstr(err, "t.yaml:2:"));
    assert_string_equal(c.controller, "ACME GmbH"); /* a failed load changes nothing */
}

static void test_render_json_csv_html(void **state)
{
    json_t *m = build_fixture(), *back;
    tg_strbuf j = {0}, c = {0}, h = {0};
    char err[256];
    size_t sections = 0, rows_eg = 0;
    const char *p;

    (void)state;
    assert_int_equal(tg_report_render(m, TG_REPORT_JSON, &j, err, sizeof(err)), 0);
    back = json_loads(j.p, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, m));
    json_decref(back);

    assert_int_equal(tg_report_render(m, TG_REPORT_CSV, &c, err, sizeof(err)), 0);
    /* one table per section, each headed by "# key: title" and its columns */
    for (p = c.p; (p = strstr(p, "\r\n# ")) != NULL; p += 4)
        sections++;
    assert_int_equal(sections + 1, tg_report_n_sections());
    assert_true(strncmp(c.p, "# egress: ", 10) == 0);
    p = strstr(c.p, "\r\n") + 2;
    assert_true(strncmp(p, "site,destination,data_class,action,values,", 42) == 0);
    for (p = strstr(p, "\r\n") + 2; strncmp(p, "\r\n", 2) != 0; p = strstr(p, "\r\n") + 2)
        rows_eg++;
    assert_int_equal(rows_eg, json_array_size(json_object_get(m, "egress")));
    /* a field with a comma or newline is quoted (the diff has newlines) */
    assert_non_null(strstr(c.p, ",\"  version: 1\n"));
    assert_non_null(strstr(c.p, "fra,central,pii.email,hash,8,GDPR Art. 4(1),"));

    assert_int_equal(tg_report_render(m, TG_REPORT_HTML, &h, err, sizeof(err)), 0);
    assert_true(strncmp(h.p, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(h.p, "@media print"));
    assert_null(strstr(h.p, "http://"));
    assert_null(strstr(h.p, "https://"));
    assert_non_null(strstr(h.p, "<td class=\"n\">8</td>"));
    assert_non_null(strstr(h.p, "</html>"));
    free(j.p);
    free(c.p);
    free(h.p);
    json_decref(m);
}

static void test_render_pdf(void **state)
{
    json_t *m = build_fixture();
    tg_strbuf pdf = {0};
    char err[256] = "";
    enum tg_report_format f;

    (void)state;
    assert_int_equal(tg_report_format_parse("pdf", &f), 0);
    assert_int_equal(f, TG_REPORT_PDF);
    assert_int_equal(tg_report_format_parse("docx", &f), TG_EINVAL);
    assert_int_equal(tg_report_render(m, f, &pdf, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_true(pdf.len > 1000);
    assert_memory_equal(pdf.p, "%PDF-", 5);
    /* a whole file: it ends with the trailer's end-of-file marker */
    assert_non_null(memmem(pdf.p + pdf.len - 16, 16, "%%EOF", 5));
    free(pdf.p);
    json_decref(m);
}

/* Many rows break across pages; every page is finished. */
static void test_pdf_pages(void **state)
{
    tg_report *r = tg_report_new(T0, T0 + 86400 * SEC);
    tg_report_site s = {.name = "iad",
                        .origin = "tollgate.site/iad",
                        .tree_size = 1,
                        .root = "R=",
                        .verified = 0,
                        .verify_result = "leaf 3 changed",
                        .witness = "",
                        .region = "US",
                        .country = "US"};
    tg_strbuf pdf = {0};
    char err[256] = "", cls[32];
    size_t pages = 0;
    json_t *m;

    (void)state;
    assert_int_equal(tg_report_add_site(r, &s), 0);
    for (int i = 0; i < 300; i++) {
        cnt c = {cls, "redact", (uint64_t)i + 1};
        snprintf(cls, sizeof(cls), "pii.class_%03d", i);
        leaf(r, "egress", "central", T0 + SEC, "sha256:cc", &c, 1, NULL, NULL);
    }
    m = tg_report_build(r);
    tg_report_free(r);
    assert_int_equal(json_array_size(json_object_get(m, "egress")), 300);
    /* no retention leaf: the log covered by the checkpoint records none */
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(m, "retention"), 0), "records_deleted")),
        0);
    assert_int_equal(tg_report_render(m, TG_REPORT_PDF, &pdf, err, sizeof(err)), 0);
    /* page objects: "/Type /Page" not followed by "s" (the page tree) */
    for (const char *p = pdf.p;
         (p = memmem(p, pdf.len - (size_t)(p - pdf.p), "/Type /Page", 11)) != NULL; p++)
        pages += p[11] != 's';
    assert_true(pages >= 6);
    free(pdf.p);
    json_decref(m);
}

/* docs/audit.md holds the audit: key table as the code writes it. */
static void test_docs_reference(void **state)
{
    char *ref = NULL, *doc;
    size_t rlen = 0, dlen;
    FILE *f = open_memstream(&ref, &rlen);

    (void)state;
    assert_non_null(f);
    tg_report_config_write_reference(f);
    fclose(f);
    f = fopen(TG_SOURCE_DIR "/docs/audit.md", "rb");
    assert_non_null(f);
    doc = malloc(1 << 20);
    dlen = fread(doc, 1, (1 << 20) - 1, f);
    doc[dlen] = '\0';
    fclose(f);
    assert_non_null(strstr(doc, ref));
    free(doc);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_retention_from_leaves),
        cmocka_unit_test(test_versions_and_art30),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_render_json_csv_html),
        cmocka_unit_test(test_render_pdf),
        cmocka_unit_test(test_pdf_pages),
        cmocka_unit_test(test_docs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
