/* The batch codec (wire/): protocol 3's per-batch coding of span
 * summaries round-trips to exactly what protocol 2 carries (keyed hashes
 * back to the same "hmac-sha256:KEY:HEX" text), batches of versions 1 and 2
 * still decode, a malformed version-3 batch is refused, and the centre's
 * export prints the same span lines whichever version a batch came in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cstore.h"
#include "tg_arena.h"
#include "tg_central.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_wire.h"

#define BASE 1800000000000000000ull
#define NSPANS 7

static const char hash_k1a[] =
    "hmac-sha256:k1:4f38c5959dba129774fd79731242b061af60e602994383ca2b6e09d5100f3343";
static const char hash_k1b[] =
    "hmac-sha256:k1:3497de3d131f7342b76d1d8c24a20672cd76e301ef1a2405db67c944ec781a27";
static const char hash_k2[] =
    "hmac-sha256:k2:cbe9a05e3c374362a447c2a9b535cbfa06bf01cec0b6d6dbee4b11bea72cd816";
/* Not what the hash action writes: upper case, one digit short, another
 * tag. They must travel as the strings they are. */
static const char upper_hex[] =
    "hmac-sha256:k1:4F38C5959DBA129774FD79731242B061AF60E602994383CA2B6E09D5100F3343";
static const char short_hex[] =
    "hmac-sha256:k1:4f38c5959dba129774fd79731242b061af60e602994383ca2b6e09d5100f334";
static const char other_tag[] =
    "sha256:k1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* A canonical batch (start offsets from the base, as the summariser makes
 * it) of two services, in `a`. Spans: a1 root; a2 child of a1 in the other
 * service; a3 child of a2, which comes later in batch order; b1 whose parent
 * is not in the batch; b2 child of b1; a4 of trace a again after b;
 * self, its own parent. */
typedef struct fixture {
    Tollgate__V1__Batch b;
    Tollgate__V1__ServiceSpans ss[2], *ssp[2];
    Tollgate__V1__SpanSummary sp[NSPANS], *spp[NSPANS];
    Tollgate__V1__KeyValue kv[NSPANS][10], *kvp[NSPANS][10];
    uint8_t ids[NSPANS][8], ta[16], tb[16], outside[8];
} fixture;

static void kv_s(fixture *f, int s, size_t *n, const char *k, const char *v)
{
    Tollgate__V1__KeyValue *o = &f->kv[s][*n];
    tollgate__v1__key_value__init(o);
    o->key = (char *)k;
    o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
    o->string_value = (char *)v;
    f->kvp[s][(*n)++] = o;
}

static void kv_i(fixture *f, int s, size_t *n, const char *k, int64_t v)
{
    Tollgate__V1__KeyValue *o = &f->kv[s][*n];
    tollgate__v1__key_value__init(o);
    o->key = (char *)k;
    o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_INT_VALUE;
    o->int_value = v;
    f->kvp[s][(*n)++] = o;
}

