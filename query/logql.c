/* LogQL parser into the plan form (tg_plan.h).
 *
 * Grammar:
 *   query    := logquery | metric
 *   logquery := selector { stage }
 *   selector := "{" matcher { "," matcher } "}"
 *   matcher  := label ("=" | "!=" | "=~" | "!~") string
 *   stage    := ("|=" | "!=" | "|~" | "!~") string
 *             | "|" "json" | "|" "logfmt" | "|" "drop" label { "," label }
 *             | "|" lfor
 *   lfor     := lfand { "or" lfand }     lfand := lfprim { ("and" | ",") lfprim }
 *   lfprim   := "(" lfor ")" | label ("=" | "!=" | "=~" | "!~") string
 *             | label ("==" | "=" | "!=" | ">" | ">=" | "<" | "<=") (number | duration)
 *   metric   := term { ("+" | "-") term }      term := factor { ("*" | "/") factor }
 *   factor   := number | "-" factor | "vector" "(" number ")" | "(" metric ")"
 *             | rangefn "(" selector [range] { stage } [range] ")"
 *             | agg [grouping] "(" metric ")" [grouping]
 *   rangefn  := count_over_time | rate | bytes_over_time | bytes_rate
 *   range    := "[" duration "]"
 *   agg      := sum | avg | min | max | count
 *   grouping := ("by" | "without") "(" [ label { "," label } ] ")"
 *
 * A plan holds one log query, so a metric expression has at most one range
 * aggregation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_plan.h"
#include "tg_ql.h"

typedef struct parser {
    tg_qlex *lx;
    int depth;
    int nranges;
    size_t capsel, cappipe; /* room in the plan's sel and pipe */
} parser;

static const char *ident_dup(parser *P)
{
    char *s = tg_plan_alloc(P->lx->p, P->lx->slen + 1);

    if (s)
        memcpy(s, P->lx->s, P->lx->slen);
    return s;
}

/* --- log query ----------------------------------------------------------------- */

static int matcher(parser *P)
{
    tg_lsel m = {0};
    char why[160];
    size_t voff;
    int rc;

    if (P->lx->t != QT_IDENT)
        return tg_ql_fail_expected(P->lx, "a label name");
    if (!(m.name = ident_dup(P)))
        return TG_ENOMEM;
    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    switch (P->lx->t) {
    case QT_EQ:
        m.op = TG_LM_EQ;
        break;
    case QT_NE:
        m.op = TG_LM_NE;
        break;
    case QT_RE:
        m.op = TG_LM_RE;
        break;
    case QT_NRE:
        m.op = TG_LM_NRE;
        break;
    default:
        return tg_ql_fail_expected(P->lx, "=, !=, =~ or !~");
    }
    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    if (P->lx->t != QT_STRING)
        return tg_ql_fail_expected(P->lx, "a string");
    voff = P->lx->off;
    if (memchr(P->lx->s, '\0', P->lx->slen)) /* values are C strings */
        return tg_ql_error(&P->lx->err, voff, "a label value cannot hold a NUL");
    m.value = P->lx->s;
    if ((m.op == TG_LM_RE || m.op == TG_LM_NRE) &&
        !(m.re = tg_plan_regex(P->lx->p, P->lx->s, P->lx->slen, 1, why, sizeof(why))))
        return tg_ql_error(&P->lx->err, voff, "invalid regular expression: %s", why);
    if (tg_ql_grow(P->lx->p, (void **)&P->lx->p->sel, &P->capsel, P->lx->p->nsel,
                   sizeof(*P->lx->p->sel)))
        return TG_ENOMEM;
    P->lx->p->sel[P->lx->p->nsel++] = m;
    return tg_ql_next(P->lx);
}

static int selector(parser *P)
{
    int rc;

    if (P->lx->p->has_selector)
        return tg_ql_error(&P->lx->err, P->lx->off,
                           "only one log query per expression is supported");
    if ((rc = tg_ql_expect(P->lx, QT_LBRACE, "'{'")) != 0)
        return rc;
    if (P->lx->t == QT_RBRACE)
        return tg_ql_fail_expected(P->lx,
                                   "a label matcher (a selector needs at least one)");
    for (;;) {
        if ((rc = matcher(P)) != 0)
            return rc;
        if (P->lx->t != QT_COMMA)
            break;
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
    }
    P->lx->p->has_selector = 1;
    return tg_ql_expect(P->lx, QT_RBRACE, "',' or '}'");
}

