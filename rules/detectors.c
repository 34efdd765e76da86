/* The built-in detector registry and the single-pass scanner.
 *
 * Why a hand-written scanner rather than one big regex: telemetry text is
 * mostly clean, and a clean string should cost one table lookup per byte.
 * The scanner walks the text once, splitting it into alphanumeric runs.
 * At the start of each run (and at a few punctuation bytes such as '@' or
 * '+') it consults a per-byte dispatch table built from the detectors the
 * policy uses: a lower-case word like "checkout" reaches at most a handful of
 * detectors that reject it on their first byte or on the run length. Digit
 * runs additionally get the "numeric token" length once (digits joined by
 * single separators), so only detectors whose length window fits are
 * called. Extended tokens ([A-Za-z0-9_+/-]) that mix upper case, lower case
 * and digits go to the token detectors (generic secrets). Detectors parse
 * from the trigger with bounded look-ahead and validate checksums; only a
 * candidate that survives all of that reaches the caller's emit callback. */
#include <string.h>

#include "rules_int.h"

extern const tg_detector tg_det_credit_card, tg_det_iban, tg_det_aba_routing,
    tg_det_swift_bic, tg_det_email, tg_det_phone_e164, tg_det_phone_national, tg_det_ipv4,
    tg_det_ipv6, tg_det_mac_address, tg_det_url_credentials, tg_det_imei, tg_det_vin,
    tg_det_date_of_birth, tg_det_sql_literal, tg_det_us_ssn, tg_det_us_itin,
    tg_det_us_npi, tg_det_us_dea, tg_det_us_mbi, tg_det_uk_nhs, tg_det_uk_nino,
    tg_det_de_tax_id, tg_det_de_svnr, tg_det_fr_nir, tg_det_es_dni, tg_det_es_nie,
    tg_det_it_codice_fiscale, tg_det_nl_bsn, tg_det_pl_pesel, tg_det_pl_nip,
    tg_det_pt_nif, tg_det_se_personnummer, tg_det_fi_hetu, tg_det_no_fnr, tg_det_dk_cpr,
    tg_det_in_aadhaar, tg_det_in_pan, tg_det_br_cpf, tg_det_br_cnpj, tg_det_ca_sin,
    tg_det_be_nrn, tg_det_cn_resident_id, tg_det_sg_nric, tg_det_au_tfn,
    tg_det_au_medicare, tg_det_ch_ahv, tg_det_ie_pps, tg_det_icd10,
    tg_det_aws_access_key_id, tg_det_aws_secret_key, tg_det_github_token,
    tg_det_gitlab_token, tg_det_npm_token, tg_det_jwt, tg_det_pem_private_key,
    tg_det_bearer_token, tg_det_basic_auth, tg_det_slack_token, tg_det_slack_webhook,
    tg_det_stripe_key, tg_det_google_api_key, tg_det_openai_api_key,
    tg_det_anthropic_api_key, tg_det_sendgrid_key, tg_det_secret_assignment,
    tg_det_generic_secret, tg_det_ee_isikukood, tg_det_ro_cnp, tg_det_cz_rodne_cislo,
    tg_det_tr_tckn, tg_det_za_id, tg_det_hr_oib, tg_det_kr_rrn, tg_det_datadog_api_key,
    tg_det_datadog_app_key, tg_det_person_name, tg_det_street_address;

