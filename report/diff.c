/* A readable line diff between two policy texts: the longest common
 * subsequence of lines (O(n*m) table, bounded by the line limit below;
 * policy files are a few hundred lines), printed with context. */
#include "tg_audit_report.h"

#include <stdlib.h>
#include <string.h>

#include "tg_err.h"

#define DIFF_MAX_LINES 20000u

typedef struct lines {
    const char **p;
    size_t *len;
    size_t n;
} lines;

static int split(const char *s, size_t len, lines *out)
{
    size_t cap = 1;

    for (size_t i = 0; i < len; i++)
        cap += s[i] == '\n';
    if (cap > DIFF_MAX_LINES + 1)
        return TG_ENOMEM;
    out->p = malloc(cap * sizeof(*out->p));
    out->len = malloc(cap * sizeof(*out->len));
    out->n = 0;
    if (!out->p || !out->len)
        return TG_ENOMEM;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t l = nl ? (size_t)(nl - (s + i)) : len - i;
        out->p[out->n] = s + i;
        out->len[out->n++] = l;
        i += l + 1;
    }
    return 0;
}

static int same(const lines *a, size_t i, const lines *b, size_t j)
{
    return a->len[i] == b->len[j] && memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

typedef struct op {
    char kind; /* ' ', '-', '+' */
    const char *p;
    size_t len;
} op;

static void put_line(tg_strbuf *out, char kind, const char *p, size_t len)
{
    tg_strbuf_putc(out, kind);
    tg_strbuf_putc(out, ' ');
    tg_strbuf_put(out, p, len);
    tg_strbuf_putc(out, '\n');
}

/* Prints ops, eliding unchanged runs farther than `ctx` lines from a change. */
static void print_ops(const op *ops, size_t n, unsigned ctx, tg_strbuf *out)
{
    size_t i = 0;

    while (i < n) {
        size_t j = i, before, after;
        if (ops[i].kind != ' ') {
            put_line(out, ops[i].kind, ops[i].p, ops[i].len);
            i++;
            continue;
        }
        while (j < n && ops[j].kind == ' ')
            j++;
        /* unchanged run [i, j): keep ctx after the previous change and ctx
         * before the next one */
        before = i == 0 ? 0 : ctx;
        after = j == n ? 0 : ctx;
        if (j - i <= before + after) {
            for (size_t k = i; k < j; k++)
                put_line(out, ' ', ops[k].p, ops[k].len);
        } else {
            for (size_t k = i; k < i + before; k++)
                put_line(out, ' ', ops[k].p, ops[k].len);
            tg_strbuf_printf(out, "  ... (%zu unchanged lines)\n",
                             j - i - before - after);
            for (size_t k = j - after; k < j; k++)
                put_line(out, ' ', ops[k].p, ops[k].len);
        }
        i = j;
    }
}

int tg_report_diff(const char *a, size_t alen, const char *b, size_t blen,
                   unsigned context, tg_strbuf *out)
{
    lines la = {0}, lb = {0};
    uint32_t *t = NULL;
    op *ops = NULL;
    size_t n, m, k = 0, i, j, pre = 0, suf = 0;
    int rc;

    if (alen == blen && memcmp(a, b, alen) == 0)
        return 0;
    if ((rc = split(a, alen, &la)) || (rc = split(b, blen, &lb)))
        goto out;
    /* Common head and tail need no table. */
    while (pre < la.n && pre < lb.n && same(&la, pre, &lb, pre))
        pre++;
    while (suf < la.n - pre && suf < lb.n - pre &&
           same(&la, la.n - 1 - suf, &lb, lb.n - 1 - suf))
        suf++;
    n = la.n - pre - suf;
    m = lb.n - pre - suf;
    if ((double)(n + 1) * (double)(m + 1) > 64.0 * 1024 * 1024) {
        rc = TG_ENOMEM;
        goto out;
    }
    t = calloc((n + 1) * (m + 1), sizeof(*t));
    ops = malloc((la.n + lb.n + 1) * sizeof(*ops));
    if (!t || !ops) {
        rc = TG_ENOMEM;
        goto out;
    }
    /* t[i][j]: LCS length of a[pre+i..] and b[pre+j..] */
    for (i = n; i-- > 0;)
        for (j = m; j-- > 0;)
            t[i * (m + 1) + j] = same(&la, pre + i, &lb, pre + j)
                                     ? t[(i + 1) * (m + 1) + j + 1] + 1
                                     : (t[(i + 1) * (m + 1) + j] > t[i * (m + 1) + j + 1]
                                            ? t[(i + 1) * (m + 1) + j]
                                            : t[i * (m + 1) + j + 1]);
    for (i = 0; i < pre; i++)
        ops[k++] = (op){' ', la.p[i], la.len[i]};
    for (i = 0, j = 0; i < n || j < m;) {
        if (i < n && j < m && same(&la, pre + i, &lb, pre + j)) {
            ops[k++] = (op){' ', la.p[pre + i], la.len[pre + i]};
            i++, j++;
        } else if (i < n &&
                   (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1])) {
            ops[k++] = (op){'-', la.p[pre + i], la.len[pre + i]};
            i++;
        } else {
            ops[k++] = (op){'+', lb.p[pre + j], lb.len[pre + j]};
            j++;
        }
    }
    for (i = la.n - suf; i < la.n; i++)
        ops[k++] = (op){' ', la.p[i], la.len[i]};
    print_ops(ops, k, context, out);
    rc = out->oom ? TG_ENOMEM : 0;
out:
    free(la.p);
    free(la.len);
    free(lb.p);
    free(lb.len);
    free(t);
    free(ops);
    return rc;
}
