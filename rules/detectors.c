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
    tg_det_date_of_birth, tg_det_sql_literal, tg_det_us_ssn, tg_det_us_itin, tg_det_us_npi,
    tg_det_us_dea, tg_det_us_mbi, tg_det_uk_nhs, tg_det_uk_nino, tg_det_de_tax_id,
    tg_det_de_svnr, tg_det_fr_nir, tg_det_es_dni, tg_det_es_nie, tg_det_it_codice_fiscale,
    tg_det_nl_bsn, tg_det_pl_pesel, tg_det_pl_nip, tg_det_pt_nif, tg_det_se_personnummer,
    tg_det_fi_hetu, tg_det_no_fnr, tg_det_dk_cpr, tg_det_in_aadhaar, tg_det_in_pan,
    tg_det_br_cpf, tg_det_br_cnpj, tg_det_ca_sin, tg_det_be_nrn, tg_det_cn_resident_id,
    tg_det_sg_nric, tg_det_au_tfn, tg_det_au_medicare, tg_det_ch_ahv, tg_det_ie_pps,
    tg_det_icd10, tg_det_aws_access_key_id, tg_det_aws_secret_key, tg_det_github_token,
    tg_det_gitlab_token, tg_det_npm_token, tg_det_jwt, tg_det_pem_private_key,
    tg_det_bearer_token, tg_det_basic_auth, tg_det_slack_token, tg_det_slack_webhook,
    tg_det_stripe_key, tg_det_google_api_key, tg_det_openai_api_key,
    tg_det_anthropic_api_key, tg_det_sendgrid_key, tg_det_secret_assignment,
    tg_det_generic_secret;

/* The one list of built-in detectors; a policy names them by `name`. */
const tg_detector *const tg_detectors[] = {
    /* payment and banking */
    &tg_det_credit_card, &tg_det_iban, &tg_det_aba_routing, &tg_det_swift_bic,
    /* contact, network, device */
    &tg_det_email, &tg_det_phone_e164, &tg_det_phone_national, &tg_det_ipv4, &tg_det_ipv6,
    &tg_det_mac_address, &tg_det_url_credentials, &tg_det_imei, &tg_det_vin,
    &tg_det_date_of_birth, &tg_det_sql_literal,
    /* national identifiers */
    &tg_det_us_ssn, &tg_det_us_itin, &tg_det_us_npi, &tg_det_us_dea, &tg_det_us_mbi,
    &tg_det_uk_nhs, &tg_det_uk_nino, &tg_det_de_tax_id, &tg_det_de_svnr, &tg_det_fr_nir,
    &tg_det_es_dni, &tg_det_es_nie, &tg_det_it_codice_fiscale, &tg_det_nl_bsn,
    &tg_det_pl_pesel, &tg_det_pl_nip, &tg_det_pt_nif, &tg_det_se_personnummer,
    &tg_det_fi_hetu, &tg_det_no_fnr, &tg_det_dk_cpr, &tg_det_in_aadhaar, &tg_det_in_pan,
    &tg_det_br_cpf, &tg_det_br_cnpj, &tg_det_ca_sin, &tg_det_be_nrn,
    &tg_det_cn_resident_id, &tg_det_sg_nric, &tg_det_au_tfn, &tg_det_au_medicare,
    &tg_det_ch_ahv, &tg_det_ie_pps,
    /* health */
    &tg_det_icd10,
    /* secrets */
    &tg_det_aws_access_key_id, &tg_det_aws_secret_key, &tg_det_github_token,
    &tg_det_gitlab_token, &tg_det_npm_token, &tg_det_jwt, &tg_det_pem_private_key,
    &tg_det_bearer_token, &tg_det_basic_auth, &tg_det_slack_token, &tg_det_slack_webhook,
    &tg_det_stripe_key, &tg_det_google_api_key, &tg_det_openai_api_key,
    &tg_det_anthropic_api_key, &tg_det_sendgrid_key, &tg_det_secret_assignment,
    &tg_det_generic_secret,
};
const size_t tg_n_detectors = sizeof(tg_detectors) / sizeof(tg_detectors[0]);

_Static_assert(sizeof(tg_detectors) / sizeof(tg_detectors[0]) <= TG_DET_MAX,
               "too many built-in detectors for the scanner's masks");

int tg_detector_find(const char *name)
{
    for (size_t i = 0; i < tg_n_detectors; i++)
        if (strcmp(tg_detectors[i]->name, name) == 0)
            return (int)i;
    return -1;
}

