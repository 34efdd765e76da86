/* Views: what one destination may receive, derived from a classification
 * without scanning again.
 *
 * The walk follows the classification's pointer table. A message with no
 * findings below it is shared as is (one table probe decides), unless the
 * destination filters unclassified data (an allow-list or a body rule), in
 * which case its attributes are filtered but nothing is scanned. A record
 * whose classes include one the destination keeps local is withheld whole,
 * and a container (scope, resource group, metric data) emptied that way
 * goes too. Findings inside a value are merged where they overlap, the most
 * restrictive action of the overlapping classes winning, and the value is
 * rebuilt from the untouched text between them. Views never modify the
 * classified message: changed messages are shallow copies in the view's
 * arena, with unknown fields stripped. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules_int.h"
#include "tg_otlp.h"

enum { V_SAME = 0, V_NEW = 1, V_GONE = 2 };

typedef struct vstate {
    const tg_rules_classification *c;
    const tg_rules_policy *p;
    const tg_dest *d;
    size_t di;
    tg_arena *a;
    tg_act_ctx ac;
    const tg_rules_view_opts *opt;
    tg_rules_view_stats st;
    uint64_t *counts; /* [class][action] for this view */
    int walk_all;
    int clean; /* inside a message with nothing below it: no lookups needed */
    /* Under a withheld resource or scope: every span and log record below
     * becomes a skeleton carrying these classes. */
    int skel;
    tg_classmask skel_classes;
    int err;
    char path[2048];
    size_t plen;
} vstate;

/* ---- explain paths -------------------------------------------------------------------
 */