/* The one list of built-in detectors; a policy names them by `name`. */
const tg_detector *const tg_detectors[] = {
    /* payment and banking */
    &tg_det_credit_card,
    &tg_det_iban,
    &tg_det_aba_routing,
    &tg_det_swift_bic,
    /* contact, network, device */
    &tg_det_email,
    &tg_det_phone_e164,
    &tg_det_phone_national,
    &tg_det_ipv4,
    &tg_det_ipv6,
    &tg_det_mac_address,
    &tg_det_url_credentials,
    &tg_det_imei,
    &tg_det_vin,
    &tg_det_date_of_birth,
    &tg_det_sql_literal,
    /* national identifiers */
    &tg_det_us_ssn,
    &tg_det_us_itin,
    &tg_det_us_npi,
    &tg_det_us_dea,
    &tg_det_us_mbi,
    &tg_det_uk_nhs,
    &tg_det_uk_nino,
    &tg_det_de_tax_id,
    &tg_det_de_svnr,
    &tg_det_fr_nir,
    &tg_det_es_dni,
    &tg_det_es_nie,
    &tg_det_it_codice_fiscale,
    &tg_det_nl_bsn,
    &tg_det_pl_pesel,
    &tg_det_pl_nip,
    &tg_det_pt_nif,
    &tg_det_se_personnummer,
    &tg_det_fi_hetu,
    &tg_det_no_fnr,
    &tg_det_dk_cpr,
    &tg_det_in_aadhaar,
    &tg_det_in_pan,
    &tg_det_br_cpf,
    &tg_det_br_cnpj,
    &tg_det_ca_sin,
    &tg_det_be_nrn,
    &tg_det_cn_resident_id,
    &tg_det_sg_nric,
    &tg_det_au_tfn,
    &tg_det_au_medicare,
    &tg_det_ch_ahv,
    &tg_det_ie_pps,
    &tg_det_ee_isikukood,
    &tg_det_ro_cnp,
    &tg_det_cz_rodne_cislo,
    &tg_det_tr_tckn,
    &tg_det_za_id,
    &tg_det_hr_oib,
    &tg_det_kr_rrn,
    &tg_det_person_name,
    &tg_det_street_address,
    /* health */
    &tg_det_icd10,
    /* secrets */
    &tg_det_aws_access_key_id,
    &tg_det_aws_secret_key,
    &tg_det_github_token,
    &tg_det_gitlab_token,
    &tg_det_npm_token,
    &tg_det_jwt,
    &tg_det_pem_private_key,
    &tg_det_bearer_token,
    &tg_det_basic_auth,
    &tg_det_slack_token,
    &tg_det_slack_webhook,
    &tg_det_stripe_key,
    &tg_det_google_api_key,
    &tg_det_openai_api_key,
    &tg_det_anthropic_api_key,
    &tg_det_sendgrid_key,
    &tg_det_datadog_api_key,
    &tg_det_datadog_app_key,
    &tg_det_secret_assignment,
    &tg_det_generic_secret,
};
const size_t tg_n_detectors = sizeof(tg_detectors) / sizeof(tg_detectors[0]);

_Static_assert(sizeof(tg_detectors) / sizeof(tg_detectors[0]) <= TG_DET_MAX,
               "too many built-in detectors for the scanner's masks");

size_t tg_rules_n_detectors(void)
{
    return tg_n_detectors;
}

int tg_rules_detector(size_t i, tg_rules_detector_info *out)
{
    if (i >= tg_n_detectors)
        return TG_EINVAL;
    out->name = tg_detectors[i]->name;
    out->summary = tg_detectors[i]->summary;
    out->validator = tg_detectors[i]->validator ? tg_detectors[i]->validator : "";
    out->keywords = tg_detectors[i]->keywords;
    return 0;
}

int tg_detector_find(const char *name)
{
    for (size_t i = 0; i < tg_n_detectors; i++)
        if (strcmp(tg_detectors[i]->name, name) == 0)
            return (int)i;
    return -1;
}

static void set_bit(uint64_t m[2], unsigned id)
{
    m[id >> 6] |= (uint64_t)1 << (id & 63);
}