void tg_scanner_build(tg_scanner *sc, const uint64_t used[2])
{
    uint8_t kw[256];

    memcpy(kw, sc->kwfirst, sizeof(kw)); /* set by the policy before the build */
    memset(sc, 0, sizeof(*sc));
    memcpy(sc->kwfirst, kw, sizeof(kw));
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
        for (const char *f = d->first; f && *f; f++) {
            unsigned char c = (unsigned char)*f;
            if (sc->n_first[c] < TG_DET_PER_BYTE)
                sc->first[c][sc->n_first[c]++] = (uint8_t)id;
        }
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

/* Tries the detectors registered for byte s[st]; returns the furthest end
 * of an accepted hit (0 if none). */
static size_t dispatch(const tg_scanner *sc, const uint64_t active[2], const char *s,
                       size_t n, size_t st, size_t run_end, tg_scan_emit emit, void *ctx)
{
    unsigned char c = (unsigned char)s[st];
    unsigned nd = 0;
    int have_nd = 0;
    size_t rl = run_end - st, far = 0;

    for (unsigned k = 0; k < sc->n_first[c]; k++) {
        unsigned id = sc->first[c][k];
        const tg_detector *d;
        tg_det_in in;
        tg_det_hit hit;

        if (!active_has(active, id))
            continue;
        d = tg_detectors[id];
        if (rl < d->min_run || (d->max_run && rl > d->max_run))
            continue;
        if ((d->min_nd || d->max_nd) && tg_isdigit(c)) {
            if (!have_nd) {
                nd = numtok(s, n, st);
                have_nd = 1;
            }
            if (nd < d->min_nd || nd > d->max_nd)
                continue;
        }
        in.s = s;
        in.n = n;
        in.pos = st;
        in.run_end = run_end;
        in.nd = nd;
        memset(&hit, 0, sizeof(hit));
        if (d->match(&in, &hit) && hit.end > hit.start && hit.end <= n &&
            emit(ctx, id, &hit) && hit.end > far)
            far = hit.end;
    }
    return far;
}

static size_t token_dispatch(const tg_scanner *sc, const uint64_t active[2], const char *s,
                             size_t n, size_t st, size_t end, tg_scan_emit emit, void *ctx)
{
    size_t far = 0, len = end - st;

    for (unsigned k = 0; k < sc->n_token; k++) {
        unsigned id = sc->token[k];
        const tg_detector *d = tg_detectors[id];
        tg_det_in in;
        tg_det_hit hit;

        if (!active_has(active, id) || len < d->min_run || (d->max_run && len > d->max_run))
            continue;
        in.s = s;
        in.n = n;
        in.pos = st;
        in.run_end = end;
        in.nd = 0;
        memset(&hit, 0, sizeof(hit));
        if (d->match(&in, &hit) && hit.end > hit.start && emit(ctx, id, &hit) && hit.end > far)
            far = hit.end;
    }
    return far;
}

void tg_scan(const tg_scanner *sc, const uint64_t active[2], const char *s, size_t n,
             tg_scan_emit emit, tg_scan_spot spot, void *ctx)
{
    size_t i = 0, ext_start = 0;
    unsigned ext_bits = 0;
    int in_ext = 0;
    const int tokens = sc->n_token != 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        unsigned k = tg_cls[c];

        if (k & TG_C_ALNUM) {
            size_t st = i;
            unsigned bits = k;
            i++;
            while (i < n && (tg_cls[(unsigned char)s[i]] & TG_C_ALNUM))
                bits |= tg_cls[(unsigned char)s[i++]];
            if (!in_ext) {
                in_ext = 1;
                ext_start = st;
                ext_bits = 0;
            }
            ext_bits |= bits;
            if (spot && sc->kwfirst[c])
                spot(ctx, s, n, st);
            if (sc->n_first[c]) {
                size_t far = dispatch(sc, active, s, n, st, i, emit, ctx);
                if (far > i) {
                    i = far;
                    in_ext = 0;
                }
            }
            continue;
        }
        if (in_ext && !(k & TG_C_JOIN)) {
            in_ext = 0;
            if (tokens && i - ext_start >= sc->min_token && (ext_bits & TG_C_ALNUM) == TG_C_ALNUM)
                token_dispatch(sc, active, s, n, ext_start, i, emit, ctx);
        }
        if (sc->n_first[c]) {
            size_t far = dispatch(sc, active, s, n, i, i, emit, ctx);
            if (far > i + 1) {
                i = far;
                in_ext = 0;
                continue;
            }
        }
        i++;
    }
    if (in_ext && tokens && n - ext_start >= sc->min_token &&
        (ext_bits & TG_C_ALNUM) == TG_C_ALNUM)
        token_dispatch(sc, active, s, n, ext_start, n, emit, ctx);
}
