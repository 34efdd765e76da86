/* Configuration key tables (tg_cfgtab.h): one description per key drives
 * defaults, loading, flags and the reference. Moved here from the
 * collector's configuration so the forwarder's and the centre's use the
 * same code. */
#include "tg_cfgtab.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_err.h"
#include "tg_units.h"

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return TG_EINVAL;
}

/* Text from the file shown in a message: at most 64 bytes, control
 * characters escaped, so a hostile file cannot garble the terminal. */
static void printable(char *out, size_t outlen, const unsigned char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        if (i == 64) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] < 0x20 || s[i] == 0x7f) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", s[i]);
        } else {
            out[o++] = (char)s[i];
        }
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

static bool valid_hostname(const char *h, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && h[len - 1] != '-';
}

int tg_cfgtab_check_address(const char *addr, char *why, size_t whylen)
{
    const char *port, *host = addr;
    size_t hostlen;
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    unsigned long p = 0;

    if (!*addr)
        return tg_errf(why, whylen, TG_EINVAL, "is empty; expected HOST:PORT");
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb)
            return tg_errf(why, whylen, TG_EINVAL,
                           "has no closing ']'; expected [IPv6]:PORT");
        host = addr + 1;
        hostlen = (size_t)(rb - host);
        if (hostlen == 0 || hostlen >= sizeof(buf))
            return tg_errf(why, whylen, TG_EINVAL,
                           "has an invalid IPv6 address in brackets");
        memcpy(buf, host, hostlen);
        buf[hostlen] = '\0';
        if (inet_pton(AF_INET6, buf, bin) != 1)
            return tg_errf(why, whylen, TG_EINVAL,
                           "has an invalid IPv6 address in brackets");
        if (rb[1] != ':')
            return tg_errf(why, whylen, TG_EINVAL, "has no :PORT after the IPv6 address");
        port = rb + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon)
            return tg_errf(why, whylen, TG_EINVAL, "has no port; expected HOST:PORT");
        hostlen = (size_t)(colon - addr);
        if (memchr(addr, ':', hostlen))
            return tg_errf(why, whylen, TG_EINVAL,
                           "looks like an IPv6 address: write it in brackets, "
                           "e.g. [::1]:4317");
        if (hostlen == 0)
            return tg_errf(why, whylen, TG_EINVAL,
                           "has no host (0.0.0.0:PORT listens on every interface)");
        if (strspn(addr, "0123456789.") >= hostlen) {
            if (hostlen >= sizeof(buf))
                return tg_errf(why, whylen, TG_EINVAL, "has an invalid IPv4 address");
            memcpy(buf, addr, hostlen);
            buf[hostlen] = '\0';
            if (inet_pton(AF_INET, buf, bin) != 1)
                return tg_errf(why, whylen, TG_EINVAL, "has an invalid IPv4 address");
        } else if (!valid_hostname(addr, hostlen)) {
            return tg_errf(why, whylen, TG_EINVAL, "has an invalid host name");
        }
        port = colon + 1;
    }
    if (!*port)
        return tg_errf(why, whylen, TG_EINVAL, "has no port; expected HOST:PORT");
    if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
        return tg_errf(why, whylen, TG_EINVAL, "has an invalid port (expected 0-65535)");
    for (const char *c = port; *c; c++)
        p = p * 10 + (unsigned long)(*c - '0');
    if (p > 65535)
        return tg_errf(why, whylen, TG_EINVAL, "has an invalid port (expected 0-65535)");
    return 0;
}

static void *member(void *base, const struct tg_cfg_key *k)
{
    return (char *)base + k->offset;
}

static const char *type_name(const struct tg_cfg_key *k)
{
    switch (k->type) {
    case TG_CFG_STRING:
        return "string";
    case TG_CFG_ADDRESS:
        return "address";
    case TG_CFG_SIZE:
        return "size";
    case TG_CFG_DURATION:
        return "duration";
    case TG_CFG_UINT:
        return "integer";
    case TG_CFG_BOOL:
        return "bool";
    case TG_CFG_ENUM:
        return "enum";
    case TG_CFG_STRING_LIST:
        return "list of strings";
    case TG_CFG_DOUBLE:
        return "number";
    case TG_CFG_CUSTOM:
        return k->type_text ? k->type_text : "see below";
    }
    return "?";
}

