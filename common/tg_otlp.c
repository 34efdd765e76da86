/* OTLP request decoding and validation, and the small responses a receiver
 * sends back.
 *
 * Protobuf bodies go through two passes. A wire scan first walks the raw
 * bytes guided by the descriptors: it bounds nesting depth (protobuf-c's
 * unpacker recurses without limit), checks every string field for valid
 * UTF-8 and refuses a NUL inside one (protobuf-c hands strings on
 * NUL-terminated, so the rest would be cut off unseen by the rules; the
 * JSON decoder refuses it the same way, naming the field), and notes
 * unknown fields. Only then does
 * protobuf-c unpack into the request's arena. A last walk over the decoded
 * request drops items the store cannot index and counts what is kept. */
#include "tg_otlp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_otlp_int.h"
#include "tg_otlp_json.h"

typedef Opentelemetry__Proto__Trace__V1__Span tg_span;
typedef Opentelemetry__Proto__Logs__V1__LogRecord tg_logrec;

const char *tg_signal_name(enum tg_signal sig)
{
    switch (sig) {
    case TG_SIGNAL_TRACES:
        return "traces";
    case TG_SIGNAL_LOGS:
        return "logs";
    case TG_SIGNAL_METRICS:
        return "metrics";
    }
    return "unknown";
}

const ProtobufCMessageDescriptor *tg_otlp_request_descriptor(enum tg_signal sig)
{
    switch (sig) {
    case TG_SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    case TG_SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
    case TG_SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    }
    return NULL;
}

/* ---- error text -------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->cap == 0 || b->len >= b->cap - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n;
    if (b->len > b->cap - 1)
        b->len = b->cap - 1;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- wire scan ----------------------------------------------------------- */

enum { SCAN_OK = 0, SCAN_WIRE, SCAN_UTF8, SCAN_DEPTH, SCAN_NUL };

/* One step of the path to a bad field, filled in as the scan unwinds. */
typedef struct scan_step {
    const ProtobufCMessageDescriptor *msg;
    const ProtobufCFieldDescriptor *field;
    size_t index; /* occurrence of a repeated field, SIZE_MAX otherwise */
} scan_step;

typedef struct wire_scan {
    const uint8_t *base;
    size_t err_off;
    int unknown; /* fields the descriptors do not know were seen */
    int nsteps;
    scan_step steps[TG_OTLP_MAX_DEPTH + 2];
} wire_scan;

