/* Internal structures of the rules engine, shared by the rules library only.
 *
 * A policy is compiled into flat arrays in one arena: classes, rules (one per
 * `detect` block), value-detector instances, destinations with a resolved
 * action per class, keys, and the scanner's dispatch tables. Everything here
 * is read-only after tg_rules__finalize() except `counts`. */
#ifndef TG_RULES_INT_H
#define TG_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tg_err.h"
#include "tg_otlp_walk.h"
#include "tg_rules.h"
#include "tg_strbuf.h"
#include "opentelemetry/proto/common/v1/common.pb-c.h"

#define TG_RULES_MAX_CLASSES 256
#define TG_RULES_MAX_DESTS 64
#define TG_RULES_MAX_RULES 4096
#define TG_DET_MAX 128 /* built-in detectors (two 64-bit mask words) */

typedef struct tg_classmask {
    uint64_t w[TG_RULES_MAX_CLASSES / 64];
} tg_classmask;

static inline void tg_cm_set(tg_classmask *m, unsigned c)
{
    m->w[c >> 6] |= (uint64_t)1 << (c & 63);
}
static inline int tg_cm_has(const tg_classmask *m, unsigned c)
{
    return (int)((m->w[c >> 6] >> (c & 63)) & 1);
}
static inline int tg_cm_any_and(const tg_classmask *a, const tg_classmask *b)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < TG_RULES_MAX_CLASSES / 64; i++)
        x |= a->w[i] & b->w[i];
    return x != 0;
}

/* A location in a policy file. */
typedef struct tg_loc {
    const char *file;
    unsigned line, col;
} tg_loc;

/* ---- built-in detectors (detectors.c, det_*.c) --------------------------- */

/* What the scanner hands a detector: the text, the trigger position (the
 * start of an alphanumeric run, or a punctuation byte), the end of that run
 * and, for runs that start with a digit, the number of digits in the
 * "numeric token" there (digits joined by single ' ', '-', '.', '/'). */
typedef struct tg_det_in {
    const char *s;
    size_t n;
    size_t pos;
    size_t run_end;
    unsigned nd;
    const char *region; /* the policy's phone region ("DE"), NULL if unknown */
} tg_det_in;

/* A candidate. `weak` marks a match whose format alone is not distinctive
 * (a bare 9-digit number that passes the SSN rules): it counts only with a
 * keyword nearby or in the attribute key. */
typedef struct tg_det_hit {
    size_t start, end;
    int weak;
    int confirm; /* ask the detector's `confirm` after the keyword gate */
} tg_det_hit;

typedef int (*tg_det_fn)(const tg_det_in *in, tg_det_hit *hit);

/* How an action normalises a match before hashing, so the same value in
 * two formats hashes the same. */
enum tg_norm { TG_NORM_NONE = 0, TG_NORM_DIGITS, TG_NORM_LOWER, TG_NORM_ALNUM_UPPER };

/* Which generaliser suits a detector's matches. */
enum tg_gen {
    TG_GEN_NONE = 0,
    TG_GEN_IPV4,
    TG_GEN_IPV6,
    TG_GEN_DATE,
    TG_GEN_EMAIL,
    TG_GEN_NUMBER,
    TG_GEN_PHONE,
};

/* Trigger kinds. */
enum tg_trig {
    TG_TRIG_BYTE = 0,  /* at a run start (alnum first byte) or a punctuation byte */
    TG_TRIG_TOKEN = 1, /* on each extended token [A-Za-z0-9_+/-] of >= min_run bytes */
};