/* What a key expects, for messages: "expected <phrase>". */
static void expect_phrase(const struct tg_cfg_key *k, char *out, size_t outlen)
{
    size_t n;

    switch (k->type) {
    case TG_CFG_STRING:
        snprintf(out, outlen, "a string");
        return;
    case TG_CFG_ADDRESS:
        snprintf(out, outlen, "an address HOST:PORT");
        return;
    case TG_CFG_SIZE:
        snprintf(out, outlen, "a size such as 64MiB");
        return;
    case TG_CFG_DURATION:
        snprintf(out, outlen, "a duration such as 30s");
        return;
    case TG_CFG_UINT:
        snprintf(out, outlen, "a whole number");
        return;
    case TG_CFG_BOOL:
        snprintf(out, outlen, "true or false");
        return;
    case TG_CFG_ENUM:
        n = (size_t)snprintf(out, outlen, "one of");
        for (const char *const *c = k->choices; *c && n < outlen; c++)
            n += (size_t)snprintf(out + n, outlen - n, "%s %s",
                                  c == k->choices ? "" : ",", *c);
        return;
    case TG_CFG_STRING_LIST:
        snprintf(out, outlen, "%s",
                 k->item_size >= 1024 ? "a list of file names" : "a list of strings");
        return;
    case TG_CFG_DOUBLE:
        snprintf(out, outlen, "a number");
        return;
    case TG_CFG_CUSTOM:
        snprintf(out, outlen, "%s", k->type_text ? k->type_text : "a value");
        return;
    }
    snprintf(out, outlen, "a value");
}

static int set_string(const struct tg_cfg_key *k, char *dst, const char *v, char *why,
                      size_t whylen)
{
    size_t len = strlen(v);
    char reason[160], shown[300];

    printable(shown, sizeof(shown), (const unsigned char *)v, len);
    if (len >= k->size)
        return tg_errf(why, whylen, TG_EINVAL, "is too long (at most %zu bytes)",
                       k->size - 1);
    if (k->type == TG_CFG_ADDRESS &&
        tg_cfgtab_check_address(v, reason, sizeof(reason)) != 0)
        return tg_errf(why, whylen, TG_EINVAL, "address \"%s\" %s", shown, reason);
    if (k->check && k->check(v, reason, sizeof(reason)) != 0)
        return tg_errf(why, whylen, TG_EINVAL, "\"%s\" %s", shown, reason);
    memcpy(dst, v, len + 1);
    return 0;
}

static void store_uint(void *base, const struct tg_cfg_key *k, uint64_t v)
{
    void *m = member(base, k);

    /* The table's bounds guarantee v fits the member; the 4-byte members
     * whose bound fits an int are the int ones (store.zstd_level). */
    if (k->size == sizeof(uint64_t)) {
        uint64_t x = v;
        memcpy(m, &x, sizeof(x));
    } else if (k->size == sizeof(uint32_t) && k->max <= INT_MAX) {
        int x = (int)v;
        memcpy(m, &x, sizeof(x));
    } else {
        uint32_t x = (uint32_t)v;
        memcpy(m, &x, sizeof(x));
    }
}

static int check_bounds(const struct tg_cfg_key *k, uint64_t v, const char *text,
                        char *why, size_t whylen)
{
    if (v < k->min)
        return tg_errf(why, whylen, TG_EINVAL, "\"%s\" is below the minimum (%llu%s)",
                       text, (unsigned long long)k->min,
                       k->type == TG_CFG_SIZE       ? " bytes"
                       : k->type == TG_CFG_DURATION ? " ms"
                                                    : "");
    if (v > k->max)
        return tg_errf(why, whylen, TG_EINVAL, "\"%s\" is above the maximum (%llu)", text,
                       (unsigned long long)k->max);
    return 0;
}

