/* Actions: what a matched value becomes on its way out.
 *
 *   redact      [REDACTED:<class>], or the action's / class's text
 *   mask        keep the first/last N characters, mask the rest (separators
 *               kept so the shape stays readable: ****-****-****-1111)
 *   hash        hmac-sha256:<key id>:<hex>, over a normalised form of the
 *               match (digits of a card number, lower-cased e-mail) so the
 *               same value in two layouts joins; the key id lets keys rotate
 *   generalise  IPv4 to /24, IPv6 to /48, numbers to ranges, dates to the
 *               year, timestamps to buckets, e-mail to its domain; a value
 *               with no generaliser is redacted instead (fail closed)
 *   drop        nothing (the caller removes the field or the matched text)
 *
 * Mask never keeps the whole value: if first+last would cover it, all of it
 * is masked. */
#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>

#include "rules_int.h"
#include "tg_codec.h"

static void redact(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                   tg_strbuf *out)
{
    const tg_class *c = &ac->p->classes[cls];

    if (spec->text) {
        tg_strbuf_put(out, spec->text, spec->text_len);
    } else if (c->redact_text) {
        tg_strbuf_put(out, c->redact_text, strlen(c->redact_text));
    } else {
        tg_strbuf_put(out, "[REDACTED:", 10);
        tg_strbuf_put(out, c->name, strlen(c->name));
        tg_strbuf_putc(out, ']');
    }
}

/* Length of the UTF-8 character at s (1 for stray bytes). */
static size_t u8len(const unsigned char *s, size_t n)
{
    size_t k = 1;
    if (s[0] >= 0xf0)
        k = 4;
    else if (s[0] >= 0xe0)
        k = 3;
    else if (s[0] >= 0xc0)
        k = 2;
    return k <= n ? k : 1;
}

static int maskable(unsigned char c)
{
    return tg_isalnum(c) || c >= 0x80;
}

static void mask(const tg_action_spec *spec, const char *s, size_t n, tg_strbuf *out)
{
    size_t units = 0, idx = 0, keep_first = spec->keep_first, keep_last = spec->keep_last;

    for (size_t i = 0; i < n;) {
        size_t k = u8len((const unsigned char *)s + i, n - i);
        units += maskable((unsigned char)s[i]);
        i += k;
    }
    if (keep_first + keep_last >= units)
        keep_first = keep_last = 0;
    for (size_t i = 0; i < n;) {
        size_t k = u8len((const unsigned char *)s + i, n - i);
        if (!maskable((unsigned char)s[i])) {
            tg_strbuf_put(out, s + i, k);
        } else {
            idx++;
            if (idx <= keep_first || idx > units - keep_last)
                tg_strbuf_put(out, s + i, k);
            else
                tg_strbuf_putc(out, spec->mask_char);
        }
        i += k;
    }
}

static int hmac(tg_act_ctx *ac, const tg_action_spec *spec, unsigned det, const char *s,
                size_t n, tg_strbuf *out)
{
    const tg_hkey *key;
    unsigned char mac[32];
    size_t macl = 0;
    char norm[512];
    const char *in = s;
    size_t inl = n;
    int kind = det < tg_n_detectors ? tg_detectors[det]->norm : TG_NORM_NONE;
    OSSL_PARAM params[2];

    if (spec->key < 0 || (size_t)spec->key >= ac->p->n_keys)
        return TG_EINVAL;
    key = &ac->p->keys[spec->key];
    if (kind != TG_NORM_NONE && n < sizeof(norm)) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (kind == TG_NORM_DIGITS && tg_isdigit(c))
                norm[k++] = (char)c;
            else if (kind == TG_NORM_LOWER)
                norm[k++] = (char)tg_lower(c);
            else if (kind == TG_NORM_ALNUM_UPPER && tg_isalnum(c))
                norm[k++] = (char)(tg_islower(c) ? c - 32 : c);
        }
        in = norm;
        inl = k;
    }
    if (!ac->mac_ctx) {
        ac->mac_ctx = EVP_MAC_CTX_new(ac->p->hmac);
        if (!ac->mac_ctx)
            return TG_ENOMEM;
        ac->mac_key = -1;
    }
    if (ac->mac_key != spec->key) {
        /* digest lookup and keying once per key per view, not per value */
        params[0] =
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_MAC_init(ac->mac_ctx, key->key, key->len, params) != 1)
            return TG_ENOMEM;
        ac->mac_key = spec->key;
    } else if (EVP_MAC_init(ac->mac_ctx, NULL, 0, NULL) != 1) {
        return TG_ENOMEM;
    }
    if (EVP_MAC_update(ac->mac_ctx, (const unsigned char *)in, inl) != 1 ||
        EVP_MAC_final(ac->mac_ctx, mac, &macl, sizeof(mac)) != 1)
        return TG_ENOMEM;
    tg_strbuf_put(out, "hmac-sha256:", 12);
    tg_strbuf_put(out, key->id, strlen(key->id));
    tg_strbuf_putc(out, ':');
    {
        char h[65];
        tg_hex_encode(mac, macl < 32 ? macl : 32, h);
        tg_strbuf_put(out, h, 2 * (macl < 32 ? macl : 32));
    }
    return 0;
}