typedef struct tg_detector {
    const char *name;
    const char *summary;   /* one line, for docs and `rules check` */
    const char *validator; /* "Luhn + IIN + length", "" if format only */
    const char *first;     /* bytes that may start a candidate at `pos` */
    uint8_t trig;
    uint8_t min_run, max_run; /* window on run_end - pos (0, 0: unchecked) */
    uint8_t min_nd, max_nd;   /* window on nd (0, 0: unchecked) */
    uint64_t runs;            /* if set: the run lengths allowed (bit n = n), instead of
                                 the min_run/max_run window */
    const char *next;         /* if set: the bytes allowed right after the run (after
                                 the byte itself for punctuation triggers) */
    const char *prev;         /* if set: the bytes allowed right before the trigger */
    uint8_t need, deny; /* class bits (TG_C_DIG|UP|LO) the run must have / not have */
    uint8_t norm, gen;
    const char *const *keywords; /* needed for weak hits; NULL-terminated */
    tg_det_fn match;
    /* A slower check (libphonenumber) run only on hits that asked for it
     * and passed their keyword gate: 1 confirms the match [s, s+n). */
    int (*confirm)(const char *s, size_t n, const char *region);
    /* Whether a weak hit that is a whole attribute value (the entire string,
     * int or integral double, nothing around it) counts without a keyword:
     * an identifier stored alone under a key is an identifier. Only at a
     * site of the detector's country (`site.jurisdiction.country`), so a
     * checksum that one random number in ten passes is asked only where
     * such numbers are issued (docs/rules.md, "Bare values"). */
    uint8_t whole;       /* enum tg_whole */
    const char *country; /* ISO 3166-1 alpha-2 of the issuer (TG_WHOLE_CHECK); NULL:
                            issued everywhere, counts at every site (cards) */
} tg_detector;

enum tg_whole {
    TG_WHOLE_NO = 0,     /* a keyword or a key is needed (no check digit) */
    TG_WHOLE_CHECK = 1,  /* a check-digit id of `country` */
    TG_WHOLE_LAYOUT = 2, /* a phone number written with separators (a string, not a
                            number), valid in the site's region (libphonenumber) */
};

extern const tg_detector *const tg_detectors[];
extern const size_t tg_n_detectors;
int tg_detector_find(const char *name);

/* Per-byte character classes used by the scanner and detectors. */
enum {
    TG_C_DIG = 1,
    TG_C_UP = 2,
    TG_C_LO = 4,
    TG_C_ALNUM = 7,
    TG_C_JOIN = 8, /* _ - + / join alphanumeric runs into an extended token */
    TG_C_HEX = 16,
    TG_C_SPACE = 32,
};
extern const uint8_t tg_cls[256];

static inline int tg_isdigit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
static inline int tg_isalnum(unsigned char c)
{
    return (tg_cls[c] & TG_C_ALNUM) != 0;
}
static inline int tg_isupper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}
static inline int tg_islower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}
static inline int tg_isalpha(unsigned char c)
{
    return tg_isupper(c) || tg_islower(c);
}
static inline int tg_ishex(unsigned char c)
{
    return (tg_cls[c] & TG_C_HEX) != 0;
}
static inline unsigned char tg_lower(unsigned char c)
{
    return tg_isupper(c) ? (unsigned char)(c + 32) : c;
}

/* The scanner's dispatch tables, built from the detectors a policy uses.
 * A candidate position costs a few 128-bit ANDs: the detectors that may
 * start at this byte, whose run-length window admits this run, and (for
 * digits) whose numeric-token window admits its digit count. */
enum {
    TG_ACT_ALNUM = 1,
    TG_ACT_JOIN = 2,  /* continues an extended token */
    TG_ACT_WANT = 4,  /* record in the `seen` bitmap */
    TG_ACT_FIRST = 8, /* some detector may start here */
    TG_ACT_KW = 16,   /* may start a keyword */
};
#define TG_RUN_BUCKETS 34 /* run lengths 0..32, and "longer" */
#define TG_ND_BUCKETS 42  /* digit counts 0..40, and "longer" */
typedef struct tg_scanner {
    uint32_t kwwords[256];  /* per first byte: lengths of keyword first words */
    uint8_t seen_want[256]; /* punctuation some custom pattern requires */
    uint8_t act[256];       /* TG_ACT_* per byte */
    uint64_t first[256][2];
    uint64_t run_ok[TG_RUN_BUCKETS][2];
    uint64_t nd_ok[TG_ND_BUCKETS][2];
    uint64_t nd_filtered[2];
    uint64_t next_ok[256][2];
    uint64_t prev_ok[256][2];
    uint64_t bits_ok[8][2];
    uint8_t n_token;
    uint8_t token[TG_DET_MAX];
    uint8_t min_token;
    char region[3];  /* phone region for detectors ("" if unknown) */
    char country[3]; /* the site's country for whole-value ids ("" if unknown) */
} tg_scanner;