static void build(fixture *f)
{
    /* service of each span, parent (-1 none, -2 outside, else index) */
    static const int svc[NSPANS] = {0, 1, 0, 0, 1, 1, 0};
    static const int parent[NSPANS] = {-1, 0, 1, -2, 3, 0, 6};
    static const char *const names[NSPANS] = {"GET /",  "SELECT",    "GET /", "",
                                              "SELECT", "only once", "GET /"};
    size_t per[2] = {0, 0};

    memset(f, 0, sizeof(*f));
    tollgate__v1__batch__init(&f->b);
    for (int i = 0; i < 16; i++) {
        f->ta[i] = (uint8_t)(0xA0 + i);
        f->tb[i] = (uint8_t)(0xB0 + i);
    }
    memset(f->outside, 0xEE, 8);
    for (int g = 0; g < 2; g++) {
        tollgate__v1__service_spans__init(&f->ss[g]);
        f->ss[g].service = g ? "db" : "gateway";
        f->ss[g].spans = &f->spp[g ? 4 : 0];
        f->ssp[g] = &f->ss[g];
    }
    /* Batch order: gateway's spans (0, 2, 3, 6), then db's (1, 4, 5). */
    {
        static const int order[NSPANS] = {0, 2, 3, 6, 1, 4, 5};
        for (int k = 0; k < NSPANS; k++) {
            int s = order[k];
            Tollgate__V1__SpanSummary *o = &f->sp[s];
            size_t n = 0;
            tollgate__v1__span_summary__init(o);
            for (int i = 0; i < 8; i++)
                f->ids[s][i] = (uint8_t)(s * 16 + i + 1);
            o->trace_id.data = (s == 3 || s == 4) ? f->tb : f->ta;
            o->trace_id.len = 16;
            o->span_id.data = f->ids[s];
            o->span_id.len = 8;
            if (parent[s] == -2) {
                o->parent_span_id.data = f->outside;
                o->parent_span_id.len = 8;
            } else if (parent[s] >= 0) {
                o->parent_span_id.data = f->ids[parent[s]];
                o->parent_span_id.len = 8;
            }
            o->name = (char *)names[s];
            o->kind = (uint32_t)(s % 3);
            o->start_offset_ns = (int64_t)(s * 1000003) - 5; /* one before the base */
            o->duration_ns = (uint64_t)s * 77777 + 1;
            o->status_code = s == 2 ? 2 : 0;
            kv_s(f, s, &n, "user.email", s % 2 ? hash_k1a : hash_k1b);
            kv_s(f, s, &n, "http.route", "/v1/chat");
            kv_i(f, s, &n, "http.response.status_code", 200 + s);
            if (s == 0) {
                kv_s(f, s, &n, "user.id", hash_k2);
                kv_s(f, s, &n, "note", upper_hex);
                kv_s(f, s, &n, "short", short_hex);
                kv_s(f, s, &n, "tag", other_tag);
                kv_s(f, s, &n, "empty", "");
                kv_s(f, s, &n, "unique", "a value seen once");
            }
            if (s == 5) {
                Tollgate__V1__KeyValue *d = &f->kv[s][n], *bo = &f->kv[s][n + 1];
                tollgate__v1__key_value__init(d);
                d->key = "ratio";
                d->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_DOUBLE_VALUE;
                d->double_value = 0.25;
                f->kvp[s][n++] = d;
                tollgate__v1__key_value__init(bo);
                bo->key = "cached";
                bo->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_BOOL_VALUE;
                bo->bool_value = 1;
                f->kvp[s][n++] = bo;
            }
            o->attributes = f->kvp[s];
            o->n_attributes = n;
            f->spp[svc[s] ? 4 + per[1]++ : per[0]++] = o;
        }
    }
    f->ss[0].n_spans = per[0];
    f->ss[1].n_spans = per[1];
    f->b.site = "fra";
    f->b.sequence = 7;
    f->b.base_time_unix_nano = BASE;
    f->b.policy_version = "sha256:abc";
    f->b.spans = f->ssp;
    f->b.n_spans = 2;
}

static void same_bytes(const ProtobufCBinaryData *x, const ProtobufCBinaryData *y)
{
    assert_int_equal(x->len, y->len);
    if (x->len)
        assert_memory_equal(x->data, y->data, x->len);
}

/* `got` (decoded: absolute times) carries exactly what canonical `want`
 * does. */
