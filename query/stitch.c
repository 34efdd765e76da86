/* One trace from every site's fragment: tag, deduplicate, correct skew.
 * See tg_stitch.h for what and why. */
#include "tg_stitch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One span of the result, pointing into the result document. */
struct node {
    json_t *span;
    const char *id;
    const char *parent;
    int kind;
    size_t site; /* index into parts */
    int64_t start, end;
    ptrdiff_t parent_node;            /* -1: a root */
    size_t first_child, next_sibling; /* child lists; SIZE_MAX: none */
};

#define NONE SIZE_MAX

static int64_t get_ns(const json_t *o, const char *camel, const char *snake)
{
    const json_t *v = json_object_get(o, camel);

    if (!v)
        v = json_object_get(o, snake);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return (int64_t)strtoull(json_string_value(v), NULL, 10);
    return 0;
}

static void set_ns(json_t *o, const char *camel, const char *snake, int64_t ns)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(ns < 0 ? 0 : ns));
    if (!json_object_get(o, camel) && json_object_get(o, snake))
        json_object_set_new(o, snake, json_string(buf));
    else
        json_object_set_new(o, camel, json_string(buf));
}

static const char *get_str(const json_t *o, const char *camel, const char *snake)
{
    const json_t *v = json_object_get(o, camel);

    if (!v)
        v = json_object_get(o, snake);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* OTLP/JSON writes kind as the enum number; tolerate the enum name. */
static int get_kind(const json_t *span)
{
    static const char *const names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    const json_t *v = json_object_get(span, "kind");

    if (json_is_integer(v))
        return (int)json_integer_value(v);
    if (json_is_string(v))
        for (int i = 0; i < 6; i++)
            if (strcmp(json_string_value(v), names[i]) == 0)
                return i;
    return 0;
}

static json_t *attrs_of(json_t *o)
{
    json_t *a = json_object_get(o, "attributes");

    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(o, "attributes", a);
    }
    return a;
}

static int has_attr(const json_t *attrs, const char *key)
{
    size_t i;
    const json_t *kv;

    json_array_foreach(attrs, i, kv)
    {
        if (json_is_string(json_object_get(kv, "key")) &&
            strcmp(json_string_value(json_object_get(kv, "key")), key) == 0)
            return 1;
    }
    return 0;
}

static void add_int_attr(json_t *attrs, const char *key, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    json_array_append_new(
        attrs, json_pack("{s:s,s:{s:s}}", "key", key, "value", "intValue", buf));
}

/* ---- a small hash set of "id/kind" and an id -> node map ---------------- */

struct table {
    size_t *slot; /* node index + 1; 0 = empty */
    size_t cap;
};

static uint64_t hash_key(const char *id, int kind)
{
    uint64_t h = 1469598103934665603ull;

    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (h ^ (uint64_t)(kind + 1)) * 1099511628211ull;
}

/* Finds (id, kind) (kind < 0: any kind, first inserted) or inserts node
 * idx when insert is set. Returns the existing node index, or NONE. */
static size_t table_find(struct table *t, const struct node *nodes, const char *id,
                         int kind, size_t insert_idx)
{
    uint64_t h = hash_key(id, kind < 0 ? -1 : kind);
    size_t i = (size_t)h & (t->cap - 1);

    for (;; i = (i + 1) & (t->cap - 1)) {
        size_t s = t->slot[i];
        if (!s) {
            if (insert_idx != NONE)
                t->slot[i] = insert_idx + 1;
            return NONE;
        }
        if (strcmp(nodes[s - 1].id, id) == 0 && (kind < 0 || nodes[s - 1].kind == kind))
            return s - 1;
    }
}

/* ---- skew ---------------------------------------------------------------- */