void tg_scanner_build(tg_scanner *sc, const uint64_t used[2]);

/* Returns 1 if the hit was accepted (a weak hit may be refused for want of
 * a keyword); an accepted hit lets the scanner skip past it. */
typedef int (*tg_scan_emit)(void *ctx, unsigned det, const tg_det_hit *hit);

/* Called at the start of each alphanumeric run [pos, run_end) whose first
 * byte may start a keyword (kwfirst), so keywords are spotted in the same
 * pass. */
typedef void (*tg_scan_spot)(void *ctx, const char *s, size_t n, size_t pos,
                             size_t run_end);

/* Runs every detector enabled in `active` over [s, s+n) in one pass. If
 * `seen` is given, it gets a bit for every non-alphanumeric byte present
 * (prefilters for custom patterns). */
void tg_scan(const tg_scanner *sc, const uint64_t active[2], const char *s, size_t n,
             tg_scan_emit emit, tg_scan_spot spot, void *ctx, uint64_t seen[4]);

/* Case-insensitive: does any of `kw` occur in [s, s+n) as a word? The rule
 * (docs/rules.md, Keywords): a keyword starts at a word start (after a
 * byte that is not a letter or digit, or at a lower-to-upper case change);
 * a keyword of up to four bytes also ends at a word end (before a byte that
 * is not a letter, at a case change, or before a plural "s"), so "tel" is
 * not found in "otel", "hotel" or "telemetry"; a separator inside a keyword
 * (space _ - . /) matches one of them or none ("social security" in
 * "social_security", "socialSecurity"). */
int tg_keywords_in(const char *const *kw, const uint8_t *kwlen, size_t nkw, const char *s,
                   size_t n);
/* The same, for matches starting in [from, n); bytes before `from` only
 * decide word starts. `kwlen` may be NULL (lengths by strlen). */
int tg_keywords_from(const char *const *kw, const uint8_t *kwlen, size_t nkw,
                     const char *s, size_t n, size_t from);

/* ---- checksums and small parsers (det_util.c) ----------------------------- */

int tg_luhn_ok(const char *digits, size_t n);
int tg_verhoeff_ok(const char *digits, size_t n);
/* ISO 7064 MOD 11,10 check over n-1 digits against the last. */
int tg_mod11_10_ok(const char *digits, size_t n);
/* 1 if y-m-d is a real calendar date (y in 1800..2199). */
int tg_date_ok(int y, int m, int d);
int tg_2d(const char *p); /* two ASCII digits as a number */
/* Right word boundary: no alphanumeric byte adjacent. */
int tg_right_ok(const char *s, size_t n, size_t end);
/* Parses a run of digits with one consistent optional separator between
 * groups ("4111 1111 1111 1111"). Fills group lengths; returns the end
 * offset, or 0 if there is no digit at pos. */
typedef struct tg_groups {
    unsigned n;       /* groups */
    unsigned len[12]; /* digits per group */
    unsigned nd;      /* total digits */
    char sep;         /* 0 if a single group */
    char digits[40];  /* the digits, NUL-terminated (first 39) */
} tg_groups;
size_t tg_parse_groups(const char *s, size_t n, size_t pos, const char *seps,
                       tg_groups *g);
int tg_iso_country_ok(const char *cc); /* two upper-case letters */
/* Does [s, s+n) hold a percent escape (%XX)? */
int tg_url_has_escape(const char *s, size_t n);
/* One round of URL decoding: %XX escapes, and '+' as a space after the
 * first '?'. Writes at most n bytes to out and, if map is given, n+1
 * entries: map[i] is the offset in s of decoded byte i (map[len] = n).
 * Returns the decoded length. */
size_t tg_url_decode(const char *s, size_t n, char *out, uint32_t *map);
#define TG_URL_ROUNDS 3 /* nested encodings undone (%2540 -> %40 -> @) */
/* Decodes up to TG_URL_ROUNDS rounds (while escapes remain) into an arena
 * buffer; *map (n_out+1 entries) maps decoded offsets to offsets in s.
 * Returns 0, or TG_ENOMEM. */
int tg_url_decode_nested(tg_arena *a, const char *s, size_t n, char **out, size_t *n_out,
                         uint32_t **map);