static tg_lexpr *lx_new(parser *P, enum tg_lexpr_op op)
{
    return tg_ql_node(P->lx, sizeof(tg_lexpr), (int)op);
}

static int lf_or(parser *P, tg_lexpr **out);

static int lf_prim(parser *P, tg_lexpr **out)
{
    tg_lexpr *e;
    char why[160];
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->lx->err, P->lx->off, "expression nested too deeply");
    if (P->lx->t == QT_LPAREN) {
        if ((rc = tg_ql_next(P->lx)) != 0 || (rc = lf_or(P, out)) != 0)
            return rc;
        P->depth--;
        return tg_ql_expect(P->lx, QT_RPAREN, "')'");
    }
    if (P->lx->t != QT_IDENT)
        return tg_ql_fail_expected(P->lx, "a label name");
    if (!(e = lx_new(P, TG_LX_CMP)) || !(e->name = ident_dup(P)))
        return TG_ENOMEM;
    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    if (!tg_ql_cmp(P->lx->t, &e->cmp))
        return tg_ql_fail_expected(P->lx, "a comparison (= != =~ !~ == > >= < <=)");
    {
        enum tg_qtok op = P->lx->t;

        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
        if (P->lx->t == QT_STRING) {
            if (op != QT_EQ && op != QT_NE && op != QT_RE && op != QT_NRE)
                return tg_ql_fail_expected(P->lx, "a number or a duration");
            e->value.type = TG_PV_STR;
            e->value.s = P->lx->s;
            e->value.len = P->lx->slen;
            if ((e->cmp == TG_CMP_RE || e->cmp == TG_CMP_NRE) &&
                !(e->re = tg_plan_regex(P->lx->p, P->lx->s, P->lx->slen, 1, why,
                                        sizeof(why))))
                return tg_ql_error(&P->lx->err, P->lx->off,
                                   "invalid regular expression: %s", why);
        } else if ((P->lx->t == QT_FLOAT || P->lx->t == QT_DUR) && op != QT_RE &&
                   op != QT_NRE) {
            e->value.type = P->lx->t == QT_FLOAT ? TG_PV_FLOAT : TG_PV_DUR;
            e->value.f = P->lx->f;
            e->value.i = P->lx->i;
        } else {
            return tg_ql_fail_expected(P->lx, op == QT_RE || op == QT_NRE
                                                  ? "a string"
                                                  : "a string, a number or a "
                                                    "duration");
        }
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
    }
    *out = e;
    P->depth--;
    return 0;
}

/* lf_or (and = 0) and lf_and (and = 1): a left-leaning chain of one
 * operator over the next level down. */
static int lf_chain(parser *P, tg_lexpr **out, int and)
{
    int rc = and? lf_prim(P, out) : lf_chain(P, out, 1);

    while (!rc && (and? tg_ql_ident_is(P->lx, "and") || P->lx->t == QT_COMMA
                      : tg_ql_ident_is(P->lx, "or"))) {
        tg_lexpr *e = lx_new(P, and? TG_LX_AND : TG_LX_OR);

        if (!e)
            return TG_ENOMEM;
        e->l = *out;
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = and? lf_prim(P, &e->r) : lf_chain(P, &e->r, 1)) != 0)
            return rc;
        *out = e;
    }
    return rc;
}

static int lf_or(parser *P, tg_lexpr **out)
{
    return lf_chain(P, out, 0);
}

static int push_stage(parser *P, const tg_lstage *s)
{
    if (tg_ql_grow(P->lx->p, (void **)&P->lx->p->pipe, &P->cappipe, P->lx->p->npipe,
                   sizeof(*P->lx->p->pipe)))
        return TG_ENOMEM;
    P->lx->p->pipe[P->lx->p->npipe++] = *s;
    return 0;
}