static void same_batch(const Tollgate__V1__Batch *want, const Tollgate__V1__Batch *got)
{
    assert_string_equal(got->site, want->site);
    assert_int_equal(got->sequence, want->sequence);
    assert_int_equal(got->n_strings, 0);
    assert_int_equal(got->trace_ids.len, 0);
    assert_int_equal(got->n_spans, want->n_spans);
    for (size_t g = 0; g < want->n_spans; g++) {
        assert_string_equal(got->spans[g]->service, want->spans[g]->service);
        assert_int_equal(got->spans[g]->n_spans, want->spans[g]->n_spans);
        for (size_t j = 0; j < want->spans[g]->n_spans; j++) {
            const Tollgate__V1__SpanSummary *w = want->spans[g]->spans[j];
            const Tollgate__V1__SpanSummary *o = got->spans[g]->spans[j];
            same_bytes(&w->trace_id, &o->trace_id);
            same_bytes(&w->span_id, &o->span_id);
            same_bytes(&w->parent_span_id, &o->parent_span_id);
            assert_string_equal(o->name, w->name);
            assert_int_equal(o->kind, w->kind);
            assert_int_equal(o->start_time_unix_nano,
                             want->base_time_unix_nano + (uint64_t)w->start_offset_ns);
            assert_int_equal(o->duration_ns, w->duration_ns);
            assert_int_equal(o->status_code, w->status_code);
            assert_int_equal(o->name_ref + (uint32_t)o->trace_ref_delta +
                                 (uint32_t)o->parent_delta,
                             0);
            assert_int_equal(o->n_attributes, w->n_attributes);
            for (size_t i = 0; i < w->n_attributes; i++) {
                const Tollgate__V1__KeyValue *wk = w->attributes[i];
                const Tollgate__V1__KeyValue *ok = o->attributes[i];
                assert_string_equal(ok->key, wk->key);
                assert_int_equal(ok->value_case, wk->value_case);
                assert_int_equal(ok->key_ref + ok->string_ref + ok->hashed, 0);
                switch (wk->value_case) {
                case TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE:
                    assert_string_equal(ok->string_value, wk->string_value);
                    break;
                case TOLLGATE__V1__KEY_VALUE__VALUE_INT_VALUE:
                    assert_int_equal(ok->int_value, wk->int_value);
                    break;
                case TOLLGATE__V1__KEY_VALUE__VALUE_DOUBLE_VALUE:
                    assert_true(ok->double_value == wk->double_value);
                    break;
                default:
                    assert_int_equal(ok->bool_value, wk->bool_value);
                }
            }
        }
    }
}

static int contains(const uint8_t *h, size_t hn, const void *n, size_t nn)
{
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(h + i, n, nn) == 0)
            return 1;
    return 0;
}

static void test_v3_round_trips(void **state)
{
    fixture f;
    uint8_t *z, *raw;
    size_t zl, rl, n;
    tg_arena a;
    Tollgate__V1__Batch *got;
    uint8_t hash_bytes[32];

    (void)state;
    build(&f);
    assert_int_equal(tg_wire_pack_batch(&f.b, 3, 3, &z, &zl, &rl), 0);
    assert_int_equal(f.b.protocol_version, 0); /* restored */
    tg_arena_init(&a, 64 * 1024, 0);
    /* The keyed hashes travel as their 32 bytes, never as hex text. */
    assert_int_equal(tg_zstd_decompress(z, zl, 1 << 20, &a, &raw, &n), 0);
    assert_int_equal(n, rl);
    assert_false(contains(raw, n, hash_k1a + 15, 64));
    assert_false(contains(raw, n, hash_k2 + 15, 64));
    assert_int_equal(tg_hex_decode(hash_k1a + 15, 64, hash_bytes, 32), 32);
    assert_true(contains(raw, n, hash_bytes, 32));
    /* What is not a keyed hash as the hash action writes it stays text. */
    assert_true(contains(raw, n, upper_hex, strlen(upper_hex)));
    assert_true(contains(raw, n, short_hex, strlen(short_hex)));
    assert_true(contains(raw, n, other_tag, strlen(other_tag)));

    assert_int_equal(tg_wire_unpack_batch(z, zl, 1 << 20, &a, &got, NULL), 0);
    assert_int_equal(got->protocol_version, 3);
    same_batch(&f.b, got);
    /* Exactly the documented form, byte for byte. */
    assert_string_equal(got->spans[0]->spans[0]->attributes[0]->string_value, hash_k1b);
    assert_string_equal(got->spans[0]->spans[0]->attributes[3]->string_value, hash_k2);
    free(z);
    tg_arena_destroy(&a);
}

/* Batches a site of an older version sends, or an outbox kept from before
 * an upgrade, decode as they did; a version-3 batch re-encodes for an older
 * centre. */
