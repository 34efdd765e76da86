/* What the TraceQL and LogQL parsers share (internal to query/): one lexer
 * for both languages, error messages that name the column, and the start and
 * finish of a parse. */
#ifndef TG_QL_H
#define TG_QL_H

#include <stddef.h>

#include "tg_plan.h"

/* Nesting deeper than this is refused, so recursion stays bounded. */
#define TG_QL_MAX_DEPTH 64

typedef struct tg_qlerr {
    const char *q; /* the query, for columns */
    char *buf;
    size_t len;
    int set; /* the first error wins: it is the one that points at the cause */
} tg_qlerr;

/* Tokens of both languages. The lexer only produces those of its language:
 * TraceQL has no '[' ']' '+' '*' '/' '|=' '|~' and reads '==' as '=';
 * LogQL has no '&&' '||' '!' '>>' '<<' '~' or attributes, and its numbers
 * are all QT_FLOAT. */
enum tg_qtok {
    QT_EOF,
    QT_LBRACE,
    QT_RBRACE,
    QT_LPAREN,
    QT_RPAREN,
    QT_LBRACK,
    QT_RBRACK,
    QT_COMMA,
    QT_PIPE,
    QT_PIPE_EQ, /* |= */
    QT_PIPE_RE, /* |~ */
    QT_AND,
    QT_OR,
    QT_NOT,
    QT_EQ,
    QT_EQEQ, /* LogQL's == */
    QT_NE,
    QT_GT,
    QT_GE,
    QT_LT,
    QT_LE,
    QT_RE,
    QT_NRE,
    QT_DESC, /* >> */
    QT_ANC,  /* << */
    QT_TILDE,
    QT_PLUS,
    QT_MINUS,
    QT_STAR,
    QT_SLASH,
    QT_STRING,
    QT_INT,
    QT_FLOAT,
    QT_DUR,
    QT_IDENT,
    QT_ATTR,
};

/* The lexer's state and its current token. */
typedef struct tg_qlex {
    tg_plan *p; /* strings and attribute names are allocated in its arena */
    const char *q;
    size_t len, pos;
    tg_qlerr err;
    enum tg_plan_lang lang;
    enum tg_qtok t;
    size_t off, end; /* the token's bytes */
    const char *s;   /* QT_STRING, QT_ATTR (key), QT_IDENT (raw, not terminated) */
    size_t slen;
    enum tg_scope scope; /* QT_ATTR */
    int64_t i;           /* QT_INT; QT_DUR in nanoseconds */
    double f;            /* QT_FLOAT */
} tg_qlex;

/* Parses q in language `lang`: sets up the lexer and a new plan, runs
 * `body` (the language's grammar, which fills L->p), and on success hands
 * the plan to *out; otherwise frees it, *out is NULL and err (may be NULL)
 * says why at its column. 0, TG_EINVAL or TG_ENOMEM. */
int tg_ql_parse(enum tg_plan_lang lang, const char *q, size_t len, tg_plan **out,
                char *err, size_t errlen, int (*body)(tg_qlex *L));

/* Moves to the next token. 0 or TG_EINVAL (error recorded) or TG_ENOMEM. */
int tg_ql_next(tg_qlex *L);

/* "expected <what>, found <the current token>" at the current token. */
int tg_ql_fail_expected(tg_qlex *L, const char *what);

/* Consumes a token of kind t, or fails naming what was expected. */
int tg_ql_expect(tg_qlex *L, enum tg_qtok t, const char *what);

/* Moves past the last token of a list item, then past a ',' if one follows.
 * 1: another item follows; 0: the list ended; negative: a lexing error. */
int tg_ql_after_item(tg_qlex *L);

/* Whether the current token is the identifier w. */
int tg_ql_ident_is(const tg_qlex *L, const char *w);

/* A zeroed plan node of `size` bytes in the plan's arena, with its first
 * member (every expression node in tg_plan.h starts with its enum op) set
 * to op. NULL when out of memory. */
void *tg_ql_node(tg_qlex *L, size_t size, int op);

/* The comparison a token stands for (LogQL's == is =). 1, or 0 if it is
 * none. */
int tg_ql_cmp(enum tg_qtok t, enum tg_cmp *c);

/* Makes room for one more element of `size` bytes in the array *arr, which
 * holds n of *cap and lives in the plan's arena (so it needs no freeing; a
 * grown array leaves its old copy there, at most doubling what a plan
 * holds). 0 or TG_ENOMEM. */
int tg_ql_grow(tg_plan *p, void **arr, size_t *cap, size_t n, size_t size);

/* The 1-based column, in characters, of byte offset `off` of q. */
size_t tg_ql_column(const char *q, size_t off);

/* Records "column N: <fmt>" for byte offset off (first call only). Returns
 * TG_EINVAL, so a parser can `return tg_ql_error(...)`. */
int tg_ql_error(tg_qlerr *e, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
