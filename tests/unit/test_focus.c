/* FOCUS 1.4 export: the column list checked against a table written here
 * from the 1.4 specification (column, type, null allowed, allowed values),
 * the rows' values, and the CSV read back by Python's csv module (a parser
 * that is not ours). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_focus.h"

#define SERVICE_CATEGORIES                                                               \
    "AI and Machine Learning|Analytics|Business Applications|Compute|Databases|"         \
    "Developer Tools|Multicloud|Identity|Integration|Internet of Things|Management and " \
    "Governance|Media|Migration|Mobile|Networking|Security|Storage|Web|Other"

/* From the FOCUS 1.4 Cost and Usage dataset: Dec = Decimal, Str = String,
 * DT = Date/Time (YYYY-MM-DDTHH:mm:ssZ). */
static const struct {
    const char *name;
    enum tg_focus_type type;
    int nullable;
    const char *allowed;
} spec[] = {
    {"BilledCost", TG_FOCUS_DECIMAL, 0, NULL},
    {"EffectiveCost", TG_FOCUS_DECIMAL, 0, NULL},
    {"ListCost", TG_FOCUS_DECIMAL, 0, NULL},
    {"ContractedCost", TG_FOCUS_DECIMAL, 0, NULL},
    {"ListUnitPrice", TG_FOCUS_DECIMAL, 1, NULL},
    {"ContractedUnitPrice", TG_FOCUS_DECIMAL, 1, NULL},
    {"BillingAccountId", TG_FOCUS_STRING, 0, NULL},
    {"BillingCurrency", TG_FOCUS_STRING, 0, NULL},
    {"BillingPeriodStart", TG_FOCUS_DATETIME, 0, NULL},
    {"BillingPeriodEnd", TG_FOCUS_DATETIME, 0, NULL},
    {"ChargeCategory", TG_FOCUS_STRING, 0, "Usage|Purchase|Tax|Credit|Adjustment"},
    {"ChargeClass", TG_FOCUS_STRING, 1, "Correction"},
    {"ChargeDescription", TG_FOCUS_STRING, 1, NULL},
    {"ChargeFrequency", TG_FOCUS_STRING, 0, "One-Time|Recurring|Usage-Based"},
    {"ChargePeriodStart", TG_FOCUS_DATETIME, 0, NULL},
    {"ChargePeriodEnd", TG_FOCUS_DATETIME, 0, NULL},
    {"CommitmentDiscountStatus", TG_FOCUS_STRING, 1, "Used|Unused"},
    {"ConsumedQuantity", TG_FOCUS_DECIMAL, 1, NULL},
    {"ConsumedUnit", TG_FOCUS_STRING, 1, NULL},
    {"HostProviderName", TG_FOCUS_STRING, 0, NULL},
    {"InvoiceIssuerName", TG_FOCUS_STRING, 0, NULL},
    {"PricingCategory", TG_FOCUS_STRING, 1, "Standard|Dynamic|Committed|Other"},
    {"PricingQuantity", TG_FOCUS_DECIMAL, 1, NULL},
    {"PricingUnit", TG_FOCUS_STRING, 1, NULL},
    {"RegionId", TG_FOCUS_STRING, 1, NULL},
    {"ResourceId", TG_FOCUS_STRING, 1, NULL},
    {"ServiceCategory", TG_FOCUS_STRING, 0, SERVICE_CATEGORIES},
    {"ServiceName", TG_FOCUS_STRING, 0, NULL},
    {"ServiceProviderName", TG_FOCUS_STRING, 0, NULL},
    {"SkuId", TG_FOCUS_STRING, 1, NULL},
    {"SkuMeter", TG_FOCUS_STRING, 1, NULL},
    {"Tags", TG_FOCUS_JSON, 1, NULL},
};

static void test_columns_match_spec(void **state)
{
    size_t n, nspec = sizeof(spec) / sizeof(spec[0]);
    const tg_focus_column *c = tg_focus_columns(&n);
    (void)state;
    for (size_t i = 0; i < nspec; i++) {
        size_t j = 0;
        while (j < n && strcmp(c[j].name, spec[i].name) != 0)
            j++;
        if (j == n)
            fail_msg("FOCUS column %s is missing", spec[i].name);
        if (c[j].type != spec[i].type || c[j].nullable != spec[i].nullable)
            fail_msg("%s: type %d nullable %d, want %d %d", spec[i].name, c[j].type,
                     c[j].nullable, spec[i].type, spec[i].nullable);
        if ((c[j].allowed == NULL) != (spec[i].allowed == NULL) ||
            (c[j].allowed && strcmp(c[j].allowed, spec[i].allowed) != 0))
            fail_msg("%s: allowed values differ", spec[i].name);
    }
    /* every other column is ours, prefixed x_; 1.4's removed columns are gone */
    for (size_t j = 0; j < n; j++) {
        int known = 0;
        for (size_t i = 0; i < nspec; i++)
            known |= strcmp(c[j].name, spec[i].name) == 0;
        if (!known && strncmp(c[j].name, "x_", 2) != 0)
            fail_msg("column %s is neither FOCUS 1.4 nor x_", c[j].name);
        assert_string_not_equal(c[j].name, "ProviderName");
        assert_string_not_equal(c[j].name, "PublisherName");
    }
    for (const char *x = "x_Site\0x_Jurisdiction\0x_CostModel\0x_Team\0x_Model\0x_Run\0";
         *x; x += strlen(x) + 1) {
        size_t j = 0;
        while (j < n && strcmp(c[j].name, x) != 0)
            j++;
        if (j == n)
            fail_msg("column %s is missing", x);
    }
}

