/* The one plan form that TraceQL and LogQL are parsed into.
 *
 * A federated query has two halves, and the plan keeps them apart:
 *
 *  - the site part: what every site evaluates against its own store, one
 *    record at a time. For TraceQL it is `filters`, a list of spanset
 *    filters, each a boolean expression tree over one span's fields. A site
 *    returns every trace in which at least one span satisfies at least one
 *    filter: an over-approximation, since the combination of spansets may
 *    need spans held by other sites. For LogQL it is the stream selector and
 *    the log pipeline (line filters, parsers, label filters).
 *  - the centre part: what the centre evaluates on whole, stitched traces
 *    (the spanset combination `root`, with && || and the structural
 *    operators, then the pipeline `stages`, and the hints) or on the merged
 *    log streams (the metric expression `metric`).
 *
 * Trace-level intrinsics (trace:duration, trace:rootName, trace:rootService)
 * may appear inside a filter, but a site cannot know them: the site
 * evaluator treats them as unknown (three-valued logic), so a filter that
 * needs them keeps its candidates, and the centre decides.
 *
 * Ownership: a plan owns everything it points to (one arena plus the
 * compiled regexes); tg_plan_free() releases it. A parsed plan is read-only;
 * evaluating it writes only the regex match scratch inside it, so one plan is
 * evaluated by one thread at a time. */
#ifndef TG_PLAN_H
#define TG_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tg_strbuf.h"

typedef struct tg_regex tg_regex; /* a compiled PCRE2 pattern (plan.c) */

/* --- values ---------------------------------------------------------------- */

enum tg_pval_type {
    TG_PV_NIL,
    TG_PV_STR,
    TG_PV_INT,
    TG_PV_FLOAT,
    TG_PV_BOOL,
    TG_PV_DUR,    /* nanoseconds in i */
    TG_PV_STATUS, /* OTLP status code in i: 0 unset, 1 ok, 2 error */
    TG_PV_KIND,   /* OTLP span kind in i: 0 unspecified .. 5 consumer */
    TG_PV_ARRAY,  /* only from a record view: `len` values at `items` */
};

/* A typed value. `s` is borrowed (from the plan or from a record view) and
 * need not be NUL-terminated; BOOL, DUR, STATUS, KIND and INT use `i`. An
 * array attribute matches = > >= < <= =~ when any element does, and != !~
 * when every element does (none is equal), as in TraceQL. */
typedef struct tg_pval {
    enum tg_pval_type type;
    const char *s;
    size_t len;
    int64_t i;
    double f;
    const struct tg_pval *items; /* TG_PV_ARRAY */
} tg_pval;

/* --- TraceQL: the site part ------------------------------------------------ */

enum tg_intrinsic {
    TG_IN_NONE,
    TG_IN_NAME,
    TG_IN_STATUS,
    TG_IN_KIND,
    TG_IN_DURATION,
    TG_IN_STATUS_MESSAGE,
    TG_IN_SPAN_ID,
    TG_IN_TRACE_ID,
    TG_IN_SITE, /* ours: the site that holds the span */
    /* trace-level: known only on a whole trace, at the centre */
    TG_IN_TRACE_DURATION,
    TG_IN_TRACE_ROOT_NAME,
    TG_IN_TRACE_ROOT_SERVICE,
};

enum tg_scope { TG_SCOPE_ANY, TG_SCOPE_SPAN, TG_SCOPE_RESOURCE };

enum tg_operand_kind { TG_OPD_LITERAL, TG_OPD_ATTR, TG_OPD_INTRINSIC };

typedef struct tg_operand {
    enum tg_operand_kind kind;
    tg_pval lit;            /* TG_OPD_LITERAL */
    enum tg_scope scope;    /* TG_OPD_ATTR */
    const char *key;        /* TG_OPD_ATTR: NUL-terminated, e.g. "http.method" */
    enum tg_intrinsic intr; /* TG_OPD_INTRINSIC */
} tg_operand;

enum tg_cmp {
    TG_CMP_EQ,
    TG_CMP_NE,
    TG_CMP_GT,
    TG_CMP_GE,
    TG_CMP_LT,
    TG_CMP_LE,
    TG_CMP_RE,
    TG_CMP_NRE
};

enum tg_fexpr_op {
    TG_FX_TRUE, /* the empty filter `{}` */
    TG_FX_AND,
    TG_FX_OR,
    TG_FX_NOT,
    TG_FX_CMP,     /* a cmp b */
    TG_FX_OPERAND, /* a bare operand, true when it is the boolean true */
};