/* Sets scalar key k from its text form; the list key appends one item. */
int tg_cfgtab_set(const struct tg_cfg_key *k, void *base, const char *v, char *why,
                  size_t whylen)
{
    uint64_t u;
    const char *reason;
    char shown[300];

    printable(shown, sizeof(shown), (const unsigned char *)v, strlen(v));
    switch (k->type) {
    case TG_CFG_STRING:
    case TG_CFG_ADDRESS:
        return set_string(k, member(base, k), v, why, whylen);
    case TG_CFG_ENUM:
        for (const char *const *c = k->choices; *c; c++) {
            if (strcmp(*c, v) != 0)
                continue;
            if (!k->values)
                return set_string(k, member(base, k), v, why, whylen);
            memcpy(member(base, k), &k->values[c - k->choices], sizeof(int));
            return 0;
        }
        if (k->invalid)
            return tg_errf(why, whylen, TG_EINVAL, "%s", k->invalid);
        {
            char list[128] = "";
            size_t n = 0;
            for (const char *const *c = k->choices; *c && n < sizeof(list); c++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                                      c == k->choices ? "" : ", ", *c);
            return tg_errf(why, whylen, TG_EINVAL,
                           "invalid value \"%s\" (expected one of %s)", shown, list);
        }
    case TG_CFG_SIZE:
        if (tg_parse_size_why(v, &u, &reason) != 0) {
            if (strcmp(reason, "too large") == 0)
                return tg_errf(why, whylen, TG_EINVAL, "size \"%s\" is too large", shown);
            return tg_errf(why, whylen, TG_EINVAL,
                           "invalid size \"%s\" (expected a whole number with an "
                           "optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
                           shown);
        }
        if (check_bounds(k, u, shown, why, whylen) != 0)
            return TG_EINVAL;
        store_uint(base, k, u);
        return 0;
    case TG_CFG_DURATION:
        if (tg_parse_duration_why(v, &u, &reason) != 0) {
            if (strcmp(reason, "too large") == 0)
                return tg_errf(why, whylen, TG_EINVAL, "duration \"%s\" is too large",
                               shown);
            return tg_errf(why, whylen, TG_EINVAL,
                           "invalid duration \"%s\" (expected whole numbers with "
                           "units ms, s, m, h, d, e.g. 30s or 1h30m)",
                           shown);
        }
        if (check_bounds(k, u, shown, why, whylen) != 0)
            return TG_EINVAL;
        if (u % k->unit_ms != 0 && !k->truncate)
            return tg_errf(why, whylen, TG_EINVAL,
                           "duration \"%s\" is not a whole number of seconds", shown);
        store_uint(base, k, u / k->unit_ms);
        return 0;
    case TG_CFG_UINT: {
        const char *s = v;
        bool overflow = false;
        if (tg_parse_u64_digits(&s, &u, &overflow) != 0 || *s)
            return tg_errf(why, whylen, TG_EINVAL,
                           "invalid number \"%s\" (expected a non-negative integer)",
                           shown);
        if (overflow)
            return tg_errf(why, whylen, TG_EINVAL, "number \"%s\" is too large", shown);
        if (check_bounds(k, u, shown, why, whylen) != 0)
            return TG_EINVAL;
        store_uint(base, k, u);
        return 0;
    }
    case TG_CFG_BOOL: {
        int b;
        if (parse_bool(v, &b) != 0)
            return tg_errf(why, whylen, TG_EINVAL,
                           "invalid boolean \"%s\" (expected true or false)", shown);
        if (k->invert)
            b = !b;
        memcpy(member(base, k), &b, sizeof(b));
        return 0;
    }
    case TG_CFG_DOUBLE: {
        char *end;
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (!*v || errno || *end || !isfinite(d))
            return tg_errf(why, whylen, TG_EINVAL,
                           "invalid number \"%s\" (expected a number)", shown);
        if (k->dmax > k->dmin && d < k->dmin)
            return tg_errf(why, whylen, TG_EINVAL, "\"%s\" is below the minimum (%g)",
                           shown, k->dmin);
        if (k->dmax > k->dmin && d > k->dmax)
            return tg_errf(why, whylen, TG_EINVAL, "\"%s\" is above the maximum (%g)",
                           shown, k->dmax);
        if (k->check && k->check(v, why, whylen) != 0)
            return TG_EINVAL;
        memcpy(member(base, k), &d, sizeof(d));
        return 0;
    }
    case TG_CFG_CUSTOM:
        return tg_errf(why, whylen, TG_EINVAL, "is set in the file only");
    case TG_CFG_STRING_LIST: {
        size_t *count = (size_t *)((char *)base + k->count_offset);
        char *items = member(base, k);
        size_t cap = k->size / k->item_size;
        size_t len = strlen(v);
        if (*count >= cap)
            return tg_errf(why, whylen, TG_EINVAL, "too many entries (at most %zu)", cap);
        if (len == 0)
            return tg_errf(why, whylen, TG_EINVAL, "entries must not be empty");
        if (len >= k->item_size)
            return tg_errf(why, whylen, TG_EINVAL,
                           "entry is too long (at most %zu bytes)", k->item_size - 1);
        memcpy(items + *count * k->item_size, v, len + 1);
        (*count)++;
        return 0;
    }
    }
    return TG_EINVAL;
}