static void test_older_versions_decode(void **state)
{
    fixture f;
    tg_arena a;

    (void)state;
    build(&f);
    tg_arena_init(&a, 64 * 1024, 0);
    for (unsigned v = 1; v <= 3; v++) {
        uint8_t *z, *t;
        size_t zl, rl, tl;
        Tollgate__V1__Batch *got;
        assert_int_equal(tg_wire_pack_batch(&f.b, v, 3, &z, &zl, &rl), 0);
        assert_int_equal(tg_wire_unpack_batch(z, zl, 1 << 20, &a, &got, NULL), 0);
        assert_int_equal(got->protocol_version, v);
        same_batch(&f.b, got);
        for (unsigned to = 1; to <= 3; to++) {
            assert_int_equal(tg_wire_transcode(z, zl, to, 3, &t, &tl, &rl), 0);
            assert_int_equal(tg_wire_unpack_batch(t, tl, 1 << 20, &a, &got, NULL), 0);
            assert_int_equal(got->protocol_version, to);
            same_batch(&f.b, got);
            free(t);
        }
        free(z);
    }
    tg_arena_destroy(&a);
}

/* Many summaries like the default view's: version 3 is smaller on the wire
 * than version 2 (bench_forward --wire measures by how much). */
static void test_v3_smaller(void **state)
{
    enum { N = 2000 };
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    Tollgate__V1__ServiceSpans ss = TOLLGATE__V1__SERVICE_SPANS__INIT, *ssp = &ss;
    Tollgate__V1__SpanSummary *sp = calloc(N, sizeof(*sp)),
                              **spp = calloc(N, sizeof(*spp));
    Tollgate__V1__KeyValue *kv = calloc(2 * N, sizeof(*kv)),
                           **kvp = calloc(2 * N, sizeof(*kvp));
    uint8_t *ids = calloc(N, 32), *z2, *z3;
    char *hashes = calloc(N, 80);
    size_t zl2, zl3, rl;
    uint64_t x = 88172645463325252ull;

    (void)state;
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < 32; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ids[i * 32 + j] = (uint8_t)x;
        }
        if (i % 8)
            memcpy(ids + i * 32, ids + (i - 1) * 32, 16); /* same trace */
        tollgate__v1__span_summary__init(&sp[i]);
        sp[i].trace_id.data = ids + i * 32;
        sp[i].trace_id.len = 16;
        sp[i].span_id.data = ids + i * 32 + 16;
        sp[i].span_id.len = 8;
        if (i % 8) {
            sp[i].parent_span_id.data = ids + (i - 1) * 32 + 16;
            sp[i].parent_span_id.len = 8;
        }
        sp[i].name = "llm.generate";
        sp[i].start_offset_ns = (int64_t)(i * 1000000 + x % 1000000);
        sp[i].duration_ns = x % 400000000;
        snprintf(hashes + i * 80, 80, "hmac-sha256:k1:");
        tg_hex_encode(ids + i * 32 + 24, 8, hashes + i * 80 + 15);
        tg_hex_encode(ids + i * 32, 24, hashes + i * 80 + 31);
        tollgate__v1__key_value__init(&kv[2 * i]);
        kv[2 * i].key = "user.email";
        kv[2 * i].value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
        kv[2 * i].string_value = hashes + i * 80;
        tollgate__v1__key_value__init(&kv[2 * i + 1]);
        kv[2 * i + 1].key = "gen_ai.request.model";
        kv[2 * i + 1].value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
        kv[2 * i + 1].string_value = "llama-3-70b-instruct";
        kvp[2 * i] = &kv[2 * i];
        kvp[2 * i + 1] = &kv[2 * i + 1];
        sp[i].attributes = kvp + 2 * i;
        sp[i].n_attributes = 2;
        spp[i] = &sp[i];
    }
    ss.service = "gateway";
    ss.spans = spp;
    ss.n_spans = N;
    b.site = "fra";
    b.sequence = 1;
    b.base_time_unix_nano = BASE;
    b.spans = &ssp;
    b.n_spans = 1;
    assert_int_equal(tg_wire_pack_batch(&b, 2, 3, &z2, &zl2, &rl), 0);
    assert_int_equal(tg_wire_pack_batch(&b, 3, 3, &z3, &zl3, &rl), 0);
    /* 32 random bytes of hash and 8 of span id are the floor of each span:
     * version 2 keeps ~15 more of hex, version 3 fewer than 10 in all. */
    assert_true(zl3 * 100 < zl2 * 85);
    free(z2);
    free(z3);
    free(sp);
    free(spp);
    free(kv);
    free(kvp);
    free(ids);
    free(hashes);
}

