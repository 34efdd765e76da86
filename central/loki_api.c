/* Federated LogQL at the centre, and the Loki API Grafana reads.
 *
 * The centre parses the query (a bad one is a 400 naming the column),
 * sends it to every site, and merges: a log query's streams are joined by
 * label set and cut to the newest `limit` lines; a metric query's sites
 * answer only the times and sizes of the matching records, and the centre
 * counts, rates and aggregates them over the steps (count_over_time, rate,
 * bytes_over_time, bytes_rate; sum, avg, min, max, count by or without
 * labels; arithmetic with a scalar). Grafana's health check
 * (vector(1)+vector(1)) needs no site. Every answer names the sites that
 * did not answer (Loki's `warnings`, which Grafana shows on the panel). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "query_http.h"
#include "tg_err.h"
#include "tg_fanout.h"
#include "tg_log.h"
#include "tg_plan.h"
#include "tg_plan_eval.h"
#include "tg_time.h"
#include "tg_units.h"

/* ---- evaluating a metric expression over the sites' samples ------------- */

typedef struct series {
    json_t *labels; /* owned */
    double *v;
    unsigned char *has;
} series;

typedef struct vec {
    series *s;
    size_t n;
    int scalar; /* a number: s[0] holds it, no labels */
} vec;

typedef struct steps {
    uint64_t start, step;
    size_t n;
} steps;

static void vec_free(vec *x)
{
    for (size_t i = 0; i < x->n; i++) {
        json_decref(x->s[i].labels);
        free(x->s[i].v);
        free(x->s[i].has);
    }
    free(x->s);
    x->s = NULL;
    x->n = 0;
}

static series *vec_add(vec *x, json_t *labels, size_t nsteps)
{
    series *ns = realloc(x->s, (x->n + 1) * sizeof(*ns)), *s;

    if (!ns)
        return NULL;
    x->s = ns;
    s = &x->s[x->n];
    s->labels = labels;
    s->v = calloc(nsteps ? nsteps : 1, sizeof(double));
    s->has = calloc(nsteps ? nsteps : 1, 1);
    if (!s->v || !s->has)
        return NULL;
    x->n++;
    return s;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One range aggregation over every stream the sites sent. */
static int eval_range(const tg_mexpr *m, const json_t *streams, const steps *st, vec *out)
{
    size_t i;
    const json_t *sm;
    double range_s = (double)m->range_ns / 1e9;

    json_array_foreach(streams, i, sm)
    {
        const json_t *ts = json_object_get(sm, "t"), *by = json_object_get(sm, "bytes");
        size_t n = json_array_size(ts), lo = 0, hi = 0;
        uint64_t *t = malloc((n ? n : 1) * 2 * sizeof(uint64_t));
        uint64_t *b = t + (n ? n : 1);
        series *s;

        if (!t)
            return TG_ENOMEM;
        /* (time, bytes) pairs sorted by time: pack them to sort together. */
        for (size_t k = 0; k < n; k++)
            t[k] = strtoull(json_string_value(json_array_get(ts, k)), NULL, 10);
        {
            uint64_t(*pairs)[2] = malloc((n ? n : 1) * sizeof(*pairs));
            if (!pairs) {
                free(t);
                return TG_ENOMEM;
            }
            for (size_t k = 0; k < n; k++) {
                pairs[k][0] = t[k];
                pairs[k][1] = (uint64_t)json_integer_value(json_array_get(by, k));
            }
            qsort(pairs, n, sizeof(*pairs), cmp_u64);
            for (size_t k = 0; k < n; k++) {
                t[k] = pairs[k][0];
                b[k] = pairs[k][1];
            }
            free(pairs);
        }
        if (!(s = vec_add(out, json_deep_copy(json_object_get(sm, "stream")), st->n))) {
            free(t);
            return TG_ENOMEM;
        }
        /* A sliding window (t_j - range, t_j] per step. */
        {
            double bytes = 0;
            for (size_t j = 0; j < st->n; j++) {
                uint64_t end = st->start + j * st->step;
                uint64_t begin =
                    end > (uint64_t)m->range_ns ? end - (uint64_t)m->range_ns : 0;
                while (hi < n && t[hi] <= end)
                    bytes += (double)b[hi++];
                while (lo < hi && t[lo] <= begin)
                    bytes -= (double)b[lo++];
                if (hi == lo)
                    continue;
                s->has[j] = 1;
                switch (m->fn) {
                case TG_RF_COUNT_OVER_TIME:
                    s->v[j] = (double)(hi - lo);
                    break;
                case TG_RF_RATE:
                    s->v[j] = (double)(hi - lo) / range_s;
                    break;
                case TG_RF_BYTES_OVER_TIME:
                    s->v[j] = bytes;
                    break;
                case TG_RF_BYTES_RATE:
                    s->v[j] = bytes / range_s;
                    break;
                }
            }
        }
        free(t);
    }
    return 0;
}

/* The grouping key of a series' labels under by (...) / without (...). */
static json_t *group_labels(const tg_mexpr *m, const json_t *labels)
{
    json_t *g = json_object();
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)labels, k, v)
    {
        int listed = 0;
        for (size_t i = 0; i < m->nlabels; i++)
            listed |= strcmp(m->labels[i], k) == 0;
        if (listed != m->without)
            json_object_set(g, k, v);
    }
    return g;
}

