/* Property test: no regulated value leaks, whatever the shape.
 *
 * Each round builds a random traces, logs or metrics request and plants
 * freshly generated regulated values (e-mails, card numbers as text and as
 * integers, AWS keys, GitHub tokens, SSNs, IBANs, IPs, phone numbers,
 * percent-encoded e-mails in URLs, values under sensitive keys, e-mails as
 * map keys) at random depths in every kind of place: resource, scope,
 * span, event, link, log and data-point attributes, exemplars, span,
 * event and metric names, status messages, metric descriptions, log bodies
 * (strings, maps and arrays, recursively), bytes values. Clean values go
 * alongside. Then, under the shipped packs:
 *  - no raw regulated value appears, byte for byte, in the protobuf or the
 *    OTLP/JSON of any view of a destination that must not receive it;
 *  - a destination that passes everything receives the request byte for
 *    byte, and one that only redacts e-mails receives every other planted
 *    value and every clean value unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"
#include "test_rules_util.h"

#define ROUNDS 240
#define MAX_PLANTS 256

typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__AnyValue AV;

enum {
    K_EMAIL,
    K_CARD,
    K_AWS,
    K_GH,
    K_SSN,
    K_IBAN,
    K_IP,
    K_PHONE,
    K_URL,
    K_KEYED,
    K_COUNT
};

typedef struct plant {
    char raw[128]; /* must never leave a restricted destination */
    char alt[160]; /* another spelling that must not leave either (encoded) */
    int kind;
    int is_int; /* planted as an integer value */
} plant;

typedef struct gen {
    uint64_t x;
    tg_arena *a;
    plant plants[MAX_PLANTS];
    int n_plants;
    char clean[MAX_PLANTS][32];
    int n_clean;
} gen;

static uint64_t rnd(gen *g)
{
    g->x ^= g->x << 13;
    g->x ^= g->x >> 7;
    g->x ^= g->x << 17;
    return g->x;
}

static unsigned pick(gen *g, unsigned n)
{
    return (unsigned)(rnd(g) % n);
}

static void rand_str(gen *g, char *out, size_t n, const char *alphabet)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[pick(g, (unsigned)k)];
    out[n] = '\0';
}

static char luhn_digit(const char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(p[n - 1 - i] - '0');
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        s += d;
    }
    return (char)('0' + (10 - s % 10) % 10);
}

