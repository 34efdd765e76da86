#include "tg_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "tg_err.h"
#include "tg_units.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 200000
#define YAML_MAX_FILE (16u << 20)

int tg_yaml_error(char *err, size_t errlen, const char *file, const tg_ynode *n,
                  const char *fmt, ...)
{
    va_list ap;
    int off = 0;

    if (!err || errlen == 0)
        return TG_ECONFIG;
    if (n)
        off = snprintf(err, errlen, "%s:%u:%u: ", file, n->line, n->col);
    else
        off = snprintf(err, errlen, "%s: ", file);
    if (off < 0 || (size_t)off >= errlen)
        return TG_ECONFIG;
    va_start(ap, fmt);
    vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return TG_ECONFIG;
}

void tg_yaml_free(tg_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        tg_yaml_free(n->items[i]);
        if (n->keys)
            tg_yaml_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->str);
    free(n);
}

typedef struct builder {
    yaml_parser_t parser;
    const char *buf;
    size_t len;
    size_t nodes;
    tg_yaml_failure *f;
    char **anchors; /* names defined so far, to tell a used anchor from a typo */
    size_t n_anchors;
    char path[256]; /* keys from the root to the node being built, for messages */
} builder;

static int fail(builder *b, enum tg_yaml_fail_kind kind, size_t line0, size_t col0,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(builder *b, enum tg_yaml_fail_kind kind, size_t line0, size_t col0,
                const char *fmt, ...)
{
    va_list ap;

    if (b->f->kind)
        return -1; /* the first failure is the one reported */
    b->f->kind = kind;
    b->f->line = (unsigned)line0 + 1;
    b->f->col = (unsigned)col0 + 1;
    va_start(ap, fmt);
    vsnprintf(b->f->message, sizeof(b->f->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* libyaml's reader errors carry a byte offset, not a mark. */
static void offset_to_line_col(const char *buf, size_t len, size_t off, size_t *line,
                               size_t *col)
{
    *line = 0;
    *col = 0;
    for (size_t i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 0;
        } else {
            (*col)++;
        }
    }
}

static void parser_fail(builder *b)
{
    yaml_parser_t *p = &b->parser;
    const char *problem = p->problem ? p->problem : "syntax error";
    size_t line, col;

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        fail(b, TG_YAML_FAIL_LIMIT, 0, 0, "out of memory while reading");
        b->f->line = b->f->col = 0;
        return;
    case YAML_READER_ERROR:
        offset_to_line_col(b->buf, b->len, p->problem_offset, &line, &col);
        fail(b, TG_YAML_FAIL_SYNTAX, line, col, "invalid YAML: %s", problem);
        return;
    default:
        if (p->context)
            fail(b, TG_YAML_FAIL_SYNTAX, p->problem_mark.line, p->problem_mark.column,
                 "invalid YAML: %s (%s at line %zu)", problem, p->context,
                 p->context_mark.line + 1);
        else
            fail(b, TG_YAML_FAIL_SYNTAX, p->problem_mark.line, p->problem_mark.column,
                 "invalid YAML: %s", problem);
    }
}

static tg_ynode *node_new(builder *b, enum tg_ynode_kind kind, const yaml_mark_t *m)
{
    tg_ynode *n;

    if (++b->nodes > YAML_MAX_NODES) {
        fail(b, TG_YAML_FAIL_LIMIT, m->line, m->column, "more than %d YAML nodes",
             YAML_MAX_NODES);
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (!n) {
        fail(b, TG_YAML_FAIL_LIMIT, m->line, m->column, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->line = (unsigned)m->line + 1;
    n->col = (unsigned)m->column + 1;
    return n;
}

static int node_push(tg_ynode *parent, tg_ynode *key, tg_ynode *val)
{
    /* Grow by doubling; n is small in configuration files. */
    if ((parent->n & (parent->n - 1)) == 0 || parent->n == 0) {
        size_t cap = parent->n ? parent->n * 2 : 4;
        tg_ynode **it;
        if (parent->n && cap < 4)
            cap = 4;
        it = realloc(parent->items, cap * sizeof(*it));
        if (!it)
            return -1;
        parent->items = it;
        if (parent->kind == TG_YNODE_MAP) {
            tg_ynode **k = realloc(parent->keys, cap * sizeof(*k));
            if (!k)
                return -1;
            parent->keys = k;
        }
    }
    parent->items[parent->n] = val;
    if (parent->kind == TG_YNODE_MAP)
        parent->keys[parent->n] = key;
    parent->n++;
    return 0;
}

static const char *event_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return (const char *)ev->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return (const char *)ev->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT:
        return (const char *)ev->data.mapping_start.anchor;
    default:
        return NULL;
    }
}

static int note_anchor(builder *b, const yaml_event_t *ev)
{
    const char *a = event_anchor(ev);
    char **v;

    if (!a)
        return 0;
    v = realloc(b->anchors, (b->n_anchors + 1) * sizeof(*v));
    if (!v || !(v[b->n_anchors] = strdup(a))) {
        if (v)
            b->anchors = v;
        return fail(b, TG_YAML_FAIL_LIMIT, ev->start_mark.line, ev->start_mark.column,
                    "out of memory");
    }
    b->anchors = v;
    b->n_anchors++;
    return 0;
}

/* Aliases are refused: a file is a tree here, and refusing them keeps a
 * "billion laughs" file from costing anything. An alias to nothing is a
 * plain YAML error, worded as libyaml's loader words it. */
static void alias_fail(builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;

    for (size_t i = 0; i < b->n_anchors; i++) {
        if (name && strcmp(b->anchors[i], name) == 0) {
            fail(b, TG_YAML_FAIL_ALIAS, ev->start_mark.line, ev->start_mark.column,
                 "aliases (*name) are not supported");
            return;
        }
    }
    fail(b, TG_YAML_FAIL_SYNTAX, ev->start_mark.line, ev->start_mark.column,
         "invalid YAML: found undefined alias");
}

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        parser_fail(b);
        return -1;
    }
    return 0;
}

static tg_ynode *build(builder *b, yaml_event_t *ev, int depth);

/* Reads the pairs of a mapping up to its end event. */
static int build_map(builder *b, tg_ynode *n, int depth)
{
    size_t plen = strlen(b->path);
    yaml_event_t sub;

    for (;;) {
        tg_ynode *key, *val;

        if (next_event(b, &sub) != 0)
            return -1;
        if (sub.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&sub);
            return 0;
        }
        if (sub.type != YAML_SCALAR_EVENT) {
            if (sub.type == YAML_ALIAS_EVENT)
                alias_fail(b, &sub);
            else
                fail(b, TG_YAML_FAIL_KEY, sub.start_mark.line, sub.start_mark.column,
                     "keys must be plain names, found %s",
                     sub.type == YAML_SEQUENCE_START_EVENT ? "a list" : "a mapping");
            yaml_event_delete(&sub);
            return -1;
        }
        key = build(b, &sub, depth + 1);
        yaml_event_delete(&sub);
        if (!key)
            return -1;
        snprintf(b->path + plen, sizeof(b->path) - plen, "%s%.*s", plen ? "." : "",
                 (int)(key->len < 200 ? key->len : 200), key->str);
        for (size_t i = 0; i < n->n; i++) {
            if (n->keys[i]->len == key->len &&
                memcmp(n->keys[i]->str, key->str, key->len) == 0) {
                fail(b, TG_YAML_FAIL_DUPLICATE, key->line - 1, key->col - 1,
                     "duplicate key \"%s\" (first set at line %u)", b->path,
                     n->keys[i]->line);
                b->f->first_line = n->keys[i]->line;
                snprintf(b->f->key, sizeof(b->f->key), "%.*s",
                         (int)(key->len < 127 ? key->len : 127), key->str);
                tg_yaml_free(key);
                return -1;
            }
        }
        if (next_event(b, &sub) != 0) {
            tg_yaml_free(key);
            return -1;
        }
        val = build(b, &sub, depth + 1);
        yaml_event_delete(&sub);
        b->path[plen] = '\0';
        if (!val || node_push(n, key, val) != 0) {
            if (val)
                fail(b, TG_YAML_FAIL_LIMIT, key->line - 1, key->col - 1, "out of memory");
            tg_yaml_free(key);
            tg_yaml_free(val);
            return -1;
        }
    }
}