static void shift_span(struct node *n, int64_t delta)
{
    json_t *events = json_object_get(n->span, "events");
    size_t i;
    json_t *ev;

    n->start += delta;
    n->end += delta;
    set_ns(n->span, "startTimeUnixNano", "start_time_unix_nano", n->start);
    set_ns(n->span, "endTimeUnixNano", "end_time_unix_nano", n->end);
    json_array_foreach(events, i, ev)
    {
        set_ns(ev, "timeUnixNano", "time_unix_nano",
               get_ns(ev, "timeUnixNano", "time_unix_nano") + delta);
    }
}

/* Jaeger's rule for a child on another host than its (already adjusted)
 * parent: a child longer than its parent (async, or a parent that timed
 * out) is only moved so it does not start before the parent; one that
 * fits is left alone; otherwise it is centred, assuming the network time
 * splits evenly both ways. */
static int64_t skew_delta(const struct node *parent, const struct node *child)
{
    int64_t pdur = parent->end - parent->start, cdur = child->end - child->start;

    if (cdur > pdur)
        return child->start < parent->start ? parent->start - child->start : 0;
    if (child->start >= parent->start && child->end <= parent->end)
        return 0;
    return parent->start + (pdur - cdur) / 2 - child->start;
}

static void correct_skew(struct node *nodes, size_t n, const tg_stitch_part *parts,
                         const tg_stitch_options *o, tg_stitch_stats *st)
{
    /* Explicit stack of (node, inherited delta): traces can be deep. */
    struct frame {
        size_t node;
        int64_t delta;
    } *stack = malloc((n ? n : 1) * sizeof(*stack));
    size_t top = 0;

    if (!stack)
        return;
    for (size_t r = 0; r < n; r++) {
        if (nodes[r].parent_node >= 0)
            continue;
        stack[top++] = (struct frame){r, 0};
        while (top) {
            struct frame f = stack[--top];
            struct node *c = &nodes[f.node];
            int64_t delta = f.delta;

            if (c->parent_node >= 0 && nodes[c->parent_node].site != c->site) {
                delta = skew_delta(&nodes[c->parent_node], c);
                if (delta && (o->max_skew_ns <= 0 || llabs(delta) > o->max_skew_ns)) {
                    if (o->max_skew_ns > 0) {
                        add_int_attr(attrs_of(c->span), "tollgate.skew.refused_ns",
                                     delta);
                        st->skew_refused++;
                    }
                    delta = 0;
                }
            }
            if (delta) {
                json_t *a = attrs_of(c->span);

                shift_span(c, delta);
                add_int_attr(a, "tollgate.skew.adjusted_ns", delta);
                if (parts[c->site].offset_known)
                    add_int_attr(a, "tollgate.skew.site_offset_ns",
                                 parts[c->site].offset_ns);
                st->adjusted++;
            }
            for (size_t ch = c->first_child; ch != NONE; ch = nodes[ch].next_sibling)
                if (top < n)
                    stack[top++] = (struct frame){ch, delta};
        }
    }
    free(stack);
}

/* ---- stitching ------------------------------------------------------------ */

static int tag_site(json_t *rs, const char *site)
{
    json_t *res = json_object_get(rs, "resource");
    json_t *attrs;

    if (!json_is_object(res)) {
        res = json_object();
        json_object_set_new(rs, "resource", res);
    }
    attrs = attrs_of(res);
    if (has_attr(attrs, "tollgate.site"))
        return 0;
    return json_array_append_new(attrs, json_pack("{s:s,s:{s:s}}", "key", "tollgate.site",
                                                  "value", "stringValue", site));
}