static int eval_node(const tg_mexpr *m, const json_t *streams, const steps *st, vec *out);

static int eval_agg(const tg_mexpr *m, const json_t *streams, const steps *st, vec *out)
{
    vec in = {0};
    json_t *index = json_object();
    int rc = eval_node(m->l, streams, st, &in);
    double *cnt = NULL;

    if (rc || !index)
        goto done;
    for (size_t i = 0; i < in.n; i++) {
        json_t *g = group_labels(m, in.s[i].labels), *slot;
        char *key = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
        series *o;

        if ((slot = json_object_get(index, key))) {
            o = &out->s[json_integer_value(slot)];
            json_decref(g);
        } else {
            if (!(o = vec_add(out, g, st->n))) {
                free(key);
                rc = TG_ENOMEM;
                goto done;
            }
            json_object_set_new(index, key, json_integer((json_int_t)(out->n - 1)));
            /* counts per output series and step, for avg and count */
            cnt = realloc(cnt, out->n * st->n * sizeof(double));
            memset(cnt + (out->n - 1) * st->n, 0, st->n * sizeof(double));
            o = &out->s[out->n - 1];
        }
        free(key);
        for (size_t j = 0; j < st->n; j++) {
            double *c = &cnt[(size_t)(o - out->s) * st->n + j];
            double v = in.s[i].v[j];
            if (!in.s[i].has[j])
                continue;
            if (!o->has[j]) {
                o->v[j] = m->agg == TG_AGG_COUNT ? 1 : v;
            } else {
                switch (m->agg) {
                case TG_AGG_SUM:
                case TG_AGG_AVG:
                    o->v[j] += v;
                    break;
                case TG_AGG_MIN:
                    o->v[j] = v < o->v[j] ? v : o->v[j];
                    break;
                case TG_AGG_MAX:
                    o->v[j] = v > o->v[j] ? v : o->v[j];
                    break;
                case TG_AGG_COUNT:
                    o->v[j] += 1;
                    break;
                }
            }
            o->has[j] = 1;
            *c += 1;
        }
    }
    if (m->agg == TG_AGG_AVG)
        for (size_t i = 0; i < out->n; i++)
            for (size_t j = 0; j < st->n; j++)
                if (out->s[i].has[j])
                    out->s[i].v[j] /= cnt[i * st->n + j];
done:
    free(cnt);
    vec_free(&in);
    json_decref(index);
    return rc;
}

