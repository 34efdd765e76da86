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
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_plan.h"
#include "tg_ql.h"

enum tok {
    T_EOF,
    T_LBRACE,
    T_RBRACE,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_EQ,   /* = */
    T_EQEQ, /* == */
    T_NE,
    T_RE,
    T_NRE,
    T_PIPE_EQ,
    T_PIPE_RE,
    T_PIPE,
    T_GT,
    T_GE,
    T_LT,
    T_LE,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_STRING,
    T_NUMBER,
    T_DUR,
    T_IDENT,
};

typedef struct parser {
    tg_plan *p;
    const char *q;
    size_t len, pos;
    tg_qlerr err;
    int depth;
    enum tok t;
    size_t off, end;
    const char *s;
    size_t slen;
    double num;
    int64_t dur;
    int nranges;
    tg_lsel *sel;
    size_t nsel, capsel;
    tg_lstage *pipe;
    size_t npipe, cappipe;
} parser;

static int fail_expected(parser *P, const char *what)
{
    char found[48];

    tg_ql_describe(P->q, P->len, P->off, P->end, found, sizeof(found));
    return tg_ql_error(&P->err, P->off, "expected %s, found %s", what, found);
}

static int lex_number(parser *P, size_t i)
{
    size_t start = i;
    char tmp[64], *endp;

    while (i < P->len) {
        unsigned char c = (unsigned char)P->q[i];

        if ((c == 'e' || c == 'E') && i + 1 < P->len &&
            (P->q[i + 1] == '+' || P->q[i + 1] == '-'))
            i += 2;
        else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                 (c >= 'A' && c <= 'Z') || c == '.' || c == 0xC2 || c == 0xB5)
            i++;
        else
            break;
    }
    P->pos = P->end = i;
    if (i - start >= sizeof(tmp))
        return tg_ql_error(&P->err, start, "number too long");
    memcpy(tmp, P->q + start, i - start);
    tmp[i - start] = '\0';
    errno = 0;
    P->num = strtod(tmp, &endp);
    if (*endp == '\0' && !errno && isfinite(P->num) && !strpbrk(tmp, "xXnNiI")) {
        P->t = T_NUMBER;
        return 0;
    }
    if (tg_plan_parse_duration(tmp, strlen(tmp), &P->dur) == 0) {
        P->t = T_DUR;
        return 0;
    }
    return tg_ql_error(&P->err, start,
                       "invalid number or duration '%s' (durations: 1h 5m 30s 250ms)",
                       tmp);
}