/* Appends s percent-encoded: unreserved bytes (RFC 3986) and a few that
 * are safe in a path or query value ("*:@!$'()") stay as they are. */
void tg_url_encode(tg_strbuf *sb, const char *s, size_t n);
uint32_t tg_crc32(const unsigned char *p, size_t n);

/* ---- the policy ------------------------------------------------------------ */

enum tg_keymatch_kind { TG_KM_EXACT = 0, TG_KM_GLOB, TG_KM_REGEX };

typedef struct tg_keymatch {
    uint8_t kind;
    const char *text; /* lowercased for exact and glob */
    size_t len;
    pcre2_code *re;
    tg_loc loc;
} tg_keymatch;

typedef struct tg_kmlist {
    tg_keymatch *v;
    size_t n, cap;
} tg_kmlist;

enum tg_ctx_mode { TG_CTX_AUTO = 0, TG_CTX_ALWAYS, TG_CTX_NEVER };
enum tg_validate { TG_VAL_NONE = 0, TG_VAL_LUHN, TG_VAL_MOD97 };

/* One entry of a rule's `values:` list. */
typedef struct tg_valdet {
    int builtin;          /* detector index, or -1 for a custom pattern */
    pcre2_code *re;       /* custom, UTF mode (strings) */
    pcre2_code *re_bytes; /* custom, byte mode (bytes values, invalid UTF-8) */
    uint32_t re_minlen;
    int re_req;   /* a byte every match contains, -1 if none */
    int re_first; /* the byte every match starts with, -1 if none */
    const char *pattern;
    const char **kw; /* lowercase keywords, or NULL: the detector's defaults */
    uint8_t *kwlen;
    size_t nkw;
    int has_kw;  /* keywords given in the policy */
    uint8_t ctx; /* enum tg_ctx_mode */
    uint8_t validate;
    uint32_t window;
    tg_kmlist scope; /* only under these keys (empty: everywhere) */
    uint16_t rule;
    uint32_t index; /* instance number */
    int kwgroup;    /* bit in the per-value keyword spot mask, -1: none */
    tg_loc loc;
} tg_valdet;

typedef struct tg_cond_res {
    const char *key;
    tg_kmlist vals;
} tg_cond_res;

typedef struct tg_rule {
    uint16_t cls;
    tg_loc loc;
    tg_kmlist keys;
    tg_valdet **values;
    size_t n_values, cap_values;
    /* when: every condition given must hold for the record's resource */
    int has_when;
    tg_kmlist when_service, when_env;
    tg_cond_res *when_res;
    size_t n_when_res, cap_when_res;
} tg_rule;

typedef struct tg_class {
    const char *name;
    const char *description;
    const char *regulation;
    const char *legal_basis; /* the lawful basis the policy names, NULL: none */
    uint64_t retention;
    const char *redact_text; /* NULL: [REDACTED:<name>] */
    tg_loc loc;
} tg_class;

typedef struct tg_action_spec {
    uint8_t kind;     /* enum tg_rules_action */
    const char *text; /* redact text, NULL: default */
    size_t text_len;
    int key;            /* hash: key index, -1: the policy's default key */
    const char *key_id; /* as written, resolved to `key` by finalize */
    tg_loc key_loc;
    unsigned keep_first, keep_last;
    char mask_char;
    unsigned v4_prefix, v6_prefix;
    uint64_t step;        /* generalise numbers: bucket width, 0: by magnitude */
    uint64_t time_bucket; /* seconds */
    tg_loc loc;
    const char *pattern; /* the class pattern it was written for */
} tg_action_spec;

typedef struct tg_dest_action {
    const char *pattern; /* class name, glob, or "default" */
    tg_action_spec spec;
} tg_dest_action;

enum tg_bodies { TG_BODIES_PASS = 0, TG_BODIES_DROP, TG_BODIES_FILTER };