/* ---- generalise ----------------------------------------------------------------------
 */

static int gen_ipv4(const tg_action_spec *spec, const char *s, size_t n, tg_strbuf *out)
{
    char buf[64];
    struct in_addr a;
    uint32_t v, m;

    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    v = ntohl(a.s_addr);
    m = spec->v4_prefix ? ~(uint32_t)0 << (32 - spec->v4_prefix) : 0;
    v &= m;
    tg_strbuf_printf(out, "%u.%u.%u.%u/%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255,
                     v & 255, spec->v4_prefix);
    return 0;
}

static int gen_ipv6(const tg_action_spec *spec, const char *s, size_t n, tg_strbuf *out)
{
    char buf[64];
    unsigned char a[16];

    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, a) != 1)
        return -1;
    for (unsigned bit = spec->v6_prefix; bit < 128; bit++)
        a[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    if (!inet_ntop(AF_INET6, a, buf, sizeof(buf)))
        return -1;
    tg_strbuf_printf(out, "%s/%u", buf, spec->v6_prefix);
    return 0;
}

static int gen_email(const char *s, size_t n, tg_strbuf *out)
{
    const char *at = memchr(s, '@', n);
    if (!at)
        return -1;
    tg_strbuf_put(out, "*@", 2);
    for (const char *p = at + 1; p < s + n; p++)
        tg_strbuf_putc(out, (char)tg_lower((unsigned char)*p));
    return 0;
}

static int gen_year(const char *s, size_t n, tg_strbuf *out)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        int ok = 1;
        for (size_t k = 0; k < 4; k++)
            ok &= tg_isdigit((unsigned char)s[i + k]);
        if (ok && (i + 4 == n || !tg_isdigit((unsigned char)s[i + 4])) &&
            (i == 0 || !tg_isdigit((unsigned char)s[i - 1]))) {
            tg_strbuf_put(out, s + i, 4);
            return 0;
        }
    }
    return -1;
}

