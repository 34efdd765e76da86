/* `tollgate central export`: every record the centre holds, decompressed,
 * one JSON object per line, so anyone can audit what left the sites.
 *
 * Order: sites; then each site's batches in sequence order, each batch
 * line followed by its span summaries, metric points and shed notices;
 * then RED rows, log templates and cost records (merged per key). Cost
 * records carry FOCUS column names. 64-bit times are decimal strings, ids
 * are hex, as in OTLP/JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_arena.h"
#include "tg_central.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_exphist.h"
#include "tg_wire.h"

typedef struct exp_ctx {
    FILE *out;
    int err;
    uint64_t lines;
} exp_ctx;

static int emit(exp_ctx *x, json_t *o)
{
    char *s;

    if (!o) {
        x->err = TG_ENOMEM;
        return 1;
    }
    s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!s) {
        x->err = TG_ENOMEM;
        return 1;
    }
    if (fputs(s, x->out) < 0 || fputc('\n', x->out) < 0)
        x->err = TG_EIO;
    free(s);
    x->lines++;
    return x->err != 0;
}

static json_t *u64s(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    return json_string(b);
}

/* Counters and sequences are unsigned 64-bit: a number while JSON readers
 * (and jansson) hold it exactly, its decimal string beyond INT64_MAX, never
 * a negative number. */
static json_t *ju64(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : u64s(v);
}

static json_t *hex(const ProtobufCBinaryData *d)
{
    char b[129];
    if (d->len > 64)
        return json_string("");
    tg_hex_encode(d->data, d->len, b);
    return json_string(b);
}

static json_t *iso(int64_t unix_s)
{
    char b[32];
    time_t t = (time_t)unix_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(b);
}

static json_t *kvs(Tollgate__V1__KeyValue **kv, size_t n)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < n; i++) {
        json_t *v;
        switch (kv[i]->value_case) {
        case TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE:
            v = json_string(kv[i]->string_value);
            break;
        case TOLLGATE__V1__KEY_VALUE__VALUE_INT_VALUE:
            v = json_integer(kv[i]->int_value);
            break;
        case TOLLGATE__V1__KEY_VALUE__VALUE_DOUBLE_VALUE:
            v = json_real(kv[i]->double_value);
            break;
        case TOLLGATE__V1__KEY_VALUE__VALUE_BOOL_VALUE:
            v = json_boolean(kv[i]->bool_value);
            break;
        default:
            v = json_null();
        }
        json_object_set_new(o, kv[i]->key, v);
    }
    return o;
}

static json_t *exphist_json(const Tollgate__V1__ExpHistogram *pb)
{
    json_t *o = json_object(), *counts = json_array();
    tg_exphist h;

    if (!pb || !o || !counts) {
        json_decref(o);
        json_decref(counts);
        return json_null();
    }
    for (size_t i = 0; i < pb->n_counts; i++)
        json_array_append_new(counts, ju64(pb->counts[i]));
    json_object_set_new(o, "scale", json_integer(pb->scale));
    json_object_set_new(o, "zeroCount", ju64(pb->zero_count));
    json_object_set_new(o, "offset", json_integer(pb->offset));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "count", ju64(pb->count));
    json_object_set_new(o, "sum", json_real(pb->sum));
    json_object_set_new(o, "min", json_real(pb->min));
    json_object_set_new(o, "max", json_real(pb->max));
    if (tg_exphist_from_pb(pb, &h) == 0) {
        json_object_set_new(o, "p50", json_real(tg_exphist_quantile(&h, 0.5)));
        json_object_set_new(o, "p95", json_real(tg_exphist_quantile(&h, 0.95)));
        json_object_set_new(o, "p99", json_real(tg_exphist_quantile(&h, 0.99)));
    }
    return o;
}

static const char *metric_type(Tollgate__V1__MetricPoint__Type t)
{
    switch (t) {
    case TOLLGATE__V1__METRIC_POINT__TYPE__GAUGE:
        return "gauge";
    case TOLLGATE__V1__METRIC_POINT__TYPE__SUM:
        return "sum";
    case TOLLGATE__V1__METRIC_POINT__TYPE__HISTOGRAM:
        return "histogram";
    case TOLLGATE__V1__METRIC_POINT__TYPE__EXPONENTIAL_HISTOGRAM:
        return "exponential_histogram";
    case TOLLGATE__V1__METRIC_POINT__TYPE__SUMMARY:
        return "summary";
    default:
        return "unknown";
    }
}