/* A version-3 batch packed as it stands (no coding) after `spoil` changed
 * it: the reader must refuse it. */
static int unpack_spoiled(void (*spoil)(Tollgate__V1__Batch *))
{
    fixture f;
    tg_arena a;
    Tollgate__V1__Batch *coded, *got;
    uint8_t *z, *raw;
    size_t zl, rl, n;
    int rc;

    build(&f);
    tg_arena_init(&a, 64 * 1024, 0);
    assert_int_equal(tg_wire_pack_batch(&f.b, 3, 1, &z, &zl, &rl), 0);
    assert_int_equal(tg_zstd_decompress(z, zl, 1 << 20, &a, &raw, &n), 0);
    free(z);
    coded = tollgate__v1__batch__unpack(&a.pb, n, raw);
    assert_non_null(coded);
    spoil(coded);
    n = tollgate__v1__batch__get_packed_size(coded);
    raw = malloc(n);
    tollgate__v1__batch__pack(coded, raw);
    assert_int_equal(tg_zstd_compress(raw, n, 1, &z, &zl), 0);
    free(raw);
    rc = tg_wire_unpack_batch(z, zl, 1 << 20, &a, &got, NULL);
    free(z);
    tg_arena_destroy(&a);
    return rc;
}

static Tollgate__V1__SpanSummary *first(Tollgate__V1__Batch *b)
{
    return b->spans[0]->spans[0];
}

static void no_spoil(Tollgate__V1__Batch *b)
{
    (void)b;
}
static void name_ref_beyond(Tollgate__V1__Batch *b)
{
    first(b)->name_ref = (uint32_t)b->n_strings + 1;
}
static void key_ref_beyond(Tollgate__V1__Batch *b)
{
    first(b)->attributes[1]->key_ref = 1000;
}
static void hashes_short(Tollgate__V1__Batch *b)
{
    b->hashes.len -= 1;
}
static void trace_before_first(Tollgate__V1__Batch *b)
{
    first(b)->trace_ref_delta = -1;
}
static void trace_ids_ragged(Tollgate__V1__Batch *b)
{
    b->trace_ids.len -= 1;
}
static void parent_beyond(Tollgate__V1__Batch *b)
{
    first(b)->parent_delta = -NSPANS;
}
static void span_ids_short(Tollgate__V1__Batch *b)
{
    b->span_ids.len -= 8;
}
/* A hash's prefix must be a keyed hash's: no long string named per span. */
static void prefix_not_a_hash(Tollgate__V1__Batch *b)
{
    Tollgate__V1__KeyValue *kv = first(b)->attributes[0];
    assert_true(kv->hashed);
    kv->string_ref = 0;
    kv->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
    kv->string_value = "http.route:";
}