static double apply_op(char op, double a, double b)
{
    switch (op) {
    case '+':
        return a + b;
    case '-':
        return a - b;
    case '*':
        return a * b;
    default:
        return b == 0 ? NAN : a / b;
    }
}

static int eval_node(const tg_mexpr *m, const json_t *streams, const steps *st, vec *out)
{
    switch (m->op) {
    case TG_MX_NUMBER:
    case TG_MX_VECTOR: {
        series *s = vec_add(out, json_object(), st->n);
        if (!s)
            return TG_ENOMEM;
        for (size_t j = 0; j < st->n; j++) {
            s->v[j] = m->number;
            s->has[j] = 1;
        }
        out->scalar = m->op == TG_MX_NUMBER;
        return 0;
    }
    case TG_MX_RANGE:
        return eval_range(m, streams, st, out);
    case TG_MX_AGG:
        return eval_agg(m, streams, st, out);
    case TG_MX_BINOP: {
        vec l = {0}, r = {0};
        int rc = eval_node(m->l, streams, st, &l);
        if (!rc)
            rc = eval_node(m->r, streams, st, &r);
        if (!rc) {
            /* A series side against a one-series side (a number or
             * vector(N)), or two sides whose label sets match one to one. */
            vec *many = l.n != 1 || r.n == 1 ? &l : &r;
            vec *one = many == &l ? &r : &l;
            for (size_t i = 0; i < many->n && !rc; i++) {
                const series *o = NULL;
                series *s;
                if (one->n == 1 && (one->scalar || !json_object_size(one->s[0].labels)))
                    o = &one->s[0];
                for (size_t k = 0; !o && k < one->n; k++)
                    if (json_equal(one->s[k].labels, many->s[i].labels))
                        o = &one->s[k];
                if (!o)
                    continue;
                if (!(s = vec_add(out, json_deep_copy(many->s[i].labels), st->n))) {
                    rc = TG_ENOMEM;
                    break;
                }
                for (size_t j = 0; j < st->n; j++) {
                    if (!many->s[i].has[j] || !o->has[j])
                        continue;
                    s->has[j] = 1;
                    s->v[j] = many == &l ? apply_op(m->binop, many->s[i].v[j], o->v[j])
                                         : apply_op(m->binop, o->v[j], many->s[i].v[j]);
                }
            }
            out->scalar = l.scalar && r.scalar;
        }
        vec_free(&l);
        vec_free(&r);
        return rc;
    }
    }
    return TG_EINVAL;
}

static json_t *value_pair(uint64_t t_ns, double v)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%.17g", v);
    return json_pack("[f,s]", (double)t_ns / 1e9, buf);
}

/* ---- the fan-out and the merge -------------------------------------------- */

typedef struct logq {
    const char *q;
    uint64_t start, end, step;
    size_t limit;
    int forward; /* direction=forward: oldest first */
    int instant;
    int require_complete;
} logq;

/* [[ts, line], stream-key] pairs, newest first. */
static int cmp_line_pair(const void *a, const void *b)
{
    const json_t *x = json_array_get(*(json_t *const *)a, 0);
    const json_t *y = json_array_get(*(json_t *const *)b, 0);
    uint64_t tx = strtoull(json_string_value(json_array_get(x, 0)), NULL, 10);
    uint64_t ty = strtoull(json_string_value(json_array_get(y, 0)), NULL, 10);
    return tx > ty ? -1 : tx < ty;
}

/* The widest [range] in a metric expression: a metric query's sites must
 * send records that far before the first step. */
static int64_t max_range(const tg_mexpr *m)
{
    int64_t a, b;

    if (!m)
        return 0;
    a = m->op == TG_MX_RANGE ? m->range_ns : 0;
    b = max_range(m->l);
    a = b > a ? b : a;
    b = max_range(m->r);
    return b > a ? b : a;
}

