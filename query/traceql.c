/* TraceQL parser: a hand-written lexer and recursive-descent parser into the
 * plan form (tg_plan.h).
 *
 * Grammar (precedence low to high; && binds tighter than || in filters):
 *   query    := spansets { "|" stage } [ "with" "(" hint { "," hint } ")" ]
 *   spansets := struct { ("&&" | "||") struct }
 *   struct   := primary { (">" | ">>" | "<" | "<<" | "~") primary }
 *   primary  := "{" [ or ] "}" | "(" spansets ")"
 *   or       := and { "||" and }        and := unary { "&&" unary }
 *   unary    := "!" unary | "(" or ")" | operand [ cmp operand ]
 *   stage    := "count" "(" ")" cmp number | agg "(" operand ")" cmp number
 *             | "select" "(" operand { "," operand } ")" | "by" "(" operand ")"
 *             | "{" [ or ] "}"
 *   hint     := "most_recent" "=" ("true" | "false") */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_plan.h"
#include "tg_ql.h"

typedef struct parser {
    tg_qlex *lx;
    int depth;
    size_t capfilters, capstages; /* room in the plan's filters and stages */
} parser;

/* --- operands ------------------------------------------------------------- */

static const struct {
    const char *word;
    enum tg_intrinsic intr;
} intrinsics[] = {
    {"name", TG_IN_NAME},
    {"span:name", TG_IN_NAME},
    {"status", TG_IN_STATUS},
    {"span:status", TG_IN_STATUS},
    {"kind", TG_IN_KIND},
    {"span:kind", TG_IN_KIND},
    {"duration", TG_IN_DURATION},
    {"span:duration", TG_IN_DURATION},
    {"statusMessage", TG_IN_STATUS_MESSAGE},
    {"span:statusMessage", TG_IN_STATUS_MESSAGE},
    {"span:id", TG_IN_SPAN_ID},
    {"trace:id", TG_IN_TRACE_ID},
    {"site", TG_IN_SITE},
    {"trace:duration", TG_IN_TRACE_DURATION},
    {"trace:rootName", TG_IN_TRACE_ROOT_NAME},
    {"rootName", TG_IN_TRACE_ROOT_NAME},
    {"trace:rootService", TG_IN_TRACE_ROOT_SERVICE},
    {"rootServiceName", TG_IN_TRACE_ROOT_SERVICE},
};

static const struct {
    const char *word;
    enum tg_pval_type type;
    int64_t v;
} keywords[] = {
    {"true", TG_PV_BOOL, 1},        {"false", TG_PV_BOOL, 0},
    {"nil", TG_PV_NIL, 0},          {"unset", TG_PV_STATUS, 0},
    {"ok", TG_PV_STATUS, 1},        {"error", TG_PV_STATUS, 2},
    {"unspecified", TG_PV_KIND, 0}, {"internal", TG_PV_KIND, 1},
    {"server", TG_PV_KIND, 2},      {"client", TG_PV_KIND, 3},
    {"producer", TG_PV_KIND, 4},    {"consumer", TG_PV_KIND, 5},
};

static int is_trace_level(enum tg_intrinsic i)
{
    return i == TG_IN_TRACE_DURATION || i == TG_IN_TRACE_ROOT_NAME ||
           i == TG_IN_TRACE_ROOT_SERVICE;
}

/* Reads an operand at the current token; *needs_trace is set when it is a
 * trace-level intrinsic. */