static inline int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;

    if (p < end && *p < 0x80) {
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    for (unsigned shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Which occurrence of field `num` the tag at `at` is; only called while
 * building an error message, so rescanning the message is fine. */
static size_t occurrence(const uint8_t *p, const uint8_t *at, uint32_t num)
{
    size_t n = 0;

    while (p < at) {
        uint64_t key, v;
        if (read_varint(&p, at, &key))
            break;
        if ((key >> 3) == num)
            n++;
        switch (key & 7) {
        case 0:
            if (read_varint(&p, at, &v))
                return n;
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        case 2:
            if (read_varint(&p, at, &v) || v > (uint64_t)(at - p))
                return n;
            p += v;
            break;
        default:
            return n;
        }
    }
    return n;
}

static void scan_note(wire_scan *s, int depth, const ProtobufCMessageDescriptor *d,
                      const ProtobufCFieldDescriptor *f, const uint8_t *start,
                      const uint8_t *tagp)
{
    s->steps[depth].msg = d;
    s->steps[depth].field = f;
    s->steps[depth].index =
        f->label == PROTOBUF_C_LABEL_REPEATED ? occurrence(start, tagp, f->id) : SIZE_MAX;
}

static int scan_msg(wire_scan *s, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                    const uint8_t *end, int depth)
{
    const uint8_t *start = p;

    while (p < end) {
        const uint8_t *tagp = p;
        const ProtobufCFieldDescriptor *f;
        uint64_t key, v;
        uint32_t num;
        int rc;

        if (read_varint(&p, end, &key) || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
            goto wire;
        num = (uint32_t)(key >> 3);
        f = tg_otlp__field(d, num);
        if (!f)
            s->unknown = 1;
        switch (key & 7) {
        case 0:
            if (read_varint(&p, end, &v))
                goto wire;
            break;
        case 1:
            if (end - p < 8)
                goto wire;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                goto wire;
            p += 4;
            break;
        case 2:
            if (read_varint(&p, end, &v) || v > (uint64_t)(end - p))
                goto wire;
            if (!f) {
                /* skip */
            } else if (f->type == PROTOBUF_C_TYPE_STRING) {
                int nul = 0;
                if (!tg_utf8_check((const char *)p, (size_t)v, &nul) || nul) {
                    scan_note(s, depth, d, f, start, tagp);
                    s->nsteps = depth + 1;
                    s->err_off = (size_t)(p - s->base);
                    return nul ? SCAN_NUL : SCAN_UTF8;
                }
            } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth + 1 > TG_OTLP_MAX_DEPTH) {
                    scan_note(s, depth, d, f, start, tagp);
                    s->nsteps = depth + 1;
                    s->err_off = (size_t)(tagp - s->base);
                    return SCAN_DEPTH;
                }
                rc = scan_msg(s, f->descriptor, p, p + v, depth + 1);
                if (rc) {
                    scan_note(s, depth, d, f, start, tagp);
                    return rc;
                }
            }
            p += v;
            break;
        default:
            /* Groups (3, 4) are proto2-only and protobuf-c rejects them. */
            goto wire;
        }
    }
    return SCAN_OK;

wire:
    s->nsteps = depth;
    s->err_off = (size_t)(p - s->base);
    return SCAN_WIRE;
}

/* "resourceSpans[0].scopeSpans[0].spans[3].attributes[2].value". A string
 * inside an AnyValue is named by the AnyValue's field, as clients think of
 * an attribute's value rather than its oneof member. */
static void scan_path(const wire_scan *s, strbuf *b)
{
    int n = s->nsteps;

    if (n > 0 &&
        s->steps[n - 1].msg == &opentelemetry__proto__common__v1__any_value__descriptor &&
        s->steps[n - 1].field->type == PROTOBUF_C_TYPE_STRING && n > 1)
        n--;
    for (int i = 0; i < n; i++) {
        char name[64];
        tg_otlp__json_name(s->steps[i].field->name, name, sizeof(name));
        sb_printf(b, "%s%s", i ? "." : "", name);
        if (s->steps[i].index != SIZE_MAX)
            sb_printf(b, "[%zu]", s->steps[i].index);
    }
}

/* ---- unknown fields ------------------------------------------------------ */

/* Drop fields this build's protos do not know. Nothing downstream can
 * classify them, and a value the rules cannot see must not ride along when
 * the request is re-encoded for storage or export. */
static void strip_unknown(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    m->n_unknown_fields = 0;
    m->unknown_fields = NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *member = (char *)m + f->offset;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)member;
            for (size_t j = 0; j < n; j++)
                if (arr[j])
                    strip_unknown(arr[j]);
        } else {
            ProtobufCMessage *sub = *(ProtobufCMessage **)member;
            if (sub)
                strip_unknown(sub);
        }
    }
}

/* ---- item validation ----------------------------------------------------- */

static int all_zero(const ProtobufCBinaryData *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i])
            return 0;
    return 1;
}

static int span_ok(const tg_span *sp)
{
    return sp->trace_id.len == 16 && sp->span_id.len == 8 && !all_zero(&sp->trace_id) &&
           !all_zero(&sp->span_id) &&
           (sp->parent_span_id.len == 0 || sp->parent_span_id.len == 8);
}

/* A link whose ids are not 16 and 8 bytes points nowhere and could not be
 * written as OTLP/JSON: it is dropped and counted the way OTLP counts
 * links an SDK dropped. Returns 1 if the span changed. */
static int prune_links(tg_span *sp)
{
    size_t w = 0;

    for (size_t i = 0; i < sp->n_links; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Link *l = sp->links[i];
        if (l->trace_id.len == 16 && l->span_id.len == 8)
            sp->links[w++] = sp->links[i];
    }
    if (w == sp->n_links)
        return 0;
    sp->dropped_links_count += (uint32_t)(sp->n_links - w);
    sp->n_links = w;
    return 1;
}

static int logrec_ok(const tg_logrec *lr)
{
    return (lr->trace_id.len == 0 || lr->trace_id.len == 16) &&
           (lr->span_id.len == 0 || lr->span_id.len == 8);
}

static void validate_traces(tg_otlp_request *r)
{
    tg_otlp_traces_req *req = (tg_otlp_traces_req *)r->msg;

    for (size_t i = 0; i < req->n_resource_spans; i++) {
        Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            size_t w = 0;
            for (size_t k = 0; k < ss->n_spans; k++) {
                if (!span_ok(ss->spans[k]))
                    continue;
                if (ss->spans[k]->n_links && prune_links(ss->spans[k]))
                    r->modified = 1;
                ss->spans[w++] = ss->spans[k];
            }
            r->rejected += ss->n_spans - w;
            r->items += w;
            ss->n_spans = w;
        }
    }
    if (r->rejected)
        snprintf(r->reject_msg, sizeof(r->reject_msg),
                 "%" PRIu64 " span%s rejected: invalid trace_id or span_id "
                 "(need 16 and 8 bytes, not all zero; parent_span_id 8 bytes or empty)",
                 r->rejected, r->rejected == 1 ? "" : "s");
}

