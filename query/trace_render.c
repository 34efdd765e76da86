/* A trace as a readable span tree.
 *
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736: 3 spans, 2 services, 250.000 ms
 *     +0.000 ms  GET /checkout [frontend] 250.000 ms server
 *    +10.000 ms    charge [payments] 120.000 ms client ERROR: card declined
 *   +200.000 ms    render [frontend] 40.500 ms internal
 *
 * The left column is the offset from the trace's first start. Children
 * sit under their parent in start order; a span whose parent is not in
 * the document is a root, marked "(parent missing)". The walk is
 * iterative and marks what it printed, so neither a deep chain nor a
 * parent cycle sent by a confused server can overflow the stack or loop. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "query_cli.h"

#define NONE SIZE_MAX
#define MAX_INDENT 40

struct span_row {
    const json_t *span;
    const char *service;
    const char *site;   /* tollgate.site of its resource (stitched traces), or NULL */
    const char *id;     /* hex span id, "" if absent */
    const char *parent; /* hex parent span id, "" if none */
    uint64_t start, end;
    size_t order;      /* position in the document, to keep sorts stable */
    size_t parent_row; /* NONE: a root */
    size_t first_child, last_child, next_sibling;
    bool printed;
};

static const char *str_field(const json_t *obj, const char *camel, const char *snake)
{
    const json_t *v = tg_query_field(obj, camel, snake);
    return json_is_string(v) ? json_string_value(v) : "";
}

static uint64_t time_field(const json_t *obj, const char *camel, const char *snake)
{
    uint64_t v = 0;
    (void)tg_query_uint64(tg_query_field(obj, camel, snake), &v);
    return v;
}

static size_t collect(const json_t *doc, struct span_row *rows)
{
    size_t n = 0, i, j, k;
    const json_t *rs, *ss, *span;

    json_array_foreach(tg_query_field(doc, "resourceSpans", "resource_spans"), i, rs)
    {
        const char *service = tg_query_service_name(rs);
        const char *site = tg_query_resource_string(rs, "tollgate.site");
        json_array_foreach(tg_query_field(rs, "scopeSpans", "scope_spans"), j, ss)
        {
            json_array_foreach(json_object_get(ss, "spans"), k, span)
            {
                if (!json_is_object(span))
                    continue;
                if (rows) {
                    struct span_row *r = &rows[n];
                    memset(r, 0, sizeof(*r));
                    r->span = span;
                    r->service = service;
                    r->site = site;
                    r->id = str_field(span, "spanId", "span_id");
                    r->parent = str_field(span, "parentSpanId", "parent_span_id");
                    r->start =
                        time_field(span, "startTimeUnixNano", "start_time_unix_nano");
                    r->end = time_field(span, "endTimeUnixNano", "end_time_unix_nano");
                    r->order = n;
                    r->parent_row = r->first_child = r->last_child = r->next_sibling =
                        NONE;
                }
                n++;
            }
        }
    }
    return n;
}