/* Runs one LogQL query; *out gets the answer, the return is the status. */
static int run_logql(central *c, const tg_http_request *req, const logq *lq,
                     const char *view, json_t **out)
{
    char perr[256], path[9000];
    tg_plan *plan = NULL;
    char *esc = NULL;
    site_fanout sf = {0};
    json_t *result = NULL, *warnings = json_array();
    int status = 200;
    steps st;

    if (tg_logql_parse(lq->q, strlen(lq->q), &plan, perr, sizeof(perr)) != 0) {
        *out = json_pack("{s:s,s:s,s:i}", "status", "error", "error", perr, "column",
                         tg_central_error_column(perr));
        json_decref(warnings);
        return 400;
    }
    st.step = lq->step ? lq->step : 60000000000ull;
    st.start = lq->instant ? lq->end : lq->start;
    st.n = lq->instant || lq->end <= lq->start
               ? 1
               : (size_t)((lq->end - lq->start) / st.step) + 1;
    if (st.n > 11000) {
        tg_plan_free(plan);
        json_decref(warnings);
        *out = json_pack("{s:s,s:s}", "status", "error", "error",
                         "too many points: at most 11,000 steps (raise step)");
        return 400;
    }
    if (!plan->has_selector) {
        /* No log data needed: vector(1)+vector(1) and friends. */
        double v;
        if (tg_plan_eval_constant(plan, &v) != 0) {
            tg_plan_free(plan);
            json_decref(warnings);
            *out = json_pack("{s:s,s:s}", "status", "error", "error", "cannot evaluate");
            return 400;
        }
        result = json_array();
        if (lq->instant) {
            json_array_append_new(result, json_pack("{s:{},s:o}", "metric", "value",
                                                    value_pair(st.start, v)));
        } else {
            json_t *vals = json_array();
            for (size_t j = 0; j < st.n; j++)
                json_array_append_new(vals, value_pair(st.start + j * st.step, v));
            json_array_append_new(result,
                                  json_pack("{s:{},s:o}", "metric", "values", vals));
        }
        *out = json_pack("{s:s,s:{s:s,s:o},s:b,s:o}", "status", "success", "data",
                         "resultType", lq->instant ? "vector" : "matrix", "result",
                         result, "is_partial", 0, "warnings", warnings);
        tg_plan_free(plan);
        return 200;
    }
    if (!(esc = tg_query_http_escape(lq->q))) {
        tg_plan_free(plan);
        json_decref(warnings);
        *out = json_pack("{s:s,s:s}", "status", "error", "error", "out of memory");
        return 503;
    }
    {
        uint64_t from = plan->metric ? (st.start > (uint64_t)max_range(plan->metric)
                                            ? st.start - (uint64_t)max_range(plan->metric)
                                            : 0)
                                     : lq->start;
        snprintf(path, sizeof(path),
                 "/api/v1/query/logs?q=%s&start=%llu&end=%llu&limit=%zu", esc,
                 (unsigned long long)from, (unsigned long long)lq->end, lq->limit);
    }
    free(esc);
    if (tg_central_fanout(c, req, path, view, plan, lq->start, lq->end, &sf) != 0) {
        tg_plan_free(plan);
        json_decref(warnings);
        *out = json_pack("{s:s,s:s}", "status", "error", "error", "out of memory");
        return 503;
    }
    {
        /* Every site's result entries, side by side. */
        json_t *all = json_array();
        for (size_t i = 0; i < sf.n; i++) {
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(sf.docs[i], "result"), k, e)
            {
                json_array_append(all, e);
            }
            /* A log query stopping at its limit is complete as asked; a
             * metric query that did would count too little: partial. */
            if (plan->metric && json_is_true(json_object_get(sf.docs[i], "truncated")))
                sf.res[i].state = TG_SITE_PARTIAL;
        }
        if (plan->metric) {
            vec v = {0};
            int rc = eval_node(plan->metric, all, &st, &v);
            result = json_array();
            for (size_t i = 0; !rc && i < v.n; i++) {
                if (lq->instant) {
                    if (v.s[i].has[st.n - 1])
                        json_array_append_new(
                            result,
                            json_pack("{s:O,s:o}", "metric", v.s[i].labels, "value",
                                      value_pair(st.start, v.s[i].v[st.n - 1])));
                    continue;
                }
                json_t *vals = json_array();
                for (size_t j = 0; j < st.n; j++)
                    if (v.s[i].has[j])
                        json_array_append_new(
                            vals, value_pair(st.start + j * st.step, v.s[i].v[j]));
                if (json_array_size(vals))
                    json_array_append_new(
                        result,
                        json_pack("{s:O,s:o}", "metric", v.s[i].labels, "values", vals));
                else
                    json_decref(vals);
            }
            vec_free(&v);
            if (rc)
                status = 503;
        } else {
            /* Streams joined by label set; the newest `limit` lines kept. */
            json_t *index = json_object(), *lines = json_array();
            size_t k, nl;
            json_t *e, **arr;
            json_array_foreach(all, k, e)
            {
                size_t j;
                json_t *line;
                char *key = json_dumps(json_object_get(e, "stream"),
                                       JSON_COMPACT | JSON_SORT_KEYS);
                json_array_foreach(json_object_get(e, "values"), j, line)
                {
                    json_array_append_new(lines, json_pack("[O,s]", line, key));
                }
                free(key);
            }
            nl = json_array_size(lines);
            arr = malloc((nl ? nl : 1) * sizeof(*arr));
            for (size_t j = 0; arr && j < nl; j++)
                arr[j] = json_array_get(lines, j);
            if (arr)
                qsort(arr, nl, sizeof(*arr), cmp_line_pair);
            result = json_array();
            for (size_t j = 0; arr && j < nl && j < lq->limit; j++) {
                const char *key = json_string_value(json_array_get(arr[j], 1));
                json_t *slot = json_object_get(index, key), *stream;
                if (!slot) {
                    json_t *labels = json_loads(key, 0, NULL);
                    stream = json_pack("{s:o,s:[]}", "stream",
                                       labels ? labels : json_object(), "values");
                    json_array_append_new(result, stream);
                    json_object_set_new(
                        index, key,
                        json_integer((json_int_t)json_array_size(result) - 1));
                } else {
                    stream = json_array_get(result, (size_t)json_integer_value(slot));
                }
                json_array_append(json_object_get(stream, "values"),
                                  json_array_get(arr[j], 0));
            }
            if (lq->forward) {
                size_t s2;
                json_t *stream;
                json_array_foreach(result, s2, stream)
                {
                    json_t *vals = json_object_get(stream, "values"), *rev = json_array();
                    for (size_t j = json_array_size(vals); j-- > 0;)
                        json_array_append(rev, json_array_get(vals, j));
                    json_object_set_new(stream, "values", rev);
                }
            }
            free(arr);
            json_decref(lines);
            json_decref(index);
        }
        *out = json_pack("{s:s,s:{s:s,s:o}}", "status", "success", "data", "resultType",
                         plan->metric ? (lq->instant ? "vector" : "matrix") : "streams",
                         "result", result);
        json_decref(all);
    }
    status = tg_central_fanout_finish(&sf, *out, lq->require_complete, status);
    if (status != 200)
        json_object_set_new(*out, "status", json_string("error"));
    tg_central_fanout_free(&sf);
    json_decref(warnings);
    tg_plan_free(plan);
    return status;
}

