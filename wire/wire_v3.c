/* Protocol 3: span summaries coded per batch (wire_v3.h).
 *
 * Why: under the default residency view every span summary carries a keyed
 * hash, "hmac-sha256:KEY:" and 64 hex digits, of which zstd keeps about 42
 * bytes; as 32 raw bytes it keeps 32. What else a summary holds repeats
 * (attribute keys and values, names, the trace id of its siblings, its
 * parent's span id) and zstd pays 3 to 5 bytes per match for it; an index
 * into a per-batch table, or a small delta, costs one or two bytes that
 * compress well in turn. Random bytes (span ids, hashes) stay as they are.
 * Measured with `bench_forward --wire` (docs/benchmarks.md). */
#include "wire_v3.h"

#include <stdlib.h>
#include <string.h>

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_hash.h"

#define HASH_HEX 64
#define HASH_BYTES 32
/* "hmac-sha256:" + a key id + ':' (rules/actions.c writes it); a longer
 * prefix is not a keyed hash's and is refused when decoding, so a small
 * batch cannot name a large string once per span. */
#define HASH_PREFIX_MAX 128

static const char hmac_tag[] = "hmac-sha256:";

/* Whether s[0..pn) is a keyed hash's prefix, "hmac-sha256:KEY:". */
static int prefix_ok(const char *s, size_t pn)
{
    size_t tl = sizeof(hmac_tag) - 1;

    if (pn < tl + 2 || pn > HASH_PREFIX_MAX || memcmp(s, hmac_tag, tl) != 0 ||
        s[pn - 1] != ':')
        return 0;
    for (size_t i = tl; i + 1 < pn; i++)
        if (s[i] == ':' || s[i] == '\0')
            return 0;
    return 1;
}

/* The prefix length of a keyed hash "hmac-sha256:KEY:<64 lower-case hex>",
 * or 0 when s is not one. Only lower-case hex: the bytes must turn back into
 * exactly the string that was sent. */
static size_t hash_split(const char *s, size_t n)
{
    size_t p;

    /* The tag first: most strings are not hashes and fail it at once. */
    if (n <= HASH_HEX + sizeof(hmac_tag) ||
        memcmp(s, hmac_tag, sizeof(hmac_tag) - 1) != 0)
        return 0;
    p = n - HASH_HEX;
    for (size_t i = p; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return prefix_ok(s, p) ? p : 0;
}

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = n;

    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = tg_mix64(h ^ w);
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = tg_mix64(h ^ w ^ 0x9E3779B97F4A7C15ULL);
    }
    return h;
}

/* ---- an open-addressing table of byte strings, growing ------------------ */

typedef struct ent {
    const char *s; /* NULL: empty slot */
    size_t n;
    uint64_t h;
    uint32_t count; /* occurrences */
    uint32_t ref;   /* index + 1 once in the batch's table */
} ent;

typedef struct tab {
    ent *e;
    size_t cap, n;
} tab;

static ent *tab_slot(ent *e, size_t cap, const char *s, size_t n, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);

    while (e[i].s && !(e[i].h == h && e[i].n == n && memcmp(e[i].s, s, n) == 0))
        i = (i + 1) & (cap - 1);
    return &e[i];
}

/* The entry of s[0..n), or NULL when absent. */
static ent *tab_find(const tab *t, const char *s, size_t n)
{
    ent *x;

    if (!t->cap)
        return NULL;
    x = tab_slot(t->e, t->cap, s, n, str_hash(s, n));
    return x->s ? x : NULL;
}

/* The entry of s[0..n), entered (count 0, ref 0) when absent; NULL when
 * memory runs out. The table points at s: it must outlive the table. */
static ent *tab_get(tab *t, const char *s, size_t n)
{
    uint64_t h = str_hash(s, n);
    ent *x;

    if (t->cap && (x = tab_slot(t->e, t->cap, s, n, h))->s)
        return x;
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        ent *ne = calloc(ncap, sizeof(*ne));
        if (!ne)
            return NULL;
        for (size_t i = 0; i < t->cap; i++)
            if (t->e[i].s)
                *tab_slot(ne, ncap, t->e[i].s, t->e[i].n, t->e[i].h) = t->e[i];
        free(t->e);
        t->e = ne;
        t->cap = ncap;
    }
    x = tab_slot(t->e, t->cap, s, n, h);
    x->s = s;
    x->n = n;
    x->h = h;
    t->n++;
    return x;
}

