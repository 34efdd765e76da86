/* The centre part of a TraceQL plan over one stitched trace: the spanset
 * combination (&& || and the structural operators, which need parent links
 * across sites) and the pipeline (filters, by(), aggregates). */
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_plan_eval.h"

#define NONE ((size_t)-1)

static int is_root(const tg_span_view *s)
{
    static const uint8_t zero[8];

    return !s->parent_id || memcmp(s->parent_id, zero, 8) == 0;
}

void tg_trace_ctx_init(tg_trace_ctx *t, const tg_span_view *spans, size_t n)
{
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < n; i++) {
        if (i == 0 || spans[i].start_ns < t->start_ns)
            t->start_ns = spans[i].start_ns;
        if (spans[i].end_ns > t->end_ns)
            t->end_ns = spans[i].end_ns;
        if (is_root(&spans[i]) && (!t->root || spans[i].start_ns < t->root->start_ns))
            t->root = &spans[i];
    }
}

typedef struct idx {
    uint64_t id;
    size_t i;
} idx;

static uint64_t id64(const uint8_t *b)
{
    uint64_t v = 0;
    int k;

    for (k = 0; k < 8; k++)
        v = v << 8 | b[k];
    return v;
}

static int idx_cmp(const void *a, const void *b)
{
    const idx *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

typedef struct ev {
    const tg_plan *p;
    const tg_span_view *spans;
    size_t n;
    tg_trace_ctx t;
    size_t *parent;
} ev;

/* parent[i]: the index of span i's parent in this trace, NONE for a root or
 * when the parent is missing (a site that did not answer). */
static int link_parents(ev *E)
{
    idx *ix = malloc((E->n ? E->n : 1) * sizeof(*ix));
    size_t i, m = 0;

    E->parent = malloc((E->n ? E->n : 1) * sizeof(size_t));
    if (!ix || !E->parent) {
        free(ix);
        return TG_ENOMEM;
    }
    for (i = 0; i < E->n; i++)
        if (E->spans[i].span_id)
            ix[m++] = (idx){id64(E->spans[i].span_id), i};
    qsort(ix, m, sizeof(*ix), idx_cmp);
    for (i = 0; i < E->n; i++) {
        idx key, *hit;

        E->parent[i] = NONE;
        if (is_root(&E->spans[i]))
            continue;
        key.id = id64(E->spans[i].parent_id);
        hit = bsearch(&key, ix, m, sizeof(*ix), idx_cmp);
        if (hit && hit->i != i)
            E->parent[i] = hit->i;
    }
    free(ix);
    return 0;
}

static int any(const char *set, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (set[i])
            return 1;
    return 0;
}

/* Evaluates s into out (one flag per span). */
static int sset(ev *E, const tg_sset *s, char *out)
{
    size_t n = E->n, i, j, steps;
    char *l, *r;
    int rc = 0;

    memset(out, 0, n ? n : 1);
    if (s->op == TG_SS_FILTER) {
        for (i = 0; i < n; i++)
            out[i] =
                (char)tg_plan_eval_filter_trace(E->p, s->filter, &E->spans[i], &E->t);
        return 0;
    }
    l = calloc(n ? n : 1, 1);
    r = calloc(n ? n : 1, 1);
    if (!l || !r) {
        rc = TG_ENOMEM;
        goto out;
    }
    if ((rc = sset(E, s->l, l)) != 0 || (rc = sset(E, s->r, r)) != 0)
        goto out;
    switch (s->op) {
    case TG_SS_AND:
        if (any(l, n) && any(r, n))
            for (i = 0; i < n; i++)
                out[i] = l[i] || r[i];
        break;
    case TG_SS_OR:
        for (i = 0; i < n; i++)
            out[i] = l[i] || r[i];
        break;
    case TG_SS_CHILD:
        for (i = 0; i < n; i++)
            out[i] = r[i] && E->parent[i] != NONE && l[E->parent[i]];
        break;
    case TG_SS_DESC:
        /* steps bounds the walk: ids that loop must not hang the centre */
        for (i = 0; i < n; i++)
            for (j = E->parent[i], steps = 0; r[i] && j != NONE && steps < n;
                 j = E->parent[j], steps++)
                if (l[j]) {
                    out[i] = 1;
                    break;
                }
        break;
    case TG_SS_PARENT:
        for (j = 0; j < n; j++)
            if (l[j] && E->parent[j] != NONE && r[E->parent[j]])
                out[E->parent[j]] = 1;
        break;
    case TG_SS_ANCESTOR:
        for (j = 0; j < n; j++)
            for (i = l[j] ? E->parent[j] : NONE, steps = 0; i != NONE && steps < n;
                 i = E->parent[i], steps++)
                if (r[i])
                    out[i] = 1;
        break;
    case TG_SS_SIBLING: {
        size_t *cnt = calloc(n ? n : 1, sizeof(size_t)); /* children in A, per parent */

        if (!cnt) {
            rc = TG_ENOMEM;
            goto out;
        }
        for (j = 0; j < n; j++)
            if (l[j] && E->parent[j] != NONE)
                cnt[E->parent[j]]++;
        for (i = 0; i < n; i++)
            out[i] = r[i] && E->parent[i] != NONE &&
                     cnt[E->parent[i]] > (size_t)(l[i] ? 1 : 0);
        free(cnt);
        break;
    }
    case TG_SS_FILTER:
        break;
    }
out:
    free(l);
    free(r);
    return rc;
}

static int set_push(tg_trace_result *res, size_t *cap)
{
    if (res->nsets == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        tg_spanset *ns = realloc(res->sets, nc * sizeof(*ns));

        if (!ns)
            return TG_ENOMEM;
        res->sets = ns;
        *cap = nc;
    }
    memset(&res->sets[res->nsets++], 0, sizeof(tg_spanset));
    return 0;
}

static void set_free(tg_spanset *s)
{
    free(s->spans);
    free(s->aggs);
    if (s->by.type == TG_PV_STR)
        free((char *)s->by.s);
}

static int same_value(const tg_pval *a, const tg_pval *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case TG_PV_NIL:
        return 1;
    case TG_PV_STR:
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    case TG_PV_FLOAT:
        return a->f == b->f;
    default:
        return a->i == b->i;
    }
}