static int operand(parser *P, tg_operand *o, int *needs_trace)
{
    size_t k;

    memset(o, 0, sizeof(*o));
    switch (P->lx->t) {
    case QT_STRING:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_STR;
        o->lit.s = P->lx->s;
        o->lit.len = P->lx->slen;
        return tg_ql_next(P->lx);
    case QT_INT:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_INT;
        o->lit.i = P->lx->i;
        return tg_ql_next(P->lx);
    case QT_FLOAT:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_FLOAT;
        o->lit.f = P->lx->f;
        return tg_ql_next(P->lx);
    case QT_DUR:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_DUR;
        o->lit.i = P->lx->i;
        return tg_ql_next(P->lx);
    case QT_ATTR:
        if (P->lx->scope != TG_SCOPE_SPAN && strcmp(P->lx->s, "tollgate.site") == 0) {
            o->kind = TG_OPD_INTRINSIC; /* ours: the site, as a resource attribute */
            o->intr = TG_IN_SITE;
            return tg_ql_next(P->lx);
        }
        o->kind = TG_OPD_ATTR;
        o->scope = P->lx->scope;
        o->key = P->lx->s;
        return tg_ql_next(P->lx);
    case QT_IDENT:
        for (k = 0; k < sizeof(intrinsics) / sizeof(intrinsics[0]); k++)
            if (tg_ql_ident_is(P->lx, intrinsics[k].word)) {
                o->kind = TG_OPD_INTRINSIC;
                o->intr = intrinsics[k].intr;
                if (is_trace_level(o->intr) && needs_trace)
                    *needs_trace = 1;
                return tg_ql_next(P->lx);
            }
        for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
            if (tg_ql_ident_is(P->lx, keywords[k].word)) {
                o->kind = TG_OPD_LITERAL;
                o->lit.type = keywords[k].type;
                o->lit.i = keywords[k].v;
                return tg_ql_next(P->lx);
            }
        return tg_ql_error(
            &P->lx->err, P->lx->off,
            "unknown name '%.*s' (attributes are written span.x, resource.x "
            "or .x)",
            (int)P->lx->slen, P->lx->s);
    default:
        return tg_ql_fail_expected(P->lx, "an attribute, an intrinsic or a literal");
    }
}

/* Static checks TraceQL makes on a comparison, reported at the right
 * operand's column. */
static int check_cmp(parser *P, tg_fexpr *e, size_t boff)
{
    const tg_operand *a = &e->a, *b = &e->b;
    char why[160];

    if (e->cmp == TG_CMP_RE || e->cmp == TG_CMP_NRE) {
        if (b->kind != TG_OPD_LITERAL || b->lit.type != TG_PV_STR)
            return tg_ql_error(&P->lx->err, boff,
                               "expected a string (a regular expression) after %s",
                               tg_plan_cmp_name(e->cmp));
        e->re = tg_plan_regex(P->lx->p, b->lit.s, b->lit.len, 1, why, sizeof(why));
        if (!e->re)
            return tg_ql_error(&P->lx->err, boff, "invalid regular expression: %s", why);
        return 0;
    }
    if (a->kind == TG_OPD_INTRINSIC &&
        (a->intr == TG_IN_STATUS || a->intr == TG_IN_KIND) && b->kind == TG_OPD_LITERAL) {
        enum tg_pval_type want = a->intr == TG_IN_STATUS ? TG_PV_STATUS : TG_PV_KIND;

        if (b->lit.type != want && b->lit.type != TG_PV_NIL)
            return tg_ql_error(
                &P->lx->err, boff, "%s compares with %s", tg_plan_intrinsic_name(a->intr),
                want == TG_PV_STATUS ? "ok, error or unset"
                                     : "server, client, producer, consumer, internal or "
                                       "unspecified");
        if (e->cmp != TG_CMP_EQ && e->cmp != TG_CMP_NE)
            return tg_ql_error(&P->lx->err, boff, "%s supports only = and !=",
                               tg_plan_intrinsic_name(a->intr));
    }
    return 0;
}

static tg_fexpr *fx_new(parser *P, enum tg_fexpr_op op)
{
    return tg_ql_node(P->lx, sizeof(tg_fexpr), (int)op);
}

static int f_or(parser *P, tg_fexpr **out, int *nt);