static int build_seq(builder *b, tg_ynode *n, int depth)
{
    size_t plen = strlen(b->path);
    yaml_event_t sub;

    for (;;) {
        tg_ynode *val;

        if (next_event(b, &sub) != 0)
            return -1;
        if (sub.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&sub);
            return 0;
        }
        snprintf(b->path + plen, sizeof(b->path) - plen, "[%zu]", n->n);
        val = build(b, &sub, depth + 1);
        yaml_event_delete(&sub);
        b->path[plen] = '\0';
        if (!val || node_push(n, NULL, val) != 0) {
            if (val)
                fail(b, TG_YAML_FAIL_LIMIT, val->line - 1, val->col - 1, "out of memory");
            tg_yaml_free(val);
            return -1;
        }
    }
}

/* Builds the node that starts with `ev` (already taken from the parser). */
static tg_ynode *build(builder *b, yaml_event_t *ev, int depth)
{
    tg_ynode *n = NULL;

    if (depth > YAML_MAX_DEPTH) {
        fail(b, TG_YAML_FAIL_LIMIT, ev->start_mark.line, ev->start_mark.column,
             "nesting too deep");
        return NULL;
    }
    if (ev->type == YAML_ALIAS_EVENT) {
        alias_fail(b, ev);
        return NULL;
    }
    if (note_anchor(b, ev) != 0)
        return NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(b, TG_YNODE_SCALAR, &ev->start_mark);
        if (!n)
            return NULL;
        n->len = ev->data.scalar.length;
        n->str = malloc(n->len + 1);
        if (!n->str) {
            free(n);
            fail(b, TG_YAML_FAIL_LIMIT, ev->start_mark.line, ev->start_mark.column,
                 "out of memory");
            return NULL;
        }
        memcpy(n->str, ev->data.scalar.value, n->len);
        n->str[n->len] = '\0';
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return n;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        n = node_new(b,
                     ev->type == YAML_MAPPING_START_EVENT ? TG_YNODE_MAP : TG_YNODE_SEQ,
                     &ev->start_mark);
        if (!n)
            return NULL;
        if ((n->kind == TG_YNODE_MAP ? build_map(b, n, depth) : build_seq(b, n, depth)) !=
            0) {
            tg_yaml_free(n);
            return NULL;
        }
        return n;
    default:
        fail(b, TG_YAML_FAIL_SYNTAX, ev->start_mark.line, ev->start_mark.column,
             "unexpected YAML event");
        return NULL;
    }
}