/* `drop a, b` (Grafana's log-volume query ends in `| drop __error__`). */
static int drop(parser *P, tg_lstage *s)
{
    size_t cap = 0;
    int rc;

    s->kind = TG_LS_DROP;
    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    for (;;) {
        if (P->lx->t != QT_IDENT)
            return tg_ql_fail_expected(P->lx, "a label name");
        if (s->nnames == cap) {
            const char **nn;

            cap = cap ? cap * 2 : 4;
            if (!(nn = tg_plan_alloc(P->lx->p, cap * sizeof(*nn))))
                return TG_ENOMEM;
            if (s->nnames)
                memcpy(nn, s->names, s->nnames * sizeof(*nn));
            s->names = nn;
        }
        if (!(s->names[s->nnames++] = ident_dup(P)))
            return TG_ENOMEM;
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
        if (P->lx->t == QT_EQ || P->lx->t == QT_NE || P->lx->t == QT_RE ||
            P->lx->t == QT_NRE)
            return tg_ql_error(&P->lx->err, P->lx->off,
                               "drop with a matcher is not supported (drop names only)");
        if (P->lx->t != QT_COMMA)
            return 0;
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
    }
}

/* Reads pipeline stages while there are any. */
static int stages(parser *P)
{
    char why[160];
    int rc;

    for (;;) {
        tg_lstage s = {0};

        if (P->lx->t == QT_PIPE_EQ || P->lx->t == QT_NE || P->lx->t == QT_PIPE_RE ||
            P->lx->t == QT_NRE) {
            s.kind = TG_LS_LINE;
            s.cmp = P->lx->t == QT_PIPE_EQ   ? TG_CMP_EQ
                    : P->lx->t == QT_NE      ? TG_CMP_NE
                    : P->lx->t == QT_PIPE_RE ? TG_CMP_RE
                                             : TG_CMP_NRE;
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
            if (P->lx->t != QT_STRING)
                return tg_ql_fail_expected(P->lx, "a string after the line filter");
            s.text = P->lx->s;
            s.text_len = P->lx->slen;
            if ((s.cmp == TG_CMP_RE || s.cmp == TG_CMP_NRE) &&
                !(s.re = tg_plan_regex(P->lx->p, P->lx->s, P->lx->slen, 0, why,
                                       sizeof(why))))
                return tg_ql_error(&P->lx->err, P->lx->off,
                                   "invalid regular expression: %s", why);
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
        } else if (P->lx->t == QT_PIPE) {
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
            if (tg_ql_ident_is(P->lx, "json") || tg_ql_ident_is(P->lx, "logfmt")) {
                s.kind = tg_ql_ident_is(P->lx, "json") ? TG_LS_JSON : TG_LS_LOGFMT;
                if ((rc = tg_ql_next(P->lx)) != 0)
                    return rc;
                if (P->lx->t == QT_IDENT && !tg_ql_ident_is(P->lx, "and") &&
                    !tg_ql_ident_is(P->lx, "or"))
                    return tg_ql_error(&P->lx->err, P->lx->off,
                                       "parser parameters are not supported (use a bare "
                                       "| json or | logfmt)");
            } else if (tg_ql_ident_is(P->lx, "drop")) {
                if ((rc = drop(P, &s)) != 0)
                    return rc;
            } else if (tg_ql_ident_is(P->lx, "line_format") ||
                       tg_ql_ident_is(P->lx, "label_format") ||
                       tg_ql_ident_is(P->lx, "unwrap") || tg_ql_ident_is(P->lx, "keep") ||
                       tg_ql_ident_is(P->lx, "regexp") ||
                       tg_ql_ident_is(P->lx, "pattern") ||
                       tg_ql_ident_is(P->lx, "unpack") ||
                       tg_ql_ident_is(P->lx, "decolorize")) {
                return tg_ql_error(&P->lx->err, P->lx->off,
                                   "unsupported pipeline stage '%.*s'", (int)P->lx->slen,
                                   P->lx->s);
            } else {
                s.kind = TG_LS_LABEL;
                if ((rc = lf_or(P, &s.expr)) != 0)
                    return rc;
            }
        } else {
            return 0;
        }
        if ((rc = push_stage(P, &s)) != 0)
            return rc;
    }
}

/* --- metric expressions ----------------------------------------------------- */

static tg_mexpr *mx_new(parser *P, enum tg_mexpr_op op)
{
    return tg_ql_node(P->lx, sizeof(tg_mexpr), (int)op);
}

static int range(parser *P, tg_mexpr *m)
{
    int rc;

    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    if (P->lx->t != QT_DUR)
        return tg_ql_fail_expected(P->lx, "a duration such as 5m");
    if (P->lx->i <= 0)
        return tg_ql_error(&P->lx->err, P->lx->off, "the range must be longer than zero");
    m->range_ns = P->lx->i;
    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    return tg_ql_expect(P->lx, QT_RBRACK, "']'");
}