static int by_start(const void *a, const void *b)
{
    const struct span_row *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Rows by span id, for the parent lookup. */
static int by_id(const void *a, const void *b)
{
    const struct span_row *x = *(const struct span_row *const *)a;
    const struct span_row *y = *(const struct span_row *const *)b;
    int c = strcmp(x->id, y->id);

    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static size_t find_id(const struct span_row *rows, struct span_row *const *ids, size_t n,
                      const char *id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ids[mid]->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(ids[lo]->id, id) == 0 ? (size_t)(ids[lo] - rows) : NONE;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void format_ms(uint64_t ns, char *buf, size_t len)
{
    uint64_t us = ns / 1000 + (ns % 1000 >= 500);
    snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
}

static const char *kind_name(const json_t *span)
{
    static const char *const names[] = {"",       "internal", "server",
                                        "client", "producer", "consumer"};
    static const char *const enums[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    const json_t *k = json_object_get(span, "kind");

    if (json_is_integer(k)) {
        json_int_t v = json_integer_value(k);
        return v >= 0 && v <= 5 ? names[v] : "";
    }
    if (json_is_string(k)) {
        for (size_t i = 0; i < 6; i++) {
            if (strcmp(json_string_value(k), enums[i]) == 0)
                return names[i];
        }
    }
    return "";
}

/* 0 unset, 1 ok, 2 error, from a number or the enum's name. */
static int status_code(const json_t *status)
{
    const json_t *c = json_object_get(status, "code");

    if (json_is_integer(c))
        return (int)(json_integer_value(c) == 1 ? 1 : json_integer_value(c) == 2 ? 2 : 0);
    if (json_is_string(c)) {
        if (strcmp(json_string_value(c), "STATUS_CODE_OK") == 0)
            return 1;
        if (strcmp(json_string_value(c), "STATUS_CODE_ERROR") == 0)
            return 2;
    }
    return 0;
}

/* What the centre did to or withheld from a span, said on its line:
 * a clock-skew shift (with the site's measured offset) and a withheld
 * span's classes. Never silent: adjusted data must look adjusted. */
static void print_marks(FILE *out, const json_t *span)
{
    const char *skew = tg_query_attr_string(span, "tollgate.skew.adjusted_ns");
    const char *offset = tg_query_attr_string(span, "tollgate.skew.site_offset_ns");
    const char *withheld = tg_query_attr_string(span, "tollgate.withheld");

    if (skew) {
        fprintf(out, " [skew adjusted %+.3f ms", (double)strtoll(skew, NULL, 10) / 1e6);
        if (offset)
            fprintf(out, ", site clock offset %+.3f ms",
                    (double)strtoll(offset, NULL, 10) / 1e6);
        fputc(']', out);
    }
    if (withheld) {
        fputs(" [withheld at its site: ", out);
        tg_query_put_text(out, withheld);
        fputc(']', out);
    }
}

static void print_row(FILE *out, const struct span_row *r, size_t depth, uint64_t t0,
                      int width)
{
    char off[48], dur[48];
    const char *name = str_field(r->span, "name", NULL);
    const char *kind = kind_name(r->span);
    const json_t *status = json_object_get(r->span, "status");
    int code = status_code(status);

    off[0] = '+';
    format_ms(r->start - t0, off + 1, sizeof(off) - 1);
    format_ms(r->end > r->start ? r->end - r->start : 0, dur, sizeof(dur));
    fprintf(out, "%*s ms  ", width, off);
    for (size_t i = 0; i < depth && i < MAX_INDENT; i++)
        fputs("  ", out);
    tg_query_put_text(out, *name ? name : "(unnamed)");
    fputs(" [", out);
    tg_query_put_text(out, r->service);
    if (r->site) {
        fputs(" @ ", out);
        tg_query_put_text(out, r->site);
    }
    fprintf(out, "] %s ms", dur);
    if (*kind)
        fprintf(out, " %s", kind);
    if (code == 2) {
        const char *msg = str_field(status, "message", NULL);
        fputs(" ERROR", out);
        if (*msg) {
            fputs(": ", out);
            tg_query_put_text(out, msg);
        }
    } else if (code == 1) {
        fputs(" ok", out);
    }
    if (r->parent_row == NONE && *r->parent)
        fputs(" (parent missing)", out);
    print_marks(out, r->span);
    fputc('\n', out);
}

struct frame {
    size_t row, depth;
    bool siblings; /* continue with the row's next sibling afterwards */
};

/* Prints the subtree under `root`; stack holds room for 2 frames a row. */
static void print_tree(FILE *out, struct span_row *rows, size_t root, struct frame *stack,
                       uint64_t t0, int width)
{
    size_t top = 0;

    stack[top++] = (struct frame){root, 0, false};
    while (top) {
        struct frame f = stack[--top];
        struct span_row *r = &rows[f.row];

        if (f.siblings && r->next_sibling != NONE)
            stack[top++] = (struct frame){r->next_sibling, f.depth, true};
        if (r->printed)
            continue;
        r->printed = true;
        print_row(out, r, f.depth, t0, width);
        if (r->first_child != NONE)
            stack[top++] = (struct frame){r->first_child, f.depth + 1, true};
    }
}

size_t tg_query_render_trace(const json_t *doc, FILE *out)
{
    size_t n = collect(doc, NULL), n_services = 0, n_sites = 0;
    struct span_row *rows;
    struct span_row **ids;
    const char **services;
    struct frame *stack;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    int width = 0;
    char total[48];
    const char *trace_id;

    if (n == 0)
        return 0;
    rows = calloc(n, sizeof(*rows));
    ids = calloc(n, sizeof(*ids));
    services = calloc(n, sizeof(*services));
    stack = calloc(2 * n + 1, sizeof(*stack));
    if (!rows || !ids || !services || !stack) {
        free(rows);
        free(ids);
        free(services);
        free(stack);
        fprintf(out, "(out of memory rendering %zu spans)\n", n);
        return 0;
    }
    collect(doc, rows);
    qsort(rows, n, sizeof(*rows), by_start);

    for (size_t i = 0; i < n; i++) {
        ids[i] = &rows[i];
        services[i] = rows[i].service;
        if (rows[i].start < t0)
            t0 = rows[i].start;
        if (rows[i].end > t1)
            t1 = rows[i].end;
    }
    qsort(ids, n, sizeof(*ids), by_id);
    qsort(services, n, sizeof(*services), by_string);
    for (size_t i = 0; i < n; i++)
        n_services += i == 0 || strcmp(services[i], services[i - 1]) != 0;

    /* Link children in start order: rows are already sorted. */
    for (size_t i = 0; i < n; i++) {
        struct span_row *r = &rows[i];
        size_t p;
        if (!*r->parent)
            continue;
        p = find_id(rows, ids, n, r->parent);
        if (p == NONE || p == i)
            continue;
        r->parent_row = p;
        if (rows[p].last_child == NONE)
            rows[p].first_child = i;
        else
            rows[rows[p].last_child].next_sibling = i;
        rows[p].last_child = i;
    }
    for (size_t i = 0; i < n; i++) {
        char off[48];
        int w;
        format_ms(rows[i].start - t0, off, sizeof(off));
        w = (int)strlen(off) + 1;
        if (w > width)
            width = w;
    }

    trace_id = str_field(rows[0].span, "traceId", "trace_id");
    format_ms(t1 > t0 ? t1 - t0 : 0, total, sizeof(total));
    fputs("trace ", out);
    tg_query_put_text(out, *trace_id ? trace_id : "(no id)");
    fprintf(out, ": %zu span%s, %zu service%s", n, n == 1 ? "" : "s", n_services,
            n_services == 1 ? "" : "s");
    /* A stitched trace says how many sites it crossed. */
    for (size_t i = 0; i < n; i++)
        services[i] = rows[i].site ? rows[i].site : "";
    qsort(services, n, sizeof(*services), by_string);
    for (size_t i = 0; i < n; i++)
        n_sites += *services[i] && (i == 0 || strcmp(services[i], services[i - 1]) != 0);
    if (n_sites)
        fprintf(out, ", %zu site%s", n_sites, n_sites == 1 ? "" : "s");
    fprintf(out, ", %s ms\n", total);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].parent_row == NONE)
            print_tree(out, rows, i, stack, t0, width);
    }
    /* Only spans caught in a parent cycle remain. */
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].printed)
            print_tree(out, rows, i, stack, t0, width);
    }
    free(rows);
    free(ids);
    free(services);
    free(stack);
    return n;
}