/* ---- handlers ---------------------------------------------------------------- */

static int param(const tg_http_request *req, const char *key, char *buf, size_t len)
{
    const char *q;
    size_t qlen;

    q = tg_http_query(req, &qlen);
    return q && tg_http_query_param(q, qlen, key, buf, len) >= 0 && buf[0];
}

/* Loki's times: nanoseconds, or (float) seconds; def when absent. Returns
 * 1, or 0 after answering 400 naming the parameter (a sign, text, past
 * 2^64 ns). */
static int param_time(const tg_http_request *req, tg_http_response *resp, const char *key,
                      uint64_t def, uint64_t *out)
{
    char buf[64], *end;
    double d;

    if (!param(req, key, buf, sizeof(buf))) {
        const char *q;
        size_t qlen;
        q = tg_http_query(req, &qlen);
        if (q && tg_http_query_param(q, qlen, key, buf, sizeof(buf)) == -2)
            goto bad;
        *out = def;
        return 1;
    }
    if (!strchr(buf, '.') && strlen(buf) > 12) {
        if (tg_parse_u64_range(buf, 0, UINT64_MAX, out) != 0)
            goto bad;
        return 1;
    }
    d = strtod(buf, &end);
    if (*end || !(d >= 0) || d >= 18446744073.0 || !(buf[0] >= '0' && buf[0] <= '9'))
        goto bad;
    *out = (uint64_t)(d * 1e9);
    return 1;
bad:
    tg_central_answer_error(resp, 400, "bad %s: unix nanoseconds or seconds expected",
                            key);
    return 0;
}