static tg_ynode *empty_map(builder *b)
{
    yaml_mark_t m = {0, 0, 0};
    return node_new(b, TG_YNODE_MAP, &m);
}

tg_ynode *tg_yaml_parse(const char *buf, size_t len, tg_yaml_failure *f)
{
    builder b;
    yaml_event_t ev;
    yaml_mark_t doc_mark = {0, 0, 0};
    tg_ynode *root = NULL;
    int done = 0, have_root = 0;

    memset(f, 0, sizeof(*f));
    memset(&b, 0, sizeof(b));
    b.buf = buf;
    b.len = len;
    b.f = f;
    if (!yaml_parser_initialize(&b.parser)) {
        fail(&b, TG_YAML_FAIL_LIMIT, 0, 0, "out of memory");
        f->line = f->col = 0;
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    while (!done) {
        if (next_event(&b, &ev) != 0)
            goto failed;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            doc_mark = ev.start_mark;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            if (have_root) {
                fail(&b, TG_YAML_FAIL_EXTRA_DOC, ev.start_mark.line, ev.start_mark.column,
                     "only one YAML document is allowed");
                f->doc_line = (unsigned)doc_mark.line + 1;
                f->doc_col = (unsigned)doc_mark.column + 1;
                yaml_event_delete(&ev);
                goto failed;
            }
            have_root = 1;
            root = build(&b, &ev, 0);
            if (!root) {
                yaml_event_delete(&ev);
                goto failed;
            }
            break;
        }
        yaml_event_delete(&ev);
    }
    if (!root || tg_yaml_is_null(root)) {
        tg_yaml_free(root);
        root = empty_map(&b);
    }
    goto out;
failed:
    tg_yaml_free(root);
    root = NULL;
out:
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i]);
    free(b.anchors);
    yaml_parser_delete(&b.parser);
    return root;
}

tg_ynode *tg_yaml_load_buffer(const char *name, const char *buf, size_t len, char *err,
                              size_t errlen)
{
    tg_yaml_failure f;
    tg_ynode *root = tg_yaml_parse(buf, len, &f);

    if (!root && err && errlen) {
        if (f.line)
            snprintf(err, errlen, "%s:%u:%u: %s", name, f.line, f.col, f.message);
        else
            snprintf(err, errlen, "%s: %s", name, f.message);
    }
    return root;
}

int tg_yaml_is_null(const tg_ynode *n)
{
    return n->kind == TG_YNODE_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
            strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0);
}