/* Splits every spanset by the value of `arg`. */
static int stage_by(ev *E, const tg_stage *st, tg_trace_result *res)
{
    tg_trace_result out = {0};
    size_t cap = 0, s, k, g;
    int rc = 0;

    for (s = 0; s < res->nsets && !rc; s++) {
        size_t first = out.nsets;

        for (k = 0; k < res->sets[s].nspans && !rc; k++) {
            size_t si = res->sets[s].spans[k];
            tg_pval v = {0};
            tg_spanset *grp = NULL;

            if (!tg_plan_operand_value(&st->arg, &E->spans[si], &E->t, &v) ||
                v.type == TG_PV_ARRAY)
                v = (tg_pval){.type = TG_PV_NIL};
            for (g = first; g < out.nsets; g++)
                if (same_value(&out.sets[g].by, &v))
                    grp = &out.sets[g];
            if (!grp) {
                if ((rc = set_push(&out, &cap)) != 0)
                    break;
                grp = &out.sets[out.nsets - 1];
                grp->spans = malloc(res->sets[s].nspans * sizeof(size_t));
                grp->by = v;
                if (v.type == TG_PV_STR) {
                    char *c = malloc(v.len + 1);

                    if (c) {
                        memcpy(c, v.s, v.len);
                        c[v.len] = '\0';
                    }
                    grp->by.s = c;
                    if (!c)
                        grp->by.type = TG_PV_NIL;
                }
                if (!grp->spans || (v.type == TG_PV_STR && grp->by.type != TG_PV_STR)) {
                    rc = TG_ENOMEM;
                    break;
                }
            }
            grp->spans[grp->nspans++] = si;
        }
    }
    tg_trace_result_free(res);
    *res = out;
    if (rc)
        tg_trace_result_free(res);
    return rc;
}

static double num_of(const tg_pval *v)
{
    return v->type == TG_PV_FLOAT ? v->f : (double)v->i;
}