void tg_cfgtab_clear(const struct tg_cfg_key *k, void *base)
{
    size_t *count = (size_t *)((char *)base + k->count_offset);
    memset(member(base, k), 0, k->size);
    *count = 0;
}

static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[129];

    /* Callers cap both lengths at 128. */
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The known key or section closest to `path`, for "did you mean"; false
 * when nothing is close enough for the hint to help. */
static bool closest_key(const tg_cfgtab *t, const char *path, size_t len, char *out,
                        size_t outlen)
{
    size_t best = SIZE_MAX;
    const char *leaf = memrchr(path, '.', len);
    size_t leaflen = leaf ? len - (size_t)(leaf + 1 - path) : len;

    out[0] = '\0';
    if (len > 128)
        len = 128;
    for (size_t i = 0; i < t->n; i++) {
        const char *p = t->keys[i].path;
        /* Every prefix ending before a '.' is a section name. */
        for (size_t end = 1; end <= strlen(p); end++) {
            if (p[end] != '.' && p[end] != '\0')
                continue;
            size_t d = edit_distance(path, len, p, end);
            if (d < best) {
                best = d;
                snprintf(out, outlen, "%.*s", (int)end, p);
            }
        }
    }
    /* Typos and transpositions in the last component, not different words. */
    return best <= 1 || best <= leaflen / 3 + 1;
}

/* The names directly under section `prefix` ("" is the top level). */
static void known_keys(const tg_cfgtab *t, const char *prefix, char *out, size_t outlen)
{
    size_t plen = strlen(prefix), n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < t->n; i++) {
        const char *p = t->keys[i].path, *name, *dot;
        size_t nlen;
        bool dup = false;

        if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
            continue;
        name = plen ? p + plen + 1 : p;
        dot = strchr(name, '.');
        nlen = dot ? (size_t)(dot - name) : strlen(name);
        for (size_t j = 0; j < i && !dup; j++) {
            const char *q = t->keys[j].path;
            dup = strncmp(q, p, (size_t)(name - p) + nlen) == 0 &&
                  (q[(name - p) + (ptrdiff_t)nlen] == '.' ||
                   q[(name - p) + (ptrdiff_t)nlen] == '\0');
        }
        if (dup || n >= outlen)
            continue;
        n += (size_t)snprintf(out + n, outlen - n, "%s%.*s", n ? ", " : "", (int)nlen,
                              name);
    }
}

static const struct tg_cfg_key *find_key(const tg_cfgtab *t, const char *path, size_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strlen(t->keys[i].path) == len && memcmp(t->keys[i].path, path, len) == 0)
            return &t->keys[i];
    }
    return NULL;
}

static bool is_section(const tg_cfgtab *t, const char *path, size_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *p = t->keys[i].path;
        if (strlen(p) > len && memcmp(p, path, len) == 0 && p[len] == '.')
            return true;
    }
    return false;
}

void tg_cfgtab_defaults(const tg_cfgtab *t, void *base)
{
    char why[256];

    for (size_t i = 0; i < t->n; i++) {
        const struct tg_cfg_key *k = &t->keys[i];
        if (k->type == TG_CFG_STRING_LIST || k->type == TG_CFG_CUSTOM || !k->def)
            continue; /* lists and custom keys default to empty */
        /* The tables' defaults are covered by tests; a failure here would
         * be a typo in a table, and leaves the member zeroed. */
        (void)tg_cfgtab_set(k, base, k->def, why, sizeof(why));
    }
}