static int next(parser *P)
{
    const char *q = P->q;
    size_t i = P->pos;
    char c;

    while (i < P->len && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r'))
        i++;
    P->off = i;
    if (i >= P->len) {
        P->t = T_EOF;
        P->pos = P->end = i;
        return 0;
    }
    c = q[i];
#define TOK(tk, n)                                                                       \
    do {                                                                                 \
        P->t = (tk);                                                                     \
        P->pos = P->end = i + (n);                                                       \
        return 0;                                                                        \
    } while (0)
#define NEXT_IS(ch) (i + 1 < P->len && q[i + 1] == (ch))
    switch (c) {
    case '{':
        TOK(T_LBRACE, 1);
    case '}':
        TOK(T_RBRACE, 1);
    case '(':
        TOK(T_LPAREN, 1);
    case ')':
        TOK(T_RPAREN, 1);
    case '[':
        TOK(T_LBRACK, 1);
    case ']':
        TOK(T_RBRACK, 1);
    case ',':
        TOK(T_COMMA, 1);
    case '+':
        TOK(T_PLUS, 1);
    case '-':
        TOK(T_MINUS, 1);
    case '*':
        TOK(T_STAR, 1);
    case '/':
        TOK(T_SLASH, 1);
    case '=':
        if (NEXT_IS('~'))
            TOK(T_RE, 2);
        if (NEXT_IS('='))
            TOK(T_EQEQ, 2);
        TOK(T_EQ, 1);
    case '!':
        if (NEXT_IS('='))
            TOK(T_NE, 2);
        if (NEXT_IS('~'))
            TOK(T_NRE, 2);
        P->end = i + 1;
        return tg_ql_error(&P->err, i, "unexpected '!' (expected != or !~)");
    case '|':
        if (NEXT_IS('='))
            TOK(T_PIPE_EQ, 2);
        if (NEXT_IS('~'))
            TOK(T_PIPE_RE, 2);
        TOK(T_PIPE, 1);
    case '>':
        if (NEXT_IS('='))
            TOK(T_GE, 2);
        TOK(T_GT, 1);
    case '<':
        if (NEXT_IS('='))
            TOK(T_LE, 2);
        TOK(T_LT, 1);
    case '"':
    case '`': {
        int rc = tg_ql_string(P->p, q, P->len, &i, &P->s, &P->slen, &P->err);

        if (rc)
            return rc;
        P->t = T_STRING;
        P->pos = P->end = i;
        return 0;
    }
    default:
        break;
    }
#undef TOK
#undef NEXT_IS
    if ((c >= '0' && c <= '9') ||
        (c == '.' && i + 1 < P->len && q[i + 1] >= '0' && q[i + 1] <= '9'))
        return lex_number(P, i);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        size_t j = i;

        while (j < P->len &&
               ((q[j] >= 'a' && q[j] <= 'z') || (q[j] >= 'A' && q[j] <= 'Z') ||
                (q[j] >= '0' && q[j] <= '9') || q[j] == '_'))
            j++;
        P->t = T_IDENT;
        P->s = q + i;
        P->slen = j - i;
        P->pos = P->end = j;
        return 0;
    }
    P->end = i + 1;
    return tg_ql_error(&P->err, i, "unexpected character '%c'", c);
}

static int ident_is(const parser *P, const char *w)
{
    return P->t == T_IDENT && P->slen == strlen(w) && memcmp(P->s, w, P->slen) == 0;
}

static int expect(parser *P, enum tok t, const char *what)
{
    if (P->t != t)
        return fail_expected(P, what);
    return next(P);
}

static const char *ident_dup(parser *P)
{
    char *s = tg_plan_alloc(P->p, P->slen + 1);

    if (s)
        memcpy(s, P->s, P->slen);
    return s;
}

/* --- log query ----------------------------------------------------------------- */

static int matcher(parser *P)
{
    tg_lsel m = {0};
    char why[160];
    size_t voff;
    int rc;

    if (P->t != T_IDENT)
        return fail_expected(P, "a label name");
    if (!(m.name = ident_dup(P)))
        return TG_ENOMEM;
    if ((rc = next(P)) != 0)
        return rc;
    switch (P->t) {
    case T_EQ:
        m.op = TG_LM_EQ;
        break;
    case T_NE:
        m.op = TG_LM_NE;
        break;
    case T_RE:
        m.op = TG_LM_RE;
        break;
    case T_NRE:
        m.op = TG_LM_NRE;
        break;
    default:
        return fail_expected(P, "=, !=, =~ or !~");
    }
    if ((rc = next(P)) != 0)
        return rc;
    if (P->t != T_STRING)
        return fail_expected(P, "a string");
    voff = P->off;
    if (memchr(P->s, '\0', P->slen)) /* values are C strings */
        return tg_ql_error(&P->err, voff, "a label value cannot hold a NUL");
    m.value = P->s;
    if ((m.op == TG_LM_RE || m.op == TG_LM_NRE) &&
        !(m.re = tg_plan_regex(P->p, P->s, P->slen, 1, why, sizeof(why))))
        return tg_ql_error(&P->err, voff, "invalid regular expression: %s", why);
    if (P->nsel == P->capsel) {
        size_t cap = P->capsel ? P->capsel * 2 : 4;
        tg_lsel *ns = realloc(P->sel, cap * sizeof(*ns));

        if (!ns)
            return TG_ENOMEM;
        P->sel = ns;
        P->capsel = cap;
    }
    P->sel[P->nsel++] = m;
    return next(P);
}

