/* Classification: one walk over an OTLP request, one scan of each value.
 *
 * The walk visits every message through its descriptor. Places are where a
 * value lives: every string field (by the address of its char * slot), every
 * AnyValue at any depth (strings, numbers in decimal, bytes, and arrays and
 * key-value lists as wholes), and every attribute key. Each place is
 * scanned once by the built-in detectors a rule enables there and by the
 * policy's custom patterns; attribute keys (and URL query parameter names)
 * are matched against key rules once per distinct key per request.
 *
 * What comes out, all in the caller's arena:
 *  - findings: (place, byte range, class, rule, detector), in walk order;
 *  - a pointer table: for each place with findings, its findings; for each
 *    message on the path to a finding, a "dirty" mark (views copy those and
 *    share everything else); for each record (resource, scope, span, log
 *    record, metric, data point), the classes found in its own places, so a
 *    view can keep a whole record local without looking inside it.
 *
 * Fail closed: a value nested deeper than the policy's max_depth, or one on
 * which a pattern hits its match limit, becomes one whole-value finding of
 * class rules.unclassifiable. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "tg_codec.h"
#include "tg_otlp.h"
#include "tg_utf8.h"

#define KEYCACHE_CAP 512
/* Clean values remembered per classification (a power of two). */
#define MEMO_CAP 4096
/* Values shorter than this are scanned: the lookup would cost as much. */
#define MEMO_MIN 8
/* A request gets a memo once it has this many places. */
#define MEMO_AFTER 256

/* A value that was scanned and held nothing, in its context: scanning the
 * same bytes again in the same context finds nothing again. */
typedef struct memo_ent {
    const char *text; /* in the classified message: lives as long as the scan */
    uint32_t len;
    uint32_t epoch;
    const tg_keyinfo *ki;
    uint16_t pflags;
    uint8_t whole;
} memo_ent;

typedef struct cframe {
    const ProtobufCMessage *msg;
    int dirty;
    int unknown;
    int is_record;
    tg_classmask classes;
    int has_classes;
} cframe;

typedef struct cstate {
    const tg_rules_policy *p;
    tg_rules_classification *c;
    tg_arena *arena;
    size_t cap_findings;
    tg_ptab_ent *msgs;
    size_t n_msgs, cap_msgs;
    size_t cap_records;
    cframe *stack;
    int sp, stack_cap;
    int rec_sp; /* innermost record frame, -1 if none */
    /* resource context */
    uint8_t *rule_on; /* bitset over rules; NULL: every rule is on */
    uint64_t res_mask[2];
    /* current place */
    uintptr_t place;
    uint32_t ordinal;
    uint16_t pflags;
    const tg_keyinfo *ki;
    int whole_value; /* the place is an attribute's whole scalar value */
    const char *text;
    size_t text_len;
    size_t off;       /* offset of `text` in the place's value (sub-scans) */
    const char *full; /* the whole value, for keyword windows */
    size_t full_len;
    int whole_on_hit; /* sub-scan of a URL parameter: a hit marks [wa, wb) */
    size_t wa, wb;
    /* scan of the percent-decoded value: decoded offsets map to raw ones */
    const uint32_t *urlmap;
    const char *url_raw, *url_dec;
    uint32_t n_places;
    pcre2_match_data *md;
    pcre2_general_context *gctx;
    int err;
    uint64_t kwbits;  /* keyword groups spotted in the current value */
    uint64_t seen[4]; /* non-alphanumeric bytes present in the current value */
    /* replay (decode): findings come from a stored classification */
    const tg_finding *replay;
    size_t n_replay, rpos;
    /* clean values seen in this request; epoch changes with the resource
     * context (which rules are on) */
    memo_ent *memo;
    uint32_t epoch;
    int memo_tried;
} cstate;

/* ---- small utilities ----------------------------------------------------------------
 */

static void *arena_malloc(PCRE2_SIZE size, void *data)
{
    return tg_arena_alloc(data, size);
}

static void arena_free(void *ptr, void *data)
{
    (void)ptr;
    (void)data;
}

