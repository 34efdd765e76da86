/* Keeping a classification with the raw data it describes.
 *
 * The local store keeps raw values; to build an egress view later (or to
 * apply per-class retention) it should not scan them again. A stored
 * classification names each finding by the ordinal of its place in the
 * classification walk (the walk is deterministic for a given message), so
 * decoding walks the re-decoded message once, without scanning, and
 * re-attaches the findings to the new addresses. It is only valid under
 * the policy that produced it: the policy version is part of the record.
 *
 * Layout (little endian): "TGRC", u8 format (1), u8 version length, the
 * version text, u32 finding count, then per finding: u32 ordinal, u32
 * start, u32 end, u16 class, u16 rule, u16 detector, u16 flags. */
#include <string.h>

#include "rules_int.h"

#define FMT 1
#define REC 20

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

int tg_rules_classification_encode(const tg_rules_classification *c, tg_arena *arena,
                                   uint8_t **out, size_t *len)
{
    const char *ver = c->policy->version;
    size_t vl = strlen(ver), n = 4 + 1 + 1 + vl + 4 + c->n_findings * REC;
    uint8_t *b = tg_arena_alloc(arena, n), *p;

    if (!b)
        return TG_ENOMEM;
    memcpy(b, "TGRC", 4);
    b[4] = FMT;
    b[5] = (uint8_t)vl;
    memcpy(b + 6, ver, vl);
    p = b + 6 + vl;
    put32(p, (uint32_t)c->n_findings);
    p += 4;
    for (size_t i = 0; i < c->n_findings; i++, p += REC) {
        const tg_finding *f = &c->findings[i];
        put32(p, f->ordinal);
        put32(p + 4, f->start);
        put32(p + 8, f->end);
        put16(p + 12, f->cls);
        put16(p + 14, f->rule);
        put16(p + 16, f->det);
        put16(p + 18, f->flags);
    }
    *out = b;
    *len = n;
    return 0;
}

int tg_rules_classification_decode(const tg_rules_policy *p, const ProtobufCMessage *msg,
                                   const uint8_t *data, size_t len, tg_arena *arena,
                                   tg_rules_classification **out)
{
    size_t vl, n;
    const uint8_t *q;
    tg_finding *f;

    *out = NULL;
    if (len < 6 || memcmp(data, "TGRC", 4) || data[4] != FMT)
        return TG_EPARSE;
    vl = data[5];
    if (len < 6 + vl + 4)
        return TG_EPARSE;
    if (vl != strlen(p->version) || memcmp(data + 6, p->version, vl))
        return TG_EVERSION;
    q = data + 6 + vl;
    n = get32(q);
    q += 4;
    if (n > p->max_findings || (size_t)(data + len - q) != n * REC)
        return TG_EPARSE;
    f = tg_arena_alloc(arena, (n ? n : 1) * sizeof(*f));
    if (!f)
        return TG_ENOMEM;
    for (size_t i = 0; i < n; i++, q += REC) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].ordinal = get32(q);
        f[i].start = get32(q + 4);
        f[i].end = get32(q + 8);
        f[i].cls = get16(q + 12);
        f[i].rule = get16(q + 14);
        f[i].det = get16(q + 16);
        f[i].flags = get16(q + 18);
        if (f[i].cls >= p->n_classes || (i && f[i].ordinal < f[i - 1].ordinal) ||
            f[i].start > f[i].end)
            return TG_EPARSE;
        if (f[i].det != TG_DET_KEY && f[i].det != TG_DET_ERROR &&
            !(f[i].det & TG_DET_CUSTOM) && f[i].det >= tg_n_detectors)
            return TG_EPARSE;
        if ((f[i].det & TG_DET_CUSTOM) && f[i].det != TG_DET_KEY &&
            f[i].det != TG_DET_ERROR && (f[i].det & ~TG_DET_CUSTOM) >= p->n_custom)
            return TG_EPARSE;
        if (f[i].det != TG_DET_ERROR && f[i].rule >= p->n_rules)
            return TG_EPARSE;
    }
    return tg_rules__classify(p, msg, arena, f, n, out);
}