typedef struct tg_dest {
    const char *name, *country, *region, *purpose, *description;
    tg_loc loc;
    tg_dest_action *actions;
    size_t n_actions, cap_actions;
    int allow_list; /* unclassified data: 0 pass, 1 only allow_keys */
    tg_loc unclassified_loc;
    tg_kmlist allow;
    uint8_t bodies;
    tg_action_spec on_error;
    int has_on_error;
    /* keep-local records: 0 leave as skeletons (ids, times, status code,
     * the classes), 1 `withheld: whole` drops them entirely */
    int withheld_whole;
    /* names that always leave (span, event, metric names, status messages,
     * http.route, url.path, rpc.method) leave as templates: on by default
     * for `central`, `names: raw | template` */
    int names_template;
    /* resolved by finalize */
    const tg_action_spec **by_class;
    tg_classmask keep_mask; /* classes kept local */
    tg_classmask pass_mask; /* classes passed unchanged */
} tg_dest;

typedef struct tg_hkey {
    const char *id;
    unsigned char key[128];
    size_t len;
    tg_loc loc;
    /* source, resolved at finalize */
    const char *file, *env, *hex;
    int create;
    int ephemeral; /* a random stand-in (dry runs) */
    const char *base_dir;
} tg_hkey;

/* Exact key -> rules, an open-addressing table. */
typedef struct tg_keyrule_slot {
    const char *key;
    size_t len;
    uint16_t *rules;
    size_t n;
} tg_keyrule_slot;

struct tg_rules_policy {
    _Atomic long refs;
    tg_arena arena;
    char version[80];
    const char *site_name, *site_country, *site_region;
    const char *phone_region; /* `phone: {region: XX}`, NULL if not given */
    tg_loc site_loc;

    tg_class *classes;
    size_t n_classes, cap_classes;
    tg_rule *rules;
    size_t n_rules, cap_rules;
    tg_dest *dests;
    size_t n_dests, cap_dests;
    tg_hkey *keys;
    size_t n_keys, cap_keys;
    const char *default_key;
    tg_loc default_key_loc;

    /* limits */
    uint32_t max_depth;
    uint32_t match_limit;
    uint32_t max_findings;

    /* compiled */
    tg_valdet **vds; /* every value-detector instance */
    size_t n_vds;
    tg_valdet ***det_inst; /* per built-in: instances using it */
    size_t *n_det_inst;
    tg_valdet **custom; /* custom-pattern instances */
    size_t n_custom;
    uint64_t used[2];     /* built-ins any rule uses */
    uint64_t unscoped[2]; /* built-ins used by unscoped instances */
    int has_when;         /* some rule has a resource condition */
    int has_scoped;       /* some value detector is limited to keys */
    tg_keyrule_slot *exact;
    size_t exact_cap;
    uint16_t *pattern_rules; /* rules with glob or regex keys */
    size_t n_pattern_rules;
    tg_scanner scanner;
    /* keywords of custom patterns, by lower-case first byte */
    struct tg_kwent {
        const char *kw;
        uint8_t len;
        uint8_t word; /* length of its first alphanumeric word */
        uint8_t group;
    } * kwents;
    size_t kwents_n;
    uint16_t kwoff[257];
    pcre2_match_context *mctx;
    pcre2_compile_context *ccompile;
    pcre2_general_context *gctx;
    uint16_t error_class;
    int hash_default_key;
    void *hmac; /* EVP_MAC * */

    /* the input texts' digest, folded into `version` */
    void *sha; /* EVP_MD_CTX * while loading */
    /* the input texts themselves, in load order (tg_rules_policy_text) */
    tg_strbuf text;

    _Atomic uint64_t *counts; /* [dest][class][action] */
};

/* Loading (policy_yaml.c) fills the model; finalize (policy.c) compiles. */
int tg_rules__load_text(tg_rules_policy *p, const char *name, const char *dir,
                        const char *text, size_t len, const tg_rules_options *opt,
                        tg_rules_diag *err, int depth, void *seen);
int tg_rules__load_path(tg_rules_policy *p, const char *path, const tg_rules_options *opt,
                        tg_rules_diag *err, void *seen);
void *tg_rules__seen_new(void);
void tg_rules__seen_free(void *seen);
int tg_iban_mod97_ok(const char *b, size_t len);
int tg_rules__finalize(tg_rules_policy *p, const tg_rules_options *opt,
                       tg_rules_diag *err);
