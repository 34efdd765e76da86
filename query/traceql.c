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
    T_COMMA,
    T_PIPE,
    T_AND,
    T_OR,
    T_NOT,
    T_EQ,
    T_NE,
    T_GT,
    T_GE,
    T_LT,
    T_LE,
    T_RE,
    T_NRE,
    T_DESC,
    T_ANC,
    T_TILDE,
    T_STRING,
    T_INT,
    T_FLOAT,
    T_DUR,
    T_IDENT,
    T_ATTR,
};

typedef struct parser {
    tg_plan *p;
    const char *q;
    size_t len, pos;
    tg_qlerr err;
    int depth;
    /* the current token */
    enum tok t;
    size_t off, end;
    const char *s; /* T_STRING, T_ATTR (key), T_IDENT (raw, not terminated) */
    size_t slen;
    enum tg_scope scope;
    int64_t i;
    double f;
    /* filters, grown in a heap array and copied into the arena at the end */
    tg_filter *filters;
    size_t nfilters, capfilters;
    tg_stage *stages;
    size_t nstages, capstages;
} parser;

static int fail_expected(parser *P, const char *what)
{
    char found[48];

    tg_ql_describe(P->q, P->len, P->off, P->end, found, sizeof(found));
    return tg_ql_error(&P->err, P->off, "expected %s, found %s", what, found);
}

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '/' || c == '@' || c >= 0x80;
}

/* An attribute name after its scope: plain characters and quoted parts,
 * concatenated ("span.a."b c"" is the key `a.b c`). */
static int lex_attr(parser *P, size_t i, enum tg_scope scope)
{
    char *key;
    size_t n = 0;

    key = tg_plan_alloc(P->p, P->len - i + 1);
    if (!key)
        return TG_ENOMEM;
    while (i < P->len) {
        if (P->q[i] == '"' || P->q[i] == '`') {
            const char *s;
            size_t sl;
            int rc = tg_ql_string(P->p, P->q, P->len, &i, &s, &sl, &P->err);

            if (rc)
                return rc;
            if (memchr(s, '\0', sl)) /* keys are C strings */
                return tg_ql_error(&P->err, P->off,
                                   "an attribute name cannot hold a NUL");
            memcpy(key + n, s, sl);
            n += sl;
        } else if (is_name_char((unsigned char)P->q[i])) {
            key[n++] = P->q[i++];
        } else {
            break;
        }
    }
    if (n == 0) {
        P->end = i;
        return tg_ql_error(&P->err, P->off, "expected an attribute name after '%.*s'",
                           (int)(i - P->off), P->q + P->off);
    }
    key[n] = '\0';
    P->t = T_ATTR;
    P->s = key;
    P->slen = n;
    P->scope = scope;
    P->pos = i;
    P->end = i;
    return 0;
}

static int lex_number(parser *P, size_t i)
{
    size_t start = i, j;
    char tmp[64];
    char *endp;

    if (P->q[i] == '-')
        i++;
    while (i < P->len) {
        unsigned char c = (unsigned char)P->q[i];

        if ((c == 'e' || c == 'E') && i + 1 < P->len &&
            (P->q[i + 1] == '+' || P->q[i + 1] == '-')) {
            i += 2;
        } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                   (c >= 'A' && c <= 'Z') || c == '.' || c == 0xC2 || c == 0xB5) {
            i++;
        } else {
            break;
        }
    }
    P->pos = P->end = i;
    if (i - start >= sizeof(tmp))
        return tg_ql_error(&P->err, start, "number too long");
    memcpy(tmp, P->q + start, i - start);
    tmp[i - start] = '\0';
    for (j = tmp[0] == '-'; tmp[j] >= '0' && tmp[j] <= '9'; j++)
        ;
    if (tmp[j] == '\0') {
        errno = 0;
        P->i = strtoll(tmp, &endp, 10);
        if (errno)
            return tg_ql_error(&P->err, start, "integer out of range");
        P->t = T_INT;
        return 0;
    }
    errno = 0;
    P->f = strtod(tmp, &endp);
    if (*endp == '\0' && !errno && isfinite(P->f) && strpbrk(tmp, "xXnNiI") == NULL) {
        P->t = T_FLOAT;
        return 0;
    }
    if (tmp[0] != '-' && tg_plan_parse_duration(tmp, strlen(tmp), &P->i) == 0) {
        P->t = T_DUR;
        return 0;
    }
    return tg_ql_error(
        &P->err, start,
        "invalid number or duration '%s' (durations: 1h 1m 1.5s 250ms 10us 3ns)", tmp);
}