static int grouping(parser *P, tg_mexpr *m)
{
    size_t cap = 0;
    int rc;

    if (m->nlabels || m->without)
        return tg_ql_error(&P->lx->err, P->lx->off, "grouping given twice");
    m->without = tg_ql_ident_is(P->lx, "without");
    if ((rc = tg_ql_next(P->lx)) != 0 ||
        (rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0)
        return rc;
    while (P->lx->t == QT_IDENT) {
        if (m->nlabels == cap) {
            const char **nl;

            cap = cap ? cap * 2 : 4;
            nl = tg_plan_alloc(P->lx->p, cap * sizeof(*nl));
            if (!nl)
                return TG_ENOMEM;
            if (m->nlabels)
                memcpy(nl, m->labels, m->nlabels * sizeof(*nl));
            m->labels = nl;
        }
        if (!(m->labels[m->nlabels++] = ident_dup(P)))
            return TG_ENOMEM;
        if ((rc = tg_ql_after_item(P->lx)) <= 0) {
            if (rc < 0)
                return rc;
            break;
        }
    }
    return tg_ql_expect(P->lx, QT_RPAREN, "a label name or ')'");
}

static int metric(parser *P, tg_mexpr **out);

static int factor(parser *P, tg_mexpr **out)
{
    static const struct {
        const char *w;
        enum tg_range_fn fn;
    } fns[] = {{"count_over_time", TG_RF_COUNT_OVER_TIME},
               {"rate", TG_RF_RATE},
               {"bytes_over_time", TG_RF_BYTES_OVER_TIME},
               {"bytes_rate", TG_RF_BYTES_RATE}};
    static const struct {
        const char *w;
        enum tg_agg a;
    } aggs[] = {{"sum", TG_AGG_SUM},
                {"avg", TG_AGG_AVG},
                {"min", TG_AGG_MIN},
                {"max", TG_AGG_MAX},
                {"count", TG_AGG_COUNT}};
    tg_mexpr *m;
    size_t k;
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->lx->err, P->lx->off, "expression nested too deeply");
    if (P->lx->t == QT_FLOAT) {
        if (!(m = mx_new(P, TG_MX_NUMBER)))
            return TG_ENOMEM;
        m->number = P->lx->f;
        *out = m;
        P->depth--;
        return tg_ql_next(P->lx);
    }
    if (P->lx->t == QT_MINUS) {
        if ((rc = tg_ql_next(P->lx)) != 0 || (rc = factor(P, out)) != 0)
            return rc;
        if (!(m = mx_new(P, TG_MX_BINOP)) || !(m->l = mx_new(P, TG_MX_NUMBER)))
            return TG_ENOMEM;
        m->binop = '-';
        m->r = *out;
        *out = m;
        P->depth--;
        return 0;
    }
    if (P->lx->t == QT_LPAREN) {
        if ((rc = tg_ql_next(P->lx)) != 0 || (rc = metric(P, out)) != 0)
            return rc;
        P->depth--;
        return tg_ql_expect(P->lx, QT_RPAREN, "')'");
    }
    if (P->lx->t == QT_LBRACE)
        return tg_ql_error(&P->lx->err, P->lx->off,
                           "a log query cannot be used as a number here (wrap it in "
                           "count_over_time(...[5m]) or rate(...[5m]))");
    if (tg_ql_ident_is(P->lx, "vector")) {
        int neg = 0;

        if (!(m = mx_new(P, TG_MX_VECTOR)))
            return TG_ENOMEM;
        if ((rc = tg_ql_next(P->lx)) != 0 ||
            (rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0)
            return rc;
        if (P->lx->t == QT_MINUS) {
            neg = 1;
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
        }
        if (P->lx->t != QT_FLOAT)
            return tg_ql_fail_expected(P->lx, "a number");
        m->number = neg ? -P->lx->f : P->lx->f;
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
        *out = m;
        P->depth--;
        return tg_ql_expect(P->lx, QT_RPAREN, "')'");
    }
    for (k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
        if (tg_ql_ident_is(P->lx, fns[k].w)) {
            if (!(m = mx_new(P, TG_MX_RANGE)))
                return TG_ENOMEM;
            m->fn = fns[k].fn;
            if ((rc = tg_ql_next(P->lx)) != 0 ||
                (rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0 ||
                (rc = selector(P)) != 0)
                return rc;
            if (P->lx->t == QT_LBRACK && (rc = range(P, m)) != 0)
                return rc;
            if ((rc = stages(P)) != 0)
                return rc;
            if (P->lx->t == QT_LBRACK) {
                if (m->range_ns)
                    return tg_ql_error(&P->lx->err, P->lx->off, "range given twice");
                if ((rc = range(P, m)) != 0)
                    return rc;
            }
            if (!m->range_ns)
                return tg_ql_fail_expected(P->lx, "a range such as [5m]");
            *out = m;
            P->depth--;
            return tg_ql_expect(P->lx, QT_RPAREN, "')'");
        }
    for (k = 0; k < sizeof(aggs) / sizeof(aggs[0]); k++)
        if (tg_ql_ident_is(P->lx, aggs[k].w)) {
            if (!(m = mx_new(P, TG_MX_AGG)))
                return TG_ENOMEM;
            m->agg = aggs[k].a;
            if ((rc = tg_ql_next(P->lx)) != 0)
                return rc;
            if ((tg_ql_ident_is(P->lx, "by") || tg_ql_ident_is(P->lx, "without")) &&
                (rc = grouping(P, m)) != 0)
                return rc;
            if ((rc = tg_ql_expect(P->lx, QT_LPAREN, "'('")) != 0 ||
                (rc = metric(P, &m->l)) != 0 ||
                (rc = tg_ql_expect(P->lx, QT_RPAREN, "')'")) != 0)
                return rc;
            if ((tg_ql_ident_is(P->lx, "by") || tg_ql_ident_is(P->lx, "without")) &&
                (rc = grouping(P, m)) != 0)
                return rc;
            *out = m;
            P->depth--;
            return 0;
        }
    if (P->lx->t == QT_IDENT)
        return tg_ql_error(
            &P->lx->err, P->lx->off,
            "unknown function '%.*s' (supported: count_over_time, rate, "
            "bytes_over_time, bytes_rate, sum, avg, min, max, count, vector)",
            (int)P->lx->slen, P->lx->s);
    return tg_ql_fail_expected(P->lx, "a log query, a metric expression or a number");
}

static int binops(parser *P, tg_mexpr **out, int mul)
{
    int rc = mul ? factor(P, out) : binops(P, out, 1);

    while (!rc && (mul ? (P->lx->t == QT_STAR || P->lx->t == QT_SLASH)
                       : (P->lx->t == QT_PLUS || P->lx->t == QT_MINUS))) {
        tg_mexpr *m = mx_new(P, TG_MX_BINOP);

        if (!m)
            return TG_ENOMEM;
        m->binop = P->lx->t == QT_STAR    ? '*'
                   : P->lx->t == QT_SLASH ? '/'
                   : P->lx->t == QT_PLUS  ? '+'
                                          : '-';
        m->l = *out;
        if ((rc = tg_ql_next(P->lx)) != 0)
            return rc;
        rc = mul ? factor(P, &m->r) : binops(P, &m->r, 1);
        *out = m;
    }
    return rc;
}

static int metric(parser *P, tg_mexpr **out)
{
    return binops(P, out, 0);
}

/* The whole query, into L->p. */
static int parse_query(tg_qlex *L)
{
    parser state = {.lx = L}, *P = &state;
    int rc;

    if ((rc = tg_ql_next(P->lx)) != 0)
        return rc;
    if (P->lx->t == QT_LBRACE) {
        if ((rc = selector(P)) != 0 || (rc = stages(P)) != 0)
            return rc;
        if (P->lx->t != QT_EOF)
            return tg_ql_fail_expected(
                P->lx, "a line filter (|= != |~ !~), '|' or the end of the query");
    } else {
        if ((rc = metric(P, &P->lx->p->metric)) != 0)
            return rc;
        if (P->lx->t != QT_EOF)
            return tg_ql_fail_expected(P->lx,
                                       "an operator (+ - * /) or the end of the query");
    }
    return 0;
}

int tg_logql_parse(const char *q, size_t len, tg_plan **out, char *err, size_t errlen)
{
    return tg_ql_parse(TG_PLAN_LOGQL, q, len, out, err, errlen, parse_query);
}