void tg_scanner_build(tg_scanner *sc, const uint64_t used[2])
{
    uint32_t kw[256];
    uint8_t want[256];

    /* set by the policy before the build */
    memcpy(kw, sc->kwwords, sizeof(kw));
    memcpy(want, sc->seen_want, sizeof(want));
    memset(sc, 0, sizeof(*sc));
    memcpy(sc->kwwords, kw, sizeof(kw));
    memcpy(sc->seen_want, want, sizeof(want));
    sc->min_token = 255;
    for (size_t id = 0; id < tg_n_detectors; id++) {
        const tg_detector *d = tg_detectors[id];
        if (!((used[id >> 6] >> (id & 63)) & 1))
            continue;
        if (d->trig == TG_TRIG_TOKEN) {
            sc->token[sc->n_token++] = (uint8_t)id;
            if (d->min_run < sc->min_token)
                sc->min_token = d->min_run;
            continue;
        }
        for (const char *f = d->first; f && *f; f++)
            set_bit(sc->first[(unsigned char)*f], (unsigned)id);
        for (unsigned r = 0; r < TG_RUN_BUCKETS; r++) {
            /* the last bucket stands for every longer run */
            int ok;
            if (d->runs)
                ok = r < TG_RUN_BUCKETS - 1 ? (int)((d->runs >> r) & 1)
                                            : (d->runs >> r) != 0;
            else
                ok = r >= d->min_run && (!d->max_run || r <= d->max_run ||
                                         (r == TG_RUN_BUCKETS - 1 && d->max_run >= r));
            if (ok)
                set_bit(sc->run_ok[r], (unsigned)id);
        }
        if (d->next) {
            for (const char *x = d->next; *x; x++)
                set_bit(sc->next_ok[(unsigned char)*x], (unsigned)id);
        } else {
            for (unsigned b = 0; b < 256; b++)
                set_bit(sc->next_ok[b], (unsigned)id);
        }
        if (d->prev) {
            set_bit(sc->prev_ok[0], (unsigned)id); /* the start of the text */
            for (const char *x = d->prev; *x; x++)
                set_bit(sc->prev_ok[(unsigned char)*x], (unsigned)id);
        } else {
            for (unsigned b = 0; b < 256; b++)
                set_bit(sc->prev_ok[b], (unsigned)id);
        }
        for (unsigned b = 0; b < 8; b++)
            if ((b & d->need) == d->need && !(b & d->deny))
                set_bit(sc->bits_ok[b], (unsigned)id);
        if (d->min_nd || d->max_nd) {
            set_bit(sc->nd_filtered, (unsigned)id);
            for (unsigned k = 0; k < TG_ND_BUCKETS; k++)
                if (k >= d->min_nd && k <= d->max_nd)
                    set_bit(sc->nd_ok[k], (unsigned)id);
        }
    }
    /* one lookup per byte tells the scan loop what a byte may need */
    for (unsigned c = 0; c < 256; c++) {
        uint8_t a = 0;
        if (tg_cls[c] & TG_C_ALNUM)
            a |= TG_ACT_ALNUM;
        if (tg_cls[c] & TG_C_JOIN)
            a |= TG_ACT_JOIN;
        if (sc->seen_want[c])
            a |= TG_ACT_WANT;
        if (sc->first[c][0] | sc->first[c][1])
            a |= TG_ACT_FIRST;
        if (sc->kwwords[c])
            a |= TG_ACT_KW;
        sc->act[c] = a;
    }
}

/* Digits in the numeric token at pos: digits joined by single separators.
 * Capped: no detector wants more than 20. */
static unsigned numtok(const char *s, size_t n, size_t i)
{
    unsigned nd = 0;

    for (;;) {
        while (i < n && tg_isdigit((unsigned char)s[i])) {
            if (++nd > 40)
                return nd;
            i++;
        }
        if (i + 1 < n && (s[i] == ' ' || s[i] == '-' || s[i] == '.' || s[i] == '/') &&
            tg_isdigit((unsigned char)s[i + 1])) {
            i++;
            continue;
        }
        return nd;
    }
}

static inline int active_has(const uint64_t active[2], unsigned id)
{
    return (int)((active[id >> 6] >> (id & 63)) & 1);
}
static int is_group_sep(unsigned char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '/';
}

/* A match that begins or ends with a digit must not begin or end inside a
 * longer digit group: not next to another digit, and not next to a further
 * group joined by a separator the match itself uses between its groups (a
 * 12-digit id inside "1234 5678 9012 3456"). */