static int selector(parser *P)
{
    int rc;

    if (P->p->has_selector)
        return tg_ql_error(&P->err, P->off,
                           "only one log query per expression is supported");
    if ((rc = expect(P, T_LBRACE, "'{'")) != 0)
        return rc;
    if (P->t == T_RBRACE)
        return fail_expected(P, "a label matcher (a selector needs at least one)");
    for (;;) {
        if ((rc = matcher(P)) != 0)
            return rc;
        if (P->t != T_COMMA)
            break;
        if ((rc = next(P)) != 0)
            return rc;
    }
    P->p->has_selector = 1;
    return expect(P, T_RBRACE, "',' or '}'");
}

static tg_lexpr *lx_new(parser *P, enum tg_lexpr_op op)
{
    tg_lexpr *e = tg_plan_alloc(P->p, sizeof(*e));

    if (e)
        e->op = op;
    return e;
}

static int lf_or(parser *P, tg_lexpr **out);

static int lf_prim(parser *P, tg_lexpr **out)
{
    tg_lexpr *e;
    char why[160];
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->err, P->off, "expression nested too deeply");
    if (P->t == T_LPAREN) {
        if ((rc = next(P)) != 0 || (rc = lf_or(P, out)) != 0)
            return rc;
        P->depth--;
        return expect(P, T_RPAREN, "')'");
    }
    if (P->t != T_IDENT)
        return fail_expected(P, "a label name");
    if (!(e = lx_new(P, TG_LX_CMP)) || !(e->name = ident_dup(P)))
        return TG_ENOMEM;
    if ((rc = next(P)) != 0)
        return rc;
    switch (P->t) {
    case T_EQ:
    case T_EQEQ:
        e->cmp = TG_CMP_EQ;
        break;
    case T_NE:
        e->cmp = TG_CMP_NE;
        break;
    case T_RE:
        e->cmp = TG_CMP_RE;
        break;
    case T_NRE:
        e->cmp = TG_CMP_NRE;
        break;
    case T_GT:
        e->cmp = TG_CMP_GT;
        break;
    case T_GE:
        e->cmp = TG_CMP_GE;
        break;
    case T_LT:
        e->cmp = TG_CMP_LT;
        break;
    case T_LE:
        e->cmp = TG_CMP_LE;
        break;
    default:
        return fail_expected(P, "a comparison (= != =~ !~ == > >= < <=)");
    }
    {
        enum tok op = P->t;

        if ((rc = next(P)) != 0)
            return rc;
        if (P->t == T_STRING) {
            if (op != T_EQ && op != T_NE && op != T_RE && op != T_NRE)
                return fail_expected(P, "a number or a duration");
            e->value.type = TG_PV_STR;
            e->value.s = P->s;
            e->value.len = P->slen;
            if ((e->cmp == TG_CMP_RE || e->cmp == TG_CMP_NRE) &&
                !(e->re = tg_plan_regex(P->p, P->s, P->slen, 1, why, sizeof(why))))
                return tg_ql_error(&P->err, P->off, "invalid regular expression: %s",
                                   why);
        } else if ((P->t == T_NUMBER || P->t == T_DUR) && op != T_RE && op != T_NRE) {
            e->value.type = P->t == T_NUMBER ? TG_PV_FLOAT : TG_PV_DUR;
            e->value.f = P->num;
            e->value.i = P->dur;
        } else {
            return fail_expected(P, op == T_RE || op == T_NRE ? "a string"
                                                              : "a string, a number or a "
                                                                "duration");
        }
        if ((rc = next(P)) != 0)
            return rc;
    }
    *out = e;
    P->depth--;
    return 0;
}

static int lf_and(parser *P, tg_lexpr **out)
{
    int rc = lf_prim(P, out);

    while (!rc && (ident_is(P, "and") || P->t == T_COMMA)) {
        tg_lexpr *e = lx_new(P, TG_LX_AND);

        if (!e)
            return TG_ENOMEM;
        e->l = *out;
        if ((rc = next(P)) != 0 || (rc = lf_prim(P, &e->r)) != 0)
            return rc;
        *out = e;
    }
    return rc;
}