/* Keeps the spansets whose aggregate satisfies the comparison. */
static int stage_agg(ev *E, const tg_stage *st, tg_trace_result *res)
{
    size_t s, k, kept = 0;

    for (s = 0; s < res->nsets; s++) {
        tg_spanset *set = &res->sets[s];
        double acc = 0, *na;
        size_t seen = 0;
        int ok;

        if (st->agg == TG_AGG_COUNT) {
            acc = (double)set->nspans;
            seen = 1;
        } else {
            for (k = 0; k < set->nspans; k++) {
                tg_pval v;
                double x;

                if (!tg_plan_operand_value(&st->arg, &E->spans[set->spans[k]], &E->t,
                                           &v) ||
                    !(v.type == TG_PV_INT || v.type == TG_PV_FLOAT ||
                      v.type == TG_PV_DUR))
                    continue;
                x = num_of(&v);
                if (seen == 0)
                    acc = x;
                else if (st->agg == TG_AGG_MIN)
                    acc = x < acc ? x : acc;
                else if (st->agg == TG_AGG_MAX)
                    acc = x > acc ? x : acc;
                else
                    acc += x;
                seen++;
            }
            if (st->agg == TG_AGG_AVG && seen)
                acc /= (double)seen;
        }
        {
            double y = num_of(&st->lit);
            int c = (acc > y) - (acc < y);

            switch (st->cmp) {
            case TG_CMP_EQ:
                ok = c == 0;
                break;
            case TG_CMP_NE:
                ok = c != 0;
                break;
            case TG_CMP_GT:
                ok = c > 0;
                break;
            case TG_CMP_GE:
                ok = c >= 0;
                break;
            case TG_CMP_LT:
                ok = c < 0;
                break;
            case TG_CMP_LE:
                ok = c <= 0;
                break;
            default:
                ok = 0;
            }
        }
        if (!seen || !ok) {
            set_free(set);
            continue;
        }
        na = realloc(set->aggs, (set->naggs + 1) * sizeof(double));
        if (!na) {
            set_free(set);
            continue;
        }
        set->aggs = na;
        set->aggs[set->naggs++] = acc;
        res->sets[kept++] = *set;
    }
    res->nsets = kept;
    return 0;
}

static void stage_filter(ev *E, const tg_stage *st, tg_trace_result *res)
{
    size_t s, k, kept = 0;

    for (s = 0; s < res->nsets; s++) {
        tg_spanset *set = &res->sets[s];
        size_t m = 0;

        for (k = 0; k < set->nspans; k++)
            if (tg_plan_eval_filter_trace(E->p, st->filter, &E->spans[set->spans[k]],
                                          &E->t))
                set->spans[m++] = set->spans[k];
        set->nspans = m;
        if (m == 0) {
            set_free(set);
            continue;
        }
        res->sets[kept++] = *set;
    }
    res->nsets = kept;
}

int tg_trace_eval(const tg_plan *p, const tg_span_view *spans, size_t n,
                  tg_trace_result *res)
{
    ev E = {p, spans, n, {0}, NULL};
    char *match = NULL;
    size_t cap = 0, i, st;
    int rc;

    memset(res, 0, sizeof(*res));
    if (p->lang != TG_PLAN_TRACEQL || !p->root)
        return TG_EINVAL;
    tg_trace_ctx_init(&E.t, spans, n);
    if ((rc = link_parents(&E)) != 0)
        goto out;
    if (!(match = malloc(n ? n : 1))) {
        rc = TG_ENOMEM;
        goto out;
    }
    if ((rc = sset(&E, p->root, match)) != 0 || !any(match, n))
        goto out;
    if ((rc = set_push(res, &cap)) != 0)
        goto out;
    if (!(res->sets[0].spans = malloc(n * sizeof(size_t)))) {
        rc = TG_ENOMEM;
        goto out;
    }
    for (i = 0; i < n; i++)
        if (match[i])
            res->sets[0].spans[res->sets[0].nspans++] = i;
    for (st = 0; st < p->nstages && res->nsets; st++) {
        const tg_stage *s = &p->stages[st];

        if (s->kind == TG_ST_BY)
            rc = stage_by(&E, s, res);
        else if (s->kind == TG_ST_AGG)
            rc = stage_agg(&E, s, res);
        else if (s->kind == TG_ST_FILTER)
            stage_filter(&E, s, res);
        if (rc)
            break;
    }
out:
    free(match);
    free(E.parent);
    if (rc)
        tg_trace_result_free(res);
    return rc;
}

void tg_trace_result_free(tg_trace_result *res)
{
    size_t i;

    for (i = 0; i < res->nsets; i++)
        set_free(&res->sets[i]);
    free(res->sets);
    memset(res, 0, sizeof(*res));
}