static int digit_bounds_ok(const char *s, size_t n, size_t a, size_t b)
{
    int used[4] = {0, 0, 0, 0};
    static const char seps[] = " -./";

    for (size_t i = a + 1; i + 1 < b; i++)
        if (is_group_sep((unsigned char)s[i]) && tg_isdigit((unsigned char)s[i - 1]) &&
            tg_isdigit((unsigned char)s[i + 1]))
            used[strchr(seps, s[i]) - seps] = 1;
    if (tg_isdigit((unsigned char)s[a]) && a > 0) {
        unsigned char p = (unsigned char)s[a - 1];
        if (tg_isdigit(p))
            return 0;
        if (a > 1 && is_group_sep(p) && used[strchr(seps, p) - seps] &&
            tg_isdigit((unsigned char)s[a - 2]))
            return 0;
    }
    if (tg_isdigit((unsigned char)s[b - 1]) && b < n) {
        unsigned char x = (unsigned char)s[b];
        if (tg_isdigit(x))
            return 0;
        if (b + 1 < n && is_group_sep(x) && used[strchr(seps, x) - seps] &&
            tg_isdigit((unsigned char)s[b + 1]))
            return 0;
    }
    return 1;
}

static size_t call(const tg_scanner *sc, unsigned id, const char *s, size_t n, size_t st,
                   size_t run_end, unsigned nd, tg_scan_emit emit, void *ctx)
{
    const tg_detector *d = tg_detectors[id];
    tg_det_in in;
    tg_det_hit hit;

    in.s = s;
    in.n = n;
    in.pos = st;
    in.run_end = run_end;
    in.nd = nd;
    in.region = sc->region[0] ? sc->region : NULL;
    hit.start = hit.end = 0;
    hit.weak = 0;
    hit.confirm = 0;
    if (d->match(&in, &hit) && hit.end > hit.start && hit.end <= n &&
        digit_bounds_ok(s, n, hit.start, hit.end) && emit(ctx, id, &hit))
        return hit.end;
    return 0;
}

/* The detectors that may match at s[st]: a few 128-bit ANDs over the
 * trigger byte, the run's length and character classes, and the bytes
 * around it. `nx` is the byte after the run (after the trigger for
 * punctuation), `bits` the run's classes (0 for punctuation). */
static inline void candidates(const tg_scanner *sc, const uint64_t active[2],
                              const char *s, size_t st, size_t rl, unsigned char nx,
                              unsigned bits, uint64_t m[2])
{
    unsigned char c = (unsigned char)s[st];
    unsigned r = rl < TG_RUN_BUCKETS - 1 ? (unsigned)rl : TG_RUN_BUCKETS - 1;
    unsigned char pv = st ? (unsigned char)s[st - 1] : 0;

    m[0] = sc->first[c][0] & active[0] & sc->run_ok[r][0] & sc->next_ok[nx][0] &
           sc->prev_ok[pv][0] & sc->bits_ok[bits & 7][0];
    m[1] = sc->first[c][1] & active[1] & sc->run_ok[r][1] & sc->next_ok[nx][1] &
           sc->prev_ok[pv][1] & sc->bits_ok[bits & 7][1];
}

/* Calls the candidates; returns the furthest end of an accepted hit (0 if
 * none). */
static size_t dispatch(const tg_scanner *sc, const uint64_t mm[2], const char *s,
                       size_t n, size_t st, size_t run_end, tg_scan_emit emit, void *ctx)
{
    unsigned char c = (unsigned char)s[st];
    size_t far = 0, e;
    unsigned nd = 0;
    uint64_t m0 = mm[0], m1 = mm[1];

    if (tg_isdigit(c) && ((m0 & sc->nd_filtered[0]) | (m1 & sc->nd_filtered[1]))) {
        unsigned b;
        nd = numtok(s, n, st);
        b = nd < TG_ND_BUCKETS ? nd : TG_ND_BUCKETS - 1;
        m0 &= sc->nd_ok[b][0] | ~sc->nd_filtered[0];
        m1 &= sc->nd_ok[b][1] | ~sc->nd_filtered[1];
    }
    while (m0) {
        unsigned id = (unsigned)__builtin_ctzll(m0);
        m0 &= m0 - 1;
        if ((e = call(sc, id, s, n, st, run_end, nd, emit, ctx)) > far)
            far = e;
    }
    while (m1) {
        unsigned id = 64 + (unsigned)__builtin_ctzll(m1);
        m1 &= m1 - 1;
        if ((e = call(sc, id, s, n, st, run_end, nd, emit, ctx)) > far)
            far = e;
    }
    return far;
}