tg_rules_policy *tg_rules__policy_new(void);
void tg_rules__set_err(tg_rules_diag *err, const tg_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *tg_rules__grow(tg_arena *a, void *v, size_t elem, size_t n, size_t *cap);
/* Frees a list's compiled patterns and empties it. */
void tg_rules__kmlist_free(tg_kmlist *l);
int tg_rules__glob(const char *pat, size_t plen, const char *s, size_t n);
/* Matches a key (any case) against a list. */
int tg_rules__km_match(const tg_kmlist *l, const char *key, size_t len);
/* Looks up the exact-key table; key must already be lowercased. */
const tg_keyrule_slot *tg_rules__exact_find(const tg_rules_policy *p, const char *key,
                                            size_t len);

/* ---- classification (classify.c) ----------------------------------------- */

/* A place: where a value lives, by address in the classified message. The
 * low bits tag what the address is. */
enum {
    TG_PT_MSG = 0,   /* a message (dirty / record marks) */
    TG_PT_VALUE = 1, /* an AnyValue, or the char* slot of a string field */
    TG_PT_KEY = 2,   /* the key of a KeyValue */
};
#define TG_PT(ptr, tag) ((uintptr_t)(ptr) | (uintptr_t)(tag))

enum {
    TG_F_WHOLE = 1,   /* the whole value (key match, fail closed) */
    TG_F_FAILED = 2,  /* classification failed: fail closed */
    TG_F_INT = 4,     /* the place is an int formatted in decimal */
    TG_F_DOUBLE = 8,  /* the place is an integral double in decimal */
    TG_F_URLENC = 16, /* found in the percent-decoded text: actions see the
                         decoded match, and their output is re-encoded */
};

#define TG_DET_KEY 0xFFFF    /* decided by the attribute key */
#define TG_DET_ERROR 0xFFFE  /* fail closed */
#define TG_DET_CUSTOM 0x8000 /* | custom instance index */

typedef struct tg_finding {
    uintptr_t place;
    uint32_t start, end;
    uint16_t cls;
    uint16_t rule;
    uint16_t det;
    uint16_t flags;
    uint32_t node;    /* record ordinal (walk order) */
    uint32_t ordinal; /* place ordinal within the record */
} tg_finding;

/* Name templates (names.c): appends the template of [s, s+n) to sb, the
 * partial findings F (sorted by start) becoming placeholders; returns the
 * bytes appended. */
size_t tg_rules__name_template(const char *s, size_t n, const tg_finding *F, size_t nf,
                               tg_strbuf *sb);
/* Is `key` an attribute whose string value is a name (http.route ...)? */
int tg_rules__name_key(const char *key);

/* Marks on messages: MSG entries of the table. */
enum {
    TG_M_DIRTY = 1,   /* the subtree holds findings or must be copied */
    TG_M_RECORD = 2,  /* a record with classes in its own places */
    TG_M_UNKNOWN = 4, /* carries unknown fields: the view strips them */
};

typedef struct tg_ptab_ent {
    uintptr_t key;         /* TG_PT(ptr, tag), 0 = empty */
    uint32_t first, count; /* findings (VALUE/KEY), or record index (MSG) */
    uint32_t marks;
} tg_ptab_ent;

typedef struct tg_record_info {
    tg_classmask classes;
} tg_record_info;

/* The per-request key cache: each distinct attribute key is matched once. */
typedef struct tg_keyinfo {
    const char *key;
    uint32_t len, hash;
    uint16_t *rules; /* rules whose key matcher matches */
    uint16_t n_rules;
    uint64_t scope_dets[2]; /* built-ins limited to this key */
    uint64_t allow;         /* destinations whose allow-list admits it */
    uint64_t kwgroups;      /* custom-pattern keyword groups found in the key */
    uint8_t *scoped_vd;     /* bitset over valdet instances (NULL: none) */
} tg_keyinfo;

struct tg_rules_classification {
    const tg_rules_policy *policy;
    const ProtobufCMessage *msg;
    tg_finding *findings;
    size_t n_findings;
    tg_ptab_ent *tab;
    size_t tab_cap;
    tg_record_info *records;
    size_t n_records;
    tg_keyinfo *keys;
    size_t keys_cap, n_keys;
    tg_classmask all;
    tg_rules_classify_stats stats;
};

/* The decimal text classification scans for an int (or integral double)
 * AnyValue; 0 for anything else. buf holds at least 32 bytes. */
size_t tg_rules__num_text(const Opentelemetry__Proto__Common__V1__AnyValue *v, char *buf);
int tg_rules__build_tables(tg_rules_classification *c, tg_ptab_ent *msgs, size_t n_msgs,
                           tg_arena *arena);
/* Classifies `msg`; with `replay`, takes the findings from a stored
 * classification (sorted by ordinal) instead of scanning. */
int tg_rules__classify(const tg_rules_policy *p, const ProtobufCMessage *msg,
                       tg_arena *arena, const tg_finding *replay, size_t n_replay,
                       tg_rules_classification **out);
const tg_ptab_ent *tg_rules__ptab_get(const tg_rules_classification *c, uintptr_t key);
const tg_keyinfo *tg_rules__key_lookup(const tg_rules_classification *c, const char *key,
                                       size_t len);
/* Computes a key's info without the cache (views, when the cache was full). */
void tg_rules__key_compute(const tg_rules_policy *p, const char *key, size_t len,
                           tg_keyinfo *ki, tg_arena *a);

/* ---- actions (actions.c) -------------------------------------------------- */

typedef struct tg_act_ctx {
    const tg_rules_policy *p;
    void *mac_ctx; /* EVP_MAC_CTX *, created lazily per view */
    int mac_key;   /* the key it holds, -1: none yet */
    tg_arena *arena;
} tg_act_ctx;

/* Renders `spec` applied to the matched text [s, s+n) of class `cls`
 * (detector `det` or TG_DET_*) into out. `whole_type` is the AnyValue case of
 * a whole value (for generalise) or 0. Returns 0 or TG_ENOMEM; *out may be
 * empty (drop of a substring). */
int tg_rules__apply(tg_act_ctx *ac, const tg_action_spec *spec, unsigned cls,
                    unsigned det, const char *s, size_t n, int whole_type,
                    tg_strbuf *out);

/* An action's kind is a descriptor in one list (actions.c, tg_actions), indexed by
 * enum tg_rules_action, which is also the order of restrictiveness: where
 * classes overlap in one value, the descriptor with the higher kind wins.
 * Its parameters are rows of one table (tg_action_params), each naming the
 * action it belongs to, so the policy reader parses them without knowing
 * any action by name. */
enum tg_action_param_type {
    TG_AP_TEXT,     /* spec->text, text_len: at most 256 bytes */
    TG_AP_KEY,      /* spec->key_id and key_loc, resolved by finalize */
    TG_AP_CHAR,     /* spec->mask_char: one printable ASCII non-alphanumeric */
    TG_AP_UINT,     /* unsigned at `offset`, at most `max` */
    TG_AP_U64,      /* uint64_t at `offset`, `min` to `max` */
    TG_AP_DURATION, /* uint64_t seconds at `offset` */
};

typedef struct tg_action_param {
    const char *name;  /* the key in {action: NAME, <name>: ...} */
    uint8_t owner;     /* enum tg_rules_action it applies to */
    uint8_t type;      /* enum tg_action_param_type */
    size_t offset;     /* into tg_action_spec (UINT, U64, DURATION) */
    uint64_t min, max; /* UINT, U64 */
    uint64_t def;      /* value before the policy sets it */
} tg_action_param;

typedef int (*tg_action_apply_fn)(tg_act_ctx *ac, const tg_action_spec *spec,
                                  unsigned cls, unsigned det, const char *s, size_t n,
                                  int whole_type, tg_strbuf *out);

typedef struct tg_action_desc {
    const char *name;           /* as policy files, explain and the ledger spell it */
    const char *const *aliases; /* other accepted spellings, NULL-terminated */
    enum tg_rules_action kind;  /* its index in tg_actions: its rank */
    /* Renders what leaves of the matched text; NULL: nothing does (the
     * caller removes the field or withholds the record). */
    tg_action_apply_fn apply;
} tg_action_desc;

/* Every action parameter, NULL-name terminated, in the order messages list them. */
extern const tg_action_param tg_action_params[];

/* The action named `name` (or an alias), or NULL. */
const tg_action_desc *tg_rules__action_find(const char *name);
/* The parameter named `name`, or NULL. */
const tg_action_param *tg_rules__action_param(const char *name);
/* Every parameter at its default; key -1 (the policy's default key). */
void tg_rules__action_defaults(tg_action_spec *a);

#endif