/* Attribute keys, eight bytes at a time. */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ULL, w;

    while (n >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    if (n) {
        w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static size_t fmt_i64(int64_t v, char *buf)
{
    char tmp[24];
    size_t k = 0, n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[n++] = '-';
    while (k)
        buf[n++] = tmp[--k];
    buf[n] = '\0';
    return n;
}

/* The decimal text of an AnyValue number, as classification and views both
 * see it. Doubles count only when they hold an integer (an id stored as a
 * double); fractions are measurements. */
size_t tg_rules__num_text(const tg_otlp_any *v, char *buf)
{
    if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
        return fmt_i64(v->int_value, buf);
    if (v->value_case ==
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE) {
        double d = v->double_value;
        if (isfinite(d) && d == floor(d) && fabs(d) < 9e18)
            return fmt_i64((int64_t)d, buf);
    }
    buf[0] = '\0';
    return 0;
}

/* ---- the pointer table
 * ------------------------------------------------------------------- */

static uint64_t ptr_hash(uintptr_t k)
{
    uint64_t x = (uint64_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

const tg_ptab_ent *tg_rules__ptab_get(const tg_rules_classification *c, uintptr_t key)
{
    size_t mask, i;

    if (!c->tab_cap)
        return NULL;
    mask = c->tab_cap - 1;
    for (i = ptr_hash(key) & mask;; i = (i + 1) & mask) {
        if (c->tab[i].key == key)
            return &c->tab[i];
        if (!c->tab[i].key)
            return NULL;
    }
}

static tg_ptab_ent *ptab_put(tg_rules_classification *c, uintptr_t key)
{
    size_t mask = c->tab_cap - 1, i;

    for (i = ptr_hash(key) & mask;; i = (i + 1) & mask) {
        if (c->tab[i].key == key)
            return &c->tab[i];
        if (!c->tab[i].key) {
            c->tab[i].key = key;
            return &c->tab[i];
        }
    }
}

/* ---- key information -----------------------------------------------------------------
 */

static int rule_on(const cstate *st, unsigned r)
{
    return !st->rule_on || ((st->rule_on[r >> 3] >> (r & 7)) & 1);
}

void tg_rules__key_compute(const tg_rules_policy *p, const char *key, size_t len,
                           tg_keyinfo *ki, tg_arena *a)
{
    uint16_t buf[64];
    size_t n = 0;
    const tg_keyrule_slot *ex;

    memset(ki, 0, sizeof(*ki));
    ki->key = key;
    ki->len = (uint32_t)len;
    ex = tg_rules__exact_find(p, key, len);
    if (ex)
        for (size_t i = 0; i < ex->n && n < 64; i++)
            buf[n++] = ex->rules[i];
    for (size_t i = 0; i < p->n_pattern_rules && n < 64; i++) {
        const tg_rule *r = &p->rules[p->pattern_rules[i]];
        tg_kmlist pats = {0};
        int dup = 0;
        /* only the glob and regex matchers: exact ones were looked up */
        for (size_t k = 0; k < r->keys.n; k++) {
            if (r->keys.v[k].kind == TG_KM_EXACT)
                continue;
            pats.v = &r->keys.v[k];
            pats.n = 1;
            if (tg_rules__km_match(&pats, key, len)) {
                for (size_t j = 0; j < n; j++)
                    dup |= buf[j] == p->pattern_rules[i];
                if (!dup)
                    buf[n++] = p->pattern_rules[i];
                break;
            }
        }
    }
    if (n) {
        ki->rules = tg_arena_alloc(a, n * sizeof(uint16_t));
        if (ki->rules) {
            memcpy(ki->rules, buf, n * sizeof(uint16_t));
            ki->n_rules = (uint16_t)n;
        }
    }
    if (p->has_scoped) {
        for (size_t v = 0; v < p->n_vds; v++) {
            const tg_valdet *vd = p->vds[v];
            if (!vd->scope.n || !tg_rules__km_match(&vd->scope, key, len))
                continue;
            if (!ki->scoped_vd) {
                ki->scoped_vd = tg_arena_calloc(a, (p->n_vds + 7) / 8);
                if (!ki->scoped_vd)
                    return;
            }
            ki->scoped_vd[v >> 3] |= (uint8_t)(1u << (v & 7));
            if (vd->builtin >= 0)
                ki->scope_dets[vd->builtin >> 6] |= (uint64_t)1 << (vd->builtin & 63);
        }
    }
    for (size_t d = 0; d < p->n_dests; d++)
        if (p->dests[d].allow_list && tg_rules__km_match(&p->dests[d].allow, key, len))
            ki->allow |= (uint64_t)1 << d;
    for (size_t i = 0; i < p->n_custom; i++) {
        const tg_valdet *vd = p->custom[i];
        if (vd->kwgroup >= 0 &&
            tg_keywords_in((const char *const *)vd->kw, vd->kwlen, vd->nkw, key, len))
            ki->kwgroups |= (uint64_t)1 << vd->kwgroup;
    }
}

const tg_keyinfo *tg_rules__key_lookup(const tg_rules_classification *c, const char *key,
                                       size_t len)
{
    uint32_t h = hash_bytes(key, len);
    size_t mask = c->keys_cap - 1;

    for (size_t i = h & mask, probes = 0; probes < c->keys_cap;
         i = (i + 1) & mask, probes++) {
        const tg_keyinfo *ki = &c->keys[i];
        if (!ki->key)
            return NULL;
        if (ki->hash == h && ki->len == len && !memcmp(ki->key, key, len))
            return ki;
    }
    return NULL;
}

static const tg_keyinfo *key_info(cstate *st, const char *key, size_t len)
{
    tg_rules_classification *c = st->c;
    uint32_t h = hash_bytes(key, len);
    size_t mask = c->keys_cap - 1;
    tg_keyinfo *ki;

    for (size_t i = h & mask, probes = 0; probes < c->keys_cap;
         i = (i + 1) & mask, probes++) {
        ki = &c->keys[i];
        if (!ki->key) {
            if (c->n_keys * 4 >= c->keys_cap * 3)
                break; /* full enough: compute without caching */
            tg_rules__key_compute(st->p, key, len, ki, st->arena);
            ki->hash = h;
            c->n_keys++;
            return ki;
        }
        if (ki->hash == h && ki->len == len && !memcmp(ki->key, key, len))
            return ki;
    }
    ki = tg_arena_alloc(st->arena, sizeof(*ki));
    if (!ki)
        return NULL;
    tg_rules__key_compute(st->p, key, len, ki, st->arena);
    ki->hash = h;
    return ki;
}

/* ---- findings and frames
 * --------------------------------------------------------------- */

static void mark_dirty(cstate *st)
{
    for (int i = st->sp - 1; i >= 0 && !st->stack[i].dirty; i--)
        st->stack[i].dirty = 1;
}

static void add_finding(cstate *st, uintptr_t place, uint32_t ordinal, size_t a, size_t b,
                        unsigned cls, unsigned rule, unsigned det, unsigned flags)
{
    tg_rules_classification *c = st->c;
    tg_finding *f;

    if (st->err)
        return;
    if (c->n_findings >= st->p->max_findings) {
        st->err = TG_ETOO_BIG;
        return;
    }
    c->findings = tg_rules__grow(st->arena, c->findings, sizeof(*c->findings),
                                 c->n_findings, &st->cap_findings);
    if (!c->findings) {
        st->err = TG_ENOMEM;
        return;
    }
    f = &c->findings[c->n_findings++];
    f->place = place;
    f->start = (uint32_t)(a > UINT32_MAX ? UINT32_MAX : a);
    f->end = (uint32_t)(b > UINT32_MAX ? UINT32_MAX : b);
    f->cls = (uint16_t)cls;
    f->rule = (uint16_t)rule;
    f->det = (uint16_t)det;
    f->flags = (uint16_t)flags;
    f->node = 0;
    f->ordinal = ordinal;
    tg_cm_set(&c->all, cls);
    c->stats.findings++;
    if (flags & TG_F_FAILED)
        c->stats.failclosed++;
    if (st->rec_sp >= 0) {
        tg_cm_set(&st->stack[st->rec_sp].classes, cls);
        st->stack[st->rec_sp].has_classes = 1;
    }
    mark_dirty(st);
}

static void fail_closed(cstate *st, uintptr_t place, uint32_t ordinal)
{
    add_finding(st, place, ordinal, 0, UINT32_MAX, st->p->error_class, 0, TG_DET_ERROR,
                TG_F_WHOLE | TG_F_FAILED);
}

static int push(cstate *st, const ProtobufCMessage *m, int is_record)
{
    cframe *f;

    if (st->sp == st->stack_cap) {
        int nc = st->stack_cap * 2;
        cframe *ns = tg_arena_alloc(st->arena, (size_t)nc * sizeof(*ns));
        if (!ns)
            return TG_ENOMEM;
        memcpy(ns, st->stack, (size_t)st->sp * sizeof(*ns));
        st->stack = ns;
        st->stack_cap = nc;
    }
    f = &st->stack[st->sp++];
    memset(f, 0, sizeof(*f));
    f->msg = m;
    f->is_record = is_record;
    if (m->n_unknown_fields) {
        /* unknown fields would be re-encoded verbatim: the view strips them */
        f->unknown = 1;
        mark_dirty(st);
    }
    return 0;
}

static int pop(cstate *st, int prev_rec)
{
    cframe *f = &st->stack[--st->sp];
    tg_ptab_ent *e;

    st->rec_sp = prev_rec;
    if (!f->dirty && !f->unknown && !f->has_classes)
        return 0;
    st->msgs =
        tg_rules__grow(st->arena, st->msgs, sizeof(*st->msgs), st->n_msgs, &st->cap_msgs);
    if (!st->msgs)
        return TG_ENOMEM;
    e = &st->msgs[st->n_msgs++];
    e->key = TG_PT(f->msg, TG_PT_MSG);
    e->marks = (f->dirty ? TG_M_DIRTY : 0) | (f->unknown ? TG_M_UNKNOWN | TG_M_DIRTY : 0);
    e->first = 0;
    e->count = 0;
    if (f->has_classes) {
        tg_rules_classification *c = st->c;
        c->records = tg_rules__grow(st->arena, c->records, sizeof(*c->records),
                                    c->n_records, &st->cap_records);
        if (!c->records)
            return TG_ENOMEM;
        c->records[c->n_records].classes = f->classes;
        e->marks |= TG_M_RECORD | TG_M_DIRTY;
        e->first = (uint32_t)c->n_records++;
    }
    return 0;
}

/* ---- scanning a value
 * ------------------------------------------------------------------ */

static int kw_near(const cstate *st, size_t start, uint32_t window, const char *const *kw,
                   const uint8_t *kwlen, size_t nkw)
{
    size_t a;

    if (!kwlen) /* a detector's built-in list: lengths taken where needed */
        for (nkw = 0; kw[nkw] && nkw < 64; nkw++)
            ;
    if (!nkw)
        return 0;
    a = start > window ? start - window : 0;
    if (tg_keywords_from(kw, kwlen, nkw, st->full, start, a))
        return 1;
    return st->ki && tg_keywords_in(kw, kwlen, nkw, st->ki->key, st->ki->len);
}

static int scoped_ok(const cstate *st, const tg_valdet *vd)
{
    return !vd->scope.n || (st->ki && st->ki->scoped_vd &&
                            ((st->ki->scoped_vd[vd->index >> 3] >> (vd->index & 7)) & 1));
}

static void record_hit(cstate *st, size_t a, size_t b, unsigned cls, unsigned rule,
                       unsigned det)
{
    if (st->whole_on_hit)
        add_finding(st, st->place, st->ordinal, st->wa, st->wb, cls, rule, det,
                    st->pflags);
    else if (st->urlmap) {
        size_t ra = st->urlmap[a], rb = st->urlmap[b];
        unsigned fl = st->pflags;
        /* a match whose raw bytes are its decoded bytes needs no decoding */
        if (rb - ra != b - a || memcmp(st->url_raw + ra, st->url_dec + a, b - a))
            fl |= TG_F_URLENC;
        add_finding(st, st->place, st->ordinal, ra, rb, cls, rule, det, fl);
    } else
        add_finding(st, st->place, st->ordinal, a + st->off, b + st->off, cls, rule, det,
                    st->pflags);
}

/* A weak hit without a keyword still counts when it is the whole of an
 * attribute value and its detector says so for this site (tg_detector's
 * `whole`). A phone number must be a string written with separators; its
 * libphonenumber check for the region follows in on_hit. */
static int whole_ok(const cstate *st, unsigned det, const tg_det_hit *hit)
{
    const tg_detector *d = tg_detectors[det];
    const tg_scanner *sc = &st->p->scanner;
    size_t a = hit->start + st->off, b = hit->end + st->off;

    if (!d->whole || !st->whole_value || st->urlmap || st->whole_on_hit || a != 0 ||
        b != st->full_len)
        return 0;
    if (d->whole == TG_WHOLE_CHECK) /* no country: issued everywhere (cards) */
        return !d->country || (sc->country[0] && !memcmp(d->country, sc->country, 2));
    if (!sc->region[0] || !hit->confirm || (st->pflags & (TG_F_INT | TG_F_DOUBLE)))
        return 0;
    for (size_t i = a; i < b; i++)
        if (!tg_isdigit((unsigned char)st->full[i]))
            return 1;
    return 0;
}

static int on_hit(void *ctx, unsigned det, const tg_det_hit *hit)
{
    cstate *st = ctx;
    const tg_rules_policy *p = st->p;
    int accepted = 0, confirmed = -1;

    for (size_t i = 0; i < p->n_det_inst[det]; i++) {
        const tg_valdet *vd = p->det_inst[det][i];
        int need_kw;

        if (!rule_on(st, vd->rule) || !scoped_ok(st, vd))
            continue;
        need_kw = vd->ctx == TG_CTX_ALWAYS || (vd->ctx == TG_CTX_AUTO && hit->weak);
        if (need_kw) {
            int ok = vd->has_kw ? kw_near(st, hit->start + st->off, vd->window,
                                          (const char *const *)vd->kw, vd->kwlen, vd->nkw)
                                : (tg_detectors[det]->keywords &&
                                   kw_near(st, hit->start + st->off, vd->window,
                                           tg_detectors[det]->keywords, NULL, 0));
            if (!ok && !(vd->ctx == TG_CTX_AUTO && whole_ok(st, det, hit)))
                continue;
        }
        if (hit->confirm && tg_detectors[det]->confirm) {
            /* once per hit, and only past the keyword gate */
            if (confirmed < 0)
                confirmed = tg_detectors[det]->confirm(
                    st->full + hit->start + st->off, hit->end - hit->start,
                    p->scanner.region[0] ? p->scanner.region : NULL);
            if (!confirmed)
                continue;
        }
        record_hit(st, hit->start, hit->end, p->rules[vd->rule].cls, vd->rule, det);
        accepted = 1;
    }
    return accepted;
}

/* May [s, s+n) contain byte c (either case: a pattern may be caseless)?
 * Punctuation is answered from the scan's bitmap, letters and digits by
 * memchr. */
static int may_have(const cstate *st, const char *s, size_t n, int c)
{
    if (c < 0)
        return 1;
    if (!tg_isalnum((unsigned char)c))
        return (int)((st->seen[c >> 6] >> (c & 63)) & 1);
    if (memchr(s, c, n))
        return 1;
    if (tg_isalpha((unsigned char)c))
        return memchr(s, tg_isupper((unsigned char)c) ? c + 32 : c - 32, n) != NULL;
    return 0;
}

static int custom_validate(const tg_valdet *vd, const char *s, size_t n)
{
    char buf[64];
    size_t k = 0;

    if (vd->validate == TG_VAL_NONE)
        return 1;
    for (size_t i = 0; i < n && k < sizeof(buf); i++) {
        unsigned char c = (unsigned char)s[i];
        if (vd->validate == TG_VAL_LUHN ? tg_isdigit(c) : tg_isalnum(c))
            buf[k++] = (char)(tg_islower(c) ? c - 32 : c);
    }
    if (vd->validate == TG_VAL_LUHN)
        return tg_luhn_ok(buf, k);
    return k >= 5 && tg_iban_mod97_ok(buf, k);
}

/* Keywords are whole words at a word start: "mrn" in "MRN: 123" or
 * "patient_mrn", not in "smrna". */
static void spot(void *ctx, const char *s, size_t n, size_t pos, size_t run_end)
{
    cstate *st = ctx;
    const tg_rules_policy *p = st->p;
    unsigned char c = tg_lower((unsigned char)s[pos]);

    for (unsigned i = p->kwoff[c]; i < p->kwoff[c + 1]; i++) {
        const struct tg_kwent *k = &p->kwents[i];
        size_t j = 1;
        if (run_end - pos != k->word || pos + k->len > n)
            continue;
        while (j < k->len &&
               tg_lower((unsigned char)s[pos + j]) == (unsigned char)k->kw[j])
            j++;
        if (j == k->len)
            st->kwbits |= (uint64_t)1 << k->group;
    }
}

static void scan_custom(cstate *st, const char *s, size_t n)
{
    const tg_rules_policy *p = st->p;
    int utf = -1;

    for (size_t i = 0; i < p->n_custom && !st->err; i++) {
        const tg_valdet *vd = p->custom[i];
        const pcre2_code *re;
        int need_kw = vd->has_kw && vd->nkw && vd->ctx != TG_CTX_NEVER;
        PCRE2_SIZE at = 0;
        unsigned guard = 0;

        if (!rule_on(st, vd->rule) || !scoped_ok(st, vd) || n < vd->re_minlen)
            continue;
        if (!may_have(st, s, n, vd->re_req) || !may_have(st, s, n, vd->re_first))
            continue;
        if (need_kw) {
            int seen;
            if (vd->kwgroup >= 0)
                seen = (int)(((st->kwbits | (st->ki ? st->ki->kwgroups : 0)) >>
                              vd->kwgroup) &
                             1);
            else
                seen = tg_keywords_in((const char *const *)vd->kw, vd->kwlen, vd->nkw, s,
                                      n) ||
                       (st->ki && tg_keywords_in((const char *const *)vd->kw, vd->kwlen,
                                                 vd->nkw, st->ki->key, st->ki->len));
            if (!seen)
                continue;
        }
        if (utf < 0)
            utf = tg_utf8_valid(s, n); /* once, and only when a pattern runs */
        re = utf ? vd->re : vd->re_bytes;
        while (at <= n && guard++ < 100000) {
            int rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, utf ? PCRE2_NO_UTF_CHECK : 0,
                                 st->md, p->mctx);
            PCRE2_SIZE *ov;
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) {
                /* match limit, JIT stack, depth: the value is unclassifiable */
                fail_closed(st, st->place, st->ordinal);
                break;
            }
            ov = pcre2_get_ovector_pointer(st->md);
            if (ov[1] <= ov[0]) {
                at = ov[0] + 1;
                continue;
            }
            {
                /* with a capture group, the group is the value (the rest is
                 * context such as a label) */
                PCRE2_SIZE a = ov[0], b = ov[1];
                if (rc > 1 && ov[2] != PCRE2_UNSET && ov[3] > ov[2]) {
                    a = ov[2];
                    b = ov[3];
                }
                if (custom_validate(vd, s + a, b - a) &&
                    (!need_kw ||
                     kw_near(st, a + st->off, vd->window, (const char *const *)vd->kw,
                             vd->kwlen, vd->nkw)))
                    record_hit(st, a, b, p->rules[vd->rule].cls, vd->rule,
                               TG_DET_CUSTOM | (unsigned)i);
            }
            at = ov[1];
        }
    }
}

static void scan_raw(cstate *st, const char *s, size_t n)
{
    uint64_t mask[2] = {st->res_mask[0], st->res_mask[1]};

    if (st->ki) {
        mask[0] |= st->ki->scope_dets[0];
        mask[1] |= st->ki->scope_dets[1];
    }
    st->kwbits = 0;
    memset(st->seen, 0, sizeof(st->seen));
    if (mask[0] | mask[1] || st->p->n_custom)
        tg_scan(&st->p->scanner, mask, s, n, on_hit, st->p->kwents_n ? spot : NULL, st,
                st->p->n_custom ? st->seen : NULL);
    if (st->p->n_custom && !st->err)
        scan_custom(st, s, n);
}

/* URL query strings: parameter names are keys (a key rule for "token" or
 * "email" classifies the parameter's value), and percent-encoded values are
 * decoded and scanned, a hit marking the whole encoded value. */
static void scan_query(cstate *st, const char *s, size_t n)
{
    const char *q = memchr(s, '?', n);
    size_t i;

    if (!q)
        return;
    i = (size_t)(q - s) + 1;
    while (i < n && !st->err) {
        size_t k0 = i, k1, v0, v1;
        while (i < n && s[i] != '=' && s[i] != '&' && s[i] != '#' &&
               !(tg_cls[(unsigned char)s[i]] & TG_C_SPACE))
            i++;
        k1 = i;
        if (i >= n || s[i] != '=') {
            if (i < n && s[i] == '&') {
                i++;
                continue;
            }
            break;
        }
        v0 = ++i;
        while (i < n && s[i] != '&' && s[i] != '#' &&
               !(tg_cls[(unsigned char)s[i]] & TG_C_SPACE))
            i++;
        v1 = i;
        if (k1 > k0 && v1 > v0 && k1 - k0 <= 128) {
            const tg_keyinfo *ki = key_info(st, s + k0, k1 - k0);
            for (size_t r = 0; ki && r < ki->n_rules; r++)
                if (rule_on(st, ki->rules[r]))
                    add_finding(st, st->place, st->ordinal, v0 + st->off, v1 + st->off,
                                st->p->rules[ki->rules[r]].cls, ki->rules[r], TG_DET_KEY,
                                st->pflags);
            if (memchr(s + v0, '%', v1 - v0) && v1 - v0 <= 2048) {
                char dec[2048];
                size_t dn = 0;
                for (size_t j = v0; j < v1; j++) {
                    if (s[j] == '%' && j + 2 < v1 && tg_hex_digit(s[j + 1]) >= 0 &&
                        tg_hex_digit(s[j + 2]) >= 0) {
                        dec[dn++] =
                            (char)(tg_hex_digit(s[j + 1]) << 4 | tg_hex_digit(s[j + 2]));
                        j += 2;
                    } else {
                        dec[dn++] = s[j] == '+' ? ' ' : s[j];
                    }
                }
                {
                    const char *sf = st->full;
                    size_t sfl = st->full_len, soff = st->off;
                    st->whole_on_hit = 1;
                    st->wa = v0 + st->off;
                    st->wb = v1 + st->off;
                    st->full = dec;
                    st->full_len = dn;
                    st->off = 0;
                    scan_raw(st, dec, dn);
                    st->whole_on_hit = 0;
                    st->full = sf;
                    st->full_len = sfl;
                    st->off = soff;
                }
            }
        }
        if (i < n && s[i] == '&')
            i++;
        else
            break;
    }
}

/* Percent-encoded text (URL paths as well as queries, nested encodings up
 * to TG_URL_ROUNDS) is decoded and scanned again; findings map back to the
 * raw bytes of the match, so only the match is shaped. */
static void scan_urldecoded(cstate *st, const char *s, size_t n)
{
    char *dec;
    size_t dn;
    uint32_t *map;
    const char *sf = st->full;
    size_t sfl = st->full_len;

    if (tg_url_decode_nested(st->arena, s, n, &dec, &dn, &map)) {
        st->err = TG_ENOMEM;
        return;
    }
    st->urlmap = map;
    st->url_raw = s;
    st->url_dec = dec;
    st->full = dec;
    st->full_len = dn;
    st->off = 0;
    scan_raw(st, dec, dn);
    st->urlmap = NULL;
    st->full = sf;
    st->full_len = sfl;
}

/* Telemetry repeats itself: the same routes, methods, user agents, SQL
 * texts and log templates come back in span after span of one request.
 * Every detector is a function of the value's bytes, its key, the resource
 * context and the place's flags, so a value found clean once is clean
 * again when all four are the same, and need not be scanned. Only clean
 * results are remembered (a value with a finding is scanned every time,
 * so its findings are recorded at its own place). */
/* The memo's hash reads four words of the value, not all of it: a
 * collision only costs a lookup, because a hit is confirmed by comparing
 * every byte. n >= MEMO_MIN (8). */
static uint64_t memo_hash(const char *s, size_t n)
{
    uint64_t w[4], x = (uint64_t)n * 0x9e3779b97f4a7c15ULL;

    memcpy(&w[0], s, 8);
    memcpy(&w[1], s + n / 3 - (n / 3 >= 8 ? 8 : n / 3), 8);
    memcpy(&w[2], s + (2 * n) / 3 - ((2 * n) / 3 >= 8 ? 8 : (2 * n) / 3), 8);
    memcpy(&w[3], s + n - 8, 8);
    for (int i = 0; i < 4; i++) {
        x = (x ^ w[i]) * 0xff51afd7ed558ccdULL;
        x ^= x >> 32;
    }
    return x;
}

static memo_ent *memo_slot(cstate *st, const char *s, size_t n, uint32_t *h)
{
    uint64_t x = memo_hash(s, n);

    x ^= (uint64_t)(uintptr_t)st->ki * 0x9e3779b97f4a7c15ULL;
    x ^= ((uint64_t)st->epoch << 17) ^ ((uint64_t)st->pflags << 3);
    x ^= x >> 29;
    *h = (uint32_t)x;
    return &st->memo[x & (MEMO_CAP - 1)];
}

static int memo_clean(const memo_ent *e, const cstate *st, const char *s, size_t n)
{
    return e->text && e->len == n && e->epoch == st->epoch && e->ki == st->ki &&
           e->pflags == st->pflags && e->whole == st->whole_value &&
           (e->text == s || !memcmp(e->text, s, n));
}

static _Atomic int memo_on = 1;

#define TG_URL_MAX (1u << 20) /* longer values are not decoded */

void tg_rules_set_value_memo(int on)
{
    memo_on = on != 0;
}

/* `stable`: s lives in the classified message (not a scratch buffer), so
 * the memo may keep a pointer to it. */
static void scan_text(cstate *st, const char *s, size_t n, int stable)
{
    memo_ent *e = NULL;
    size_t before;
    uint32_t h;

    if (st->replay)
        return; /* decode: the findings are known */
    /* Only requests big enough to repeat themselves get a memo. */
    if (!st->memo_tried && st->n_places >= MEMO_AFTER && memo_on) {
        st->memo_tried = 1;
        st->memo = tg_arena_calloc(st->arena, MEMO_CAP * sizeof(*st->memo));
    }
    if (stable && st->memo && n >= MEMO_MIN && n <= UINT32_MAX) {
        e = memo_slot(st, s, n, &h);
        if (memo_clean(e, st, s, n)) {
            st->c->stats.bytes_remembered += n;
            return;
        }
    }
    before = st->c->n_findings;
    st->full = s;
    st->full_len = n;
    st->off = 0;
    st->c->stats.bytes_scanned += n;
    scan_raw(st, s, n);
    if (!st->err && n > 2 && memchr(s, '?', n))
        scan_query(st, s, n);
    if (!st->err && n > 2 && n <= TG_URL_MAX && memchr(s, '%', n) &&
        tg_url_has_escape(s, n))
        scan_urldecoded(st, s, n);
    if (e && !st->err && st->c->n_findings == before)
        *e = (memo_ent){s,      (uint32_t)n, st->epoch,
                        st->ki, st->pflags,  (uint8_t)st->whole_value};
}

static void begin_place(cstate *st, uintptr_t place, uint16_t flags)
{
    st->place = place;
    st->ordinal = st->n_places++;
    st->pflags = flags;
    st->whole_value = 0;
    st->c->stats.places++;
    while (st->replay && st->rpos < st->n_replay &&
           st->replay[st->rpos].ordinal == st->ordinal) {
        const tg_finding *f = &st->replay[st->rpos++];
        add_finding(st, place, f->ordinal, f->start, f->end, f->cls, f->rule, f->det,
                    f->flags);
    }
}

/* ---- the walk
 * ---------------------------------------------------------------------------- */

static int walk_msg(cstate *st, const ProtobufCMessage *m);
static int walk_kvs(cstate *st, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
                    size_t n, unsigned depth);

static int walk_any(cstate *st, const tg_otlp_any *v, const tg_keyinfo *ki,
                    unsigned depth)
{
    char num[32];
    size_t nl;
    int rc, prev_rec = st->rec_sp;

    if (!v)
        return 0;
    begin_place(st, TG_PT(v, TG_PT_VALUE), 0);
    if (depth > st->p->max_depth) {
        /* deeper than we look: the whole value is unclassifiable */
        if ((rc = push(st, &v->base, 0)))
            return rc;
        if (!st->replay)
            fail_closed(st, st->place, st->ordinal);
        return pop(st, prev_rec);
    }
    if ((rc = push(st, &v->base, 0)))
        return rc;
    st->ki = ki;
    /* an attribute's (or array element's) scalar, not a log body */
    st->whole_value = ki != NULL;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        if (v->string_value)
            scan_text(st, v->string_value, strlen(v->string_value), 1);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        if (v->bytes_value.len)
            scan_text(st, (const char *)v->bytes_value.data, v->bytes_value.len, 1);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        nl = tg_rules__num_text(v, num);
        if (nl) {
            st->pflags =
                v->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
                    ? TG_F_INT
                    : TG_F_DOUBLE;
            scan_text(st, num, nl, 0); /* num is scratch */
        }
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        if (v->array_value) {
            const Opentelemetry__Proto__Common__V1__ArrayValue *arr = v->array_value;
            if ((rc = push(st, &arr->base, 0)))
                return rc;
            for (size_t i = 0; i < arr->n_values && !st->err; i++)
                if ((rc = walk_any(st, arr->values[i], ki, depth + 1)))
                    return rc;
            if ((rc = pop(st, prev_rec)))
                return rc;
        }
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        if (v->kvlist_value) {
            const Opentelemetry__Proto__Common__V1__KeyValueList *kl = v->kvlist_value;
            if ((rc = push(st, &kl->base, 0)))
                return rc;
            if ((rc = walk_kvs(st, kl->values, kl->n_values, depth + 1)))
                return rc;
            if ((rc = pop(st, prev_rec)))
                return rc;
        }
        break;
    default:
        break;
    }
    return pop(st, prev_rec);
}

static int walk_kvs(cstate *st, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
                    size_t n, unsigned depth)
{
    int rc, prev_rec = st->rec_sp;

    for (size_t i = 0; i < n && !st->err; i++) {
        const tg_otlp_kv *kv = kvs[i];
        const char *key = kv->key ? kv->key : "";
        size_t klen = strlen(key);
        const tg_keyinfo *ki;

        if ((rc = push(st, &kv->base, 0)))
            return rc;
        ki = key_info(st, key, klen);
        if (!ki)
            return TG_ENOMEM;
        /* the key itself can carry data (a map keyed by e-mail) */
        begin_place(st, TG_PT(kv, TG_PT_KEY), 0);
        st->ki = NULL;
        if (klen)
            scan_text(st, key, klen, 1);
        if (kv->value && !st->replay) {
            /* key rules classify the whole value, containers included */
            uint32_t vord = st->n_places; /* the ordinal walk_any will give it */
            for (size_t r = 0; r < ki->n_rules; r++)
                if (rule_on(st, ki->rules[r]))
                    add_finding(st, TG_PT(kv->value, TG_PT_VALUE), vord, 0, UINT32_MAX,
                                st->p->rules[ki->rules[r]].cls, ki->rules[r], TG_DET_KEY,
                                TG_F_WHOLE);
        }
        if (kv->value && (rc = walk_any(st, kv->value, ki, depth)))
            return rc;
        if ((rc = pop(st, prev_rec)))
            return rc;
    }
    return 0;
}

/* Which rules apply under this resource (service, environment, attributes). */
static const char *res_attr(const ProtobufCMessage *res, const char *key, char *buf)
{
    const Opentelemetry__Proto__Resource__V1__Resource *r = (const void *)res;

    for (size_t i = 0; r && i < r->n_attributes; i++) {
        const tg_otlp_kv *kv = r->attributes[i];
        if (!kv->key || strcmp(kv->key, key) || !kv->value)
            continue;
        if (kv->value->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
            return kv->value->string_value;
        if (tg_rules__num_text(kv->value, buf))
            return buf;
        if (kv->value->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE)
            return kv->value->bool_value ? "true" : "false";
    }
    return NULL;
}

static int cond_ok(const tg_kmlist *l, const char *v)
{
    return v && tg_rules__km_match(l, v, strlen(v));
}

static int set_resource(cstate *st, const ProtobufCMessage *res)
{
    const tg_rules_policy *p = st->p;
    char buf[32];

    st->res_mask[0] = p->unscoped[0];
    st->res_mask[1] = p->unscoped[1];
    if (!p->has_when) {
        st->rule_on = NULL;
        return 0;
    }
    st->epoch++; /* another resource: other rules may be on */
    st->rule_on = tg_arena_calloc(st->arena, (p->n_rules + 7) / 8);
    if (!st->rule_on)
        return TG_ENOMEM;
    for (size_t r = 0; r < p->n_rules; r++) {
        const tg_rule *ru = &p->rules[r];
        int on = 1;
        if (ru->has_when) {
            if (ru->when_service.n)
                on &= cond_ok(&ru->when_service, res_attr(res, "service.name", buf));
            if (on && ru->when_env.n) {
                const char *e = res_attr(res, "deployment.environment.name", buf);
                if (!e)
                    e = res_attr(res, "deployment.environment", buf);
                on &= cond_ok(&ru->when_env, e);
            }
            for (size_t w = 0; on && w < ru->n_when_res; w++)
                on &= cond_ok(&ru->when_res[w].vals,
                              res_attr(res, ru->when_res[w].key, buf));
        }
        if (!on)
            continue;
        st->rule_on[r >> 3] |= (uint8_t)(1u << (r & 7));
        if (ru->has_when)
            for (size_t v = 0; v < ru->n_values; v++) {
                const tg_valdet *vd = ru->values[v];
                if (vd->builtin >= 0 && !vd->scope.n)
                    st->res_mask[vd->builtin >> 6] |= (uint64_t)1 << (vd->builtin & 63);
            }
    }
    return 0;
}

static int walk_msg(cstate *st, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    int kind = tg_otlp_node_kind(d), rc, prev_rec = st->rec_sp;

    if (tg_otlp_is_resource_container(d) &&
        (rc = set_resource(st, tg_otlp_resource_of(m))))
        return rc;
    if ((rc = push(st, m, kind != TG_OTLP_NODE_NONE)))
        return rc;
    if (kind != TG_OTLP_NODE_NONE) {
        st->rec_sp = st->sp - 1;
        st->c->stats.records++;
    }
    for (unsigned i = 0; i < d->n_fields && !st->err; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;

        if (!tg_otlp_field_present(m, f))
            continue;
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t n = *(const size_t *)(base + f->quantifier_offset);
                char *const *arr = *(char *const *const *)(base + f->offset);
                for (size_t k = 0; k < n; k++) {
                    if (!arr[k] || !*arr[k])
                        continue;
                    begin_place(st, TG_PT(&arr[k], TG_PT_VALUE), 0);
                    st->ki = NULL;
                    scan_text(st, arr[k], strlen(arr[k]), 1);
                }
            } else {
                char *const *slot = (char *const *)(base + f->offset);
                if (*slot && **slot) {
                    begin_place(st, TG_PT(slot, TG_PT_VALUE), 0);
                    st->ki = NULL;
                    scan_text(st, *slot, strlen(*slot), 1);
                }
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessageDescriptor *sd = f->descriptor;
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t n = *(const size_t *)(base + f->quantifier_offset);
                ProtobufCMessage *const *arr =
                    *(ProtobufCMessage *const *const *)(base + f->offset);
                if (tg_otlp_is_kv(sd)) {
                    rc = walk_kvs(
                        st, (Opentelemetry__Proto__Common__V1__KeyValue *const *)arr, n,
                        0);
                } else if (tg_otlp_is_anyvalue(sd)) {
                    rc = 0;
                    for (size_t k = 0; k < n && !rc; k++)
                        rc = walk_any(st, (const tg_otlp_any *)arr[k], NULL, 0);
                } else {
                    rc = 0;
                    for (size_t k = 0; k < n && !rc && !st->err; k++)
                        if (arr[k])
                            rc = walk_msg(st, arr[k]);
                }
            } else {
                const ProtobufCMessage *sub =
                    *(ProtobufCMessage *const *)(base + f->offset);
                if (!sub)
                    continue;
                if (tg_otlp_is_anyvalue(sd))
                    rc = walk_any(st, (const tg_otlp_any *)sub, NULL, 0);
                else if (tg_otlp_is_kv(sd))
                    rc = walk_kvs(
                        st, (Opentelemetry__Proto__Common__V1__KeyValue *const *)&sub, 1,
                        0);
                else
                    rc = walk_msg(st, sub);
            }
            if (rc)
                return rc;
        }
    }
    return pop(st, prev_rec);
}