/* A boolean expression over one span. For =~ and !~ the right operand is a
 * string literal and `re` its compiled, fully anchored pattern. */
typedef struct tg_fexpr {
    enum tg_fexpr_op op;
    enum tg_cmp cmp;
    struct tg_fexpr *l, *r;
    tg_operand a, b;
    tg_regex *re;
} tg_fexpr;

typedef struct tg_filter {
    tg_fexpr *expr;
    int needs_trace; /* uses a trace-level intrinsic: a site cannot decide it */
} tg_filter;

/* --- TraceQL: the centre part ---------------------------------------------- */

enum tg_sset_op {
    TG_SS_FILTER,   /* filters[filter] */
    TG_SS_AND,      /* {A} && {B}: both non-empty, their union */
    TG_SS_OR,       /* {A} || {B}: their union */
    TG_SS_CHILD,    /* {A} > {B}: B whose parent is in A */
    TG_SS_DESC,     /* {A} >> {B}: B with an ancestor in A */
    TG_SS_PARENT,   /* {A} < {B}: B whose child is in A */
    TG_SS_ANCESTOR, /* {A} << {B}: B with a descendant in A */
    TG_SS_SIBLING,  /* {A} ~ {B}: B with a sibling in A */
};

typedef struct tg_sset {
    enum tg_sset_op op;
    size_t filter;
    struct tg_sset *l, *r;
} tg_sset;

enum tg_agg { TG_AGG_COUNT, TG_AGG_AVG, TG_AGG_MIN, TG_AGG_MAX, TG_AGG_SUM };

enum tg_stage_kind {
    TG_ST_AGG,    /* agg(arg) cmp lit: keeps the spansets that satisfy it */
    TG_ST_SELECT, /* select(fields...): fields to return with each span */
    TG_ST_BY,     /* by(field): splits each spanset by the field's value */
    TG_ST_FILTER, /* | { ... }: keeps the spans of each spanset that match */
};

typedef struct tg_stage {
    enum tg_stage_kind kind;
    enum tg_agg agg;
    tg_operand arg; /* TG_ST_AGG (not count), TG_ST_BY */
    enum tg_cmp cmp;
    tg_pval lit;
    tg_operand *fields; /* TG_ST_SELECT */
    size_t nfields;
    size_t filter; /* TG_ST_FILTER: index in filters (centre-only) */
} tg_stage;

/* --- LogQL ------------------------------------------------------------------ */

enum tg_lmatch { TG_LM_EQ, TG_LM_NE, TG_LM_RE, TG_LM_NRE };

/* One matcher of the stream selector, over a resource attribute. `name` is
 * the Loki label name (dots written as underscores: service_name). */
typedef struct tg_lsel {
    const char *name;
    enum tg_lmatch op;
    const char *value;
    tg_regex *re;
} tg_lsel;

enum tg_lexpr_op { TG_LX_AND, TG_LX_OR, TG_LX_CMP };

/* A label filter: `name op value`. A string value compares as a string
 * (= != =~ !~); a number or a duration compares the label's value read as
 * one (== = != > >= < <=); a label that cannot be read so fails it. */
typedef struct tg_lexpr {
    enum tg_lexpr_op op;
    struct tg_lexpr *l, *r;
    const char *name;
    enum tg_cmp cmp;
    tg_pval value;
    tg_regex *re;
} tg_lexpr;

enum tg_lstage_kind {
    TG_LS_LINE,   /* line filter: cmp is EQ (|=), NE (!=), RE (|~), NRE (!~) */
    TG_LS_JSON,   /* | json */
    TG_LS_LOGFMT, /* | logfmt */
    TG_LS_LABEL,  /* | label filter expression */
    TG_LS_DROP,   /* | drop a, b: later stages see those labels as absent */
};

typedef struct tg_lstage {
    enum tg_lstage_kind kind;
    enum tg_cmp cmp;
    const char *text; /* TG_LS_LINE */
    size_t text_len;
    tg_regex *re;
    tg_lexpr *expr;     /* TG_LS_LABEL */
    const char **names; /* TG_LS_DROP */
    size_t nnames;
} tg_lstage;