static void validate_logs(tg_otlp_request *r)
{
    tg_otlp_logs_req *req = (tg_otlp_logs_req *)r->msg;

    for (size_t i = 0; i < req->n_resource_logs; i++) {
        Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            size_t w = 0;
            for (size_t k = 0; k < sl->n_log_records; k++) {
                if (logrec_ok(sl->log_records[k]))
                    sl->log_records[w++] = sl->log_records[k];
            }
            r->rejected += sl->n_log_records - w;
            r->items += w;
            sl->n_log_records = w;
        }
    }
    if (r->rejected)
        snprintf(r->reject_msg, sizeof(r->reject_msg),
                 "%" PRIu64 " log record%s rejected: invalid trace_id or span_id length "
                 "(need 16 and 8 bytes, or empty)",
                 r->rejected, r->rejected == 1 ? "" : "s");
}

const char *tg_otlp_service_name(const Opentelemetry__Proto__Resource__V1__Resource *r)
{
    if (r)
        for (size_t i = 0; i < r->n_attributes; i++) {
            const tg_otlp_kv *kv = r->attributes[i];
            if (kv && kv->key && strcmp(kv->key, "service.name") == 0 && kv->value &&
                kv->value->value_case ==
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
                kv->value->string_value && kv->value->string_value[0])
                return kv->value->string_value;
        }
    return "unknown_service";
}

size_t tg_otlp_metric_points(const Opentelemetry__Proto__Metrics__V1__Metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge ? m->gauge->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum ? m->sum->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram ? m->histogram->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram ? m->exponential_histogram->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary ? m->summary->n_data_points : 0;
    default:
        return 0;
    }
}

/* An exemplar's ids are optional; ids of the wrong length are cleared
 * (the measurement stays). Returns 1 if anything changed. */
static int fix_exemplars(size_t n, Opentelemetry__Proto__Metrics__V1__Exemplar **ex)
{
    int changed = 0;

    for (size_t i = 0; i < n; i++) {
        if ((ex[i]->trace_id.len != 0 && ex[i]->trace_id.len != 16) ||
            (ex[i]->span_id.len != 0 && ex[i]->span_id.len != 8)) {
            ex[i]->trace_id.len = 0;
            ex[i]->span_id.len = 0;
            changed = 1;
        }
    }
    return changed;
}

#define FIX_POINTS(agg, changed)                                                         \
    do {                                                                                 \
        if (agg)                                                                         \
            for (size_t p_ = 0; p_ < (agg)->n_data_points; p_++)                         \
                if ((agg)->data_points[p_]->n_exemplars)                                 \
                    changed |= fix_exemplars((agg)->data_points[p_]->n_exemplars,        \
                                             (agg)->data_points[p_]->exemplars);         \
    } while (0)

static int metric_exemplars(Opentelemetry__Proto__Metrics__V1__Metric *m)
{
    int changed = 0;

    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        FIX_POINTS(m->gauge, changed);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        FIX_POINTS(m->sum, changed);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        FIX_POINTS(m->histogram, changed);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        FIX_POINTS(m->exponential_histogram, changed);
        break;
    default: /* summaries carry no exemplars */
        break;
    }
    return changed;
}

static void validate_metrics(tg_otlp_request *r)
{
    tg_otlp_metrics_req *req = (tg_otlp_metrics_req *)r->msg;

    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[i];
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                r->items += tg_otlp_metric_points(sm->metrics[k]);
                if (metric_exemplars(sm->metrics[k]))
                    r->modified = 1;
            }
        }
    }
}

/* ---- decode -------------------------------------------------------------- */

/* protobuf-c's allocator for one unpack. It carves the many small objects
 * of a request (a span is ~40 allocations) from 32 KiB arena chunks with
 * an inlined bump pointer, which is measurably cheaper than one call into
 * the arena each, and it tells an allocation failure (the arena's limit)
 * apart from a malformed body: protobuf-c reports both as NULL. */
#define UNPACK_CHUNK (32u * 1024u)

typedef struct unpack_alloc {
    tg_arena *arena;
    uint8_t *cur, *end;
    int failed;
    size_t failed_size;
} unpack_alloc;