json_t *tg_stitch_trace(const tg_stitch_part *parts, size_t n, const tg_stitch_options *o,
                        tg_stitch_stats *stats)
{
    tg_stitch_options def = {0};
    tg_stitch_stats st = {0};
    json_t *out = json_object(), *out_rs = json_array();
    struct node *nodes = NULL;
    struct table seen = {0}, by_id = {0};
    size_t nn = 0, total = 0;

    if (!o)
        o = &def;
    /* Upper bound of spans, to size the node array and tables once. */
    for (size_t p = 0; p < n; p++) {
        size_t i, j;
        const json_t *rs, *ss;

        json_array_foreach(json_object_get(parts[p].traces_data, "resourceSpans"), i, rs)
        {
            json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
            {
                total += json_array_size(json_object_get(ss, "spans"));
            }
        }
    }
    for (seen.cap = 16; seen.cap < total * 2 + 2; seen.cap *= 2)
        ;
    by_id.cap = seen.cap;
    nodes = calloc(total ? total : 1, sizeof(*nodes));
    seen.slot = calloc(seen.cap, sizeof(size_t));
    by_id.slot = calloc(by_id.cap, sizeof(size_t));
    if (!out || !out_rs || !nodes || !seen.slot || !by_id.slot)
        goto fail;
    json_object_set_new(out, "resourceSpans", out_rs);

    for (size_t p = 0; p < n; p++) {
        size_t i, j, k, before = nn;
        const json_t *rs, *ss, *sp;

        json_array_foreach(json_object_get(parts[p].traces_data, "resourceSpans"), i, rs)
        {
            json_t *nrs = json_deep_copy(rs), *nss_arr = json_array();

            if (!nrs || !nss_arr) {
                json_decref(nrs);
                json_decref(nss_arr);
                goto fail;
            }
            json_object_set_new(nrs, "scopeSpans", nss_arr);
            tag_site(nrs, parts[p].site);
            json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
            {
                json_t *nss = json_deep_copy(ss), *spans = json_array();

                json_object_set_new(nss, "spans", spans);
                json_array_foreach(json_object_get(ss, "spans"), k, sp)
                {
                    struct node *nd = &nodes[nn];

                    nd->id = get_str(sp, "spanId", "span_id");
                    nd->kind = get_kind(sp);
                    if (table_find(&seen, nodes, nd->id, nd->kind, NONE) != NONE) {
                        st.duplicates++;
                        continue;
                    }
                    nd->span = json_deep_copy(sp);
                    json_array_append_new(spans, nd->span);
                    /* Point at the copy's strings: they live as long as out. */
                    nd->id = get_str(nd->span, "spanId", "span_id");
                    nd->parent = get_str(nd->span, "parentSpanId", "parent_span_id");
                    nd->site = p;
                    nd->start =
                        get_ns(nd->span, "startTimeUnixNano", "start_time_unix_nano");
                    nd->end = get_ns(nd->span, "endTimeUnixNano", "end_time_unix_nano");
                    nd->first_child = nd->next_sibling = NONE;
                    table_find(&seen, nodes, nd->id, nd->kind, nn);
                    if (table_find(&by_id, nodes, nd->id, -1, NONE) == NONE)
                        table_find(&by_id, nodes, nd->id, -1, nn);
                    nn++;
                }
                if (json_array_size(spans))
                    json_array_append_new(nss_arr, nss);
                else
                    json_decref(nss);
            }
            if (json_array_size(nss_arr))
                json_array_append_new(out_rs, nrs);
            else
                json_decref(nrs);
        }
        if (nn > before)
            st.sites++;
    }

    /* Parent links, then child lists in input order. */
    for (size_t i = nn; i-- > 0;) {
        size_t par = nodes[i].parent[0]
                         ? table_find(&by_id, nodes, nodes[i].parent, -1, NONE)
                         : NONE;
        if (par == NONE || par == i) {
            nodes[i].parent_node = -1;
            st.roots++;
            continue;
        }
        nodes[i].parent_node = (ptrdiff_t)par;
        nodes[i].next_sibling = nodes[par].first_child;
        nodes[par].first_child = i;
    }
    /* A cycle (a corrupt or hostile fragment) would leave spans no root
     * reaches; they keep their timestamps, which is the safe answer. */
    correct_skew(nodes, nn, parts, o, &st);
    st.spans = nn;
    free(nodes);
    free(seen.slot);
    free(by_id.slot);
    if (stats)
        *stats = st;
    return out;

fail:
    free(nodes);
    free(seen.slot);
    free(by_id.slot);
    json_decref(out);
    return NULL;
}