/* Loki's step: "15000ms" (Grafana), "60s", "1m", or bare seconds. */
static uint64_t param_step(const tg_http_request *req, uint64_t def)
{
    char buf[64], *end;
    uint64_t ms;
    double d;

    if (!param(req, "step", buf, sizeof(buf)))
        return def;
    if (tg_parse_duration_ms(buf, &ms) == 0 && strpbrk(buf, "smhdwy"))
        return ms * 1000000ull;
    d = strtod(buf, &end);
    return *end || d <= 0 ? def : (uint64_t)(d * 1e9);
}

static void logql_for(central *c, const tg_http_request *req, tg_http_response *resp,
                      const char *user, const char *role, const char *view, int instant,
                      int loki);

static void logql_handler(const tg_http_request *req, tg_http_response *resp, void *data,
                          int instant, int loki)
{
    central *c = data;
    char user[64], role[64], view[64];

    if (tg_central_authorize(c, req, resp, user, role, view))
        logql_for(c, req, resp, user, role, view, instant, loki);
}

void tg_central_logs_for(central *c, const tg_http_request *req, tg_http_response *resp,
                         const char *user, const char *role, const char *view)
{
    tg_central_set_asker(user, role);
    logql_for(c, req, resp, user, role, view, 0, 0);
}

static void logql_for(central *c, const tg_http_request *req, tg_http_response *resp,
                      const char *user, const char *role, const char *view, int instant,
                      int loki)
{
    char q[8192], dir[16];
    uint64_t now = tg_wall_ns();
    logq lq = {0};
    json_t *doc;
    int status;

    if (!param(req, loki ? "query" : "q", q, sizeof(q))) {
        doc = json_pack("{s:s,s:s}", "status", "error", "error",
                        loki ? "query (a LogQL query) is required"
                             : "q (a LogQL query) is required");
        tg_central_answer_json(resp, 400, doc);
        json_decref(doc);
        return;
    }
    lq.q = q;
    lq.instant = instant;
    if (!param_time(req, resp, instant ? "time" : "end", now, &lq.end))
        return;
    if (instant)
        lq.start = lq.end;
    else if (!param_time(req, resp, "start", lq.end - 3600000000000ull, &lq.start))
        return;
    lq.step = param_step(req, 0);
    if (!lq.step)
        lq.step = lq.end > lq.start
                      ? ((lq.end - lq.start) / 250 / 1000000000ull + 1) * 1000000000ull
                      : 60000000000ull;
    lq.limit = 100;
    {
        /* Grafana asks for more than a query gives: capped at 5000 */
        uint64_t v;
        if (!tg_central_param_u64(req, resp, "limit", 1, UINT64_MAX, 100, &v))
            return;
        lq.limit = v > 5000 ? 5000 : (size_t)v;
    }
    lq.forward = param(req, "direction", dir, sizeof(dir)) && strcmp(dir, "forward") == 0;
    {
        char rc[8];
        lq.require_complete = param(req, "require_complete", rc, sizeof(rc)) &&
                              (strcmp(rc, "true") == 0 || strcmp(rc, "1") == 0);
    }
    status = run_logql(c, req, &lq, view, &doc);
    tg_central_answer_query(resp, "logs", "", user, role, view, status, doc, !loki);
}