static int on_site(void *ctx, const Tollgate__V1__CentralSite *s)
{
    exp_ctx *x = ctx;
    const Tollgate__V1__SiteHealth *h = s->health;
    char epoch[33] = "";
    json_t *o;

    if (s->epoch.len == 16)
        tg_hex_encode(s->epoch.data, 16, epoch);
    o = json_pack(
        "{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "type", "site",
        "site", s->name, "epoch", epoch, "lastSequence", ju64(s->last_sequence),
        "firstContactUnixNano", u64s(s->first_contact_unix_nano), "lastContactUnixNano",
        u64s(s->last_contact_unix_nano), "batches", ju64(s->batches), "duplicates",
        ju64(s->duplicates), "gaps", ju64(s->gaps), "epochs", ju64(s->epochs),
        "sourceCursor", ju64(s->source_cursor), "refusedOldEpoch",
        ju64(s->refused_old_epoch), "refusedAhead", ju64(s->refused_ahead),
        "protocolVersion", (json_int_t)s->protocol_version);
    if (o && h) {
        json_object_set_new(o, "softwareVersion", json_string(h->software_version));
        json_object_set_new(o, "policyVersion", json_string(h->policy_version));
        json_object_set_new(o, "jurisdiction", json_string(h->jurisdiction));
    }
    return emit(x, o);
}

typedef struct batch_ctx {
    exp_ctx *x;
} batch_ctx;

static int on_batch(void *ctx, const char *site, uint64_t seq,
                    const Tollgate__V1__CentralBatchHeader *hd, const uint8_t *z,
                    size_t zlen)
{
    exp_ctx *x = ctx;
    Tollgate__V1__Batch *b;
    tg_arena a;
    json_t *o;
    int rc;

    tg_arena_init(&a, 256 * 1024, 0);
    rc = tg_wire_unpack_batch(z, zlen, (size_t)1 << 30, &a, &b, NULL);
    o = json_object();
    json_object_set_new(o, "type", json_string("batch"));
    json_object_set_new(o, "site", json_string(site));
    json_object_set_new(o, "seq", ju64(seq));
    if (hd->epoch.len == 16)
        json_object_set_new(o, "epoch", hex(&hd->epoch));
    json_object_set_new(o, "receivedUnixNano", u64s(hd->received_unix_nano));
    json_object_set_new(o, "protocolVersion", json_integer(hd->protocol_version));
    json_object_set_new(o, "wireBytes", ju64(hd->wire_bytes));
    json_object_set_new(o, "rawBytes", ju64(hd->raw_bytes));
    if (rc) {
        json_object_set_new(o, "error", json_string("batch does not decode"));
        tg_arena_destroy(&a);
        return emit(x, o);
    }
    json_object_set_new(o, "policyVersion", json_string(b->policy_version));
    json_object_set_new(o, "windowStartUnixNano", u64s(b->window_start_unix_nano));
    json_object_set_new(o, "windowEndUnixNano", u64s(b->window_end_unix_nano));
    json_object_set_new(o, "createdUnixNano", u64s(b->created_unix_nano));
    json_object_set_new(o, "spansShed", json_boolean(b->spans_shed));
    if (emit(x, o))
        goto out;
    for (size_t i = 0; i < b->n_spans; i++) {
        const Tollgate__V1__ServiceSpans *ss = b->spans[i];
        for (size_t j = 0; j < ss->n_spans; j++) {
            const Tollgate__V1__SpanSummary *sp = ss->spans[j];
            o = json_object();
            json_object_set_new(o, "type", json_string("span"));
            json_object_set_new(o, "site", json_string(site));
            json_object_set_new(o, "seq", ju64(seq));
            json_object_set_new(o, "service", json_string(ss->service));
            json_object_set_new(o, "traceId", hex(&sp->trace_id));
            json_object_set_new(o, "spanId", hex(&sp->span_id));
            json_object_set_new(o, "parentSpanId", hex(&sp->parent_span_id));
            json_object_set_new(o, "name", json_string(sp->name));
            json_object_set_new(o, "kind", json_integer(sp->kind));
            json_object_set_new(o, "startTimeUnixNano", u64s(sp->start_time_unix_nano));
            json_object_set_new(o, "durationNano", u64s(sp->duration_ns));
            json_object_set_new(o, "status", json_integer(sp->status_code));
            json_object_set_new(o, "attributes", kvs(sp->attributes, sp->n_attributes));
            if (emit(x, o))
                goto out;
        }
    }
    for (size_t i = 0; i < b->n_metrics; i++) {
        const Tollgate__V1__MetricPoint *p = b->metrics[i];
        o = json_object();
        json_object_set_new(o, "type", json_string("metric"));
        json_object_set_new(o, "site", json_string(site));
        json_object_set_new(o, "seq", ju64(seq));
        json_object_set_new(o, "service", json_string(p->service));
        json_object_set_new(o, "name", json_string(p->name));
        json_object_set_new(o, "unit", json_string(p->unit));
        json_object_set_new(o, "metricType", json_string(metric_type(p->type)));
        json_object_set_new(o, "timeUnixNano", u64s(p->time_unix_nano));
        json_object_set_new(o, "labels", kvs(p->labels, p->n_labels));
        switch (p->type) {
        case TOLLGATE__V1__METRIC_POINT__TYPE__GAUGE:
        case TOLLGATE__V1__METRIC_POINT__TYPE__SUM:
            json_object_set_new(o, "value", json_real(p->value));
            json_object_set_new(o, "monotonic", json_boolean(p->monotonic));
            json_object_set_new(o, "temporality", json_integer(p->temporality));
            break;
        case TOLLGATE__V1__METRIC_POINT__TYPE__HISTOGRAM: {
            json_t *bounds = json_array(), *buckets = json_array();
            for (size_t k = 0; k < p->n_explicit_bounds; k++)
                json_array_append_new(bounds, json_real(p->explicit_bounds[k]));
            for (size_t k = 0; k < p->n_bucket_counts; k++)
                json_array_append_new(buckets, ju64(p->bucket_counts[k]));
            json_object_set_new(o, "count", ju64(p->count));
            json_object_set_new(o, "sum", json_real(p->sum));
            json_object_set_new(o, "explicitBounds", bounds);
            json_object_set_new(o, "bucketCounts", buckets);
            break;
        }
        case TOLLGATE__V1__METRIC_POINT__TYPE__EXPONENTIAL_HISTOGRAM:
            json_object_set_new(o, "count", ju64(p->count));
            json_object_set_new(o, "sum", json_real(p->sum));
            json_object_set_new(o, "histogram", exphist_json(p->exp));
            break;
        case TOLLGATE__V1__METRIC_POINT__TYPE__SUMMARY: {
            json_t *q = json_array();
            for (size_t k = 0; k + 1 < p->n_quantiles; k += 2) {
                json_t *pair = json_array();
                json_array_append_new(pair, json_real(p->quantiles[k]));
                json_array_append_new(pair, json_real(p->quantiles[k + 1]));
                json_array_append_new(q, pair);
            }
            json_object_set_new(o, "count", ju64(p->count));
            json_object_set_new(o, "sum", json_real(p->sum));
            json_object_set_new(o, "quantiles", q);
            break;
        }
        default:
            break;
        }
        if (emit(x, o))
            goto out;
    }
    for (size_t i = 0; i < b->n_sheds; i++) {
        const Tollgate__V1__ShedNotice *n = b->sheds[i];
        o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "type", "shed", "site",
                      site, "seq", ju64(seq), "firstSequence", ju64(n->first_sequence),
                      "lastSequence", ju64(n->last_sequence), "batches", ju64(n->batches),
                      "spans", ju64(n->spans), "records", ju64(n->records), "bytes",
                      ju64(n->bytes), "reason", n->reason);
        if (emit(x, o))
            goto out;
    }