static size_t path_push(vstate *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t path_push(vstate *v, const char *fmt, ...)
{
    size_t old = v->plen;
    va_list ap;
    int n;

    if (!v->opt || !v->opt->explain || v->plen >= sizeof(v->path) - 1)
        return old;
    va_start(ap, fmt);
    n = vsnprintf(v->path + v->plen, sizeof(v->path) - v->plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        v->plen += (size_t)n < sizeof(v->path) - v->plen ? (size_t)n
                                                         : sizeof(v->path) - v->plen - 1;
    return old;
}

static void path_pop(vstate *v, size_t old)
{
    v->plen = old;
    v->path[old] = '\0';
}

static size_t path_field(vstate *v, const ProtobufCFieldDescriptor *f)
{
    char jn[64];
    if (!v->opt || !v->opt->explain)
        return v->plen;
    return path_push(v, "%s%s", v->plen ? "." : "", tg_otlp_json_name(f, jn, sizeof(jn)));
}

static size_t path_key(vstate *v, const char *key)
{
    char esc[200];
    size_t k = 0;

    if (!v->opt || !v->opt->explain)
        return v->plen;
    for (const char *s = key; *s && k + 3 < sizeof(esc); s++) {
        if (*s == '"' || *s == '\\')
            esc[k++] = '\\';
        esc[k++] = *s;
    }
    esc[k] = '\0';
    return path_push(v, "[\"%s\"]", esc);
}

static const char *det_name(const tg_rules_policy *p, unsigned det, char *buf, size_t len)
{
    if (det == TG_DET_KEY)
        return "key";
    if (det == TG_DET_ERROR)
        return "fail-closed";
    if (det & TG_DET_CUSTOM) {
        snprintf(buf, len, "pattern");
        (void)p;
        return buf;
    }
    if (det < tg_n_detectors) {
        snprintf(buf, len, "builtin:%s", tg_detectors[det]->name);
        return buf;
    }
    return "?";
}

static void explain(vstate *v, const tg_finding *f, const tg_action_spec *spec, int kind,
                    const char *result, size_t rlen, int whole_record)
{
    tg_rules_change ch;
    char dbuf[96], rbuf[600], abuf[600];
    const tg_rules_policy *p = v->p;

    if (v->opt && v->opt->tally && f)
        v->opt->tally(v->opt->tally_ctx, p->classes[f->cls].name,
                      (enum tg_rules_action)kind);
    if (!v->opt || !v->opt->explain)
        return;
    memset(&ch, 0, sizeof(ch));
    ch.path = v->path;
    ch.action = (enum tg_rules_action)kind;
    ch.class_name = f ? p->classes[f->cls].name : "(key not on allow_keys)";
    ch.regulation =
        f && p->classes[f->cls].regulation ? p->classes[f->cls].regulation : "";
    ch.detector = f ? det_name(p, f->det, dbuf, sizeof(dbuf)) : "allow_keys";
    if (f && f->det == TG_DET_KEY && p->n_rules > f->rule) {
        snprintf(dbuf, sizeof(dbuf), "key");
        ch.detector = dbuf;
    }
    if (f && f->det != TG_DET_ERROR && f->rule < p->n_rules) {
        const tg_loc *l = &p->rules[f->rule].loc;
        snprintf(rbuf, sizeof(rbuf), "%s:%u", l->file, l->line);
        ch.rule = rbuf;
    } else if (f) {
        ch.rule = "(limits)";
    } else {
        /* removed as unclassified: the destination's `unclassified` entry */
        const tg_loc *l =
            v->d->unclassified_loc.line ? &v->d->unclassified_loc : &v->d->loc;
        snprintf(rbuf, sizeof(rbuf), "%s:%u", l->file, l->line);
        ch.rule = rbuf;
    }
    if (spec && spec->loc.line) {
        snprintf(abuf, sizeof(abuf), "%s:%u", spec->loc.file, spec->loc.line);
        ch.action_rule = abuf;
    } else {
        ch.action_rule = "(default)";
    }
    ch.result = result;
    ch.result_len = rlen;
    ch.whole_record = whole_record;
    v->opt->explain(v->opt->explain_ctx, &ch);
}

static void count(vstate *v, unsigned cls, int kind)
{
    v->counts[cls * TG_RULES_ACTION_COUNT + (unsigned)kind]++;
}

/* ---- values
 * ------------------------------------------------------------------------------ */

static const tg_action_spec *spec_of(const vstate *v, unsigned cls)
{
    return v->d->by_class[cls];
}

/* A match found in percent-decoded text: the action sees the decoded
 * match (so it hashes and masks like the plain value) and its output is
 * percent-encoded again, so the URL stays a URL. */
static int apply_urlenc(vstate *v, const tg_finding *f, const tg_action_spec *spec,
                        const char *raw, size_t n, tg_strbuf *sb)
{
    tg_strbuf tmp = {.a = v->a};
    char *dec;
    size_t dn;
    uint32_t *map;
    int rc;

    if ((rc = tg_url_decode_nested(v->a, raw, n, &dec, &dn, &map)))
        return rc;
    if ((rc = tg_rules__apply(&v->ac, spec, f->cls, f->det, dec, dn, 0, &tmp)))
        return rc;
    if (tmp.oom)
        return TG_ENOMEM;
    tg_url_encode(sb, tmp.p ? tmp.p : "", tmp.len);
    return 0;
}

/* Applies the findings of one place to its text. Returns V_SAME, V_NEW
 * (*out set) or V_GONE (drop). `whole_type` is the AnyValue case for
 * generalising a whole value. */
static int transform(vstate *v, const tg_ptab_ent *e, const char *text, size_t len,
                     int whole_type, const char **out, size_t *outlen)
{
    const tg_finding *F = &v->c->findings[e->first];
    size_t n = e->count, cursor = 0;
    int best = -1, bestk = TG_RULES_PASS, changed = 0;
    tg_strbuf sb = {.a = v->a};

    for (size_t i = 0; i < n; i++) {
        if (!(F[i].flags & TG_F_WHOLE))
            continue;
        if (best < 0 || spec_of(v, F[i].cls)->kind > bestk) {
            best = (int)i;
            bestk = spec_of(v, F[i].cls)->kind;
        }
    }
    if (best >= 0) {
        for (size_t i = 0; i < n; i++)
            if (F[i].flags & TG_F_WHOLE)
                count(v, F[i].cls, bestk);
        if (bestk >= TG_RULES_DROP) {
            v->st.changed++;
            explain(v, &F[best], spec_of(v, F[best].cls), bestk, NULL, 0, 0);
            return V_GONE;
        }
        if (bestk > TG_RULES_PASS) {
            /* a value decided by its key that is also, as a whole, what a
             * detector recognises (an e-mail under user.email) hashes and
             * generalises like that detector's matches, so both join */
            unsigned det = F[best].det;
            int rc;
            for (size_t i = 0; i < n && det == TG_DET_KEY; i++)
                if (!(F[i].flags & TG_F_WHOLE) && F[i].start == 0 && F[i].end >= len &&
                    F[i].det < tg_n_detectors)
                    det = F[i].det;
            rc = tg_rules__apply(&v->ac, spec_of(v, F[best].cls), F[best].cls, det, text,
                                 len, whole_type, &sb);
            if (rc) {
                v->err = rc;
                return V_SAME;
            }
            v->st.changed++;
            explain(v, &F[best], spec_of(v, F[best].cls), bestk, sb.p ? sb.p : "", sb.len,
                    0);
            *out = sb.p ? sb.p : "";
            *outlen = sb.len;
            return V_NEW;
        }
    }
    for (size_t i = 0; i < n;) {
        size_t gs, ge, j;
        int k, strongest;

        if (F[i].flags & TG_F_WHOLE) {
            i++;
            continue;
        }
        gs = F[i].start;
        ge = F[i].end;
        k = spec_of(v, F[i].cls)->kind;
        strongest = (int)i;
        for (j = i + 1; j < n && !(F[j].flags & TG_F_WHOLE) && F[j].start < ge; j++) {
            if (F[j].end > ge)
                ge = F[j].end;
            if (spec_of(v, F[j].cls)->kind > k) {
                k = spec_of(v, F[j].cls)->kind;
                strongest = (int)j;
            }
        }
        for (size_t q = i; q < j; q++)
            if (!(F[q].flags & TG_F_WHOLE))
                count(v, F[q].cls, k);
        if (ge > len)
            ge = len;
        if (gs > ge)
            gs = ge;
        if (k != TG_RULES_PASS && gs >= cursor) {
            size_t mark;
            int rc;
            tg_strbuf_put(&sb, text + cursor, gs - cursor);
            mark = sb.len;
            if (k < TG_RULES_DROP && (F[strongest].flags & TG_F_URLENC)) {
                rc = apply_urlenc(v, &F[strongest], spec_of(v, F[strongest].cls),
                                  text + gs, ge - gs, &sb);
                if (rc) {
                    v->err = rc;
                    return V_SAME;
                }
            } else if (k < TG_RULES_DROP) {
                rc = tg_rules__apply(&v->ac, spec_of(v, F[strongest].cls),
                                     F[strongest].cls, F[strongest].det, text + gs,
                                     ge - gs, 0, &sb);
                if (rc) {
                    v->err = rc;
                    return V_SAME;
                }
            }
            cursor = ge;
            changed = 1;
            v->st.changed++;
            explain(v, &F[strongest], spec_of(v, F[strongest].cls), k,
                    k < TG_RULES_DROP ? sb.p + mark : NULL, sb.len - mark, 0);
        }
        i = j;
    }
    if (!changed)
        return V_SAME;
    tg_strbuf_put(&sb, text + cursor, len - cursor);
    if (sb.oom) {
        v->err = TG_ENOMEM;
        return V_SAME;
    }
    if (sb.len == 0)
        return V_GONE; /* everything in it was dropped: so is the field */
    *out = sb.p ? sb.p : "";
    *outlen = sb.len;
    return V_NEW;
}

static const tg_ptab_ent *place_ent(const vstate *v, const void *ptr, int tag)
{
    const tg_ptab_ent *e;
    if (v->clean)
        return NULL;
    e = tg_rules__ptab_get(v->c, TG_PT(ptr, tag));
    return e && e->count ? e : NULL;
}

static int msg_dirty(const vstate *v, const void *m)
{
    const tg_ptab_ent *e;
    if (v->clean)
        return 0;
    e = tg_rules__ptab_get(v->c, TG_PT(m, TG_PT_MSG));
    return e && (e->marks & TG_M_DIRTY);
}

static void *copy_msg(vstate *v, const ProtobufCMessage *m)
{
    void *c = tg_arena_alloc(v->a, m->descriptor->sizeof_message);
    if (!c) {
        v->err = TG_ENOMEM;
        return NULL;
    }
    memcpy(c, m, m->descriptor->sizeof_message);
    ((ProtobufCMessage *)c)->n_unknown_fields = 0;
    ((ProtobufCMessage *)c)->unknown_fields = NULL;
    return c;
}

static tg_otlp_any *new_string_any(vstate *v, const tg_otlp_any *orig, const char *s,
                                   size_t n, int as_bytes)
{
    tg_otlp_any *a = copy_msg(v, &orig->base);
    if (!a)
        return NULL;
    if (as_bytes) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        a->bytes_value.data = (uint8_t *)s;
        a->bytes_value.len = n;
    } else {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        a->string_value = (char *)s;
    }
    return a;
}

static int view_kvs(vstate *v, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
                    size_t n, int filter, int nested_filter,
                    Opentelemetry__Proto__Common__V1__KeyValue ***out, size_t *out_n);

/* The text of a value as classification scanned it (numbers in decimal,
 * containers packed for hashing). */
static const char *any_text(vstate *v, const tg_otlp_any *val, size_t *len, char *num)
{
    switch (val->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        *len = val->string_value ? strlen(val->string_value) : 0;
        return val->string_value ? val->string_value : "";
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        *len = val->bytes_value.len;
        return (const char *)val->bytes_value.data;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        *len = tg_rules__num_text(val, num);
        if (*len)
            return num;
        *len = (size_t)snprintf(num, 32, "%.17g", val->double_value);
        return num;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        *len = val->bool_value ? 4 : 5;
        return val->bool_value ? "true" : "false";
    default: {
        size_t sz = protobuf_c_message_get_packed_size(&val->base);
        uint8_t *buf = tg_arena_alloc(v->a, sz ? sz : 1);
        if (!buf) {
            v->err = TG_ENOMEM;
            *len = 0;
            return "";
        }
        *len = protobuf_c_message_pack(&val->base, buf);
        return (const char *)buf;
    }
    }
}

/* A copy of the array or kvlist value val whose list holds items[0..n)
 * (AnyValue or KeyValue pointers, by val's case): V_NEW with *out set, or
 * V_SAME when out of memory. */
static int rewrap(vstate *v, const tg_otlp_any *val, void **items, size_t n,
                  tg_otlp_any **out)
{
    int is_array =
        val->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    const ProtobufCMessage *inner =
        is_array ? &val->array_value->base : &val->kvlist_value->base;
    void *ni = copy_msg(v, inner);
    tg_otlp_any *a = ni ? copy_msg(v, &val->base) : NULL;

    if (!a)
        return V_SAME;
    if (is_array) {
        Opentelemetry__Proto__Common__V1__ArrayValue *na = ni;
        na->values = (tg_otlp_any **)items;
        na->n_values = n;
        a->array_value = na;
    } else {
        Opentelemetry__Proto__Common__V1__KeyValueList *nl = ni;
        nl->values = (Opentelemetry__Proto__Common__V1__KeyValue **)items;
        nl->n_values = n;
        a->kvlist_value = nl;
    }
    *out = a;
    return V_NEW;
}

/* Returns V_SAME, V_NEW (*out) or V_GONE. */
static int view_any(vstate *v, const tg_otlp_any *val, int nested_filter,
                    tg_otlp_any **out)
{
    const tg_ptab_ent *e;
    char num[40];

    if (!val)
        return V_SAME;
    e = place_ent(v, val, TG_PT_VALUE);
    if (e) {
        size_t len, rl = 0;
        const char *text = any_text(v, val, &len, num), *res = NULL;
        int r = transform(v, e, text, len, (int)val->value_case, &res, &rl);
        if (v->err)
            return V_SAME;
        if (r == V_GONE)
            return V_GONE;
        if (r == V_NEW) {
            int bytes = val->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
            /* a whole-value transform of bytes yields text */
            const tg_finding *F = &v->c->findings[e->first];
            for (size_t i = 0; i < e->count; i++)
                if (F[i].flags & TG_F_WHOLE &&
                    spec_of(v, F[i].cls)->kind != TG_RULES_PASS)
                    bytes = 0;
            *out = new_string_any(v, val, res, rl, bytes);
            return *out ? V_NEW : V_SAME;
        }
    }
    if (val->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE &&
        val->array_value && (msg_dirty(v, val) || nested_filter)) {
        const Opentelemetry__Proto__Common__V1__ArrayValue *arr = val->array_value;
        tg_otlp_any **nv = NULL;
        size_t k = 0;
        int changed = 0;
        nv = tg_arena_alloc(v->a, (arr->n_values ? arr->n_values : 1) * sizeof(*nv));
        if (!nv) {
            v->err = TG_ENOMEM;
            return V_SAME;
        }
        for (size_t i = 0; i < arr->n_values && !v->err; i++) {
            tg_otlp_any *ne = NULL;
            size_t old = path_push(v, "[%zu]", i);
            int r = view_any(v, arr->values[i], nested_filter, &ne);
            path_pop(v, old);
            if (r == V_GONE) {
                changed = 1;
                continue;
            }
            if (r == V_NEW)
                changed = 1;
            nv[k++] = r == V_NEW ? ne : arr->values[i];
        }
        if (changed && !v->err)
            return rewrap(v, val, (void **)nv, k, out);
        if (val->base.n_unknown_fields || arr->base.n_unknown_fields)
            goto strip;
        return V_SAME;
    }
    if (val->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE &&
        val->kvlist_value && (msg_dirty(v, val) || nested_filter)) {
        const Opentelemetry__Proto__Common__V1__KeyValueList *kl = val->kvlist_value;
        Opentelemetry__Proto__Common__V1__KeyValue **nk = NULL;
        size_t nn = 0;
        int r =
            view_kvs(v, kl->values, kl->n_values, nested_filter, nested_filter, &nk, &nn);
        if (r == V_NEW && !v->err)
            return rewrap(v, val, (void **)nk, nn, out);
        if (val->base.n_unknown_fields || kl->base.n_unknown_fields)
            goto strip;
        return V_SAME;
    }
    if (!val->base.n_unknown_fields)
        return V_SAME;
strip:
    *out = copy_msg(v, &val->base);
    if (*out &&
        val->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE &&
        val->array_value && val->array_value->base.n_unknown_fields)
        (*out)->array_value = copy_msg(v, &val->array_value->base);
    if (*out &&
        val->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE &&
        val->kvlist_value && val->kvlist_value->base.n_unknown_fields)
        (*out)->kvlist_value = copy_msg(v, &val->kvlist_value->base);
    return *out ? V_NEW : V_SAME;
}

/* May this attribute leave under the destination's allow-list? A key on
 * the list may; so may a value a key rule classified, which then follows
 * its class's action. */
static int allowed(vstate *v, const tg_otlp_kv *kv)
{
    const char *key = kv->key ? kv->key : "";
    size_t len = strlen(key);
    const tg_keyinfo *ki = tg_rules__key_lookup(v->c, key, len);
    tg_keyinfo tmp;
    const tg_ptab_ent *e;

    if (!ki) {
        tg_rules__key_compute(v->p, key, len, &tmp, v->a);
        ki = &tmp;
    }
    if ((ki->allow >> v->di) & 1)
        return 1;
    e = kv->value ? place_ent(v, kv->value, TG_PT_VALUE) : NULL;
    if (e) {
        const tg_finding *F = &v->c->findings[e->first];
        for (size_t i = 0; i < e->count; i++)
            if ((F[i].flags & TG_F_WHOLE) && F[i].det == TG_DET_KEY)
                return 1;
    }
    return 0;
}

/* ---- names that always leave, as templates (names.c) ----------------------------- */

/* Is field f of message descriptor d a name that always leaves? */
static int name_field(const ProtobufCMessageDescriptor *d,
                      const ProtobufCFieldDescriptor *f)
{
    if (d == &opentelemetry__proto__trace__v1__span__descriptor ||
        d == &opentelemetry__proto__trace__v1__span__event__descriptor ||
        d == &opentelemetry__proto__metrics__v1__metric__descriptor)
        return !strcmp(f->name, "name");
    if (d == &opentelemetry__proto__trace__v1__status__descriptor)
        return !strcmp(f->name, "message");
    if (d == &opentelemetry__proto__logs__v1__log_record__descriptor)
        return !strcmp(f->name, "event_name");
    return 0;
}

/* The template of a name whose place is `ptr`; r and *io are the view's
 * result so far. A value a whole-value finding changed keeps that result
 * (it holds nothing of the raw name); otherwise the raw text is
 * templated, its findings becoming placeholders. */
static int template_name(vstate *v, const void *ptr, const char *raw, int r,
                         const char **io, size_t *iolen)
{
    const tg_ptab_ent *e = v->clean ? NULL : place_ent(v, ptr, TG_PT_VALUE);
    const tg_finding *F = e ? &v->c->findings[e->first] : NULL;
    size_t nf = e ? e->count : 0, n = strlen(raw);
    tg_strbuf sb = {.a = v->a};

    if (r == V_GONE)
        return r;
    for (size_t i = 0; i < nf; i++)
        if ((F[i].flags & TG_F_WHOLE) && spec_of(v, F[i].cls)->kind != TG_RULES_PASS)
            return r;
    tg_rules__name_template(raw, n, F, nf, &sb);
    if (sb.oom) {
        v->err = TG_ENOMEM;
        return r;
    }
    if (sb.len == n && !memcmp(sb.p ? sb.p : "", raw, n))
        return r; /* nothing variable: the view's own result stands */
    v->st.names_templated++;
    *io = sb.p ? sb.p : ""; /* NUL-terminated */
    *iolen = sb.len;
    return V_NEW;
}

static int view_kv(vstate *v, const tg_otlp_kv *kv, int nested_filter, tg_otlp_kv **out)
{
    const tg_ptab_ent *e = place_ent(v, kv, TG_PT_KEY);
    const char *key = kv->key;
    tg_otlp_any *nv = NULL;
    int rk = V_SAME, rv;

    if (e && kv->key) {
        const char *res = NULL;
        size_t rl = 0;
        rk = transform(v, e, kv->key, strlen(kv->key), 0, &res, &rl);
        if (rk == V_GONE)
            return V_GONE;
        if (rk == V_NEW)
            key = res;
    }
    rv = view_any(v, kv->value, nested_filter, &nv);
    if (rv == V_GONE)
        return V_GONE;
    if (v->d->names_template && kv->value && !v->err &&
        kv->value->value_case ==
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
        kv->value->string_value && tg_rules__name_key(kv->key)) {
        const char *t = NULL;
        size_t tl = 0;
        if (template_name(v, kv->value, kv->value->string_value, V_SAME, &t, &tl) ==
            V_NEW) {
            tg_otlp_any *na = new_string_any(v, kv->value, t, tl, 0);
            if (na) {
                nv = na;
                rv = V_NEW;
            }
        }
    }
    if (rk == V_SAME && rv == V_SAME && !kv->base.n_unknown_fields)
        return V_SAME;
    *out = copy_msg(v, &kv->base);
    if (!*out)
        return V_SAME;
    (*out)->key = (char *)key;
    if (rv == V_NEW)
        (*out)->value = nv;
    return V_NEW;
}

static int view_kvs(vstate *v, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
                    size_t n, int filter, int nested_filter,
                    Opentelemetry__Proto__Common__V1__KeyValue ***out, size_t *out_n)
{
    Opentelemetry__Proto__Common__V1__KeyValue **nk;
    size_t k = 0;
    int changed = 0;

    nk = tg_arena_alloc(v->a, (n ? n : 1) * sizeof(*nk));
    if (!nk) {
        v->err = TG_ENOMEM;
        return V_SAME;
    }
    for (size_t i = 0; i < n && !v->err; i++) {
        const tg_otlp_kv *kv = kvs[i];
        tg_otlp_kv *nkv = NULL;
        size_t old = path_key(v, kv->key ? kv->key : "");
        int r;

        if (filter && v->d->allow_list && !allowed(v, kv)) {
            v->st.dropped_unclassified++;
            explain(v, NULL, NULL, TG_RULES_DROP, NULL, 0, 0);
            path_pop(v, old);
            changed = 1;
            continue;
        }
        r = view_kv(v, kv, nested_filter, &nkv);
        path_pop(v, old);
        if (r == V_GONE) {
            changed = 1;
            continue;
        }
        if (r == V_NEW)
            changed = 1;
        nk[k++] = r == V_NEW ? nkv : (tg_otlp_kv *)kv;
    }
    if (!changed)
        return V_SAME;
    *out = nk;
    *out_n = k;
    return V_NEW;
}

/* ---- messages
 * ------------------------------------------------------------------------------ */

static int view_string(vstate *v, char *const *slot, const char **out)
{
    const tg_ptab_ent *e = place_ent(v, slot, TG_PT_VALUE);
    size_t rl = 0;
    int r;

    if (!e || !*slot)
        return V_SAME;
    r = transform(v, e, *slot, strlen(*slot), 0, out, &rl);
    return r;
}

static int withhold(vstate *v, const tg_ptab_ent *e)
{
    const tg_classmask *cm = &v->c->records[e->first].classes;

    if (!tg_cm_any_and(cm, &v->d->keep_mask))
        return 0;
    for (unsigned cls = 0; cls < v->p->n_classes; cls++) {
        if (tg_cm_has(cm, cls) && tg_cm_has(&v->d->keep_mask, cls)) {
            tg_finding f;
            memset(&f, 0, sizeof(f));
            f.cls = (uint16_t)cls;
            f.det = TG_DET_ERROR;
            f.rule = UINT16_MAX;
            /* name the rule that found this class (explain only: a scan) */
            for (size_t i = 0; v->opt && v->opt->explain && i < v->c->n_findings; i++)
                if (v->c->findings[i].cls == cls) {
                    f = v->c->findings[i];
                    break;
                }
            count(v, cls, TG_RULES_KEEP_LOCAL);
            explain(v, &f, spec_of(v, cls), TG_RULES_KEEP_LOCAL, NULL, 0, 1);
        }
    }
    v->st.withheld++;
    return 1;
}

/* ---- keep-local skeletons ------------------------------------------------
 *
 * A span or log record of a class the destination keeps local does not
 * vanish: its values and content stay home, but its skeleton leaves, so a
 * trace that crossed sites is whole at the centre and the record is
 * counted. A skeleton is built from scratch (never a filtered copy), so
 * nothing but what is listed here can leave: ids, parent, kind, times,
 * status code, severity number, and `tollgate.withheld` naming the
 * classes that caused it (never a value). A destination with
 * `withheld: whole` asks for the old behaviour: the record is dropped. */

static const char *withheld_names(vstate *v, const tg_classmask *cm)
{
    tg_strbuf b = {.a = v->a};

    for (unsigned cls = 0; cls < v->p->n_classes; cls++)
        if (tg_cm_has(cm, cls) && tg_cm_has(&v->d->keep_mask, cls))
            tg_strbuf_printf(&b, "%s%s", b.len ? "," : "", v->p->classes[cls].name);
    if (b.oom) {
        v->err = TG_ENOMEM;
        return NULL;
    }
    return b.p ? b.p : "";
}

static tg_otlp_kv **withheld_attr(vstate *v, const char *names)
{
    tg_otlp_kv **arr = tg_arena_alloc(v->a, sizeof(*arr));
    tg_otlp_kv *kv = tg_arena_alloc(v->a, sizeof(*kv));
    tg_otlp_any *val = tg_arena_alloc(v->a, sizeof(*val));

    if (!arr || !kv || !val) {
        v->err = TG_ENOMEM;
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(val);
    val->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    val->string_value = (char *)names;
    kv->key = "tollgate.withheld";
    kv->value = val;
    arr[0] = kv;
    return arr;
}

static ProtobufCMessage *span_skeleton(vstate *v,
                                       const Opentelemetry__Proto__Trace__V1__Span *sp,
                                       const char *names)
{
    Opentelemetry__Proto__Trace__V1__Span *o = tg_arena_alloc(v->a, sizeof(*o));

    if (!o) {
        v->err = TG_ENOMEM;
        return NULL;
    }
    opentelemetry__proto__trace__v1__span__init(o);
    o->trace_id = sp->trace_id;
    o->span_id = sp->span_id;
    o->parent_span_id = sp->parent_span_id;
    o->flags = sp->flags;
    o->name = "";
    o->kind = sp->kind;
    o->start_time_unix_nano = sp->start_time_unix_nano;
    o->end_time_unix_nano = sp->end_time_unix_nano;
    if (sp->status) {
        Opentelemetry__Proto__Trace__V1__Status *st = tg_arena_alloc(v->a, sizeof(*st));
        if (!st) {
            v->err = TG_ENOMEM;
            return NULL;
        }
        opentelemetry__proto__trace__v1__status__init(st);
        st->code = sp->status->code; /* the code, never the message */
        o->status = st;
    }
    if (!(o->attributes = withheld_attr(v, names)))
        return NULL;
    o->n_attributes = 1;
    return &o->base;
}

static ProtobufCMessage *log_skeleton(vstate *v,
                                      const Opentelemetry__Proto__Logs__V1__LogRecord *lr,
                                      const char *names)
{
    Opentelemetry__Proto__Logs__V1__LogRecord *o = tg_arena_alloc(v->a, sizeof(*o));
    tg_otlp_any *body = tg_arena_alloc(v->a, sizeof(*body));
    tg_strbuf b = {.a = v->a};

    if (!o || !body) {
        v->err = TG_ENOMEM;
        return NULL;
    }
    opentelemetry__proto__logs__v1__log_record__init(o);
    o->time_unix_nano = lr->time_unix_nano;
    o->observed_time_unix_nano = lr->observed_time_unix_nano;
    o->severity_number = lr->severity_number;
    o->trace_id = lr->trace_id;
    o->span_id = lr->span_id;
    o->flags = lr->flags;
    /* The body says what happened to it, so log templates count withheld
     * records as such instead of as empty lines. */
    tg_strbuf_printf(&b, "<withheld: %s>", names);
    if (b.oom) {
        v->err = TG_ENOMEM;
        return NULL;
    }
    opentelemetry__proto__common__v1__any_value__init(body);
    body->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    body->string_value = b.p;
    o->body = body;
    if (!(o->attributes = withheld_attr(v, names)))
        return NULL;
    o->n_attributes = 1;
    return &o->base;
}

/* The skeleton of m when it is a span or a log record, else NULL. */
static ProtobufCMessage *skeleton_of(vstate *v, const ProtobufCMessage *m,
                                     const tg_classmask *cm)
{
    const char *names;

    if (m->descriptor != &opentelemetry__proto__trace__v1__span__descriptor &&
        m->descriptor != &opentelemetry__proto__logs__v1__log_record__descriptor)
        return NULL;
    if (!(names = withheld_names(v, cm)))
        return NULL;
    if (m->descriptor == &opentelemetry__proto__trace__v1__span__descriptor)
        return span_skeleton(v, (const Opentelemetry__Proto__Trace__V1__Span *)m, names);
    return log_skeleton(v, (const Opentelemetry__Proto__Logs__V1__LogRecord *)m, names);
}

/* A withheld resource or scope: what is left of it is only a marker, and
 * every span and log record under it leaves as a skeleton. */
static ProtobufCMessage *container_skeleton(vstate *v, const ProtobufCMessage *m,
                                            const tg_classmask *cm)
{
    ProtobufCMessage *o = tg_arena_alloc(v->a, m->descriptor->sizeof_message);
    const char *names = withheld_names(v, cm);

    if (!o || !names) {
        v->err = v->err ? v->err : TG_ENOMEM;
        return NULL;
    }
    protobuf_c_message_init(m->descriptor, o);
    if (m->descriptor == &opentelemetry__proto__resource__v1__resource__descriptor) {
        Opentelemetry__Proto__Resource__V1__Resource *r =
            (Opentelemetry__Proto__Resource__V1__Resource *)o;
        if (!(r->attributes = withheld_attr(v, names)))
            return NULL;
        r->n_attributes = 1;
    }
    v->skel = 1;
    for (unsigned cls = 0; cls < v->p->n_classes; cls++)
        if (tg_cm_has(cm, cls))
            tg_cm_set(&v->skel_classes, cls);
    return o;
}

static int view_fields(vstate *v, const ProtobufCMessage *m, ProtobufCMessage **out);

static int view_msg(vstate *v, const ProtobufCMessage *m, ProtobufCMessage **out)
{
    const tg_ptab_ent *e =
        v->clean ? NULL : tg_rules__ptab_get(v->c, TG_PT(m, TG_PT_MSG));
    int r, was = v->clean;

    if (v->skel && !v->d->withheld_whole) {
        ProtobufCMessage *sk;
        /* Below a withheld container: spans and records are skeletons
         * whatever they hold; anything else is walked to reach them. */
        if (e && (e->marks & TG_M_RECORD))
            withhold(v, e);
        if ((sk = skeleton_of(v, m, &v->skel_classes))) {
            *out = sk;
            return V_NEW;
        }
        if (v->err)
            return V_GONE;
    }
    if (e && (e->marks & TG_M_RECORD) && withhold(v, e)) {
        ProtobufCMessage *sk;
        const tg_classmask *cm = &v->c->records[e->first].classes;

        if (v->d->withheld_whole)
            return V_GONE;
        if ((sk = skeleton_of(v, m, cm))) {
            *out = sk;
            return V_NEW;
        }
        if (!v->err &&
            (m->descriptor == &opentelemetry__proto__resource__v1__resource__descriptor ||
             m->descriptor ==
                 &opentelemetry__proto__common__v1__instrumentation_scope__descriptor) &&
            (sk = container_skeleton(v, m, cm))) {
            *out = sk;
            return V_NEW;
        }
        return V_GONE;
    }
    if (!(e && (e->marks & TG_M_DIRTY))) {
        if (!v->walk_all && !v->skel)
            return V_SAME;
        /* every finding marks all its ancestors dirty, so nothing below a
         * clean message needs a lookup: only the allow-list applies */
        v->clean = 1;
    }
    r = view_fields(v, m, out);
    v->clean = was;
    return r;
}

static int view_fields_in(vstate *v, const ProtobufCMessage *m, ProtobufCMessage **out)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char *copy = NULL;
    const char *base = (const char *)m;

#define ENSURE_COPY()                                                                    \
    do {                                                                                 \
        if (!copy && !(copy = copy_msg(v, m)))                                           \
            return V_SAME;                                                               \
    } while (0)

    for (unsigned i = 0; i < d->n_fields && !v->err; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        size_t old;

        if (!tg_otlp_field_present(m, f))
            continue;
        old = path_field(v, f);
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t n = *(const size_t *)(base + f->quantifier_offset), k = 0;
                char *const *arr = *(char *const *const *)(base + f->offset);
                char **na = NULL;
                int changed = 0;
                na = tg_arena_alloc(v->a, (n ? n : 1) * sizeof(*na));
                if (!na) {
                    v->err = TG_ENOMEM;
                    break;
                }
                for (size_t j = 0; j < n; j++) {
                    const char *ns = NULL;
                    size_t o2 = path_push(v, "[%zu]", j);
                    int r = view_string(v, &arr[j], &ns);
                    path_pop(v, o2);
                    if (r == V_GONE) {
                        changed = 1;
                        continue;
                    }
                    changed |= r == V_NEW;
                    na[k++] = r == V_NEW ? (char *)ns : arr[j];
                }
                if (changed) {
                    ENSURE_COPY();
                    *(size_t *)(copy + f->quantifier_offset) = k;
                    *(char ***)(copy + f->offset) = na;
                }
            } else {
                const char *ns = NULL;
                int r = view_string(v, (char *const *)(base + f->offset), &ns);
                if (v->d->names_template && name_field(d, f) &&
                    *(char *const *)(base + f->offset)) {
                    size_t tl = 0;
                    r = template_name(v, base + f->offset,
                                      *(char *const *)(base + f->offset), r, &ns, &tl);
                }
                if (r != V_SAME) {
                    ENSURE_COPY();
                    *(const char **)(copy + f->offset) = r == V_NEW ? ns : "";
                }
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessageDescriptor *sd = f->descriptor;
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t n = *(const size_t *)(base + f->quantifier_offset);
                ProtobufCMessage *const *arr =
                    *(ProtobufCMessage *const *const *)(base + f->offset);
                if (tg_otlp_is_kv(sd)) {
                    Opentelemetry__Proto__Common__V1__KeyValue **nk = NULL;
                    size_t nn = 0;
                    int r = view_kvs(
                        v, (Opentelemetry__Proto__Common__V1__KeyValue *const *)arr, n, 1,
                        0, &nk, &nn);
                    if (r == V_NEW) {
                        ENSURE_COPY();
                        *(size_t *)(copy + f->quantifier_offset) = nn;
                        *(void **)(copy + f->offset) = nk;
                    }
                } else {
                    ProtobufCMessage **na =
                        tg_arena_alloc(v->a, (n ? n : 1) * sizeof(*na));
                    size_t k = 0, gone = 0;
                    int changed = 0;
                    if (!na) {
                        v->err = TG_ENOMEM;
                        break;
                    }
                    for (size_t j = 0; j < n && !v->err; j++) {
                        ProtobufCMessage *ne = NULL;
                        size_t o2 = path_push(v, "[%zu]", j);
                        int r;
                        if (!arr[j]) {
                            path_pop(v, o2);
                            continue;
                        }
                        if (tg_otlp_is_anyvalue(sd))
                            r = view_any(v, (const tg_otlp_any *)arr[j], 0,
                                         (tg_otlp_any **)&ne);
                        else
                            r = view_msg(v, arr[j], &ne);
                        path_pop(v, o2);
                        if (r == V_GONE) {
                            changed = 1;
                            gone++;
                            continue;
                        }
                        changed |= r == V_NEW;
                        na[k++] = r == V_NEW ? ne : arr[j];
                    }
                    if (n && k == 0 && gone && tg_otlp_is_container(d)) {
                        path_pop(v, old);
                        return V_GONE; /* every record in it stayed local */
                    }
                    if (changed) {
                        ENSURE_COPY();
                        *(size_t *)(copy + f->quantifier_offset) = k;
                        *(void **)(copy + f->offset) = na;
                    }
                }
            } else {
                const ProtobufCMessage *sub =
                    *(ProtobufCMessage *const *)(base + f->offset);
                ProtobufCMessage *ns = NULL;
                int r;
                if (!sub) {
                    path_pop(v, old);
                    continue;
                }
                if (tg_otlp_is_anyvalue(sd)) {
                    int body = tg_otlp_is_body(d, f);
                    if (body && v->d->bodies == TG_BODIES_DROP) {
                        const tg_ptab_ent *be = place_ent(v, sub, TG_PT_VALUE);
                        /* a classified body follows its classes; the rest is dropped */
                        r = be ? view_any(v, (const tg_otlp_any *)sub, 0,
                                          (tg_otlp_any **)&ns)
                               : V_GONE;
                        if (!be) {
                            v->st.dropped_unclassified++;
                            explain(v, NULL, NULL, TG_RULES_DROP, NULL, 0, 0);
                        }
                    } else {
                        r = view_any(v, (const tg_otlp_any *)sub,
                                     body && v->d->bodies == TG_BODIES_FILTER,
                                     (tg_otlp_any **)&ns);
                    }
                } else {
                    r = view_msg(v, sub, &ns);
                }
                if (r == V_GONE && !tg_otlp_is_anyvalue(sd)) {
                    path_pop(v, old);
                    return V_GONE; /* a withheld resource or scope takes its group along
                                    */
                }
                if (r != V_SAME) {
                    ENSURE_COPY();
                    *(ProtobufCMessage **)(copy + f->offset) = r == V_NEW ? ns : NULL;
                }
            }
        }
        path_pop(v, old);
    }
    if (m->n_unknown_fields)
        ENSURE_COPY();