static int f_unary(parser *P, tg_fexpr **out, int *nt)
{
    tg_fexpr *e;
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->lx->err, P->lx->off, "expression nested too deeply");
    if (P->lx->t == QT_NOT) {
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
        if (!(e = fx_new(P, TG_FX_NOT)))
            return TG_ENOMEM;
        if ((rc = f_unary(P, &e->l, nt)) != 0)
            return rc;
        *out = e;
        P->depth--;
        return 0;
    }
    if (P->lx->t == QT_LPAREN) {
        if ((rc = tg_ql_next(P->lx)) != 0 || (rc = f_or(P, out, nt)) != 0)
            return rc;
        if ((rc = tg_ql_expect(P->lx, QT_RPAREN, "')'")) != 0)
            return rc;
        P->depth--;
        return 0;
    }
    if (!(e = fx_new(P, TG_FX_OPERAND)))
        return TG_ENOMEM;
    {
        size_t aoff = P->lx->off;

        if ((rc = operand(P, &e->a, nt)) != 0)
            return rc;
        if (tg_ql_cmp(P->lx->t, &e->cmp)) {
            size_t boff;

            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
            boff = P->lx->off;
            if ((rc = operand(P, &e->b, nt)) != 0)
                return rc;
            e->op = TG_FX_CMP;
            if ((rc = check_cmp(P, e, boff)) != 0)
                return rc;
        } else if (!(e->a.kind == TG_OPD_ATTR ||
                     (e->a.kind == TG_OPD_LITERAL && e->a.lit.type == TG_PV_BOOL))) {
            if (e->a.kind == TG_OPD_INTRINSIC)
                return tg_ql_fail_expected(
                    P->lx, "a comparison operator (= != > >= < <= =~ !~)");
            return tg_ql_error(
                &P->lx->err, aoff,
                "a literal alone is not a condition (only true or false are)");
        }
    }
    *out = e;
    P->depth--;
    return 0;
}

/* f_or (and = 0) and f_and (and = 1): && binds tighter than ||. */
static int f_chain(parser *P, tg_fexpr **out, int *nt, int and)
{
    enum tg_qtok op = and? QT_AND : QT_OR;
    int rc = and? f_unary(P, out, nt) : f_chain(P, out, nt, 1);

    while (!rc && P->lx->t == op) {
        tg_fexpr *e = fx_new(P, and? TG_FX_AND : TG_FX_OR);

        if (!e)
            return TG_ENOMEM;
        e->l = *out;
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = and? f_unary(P, &e->r, nt) : f_chain(P, &e->r, nt, 1)) != 0)
            return rc;
        *out = e;
    }
    return rc;
}

static int f_or(parser *P, tg_fexpr **out, int *nt)
{
    return f_chain(P, out, nt, 0);
}

/* `{ ... }` at the current token; appends it to the filters. */
static int filter(parser *P, size_t *idx)
{
    tg_filter f = {0};
    int rc;

    if ((rc = tg_ql_expect(P->lx, QT_LBRACE, "'{'")) != 0)
        return rc;
    if (P->lx->t == QT_RBRACE) {
        if (!(f.expr = fx_new(P, TG_FX_TRUE)))
            return TG_ENOMEM;
    } else if ((rc = f_or(P, &f.expr, &f.needs_trace)) != 0) {
        return rc;
    }
    if (P->lx->t != QT_RBRACE)
        return tg_ql_fail_expected(P->lx, "'&&', '||' or '}'");
    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    if (tg_ql_grow(P->lx->p, (void **)&P->lx->p->filters, &P->capfilters,
                   P->lx->p->nfilters, sizeof(*P->lx->p->filters)))
        return TG_ENOMEM;
    *idx = P->lx->p->nfilters;
    P->lx->p->filters[P->lx->p->nfilters++] = f;
    return 0;
}

/* --- spansets ------------------------------------------------------------- */

static tg_sset *ss_new(parser *P, enum tg_sset_op op)
{
    return tg_ql_node(P->lx, sizeof(tg_sset), (int)op);
}

static int ss_expr(parser *P, tg_sset **out);

static int ss_primary(parser *P, tg_sset **out)
{
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->lx->err, P->lx->off, "expression nested too deeply");
    if (P->lx->t == QT_LPAREN) {
        if ((rc = tg_ql_next(P->lx)) != 0 || (rc = ss_expr(P, out)) != 0)
            return rc;
        if ((rc = tg_ql_expect(P->lx, QT_RPAREN, "')'")) != 0)
            return rc;
    } else if (P->lx->t == QT_LBRACE) {
        if (!(*out = ss_new(P, TG_SS_FILTER)))
            return TG_ENOMEM;
        if ((rc = filter(P, &(*out)->filter)) != 0)
            return rc;
    } else {
        return tg_ql_fail_expected(P->lx, "'{' or '('");
    }
    P->depth--;
    return 0;
}