/* ---- coding ------------------------------------------------------------- */

typedef struct coder {
    tab strs, traces, spans;
    tg_arena *a;
    char **out; /* the batch's string table, in order of first use */
    size_t n_out, cap_out;
    uint8_t *sids, *hashes;
    size_t n_sids, n_hashes, nhash;
} coder;

static int count_str(coder *c, const char *s, size_t n)
{
    ent *x;

    if (!n)
        return 0;
    if (!(x = tab_get(&c->strs, s, n)))
        return TG_ENOMEM;
    x->count++;
    return 0;
}

/* Pass 1: how often each string occurs, each trace id's index, each span
 * id's first position in batch order. */
static int count_all(coder *c, const Tollgate__V1__Batch *in)
{
    uint32_t k = 0;
    int rc;

    for (size_t g = 0; g < in->n_spans; g++)
        for (size_t j = 0; j < in->spans[g]->n_spans; j++, k++) {
            const Tollgate__V1__SpanSummary *sp = in->spans[g]->spans[j];
            ent *x;
            if (sp->trace_id.len == 0 || sp->span_id.len == 0)
                return TG_EINVAL;
            if (sp->trace_id.len == 16) {
                if (!(x = tab_get(&c->traces, (const char *)sp->trace_id.data, 16)))
                    return TG_ENOMEM;
                if (!x->ref)
                    x->ref = (uint32_t)c->traces.n;
            }
            if (sp->span_id.len == 8) {
                if (!(x = tab_get(&c->spans, (const char *)sp->span_id.data, 8)))
                    return TG_ENOMEM;
                if (!x->ref)
                    x->ref = k + 1;
            }
            if (sp->name && (rc = count_str(c, sp->name, strlen(sp->name))))
                return rc;
            for (size_t i = 0; i < sp->n_attributes; i++) {
                const Tollgate__V1__KeyValue *kv = sp->attributes[i];
                if (kv->key && (rc = count_str(c, kv->key, strlen(kv->key))))
                    return rc;
                if (kv->value_case == TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE &&
                    kv->string_value) {
                    size_t n = strlen(kv->string_value);
                    size_t p = hash_split(kv->string_value, n);
                    if (p)
                        c->nhash++;
                    if ((rc = count_str(c, kv->string_value, p ? p : n)))
                        return rc;
                }
            }
        }
    return 0;
}

/* The reference (index + 1) of s[0..n) in the batch's table, entering it
 * there on first use; 0 when it occurs once (it stays inline). */
static uint32_t ref_of(coder *c, const char *s, size_t n, int *err)
{
    ent *x;

    if (!n || !(x = tab_find(&c->strs, s, n)) || x->count < 2)
        return 0;
    if (!x->ref) {
        char *copy;
        if (c->n_out == c->cap_out) {
            size_t ncap = c->cap_out ? c->cap_out * 2 : 64;
            char **no = tg_arena_alloc(c->a, ncap * sizeof(*no));
            if (!no) {
                *err = TG_ENOMEM;
                return 0;
            }
            if (c->n_out)
                memcpy(no, c->out, c->n_out * sizeof(*no));
            c->out = no;
            c->cap_out = ncap;
        }
        if (!(copy = tg_arena_strndup(c->a, s, n))) {
            *err = TG_ENOMEM;
            return 0;
        }
        c->out[c->n_out++] = copy;
        x->ref = (uint32_t)c->n_out;
    }
    return x->ref;
}

static char empty[] = "";