static int gen_phone(const char *s, size_t n, tg_strbuf *out)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (tg_isdigit((unsigned char)s[i]))
            tg_strbuf_putc(out, ++digits <= 4 ? s[i] : 'X');
        else
            tg_strbuf_putc(out, s[i]);
    }
    return digits ? 0 : -1;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0;

    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= n || n - i > 18)
        return -1;
    for (; i < n; i++) {
        if (!tg_isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int gen_number(const tg_action_spec *spec, const char *s, size_t n, tg_strbuf *out)
{
    int64_t v, step, lo;
    size_t digits = 0;

    if (parse_i64(s, n, &v) != 0)
        return -1;
    if (spec->step) {
        step = (int64_t)spec->step;
    } else {
        int64_t a = v < 0 ? -v : v;
        step = 1;
        while (a >= 10) {
            a /= 10;
            step *= 10;
            digits++;
        }
        if (step < 10)
            step = 10;
    }
    lo = v >= 0 ? v / step * step : -((-v + step - 1) / step) * step;
    tg_strbuf_printf(out, "%lld-%lld", (long long)lo, (long long)(lo + step - 1));
    (void)digits;
    return 0;
}

/* "2024-03-05T14:23:11.5Z" to the start of its bucket. */
static int gen_iso_time(const tg_action_spec *spec, const char *s, size_t n,
                        tg_strbuf *out)
{
    const char *tz;
    size_t keep;

    if (n < 10 || !tg_isdigit((unsigned char)s[0]) || s[4] != '-' || s[7] != '-')
        return -1;
    if (spec->time_bucket >= 86400 || n < 16 || (s[10] != 'T' && s[10] != ' ')) {
        tg_strbuf_put(out, s, 10);
        return 0;
    }
    keep = spec->time_bucket >= 3600 ? 13 : 16;
    tg_strbuf_put(out, s, keep);
    tg_strbuf_put(out, keep == 13 ? ":00:00" : ":00", keep == 13 ? 6 : 3);
    tz = NULL;
    for (size_t i = 19; i < n; i++)
        if (s[i] == 'Z' || s[i] == '+' || s[i] == '-') {
            tz = s + i;
            break;
        }
    if (tz)
        tg_strbuf_put(out, tz, (size_t)(s + n - tz));
    return 0;
}

static int looks_ipv4(const char *s, size_t n)
{
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (!tg_isdigit((unsigned char)s[i]))
            return 0;
    }
    return dots == 3;
}

static int generalise(tg_act_ctx *ac, const tg_action_spec *spec, unsigned det,
                      const char *s, size_t n, int whole_type, tg_strbuf *out)
{
    int gen = det < tg_n_detectors ? tg_detectors[det]->gen : TG_GEN_NONE;
    size_t mark = out->len;
    int rc = -1;

    (void)ac;
    switch (gen) {
    case TG_GEN_IPV4:
        rc = gen_ipv4(spec, s, n, out);
        break;
    case TG_GEN_IPV6:
        rc = gen_ipv6(spec, s, n, out);
        break;
    case TG_GEN_EMAIL:
        rc = gen_email(s, n, out);
        break;
    case TG_GEN_DATE:
        rc = gen_year(s, n, out);
        break;
    case TG_GEN_PHONE:
        rc = gen_phone(s, n, out);
        break;
    case TG_GEN_NUMBER:
        rc = gen_number(spec, s, n, out);
        break;
    default:
        /* a whole value decided by its key: infer from the value */
        if (whole_type == 3 || whole_type == 4) /* int, double */
            rc = gen_number(spec, s, n, out);
        else if (looks_ipv4(s, n))
            rc = gen_ipv4(spec, s, n, out);
        else if (memchr(s, ':', n) && gen_ipv6(spec, s, n, out) == 0)
            rc = 0;
        else if (gen_iso_time(spec, s, n, out) == 0)
            rc = 0;
        else if (memchr(s, '@', n))
            rc = gen_email(s, n, out);
        else
            rc = gen_number(spec, s, n, out);
    }
    if (rc != 0)
        out->len = mark;
    return rc;
}

/* ---- the descriptors ------------------------------------------------------------------
 */

static int apply_pass(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                      unsigned det, const char *s, size_t n, int whole_type,
                      tg_strbuf *out)
{
    (void)ac, (void)spec, (void)cls, (void)det, (void)whole_type;
    tg_strbuf_put(out, s, n);
    return 0;
}

static int apply_generalise(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                            unsigned det, const char *s, size_t n, int whole_type,
                            tg_strbuf *out)
{
    if (generalise(ac, spec, det, s, n, whole_type, out) != 0)
        redact(ac, spec, cls, out); /* nothing to generalise: fail closed */
    return 0;
}

static int apply_mask(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                      unsigned det, const char *s, size_t n, int whole_type,
                      tg_strbuf *out)
{
    (void)ac, (void)cls, (void)det, (void)whole_type;
    mask(spec, s, n, out);
    return 0;
}

static int apply_hash(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                      unsigned det, const char *s, size_t n, int whole_type,
                      tg_strbuf *out)
{
    (void)cls, (void)whole_type;
    return hmac(ac, spec, det, s, n, out);
}

static int apply_redact(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                        unsigned det, const char *s, size_t n, int whole_type,
                        tg_strbuf *out)
{
    (void)det, (void)s, (void)n, (void)whole_type;
    redact(ac, spec, cls, out);
    return 0;
}

static const char *const generalise_aliases[] = {"generalize", NULL};
static const char *const mask_aliases[] = {"partial-mask", NULL};
static const char *const keep_local_aliases[] = {"keep_local", NULL};

static const tg_action_desc act_pass = {"pass", NULL, TG_RULES_PASS, apply_pass};
static const tg_action_desc act_generalise = {"generalise", generalise_aliases,
                                              TG_RULES_GENERALISE, apply_generalise};
static const tg_action_desc act_mask = {"mask", mask_aliases, TG_RULES_MASK, apply_mask};
static const tg_action_desc act_hash = {"hash", NULL, TG_RULES_HASH, apply_hash};
static const tg_action_desc act_redact = {"redact", NULL, TG_RULES_REDACT, apply_redact};
static const tg_action_desc act_drop = {"drop", NULL, TG_RULES_DROP, NULL};
static const tg_action_desc act_keep_local = {"keep-local", keep_local_aliases,
                                              TG_RULES_KEEP_LOCAL, NULL};

/* The one list, least restrictive first. */
static const tg_action_desc *const tg_actions[TG_RULES_ACTION_COUNT] = {
    [TG_RULES_PASS] = &act_pass,
    [TG_RULES_GENERALISE] = &act_generalise,
    [TG_RULES_MASK] = &act_mask,
    [TG_RULES_HASH] = &act_hash,
    [TG_RULES_REDACT] = &act_redact,
    [TG_RULES_DROP] = &act_drop,
    [TG_RULES_KEEP_LOCAL] = &act_keep_local,
};

#define SPEC_AT(field) offsetof(tg_action_spec, field)

const tg_action_param tg_action_params[] = {
    {"text", TG_RULES_REDACT, TG_AP_TEXT, 0, 0, 256, 0},
    {"key", TG_RULES_HASH, TG_AP_KEY, 0, 0, 0, 0},
    {"keep_first", TG_RULES_MASK, TG_AP_UINT, SPEC_AT(keep_first), 0, 64, 0},
    {"keep_last", TG_RULES_MASK, TG_AP_UINT, SPEC_AT(keep_last), 0, 64, 4},
    {"char", TG_RULES_MASK, TG_AP_CHAR, 0, 0, 0, '*'},
    {"ipv4_prefix", TG_RULES_GENERALISE, TG_AP_UINT, SPEC_AT(v4_prefix), 0, 32, 24},
    {"ipv6_prefix", TG_RULES_GENERALISE, TG_AP_UINT, SPEC_AT(v6_prefix), 0, 128, 48},
    {"step", TG_RULES_GENERALISE, TG_AP_U64, SPEC_AT(step), 1, UINT64_MAX / 4, 0},
    {"time_bucket", TG_RULES_GENERALISE, TG_AP_DURATION, SPEC_AT(time_bucket), 0, 0,
     3600},
    {NULL, 0, 0, 0, 0, 0, 0},
};

const tg_action_desc *tg_rules__action_find(const char *name)
{
    for (size_t k = 0; k < TG_RULES_ACTION_COUNT; k++) {
        const tg_action_desc *d = tg_actions[k];
        if (!strcmp(name, d->name))
            return d;
        for (const char *const *a = d->aliases; a && *a; a++)
            if (!strcmp(name, *a))
                return d;
    }
    return NULL;
}

const tg_action_param *tg_rules__action_param(const char *name)
{
    for (const tg_action_param *pa = tg_action_params; pa->name; pa++)
        if (!strcmp(name, pa->name))
            return pa;
    return NULL;
}

void tg_rules__action_defaults(tg_action_spec *a)
{
    memset(a, 0, sizeof(*a));
    a->key = -1;
    for (const tg_action_param *pa = tg_action_params; pa->name; pa++) {
        if (pa->type == TG_AP_CHAR)
            a->mask_char = (char)pa->def;
        else if (pa->type == TG_AP_UINT)
            *(unsigned *)((char *)a + pa->offset) = (unsigned)pa->def;
        else if (pa->type == TG_AP_U64 || pa->type == TG_AP_DURATION)
            *(uint64_t *)((char *)a + pa->offset) = pa->def;
    }
}

const char *tg_rules_action_name(enum tg_rules_action a)
{
    return (unsigned)a < TG_RULES_ACTION_COUNT ? tg_actions[a]->name : "?";
}

int tg_rules__apply(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                    unsigned det, const char *s, size_t n, int whole_type, tg_strbuf *out)
{
    const tg_action_desc *d =
        spec->kind < TG_RULES_ACTION_COUNT ? tg_actions[spec->kind] : NULL;
    int rc = 0;

    if (d && d->apply)
        rc = d->apply(ac, spec, cls, det, s, n, whole_type, out);
    if (out->oom)
        return TG_ENOMEM;
    return rc;
}