static int ss_struct(parser *P, tg_sset **out)
{
    int rc = ss_primary(P, out);

    for (;;) {
        enum tg_sset_op op;
        tg_sset *s;

        if (rc)
            return rc;
        switch (P->lx->t) {
        case QT_GT:
            op = TG_SS_CHILD;
            break;
        case QT_DESC:
            op = TG_SS_DESC;
            break;
        case QT_LT:
            op = TG_SS_PARENT;
            break;
        case QT_ANC:
            op = TG_SS_ANCESTOR;
            break;
        case QT_TILDE:
            op = TG_SS_SIBLING;
            break;
        default:
            return 0;
        }
        if (!(s = ss_new(P, op)))
            return TG_ENOMEM;
        s->l = *out;
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
        rc = ss_primary(P, &s->r);
        *out = s;
    }
}

static int ss_expr(parser *P, tg_sset **out)
{
    int rc = ss_struct(P, out);

    while (!rc && (P->lx->t == QT_AND || P->lx->t == QT_OR)) {
        tg_sset *s = ss_new(P, P->lx->t == QT_AND ? TG_SS_AND : TG_SS_OR);

        if (!s)
            return TG_ENOMEM;
        s->l = *out;
        if ((rc = tg_ql_next(P->lx)) != 0 || (rc = ss_struct(P, &s->r)) != 0)
            return rc;
        *out = s;
    }
    return rc;
}

/* --- pipeline and hints ----------------------------------------------------- */

static int agg_literal(parser *P, tg_pval *v)
{
    switch (P->lx->t) {
    case QT_INT:
        v->type = TG_PV_INT;
        v->i = P->lx->i;
        break;
    case QT_FLOAT:
        v->type = TG_PV_FLOAT;
        v->f = P->lx->f;
        break;
    case QT_DUR:
        v->type = TG_PV_DUR;
        v->i = P->lx->i;
        break;
    default:
        return tg_ql_fail_expected(P->lx, "a number or a duration");
    }
    return tg_ql_next(P->lx);
}

static int stage(parser *P, tg_stage *st)
{
    static const struct {
        const char *w;
        enum tg_agg a;
    } aggs[] = {{"count", TG_AGG_COUNT},
                {"avg", TG_AGG_AVG},
                {"min", TG_AGG_MIN},
                {"max", TG_AGG_MAX},
                {"sum", TG_AGG_SUM}};
    size_t k;
    int rc;

    memset(st, 0, sizeof(*st));
    if (P->lx->t == QT_LBRACE) {
        st->kind = TG_ST_FILTER;
        return filter(P, &st->filter);
    }
    for (k = 0; k < sizeof(aggs) / sizeof(aggs[0]); k++)
        if (tg_ql_ident_is(P->lx, aggs[k].w)) {
            st->kind = TG_ST_AGG;
            st->agg = aggs[k].a;
            if ((rc = tg_ql_next(P->lx)) != 0 ||
                (rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0)
                return rc;
            if (st->agg != TG_AGG_COUNT && (rc = operand(P, &st->arg, NULL)) != 0)
                return rc;
            if (st->agg != TG_AGG_COUNT && st->arg.kind == TG_OPD_LITERAL)
                return tg_ql_error(&P->lx->err, P->lx->off,
                                   "%s() takes an attribute or intrinsic", aggs[k].w);
            if ((rc = tg_ql_expect(P->lx, QT_RPAREN, "')'")) != 0)
                return rc;
            if (!tg_ql_cmp(P->lx->t, &st->cmp) || st->cmp == TG_CMP_RE ||
                st->cmp == TG_CMP_NRE)
                return tg_ql_fail_expected(
                    P->lx, "a comparison (= != > >= < <=) after the aggregate");
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
            return agg_literal(P, &st->lit);
        }
    if (tg_ql_ident_is(P->lx, "by")) {
        st->kind = TG_ST_BY;
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0 ||
            (rc = operand(P, &st->arg, NULL)) != 0)
            return rc;
        return tg_ql_expect(P->lx, QT_RPAREN, "')'");
    }
    if (tg_ql_ident_is(P->lx, "select")) {
        size_t cap = 4;

        st->kind = TG_ST_SELECT;
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0)
            return rc;
        st->fields = tg_plan_alloc(P->lx->p, cap * sizeof(*st->fields));
        for (;;) {
            if (!st->fields)
                return TG_ENOMEM;
            if (st->nfields == cap) {
                tg_operand *nf = tg_plan_alloc(P->lx->p, 2 * cap * sizeof(*nf));

                if (!nf)
                    return TG_ENOMEM;
                memcpy(nf, st->fields, cap * sizeof(*nf));
                st->fields = nf;
                cap *= 2;
            }
            if (P->lx->t != QT_ATTR && P->lx->t != QT_IDENT)
                return tg_ql_fail_expected(P->lx, "an attribute or intrinsic");
            if ((rc = operand(P, &st->fields[st->nfields], NULL)) != 0)
                return rc;
            if (st->fields[st->nfields++].kind == TG_OPD_LITERAL)
                return tg_ql_error(&P->lx->err, P->lx->off,
                                   "select() takes attributes or intrinsics");
            if (P->lx->t != QT_COMMA)
                break;
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
        }
        return tg_ql_expect(P->lx, QT_RPAREN, "',' or ')'");
    }
    return tg_ql_fail_expected(
        P->lx, "a pipeline stage (count() avg() min() max() sum() select() by() "
               "or a { filter })");
}