enum tg_mexpr_op {
    TG_MX_NUMBER, /* a scalar literal */
    TG_MX_VECTOR, /* vector(number) */
    TG_MX_RANGE,  /* range aggregation over the log query, `range_ns` wide */
    TG_MX_AGG,    /* vector aggregation of `l` */
    TG_MX_BINOP,  /* l binop r */
};

enum tg_range_fn {
    TG_RF_COUNT_OVER_TIME,
    TG_RF_RATE,
    TG_RF_BYTES_OVER_TIME,
    TG_RF_BYTES_RATE
};

typedef struct tg_mexpr {
    enum tg_mexpr_op op;
    double number;
    enum tg_range_fn fn;
    int64_t range_ns;
    enum tg_agg agg;     /* TG_MX_AGG */
    int without;         /* grouping is `without (...)` rather than `by (...)` */
    const char **labels; /* grouping labels */
    size_t nlabels;
    char binop; /* '+', '-', '*', '/' */
    struct tg_mexpr *l, *r;
} tg_mexpr;

/* --- the plan --------------------------------------------------------------- */

enum tg_plan_lang { TG_PLAN_TRACEQL, TG_PLAN_LOGQL };

typedef struct tg_plan {
    enum tg_plan_lang lang;
    tg_arena arena;
    tg_regex *regexes; /* every compiled pattern, freed with the plan */

    /* TraceQL. Site: filters[0 .. nsite_filters) are those of the spanset
     * expression, pushed down; those after are pipeline filters, which the
     * centre alone applies. Centre: root, stages, most_recent. */
    tg_filter *filters;
    size_t nfilters, nsite_filters;
    tg_sset *root;
    tg_stage *stages;
    size_t nstages;
    int most_recent;

    /* LogQL. Site: sel, pipe (empty for a bare vector expression). Centre:
     * metric (NULL for a log query). */
    tg_lsel *sel;
    size_t nsel;
    tg_lstage *pipe;
    size_t npipe;
    int has_selector;
    tg_mexpr *metric;
} tg_plan;

/* Parses a query. On success returns 0 and sets *out. On a syntax error
 * returns TG_EINVAL and writes "column N: ..." to err (N the 1-based column,
 * in characters, of the offending token, and what was expected there);
 * TG_ENOMEM when memory runs out. err may be NULL. */
int tg_traceql_parse(const char *q, size_t len, tg_plan **out, char *err, size_t errlen);
int tg_logql_parse(const char *q, size_t len, tg_plan **out, char *err, size_t errlen);

void tg_plan_free(tg_plan *p);

/* Writes the query back in canonical form (parsing that text gives the same
 * plan). Checks b->oom at the end. */
void tg_plan_print(const tg_plan *p, tg_strbuf *b);

/* The site part alone, as query text a site can parse: for TraceQL the
 * pushed-down filters joined with ||; for LogQL the selector and pipeline.
 * This is what the fan-out sends. */
void tg_plan_print_site(const tg_plan *p, tg_strbuf *b);

/* A JSON description for `explain`: {"lang", "site": [...], "centre": {...}}. */
void tg_plan_explain(const tg_plan *p, tg_strbuf *b);

/* --- plan internals shared by the parsers and evaluators -------------------- */

/* Compiles `pat` into the plan (anchored at both ends when `anchored`).
 * Returns NULL and writes PCRE2's reason to why on a bad pattern. */
tg_regex *tg_plan_regex(tg_plan *p, const char *pat, size_t len, int anchored, char *why,
                        size_t whylen);
/* 1 on a match, 0 on none, negative on a matching error (limit hit). */
int tg_plan_regex_match(tg_regex *re, const char *s, size_t len);
tg_plan *tg_plan_new(enum tg_plan_lang lang);
void *tg_plan_alloc(tg_plan *p, size_t n);

/* Names, for printing and for the tests. */
const char *tg_plan_cmp_name(enum tg_cmp c);
const char *tg_plan_intrinsic_name(enum tg_intrinsic i);
const char *tg_plan_agg_name(enum tg_agg a);
const char *tg_plan_status_name(int64_t s);
const char *tg_plan_kind_name(int64_t k);

/* Writes a duration in the largest unit that keeps it exact ("1500ms"). */
void tg_plan_print_duration(tg_strbuf *b, int64_t ns);

/* Reads a duration ("1.5s", "250ms", "10us", "3ns", "1h", "1h30m"; units
 * ns us µs ms s m h) from s[0..len). 0 or TG_EINVAL. */
int tg_plan_parse_duration(const char *s, size_t len, int64_t *ns);

#endif