/* A fresh regulated value of `kind`, recorded as a plant. */
static plant *new_plant(gen *g, int kind)
{
    plant *p = &g->plants[g->n_plants++];
    char a[40], b[40];

    memset(p, 0, sizeof(*p));
    p->kind = kind;
    switch (kind) {
    case K_EMAIL:
        rand_str(g, a, 8, "abcdefghijklmnopqrstuvwxyz0123456789");
        rand_str(g, b, 6, "abcdefghijklmnopqrstuvwxyz");
        snprintf(p->raw, sizeof(p->raw), "u%s.x@d%s.example.com", a, b);
        break;
    case K_CARD: {
        char d[17] = "4";
        rand_str(g, d + 1, 14, "0123456789");
        d[15] = luhn_digit(d, 15);
        d[16] = '\0';
        if (pick(g, 2))
            snprintf(p->raw, sizeof(p->raw), "%s", d);
        else
            snprintf(p->raw, sizeof(p->raw), "%.4s %.4s %.4s %.4s", d, d + 4, d + 8,
                     d + 12);
        break;
    }
    case K_AWS:
        rand_str(g, a, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        snprintf(p->raw, sizeof(p->raw), "AKIA%s", a);
        break;
    case K_GH: {
        static const char b62[] =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        uint32_t crc;
        char sum[7];
        rand_str(g, a, 30, b62);
        crc = (uint32_t)crc32(0, (const unsigned char *)a, 30);
        for (int i = 5; i >= 0; i--) {
            sum[i] = b62[crc % 62];
            crc /= 62;
        }
        sum[6] = '\0';
        snprintf(p->raw, sizeof(p->raw), "ghp_%s%s", a, sum);
        break;
    }
    case K_SSN:
        snprintf(p->raw, sizeof(p->raw), "%03u-%02u-%04u", 100 + pick(g, 500),
                 1 + pick(g, 98), 1 + pick(g, 9998));
        break;
    case K_IBAN: {
        char bban[19], num[64];
        unsigned rem = 0;
        rand_str(g, bban, 18, "0123456789");
        snprintf(num, sizeof(num), "%s131400", bban); /* D=13 E=14, "00" */
        for (char *c = num; *c; c++)
            rem = (rem * 10 + (unsigned)(*c - '0')) % 97;
        snprintf(p->raw, sizeof(p->raw), "DE%02u%s", 98 - rem, bban);
        break;
    }
    case K_IP:
        snprintf(p->raw, sizeof(p->raw), "%u.%u.%u.%u", 11 + pick(g, 100), pick(g, 256),
                 pick(g, 256), 1 + pick(g, 254));
        break;
    case K_PHONE:
        rand_str(g, a, 7, "0123456789");
        snprintf(p->raw, sizeof(p->raw), "+49 30 %s", a);
        break;
    case K_URL:
        rand_str(g, a, 8, "abcdefghijklmnopqrstuvwxyz");
        snprintf(p->raw, sizeof(p->raw), "p%s@example.org", a);
        snprintf(p->alt, sizeof(p->alt), "p%s%%40example.org", a);
        break;
    default: /* a value whose key makes it regulated */
        rand_str(g, a, 12, "abcdefghijklmnopqrstuvwxyz0123456789");
        snprintf(p->raw, sizeof(p->raw), "opaque%s", a);
        break;
    }
    return p;
}

static const char *new_clean(gen *g)
{
    char *c = g->clean[g->n_clean++];
    char a[12];
    rand_str(g, a, 8, "abcdefghijklmnopqrstuvwxyz");
    snprintf(c, 32, "clean%sword", a);
    return c;
}

static char *adup(gen *g, const char *s)
{
    return tg_arena_strndup(g->a, s, strlen(s));
}

static void *amsg(gen *g, const ProtobufCMessageDescriptor *d)
{
    void *m = tg_arena_calloc(g->a, d->sizeof_message);
    protobuf_c_message_init(d, m);
    return m;
}

static AV *av_str(gen *g, const char *s)
{
    AV *v = amsg(g, &opentelemetry__proto__common__v1__any_value__descriptor);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = adup(g, s);
    return v;
}

static KV *kv(gen *g, const char *key, AV *v)
{
    KV *k = amsg(g, &opentelemetry__proto__common__v1__key_value__descriptor);
    k->key = adup(g, key);
    k->value = v;
    return k;
}

/* Text that carries a planted value (or is one), with clean text around. */
static char *text_with_plant(gen *g, int allow_keyed)
{
    char buf[512];
    int kind;
    plant *p;
    const char *clean;

    do
        kind = (int)pick(g, K_COUNT);
    while (kind == K_KEYED && !allow_keyed);
    if (kind == K_KEYED)
        kind = K_EMAIL;
    p = new_plant(g, kind);
    if (kind != K_URL && pick(g, 3) == 0) {
        snprintf(buf, sizeof(buf), "%s", p->raw);
        return adup(g, buf);
    }
    clean = new_clean(g);
    if (kind == K_URL)
        snprintf(buf, sizeof(buf), "%s https://shop.example/p?email=%s&q=1", clean,
                 p->alt);
    else
        snprintf(buf, sizeof(buf), "%s: %s %s", clean, p->raw,
                 pick(g, 2) ? "done" : "(retry)");
    return adup(g, buf);
}

static AV *random_value(gen *g, unsigned depth);

static KV **random_attrs(gen *g, size_t *n, unsigned depth)
{
    static const char *const keyed[] = {"user.email",     "enduser.id",  "password",
                                        "token",          "card_number", "session_id",
                                        "client.address", "iban"};
    size_t k = 1 + pick(g, 4);
    KV **arr = tg_arena_alloc(g->a, k * sizeof(*arr));

    for (size_t i = 0; i < k; i++) {
        unsigned r = pick(g, 10);
        char key[40];
        if (r == 0) {
            /* a sensitive key with an opaque value */
            plant *p = new_plant(g, K_KEYED);
            const char *sk = keyed[pick(g, 8)];
            if (!strcmp(sk, "user.email"))
                p->kind = K_EMAIL; /* the key makes it an e-mail */
            arr[i] = kv(g, sk, av_str(g, p->raw));
        } else if (r == 1 && depth > 0) {
            /* an e-mail as a map key */
            plant *p = new_plant(g, K_EMAIL);
            AV *v = amsg(g, &opentelemetry__proto__common__v1__any_value__descriptor);
            v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            v->int_value = (int64_t)pick(g, 100);
            arr[i] = kv(g, p->raw, v);
        } else {
            snprintf(key, sizeof(key), "k%u", pick(g, 1000));
            arr[i] = kv(g, key, random_value(g, depth));
        }
    }
    *n = k;
    return arr;
}

static AV *random_value(gen *g, unsigned depth)
{
    AV *v = amsg(g, &opentelemetry__proto__common__v1__any_value__descriptor);
    unsigned r = pick(g, depth < 5 ? 8 : 5);

    switch (r) {
    case 0: { /* a card number as an integer, or as an integral double */
        plant *p = new_plant(g, K_CARD);
        char digits[20];
        size_t k = 0;
        for (const char *c = p->raw; *c; c++)
            if (*c != ' ')
                digits[k++] = *c;
        digits[k] = '\0';
        snprintf(p->raw, sizeof(p->raw), "%s", digits);
        p->is_int = 1;
        if (pick(g, 2)) {
            v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            v->int_value = strtoll(digits, NULL, 10);
        } else {
            /* 16-digit Visa numbers are below 2^53: exact as a double */
            v->value_case =
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
            v->double_value = (double)strtoll(digits, NULL, 10);
        }
        break;
    }
    case 1: { /* bytes holding an e-mail */
        char *t = text_with_plant(g, 0);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        v->bytes_value.data = (uint8_t *)t;
        v->bytes_value.len = strlen(t);
        break;
    }
    case 2: { /* a clean value */
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = adup(g, new_clean(g));
        break;
    }
    case 3:
    case 4:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = text_with_plant(g, 0);
        break;
    case 5: { /* an array */
        Opentelemetry__Proto__Common__V1__ArrayValue *a =
            amsg(g, &opentelemetry__proto__common__v1__array_value__descriptor);
        a->n_values = 1 + pick(g, 3);
        a->values = tg_arena_alloc(g->a, a->n_values * sizeof(*a->values));
        for (size_t i = 0; i < a->n_values; i++)
            a->values[i] = random_value(g, depth + 1);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        v->array_value = a;
        break;
    }
    default: { /* a map */
        Opentelemetry__Proto__Common__V1__KeyValueList *l =
            amsg(g, &opentelemetry__proto__common__v1__key_value_list__descriptor);
        l->values = random_attrs(g, &l->n_values, depth + 1);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        v->kvlist_value = l;
        break;
    }
    }
    return v;
}

static Opentelemetry__Proto__Resource__V1__Resource *random_resource(gen *g)
{
    Opentelemetry__Proto__Resource__V1__Resource *r =
        amsg(g, &opentelemetry__proto__resource__v1__resource__descriptor);
    size_t n;
    KV **attrs = random_attrs(g, &n, 0);

    r->n_attributes = n + 1;
    r->attributes = tg_arena_alloc(g->a, (n + 1) * sizeof(KV *));
    r->attributes[0] = kv(g, "service.name", av_str(g, "svc"));
    memcpy(r->attributes + 1, attrs, n * sizeof(KV *));
    return r;
}

static Opentelemetry__Proto__Common__V1__InstrumentationScope *random_scope(gen *g)
{
    Opentelemetry__Proto__Common__V1__InstrumentationScope *s =
        amsg(g, &opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    s->name = pick(g, 3) ? adup(g, new_clean(g)) : text_with_plant(g, 0);
    s->attributes = random_attrs(g, &s->n_attributes, 0);
    return s;
}

static ProtobufCMessage *random_traces(gen *g)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = amsg(
        g,
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs =
        amsg(g, &opentelemetry__proto__trace__v1__resource_spans__descriptor);
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
        amsg(g, &opentelemetry__proto__trace__v1__scope_spans__descriptor);

    req->n_resource_spans = 1;
    req->resource_spans = tg_arena_alloc(g->a, sizeof(rs));
    req->resource_spans[0] = rs;
    rs->resource = random_resource(g);
    rs->n_scope_spans = 1;
    rs->scope_spans = tg_arena_alloc(g->a, sizeof(ss));
    rs->scope_spans[0] = ss;
    ss->scope = random_scope(g);
    ss->n_spans = 1 + pick(g, 4);
    ss->spans = tg_arena_alloc(g->a, ss->n_spans * sizeof(*ss->spans));
    for (size_t i = 0; i < ss->n_spans; i++) {
        Opentelemetry__Proto__Trace__V1__Span *sp =
            amsg(g, &opentelemetry__proto__trace__v1__span__descriptor);
        Opentelemetry__Proto__Trace__V1__Span__Event *ev =
            amsg(g, &opentelemetry__proto__trace__v1__span__event__descriptor);
        Opentelemetry__Proto__Trace__V1__Span__Link *ln =
            amsg(g, &opentelemetry__proto__trace__v1__span__link__descriptor);
        Opentelemetry__Proto__Trace__V1__Status *st =
            amsg(g, &opentelemetry__proto__trace__v1__status__descriptor);
        sp->name = pick(g, 2) ? text_with_plant(g, 0) : adup(g, new_clean(g));
        sp->attributes = random_attrs(g, &sp->n_attributes, 0);
        ev->name = text_with_plant(g, 0);
        ev->attributes = random_attrs(g, &ev->n_attributes, 0);
        sp->n_events = 1;
        sp->events = tg_arena_alloc(g->a, sizeof(ev));
        sp->events[0] = ev;
        ln->attributes = random_attrs(g, &ln->n_attributes, 0);
        sp->n_links = 1;
        sp->links = tg_arena_alloc(g->a, sizeof(ln));
        sp->links[0] = ln;
        st->code =
            OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        st->message = text_with_plant(g, 0);
        sp->status = st;
        ss->spans[i] = sp;
    }
    return &req->base;
}

static ProtobufCMessage *random_logs(gen *g)
{
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req = amsg(
        g,
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor);
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rl =
        amsg(g, &opentelemetry__proto__logs__v1__resource_logs__descriptor);
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl =
        amsg(g, &opentelemetry__proto__logs__v1__scope_logs__descriptor);

    req->n_resource_logs = 1;
    req->resource_logs = tg_arena_alloc(g->a, sizeof(rl));
    req->resource_logs[0] = rl;
    rl->resource = random_resource(g);
    rl->n_scope_logs = 1;
    rl->scope_logs = tg_arena_alloc(g->a, sizeof(sl));
    rl->scope_logs[0] = sl;
    sl->scope = random_scope(g);
    sl->n_log_records = 1 + pick(g, 4);
    sl->log_records = tg_arena_alloc(g->a, sl->n_log_records * sizeof(*sl->log_records));
    for (size_t i = 0; i < sl->n_log_records; i++) {
        Opentelemetry__Proto__Logs__V1__LogRecord *lr =
            amsg(g, &opentelemetry__proto__logs__v1__log_record__descriptor);
        lr->body = random_value(g, 0);
        lr->attributes = random_attrs(g, &lr->n_attributes, 0);
        sl->log_records[i] = lr;
    }
    return &req->base;
}

static ProtobufCMessage *random_metrics(gen *g)
{
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req = amsg(
        g,
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor);
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm =
        amsg(g, &opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        amsg(g, &opentelemetry__proto__metrics__v1__scope_metrics__descriptor);

    req->n_resource_metrics = 1;
    req->resource_metrics = tg_arena_alloc(g->a, sizeof(rm));
    req->resource_metrics[0] = rm;
    rm->resource = random_resource(g);
    rm->n_scope_metrics = 1;
    rm->scope_metrics = tg_arena_alloc(g->a, sizeof(sm));
    rm->scope_metrics[0] = sm;
    sm->scope = random_scope(g);
    sm->n_metrics = 1 + pick(g, 3);
    sm->metrics = tg_arena_alloc(g->a, sm->n_metrics * sizeof(*sm->metrics));
    for (size_t i = 0; i < sm->n_metrics; i++) {
        Opentelemetry__Proto__Metrics__V1__Metric *m =
            amsg(g, &opentelemetry__proto__metrics__v1__metric__descriptor);
        Opentelemetry__Proto__Metrics__V1__Gauge *ga =
            amsg(g, &opentelemetry__proto__metrics__v1__gauge__descriptor);
        Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp =
            amsg(g, &opentelemetry__proto__metrics__v1__number_data_point__descriptor);
        Opentelemetry__Proto__Metrics__V1__Exemplar *ex =
            amsg(g, &opentelemetry__proto__metrics__v1__exemplar__descriptor);
        m->name = adup(g, new_clean(g));
        m->description = text_with_plant(g, 0);
        m->metadata = random_attrs(g, &m->n_metadata, 0);
        dp->value_case =
            OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        dp->as_int = 1;
        dp->attributes = random_attrs(g, &dp->n_attributes, 0);
        ex->filtered_attributes = random_attrs(g, &ex->n_filtered_attributes, 0);
        dp->n_exemplars = 1;
        dp->exemplars = tg_arena_alloc(g->a, sizeof(ex));
        dp->exemplars[0] = ex;
        ga->n_data_points = 1;
        ga->data_points = tg_arena_alloc(g->a, sizeof(dp));
        ga->data_points[0] = dp;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        m->gauge = ga;
        sm->metrics[i] = m;
    }
    return &req->base;
}

static tg_rules_policy *shipped_plus_test_destinations(void)
{
    const char *extra = "destinations:\n"
                        "  audit: {actions: {default: pass}}\n"
                        "  redact-all: {actions: {default: redact}}\n"
                        "  hash-all: {actions: {default: hash}}\n"
                        "  mask-all: {actions: {default: mask}}\n"
                        "  gen-all: {actions: {default: generalise}}\n"
                        "  drop-all: {actions: {default: drop}}\n"
                        "  only-email: {actions: {default: pass, pii.email: redact}}\n";
    char def[1024], tmp[] = "/tmp/tg_rules_property_XXXXXX";
    const char *paths[2] = {def, tmp};
    tg_rules_options opt;
    tg_rules_diag d;
    tg_rules_policy *p;
    int fd = mkstemp(tmp);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, extra, strlen(extra)), (ssize_t)strlen(extra));
    close(fd);
    /* the shipped default policy (it includes the four packs), then ours */
    snprintf(def, sizeof(def), "%s/rules/default.yaml", TG_SOURCE_DIR);
    memset(&opt, 0, sizeof(opt));
    opt.ephemeral_keys = 1;
    p = tg_rules_policy_load(paths, 2, &opt, &d);
    unlink(tmp);
    if (!p)
        fail_msg("%s:%u:%u: %s", d.file, d.line, d.column, d.message);
    return p;
}

static void packed(const ProtobufCMessage *m, uint8_t **out, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    *out = malloc(*n ? *n : 1);
    protobuf_c_message_pack(m, *out);
}

static void test_no_regulated_value_leaks(void **state)
{
    static const char *const restricted[] = {"central",  "redact-all", "hash-all",
                                             "mask-all", "gen-all",    "drop-all"};
    tg_rules_policy *p = shipped_plus_test_destinations();
    gen *g = calloc(1, sizeof(*g));
    unsigned long planted = 0, checks = 0;

    (void)state;
    g->x = 0x2545F4914F6CDD1DULL;
    for (int round = 0; round < ROUNDS; round++) {
        tg_arena a;
        ProtobufCMessage *m, *v;
        tg_rules_classification *c;
        uint8_t *orig, *got;
        size_t on, gn;

        tg_arena_init(&a, 0, 0);
        g->a = &a;
        g->n_plants = 0;
        g->n_clean = 0;
        m = round % 3 == 0   ? random_traces(g)
            : round % 3 == 1 ? random_logs(g)
                             : random_metrics(g);
        planted += (unsigned long)g->n_plants;
        assert_true(g->n_plants < MAX_PLANTS);
        assert_int_equal(tg_rules_classify(p, m, &a, &c), 0);
        packed(m, &orig, &on);

        for (size_t i = 0; i < sizeof(restricted) / sizeof(restricted[0]); i++) {
            char *json;
            assert_int_equal(
                tg_rules_view(c, (size_t)tg_rules_destination_index(p, restricted[i]), &a,
                              NULL, &v, NULL),
                0);
            packed(v, &got, &gn);
            json = tg_otlp_json_encode(v, NULL);
            assert_non_null(json);
            for (int k = 0; k < g->n_plants; k++) {
                const plant *pl = &g->plants[k];
                checks++;
                if (memmem(got, gn, pl->raw, strlen(pl->raw)) || strstr(json, pl->raw) ||
                    (pl->alt[0] && (memmem(got, gn, pl->alt, strlen(pl->alt)) ||
                                    strstr(json, pl->alt))))
                    fail_msg("round %d: '%s' (kind %d%s) leaked to %s:\n%s", round,
                             pl->raw, pl->kind, pl->is_int ? ", int" : "", restricted[i],
                             json);
            }
            free(json);
            free(got);
        }
        /* everything allowed: the request, byte for byte */
        assert_int_equal(tg_rules_view(c, (size_t)tg_rules_destination_index(p, "audit"),
                                       &a, NULL, &v, NULL),
                         0);
        packed(v, &got, &gn);
        assert_int_equal(gn, on);
        assert_memory_equal(got, orig, on);
        free(got);
        /* only e-mails restricted: every other planted value and every
         * clean value leaves unchanged */
        {
            char *json;
            assert_int_equal(
                tg_rules_view(c, (size_t)tg_rules_destination_index(p, "only-email"), &a,
                              NULL, &v, NULL),
                0);
            json = tg_otlp_json_encode(v, NULL);
            packed(v, &got, &gn);
            assert_non_null(json);
            for (int k = 0; k < g->n_plants; k++) {
                const plant *pl = &g->plants[k];
                int is_email = pl->kind == K_EMAIL || pl->kind == K_URL;
                /* text and bytes in the protobuf, integers in the JSON */
                int present = memmem(got, gn, pl->raw, strlen(pl->raw)) ||
                              strstr(json, pl->raw) ||
                              (pl->alt[0] && (memmem(got, gn, pl->alt, strlen(pl->alt)) ||
                                              strstr(json, pl->alt)));
                if (is_email && present)
                    fail_msg("round %d: e-mail %s leaked to only-email", round, pl->raw);
                if (!is_email && !present)
                    fail_msg("round %d: allowed value %s (kind %d) did not pass "
                             "unchanged:\n%s",
                             round, pl->raw, pl->kind, json);
            }
            for (int k = 0; k < g->n_clean; k++)
                if (!memmem(got, gn, g->clean[k], strlen(g->clean[k])))
                    fail_msg("round %d: clean value %s was lost", round, g->clean[k]);
            free(json);
            free(got);
        }
        free(orig);
        tg_arena_destroy(&a);
    }
    print_message("%d rounds, %lu regulated values planted, %lu leak checks\n", ROUNDS,
                  planted, checks);
    free(g);
    tg_rules_policy_unref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_regulated_value_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