/* ---- build the tables
 * ---------------------------------------------------------------------- */

static int cmp_finding(const void *a, const void *b)
{
    const tg_finding *x = a, *y = b;
    if (x->ordinal != y->ordinal)
        return x->ordinal < y->ordinal ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

int tg_rules__build_tables(tg_rules_classification *c, tg_ptab_ent *msgs, size_t n_msgs,
                           tg_arena *arena)
{
    size_t groups = 0, cap = 16, need;
    int sorted = 1;

    for (size_t i = 1; i < c->n_findings && sorted; i++)
        sorted = cmp_finding(&c->findings[i - 1], &c->findings[i]) <= 0;
    if (!sorted)
        qsort(c->findings, c->n_findings, sizeof(*c->findings), cmp_finding);
    for (size_t i = 0; i < c->n_findings; i++)
        if (i == 0 || c->findings[i].place != c->findings[i - 1].place)
            groups++;
    need = (n_msgs + groups) * 2;
    while (cap < need)
        cap *= 2;
    c->tab = tg_arena_calloc(arena, cap * sizeof(*c->tab));
    if (!c->tab)
        return TG_ENOMEM;
    c->tab_cap = cap;
    for (size_t i = 0; i < n_msgs; i++) {
        tg_ptab_ent *e = ptab_put(c, msgs[i].key);
        e->marks |= msgs[i].marks;
        if (msgs[i].marks & TG_M_RECORD)
            e->first = msgs[i].first;
    }
    for (size_t i = 0; i < c->n_findings;) {
        size_t j = i + 1;
        tg_ptab_ent *e;
        while (j < c->n_findings && c->findings[j].place == c->findings[i].place)
            j++;
        e = ptab_put(c, c->findings[i].place);
        e->first = (uint32_t)i;
        e->count = (uint32_t)(j - i);
        i = j;
    }
    return 0;
}

int tg_rules__classify(const tg_rules_policy *p, const ProtobufCMessage *msg,
                       tg_arena *arena, const tg_finding *replay, size_t n_replay,
                       tg_rules_classification **out)
{
    tg_rules_classification *c;
    cstate st;
    int rc;

    *out = NULL;
    if (!p || !msg || !tg_otlp_is_request(msg->descriptor))
        return TG_EINVAL;
    c = tg_arena_calloc(arena, sizeof(*c));
    if (!c)
        return TG_ENOMEM;
    c->policy = p;
    c->msg = msg;
    c->keys_cap = KEYCACHE_CAP;
    c->keys = tg_arena_calloc(arena, c->keys_cap * sizeof(*c->keys));
    memset(&st, 0, sizeof(st));
    st.p = p;
    st.c = c;
    st.arena = arena;
    st.rec_sp = -1;
    st.stack_cap = 64;
    st.stack = tg_arena_alloc(arena, (size_t)st.stack_cap * sizeof(*st.stack));
    st.res_mask[0] = p->unscoped[0];
    st.res_mask[1] = p->unscoped[1];
    st.replay = replay;
    st.n_replay = n_replay;
    if (!c->keys || !st.stack)
        return TG_ENOMEM;
    if (p->n_custom && !replay) {
        st.gctx = pcre2_general_context_create(arena_malloc, arena_free, arena);
        st.md = st.gctx ? pcre2_match_data_create(4, st.gctx) : NULL;
        if (!st.md)
            return TG_ENOMEM;
    }
    if (p->has_when && (rc = set_resource(&st, NULL)))
        return rc;
    rc = walk_msg(&st, msg);
    if (!rc)
        rc = st.err;
    if (!rc && replay && st.rpos != n_replay)
        rc = TG_EPARSE; /* findings for places this message does not have */
    if (!rc)
        rc = tg_rules__build_tables(c, st.msgs, st.n_msgs, arena);
    if (rc)
        return rc;
    *out = c;
    return 0;
}

int tg_rules_classify(const tg_rules_policy *p, const ProtobufCMessage *msg,
                      tg_arena *arena, tg_rules_classification **out)
{
    return tg_rules__classify(p, msg, arena, NULL, 0, out);
}

void tg_rules_classification_stats(const tg_rules_classification *c,
                                   tg_rules_classify_stats *out)
{
    *out = c->stats;
}

size_t tg_rules_classification_classes(const tg_rules_classification *c, uint16_t *out,
                                       size_t max)
{
    size_t n = 0;

    for (unsigned i = 0; i < c->policy->n_classes; i++)
        if (tg_cm_has(&c->all, i)) {
            if (n < max)
                out[n] = (uint16_t)i;
            n++;
        }
    return n;
}