struct loader {
    const tg_cfgtab *t;
    void *base;
    const char *file;
    const char *const *skip;
    size_t n_set;
    char *err;
    size_t errlen;
};

static int fail_at(struct loader *l, const tg_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *l, const tg_ynode *n, const char *fmt, ...)
{
    va_list ap;
    int off;

    if (!l->err || !l->errlen)
        return TG_ECONFIG;
    off = snprintf(l->err, l->errlen, "%s:%u:%u: ", l->file, n->line, n->col);
    if (off >= 0 && (size_t)off < l->errlen) {
        va_start(ap, fmt);
        vsnprintf(l->err + off, l->errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return TG_ECONFIG;
}

static int load_value(struct loader *l, const struct tg_cfg_key *k, const tg_ynode *v)
{
    char why[1024 + 300], expected[128];

    expect_phrase(k, expected, sizeof(expected));
    if (k->type == TG_CFG_CUSTOM) {
        int rc = k->load(l->base, v, l->file, l->err, l->errlen);
        if (rc == 0)
            l->n_set++;
        return rc;
    }
    if (k->type == TG_CFG_STRING_LIST) {
        tg_cfgtab_clear(k, l->base);
        if (tg_yaml_is_null(v)) {
            l->n_set++;
            return 0;
        }
        if (v->kind != TG_YNODE_SEQ)
            return fail_at(l, v, "%s: expected %s, found %s", k->path, expected,
                           tg_yaml_kind_name(v));
        for (size_t i = 0; i < v->n; i++) {
            const tg_ynode *item = v->items[i];
            if (item->kind != TG_YNODE_SCALAR)
                return fail_at(l, item, "%s: expected %s, found %s", k->path,
                               k->item_size >= 1024 ? "a file name" : "a string",
                               tg_yaml_kind_name(item));
            if (strlen(item->str) != item->len)
                return fail_at(l, item, "%s: value contains a NUL byte", k->path);
            if (tg_cfgtab_set(k, l->base, item->str, why, sizeof(why)) != 0)
                return fail_at(l, item, "%s: %s", k->path, why);
        }
        l->n_set++;
        return 0;
    }
    if (v->kind != TG_YNODE_SCALAR)
        return fail_at(l, v, "%s: expected %s, found %s", k->path, expected,
                       tg_yaml_kind_name(v));
    if (tg_yaml_is_null(v) && k->type != TG_CFG_STRING)
        return fail_at(l, v, "%s: missing value (expected %s)", k->path, expected);
    if (strlen(v->str) != v->len)
        return fail_at(l, v, "%s: value contains a NUL byte", k->path);
    if (tg_cfgtab_set(k, l->base, tg_yaml_is_null(v) ? "" : v->str, why, sizeof(why)) !=
        0) {
        if (k->type == TG_CFG_ENUM && k->invalid)
            return fail_at(l, v, "%s", why);
        return fail_at(l, v, "%s: %s", k->path, why);
    }
    l->n_set++;
    return 0;
}

static bool skipped(const struct loader *l, const char *path, size_t plen)
{
    for (const char *const *s = l->skip; s && *s; s++) {
        if (strlen(*s) == plen && memcmp(*s, path, plen) == 0)
            return true;
    }
    return false;
}

static int load_mapping(struct loader *l, const tg_ynode *map, const char *prefix)
{
    for (size_t i = 0; i < map->n; i++) {
        const tg_ynode *key = map->keys[i], *val = map->items[i];
        char path[256], shown[400], hint[128], known[512];
        size_t klen = key->len, plen;
        bool clean = klen < 200 && memchr(key->str, '\0', klen) == NULL;
        const struct tg_cfg_key *k;

        plen =
            (size_t)snprintf(path, sizeof(path), "%s%s%.*s", prefix, *prefix ? "." : "",
                             (int)(klen < 200 ? klen : 200), key->str);
        if (plen >= sizeof(path))
            plen = sizeof(path) - 1;
        k = clean ? find_key(l->t, path, plen) : NULL;
        if (k) {
            int rc = load_value(l, k, val);
            if (rc != 0)
                return rc;
            continue;
        }
        if (!*prefix && clean && skipped(l, path, plen))
            continue;
        if (clean && is_section(l->t, path, plen)) {
            int rc;
            if (tg_yaml_is_null(val))
                continue;
            if (val->kind != TG_YNODE_MAP)
                return fail_at(l, val, "%s: expected a mapping of keys, found %s", path,
                               tg_yaml_kind_name(val));
            rc = load_mapping(l, val, path);
            if (rc != 0)
                return rc;
            continue;
        }
        printable(shown, sizeof(shown), (const unsigned char *)path, plen);
        if (closest_key(l->t, path, plen, hint, sizeof(hint)))
            return fail_at(l, key, "unknown key \"%s\" (did you mean \"%s\"?)", shown,
                           hint);
        known_keys(l->t, prefix, known, sizeof(known));
        return fail_at(l, key, "unknown key \"%s\" (known keys%s%s: %s)", shown,
                       *prefix ? " under " : " at the top level", prefix, known);
    }
    return 0;
}

int tg_cfgtab_load(const tg_cfgtab *t, void *base, const tg_ynode *map, const char *file,
                   const char *const *skip, size_t *n_set, char *err, size_t errlen)
{
    struct loader l = {
        .t = t, .base = base, .file = file, .skip = skip, .err = err, .errlen = errlen};
    int rc;

    if (map->kind != TG_YNODE_MAP)
        return fail_at(&l, map, "expected a mapping of keys at the top level, found %s",
                       tg_yaml_kind_name(map));
    rc = load_mapping(&l, map, "");
    if (rc == 0 && n_set)
        *n_set = l.n_set;
    return rc;
}

void tg_cfgtab_write_reference(const tg_cfgtab *t, FILE *f)
{
    bool flags = false;

    for (size_t i = 0; i < t->n; i++)
        flags = flags || t->keys[i].flag;
    fprintf(f, "| key | type | default |%s description |\n", flags ? " flag |" : "");
    fprintf(f, "|---|---|---|%s---|\n", flags ? "---|" : "");
    for (size_t i = 0; i < t->n; i++) {
        const struct tg_cfg_key *k = &t->keys[i];
        char type[160];

        if (k->type == TG_CFG_ENUM) {
            size_t n = (size_t)snprintf(type, sizeof(type), "enum:");
            for (const char *const *c = k->choices; *c && n < sizeof(type); c++)
                n += (size_t)snprintf(type + n, sizeof(type) - n, " `%s`", *c);
        } else if (k->type == TG_CFG_UINT && k->max == UINT64_MAX) {
            snprintf(type, sizeof(type), "integer, at least %llu",
                     (unsigned long long)k->min);
        } else if (k->type == TG_CFG_UINT) {
            snprintf(type, sizeof(type), "integer, %llu to %llu",
                     (unsigned long long)k->min, (unsigned long long)k->max);
        } else if (k->type == TG_CFG_ADDRESS) {
            snprintf(type, sizeof(type), "address `HOST:PORT`");
        } else if (k->type == TG_CFG_DOUBLE && k->dmax > k->dmin && isinf(k->dmax)) {
            snprintf(type, sizeof(type), "number, at least %g", k->dmin);
        } else if (k->type == TG_CFG_DOUBLE && k->dmax > k->dmin) {
            snprintf(type, sizeof(type), "number, %g to %g", k->dmin, k->dmax);
        } else {
            snprintf(type, sizeof(type), "%s", type_name(k));
        }
        fprintf(f, "| `%s` | %s | ", k->path, type);
        if ((k->type == TG_CFG_STRING_LIST || k->type == TG_CFG_CUSTOM) &&
            (!k->def || !k->def[0]))
            fprintf(f, "`[]`");
        else if (k->def[0])
            fprintf(f, "`%s`", k->def);
        else
            fprintf(f, "`\"\"`");
        if (k->flag)
            fprintf(f, " | `--%s %s`", k->flag, k->metavar);
        else if (flags)
            fprintf(f, " | ");
        fprintf(f, " | %s |\n", k->help);
    }
}