const char *tg_yaml_kind_name(const tg_ynode *n)
{
    switch (n->kind) {
    case TG_YNODE_SCALAR:
        return "a scalar";
    case TG_YNODE_SEQ:
        return "a list";
    case TG_YNODE_MAP:
        return "a mapping";
    }
    return "nothing";
}

tg_ynode *tg_yaml_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    tg_ynode *root;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            char *nb;
            cap = cap ? cap * 2 : 8192;
            if (cap > YAML_MAX_FILE) {
                snprintf(err, errlen, "%s: file too large", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    root = tg_yaml_load_buffer(path, buf ? buf : "", len, err, errlen);
    free(buf);
    return root;
}

const tg_ynode *tg_yaml_get(const tg_ynode *map, const char *key)
{
    if (!map || map->kind != TG_YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->items[i];
    return NULL;
}

int tg_yaml_str(const char *file, const tg_ynode *n, char *out, size_t cap, char *err,
                size_t errlen)
{
    if (n->kind != TG_YNODE_SCALAR)
        return tg_yaml_error(err, errlen, file, n, "expected a string");
    if (n->len >= cap)
        return tg_yaml_error(err, errlen, file, n, "string longer than %zu bytes",
                             cap - 1);
    if (memchr(n->str, '\0', n->len))
        return tg_yaml_error(err, errlen, file, n, "string contains a NUL byte");
    memcpy(out, n->str, n->len + 1);
    return 0;
}

int tg_yaml_bool(const char *file, const tg_ynode *n, int *out, char *err, size_t errlen)
{
    if (n->kind == TG_YNODE_SCALAR) {
        if (strcmp(n->str, "true") == 0 || strcmp(n->str, "yes") == 0 ||
            strcmp(n->str, "on") == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(n->str, "false") == 0 || strcmp(n->str, "no") == 0 ||
            strcmp(n->str, "off") == 0) {
            *out = 0;
            return 0;
        }
    }
    return tg_yaml_error(err, errlen, file, n, "expected true or false");
}

int tg_yaml_u64(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                size_t errlen)
{
    char *end;
    unsigned long long v;

    if (n->kind != TG_YNODE_SCALAR || n->len == 0 || n->str[0] == '-')
        return tg_yaml_error(err, errlen, file, n, "expected a non-negative integer");
    errno = 0;
    v = strtoull(n->str, &end, 10);
    if (errno || *end)
        return tg_yaml_error(err, errlen, file, n, "expected a non-negative integer");
    *out = v;
    return 0;
}

int tg_yaml_double(const char *file, const tg_ynode *n, double *out, char *err,
                   size_t errlen)
{
    char *end;
    double v;

    if (n->kind != TG_YNODE_SCALAR || n->len == 0)
        return tg_yaml_error(err, errlen, file, n, "expected a number");
    errno = 0;
    v = strtod(n->str, &end);
    if (errno || *end || !isfinite(v))
        return tg_yaml_error(err, errlen, file, n, "expected a number");
    *out = v;
    return 0;
}

int tg_yaml_duration_ms(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                        size_t errlen)
{
    if (n->kind != TG_YNODE_SCALAR || tg_parse_duration_ms(n->str, out) != 0)
        return tg_yaml_error(err, errlen, file, n,
                             "expected a duration such as 250ms, 30s, 5m or 7d");
    return 0;
}

/* Edit distance, bounded, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < c)
                c = prev[j] + 1;
            if (cur[j - 1] + 1 < c)
                c = cur[j - 1] + 1;
            cur[j] = c;
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

int tg_yaml_check_keys(const char *file, const tg_ynode *map, const char *const *allowed,
                       char *err, size_t errlen)
{
    if (map->kind != TG_YNODE_MAP)
        return tg_yaml_error(err, errlen, file, map, "expected a mapping");
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->str, *best = NULL;
        size_t bestd = 3;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) {
            size_t d;
            if (strcmp(*a, k) == 0) {
                ok = 1;
                break;
            }
            d = distance(*a, k);
            if (d < bestd) {
                bestd = d;
                best = *a;
            }
        }
        if (!ok) {
            if (best)
                return tg_yaml_error(err, errlen, file, map->keys[i],
                                     "unknown key \"%s\" (did you mean \"%s\"?)", k,
                                     best);
            return tg_yaml_error(err, errlen, file, map->keys[i], "unknown key \"%s\"",
                                 k);
        }
    }
    return 0;
}