out:
    tg_arena_destroy(&a);
    return x->err != 0;
}

static int on_red(void *ctx, const char *site, const ProtobufCMessage *m)
{
    const Tollgate__V1__RedRecord *r = (const Tollgate__V1__RedRecord *)m;

    return emit(ctx,
                json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o}", "type", "red", "site",
                          site, "service", r->service, "operation", r->operation, "kind",
                          (json_int_t)r->kind, "minute", iso(r->minute_unix), "requests",
                          ju64(r->requests), "errors", ju64(r->errors), "latencySeconds",
                          exphist_json(r->latency_seconds)));
}

static int on_log(void *ctx, const char *site, const ProtobufCMessage *m)
{
    const Tollgate__V1__LogTemplate *l = (const Tollgate__V1__LogTemplate *)m;
    static const char *const sev[] = {"UNSPECIFIED", "TRACE", "DEBUG", "INFO",
                                      "WARN",        "ERROR", "FATAL"};
    json_t *o = json_object();
    char id[17];

    snprintf(id, sizeof(id), "%016llx", (unsigned long long)l->template_id);
    json_object_set_new(o, "type", json_string("log"));
    json_object_set_new(o, "site", json_string(site));
    json_object_set_new(o, "service", json_string(l->service));
    json_object_set_new(o, "severityNumber", json_integer(l->severity_number));
    json_object_set_new(o, "severityText",
                        json_string(l->severity_number >= 1 && l->severity_number <= 24
                                        ? sev[(l->severity_number - 1) / 4 + 1]
                                        : sev[0]));
    json_object_set_new(o, "template", json_string(l->template_));
    json_object_set_new(o, "templateId", json_string(id));
    json_object_set_new(o, "minute", iso(l->minute_unix));
    json_object_set_new(o, "count", ju64(l->count));
    return emit(ctx, o);
}