static tg_focus_row onprem_row(void)
{
    tg_focus_row r = {0};
    r.charge_start = 1772359200; /* 2026-03-01T10:00:00Z */
    r.charge_end = r.charge_start + 3600;
    r.billed = 0;
    r.effective = r.list = r.contracted = 11500000;
    r.has_quantities = 1;
    r.consumed_micro = 3600LL * 1000000;
    r.pricing_micro = 1000000;
    r.consumed_unit = "s";
    r.pricing_unit = "GPU-hour";
    r.currency = "EUR";
    r.service_provider = "ACME IT";
    r.service_name = "train, \"big\" one"; /* a comma and quotes, for the CSV */
    r.service_category = "AI and Machine Learning";
    r.sku_meter = "gpu-seconds";
    r.site = "fra";
    r.jurisdiction = "DE";
    r.cost_model = "amortised";
    r.team = "ml";
    r.model = "llama-3";
    r.run = "r1";
    return r;
}

static void test_row_values(void **state)
{
    tg_strbuf b = {0};
    tg_focus_row r = onprem_row();
    char dt[32];
    (void)state;
    tg_focus_datetime(r.charge_start, dt, sizeof dt);
    assert_string_equal(dt, "2026-03-01T10:00:00Z");
    tg_focus_json_row(&b, &r);
    assert_false(b.oom);
    assert_non_null(strstr(b.p, "\"BilledCost\":\"0.000000\""));
    assert_non_null(strstr(b.p, "\"EffectiveCost\":\"11.500000\""));
    assert_non_null(strstr(b.p, "\"BillingPeriodStart\":\"2026-03-01T00:00:00Z\""));
    assert_non_null(strstr(b.p, "\"BillingPeriodEnd\":\"2026-04-01T00:00:00Z\""));
    assert_non_null(strstr(b.p, "\"ChargeClass\":null"));
    assert_non_null(strstr(b.p, "\"HostProviderName\":\"ACME IT\""));
    assert_non_null(strstr(b.p, "\"x_Workload\":\"usage\""));
    assert_non_null(strstr(b.p, "\"ServiceName\":\"train, \\\"big\\\" one\""));
    free(b.p);
}

/* Python's csv module reads the file back; the script checks the header,
 * nullability and allowed values from the column list, and prints cells
 * for the C side to compare. */
static const char checker[] =
    "import csv,sys\n"
    "spec={}\n"
    "for l in open(sys.argv[2]):\n"
    "  k,nul,allowed=l.rstrip('\\n').split('\\t')\n"
    "  spec[k]=(nul,allowed)\n"
    "rows=list(csv.DictReader(open(sys.argv[1],newline='')))\n"
    "for r in rows:\n"
    "  for k,(nul,allowed) in spec.items():\n"
    "    v=r[k]\n"
    "    if v=='' and nul=='0': sys.exit('null in '+k)\n"
    "    if v!='' and allowed and v not in allowed.split('|'): sys.exit(k+' '+v)\n"
    "print(len(rows), rows[0]['ServiceName'], rows[0]['EffectiveCost'], "
    "rows[1]['x_Workload'],\n"
    "      rows[1]['ServiceName'], rows[0]['ChargePeriodEnd'], sep='|')\n";

static void test_csv_read_by_python(void **state)
{
    char csvp[] = "/tmp/tg_focus_csvXXXXXX", specp[] = "/tmp/tg_focus_specXXXXXX";
    char pyp[] = "/tmp/tg_focus_pyXXXXXX", cmd[512], out[512] = "";
    int fd1 = mkstemp(csvp), fd2 = mkstemp(specp), fd3 = mkstemp(pyp);
    tg_strbuf b = {0};
    tg_focus_row r = onprem_row(), idle = onprem_row();
    size_t n;
    const tg_focus_column *c = tg_focus_columns(&n);
    FILE *f, *p;
    (void)state;
    assert_true(fd1 >= 0 && fd2 >= 0 && fd3 >= 0);
    idle.service_name = NULL;
    idle.team = idle.model = idle.run = NULL;
    idle.workload = "__idle__";
    idle.has_quantities = 0;
    tg_focus_csv_header(&b);
    tg_focus_csv_row(&b, &r);
    tg_focus_csv_row(&b, &idle);
    assert_false(b.oom);
    assert_int_equal(write(fd1, b.p, b.len), (ssize_t)b.len);
    close(fd1);
    f = fdopen(fd2, "w");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\t%d\t%s\n", c[i].name, c[i].nullable,
                c[i].allowed ? c[i].allowed : "");
    fclose(f);
    assert_int_equal(write(fd3, checker, strlen(checker)), (ssize_t)strlen(checker));
    close(fd3);
    snprintf(cmd, sizeof cmd, "python3 %s %s %s 2>&1", pyp, csvp, specp);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(out, sizeof out, p))
        out[0] = 0;
    assert_int_equal(pclose(p), 0);
    assert_string_equal(
        out,
        "2|train, \"big\" one|11.500000|__idle__|unattributed|2026-03-01T11:00:00Z\n");
    unlink(csvp);
    unlink(specp);
    unlink(pyp);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_match_spec),
        cmocka_unit_test(test_row_values),
        cmocka_unit_test(test_csv_read_by_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