static int next(parser *P)
{
    size_t i = P->pos;
    const char *q = P->q;
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
    case ',':
        TOK(T_COMMA, 1);
    case '~':
        TOK(T_TILDE, 1);
    case '|':
        if (NEXT_IS('|'))
            TOK(T_OR, 2);
        TOK(T_PIPE, 1);
    case '&':
        if (NEXT_IS('&'))
            TOK(T_AND, 2);
        P->end = i + 1;
        return tg_ql_error(&P->err, i, "unexpected '&' (did you mean '&&'?)");
    case '!':
        if (NEXT_IS('='))
            TOK(T_NE, 2);
        if (NEXT_IS('~'))
            TOK(T_NRE, 2);
        TOK(T_NOT, 1);
    case '=':
        if (NEXT_IS('~'))
            TOK(T_RE, 2);
        if (NEXT_IS('='))
            TOK(T_EQ, 2); /* `==` reads as `=` */
        TOK(T_EQ, 1);
    case '>':
        if (NEXT_IS('='))
            TOK(T_GE, 2);
        if (NEXT_IS('>'))
            TOK(T_DESC, 2);
        TOK(T_GT, 1);
    case '<':
        if (NEXT_IS('='))
            TOK(T_LE, 2);
        if (NEXT_IS('<'))
            TOK(T_ANC, 2);
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
    case '.':
        if (i + 1 < P->len && q[i + 1] >= '0' && q[i + 1] <= '9')
            return lex_number(P, i);
        return lex_attr(P, i + 1, TG_SCOPE_ANY);
    default:
        break;
    }
#undef TOK
#undef NEXT_IS
    if ((c >= '0' && c <= '9') ||
        (c == '-' && i + 1 < P->len && q[i + 1] >= '0' && q[i + 1] <= '9'))
        return lex_number(P, i);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        size_t j = i;

        while (j < P->len &&
               ((q[j] >= 'a' && q[j] <= 'z') || (q[j] >= 'A' && q[j] <= 'Z') ||
                (q[j] >= '0' && q[j] <= '9') || q[j] == '_' || q[j] == ':'))
            j++;
        if (j < P->len && q[j] == '.') {
            if (j - i == 4 && memcmp(q + i, "span", 4) == 0)
                return lex_attr(P, j + 1, TG_SCOPE_SPAN);
            if (j - i == 8 && memcmp(q + i, "resource", 8) == 0)
                return lex_attr(P, j + 1, TG_SCOPE_RESOURCE);
            P->end = j + 1;
            return tg_ql_error(
                &P->err, i,
                "unsupported attribute scope '%.*s' (use span., resource. or .)",
                (int)(j - i), q + i);
        }
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
    switch (P->t) {
    case T_STRING:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_STR;
        o->lit.s = P->s;
        o->lit.len = P->slen;
        return next(P);
    case T_INT:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_INT;
        o->lit.i = P->i;
        return next(P);
    case T_FLOAT:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_FLOAT;
        o->lit.f = P->f;
        return next(P);
    case T_DUR:
        o->kind = TG_OPD_LITERAL;
        o->lit.type = TG_PV_DUR;
        o->lit.i = P->i;
        return next(P);
    case T_ATTR:
        if (P->scope != TG_SCOPE_SPAN && strcmp(P->s, "tollgate.site") == 0) {
            o->kind = TG_OPD_INTRINSIC; /* ours: the site, as a resource attribute */
            o->intr = TG_IN_SITE;
            return next(P);
        }
        o->kind = TG_OPD_ATTR;
        o->scope = P->scope;
        o->key = P->s;
        return next(P);
    case T_IDENT:
        for (k = 0; k < sizeof(intrinsics) / sizeof(intrinsics[0]); k++)
            if (ident_is(P, intrinsics[k].word)) {
                o->kind = TG_OPD_INTRINSIC;
                o->intr = intrinsics[k].intr;
                if (is_trace_level(o->intr) && needs_trace)
                    *needs_trace = 1;
                return next(P);
            }
        for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
            if (ident_is(P, keywords[k].word)) {
                o->kind = TG_OPD_LITERAL;
                o->lit.type = keywords[k].type;
                o->lit.i = keywords[k].v;
                return next(P);
            }
        return tg_ql_error(
            &P->err, P->off,
            "unknown name '%.*s' (attributes are written span.x, resource.x "
            "or .x)",
            (int)P->slen, P->s);
    default:
        return fail_expected(P, "an attribute, an intrinsic or a literal");
    }
}