static size_t token_dispatch(const tg_scanner *sc, const uint64_t active[2],
                             const char *s, size_t n, size_t st, size_t end,
                             tg_scan_emit emit, void *ctx)
{
    size_t far = 0, len = end - st;

    for (unsigned k = 0; k < sc->n_token; k++) {
        unsigned id = sc->token[k];
        const tg_detector *d = tg_detectors[id];
        tg_det_in in;
        tg_det_hit hit;

        if (!active_has(active, id) || len < d->min_run ||
            (d->max_run && len > d->max_run))
            continue;
        in.s = s;
        in.n = n;
        in.pos = st;
        in.run_end = end;
        in.nd = 0;
        in.region = sc->region[0] ? sc->region : NULL;
        memset(&hit, 0, sizeof(hit));
        if (d->match(&in, &hit) && hit.end > hit.start && emit(ctx, id, &hit) &&
            hit.end > far)
            far = hit.end;
    }
    return far;
}

/* Bytes skipped over by an accepted hit still count as seen. */
static void mark_seen(const tg_scanner *sc, uint64_t seen[4], const char *s, size_t a,
                      size_t b)
{
    for (size_t i = a; seen && i < b; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sc->seen_want[c])
            seen[c >> 6] |= (uint64_t)1 << (c & 63);
    }
}

void tg_scan(const tg_scanner *sc, const uint64_t active[2], const char *s, size_t n,
             tg_scan_emit emit, tg_scan_spot spot, void *ctx, uint64_t seen[4])
{
    uint64_t m[2];
    size_t i = 0, ext_start = 0;
    unsigned ext_bits = 0;
    int in_ext = 0;
    const int tokens = sc->n_token != 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        unsigned a = sc->act[c];

        if (a & TG_ACT_ALNUM) {
            size_t st = i;
            unsigned bits = tg_cls[c], k;
            i++;
            while (i < n && ((k = tg_cls[(unsigned char)s[i]]) & TG_C_ALNUM)) {
                bits |= k;
                i++;
            }
            if (!in_ext) {
                in_ext = 1;
                ext_start = st;
                ext_bits = 0;
            }
            ext_bits |= bits;
            if ((a & TG_ACT_KW) && spot &&
                ((sc->kwwords[c] >> (i - st < 31 ? i - st : 31)) & 1))
                spot(ctx, s, n, st, i);
            if (a & TG_ACT_FIRST) {
                candidates(sc, active, s, st, i - st, i < n ? (unsigned char)s[i] : 0,
                           bits, m);
                if (m[0] | m[1]) {
                    size_t far = dispatch(sc, m, s, n, st, i, emit, ctx);
                    if (far > i) {
                        mark_seen(sc, seen, s, i, far);
                        i = far;
                        in_ext = 0;
                    }
                }
            }
            continue;
        }
        /* white space and punctuation: usually nothing to do */
        if (in_ext && !(a & TG_ACT_JOIN)) {
            in_ext = 0;
            if (tokens && i - ext_start >= sc->min_token &&
                (ext_bits & TG_C_ALNUM) == TG_C_ALNUM)
                token_dispatch(sc, active, s, n, ext_start, i, emit, ctx);
        }
        if ((a & TG_ACT_WANT) && seen)
            seen[c >> 6] |= (uint64_t)1 << (c & 63);
        if (a & TG_ACT_FIRST) {
            candidates(sc, active, s, i, 0, i + 1 < n ? (unsigned char)s[i + 1] : 0, 0,
                       m);
            if (m[0] | m[1]) {
                size_t far = dispatch(sc, m, s, n, i, i, emit, ctx);
                if (far > i + 1) {
                    mark_seen(sc, seen, s, i, far);
                    i = far;
                    in_ext = 0;
                    continue;
                }
            }
        }
        i++;
    }
    if (in_ext && tokens && n - ext_start >= sc->min_token &&
        (ext_bits & TG_C_ALNUM) == TG_C_ALNUM)
        token_dispatch(sc, active, s, n, ext_start, n, emit, ctx);
}