static void *unpack_alloc_fn(void *data, size_t size)
{
    unpack_alloc *u = data;
    uint8_t *p;

    /* Every protobuf-c object needs at most 8-byte alignment. */
    size = (size + 7) & ~(size_t)7;
    if (size <= (size_t)(u->end - u->cur)) {
        p = u->cur;
        u->cur += size;
        return p;
    }
    if (size <= UNPACK_CHUNK / 8) {
        p = tg_arena_alloc(u->arena, UNPACK_CHUNK);
        if (p) {
            u->cur = p + size;
            u->end = p + UNPACK_CHUNK;
            return p;
        }
    }
    p = tg_arena_alloc(u->arena, size);
    if (!p && !u->failed) {
        u->failed = 1;
        u->failed_size = size;
    }
    return p;
}

static void unpack_free_fn(void *data, void *ptr)
{
    /* Everything goes when the arena is reset. */
    (void)data;
    (void)ptr;
}

static int alloc_failure(const tg_arena *arena, size_t size)
{
    if (arena->limit &&
        (size >= arena->limit || arena->used_total >= arena->limit - size))
        return TG_ETOO_BIG;
    return TG_ENOMEM;
}

static int decode_protobuf(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                           size_t len, tg_arena *arena, tg_otlp_request *out,
                           char *errmsg, size_t errlen)
{
    wire_scan *s;
    unpack_alloc w = {.arena = arena};
    ProtobufCAllocator al = {
        .alloc = unpack_alloc_fn, .free = unpack_free_fn, .allocator_data = &w};
    int rc;

    /* Too big for the stack of a libuv worker thread, fine in the arena. */
    s = tg_arena_alloc(arena, sizeof(*s));
    if (!s)
        return alloc_failure(arena, sizeof(*s));
    s->base = body;
    s->unknown = 0;
    s->nsteps = 0;
    rc = scan_msg(s, desc, body, body + len, 0);
    if (rc != SCAN_OK) {
        char path[192];
        strbuf b = {path, 0, sizeof(path)};
        path[0] = '\0';
        scan_path(s, &b);
        switch (rc) {
        case SCAN_UTF8:
            set_err(errmsg, errlen, "%s: invalid UTF-8", path);
            return TG_EUTF8;
        case SCAN_NUL:
            set_err(errmsg, errlen,
                    "%s: a string holds a NUL character (U+0000), "
                    "which is not accepted",
                    path);
            return TG_EUTF8;
        case SCAN_DEPTH:
            set_err(errmsg, errlen, "%s: messages nested deeper than %d levels", path,
                    TG_OTLP_MAX_DEPTH);
            return TG_EPARSE;
        default:
            set_err(errmsg, errlen, "malformed protobuf %s at byte %zu%s%s",
                    desc->short_name, s->err_off, path[0] ? " in " : "", path);
            return TG_EPARSE;
        }
    }

    out->msg = protobuf_c_message_unpack(desc, &al, len, body);
    if (!out->msg) {
        if (w.failed) {
            rc = alloc_failure(arena, w.failed_size);
            set_err(errmsg, errlen, "%s: decoded request exceeds the %s",
                    desc->short_name,
                    rc == TG_ETOO_BIG ? "per-request memory limit" : "available memory");
            return rc;
        }
        set_err(errmsg, errlen,
                "malformed protobuf %s: a field does not match its declared type",
                desc->short_name);
        return TG_EPARSE;
    }
    if (s->unknown) {
        strip_unknown(out->msg);
        out->modified = 1;
    }
    return 0;
}

int tg_otlp_decode(enum tg_signal sig, enum tg_encoding enc, const uint8_t *body,
                   size_t len, tg_arena *arena, tg_otlp_request *out, char *errmsg,
                   size_t errlen)
{
    const ProtobufCMessageDescriptor *desc = tg_otlp_request_descriptor(sig);
    static const uint8_t empty[1];
    int rc;

    memset(out, 0, sizeof(*out));
    out->signal = sig;
    if (errmsg && errlen)
        errmsg[0] = '\0';
    if (!desc || !arena || (len && !body)) {
        set_err(errmsg, errlen, "invalid arguments");
        return TG_EINVAL;
    }
    if (!body)
        body = empty;

    if (enc == TG_ENC_PROTOBUF) {
        rc = decode_protobuf(desc, body, len, arena, out, errmsg, errlen);
    } else if (enc == TG_ENC_JSON) {
        rc = tg_otlp__json_decode(desc, (const char *)body, len, arena, &out->msg, errmsg,
                                  errlen);
    } else {
        set_err(errmsg, errlen, "unsupported encoding");
        return TG_EUNSUPPORTED;
    }
    if (rc) {
        out->msg = NULL;
        return rc;
    }

    switch (sig) {
    case TG_SIGNAL_TRACES:
        validate_traces(out);
        break;
    case TG_SIGNAL_LOGS:
        validate_logs(out);
        break;
    case TG_SIGNAL_METRICS:
        validate_metrics(out);
        break;
    }
    if (out->rejected)
        out->modified = 1;
    return 0;
}