static Tollgate__V1__KeyValue *code_kv(coder *c, const Tollgate__V1__KeyValue *kv,
                                       int *err)
{
    Tollgate__V1__KeyValue *o = tg_arena_alloc(c->a, sizeof(*o));
    uint32_t r;

    if (!o) {
        *err = TG_ENOMEM;
        return NULL;
    }
    *o = *kv;
    o->key_ref = 0;
    o->string_ref = 0;
    o->hashed = 0;
    if (kv->key && (r = ref_of(c, kv->key, strlen(kv->key), err))) {
        o->key = empty;
        o->key_ref = r;
    }
    if (kv->value_case == TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE &&
        kv->string_value) {
        const char *s = kv->string_value;
        size_t n = strlen(s), p = hash_split(s, n);
        if (p) {
            uint8_t *raw = c->hashes + c->n_hashes;
            if (tg_hex_decode(s + p, HASH_HEX, raw, HASH_BYTES) != HASH_BYTES) {
                *err = TG_ENOMEM;
                return NULL;
            }
            c->n_hashes += HASH_BYTES;
            o->hashed = 1;
            if ((r = ref_of(c, s, p, err))) {
                o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE__NOT_SET;
                o->string_ref = r;
            } else if (!(o->string_value = tg_arena_strndup(c->a, s, p))) {
                *err = TG_ENOMEM;
                return NULL;
            }
        } else if ((r = ref_of(c, s, n, err))) {
            o->value_case = TOLLGATE__V1__KEY_VALUE__VALUE__NOT_SET;
            o->string_ref = r;
        }
    }
    return o;
}

static int code_spans(coder *c, const Tollgate__V1__Batch *in, Tollgate__V1__Batch *out)
{
    uint32_t k = 0;
    int64_t prev_trace = -1;
    int err = 0;

    out->spans = tg_arena_alloc(c->a, (in->n_spans + 1) * sizeof(*out->spans));
    if (!out->spans)
        return TG_ENOMEM;
    for (size_t g = 0; g < in->n_spans; g++) {
        const Tollgate__V1__ServiceSpans *gi = in->spans[g];
        Tollgate__V1__ServiceSpans *go = tg_arena_alloc(c->a, sizeof(*go));
        int64_t prev_start = 0;
        if (!go)
            return TG_ENOMEM;
        *go = *gi;
        go->spans = tg_arena_alloc(c->a, (gi->n_spans + 1) * sizeof(*go->spans));
        if (!go->spans)
            return TG_ENOMEM;
        for (size_t j = 0; j < gi->n_spans; j++, k++) {
            const Tollgate__V1__SpanSummary *sp = gi->spans[j];
            Tollgate__V1__SpanSummary *o = tg_arena_alloc(c->a, sizeof(*o));
            uint32_t r;
            if (!o)
                return TG_ENOMEM;
            *o = *sp;
            o->name_ref = 0;
            o->trace_ref_delta = 0;
            o->parent_delta = 0;
            if (sp->trace_id.len == 16) {
                int64_t t =
                    (int64_t)tab_find(&c->traces, (const char *)sp->trace_id.data, 16)
                        ->ref -
                    1;
                o->trace_ref_delta = (int32_t)(t - prev_trace);
                prev_trace = t;
                o->trace_id.len = 0;
                o->trace_id.data = NULL;
            }
            if (sp->parent_span_id.len == 8) {
                ent *x = tab_find(&c->spans, (const char *)sp->parent_span_id.data, 8);
                if (x && x->ref - 1 != k) {
                    o->parent_delta = (int32_t)((int64_t)k - (int64_t)(x->ref - 1));
                    o->parent_span_id.len = 0;
                    o->parent_span_id.data = NULL;
                }
            }
            if (sp->span_id.len == 8) {
                memcpy(c->sids + c->n_sids, sp->span_id.data, 8);
                c->n_sids += 8;
                o->span_id.len = 0;
                o->span_id.data = NULL;
            }
            o->start_delta_ns = sp->start_offset_ns - prev_start;
            prev_start = sp->start_offset_ns;
            o->start_offset_ns = 0;
            if (sp->name && (r = ref_of(c, sp->name, strlen(sp->name), &err))) {
                o->name = empty;
                o->name_ref = r;
            }
            if (sp->n_attributes) {
                o->attributes =
                    tg_arena_alloc(c->a, sp->n_attributes * sizeof(*o->attributes));
                if (!o->attributes)
                    return TG_ENOMEM;
                for (size_t i = 0; i < sp->n_attributes; i++)
                    if (!(o->attributes[i] = code_kv(c, sp->attributes[i], &err)))
                        return err ? err : TG_ENOMEM;
            }
            if (err)
                return err;
            go->spans[j] = o;
        }
        out->spans[g] = go;
    }
    return 0;
}