static int cmp_of(enum tok t, enum tg_cmp *c)
{
    static const struct {
        enum tok t;
        enum tg_cmp c;
    } m[] = {{T_EQ, TG_CMP_EQ}, {T_NE, TG_CMP_NE},  {T_GT, TG_CMP_GT},
             {T_GE, TG_CMP_GE}, {T_LT, TG_CMP_LT},  {T_LE, TG_CMP_LE},
             {T_RE, TG_CMP_RE}, {T_NRE, TG_CMP_NRE}};
    size_t k;

    for (k = 0; k < sizeof(m) / sizeof(m[0]); k++)
        if (m[k].t == t) {
            *c = m[k].c;
            return 1;
        }
    return 0;
}

/* Static checks TraceQL makes on a comparison, reported at the right
 * operand's column. */
static int check_cmp(parser *P, tg_fexpr *e, size_t boff)
{
    const tg_operand *a = &e->a, *b = &e->b;
    char why[160];

    if (e->cmp == TG_CMP_RE || e->cmp == TG_CMP_NRE) {
        if (b->kind != TG_OPD_LITERAL || b->lit.type != TG_PV_STR)
            return tg_ql_error(&P->err, boff,
                               "expected a string (a regular expression) after %s",
                               tg_plan_cmp_name(e->cmp));
        e->re = tg_plan_regex(P->p, b->lit.s, b->lit.len, 1, why, sizeof(why));
        if (!e->re)
            return tg_ql_error(&P->err, boff, "invalid regular expression: %s", why);
        return 0;
    }
    if (a->kind == TG_OPD_INTRINSIC &&
        (a->intr == TG_IN_STATUS || a->intr == TG_IN_KIND) && b->kind == TG_OPD_LITERAL) {
        enum tg_pval_type want = a->intr == TG_IN_STATUS ? TG_PV_STATUS : TG_PV_KIND;

        if (b->lit.type != want && b->lit.type != TG_PV_NIL)
            return tg_ql_error(
                &P->err, boff, "%s compares with %s", tg_plan_intrinsic_name(a->intr),
                want == TG_PV_STATUS ? "ok, error or unset"
                                     : "server, client, producer, consumer, internal or "
                                       "unspecified");
        if (e->cmp != TG_CMP_EQ && e->cmp != TG_CMP_NE)
            return tg_ql_error(&P->err, boff, "%s supports only = and !=",
                               tg_plan_intrinsic_name(a->intr));
    }
    return 0;
}

static tg_fexpr *fx_new(parser *P, enum tg_fexpr_op op)
{
    tg_fexpr *e = tg_plan_alloc(P->p, sizeof(*e));

    if (e)
        e->op = op;
    return e;
}

static int f_or(parser *P, tg_fexpr **out, int *nt);