/* ---- encode -------------------------------------------------------------- */

static int pack_msg(const ProtobufCMessage *msg, tg_arena *arena, uint8_t **out,
                    size_t *outlen)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = tg_arena_alloc(arena, n ? n : 1);

    if (!buf)
        return alloc_failure(arena, n);
    *outlen = protobuf_c_message_pack(msg, buf);
    *out = buf;
    return 0;
}

int tg_otlp_pack(const tg_otlp_request *req, tg_arena *arena, uint8_t **out,
                 size_t *outlen)
{
    if (!req || !req->msg || !arena || !out || !outlen)
        return TG_EINVAL;
    return pack_msg(req->msg, arena, out, outlen);
}

static int encode_msg(const ProtobufCMessage *msg, enum tg_encoding enc, tg_arena *arena,
                      uint8_t **out, size_t *outlen)
{
    char *text;
    size_t n;

    if (enc == TG_ENC_PROTOBUF)
        return pack_msg(msg, arena, out, outlen);
    if (enc != TG_ENC_JSON)
        return TG_EUNSUPPORTED;
    text = tg_otlp_json_encode(msg, &n);
    if (!text)
        return TG_ENOMEM;
    *out = tg_arena_alloc(arena, n + 1);
    if (!*out) {
        free(text);
        return alloc_failure(arena, n + 1);
    }
    memcpy(*out, text, n + 1);
    *outlen = n;
    free(text);
    return 0;
}

/* Messages we put on the wire must be valid UTF-8 themselves. */
static char *safe_text(const char *message)
{
    if (!message || !tg_utf8_valid(message, strlen(message)))
        return (char *)"";
    return (char *)message;
}

/* The response of each signal's Export call: the same shape with other
 * names (partial_success { rejected_<items>, error_message }), so it is
 * built through the descriptors rather than three copies of the code. */
static const struct {
    const ProtobufCMessageDescriptor *resp;
    const char *count; /* the rejected-items field of its partial success */
} responses[] = {
    [TG_SIGNAL_TRACES] =
        {&opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor,
         "rejected_spans"},
    [TG_SIGNAL_LOGS] =
        {&opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor,
         "rejected_log_records"},
    [TG_SIGNAL_METRICS] =
        {&opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
         "rejected_data_points"},
};

static ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d, tg_arena *arena)
{
    ProtobufCMessage *m = tg_arena_calloc(arena, d->sizeof_message);

    if (m)
        protobuf_c_message_init(d, m);
    return m;
}

int tg_otlp_encode_response(enum tg_signal sig, enum tg_encoding enc, uint64_t rejected,
                            const char *message, tg_arena *arena, uint8_t **out,
                            size_t *outlen)
{
    const ProtobufCFieldDescriptor *pf, *cf, *tf;
    ProtobufCMessage *r, *ps;
    int64_t n = rejected > INT64_MAX ? INT64_MAX : (int64_t)rejected;
    char *text = safe_text(message);

    if (!arena || !out || !outlen ||
        (unsigned)sig >= sizeof(responses) / sizeof(responses[0]))
        return TG_EINVAL;
    if (!(r = new_msg(responses[sig].resp, arena)))
        return TG_ENOMEM;
    pf = protobuf_c_message_descriptor_get_field_by_name(responses[sig].resp,
                                                         "partial_success");
    if (rejected) {
        if (!pf || !(ps = new_msg(pf->descriptor, arena)))
            return TG_ENOMEM;
        cf = protobuf_c_message_descriptor_get_field_by_name(pf->descriptor,
                                                             responses[sig].count);
        tf = protobuf_c_message_descriptor_get_field_by_name(pf->descriptor,
                                                             "error_message");
        if (!cf || !tf)
            return TG_EINVAL;
        memcpy((char *)ps + cf->offset, &n, sizeof(n));
        memcpy((char *)ps + tf->offset, &text, sizeof(text));
        memcpy((char *)r + pf->offset, &ps, sizeof(ps));
    }
    return encode_msg(r, enc, arena, out, outlen);
}

int tg_otlp_encode_status(enum tg_encoding enc, int code, const char *message,
                          tg_arena *arena, uint8_t **out, size_t *outlen)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;

    if (!arena || !out || !outlen)
        return TG_EINVAL;
    st.code = code;
    st.message = safe_text(message);
    return encode_msg(&st.base, enc, arena, out, outlen);
}
