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
    const char *name;
    size_t nodes;
    char *err;
    size_t errlen;
} builder;

static tg_ynode *node_new(builder *b, enum tg_ynode_kind kind, const yaml_mark_t *m)
{
    tg_ynode *n;

    if (++b->nodes > YAML_MAX_NODES)
        return NULL;
    n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
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
        tg_ynode **it = realloc(parent->items, cap * sizeof(*it));
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

static void parse_fail(builder *b, const yaml_mark_t *m, const char *msg)
{
    snprintf(b->err, b->errlen, "%s:%zu:%zu: %s", b->name, m->line + 1, m->column + 1,
             msg);
}

/* Builds the node that starts with `ev` (already taken from the parser). */
static tg_ynode *build(builder *b, yaml_event_t *ev, int depth)
{
    tg_ynode *n = NULL;
    yaml_event_t sub;

    if (depth > YAML_MAX_DEPTH) {
        parse_fail(b, &ev->start_mark, "nesting too deep");
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(b, TG_YNODE_SCALAR, &ev->start_mark);
        if (!n)
            break;
        n->len = ev->data.scalar.length;
        n->str = malloc(n->len + 1);
        if (!n->str) {
            free(n);
            n = NULL;
            break;
        }
        memcpy(n->str, ev->data.scalar.value, n->len);
        n->str[n->len] = '\0';
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return n;
    case YAML_ALIAS_EVENT:
        parse_fail(b, &ev->start_mark, "aliases are not supported");
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        n = node_new(b, is_map ? TG_YNODE_MAP : TG_YNODE_SEQ, &ev->start_mark);
        if (!n)
            break;
        for (;;) {
            tg_ynode *key = NULL, *val;
            if (!yaml_parser_parse(&b->parser, &sub)) {
                parse_fail(b, &b->parser.problem_mark,
                           b->parser.problem ? b->parser.problem : "syntax error");
                tg_yaml_free(n);
                return NULL;
            }
            if (sub.type == YAML_SEQUENCE_END_EVENT ||
                sub.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&sub);
                return n;
            }
            if (is_map) {
                if (sub.type != YAML_SCALAR_EVENT) {
                    parse_fail(b, &sub.start_mark, "mapping keys must be plain scalars");
                    yaml_event_delete(&sub);
                    tg_yaml_free(n);
                    return NULL;
                }
                key = build(b, &sub, depth + 1);
                yaml_event_delete(&sub);
                if (!key) {
                    tg_yaml_free(n);
                    return NULL;
                }
                for (size_t i = 0; i < n->n; i++) {
                    if (strcmp(n->keys[i]->str, key->str) == 0) {
                        snprintf(b->err, b->errlen, "%s:%u:%u: duplicate key \"%s\"",
                                 b->name, key->line, key->col, key->str);
                        tg_yaml_free(key);
                        tg_yaml_free(n);
                        return NULL;
                    }
                }
                if (!yaml_parser_parse(&b->parser, &sub)) {
                    parse_fail(b, &b->parser.problem_mark,
                               b->parser.problem ? b->parser.problem : "syntax error");
                    tg_yaml_free(key);
                    tg_yaml_free(n);
                    return NULL;
                }
            }
            val = build(b, &sub, depth + 1);
            yaml_event_delete(&sub);
            if (!val || node_push(n, key, val) != 0) {
                tg_yaml_free(key);
                tg_yaml_free(val);
                tg_yaml_free(n);
                return NULL;
            }
        }
    }
    default:
        parse_fail(b, &ev->start_mark, "unexpected YAML event");
        return NULL;
    }
    if (!b->err[0])
        parse_fail(b, &ev->start_mark, "document too large or out of memory");
    return NULL;
}

tg_ynode *tg_yaml_load_buffer(const char *name, const char *buf, size_t len, char *err,
                              size_t errlen)
{
    builder b;
    yaml_event_t ev;
    tg_ynode *root = NULL;
    int done = 0;
    char dummy[8];

    memset(&b, 0, sizeof(b));
    b.name = name;
    b.err = err ? err : dummy;
    b.errlen = err ? errlen : sizeof(dummy);
    b.err[0] = '\0';
    if (!yaml_parser_initialize(&b.parser)) {
        snprintf(b.err, b.errlen, "%s: out of memory", name);
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    while (!done) {
        if (!yaml_parser_parse(&b.parser, &ev)) {
            parse_fail(&b, &b.parser.problem_mark,
                       b.parser.problem ? b.parser.problem : "syntax error");
            tg_yaml_free(root);
            root = NULL;
            goto out;
        }
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (root) {
                parse_fail(&b, &ev.start_mark, "only one YAML document is allowed");
                yaml_event_delete(&ev);
                tg_yaml_free(root);
                root = NULL;
                goto out;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            if (root) {
                parse_fail(&b, &ev.start_mark, "only one YAML document is allowed");
                yaml_event_delete(&ev);
                tg_yaml_free(root);
                root = NULL;
                goto out;
            }
            root = build(&b, &ev, 0);
            if (!root) {
                yaml_event_delete(&ev);
                goto out;
            }
            break;
        }
        yaml_event_delete(&ev);
    }
    if (!root) {
        yaml_mark_t m = {0, 0, 0};
        root = node_new(&b, TG_YNODE_MAP, &m);
    } else if (root->kind == TG_YNODE_SCALAR && root->plain &&
               (root->len == 0 || strcmp(root->str, "~") == 0 ||
                strcmp(root->str, "null") == 0)) {
        yaml_mark_t m = {0, 0, 0};
        tg_yaml_free(root);
        root = node_new(&b, TG_YNODE_MAP, &m);
    }
out:
    yaml_parser_delete(&b.parser);
    return root;
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

int tg_parse_size_str(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1000},
                 {"kb", 1000},
                 {"kib", 1024},
                 {"m", 1000000},
                 {"mb", 1000000},
                 {"mib", 1u << 20},
                 {"g", 1000000000},
                 {"gb", 1000000000},
                 {"gib", 1u << 30},
                 {"t", 1000000000000ull},
                 {"tb", 1000000000000ull},
                 {"tib", 1ull << 40}};
    char *end;
    double v;

    if (!s || !*s || *s == '-')
        return TG_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return TG_EINVAL;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            double r = v * (double)units[i].mult;
            if (r >= 1.8e19)
                return TG_EINVAL;
            *out = (uint64_t)r;
            return 0;
        }
    }
    return TG_EINVAL;
}

int tg_parse_duration_str(const char *s, uint64_t *out_ms)
{
    static const struct {
        const char *suffix;
        double ms;
    } units[] = {{"", 1000},     {"ms", 1},       {"s", 1000},      {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000}, {"y", 31536000000.0}};
    char *end;
    double v;

    if (!s || !*s || *s == '-')
        return TG_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return TG_EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double r = v * units[i].ms;
            if (r >= 1.8e19)
                return TG_EINVAL;
            *out_ms = (uint64_t)r;
            return 0;
        }
    }
    return TG_EINVAL;
}

int tg_yaml_size(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                 size_t errlen)
{
    if (n->kind != TG_YNODE_SCALAR || tg_parse_size_str(n->str, out) != 0)
        return tg_yaml_error(err, errlen, file, n,
                             "expected a size such as 512MiB, 1GB or 65536");
    return 0;
}

int tg_yaml_duration_ms(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                        size_t errlen)
{
    if (n->kind != TG_YNODE_SCALAR || tg_parse_duration_str(n->str, out) != 0)
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