static int on_cost(void *ctx, const char *site, const ProtobufCMessage *m)
{
    const Tollgate__V1__CostRecord *c = (const Tollgate__V1__CostRecord *)m;
    json_t *o = json_object(), *tags = json_object();
    char rid[256];

    snprintf(rid, sizeof(rid), "%s/%s", site, c->service);
    json_object_set_new(tags, "x_site", json_string(site));
    json_object_set_new(o, "type", json_string("cost"));
    json_object_set_new(o, "site", json_string(site));
    /* FOCUS v1.2 columns, then x_ columns of our own. */
    json_object_set_new(o, "BilledCost", json_real(c->billed_cost));
    json_object_set_new(o, "EffectiveCost", json_real(c->effective_cost));
    json_object_set_new(o, "ListCost", json_real(c->list_cost));
    json_object_set_new(o, "ContractedCost", json_real(c->contracted_cost));
    json_object_set_new(o, "ListUnitPrice", json_real(c->list_unit_price));
    json_object_set_new(o, "ContractedUnitPrice", json_real(c->list_unit_price));
    json_object_set_new(o, "BillingCurrency", json_string(c->currency));
    json_object_set_new(o, "ChargeCategory", json_string(c->charge_category));
    json_object_set_new(o, "ChargeClass", json_null());
    json_object_set_new(o, "ChargeFrequency", json_string("Usage-Based"));
    json_object_set_new(o, "ChargeDescription", json_string(c->meter));
    json_object_set_new(o, "ChargePeriodStart", iso(c->hour_unix));
    json_object_set_new(o, "ChargePeriodEnd", iso(c->hour_unix + 3600));
    json_object_set_new(o, "ConsumedQuantity", json_real(c->consumed_quantity));
    json_object_set_new(o, "ConsumedUnit", json_string(c->consumed_unit));
    json_object_set_new(o, "PricingQuantity", json_real(c->pricing_quantity));
    json_object_set_new(o, "PricingUnit", json_string(c->pricing_unit));
    json_object_set_new(o, "PricingCategory", json_string("Standard"));
    json_object_set_new(o, "ProviderName", json_string(c->provider));
    json_object_set_new(o, "PublisherName", json_string(c->provider));
    json_object_set_new(o, "InvoiceIssuerName", json_string(c->provider));
    json_object_set_new(o, "RegionId", json_string(c->region));
    json_object_set_new(o, "ResourceId", json_string(rid));
    json_object_set_new(o, "ServiceName", json_string(c->service));
    json_object_set_new(o, "ServiceCategory", json_string(c->service_category));
    json_object_set_new(o, "SkuId", json_string(c->sku_id));
    json_object_set_new(o, "SkuMeter", json_string(c->meter));
    json_object_set_new(o, "Tags", tags);
    json_object_set_new(o, "x_Site", json_string(site));
    json_object_set_new(o, "x_CostModel", json_string(c->cost_model));
    json_object_set_new(o, "x_Model", json_string(c->model ? c->model : ""));
    json_object_set_new(o, "x_Team", json_string(c->team ? c->team : ""));
    json_object_set_new(o, "x_Run", json_string(c->run ? c->run : ""));
    return emit(ctx, o);
}

static int on_model(void *ctx, const char *site, const tg_cstore_model_row *r)
{
    return emit(ctx, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "type", "model",
                               "site", site, "model", r->model, "version", r->version,
                               "bucketStartUnixNano", u64s((uint64_t)r->bucket_ns),
                               "requests", u64s(r->count), "firstSeenUnixNano",
                               u64s((uint64_t)r->first_ns), "lastSeenUnixNano",
                               u64s((uint64_t)r->last_ns)));
}

int tg_central_export(tg_cstore *cs, FILE *out)
{
    exp_ctx x = {out, 0, 0};
    int rc;

    if ((rc = tg_cstore_sites(cs, on_site, &x)) || x.err)
        return rc ? rc : x.err;
    if ((rc = tg_cstore_batches(cs, on_batch, &x)) || x.err)
        return rc ? rc : x.err;
    if ((rc = tg_cstore_rows(cs, "red", on_red, &x)) || x.err)
        return rc ? rc : x.err;
    if ((rc = tg_cstore_rows(cs, "logs", on_log, &x)) || x.err)
        return rc ? rc : x.err;
    if ((rc = tg_cstore_rows(cs, "costs", on_cost, &x)) || x.err)
        return rc ? rc : x.err;
    if ((rc = tg_cstore_model_rows(cs, on_model, &x)) || x.err)
        return rc ? rc : x.err;
    return 0;
}