int tg_wire_v3_code(const Tollgate__V1__Batch *in, tg_arena *a, Tollgate__V1__Batch *out)
{
    coder c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.a = a;
    *out = *in;
    out->trace_ids.len = 0;
    out->trace_ids.data = NULL;
    rc = count_all(&c, in);
    if (rc == 0) {
        size_t total = 0;
        for (size_t g = 0; g < in->n_spans; g++)
            total += in->spans[g]->n_spans;
        c.sids = tg_arena_alloc(a, total * 8 + 1);
        c.hashes = tg_arena_alloc(a, c.nhash * 32 + 1);
        if (!c.sids || !c.hashes)
            rc = TG_ENOMEM;
    }
    if (rc == 0)
        rc = code_spans(&c, in, out);
    if (rc == 0 && c.traces.n) {
        /* Trace ids in index order: a table slot knows its index. */
        uint8_t *ids = tg_arena_alloc(a, c.traces.n * 16);
        if (!ids)
            rc = TG_ENOMEM;
        for (size_t i = 0; ids && i < c.traces.cap; i++)
            if (c.traces.e[i].s)
                memcpy(ids + (size_t)(c.traces.e[i].ref - 1) * 16, c.traces.e[i].s, 16);
        out->trace_ids.data = ids;
        out->trace_ids.len = c.traces.n * 16;
    }
    out->span_ids.data = c.sids;
    out->span_ids.len = c.n_sids;
    out->hashes.data = c.hashes;
    out->hashes.len = c.n_hashes;
    out->strings = c.out;
    out->n_strings = c.n_out;
    free(c.strs.e);
    free(c.traces.e);
    free(c.spans.e);
    return rc;
}

/* ---- resolving ---------------------------------------------------------- */

typedef struct resolver {
    const Tollgate__V1__Batch *b;
    tg_arena *a;
    size_t *lens;  /* of b->strings */
    size_t budget; /* text bytes references may still stand for */
    size_t hpos;   /* next hash in b->hashes */
} resolver;

/* A reference stands for its string once more: the text a batch decodes
 * to is bounded as a decompressed batch is, or a small batch naming one
 * long string per span would print as gigabytes in the export. */
static int charge(resolver *r, size_t n)
{
    if (n > r->budget)
        return TG_ETOO_BIG;
    r->budget -= n;
    return 0;
}

static int resolve_str(resolver *r, uint32_t ref, char **out)
{
    if (ref == 0 || ref > r->b->n_strings)
        return TG_EPARSE;
    *out = r->b->strings[ref - 1];
    return charge(r, r->lens[ref - 1]);
}

static int resolve_kv(resolver *r, Tollgate__V1__KeyValue *kv)
{
    const Tollgate__V1__Batch *b = r->b;
    int rc;

    if (kv->key_ref && (rc = resolve_str(r, kv->key_ref, &kv->key)) != 0)
        return rc;
    if (kv->hashed) {
        char *prefix = empty;
        size_t pn;
        char *s;
        if (b->hashes.len - r->hpos < HASH_BYTES)
            return TG_EPARSE;
        if (kv->string_ref) {
            if ((rc = resolve_str(r, kv->string_ref, &prefix)) != 0)
                return rc;
        } else if (kv->value_case == TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE &&
                   kv->string_value) {
            prefix = kv->string_value;
        }
        pn = strlen(prefix);
        if (!prefix_ok(prefix, pn))
            return TG_EPARSE;
        if ((rc = charge(r, HASH_HEX)) != 0)
            return rc;
        if (!(s = tg_arena_alloc(r->a, pn + HASH_HEX + 1)))
            return TG_ENOMEM;
        memcpy(s, prefix, pn);
        tg_hex_encode(b->hashes.data + r->hpos, HASH_BYTES, s + pn);
        r->hpos += HASH_BYTES;
        kv->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
        kv->string_value = s;
    } else if (kv->string_ref) {
        if ((rc = resolve_str(r, kv->string_ref, &kv->string_value)) != 0)
            return rc;
        kv->value_case = TOLLGATE__V1__KEY_VALUE__VALUE_STRING_VALUE;
    }
    kv->key_ref = 0;
    kv->string_ref = 0;
    kv->hashed = 0;
    return 0;
}