static int f_unary(parser *P, tg_fexpr **out, int *nt)
{
    tg_fexpr *e;
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->err, P->off, "expression nested too deeply");
    if (P->t == T_NOT) {
        if ((rc = next(P)) != 0)
            return rc;
        if (!(e = fx_new(P, TG_FX_NOT)))
            return TG_ENOMEM;
        if ((rc = f_unary(P, &e->l, nt)) != 0)
            return rc;
        *out = e;
        P->depth--;
        return 0;
    }
    if (P->t == T_LPAREN) {
        if ((rc = next(P)) != 0 || (rc = f_or(P, out, nt)) != 0)
            return rc;
        if ((rc = expect(P, T_RPAREN, "')'")) != 0)
            return rc;
        P->depth--;
        return 0;
    }
    if (!(e = fx_new(P, TG_FX_OPERAND)))
        return TG_ENOMEM;
    {
        size_t aoff = P->off;

        if ((rc = operand(P, &e->a, nt)) != 0)
            return rc;
        if (cmp_of(P->t, &e->cmp)) {
            size_t boff;

            if ((rc = next(P)) != 0)
                return rc;
            boff = P->off;
            if ((rc = operand(P, &e->b, nt)) != 0)
                return rc;
            e->op = TG_FX_CMP;
            if ((rc = check_cmp(P, e, boff)) != 0)
                return rc;
        } else if (!(e->a.kind == TG_OPD_ATTR ||
                     (e->a.kind == TG_OPD_LITERAL && e->a.lit.type == TG_PV_BOOL))) {
            if (e->a.kind == TG_OPD_INTRINSIC)
                return fail_expected(P, "a comparison operator (= != > >= < <= =~ !~)");
            return tg_ql_error(
                &P->err, aoff,
                "a literal alone is not a condition (only true or false are)");
        }
    }
    *out = e;
    P->depth--;
    return 0;
}

static int f_and(parser *P, tg_fexpr **out, int *nt)
{
    int rc = f_unary(P, out, nt);

    while (!rc && P->t == T_AND) {
        tg_fexpr *e = fx_new(P, TG_FX_AND);

        if (!e)
            return TG_ENOMEM;
        e->l = *out;
        if ((rc = next(P)) != 0 || (rc = f_unary(P, &e->r, nt)) != 0)
            return rc;
        *out = e;
    }
    return rc;
}

static int f_or(parser *P, tg_fexpr **out, int *nt)
{
    int rc = f_and(P, out, nt);

    while (!rc && P->t == T_OR) {
        tg_fexpr *e = fx_new(P, TG_FX_OR);

        if (!e)
            return TG_ENOMEM;
        e->l = *out;
        if ((rc = next(P)) != 0 || (rc = f_and(P, &e->r, nt)) != 0)
            return rc;
        *out = e;
    }
    return rc;
}

/* `{ ... }` at the current token; appends it to the filters. */
static int filter(parser *P, size_t *idx)
{
    tg_filter f = {0};
    int rc;

    if ((rc = expect(P, T_LBRACE, "'{'")) != 0)
        return rc;
    if (P->t == T_RBRACE) {
        if (!(f.expr = fx_new(P, TG_FX_TRUE)))
            return TG_ENOMEM;
    } else if ((rc = f_or(P, &f.expr, &f.needs_trace)) != 0) {
        return rc;
    }
    if (P->t != T_RBRACE)
        return fail_expected(P, "'&&', '||' or '}'");
    if ((rc = next(P)) != 0)
        return rc;
    if (P->nfilters == P->capfilters) {
        size_t cap = P->capfilters ? P->capfilters * 2 : 4;
        tg_filter *nf = realloc(P->filters, cap * sizeof(*nf));

        if (!nf)
            return TG_ENOMEM;
        P->filters = nf;
        P->capfilters = cap;
    }
    *idx = P->nfilters;
    P->filters[P->nfilters++] = f;
    return 0;
}

/* --- spansets ------------------------------------------------------------- */

static tg_sset *ss_new(parser *P, enum tg_sset_op op)
{
    tg_sset *s = tg_plan_alloc(P->p, sizeof(*s));

    if (s)
        s->op = op;
    return s;
}

static int ss_expr(parser *P, tg_sset **out);