static int hints(parser *P)
{
    int rc;

    if ((rc = tg_ql_next(P->lx)) != 0 ||
        (rc = tg_ql_expect(P->lx, QT_LPAREN, "'(' after with")) != 0)
        return rc;
    for (;;) {
        int on;

        if (!tg_ql_ident_is(P->lx, "most_recent"))
            return tg_ql_fail_expected(P->lx, "a hint (most_recent)");
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = tg_ql_expect(P->lx, QT_EQ, "'='")) != 0)
            return rc;
        if (tg_ql_ident_is(P->lx, "true"))
            on = 1;
        else if (tg_ql_ident_is(P->lx, "false"))
            on = 0;
        else
            return tg_ql_fail_expected(P->lx, "true or false");
        P->lx->p->most_recent = on;
        if ((rc = tg_ql_after_item(P->lx)) <= 0) {
            if (rc < 0)
                return rc;
            break;
        }
    }
    return tg_ql_expect(P->lx, QT_RPAREN, "',' or ')'");
}

/* The whole query, into L->p. */
static int parse_query(tg_qlex *L)
{
    parser state = {.lx = L}, *P = &state;
    size_t nsite;
    int rc;

    if ((rc = tg_ql_next(P->lx)) != 0 || (rc = ss_expr(P, &P->lx->p->root)) != 0)
        return rc;
    nsite = P->lx->p->nfilters;
    while (P->lx->t == QT_PIPE) {
        if (tg_ql_grow(P->lx->p, (void **)&P->lx->p->stages, &P->capstages,
                       P->lx->p->nstages, sizeof(*P->lx->p->stages)))
            return TG_ENOMEM;
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = stage(P, &P->lx->p->stages[P->lx->p->nstages])) != 0)
            return rc;
        P->lx->p->nstages++;
    }
    if (tg_ql_ident_is(P->lx, "with") && (rc = hints(P)) != 0)
        return rc;
    if (P->lx->t != QT_EOF)
        return tg_ql_fail_expected(
            P->lx, P->lx->p->nstages ? "'|', 'with' or the end of the query"
                                     : "'&&', '||', '>', '>>', '<', '<<', '~', '|' or "
                                       "the end of the query");
    P->lx->p->nsite_filters = nsite;
    return 0;
}

int tg_traceql_parse(const char *q, size_t len, tg_plan **out, char *err, size_t errlen)
{
    return tg_ql_parse(TG_PLAN_TRACEQL, q, len, out, err, errlen, parse_query);
}
