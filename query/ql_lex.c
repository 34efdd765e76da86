/* The lexer the TraceQL and LogQL parsers share, with their error messages
 * and the start and finish of a parse. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_ql.h"

size_t tg_ql_column(const char *q, size_t off)
{
    size_t i, col = 1;

    for (i = 0; i < off; i++)
        if (((unsigned char)q[i] & 0xC0) != 0x80)
            col++;
    return col;
}

int tg_ql_error(tg_qlerr *e, size_t off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (e->set || !e->buf || !e->len) {
        e->set = 1;
        return TG_EINVAL;
    }
    e->set = 1;
    n = snprintf(e->buf, e->len, "column %zu: ", tg_ql_column(e->q, off));
    if (n > 0 && (size_t)n < e->len) {
        va_start(ap, fmt);
        vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return TG_EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int ql_string(tg_plan *p, const char *q, size_t len, size_t *i, const char **out,
                     size_t *outlen, tg_qlerr *e)
{
    size_t start = *i, j = start + 1, n = 0;
    char quote = q[start];
    char *o;

    /* Decoding never grows the text, so the raw length bounds the output. */
    o = tg_plan_alloc(p, len - start + 1);
    if (!o)
        return TG_ENOMEM;
    for (;;) {
        if (j >= len)
            return tg_ql_error(e, start, "unterminated string");
        if (q[j] == quote)
            break;
        if (quote == '`' || q[j] != '\\') {
            o[n++] = q[j++];
            continue;
        }
        if (j + 1 >= len)
            return tg_ql_error(e, start, "unterminated string");
        switch (q[j + 1]) {
        case '"':
        case '\\':
        case '\'':
        case '/':
            o[n++] = q[j + 1];
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 'a':
            o[n++] = '\a';
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'v':
            o[n++] = '\v';
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t k, digits = q[j + 1] == 'x' ? 2 : q[j + 1] == 'u' ? 4 : 8;
            unsigned long cp = 0;

            for (k = 0; k < digits; k++) {
                int h = j + 2 + k < len ? hexval(q[j + 2 + k]) : -1;

                if (h < 0)
                    return tg_ql_error(e, j, "invalid escape: expected %zu hex digits",
                                       digits);
                cp = cp * 16 + (unsigned long)h;
            }
            if (q[j + 1] == 'x') {
                o[n++] = (char)cp;
            } else {
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                    return tg_ql_error(e, j, "invalid escape: not a Unicode code point");
                n += put_utf8(o + n, cp);
            }
            j += digits; /* plus the 2 below */
            break;
        }
        default:
            return tg_ql_error(e, j, "invalid escape '\\%c' in string", q[j + 1]);
        }
        j += 2;
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    *i = j + 1;
    return 0;
}

static void ql_describe(const char *q, size_t len, size_t off, size_t end, char *buf,
                        size_t buflen)
{
    size_t n = end > off ? end - off : 1;

    if (off >= len) {
        snprintf(buf, buflen, "end of query");
        return;
    }
    if (n > 24)
        n = 24;
    if (off + n > len)
        n = len - off;
    snprintf(buf, buflen, "'%.*s'", (int)n, q + off);
}

int tg_ql_parse(enum tg_plan_lang lang, const char *q, size_t len, tg_plan **out,
                char *err, size_t errlen, int (*body)(tg_qlex *L))
{
    tg_qlex L;
    int rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    memset(&L, 0, sizeof(L));
    L.q = q;
    L.len = len;
    L.lang = lang;
    L.err = (tg_qlerr){.q = q, .buf = err, .len = errlen};
    if (!(L.p = tg_plan_new(lang)))
        return TG_ENOMEM;
    rc = body(&L);
    if (rc == 0 && L.err.set)
        rc = TG_EINVAL;
    if (rc) {
        if (rc == TG_ENOMEM && err && errlen && !L.err.set)
            snprintf(err, errlen, "out of memory (query too large)");
        tg_plan_free(L.p);
        return rc;
    }
    *out = L.p;
    return 0;
}

int tg_ql_fail_expected(tg_qlex *L, const char *what)
{
    char found[48];

    ql_describe(L->q, L->len, L->off, L->end, found, sizeof(found));
    return tg_ql_error(&L->err, L->off, "expected %s, found %s", what, found);
}

int tg_ql_ident_is(const tg_qlex *L, const char *w)
{
    return L->t == QT_IDENT && L->slen == strlen(w) && memcmp(L->s, w, L->slen) == 0;
}

int tg_ql_expect(tg_qlex *L, enum tg_qtok t, const char *what)
{
    if (L->t != t)
        return tg_ql_fail_expected(L, what);
    return tg_ql_next(L);
}

int tg_ql_after_item(tg_qlex *L)
{
    int rc;

    if ((rc = tg_ql_next(L)) != 0)
        return rc;
    if (L->t != QT_COMMA)
        return 0;
    return (rc = tg_ql_next(L)) != 0 ? rc : 1;
}

