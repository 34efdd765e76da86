/* Policy lifecycle: load, compile (finalize), introspection, reference
 * counting, the swap slot, the version hash and the /metrics counters.
 *
 * Everything a policy owns lives in its arena, except the PCRE2 codes, the
 * contexts and the HMAC method, which are released in policy_free(). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules_int.h"
#include "tg_codec.h"

void tg_rules__set_err(tg_rules_diag *err, const tg_loc *loc, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    memset(err, 0, sizeof(*err));
    if (loc) {
        snprintf(err->file, sizeof(err->file), "%s", loc->file ? loc->file : "");
        err->line = loc->line;
        err->column = loc->col;
    }
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void tg_rules_diag_format(const tg_rules_diag *d, char *buf, size_t len)
{
    if (d->line)
        snprintf(buf, len, "%s:%u:%u: %s", d->file, d->line, d->column, d->message);
    else if (d->file[0])
        snprintf(buf, len, "%s: %s", d->file, d->message);
    else
        snprintf(buf, len, "%s", d->message);
}

static void warn(const tg_rules_options *opt, const tg_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(const tg_rules_options *opt, const tg_loc *loc, const char *fmt, ...)
{
    tg_rules_diag d;
    va_list ap;

    if (!opt || !opt->warn)
        return;
    memset(&d, 0, sizeof(d));
    if (loc) {
        snprintf(d.file, sizeof(d.file), "%s", loc->file ? loc->file : "");
        d.line = loc->line;
        d.column = loc->col;
    }
    va_start(ap, fmt);
    vsnprintf(d.message, sizeof(d.message), fmt, ap);
    va_end(ap);
    opt->warn(opt->warn_ctx, &d);
}

void *tg_rules__grow(tg_arena *a, void *v, size_t elem, size_t n, size_t *cap)
{
    void *nv;
    size_t nc;

    if (n < *cap)
        return v;
    nc = *cap ? *cap * 2 : 8;
    nv = tg_arena_alloc(a, nc * elem);
    if (!nv)
        return NULL;
    if (v && n)
        memcpy(nv, v, n * elem);
    *cap = nc;
    return nv;
}

/* ---- key matching
 * ----------------------------------------------------------------------- */

/* Case-insensitive glob: '*' any run (dots included), '?' one byte. The
 * pattern is already lower case. Linear with one backtrack point. */