/* GET /api/v1/query/logs?q=LOGQL&start=NS&end=NS&step=&limit=&direction= */
void tg_central_query_logs(const tg_http_request *req, tg_http_response *resp, void *data)
{
    logql_handler(req, resp, data, 0, 0);
}

/* GET /loki/api/v1/query_range */
void tg_central_loki_query_range(const tg_http_request *req, tg_http_response *resp,
                                 void *data)
{
    logql_handler(req, resp, data, 0, 1);
}

/* GET /loki/api/v1/query (instant; Grafana's health check is
 * vector(1)+vector(1)) */
void tg_central_loki_query(const tg_http_request *req, tg_http_response *resp, void *data)
{
    logql_handler(req, resp, data, 1, 1);
}

/* GET /loki/api/v1/labels, /loki/api/v1/label/{name}/values and
 * /loki/api/v1/series: from the streams a log query over the window finds
 * (the `query` parameter, else every stream). */
void tg_central_loki_labels(const tg_http_request *req, tg_http_response *resp,
                            void *data)
{
    central *c = data;
    char user[64], role[64], view[64], q[8192], name[256] = "";
    const char *path;
    size_t plen;
    logq lq = {0};
    json_t *doc, *out, *seen = json_object();
    int status, series_mode = 0, values_mode = 0;

    if (!tg_central_authorize(c, req, resp, user, role, view)) {
        json_decref(seen);
        return;
    }
    path = tg_http_path(req, &plen);
    if (plen > 20 && strncmp(path, "/loki/api/v1/label/", 19) == 0 && plen > 26 &&
        strncmp(path + plen - 7, "/values", 7) == 0) {
        values_mode = 1;
        snprintf(name, sizeof(name), "%.*s", (int)(plen - 26), path + 19);
    } else if (plen == 19 && strncmp(path, "/loki/api/v1/series", 19) == 0) {
        series_mode = 1;
    }
    if (!param(req, "query", q, sizeof(q)) && !param(req, "match[]", q, sizeof(q)))
        snprintf(q, sizeof(q), "{service_name=~\".+\"}");
    lq.q = q;
    if (!param_time(req, resp, "end", tg_wall_ns(), &lq.end) ||
        !param_time(req, resp, "start", lq.end - 3600000000000ull, &lq.start))
        return;
    lq.limit = 5000;
    status = run_logql(c, req, &lq, view, &doc);
    if (status != 200) {
        tg_central_answer_json(resp, status, doc);
        json_decref(doc);
        json_decref(seen);
        return;
    }
    out = json_array();
    {
        size_t i;
        json_t *st;
        json_array_foreach(json_object_get(json_object_get(doc, "data"), "result"), i, st)
        {
            json_t *labels = json_object_get(st, "stream");
            const char *k;
            json_t *v;
            if (series_mode) {
                json_array_append(out, labels);
                continue;
            }
            json_object_foreach(labels, k, v)
            {
                const char *item = values_mode ? json_string_value(v) : k;
                if (values_mode && strcmp(k, name) != 0)
                    continue;
                if (item && !json_object_get(seen, item)) {
                    json_object_set_new(seen, item, json_true());
                    json_array_append_new(out, json_string(item));
                }
            }
        }
    }
    {
        json_t *ans = json_pack("{s:s,s:o,s:O}", "status", "success", "data", out,
                                "warnings", json_object_get(doc, "warnings"));
        tg_central_answer_json(resp, 200, ans);
        json_decref(ans);
    }
    json_decref(doc);
    json_decref(seen);
}