int tg_ql_grow(tg_plan *p, void **arr, size_t *cap, size_t n, size_t size)
{
    size_t ncap;
    void *na;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    if (!(na = tg_plan_alloc(p, ncap * size)))
        return TG_ENOMEM;
    if (n)
        memcpy(na, *arr, n * size);
    *arr = na;
    *cap = ncap;
    return 0;
}

void *tg_ql_node(tg_qlex *L, size_t size, int op)
{
    int *node = tg_plan_alloc(L->p, size);

    if (node)
        *node = op;
    return node;
}

int tg_ql_cmp(enum tg_qtok t, enum tg_cmp *c)
{
    static const struct {
        enum tg_qtok t;
        enum tg_cmp c;
    } m[] = {{QT_EQ, TG_CMP_EQ}, {QT_EQEQ, TG_CMP_EQ}, {QT_NE, TG_CMP_NE},
             {QT_GT, TG_CMP_GT}, {QT_GE, TG_CMP_GE},   {QT_LT, TG_CMP_LT},
             {QT_LE, TG_CMP_LE}, {QT_RE, TG_CMP_RE},   {QT_NRE, TG_CMP_NRE}};
    size_t k;

    for (k = 0; k < sizeof(m) / sizeof(m[0]); k++)
        if (m[k].t == t) {
            *c = m[k].c;
            return 1;
        }
    return 0;
}

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '/' || c == '@' || c >= 0x80;
}

/* A TraceQL attribute name after its scope: plain characters and quoted
 * parts, concatenated ("span.a."b c"" is the key `a.b c`). */
static int lex_attr(tg_qlex *L, size_t i, enum tg_scope scope)
{
    char *key;
    size_t n = 0;

    key = tg_plan_alloc(L->p, L->len - i + 1);
    if (!key)
        return TG_ENOMEM;
    while (i < L->len) {
        if (L->q[i] == '"' || L->q[i] == '`') {
            const char *s;
            size_t sl;
            int rc = ql_string(L->p, L->q, L->len, &i, &s, &sl, &L->err);

            if (rc)
                return rc;
            if (memchr(s, '\0', sl)) /* keys are C strings */
                return tg_ql_error(&L->err, L->off,
                                   "an attribute name cannot hold a NUL");
            memcpy(key + n, s, sl);
            n += sl;
        } else if (is_name_char((unsigned char)L->q[i])) {
            key[n++] = L->q[i++];
        } else {
            break;
        }
    }
    if (n == 0) {
        L->end = i;
        return tg_ql_error(&L->err, L->off, "expected an attribute name after '%.*s'",
                           (int)(i - L->off), L->q + L->off);
    }
    key[n] = '\0';
    L->t = QT_ATTR;
    L->s = key;
    L->slen = n;
    L->scope = scope;
    L->pos = L->end = i;
    return 0;
}

/* A number or a duration. TraceQL tells integers from floats and allows a
 * leading '-'; LogQL reads every number as a float. */
static int lex_number(tg_qlex *L, size_t i)
{
    int traceql = L->lang == TG_PLAN_TRACEQL;
    size_t start = i, j;
    char tmp[64], *endp;

    if (L->q[i] == '-')
        i++;
    while (i < L->len) {
        unsigned char c = (unsigned char)L->q[i];

        if ((c == 'e' || c == 'E') && i + 1 < L->len &&
            (L->q[i + 1] == '+' || L->q[i + 1] == '-'))
            i += 2;
        else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                 (c >= 'A' && c <= 'Z') || c == '.' || c == 0xC2 || c == 0xB5)
            i++; /* 0xC2 0xB5: the micro sign of "µs" */
        else
            break;
    }
    L->pos = L->end = i;
    if (i - start >= sizeof(tmp))
        return tg_ql_error(&L->err, start, "number too long");
    memcpy(tmp, L->q + start, i - start);
    tmp[i - start] = '\0';
    for (j = tmp[0] == '-'; tmp[j] >= '0' && tmp[j] <= '9'; j++)
        ;
    if (traceql && tmp[j] == '\0') {
        errno = 0;
        L->i = strtoll(tmp, &endp, 10);
        if (errno)
            return tg_ql_error(&L->err, start, "integer out of range");
        L->t = QT_INT;
        return 0;
    }
    errno = 0;
    L->f = strtod(tmp, &endp);
    if (*endp == '\0' && !errno && isfinite(L->f) && !strpbrk(tmp, "xXnNiI")) {
        L->t = QT_FLOAT;
        return 0;
    }
    if (tmp[0] != '-' && tg_plan_parse_duration(tmp, strlen(tmp), &L->i) == 0) {
        L->t = QT_DUR;
        return 0;
    }
    return tg_ql_error(&L->err, start, "invalid number or duration '%s' (durations: %s)",
                       tmp, traceql ? "1h 1m 1.5s 250ms 10us 3ns" : "1h 5m 30s 250ms");
}