#undef ENSURE_COPY
    if (!copy)
        return V_SAME;
    *out = (ProtobufCMessage *)copy;
    return V_NEW;
}

/* A withheld resource or scope marks its siblings (the group's spans and
 * records) for skeletons; the mark ends with the group. */
static int view_fields(vstate *v, const ProtobufCMessage *m, ProtobufCMessage **out)
{
    int skel = v->skel, r;
    tg_classmask cm = v->skel_classes;

    r = view_fields_in(v, m, out);
    v->skel = skel;
    v->skel_classes = cm;
    return r;
}

int tg_rules_view(const tg_rules_classification *c, size_t dest, tg_arena *arena,
                  const tg_rules_view_opts *opt, ProtobufCMessage **out,
                  tg_rules_view_stats *st)
{
    const tg_rules_policy *p;
    vstate v;
    ProtobufCMessage *res = NULL;
    int r;

    *out = NULL;
    if (!c || dest >= c->policy->n_dests)
        return TG_EINVAL;
    p = c->policy;
    memset(&v, 0, sizeof(v));
    v.c = c;
    v.p = p;
    v.d = &p->dests[dest];
    v.di = dest;
    v.a = arena;
    v.ac.p = p;
    v.ac.arena = arena;
    v.opt = opt;
    v.walk_all = v.d->allow_list || v.d->bodies != TG_BODIES_PASS || v.d->names_template;
    v.counts =
        tg_arena_calloc(arena, p->n_classes * TG_RULES_ACTION_COUNT * sizeof(uint64_t));
    if (!v.counts)
        return TG_ENOMEM;
    r = view_msg(&v, c->msg, &res);
    if (v.ac.mac_ctx)
        EVP_MAC_CTX_free(v.ac.mac_ctx);
    if (v.err)
        return v.err;
    if (r == V_GONE || r == V_SAME) {
        /* V_SAME shares the request; V_GONE (never for a request) means empty */
        if (r == V_SAME) {
            res = (ProtobufCMessage *)c->msg;
        } else {
            res = tg_arena_calloc(arena, c->msg->descriptor->sizeof_message);
            if (!res)
                return TG_ENOMEM;
            protobuf_c_message_init(c->msg->descriptor, res);
        }
    }
    for (size_t cls = 0; cls < p->n_classes; cls++)
        for (unsigned a = 0; a < TG_RULES_ACTION_COUNT; a++) {
            uint64_t n = v.counts[cls * TG_RULES_ACTION_COUNT + a];
            if (n)
                atomic_fetch_add_explicit(
                    &p->counts[(dest * p->n_classes + cls) * TG_RULES_ACTION_COUNT + a],
                    n, memory_order_relaxed);
        }
    if (st)
        *st = v.st;
    *out = res;
    return 0;
}