int tg_rules__glob(const char *pat, size_t plen, const char *s, size_t n)
{
    size_t p = 0, i = 0, star = (size_t)-1, mark = 0;

    while (i < n) {
        if (p < plen &&
            (pat[p] == '?' || (unsigned char)pat[p] == tg_lower((unsigned char)s[i]))) {
            p++;
            i++;
        } else if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (star != (size_t)-1) {
            p = star + 1;
            i = ++mark;
        } else {
            return 0;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

static int eq_ci(const char *lower, size_t llen, const char *s, size_t n)
{
    if (llen != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)lower[i] != tg_lower((unsigned char)s[i]))
            return 0;
    return 1;
}

static int km_one(const tg_keymatch *m, const char *key, size_t len, pcre2_match_data *md)
{
    switch (m->kind) {
    case TG_KM_EXACT:
        return eq_ci(m->text, m->len, key, len);
    case TG_KM_GLOB:
        return tg_rules__glob(m->text, m->len, key, len);
    default:
        return md && pcre2_match(m->re, (PCRE2_SPTR)key, len, 0, 0, md, NULL) >= 0;
    }
}

int tg_rules__km_match(const tg_kmlist *l, const char *key, size_t len)
{
    pcre2_match_data *md = NULL;
    int hit = 0;

    for (size_t i = 0; i < l->n && !hit; i++) {
        if (l->v[i].kind == TG_KM_REGEX && !md) {
            md = pcre2_match_data_create(1, NULL);
            if (!md)
                return 1; /* cannot evaluate: treat as matching (fail closed) */
        }
        hit = km_one(&l->v[i], key, len, md);
    }
    if (md)
        pcre2_match_data_free(md);
    return hit;
}

static uint32_t hash_ci(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= tg_lower((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

const tg_keyrule_slot *tg_rules__exact_find(const tg_rules_policy *p, const char *key,
                                            size_t len)
{
    size_t mask, i;

    if (!p->exact_cap)
        return NULL;
    mask = p->exact_cap - 1;
    for (i = hash_ci(key, len) & mask;; i = (i + 1) & mask) {
        const tg_keyrule_slot *s = &p->exact[i];
        if (!s->key)
            return NULL;
        if (eq_ci(s->key, s->len, key, len))
            return s;
    }
}

static int exact_insert(tg_rules_policy *p, const char *lower, size_t len, uint16_t rule)
{
    size_t mask = p->exact_cap - 1, i;

    for (i = hash_ci(lower, len) & mask;; i = (i + 1) & mask) {
        tg_keyrule_slot *s = &p->exact[i];
        if (!s->key) {
            s->key = lower;
            s->len = len;
        }
        if (s->len == len && !memcmp(s->key, lower, len)) {
            uint16_t *nr;
            for (size_t k = 0; k < s->n; k++)
                if (s->rules[k] == rule)
                    return 0;
            nr = tg_arena_alloc(&p->arena, (s->n + 1) * sizeof(*nr));
            if (!nr)
                return TG_ENOMEM;
            if (s->n)
                memcpy(nr, s->rules, s->n * sizeof(*nr));
            nr[s->n++] = rule;
            s->rules = nr;
            return 0;
        }
    }
}

/* ---- keys
 * --------------------------------------------------------------------------------- */

/* Hex text (64+ hex digits) decodes; anything else is raw key bytes. */
static int key_from_bytes(tg_hkey *k, const unsigned char *b, size_t n)
{
    int hex = n >= 32 && n % 2 == 0;

    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
        n--;
    hex = n >= 32 && n % 2 == 0;
    for (size_t i = 0; hex && i < n; i++)
        hex = tg_hex_digit(b[i]) >= 0;
    if (hex) {
        if (tg_hex_decode((const char *)b, n, k->key, sizeof(k->key)) < 0)
            return -1;
        k->len = n / 2;
    } else {
        if (n > sizeof(k->key))
            return -1;
        memcpy(k->key, b, n);
        k->len = n;
    }
    return k->len >= 16 ? 0 : -1;
}

static int write_new_key(const char *path)
{
    unsigned char raw[32];
    char hex[66];
    int fd;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    tg_hex_encode(raw, sizeof(raw), hex);
    hex[64] = '\n';
    {
        /* the key's directory (keys/ under the data dir) may not exist yet */
        char dir[4096];
        char *slash;
        snprintf(dir, sizeof(dir), "%s", path);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            mkdir(dir, 0700);
        }
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    if (write(fd, hex, 65) != 65) {
        close(fd);
        unlink(path);
        return -1;
    }
    fsync(fd);
    close(fd);
    return 0;
}

static int load_key(tg_rules_policy *p, tg_hkey *k, const tg_rules_options *opt,
                    tg_rules_diag *err)
{
    char path[4096];
    unsigned char buf[512];
    const char *why = NULL;

    (void)p;
    if (k->hex) {
        if (key_from_bytes(k, (const unsigned char *)k->hex, strlen(k->hex)) != 0) {
            tg_rules__set_err(err, &k->loc,
                              "key '%s': hex must be at least 32 hex digits", k->id);
            return TG_ECONFIG;
        }
        return 0;
    }
    if (k->env) {
        const char *v = getenv(k->env);
        if (v && key_from_bytes(k, (const unsigned char *)v, strlen(v)) == 0)
            return 0;
        why = v ? "is shorter than 16 bytes" : "is not set";
        snprintf(path, sizeof(path), "$%s", k->env);
    } else {
        FILE *f;
        size_t n;
        if (opt && opt->no_filesystem) {
            tg_rules__set_err(err, &k->loc, "key '%s': key files are not allowed here",
                              k->id);
            return TG_ECONFIG;
        }
        if (k->file[0] == '/')
            snprintf(path, sizeof(path), "%s", k->file);
        else
            snprintf(path, sizeof(path), "%s/%s",
                     opt && opt->key_dir ? opt->key_dir : k->base_dir, k->file);
        if (k->create && opt && opt->create_keys && write_new_key(path) != 0) {
            tg_rules__set_err(err, &k->loc, "key '%s': cannot create %s: %s", k->id, path,
                              strerror(errno));
            return TG_EIO;
        }
        f = fopen(path, "rb");
        if (f) {
            n = fread(buf, 1, sizeof(buf), f);
            fclose(f);
            if (key_from_bytes(k, buf, n) == 0)
                return 0;
            why = "holds fewer than 16 key bytes";
        } else {
            why = strerror(errno);
        }
    }
    if (opt && opt->ephemeral_keys) {
        if (RAND_bytes(k->key, 32) != 1)
            return TG_EIO;
        k->len = 32;
        k->ephemeral = 1;
        warn(opt, &k->loc,
             "key '%s': %s %s; using an ephemeral key (hashes will differ from the "
             "collector's)",
             k->id, path, why);
        return 0;
    }
    tg_rules__set_err(err, &k->loc, "key '%s': %s %s", k->id, path, why);
    return TG_ECONFIG;
}

/* ---- compile --------------------------------------------------------------------------
 */

static int add_error_class(tg_rules_policy *p)
{
    tg_class *c;

    p->classes = tg_rules__grow(&p->arena, p->classes, sizeof(*p->classes), p->n_classes,
                                &p->cap_classes);
    if (!p->classes)
        return TG_ENOMEM;
    c = &p->classes[p->n_classes];
    memset(c, 0, sizeof(*c));
    c->name = TG_RULES_CLASS_UNCLASSIFIABLE;
    c->description = "a value whose classification could not finish (limit or error)";
    c->regulation = "fail closed";
    p->error_class = (uint16_t)p->n_classes++;
    return 0;
}

static void kmlist_free(tg_kmlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        pcre2_code_free(l->v[i].re);
    l->n = 0;
}

static void rule_free(tg_rule *r)
{
    kmlist_free(&r->keys);
    for (size_t v = 0; v < r->n_values; v++) {
        pcre2_code_free(r->values[v]->re);
        pcre2_code_free(r->values[v]->re_bytes);
        kmlist_free(&r->values[v]->scope);
    }
    r->n_values = 0;
    kmlist_free(&r->when_service);
    kmlist_free(&r->when_env);
    for (size_t w = 0; w < r->n_when_res; w++)
        kmlist_free(&r->when_res[w].vals);
    r->n_when_res = 0;
}

void tg_rules__kmlist_free(tg_kmlist *l)
{
    kmlist_free(l);
}

/* Drops detect blocks replaced by a later file and renumbers. */
static void compact_rules(tg_rules_policy *p)
{
    size_t k = 0;

    for (size_t i = 0; i < p->n_rules; i++) {
        if (p->rules[i].cls == UINT16_MAX) {
            rule_free(&p->rules[i]);
            continue;
        }
        p->rules[k] = p->rules[i];
        for (size_t v = 0; v < p->rules[k].n_values; v++)
            p->rules[k].values[v]->rule = (uint16_t)k;
        k++;
    }
    p->n_rules = k;
}

/* Keywords of custom patterns are spotted during the one scan, so a
 * keyword-gated pattern runs only on values that mention one. */
static int compile_keywords(tg_rules_policy *p)
{
    size_t total = 0, k = 0;
    int group = 0;
    struct tg_kwent *tmp;

    memset(p->scanner.kwwords, 0, sizeof(p->scanner.kwwords));
    memset(p->scanner.seen_want, 0, sizeof(p->scanner.seen_want));
    for (size_t i = 0; i < p->n_custom; i++) {
        const tg_valdet *vd = p->custom[i];
        if (vd->re_req >= 0 && !tg_isalnum((unsigned char)vd->re_req))
            p->scanner.seen_want[(unsigned char)vd->re_req] = 1;
        if (vd->re_first >= 0 && !tg_isalnum((unsigned char)vd->re_first))
            p->scanner.seen_want[(unsigned char)vd->re_first] = 1;
    }
    for (size_t i = 0; i < p->n_custom; i++) {
        tg_valdet *vd = p->custom[i];
        int spot = vd->has_kw && vd->nkw && vd->ctx != TG_CTX_NEVER && group < 64;
        vd->kwgroup = -1;
        for (size_t j = 0; spot && j < vd->nkw; j++)
            spot = tg_isalnum((unsigned char)vd->kw[j][0]);
        if (!spot)
            continue;
        vd->kwgroup = group++;
        total += vd->nkw;
    }
    tmp = tg_arena_alloc(&p->arena, (total ? total : 1) * sizeof(*tmp));
    p->kwents = tg_arena_alloc(&p->arena, (total ? total : 1) * sizeof(*p->kwents));
    if (!tmp || !p->kwents)
        return TG_ENOMEM;
    for (size_t i = 0; i < p->n_custom; i++) {
        tg_valdet *vd = p->custom[i];
        if (vd->kwgroup < 0)
            continue;
        for (size_t j = 0; j < vd->nkw; j++) {
            uint8_t w = 0;
            while (w < vd->kwlen[j] && tg_isalnum((unsigned char)vd->kw[j][w]))
                w++;
            tmp[k].kw = vd->kw[j];
            tmp[k].len = vd->kwlen[j];
            tmp[k].word = w;
            tmp[k].group = (uint8_t)vd->kwgroup;
            k++;
        }
    }
    /* bucket by first byte (keywords are lower case) */
    memset(p->kwoff, 0, sizeof(p->kwoff));
    for (size_t i = 0; i < k; i++)
        p->kwoff[(unsigned char)tmp[i].kw[0] + 1]++;
    for (int c = 0; c < 256; c++)
        p->kwoff[c + 1] += p->kwoff[c];
    {
        uint16_t pos[256];
        memcpy(pos, p->kwoff, sizeof(pos));
        for (size_t i = 0; i < k; i++) {
            unsigned char c = (unsigned char)tmp[i].kw[0];
            uint32_t w = (uint32_t)1 << (tmp[i].word < 31 ? tmp[i].word : 31);
            p->kwents[pos[c]++] = tmp[i];
            p->scanner.kwwords[c] |= w;
            if (tg_islower(c))
                p->scanner.kwwords[c - 32] |= w;
        }
    }
    p->kwents_n = k;
    tg_scanner_build(&p->scanner, p->used);
    {
        /* phone numbers in national format: the policy's hint, else the
         * site's country */
        const char *r = p->phone_region ? p->phone_region : p->site_country;
        if (r && strlen(r) == 2) {
            p->scanner.region[0] = r[0];
            p->scanner.region[1] = r[1];
            p->scanner.region[2] = '\0';
        }
        /* whole-value national ids: the site's country, else the phone hint */
        r = p->site_country ? p->site_country : p->phone_region;
        if (r && strlen(r) == 2) {
            p->scanner.country[0] = (char)toupper((unsigned char)r[0]);
            p->scanner.country[1] = (char)toupper((unsigned char)r[1]);
            p->scanner.country[2] = '\0';
        }
    }
    return 0;
}

static int compile_detectors(tg_rules_policy *p)
{
    size_t cap_vds = 0, cap_custom = 0;
    size_t n_exact = 0;

    p->det_inst = tg_arena_calloc(&p->arena, tg_n_detectors * sizeof(*p->det_inst));
    p->n_det_inst = tg_arena_calloc(&p->arena, tg_n_detectors * sizeof(*p->n_det_inst));
    if (!p->det_inst || !p->n_det_inst)
        return TG_ENOMEM;
    for (size_t r = 0; r < p->n_rules; r++) {
        tg_rule *ru = &p->rules[r];
        if (ru->has_when)
            p->has_when = 1;
        for (size_t i = 0; i < ru->keys.n; i++) {
            if (ru->keys.v[i].kind == TG_KM_EXACT)
                n_exact++;
        }
        for (size_t v = 0; v < ru->n_values; v++) {
            tg_valdet *vd = ru->values[v];
            p->vds =
                tg_rules__grow(&p->arena, p->vds, sizeof(*p->vds), p->n_vds, &cap_vds);
            if (!p->vds)
                return TG_ENOMEM;
            vd->index = (uint32_t)p->n_vds;
            p->vds[p->n_vds++] = vd;
            if (vd->scope.n)
                p->has_scoped = 1;
            if (vd->builtin >= 0) {
                unsigned id = (unsigned)vd->builtin;
                size_t cap = p->n_det_inst[id];
                tg_valdet **nv = tg_arena_alloc(&p->arena, (cap + 1) * sizeof(*nv));
                if (!nv)
                    return TG_ENOMEM;
                if (cap)
                    memcpy(nv, p->det_inst[id], cap * sizeof(*nv));
                nv[cap] = vd;
                p->det_inst[id] = nv;
                p->n_det_inst[id]++;
                p->used[id >> 6] |= (uint64_t)1 << (id & 63);
                if (!vd->scope.n && !ru->has_when)
                    p->unscoped[id >> 6] |= (uint64_t)1 << (id & 63);
            } else {
                uint32_t req = 0, flags = 0, minlen = 0;
                p->custom = tg_rules__grow(&p->arena, p->custom, sizeof(*p->custom),
                                           p->n_custom, &cap_custom);
                if (!p->custom)
                    return TG_ENOMEM;
                p->custom[p->n_custom++] = vd;
                /* prefilter: a byte every match must contain, and the
                 * shortest match */
                if (pcre2_pattern_info(vd->re_bytes, PCRE2_INFO_LASTCODETYPE, &req) ==
                        0 &&
                    req == 1 &&
                    pcre2_pattern_info(vd->re_bytes, PCRE2_INFO_LASTCODEUNIT, &req) == 0)
                    vd->re_req = (int)req;
                vd->re_first = -1;
                if (pcre2_pattern_info(vd->re_bytes, PCRE2_INFO_FIRSTCODETYPE, &flags) ==
                        0 &&
                    flags == 1 &&
                    pcre2_pattern_info(vd->re_bytes, PCRE2_INFO_FIRSTCODEUNIT, &flags) ==
                        0)
                    vd->re_first = (int)flags;
                if (pcre2_pattern_info(vd->re_bytes, PCRE2_INFO_MINLENGTH, &minlen) == 0)
                    vd->re_minlen = minlen;
            }
        }
    }
    /* exact keys: one table lookup per distinct key */
    p->exact_cap = 16;
    while (p->exact_cap < n_exact * 2)
        p->exact_cap *= 2;
    p->exact = tg_arena_calloc(&p->arena, p->exact_cap * sizeof(*p->exact));
    p->pattern_rules = tg_arena_alloc(&p->arena, (p->n_rules + 1) * sizeof(uint16_t));
    if (!p->exact || !p->pattern_rules)
        return TG_ENOMEM;
    for (size_t r = 0; r < p->n_rules; r++) {
        int patterned = 0;
        for (size_t i = 0; i < p->rules[r].keys.n; i++) {
            tg_keymatch *m = &p->rules[r].keys.v[i];
            if (m->kind == TG_KM_EXACT) {
                int rc = exact_insert(p, m->text, m->len, (uint16_t)r);
                if (rc)
                    return rc;
            } else {
                patterned = 1;
            }
        }
        if (patterned)
            p->pattern_rules[p->n_pattern_rules++] = (uint16_t)r;
    }
    return compile_keywords(p);
}

static int find_key(const tg_rules_policy *p, const char *id)
{
    for (size_t i = 0; i < p->n_keys; i++)
        if (!strcmp(p->keys[i].id, id))
            return (int)i;
    return -1;
}

static int resolve_spec_key(tg_rules_policy *p, tg_action_spec *a, tg_rules_diag *err)
{
    if (a->kind != TG_RULES_HASH)
        return 0;
    if (a->key_id) {
        a->key = find_key(p, a->key_id);
        if (a->key < 0) {
            tg_rules__set_err(err, &a->key_loc,
                              "unknown key '%s' (define it under keys:)", a->key_id);
            return TG_ECONFIG;
        }
        return 0;
    }
    if (p->hash_default_key < 0) {
        tg_rules__set_err(
            err, &a->loc,
            "hash needs a key: define keys: and default_key:, or give key:");
        return TG_ECONFIG;
    }
    a->key = p->hash_default_key;
    return 0;
}

static int class_glob_match(const char *pat, const char *name)
{
    return tg_rules__glob(pat, strlen(pat), name, strlen(name));
}

static const tg_action_spec implicit_redact = {
    .kind = TG_RULES_REDACT,
    .key = -1,
    .keep_last = 4,
    .mask_char = '*',
    .v4_prefix = 24,
    .v6_prefix = 48,
    .time_bucket = 3600,
    .loc = {"(default)", 0, 0},
    .pattern = "(default)",
};

static int compile_dests(tg_rules_policy *p, const tg_rules_options *opt,
                         tg_rules_diag *err)
{
    for (size_t d = 0; d < p->n_dests; d++) {
        tg_dest *ds = &p->dests[d];
        const tg_dest_action *def = NULL;
        int rc;

        ds->by_class = tg_arena_calloc(&p->arena, p->n_classes * sizeof(*ds->by_class));
        if (!ds->by_class)
            return TG_ENOMEM;
        for (size_t a = 0; a < ds->n_actions; a++) {
            tg_dest_action *da = &ds->actions[a];
            if ((rc = resolve_spec_key(p, &da->spec, err)))
                return rc;
            if (!strcmp(da->pattern, "default")) {
                def = da;
                continue;
            }
            if (strpbrk(da->pattern, "*?")) {
                int any = 0;
                for (size_t c = 0; c < p->n_classes; c++)
                    any |= class_glob_match(da->pattern, p->classes[c].name);
                if (!any)
                    warn(opt, &da->spec.loc, "destination '%s': '%s' matches no class",
                         ds->name, da->pattern);
                continue;
            }
            {
                int found = 0;
                for (size_t c = 0; c < p->n_classes; c++)
                    found |= !strcmp(p->classes[c].name, da->pattern);
                if (!found) {
                    tg_rules__set_err(err, &da->spec.loc,
                                      "destination '%s': unknown class '%s'", ds->name,
                                      da->pattern);
                    return TG_ECONFIG;
                }
            }
        }
        if (!def && p->n_classes > 1)
            warn(opt, &ds->loc,
                 "destination '%s' has no 'default' action: classes it does not name are "
                 "redacted",
                 ds->name);
        if (ds->has_on_error && (rc = resolve_spec_key(p, &ds->on_error, err)))
            return rc;
        for (size_t c = 0; c < p->n_classes; c++) {
            const tg_action_spec *best = NULL;
            size_t best_len = 0;
            if (c == p->error_class) {
                ds->by_class[c] = ds->has_on_error ? &ds->on_error : &implicit_redact;
                continue;
            }
            for (size_t a = 0; a < ds->n_actions; a++) {
                const tg_dest_action *da = &ds->actions[a];
                size_t len = strlen(da->pattern);
                if (da == def)
                    continue;
                if (!strcmp(da->pattern, p->classes[c].name)) {
                    best = &da->spec;
                    break;
                }
                if (strpbrk(da->pattern, "*?") &&
                    class_glob_match(da->pattern, p->classes[c].name) && len > best_len) {
                    best = &da->spec;
                    best_len = len;
                }
            }
            if (!best)
                best = def ? &def->spec : &implicit_redact;
            ds->by_class[c] = best;
            if (best->kind == TG_RULES_KEEP_LOCAL)
                tg_cm_set(&ds->keep_mask, (unsigned)c);
            if (best->kind == TG_RULES_PASS)
                tg_cm_set(&ds->pass_mask, (unsigned)c);
        }
    }
    return 0;
}

static void policy_free(tg_rules_policy *p)
{
    if (!p)
        return;
    for (size_t r = 0; r < p->n_rules; r++)
        rule_free(&p->rules[r]);
    for (size_t d = 0; d < p->n_dests; d++)
        for (size_t i = 0; i < p->dests[d].allow.n; i++)
            pcre2_code_free(p->dests[d].allow.v[i].re);
    if (p->mctx)
        pcre2_match_context_free(p->mctx);
    if (p->ccompile)
        pcre2_compile_context_free(p->ccompile);
    if (p->hmac)
        EVP_MAC_free(p->hmac);
    if (p->sha)
        EVP_MD_CTX_free(p->sha);
    free(p->text.p);
    OPENSSL_cleanse(p->keys, p->n_keys * sizeof(*p->keys));
    tg_arena_destroy(&p->arena);
    free(p);
}

tg_rules_policy *tg_rules__policy_new(void)
{
    tg_rules_policy *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    tg_arena_init(&p->arena, 64 * 1024, 0);
    p->sha = EVP_MD_CTX_new();
    p->ccompile = pcre2_compile_context_create(NULL);
    if (!p->sha || !p->ccompile || EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL) != 1) {
        policy_free(p);
        return NULL;
    }
    /* bound what a pattern may cost to compile */
    pcre2_set_parens_nest_limit(p->ccompile, 64);
    pcre2_set_max_pattern_length(p->ccompile, 8192);
    p->hash_default_key = -1;
    return p;
}

int tg_rules__finalize(tg_rules_policy *p, const tg_rules_options *opt,
                       tg_rules_diag *err)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    int rc;

    if (!p->max_depth)
        p->max_depth = 64;
    if (!p->match_limit)
        p->match_limit = 1000000;
    if (!p->max_findings)
        p->max_findings = 1000000;
    compact_rules(p);
    if ((rc = add_error_class(p)))
        return rc;
    if ((rc = compile_detectors(p)))
        return rc;
    for (size_t k = 0; k < p->n_keys; k++)
        if ((rc = load_key(p, &p->keys[k], opt, err)))
            return rc;
    if (p->default_key) {
        p->hash_default_key = find_key(p, p->default_key);
        if (p->hash_default_key < 0) {
            tg_rules__set_err(
                err, &p->default_key_loc,
                "default_key '%s' is not defined under keys:", p->default_key);
            return TG_ECONFIG;
        }
    } else if (p->n_keys == 1) {
        p->hash_default_key = 0;
    }
    if ((rc = compile_dests(p, opt, err)))
        return rc;
    if (p->n_classes <= 1 && p->n_dests)
        warn(opt, &p->dests[0].loc,
             "destinations are defined but no classes: nothing is classified");

    p->mctx = pcre2_match_context_create(NULL);
    p->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!p->mctx || !p->hmac)
        return TG_ENOMEM;
    pcre2_set_match_limit(p->mctx, p->match_limit);
    pcre2_set_depth_limit(p->mctx, p->match_limit / 10 + 100);

    p->counts =
        tg_arena_calloc(&p->arena, (p->n_dests ? p->n_dests : 1) * p->n_classes *
                                       TG_RULES_ACTION_COUNT * sizeof(*p->counts));
    if (!p->counts)
        return TG_ENOMEM;

    /* keys enter the version by id and fingerprint, never by value */
    for (size_t k = 0; k < p->n_keys; k++) {
        unsigned char fp[32];
        unsigned int fl = 0;
        EVP_DigestUpdate(p->sha, p->keys[k].id, strlen(p->keys[k].id) + 1);
        if (p->keys[k].ephemeral) {
            /* a dry run's stand-in key: keep the version stable */
            EVP_DigestUpdate(p->sha, "ephemeral", 9);
            continue;
        }
        EVP_Digest(p->keys[k].key, p->keys[k].len, fp, &fl, EVP_sha256(), NULL);
        EVP_DigestUpdate(p->sha, fp, fl);
    }
    if (EVP_DigestFinal_ex(p->sha, md, &mdlen) != 1)
        return TG_ENOMEM;
    memcpy(p->version, "sha256:", 7);
    tg_hex_encode(md, mdlen < 32 ? mdlen : 32, p->version + 7);
    EVP_MD_CTX_free(p->sha);
    p->sha = NULL;
    return 0;
}

tg_rules_policy *tg_rules_policy_load(const char *const *paths, size_t n,
                                      const tg_rules_options *opt, tg_rules_diag *err)
{
    tg_rules_policy *p = tg_rules__policy_new();
    void *seen = tg_rules__seen_new();
    int rc = 0;

    if (err)
        memset(err, 0, sizeof(*err));
    if (!p || !seen) {
        tg_rules__set_err(err, NULL, "out of memory");
        tg_rules__seen_free(seen);
        policy_free(p);
        return NULL;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = tg_rules__load_path(p, paths[i], opt, err, seen);
    tg_rules__seen_free(seen);
    if (!rc)
        rc = tg_rules__finalize(p, opt, err);
    if (rc) {
        if (err && !err->message[0])
            tg_rules__set_err(err, NULL, "%s", tg_strerror(rc));
        policy_free(p);
        return NULL;
    }
    return p;
}

tg_rules_policy *tg_rules_policy_load_sources(const tg_rules_source *src, size_t n,
                                              const tg_rules_options *opt,
                                              tg_rules_diag *err)
{
    tg_rules_policy *p = tg_rules__policy_new();
    void *seen = tg_rules__seen_new();
    int rc = 0;

    if (err)
        memset(err, 0, sizeof(*err));
    if (!p || !seen) {
        tg_rules__set_err(err, NULL, "out of memory");
        tg_rules__seen_free(seen);
        policy_free(p);
        return NULL;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name =
            tg_arena_strndup(&p->arena, src[i].name ? src[i].name : "<memory>",
                             strlen(src[i].name ? src[i].name : "<memory>"));
        rc = name ? tg_rules__load_text(p, name, ".", src[i].text, src[i].len, opt, err,
                                        0, seen)
                  : TG_ENOMEM;
    }
    tg_rules__seen_free(seen);
    if (!rc)
        rc = tg_rules__finalize(p, opt, err);
    if (rc) {
        if (err && !err->message[0])
            tg_rules__set_err(err, NULL, "%s", tg_strerror(rc));
        policy_free(p);
        return NULL;
    }
    return p;
}

tg_rules_policy *tg_rules_policy_ref(tg_rules_policy *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void tg_rules_policy_unref(tg_rules_policy *p)
{
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        policy_free(p);
}

const char *tg_rules_policy_version(const tg_rules_policy *p)
{
    return p->version;
}

const char *tg_rules_policy_text(const tg_rules_policy *p, size_t *len)
{
    *len = p->text.oom ? 0 : p->text.len;
    return p->text.oom || !p->text.p ? "" : p->text.p;
}

const char *tg_rules_default_path(void)
{
    static char path[4096];
    const char *env = getenv("TOLLGATE_RULES_DIR");
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');

    if (env && *env) {
        snprintf(path, sizeof(path), "%s/default.yaml", env);
        return path;
    }
    /* the rules/ directory this library was built from */
    if (slash) {
        snprintf(path, sizeof(path), "%.*s/default.yaml", (int)(slash - here), here);
        if (access(path, R_OK) == 0)
            return path;
    }
    return "/usr/share/tollgate/rules/default.yaml";
}

/* ---- introspection --------------------------------------------------------------------
 */

static const char *nz(const char *s)
{
    return s ? s : "";
}

void tg_rules_site(const tg_rules_policy *p, tg_rules_site_info *out)
{
    out->name = nz(p->site_name);
    out->country = nz(p->site_country);
    out->region = nz(p->site_region);
}

size_t tg_rules_n_classes(const tg_rules_policy *p)
{
    return p->n_classes;
}

int tg_rules_class(const tg_rules_policy *p, size_t i, tg_rules_class_info *out)
{
    if (i >= p->n_classes)
        return TG_EINVAL;
    out->name = p->classes[i].name;
    out->description = nz(p->classes[i].description);
    out->regulation = nz(p->classes[i].regulation);
    out->legal_basis = nz(p->classes[i].legal_basis);
    out->retention_sec = p->classes[i].retention;
    return 0;
}

size_t tg_rules_n_destinations(const tg_rules_policy *p)
{
    return p->n_dests;
}

int tg_rules_destination(const tg_rules_policy *p, size_t i,
                         tg_rules_destination_info *out)
{
    if (i >= p->n_dests)
        return TG_EINVAL;
    out->name = p->dests[i].name;
    out->country = nz(p->dests[i].country);
    out->region = nz(p->dests[i].region);
    out->purpose = nz(p->dests[i].purpose);
    return 0;
}

int tg_rules_destination_index(const tg_rules_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_dests; i++)
        if (!strcmp(p->dests[i].name, name))
            return (int)i;
    return TG_ENOT_FOUND;
}

enum tg_rules_action tg_rules_action_for(const tg_rules_policy *p, size_t dest,
                                         size_t cls)
{
    if (dest >= p->n_dests || cls >= p->n_classes)
        return TG_RULES_KEEP_LOCAL;
    return (enum tg_rules_action)p->dests[dest].by_class[cls]->kind;
}

/* ---- the swap slot
 * ---------------------------------------------------------------------- */

struct tg_rules_slot {
    pthread_mutex_t mu;
    tg_rules_policy *cur;
};

tg_rules_slot *tg_rules_slot_create(tg_rules_policy *initial)
{
    tg_rules_slot *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->cur = tg_rules_policy_ref(initial);
    return s;
}

void tg_rules_slot_destroy(tg_rules_slot *s)
{
    if (!s)
        return;
    tg_rules_policy_unref(s->cur);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A mutex, not a bare atomic pointer: loading the pointer and taking the
 * reference must be one step, or a swap in between could free the policy
 * under the reader. The critical section is two instructions. */
tg_rules_policy *tg_rules_slot_acquire(tg_rules_slot *s)
{
    tg_rules_policy *p;

    pthread_mutex_lock(&s->mu);
    p = tg_rules_policy_ref(s->cur);
    pthread_mutex_unlock(&s->mu);
    return p;
}

void tg_rules_slot_swap(tg_rules_slot *s, tg_rules_policy *p)
{
    tg_rules_policy *old;

    tg_rules_policy_ref(p);
    pthread_mutex_lock(&s->mu);
    old = s->cur;
    s->cur = p;
    pthread_mutex_unlock(&s->mu);
    tg_rules_policy_unref(old);
}

/* ---- counters
 * ------------------------------------------------------------------------------ */

void tg_rules_counts_foreach(const tg_rules_policy *p,
                             void (*cb)(void *ctx, const char *dest, const char *cls,
                                        const char *action, uint64_t n),
                             void *ctx)
{
    for (size_t d = 0; d < p->n_dests; d++)
        for (size_t c = 0; c < p->n_classes; c++)
            for (unsigned a = 0; a < TG_RULES_ACTION_COUNT; a++) {
                uint64_t v = atomic_load_explicit(
                    &p->counts[(d * p->n_classes + c) * TG_RULES_ACTION_COUNT + a],
                    memory_order_relaxed);
                if (v)
                    cb(ctx, p->dests[d].name, p->classes[c].name,
                       tg_rules_action_name((enum tg_rules_action)a), v);
            }
}

void tg_rules_counts_inherit(tg_rules_policy *p, const tg_rules_policy *old)
{
    if (!p || !old)
        return;
    for (size_t od = 0; od < old->n_dests; od++) {
        int nd = tg_rules_destination_index(p, old->dests[od].name);
        if (nd < 0)
            continue;
        for (size_t oc = 0; oc < old->n_classes; oc++) {
            size_t nc;
            for (nc = 0; nc < p->n_classes; nc++)
                if (!strcmp(p->classes[nc].name, old->classes[oc].name))
                    break;
            if (nc == p->n_classes)
                continue;
            for (unsigned a = 0; a < TG_RULES_ACTION_COUNT; a++) {
                uint64_t v = atomic_load_explicit(
                    &old->counts[(od * old->n_classes + oc) * TG_RULES_ACTION_COUNT + a],
                    memory_order_relaxed);
                if (v)
                    atomic_fetch_add_explicit(
                        &p->counts[((size_t)nd * p->n_classes + nc) *
                                       TG_RULES_ACTION_COUNT +
                                   a],
                        v, memory_order_relaxed);
            }
        }
    }
}