static void test_v3_malformed_refused(void **state)
{
    fixture f;
    tg_arena a;
    Tollgate__V1__Batch *got;
    uint8_t *z;
    size_t zl, rl;

    (void)state;
    /* References stand for text: bounded like a decompressed batch. */
    build(&f);
    tg_arena_init(&a, 64 * 1024, 0);
    assert_int_equal(tg_wire_pack_batch(&f.b, 3, 1, &z, &zl, &rl), 0);
    assert_int_equal(tg_wire_unpack_batch(z, zl, rl + 16, &a, &got, NULL), TG_ETOO_BIG);
    assert_int_equal(tg_wire_unpack_batch(z, zl, rl + 4096, &a, &got, NULL), 0);
    free(z);
    tg_arena_destroy(&a);

    assert_int_equal(unpack_spoiled(no_spoil), 0);
    assert_int_equal(unpack_spoiled(name_ref_beyond), TG_EPARSE);
    assert_int_equal(unpack_spoiled(key_ref_beyond), TG_EPARSE);
    assert_int_equal(unpack_spoiled(hashes_short), TG_EPARSE);
    assert_int_equal(unpack_spoiled(trace_before_first), TG_EPARSE);
    assert_int_equal(unpack_spoiled(trace_ids_ragged), TG_EPARSE);
    assert_int_equal(unpack_spoiled(parent_beyond), TG_EPARSE);
    assert_int_equal(unpack_spoiled(span_ids_short), TG_EPARSE);
    assert_int_equal(unpack_spoiled(prefix_not_a_hash), TG_EPARSE);
}

/* The centre stores what came and decodes it for the export: the same
 * summaries sent in versions 1, 2 and 3 export the same span lines. */
static char *export_spans(unsigned version)
{
    char dir[] = "/tmp/tg_wire_test_XXXXXX", cmd[64];
    tg_cstore_options o;
    tg_cstore *cs;
    tg_cstore_upload u;
    tg_cstore_result r;
    fixture f;
    tg_arena a;
    Tollgate__V1__Batch *b;
    uint8_t *z, epoch[16] = {9};
    size_t zl, rl, size = 0;
    char *buf = NULL, *spans, *w, *line, *save = NULL;
    FILE *out;
    int err;

    assert_non_null(mkdtemp(dir));
    memset(&o, 0, sizeof(o));
    o.no_sync = 1;
    cs = tg_cstore_open(dir, &o, &err);
    assert_non_null(cs);
    build(&f);
    tg_arena_init(&a, 64 * 1024, 0);
    assert_int_equal(tg_wire_pack_batch(&f.b, version, 3, &z, &zl, &rl), 0);
    assert_int_equal(tg_wire_unpack_batch(z, zl, 1 << 20, &a, &b, &rl), 0);
    memset(&u, 0, sizeof(u));
    u.site = "fra";
    u.epoch = epoch;
    u.seq = 7;
    u.batch = b;
    u.zstd = z;
    u.zlen = zl;
    u.raw_len = rl;
    u.version = version;
    u.now_ns = BASE;
    assert_int_equal(tg_cstore_apply(cs, &u, &r), 0);
    assert_false(r.duplicate);
    free(z);
    tg_arena_destroy(&a);
    out = open_memstream(&buf, &size);
    assert_int_equal(tg_central_export(cs, out), 0);
    fclose(out);
    tg_cstore_close(cs);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    /* The span lines only: the batch line names its version and sizes. */
    spans = calloc(1, size + 1);
    w = spans;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strstr(line, "\"type\": \"span\"") || strstr(line, "\"type\":\"span\"")) {
            size_t n = strlen(line);
            memcpy(w, line, n);
            w[n] = '\n';
            w += n + 1;
        }
    free(buf);
    return spans;
}

static void test_export_same_every_version(void **state)
{
    char *v1 = export_spans(1), *v2 = export_spans(2), *v3 = export_spans(3);

    (void)state;
    assert_non_null(strstr(v3, hash_k1a));
    assert_non_null(strstr(v3, hash_k2));
    assert_non_null(strstr(v3, "\"parentSpanId\""));
    assert_int_equal(strlen(v3) > 0, 1);
    {
        /* seven span lines */
        size_t lines = 0;
        for (const char *p = v3; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, NSPANS);
    }
    assert_string_equal(v1, v3);
    assert_string_equal(v2, v3);
    free(v1);
    free(v2);
    free(v3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_round_trips),
        cmocka_unit_test(test_older_versions_decode),
        cmocka_unit_test(test_v3_smaller),
        cmocka_unit_test(test_v3_malformed_refused),
        cmocka_unit_test(test_export_same_every_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