static int lf_or(parser *P, tg_lexpr **out)
{
    int rc = lf_and(P, out);

    while (!rc && ident_is(P, "or")) {
        tg_lexpr *e = lx_new(P, TG_LX_OR);

        if (!e)
            return TG_ENOMEM;
        e->l = *out;
        if ((rc = next(P)) != 0 || (rc = lf_and(P, &e->r)) != 0)
            return rc;
        *out = e;
    }
    return rc;
}

static int push_stage(parser *P, const tg_lstage *s)
{
    if (P->npipe == P->cappipe) {
        size_t cap = P->cappipe ? P->cappipe * 2 : 4;
        tg_lstage *np = realloc(P->pipe, cap * sizeof(*np));

        if (!np)
            return TG_ENOMEM;
        P->pipe = np;
        P->cappipe = cap;
    }
    P->pipe[P->npipe++] = *s;
    return 0;
}

/* `drop a, b` (Grafana's log-volume query ends in `| drop __error__`). */
static int drop(parser *P, tg_lstage *s)
{
    size_t cap = 0;
    int rc;

    s->kind = TG_LS_DROP;
    if ((rc = next(P)) != 0)
        return rc;
    for (;;) {
        if (P->t != T_IDENT)
            return fail_expected(P, "a label name");
        if (s->nnames == cap) {
            const char **nn;

            cap = cap ? cap * 2 : 4;
            if (!(nn = tg_plan_alloc(P->p, cap * sizeof(*nn))))
                return TG_ENOMEM;
            if (s->nnames)
                memcpy(nn, s->names, s->nnames * sizeof(*nn));
            s->names = nn;
        }
        if (!(s->names[s->nnames++] = ident_dup(P)))
            return TG_ENOMEM;
        if ((rc = next(P)) != 0)
            return rc;
        if (P->t == T_EQ || P->t == T_NE || P->t == T_RE || P->t == T_NRE)
            return tg_ql_error(&P->err, P->off,
                               "drop with a matcher is not supported (drop names only)");
        if (P->t != T_COMMA)
            return 0;
        if ((rc = next(P)) != 0)
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

        if (P->t == T_PIPE_EQ || P->t == T_NE || P->t == T_PIPE_RE || P->t == T_NRE) {
            s.kind = TG_LS_LINE;
            s.cmp = P->t == T_PIPE_EQ   ? TG_CMP_EQ
                    : P->t == T_NE      ? TG_CMP_NE
                    : P->t == T_PIPE_RE ? TG_CMP_RE
                                        : TG_CMP_NRE;
            if ((rc = next(P)) != 0)
                return rc;
            if (P->t != T_STRING)
                return fail_expected(P, "a string after the line filter");
            s.text = P->s;
            s.text_len = P->slen;
            if ((s.cmp == TG_CMP_RE || s.cmp == TG_CMP_NRE) &&
                !(s.re = tg_plan_regex(P->p, P->s, P->slen, 0, why, sizeof(why))))
                return tg_ql_error(&P->err, P->off, "invalid regular expression: %s",
                                   why);
            if ((rc = next(P)) != 0)
                return rc;
        } else if (P->t == T_PIPE) {
            if ((rc = next(P)) != 0)
                return rc;
            if (ident_is(P, "json") || ident_is(P, "logfmt")) {
                s.kind = ident_is(P, "json") ? TG_LS_JSON : TG_LS_LOGFMT;
                if ((rc = next(P)) != 0)
                    return rc;
                if (P->t == T_IDENT && !ident_is(P, "and") && !ident_is(P, "or"))
                    return tg_ql_error(&P->err, P->off,
                                       "parser parameters are not supported (use a bare "
                                       "| json or | logfmt)");
            } else if (ident_is(P, "drop")) {
                if ((rc = drop(P, &s)) != 0)
                    return rc;
            } else if (ident_is(P, "line_format") || ident_is(P, "label_format") ||
                       ident_is(P, "unwrap") || ident_is(P, "keep") ||
                       ident_is(P, "regexp") || ident_is(P, "pattern") ||
                       ident_is(P, "unpack") || ident_is(P, "decolorize")) {
                return tg_ql_error(&P->err, P->off, "unsupported pipeline stage '%.*s'",
                                   (int)P->slen, P->s);
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
    tg_mexpr *m = tg_plan_alloc(P->p, sizeof(*m));

    if (m)
        m->op = op;
    return m;
}

static int range(parser *P, tg_mexpr *m)
{
    int rc;

    if ((rc = next(P)) != 0)
        return rc;
    if (P->t != T_DUR)
        return fail_expected(P, "a duration such as 5m");
    if (P->dur <= 0)
        return tg_ql_error(&P->err, P->off, "the range must be longer than zero");
    m->range_ns = P->dur;
    if ((rc = next(P)) != 0)
        return rc;
    return expect(P, T_RBRACK, "']'");
}

static int grouping(parser *P, tg_mexpr *m)
{
    size_t cap = 0;
    int rc;

    if (m->nlabels || m->without)
        return tg_ql_error(&P->err, P->off, "grouping given twice");
    m->without = ident_is(P, "without");
    if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'('")) != 0)
        return rc;
    while (P->t == T_IDENT) {
        if (m->nlabels == cap) {
            const char **nl;

            cap = cap ? cap * 2 : 4;
            nl = tg_plan_alloc(P->p, cap * sizeof(*nl));
            if (!nl)
                return TG_ENOMEM;
            if (m->nlabels)
                memcpy(nl, m->labels, m->nlabels * sizeof(*nl));
            m->labels = nl;
        }
        if (!(m->labels[m->nlabels++] = ident_dup(P)))
            return TG_ENOMEM;
        if ((rc = next(P)) != 0)
            return rc;
        if (P->t != T_COMMA)
            break;
        if ((rc = next(P)) != 0)
            return rc;
    }
    return expect(P, T_RPAREN, "a label name or ')'");
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
        return tg_ql_error(&P->err, P->off, "expression nested too deeply");
    if (P->t == T_NUMBER) {
        if (!(m = mx_new(P, TG_MX_NUMBER)))
            return TG_ENOMEM;
        m->number = P->num;
        *out = m;
        P->depth--;
        return next(P);
    }
    if (P->t == T_MINUS) {
        if ((rc = next(P)) != 0 || (rc = factor(P, out)) != 0)
            return rc;
        if (!(m = mx_new(P, TG_MX_BINOP)) || !(m->l = mx_new(P, TG_MX_NUMBER)))
            return TG_ENOMEM;
        m->binop = '-';
        m->r = *out;
        *out = m;
        P->depth--;
        return 0;
    }
    if (P->t == T_LPAREN) {
        if ((rc = next(P)) != 0 || (rc = metric(P, out)) != 0)
            return rc;
        P->depth--;
        return expect(P, T_RPAREN, "')'");
    }
    if (P->t == T_LBRACE)
        return tg_ql_error(&P->err, P->off,
                           "a log query cannot be used as a number here (wrap it in "
                           "count_over_time(...[5m]) or rate(...[5m]))");
    if (ident_is(P, "vector")) {
        int neg = 0;

        if (!(m = mx_new(P, TG_MX_VECTOR)))
            return TG_ENOMEM;
        if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'('")) != 0)
            return rc;
        if (P->t == T_MINUS) {
            neg = 1;
            if ((rc = next(P)) != 0)
                return rc;
        }
        if (P->t != T_NUMBER)
            return fail_expected(P, "a number");
        m->number = neg ? -P->num : P->num;
        if ((rc = next(P)) != 0)
            return rc;
        *out = m;
        P->depth--;
        return expect(P, T_RPAREN, "')'");
    }
    for (k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
        if (ident_is(P, fns[k].w)) {
            if (!(m = mx_new(P, TG_MX_RANGE)))
                return TG_ENOMEM;
            m->fn = fns[k].fn;
            if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'('")) != 0 ||
                (rc = selector(P)) != 0)
                return rc;
            if (P->t == T_LBRACK && (rc = range(P, m)) != 0)
                return rc;
            if ((rc = stages(P)) != 0)
                return rc;
            if (P->t == T_LBRACK) {
                if (m->range_ns)
                    return tg_ql_error(&P->err, P->off, "range given twice");
                if ((rc = range(P, m)) != 0)
                    return rc;
            }
            if (!m->range_ns)
                return fail_expected(P, "a range such as [5m]");
            *out = m;
            P->depth--;
            return expect(P, T_RPAREN, "')'");
        }
    for (k = 0; k < sizeof(aggs) / sizeof(aggs[0]); k++)
        if (ident_is(P, aggs[k].w)) {
            if (!(m = mx_new(P, TG_MX_AGG)))
                return TG_ENOMEM;
            m->agg = aggs[k].a;
            if ((rc = next(P)) != 0)
                return rc;
            if ((ident_is(P, "by") || ident_is(P, "without")) &&
                (rc = grouping(P, m)) != 0)
                return rc;
            if ((rc = expect(P, T_LPAREN, "'('")) != 0 || (rc = metric(P, &m->l)) != 0 ||
                (rc = expect(P, T_RPAREN, "')'")) != 0)
                return rc;
            if ((ident_is(P, "by") || ident_is(P, "without")) &&
                (rc = grouping(P, m)) != 0)
                return rc;
            *out = m;
            P->depth--;
            return 0;
        }
    if (P->t == T_IDENT)
        return tg_ql_error(
            &P->err, P->off,
            "unknown function '%.*s' (supported: count_over_time, rate, "
            "bytes_over_time, bytes_rate, sum, avg, min, max, count, vector)",
            (int)P->slen, P->s);
    return fail_expected(P, "a log query, a metric expression or a number");
}

static int binops(parser *P, tg_mexpr **out, int mul)
{
    int rc = mul ? factor(P, out) : binops(P, out, 1);

    while (!rc && (mul ? (P->t == T_STAR || P->t == T_SLASH)
                       : (P->t == T_PLUS || P->t == T_MINUS))) {
        tg_mexpr *m = mx_new(P, TG_MX_BINOP);

        if (!m)
            return TG_ENOMEM;
        m->binop = P->t == T_STAR    ? '*'
                   : P->t == T_SLASH ? '/'
                   : P->t == T_PLUS  ? '+'
                                     : '-';
        m->l = *out;
        if ((rc = next(P)) != 0)
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

static int parse_query(parser *P)
{
    int rc;

    if ((rc = next(P)) != 0)
        return rc;
    if (P->t == T_LBRACE) {
        if ((rc = selector(P)) != 0 || (rc = stages(P)) != 0)
            return rc;
        if (P->t != T_EOF)
            return fail_expected(
                P, "a line filter (|= != |~ !~), '|' or the end of the query");
    } else {
        if ((rc = metric(P, &P->p->metric)) != 0)
            return rc;
        if (P->t != T_EOF)
            return fail_expected(P, "an operator (+ - * /) or the end of the query");
    }
    P->p->nsel = P->nsel;
    P->p->npipe = P->npipe;
    P->p->sel = tg_plan_alloc(P->p, P->nsel * sizeof(tg_lsel));
    P->p->pipe = tg_plan_alloc(P->p, P->npipe * sizeof(tg_lstage));
    if (!P->p->sel || !P->p->pipe)
        return TG_ENOMEM;
    if (P->nsel)
        memcpy(P->p->sel, P->sel, P->nsel * sizeof(tg_lsel));
    if (P->npipe)
        memcpy(P->p->pipe, P->pipe, P->npipe * sizeof(tg_lstage));
    return 0;
}

int tg_logql_parse(const char *q, size_t len, tg_plan **out, char *err, size_t errlen)
{
    parser P;
    int rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    memset(&P, 0, sizeof(P));
    P.q = q;
    P.len = len;
    P.err = (tg_qlerr){.q = q, .buf = err, .len = errlen};
    if (!(P.p = tg_plan_new(TG_PLAN_LOGQL)))
        return TG_ENOMEM;
    rc = parse_query(&P);
    free(P.sel);
    free(P.pipe);
    if (rc == 0 && P.err.set)
        rc = TG_EINVAL;
    if (rc) {
        if (rc == TG_ENOMEM && err && errlen && !P.err.set)
            snprintf(err, errlen, "out of memory (query too large)");
        tg_plan_free(P.p);
        return rc;
    }
    *out = P.p;
    return 0;
}