static int ss_primary(parser *P, tg_sset **out)
{
    int rc;

    if (++P->depth > TG_QL_MAX_DEPTH)
        return tg_ql_error(&P->err, P->off, "expression nested too deeply");
    if (P->t == T_LPAREN) {
        if ((rc = next(P)) != 0 || (rc = ss_expr(P, out)) != 0)
            return rc;
        if ((rc = expect(P, T_RPAREN, "')'")) != 0)
            return rc;
    } else if (P->t == T_LBRACE) {
        if (!(*out = ss_new(P, TG_SS_FILTER)))
            return TG_ENOMEM;
        if ((rc = filter(P, &(*out)->filter)) != 0)
            return rc;
    } else {
        return fail_expected(P, "'{' or '('");
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
        switch (P->t) {
        case T_GT:
            op = TG_SS_CHILD;
            break;
        case T_DESC:
            op = TG_SS_DESC;
            break;
        case T_LT:
            op = TG_SS_PARENT;
            break;
        case T_ANC:
            op = TG_SS_ANCESTOR;
            break;
        case T_TILDE:
            op = TG_SS_SIBLING;
            break;
        default:
            return 0;
        }
        if (!(s = ss_new(P, op)))
            return TG_ENOMEM;
        s->l = *out;
        if ((rc = next(P)) != 0)
            return rc;
        rc = ss_primary(P, &s->r);
        *out = s;
    }
}

static int ss_expr(parser *P, tg_sset **out)
{
    int rc = ss_struct(P, out);

    while (!rc && (P->t == T_AND || P->t == T_OR)) {
        tg_sset *s = ss_new(P, P->t == T_AND ? TG_SS_AND : TG_SS_OR);

        if (!s)
            return TG_ENOMEM;
        s->l = *out;
        if ((rc = next(P)) != 0 || (rc = ss_struct(P, &s->r)) != 0)
            return rc;
        *out = s;
    }
    return rc;
}

/* --- pipeline and hints ----------------------------------------------------- */

static int agg_literal(parser *P, tg_pval *v)
{
    switch (P->t) {
    case T_INT:
        v->type = TG_PV_INT;
        v->i = P->i;
        break;
    case T_FLOAT:
        v->type = TG_PV_FLOAT;
        v->f = P->f;
        break;
    case T_DUR:
        v->type = TG_PV_DUR;
        v->i = P->i;
        break;
    default:
        return fail_expected(P, "a number or a duration");
    }
    return next(P);
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
    if (P->t == T_LBRACE) {
        st->kind = TG_ST_FILTER;
        return filter(P, &st->filter);
    }
    for (k = 0; k < sizeof(aggs) / sizeof(aggs[0]); k++)
        if (ident_is(P, aggs[k].w)) {
            st->kind = TG_ST_AGG;
            st->agg = aggs[k].a;
            if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'('")) != 0)
                return rc;
            if (st->agg != TG_AGG_COUNT && (rc = operand(P, &st->arg, NULL)) != 0)
                return rc;
            if (st->agg != TG_AGG_COUNT && st->arg.kind == TG_OPD_LITERAL)
                return tg_ql_error(&P->err, P->off,
                                   "%s() takes an attribute or intrinsic", aggs[k].w);
            if ((rc = expect(P, T_RPAREN, "')'")) != 0)
                return rc;
            if (!cmp_of(P->t, &st->cmp) || st->cmp == TG_CMP_RE || st->cmp == TG_CMP_NRE)
                return fail_expected(P,
                                     "a comparison (= != > >= < <=) after the aggregate");
            if ((rc = next(P)) != 0)
                return rc;
            return agg_literal(P, &st->lit);
        }
    if (ident_is(P, "by")) {
        st->kind = TG_ST_BY;
        if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'('")) != 0 ||
            (rc = operand(P, &st->arg, NULL)) != 0)
            return rc;
        return expect(P, T_RPAREN, "')'");
    }
    if (ident_is(P, "select")) {
        size_t cap = 4;

        st->kind = TG_ST_SELECT;
        if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'('")) != 0)
            return rc;
        st->fields = tg_plan_alloc(P->p, cap * sizeof(*st->fields));
        for (;;) {
            if (!st->fields)
                return TG_ENOMEM;
            if (st->nfields == cap) {
                tg_operand *nf = tg_plan_alloc(P->p, 2 * cap * sizeof(*nf));

                if (!nf)
                    return TG_ENOMEM;
                memcpy(nf, st->fields, cap * sizeof(*nf));
                st->fields = nf;
                cap *= 2;
            }
            if (P->t != T_ATTR && P->t != T_IDENT)
                return fail_expected(P, "an attribute or intrinsic");
            if ((rc = operand(P, &st->fields[st->nfields], NULL)) != 0)
                return rc;
            if (st->fields[st->nfields++].kind == TG_OPD_LITERAL)
                return tg_ql_error(&P->err, P->off,
                                   "select() takes attributes or intrinsics");
            if (P->t != T_COMMA)
                break;
            if ((rc = next(P)) != 0)
                return rc;
        }
        return expect(P, T_RPAREN, "',' or ')'");
    }
    return fail_expected(
        P, "a pipeline stage (count() avg() min() max() sum() select() by() "
           "or a { filter })");
}