int tg_wire_v3_resolve(Tollgate__V1__Batch *b, tg_arena *a, size_t limit)
{
    size_t total = 0, ntraces, k = 0, spos = 0;
    int64_t trace = -1;
    Tollgate__V1__SpanSummary **all;
    resolver r = {b, a, NULL, limit, 0};
    int rc;

    if (b->trace_ids.len % 16)
        return TG_EPARSE;
    ntraces = b->trace_ids.len / 16;
    r.lens = tg_arena_alloc(a, (b->n_strings + 1) * sizeof(*r.lens));
    if (!r.lens)
        return TG_ENOMEM;
    for (size_t i = 0; i < b->n_strings; i++)
        r.lens[i] = strlen(b->strings[i]);
    for (size_t g = 0; g < b->n_spans; g++)
        total += b->spans[g]->n_spans;
    all = tg_arena_alloc(a, (total + 1) * sizeof(*all));
    if (!all)
        return TG_ENOMEM;
    for (size_t g = 0; g < b->n_spans; g++) {
        int64_t start = 0;
        for (size_t j = 0; j < b->spans[g]->n_spans; j++) {
            Tollgate__V1__SpanSummary *sp = b->spans[g]->spans[j];
            all[k++] = sp;
            if (!sp->span_id.len) {
                if (b->span_ids.len - spos < 8)
                    return TG_EPARSE;
                sp->span_id.data = b->span_ids.data + spos;
                sp->span_id.len = 8;
                spos += 8;
            }
            if (!sp->trace_id.len) {
                trace += sp->trace_ref_delta;
                if (trace < 0 || (size_t)trace >= ntraces)
                    return TG_EPARSE;
                sp->trace_id.data = b->trace_ids.data + (size_t)trace * 16;
                sp->trace_id.len = 16;
            }
            /* Wrapping arithmetic: a hostile delta makes a wrong time, not
             * undefined behaviour. */
            start = (int64_t)((uint64_t)start + (uint64_t)sp->start_delta_ns);
            sp->start_offset_ns = start;
            if (sp->name_ref && (rc = resolve_str(&r, sp->name_ref, &sp->name)) != 0)
                return rc;
            for (size_t i = 0; i < sp->n_attributes; i++)
                if ((rc = resolve_kv(&r, sp->attributes[i])) != 0)
                    return rc;
            sp->trace_ref_delta = 0;
            sp->start_delta_ns = 0;
            sp->name_ref = 0;
        }
    }
    /* Parents last: a parent may come later in batch order. */
    for (k = 0; k < total; k++) {
        Tollgate__V1__SpanSummary *sp = all[k];
        int64_t p;
        if (!sp->parent_delta)
            continue;
        p = (int64_t)k - (int64_t)sp->parent_delta;
        if (p < 0 || (size_t)p >= total || all[p]->span_id.len != 8)
            return TG_EPARSE;
        sp->parent_span_id = all[p]->span_id;
        sp->parent_delta = 0;
    }
    /* Every column used up exactly: one batch has one encoding. */
    if (spos != b->span_ids.len || r.hpos != b->hashes.len)
        return TG_EPARSE;
    b->n_strings = 0;
    b->strings = NULL;
    b->trace_ids.len = 0;
    b->trace_ids.data = NULL;
    b->span_ids.len = 0;
    b->span_ids.data = NULL;
    b->hashes.len = 0;
    b->hashes.data = NULL;
    return 0;
}