static int lex_word(tg_qlex *L, size_t i)
{
    const char *q = L->q;
    int traceql = L->lang == TG_PLAN_TRACEQL;
    size_t j = i;

    while (j < L->len &&
           ((q[j] >= 'a' && q[j] <= 'z') || (q[j] >= 'A' && q[j] <= 'Z') ||
            (q[j] >= '0' && q[j] <= '9') || q[j] == '_' || (traceql && q[j] == ':')))
        j++;
    if (traceql && j < L->len && q[j] == '.') {
        if (j - i == 4 && memcmp(q + i, "span", 4) == 0)
            return lex_attr(L, j + 1, TG_SCOPE_SPAN);
        if (j - i == 8 && memcmp(q + i, "resource", 8) == 0)
            return lex_attr(L, j + 1, TG_SCOPE_RESOURCE);
        L->end = j + 1;
        return tg_ql_error(
            &L->err, i, "unsupported attribute scope '%.*s' (use span., resource. or .)",
            (int)(j - i), q + i);
    }
    L->t = QT_IDENT;
    L->s = q + i;
    L->slen = j - i;
    L->pos = L->end = j;
    return 0;
}

/* The operator at q[i], or QT_EOF when there is none in this language.
 * *n receives its length. */
static enum tg_qtok lex_op(const tg_qlex *L, size_t i, size_t *n)
{
    int traceql = L->lang == TG_PLAN_TRACEQL;
    char c = L->q[i], d = i + 1 < L->len ? L->q[i + 1] : '\0';

    *n = 1;
    switch (c) {
    case '{':
        return QT_LBRACE;
    case '}':
        return QT_RBRACE;
    case '(':
        return QT_LPAREN;
    case ')':
        return QT_RPAREN;
    case ',':
        return QT_COMMA;
    case '[':
        return traceql ? QT_EOF : QT_LBRACK;
    case ']':
        return traceql ? QT_EOF : QT_RBRACK;
    case '+':
        return traceql ? QT_EOF : QT_PLUS;
    case '-':
        return traceql ? QT_EOF : QT_MINUS;
    case '*':
        return traceql ? QT_EOF : QT_STAR;
    case '/':
        return traceql ? QT_EOF : QT_SLASH;
    case '~':
        return traceql ? QT_TILDE : QT_EOF;
    case '|':
        *n = 2;
        if (traceql && d == '|')
            return QT_OR;
        if (!traceql && d == '=')
            return QT_PIPE_EQ;
        if (!traceql && d == '~')
            return QT_PIPE_RE;
        *n = 1;
        return QT_PIPE;
    case '&':
        *n = 2;
        return traceql && d == '&' ? QT_AND : QT_EOF;
    case '!':
        *n = 2;
        if (d == '=')
            return QT_NE;
        if (d == '~')
            return QT_NRE;
        *n = 1;
        return traceql ? QT_NOT : QT_EOF;
    case '=':
        *n = 2;
        if (d == '~')
            return QT_RE;
        if (d == '=')
            return traceql ? QT_EQ : QT_EQEQ; /* TraceQL reads `==` as `=` */
        *n = 1;
        return QT_EQ;
    case '>':
        *n = 2;
        if (d == '=')
            return QT_GE;
        if (traceql && d == '>')
            return QT_DESC;
        *n = 1;
        return QT_GT;
    case '<':
        *n = 2;
        if (d == '=')
            return QT_LE;
        if (traceql && d == '<')
            return QT_ANC;
        *n = 1;
        return QT_LT;
    default:
        return QT_EOF;
    }
}

int tg_ql_next(tg_qlex *L)
{
    const char *q = L->q;
    size_t i = L->pos, n;
    enum tg_qtok t;
    char c;

    while (i < L->len && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r'))
        i++;
    L->off = i;
    if (i >= L->len) {
        L->t = QT_EOF;
        L->pos = L->end = i;
        return 0;
    }
    c = q[i];
    if (c == '"' || c == '`') {
        int rc = ql_string(L->p, q, L->len, &i, &L->s, &L->slen, &L->err);

        if (rc)
            return rc;
        L->t = QT_STRING;
        L->pos = L->end = i;
        return 0;
    }
    if ((c >= '0' && c <= '9') ||
        ((c == '.' || (c == '-' && L->lang == TG_PLAN_TRACEQL)) && i + 1 < L->len &&
         q[i + 1] >= '0' && q[i + 1] <= '9'))
        return lex_number(L, i);
    if (c == '.' && L->lang == TG_PLAN_TRACEQL)
        return lex_attr(L, i + 1, TG_SCOPE_ANY);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return lex_word(L, i);
    if ((t = lex_op(L, i, &n)) != QT_EOF) {
        L->t = t;
        L->pos = L->end = i + n;
        return 0;
    }
    L->end = i + 1;
    if (c == '&' && L->lang == TG_PLAN_TRACEQL)
        return tg_ql_error(&L->err, i, "unexpected '&' (did you mean '&&'?)");
    if (c == '!')
        return tg_ql_error(&L->err, i, "unexpected '!' (expected != or !~)");
    return tg_ql_error(&L->err, i, "unexpected character '%c'", c);
}