static int hints(parser *P)
{
    int rc;

    if ((rc = next(P)) != 0 || (rc = expect(P, T_LPAREN, "'(' after with")) != 0)
        return rc;
    for (;;) {
        int on;

        if (!ident_is(P, "most_recent"))
            return fail_expected(P, "a hint (most_recent)");
        if ((rc = next(P)) != 0 || (rc = expect(P, T_EQ, "'='")) != 0)
            return rc;
        if (ident_is(P, "true"))
            on = 1;
        else if (ident_is(P, "false"))
            on = 0;
        else
            return fail_expected(P, "true or false");
        P->p->most_recent = on;
        if ((rc = next(P)) != 0)
            return rc;
        if (P->t != T_COMMA)
            break;
        if ((rc = next(P)) != 0)
            return rc;
    }
    return expect(P, T_RPAREN, "',' or ')'");
}

static int parse_query(parser *P)
{
    size_t nsite;
    int rc;

    if ((rc = next(P)) != 0 || (rc = ss_expr(P, &P->p->root)) != 0)
        return rc;
    nsite = P->nfilters;
    while (P->t == T_PIPE) {
        if (P->nstages == P->capstages) {
            size_t cap = P->capstages ? P->capstages * 2 : 4;
            tg_stage *ns = realloc(P->stages, cap * sizeof(*ns));

            if (!ns)
                return TG_ENOMEM;
            P->stages = ns;
            P->capstages = cap;
        }
        if ((rc = next(P)) != 0 || (rc = stage(P, &P->stages[P->nstages])) != 0)
            return rc;
        P->nstages++;
    }
    if (ident_is(P, "with") && (rc = hints(P)) != 0)
        return rc;
    if (P->t != T_EOF)
        return fail_expected(P, P->nstages
                                    ? "'|', 'with' or the end of the query"
                                    : "'&&', '||', '>', '>>', '<', '<<', '~', '|' or "
                                      "the end of the query");
    P->p->nsite_filters = nsite;
    P->p->nfilters = P->nfilters;
    P->p->nstages = P->nstages;
    P->p->filters = tg_plan_alloc(P->p, P->nfilters * sizeof(tg_filter));
    P->p->stages = tg_plan_alloc(P->p, P->nstages * sizeof(tg_stage));
    if (!P->p->filters || !P->p->stages)
        return TG_ENOMEM;
    if (P->nfilters)
        memcpy(P->p->filters, P->filters, P->nfilters * sizeof(tg_filter));
    if (P->nstages)
        memcpy(P->p->stages, P->stages, P->nstages * sizeof(tg_stage));
    return 0;
}

int tg_traceql_parse(const char *q, size_t len, tg_plan **out, char *err, size_t errlen)
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
    if (!(P.p = tg_plan_new(TG_PLAN_TRACEQL)))
        return TG_ENOMEM;
    rc = parse_query(&P);
    free(P.filters);
    free(P.stages);
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
